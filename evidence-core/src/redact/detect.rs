//! Pattern detectors over bytes. One pass, each detector anchored on a few bytes; every
//! detector keeps a resume position so no byte is examined by the same detector more than a
//! bounded number of times (work stays linear in the input, whatever the input).

use base64::Engine as _;

use super::keys::{KeyWords, key_names_secret, words_of};
use super::refs;
use super::{Hit, SecretClass};

/// Longest JWT header segment decoded (encoded characters).
const MAX_JWT_HEADER: usize = 8 << 10;
/// Longest `Basic` credential decoded to check for the `user:password` colon; longer ones are
/// redacted without the check.
const MAX_BASIC_DECODE: usize = 8 << 10;
/// Furthest an END line is searched for after a PEM BEGIN line.
const MAX_PEM_BLOCK: usize = 64 << 10;
/// Longest key looked at in `key=value` and `key: value` text.
const MAX_TEXT_KEY: usize = 128;
/// Longest URL user-information part looked at.
const MAX_USERINFO: usize = 2048;

#[inline]
fn at(s: &[u8], i: usize) -> Option<u8> {
    s.get(i).copied()
}

#[inline]
fn starts(s: &[u8], i: usize, pat: &[u8]) -> bool {
    s.get(i..).is_some_and(|t| t.starts_with(pat))
}

#[inline]
fn starts_ci(s: &[u8], i: usize, pat: &[u8]) -> bool {
    s.get(i..i + pat.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(pat))
}

/// End of the run of bytes satisfying `f` that starts at `i`.
#[inline]
fn run_end(s: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    let mut j = i;
    while at(s, j).is_some_and(&f) {
        j += 1;
    }
    j
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}
fn is_b64std(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}
fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}
fn is_alnum_us(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn is_alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}
fn is_upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

/// A token recognised by a fixed prefix and a character run after it.
struct PrefixRule {
    prefixes: &'static [&'static [u8]],
    /// The byte the scan stops at, and its offset in every prefix (a rarer byte than the
    /// first one, so the scan stops less often).
    anchor: (u8, usize),
    class: SecretClass,
    /// Characters of the part after the prefix.
    body: fn(u8) -> bool,
    /// A byte before the prefix that makes it the middle of a longer word.
    joined: fn(u8) -> bool,
    min: usize,
    max: usize,
    /// Extra test on the part after the prefix.
    check: Option<fn(&[u8]) -> bool>,
}

fn mixed_case_and_digit(body: &[u8]) -> bool {
    body.iter().any(u8::is_ascii_digit)
        && body.iter().any(u8::is_ascii_uppercase)
        && body.iter().any(u8::is_ascii_lowercase)
}

fn all_upper_digit(body: &[u8]) -> bool {
    body.iter().all(|b| is_upper_digit(*b))
}

