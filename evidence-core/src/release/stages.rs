//! The stages of [`verify_release`](super::verify_release), in the order they run, over one
//! [`Run`]. Each stage adds its checks to the report under its own section; a stage after
//! which verification cannot go on returns [`Stop`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::codes::*;
use super::signatures::{self, SignatureTrust};
use super::{
    LEGACY_PROVENANCE_FILE, ReleaseAssets, ReleaseError, ReleaseOptions, SUMS_FILE,
    is_metadata_name, read_limited, section,
};
use crate::digest::Sha256Digest;
use crate::hash::{self, HashedFile, ReadError};
use crate::path::ArtifactPath;
use crate::provenance::{self, AssetDigest, ProvenanceFile};
use crate::report::{Check, Report, Status, codes::INPUT_TOO_LARGE, codes::INPUT_UNREADABLE};
use crate::sums::{self, ParsedSums, TreeOptions, TreeVerification};
use crate::tree::Tree;

mod sbom;

/// Why the stages ended before the last one.
pub(super) enum Stop {
    /// A failing check in the report says why; the report is the outcome.
    Reported,
    /// The tool could not run at all (the CLI's exit code 2).
    CannotRun(ReleaseError),
}

impl From<ReleaseError> for Stop {
    fn from(e: ReleaseError) -> Self {
        Stop::CannotRun(e)
    }
}

/// The state every stage sees: what to verify, the files named on the command line, and the
/// report the stages fill.
pub(super) struct Run<'a, 'o> {
    dir: &'a Path,
    opts: &'a ReleaseOptions<'o>,
    /// The checksum file.
    sums_path: PathBuf,
    /// How the report names the checksum file.
    sums_display: String,
    /// The checksum file was named by the caller (`--sums`), not found by its default name.
    sums_explicit: bool,
    /// `--provenance` files, read before anything else.
    named_provenance: Provenance,
    /// The `--sbom` files, read before anything else: as given, resolved, and their bytes.
    named_sboms: Vec<sbom::NamedSbom>,
    /// Every check so far.
    pub(super) report: Report,
}

/// What the `checksums` stages established.
struct Checksums {
    /// Digest of the exact checksum file bytes.
    digest: Sha256Digest,
    /// Those bytes, kept only when the signature stage needs them.
    signed_bytes: Option<Vec<u8>>,
    /// Which names in the directory are verification metadata rather than assets.
    metadata: Metadata,
    /// The digests verified.
    tree: TreeVerification,
}

/// Verification metadata names: [`is_metadata_name`] and the named checksum file (with its
/// signature files) when it lives inside the release directory.
struct Metadata {
    own: Vec<String>,
}

impl Metadata {
    fn contains(&self, name: &str) -> bool {
        is_metadata_name(name) || self.own.iter().any(|m| m == name)
    }
}

/// Provenance files: statements and the predecessor's `PROVENANCE.json`.
#[derive(Default)]
struct Provenance {
    statements: Vec<ProvenanceFile>,
    legacy: Option<ProvenanceFile>,
}

/// The provenance judged, before its checks are reported.
struct Judged {
    checks: Vec<Check>,
    /// Statements signed by trusted keys attest every asset by its digest.
    attested: bool,
}

impl<'a, 'o> Run<'a, 'o> {
    /// Checks the directory and reads the files named on the command line, so a wrong path
    /// stops the run before any hashing.
    pub(super) fn start(dir: &'a Path, opts: &'a ReleaseOptions<'o>) -> Result<Self, ReleaseError> {
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
        let (sums_path, sums_display, sums_explicit) = match &opts.sums {
            Some(p) => (p.clone(), p.display().to_string(), true),
            None => (dir.join(SUMS_FILE), SUMS_FILE.to_owned(), false),
        };
        let named_provenance = read_explicit_provenance(opts)?;
        let named_sboms = sbom::read_named(opts)?;
        let report = Report::new(json!({
            "kind": "release",
            "directory": dir.display().to_string(),
            "checksums": sums_display,
        }));
        Ok(Self {
            dir,
            opts,
            sums_path,
            sums_display,
            sums_explicit,
            named_provenance,
            named_sboms,
            report,
        })
    }

