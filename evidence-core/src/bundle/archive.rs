//! The archive form of a bundle: a deterministic gzip'd tar.
//!
//! Layout (DESIGN section 3, "Archive"): entries in the order `manifest.json`,
//! `manifest.dsse.json` (if signed), `SHA256SUMS`, then `payload/` and everything below it sorted
//! by path bytes (folders as `path/`, so a folder precedes its contents). Only regular files and
//! folders; mtime = the manifest's `created_at`; uid/gid 0; empty user and group names; mode
//! 0644 (files) or 0755 (folders); GNU long-name records for paths over 100 bytes; gzip header
//! without a name and with mtime 0.
//!
//! Verification streams the archive once, hashing each entry as it passes, and writes nothing;
//! it reads the single gzip member to its end (CRC checked) and refuses anything after it.
//! Unpacking runs the same stream, writing entries into a fresh temporary folder beside the
//! target, and renames it into place only if every check passed; entries are never unpacked
//! with `tar::Archive::unpack` and never through links (DESIGN 4 rule 6).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

use super::check::{self, Entry, Form, MetadataChecks, PayloadChecks};
use super::codes::*;
use super::manifest::Manifest;
use super::{
    BundleVerification, ENVELOPE_FILE, MANIFEST_FILE, PAYLOAD_DIR, SUMS_FILE, VerifiedBundle,
    VerifyOptions, section,
};
use crate::digest::{Sha256Digest, Sha256Hasher};
use crate::hash::{HashError, HashedFile};
use crate::path::{ArtifactPath, PathRules};
use crate::report::{Check, Report};
use crate::tar_read::{Resolved, TarReadError};
use crate::text::printable;
use crate::timestamp::Timestamp;

/// Default most entries in an archive.
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;
/// Default most bytes unpacked from one archive: 64 GiB.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 64 << 30;
/// Default largest single entry: 16 GiB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 16 << 30;
/// Decompressed bytes allowed beyond the tar end-of-archive marker's two blocks: the zero
/// padding `tar` writes to fill its last record (10 KiB for GNU tar's default blocking).
pub const END_PADDING_ALLOWANCE: u64 = 1 << 20;
/// Decompressed bytes allowed beyond the content limit: the absolute cap on the decompressed
/// stream, whatever the manifest declares, is `max_total_bytes` plus this.
pub const STREAM_SLACK_BYTES: u64 = 1 << 30;

/// Hard limits on archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveLimits {
    /// Most entries.
    pub max_entries: usize,
    /// Most bytes of file content in total.
    pub max_total_bytes: u64,
    /// Largest single entry.
    pub max_entry_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
        }
    }
}

