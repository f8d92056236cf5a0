//! The `sbom` stage: every SBOM of the release, found among the verified assets by name
//! ([`is_sbom_name`]) or given with `--sbom`, judged by its content.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Run, asset_map};
use crate::digest::Sha256Digest;
use crate::hash::HashedFile;
use crate::path::ArtifactPath;
use crate::release::codes::RELEASE_FILE_CHANGED;
use crate::release::{ReleaseError, ReleaseOptions, is_sbom_name, read_limited};
use crate::report::{Check, codes::INPUT_UNREADABLE};
use crate::sbom::{self, codes::SBOM_FORMAT_UNKNOWN};

/// A `--sbom` file, read when the run starts.
pub(in crate::release) struct NamedSbom {
    /// As given, for reports.
    shown: String,
    /// Resolved, to recognise a named file that is also a discovered asset.
    resolved: Option<PathBuf>,
    bytes: Vec<u8>,
}

/// Reads every `--sbom` file; one that cannot be read means the run cannot start.
pub(in crate::release) fn read_named(
    opts: &ReleaseOptions<'_>,
) -> Result<Vec<NamedSbom>, ReleaseError> {
    opts.sbom
        .iter()
        .map(|path| {
            let bytes = read_limited(path, opts.sbom_limits.max_bytes).map_err(|e| {
                ReleaseError::Argument {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
            Ok(NamedSbom {
                shown: path.display().to_string(),
                resolved: std::fs::canonicalize(path).ok(),
                bytes,
            })
        })
        .collect()
}

impl Run<'_, '_> {
    /// `sbom`: validates each SBOM by its format and compares its asset claims with the
    /// verified digests. Assets first, in path order, then the `--sbom` files not among them.
    pub(super) fn sbom(&mut self, matched: &BTreeMap<ArtifactPath, HashedFile>) {
        let assets = asset_map(matched, |_| true, |h| h.digest);
        let mut named = std::mem::take(&mut self.named_sboms);
        for (path, hashed) in matched.iter().filter(|(p, _)| is_sbom_name(p.as_str())) {
            let resolved = std::fs::canonicalize(self.dir.join(path.as_str())).ok();
            named.retain(|n| n.resolved.is_none() || n.resolved != resolved);
            if let Some(bytes) = self.read_asset(path.as_str(), hashed) {
                self.judge_sbom(path.as_str(), &bytes, &assets);
            }
        }
        for sbom in named {
            self.judge_sbom(&sbom.shown, &sbom.bytes, &assets);
        }
    }

    /// One SBOM's checks, each naming the SBOM (as its path, or as `sbom` beside the path of
    /// the element it is about).
    fn judge_sbom(&mut self, name: &str, bytes: &[u8], assets: &BTreeMap<String, Sha256Digest>) {
        let Some(format) = sbom::recognise(bytes) else {
            self.report.push(
                Check::fail(
                    SBOM_FORMAT_UNKNOWN,
                    "named like an SBOM, but neither SPDX JSON (spdxVersion) nor CycloneDX JSON (bomFormat)",
                )
                .with_path(name.to_owned())
                .in_section(sbom::section::SBOM),
            );
            return;
        };
        let report = format.verify(bytes, Some(assets), &self.opts.sbom_limits);
        for check in report.checks {
            let check = if check.path.is_none() {
                check.with_path(name.to_owned())
            } else {
                check.with("sbom", name.to_owned())
            };
            let check = if check.is(sbom::codes::SBOM_PARSED) {
                check.with("format", format.name())
            } else {
                check
            };
            self.report.push(check);
        }
    }

    /// An SBOM found among the assets: the bytes read must still have the digest just
    /// verified (DESIGN 4 rule 3). `None`, with a failing check, when they cannot be used.
    fn read_asset(&mut self, path: &str, verified: &HashedFile) -> Option<Vec<u8>> {
        let check = match read_limited(&self.dir.join(path), self.opts.sbom_limits.max_bytes) {
            Ok(bytes) if Sha256Digest::of(&bytes) == verified.digest => return Some(bytes),
            Ok(_) => Check::fail(
                RELEASE_FILE_CHANGED,
                "the SBOM changed after its digest was verified",
            ),
            Err(e) => Check::fail(INPUT_UNREADABLE, e.to_string()),
        };
        self.report.push(
            check
                .with_path(path.to_owned())
                .in_section(sbom::section::SBOM),
        );
        None
    }
}
