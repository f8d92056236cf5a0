//! Release verification: one verdict over a downloaded (or about to be published) release
//! directory.
//!
//! The verification is a pipeline of stages, each adding checks to one report under its own
//! section:
//!
//! 1. `checksums`: locate and read the checksum file once (its exact bytes are what every later
//!    stage uses), parse it, hash every listed file, demand exact coverage of the directory;
//! 2. `release`: at least one asset verified, no zero-byte assets, every `--expect`ed asset
//!    present and verified.
//!
//! Only when every check holds does the caller get a [`Verified`] asset list.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::Verified;
use crate::digest::Sha256Digest;
use crate::hash::{self, HashedFile, NoProgress, Progress};
use crate::path::ArtifactPath;
use crate::report::{Check, Report, check_codes, codes::INPUT_TOO_LARGE, codes::INPUT_UNREADABLE};
use crate::sums::{self, SumsLimits, TreeOptions};

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
    }
}
use codes::*;

/// The default checksum file name.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// Report section names.
pub mod section {
    /// Checksum file parsing, digests and coverage.
    pub const CHECKSUMS: &str = "checksums";
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
        SUMS_FILE | "SHA256SUMS.dsse.json" | "SHA256SUMS.minisig"
    ) || name.ends_with(".sig")
        || name.ends_with(".intoto.jsonl")
}

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
    /// A checksum file named explicitly does not exist or cannot be read.
    #[error("cannot read checksum file {path}: {source}")]
    SumsArgument {
        /// The file given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
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
    let meta = std::fs::metadata(dir).map_err(|e| ReleaseError::Directory {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(ReleaseError::Directory {
            path: dir.to_owned(),
            reason: "not a directory".to_owned(),
        });
    }
    let (sums_path, sums_display, explicit) = match &opts.sums {
        Some(p) => (p.clone(), p.display().to_string(), true),
        None => (dir.join(SUMS_FILE), SUMS_FILE.to_owned(), false),
    };
    // The checksum file, when it lives inside the directory, is metadata under whatever name.
    let sums_rel = relative_inside(dir, &sums_path);

    let mut report = Report::new(json!({
        "kind": "release",
        "directory": dir.display().to_string(),
        "checksums": sums_display,
    }));

    // Stage 1: read the checksum file once; every later use is of these bytes.
    let bytes = match read_limited(&sums_path, opts.limits.max_bytes) {
        Ok(b) => b,
        Err(ReadError::Io(source)) if explicit => {
            return Err(ReleaseError::SumsArgument {
                path: sums_path,
                source,
            });
        }
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            report.push(
                Check::fail(
                    RELEASE_SUMS_MISSING,
                    format!("no {SUMS_FILE} in the release directory; name one with --sums"),
                )
                .in_section(section::CHECKSUMS)
                .with_path(&sums_display),
            );
            return Ok(ReleaseVerification {
                report,
                verified: None,
            });
        }
        Err(ReadError::Io(e)) => {
            report.push(
                Check::fail(INPUT_UNREADABLE, format!("cannot read checksum file: {e}"))
                    .in_section(section::CHECKSUMS)
                    .with_path(&sums_display),
            );
            return Ok(ReleaseVerification {
                report,
                verified: None,
            });
        }
        Err(ReadError::TooLarge) => {
            report.push(
                Check::fail(
                    INPUT_TOO_LARGE,
                    format!(
                        "checksum file is larger than the limit of {} bytes",
                        opts.limits.max_bytes
                    ),
                )
                .in_section(section::CHECKSUMS)
                .with_path(&sums_display),
            );
            return Ok(ReleaseVerification {
                report,
                verified: None,
            });
        }
    };
    let sums_digest = Sha256Digest::of(&bytes);
    if let serde_json::Value::Object(subject) = &mut report.subject {
        subject.insert("checksums_sha256".into(), sums_digest.to_string().into());
    }

    // Parsing and listing the directory are independent: run them side by side.
    let (parsed, listing) = rayon::join(
        || sums::parse(&bytes, &opts.limits),
        || sums::list_for_sums(dir, &opts.limits),
    );
    let listing = listing.map_err(|e| ReleaseError::Directory {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            report.push(
                Check::fail(INPUT_TOO_LARGE, e.to_string())
                    .in_section(section::CHECKSUMS)
                    .with_path(&sums_display),
            );
            return Ok(ReleaseVerification {
                report,
                verified: None,
            });
        }
    };
    // Everything later works from the parsed entries; the raw bytes are no longer needed.
    drop(bytes);
    for check in sums::parse_checks(&parsed, &sums_display, opts.strict) {
        report.push(check.in_section(section::CHECKSUMS));
    }

    let is_metadata = |name: &str| is_metadata_name(name) || sums_rel.as_deref() == Some(name);
    let tree_opts = TreeOptions {
        ignore_missing: opts.ignore_missing,
        allow_unlisted: &opts.allow_unlisted,
        is_metadata: &is_metadata,
        limits: opts.limits,
        progress: opts.progress,
    };
    let first = report.checks.len();
    let tree = sums::verify_listing(listing, &parsed, &tree_opts, &mut report.checks);
    report.set_section(first, section::CHECKSUMS);

    // Stage 2: release-level rules.
    release_rules(&mut report, &tree.matched, opts);

    let verified = report.ok().then(|| {
        Verified::new(ReleaseAssets {
            sums_digest,
            assets: tree.matched,
        })
    });
    Ok(ReleaseVerification { report, verified })
}