/// Why packing or unpacking could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The destination already exists.
    #[error("{0} already exists; choose a new destination")]
    Exists(PathBuf),
    /// The bundle to pack does not verify; nothing was written.
    #[error("the bundle does not verify; nothing was written")]
    NotVerified(Box<Report>),
    /// A file changed between verification and packing; nothing was written.
    #[error("{0} changed while it was being packed; nothing was written")]
    Changed(String),
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Packs a verified bundle folder into a deterministic `.tar.gz` at `out` (atomically: written
/// beside it, then renamed). The folder is verified first (integrity; signatures are carried,
/// not judged) and every file is hashed again as it is written into the archive.
pub fn pack(dir: &Path, out: &Path) -> Result<super::BundleId, ArchiveError> {
    if fs::symlink_metadata(out).is_ok() {
        return Err(ArchiveError::Exists(out.to_owned()));
    }
    let verification = super::verify::verify_dir(dir, &VerifyOptions::default());
    let Some(bundle) = verification.bundle else {
        return Err(ArchiveError::NotVerified(Box::new(verification.report)));
    };
    // The metadata written is the metadata verified, never read again (DESIGN 4 rule 3).
    let bundle = bundle.into_inner();
    let temp = crate::atomic::TempFile::beside(out).map_err(io_err(out))?;
    {
        let file = temp.file().map_err(io_err(temp.path()))?;
        let gz = GzBuilder::new()
            .mtime(0)
            .write(BufWriter::new(file), Compression::default());
        write_archive(gz, dir, &bundle)?;
    }
    temp.persist(out).map_err(io_err(out))?;
    Ok(bundle.id)
}

fn write_archive(
    gz: GzEncoder<BufWriter<File>>,
    dir: &Path,
    bundle: &VerifiedBundle,
) -> Result<(), ArchiveError> {
    let out_err = |e: io::Error| ArchiveError::Io {
        path: dir.to_owned(),
        source: e,
    };
    let mtime = Timestamp::parse(&bundle.manifest.created_at)
        .map(|t| u64::try_from(t.unix()).unwrap_or(0))
        .unwrap_or(0);
    let mut tar = tar::Builder::new(Blocks::new(gz));
    let mut metadata = vec![(MANIFEST_FILE, &bundle.manifest_bytes)];
    metadata.extend(bundle.envelope_bytes.iter().map(|env| (ENVELOPE_FILE, env)));
    metadata.push((SUMS_FILE, &bundle.sums_bytes));
    for (name, bytes) in metadata {
        append(
            &mut tar,
            mtime,
            name,
            &mut bytes.as_slice(),
            bytes.len() as u64,
            false,
        )
        .map_err(out_err)?;
    }
    for entry in payload_order(&bundle.manifest) {
        match entry {
            Ordered::Dir(path) => {
                append(
                    &mut tar,
                    mtime,
                    &format!("{path}/"),
                    &mut io::empty(),
                    0,
                    true,
                )
                .map_err(out_err)?;
            }
            Ordered::File(f) => append_file(&mut tar, mtime, dir, f)?,
        }
    }
    let gz = tar.into_inner().and_then(Blocks::finish).map_err(out_err)?;
    let mut writer = gz.finish().map_err(out_err)?;
    writer.flush().map_err(out_err)?;
    let file = writer.into_inner().map_err(|e| out_err(e.into_error()))?;
    file.sync_all().map_err(out_err)?;
    Ok(())
}

/// How many bytes of tar stream the gzip encoder is handed at a time.
///
/// flate2's zlib-rs backend (which the `pgp` crate turns on for the whole build) compresses
/// differently depending on how its input is split into writes. Feeding it fixed blocks makes
/// the archive a function of the tar bytes alone: the same bundle gives the same archive
/// whatever sizes the files were read in, and an independent writer that compresses the same
/// tar stream in blocks of this size gets the same bytes.
pub const GZIP_INPUT_BLOCK: usize = 64 << 10;

/// Hands `inner` exactly [`GZIP_INPUT_BLOCK`] bytes per write, the rest at [`finish`]
/// (`flush` does nothing before then: a flush would split a block).
///
/// [`finish`]: Blocks::finish
struct Blocks<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Blocks<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(GZIP_INPUT_BLOCK),
        }
    }

    /// Writes what is buffered and returns the inner writer.
    fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Blocks<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = GZIP_INPUT_BLOCK.saturating_sub(self.buf.len());
        let (now, _) = data.split_at(room.min(data.len()));
        self.buf.extend_from_slice(now);
        if self.buf.len() >= GZIP_INPUT_BLOCK {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(now.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends one entry with the fixed header fields of the archive form.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    mtime: u64,
    path: &str,
    data: &mut dyn Read,
    size: u64,
    dir_entry: bool,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(if dir_entry {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    header.set_mode(if dir_entry { 0o755 } else { 0o644 });
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(size);
    header.set_username("")?;
    header.set_groupname("")?;
    tar.append_data(&mut header, path, data)
}

/// Appends a payload file from the folder, hashing it again as it is written: the bytes
/// written must be the bytes verified (DESIGN 4 rule 3).
fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    mtime: u64,
    dir: &Path,
    f: &super::FileEntry,
) -> Result<(), ArchiveError> {
    let disk = dir.join(&f.path);
    let file = crate::hash::open_no_follow(&disk).map_err(io_err(&disk))?;
    let mut reader = HashingReader::new(file.take(f.size));
    append(tar, mtime, &f.path, &mut reader, f.size, false).map_err(|e| ArchiveError::Io {
        path: dir.to_owned(),
        source: e,
    })?;
    let (digest, n) = reader.finish();
    if n != f.size || Manifest::file_digest(f) != Some(digest) {
        return Err(ArchiveError::Changed(f.path.clone()));
    }
    Ok(())
}

/// A payload entry in archive order.
enum Ordered<'a> {
    Dir(String),
    File(&'a super::FileEntry),
}

/// `payload/` and every folder and file below it, sorted by path bytes with folders as
/// `path/`.
fn payload_order(manifest: &Manifest) -> Vec<Ordered<'_>> {
    let mut folders = std::collections::BTreeSet::new();
    folders.insert(PAYLOAD_DIR.to_owned());
    for f in &manifest.files {
        folders.extend(crate::path::ancestors(&f.path).map(str::to_owned));
    }
    let mut keyed: Vec<(String, Ordered<'_>)> = folders
        .into_iter()
        .map(|d| (format!("{d}/"), Ordered::Dir(d)))
        .collect();
    keyed.extend(
        manifest
            .files
            .iter()
            .map(|f| (f.path.clone(), Ordered::File(f))),
    );
    keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    keyed.into_iter().map(|(_, e)| e).collect()
}

/// Verifies a `.tar.gz` bundle in one streaming pass, writing nothing to disk.
pub fn verify_archive(path: &Path, opts: &VerifyOptions<'_>) -> BundleVerification {
    let mut report = archive_report(path);
    match File::open(path) {
        Ok(file) => stream(file, opts, None, report),
        Err(e) => {
            report.push(
                Check::fail(
                    BUNDLE_LAYOUT_INVALID,
                    format!("cannot open the archive: {e}"),
                )
                .in_section(section::MANIFEST),
            );
            BundleVerification {
                report,
                bundle: None,
            }
        }
    }
}

/// Verifies a `.tar.gz` bundle read from `reader` (an archive held in memory, a pipe, a
/// socket) in one streaming pass, writing nothing to disk: the same checks as
/// [`verify_archive`]. `label` names the archive in the report (where a path would be).
pub fn verify_archive_reader<R: Read>(
    reader: R,
    label: &str,
    opts: &VerifyOptions<'_>,
) -> BundleVerification {
    stream(reader, opts, None, Form::Archive.report(label))
}

/// Verifies and unpacks a `.tar.gz` bundle into `out`, which must not exist. Entries are
/// written into a temporary folder beside `out` while they are verified; the folder is renamed
/// to `out` only if every check passed, and removed otherwise.
pub fn unpack(
    archive: &Path,
    out: &Path,
    opts: &VerifyOptions<'_>,
) -> Result<BundleVerification, ArchiveError> {
    if fs::symlink_metadata(out).is_ok() {
        return Err(ArchiveError::Exists(out.to_owned()));
    }
    let file = File::open(archive).map_err(io_err(archive))?;
    let temp = crate::atomic::TempDir::beside(out).map_err(io_err(out))?;
    let verification = stream(file, opts, Some(temp.path()), archive_report(archive));
    if verification.report.ok() {
        temp.persist(out).map_err(io_err(out))?;
    }
    Ok(verification)
}

fn archive_report(path: &Path) -> Report {
    Form::Archive.report(&path.display().to_string())
}

/// Bounds the decompressed stream itself: every byte the tar reader or this module reads
/// passes here, headers and extension records included, so a bomb is stopped wherever it
/// hides (a metadata entry, a long-name record, the padding after the end marker).
///
/// The bound is what the archive can legitimately hold, not a compression ratio (evidence such
/// as a zero-filled disk image compresses a thousandfold): until the metadata entries are read,
/// their own limits ([`metadata_allowance`]); then what the manifest declares, in tar blocks,
/// with the headers of its files and folders and the end padding ([`payload_allowance`]);
/// never more than the content limit plus [`STREAM_SLACK_BYTES`].
struct Guard<R> {
    inner: R,
    bound: Bound,
    /// Why reading stopped, when a limit tripped (the error the reader sees is generic).
    tripped: Arc<std::sync::Mutex<Option<String>>>,
}

/// The decompressed bytes read so far and the current limit, shared between the [`Guard`] and
/// the stream that raises the limit once the manifest is known.
#[derive(Clone)]
struct Bound {
    read: Arc<AtomicU64>,
    limit: Arc<AtomicU64>,
    /// What the limit stands for, for the message when it trips.
    why: Arc<std::sync::Mutex<String>>,
}

impl Bound {
    fn new(limit: u64, why: String) -> Self {
        Self {
            read: Arc::new(AtomicU64::new(0)),
            limit: Arc::new(AtomicU64::new(limit)),
            why: Arc::new(std::sync::Mutex::new(why)),
        }
    }

    /// Sets the limit to `more` bytes past what was read so far, capped at `absolute`.
    fn allow_more(&self, more: u64, absolute: u64, why: String) {
        let read = self.read.load(Ordering::Relaxed);
        let limit = read.saturating_add(more).min(absolute);
        self.limit.store(limit, Ordering::Relaxed);
        if let Ok(mut slot) = self.why.lock() {
            *slot = why;
        }
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = self
            .bound
            .read
            .fetch_add(n as u64, Ordering::Relaxed)
            .saturating_add(n as u64);
        let limit = self.bound.limit.load(Ordering::Relaxed);
        if read > limit {
            let why = self.bound.why.lock().map(|w| w.clone()).unwrap_or_default();
            if let Ok(mut slot) = self.tripped.lock() {
                slot.get_or_insert(format!(
                    "more than {limit} bytes decompressed ({why}): refusing a likely gzip bomb"
                ));
            }
            return Err(io::Error::other("archive limit exceeded"));
        }
        Ok(n)
    }
}

/// One 512-byte tar block.
const BLOCK: u64 = 512;

fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// The most tar bytes one entry named `path` with `size` content bytes takes: its header, a
/// GNU long-name record when the name needs one, and the content padded to whole blocks.
fn entry_allowance(path_len: usize, size: u64) -> u64 {
    let long_name = if path_len >= 100 {
        BLOCK.saturating_add(blocks(path_len as u64 + 1))
    } else {
        0
    };
    BLOCK.saturating_add(long_name).saturating_add(blocks(size))
}

/// The decompressed bytes the metadata entries may take: each at its own size limit.
fn metadata_allowance(opts: &VerifyOptions<'_>) -> u64 {
    let metadata = opts.limits.max_metadata_bytes;
    entry_allowance(MANIFEST_FILE.len(), opts.limits.manifest.max_bytes)
        .saturating_add(entry_allowance(ENVELOPE_FILE.len(), metadata))
        .saturating_add(entry_allowance(SUMS_FILE.len(), metadata))
}

/// The decompressed bytes the payload may take after the metadata entries: every file the
/// manifest declares at its declared size, every folder those paths imply, the end marker and
/// the padding after it.
pub(crate) fn payload_allowance(manifest: &Manifest) -> u64 {
    let mut folders = std::collections::BTreeSet::new();
    let mut total = 0u64;
    for file in &manifest.files {
        total = total.saturating_add(entry_allowance(file.path.len(), file.size));
        let mut at = file.path.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            if !folders.insert(parent) {
                break;
            }
            at = parent;
        }
    }
    for folder in &folders {
        total = total.saturating_add(entry_allowance(folder.len() + 1, 0));
    }
    total
        .saturating_add(2 * BLOCK)
        .saturating_add(END_PADDING_ALLOWANCE)
}

/// The absolute cap on the decompressed stream, whatever the manifest declares.
fn absolute_limit(opts: &VerifyOptions<'_>) -> u64 {
    opts.limits
        .archive
        .max_total_bytes
        .saturating_add(STREAM_SLACK_BYTES)
}

/// Content bytes unpacked so far, against the total limit.
struct Budget {
    limits: ArchiveLimits,
    content: u64,
}

impl Budget {
    /// Accounts for `n` more content bytes; `Err` names the limit crossed.
    fn take(&mut self, n: u64) -> Result<(), String> {
        self.content = self.content.saturating_add(n);
        if self.content > self.limits.max_total_bytes {
            return Err(format!(
                "more than {} bytes of content in total",
                self.limits.max_total_bytes
            ));
        }
        Ok(())
    }
}

/// Where the stream is in the required entry order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    AfterManifest,
    AfterEnvelope,
    Payload,
}

