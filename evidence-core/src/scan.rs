//! Scanning files, directory trees and archives for secrets and forbidden tokens without
//! changing anything ("search artifacts, logs and JSONL journals for a leaked token").
//!
//! The detectors are exactly those of [`crate::redact`]: a finding is what redaction would
//! replace, reported by path, 1-based line and class, never by content. Directories are
//! listed without following symbolic links (links and special files are reported, never
//! opened); `.tar.gz`, `.tgz` and `.tar` files (an evidence bundle archive is one) are streamed
//! entry by entry and `.gz` files decompressed on the fly, under hard limits, writing nothing
//! to disk. Files up to [`ScanLimits::max_whole_bytes`] are examined whole (a JSON document as
//! JSON); larger ones are streamed in chunks of whole lines, each examined as JSON Lines (a
//! line that is a JSON value as JSON, other lines as text), so memory stays bounded.
//!
//! Every path in a report starts with the path as the caller gave it: a file is named by that
//! path, a file in a folder by the folder as given, `/` and its path inside the folder
//! (`a/aws.txt`, `./x/y`, absolute paths stay absolute), an archive entry by the archive's
//! path, `!/` and the entry's name (`b/pack.tar.gz!/payload/app.log`).
//!
//! A scan that examined no file is a failure (`scan-empty`), as is anything that could not be
//! examined (`scan-unreadable`, `input-too-large`): what was not read cannot be called clean.
//!
//! Links are the exception, in folders and in archives alike: a symbolic link (or a hard-link
//! entry of an archive) is never followed, and is reported as `scan-skipped`, a warning, not a
//! failure. It holds no content of its own: its target is either part of what is scanned (a
//! file of the same folder or an earlier entry of the same archive, examined in its own right)
//! or outside what the caller asked to scan. Devices, FIFOs, sockets and other special entries
//! stay `scan-unreadable`, as does a file that turns into a link between listing and reading.

use std::cell::Cell;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use rayon::prelude::*;
use serde_json::json;

use crate::hash::{FileId, open_no_follow};
use crate::path::PathRules;
use crate::redact::{ContentHint, Redactor, SecretClass};
use crate::report::{Check, Report, check_codes, codes::INPUT_TOO_LARGE};
use crate::text::printable;
use crate::tree::{self, EntryKind};

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        SCAN_CLEAN = "scan-clean":
            "Every file examined is free of secrets and forbidden tokens; the detail gives how many files and bytes were examined.";
        SCAN_SECRET_FOUND = "scan-secret-found":
            "A secret of the class named in `class` was found at this path and line (the secret itself is never shown).";
        SCAN_FORBIDDEN_TOKEN_FOUND = "scan-forbidden-token-found":
            "A forbidden token was found at this path and line, raw or JSON-escaped, URL-encoded or base64-encoded.";
        SCAN_UNREADABLE = "scan-unreadable":
            "A file or archive entry could not be examined: unreadable, a special file (never opened), a file replaced by a link while scanning, a corrupt archive or an unacceptable name.";
        SCAN_EMPTY = "scan-empty":
            "No file was examined (an empty directory or archive); a scan of nothing is never clean.";
        SCAN_SKIPPED = "scan-skipped":
            "A symbolic link in a folder, or a symbolic or hard link entry in an archive, was not followed; its target is scanned only if it is itself part of what was scanned.";
    }
}
use codes::*;

/// Default largest file examined whole (larger files are streamed line by line).
pub const DEFAULT_MAX_WHOLE_BYTES: usize = 64 << 20;
/// Bytes of whole lines examined at once when streaming.
const CHUNK: usize = 8 << 20;
/// Overlap between consecutive pieces of a line longer than [`CHUNK`].
const OVERLAP: usize = 64 << 10;