fn release_rules(
    report: &mut Report,
    matched: &BTreeMap<ArtifactPath, HashedFile>,
    opts: &ReleaseOptions<'_>,
) {
    let in_release = |c: Check| c.in_section(section::RELEASE);
    if matched.is_empty() {
        report.push(in_release(Check::fail(
            RELEASE_ASSETS_VERIFIED,
            "no asset was verified; a release with nothing verified fails",
        )));
    } else {
        let bytes: u64 = matched.values().map(|h| h.size).sum();
        report.push(in_release(
            Check::pass(
                RELEASE_ASSETS_VERIFIED,
                format!("{} assets verified ({bytes} bytes)", matched.len()),
            )
            .with("assets", matched.len())
            .with("bytes", bytes),
        ));
    }
    for (path, hashed) in matched {
        if hashed.size == 0 {
            let check = if opts.allow_empty {
                Check::skip(
                    RELEASE_ASSET_EMPTY,
                    "zero-byte asset (allowed: --allow-empty)",
                )
            } else {
                Check::fail(
                    RELEASE_ASSET_EMPTY,
                    "zero-byte asset; a broken upload looks like this (use --allow-empty if intended)",
                )
            };
            report.push(in_release(check.with_path(path.as_str())));
        }
    }
    for name in &opts.expect {
        let name = name.strip_prefix("./").unwrap_or(name);
        let check = if matched.keys().any(|p| p.as_str() == name) {
            Check::pass(
                RELEASE_EXPECTED_ASSET,
                "expected asset is listed and verified",
            )
        } else {
            Check::fail(
                RELEASE_EXPECTED_ASSET,
                "expected asset is not among the verified assets",
            )
        };
        report.push(in_release(check.with_path(name)));
    }
}

fn relative_inside(dir: &Path, file: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let parent = std::fs::canonicalize(file.parent()?).ok()?;
    let rel = parent.strip_prefix(&dir).ok()?.join(file.file_name()?);
    rel.to_str().map(str::to_owned)
}

enum ReadError {
    Io(std::io::Error),
    TooLarge,
}

/// Reads a whole (small) file, refusing more than `limit` bytes, without following a final
/// symlink.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = hash::open_no_follow(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::Io(std::io::Error::other("not a regular file")));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

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
}