const RULES: &[PrefixRule] = &[
    PrefixRule {
        prefixes: &[b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"],
        anchor: (b'_', 3),
        class: SecretClass::GithubToken,
        body: is_alnum,
        joined: is_alnum_us,
        min: 30,
        max: 251,
        check: None,
    },
    PrefixRule {
        prefixes: &[b"github_pat_"],
        anchor: (b'_', 6),
        class: SecretClass::GithubToken,
        body: is_alnum_us,
        joined: is_alnum_us,
        min: 40,
        max: 244,
        check: None,
    },
    PrefixRule {
        prefixes: &[b"glpat-"],
        anchor: (b'-', 5),
        class: SecretClass::GitlabToken,
        body: is_b64url,
        joined: is_b64url,
        min: 20,
        max: 128,
        check: None,
    },
    PrefixRule {
        prefixes: &[b"AKIA", b"ASIA"],
        anchor: (b'A', 0),
        class: SecretClass::AwsAccessKeyId,
        body: is_alnum,
        joined: is_alnum,
        min: 16,
        max: 16,
        check: Some(all_upper_digit),
    },
    PrefixRule {
        prefixes: &[b"AIza"],
        anchor: (b'A', 0),
        class: SecretClass::GoogleApiKey,
        body: is_b64url,
        joined: is_b64url,
        min: 35,
        max: 35,
        check: None,
    },
    PrefixRule {
        prefixes: &[b"sk-ant-"],
        anchor: (b'-', 2),
        class: SecretClass::AnthropicKey,
        body: is_b64url,
        joined: is_b64url,
        min: 20,
        max: 512,
        check: Some(mixed_case_and_digit),
    },
    PrefixRule {
        prefixes: &[b"sk-"],
        anchor: (b'-', 2),
        class: SecretClass::OpenaiKey,
        body: is_b64url,
        joined: is_b64url,
        min: 20,
        max: 512,
        check: Some(mixed_case_and_digit),
    },
    PrefixRule {
        prefixes: &[b"sk_live_", b"rk_live_"],
        anchor: (b'_', 2),
        class: SecretClass::StripeLiveKey,
        body: is_alnum,
        joined: is_alnum_us,
        min: 10,
        max: 247,
        check: None,
    },
    PrefixRule {
        prefixes: &[b"xoxa-", b"xoxb-", b"xoxp-", b"xoxr-", b"xoxs-", b"xapp-"],
        anchor: (b'-', 4),
        class: SecretClass::SlackToken,
        body: is_alnum_dash,
        joined: is_alnum_dash,
        min: 10,
        max: 255,
        check: None,
    },
    PrefixRule {
        prefixes: &[b"npm_"],
        anchor: (b'_', 3),
        class: SecretClass::NpmToken,
        body: is_alnum,
        joined: is_alnum_us,
        min: 36,
        max: 36,
        check: None,
    },
];

/// Resume positions, one per detector.
#[derive(Default)]
struct Cursors {
    rules: [usize; RULES.len()],
    pem: usize,
    jwt: usize,
    auth: usize,
    url: usize,
    kv: usize,
    end_marker: NextFinder,
    begin_marker: NextFinder,
    newline: NextFinder,
}

/// Finds the next occurrence of a needle at or after a position that only moves forward, in
/// amortised linear time.
#[derive(Default)]
struct NextFinder {
    searched_from: usize,
    found: Option<usize>,
    exhausted: bool,
}

impl NextFinder {
    fn next(&mut self, s: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        if let Some(f) = self.found {
            if f >= from {
                return Some(f);
            }
        } else if self.exhausted && from >= self.searched_from {
            return None;
        }
        let start = from.max(self.searched_from);
        let found = super::find_bytes(s, needle, start);
        self.searched_from = start;
        self.found = found;
        self.exhausted = found.is_none();
        found
    }
}

/// Appends every pattern detection in `s` to `out`.
pub(super) fn detect_patterns(s: &[u8], out: &mut Vec<Hit>) {
    let mut cur = Cursors::default();
    for (i, &b) in s.iter().enumerate() {
        // The bytes at which some detector may fire.
        if !matches!(b, b'-' | b'_' | b'A' | b'J' | b'B' | b'b' | b':' | b'=') {
            continue;
        }
        match b {
            b'-' => {
                pem(s, i, &mut cur, out);
                prefix_rules(s, i, b, &mut cur, out);
            }
            b'_' | b'A' => prefix_rules(s, i, b, &mut cur, out),
            b'J' => {
                if let Some(start) = i.checked_sub(2) {
                    jwt(s, start, &mut cur, out);
                }
            }
            b'B' | b'b' => auth_scheme(s, i, &mut cur, out),
            b':' => {
                url_password(s, i, &mut cur, out);
                key_value(s, i, &mut cur, out);
            }
            _ => key_value(s, i, &mut cur, out),
        }
    }
}

/// The prefix rules anchored on byte `b` at `i`.
fn prefix_rules(s: &[u8], i: usize, b: u8, cur: &mut Cursors, out: &mut Vec<Hit>) {
    for (r, rule) in RULES.iter().enumerate() {
        if rule.anchor.0 != b {
            continue;
        }
        let Some(start) = i.checked_sub(rule.anchor.1) else {
            continue;
        };
        let Some(resume) = cur.rules.get_mut(r) else {
            continue;
        };
        if start < *resume {
            continue;
        }
        let Some(prefix) = rule.prefixes.iter().find(|p| starts(s, start, p)) else {
            continue;
        };
        if start > 0 && at(s, start - 1).is_some_and(rule.joined) {
            continue;
        }
        let body_start = start + prefix.len();
        let end = run_end(s, body_start, rule.body);
        // Nothing can start inside this run for this rule again.
        *resume = end;
        let body = s.get(body_start..end).unwrap_or_default();
        if body.len() < rule.min || body.len() > rule.max {
            continue;
        }
        if rule.check.is_some_and(|check| !check(body)) {
            continue;
        }
        out.push(Hit {
            start,
            end,
            class: rule.class,
        });
        // A more specific rule matched (`sk-ant-` before `sk-`): skip the generic one here.
        for later in cur.rules.iter_mut().skip(r + 1) {
            *later = (*later).max(end);
        }
        return;
    }
}

/// `-----BEGIN <label> PRIVATE KEY-----` through the matching END line; without an END line,
/// through the last line of key material (base64 lines and `Name: value` headers).
fn pem(s: &[u8], i: usize, cur: &mut Cursors, out: &mut Vec<Hit>) {
    const BEGIN: &[u8] = b"-----BEGIN ";
    if i < cur.pem || !starts(s, i, BEGIN) {
        return;
    }
    let label_start = i + BEGIN.len();
    let label_end = run_end(s, label_start, |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '
    });
    let label = s.get(label_start..label_end).unwrap_or_default();
    if label.len() > 64
        || !label.windows(11).any(|w| w == b"PRIVATE KEY")
        || !starts(s, label_end, b"-----")
    {
        return;
    }
    let header_end = label_end + 5;
    let end_marker = cur.end_marker.next(s, b"-----END ", header_end);
    let next_begin = cur.begin_marker.next(s, b"-----BEGIN", header_end);
    let end = match end_marker {
        Some(e) if e - header_end <= MAX_PEM_BLOCK && next_begin.is_none_or(|nb| nb > e) => {
            // The END line: `-----END ` + label + `-----`.
            let after = e + b"-----END ".len();
            let lab_end = run_end(s, after, |b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '
            });
            if lab_end - after <= 64 && starts(s, lab_end, b"-----") {
                lab_end + 5
            } else {
                lab_end
            }
        }
        _ => pem_body_end(s, header_end),
    };
    cur.pem = end;
    out.push(Hit {
        start: i,
        end,
        class: SecretClass::PrivateKeyPem,
    });
}

