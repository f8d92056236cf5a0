//! The five leak patterns of `deployment_evidence_verify.py`, matched by hand (the crate has no
//! regular-expression engine) with Python's semantics for the text it searches:
//!
//! - `raw_trace_id`: `trace-[A-Za-z0-9._:-]+`
//! - `bearer_token`: `Bearer\s+(?!REDACTED\b)[A-Za-z0-9._~+/=-]+`
//! - `openai_key`: `sk-[A-Za-z0-9]{16,}`
//! - `raw_private_key`: `(?i)private[_-]?key["']?\s*[:=]\s*(?!REDACTED\b)[^"'\s,}]+`
//! - `raw_signing_key`: the same with `signing`.
//!
//! `\s` and `\b` are Python's Unicode classes; `(?i)` also folds the characters Python's
//! engine folds onto ASCII letters (`K` KELVIN SIGN for `k`, long `ſ` for `s`, dotless and
//! dotted `i`). The greedy `\s*`/`\s+` never need to backtrack: the character after fewer
//! spaces is a space, which the following class refuses.

use super::Pack;
use super::codes::LEGACY_LEAK;
use crate::report::{Check, Report};

type Matcher = fn(&str) -> bool;

const PATTERNS: &[(&str, Matcher)] = &[
    ("raw_trace_id", trace_id),
    ("bearer_token", bearer),
    ("openai_key", openai_key),
    ("raw_private_key", |s| key_assignment(s, "private")),
    ("raw_signing_key", |s| key_assignment(s, "signing")),
];

/// Searches every `.json` and `.txt` file of the pack, as the predecessor did.
pub(super) fn check(pack: &Pack, report: &mut Report) {
    let mut found = false;
    for (name, bytes) in &pack.files {
        if !(name.ends_with(".json") || name.ends_with(".txt")) {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for (pattern, matches) in PATTERNS {
            if let Some(offset) = find(&text, *matches) {
                found = true;
                report.push(
                    Check::fail(LEGACY_LEAK, format!("{pattern} found"))
                        .with_path(name.as_str())
                        .with("pattern", *pattern)
                        .with("offset", offset),
                );
            }
        }
    }
    if !found {
        report.push(Check::pass(
            LEGACY_LEAK,
            "none of the five leak patterns matches",
        ));
    }
}

/// The byte offset of the first position where `matches` holds.
fn find(text: &str, matches: Matcher) -> Option<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.get(i..).is_some_and(matches))
}

fn trace_id(s: &str) -> bool {
    s.strip_prefix("trace-")
        .and_then(|r| r.chars().next())
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

fn bearer(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("Bearer") else {
        return false;
    };
    let value = rest.trim_start_matches(is_space);
    value.len() < rest.len()
        && !redacted(value, false)
        && value.chars().next().is_some_and(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '+' | '/' | '=' | '-')
        })
}

fn openai_key(s: &str) -> bool {
    s.strip_prefix("sk-").is_some_and(|r| {
        r.chars()
            .take(16)
            .filter(char::is_ascii_alphanumeric)
            .count()
            == 16
    })
}

fn key_assignment(s: &str, word: &str) -> bool {
    let Some(mut rest) = strip_folded(s, word) else {
        return false;
    };
    rest = rest.strip_prefix(['_', '-']).unwrap_or(rest);
    let Some(mut rest) = strip_folded(rest, "key") else {
        return false;
    };
    rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
    let Some(rest) = rest.trim_start_matches(is_space).strip_prefix([':', '=']) else {
        return false;
    };
    let value = rest.trim_start_matches(is_space);
    !redacted(value, true)
        && value
            .chars()
            .next()
            .is_some_and(|c| !matches!(c, '"' | '\'' | ',' | '}') && !is_space(c))
}

/// `(?!REDACTED\b)` failing: the text starts with `REDACTED` (folded when `fold`) that is not
/// followed by a word character.
fn redacted(s: &str, fold: bool) -> bool {
    let rest = if fold {
        strip_folded(s, "redacted")
    } else {
        s.strip_prefix("REDACTED")
    };
    rest.is_some_and(|r| !r.chars().next().is_some_and(is_word))
}

/// Strips the lower-case ASCII `word` from the start of `s`, ignoring case as Python's `(?i)`.
fn strip_folded<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let mut chars = s.char_indices();
    for expected in word.chars() {
        let (_, c) = chars.next()?;
        let folds = c.to_ascii_lowercase() == expected
            || matches!(
                (expected, c),
                ('k', '\u{212a}') | ('s', '\u{17f}') | ('i', '\u{130}' | '\u{131}')
            );
        if !folds {
            return None;
        }
    }
    Some(chars.next().map_or("", |(i, _)| s.get(i..).unwrap_or("")))
}

/// Python's `\s` for `str` patterns: `str.isspace`, which adds the ASCII separators
/// U+001C..U+001F to Unicode's White_Space.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\w` for `str` patterns.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
