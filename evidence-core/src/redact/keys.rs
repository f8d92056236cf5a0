//! The key-name rule: does a JSON object key (or a `key=value` key in text) name a secret?
//!
//! A key is split into lower-case words at every character that is not an ASCII letter or
//! digit and at camel-case boundaries (`clientSecret` -> `client secret`, `APIKey` -> `api
//! key`, `X-Api-Key` -> `x api key`). The key names a secret when
//!
//! 1. some word *ends with* one of [`SECRET_WORDS`] (`db_password`, `dbpassword`, `mytoken`,
//!    `accessToken`; but not `tokenizer`, `secretary`, `passwordless`), or two consecutive words
//!    form one of [`SECRET_PHRASES`] (`api key`, `private key`, `session id`, ...), or the whole
//!    key is `auth`; and
//! 2. it is not metadata *about* a secret: its last word is not one of [`META_WORDS`]
//!    (`token_count`, `password_policy`, `secret_name`, `token_type`, `private_key_id`,
//!    `session_count`; unless the last two words are themselves a phrase, as in `session_id`),
//!    its first word is not one of `max min num total is has`, and a `token` is not a
//!    pagination cursor (`page_token`, `next_token`, `continuation_token`, `cursor_token`).
//!
//! The plural `tokens` is deliberately not a secret word: in language-model logs
//! `prompt_tokens`, `tokens_used` and `max_tokens` are counts.

/// The words of a key, lower-cased.
pub(super) type KeyWords = Vec<String>;

/// Longest key considered; longer keys are not names.
const MAX_KEY_BYTES: usize = 256;

/// A word ending with one of these names a secret.
pub(super) const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "secrets",
    "token",
    "apikey",
    "apitoken",
    "authorization",
    "cookie",
    "cookies",
    "credential",
    "credentials",
    "privatekey",
    "secretkey",
    "signingkey",
    "accesskey",
    "sessionid",
    "sessionkey",
    "session",
    "bearer",
    "jwt",
];

/// Two consecutive words forming one of these name a secret.
pub(super) const SECRET_PHRASES: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("signing", "key"),
    ("access", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("client", "key"),
    ("session", "id"),
    ("session", "key"),
];

/// A key whose last word is one of these is about a secret, not a secret.
pub(super) const META_WORDS: &[&str] = &[
    "count",
    "counts",
    "num",
    "number",
    "used",
    "usage",
    "limit",
    "limits",
    "max",
    "min",
    "total",
    "length",
    "len",
    "size",
    "type",
    "types",
    "kind",
    "name",
    "names",
    "id",
    "ids",
    "ref",
    "refs",
    "arn",
    "path",
    "paths",
    "file",
    "filename",
    "files",
    "dir",
    "url",
    "uri",
    "urls",
    "endpoint",
    "expiry",
    "expires",
    "expiration",
    "exp",
    "ttl",
    "timeout",
    "duration",
    "at",
    "time",
    "timestamp",
    "date",
    "age",
    "version",
    "policy",
    "policies",
    "hint",
    "prompt",
    "label",
    "labels",
    "field",
    "fields",
    "format",
    "mode",
    "enabled",
    "required",
    "provider",
    "source",
    "location",
    "strength",
    "rotation",
    "rotated",
    "valid",
    "present",
    "prefix",
    "index",
    "idx",
    "offset",
    "rate",
    "cost",
    "status",
    "algorithm",
    "alg",
    "method",
    "scheme",
    "scope",
    "scopes",
    "audience",
    "issuer",
];

const META_FIRST: &[&str] = &["max", "min", "num", "total", "is", "has"];
const CURSOR_WORDS: &[&str] = &[
    "page",
    "next",
    "continuation",
    "cursor",
    "pagination",
    "sync",
];

/// Splits a key into lower-case words (see the module documentation).
pub(super) fn words_of(key: &[u8]) -> KeyWords {
    let mut words: KeyWords = Vec::new();
    let mut word = String::new();
    let mut prev: Option<u8> = None;
    for (i, &b) in key.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev = None;
            continue;
        }
        let next = key.get(i + 1).copied();
        let boundary = match prev {
            // `clientSecret`: lower or digit, then upper.
            Some(p) if b.is_ascii_uppercase() && (p.is_ascii_lowercase() || p.is_ascii_digit()) => {
                true
            }
            // `APIKey`: upper, upper, lower -> split before the second upper.
            Some(p)
                if b.is_ascii_uppercase()
                    && p.is_ascii_uppercase()
                    && next.is_some_and(|n| n.is_ascii_lowercase()) =>
            {
                true
            }
            _ => false,
        };
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push(char::from(b.to_ascii_lowercase()));
        prev = Some(b);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// True if `key` contains (case-insensitively) a fragment that every secret name contains:
/// `pass secret session token key auth cookie credential bearer jwt`. A cheap test that spares
/// most keys the word split.
fn may_name_secret(key: &[u8]) -> bool {
    let has = |i: usize, frag: &[u8]| {
        key.get(i..i + frag.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(frag))
    };
    (0..key.len()).any(|i| match key.get(i).map(u8::to_ascii_lowercase) {
        Some(b'p') => has(i, b"pass"),
        Some(b's') => has(i, b"secret") || has(i, b"session"),
        Some(b't') => has(i, b"token"),
        Some(b'k') => has(i, b"key"),
        Some(b'a') => has(i, b"auth"),
        Some(b'c') => has(i, b"cookie") || has(i, b"credential"),
        Some(b'b') => has(i, b"bearer"),
        Some(b'j') => has(i, b"jwt"),
        _ => false,
    })
}

