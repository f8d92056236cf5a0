//! SHA-256 digests and their text form.
//!
//! DESIGN section 3, "Digest text": `sha256:` followed by 64 lower-case hex digits. Parsers accept
//! upper-case hex (some tools print it) but never a wrong length, and always print lower case.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// The prefix of the digest text form.
pub const SHA256_PREFIX: &str = "sha256:";

/// A SHA-256 digest: 32 bytes, printed as `sha256:<64 lower-case hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

/// Why a digest text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The text does not start with `sha256:` where the prefix is required.
    #[error("digest must start with \"sha256:\"")]
    MissingPrefix,
    /// The hex part is not exactly 64 characters long.
    #[error("SHA-256 digest must have 64 hex digits, found {found}")]
    WrongLength {
        /// Number of characters found after the prefix.
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("digest contains a non-hex character at offset {offset}")]
    NotHex {
        /// Offset of the first bad character within the hex part.
        offset: usize,
    },
}

impl Sha256Digest {
    /// Wraps 32 raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hashes a byte slice in one go.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Parses the text form `sha256:<64 hex>` (upper-case hex accepted).
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let hex_part = text
            .strip_prefix(SHA256_PREFIX)
            .ok_or(DigestError::MissingPrefix)?;
        Self::from_hex(hex_part)
    }

    /// Parses exactly 64 hex digits with no prefix (the SHA256SUMS and in-toto form).
    pub fn from_hex(hex_part: &str) -> Result<Self, DigestError> {
        let bytes = hex_part.as_bytes();
        if bytes.len() != 64 {
            return Err(DigestError::WrongLength {
                found: hex_part.chars().count(),
            });
        }
        // Table lookups without data-dependent branches: random hex digits would otherwise
        // mispredict on every character. Any invalid character sets the high bit of `bad`.
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (pair, slot) in bytes.chunks_exact(2).zip(out.iter_mut()) {
            let hi = pair.first().map_or(INVALID, |&c| hex_value(c));
            let lo = pair.get(1).map_or(INVALID, |&c| hex_value(c));
            bad |= hi | lo;
            *slot = (hi << 4) | (lo & 0x0f);
        }
        if bad & INVALID != 0 {
            let offset = bytes
                .iter()
                .position(|&c| hex_value(c) == INVALID)
                .unwrap_or_default();
            return Err(DigestError::NotHex { offset });
        }
        Ok(Self(out))
    }

    /// The 64 lower-case hex digits without the prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Marks a byte that is not a hex digit in [`HEX_VALUES`].
const INVALID: u8 = 0x80;

/// Value of each byte as a hex digit, or [`INVALID`]. Built at compile time, where an
/// out-of-range index is a compile error rather than a panic.
#[allow(clippy::indexing_slicing)]
static HEX_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

fn hex_value(c: u8) -> u8 {
    HEX_VALUES.get(usize::from(c)).copied().unwrap_or(INVALID)
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHA256_PREFIX}{}", self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

impl FromStr for Sha256Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An incremental SHA-256 hasher producing a [`Sha256Digest`].
#[derive(Clone, Default)]
pub struct Sha256Hasher(Sha256);

impl fmt::Debug for Sha256Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256Hasher")
    }
}

impl Sha256Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Sha256Digest {
        Sha256Digest(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn empty_input_has_the_well_known_digest() {
        assert_eq!(Sha256Digest::of(b"").to_hex(), EMPTY);
        assert_eq!(Sha256Digest::of(b"").to_string(), format!("sha256:{EMPTY}"));
    }

    #[test]
    fn upper_case_hex_is_accepted_and_printed_lower() {
        let d = Sha256Digest::parse(&format!("sha256:{}", EMPTY.to_uppercase())).unwrap();
        assert_eq!(d.to_hex(), EMPTY);
    }

    #[test]
    fn wrong_length_and_bad_characters_are_refused() {
        assert_eq!(
            Sha256Digest::from_hex(&EMPTY[..63]),
            Err(DigestError::WrongLength { found: 63 })
        );
        assert_eq!(Sha256Digest::parse(EMPTY), Err(DigestError::MissingPrefix));
        let mut bad = EMPTY.to_string();
        bad.replace_range(10..11, "g");
        assert_eq!(
            Sha256Digest::from_hex(&bad),
            Err(DigestError::NotHex { offset: 10 })
        );
        // A multi-byte character must not be mistaken for two hex digits.
        let odd = format!("{}é", &EMPTY[..62]);
        assert!(matches!(
            Sha256Digest::from_hex(&odd),
            Err(DigestError::NotHex { .. })
        ));
    }

    #[test]
    fn incremental_hashing_equals_one_shot() {
        let mut h = Sha256Hasher::new();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish(), Sha256Digest::of(b"hello world"));
    }

    proptest! {
        #[test]
        fn text_form_round_trips(bytes in any::<[u8; 32]>()) {
            let d = Sha256Digest::from_bytes(bytes);
            prop_assert_eq!(Sha256Digest::parse(&d.to_string()), Ok(d));
            let json = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<Sha256Digest>(&json).unwrap(), d);
        }

        #[test]
        fn parser_never_panics(text in ".{0,80}") {
            let _ = Sha256Digest::parse(&text);
            let _ = Sha256Digest::from_hex(&text);
        }
    }
}