/// Hard limits of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanLimits {
    /// Most entries listed in a directory tree, and most entries in one archive.
    pub max_entries: usize,
    /// Largest file (or archive entry) examined, in bytes.
    pub max_file_bytes: u64,
    /// Largest file examined whole; larger files are streamed in chunks of lines.
    pub max_whole_bytes: usize,
    /// Most decompressed bytes read from one archive or `.gz` file.
    pub max_archive_bytes: u64,
    /// Highest compression ratio accepted, once `ratio_grace_bytes` have been decompressed.
    pub max_compression_ratio: u64,
    /// Decompressed bytes before the ratio is enforced.
    pub ratio_grace_bytes: u64,
    /// Deepest nesting of archives inside archives that is opened (1: top-level archives only).
    pub max_archive_depth: usize,
    /// Most findings reported; further ones are counted in one summary check.
    pub max_findings: usize,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            max_entries: 1_000_000,
            max_file_bytes: 16 << 30,
            max_whole_bytes: DEFAULT_MAX_WHOLE_BYTES,
            max_archive_bytes: 64 << 30,
            max_compression_ratio: 250,
            ratio_grace_bytes: 16 << 20,
            max_archive_depth: 2,
            max_findings: 10_000,
        }
    }
}

/// How to scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Hard limits.
    pub limits: ScanLimits,
    /// Read every file as this format instead of guessing from its name
    /// ([`ContentHint::from_path`]).
    pub hint: Option<ContentHint>,
}

/// One secret found: where and of what class. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    /// The file (for archive entries `ARCHIVE!/ENTRY`).
    pub path: String,
    /// 1-based line where the secret starts; 0 when it is in the file's (or entry's) name.
    pub line: u64,
    /// What was found.
    pub class: SecretClass,
}

/// Every secret in `bytes` (named `name`, whose extension chooses how it is read), in order.
pub fn scan_bytes(redactor: &Redactor, name: &str, bytes: &[u8]) -> Vec<Finding> {
    let hint = ContentHint::from_path(strip_gz(name).unwrap_or(name));
    locate(redactor, bytes, hint, 1)
        .into_iter()
        .map(|(_, line, class)| Finding {
            path: name.to_owned(),
            line,
            class,
        })
        .collect()
}

/// Offsets, lines (counted from `first_line`) and classes of everything redaction would
/// replace in `bytes`.
fn locate(
    redactor: &Redactor,
    bytes: &[u8],
    hint: ContentHint,
    first_line: u64,
) -> Vec<(usize, u64, SecretClass)> {
    let analysis = redactor.analyse(bytes, hint);
    let mut line = first_line;
    let mut at = 0usize;
    let mut out = Vec::with_capacity(analysis.edits.len());
    for edit in &analysis.edits {
        let upto = edit.start.max(at);
        line += count_newlines(bytes.get(at..upto).unwrap_or_default());
        at = upto;
        out.push((edit.start, line, edit.class));
    }
    out
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Scans a file, a directory tree or an archive. The path given is the caller's choice and is
/// resolved once (it may be a symbolic link); nothing below it is ever followed.
pub fn scan_path(path: &Path, redactor: &Redactor, opts: &ScanOptions) -> Report {
    let shown = path.display().to_string();
    let mut report = Report::new(json!({
        "kind": "scan",
        "path": hide_secrets(redactor, &shown),
        "forbidden_tokens": redactor.forbidden_token_count(),
    }));
    let mut outcome = Outcome::new(opts.limits.max_findings);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => scan_tree(path, &shown, redactor, opts, &mut outcome),
        Ok(meta) if meta.is_file() => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| shown.clone());
            match std::fs::canonicalize(path) {
                Ok(real) => scan_file(&real, None, &shown, &name, redactor, opts, &mut outcome),
                Err(e) => outcome.unreadable(&shown, format!("cannot resolve the path: {e}")),
            }
        }
        Ok(meta) => outcome.unreadable(
            &shown,
            format!("not a regular file or directory ({:?})", meta.file_type()),
        ),
        Err(e) => outcome.unreadable(&shown, format!("cannot read: {e}")),
    }
    outcome.into_report(redactor, &mut report);
    report
}

/// What a scan (or one part of it) found.
#[derive(Debug, Default)]
struct Outcome {
    /// Findings with repeat counts, merged per (path, line, class).
    findings: Vec<(Finding, u64)>,
    omitted: u64,
    max_findings: usize,
    problems: Vec<Check>,
    files: u64,
    bytes: u64,
}

