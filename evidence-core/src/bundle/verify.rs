//! Verifying a bundle folder (DESIGN section 3, "A bundle verifies only if").
//!
//! The checks shared with archive verification live here too: the manifest, its signatures and
//! SHA256SUMS are judged from their exact bytes ([`MetadataChecks`]), and each payload file from
//! what was observed of it ([`PayloadChecks`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::path::Path;

use serde_json::json;

use super::codes::*;
use super::manifest::{Manifest, ManifestError};
use super::{
    BundleId, BundleVerification, ENVELOPE_FILE, MANIFEST_FILE, PAYLOAD_DIR, SIGNATURE_CODES,
    SUMS_FILE, Signer, VerifiedBundle, VerifyOptions, section,
};
use crate::Verified;
use crate::digest::Sha256Digest;
use crate::dsse::{self, Envelope};
use crate::hash::{self, HashError, HashJob, HashedFile};
use crate::path::{Clash, PathRules, PathSet};
use crate::report::{Check, Report};
use crate::text::printable;
use crate::tree::{self, EntryKind};

/// Verifies a bundle folder.
///
/// Never fails as a function: a missing or unreadable bundle is a failing report (the CLI
/// decides beforehand whether the argument exists).
pub fn verify_dir(root: &Path, opts: &VerifyOptions<'_>) -> BundleVerification {
    let mut report = Report::new(json!({
        "kind": "bundle",
        "bundle": root.display().to_string(),
        "form": "directory",
    }));

    // 1. The three metadata files, read once each; everything later uses these bytes. Like
    //    payload files, each must have a single link (FORMAT 5.1): a second name outside the
    //    bundle could change it after verification.
    let mut linked: Vec<(&str, u64)> = Vec::new();
    let mut read = |name: &'static str, limit: u64| {
        read_small(&root.join(name), limit).map(|found| {
            found.map(|(bytes, links)| {
                if links > 1 {
                    linked.push((name, links));
                }
                bytes
            })
        })
    };
    let manifest_bytes = match read(MANIFEST_FILE, opts.limits.manifest.max_bytes) {
        Ok(Some(b)) => Some(b),
        Ok(None) => {
            report.push(layout_fail(MANIFEST_FILE, "manifest.json is missing"));
            None
        }
        Err(check) => {
            report.push((*check).with_path(MANIFEST_FILE));
            None
        }
    };
    let envelope_bytes = match read(ENVELOPE_FILE, opts.limits.max_metadata_bytes) {
        Ok(b) => b,
        Err(check) => {
            report.push((*check).with_path(ENVELOPE_FILE));
            None
        }
    };
    let sums_bytes = match read(SUMS_FILE, opts.limits.max_metadata_bytes) {
        Ok(Some(b)) => Some(b),
        Ok(None) => {
            report.push(layout_fail(SUMS_FILE, "SHA256SUMS is missing"));
            None
        }
        Err(check) => {
            report.push((*check).with_path(SUMS_FILE));
            None
        }
    };
    for (name, links) in linked {
        report.push(payload_check(
            Check::fail(
                BUNDLE_ENTRY_FORBIDDEN,
                format!("file has {links} hard links; its content can change through another name"),
            ),
            name,
        ));
    }
    let meta = MetadataChecks::run(
        manifest_bytes.as_deref(),
        envelope_bytes.as_deref(),
        sums_bytes.as_deref(),
        opts,
        &mut report,
    );
    if let (Some(id), serde_json::Value::Object(subject)) = (&meta.id, &mut report.subject) {
        subject.insert("id".into(), id.to_string().into());
    }

    // 2. The tree: nothing but the metadata files and listed payload files may exist.
    let mut payload = PayloadChecks::new(meta.manifest.as_ref(), opts);
    // A folder is bounded like an archive: the same entry limit, the same check.
    let max_entries = opts.limits.archive.max_entries;
    let listing = match tree::list_tree(root, PathRules::Strict, max_entries) {
        Ok(l) => l,
        Err(e) => {
            report.push(layout_fail("", e.to_string()));
            let captured = payload.finish(&mut report);
            return finish(report, meta, captured);
        }
    };
    for problem in &listing.problems {
        report.push(
            Check::fail(
                BUNDLE_LAYOUT_INVALID,
                format!("could not list part of the bundle: {}", problem.message),
            )
            .with_path(printable(&problem.display).into_owned())
            .in_section(section::PAYLOAD),
        );
    }
    if listing.truncated {
        report.push(
            Check::fail(
                BUNDLE_ARCHIVE_LIMIT,
                format!("the bundle folder has more than {max_entries} entries"),
            )
            .in_section(section::PAYLOAD),
        );
    }
    let mut jobs = Vec::new();
    let mut entries: Vec<&tree::TreeEntry> = listing.entries.iter().collect();
    entries.sort_by(|a, b| a.display().cmp(b.display()));
    for entry in entries {
        let name = match &entry.path {
            Ok(p) => p.as_str(),
            Err(bad) => {
                payload.unexpected(
                    BUNDLE_PATH_UNSAFE,
                    format!("name on disk is not an acceptable path: {}", bad.error),
                    &bad.display,
                    &mut report,
                );
                continue;
            }
        };
        match (name, entry.kind) {
            (MANIFEST_FILE | ENVELOPE_FILE | SUMS_FILE, EntryKind::File) => {}
            (PAYLOAD_DIR, EntryKind::Dir) => {}
            (_, EntryKind::Symlink | EntryKind::Special) => payload.unexpected(
                BUNDLE_ENTRY_FORBIDDEN,
                format!(
                    "{} in the bundle; never followed or read",
                    entry.kind.as_str()
                ),
                name,
                &mut report,
            ),
            (_, EntryKind::Dir) if payload.needs_folder(name) => {}
            (_, EntryKind::Dir) => payload.unexpected(
                BUNDLE_ENTRY_FORBIDDEN,
                "directory that no listed file needs (planted or left behind)",
                name,
                &mut report,
            ),
            (_, _) => match payload.expect(name) {
                Some(index) => jobs.push((index, name.to_owned(), entry.id)),
                // Still a failure: only the detail says where it most likely came from.
                None if crate::atomic::is_temp_name_for(name, ENVELOPE_FILE) => payload.unexpected(
                    BUNDLE_FILE_UNLISTED,
                    "not listed; named like the temporary of an interrupted `evidence bundle sign`: sign again (it removes it) or delete it",
                    name,
                    &mut report,
                ),
                None => payload.unexpected(
                    BUNDLE_FILE_UNLISTED,
                    "file is not listed in the manifest",
                    name,
                    &mut report,
                ),
            },
        }
    }

    // 3. Hash listed files in parallel, each bound to the inode listed and to a single link;
    //    files the caller wants back are read whole (bounded) and hashed from those bytes.
    let capture_limit = opts.limits.max_capture_bytes;
    let max_file = opts.limits.max_file_bytes;
    let results: Vec<Observed> = {
        use rayon::prelude::*;
        jobs.par_iter()
            .map(|(index, name, id)| {
                let job = HashJob {
                    path: root.join(name),
                    expect_id: Some(*id),
                    single_link: true,
                };
                let observed = if payload.wants_capture(name) {
                    read_and_hash(&job, capture_limit).map(|(h, bytes)| (h, Some(bytes)))
                } else {
                    hash::hash_file(&job, max_file, opts.progress).map(|h| (h, None))
                };
                Observed {
                    index: *index,
                    result: observed,
                }
            })
            .collect()
    };
    for observed in results {
        payload.observe(observed.index, observed.result, &mut report);
    }
    let captured = payload.finish(&mut report);
    finish(report, meta, captured)
}

