//! Evidence bundles (`evidence.bundle/v1`): content-addressed, Ed25519-signed folders (or
//! deterministic `.tar.gz` archives of them).
//!
//! ```text
//! BUNDLE/
//!   manifest.json        canonical JSON (see manifest.rs); bundle id = sha256 of these bytes
//!   manifest.dsse.json   DSSE envelope whose payload is exactly manifest.json
//!   SHA256SUMS           coreutils lines for manifest.json and every payload file
//!   payload/...          the evidence files
//! ```
//!
//! - [`build`] creates a bundle atomically from files and folders, optionally redacting and
//!   signing it, and co-signs existing bundles;
//! - [`verify`] checks a bundle folder against every rule of DESIGN section 3;
//! - [`archive`] packs, streams-verifies and safely unpacks the `.tar.gz` form.
//!
//! Both forms are verified by one set of checks (`check.rs`), fed by a source per form: the
//! folder walk and the archive stream each read the metadata files, then present their
//! payload entries one by one. The stages, in report order: the manifest, SHA256SUMS and
//! signatures (from their exact bytes); each entry's path and type (unlisted files, planted
//! folders, links); each listed file's size and digest; the listed files never seen; the
//! summary (the verified bundle only when every check passed).

pub mod archive;
pub mod build;
mod check;
pub mod inspect;
pub mod manifest;
pub mod verify;

use std::collections::BTreeMap;
use std::fmt;

use crate::Verified;
use crate::digest::Sha256Digest;
pub use crate::dsse::SignatureRequirement;
use crate::dsse::{DsseLimits, SignatureCodes};
use crate::hash::{NoProgress, Progress};
use crate::keys::{KeyId, TrustPolicy};
use crate::report::{Report, check_codes};

pub use manifest::{FileEntry, Manifest, ManifestLimits, RedactionSummary, ToolInfo};

/// The manifest file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature envelope file name.
pub const ENVELOPE_FILE: &str = "manifest.dsse.json";
/// The checksum file name.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The payload folder name.
pub const PAYLOAD_DIR: &str = "payload";

/// Check codes of bundle verification.
pub mod codes {
    use super::check_codes;
    check_codes! {
        BUNDLE_LAYOUT_INVALID = "bundle-layout-invalid":
            "A required bundle file (manifest.json, SHA256SUMS) is missing or not a regular file, or the bundle cannot be read.";
        BUNDLE_MANIFEST_VALID = "bundle-manifest-valid":
            "manifest.json is strict, canonical JSON of schema evidence.bundle/v1; the check carries the bundle id.";
        BUNDLE_MANIFEST_INVALID = "bundle-manifest-invalid":
            "manifest.json is not valid: not strict JSON, duplicate keys, wrong schema, a field breaks a rule, or the bytes are not canonical.";
        BUNDLE_CREATED_AT_CLAIM = "bundle-created-at-claim":
            "The bundle's created_at time, reported as the creator's claim: it is not evidence of when the bundle was made.";
        BUNDLE_EMPTY = "bundle-empty":
            "The manifest lists no payload files; a bundle that holds nothing verifies nothing.";
        BUNDLE_FILE_MATCH = "bundle-file-match":
            "A listed payload file exists with the listed size and SHA-256.";
        BUNDLE_FILE_MISMATCH = "bundle-file-mismatch":
            "A listed payload file's size or SHA-256 differs from the manifest: it was altered, truncated or extended.";
        BUNDLE_FILE_MISSING = "bundle-file-missing":
            "A listed payload file does not exist.";
        BUNDLE_FILE_UNLISTED = "bundle-file-unlisted":
            "A file exists in the bundle that the manifest does not list (planted or renamed).";
        BUNDLE_ENTRY_FORBIDDEN = "bundle-entry-forbidden":
            "The bundle holds a symlink, hard link, device, FIFO, socket, or a directory no listed file needs.";
        BUNDLE_PATH_UNSAFE = "bundle-path-unsafe":
            "A path in the bundle or its manifest is not a confined relative path (absolute, `..`, backslash, NUL, control character, not UTF-8, outside payload/).";
        BUNDLE_PATH_COLLISION = "bundle-path-collision":
            "Two paths in the bundle are equal after Unicode NFC normalisation and case folding, or one is both a file and a folder.";
        BUNDLE_SUMS_CONSISTENT = "bundle-sums-consistent":
            "SHA256SUMS lists manifest.json and exactly the manifest's files with the same digests, so `sha256sum -c` agrees with the manifest.";
        BUNDLE_SUMS_MISMATCH = "bundle-sums-mismatch":
            "SHA256SUMS disagrees with the manifest: a line is missing, extra, malformed or has another digest.";
        BUNDLE_ENVELOPE_INVALID = "bundle-envelope-invalid":
            "manifest.dsse.json is not a valid DSSE envelope (bad JSON, base64, sizes, too many signatures).";
        BUNDLE_SIGNATURE_VERIFIED = "bundle-signature-verified":
            "A signature verified under a trusted key (the check names the key).";
        BUNDLE_SIGNATURE_MISSING = "bundle-signature-missing":
            "A trusted key was given but the bundle carries no signature (a warning with --allow-unsigned).";
        BUNDLE_SIGNATURE_INVALID = "bundle-signature-invalid":
            "A signature does not verify: forged, made over other bytes, or the envelope signs something other than manifest.json.";
        BUNDLE_SIGNER_UNTRUSTED = "bundle-signer-untrusted":
            "The bundle's signatures are by keys that are not trusted (a warning when the threshold is met by trusted keys anyway).";
        BUNDLE_SIGNATURE_DUPLICATE = "bundle-signature-duplicate":
            "A second signature by an already counted key; it does not count again toward the threshold.";
        BUNDLE_THRESHOLD_MET = "bundle-threshold-met":
            "Enough distinct trusted keys signed the manifest.";
        BUNDLE_THRESHOLD_NOT_MET = "bundle-threshold-not-met":
            "Fewer distinct trusted keys signed than the threshold requires.";
        BUNDLE_SIGNATURE_UNCHECKED = "bundle-signature-unchecked":
            "No trusted key was given, so authenticity was not checked: only integrity was. Pass --trusted-key or --keyring.";
        BUNDLE_ARCHIVE_INVALID = "bundle-archive-invalid":
            "The archive is not a well-formed gzip'd tar, an entry header is inconsistent (PAX size vs header size), entries are out of the required order, or data follows the archive (a second gzip member, trailing bytes).";
        BUNDLE_ARCHIVE_LIMIT = "bundle-archive-limit":
            "The archive exceeds a hard limit (total or per-entry bytes, entries, decompressed bytes beyond what the manifest declares); unpacking stopped.";
    }
}