/// Why the stream stopped early: the code and detail of the failing check, and the entry.
struct Stop {
    code: crate::report::CheckCode,
    detail: String,
    entry: Option<String>,
}

impl Stop {
    fn new(code: crate::report::CheckCode, detail: impl Into<String>, entry: &str) -> Self {
        Self {
            code,
            detail: detail.into(),
            entry: Some(entry.to_owned()),
        }
    }

    fn into_check(self) -> Check {
        let check = Check::fail(self.code, self.detail).in_section(section::PAYLOAD);
        match self.entry {
            Some(p) => check.with_path(printable(&p).into_owned()),
            None => check,
        }
    }
}

/// The state of one streaming pass.
struct Stream<'o, 'p> {
    opts: &'o VerifyOptions<'o>,
    sink: Option<&'p Path>,
    stage: Stage,
    last_payload_key: Option<String>,
    entries: usize,
    budget: Budget,
    manifest_bytes: Option<Vec<u8>>,
    envelope_bytes: Option<Vec<u8>>,
    meta: Option<MetadataChecks>,
    /// The folder entries enclosing the current position, outermost first. Entries come sorted
    /// with folders as `path/`, so a folder's contents follow it without a break and only this
    /// chain, never every folder seen, is needed to know that an entry's folder came first.
    open_folders: Vec<String>,
    /// The decompressed stream's limit, raised to what the manifest declares once it is read.
    bound: Bound,
}