/// What was seen of one listed payload file.
struct Observed {
    index: usize,
    result: Result<(HashedFile, Option<Vec<u8>>), HashError>,
}

/// The verification result: the report, and the verified bundle when the report is ok.
pub(crate) fn finish(
    report: Report,
    meta: MetadataChecks,
    captured: BTreeMap<String, Vec<u8>>,
) -> BundleVerification {
    let bundle = match (
        report.ok(),
        meta.manifest,
        meta.id,
        meta.manifest_bytes,
        meta.sums_bytes,
    ) {
        (true, Some(manifest), Some(id), Some(manifest_bytes), Some(sums_bytes)) => {
            Some(Verified::new(VerifiedBundle {
                id,
                manifest,
                manifest_bytes,
                sums_bytes,
                envelope_bytes: meta.envelope_bytes,
                signers: meta.signers,
                captured,
            }))
        }
        _ => None,
    };
    BundleVerification { report, bundle }
}

fn layout_fail(path: &str, detail: impl ToString) -> Check {
    Check::fail(BUNDLE_LAYOUT_INVALID, detail.to_string())
        .with_path(path)
        .in_section(section::MANIFEST)
}

fn payload_check(check: Check, path: &str) -> Check {
    check
        .with_path(printable(path).into_owned())
        .in_section(section::PAYLOAD)
}