/// End of the key material after a BEGIN line that has no END line: lines of base64 (and
/// `Name: value` headers), separated by real line breaks or by `\n`/`\r` escapes.
fn pem_body_end(s: &[u8], from: usize) -> usize {
    let mut end = from;
    let mut j = from;
    let mut seen_body = false;
    loop {
        // A line break: CR, LF, or a literal `\n` / `\r` escape.
        let brk = match (at(s, j), at(s, j + 1)) {
            (Some(b'\n' | b'\r'), _) => 1,
            (Some(b'\\'), Some(b'n' | b'r')) => 2,
            _ => 0,
        };
        if brk == 0 {
            if j == from {
                // Material on the BEGIN line itself (keys flattened onto one line).
                let e = run_end(s, j, |b| is_b64std(b) || b == b'=' || b == b' ');
                if e > j {
                    end = e;
                    j = e;
                    continue;
                }
            }
            break;
        }
        j += brk;
        let line_end = run_end(s, j, |b| is_b64std(b) || b == b'=');
        let header_end = run_end(s, j, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b',' | b' ' | b'.')
        });
        if line_end > j && !matches!(at(s, line_end), Some(b':' | b',' | b' ')) {
            end = line_end;
            j = line_end;
            seen_body = true;
        } else if !seen_body && is_pem_header(s.get(j..header_end).unwrap_or_default()) {
            end = header_end;
            j = header_end;
        } else if line_end == j && matches!(at(s, j), Some(b'\n' | b'\r' | b'\\')) {
            // An empty line; keep going.
        } else {
            break;
        }
    }
    // Trim trailing spaces.
    while end > from && at(s, end - 1) == Some(b' ') {
        end -= 1;
    }
    end
}

