//! `SHA256SUMS.minisig`: a minisign signature (prehashed `ED` or legacy `Ed`) checked with the
//! caller's minisign public key. The format and the signature are handled by the
//! `minisign-verify` crate, written by minisign's author; it refuses a non-canonical `S` and
//! the identity key.

use std::path::{Path, PathBuf};

use super::{SignatureTrust, SumsSignatureFormat, beside};
use crate::release::codes::*;
use crate::release::read_limited;
use crate::report::Check;
use crate::text::printable;

/// A minisign public key (`minisign.pub`: an untrusted comment line and a base64 line, or the
/// base64 line alone).
#[derive(Clone)]
pub struct MinisignKey(minisign_verify::PublicKey);

impl std::fmt::Debug for MinisignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MinisignKey")
    }
}

/// Why a minisign key was refused.
#[derive(Debug, thiserror::Error)]
#[error("not a minisign public key: {0}")]
pub struct MinisignKeyError(String);

impl MinisignKey {
    /// Parses the text of a minisign public key file.
    pub fn parse(text: &str) -> Result<Self, MinisignKeyError> {
        let text = text.trim();
        let key = if text.starts_with("untrusted comment:") {
            minisign_verify::PublicKey::decode(text)
        } else {
            minisign_verify::PublicKey::from_base64(text)
        };
        key.map(Self).map_err(|e| MinisignKeyError(e.to_string()))
    }

    /// Reads a minisign public key file (at most 4 KiB).
    pub fn load(path: &Path) -> Result<Self, MinisignKeyError> {
        let bytes = read_limited(path, 4096)
            .map_err(|e| MinisignKeyError(format!("{} {e}", path.display())))?;
        Self::parse(&String::from_utf8_lossy(&bytes))
    }
}

/// Minisign signatures of the checksum file.
pub(crate) struct Minisign;

impl SumsSignatureFormat for Minisign {
    fn candidates(&self, sums_path: &Path) -> Vec<PathBuf> {
        vec![beside(sums_path, ".minisig")]
    }

    fn keyed(&self, trust: &SignatureTrust<'_>) -> bool {
        trust.minisign_key.is_some()
    }

    fn max_bytes(&self, _: &SignatureTrust<'_>) -> u64 {
        64 << 10
    }

    fn missing(&self, trust: &SignatureTrust<'_>) -> Vec<Check> {
        match trust.minisign_key {
            Some(_) => vec![Check::fail(
                RELEASE_MINISIGN_MISSING,
                "a minisign key was given but there is no minisign signature of the checksum file",
            )],
            None => Vec::new(),
        }
    }

    fn unreadable(&self, reason: String) -> Check {
        Check::fail(RELEASE_MINISIGN_INVALID, reason)
    }

    fn verify(&self, sums: &[u8], signature: &[u8], trust: &SignatureTrust<'_>) -> Vec<Check> {
        let signature = match std::str::from_utf8(signature)
            .map_err(|e| e.to_string())
            .and_then(|t| minisign_verify::Signature::decode(t).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => {
                return vec![Check::fail(
                    RELEASE_MINISIGN_INVALID,
                    format!("not a minisign signature: {e}"),
                )];
            }
        };
        let Some(key) = trust.minisign_key else {
            return vec![Check::warn(
                RELEASE_SUMS_SIGNATURE_UNCHECKED,
                "minisign signature present but no --minisign-key was given: not checked",
            )];
        };
        vec![judge(key, sums, &signature)]
    }
}