impl Outcome {
    fn new(max_findings: usize) -> Self {
        Self {
            max_findings,
            ..Self::default()
        }
    }

    fn found(&mut self, path: &str, line: u64, class: SecretClass) {
        if let Some((last, n)) = self.findings.last_mut()
            && last.path == path
            && last.line == line
            && last.class == class
        {
            *n += 1;
            return;
        }
        if self.findings.len() >= self.max_findings {
            self.omitted += 1;
            return;
        }
        self.findings.push((
            Finding {
                path: path.to_owned(),
                line,
                class,
            },
            1,
        ));
    }

    fn unreadable(&mut self, path: &str, detail: String) {
        self.problems
            .push(Check::fail(SCAN_UNREADABLE, detail).with_path(printable(path).into_owned()));
    }

    fn skipped(&mut self, path: &str, detail: &'static str) {
        self.problems
            .push(Check::warn(SCAN_SKIPPED, detail).with_path(printable(path).into_owned()));
    }

    fn too_large(&mut self, path: &str, detail: String) {
        self.problems
            .push(Check::fail(INPUT_TOO_LARGE, detail).with_path(printable(path).into_owned()));
    }

    fn merge(&mut self, other: Outcome) {
        for (f, n) in other.findings {
            if self.findings.len() >= self.max_findings {
                self.omitted += n;
            } else {
                self.findings.push((f, n));
            }
        }
        self.omitted += other.omitted;
        self.problems.extend(other.problems);
        self.files += other.files;
        self.bytes += other.bytes;
    }

    /// A secret in a file or entry name is a finding too (reported without a line).
    fn check_name(&mut self, redactor: &Redactor, shown: &str, name: &str) {
        for hit in redactor.detect_text(name.as_bytes()) {
            self.found(shown, 0, hit.class);
        }
    }

    /// Adds the checks to `report`. Paths and details pass through the redactor, so a secret in
    /// a file name is not echoed either.
    fn into_report(self, redactor: &Redactor, report: &mut Report) {
        let first = report.checks.len();
        self.push_checks(report);
        for check in report.checks.iter_mut().skip(first) {
            if let Some(path) = &check.path {
                let hidden = hide_secrets(redactor, path);
                if hidden != *path {
                    check.path = Some(hidden);
                }
            }
            let detail = hide_secrets(redactor, &check.detail);
            if detail != check.detail {
                check.detail = detail.into();
            }
        }
    }

    fn push_checks(self, report: &mut Report) {
        let any_found = !self.findings.is_empty() || self.omitted > 0;
        for (f, n) in self.findings {
            let (code, what) = if f.class == SecretClass::ForbiddenToken {
                (SCAN_FORBIDDEN_TOKEN_FOUND, "a forbidden token".to_owned())
            } else {
                (SCAN_SECRET_FOUND, format!("a secret of class {}", f.class))
            };
            let detail = if n == 1 {
                format!("{what} was found")
            } else {
                format!("{what} was found {n} times on this line")
            };
            let mut check = Check::fail(code, detail)
                .with_path(printable(&f.path).into_owned())
                .with("class", f.class.as_str())
                .with("count", n);
            if f.line > 0 {
                check = check.with_line(f.line);
            } else {
                check.detail = format!("{} (in the name)", check.detail).into();
            }
            report.push(check);
        }
        if self.omitted > 0 {
            report.push(
                Check::fail(
                    SCAN_SECRET_FOUND,
                    format!(
                        "{} further findings are not listed (limit of reported findings reached)",
                        self.omitted
                    ),
                )
                .with("omitted", self.omitted),
            );
        }
        for problem in self.problems {
            report.push(problem);
        }
        if self.files == 0 {
            report.push(Check::fail(SCAN_EMPTY, "no file was examined"));
        } else if !any_found {
            report.push(
                Check::pass(
                    SCAN_CLEAN,
                    format!(
                        "{} files ({} bytes) examined; no secret or forbidden token found",
                        self.files, self.bytes
                    ),
                )
                .with("files", self.files)
                .with("bytes", self.bytes),
            );
        }
    }
}