/// An RFC 1421 header line such as `Proc-Type: 4,ENCRYPTED` or `DEK-Info: AES-128-CBC,...`.
fn is_pem_header(line: &[u8]) -> bool {
    let name_end = run_end(line, 0, |b| b.is_ascii_alphanumeric() || b == b'-');
    name_end > 0
        && line.first().is_some_and(u8::is_ascii_alphabetic)
        && at(line, name_end) == Some(b':')
}

/// A JWS (`header.payload.signature`) or JWE (five segments) whose header is a JSON object
/// with an `alg` member.
fn jwt(s: &[u8], i: usize, cur: &mut Cursors, out: &mut Vec<Hit>) {
    if i < cur.jwt || !starts(s, i, b"eyJ") {
        return;
    }
    let e1 = run_end(s, i, is_b64url);
    // Whatever happens, no other JWT starts inside this segment.
    cur.jwt = e1;
    if e1 - i > MAX_JWT_HEADER || at(s, e1) != Some(b'.') {
        return;
    }
    let header = s.get(i..e1).unwrap_or_default();
    let Ok(decoded) = base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT.decode(header)
    else {
        return;
    };
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&decoded) {
        Ok(map) if map.contains_key("alg") => {}
        _ => return,
    }
    let e2 = run_end(s, e1 + 1, is_b64url);
    if e2 == e1 + 1 || at(s, e2) != Some(b'.') {
        return;
    }
    let mut end = run_end(s, e2 + 1, is_b64url);
    // JWE compact form: two more segments.
    if at(s, end) == Some(b'.') {
        let e4 = run_end(s, end + 1, is_b64url);
        if at(s, e4) == Some(b'.') {
            end = run_end(s, e4 + 1, is_b64url);
        }
    }
    cur.jwt = end;
    out.push(Hit {
        start: i,
        end,
        class: SecretClass::Jwt,
    });
}

/// `Bearer <token68>` and `Basic <base64 of user:password>`: the credential after the word.
fn auth_scheme(s: &[u8], i: usize, cur: &mut Cursors, out: &mut Vec<Hit>) {
    if i < cur.auth {
        return;
    }
    let (word_len, class) = if starts_ci(s, i, b"bearer") {
        (6, SecretClass::BearerToken)
    } else if starts_ci(s, i, b"basic") {
        (5, SecretClass::BasicAuth)
    } else {
        return;
    };
    if i > 0 && at(s, i - 1).is_some_and(is_alnum) {
        return;
    }
    let word_end = i + word_len;
    let cred = run_end(s, word_end, |b| b == b' ' || b == b'\t');
    if cred == word_end {
        return;
    }
    let body_end = match class {
        SecretClass::BearerToken => run_end(s, cred, is_token68),
        _ => run_end(s, cred, is_b64std),
    };
    let end = run_end(s, body_end, |b| b == b'=');
    // The word is used up; the credential is re-examined only if it is refused below.
    cur.auth = cred;
    let body = s.get(cred..body_end).unwrap_or_default();
    if body.is_empty() {
        return;
    }
    let accept = match class {
        SecretClass::BearerToken => {
            // An auth-param (`Bearer realm="api"`) is a challenge, not a credential.
            let param = end > body_end && matches!(at(s, end), Some(b'"' | b'\''));
            let letters_only = body.iter().all(u8::is_ascii_alphabetic);
            !param && (body.len() >= 20 || (body.len() >= 6 && !letters_only))
        }
        _ => {
            if body.len() < 4 {
                false
            } else if end - cred > MAX_BASIC_DECODE {
                true
            } else {
                let cred_text = s.get(cred..end).unwrap_or_default();
                base64::engine::general_purpose::STANDARD_NO_PAD_INDIFFERENT
                    .decode(cred_text)
                    .is_ok_and(|d| d.contains(&b':'))
            }
        }
    };
    if accept {
        cur.auth = end;
        out.push(Hit {
            start: cred,
            end,
            class,
        });
    }
}