/// The tar reader over the decompressed stream, every byte of which passes the [`Guard`].
type GuardedTar<F> = tar::Archive<Guard<GzDecoder<BufReader<F>>>>;

/// Why the [`Guard`] stopped reading, when a limit tripped.
type Tripped = Arc<std::sync::Mutex<Option<String>>>;

/// Opens the stream: gzip decoding, bounded by the guard, under a tar reader.
fn open<F: Read>(file: F, bound: Bound, tripped: Tripped) -> GuardedTar<F> {
    tar::Archive::new(Guard {
        inner: GzDecoder::new(BufReader::with_capacity(1 << 20, file)),
        bound,
        tripped,
    })
}

/// The archive source of the checks in [`super::check`]: the metadata entries first, in
/// their fixed order; payload entries are then judged as they pass against the manifest just
/// read, so nothing per entry is kept (DESIGN 4 rule 7: a million planted entries cost no
/// memory beyond the first few checks); finally the end of the stream.
fn stream<F: Read>(
    file: F,
    opts: &VerifyOptions<'_>,
    sink: Option<&Path>,
    mut report: Report,
) -> BundleVerification {
    let tripped = Tripped::default();
    let bound = Bound::new(
        metadata_allowance(opts).min(absolute_limit(opts)),
        "the metadata entries' size limits".to_owned(),
    );
    let mut archive = open(file, bound.clone(), tripped.clone());
    let mut state = Stream::new(opts, sink, bound);
    let mut meta_slot: Option<MetadataChecks> = None;
    let mut payload_owner: Option<PayloadChecks<'_>> = None;
    let mut stopped = match archive.entries() {
        Err(e) => Some(Stop {
            code: BUNDLE_ARCHIVE_INVALID,
            detail: format!("not a tar archive: {e}"),
            entry: None,
        }),
        Ok(entries) => {
            let mut entries = entries.raw(true);
            let stopped = state.read_metadata(&mut entries, &mut report).err();
            meta_slot = state.meta.take();
            match (stopped, meta_slot.as_ref()) {
                (None, Some(meta)) => {
                    let payload = payload_owner.insert(PayloadChecks::new(
                        meta.manifest.as_ref(),
                        opts,
                        Form::Archive,
                    ));
                    state.read_payload(&mut entries, payload, &mut report).err()
                }
                (stopped, _) => stopped,
            }
        }
    };
    if stopped.is_none() {
        stopped = state.end_of_stream(archive).err();
    }
    let complete = stopped.is_none();
    state.close(stopped, &tripped, &mut report);
    // After an early stop, files never reached are not reported one by one as missing: the
    // archive failed as a whole.
    let captured = match payload_owner {
        Some(payload) if complete => payload.finish(&mut report),
        _ => BTreeMap::new(),
    };
    let meta = match meta_slot {
        Some(meta) => meta,
        None if !complete => MetadataChecks::none(),
        None => check::metadata(
            state.manifest_bytes.as_deref(),
            state.envelope_bytes.as_deref(),
            None,
            opts,
            &mut report,
        ),
    };
    check::summary(report, meta, captured)
}

