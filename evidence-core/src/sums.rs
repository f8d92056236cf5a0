//! SHA256SUMS files: parsing every form real pipelines write, writing the form `sha256sum -c`
//! reads, and verifying a directory against one with exact coverage.
//!
//! Accepted line forms (one per line, LF or CRLF line ends, `#` comments and blank lines
//! ignored):
//!
//! | form | example | written by |
//! |---|---|---|
//! | GNU text | `<hex>  name` | `sha256sum`, `shasum -a 256` |
//! | GNU binary | `<hex> *name` | `sha256sum -b`, `openssl dgst -r` |
//! | BSD tag | `SHA256 (name) = <hex>` | `sha256sum --tag`, `shasum --tag` |
//! | OpenSSL | `SHA256(name)= <hex>`, `SHA2-256(name)= <hex>` | `openssl dgst -sha256` |
//!
//! A line starting with `\` has an escaped name: `\\` is a backslash, `\n` a newline and `\r` a
//! carriage return (coreutils 9 escapes exactly these). Untagged and tagged forms may not be
//! mixed in one file. Only SHA-256 counts: lines naming another algorithm are reported, and weak
//! ones (MD5, SHA-1) never satisfy anything (DESIGN section 4 rule 12).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::digest::Sha256Digest;
use crate::hash::{self, HashError, HashJob, HashedFile, Progress};
use crate::path::{ArtifactPath, Clash, PathRules, PathSet};
use crate::report::{Check, check_codes, printable};
use crate::tree::{self, EntryKind, TreeError};

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        SUMS_PARSED = "sums-parsed":
            "The checksum file was parsed; the check says how many entries and in which form.";
        SUMS_LINE_MALFORMED = "sums-line-malformed":
            "A line of the checksum file is not a valid SHA-256 checksum line (fails in strict mode, warns otherwise).";
        SUMS_ALGORITHM_UNSUPPORTED = "sums-algorithm-unsupported":
            "A line names a digest other than SHA-256; weak digests (MD5, SHA-1) never satisfy a check.";
        SUMS_MIXED_FORMAT = "sums-mixed-format":
            "The checksum file mixes untagged (`hex  name`) and tagged (`SHA256 (name) = hex`) lines.";
        SUMS_EMPTY = "sums-empty":
            "The checksum file lists no entries; an empty list verifies nothing and fails.";
        SUMS_ENTRY_MATCH = "sums-entry-match":
            "A listed file exists and its SHA-256 equals the listed digest.";
        SUMS_ENTRY_MISMATCH = "sums-entry-mismatch":
            "A listed file exists but its SHA-256 differs from the listed digest.";
        SUMS_ENTRY_MISSING = "sums-entry-missing":
            "A listed file does not exist as a regular file (skipped with --ignore-missing).";
        SUMS_ENTRY_DUPLICATE = "sums-entry-duplicate":
            "The same name is listed more than once.";
        SUMS_ENTRY_COLLISION = "sums-entry-collision":
            "Two listed names collide after Unicode NFC normalisation and case folding, or one is used as a file and a folder.";
        SUMS_ENTRY_UNREADABLE = "sums-entry-unreadable":
            "A listed file could not be read, was replaced while being verified, or changed while it was hashed.";
        SUMS_PATH_UNSAFE = "sums-path-unsafe":
            "A listed name is absolute, contains `..`, a NUL byte, or is otherwise not a confined relative path.";
        SUMS_FILE_UNLISTED = "sums-file-unlisted":
            "A file in the directory (at any depth) is not listed (skipped for names given to --allow-unlisted).";
        SUMS_SYMLINK = "sums-symlink":
            "The directory contains a symbolic link; links are never followed and always fail.";
        SUMS_SPECIAL_FILE = "sums-special-file":
            "The directory contains a device, FIFO or socket.";
        SUMS_HARDLINK = "sums-hardlink":
            "A file in the directory has more than one hard link, so its content can be changed from elsewhere.";
        SUMS_TREE_INCOMPLETE = "sums-tree-incomplete":
            "Part of the directory could not be listed (unreadable folder, non-UTF-8 or over-long name, entry limit).";
        SUMS_METADATA_FILE = "sums-metadata-file":
            "A checksum, signature or attestation file that is verification metadata, not an asset, and need not be listed.";
    }
}
use codes::*;

/// Default largest checksum file read: 64 MiB.
pub const DEFAULT_MAX_SUMS_BYTES: u64 = 64 << 20;
/// Default longest line: 16 KiB (room for a 4096-byte path with every byte escaped).
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 10;
/// Default most entries: one million.
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