/// `text` with every secret replaced, for display.
fn hide_secrets(redactor: &Redactor, text: &str) -> String {
    let out = redactor.redact_bytes(text.as_bytes(), ContentHint::Text);
    if out.counts.is_empty() {
        text.to_owned()
    } else {
        String::from_utf8_lossy(&out.bytes).into_owned()
    }
}

/// The path of an entry of a folder given as `shown`: the folder as given, then the entry's
/// path inside it (`a` and `x.txt` give `a/x.txt`, `a/` and `x.txt` give `a/x.txt`).
fn under(shown: &str, rel: &str) -> String {
    if shown.ends_with('/') {
        format!("{shown}{rel}")
    } else {
        format!("{shown}/{rel}")
    }
}

/// Scans the folder `root`, named `shown` as the caller gave it: every path reported starts
/// with `shown`, so two folders holding the same file names give distinct findings.
fn scan_tree(root: &Path, shown: &str, redactor: &Redactor, opts: &ScanOptions, out: &mut Outcome) {
    let limits = &opts.limits;
    let listing = match tree::list_tree(root, PathRules::Posix, limits.max_entries) {
        Ok(l) => l,
        Err(e) => {
            out.unreadable(shown, e.to_string());
            return;
        }
    };
    for problem in &listing.problems {
        out.unreadable(&under(shown, &problem.display), problem.message.clone());
    }
    if listing.truncated {
        out.too_large(
            shown,
            format!(
                "the directory has more than {} entries; the rest were not examined",
                limits.max_entries
            ),
        );
    }
    let jobs = file_jobs(&listing, shown, redactor, out);
    let results: Vec<Outcome> = jobs
        .par_iter()
        .map(|(rel, entry_shown, id)| {
            let mut o = Outcome::new(limits.max_findings);
            let name = rel.rsplit('/').next().unwrap_or(rel);
            scan_file(
                &listing.root.join(rel),
                Some(*id),
                entry_shown,
                name,
                redactor,
                opts,
                &mut o,
            );
            o
        })
        .collect();
    for o in results {
        out.merge(o);
    }
}

/// The files of a listing of the folder shown as `root_shown` to scan, in path order, as
/// (path inside the folder, path shown, identity); `out` gets every name checked and every
/// entry that is not scanned.
fn file_jobs(
    listing: &tree::Tree,
    root_shown: &str,
    redactor: &Redactor,
    out: &mut Outcome,
) -> Vec<(String, String, FileId)> {
    let mut entries: Vec<&tree::TreeEntry> = listing.entries.iter().collect();
    entries.sort_by(|a, b| a.display().cmp(b.display()));
    let mut jobs = Vec::new();
    for entry in entries {
        let rel = entry.display();
        let shown = &under(root_shown, rel);
        out.check_name(redactor, shown, rel.rsplit('/').next().unwrap_or(rel));
        match (entry.kind, &entry.path) {
            (EntryKind::Dir, _) => {}
            (EntryKind::Symlink, _) => out.skipped(shown, "symbolic link; not followed"),
            (EntryKind::Special, _) => {
                out.unreadable(shown, "device, FIFO or socket; not opened".to_owned());
            }
            (EntryKind::File, Err(bad)) => {
                out.unreadable(
                    shown,
                    format!("name is not an acceptable path: {}", bad.error),
                );
            }
            (EntryKind::File, Ok(path)) => {
                jobs.push((path.as_str().to_owned(), shown.clone(), entry.id));
            }
        }
    }
    jobs
}