/// What an entry's header says, once its checks passed.
struct Header {
    /// The confined path (a folder's without its trailing `/`).
    name: String,
    is_dir: bool,
    /// The raw path as read, for messages.
    shown: String,
}

impl Stage {
    /// The stage a metadata entry moves the stream to, when the entry is the one expected
    /// next: `manifest.json`, then `manifest.dsse.json` if signed, then `SHA256SUMS`.
    fn after(self, header: &Header) -> Option<Stage> {
        match (header.name.as_str(), header.is_dir, self) {
            (MANIFEST_FILE, false, Stage::Start) => Some(Stage::AfterManifest),
            (ENVELOPE_FILE, false, Stage::AfterManifest) => Some(Stage::AfterEnvelope),
            (SUMS_FILE, false, Stage::AfterManifest | Stage::AfterEnvelope) => Some(Stage::Payload),
            _ => None,
        }
    }
}

impl<'o, 'p> Stream<'o, 'p> {
    fn new(opts: &'o VerifyOptions<'o>, sink: Option<&'p Path>, bound: Bound) -> Self {
        Self {
            opts,
            sink,
            bound,
            stage: Stage::Start,
            last_payload_key: None,
            entries: 0,
            budget: Budget {
                limits: opts.limits.archive,
                content: 0,
            },
            manifest_bytes: None,
            envelope_bytes: None,
            meta: None,
            open_folders: Vec::new(),
        }
    }

    /// Reads entries until the metadata entries are complete (the stage reaches
    /// [`Stage::Payload`]), judging the metadata when `SHA256SUMS` arrives; anything else
    /// first stops the stream.
    fn read_metadata<R: Read>(
        &mut self,
        entries: &mut tar::Entries<'_, R>,
        report: &mut Report,
    ) -> Result<(), Stop> {
        while self.stage != Stage::Payload {
            let Some(item) = next_entry(entries) else {
                break;
            };
            let Resolved {
                mut entry, path, ..
            } = item?;
            let header = self.header(&entry, &path)?;
            let Some(next) = self.stage.after(&header) else {
                return Err(Stop::new(
                    BUNDLE_ARCHIVE_INVALID,
                    "entries must start with manifest.json, [manifest.dsse.json,] SHA256SUMS",
                    &header.shown,
                ));
            };
            self.metadata_entry(&mut entry, &header, next, report)?;
        }
        Ok(())
    }

    /// Reads the payload entries to the end, handing each to the checker as it passes.
    fn read_payload<R: Read>(
        &mut self,
        entries: &mut tar::Entries<'_, R>,
        payload: &mut PayloadChecks<'_>,
        report: &mut Report,
    ) -> Result<(), Stop> {
        while let Some(item) = next_entry(entries) {
            let Resolved {
                mut entry, path, ..
            } = item?;
            let header = self.header(&entry, &path)?;
            self.payload_order(&header)?;
            self.payload_entry(&mut entry, header, payload, report)?;
        }
        Ok(())
    }

