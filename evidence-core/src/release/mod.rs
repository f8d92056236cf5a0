//! Release verification: one verdict over a downloaded (or about to be published) release
//! directory.
//!
//! [`verify_release`] runs a pipeline of stages over one state (`stages.rs`), each adding
//! checks to one report under its own section, in this order:
//!
//! 1. `checksums`, read: locate and read the checksum file once (its exact bytes are what
//!    every later stage uses); without one verification ends here;
//! 2. `checksums`, tree: parse it, list the directory, hash every listed file, demand exact
//!    coverage ([`crate::sums`]);
//! 3. `provenance`, discover: the `--provenance` files, or else the top-level
//!    `*.intoto.jsonl` and the predecessor's `PROVENANCE.json`, re-checked against the digests
//!    just verified;
//! 4. `provenance`, judge: statements and `PROVENANCE.json` against the verified assets
//!    ([`crate::provenance`]). Judged here but reported at step 7, because whether signed
//!    statements attest every asset decides step 5;
//! 5. `signatures`: each checksum signature format ([`signatures`]: DSSE, minisign, OpenPGP) over the
//!    exact checksum bytes, against the caller's keys;
//! 6. `sbom`: every SBOM among the verified assets (found by name, [`is_sbom_name`], judged
//!    by content) and every `--sbom` file, each validated by its format
//!    ([`crate::sbom::SbomFormat`]: SPDX or CycloneDX JSON) and its asset checksums compared
//!    with the verified ones;
//! 7. `provenance` and `cross-checks`: the checks judged at step 4;
//! 8. `release`: at least one asset verified, no zero-byte assets, every `--expect`ed asset
//!    present and verified.
//!
//! A new signature scheme is one more signature format; keyless provenance is a variant of
//! steps 3 and 4; a new SBOM format is one more SBOM format. Only when every check holds does
//! the caller get a [`Verified`] asset list.