/// `scheme://user:password@host`: the password.
fn url_password(s: &[u8], i: usize, cur: &mut Cursors, out: &mut Vec<Hit>) {
    if i < cur.url || !starts(s, i, b"://") {
        return;
    }
    // A scheme: a letter, then letters, digits, `+`, `-`, `.`.
    let mut k = i;
    while k > 0
        && i - k < 64
        && at(s, k - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        k -= 1;
    }
    if k == i || !at(s, k).is_some_and(|b| b.is_ascii_alphabetic()) {
        return;
    }
    let info_start = i + 3;
    let mut last_at = None;
    let mut j = info_start;
    while let Some(b) = at(s, j) {
        if j - info_start > MAX_USERINFO
            || b.is_ascii_whitespace()
            || b.is_ascii_control()
            || matches!(
                b,
                b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'
            )
        {
            break;
        }
        if b == b'@' {
            last_at = Some(j);
        }
        j += 1;
    }
    cur.url = j;
    let Some(at_pos) = last_at else {
        return;
    };
    let info = s.get(info_start..at_pos).unwrap_or_default();
    let Some(colon) = info.iter().position(|b| *b == b':') else {
        return;
    };
    let start = info_start + colon + 1;
    if at_pos > start {
        out.push(Hit {
            start,
            end: at_pos,
            class: SecretClass::UrlPassword,
        });
    }
}

/// The key before the separator at `sep`: its span, if it is a key at all.
fn key_before(s: &[u8], sep: usize) -> Option<(usize, usize)> {
    let mut j = sep;
    // Spaces between the key and the separator (`key = value`, `"key" : value`).
    let mut spaces = 0;
    while j > 0 && matches!(at(s, j - 1), Some(b' ' | b'\t')) && spaces < 4 {
        j -= 1;
        spaces += 1;
    }
    let quote = match at(s, j.checked_sub(1)?) {
        Some(q @ (b'"' | b'\'')) => Some(q),
        _ => None,
    };
    if let Some(q) = quote {
        let close = j - 1;
        let mut k = close;
        while k > 0 && close - k <= MAX_TEXT_KEY {
            match at(s, k - 1) {
                Some(b) if b == q => return (k < close).then_some((k, close)),
                Some(b'\n' | b'\r') | None => return None,
                _ => k -= 1,
            }
        }
        return None;
    }
    let end = j;
    let mut k = j;
    while k > 0
        && at(s, k - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        k -= 1;
        if end - k > MAX_TEXT_KEY {
            return None;
        }
    }
    (k < end).then_some((k, end))
}

fn is_header_key(words: &KeyWords) -> bool {
    matches!(
        words.as_slice(),
        [w] if w == "authorization" || w == "cookie"
    ) || matches!(
        words.as_slice(),
        [a, b] if (a == "proxy" && b == "authorization") || (a == "set" && b == "cookie")
    )
}

/// `key=value`, `key: value`, `"key": "value"` where the key names a secret: the value, unless
/// it is a reference, a permission word or code rather than a literal ([`super::refs`]).
fn key_value(s: &[u8], sep: usize, cur: &mut Cursors, out: &mut Vec<Hit>) {
    if sep < cur.kv {
        return;
    }
    // `://` is a URL, `==` and `:=` are operators, `::` is a path (`token::Shr`), not key
    // separators.
    if starts(s, sep, b"://")
        || starts(s, sep, b"==")
        || starts(s, sep, b"::")
        || starts(s, sep, b":=")
    {
        return;
    }
    let Some((ks, ke)) = key_before(s, sep) else {
        return;
    };
    let key = s.get(ks..ke).unwrap_or_default();
    if !key_names_secret(key) {
        return;
    }
    let mut v = sep + 1;
    while matches!(at(s, v), Some(b' ' | b'\t')) && v - sep <= 16 {
        v += 1;
    }
    let line_end = cur.newline.next(s, b"\n", v).unwrap_or(s.len());
    let Some(value) = value_after(s, sep, v, line_end, key) else {
        return;
    };
    cur.kv = value.end.max(sep + 1);
    let text = s.get(value.start..value.end).unwrap_or_default();
    if !value.literal
        || text.is_empty()
        || matches!(
            text.to_ascii_lowercase().as_slice(),
            b"null" | b"true" | b"false" | b"none" | b"nil"
        )
    {
        return;
    }
    out.push(Hit {
        start: value.start,
        end: value.end,
        class: SecretClass::SecretKeyName,
    });
}

