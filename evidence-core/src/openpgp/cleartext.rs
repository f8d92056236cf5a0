//! Cleartext-signed messages (`-----BEGIN PGP SIGNED MESSAGE-----`, RFC 9580 section 7), as
//! Node.js publishes `SHASUMS256.txt.asc`: the signature covers the text with line endings
//! made CR LF, trailing spaces and tabs cut, and the last line break dropped. Such a file
//! counts for the file beside it only when its text is that file: same lines, in order
//! (DESIGN 2). Because the signature cannot bind trailing blanks, a file with a line ending in
//! a space or tab is refused rather than half-bound.

use pgp::composed::CleartextSignedMessage;
use pgp::packet::Signature;

const HEADER: &[u8] = b"-----BEGIN PGP SIGNED MESSAGE-----";

/// Why a cleartext-signed message does not stand for the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CleartextError {
    /// The message or the file is not UTF-8, or the message does not parse.
    #[error("not a valid cleartext-signed message: {0}")]
    Malformed(String),
    /// The text signed is not the file's text.
    #[error(
        "the signed text is not the checksum file: the checksum file was rewritten after signing"
    )]
    OtherText,
    /// The file has a line ending in blanks, which a cleartext signature cannot cover.
    #[error(
        "line {0} of the signed file ends in a space or tab, which a cleartext signature does not cover; use a detached signature"
    )]
    TrailingBlank(usize),
}

/// True when `bytes` start (after blank lines) with the cleartext header.
pub(super) fn is_cleartext(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes.get(start..).is_some_and(|b| b.starts_with(HEADER))
}

/// The signatures of the message and the exact text they sign, once that text is `data`.
pub(super) fn parse(
    bytes: &[u8],
    data: &[u8],
) -> Result<(Vec<Signature>, Vec<u8>), CleartextError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CleartextError::Malformed("the message is not UTF-8".into()))?;
    let (message, _) = CleartextSignedMessage::from_string(text)
        .map_err(|e| CleartextError::Malformed(e.to_string()))?;
    let signed = message.signed_text();
    let expected = canonical(data)?;
    if signed.trim_end_matches("\r\n") != expected.trim_end_matches("\r\n") {
        return Err(CleartextError::OtherText);
    }
    Ok((message.signatures().to_vec(), signed.into_bytes()))
}

/// `data` as a cleartext signature covers it: lines joined by CR LF.
fn canonical(data: &[u8]) -> Result<String, CleartextError> {
    let text = std::str::from_utf8(data)
        .map_err(|_| CleartextError::Malformed("the signed file is not UTF-8".into()))?;
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.ends_with([' ', '\t']) {
            return Err(CleartextError::TrailingBlank(n + 1));
        }
        if n > 0 {
            out.push_str("\r\n");
        }
        out.push_str(line);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_text_joins_lines_with_crlf_and_refuses_trailing_blanks() {
        assert_eq!(canonical(b"a  x\nb  y\n").unwrap(), "a  x\r\nb  y\r\n");
        assert_eq!(canonical(b"a\r\nb").unwrap(), "a\r\nb");
        assert!(matches!(
            canonical(b"a\nb \n"),
            Err(CleartextError::TrailingBlank(2))
        ));
        assert!(is_cleartext(
            b"\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"
        ));
        assert!(!is_cleartext(b"-----BEGIN PGP SIGNATURE-----\n"));
    }
}