/// Scans one regular file on disk, opened without following links.
fn scan_file(
    disk: &Path,
    expect: Option<FileId>,
    shown: &str,
    name: &str,
    redactor: &Redactor,
    opts: &ScanOptions,
    out: &mut Outcome,
) {
    let mut file = match open_no_follow(disk) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            out.unreadable(
                shown,
                "replaced by a symbolic link after listing; not followed".to_owned(),
            );
            return;
        }
        Err(e) => {
            out.unreadable(shown, format!("cannot open: {e}"));
            return;
        }
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            out.unreadable(shown, format!("cannot read: {e}"));
            return;
        }
    };
    if !meta.is_file() {
        out.unreadable(shown, "not a regular file".to_owned());
        return;
    }
    if expect.is_some_and(|id| id != FileId::of(&meta)) {
        out.unreadable(shown, "replaced between listing and reading".to_owned());
        return;
    }
    if meta.len() > opts.limits.max_file_bytes && archive_kind(name).is_none() {
        out.too_large(
            shown,
            format!(
                "{} bytes is more than the limit of {} bytes; not examined",
                meta.len(),
                opts.limits.max_file_bytes
            ),
        );
        return;
    }
    if let Err(e) = scan_stream(&mut file, shown, name, 1, redactor, opts, out) {
        out.unreadable(shown, format!("read failed: {e}"));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    TarGz,
    Tar,
    Gz,
}

fn archive_kind(name: &str) -> Option<ArchiveKind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(ArchiveKind::TarGz)
    } else if lower.ends_with(".tar") {
        Some(ArchiveKind::Tar)
    } else if lower.ends_with(".gz") {
        Some(ArchiveKind::Gz)
    } else {
        None
    }
}

/// `name` without a final `.gz`.
fn strip_gz(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(3)?;
    let (stem, ext) = (name.get(..cut)?, name.get(cut..)?);
    ext.eq_ignore_ascii_case(".gz").then_some(stem)
}

/// Scans a stream named `name` (an archive is opened, up to the nesting limit); `depth` is the
/// archive nesting level the stream sits at (1 for a file on disk). A read error of the stream
/// itself is returned, for the caller to report (inside an archive it ends the archive).
fn scan_stream(
    reader: &mut dyn Read,
    shown: &str,
    name: &str,
    depth: usize,
    redactor: &Redactor,
    opts: &ScanOptions,
    out: &mut Outcome,
) -> io::Result<()> {
    match archive_kind(name) {
        Some(kind) if depth <= opts.limits.max_archive_depth => {
            scan_archive(reader, kind, shown, name, depth, redactor, opts, out);
        }
        Some(_) => out.unreadable(
            shown,
            format!(
                "archive nested deeper than {} levels; not opened",
                opts.limits.max_archive_depth
            ),
        ),
        None => {
            let hint = opts.hint.unwrap_or_else(|| ContentHint::from_path(name));
            examine(reader, shown, hint, redactor, &opts.limits, out)?;
        }
    }
    Ok(())
}

/// [`scan_content`], counting the file and reporting a size limit.
fn examine(
    reader: &mut dyn Read,
    shown: &str,
    hint: ContentHint,
    redactor: &Redactor,
    limits: &ScanLimits,
    out: &mut Outcome,
) -> io::Result<()> {
    match scan_content(reader, shown, hint, redactor, limits, out) {
        Ok(n) => {
            out.files += 1;
            out.bytes += n;
            Ok(())
        }
        Err(ReadFail::TooLarge) => {
            out.too_large(
                shown,
                format!(
                    "more than the limit of {} bytes; the rest was not examined",
                    limits.max_file_bytes
                ),
            );
            Ok(())
        }
        Err(ReadFail::Io(e)) => Err(e),
    }
}

enum ReadFail {
    TooLarge,
    Io(io::Error),
}

/// Reads into `buf` until it holds `want` bytes or the stream ends; true if it holds `want`
/// (the stream may have more).
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let missing = want.saturating_sub(buf.len());
    reader.take(missing as u64).read_to_end(buf)?;
    Ok(buf.len() >= want)
}