    /// The checks of an entry's header: the entry limit, its type and mode, its size, and its
    /// path.
    fn header<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        raw_path: &[u8],
    ) -> Result<Header, Stop> {
        let limits = self.opts.limits.archive;
        let shown = String::from_utf8_lossy(raw_path).into_owned();
        self.entries += 1;
        if self.entries > limits.max_entries {
            return Err(Stop::new(
                BUNDLE_ARCHIVE_LIMIT,
                format!("more than {} entries", limits.max_entries),
                &shown,
            ));
        }
        let is_dir = entry_type_checks(entry, &shown)?;
        if entry.size() > limits.max_entry_bytes {
            return Err(Stop::new(
                BUNDLE_ARCHIVE_LIMIT,
                format!(
                    "entry is larger than the limit of {} bytes",
                    limits.max_entry_bytes
                ),
                &shown,
            ));
        }
        let text = std::str::from_utf8(raw_path)
            .map_err(|_| Stop::new(BUNDLE_PATH_UNSAFE, "entry name is not UTF-8", &shown))?;
        let name = if is_dir {
            text.strip_suffix('/').unwrap_or(text)
        } else {
            text
        };
        ArtifactPath::check(name, PathRules::Strict).map_err(|e| {
            Stop::new(
                BUNDLE_PATH_UNSAFE,
                format!("entry name refused: {e}"),
                &shown,
            )
        })?;
        Ok(Header {
            name: name.to_owned(),
            is_dir,
            shown,
        })
    }

    /// Reads a metadata entry whole (bounded), writes it to the sink, and keeps its bytes;
    /// with `SHA256SUMS`, the last of them, runs the metadata checks.
    fn metadata_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        header: &Header,
        next: Stage,
        report: &mut Report,
    ) -> Result<(), Stop> {
        let shown = &header.shown;
        let limit = if next == Stage::AfterManifest {
            self.opts.limits.manifest.max_bytes
        } else {
            self.opts.limits.max_metadata_bytes
        };
        let bytes = read_entry(entry, limit).map_err(|e| {
            let code = if e.kind() == io::ErrorKind::FileTooLarge {
                BUNDLE_ARCHIVE_LIMIT
            } else {
                BUNDLE_ARCHIVE_INVALID
            };
            Stop::new(code, format!("cannot read entry: {e}"), shown)
        })?;
        self.budget
            .take(bytes.len() as u64)
            .map_err(|d| Stop::new(BUNDLE_ARCHIVE_LIMIT, d, shown))?;
        if let Some(dir) = self.sink {
            write_file(dir, &header.name, &bytes).map_err(|e| {
                Stop::new(BUNDLE_LAYOUT_INVALID, format!("cannot write: {e}"), shown)
            })?;
        }
        match next {
            Stage::AfterManifest => self.manifest_bytes = Some(bytes),
            Stage::AfterEnvelope => self.envelope_bytes = Some(bytes),
            _ => {
                let meta = check::metadata(
                    self.manifest_bytes.as_deref(),
                    self.envelope_bytes.as_deref(),
                    Some(&bytes),
                    self.opts,
                    report,
                );
                // Without a manifest to say what follows, the stream stays at its metadata
                // bound: the bundle has failed already, and nothing more is worth inflating.
                if let Some(manifest) = &meta.manifest {
                    let declared = manifest
                        .files
                        .iter()
                        .fold(0u64, |sum, f| sum.saturating_add(f.size));
                    self.bound.allow_more(
                        payload_allowance(manifest),
                        absolute_limit(self.opts),
                        format!(
                            "the manifest declares {declared} bytes in {}",
                            crate::text::count(manifest.files.len() as u64, "file")
                        ),
                    );
                }
                self.meta = Some(meta);
            }
        }
        self.stage = next;
        Ok(())
    }

    /// The order of payload entries: strictly increasing by path bytes (folders as `path/`),
    /// which also rules out duplicates, no metadata entry again, and each folder entry before
    /// what it holds.
    fn payload_order(&mut self, header: &Header) -> Result<(), Stop> {
        let (name, shown) = (&header.name, &header.shown);
        if matches!(name.as_str(), MANIFEST_FILE | ENVELOPE_FILE | SUMS_FILE) {
            return Err(Stop::new(
                BUNDLE_ARCHIVE_INVALID,
                "a metadata entry appears a second time",
                shown,
            ));
        }
        let key = if header.is_dir {
            format!("{name}/")
        } else {
            name.clone()
        };
        if self
            .last_payload_key
            .as_deref()
            .is_some_and(|last| last.as_bytes() >= key.as_bytes())
        {
            return Err(Stop::new(
                BUNDLE_ARCHIVE_INVALID,
                "payload entries are out of order or repeated",
                shown,
            ));
        }
        self.last_payload_key = Some(key);
        // Folders this entry is not inside are closed for good (everything inside a folder
        // sorts right after it); the entry's own folder must then be the innermost open one.
        while self
            .open_folders
            .last()
            .is_some_and(|open| !is_inside(name, open))
        {
            self.open_folders.pop();
        }
        if let Some((parent, _)) = name.rsplit_once('/')
            && self.open_folders.last().map(String::as_str) != Some(parent)
        {
            return Err(Stop::new(
                BUNDLE_ARCHIVE_INVALID,
                "entry comes before (or without) the entry of its folder",
                shown,
            ));
        }
        Ok(())
    }

    /// Writes a payload entry to the sink while the checker judges it: a folder, or a file
    /// streamed through SHA-256 (and kept when the caller asked for its bytes).
    fn payload_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        header: Header,
        payload: &mut PayloadChecks<'_>,
        report: &mut Report,
    ) -> Result<(), Stop> {
        let Header { name, shown, .. } = header;
        if header.is_dir {
            if let Some(dir) = self.sink {
                fs::create_dir(dir.join(&name)).map_err(|e| {
                    Stop::new(BUNDLE_LAYOUT_INVALID, format!("cannot write: {e}"), &shown)
                })?;
            }
            payload.entry(&name, Entry::Folder, report)?;
            self.open_folders.push(name);
            return Ok(());
        }
        let mut dest = self.sink.map(|d| d.join(&name));
        let (opts, budget) = (self.opts, &mut self.budget);
        let mut read = |capture: bool| {
            let (hashed, kept) =
                copy_entry(entry, dest.take(), capture, opts, budget).map_err(|e| match e {
                    CopyError::Limit(detail) => Stop::new(BUNDLE_ARCHIVE_LIMIT, detail, &shown),
                    CopyError::Io(e) => Stop::new(
                        BUNDLE_ARCHIVE_INVALID,
                        format!("cannot read entry: {e}"),
                        &shown,
                    ),
                })?;
            // A file kept for the caller that outgrows the capture limit fails as it does in
            // a folder (where it is refused from its size): never a verified bundle without it.
            Ok(match kept {
                Kept::Over => Err(HashError::TooLarge {
                    path: PathBuf::from(&name),
                    limit: opts.limits.max_capture_bytes,
                }),
                Kept::Bytes(bytes) => Ok((hashed, Some(bytes))),
                Kept::No => Ok((hashed, None)),
            })
        };
        payload.entry(&name, Entry::StreamedFile(&mut read), report)
    }

    /// After the end-of-archive marker: the rest of the gzip member must decompress to zeros
    /// only (tar padding), its CRC and length must hold, and nothing may follow it. `tar -xzf`
    /// decompresses every gzip member and some readers continue past zero blocks, so anything
    /// there would be a second archive that only other tools see.
    fn end_of_stream<R: BufRead>(
        &mut self,
        archive: tar::Archive<Guard<GzDecoder<R>>>,
    ) -> Result<(), Stop> {
        let stop = |detail: String| Stop {
            code: BUNDLE_ARCHIVE_INVALID,
            detail,
            entry: None,
        };
        let mut gz = archive.into_inner();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match gz.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(stop(format!("corrupt gzip data at the end: {e}"))),
            };
            if buf.get(..n).unwrap_or_default().iter().any(|b| *b != 0) {
                return Err(stop(
                    "data after the tar end-of-archive marker (other tools may read it as more entries)"
                        .to_owned(),
                ));
            }
        }
        let mut rest = gz.inner.into_inner();
        match rest.fill_buf() {
            Ok([]) => Ok(()),
            Ok(_) => Err(stop(
                "data after the end of the gzip stream (a second gzip member or trailing bytes that other tools would read)"
                    .to_owned(),
            )),
            Err(e) => Err(stop(format!("cannot read the archive: {e}"))),
        }
    }

    /// Reports why the stream stopped, naming the limit when one tripped while the
    /// decompressed stream was read (whoever read it saw only an I/O error); or, for a
    /// complete stream, that its metadata entries never came.
    fn close(&self, mut stopped: Option<Stop>, tripped: &Tripped, report: &mut Report) {
        if let Some(stop) = stopped.as_mut()
            && let Some(why) = tripped.lock().ok().and_then(|mut t| t.take())
        {
            stop.code = BUNDLE_ARCHIVE_LIMIT;
            stop.detail = why;
        }
        if let Some(stop) = stopped {
            report.push(stop.into_check());
        } else if self.stage != Stage::Payload {
            report.push(
                Check::fail(
                    BUNDLE_LAYOUT_INVALID,
                    "the archive lacks manifest.json or SHA256SUMS at its start",
                )
                .in_section(section::MANIFEST),
            );
        }
    }
}

