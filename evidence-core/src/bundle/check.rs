//! The checks of bundle verification, one set for both forms (DESIGN section 3, "A bundle
//! verifies only if").
//!
//! A folder ([`super::verify`]) and an archive ([`super::archive`]) differ only in how they
//! present the bundle: each reads the three metadata files by its own rules, then hands over
//! its payload entries one by one as [`Entry`] values. The stages, in report order:
//!
//! 1. [`metadata`]: the manifest ([`manifest_checks`], [`collision_checks`]), SHA256SUMS
//!    against it ([`sums_checks`]) and the signatures ([`signature_checks`]), judged from
//!    their exact bytes;
//! 2. [`PayloadChecks::entry`]: each entry's path and type against the manifest, unlisted
//!    files and planted folders ([`PayloadChecks::unexpected`]);
//! 3. [`PayloadChecks::observe`]: each listed file's size and digest;
//! 4. [`PayloadChecks::finish`]: entries only counted, listed files never seen;
//! 5. [`summary`]: the report, and the verified bundle when every check passed.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;

use super::codes::*;
use super::manifest::{Manifest, ManifestError};
use super::{
    BundleId, BundleVerification, ENVELOPE_FILE, MANIFEST_FILE, PAYLOAD_DIR, SIGNATURE_CODES,
    SUMS_FILE, Signer, VerifiedBundle, VerifyOptions, section,
};
use crate::Verified;
use crate::dsse::{self, Envelope};
use crate::hash::{FileId, HashError, HashedFile};
use crate::path::{Clash, PathSet};
use crate::report::{Check, CheckCode, Report};
use crate::text::printable;

/// Which form of a bundle is verified: the report names it, and a few details word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// A bundle folder.
    Directory,
    /// A `.tar.gz` archive.
    Archive,
}

impl Form {
    /// An empty report about the bundle `label` (its path, or a caller's name for a stream).
    pub(crate) fn report(self, label: &str) -> Report {
        let form = match self {
            Form::Directory => "directory",
            Form::Archive => "archive",
        };
        Report::new(json!({
            "kind": "bundle",
            "bundle": label,
            "form": form,
        }))
    }

    fn planted_folder(self) -> &'static str {
        match self {
            Form::Directory => "directory that no listed file needs (planted or left behind)",
            Form::Archive => "folder that no listed file needs (planted)",
        }
    }
}

/// What was observed of one listed file: its digest and size, and its bytes when the caller
/// asked to keep them.
pub(crate) type Observation = Result<(HashedFile, Option<Vec<u8>>), HashError>;

/// One payload entry as a source presents it; `E` is why a source's stream stopped.
pub(crate) enum Entry<'r, E> {
    /// A regular file on disk, hashed after the walk (see [`PayloadChecks::take_deferred`]),
    /// bound to the identity it was listed with.
    DiskFile(FileId),
    /// A regular file whose bytes pass in a stream now: the reader, told whether to keep the
    /// bytes, reads them to the end before the file is judged.
    StreamedFile(&'r mut dyn FnMut(bool) -> Result<Observation, E>),
    /// A folder.
    Folder,
    /// An entry no bundle may hold, never read (a link, a special file, an unacceptable name):
    /// the code and detail of its failure.
    Refused {
        /// The failing check's code.
        code: CheckCode,
        /// Why the entry is refused.
        detail: Cow<'static, str>,
    },
}

/// A listed file on disk waiting to be hashed: its index in the manifest, path and identity.
pub(crate) type Deferred = (usize, String, FileId);

pub(crate) fn layout_fail(path: &str, detail: impl ToString) -> Check {
    Check::fail(BUNDLE_LAYOUT_INVALID, detail.to_string())
        .with_path(path)
        .in_section(section::MANIFEST)
}

pub(crate) fn payload_check(check: Check, path: &str) -> Check {
    check
        .with_path(printable(path).into_owned())
        .in_section(section::PAYLOAD)
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
    /// Nothing judged: a stream that stopped before its metadata was complete failed as a
    /// whole, and judging signatures of a half-read bundle would only add misleading failures.
    pub(crate) fn none() -> Self {
        MetadataChecks {
            manifest: None,
            manifest_bytes: None,
            sums_bytes: None,
            envelope_bytes: None,
            id: None,
            signers: Vec::new(),
        }
    }
}

