//! Decoded views of a text: one level of JSON string unescaping, or of URL percent-decoding,
//! with a map from every decoded byte back to the source bytes it came from.
//!
//! Long sources are decoded in overlapping windows so that memory stays bounded whatever the
//! input: a secret shorter than [`OVERLAP`] always lies whole inside some window.

use super::Hit;

/// Bytes of source decoded at once.
pub(super) const WINDOW: usize = 1 << 20;
/// Overlap between consecutive windows.
pub(super) const OVERLAP: usize = 64 << 10;

/// Longest JSON escape sequence (a surrogate pair, `\uD83D\uDE00`).
const MAX_ESCAPE: usize = 12;

/// Which decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// JSON string escapes: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX` (with
    /// surrogate pairs). Malformed escapes are kept as they are.
    JsonString,
    /// URL encoding: `%XX` and `+` for a space. Malformed escapes are kept as they are.
    Url,
}

/// One escape sequence: source bytes `src..src+src_len` decoded to `dec..dec+dec_len`.
#[derive(Debug, Clone, Copy)]
struct Unit {
    dec: u32,
    src: u32,
    dec_len: u8,
    src_len: u8,
}

/// A decoded window.
#[derive(Debug, Default)]
pub(super) struct View {
    pub(super) bytes: Vec<u8>,
    units: Vec<Unit>,
}

impl View {
    /// Source range for decoded range `start..end`, widened to whole escape sequences.
    pub(super) fn to_source(&self, start: usize, end: usize) -> (usize, usize) {
        (
            self.src_start(start),
            self.src_end(end).max(self.src_start(start)),
        )
    }

    fn src_start(&self, d: usize) -> usize {
        let i = self.units.partition_point(|u| u.dec as usize <= d);
        match i.checked_sub(1).and_then(|i| self.units.get(i)) {
            None => d,
            Some(u) => {
                let dec_end = u.dec as usize + u.dec_len as usize;
                let src_end = u.src as usize + u.src_len as usize;
                if d < dec_end {
                    u.src as usize
                } else {
                    src_end + (d - dec_end)
                }
            }
        }
    }

    fn src_end(&self, d: usize) -> usize {
        let i = self.units.partition_point(|u| (u.dec as usize) < d);
        match i.checked_sub(1).and_then(|i| self.units.get(i)) {
            None => d,
            Some(u) => {
                let dec_end = u.dec as usize + u.dec_len as usize;
                let src_end = u.src as usize + u.src_len as usize;
                if d <= dec_end {
                    src_end
                } else {
                    src_end + (d - dec_end)
                }
            }
        }
    }
}

/// Runs `inner` on the decoded view of every window of `src` (skipping windows with nothing to
/// decode) and appends its hits, mapped back to `src` offsets, to `out`.
pub(super) fn decoded_hits(
    src: &[u8],
    kind: Kind,
    out: &mut Vec<Hit>,
    inner: &dyn Fn(&[u8], &mut Vec<Hit>),
) {
    let trigger = |b: &u8| match kind {
        Kind::JsonString => *b == b'\\',
        Kind::Url => *b == b'%' || *b == b'+',
    };
    if !src.iter().any(trigger) {
        return;
    }
    let mut found = Vec::new();
    for_each_window(src.len(), |a, b| {
        let Some(window) = src.get(a..b) else {
            return;
        };
        if !window.iter().any(trigger) {
            return;
        }
        let view = decode(window, kind);
        if view.units.is_empty() && kind == Kind::JsonString {
            return;
        }
        if kind == Kind::Url && view.bytes == window {
            return;
        }
        found.clear();
        inner(&view.bytes, &mut found);
        for h in &found {
            let (s, e) = view.to_source(h.start, h.end);
            out.push(Hit {
                start: a + s,
                end: a + e,
                class: h.class,
            });
        }
    });
}

/// Runs `inner` on the parsed value of a JSON string whose raw (escaped) content is `raw`,
/// window by window, and appends its hits, mapped back to `raw` offsets, to `out`. Unlike
/// [`decoded_hits`] every window is examined, escaped or not: the decoded value is the text.
///
/// A window boundary can cut an escape sequence, which the window then reads as literal
/// text; a hit there could end inside an escape and break the string when replaced. Hits
/// within [`MAX_ESCAPE`] bytes of an inner window boundary are therefore left to the
/// neighbouring window, which sees them whole (the windows overlap by far more).
pub(super) fn value_hits(raw: &[u8], out: &mut Vec<Hit>, inner: &dyn Fn(&[u8], &mut Vec<Hit>)) {
    let mut found = Vec::new();
    for_each_window(raw.len(), |a, b| {
        let Some(window) = raw.get(a..b) else {
            return;
        };
        let view = decode(window, Kind::JsonString);
        found.clear();
        inner(&view.bytes, &mut found);
        for h in &found {
            let (s, e) = view.to_source(h.start, h.end);
            if (a > 0 && s < MAX_ESCAPE) || (b < raw.len() && e + MAX_ESCAPE > window.len()) {
                continue;
            }
            out.push(Hit {
                start: a + s,
                end: a + e,
                class: h.class,
            });
        }
    });
}

/// Calls `f(start, end)` for each window of a source of `len` bytes.
pub(super) fn for_each_window(len: usize, mut f: impl FnMut(usize, usize)) {
    if len <= WINDOW {
        f(0, len);
        return;
    }
    let step = WINDOW - OVERLAP;
    let mut a = 0usize;
    loop {
        let b = (a + WINDOW).min(len);
        f(a, b);
        if b == len {
            break;
        }
        a += step;
    }
}