/// Examines the content of a stream; returns how many bytes it had.
fn scan_content(
    reader: &mut dyn Read,
    shown: &str,
    hint: ContentHint,
    redactor: &Redactor,
    limits: &ScanLimits,
    out: &mut Outcome,
) -> Result<u64, ReadFail> {
    let mut buf = Vec::new();
    let more =
        fill(reader, &mut buf, limits.max_whole_bytes.saturating_add(1)).map_err(ReadFail::Io)?;
    if !more && buf.len() <= limits.max_whole_bytes {
        if buf.len() as u64 > limits.max_file_bytes {
            return Err(ReadFail::TooLarge);
        }
        for (_, line, class) in locate(redactor, &buf, hint, 1) {
            out.found(shown, line, class);
        }
        return Ok(buf.len() as u64);
    }
    // Streaming: whole lines at a time, examined as JSON Lines. A line longer than CHUNK is
    // examined as text in overlapping pieces; each piece reports only what starts before the
    // overlap, which the next piece covers again.
    let mut line = 1u64;
    let mut total = buf.len() as u64;
    let mut at_end = false;
    loop {
        if total > limits.max_file_bytes {
            return Err(ReadFail::TooLarge);
        }
        if let Some(last_nl) = buf.iter().rposition(|b| *b == b'\n') {
            let piece = buf.get(..=last_nl).unwrap_or_default();
            for (_, l, class) in locate(redactor, piece, ContentHint::JsonLines, line) {
                out.found(shown, l, class);
            }
            line += count_newlines(piece);
            buf.drain(..=last_nl);
        } else if buf.len() >= CHUNK && !at_end {
            let keep_from = buf.len() - OVERLAP;
            for (start, l, class) in locate(redactor, &buf, ContentHint::Text, line) {
                if start < keep_from {
                    out.found(shown, l, class);
                }
            }
            buf.drain(..keep_from);
        }
        if at_end {
            if !buf.is_empty() {
                for (_, l, class) in locate(redactor, &buf, ContentHint::JsonLines, line) {
                    out.found(shown, l, class);
                }
            }
            return Ok(total);
        }
        let before = buf.len();
        let more = fill(reader, &mut buf, CHUNK.max(before + 1)).map_err(ReadFail::Io)?;
        total += (buf.len() - before) as u64;
        at_end = !more;
    }
}

/// Counts the bytes read through it.
struct Counting<'a> {
    inner: &'a mut dyn Read,
    count: Rc<Cell<u64>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Enforces the decompressed-size and compression-ratio limits; remembers which one tripped.
struct Guard<R: Read> {
    inner: R,
    compressed: Rc<Cell<u64>>,
    produced: u64,
    limits: ScanLimits,
    tripped: Rc<Cell<Option<&'static str>>>,
}