mod causes;
pub mod seal;
pub mod signatures;
mod stages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Verified;
use crate::digest::Sha256Digest;
use crate::dsse::{DsseLimits, SignatureCodes};
use crate::hash::{self, HashedFile, NoProgress, Progress, ReadError};
use crate::keys::TrustPolicy;
pub use crate::openpgp::PgpKeyring;
use crate::path::ArtifactPath;
use crate::provenance::{ProvenanceLimits, ProvenancePolicy};
use crate::report::{Report, check_codes};
use crate::sbom::SbomLimits;
use crate::sums::SumsLimits;
pub use signatures::MinisignKey;
use stages::{Run, Stop};

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        RELEASE_SUMS_MISSING = "release-sums-missing":
            "The release directory has no checksum file (SHA256SUMS) and none was named.";
        RELEASE_ASSETS_VERIFIED = "release-assets-verified":
            "How many assets verified; zero verified assets is a failure.";
        RELEASE_ASSET_EMPTY = "release-asset-empty":
            "A listed asset is zero bytes long, which usually means a broken upload (skipped with --allow-empty).";
        RELEASE_EXPECTED_ASSET = "release-expected-asset":
            "An asset the caller expects (--expect) is listed and verified.";
        RELEASE_SUMS_SIGNATURE_VERIFIED = "release-sums-signature-verified":
            "A signature over the exact checksum file verified under a trusted key.";
        RELEASE_SUMS_SIGNATURE_MISSING = "release-sums-signature-missing":
            "A trusted key was given but the checksum file has no DSSE signature (SHA256SUMS.dsse.json).";
        RELEASE_SUMS_SIGNATURE_INVALID = "release-sums-signature-invalid":
            "The checksum file's signature does not verify: forged, made for another payload type, or the file was rewritten after signing.";
        RELEASE_SUMS_SIGNER_UNTRUSTED = "release-sums-signer-untrusted":
            "The checksum file is signed by keys that are not trusted.";
        RELEASE_SUMS_SIGNATURE_DUPLICATE = "release-sums-signature-duplicate":
            "A second signature by an already counted key; it does not count again.";
        RELEASE_SUMS_THRESHOLD_MET = "release-sums-threshold-met":
            "Enough distinct trusted keys signed the checksum file.";
        RELEASE_SUMS_THRESHOLD_NOT_MET = "release-sums-threshold-not-met":
            "Fewer distinct trusted keys signed the checksum file than required.";
        RELEASE_SUMS_ENVELOPE_INVALID = "release-sums-envelope-invalid":
            "SHA256SUMS.dsse.json is not a valid DSSE envelope.";
        RELEASE_SUMS_SIGNATURE_UNCHECKED = "release-sums-signature-unchecked":
            "A signature file is present but no key to check it was given: the checksum file is not authenticated.";
        RELEASE_MINISIGN_VERIFIED = "release-minisign-verified":
            "The minisign signature of the checksum file verified with the given minisign key.";
        RELEASE_MINISIGN_INVALID = "release-minisign-invalid":
            "The minisign signature is malformed, made by another key, or does not verify over the checksum file.";
        RELEASE_MINISIGN_MISSING = "release-minisign-missing":
            "A minisign key was given but there is no SHA256SUMS.minisig.";
        RELEASE_PGP_VERIFIED = "release-pgp-verified":
            "An OpenPGP signature of the checksum file (.sig, .asc or .gpg beside it) verified under a key of a --pgp-key certificate; the report names the signing key and the trusted certificates.";
        RELEASE_PGP_INVALID = "release-pgp-invalid":
            "An OpenPGP signature names a trusted key but does not verify over the checksum file (forged, or the file was rewritten after signing), or is refused whatever the key (not a document signature, a weak digest such as SHA-1, expired, cleartext whose text is another file).";
        RELEASE_PGP_MALFORMED = "release-pgp-malformed":
            "With --pgp-key given, a checksum signature file (.sig, .asc, .gpg) is not an OpenPGP signature, holds none, or holds too many.";
        RELEASE_PGP_UNTRUSTED = "release-pgp-untrusted":
            "An OpenPGP signature of the checksum file was made by a key that no --pgp-key certificate holds (a failure unless another signature in the same file verified).";
        RELEASE_PGP_KEY_EXPIRED = "release-pgp-key-expired":
            "The trusted OpenPGP key that made the signature has expired (by its certificate's self-signatures, at verification time).";
        RELEASE_PGP_KEY_REVOKED = "release-pgp-key-revoked":
            "The trusted OpenPGP key that made the signature was revoked by its own certificate.";
        RELEASE_PGP_KEY_INVALID = "release-pgp-key-invalid":
            "The trusted OpenPGP key that made the signature cannot sign: no valid self-signature or subkey binding (with its back signature), or key flags without signing.";
        RELEASE_PGP_MISSING = "release-pgp-missing":
            "An OpenPGP key was given (--pgp-key) but the checksum file has no OpenPGP signature beside it (.sig, .asc or .gpg).";
        RELEASE_FILE_CHANGED = "release-file-changed":
            "A file read for a later stage (SBOM) no longer has the digest verified moments before: it changed during verification.";
    }
}
use codes::*;

/// The codes checksum file signatures are reported under.
pub const SIGNATURE_CODES: SignatureCodes = SignatureCodes {
    verified: RELEASE_SUMS_SIGNATURE_VERIFIED,
    missing: RELEASE_SUMS_SIGNATURE_MISSING,
    invalid: RELEASE_SUMS_SIGNATURE_INVALID,
    untrusted: RELEASE_SUMS_SIGNER_UNTRUSTED,
    duplicate: RELEASE_SUMS_SIGNATURE_DUPLICATE,
    threshold_met: RELEASE_SUMS_THRESHOLD_MET,
    threshold_not_met: RELEASE_SUMS_THRESHOLD_NOT_MET,
};

/// The default checksum file name.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// Report section names.
pub mod section {
    /// Checksum file parsing, digests and coverage.
    pub const CHECKSUMS: &str = "checksums";
    /// Signatures over the checksum file.
    pub const SIGNATURES: &str = "signatures";
    /// Release-level rules (assets present, non-empty, expected).
    pub const RELEASE: &str = "release";
}

/// True for names (relative to the release directory) that are verification metadata rather
/// than assets: the checksum file itself, its signatures and attestations. Only top-level
/// names qualify; a `.sig` file in a sub-folder is an asset like any other.
pub fn is_metadata_name(name: &str) -> bool {
    if name.contains('/') {
        return false;
    }
    matches!(
        name,
        SUMS_FILE
            | "SHA256SUMS.dsse.json"
            | "SHA256SUMS.minisig"
            | "SHA256SUMS.asc"
            | "SHA256SUMS.gpg"
            | LEGACY_PROVENANCE_FILE
    ) || name.ends_with(".sig")
        || name.ends_with(".intoto.jsonl")
}

