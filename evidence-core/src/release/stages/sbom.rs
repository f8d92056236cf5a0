//! The `sbom` stage.

use std::collections::BTreeMap;

use super::{Run, asset_map};
use crate::digest::Sha256Digest;
use crate::hash::HashedFile;
use crate::path::ArtifactPath;
use crate::release::codes::RELEASE_FILE_CHANGED;
use crate::release::{SBOM_FILE, read_limited};
use crate::report::{Check, codes::INPUT_UNREADABLE};
use crate::sbom;

impl Run<'_, '_> {
    /// `sbom`: validates the SBOM by its format and compares its asset claims with the verified
    /// digests.
    pub(super) fn sbom(&mut self, matched: &BTreeMap<ArtifactPath, HashedFile>) {
        let named = self.named_sbom.take().map(|bytes| {
            let name = self.opts.sbom.as_ref().map(|p| p.display().to_string());
            (name.unwrap_or_default(), bytes)
        });
        let Some((name, bytes)) = named.or_else(|| self.discovered_sbom(matched)) else {
            return;
        };
        let assets = asset_map(matched, |_| true, |h| h.digest);
        let format = sbom::format_of(&bytes);
        let sbom_report = format.verify(&bytes, Some(&assets), &self.opts.sbom_limits);
        for check in sbom_report.checks {
            let check = if check.path.is_none() {
                check.with_path(name.clone())
            } else {
                check.with("sbom", name.clone())
            };
            self.report.push(check);
        }
    }

    /// A discovered `SBOM.spdx.json` is an asset: the bytes read must still have the digest
    /// just verified (DESIGN 4 rule 3). `None` when there is none or it cannot be used.
    fn discovered_sbom(
        &mut self,
        matched: &BTreeMap<ArtifactPath, HashedFile>,
    ) -> Option<(String, Vec<u8>)> {
        let verified = matched
            .iter()
            .find(|(p, _)| p.as_str() == SBOM_FILE)
            .map(|(_, h)| h)?;
        let check = match read_limited(&self.dir.join(SBOM_FILE), self.opts.sbom_limits.max_bytes) {
            Ok(bytes) if Sha256Digest::of(&bytes) == verified.digest => {
                return Some((SBOM_FILE.to_owned(), bytes));
            }
            Ok(_) => Check::fail(
                RELEASE_FILE_CHANGED,
                "the SBOM changed after its digest was verified",
            ),
            Err(e) => Check::fail(INPUT_UNREADABLE, e.to_string()),
        };
        self.report
            .push(check.with_path(SBOM_FILE).in_section(sbom::section::SBOM));
        None
    }
}
