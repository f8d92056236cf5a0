//! A small secret detector for deployment packets.
//!
//! STOPGAP: to be replaced by the shared scanner (the `redact`/`scan` module, being written on
//! another branch) when it lands; keep the signature so the call site in `packet.rs` changes in
//! one line. It finds two things, on parsed JSON values (DESIGN 4 rule 9: never regexes over
//! JSON text):
//!
//! - members whose **name** says they hold a secret (`private_key`, `api_key`, `secret`,
//!   `password`, `token`, `mnemonic`, `seed`, ...) and whose value is a non-empty string, or an
//!   array or object holding one; names that describe a secret without holding it
//!   (`token_id`, `secret_name`, `api_key_hash`, `contains_private_key` flags, ...) and redaction
//!   markers (`"[REDACTED]"`, `"***"`) are not findings;
//! - PEM **private-key blocks** (`-----BEGIN ... PRIVATE KEY-----`) in any string.
//!
//! Findings carry the RFC 6901 JSON pointer of the value and a class name, never the value.

use serde_json::Value;

/// Class of a PEM private-key block found in a string.
pub(crate) const CLASS_PEM: &str = "private-key-pem";

/// Deepest nesting the scan follows (the strict reader already bounds depth).
const MAX_DEPTH: usize = 128;

/// Every secret-looking value in `value`: its JSON pointer and class.
pub(crate) fn secret_findings(value: &Value) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    walk(value, &mut String::new(), 0, &mut out);
    out
}