/// The SBOM file name the predecessor's releases use.
pub const SBOM_FILE: &str = "SBOM.spdx.json";

/// True for asset names that are SBOMs by the conventions of the tools that write them:
/// `*.spdx.json` (syft, trivy, npm, GitHub's dependency graph, sbom-tool), `*.cdx.json` and
/// `*.cyclonedx.json` (CycloneDX tools, syft), `bom.json` and `*.bom.json` (cyclonedx-npm,
/// cdxgen), `sbom.json` and `*.sbom.json` (goreleaser's `ARTIFACT.sbom.json`), compared without
/// regard to case, at any depth. Such a file is judged by its content, SPDX or CycloneDX; one
/// that is neither fails.
pub fn is_sbom_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    ["bom.json", "sbom.json"].contains(&name.as_str())
        || [
            ".spdx.json",
            ".cdx.json",
            ".cyclonedx.json",
            ".bom.json",
            ".sbom.json",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// The predecessor's provenance file, read as unsigned evidence when present.
pub const LEGACY_PROVENANCE_FILE: &str = "PROVENANCE.json";

/// What to verify and how strictly.
pub struct ReleaseOptions<'a> {
    /// Checksum file to use instead of `DIR/SHA256SUMS`.
    pub sums: Option<PathBuf>,
    /// Asset names that must be present and verified.
    pub expect: Vec<String>,
    /// Skip listed files that do not exist instead of failing.
    pub ignore_missing: bool,
    /// Relative paths that may be present without being listed.
    pub allow_unlisted: Vec<String>,
    /// Accept zero-byte assets.
    pub allow_empty: bool,
    /// Fail on any malformed checksum line (default true).
    pub strict: bool,
    /// Limits on the checksum file and the directory.
    pub limits: SumsLimits,
    /// Receives hashing progress.
    pub progress: &'a dyn Progress,
    /// Keys trusted to sign the checksum file and the provenance; `None` checks integrity
    /// only and says so.
    pub trust: Option<&'a TrustPolicy>,
    /// A minisign key for `SHA256SUMS.minisig`.
    pub minisign_key: Option<&'a MinisignKey>,
    /// OpenPGP certificates for `SHA256SUMS.sig`, `.asc` or `.gpg`.
    pub pgp_keys: Option<&'a PgpKeyring>,
    /// SBOMs to judge besides those found among the assets ([`is_sbom_name`]); one that is
    /// also an asset is judged once.
    pub sbom: Vec<PathBuf>,
    /// Provenance files to use instead of the discovered `*.intoto.jsonl`.
    pub provenance: Vec<PathBuf>,
    /// What the provenance must say; any requirement makes a signed statement mandatory.
    pub policy: ProvenancePolicy,
    /// Envelope limits (checksum file signatures).
    pub dsse_limits: DsseLimits,
    /// Provenance limits.
    pub provenance_limits: ProvenanceLimits,
    /// SBOM limits.
    pub sbom_limits: SbomLimits,
}

impl Default for ReleaseOptions<'_> {
    fn default() -> Self {
        Self {
            sums: None,
            expect: Vec::new(),
            ignore_missing: false,
            allow_unlisted: Vec::new(),
            allow_empty: false,
            strict: true,
            limits: SumsLimits::default(),
            progress: &NoProgress,
            trust: None,
            minisign_key: None,
            pgp_keys: None,
            sbom: Vec::new(),
            provenance: Vec::new(),
            policy: ProvenancePolicy::default(),
            dsse_limits: DsseLimits::default(),
            provenance_limits: ProvenanceLimits::default(),
            sbom_limits: SbomLimits::default(),
        }
    }
}