/// Reads a small metadata file without following a symlink; `None` if it does not exist.
/// Returns the bytes and the file's number of hard links. An error is the failing check,
/// without its path; a file over its limit is `bundle-archive-limit`, as the same file in an
/// archive is.
fn read_small(path: &Path, limit: u64) -> Result<Option<(Vec<u8>, u64)>, Box<Check>> {
    match hash::read_whole(path, limit) {
        Ok(f) => Ok(Some((
            f.bytes,
            std::os::unix::fs::MetadataExt::nlink(&f.meta),
        ))),
        Err(hash::ReadError::NotFound) => Ok(None),
        Err(e @ hash::ReadError::TooLarge { .. }) => Err(Box::new(
            Check::fail(BUNDLE_ARCHIVE_LIMIT, format!("the file {e}"))
                .in_section(section::MANIFEST),
        )),
        Err(e) => Err(Box::new(layout_fail("", e))),
    }
}

/// Reads a whole regular file (bounded), returning its digest and bytes; the same guarantees
/// as [`hash::hash_file`].
fn read_and_hash(job: &HashJob, limit: u64) -> Result<(HashedFile, Vec<u8>), HashError> {
    let path = job.path.clone();
    let io = |source| HashError::Io {
        path: path.clone(),
        source,
    };
    let file = hash::open_no_follow(&job.path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(HashError::NotRegular { path });
    }
    if job
        .expect_id
        .is_some_and(|id| hash::FileId::of(&meta) != id)
    {
        return Err(HashError::Replaced { path });
    }
    if job.single_link && std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
        return Err(HashError::HardLinked {
            path,
            nlink: std::os::unix::fs::MetadataExt::nlink(&meta),
        });
    }
    if meta.len() > limit {
        return Err(HashError::TooLarge { path, limit });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(HashError::TooLarge { path, limit });
    }
    let hashed = HashedFile {
        digest: Sha256Digest::of(&bytes),
        size: bytes.len() as u64,
    };
    Ok((hashed, bytes))
}

/// Checks of the manifest, its signatures and SHA256SUMS, from their exact bytes.
pub(crate) struct MetadataChecks {
    pub(crate) manifest: Option<Manifest>,
    pub(crate) manifest_bytes: Option<Vec<u8>>,
    pub(crate) sums_bytes: Option<Vec<u8>>,
    pub(crate) envelope_bytes: Option<Vec<u8>>,
    pub(crate) id: Option<BundleId>,
    pub(crate) signers: Vec<Signer>,
}

impl MetadataChecks {
    /// Runs every metadata check, appending to `report`.
    pub(crate) fn run(
        manifest_bytes: Option<&[u8]>,
        envelope_bytes: Option<&[u8]>,
        sums_bytes: Option<&[u8]>,
        opts: &VerifyOptions<'_>,
        report: &mut Report,
    ) -> Self {
        let mut out = MetadataChecks {
            manifest: None,
            manifest_bytes: manifest_bytes.map(<[u8]>::to_vec),
            sums_bytes: sums_bytes.map(<[u8]>::to_vec),
            envelope_bytes: envelope_bytes.map(<[u8]>::to_vec),
            id: manifest_bytes.map(BundleId::of_manifest),
            signers: Vec::new(),
        };
        let in_manifest = |c: Check| c.in_section(section::MANIFEST);
        if let Some(bytes) = manifest_bytes {
            match Manifest::parse(bytes, &opts.limits.manifest) {
                Ok(m) => {
                    let id = BundleId::of_manifest(bytes);
                    report.push(in_manifest(
                        Check::pass(
                            BUNDLE_MANIFEST_VALID,
                            format!("{} bundle {id}, {} files", m.kind, m.files.len()),
                        )
                        .with_path(MANIFEST_FILE)
                        .with("id", id.to_string())
                        .with("kind", m.kind.clone()),
                    ));
                    // DESIGN 4 rule 8: timestamps inside evidence are claims.
                    report.push(in_manifest(
                        Check::skip(
                            BUNDLE_CREATED_AT_CLAIM,
                            format!(
                                "created_at {} is the creator's claim, not verified evidence of time",
                                m.created_at
                            ),
                        )
                        .with("created_at", m.created_at.clone()),
                    ));
                    if m.files.is_empty() {
                        report.push(in_manifest(Check::fail(
                            BUNDLE_EMPTY,
                            "the manifest lists no payload files",
                        )));
                    }
                    collision_checks(&m, report);
                    out.manifest = Some(m);
                }
                Err(e) => {
                    let code = match e {
                        ManifestError::UnsafePath { .. } => BUNDLE_PATH_UNSAFE,
                        _ => BUNDLE_MANIFEST_INVALID,
                    };
                    report.push(in_manifest(
                        Check::fail(code, e.to_string()).with_path(MANIFEST_FILE),
                    ));
                }
            }
        }
        if let (Some(sums_bytes), Some(manifest), Some(manifest_bytes)) =
            (sums_bytes, &out.manifest, manifest_bytes)
        {
            sums_checks(sums_bytes, manifest, manifest_bytes, report);
        }
        out.signers = signature_checks(manifest_bytes, envelope_bytes, opts, report);
        out
    }
}

