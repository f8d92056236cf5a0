//! The `signatures` stage: signatures over the exact checksum file bytes.
//!
//! Each way of signing a checksum file is one `SumsSignatureFormat` (its own module) in
//! `FORMATS`, in the order its checks are reported:
//!
//! - `dsse`: `SHA256SUMS.dsse.json`, a DSSE envelope whose payload is exactly the checksum
//!   file, judged against the caller's trust policy;
//! - `minisign`: `SHA256SUMS.minisig`, checked with the caller's [`MinisignKey`];
//! - `openpgp`: `SHA256SUMS.sig`, `.asc`, `.gpg`, OpenPGP signatures checked with the caller's
//!   [`PgpKeyring`](crate::openpgp::PgpKeyring).
//!
//! With a key given, a missing or invalid signature fails; without one, a signature file
//! present is reported as unchecked (DESIGN 3: trust comes from outside the evidence).

use std::path::{Path, PathBuf};

use super::{ReadError, ReleaseOptions, read_limited, section};
use crate::dsse::DsseLimits;
use crate::keys::TrustPolicy;
use crate::openpgp::PgpKeyring;
use crate::report::Check;
use crate::text::printable;

mod dsse;
mod minisign;
mod openpgp;

pub use minisign::{MinisignKey, MinisignKeyError};

/// One way of signing a checksum file. An implementation names the files it looks for and
/// judges the bytes of each one found; reading them (once, within
/// [`max_bytes`](Self::max_bytes)) and naming the file in each check is the stage's job.
pub(crate) trait SumsSignatureFormat: Sync {
    /// The signature files that belong to the checksum file at `sums_path`, in the order they
    /// are judged. They count as verification metadata, not assets. The first is named when
    /// none exists.
    fn candidates(&self, sums_path: &Path) -> Vec<PathBuf>;

    /// True when the caller gave a key for this format, so a missing signature is judged.
    fn keyed(&self, trust: &SignatureTrust<'_>) -> bool;

    /// The largest signature file read.
    fn max_bytes(&self, trust: &SignatureTrust<'_>) -> u64;

    /// The checks when none of the candidates exists (none when no key was given).
    fn missing(&self, trust: &SignatureTrust<'_>) -> Vec<Check>;

    /// The check when a candidate exists but cannot be read.
    fn unreadable(&self, reason: String) -> Check;

    /// Judges one signature file's bytes over the exact checksum file bytes.
    fn verify(&self, sums: &[u8], signature: &[u8], trust: &SignatureTrust<'_>) -> Vec<Check>;
}

/// Every supported format, in report order.
pub(crate) const FORMATS: &[&dyn SumsSignatureFormat] =
    &[&dsse::Dsse, &minisign::Minisign, &openpgp::OpenPgp];

/// What the caller trusts, for every format, and what the provenance stage found.
#[derive(Clone, Copy)]
pub(crate) struct SignatureTrust<'a> {
    /// Keys trusted to sign DSSE envelopes.
    pub policy: Option<&'a TrustPolicy>,
    /// The minisign key.
    pub minisign_key: Option<&'a MinisignKey>,
    /// The OpenPGP certificates.
    pub pgp_keys: Option<&'a PgpKeyring>,
    /// Now, as Unix time: keys that expired by then do not count.
    pub now: u64,
    /// Envelope limits.
    pub dsse_limits: &'a DsseLimits,
    /// Statements signed by trusted keys attest every asset by its digest, which stands in for
    /// a missing DSSE signature of the checksum file (an invalid one still fails).
    pub attested: bool,
}

impl<'a> SignatureTrust<'a> {
    /// The trust `opts` gives.
    pub(crate) fn new(opts: &'a ReleaseOptions<'a>, attested: bool) -> Self {
        Self {
            policy: opts.trust,
            minisign_key: opts.minisign_key,
            pgp_keys: opts.pgp_keys,
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            dsse_limits: &opts.dsse_limits,
            attested,
        }
    }
}

/// Every signature file of every format beside the checksum file at `sums_path`.
pub(crate) fn signature_paths(sums_path: &Path) -> Vec<PathBuf> {
    FORMATS
        .iter()
        .flat_map(|f| f.candidates(sums_path))
        .collect()
}

/// `sums_path` with `ext` appended (`SHA256SUMS` -> `SHA256SUMS.minisig`).
fn beside(sums_path: &Path, ext: &str) -> PathBuf {
    let mut p = sums_path.as_os_str().to_owned();
    p.push(ext);
    PathBuf::from(p)
}

/// True when the signature stage needs the checksum bytes: a key was given or a signature
/// file exists.
pub(crate) fn needed(sums_path: &Path, opts: &ReleaseOptions<'_>) -> bool {
    let trust = SignatureTrust::new(opts, false);
    FORMATS.iter().any(|f| f.keyed(&trust))
        || signature_paths(sums_path)
            .iter()
            .any(|p| std::fs::symlink_metadata(p).is_ok())
}

/// Runs the stage over the exact checksum bytes: every format in turn.
pub(crate) fn check(sums_path: &Path, sums_bytes: &[u8], trust: &SignatureTrust<'_>) -> Vec<Check> {
    FORMATS
        .iter()
        .flat_map(|format| format_checks(*format, sums_path, sums_bytes, trust))
        .map(|c| c.in_section(section::SIGNATURES))
        .collect()
}

/// One format's checks: each candidate file found is read and judged; when none is found the
/// format says what that means.
fn format_checks(
    format: &dyn SumsSignatureFormat,
    sums_path: &Path,
    sums_bytes: &[u8],
    trust: &SignatureTrust<'_>,
) -> Vec<Check> {
    let candidates = format.candidates(sums_path);
    let mut checks = Vec::new();
    let mut found = false;
    for path in &candidates {
        let checks_here = match read_limited(path, format.max_bytes(trust)) {
            Err(ReadError::NotFound) => continue,
            Err(e) => vec![format.unreadable(e.to_string())],
            Ok(bytes) => format.verify(sums_bytes, &bytes, trust),
        };
        found = true;
        checks.extend(checks_here.into_iter().map(|c| at(path, c)));
    }
    match candidates.first() {
        Some(first) if !found => format
            .missing(trust)
            .into_iter()
            .map(|c| at(first, c))
            .collect(),
        _ => checks,
    }
}

/// Names the signature file a check is about.
fn at(path: &Path, check: Check) -> Check {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    check.with_path(printable(&file).into_owned())
}