    /// Every stage, in order (see the module documentation of [`super`]).
    pub(super) fn stages(&mut self) -> Result<ReleaseAssets, Stop> {
        let bytes = self.read_sums()?;
        let checksums = self.hash_tree(bytes)?;
        let found = self.discover_provenance(&checksums.tree);
        // Judged before the signatures are reported: a checksum file without a signature is
        // acceptable when signed provenance attests every asset by its digest instead.
        let judged = self.judge_provenance(&checksums, found);
        self.signatures(&checksums, judged.attested);
        self.sbom(&checksums.tree.matched);
        self.report.checks.extend(judged.checks);
        self.release_rules(&checksums.tree.matched);
        Ok(ReleaseAssets {
            sums_digest: checksums.digest,
            assets: checksums.tree.matched,
        })
    }

    /// `checksums`: reads the checksum file once; every later use is of these bytes.
    fn read_sums(&mut self) -> Result<Vec<u8>, Stop> {
        let limit = self.opts.limits.max_bytes;
        match hash::read_whole(&self.sums_path, limit) {
            Ok(f) => Ok(f.bytes),
            Err(source) if self.sums_explicit && !matches!(source, ReadError::TooLarge { .. }) => {
                Err(Stop::CannotRun(ReleaseError::SumsArgument {
                    path: self.sums_path.clone(),
                    source,
                }))
            }
            Err(ReadError::NotFound) => Err(self.halt(Check::fail(
                RELEASE_SUMS_MISSING,
                format!("no {SUMS_FILE} in the release directory; name one with --sums"),
            ))),
            Err(e @ (ReadError::Symlink | ReadError::NotRegular | ReadError::Io(_))) => Err(self
                .halt(Check::fail(
                    INPUT_UNREADABLE,
                    format!("the checksum file {e}"),
                ))),
            Err(ReadError::TooLarge { .. }) => Err(self.halt(Check::fail(
                INPUT_TOO_LARGE,
                format!("checksum file is larger than the limit of {limit} bytes"),
            ))),
        }
    }

    /// Reports a failure about the checksum file that ends verification.
    fn halt(&mut self, check: Check) -> Stop {
        self.report.push(
            check
                .in_section(section::CHECKSUMS)
                .with_path(&self.sums_display),
        );
        Stop::Reported
    }

    /// `checksums`: parses the checksum file, lists the directory and hashes every listed
    /// file, demanding exact coverage.
    fn hash_tree(&mut self, bytes: Vec<u8>) -> Result<Checksums, Stop> {
        let opts = self.opts;
        // Digesting and parsing the checksum file and listing the directory are independent:
        // run them side by side.
        let ((digest, parsed), listing) = rayon::join(
            || {
                rayon::join(
                    || Sha256Digest::of(&bytes),
                    || sums::parse(&bytes, &opts.limits),
                )
            },
            || sums::list_for_sums(self.dir, &opts.limits),
        );
        if let serde_json::Value::Object(subject) = &mut self.report.subject {
            subject.insert("checksums_sha256".into(), digest.to_string().into());
        }
        let listing = listing.map_err(|e| ReleaseError::Directory {
            path: self.dir.to_owned(),
            reason: e.to_string(),
        })?;
        let parsed = parsed.map_err(|e| self.halt(Check::fail(INPUT_TOO_LARGE, e.to_string())))?;
        // The signature stage needs the exact bytes; otherwise everything later works from the
        // parsed entries and the raw bytes are no longer needed.
        let signed_bytes = signatures::needed(&self.sums_path, opts).then_some(bytes);
        for check in sums::parse_checks(&parsed, &self.sums_display, opts.strict) {
            self.report.push(check.in_section(section::CHECKSUMS));
        }
        let own = std::iter::once(self.sums_path.clone())
            .chain(signatures::signature_paths(&self.sums_path))
            .filter_map(|p| relative_inside_named(self.dir, &p))
            .collect();
        let metadata = Metadata { own };
        let tree = self.verify_listing(listing, &parsed, &metadata);
        Ok(Checksums {
            digest,
            signed_bytes,
            metadata,
            tree,
        })
    }

