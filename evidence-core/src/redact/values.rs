//! Opt-in value classes: identifiers and assignments that are not secrets everywhere, so the
//! built-in detectors leave them alone, but that a capture profile names because the service
//! it watches puts private runtime data in them (`docs/FORMAT.md` section 7.2). They apply to
//! values and text only, never to object keys: a header named `x-zero-trace-id` keeps its
//! name, its value `trace-4f...` is redacted.
//!
//! Each detector finds at least every string the predecessor's leak patterns find
//! (`deployment_evidence_verify.py`: `trace-[A-Za-z0-9._:-]+`, and
//! `(?i)private[_-]?key["']?\s*[:=]\s*[^"'\s,}]+` with its `signing` sibling), so no value
//! redacted here still matches one of them.

use super::{Hit, SecretClass};

/// The classes a profile may name, in documentation order.
pub const OPT_IN: &[SecretClass] = &[
    SecretClass::TracingId,
    SecretClass::IdempotencyKey,
    SecretClass::PlatformId,
    SecretClass::KeyAssignment,
];

/// Longest run examined after a prefix or in an assignment value (a longer one is redacted
/// whole up to this length, then again from there).
const MAX_RUN: usize = 4096;

/// Appends the detections of the enabled opt-in classes in `s` to `out`.
pub(super) fn detect_values(s: &[u8], enabled: &[SecretClass], out: &mut Vec<Hit>) {
    for &class in enabled {
        match class {
            SecretClass::TracingId => prefixed(s, b"trace-", class, out),
            SecretClass::IdempotencyKey => prefixed(s, b"smoke-", class, out),
            SecretClass::PlatformId => prefixed(s, b"railway-", class, out),
            SecretClass::KeyAssignment => assignments(s, out),
            _ => {}
        }
    }
}

/// Characters of an id after its prefix (the predecessor's `[A-Za-z0-9._:-]`).
fn id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')
}

/// `prefix` followed by at least one id character, anywhere (no word boundary, as the
/// predecessor's pattern has none).
fn prefixed(s: &[u8], prefix: &[u8], class: SecretClass, out: &mut Vec<Hit>) {
    let mut i = 0;
    while let Some(p) = super::find_bytes(s, prefix, i) {
        let body = p + prefix.len();
        let end = run(s, body, id_char);
        if end > body {
            out.push(Hit {
                start: p,
                end,
                class,
            });
            i = end;
        } else {
            i = body;
        }
    }
}

/// End of the run of `f` bytes from `i`, at most [`MAX_RUN`] long.
fn run(s: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    let mut j = i;
    while j - i < MAX_RUN && s.get(j).copied().is_some_and(&f) {
        j += 1;
    }
    j
}

/// The key names of an assignment, compared case-insensitively; `_` stands for an optional
/// `_` or `-`.
const NAMES: &[&[u8]] = &[b"authorization", b"api_key", b"private_key", b"signing_key"];

/// `name["']? *[:=] *["']?value`: the name, the separator and the value, redacted whole so
/// that neither `private_key=` with a placeholder after it nor the value is left for a
/// pattern to find.
fn assignments(s: &[u8], out: &mut Vec<Hit>) {
    let mut i = 0;
    while i < s.len() {
        match NAMES.iter().find_map(|n| name_at(s, i, n)) {
            Some(after) => match assigned_value(s, after) {
                Some(end) => {
                    out.push(Hit {
                        start: i,
                        end,
                        class: SecretClass::KeyAssignment,
                    });
                    i = end;
                }
                None => i += 1,
            },
            None => i += 1,
        }
    }
}

/// If `name` is at `i`, the offset after it.
fn name_at(s: &[u8], i: usize, name: &[u8]) -> Option<usize> {
    let mut j = i;
    for &c in name {
        let b = *s.get(j)?;
        if c == b'_' {
            if matches!(b, b'_' | b'-') {
                j += 1;
            }
        } else if b.eq_ignore_ascii_case(&c) {
            j += 1;
        } else {
            return None;
        }
    }
    Some(j)
}

/// After a name: an optional quote, blanks, `:` or `=`, blanks, an optional quote and at
/// least one value byte (not a quote, blank, `,` or `}`); the offset after the value.
fn assigned_value(s: &[u8], mut j: usize) -> Option<usize> {
    let blank = |b: u8| b.is_ascii_whitespace();
    if matches!(s.get(j), Some(b'"' | b'\'')) {
        j += 1;
    }
    j = run(s, j, blank);
    if !matches!(s.get(j), Some(b':' | b'=')) {
        return None;
    }
    j = run(s, j + 1, blank);
    if matches!(s.get(j), Some(b'"' | b'\'')) {
        j += 1;
    }
    let end = run(s, j, |b| {
        !matches!(b, b'"' | b'\'' | b',' | b'}') && !blank(b)
    });
    (end > j).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(String, SecretClass)> {
        let mut out = Vec::new();
        detect_values(s.as_bytes(), OPT_IN, &mut out);
        out.iter()
            .map(|h| (s[h.start..h.end].to_owned(), h.class))
            .collect()
    }

    #[test]
    fn ids_are_found_with_the_predecessor_alphabet() {
        assert_eq!(
            found("id trace-4b2f04e0:x.y and xtrace-1"),
            [
                ("trace-4b2f04e0:x.y".to_owned(), SecretClass::TracingId),
                ("trace-1".to_owned(), SecretClass::TracingId)
            ]
        );
        assert_eq!(found("smoke-ab12")[0].1, SecretClass::IdempotencyKey);
        assert_eq!(found("railway-dep_1")[0].1, SecretClass::PlatformId);
        assert!(
            found("trace- smoke-\"").is_empty(),
            "a prefix alone is no id"
        );
    }

    #[test]
    fn assignments_are_found_whole() {
        assert_eq!(
            found("Private-Key = abc, next"),
            [("Private-Key = abc".to_owned(), SecretClass::KeyAssignment)]
        );
        assert_eq!(found("api_key:'k1'")[0].0, "api_key:'k1");
        assert_eq!(found("AUTHORIZATION=Bearer")[0].0, "AUTHORIZATION=Bearer");
        assert_eq!(found("signingkey=\"v\"")[0].0, "signingkey=\"v");
        assert!(found("api_private_key check ok").is_empty());
        assert!(
            found("private_key: \"\"").is_empty(),
            "an empty value holds nothing"
        );
    }

    #[test]
    fn placeholders_do_not_match_the_patterns_they_replace() {
        for class in OPT_IN {
            assert!(found(&class.placeholder()).is_empty(), "{class}");
        }
    }
}