/// The check for a decoded signature under the caller's key.
fn judge(key: &MinisignKey, sums: &[u8], signature: &minisign_verify::Signature) -> Check {
    let comment = signature.trusted_comment().to_owned();
    match key.0.verify(sums, signature, true) {
        Ok(()) => Check::pass(
            RELEASE_MINISIGN_VERIFIED,
            format!(
                "minisign signature verified; trusted comment: {}",
                printable(&comment)
            ),
        )
        .with("trusted_comment", comment),
        Err(minisign_verify::Error::UnexpectedKeyId) => Check::fail(
            RELEASE_MINISIGN_INVALID,
            "made by another minisign key than the one given",
        ),
        Err(e) => Check::fail(
            RELEASE_MINISIGN_INVALID,
            format!("does not verify ({e}): forged, or the checksum file changed"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::format_checks;
    use super::*;
    use crate::dsse::encode_base64;
    use crate::keys::PrivateKey;
    use crate::release::ReleaseOptions;

    /// A minisign public key line and a legacy (`Ed`, not prehashed) signature of `message`,
    /// built from the format: key = base64("Ed" || key id || public key); signature line =
    /// base64("Ed" || key id || Ed25519(message)); global signature = Ed25519(signature ||
    /// trusted comment).
    fn minisign(seed: u8, key_id: [u8; 8], message: &[u8]) -> (String, String) {
        let key = PrivateKey::from_seed(&[seed; 32]);
        let mut public = b"Ed".to_vec();
        public.extend_from_slice(&key_id);
        public.extend_from_slice(key.public().as_bytes());
        let sig = key.sign(message);
        let mut line = b"Ed".to_vec();
        line.extend_from_slice(&key_id);
        line.extend_from_slice(&sig);
        let comment = "timestamp:1700000000\tfile:SHA256SUMS";
        let mut global = sig.to_vec();
        global.extend_from_slice(comment.as_bytes());
        let text = format!(
            "untrusted comment: signature from a test key\n{}\ntrusted comment: {comment}\n{}\n",
            encode_base64(&line),
            encode_base64(&key.sign(&global))
        );
        (
            format!("untrusted comment: test key\n{}\n", encode_base64(&public)),
            text,
        )
    }

    /// The minisign checks for the checksum file `sums` with the given options.
    fn minisign_checks(sums: &Path, sums_bytes: &[u8], opts: &ReleaseOptions<'_>) -> Vec<Check> {
        format_checks(
            &Minisign,
            sums,
            sums_bytes,
            &SignatureTrust::new(opts, false),
        )
    }

    #[test]
    fn keys_parse_with_or_without_the_comment_line() {
        let (public, _) = minisign(1, [1; 8], b"x");
        assert!(MinisignKey::parse(&public).is_ok());
        assert!(MinisignKey::parse(public.lines().nth(1).unwrap()).is_ok());
        assert!(MinisignKey::parse("not a key").is_err());
    }

    #[test]
    fn minisign_signatures_verify_over_the_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let sums = dir.path().join("SHA256SUMS");
        let minisig = dir.path().join("SHA256SUMS.minisig");
        assert_eq!(Minisign.candidates(&sums), std::slice::from_ref(&minisig));
        let (public, signature) = minisign(1, [7; 8], b"abc  app\n");
        std::fs::write(&minisig, signature).unwrap();
        let key = MinisignKey::parse(&public).unwrap();
        let opts = ReleaseOptions {
            minisign_key: Some(&key),
            ..ReleaseOptions::default()
        };
        let good = minisign_checks(&sums, b"abc  app\n", &opts);
        assert_eq!(good.len(), 1);
        assert!(good[0].is(RELEASE_MINISIGN_VERIFIED), "{good:?}");
        assert!(good[0].detail.contains("timestamp:1700000000"));
        let bad = minisign_checks(&sums, b"abd  app\n", &opts);
        assert!(bad[0].is(RELEASE_MINISIGN_INVALID), "{bad:?}");
        // Another key (same key id would still fail the signature; another id fails early).
        let (other, _) = minisign(2, [8; 8], b"");
        let other = MinisignKey::parse(&other).unwrap();
        let opts_other = ReleaseOptions {
            minisign_key: Some(&other),
            ..ReleaseOptions::default()
        };
        let stranger = minisign_checks(&sums, b"abc  app\n", &opts_other);
        assert!(stranger[0].is(RELEASE_MINISIGN_INVALID), "{stranger:?}");
        // Without a key it is reported, not trusted.
        let unchecked = minisign_checks(&sums, b"abc  app\n", &ReleaseOptions::default());
        assert!(unchecked[0].is(RELEASE_SUMS_SIGNATURE_UNCHECKED));
        assert_eq!(unchecked[0].status, crate::report::Status::Warn);
        // A key given and no signature: a failure.
        std::fs::remove_file(&minisig).unwrap();
        let missing = minisign_checks(&sums, b"abc  app\n", &opts);
        assert!(missing[0].is(RELEASE_MINISIGN_MISSING));
        // Garbage where the signature should be.
        std::fs::write(&minisig, "garbage").unwrap();
        let garbage = minisign_checks(&sums, b"abc  app\n", &opts);
        assert!(garbage[0].is(RELEASE_MINISIGN_INVALID));
    }
}