    /// Checks every entry's digest and the directory's exact coverage.
    fn verify_listing(
        &mut self,
        listing: Tree,
        parsed: &ParsedSums,
        metadata: &Metadata,
    ) -> TreeVerification {
        let is_metadata = |name: &str| metadata.contains(name);
        let tree_opts = TreeOptions {
            ignore_missing: self.opts.ignore_missing,
            allow_unlisted: &self.opts.allow_unlisted,
            is_metadata: &is_metadata,
            limits: self.opts.limits,
            progress: self.opts.progress,
        };
        let first = self.report.checks.len();
        let tree = sums::verify_listing(listing, parsed, &tree_opts, &mut self.report.checks);
        self.report.set_section(first, section::CHECKSUMS);
        tree
    }

    /// `provenance`: the files named on the command line, or else the top-level statement
    /// files and `PROVENANCE.json`, whether the checksum file lists them or not.
    fn discover_provenance(&mut self, tree: &TreeVerification) -> Provenance {
        let mut found = std::mem::take(&mut self.named_provenance);
        if !self.opts.provenance.is_empty() {
            return found;
        }
        let mut budget = ProvenanceBudget::new(self.opts);
        // A listed one was just hashed: the bytes read must still be those (DESIGN 4 rule 3).
        let mut names: Vec<(&str, Option<Sha256Digest>)> = tree
            .metadata_found
            .iter()
            .map(|name| (name.as_str(), None))
            .chain(
                tree.matched
                    .iter()
                    .filter(|(path, _)| is_metadata_name(path.as_str()))
                    .map(|(path, h)| (path.as_str(), Some(h.digest))),
            )
            .collect();
        names.sort();
        for (name, verified) in names {
            let is_statement = name.ends_with(".intoto.jsonl");
            if !is_statement && name != LEGACY_PROVENANCE_FILE {
                continue;
            }
            let Some(file) = self.read_discovered(&mut budget, name, verified) else {
                continue;
            };
            if is_statement {
                found.statements.push(file);
            } else {
                found.legacy = Some(file);
            }
        }
        found
    }

    /// Reads one discovered provenance file, or reports why it cannot be used.
    fn read_discovered(
        &mut self,
        budget: &mut ProvenanceBudget,
        name: &str,
        verified: Option<Sha256Digest>,
    ) -> Option<ProvenanceFile> {
        let check = match budget.read(&self.dir.join(name)) {
            Ok(bytes) if verified.is_some_and(|d| Sha256Digest::of(&bytes) != d) => Check::fail(
                RELEASE_FILE_CHANGED,
                "the file changed after its digest was verified",
            ),
            Ok(bytes) => {
                return Some(ProvenanceFile {
                    name: name.to_owned(),
                    bytes,
                });
            }
            Err(e) => Check::fail(
                if matches!(e, ReadError::TooLarge { .. }) {
                    INPUT_TOO_LARGE
                } else {
                    INPUT_UNREADABLE
                },
                budget.explain(&e),
            ),
        };
        self.report.push(
            check
                .with_path(name)
                .in_section(provenance::section::PROVENANCE),
        );
        None
    }

    /// `provenance` and `cross-checks`: statements and `PROVENANCE.json` judged against the
    /// verified assets (reported after the SBOM).
    fn judge_provenance(&self, checksums: &Checksums, found: Provenance) -> Judged {
        let opts = self.opts;
        // Listed or not, verification metadata is not an asset provenance must attest. The map
        // copies every asset name, so it is built only when there is provenance to judge.
        let assets: BTreeMap<String, AssetDigest> =
            if !found.statements.is_empty() || found.legacy.is_some() || opts.policy.is_set() {
                asset_map(
                    &checksums.tree.matched,
                    |name| !checksums.metadata.contains(name),
                    |h| AssetDigest {
                        sha256: h.digest,
                        size: h.size,
                    },
                )
            } else {
                BTreeMap::new()
            };
        let checks = provenance::verify(&provenance::ProvenanceInputs {
            files: &found.statements,
            legacy: found.legacy.as_ref(),
            assets: &assets,
            trust: opts.trust,
            policy: &opts.policy,
            limits: opts.provenance_limits,
        });
        let attested_names: HashSet<&str> = checks
            .iter()
            .filter(|c| {
                c.is(provenance::codes::PROVENANCE_SUBJECT_MATCH) && c.status == Status::Pass
            })
            .filter_map(|c| c.path.as_deref())
            .collect();
        let attested = opts.trust.is_some()
            && !assets.is_empty()
            && assets
                .keys()
                .all(|name| attested_names.contains(name.as_str()));
        Judged { checks, attested }
    }

