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