/// The value of a secret-named key: its span and whether it is a literal.
struct KeyValue {
    start: usize,
    end: usize,
    literal: bool,
}

/// The value starting at `v` (at most to `line_end`) after the separator at `sep` of `key`.
fn value_after(s: &[u8], sep: usize, v: usize, line_end: usize, key: &[u8]) -> Option<KeyValue> {
    let sep_byte = at(s, sep)?;
    let not_literal = || refs::unquoted_is_not_literal(s, v, line_end, key, sep_byte);
    let (start, end, literal) = match at(s, v)? {
        q @ (b'"' | b'\'') => {
            let end = quoted_end(s, v + 1, q, line_end);
            let content = s.get(v + 1..end).unwrap_or_default();
            (v + 1, end, !refs::is_reference(content))
        }
        b'[' | b'{' => {
            // Code (`[u8; 32]`, `{ self.token }`) unless it holds a quoted string.
            let end = bracket_end(s, v, line_end);
            let inner = s.get(v..end).unwrap_or_default();
            (v, end, inner.iter().any(|b| matches!(b, b'"' | b'\'')))
        }
        _ if sep_byte == b':' && is_header_key(&words_of(key)) => {
            let end = trim_end(s, v, line_end);
            let text = s.get(v..end).unwrap_or_default();
            // `Bearer ${{ secrets.X }}`: the credential after the scheme is a reference.
            let credential = text.splitn(2, |b| *b == b' ').nth(1).unwrap_or_default();
            let reference = refs::is_reference(text) || refs::is_reference(credential);
            (v, end, !(reference || not_literal()))
        }
        _ => {
            let e = run_end(s, v, |b| {
                !(b.is_ascii_whitespace()
                    || matches!(
                        b,
                        b'&' | b',' | b';' | b'"' | b'\'' | b'<' | b'>' | b')' | b'}' | b'\\'
                    ))
            });
            (v, e, !not_literal())
        }
    };
    Some(KeyValue {
        start,
        end,
        literal,
    })
}

/// Where a value quoted with `q` and starting at `start` ends: at the closing quote on this
/// line (backslash escapes skipped); an unclosed quote runs to the end of the line.
fn quoted_end(s: &[u8], start: usize, q: u8, line_end: usize) -> usize {
    let mut j = start;
    while j < line_end {
        match at(s, j) {
            Some(b'\\') => j += 2,
            Some(b) if b == q => return j,
            _ => j += 1,
        }
    }
    trim_end(s, start, line_end)
}

fn trim_end(s: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && at(s, end - 1).is_some_and(|b| b.is_ascii_whitespace()) {
        end -= 1;
    }
    end
}