/// Hard limits on checksum files and the directories verified against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SumsLimits {
    /// Largest checksum file, in bytes.
    pub max_bytes: u64,
    /// Longest line, in bytes.
    pub max_line_bytes: usize,
    /// Most entries in the file, and most entries listed in the directory.
    pub max_entries: usize,
    /// Largest file hashed, in bytes.
    pub max_file_bytes: u64,
}

impl Default for SumsLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_SUMS_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_file_bytes: hash::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// The form of a checksum line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineForm {
    /// `<hex>  name`
    GnuText,
    /// `<hex> *name`
    GnuBinary,
    /// `SHA256 (name) = <hex>`
    BsdTag,
    /// `SHA256(name)= <hex>` or `SHA2-256(name)= <hex>`
    OpenSsl,
}

impl LineForm {
    /// True for the tagged forms.
    pub fn is_tagged(self) -> bool {
        matches!(self, LineForm::BsdTag | LineForm::OpenSsl)
    }

    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LineForm::GnuText => "GNU text",
            LineForm::GnuBinary => "GNU binary",
            LineForm::BsdTag => "BSD tag",
            LineForm::OpenSsl => "OpenSSL",
        }
    }
}

/// One checksum entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumsEntry {
    /// 1-based line number.
    pub line: u64,
    /// The file name, unescaped, with one leading `./` removed.
    pub name: String,
    /// The SHA-256 digest listed.
    pub digest: Sha256Digest,
    /// The line's form.
    pub form: LineForm,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    /// The line is not UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// The line is longer than the limit.
    #[error("line is {len} bytes, longer than the limit of {limit}")]
    TooLong {
        /// Line length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The line matches no accepted form.
    #[error("{0}")]
    Malformed(&'static str),
    /// An escaped name contains an escape other than `\\`, `\n`, `\r`.
    #[error("escaped name contains an unknown escape sequence")]
    BadEscape,
    /// The digest has the wrong number of hex digits for SHA-256.
    #[error("digest has {0} hex digits, SHA-256 needs 64")]
    DigestLength(usize),
    /// The line names a digest algorithm other than SHA-256.
    #[error("algorithm {name} is not SHA-256{}", if *.weak { " (weak digests never count)" } else { "" })]
    Algorithm {
        /// The algorithm named.
        name: String,
        /// True for MD5 and SHA-1.
        weak: bool,
    },
}

/// A line that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub problem: LineProblem,
}

/// A parsed checksum file (the "checked" stage: structure known, nothing compared yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSums {
    /// Accepted entries in file order.
    pub entries: Vec<SumsEntry>,
    /// Refused lines in file order.
    pub bad_lines: Vec<BadLine>,
    /// Number of `#` comment and blank lines.
    pub ignored_lines: u64,
    /// True if any line ended in CRLF.
    pub crlf: bool,
}

impl ParsedSums {
    /// If both untagged and tagged entries occur: the line numbers of the first of each.
    pub fn mixed_forms(&self) -> Option<(u64, u64)> {
        let untagged = self.entries.iter().find(|e| !e.form.is_tagged())?;
        let tagged = self.entries.iter().find(|e| e.form.is_tagged())?;
        Some((untagged.line, tagged.line))
    }

    /// The forms used, in order of first appearance.
    pub fn forms(&self) -> Vec<LineForm> {
        let mut forms = Vec::new();
        for e in &self.entries {
            if !forms.contains(&e.form) {
                forms.push(e.form);
            }
        }
        forms
    }
}

/// Why a checksum file could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SumsError {
    /// The file is larger than the limit.
    #[error("checksum file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The file has more entries than the limit.
    #[error("checksum file has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
}

/// Parses checksum file bytes.
pub fn parse(bytes: &[u8], limits: &SumsLimits) -> Result<ParsedSums, SumsError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(SumsError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let mut out = ParsedSums::default();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(out);
    }
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = index as u64 + 1;
        let raw = match raw.strip_suffix(b"\r") {
            Some(r) => {
                out.crlf = true;
                r
            }
            None => raw,
        };
        if raw.len() > limits.max_line_bytes {
            out.bad_lines.push(BadLine {
                line: line_no,
                problem: LineProblem::TooLong {
                    len: raw.len(),
                    limit: limits.max_line_bytes,
                },
            });
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            out.bad_lines.push(BadLine {
                line: line_no,
                problem: LineProblem::NotUtf8,
            });
            continue;
        };
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            out.ignored_lines += 1;
            continue;
        }
        match parse_line(text) {
            Ok((name, digest, form)) => {
                if out.entries.len() >= limits.max_entries {
                    return Err(SumsError::TooManyEntries {
                        limit: limits.max_entries,
                    });
                }
                out.entries.push(SumsEntry {
                    line: line_no,
                    name,
                    digest,
                    form,
                });
            }
            Err(problem) => out.bad_lines.push(BadLine {
                line: line_no,
                problem,
            }),
        }
    }
    Ok(out)
}