    /// `signatures`: every signature format over the exact checksum bytes.
    fn signatures(&mut self, checksums: &Checksums, attested: bool) {
        if let Some(bytes) = &checksums.signed_bytes {
            let trust = SignatureTrust::new(self.opts, attested);
            for check in signatures::check(&self.sums_path, bytes, &trust) {
                self.report.push(check);
            }
        }
    }

    /// `release`: at least one asset verified, none empty, every expected one present.
    fn release_rules(&mut self, matched: &BTreeMap<ArtifactPath, HashedFile>) {
        let opts = self.opts;
        let mut push = |c: Check| self.report.push(c.in_section(section::RELEASE));
        if matched.is_empty() {
            push(Check::fail(
                RELEASE_ASSETS_VERIFIED,
                "no asset was verified; a release with nothing verified fails",
            ));
        } else {
            let bytes: u64 = matched.values().map(|h| h.size).sum();
            push(
                Check::pass(
                    RELEASE_ASSETS_VERIFIED,
                    format!("{} assets verified ({bytes} bytes)", matched.len()),
                )
                .with("assets", matched.len())
                .with("bytes", bytes),
            );
        }
        for (path, _) in matched.iter().filter(|(_, h)| h.size == 0) {
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
            push(check.with_path(path.as_str()));
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
            push(check.with_path(name));
        }
    }
}

/// Provenance files named on the command line, read before any hashing so a wrong path stops
/// the run at once.
fn read_explicit_provenance(opts: &ReleaseOptions<'_>) -> Result<Provenance, ReleaseError> {
    let mut out = Provenance::default();
    let mut budget = ProvenanceBudget::new(opts);
    for path in &opts.provenance {
        let bytes = budget.read(path).map_err(|e| ReleaseError::Argument {
            path: path.clone(),
            reason: budget.explain(&e),
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let file = ProvenanceFile { name, bytes };
        if file.name == LEGACY_PROVENANCE_FILE {
            out.legacy = Some(file);
        } else {
            out.statements.push(file);
        }
    }
    Ok(out)
}

/// The verified assets `keep` selects, by name, with `value` of each. Built by insertion in the
/// matched map's (sorted) order: collecting into a `BTreeMap` would first buffer every entry
/// and sort the buffer, a second and third copy at the peak for 100,000 assets.
fn asset_map<T>(
    matched: &BTreeMap<ArtifactPath, HashedFile>,
    keep: impl Fn(&str) -> bool,
    value: impl Fn(&HashedFile) -> T,
) -> BTreeMap<String, T> {
    let mut map = BTreeMap::new();
    for (path, h) in matched {
        if keep(path.as_str()) {
            map.insert(path.as_str().to_owned(), value(h));
        }
    }
    map
}

/// The provenance bytes still allowed: `ProvenanceLimits::max_bytes` bounds all provenance
/// files together, so a directory of many large statement files cannot exhaust memory.
struct ProvenanceBudget {
    left: u64,
    total: u64,
}

impl ProvenanceBudget {
    fn new(opts: &ReleaseOptions<'_>) -> Self {
        let total = opts.provenance_limits.max_bytes;
        Self { left: total, total }
    }

    fn read(&mut self, path: &Path) -> Result<Vec<u8>, ReadError> {
        let bytes = read_limited(path, self.left)?;
        self.left = self.left.saturating_sub(bytes.len() as u64);
        Ok(bytes)
    }

    fn explain(&self, e: &ReadError) -> String {
        match e {
            ReadError::TooLarge { .. } => format!(
                "provenance files together are larger than the limit of {} bytes",
                self.total
            ),
            other => other.to_string(),
        }
    }
}

/// `file`'s path relative to `dir` when it lives inside it (whether or not it exists).
fn relative_inside_named(dir: &Path, file: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let parent = std::fs::canonicalize(file.parent()?).ok()?;
    let rel = parent.strip_prefix(&dir).ok()?.join(file.file_name()?);
    rel.to_str().map(str::to_owned)
}