/// End (exclusive) of the bracketed value starting at `open`, skipping quoted strings; an
/// unbalanced value runs to the end of the line.
fn bracket_end(s: &[u8], open: usize, line_end: usize) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    let mut in_str = false;
    while j < line_end {
        match at(s, j) {
            Some(b'\\') if in_str => j += 1,
            Some(b'"') => in_str = !in_str,
            Some(b'[' | b'{') if !in_str => depth += 1,
            Some(b']' | b'}') if !in_str => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    trim_end(s, open, line_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(String, SecretClass)> {
        let mut out = Vec::new();
        detect_patterns(s.as_bytes(), &mut out);
        out.iter()
            .map(|h| (s[h.start..h.end].to_owned(), h.class))
            .collect()
    }

    #[test]
    fn prefix_tokens_need_a_word_boundary_and_length() {
        let gh = format!("ghp_{}", "a1B2c3D4e5".repeat(4)[..36].to_owned());
        assert_eq!(
            found(&format!("x {gh} y")),
            vec![(gh.clone(), SecretClass::GithubToken)]
        );
        assert!(found(&format!("x{gh}")).is_empty());
        assert!(found("ghp_short").is_empty());
        let aws = format!("{}{}", "AKIA", "IOSFODNN7EXAMPLE");
        assert_eq!(
            found(&format!("id={aws}")).first().map(|h| h.1),
            Some(SecretClass::AwsAccessKeyId)
        );
        assert!(found(&format!("{aws}X")).is_empty());
        assert!(found(&format!("{}{}", "AKIA", "iosfodnn7example")).is_empty());
    }

    #[test]
    fn openai_needs_a_random_looking_body() {
        assert!(found("sk-learn-and-some-other-words-here").is_empty());
        assert!(found("task-Abcdefghijklmnop1234567890").is_empty());
        let key = format!("sk-proj-{}", "Ab3dEf6hIj9kLm2nOp5q");
        assert_eq!(found(&key), vec![(key.clone(), SecretClass::OpenaiKey)]);
        let ant = format!("sk-ant-api03-{}", "Ab3dEf6hIj9kLm2nOp5q");
        assert_eq!(found(&ant), vec![(ant.clone(), SecretClass::AnthropicKey)]);
    }

    #[test]
    fn bearer_rules() {
        assert_eq!(
            found("auth failed for Bearer abc.def"),
            vec![("abc.def".to_owned(), SecretClass::BearerToken)]
        );
        assert!(found("send a Bearer token").is_empty());
        assert!(found("uses Bearer authentication").is_empty());
        assert!(found(r#"WWW-Authenticate: Bearer realm="api""#).is_empty());
        assert!(found("Basic auth").is_empty());
        // "user:pass"
        assert_eq!(
            found("Basic dXNlcjpwYXNz"),
            vec![("dXNlcjpwYXNz".to_owned(), SecretClass::BasicAuth)]
        );
        // The header form is also a secret-named key; the two merge later.
        assert_eq!(
            found("Authorization: Basic dXNlcjpwYXNz"),
            vec![
                ("Basic dXNlcjpwYXNz".to_owned(), SecretClass::SecretKeyName),
                ("dXNlcjpwYXNz".to_owned(), SecretClass::BasicAuth),
            ]
        );
    }

    #[test]
    fn url_passwords() {
        assert_eq!(
            found("postgres://app:p@ss@db:5432/x"),
            vec![("p@ss".to_owned(), SecretClass::UrlPassword)]
        );
        assert!(found("https://github.com/a/b").is_empty());
        assert!(found("ssh://git@host/repo").is_empty());
    }

    #[test]
    fn key_values() {
        assert_eq!(
            found("db_password=hunter22 next=1"),
            vec![("hunter22".to_owned(), SecretClass::SecretKeyName)]
        );
        assert_eq!(
            found(r#"{"api_key": "abc", "token_count": 5}"#),
            vec![("abc".to_owned(), SecretClass::SecretKeyName)]
        );
        assert_eq!(
            found("Cookie: a=b; c=d\r\nHost: x"),
            vec![("a=b; c=d".to_owned(), SecretClass::SecretKeyName)]
        );
        assert_eq!(
            found(r#""api_key": ["a", "b"], "x": 1"#),
            vec![(r#"["a", "b"]"#.to_owned(), SecretClass::SecretKeyName)]
        );
        assert!(found("password: null").is_empty());
        assert!(found("token_count=5 tokens_used=7 max_tokens=9").is_empty());
    }

    fn key_value_hits(s: &str) -> Vec<String> {
        found(s)
            .into_iter()
            .filter(|(_, c)| *c == SecretClass::SecretKeyName)
            .map(|(v, _)| v)
            .collect()
    }

    #[test]
    fn references_and_code_under_secret_names_are_not_secrets() {
        for line in [
            "        NPM_TOKEN: ${{ secrets.NPM_TOKEN }}",
            "  token: '${{ secrets.GITHUB_TOKEN }}'",
            "password=${DB_PASSWORD}",
            "export API_TOKEN=$API_TOKEN",
            "secret: \"$CLIENT_SECRET\"",
            "api_key = \"<your-api-key>\"",
            "password: <password>",
            "permissions:\n  id-token: write\n  contents: read",
            "  id-token: \"write\"",
            "const token = options.identityToken;",
            "password = get_password()",
            "        token: self.token,",
            "secret=os.environ[\"X\"]",
            "token = os.getenv('GH_TOKEN')",
            "    pub token: Option<String>,",
            "    password: String,",
            "fn login(password: SecretString) -> bool",
            "let token = token.trim();",
            "self.token = token;",
            "this.accessToken = accessToken;",
            "token: githubToken,",
            "let secret: [u8; 32] = rng.gen();",
            "TOKEN=$(cat /run/secrets/token)",
            "Authorization: Bearer ${{ secrets.TOKEN }}",
            "password: {{ .Values.db.password }}",
            "let password = match args.password {",
            "            Token::SeqEnd,",
            "a.struct[title=\"struct syn::token::Shr\"]::before,",
            "    let eq_token: Token![=] = input.parse()?;",
            "pub const MAX_TOKEN: u32 = 4096;",
            "pub const SYS_lookup_dcookie: c_long = 253;",
            "    pub Password: *mut u8,",
            "fn f(token : *const c_void)",
            "if api_key := os.environ.get(\"OPENAI_API_KEY\"):",
        ] {
            assert_eq!(key_value_hits(line), Vec::<String>::new(), "{line}");
        }
    }

    #[test]
    fn literals_under_secret_names_still_count() {
        for (line, want) in [
            ("password = \"hunter2hunter2\"", "hunter2hunter2"),
            ("password='hunter2hunter2'", "hunter2hunter2"),
            (
                "\"token\": \"options.identityToken\"",
                "options.identityToken",
            ),
            ("DB_PASSWORD=hunter22", "hunter22"),
            ("password: Hunter22", "Hunter22"),
            ("id-token: s3cr3t-value", "s3cr3t-value"),
            ("secret=abc123&x=1", "abc123"),
            ("token: \"$Passw0rd\"", "$Passw0rd"),
            ("password = \"pre${X}\"", "pre${X}"),
            ("api_key: [\"a\", \"b\"]", "[\"a\", \"b\"]"),
            ("Authorization: Bearer abc.def", "Bearer abc.def"),
        ] {
            assert_eq!(key_value_hits(line), vec![want.to_owned()], "{line}");
        }
        // A recognisable format is found whatever the key and the shape around it.
        let gh = format!("ghp_{}", "a1B2c3D4e5".repeat(4)[..36].to_owned());
        let aws = format!("{}{}", "AKIA", "IOSFODNN7EXAMPLE");
        for line in [
            format!("token: ${{{{ secrets.X }}}} # was {gh}"),
            format!("const token = options.identityToken || '{gh}';"),
            format!("aws_access_key_id = get({aws})"),
        ] {
            let classes: Vec<SecretClass> = found(&line).into_iter().map(|(_, c)| c).collect();
            assert!(
                classes.contains(&SecretClass::GithubToken)
                    || classes.contains(&SecretClass::AwsAccessKeyId),
                "{line}: {classes:?}"
            );
        }
    }

    #[test]
    fn pem_blocks() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\nabc=\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            found(&format!("before\n{block}\nafter")),
            vec![(block.to_owned(), SecretClass::PrivateKeyPem)]
        );
        let unterminated = "-----BEGIN PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\nabc=";
        assert_eq!(
            found(&format!("{unterminated}\nlog line: done")),
            vec![(unterminated.to_owned(), SecretClass::PrivateKeyPem)]
        );
        let escaped = r"-----BEGIN PRIVATE KEY-----\nMIIBOgIBAAJB\n-----END PRIVATE KEY-----";
        assert_eq!(
            found(escaped),
            vec![(escaped.to_owned(), SecretClass::PrivateKeyPem)]
        );
        assert!(found("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty());
    }

    #[test]
    fn linear_on_hostile_repetition() {
        for unit in [
            "eyJ",
            "sk-",
            "-----BEGIN PRIVATE KEY-----",
            "a=",
            "Bearer ",
            "x://",
            "\"k\":",
            "ghp_",
            "password=\"",
        ] {
            let s = unit.repeat(200_000);
            let started = std::time::Instant::now();
            let mut out = Vec::new();
            detect_patterns(s.as_bytes(), &mut out);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{unit} took {:?}",
                started.elapsed()
            );
        }
    }
}