/// DESIGN 3: no two manifest paths may collide after NFC normalisation and case folding.
fn collision_checks(manifest: &Manifest, report: &mut Report) {
    let mut set = PathSet::with_capacity(manifest.files.len());
    for (i, f) in manifest.files.iter().enumerate() {
        if let Some(Clash::SameKey { with } | Clash::FileAndFolder { with }) =
            set.insert(&f.path, i)
        {
            let other = manifest.files.get(with).map_or("", |o| o.path.as_str());
            report.push(
                Check::fail(
                    BUNDLE_PATH_COLLISION,
                    format!(
                        "collides with {:?} after Unicode normalisation and case folding",
                        printable(other)
                    ),
                )
                .with_path(printable(&f.path).into_owned())
                .in_section(section::MANIFEST),
            );
        }
    }
}

/// SHA256SUMS must be exactly the file the manifest implies (FORMAT 5.3): `manifest.json` and
/// every listed file, with their digests, in the writing form, sorted. Anything else (another
/// line form, a comment, upper-case hex, a missing or extra line) could make `sha256sum -c`,
/// run alone by an auditor, check fewer files than the manifest lists.
fn sums_checks(sums_bytes: &[u8], manifest: &Manifest, manifest_bytes: &[u8], report: &mut Report) {
    let expected = manifest.sums_bytes(manifest_bytes);
    if sums_bytes == expected.as_slice() {
        report.push(
            Check::pass(
                BUNDLE_SUMS_CONSISTENT,
                format!(
                    "{} lines, exactly those the manifest implies",
                    manifest.files.len() + 1
                ),
            )
            .with_path(SUMS_FILE)
            .in_section(section::MANIFEST),
        );
        return;
    }
    // Say where the first difference is, by line, naming the file when the line is one.
    let name_of = |line: &[u8]| {
        line.get(66..)
            .map(|n| String::from_utf8_lossy(n).into_owned())
    };
    let ours = expected.split(|b| *b == b'\n');
    let theirs = sums_bytes.split(|b| *b == b'\n');
    let mut line = 1u64;
    let mut found = None;
    for (want, got) in ours.zip(theirs) {
        if want != got {
            found = Some(match (name_of(want), name_of(got)) {
                (Some(a), Some(b)) if a == b => (
                    a,
                    "listed with another digest than the manifest's".to_owned(),
                ),
                _ => (
                    SUMS_FILE.to_owned(),
                    format!(
                        "line {line} is {:?} where the manifest implies {:?}",
                        printable(&String::from_utf8_lossy(got)),
                        printable(&String::from_utf8_lossy(want))
                    ),
                ),
            });
            break;
        }
        line += 1;
    }
    let (path, detail) = found.unwrap_or_else(|| {
        (
            SUMS_FILE.to_owned(),
            "lines are missing or extra at the end: it is not the file the manifest implies"
                .to_owned(),
        )
    });
    report.push(
        Check::fail(BUNDLE_SUMS_MISMATCH, detail)
            .with_path(printable(&path).into_owned())
            .with("line", line)
            .in_section(section::MANIFEST),
    );
}

