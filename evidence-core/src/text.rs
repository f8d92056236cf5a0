//! Text that came from evidence, made safe to show: a hostile name must neither forge extra
//! report lines nor disguise itself as another name. Ground floor: used by the JSON reader,
//! the report and every format that names what it found.

use std::borrow::Cow;

/// Escapes control, format and separator characters so a hostile name can neither forge
/// extra report lines nor disguise itself: bidirectional overrides (`U+202E`) reorder what a
/// terminal shows, and zero-width characters make two different names look the same.
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(|c| c.is_control() || is_invisible(c)) {
        Cow::Owned(text.escape_debug().to_string())
    } else {
        Cow::Borrowed(text)
    }
}

/// Unicode format characters (general category Cf: bidirectional controls, zero-width
/// characters, the byte-order mark, tags) and the line and paragraph separators.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_could_forge_or_disguise_a_name() {
        assert!(matches!(printable("app-1.4.2.tar.gz"), Cow::Borrowed(_)));
        assert!(matches!(printable("résumé 日本"), Cow::Borrowed(_)));
        assert_eq!(printable("a\nFAIL x"), "a\\nFAIL x");
        // A right-to-left override makes `exe.txt` read as `txt.exe`.
        assert_eq!(printable("\u{202e}txt.exe"), "\\u{202e}txt.exe");
        assert_eq!(printable("ap\u{200b}p"), "ap\\u{200b}p");
        assert_eq!(printable("\u{feff}SHA256SUMS"), "\\u{feff}SHA256SUMS");
        assert_eq!(printable("a\u{2028}b"), "a\\u{2028}b");
        assert_eq!(printable("\u{e0041}"), "\\u{e0041}");
    }
}

/// `n` and the noun, singular for one: `count(1, "file")` is `1 file`, `count(3, "file")`
/// `3 files`. `noun` is the singular; nouns ending in `y` after a consonant take `ies`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// A span of seconds as people read it, largest units first, at most two of them, with the
/// exact seconds after a larger unit: `45 s`, `2 min 5 s`, `3 h 2 min`,
/// `10 days 4 h (881333 s)`.
pub fn duration(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "day"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut parts = Vec::new();
    let mut left = seconds;
    for (size, name) in UNITS {
        let n = left / size;
        if n > 0 && parts.len() < 2 {
            parts.push(if name == "day" {
                count(n, "day")
            } else {
                format!("{n} {name}")
            });
            left -= n * size;
        } else if !parts.is_empty() {
            // Units are consecutive: stop at the first gap after the largest.
            break;
        }
    }
    match parts.as_slice() {
        [] => "0 s".to_owned(),
        [one] if seconds < 60 => one.clone(),
        _ if seconds < 3_600 => parts.join(" "),
        _ => format!("{} ({seconds} s)", parts.join(" ")),
    }
}

#[cfg(test)]
mod count_tests {
    use super::*;

    #[test]
    fn counts_and_durations_read_as_english() {
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(2, "entry"), "2 entries");
        assert_eq!(count(1, "entry"), "1 entry");
        assert_eq!(count(2, "key"), "2 keys");
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(125), "2 min 5 s");
        assert_eq!(duration(3_600), "1 h (3600 s)");
        assert_eq!(duration(3 * 3_600 + 120 + 7), "3 h 2 min (10927 s)");
        assert_eq!(duration(881_333), "10 days 4 h (881333 s)");
        assert_eq!(duration(86_400 + 59), "1 day (86459 s)");
    }
}
