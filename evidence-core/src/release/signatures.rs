//! The `signatures` stage: signatures over the exact checksum file bytes.
//!
//! - `SHA256SUMS.dsse.json`: a DSSE envelope of payload type
//!   [`PAYLOAD_TYPE_SHA256SUMS`](crate::dsse::PAYLOAD_TYPE_SHA256SUMS) whose payload is exactly
//!   the checksum file, judged against the caller's trust policy.
//! - `SHA256SUMS.minisig`: a minisign signature (prehashed `ED` or legacy `Ed`) checked with
//!   the caller's minisign public key. The format and the signature are handled by the
//!   `minisign-verify` crate, written by minisign's author; it refuses a non-canonical `S`
//!   and the identity key.
//!
//! With a key given, a missing or invalid signature fails; without one, a signature file
//! present is reported as unchecked (DESIGN 3: trust comes from outside the evidence).

use std::path::{Path, PathBuf};

use super::codes::*;
use super::{ReadError, ReleaseOptions, SIGNATURE_CODES, read_limited, section};
use crate::dsse::{self, Envelope};
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

/// The signature files that belong to a checksum file: `<sums>.dsse.json`, `<sums>.minisig`.
pub(crate) fn signature_paths(sums_path: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut p = sums_path.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    (with(".dsse.json"), with(".minisig"))
}

/// True when the signature stage needs the checksum bytes: a key was given or a signature
/// file exists.
pub(crate) fn needed(sums_path: &Path, opts: &ReleaseOptions<'_>) -> bool {
    let (dsse_path, minisig_path) = signature_paths(sums_path);
    opts.trust.is_some()
        || opts.minisign_key.is_some()
        || std::fs::symlink_metadata(dsse_path).is_ok()
        || std::fs::symlink_metadata(minisig_path).is_ok()
}