/// Decodes a window (at most [`WINDOW`] bytes, so offsets fit in `u32`).
pub(super) fn decode(src: &[u8], kind: Kind) -> View {
    match kind {
        Kind::JsonString => decode_json(src),
        Kind::Url => decode_url(src),
    }
}

fn hex_val(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'a'..=b'f' => Some(u32::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u32::from(b - b'A' + 10)),
        _ => None,
    }
}

/// The four hex digits at `src[i..i+4]`.
fn hex4(src: &[u8], i: usize) -> Option<u32> {
    let d = src.get(i..i + 4)?;
    d.iter()
        .try_fold(0u32, |acc, b| hex_val(*b).map(|v| (acc << 4) | v))
}

/// The escape at `src[i]` (a backslash): decoded character and source length.
pub(super) fn json_escape(src: &[u8], i: usize) -> Option<(char, usize)> {
    let c = match src.get(i + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(src, i + 2)?;
            if (0xD800..0xDC00).contains(&hi) {
                if src.get(i + 6) != Some(&b'\\') || src.get(i + 7) != Some(&b'u') {
                    return None;
                }
                let lo = hex4(src, i + 8)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(cp).map(|c| (c, 12));
            }
            return char::from_u32(hi).map(|c| (c, 6));
        }
        _ => return None,
    };
    Some((c, 2))
}

fn decode_json(src: &[u8]) -> View {
    let mut view = View {
        bytes: Vec::with_capacity(src.len()),
        units: Vec::new(),
    };
    let mut i = 0usize;
    let mut utf8 = [0u8; 4];
    while i < src.len() {
        let Some(next) = super::memchr_from(b'\\', src, i) else {
            view.bytes
                .extend_from_slice(src.get(i..).unwrap_or_default());
            break;
        };
        view.bytes
            .extend_from_slice(src.get(i..next).unwrap_or_default());
        match json_escape(src, next) {
            Some((c, len)) => {
                let enc = c.encode_utf8(&mut utf8).as_bytes();
                view.units.push(Unit {
                    dec: view.bytes.len() as u32,
                    src: next as u32,
                    dec_len: enc.len() as u8,
                    src_len: len as u8,
                });
                view.bytes.extend_from_slice(enc);
                i = next + len;
            }
            None => {
                view.bytes.push(b'\\');
                i = next + 1;
            }
        }
    }
    view
}

fn decode_url(src: &[u8]) -> View {
    let mut view = View {
        bytes: Vec::with_capacity(src.len()),
        units: Vec::new(),
    };
    let mut i = 0usize;
    while let Some(&b) = src.get(i) {
        match b {
            b'%' => {
                let decoded = match (
                    src.get(i + 1).and_then(|h| hex_val(*h)),
                    src.get(i + 2).and_then(|l| hex_val(*l)),
                ) {
                    (Some(h), Some(l)) => Some((h << 4 | l) as u8),
                    _ => None,
                };
                match decoded {
                    Some(byte) => {
                        view.units.push(Unit {
                            dec: view.bytes.len() as u32,
                            src: i as u32,
                            dec_len: 1,
                            src_len: 3,
                        });
                        view.bytes.push(byte);
                        i += 3;
                    }
                    None => {
                        view.bytes.push(b);
                        i += 1;
                    }
                }
            }
            b'+' => {
                view.bytes.push(b' ');
                i += 1;
            }
            _ => {
                view.bytes.push(b);
                i += 1;
            }
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_view_maps_back_to_whole_escapes() {
        let src = br#"ab\/c\u0041\ud83d\ude00d\n"#;
        let view = decode(src, Kind::JsonString);
        assert_eq!(view.bytes, "ab/cA\u{1F600}d\n".as_bytes());
        // "/" at decoded 2 comes from source 2..4.
        assert_eq!(view.to_source(2, 3), (2, 4));
        // "A" at decoded 4.
        assert_eq!(view.to_source(4, 5), (5, 11));
        // The emoji is 4 decoded bytes from 12 source bytes; a range inside it widens.
        assert_eq!(view.to_source(5, 9), (11, 23));
        assert_eq!(view.to_source(6, 7), (11, 23));
        // Plain bytes after escapes.
        assert_eq!(view.to_source(9, 10), (23, 24));
        assert_eq!(view.to_source(0, view.bytes.len()), (0, src.len()));
    }

    #[test]
    fn malformed_escapes_stay() {
        for src in [&br"\x\u12\ud800x\"[..], br"\", br"\udc00"] {
            let view = decode(src, Kind::JsonString);
            assert_eq!(view.bytes, src);
            assert!(view.units.is_empty());
        }
    }

    #[test]
    fn url_view() {
        let src = b"a%2Fb+c%zz%4";
        let view = decode(src, Kind::Url);
        assert_eq!(view.bytes, b"a/b c%zz%4");
        assert_eq!(view.to_source(1, 2), (1, 4));
        assert_eq!(view.to_source(2, 5), (4, 7));
    }

    #[test]
    fn windows_cover_with_overlap() {
        let mut seen = Vec::new();
        for_each_window(3 * WINDOW, |a, b| seen.push((a, b)));
        assert_eq!(seen.first(), Some(&(0, WINDOW)));
        assert_eq!(seen.last().map(|w| w.1), Some(3 * WINDOW));
        for pair in seen.windows(2) {
            assert_eq!(pair[0].1 - pair[1].0, OVERLAP);
        }
        let mut seen = Vec::new();
        for_each_window(0, |a, b| seen.push((a, b)));
        assert_eq!(seen, vec![(0, 0)]);
    }
}