/// `key` with every `[REDACTED:<class>]` replaced by a space.
fn strip_placeholders(key: &[u8]) -> Vec<u8> {
    let prefix = super::PLACEHOLDER_PREFIX.as_bytes();
    let mut out = Vec::with_capacity(key.len());
    let mut i = 0usize;
    while let Some(&b) = key.get(i) {
        if key.get(i..).is_some_and(|t| t.starts_with(prefix)) {
            let name_start = i + prefix.len();
            let name_end = name_start
                + key
                    .get(name_start..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'-')
                    .count();
            if name_end > name_start && key.get(name_end) == Some(&b']') {
                out.push(b' ');
                i = name_end + 1;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn is_phrase(a: &str, b: &str) -> bool {
    SECRET_PHRASES.iter().any(|(x, y)| *x == a && *y == b)
}

/// True if an object key (or text key) names a secret, by the rule in the module
/// documentation. Takes the key as parsed (unescaped) bytes.
pub fn key_names_secret(key: &[u8]) -> bool {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || !may_name_secret(key) {
        return false;
    }
    // Placeholders left by an earlier redaction (`[REDACTED:secret-key-name]`) are not words
    // of the key: redacting twice must not find new names.
    let stripped;
    let key = if super::find_bytes(key, super::PLACEHOLDER_PREFIX.as_bytes(), 0).is_some() {
        stripped = strip_placeholders(key);
        stripped.as_slice()
    } else {
        key
    };
    let words = words_of(key);
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    if words.len() == 1 && first == "auth" {
        return true;
    }
    let mut named = false;
    for (i, w) in words.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| words.get(p));
        if let Some(p) = prev
            && is_phrase(p, w)
        {
            named = true;
            break;
        }
        if let Some(secret) = SECRET_WORDS.iter().find(|s| w.ends_with(**s)) {
            if *secret == "token"
                && w == "token"
                && prev.is_some_and(|p| CURSOR_WORDS.contains(&p.as_str()))
            {
                continue;
            }
            named = true;
            break;
        }
    }
    if !named {
        return false;
    }
    if words.len() > 1 && META_FIRST.contains(&first.as_str()) {
        return false;
    }
    if META_WORDS.contains(&last.as_str()) {
        let before_last = words.len().checked_sub(2).and_then(|i| words.get(i));
        return before_last.is_some_and(|b| is_phrase(b, last));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words_of(b"clientSecret"), vec!["client", "secret"]);
        assert_eq!(words_of(b"APIKey"), vec!["api", "key"]);
        assert_eq!(words_of(b"X-Api-Key"), vec!["x", "api", "key"]);
        assert_eq!(words_of(b"GITHUB_TOKEN"), vec!["github", "token"]);
        assert_eq!(words_of(b"OAuthToken"), vec!["o", "auth", "token"]);
        assert_eq!(words_of(b"s3_secret2"), vec!["s3", "secret2"]);
        assert_eq!(words_of("pässwort".as_bytes()), vec!["p", "sswort"]);
    }

    #[test]
    fn secret_names() {
        for key in [
            "Authorization",
            "proxy-authorization",
            "Proxy_Authorization",
            "token",
            "TOKEN",
            "api_key",
            "apikey",
            "apiKey",
            "API-KEY",
            "x-api-key",
            "password",
            "passwd",
            "db_password",
            "dbPassword",
            "secret",
            "client_secret",
            "clientSecret",
            "private_key",
            "privateKey",
            "signing_key",
            "cookie",
            "Set-Cookie",
            "session",
            "session_id",
            "sessionId",
            "SESSIONID",
            "credential",
            "credentials",
            "refresh_token",
            "access_token",
            "accessToken",
            "id_token",
            "x-auth-token",
            "X-Amz-Security-Token",
            "aws_secret_access_key",
            "SecretAccessKey",
            "SECRET_KEY_BASE",
            "password_hash",
            "auth",
            "github_token",
            "npm_token",
            "csrf_token",
            "passphrase",
            "encryption_key",
        ] {
            assert!(
                key_names_secret(key.as_bytes()),
                "{key} should name a secret"
            );
        }
    }

    #[test]
    fn not_secret_names() {
        for key in [
            "token_count",
            "tokens_used",
            "max_tokens",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "tokens",
            "session_count",
            "sessionCount",
            "token_type",
            "tokenType",
            "secret_name",
            "secretName",
            "secretRef",
            "private_key_id",
            "AccessKeyId",
            "access_key_id",
            "password_policy",
            "token_endpoint",
            "token_url",
            "expires_in",
            "tokenizer",
            "secretary",
            "passwordless",
            "author",
            "authority",
            "oauth_provider",
            "public_key",
            "key",
            "keys",
            "key_id",
            "next_page_token",
            "pageToken",
            "is_secret",
            "has_password",
            "max_token_length",
            "cookie_name",
            "session_timeout",
            "name",
            "value",
            "",
        ] {
            assert!(
                !key_names_secret(key.as_bytes()),
                "{key} should not name a secret"
            );
        }
        assert!(!key_names_secret("password".repeat(40).as_bytes()));
        // Placeholders are not part of a name.
        assert!(!key_names_secret(b"[REDACTED:secret-key-name]"));
        assert!(!key_names_secret(b"by [REDACTED:github-token] x"));
        assert!(key_names_secret(b"[REDACTED:jwt]_password"));
    }
}