impl<R: Read> Guard<R> {
    /// Guards `inner`, whose source has yielded `compressed` bytes so far.
    fn new(
        inner: R,
        compressed: &Rc<Cell<u64>>,
        limits: ScanLimits,
        tripped: &Rc<Cell<Option<&'static str>>>,
    ) -> Self {
        Self {
            inner,
            compressed: Rc::clone(compressed),
            produced: 0,
            limits,
            tripped: Rc::clone(tripped),
        }
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced = self.produced.saturating_add(n as u64);
        let why = if self.produced > self.limits.max_archive_bytes {
            Some("decompressed size")
        } else if self.produced > self.limits.ratio_grace_bytes
            && self.produced
                > self
                    .compressed
                    .get()
                    .saturating_mul(self.limits.max_compression_ratio)
        {
            Some("compression ratio")
        } else {
            None
        };
        if let Some(why) = why {
            self.tripped.set(Some(why));
            return Err(io::Error::other(format!("archive {why} limit exceeded")));
        }
        Ok(n)
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_archive(
    reader: &mut dyn Read,
    kind: ArchiveKind,
    shown: &str,
    name: &str,
    depth: usize,
    redactor: &Redactor,
    opts: &ScanOptions,
    out: &mut Outcome,
) {
    let compressed = Rc::new(Cell::new(0u64));
    let tripped = Rc::new(Cell::new(None));
    let counting = Counting {
        inner: reader,
        count: Rc::clone(&compressed),
    };
    let result = match kind {
        ArchiveKind::Gz => {
            let mut guard = Guard::new(
                flate2::read::MultiGzDecoder::new(counting),
                &compressed,
                opts.limits,
                &tripped,
            );
            let inner_name = strip_gz(name).unwrap_or(name);
            let hint = opts
                .hint
                .unwrap_or_else(|| ContentHint::from_path(inner_name));
            examine(&mut guard, shown, hint, redactor, &opts.limits, out)
        }
        ArchiveKind::TarGz => {
            let guard = Guard::new(
                flate2::read::MultiGzDecoder::new(counting),
                &compressed,
                opts.limits,
                &tripped,
            );
            tar_entries(guard, shown, depth, redactor, opts, out)
        }
        ArchiveKind::Tar => {
            // Nothing is compressed: only the size limit applies.
            let limits = ScanLimits {
                max_compression_ratio: u64::MAX,
                ..opts.limits
            };
            let guard = Guard::new(counting, &compressed, limits, &tripped);
            tar_entries(guard, shown, depth, redactor, opts, out)
        }
    };
    if let Err(e) = result {
        match tripped.get() {
            Some(why) => out.too_large(
                shown,
                format!("archive exceeds the {why} limit; the rest was not examined"),
            ),
            None => out.unreadable(shown, format!("archive is corrupt or unreadable: {e}")),
        }
    }
}

/// Scans every entry of a tar stream. Errors are stream failures (corrupt data or a limit).
fn tar_entries<R: Read>(
    reader: R,
    shown: &str,
    depth: usize,
    redactor: &Redactor,
    opts: &ScanOptions,
    out: &mut Outcome,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut count = 0usize;
    // Raw entries: long-name and PAX records are read by `tar_read` under its limits, never
    // whole by the tar crate.
    let mut entries = archive.entries()?.raw(true);
    while let Some(item) = crate::tar_read::next_entry(&mut entries) {
        let crate::tar_read::Resolved {
            mut entry, path, ..
        } = item.map_err(stream_error)?;
        count += 1;
        if count > opts.limits.max_entries {
            out.too_large(
                shown,
                format!(
                    "the archive has more than {} entries; the rest were not examined",
                    opts.limits.max_entries
                ),
            );
            return Ok(());
        }
        let entry_name = String::from_utf8_lossy(&path).into_owned();
        let entry_shown = format!("{shown}!/{entry_name}");
        out.check_name(redactor, &entry_shown, &entry_name);
        if !examinable(
            entry.header().entry_type(),
            entry.size(),
            &entry_shown,
            opts,
            out,
        ) {
            continue;
        }
        let base = entry_name
            .rsplit('/')
            .next()
            .unwrap_or(&entry_name)
            .to_owned();
        // A read failure inside an entry is a failure of the whole stream: it ends the archive.
        scan_stream(
            &mut entry,
            &entry_shown,
            &base,
            depth + 1,
            redactor,
            opts,
            out,
        )?;
    }
    Ok(())
}

/// A tar reading error as the stream failure it is.
fn stream_error(e: crate::tar_read::TarReadError) -> io::Error {
    match e {
        crate::tar_read::TarReadError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// True when a tar entry is a regular file within the size limit; otherwise `out` says why it
/// is not examined (directories and global PAX headers need no word).
fn examinable(
    kind: tar::EntryType,
    size: u64,
    entry_shown: &str,
    opts: &ScanOptions,
    out: &mut Outcome,
) -> bool {
    if kind.is_dir() || kind.is_pax_global_extensions() {
        return false;
    }
    if kind.is_symlink() {
        out.skipped(entry_shown, "symbolic link entry; not followed");
        return false;
    }
    if kind.is_hard_link() {
        out.skipped(entry_shown, "hard link entry; not followed");
        return false;
    }
    if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
        out.unreadable(
            entry_shown,
            "device, FIFO or other special entry; not examined".to_owned(),
        );
        return false;
    }
    if size > opts.limits.max_file_bytes {
        out.too_large(
            entry_shown,
            format!(
                "{size} bytes is more than the limit of {} bytes; not examined",
                opts.limits.max_file_bytes
            ),
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests;