/// The codes bundle signatures are reported under.
pub const SIGNATURE_CODES: SignatureCodes = SignatureCodes {
    verified: codes::BUNDLE_SIGNATURE_VERIFIED,
    missing: codes::BUNDLE_SIGNATURE_MISSING,
    invalid: codes::BUNDLE_SIGNATURE_INVALID,
    untrusted: codes::BUNDLE_SIGNER_UNTRUSTED,
    duplicate: codes::BUNDLE_SIGNATURE_DUPLICATE,
    threshold_met: codes::BUNDLE_THRESHOLD_MET,
    threshold_not_met: codes::BUNDLE_THRESHOLD_NOT_MET,
};

/// Report section names used by bundle verification.
pub mod section {
    /// Manifest, SHA256SUMS and layout.
    pub const MANIFEST: &str = "manifest";
    /// Payload files.
    pub const PAYLOAD: &str = "payload";
    /// Signatures and trust.
    pub const SIGNATURES: &str = "signatures";
}

/// A bundle id: the SHA-256 of the exact `manifest.json` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BundleId(pub Sha256Digest);

impl BundleId {
    /// The id of these manifest bytes.
    pub fn of_manifest(bytes: &[u8]) -> Self {
        Self(Sha256Digest::of(bytes))
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Hard limits for reading bundles and archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BundleLimits {
    /// Manifest limits.
    pub manifest: ManifestLimits,
    /// Largest SHA256SUMS or signature envelope, in bytes.
    pub max_metadata_bytes: u64,
    /// Envelope limits.
    pub dsse: DsseLimits,
    /// Largest payload file, in bytes.
    pub max_file_bytes: u64,
    /// Largest file whose bytes a caller asks to keep (see [`VerifyOptions::capture`]); a
    /// larger one fails `bundle-archive-limit`, in a folder and in an archive alike.
    pub max_capture_bytes: u64,
    /// Most bytes kept for the caller in all (see [`VerifyOptions::capture`]): files are
    /// admitted by their listed sizes in manifest order, and a file that would bring the total
    /// over this fails `bundle-archive-limit`.
    pub max_capture_total_bytes: u64,
    /// Archive limits.
    pub archive: archive::ArchiveLimits,
    /// Most entries the manifest does not account for (unlisted files, planted folders, links,
    /// unacceptable names) reported one check each; further ones are counted in one check per
    /// code, so the report stays small whatever the bundle holds.
    pub max_unexpected_shown: usize,
}

/// Default most unexpected entries reported one by one.
pub const DEFAULT_MAX_UNEXPECTED_SHOWN: usize = 1_000;

impl Default for BundleLimits {
    fn default() -> Self {
        Self {
            manifest: ManifestLimits::default(),
            max_metadata_bytes: 64 << 20,
            dsse: DsseLimits::default(),
            max_file_bytes: crate::hash::DEFAULT_MAX_FILE_BYTES,
            max_capture_bytes: 64 << 20,
            max_capture_total_bytes: 64 << 20,
            archive: archive::ArchiveLimits::default(),
            max_unexpected_shown: DEFAULT_MAX_UNEXPECTED_SHOWN,
        }
    }
}

/// How to verify a bundle.
#[derive(Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Trusted keys and threshold; `None` checks integrity only and says so.
    pub trust: Option<&'a TrustPolicy>,
    /// Whether a missing signature fails when `trust` is given.
    pub signatures: SignatureRequirement,
    /// Limits.
    pub limits: BundleLimits,
    /// Payload paths (`payload/...`) whose exact verified bytes the caller wants back, so it
    /// never has to re-read them after verification (DESIGN 4 rule 3). A path ending in `/`
    /// asks for every listed file below that folder. Bounded by
    /// [`BundleLimits::max_capture_bytes`] and [`BundleLimits::max_capture_total_bytes`].
    pub capture: &'a [&'a str],
    /// Receives hashing progress.
    pub progress: &'a dyn Progress,
}