fn walk(value: &Value, pointer: &mut String, depth: usize, out: &mut Vec<(String, &'static str)>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => {
            if holds_pem_private_key(s) {
                out.push((pointer.clone(), CLASS_PEM));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                walk(item, pointer, depth + 1, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                pointer.push('/');
                push_escaped(pointer, key);
                match secret_name_class(key) {
                    Some(class) if holds_secret_text(item) => out.push((pointer.clone(), class)),
                    _ => walk(item, pointer, depth + 1, out),
                }
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// RFC 6901: `~` is written `~0` and `/` is written `~1`.
fn push_escaped(pointer: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn holds_pem_private_key(s: &str) -> bool {
    let mut rest = s;
    while let Some(at) = rest.find("-----BEGIN ") {
        let after = rest.get(at + "-----BEGIN ".len()..).unwrap_or_default();
        let label = after.split("-----").next().unwrap_or_default();
        // "PRIVATE KEY", "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK", ...
        if label.len() <= 64 && label.contains("PRIVATE KEY") {
            return true;
        }
        rest = after;
    }
    false
}

/// True if the value is, or holds, a non-empty string that is not a redaction marker.
fn holds_secret_text(value: &Value) -> bool {
    match value {
        Value::String(s) => !is_redaction_marker(s),
        Value::Array(items) => items.iter().any(holds_secret_text),
        Value::Object(map) => map.values().any(holds_secret_text),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn is_redaction_marker(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty()
        || t.chars().all(|c| c == '*')
        || (t.len() >= 3 && t.chars().all(|c| c == 'x' || c == 'X'))
    {
        return true;
    }
    let inner = t
        .trim_start_matches(['[', '<', '(', '*'])
        .trim_end_matches([']', '>', ')', '*']);
    matches!(
        inner.to_ascii_lowercase().as_str(),
        "redacted" | "removed" | "masked" | "hidden" | "none" | "null" | "unset"
    )
}

/// Last words that make a name describe a secret rather than hold one.
const DESCRIPTIVE: &[&str] = &[
    "id",
    "ids",
    "hash",
    "digest",
    "sha256",
    "fingerprint",
    "count",
    "name",
    "names",
    "type",
    "kind",
    "path",
    "file",
    "ref",
    "url",
    "uri",
    "len",
    "length",
    "present",
    "set",
    "configured",
    "source",
    "env",
    "expiry",
    "expires",
    "at",
    "ttl",
];

/// The secret class a member name announces, if any.
fn secret_name_class(name: &str) -> Option<&'static str> {
    let words = words(name);
    let first = words.first().map(String::as_str);
    let last = words.last().map(String::as_str)?;
    // Flags such as contains_private_key / has_api_key / is_secret describe, never hold.
    if matches!(
        first,
        Some("contains" | "has" | "is" | "uses" | "requires" | "no")
    ) {
        return None;
    }
    if DESCRIPTIVE.contains(&last) {
        return None;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| {
        words
            .windows(2)
            .any(|p| matches!(p, [x, y] if x == a && y == b))
    };
    if pair("private", "key") || has("privatekey") || has("privkey") {
        return Some("private-key");
    }
    if pair("api", "key") || has("apikey") || pair("access", "key") || pair("secret", "key") {
        return Some("api-key");
    }
    if has("mnemonic") || pair("seed", "phrase") || has("seedphrase") {
        return Some("mnemonic");
    }
    if has("seed") {
        return Some("seed");
    }
    if has("password") || has("passwd") || has("passphrase") || has("pwd") {
        return Some("password");
    }
    if has("token") || has("bearer") || has("jwt") {
        return Some("token");
    }
    if has("secret") || has("credential") || has("credentials") {
        return Some("secret");
    }
    None
}

/// Lower-case words of a name split at `_`, `-`, `.`, spaces and camelCase boundaries.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(v: Value) -> Vec<(String, &'static str)> {
        secret_findings(&v)
    }

    #[test]
    fn names_that_hold_secrets_are_found() {
        let v = json!({
            "exchange": {"api_key": "abc", "apiSecret": "def", "passphrase": "p"},
            "wallet": {"mnemonic": ["abandon", "ability"], "private_key": "00ff", "seed": "s33d"},
            "auth": {"accessToken": "t", "password": "hunter2"},
            "a/b": {"token": "t~"},
        });
        let mut got = found(v);
        got.sort();
        assert_eq!(
            got,
            vec![
                ("/auth/accessToken".to_owned(), "token"),
                ("/auth/password".to_owned(), "password"),
                ("/a~1b/token".to_owned(), "token"),
                ("/exchange/apiSecret".to_owned(), "secret"),
                ("/exchange/api_key".to_owned(), "api-key"),
                ("/exchange/passphrase".to_owned(), "password"),
                ("/wallet/mnemonic".to_owned(), "mnemonic"),
                ("/wallet/private_key".to_owned(), "private-key"),
                ("/wallet/seed".to_owned(), "seed"),
            ]
        );
    }

    #[test]
    fn descriptions_flags_markers_and_empty_values_are_not_findings() {
        let v = json!({
            "privacy": {"contains_private_key": false, "contains_exchange_credentials": false},
            "api_key_id": "k-123",
            "token_count": 12,
            "secret_name": "prod/exchange",
            "password": "",
            "api_key": "[REDACTED]",
            "private_key": "***",
            "seed": 42,
            "token": null,
            "mnemonic": [],
            "deployment": {"deployment_id": "dep-1", "tokenizer": "x"},
        });
        assert_eq!(found(v), vec![]);
    }

    #[test]
    fn pem_private_keys_are_found_in_any_string() {
        let v = json!({
            "notes": ["fine", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n-----END OPENSSH PRIVATE KEY-----\n"],
            "cert": "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----",
            "pub": "-----BEGIN PUBLIC KEY-----\nMCow...\n-----END PUBLIC KEY-----",
            "k": "junk -----BEGIN  -----BEGIN PRIVATE KEY-----",
        });
        let mut got = found(v);
        got.sort();
        assert_eq!(
            got,
            vec![
                ("/k".to_owned(), CLASS_PEM),
                ("/notes/1".to_owned(), CLASS_PEM)
            ]
        );
    }

    #[test]
    fn word_splitting() {
        assert_eq!(words("apiKey"), vec!["api", "key"]);
        assert_eq!(
            words("HTTP_Bearer-token.x"),
            vec!["http", "bearer", "token", "x"]
        );
        assert_eq!(secret_name_class("exchangeApiKey"), Some("api-key"));
        assert_eq!(secret_name_class("seed_phrase"), Some("mnemonic"));
        assert_eq!(secret_name_class("has_api_key"), None);
        assert_eq!(secret_name_class("deployment_claim_hash"), None);
    }
}