/// Stage 1: runs every metadata check, appending to `report`.
pub(crate) fn metadata(
    manifest_bytes: Option<&[u8]>,
    envelope_bytes: Option<&[u8]>,
    sums_bytes: Option<&[u8]>,
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) -> MetadataChecks {
    let manifest = manifest_bytes.and_then(|bytes| manifest_checks(bytes, opts, report));
    if let (Some(sums_bytes), Some(manifest), Some(manifest_bytes)) =
        (sums_bytes, &manifest, manifest_bytes)
    {
        sums_checks(sums_bytes, manifest, manifest_bytes, report);
    }
    MetadataChecks {
        manifest,
        manifest_bytes: manifest_bytes.map(<[u8]>::to_vec),
        sums_bytes: sums_bytes.map(<[u8]>::to_vec),
        envelope_bytes: envelope_bytes.map(<[u8]>::to_vec),
        id: manifest_bytes.map(BundleId::of_manifest),
        signers: signature_checks(manifest_bytes, envelope_bytes, opts, report),
    }
}

/// The manifest parsed under its limits, with its claims reported; `None` when it is invalid.
fn manifest_checks(
    bytes: &[u8],
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) -> Option<Manifest> {
    let in_manifest = |c: Check| c.in_section(section::MANIFEST);
    let m = match Manifest::parse(bytes, &opts.limits.manifest) {
        Ok(m) => m,
        Err(e) => {
            let code = match e {
                ManifestError::UnsafePath { .. } => BUNDLE_PATH_UNSAFE,
                _ => BUNDLE_MANIFEST_INVALID,
            };
            report.push(in_manifest(
                Check::fail(code, e.to_string()).with_path(MANIFEST_FILE),
            ));
            return None;
        }
    };
    let id = BundleId::of_manifest(bytes);
    report.push(in_manifest(
        Check::pass(
            BUNDLE_MANIFEST_VALID,
            format!(
                "{} bundle {id}, {}",
                m.kind,
                crate::text::count(m.files.len() as u64, "file")
            ),
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
    Some(m)
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
    let (line, found) = first_difference(&expected, sums_bytes);
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

/// Where SHA256SUMS first differs from the expected bytes: the line number and, unless the
/// difference is only at the end, the path to name (the file, when the line is one) and the
/// detail.
fn first_difference(expected: &[u8], sums_bytes: &[u8]) -> (u64, Option<(String, String)>) {
    let name_of = |line: &[u8]| {
        line.get(66..)
            .map(|n| String::from_utf8_lossy(n).into_owned())
    };
    let ours = expected.split(|b| *b == b'\n');
    let theirs = sums_bytes.split(|b| *b == b'\n');
    let mut line = 1u64;
    for (want, got) in ours.zip(theirs) {
        if want != got {
            let found = match (name_of(want), name_of(got)) {
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
            };
            return (line, Some(found));
        }
        line += 1;
    }
    (line, None)
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
        push(report, unchecked(envelope.as_ref()));
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

/// The warning that, without a trusted key, authenticity was not checked.
fn unchecked(envelope: Option<&Envelope>) -> Check {
    let detail = match envelope {
        Some(e) => format!(
            "{} signature(s) present but no trusted key was given: authenticity not checked (pass --trusted-key or --keyring)",
            e.signatures.len()
        ),
        None => "the bundle is unsigned and no trusted key was given: integrity only".to_owned(),
    };
    Check::warn(BUNDLE_SIGNATURE_UNCHECKED, detail)
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
    form: Form,
    files: Vec<&'a super::FileEntry>,
    index: HashMap<&'a str, usize>,
    folders: HashSet<String>,
    seen: Vec<bool>,
    capture: &'a [&'a str],
    /// Per listed file: `Some(limit)` when the caller wants its bytes but the capture budget
    /// ([`BundleLimits::max_capture_total_bytes`](super::BundleLimits)) has no room for it.
    over_budget: Vec<Option<u64>>,
    captured: BTreeMap<String, Vec<u8>>,
    /// Listed files on disk, in the order met, to be hashed after the walk.
    deferred: Vec<Deferred>,
    /// Entries the manifest does not account for (planted files and folders, links) reported
    /// one by one so far, and how many more were only counted, by code.
    unexpected_shown: usize,
    unexpected_hidden: BTreeMap<&'static str, (CheckCode, u64)>,
    max_unexpected_shown: usize,
}

impl<'a> PayloadChecks<'a> {
    pub(crate) fn new(
        manifest: Option<&'a Manifest>,
        opts: &VerifyOptions<'a>,
        form: Form,
    ) -> Self {
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
        let over_budget = capture_budget(&files, opts);
        Self {
            form,
            files,
            index,
            folders,
            seen,
            capture: opts.capture,
            over_budget,
            captured: BTreeMap::new(),
            deferred: Vec::new(),
            unexpected_shown: 0,
            unexpected_hidden: BTreeMap::new(),
            max_unexpected_shown: opts.limits.max_unexpected_shown,
        }
    }

    /// Stage 2: judges one payload entry by its path and type (a source has already taken
    /// the metadata files out of the stream): a listed file is observed (now when streamed,
    /// later when on disk), anything else the manifest does not account for is unexpected.
    pub(crate) fn entry<E>(
        &mut self,
        name: &str,
        entry: Entry<'_, E>,
        report: &mut Report,
    ) -> Result<(), E> {
        match entry {
            Entry::Refused { code, detail } => self.unexpected(code, detail, name, report),
            Entry::Folder if name == PAYLOAD_DIR || self.needs_folder(name) => {}
            Entry::Folder => {
                self.unexpected(BUNDLE_ENTRY_FORBIDDEN, self.form.planted_folder(), name, report);
            }
            Entry::StreamedFile(read) => {
                let observed = read(self.wants_capture(name))?;
                match self.expect(name) {
                    Some(index) => self.observe(index, observed, report),
                    None => self.unlisted(name, report),
                }
            }
            Entry::DiskFile(id) => match self.expect(name) {
                Some(index) => self.deferred.push((index, name.to_owned(), id)),
                // Only a folder can hold what an interrupted signing left behind. Still a
                // failure: only the detail says where it most likely came from.
                None if crate::atomic::is_temp_name_for(name, ENVELOPE_FILE) => self.unexpected(
                    BUNDLE_FILE_UNLISTED,
                    "not listed; named like the temporary of an interrupted `evidence bundle sign`: sign again (it removes it) or delete it",
                    name,
                    report,
                ),
                None => self.unlisted(name, report),
            },
        }
        Ok(())
    }

    fn unlisted(&mut self, name: &str, report: &mut Report) {
        self.unexpected(
            BUNDLE_FILE_UNLISTED,
            "file is not listed in the manifest",
            name,
            report,
        );
    }

    /// The listed files on disk met so far, to be hashed and then [observed](Self::observe).
    pub(crate) fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }

    /// Reports an entry the manifest does not account for (`check` is its failure: an
    /// unlisted file, a planted folder, a link). The first
    /// [`BundleLimits::max_unexpected_shown`](super::BundleLimits::max_unexpected_shown) are
    /// reported one by one; later ones are counted and reported together by [`Self::finish`],
    /// so a bundle holding a million planted entries cannot make a million-check report.
    fn unexpected(
        &mut self,
        code: CheckCode,
        detail: impl Into<Cow<'static, str>>,
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
    fn needs_folder(&self, folder: &str) -> bool {
        self.folders.contains(folder)
    }

    /// The index of the listed file at `path`, if listed.
    fn expect(&self, path: &str) -> Option<usize> {
        self.index.get(path).copied()
    }

    /// True if the caller wants this file's bytes and the capture budget has room for them.
    pub(crate) fn wants_capture(&self, path: &str) -> bool {
        wanted(self.capture, path)
            && self
                .expect(path)
                .is_some_and(|i| self.over_budget.get(i).is_some_and(Option::is_none))
    }

    /// Stage 3: records what was observed of listed file `index`.
    pub(crate) fn observe(&mut self, index: usize, result: Observation, report: &mut Report) {
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
            Ok((h, bytes)) if file_matches(entry, &h) => {
                if let Some(bytes) = bytes {
                    self.captured.insert(entry.path.clone(), bytes);
                }
                Check::pass(
                    BUNDLE_FILE_MATCH,
                    format!("{} bytes, digest matches", h.size),
                )
            }
            Ok((h, _)) => mismatch(entry, &h),
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

    /// Stage 4: reports the unexpected entries only counted, and every listed file never
    /// observed; returns the captured bytes.
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

/// Per listed file, `Some(limit)` when the caller wants its bytes but the total capture limit
/// has no room left for them. The budget is shared out from the listed sizes, in manifest
/// order, before anything is read: a folder (hashed in parallel) and an archive (streamed)
/// then keep, and refuse, the same files.
fn capture_budget(files: &[&super::FileEntry], opts: &VerifyOptions<'_>) -> Vec<Option<u64>> {
    let total_limit = opts.limits.max_capture_total_bytes;
    let mut total = 0u64;
    files
        .iter()
        .map(|f| {
            if !wanted(opts.capture, &f.path) {
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
        .collect()
}

/// True when what was read of a listed file has its listed size and digest.
fn file_matches(entry: &super::FileEntry, h: &HashedFile) -> bool {
    h.size == entry.size && Some(h.digest) == Manifest::file_digest(entry)
}

/// The failure of a listed file read with another size or digest.
fn mismatch(entry: &super::FileEntry, h: &HashedFile) -> Check {
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

/// Stage 5: the verification result: the report (naming the bundle by its id when the
/// manifest was read), and the verified bundle when the report is ok.
pub(crate) fn summary(
    mut report: Report,
    meta: MetadataChecks,
    captured: BTreeMap<String, Vec<u8>>,
) -> BundleVerification {
    if let (Some(id), serde_json::Value::Object(subject)) = (&meta.id, &mut report.subject) {
        subject.insert("id".into(), id.to_string().into());
    }
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