fn parse_line(text: &str) -> Result<(String, Sha256Digest, LineForm), LineProblem> {
    let (escaped, rest) = match text.strip_prefix('\\') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (raw_name, hex, form) = if starts_with_hex_and_space(rest) {
        split_untagged(rest)?
    } else {
        split_tagged(rest)?
    };
    let digest = Sha256Digest::from_hex(hex).map_err(|_| LineProblem::DigestLength(hex.len()))?;
    let name = if escaped {
        unescape(raw_name)?
    } else {
        raw_name.to_owned()
    };
    let name = match name.strip_prefix("./") {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => name,
    };
    if name.is_empty() {
        return Err(LineProblem::Malformed("file name is empty"));
    }
    Ok((name, digest, form))
}

fn starts_with_hex_and_space(s: &str) -> bool {
    let hex_len = s.bytes().take_while(u8::is_ascii_hexdigit).count();
    hex_len > 0 && s.as_bytes().get(hex_len) == Some(&b' ')
}

/// `<hex>  name` or `<hex> *name`.
fn split_untagged(s: &str) -> Result<(&str, &str, LineForm), LineProblem> {
    let hex_len = s.bytes().take_while(u8::is_ascii_hexdigit).count();
    let (hex, rest) = s
        .split_at_checked(hex_len)
        .ok_or(LineProblem::Malformed("bad digest"))?;
    if hex.len() != 64 {
        return Err(LineProblem::DigestLength(hex.len()));
    }
    if let Some(name) = rest.strip_prefix("  ") {
        Ok((name, hex, LineForm::GnuText))
    } else if let Some(name) = rest.strip_prefix(" *") {
        Ok((name, hex, LineForm::GnuBinary))
    } else {
        Err(LineProblem::Malformed(
            "expected two spaces or \" *\" between digest and file name",
        ))
    }
}

/// `ALGO (name) = <hex>` (BSD) or `ALGO(name)= <hex>` (OpenSSL). The name is everything between
/// the first `(` and the last `) = ` / `)= ` (names are not escaped by OpenSSL and may contain
/// parentheses); the digest is what follows.
fn split_tagged(s: &str) -> Result<(&str, &str, LineForm), LineProblem> {
    let open = s
        .find('(')
        .ok_or(LineProblem::Malformed("not a checksum line"))?;
    let (algo_part, after_open) = s.split_at(open);
    let after_open = after_open.get(1..).unwrap_or_default();
    let (algo, form) = match algo_part.strip_suffix(' ') {
        Some(a) => (a, LineForm::BsdTag),
        None => (algo_part, LineForm::OpenSsl),
    };
    if algo.is_empty()
        || !algo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
    {
        return Err(LineProblem::Malformed("not a checksum line"));
    }
    let separator = match form {
        LineForm::BsdTag => ") = ",
        _ => ")= ",
    };
    let close = after_open
        .rfind(separator)
        .ok_or(LineProblem::Malformed("tagged line lacks \") = <digest>\""))?;
    let name = after_open.get(..close).unwrap_or_default();
    let hex = after_open
        .get(close + separator.len()..)
        .unwrap_or_default();
    let upper = algo.to_ascii_uppercase();
    match upper.as_str() {
        "SHA256" | "SHA2-256" | "SHA-256" => {}
        "MD5" | "SHA1" | "SHA-1" => {
            return Err(LineProblem::Algorithm {
                name: algo.to_owned(),
                weak: true,
            });
        }
        _ => {
            return Err(LineProblem::Algorithm {
                name: algo.to_owned(),
                weak: false,
            });
        }
    }
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineProblem::Malformed("digest is not hexadecimal"));
    }
    if hex.len() != 64 {
        return Err(LineProblem::DigestLength(hex.len()));
    }
    Ok((name, hex, form))
}

fn unescape(s: &str) -> Result<String, LineProblem> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => return Err(LineProblem::BadEscape),
        }
    }
    Ok(out)
}