impl std::fmt::Debug for ReleaseOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseOptions")
            .field("sums", &self.sums)
            .field("expect", &self.expect)
            .field("ignore_missing", &self.ignore_missing)
            .field("allow_unlisted", &self.allow_unlisted)
            .field("allow_empty", &self.allow_empty)
            .field("strict", &self.strict)
            .field("limits", &self.limits)
            .field("trust", &self.trust.is_some())
            .field("provenance", &self.provenance)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Why release verification could not run at all (the CLI's exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The release directory does not exist, is not a directory, or cannot be read.
    #[error("{path}: {reason}")]
    Directory {
        /// The directory given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file named explicitly (`--provenance`) does not exist or cannot be read.
    #[error("cannot read {path}: {reason}")]
    Argument {
        /// The file given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checksum file named explicitly does not exist or cannot be read.
    #[error("checksum file {path} {source}")]
    SumsArgument {
        /// The file given.
        path: PathBuf,
        /// Why.
        #[source]
        source: ReadError,
    },
}

/// Assets of a release whose every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseAssets {
    /// Digest of the exact checksum file bytes that were verified.
    pub sums_digest: Sha256Digest,
    /// Every listed asset, with its verified digest and size.
    pub assets: BTreeMap<ArtifactPath, HashedFile>,
}

/// The outcome of verifying a release.
#[derive(Debug)]
pub struct ReleaseVerification {
    /// Every check, in sections.
    pub report: Report,
    /// The verified assets, present only when the report is ok.
    pub verified: Option<Verified<ReleaseAssets>>,
}

/// Verifies a release directory (see the module documentation).
pub fn verify_release(
    dir: &Path,
    opts: &ReleaseOptions<'_>,
) -> Result<ReleaseVerification, ReleaseError> {
    let mut run = Run::start(dir, opts)?;
    let verified = match run.stages() {
        Ok(assets) => run.report.ok().then(|| Verified::new(assets)),
        Err(Stop::Reported) => None,
        Err(Stop::CannotRun(e)) => return Err(e),
    };
    causes::attribute(&mut run.report, opts.trust);
    Ok(ReleaseVerification {
        report: run.report,
        verified,
    })
}

/// Reads a whole (small) regular file, refusing more than `limit` bytes, never through a
/// symbolic link.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    hash::read_whole(path, limit).map(|f| f.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use crate::report::codes::INPUT_TOO_LARGE;
    use crate::{provenance, sbom, sums};
    use serde_json::json;

    fn release(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut m = BTreeMap::new();
        for (name, data) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
            m.insert((*name).to_owned(), Sha256Digest::of(data));
        }
        std::fs::write(dir.path().join(SUMS_FILE), sums::write(&m)).unwrap();
        dir
    }

    #[test]
    fn a_good_release_verifies_and_yields_assets() {
        let dir = release(&[("app.tar.gz", b"app"), ("docs/README", b"read me")]);
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
        let assets = out.verified.unwrap();
        assert_eq!(assets.assets.len(), 2);
        assert!(out.report.has(sums::codes::SUMS_METADATA_FILE));
    }

    #[test]
    fn missing_checksum_file_is_a_check_failure_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        assert!(!out.report.ok());
        assert!(out.report.has(RELEASE_SUMS_MISSING));
        assert!(out.verified.is_none());
    }

    #[test]
    fn missing_directory_or_named_sums_cannot_run() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            verify_release(&dir.path().join("nope"), &ReleaseOptions::default()),
            Err(ReleaseError::Directory { .. })
        ));
        let opts = ReleaseOptions {
            sums: Some(dir.path().join("nope")),
            ..ReleaseOptions::default()
        };
        assert!(matches!(
            verify_release(dir.path(), &opts),
            Err(ReleaseError::SumsArgument { .. })
        ));
    }

    #[test]
    fn empty_assets_and_expectations_are_checked() {
        let dir = release(&[("a", b"a"), ("empty", b"")]);
        let opts = ReleaseOptions {
            expect: vec!["a".into(), "b".into()],
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        let fails: Vec<(&str, Option<&str>)> = out
            .report
            .failures()
            .map(|c| (c.code.as_ref(), c.path.as_deref()))
            .collect();
        assert_eq!(
            fails,
            vec![
                ("release-asset-empty", Some("empty")),
                ("release-expected-asset", Some("b")),
            ]
        );
        let opts = ReleaseOptions {
            allow_empty: true,
            ..ReleaseOptions::default()
        };
        assert!(verify_release(dir.path(), &opts).unwrap().report.ok());
    }

    #[test]
    fn oversized_checksum_file_fails_cleanly() {
        let dir = release(&[("a", b"a")]);
        let opts = ReleaseOptions {
            limits: SumsLimits {
                max_bytes: 10,
                ..SumsLimits::default()
            },
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        let c = out.report.with_code(INPUT_TOO_LARGE).next().unwrap();
        assert_eq!(c.status, Status::Fail);
    }

    #[test]
    fn sums_named_inside_the_directory_is_metadata() {
        let dir = release(&[("a", b"a")]);
        std::fs::rename(dir.path().join(SUMS_FILE), dir.path().join("checksums.txt")).unwrap();
        let opts = ReleaseOptions {
            sums: Some(dir.path().join("checksums.txt")),
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
    }

    #[test]
    fn metadata_names_are_top_level_only() {
        assert!(is_metadata_name("SHA256SUMS"));
        assert!(is_metadata_name("app.tar.gz.sig"));
        assert!(is_metadata_name("release.intoto.jsonl"));
        assert!(!is_metadata_name("sub/app.sig"));
        assert!(!is_metadata_name("SBOM.spdx.json"));
    }

    /// A minimal valid SPDX 2.3 document describing one package whose file name is `asset`
    /// with SHA-256 `digest`.
    fn spdx(asset: &str, digest: &Sha256Digest) -> Vec<u8> {
        serde_json::to_vec_pretty(&serde_json::json!({
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "app",
            "documentNamespace": "https://example.com/spdx/app-1.4.2",
            "creationInfo": {"creators": ["Tool: test"], "created": "2026-11-20T10:00:00Z"},
            "packages": [{
                "SPDXID": "SPDXRef-Package-app",
                "name": "app",
                "downloadLocation": "NOASSERTION",
                "packageFileName": asset,
                "filesAnalyzed": false,
                "licenseConcluded": "MIT",
                "licenseDeclared": "MIT",
                "copyrightText": "NOASSERTION",
                "checksums": [{"algorithm": "SHA256", "checksumValue": digest.to_hex()}]
            }],
            "relationships": [{
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-Package-app"
            }]
        }))
        .unwrap()
    }

    #[test]
    fn the_sbom_is_validated_and_cross_checked() {
        let good = spdx("app.tar.gz", &Sha256Digest::of(b"app"));
        let dir = release(&[("app.tar.gz", b"app"), (SBOM_FILE, &good)]);
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
        assert!(out.report.has(sbom::codes::SBOM_ASSET_DIGEST_MATCH));

        let lying = spdx("app.tar.gz", &Sha256Digest::of(b"other"));
        let dir = release(&[("app.tar.gz", b"app"), (SBOM_FILE, &lying)]);
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        let c = out
            .report
            .with_code(sbom::codes::SBOM_ASSET_DIGEST_MISMATCH)
            .next()
            .unwrap();
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.data["sbom"], SBOM_FILE);

        // Named on the command line, from outside the release.
        let outside = tempfile::tempdir().unwrap();
        let path = outside.path().join("sbom.json");
        std::fs::write(&path, &lying).unwrap();
        let dir = release(&[("app.tar.gz", b"app")]);
        let opts = ReleaseOptions {
            sbom: vec![path],
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        assert!(out.report.has(sbom::codes::SBOM_ASSET_DIGEST_MISMATCH));
        let missing = ReleaseOptions {
            sbom: vec![outside.path().join("nope.json")],
            ..ReleaseOptions::default()
        };
        assert!(matches!(
            verify_release(dir.path(), &missing),
            Err(ReleaseError::Argument { .. })
        ));
    }

    /// A minimal valid CycloneDX 1.6 BOM naming `asset` with SHA-256 `digest`.
    fn cyclonedx(asset: &str, digest: &Sha256Digest) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [{
                "type": "file",
                "name": asset,
                "bom-ref": "asset",
                "hashes": [{"alg": "SHA-256", "content": digest.to_hex()}]
            }]
        }))
        .unwrap()
    }

    #[test]
    fn sbom_names_follow_the_tools_conventions() {
        for name in [
            "SBOM.spdx.json",
            "app.spdx.json",
            "sub/app.cdx.json",
            "bom.json",
            "app.bom.json",
            "app_1.0_linux_amd64.tar.gz.sbom.json",
            "SBOM.JSON",
            "app.cyclonedx.json",
        ] {
            assert!(is_sbom_name(name), "{name}");
        }
        for name in [
            "app.json",
            "bom.xml",
            "app.spdx",
            "sbom.json.sig",
            "boom.json",
        ] {
            assert!(!is_sbom_name(name), "{name}");
        }
    }

    #[test]
    fn every_sbom_the_release_ships_is_found_and_judged_by_content() {
        let app = Sha256Digest::of(b"app");
        let other = Sha256Digest::of(b"other");
        // An SPDX document and a CycloneDX BOM, the second naming a wrong digest.
        let dir = release(&[
            ("app.tar.gz", b"app"),
            ("app.spdx.json", &spdx("app.tar.gz", &app)),
            ("app.tar.gz.sbom.json", &cyclonedx("app.tar.gz", &other)),
        ]);
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        let matched: Vec<_> = out
            .report
            .with_code(sbom::codes::SBOM_ASSET_DIGEST_MATCH)
            .map(|c| c.data["sbom"].clone())
            .collect();
        assert_eq!(matched, vec![serde_json::json!("app.spdx.json")]);
        let wrong = out
            .report
            .with_code(sbom::codes::SBOM_ASSET_DIGEST_MISMATCH)
            .next()
            .unwrap();
        assert_eq!(wrong.data["sbom"], "app.tar.gz.sbom.json");
        let formats: Vec<_> = out
            .report
            .with_code(sbom::codes::SBOM_PARSED)
            .map(|c| c.data["format"].clone())
            .collect();
        assert_eq!(formats, vec!["SPDX JSON", "CycloneDX JSON"]);

        // Named like an SBOM but neither format: fails, naming the file.
        let dir = release(&[("app.tar.gz", b"app"), ("bom.json", b"{\"name\": \"x\"}")]);
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        let c = out
            .report
            .with_code(sbom::codes::SBOM_FORMAT_UNKNOWN)
            .next()
            .unwrap();
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.path.as_deref(), Some("bom.json"));

        // --sbom is repeatable; one that is also an asset is judged once.
        let dir = release(&[
            ("app.tar.gz", b"app"),
            ("app.cdx.json", &cyclonedx("app.tar.gz", &app)),
        ]);
        let outside = tempfile::tempdir().unwrap();
        let extra = outside.path().join("extra.json");
        std::fs::write(&extra, spdx("app.tar.gz", &app)).unwrap();
        let opts = ReleaseOptions {
            sbom: vec![extra, dir.path().join("app.cdx.json")],
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
        assert_eq!(out.report.with_code(sbom::codes::SBOM_PARSED).count(), 2);
        assert_eq!(
            out.report
                .with_code(sbom::codes::SBOM_ASSET_DIGEST_MATCH)
                .count(),
            2
        );
    }

    #[test]
    fn a_listed_statement_file_is_read_and_need_not_attest_itself() {
        use crate::dsse::{Envelope, PAYLOAD_TYPE_IN_TOTO};
        use crate::keys::{PrivateKey, TrustPolicy};
        let key = PrivateKey::from_seed(&[7; 32]);
        let statement = serde_json::json!({
            "_type": provenance::STATEMENT_V1,
            "subject": [{"name": "app.tar.gz", "digest": {"sha256": Sha256Digest::of(b"app").to_hex()}}],
            "predicateType": provenance::SLSA_PROVENANCE_V1,
            "predicate": {"runDetails": {"builder": {"id": "https://ci.example/b"}}}
        });
        let line = Envelope::sign(
            PAYLOAD_TYPE_IN_TOTO,
            &serde_json::to_vec(&statement).unwrap(),
            &[&key],
        )
        .to_json_line();
        // The checksum file lists the statement file; no SHA256SUMS signature is present, so
        // the release passes only if the listed statement was read and attests every asset.
        let dir = release(&[("app.tar.gz", b"app"), ("release.intoto.jsonl", &line)]);
        let trust = TrustPolicy::single("ci", key.public());
        let opts = ReleaseOptions {
            trust: Some(&trust),
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
        let matched: Vec<_> = out
            .report
            .with_code(provenance::codes::PROVENANCE_SUBJECT_MATCH)
            .filter_map(|c| c.path.as_deref())
            .collect();
        assert_eq!(matched, vec!["app.tar.gz"]);
    }

    #[test]
    fn unlisted_files_fail_the_release() {
        let dir = release(&[("app.tar.gz", b"app")]);
        std::fs::write(dir.path().join("planted.sh"), b"#!/bin/sh\n").unwrap();
        let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
        let fails: Vec<(&str, Option<&str>)> = out
            .report
            .failures()
            .map(|c| (c.code.as_ref(), c.path.as_deref()))
            .collect();
        assert_eq!(fails, vec![("sums-file-unlisted", Some("planted.sh"))]);
        assert!(out.verified.is_none());
    }

    fn signer(n: u8) -> crate::keys::PrivateKey {
        crate::keys::PrivateKey::from_seed(&[n; 32])
    }

    fn trust(k: &crate::keys::PrivateKey) -> TrustPolicy {
        TrustPolicy::single("ci", k.public())
    }

    /// A signed in-toto statement attesting `assets` (name, bytes) as one `.intoto.jsonl` line.
    fn attestation(assets: &[(&str, &[u8])], k: &crate::keys::PrivateKey) -> Vec<u8> {
        let subjects: Vec<serde_json::Value> = assets
            .iter()
            .map(|(name, data)| {
                json!({"name": name, "digest": {"sha256": Sha256Digest::of(data).to_hex()}})
            })
            .collect();
        let statement = json!({
            "_type": provenance::STATEMENT_V1,
            "subject": subjects,
            "predicateType": provenance::SLSA_PROVENANCE_V1,
            "predicate": {},
        });
        let payload = serde_json::to_vec(&statement).unwrap();
        crate::dsse::Envelope::sign(crate::dsse::PAYLOAD_TYPE_IN_TOTO, &payload, &[k])
            .to_json_line()
    }

    fn statuses(out: &ReleaseVerification, code: crate::report::CheckCode) -> Vec<Status> {
        out.report.with_code(code).map(|c| c.status).collect()
    }

    const ASSETS: [(&str, &[u8]); 3] = [("a.bin", b"a"), ("b.bin", b"b"), ("c.bin", b"c")];

    #[test]
    fn signed_provenance_stands_in_for_a_missing_checksum_signature_only_when_it_covers_all() {
        let k = signer(1);
        let policy = trust(&k);
        let opts = ReleaseOptions {
            trust: Some(&policy),
            ..ReleaseOptions::default()
        };
        // A trusted key and no signature of any kind: the checksum file proves nothing.
        let dir = release(&ASSETS);
        let out = verify_release(dir.path(), &opts).unwrap();
        assert_eq!(
            statuses(&out, RELEASE_SUMS_SIGNATURE_MISSING),
            [Status::Fail]
        );

        // Signed provenance attesting every asset by its digest: skipped, and the release holds.
        let dir = release(&ASSETS);
        std::fs::write(
            dir.path().join("release.intoto.jsonl"),
            attestation(&ASSETS, &k),
        )
        .unwrap();
        let out = verify_release(dir.path(), &opts).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
        assert_eq!(
            statuses(&out, RELEASE_SUMS_SIGNATURE_MISSING),
            [Status::Skip]
        );

        // Two of three assets attested: the checksum file still needs its own signature.
        let dir = release(&ASSETS);
        std::fs::write(
            dir.path().join("release.intoto.jsonl"),
            attestation(&ASSETS[..2], &k),
        )
        .unwrap();
        let out = verify_release(dir.path(), &opts).unwrap();
        assert_eq!(
            statuses(&out, RELEASE_SUMS_SIGNATURE_MISSING),
            [Status::Fail]
        );

        // Every asset attested, but by a stranger: nothing stands in.
        let dir = release(&ASSETS);
        std::fs::write(
            dir.path().join("release.intoto.jsonl"),
            attestation(&ASSETS, &signer(9)),
        )
        .unwrap();
        let out = verify_release(dir.path(), &opts).unwrap();
        assert_eq!(
            statuses(&out, RELEASE_SUMS_SIGNATURE_MISSING),
            [Status::Fail]
        );

        // The predecessor's unsigned PROVENANCE.json agreeing with every asset is never a
        // signature either.
        let dir = release(&ASSETS);
        let legacy = json!({
            "schema_version": provenance::LEGACY_SCHEMA,
            "release": {"assets": ASSETS.iter().map(|(name, data)| json!({
                "name": name,
                "sha256": Sha256Digest::of(data).to_hex(),
                "size": data.len(),
            })).collect::<Vec<_>>()},
        });
        std::fs::write(
            dir.path().join(LEGACY_PROVENANCE_FILE),
            serde_json::to_vec(&legacy).unwrap(),
        )
        .unwrap();
        let out = verify_release(dir.path(), &opts).unwrap();
        assert_eq!(
            statuses(&out, provenance::codes::PROVENANCE_LEGACY_ASSET_MATCH),
            [Status::Pass; 3]
        );
        assert_eq!(
            statuses(&out, RELEASE_SUMS_SIGNATURE_MISSING),
            [Status::Fail]
        );
        assert!(out.verified.is_none());
    }

    #[test]
    fn provenance_named_explicitly_is_read_by_its_file_name() {
        let k = signer(1);
        let policy = trust(&k);
        let dir = release(&ASSETS);
        let outside = tempfile::tempdir().unwrap();
        let statement = outside.path().join("build.intoto.jsonl");
        std::fs::write(&statement, attestation(&ASSETS, &k)).unwrap();
        let opts = ReleaseOptions {
            trust: Some(&policy),
            provenance: vec![statement],
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        assert!(out.report.ok(), "{}", out.report.to_text(true));
        assert_eq!(
            statuses(&out, provenance::codes::PROVENANCE_SUBJECT_MATCH),
            [Status::Pass; 3]
        );
        assert!(
            !out.report
                .has(provenance::codes::PROVENANCE_LEGACY_UNSIGNED)
        );

        // A file named PROVENANCE.json is the predecessor's format, wherever it lives.
        let legacy = outside.path().join(LEGACY_PROVENANCE_FILE);
        std::fs::write(
            &legacy,
            serde_json::to_vec(&json!({
                "schema_version": provenance::LEGACY_SCHEMA,
                "release": {"assets": []},
            }))
            .unwrap(),
        )
        .unwrap();
        let opts = ReleaseOptions {
            provenance: vec![legacy],
            ..ReleaseOptions::default()
        };
        let out = verify_release(dir.path(), &opts).unwrap();
        assert_eq!(
            statuses(&out, provenance::codes::PROVENANCE_LEGACY_UNSIGNED),
            [Status::Warn]
        );
        assert!(!out.report.has(provenance::codes::PROVENANCE_PARSED));
    }

    #[test]
    fn provenance_files_share_one_byte_budget() {
        let k = signer(1);
        let line = attestation(&ASSETS, &k);
        let dir = release(&ASSETS);
        std::fs::write(dir.path().join("a.intoto.jsonl"), &line).unwrap();
        std::fs::write(dir.path().join("b.intoto.jsonl"), &line).unwrap();
        let total = line.len() as u64 + 10;
        let opts = ReleaseOptions {
            provenance_limits: ProvenanceLimits {
                max_bytes: total,
                ..ProvenanceLimits::default()
            },
            ..ReleaseOptions::default()
        };
        // Each file alone is within the limit; together they are not.
        let out = verify_release(dir.path(), &opts).unwrap();
        let over: Vec<(Option<&str>, &str)> = out
            .report
            .with_code(INPUT_TOO_LARGE)
            .map(|c| (c.path.as_deref(), c.detail.as_ref()))
            .collect();
        let detail =
            format!("provenance files together are larger than the limit of {total} bytes");
        assert_eq!(over, vec![(Some("b.intoto.jsonl"), detail.as_str())]);
        assert_eq!(
            statuses(&out, provenance::codes::PROVENANCE_PARSED),
            [Status::Pass]
        );
    }

    #[test]
    fn a_signature_file_alone_is_judged_without_a_key() {
        // Without any key, a signature file present still runs the signature stage: a DSSE
        // envelope is reported unchecked, a broken minisign file invalid.
        let k = signer(1);
        let cases = [
            (
                "SHA256SUMS.dsse.json",
                RELEASE_SUMS_SIGNATURE_UNCHECKED,
                Status::Warn,
            ),
            ("SHA256SUMS.minisig", RELEASE_MINISIGN_INVALID, Status::Fail),
        ];
        for (name, code, status) in cases {
            let dir = release(&ASSETS);
            let sums = std::fs::read(dir.path().join(SUMS_FILE)).unwrap();
            let bytes = if name.ends_with(".dsse.json") {
                crate::dsse::Envelope::sign(crate::dsse::PAYLOAD_TYPE_SHA256SUMS, &sums, &[&k])
                    .to_json_bytes()
            } else {
                b"untrusted comment: x\nRWQ=\n".to_vec()
            };
            std::fs::write(dir.path().join(name), bytes).unwrap();
            let out = verify_release(dir.path(), &ReleaseOptions::default()).unwrap();
            assert_eq!(
                statuses(&out, code),
                [status],
                "{}",
                out.report.to_text(true)
            );
            let at = out.report.with_code(code).next().unwrap();
            assert_eq!(at.path.as_deref(), Some(name));
        }
    }
}