/// Judges the envelope against the trust policy; returns the trusted signers.
fn signature_checks(
    manifest_bytes: Option<&[u8]>,
    envelope_bytes: Option<&[u8]>,
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) -> Vec<Signer> {
    let push = |report: &mut Report, c: Check| {
        report.push(c.with_path(ENVELOPE_FILE).in_section(section::SIGNATURES));
    };
    // Without a manifest there is nothing a signature could be about; the layout failure
    // already says what is wrong.
    if manifest_bytes.is_none() {
        return Vec::new();
    }
    let envelope = match envelope_bytes.map(|b| Envelope::parse(b, &opts.limits.dsse)) {
        None => None,
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            push(report, Check::fail(BUNDLE_ENVELOPE_INVALID, e.to_string()));
            return Vec::new();
        }
    };
    let Some(policy) = opts.trust else {
        let detail = match &envelope {
            Some(e) => format!(
                "{} signature(s) present but no trusted key was given: authenticity not checked (pass --trusted-key or --keyring)",
                e.signatures.len()
            ),
            None => {
                "the bundle is unsigned and no trusted key was given: integrity only".to_owned()
            }
        };
        push(report, Check::warn(BUNDLE_SIGNATURE_UNCHECKED, detail));
        return Vec::new();
    };
    let Some(envelope) = envelope else {
        push(
            report,
            dsse::missing_check(&SIGNATURE_CODES, opts.signatures, "the bundle"),
        );
        return Vec::new();
    };
    // DESIGN 2: the signature must cover the exact bytes of manifest.json.
    if manifest_bytes != Some(envelope.payload.as_slice()) {
        push(
            report,
            Check::fail(
                BUNDLE_SIGNATURE_INVALID,
                "the envelope signs different bytes than manifest.json",
            ),
        );
        return Vec::new();
    }
    let verdict = envelope.verify(dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST, policy);
    for check in dsse::verdict_checks(&verdict, &SIGNATURE_CODES, opts.signatures, "the bundle") {
        push(report, check);
    }
    if !verdict.is_verified() {
        return Vec::new();
    }
    verdict
        .signers()
        .into_iter()
        .map(|(key_id, name)| Signer { name, key_id })
        .collect()
}

/// True when `path` is named in `capture`, or lies below a folder named there with a
/// trailing `/`.
fn wanted(capture: &[&str], path: &str) -> bool {
    capture
        .iter()
        .any(|c| *c == path || (c.ends_with('/') && path.starts_with(c)))
}

/// Expectations for payload files and what was observed of them.
pub(crate) struct PayloadChecks<'a> {
    files: Vec<&'a super::FileEntry>,
    index: HashMap<&'a str, usize>,
    folders: HashSet<String>,
    seen: Vec<bool>,
    capture: &'a [&'a str],
    /// Per listed file: `Some(limit)` when the caller wants its bytes but the capture budget
    /// ([`BundleLimits::max_capture_total_bytes`](super::BundleLimits)) has no room for it.
    over_budget: Vec<Option<u64>>,
    captured: BTreeMap<String, Vec<u8>>,
    /// Entries the manifest does not account for (planted files and folders, links) reported
    /// one by one so far, and how many more were only counted, by code.
    unexpected_shown: usize,
    unexpected_hidden: BTreeMap<&'static str, (crate::report::CheckCode, u64)>,
    max_unexpected_shown: usize,
}