/// Writes a checksum file in GNU text form, sorted by name bytes, escaping `\`, newline and
/// carriage return exactly as coreutils does, so `sha256sum -c --strict` accepts it.
pub fn write(entries: &BTreeMap<String, Sha256Digest>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 100);
    for (name, digest) in entries {
        let needs_escape = name.contains(['\\', '\n', '\r']);
        if needs_escape {
            out.push(b'\\');
        }
        out.extend_from_slice(digest.to_hex().as_bytes());
        out.extend_from_slice(b"  ");
        if needs_escape {
            for c in name.chars() {
                match c {
                    '\\' => out.extend_from_slice(b"\\\\"),
                    '\n' => out.extend_from_slice(b"\\n"),
                    '\r' => out.extend_from_slice(b"\\r"),
                    c => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
        } else {
            out.extend_from_slice(name.as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// The checks that judge a parsed file on its own: what was parsed, each refused line (a
/// failure when `strict`, else a warning), mixed forms and emptiness (always failures).
pub fn parse_checks(parsed: &ParsedSums, source: &str, strict: bool) -> Vec<Check> {
    let mut checks = Vec::new();
    for bad in &parsed.bad_lines {
        let code = match bad.problem {
            LineProblem::Algorithm { .. } => SUMS_ALGORITHM_UNSUPPORTED,
            _ => SUMS_LINE_MALFORMED,
        };
        let detail = format!("line {}: {}", bad.line, bad.problem);
        let check = if strict {
            Check::fail(code, detail)
        } else {
            Check::warn(code, format!("{detail} (ignored: not strict)"))
        };
        checks.push(check.with_path(source).with_line(bad.line));
    }
    if let Some((untagged, tagged)) = parsed.mixed_forms() {
        checks.push(
            Check::fail(
                SUMS_MIXED_FORMAT,
                format!(
                    "untagged line {untagged} and tagged line {tagged} in one file; a checksum file uses one form"
                ),
            )
            .with_path(source),
        );
    }
    if parsed.entries.is_empty() {
        checks.push(
            Check::fail(SUMS_EMPTY, "the checksum file lists no SHA-256 entries").with_path(source),
        );
    } else {
        let forms: Vec<&str> = parsed.forms().iter().map(|f| f.as_str()).collect();
        checks.push(
            Check::pass(
                SUMS_PARSED,
                format!(
                    "{} entries ({}{})",
                    parsed.entries.len(),
                    forms.join(", "),
                    if parsed.crlf { ", CRLF line ends" } else { "" }
                ),
            )
            .with_path(source)
            .with("entries", parsed.entries.len()),
        );
    }
    checks
}

/// How to verify a directory against a checksum file.
#[derive(Clone, Copy)]
pub struct TreeOptions<'a> {
    /// Skip (rather than fail) listed files that do not exist.
    pub ignore_missing: bool,
    /// Relative paths that may exist without being listed.
    pub allow_unlisted: &'a [String],
    /// Says which relative paths are verification metadata (checksum, signature, attestation
    /// files); those need not be listed and are reported as metadata.
    pub is_metadata: &'a (dyn Fn(&str) -> bool + Sync),
    /// Limits.
    pub limits: SumsLimits,
    /// Receives hashing progress.
    pub progress: &'a dyn Progress,
}

impl std::fmt::Debug for TreeOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeOptions")
            .field("ignore_missing", &self.ignore_missing)
            .field("allow_unlisted", &self.allow_unlisted)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Result of verifying a directory: the checks, and each listed file that matched.
#[derive(Debug, Default)]
pub struct TreeVerification {
    /// The checks, in a stable order (listing problems, then entries in file order, then
    /// unlisted files in path order).
    pub checks: Vec<Check>,
    /// Listed files whose digest matched, by path.
    pub matched: BTreeMap<ArtifactPath, HashedFile>,
    /// Metadata files found (unlisted, exempt).
    pub metadata_found: Vec<String>,
}

/// Verifies `root` against `parsed`: every entry's digest, exact coverage of every regular file
/// at any depth, and no symlinks, specials or hard links anywhere (none is ever followed).
///
/// Errors only when the root itself cannot be listed; everything else is a check.
pub fn verify_tree(
    root: &Path,
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
) -> Result<TreeVerification, TreeError> {
    let listing = tree::list_tree(root, PathRules::Posix, opts.limits.max_entries)?;
    let mut out = TreeVerification::default();

    // 1. The listing itself: anything unlisted-able or unsafe on disk.
    for problem in &listing.problems {
        out.checks.push(
            Check::fail(
                SUMS_TREE_INCOMPLETE,
                format!("could not list part of the directory: {}", problem.message),
            )
            .with_path(&problem.display),
        );
    }
    if listing.truncated {
        out.checks.push(Check::fail(
            SUMS_TREE_INCOMPLETE,
            format!(
                "the directory has more than {} entries; raise the entry limit to verify it",
                opts.limits.max_entries
            ),
        ));
    }
    let mut on_disk: HashMap<&str, &tree::TreeEntry> = HashMap::new();
    for entry in &listing.entries {
        match &entry.path {
            Ok(p) => {
                on_disk.insert(p.as_str(), entry);
            }
            Err(e) => out.checks.push(
                Check::fail(
                    SUMS_TREE_INCOMPLETE,
                    format!("name on disk is not an acceptable path: {e}"),
                )
                .with_path(&entry.display),
            ),
        }
        match entry.kind {
            EntryKind::Symlink => out.checks.push(
                Check::fail(
                    SUMS_SYMLINK,
                    "symbolic link in the directory; links are never followed",
                )
                .with_path(&entry.display),
            ),
            EntryKind::Special => out.checks.push(
                Check::fail(SUMS_SPECIAL_FILE, "device, FIFO or socket in the directory")
                    .with_path(&entry.display),
            ),
            EntryKind::File if entry.nlink > 1 => out.checks.push(
                Check::fail(
                    SUMS_HARDLINK,
                    format!(
                        "file has {} hard links; its content can change from elsewhere",
                        entry.nlink
                    ),
                )
                .with_path(&entry.display),
            ),
            _ => {}
        }
    }

    // 2. The entries: path rules, duplicates and collisions, presence.
    let mut names = PathSet::new();
    let mut jobs: Vec<(usize, ArtifactPath, HashJob)> = Vec::new();
    let mut listed: HashMap<&str, ()> = HashMap::new();
    for (index, entry) in parsed.entries.iter().enumerate() {
        let shown = printable(&entry.name).into_owned();
        let path = match ArtifactPath::parse_with(&entry.name, PathRules::Posix) {
            Ok(p) => p,
            Err(e) => {
                out.checks.push(
                    Check::fail(SUMS_PATH_UNSAFE, format!("listed name refused: {e}"))
                        .with_path(shown)
                        .with_line(entry.line),
                );
                continue;
            }
        };
        match names.insert(path.as_str()) {
            None => {}
            Some(Clash::Duplicate) => {
                out.checks.push(
                    Check::fail(SUMS_ENTRY_DUPLICATE, "name is listed more than once")
                        .with_path(shown)
                        .with_line(entry.line),
                );
                continue;
            }
            Some(Clash::Collides { with } | Clash::FileAndFolder { with }) => {
                out.checks.push(
                    Check::fail(
                        SUMS_ENTRY_COLLISION,
                        format!(
                            "name collides with {:?} after Unicode normalisation and case folding",
                            printable(&with)
                        ),
                    )
                    .with_path(shown)
                    .with_line(entry.line),
                );
                continue;
            }
        }
        listed.insert(entry.name.as_str(), ());
        match on_disk.get(path.as_str()) {
            Some(found) if found.kind == EntryKind::File => {
                jobs.push((
                    index,
                    path,
                    HashJob {
                        path: found.disk_path.clone(),
                        expect_id: Some(found.id),
                    },
                ));
            }
            Some(found) if found.kind != EntryKind::Dir => {
                // Symlinks and specials already failed above; they are never read.
                out.checks.push(
                    Check::fail(
                        SUMS_ENTRY_MISSING,
                        format!(
                            "listed file is a {}, not a regular file",
                            found.kind.as_str()
                        ),
                    )
                    .with_path(shown)
                    .with_line(entry.line),
                );
            }
            other => {
                let what = if other.is_some() {
                    "listed file is a directory, not a regular file"
                } else {
                    "listed file does not exist"
                };
                let check = if opts.ignore_missing {
                    Check::skip(
                        SUMS_ENTRY_MISSING,
                        format!("{what} (ignored: --ignore-missing)"),
                    )
                } else {
                    Check::fail(SUMS_ENTRY_MISSING, what)
                };
                out.checks
                    .push(check.with_path(shown).with_line(entry.line));
            }
        }
    }

    // 3. Hash every present entry, in parallel, binding each open to the inode listed.
    let hash_jobs: Vec<HashJob> = jobs.iter().map(|(_, _, j)| j.clone()).collect();
    let results = hash::hash_files(&hash_jobs, opts.limits.max_file_bytes, opts.progress);
    for ((index, path, _), result) in jobs.into_iter().zip(results) {
        let Some(entry) = parsed.entries.get(index) else {
            continue;
        };
        let shown = printable(path.as_str()).into_owned();
        match result {
            Ok(h) if h.digest == entry.digest => {
                out.checks.push(
                    Check::pass(SUMS_ENTRY_MATCH, format!("{} bytes, {}", h.size, h.digest))
                        .with_path(shown)
                        .with_line(entry.line),
                );
                out.matched.insert(path, h);
            }
            Ok(h) => out.checks.push(
                Check::fail(
                    SUMS_ENTRY_MISMATCH,
                    "content does not match the listed digest",
                )
                .with_path(shown)
                .with_line(entry.line)
                .with("expected", entry.digest.to_string())
                .with("actual", h.digest.to_string()),
            ),
            Err(HashError::TooLarge { limit, .. }) => out.checks.push(
                Check::fail(
                    crate::report::codes::INPUT_TOO_LARGE,
                    format!("file is larger than the limit of {limit} bytes"),
                )
                .with_path(shown)
                .with_line(entry.line),
            ),
            Err(e) => out.checks.push(
                Check::fail(SUMS_ENTRY_UNREADABLE, e.to_string())
                    .with_path(shown)
                    .with_line(entry.line),
            ),
        }
    }

    // 4. Exact coverage: every regular file is listed, allowed, or metadata.
    for entry in &listing.entries {
        let (Ok(path), EntryKind::File) = (&entry.path, entry.kind) else {
            continue;
        };
        let name = path.as_str();
        if listed.contains_key(name) {
            continue;
        }
        let shown = printable(name).into_owned();
        if (opts.is_metadata)(name) {
            out.checks.push(
                Check::skip(SUMS_METADATA_FILE, "verification metadata, not an asset")
                    .with_path(shown),
            );
            out.metadata_found.push(name.to_owned());
        } else if opts.allow_unlisted.iter().any(|m| m == name) {
            out.checks.push(
                Check::skip(SUMS_FILE_UNLISTED, "not listed (allowed: --allow-unlisted)")
                    .with_path(shown),
            );
        } else {
            out.checks.push(
                Check::fail(
                    SUMS_FILE_UNLISTED,
                    "file is present but not listed in the checksum file",
                )
                .with_path(shown),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::NoProgress;
    use proptest::prelude::*;

    const H1: &str = "656c10d88c33e9d74f9336f065573b6571ada223ea8e20d114b8f6d8e5f28461";
    const H2: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parse_ok(text: &str) -> ParsedSums {
        parse(text.as_bytes(), &SumsLimits::default()).unwrap()
    }

    #[test]
    fn every_line_form_is_parsed() {
        let cases = [
            (format!("{H1}  plain.bin"), "plain.bin", LineForm::GnuText),
            (format!("{H1} *plain.bin"), "plain.bin", LineForm::GnuBinary),
            (
                format!("SHA256 (plain.bin) = {H1}"),
                "plain.bin",
                LineForm::BsdTag,
            ),
            (
                format!("SHA256(plain.bin)= {H1}"),
                "plain.bin",
                LineForm::OpenSsl,
            ),
            (
                format!("SHA2-256(plain.bin)= {H1}"),
                "plain.bin",
                LineForm::OpenSsl,
            ),
            (
                format!("{H1}  name with space.txt"),
                "name with space.txt",
                LineForm::GnuText,
            ),
            (
                format!("\\{H1}  back\\\\slash"),
                "back\\slash",
                LineForm::GnuText,
            ),
            (
                format!("\\{H1}  new\\nline\\r"),
                "new\nline\r",
                LineForm::GnuText,
            ),
            (
                format!("\\SHA256 (a\\\\b) = {H1}"),
                "a\\b",
                LineForm::BsdTag,
            ),
            (
                format!("SHA256 (odd) = (x)) = {H1}"),
                "odd) = (x)",
                LineForm::BsdTag,
            ),
            (
                format!("{}  ./sub/x", H1.to_uppercase()),
                "sub/x",
                LineForm::GnuText,
            ),
        ];
        for (line, name, form) in cases {
            let p = parse_ok(&line);
            assert_eq!(p.bad_lines, vec![], "{line}");
            assert_eq!(p.entries.len(), 1);
            assert_eq!(p.entries[0].name, name, "{line}");
            assert_eq!(p.entries[0].form, form, "{line}");
            assert_eq!(p.entries[0].digest.to_hex(), H1);
        }
    }

    #[test]
    fn comments_blank_lines_and_crlf_are_handled() {
        let p = parse_ok(&format!("# generated\r\n\r\n{H1}  a\r\n  \n{H2}  b\r\n"));
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.ignored_lines, 3);
        assert!(p.crlf);
        assert_eq!(p.entries[1].line, 5);
        assert_eq!(p.entries[1].name, "b");
    }

    #[test]
    fn malformed_lines_are_reported_with_their_numbers() {
        let text = format!(
            "{H1}  ok\n{H1} single-space\n{}  short\nSHA512 (x) = {H1}\nMD5 (x) = {}\n\\{H1}  bad\\tescape\n{H1}  \nSHA256 (x) = {}\ngarbage\n",
            &H1[..40],
            &H1[..32],
            &H1[..63]
        );
        let p = parse_ok(&text);
        assert_eq!(p.entries.len(), 1);
        let got: Vec<(u64, LineProblem)> = p
            .bad_lines
            .iter()
            .map(|b| (b.line, b.problem.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    2,
                    LineProblem::Malformed(
                        "expected two spaces or \" *\" between digest and file name"
                    )
                ),
                (3, LineProblem::DigestLength(40)),
                (
                    4,
                    LineProblem::Algorithm {
                        name: "SHA512".into(),
                        weak: false
                    }
                ),
                (
                    5,
                    LineProblem::Algorithm {
                        name: "MD5".into(),
                        weak: true
                    }
                ),
                (6, LineProblem::BadEscape),
                (7, LineProblem::Malformed("file name is empty")),
                (8, LineProblem::DigestLength(63)),
                (9, LineProblem::Malformed("not a checksum line")),
            ]
        );
        let checks = parse_checks(&p, "SHA256SUMS", true);
        assert!(
            checks
                .iter()
                .filter(|c| c.status == crate::report::Status::Fail)
                .count()
                == 8
        );
        assert!(
            checks
                .iter()
                .any(|c| c.is(SUMS_ALGORITHM_UNSUPPORTED) && c.line == Some(5))
        );
        let lenient = parse_checks(&p, "SHA256SUMS", false);
        assert!(
            lenient
                .iter()
                .all(|c| c.status != crate::report::Status::Fail)
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = SumsLimits {
            max_bytes: 10,
            ..SumsLimits::default()
        };
        assert_eq!(
            parse(&[b'a'; 11], &limits),
            Err(SumsError::TooLarge { limit: 10 })
        );
        let limits = SumsLimits {
            max_line_bytes: 70,
            ..SumsLimits::default()
        };
        let p = parse(format!("{H1}  {}\n", "x".repeat(10)).as_bytes(), &limits).unwrap();
        assert!(matches!(
            p.bad_lines[0].problem,
            LineProblem::TooLong { len: 76, limit: 70 }
        ));
        let limits = SumsLimits {
            max_entries: 1,
            ..SumsLimits::default()
        };
        assert_eq!(
            parse(format!("{H1}  a\n{H1}  b\n").as_bytes(), &limits),
            Err(SumsError::TooManyEntries { limit: 1 })
        );
    }

    #[test]
    fn mixed_and_empty_files_fail() {
        let p = parse_ok(&format!("{H1}  a\nSHA256 (b) = {H2}\n"));
        assert_eq!(p.mixed_forms(), Some((1, 2)));
        let checks = parse_checks(&p, "S", true);
        assert!(checks.iter().any(|c| c.is(SUMS_MIXED_FORMAT)));
        let empty = parse_ok("# nothing here\n");
        let checks = parse_checks(&empty, "S", true);
        assert!(
            checks
                .iter()
                .any(|c| c.is(SUMS_EMPTY) && c.status == crate::report::Status::Fail)
        );
        assert!(parse_ok("").entries.is_empty());
    }

    #[test]
    fn non_utf8_line_is_malformed_not_fatal() {
        let mut bytes = format!("{H1}  a\n").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let p = parse(&bytes, &SumsLimits::default()).unwrap();
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.bad_lines[0].problem, LineProblem::NotUtf8);
    }

    #[test]
    fn writer_sorts_by_bytes_and_escapes_like_coreutils() {
        let d = Sha256Digest::from_hex(H1).unwrap();
        let mut m = BTreeMap::new();
        m.insert("b".to_owned(), d);
        m.insert("a\\b".to_owned(), d);
        m.insert("Z".to_owned(), d);
        m.insert("new\nline".to_owned(), d);
        let text = String::from_utf8(write(&m)).unwrap();
        assert_eq!(
            text,
            format!("{H1}  Z\n\\{H1}  a\\\\b\n{H1}  b\n\\{H1}  new\\nline\n")
        );
    }

    fn opts<'a>(allow: &'a [String], meta: &'a (dyn Fn(&str) -> bool + Sync)) -> TreeOptions<'a> {
        TreeOptions {
            ignore_missing: false,
            allow_unlisted: allow,
            is_metadata: meta,
            limits: SumsLimits::default(),
            progress: &NoProgress,
        }
    }

    #[test]
    fn tree_verification_covers_nested_files_links_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("a"), b"a").unwrap();
        std::fs::write(root.join("sub/hidden"), b"h").unwrap();
        std::fs::write(root.join("sub/b"), b"b").unwrap();
        std::fs::write(root.join("SHA256SUMS"), b"").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), Sha256Digest::of(b"a"));
        m.insert("sub/b".to_owned(), Sha256Digest::of(b"tampered"));
        m.insert("gone".to_owned(), Sha256Digest::of(b""));
        let parsed = parse(&write(&m), &SumsLimits::default()).unwrap();
        let v = verify_tree(root, &parsed, &opts(&[], &|n| n == "SHA256SUMS")).unwrap();
        let codes: Vec<(&str, Option<&str>)> = v
            .checks
            .iter()
            .map(|c| (c.code.as_ref(), c.path.as_deref()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("sums-symlink", Some("link")),
                ("sums-entry-missing", Some("gone")),
                ("sums-entry-match", Some("a")),
                ("sums-entry-mismatch", Some("sub/b")),
                ("sums-metadata-file", Some("SHA256SUMS")),
                ("sums-file-unlisted", Some("sub/hidden")),
            ]
        );
        assert_eq!(v.matched.len(), 1);
        assert_eq!(v.metadata_found, vec!["SHA256SUMS".to_owned()]);
    }

    #[test]
    fn duplicates_collisions_and_escapes_fail_and_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"a").unwrap();
        let text = format!(
            "{h}  a\n{h}  a\n{h}  A\n{h}  ../outside\n{h}  /etc/passwd\n",
            h = Sha256Digest::of(b"a").to_hex()
        );
        let parsed = parse_ok(&text);
        let v = verify_tree(dir.path(), &parsed, &opts(&[], &|_| false)).unwrap();
        let codes: Vec<&str> = v.checks.iter().map(|c| c.code.as_ref()).collect();
        assert_eq!(
            codes,
            vec![
                "sums-entry-duplicate",
                "sums-entry-collision",
                "sums-path-unsafe",
                "sums-path-unsafe",
                "sums-entry-match"
            ]
        );
    }

    #[test]
    fn hard_links_and_fifos_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"a").unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        let text = format!(
            "{h}  a\n{h}  b\n{h}  fifo\n",
            h = Sha256Digest::of(b"a").to_hex()
        );
        let v = verify_tree(dir.path(), &parse_ok(&text), &opts(&[], &|_| false)).unwrap();
        let failing: Vec<(&str, &str)> = v
            .checks
            .iter()
            .filter(|c| c.status == crate::report::Status::Fail)
            .map(|c| (c.code.as_ref(), c.path.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            failing,
            vec![
                ("sums-hardlink", "a"),
                ("sums-hardlink", "b"),
                ("sums-special-file", "fifo"),
                ("sums-entry-missing", "fifo"),
            ]
        );
    }

    #[test]
    fn relaxations_are_explicit_and_reported_as_skips() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"a").unwrap();
        std::fs::write(dir.path().join("extra"), b"x").unwrap();
        let text = format!("{}  a\n{}  gone\n", Sha256Digest::of(b"a").to_hex(), H2);
        let allow = vec!["extra".to_owned()];
        let mut o = opts(&allow, &|_| false);
        o.ignore_missing = true;
        let v = verify_tree(dir.path(), &parse_ok(&text), &o).unwrap();
        assert!(
            v.checks
                .iter()
                .all(|c| c.status != crate::report::Status::Fail)
        );
        assert!(
            v.checks
                .iter()
                .any(|c| c.is(SUMS_ENTRY_MISSING) && c.status == crate::report::Status::Skip)
        );
        assert!(
            v.checks
                .iter()
                .any(|c| c.is(SUMS_FILE_UNLISTED) && c.status == crate::report::Status::Skip)
        );
    }

    proptest! {
        #[test]
        fn write_then_parse_round_trips(names in proptest::collection::btree_set("[a-z\\\\\n\r ./()=*-]{1,12}", 1..8)) {
            let mut m = BTreeMap::new();
            for (i, n) in names.iter().enumerate() {
                if n.starts_with("./") || n.trim().is_empty() || n.trim_start().starts_with('#') {
                    continue;
                }
                m.insert(n.clone(), Sha256Digest::from_bytes([i as u8; 32]));
            }
            let parsed = parse(&write(&m), &SumsLimits::default()).unwrap();
            prop_assert_eq!(parsed.bad_lines.clone(), vec![]);
            let back: BTreeMap<String, Sha256Digest> =
                parsed.entries.iter().map(|e| (e.name.clone(), e.digest)).collect();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes, &SumsLimits::default());
        }
    }
}