/// Runs the stage over the exact checksum bytes. `attested` says that statements signed by
/// trusted keys attest every asset by its digest, which stands in for a missing DSSE signature
/// of the checksum file (an invalid one still fails).
pub(crate) fn check(
    sums_path: &Path,
    sums_bytes: &[u8],
    opts: &ReleaseOptions<'_>,
    attested: bool,
) -> Vec<Check> {
    let (dsse_path, minisig_path) = signature_paths(sums_path);
    let mut checks = dsse_checks(&dsse_path, sums_bytes, opts, attested);
    checks.extend(minisign_checks(&minisig_path, sums_bytes, opts));
    checks
        .into_iter()
        .map(|c| c.in_section(section::SIGNATURES))
        .collect()
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads a signature file; `Ok(None)` when it does not exist.
fn read_signature(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, String> {
    match read_limited(path, limit) {
        Ok(b) => Ok(Some(b)),
        Err(ReadError::NotFound) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn dsse_checks(
    path: &Path,
    sums_bytes: &[u8],
    opts: &ReleaseOptions<'_>,
    attested: bool,
) -> Vec<Check> {
    let file = name(path);
    let at = |c: Check| c.with_path(printable(&file).into_owned());
    let bytes = match read_signature(path, opts.dsse_limits.max_envelope_bytes) {
        Ok(b) => b,
        Err(e) => return vec![at(Check::fail(RELEASE_SUMS_ENVELOPE_INVALID, e))],
    };
    let Some(bytes) = bytes else {
        return match opts.trust {
            Some(_) if attested => vec![at(Check::skip(
                RELEASE_SUMS_SIGNATURE_MISSING,
                "the checksum file is not signed, but signed provenance attests every asset by its SHA-256",
            ))],
            Some(_) => vec![at(dsse::missing_check(
                &SIGNATURE_CODES,
                dsse::SignatureRequirement::Required,
                "the checksum file",
            ))],
            None => Vec::new(),
        };
    };
    let envelope = match Envelope::parse(&bytes, &opts.dsse_limits) {
        Ok(e) => e,
        Err(e) => {
            return vec![at(Check::fail(
                RELEASE_SUMS_ENVELOPE_INVALID,
                e.to_string(),
            ))];
        }
    };
    let Some(policy) = opts.trust else {
        return vec![at(Check::warn(
            RELEASE_SUMS_SIGNATURE_UNCHECKED,
            format!(
                "{} signature(s) present but no trusted key was given: the checksum file is not authenticated (pass --trusted-key or --keyring)",
                envelope.signatures.len()
            ),
        ))];
    };
    // DESIGN 2: the signature covers the exact bytes the digests were read from.
    if envelope.payload != sums_bytes {
        return vec![at(Check::fail(
            RELEASE_SUMS_SIGNATURE_INVALID,
            "the envelope signs other bytes than the checksum file: the checksum file was rewritten after signing",
        ))];
    }
    let verdict = envelope.verify(dsse::PAYLOAD_TYPE_SHA256SUMS, policy);
    dsse::verdict_checks(
        &verdict,
        &SIGNATURE_CODES,
        dsse::SignatureRequirement::Required,
        "the checksum file",
    )
    .into_iter()
    .map(at)
    .collect()
}

fn minisign_checks(path: &Path, sums_bytes: &[u8], opts: &ReleaseOptions<'_>) -> Vec<Check> {
    let file = name(path);
    let at = |c: Check| c.with_path(printable(&file).into_owned());
    let bytes = match read_signature(path, 64 << 10) {
        Ok(b) => b,
        Err(e) => return vec![at(Check::fail(RELEASE_MINISIGN_INVALID, e))],
    };
    let Some(bytes) = bytes else {
        return match opts.minisign_key {
            Some(_) => vec![at(Check::fail(
                RELEASE_MINISIGN_MISSING,
                "a minisign key was given but there is no minisign signature of the checksum file",
            ))],
            None => Vec::new(),
        };
    };
    let signature = match std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|t| minisign_verify::Signature::decode(t).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            return vec![at(Check::fail(
                RELEASE_MINISIGN_INVALID,
                format!("not a minisign signature: {e}"),
            ))];
        }
    };
    let Some(key) = opts.minisign_key else {
        return vec![at(Check::warn(
            RELEASE_SUMS_SIGNATURE_UNCHECKED,
            "minisign signature present but no --minisign-key was given: not checked",
        ))];
    };
    let comment = signature.trusted_comment().to_owned();
    match key.0.verify(sums_bytes, &signature, true) {
        Ok(()) => vec![at(Check::pass(
            RELEASE_MINISIGN_VERIFIED,
            format!(
                "minisign signature verified; trusted comment: {}",
                printable(&comment)
            ),
        )
        .with("trusted_comment", comment))],
        Err(minisign_verify::Error::UnexpectedKeyId) => vec![at(Check::fail(
            RELEASE_MINISIGN_INVALID,
            "made by another minisign key than the one given",
        ))],
        Err(e) => vec![at(Check::fail(
            RELEASE_MINISIGN_INVALID,
            format!("does not verify ({e}): forged, or the checksum file changed"),
        ))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::encode_base64;
    use crate::keys::PrivateKey;

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
        let minisig = signature_paths(&sums).1;
        let (public, signature) = minisign(1, [7; 8], b"abc  app\n");
        std::fs::write(&minisig, signature).unwrap();
        let key = MinisignKey::parse(&public).unwrap();
        let opts = ReleaseOptions {
            minisign_key: Some(&key),
            ..ReleaseOptions::default()
        };
        let good = minisign_checks(&minisig, b"abc  app\n", &opts);
        assert_eq!(good.len(), 1);
        assert!(good[0].is(RELEASE_MINISIGN_VERIFIED), "{good:?}");
        assert!(good[0].detail.contains("timestamp:1700000000"));
        let bad = minisign_checks(&minisig, b"abd  app\n", &opts);
        assert!(bad[0].is(RELEASE_MINISIGN_INVALID), "{bad:?}");
        // Another key (same key id would still fail the signature; another id fails early).
        let (other, _) = minisign(2, [8; 8], b"");
        let other = MinisignKey::parse(&other).unwrap();
        let opts_other = ReleaseOptions {
            minisign_key: Some(&other),
            ..ReleaseOptions::default()
        };
        let stranger = minisign_checks(&minisig, b"abc  app\n", &opts_other);
        assert!(stranger[0].is(RELEASE_MINISIGN_INVALID), "{stranger:?}");
        // Without a key it is reported, not trusted.
        let unchecked = minisign_checks(&minisig, b"abc  app\n", &ReleaseOptions::default());
        assert!(unchecked[0].is(RELEASE_SUMS_SIGNATURE_UNCHECKED));
        assert_eq!(unchecked[0].status, crate::report::Status::Warn);
        // A key given and no signature: a failure.
        std::fs::remove_file(&minisig).unwrap();
        let missing = minisign_checks(&minisig, b"abc  app\n", &opts);
        assert!(missing[0].is(RELEASE_MINISIGN_MISSING));
        // Garbage where the signature should be.
        std::fs::write(&minisig, "garbage").unwrap();
        let garbage = minisign_checks(&minisig, b"abc  app\n", &opts);
        assert!(garbage[0].is(RELEASE_MINISIGN_INVALID));
    }
}