/// The next entry with its extension records applied. An extension record beyond its
/// limits, or a PAX record at all, stops the stream.
fn next_entry<'a, R: Read>(
    entries: &mut tar::Entries<'a, R>,
) -> Option<Result<Resolved<'a, R>, Stop>> {
    let item = crate::tar_read::next_entry(entries)?;
    let resolved = match item {
        Ok(resolved) => resolved,
        Err(e) => {
            return Some(Err(Stop {
                code: match e {
                    TarReadError::LongName(_) => BUNDLE_PATH_UNSAFE,
                    TarReadError::Extension(_) => BUNDLE_ARCHIVE_LIMIT,
                    _ => BUNDLE_ARCHIVE_INVALID,
                },
                detail: e.to_string(),
                entry: None,
            }));
        }
    };
    // The writer never emits PAX records; an archive with them was made by another tool,
    // whose extractors may not read it as this reader does.
    if resolved.pax {
        return Some(Err(Stop::new(
            BUNDLE_ARCHIVE_INVALID,
            "a PAX extended header: the bundle archive form uses GNU long names only",
            &String::from_utf8_lossy(&resolved.path),
        )));
    }
    Some(Ok(resolved))
}

/// Only regular files and folders, without special mode bits, and folders without content;
/// returns whether the entry is a folder.
fn entry_type_checks<R: Read>(entry: &tar::Entry<'_, R>, shown: &str) -> Result<bool, Stop> {
    let kind = entry.header().entry_type();
    let is_dir = kind == tar::EntryType::Directory;
    if !(kind == tar::EntryType::Regular || is_dir) {
        return Err(Stop::new(
            BUNDLE_ENTRY_FORBIDDEN,
            format!("entry of type {kind:?}: only regular files and folders are allowed"),
            shown,
        ));
    }
    // Set-user-id, set-group-id and sticky bits would survive `tar -xzf` as root.
    let mode = entry.header().mode().unwrap_or(u32::MAX);
    if mode & !0o777 != 0 {
        return Err(Stop::new(
            BUNDLE_ENTRY_FORBIDDEN,
            format!("entry mode {mode:o} has special bits (set-user-id, set-group-id, sticky)"),
            shown,
        ));
    }
    if is_dir && entry.size() != 0 {
        return Err(Stop::new(
            BUNDLE_ARCHIVE_INVALID,
            "a folder entry with content",
            shown,
        ));
    }
    Ok(is_dir)
}