impl<'a> PayloadChecks<'a> {
    pub(crate) fn new(manifest: Option<&'a Manifest>, opts: &VerifyOptions<'a>) -> Self {
        let capture = opts.capture;
        let files: Vec<&super::FileEntry> = manifest
            .map(|m| m.files.iter().collect())
            .unwrap_or_default();
        let index = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i))
            .collect();
        let folders = files
            .iter()
            .flat_map(|f| crate::path::ancestors(&f.path))
            .map(str::to_owned)
            .collect();
        let seen = vec![false; files.len()];
        // The capture budget is shared out from the listed sizes, in manifest order, before
        // anything is read: a folder (hashed in parallel) and an archive (streamed) then keep,
        // and refuse, the same files.
        let total_limit = opts.limits.max_capture_total_bytes;
        let mut total = 0u64;
        let over_budget = files
            .iter()
            .map(|f| {
                if !wanted(capture, &f.path) {
                    return None;
                }
                match total.checked_add(f.size).filter(|t| *t <= total_limit) {
                    Some(t) => {
                        total = t;
                        None
                    }
                    None => Some(total_limit),
                }
            })
            .collect();
        Self {
            files,
            index,
            folders,
            seen,
            capture,
            over_budget,
            captured: BTreeMap::new(),
            unexpected_shown: 0,
            unexpected_hidden: BTreeMap::new(),
            max_unexpected_shown: opts.limits.max_unexpected_shown,
        }
    }

    /// Reports an entry the manifest does not account for (`check` is its failure: an
    /// unlisted file, a planted folder, a link). The first
    /// [`BundleLimits::max_unexpected_shown`](super::BundleLimits::max_unexpected_shown) are
    /// reported one by one; later ones are counted and reported together by [`Self::finish`],
    /// so a bundle holding a million planted entries cannot make a million-check report.
    pub(crate) fn unexpected(
        &mut self,
        code: crate::report::CheckCode,
        detail: impl Into<std::borrow::Cow<'static, str>>,
        path: &str,
        report: &mut Report,
    ) {
        if self.unexpected_shown < self.max_unexpected_shown {
            self.unexpected_shown += 1;
            report.push(payload_check(Check::fail(code, detail), path));
        } else {
            self.unexpected_hidden
                .entry(code.code)
                .or_insert((code, 0))
                .1 += 1;
        }
    }

    /// True if some listed file lives in (or below) `folder`.
    pub(crate) fn needs_folder(&self, folder: &str) -> bool {
        self.folders.contains(folder)
    }

    /// The index of the listed file at `path`, if listed.
    pub(crate) fn expect(&self, path: &str) -> Option<usize> {
        self.index.get(path).copied()
    }

    /// True if the caller wants this file's bytes and the capture budget has room for them.
    pub(crate) fn wants_capture(&self, path: &str) -> bool {
        wanted(self.capture, path)
            && self
                .expect(path)
                .is_some_and(|i| self.over_budget.get(i).is_some_and(Option::is_none))
    }

    /// Records what was observed of listed file `index`.
    pub(crate) fn observe(
        &mut self,
        index: usize,
        result: Result<(HashedFile, Option<Vec<u8>>), HashError>,
        report: &mut Report,
    ) {
        let Some(entry) = self.files.get(index) else {
            return;
        };
        if let Some(slot) = self.seen.get_mut(index) {
            if *slot {
                report.push(payload_check(
                    Check::fail(BUNDLE_PATH_COLLISION, "the same path appears twice"),
                    &entry.path,
                ));
                return;
            }
            *slot = true;
        }
        if let Some(Some(limit)) = self.over_budget.get(index) {
            report.push(payload_check(
                Check::fail(
                    BUNDLE_ARCHIVE_LIMIT,
                    format!(
                        "the files whose bytes are kept would together exceed the limit of {limit} bytes"
                    ),
                ),
                &entry.path,
            ));
            return;
        }
        let check = match result {
            Ok((h, bytes)) => {
                let listed = Manifest::file_digest(entry);
                if h.size == entry.size && Some(h.digest) == listed {
                    if let Some(bytes) = bytes {
                        self.captured.insert(entry.path.clone(), bytes);
                    }
                    Check::pass(
                        BUNDLE_FILE_MATCH,
                        format!("{} bytes, digest matches", h.size),
                    )
                } else {
                    Check::fail(
                        BUNDLE_FILE_MISMATCH,
                        if h.size == entry.size {
                            "content differs from the manifest".to_owned()
                        } else {
                            format!("size {} differs from the listed {}", h.size, entry.size)
                        },
                    )
                    .with("expected", format!("sha256:{}", entry.sha256))
                    .with("actual", h.digest.to_string())
                    .with("expected_size", entry.size)
                    .with("actual_size", h.size)
                }
            }
            Err(HashError::HardLinked { nlink, .. }) => Check::fail(
                BUNDLE_ENTRY_FORBIDDEN,
                format!("file has {nlink} hard links; its content can change through another name"),
            ),
            Err(HashError::TooLarge { limit, .. }) => Check::fail(
                BUNDLE_ARCHIVE_LIMIT,
                format!("file is larger than the limit of {limit} bytes"),
            ),
            Err(e) => Check::fail(BUNDLE_FILE_MISMATCH, format!("cannot be verified: {e}")),
        };
        report.push(payload_check(check, &entry.path));
    }

    /// Reports the unexpected entries only counted, and every listed file never observed;
    /// returns the captured bytes.
    pub(crate) fn finish(self, report: &mut Report) -> BTreeMap<String, Vec<u8>> {
        for (code, count) in self.unexpected_hidden.values() {
            report.push(
                Check::fail(
                    *code,
                    format!(
                        "{count} more such entries, not listed one by one (the report shows the first {})",
                        self.max_unexpected_shown
                    ),
                )
                .with("count", *count)
                .in_section(section::PAYLOAD),
            );
        }
        for (entry, seen) in self.files.iter().zip(&self.seen) {
            if !seen {
                report.push(payload_check(
                    Check::fail(BUNDLE_FILE_MISSING, "listed in the manifest but absent"),
                    &entry.path,
                ));
            }
        }
        self.captured
    }
}