impl Default for VerifyOptions<'_> {
    fn default() -> Self {
        Self {
            trust: None,
            signatures: SignatureRequirement::Required,
            limits: BundleLimits::default(),
            capture: &[],
            progress: &NoProgress,
        }
    }
}

impl fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("trust", &self.trust.is_some())
            .field("signatures", &self.signatures)
            .field("limits", &self.limits)
            .field("capture", &self.capture)
            .finish_non_exhaustive()
    }
}

/// A trusted key that signed a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The name the trust policy gives the key.
    pub name: String,
    /// The key id.
    pub key_id: KeyId,
}

/// A bundle whose every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The bundle id.
    pub id: BundleId,
    /// The checked manifest.
    pub manifest: Manifest,
    /// The exact manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// The exact `SHA256SUMS` bytes verified against the manifest.
    pub sums_bytes: Vec<u8>,
    /// The exact `manifest.dsse.json` bytes, when the bundle has one.
    pub envelope_bytes: Option<Vec<u8>>,
    /// Trusted keys whose signatures verified (empty when no trust policy was given).
    pub signers: Vec<Signer>,
    /// The verified bytes of each file named (or below a folder named) in
    /// [`VerifyOptions::capture`] that exists.
    pub captured: BTreeMap<String, Vec<u8>>,
}

impl VerifiedBundle {
    /// True when a trust policy was given and satisfied.
    pub fn is_signed(&self) -> bool {
        !self.signers.is_empty()
    }
}

/// The outcome of verifying a bundle.
#[derive(Debug)]
pub struct BundleVerification {
    /// Every check.
    pub report: Report,
    /// The verified bundle, present only when the report is ok.
    pub bundle: Option<Verified<VerifiedBundle>>,
}

/// Verifies a bundle folder, or a `.tar.gz` archive of one (any path that is a regular file),
/// without following a link named as the bundle itself.
pub fn verify_path(path: &std::path::Path, opts: &VerifyOptions<'_>) -> BundleVerification {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
    if is_file {
        archive::verify_archive(path, opts)
    } else {
        verify::verify_dir(path, opts)
    }
}

/// Verifies the bundle at `path` under `trust` (signatures required) and keeps the verified
/// bytes of the payload paths in `wanted` (as [`VerifyOptions::capture`] takes them), within
/// `limits`: what every flow that reads a signed bundle of its own kind does first.
pub fn verify_capturing(
    path: &std::path::Path,
    trust: &TrustPolicy,
    wanted: &[String],
    limits: BundleLimits,
) -> BundleVerification {
    let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    verify_path(
        path,
        &VerifyOptions {
            trust: Some(trust),
            capture: &refs,
            limits,
            ..VerifyOptions::default()
        },
    )
}

#[cfg(test)]
mod tests;