/// True when `path` lies inside the folder `folder`.
fn is_inside(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.starts_with('/'))
}

fn read_entry<R: Read>(entry: &mut R, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than the limit of {limit} bytes"),
        ));
    }
    Ok(bytes)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(name))?;
    f.write_all(bytes)?;
    f.sync_all()
}

enum CopyError {
    Limit(String),
    Io(io::Error),
}

/// What [`copy_entry`] kept of an entry for the caller.
enum Kept {
    /// Nothing was asked for.
    No,
    /// The bytes.
    Bytes(Vec<u8>),
    /// They were asked for but passed [`BundleLimits::max_capture_bytes`](super::BundleLimits).
    Over,
}

/// Streams one entry through SHA-256, optionally into a new file and/or memory, within the
/// budget.
fn copy_entry<R: Read>(
    entry: &mut R,
    dest: Option<PathBuf>,
    capture: bool,
    opts: &VerifyOptions<'_>,
    budget: &mut Budget,
) -> Result<(HashedFile, Kept), CopyError> {
    let mut out = match dest {
        Some(p) => Some(
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
                .map_err(CopyError::Io)?,
        ),
        None => None,
    };
    let mut kept = if capture {
        Kept::Bytes(Vec::new())
    } else {
        Kept::No
    };
    let mut hasher = Sha256Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut size = 0u64;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Io(e)),
        };
        size = size.saturating_add(n as u64);
        budget.take(n as u64).map_err(CopyError::Limit)?;
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        opts.progress.advance(n as u64);
        if let Some(f) = out.as_mut() {
            f.write_all(chunk).map_err(CopyError::Io)?;
        }
        if let Kept::Bytes(k) = &mut kept {
            if k.len() as u64 + n as u64 > opts.limits.max_capture_bytes {
                kept = Kept::Over;
            } else {
                k.extend_from_slice(chunk);
            }
        }
    }
    if let Some(f) = out {
        f.sync_all().map_err(CopyError::Io)?;
    }
    Ok((
        HashedFile {
            digest: hasher.finish(),
            size,
        },
        kept,
    ))
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256Hasher,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256Hasher::new(),
            count: 0,
        }
    }

    fn finish(self) -> (Sha256Digest, u64) {
        (self.hasher.finish(), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.count = self.count.saturating_add(n as u64);
        Ok(n)
    }
}
