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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use crate::digest::Sha256Digest;
use crate::hash::{self, FileId, HashError, HashJob, HashedFile, Progress};
use crate::path::{ArtifactPath, Clash, PathError, PathRules, PathSet, collision_key_cow};
use crate::report::{Check, check_codes};
use crate::text::printable;
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
    /// Refused lines reported one by one; the rest are counted in one check.
    pub max_bad_lines_shown: usize,
}

/// Default number of refused lines reported one by one.
pub const DEFAULT_MAX_BAD_LINES_SHOWN: usize = 1_000;

impl Default for SumsLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_SUMS_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_file_bytes: hash::DEFAULT_MAX_FILE_BYTES,
            max_bad_lines_shown: DEFAULT_MAX_BAD_LINES_SHOWN,
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
    /// Refused lines in file order, the first [`SumsLimits::max_bad_lines_shown`] of them.
    pub bad_lines: Vec<BadLine>,
    /// Refused lines beyond those kept in `bad_lines` (a file of garbage costs a count, not
    /// a check per line).
    pub bad_lines_omitted: u64,
    /// Number of `#` comment and blank lines.
    pub ignored_lines: u64,
    /// True if any line ended in CRLF.
    pub crlf: bool,
}

impl ParsedSums {
    /// Keeps a refused line, or counts it once enough are kept.
    fn push_bad(&mut self, bad: BadLine, limits: &SumsLimits) {
        if self.bad_lines.len() < limits.max_bad_lines_shown {
            self.bad_lines.push(bad);
        } else {
            self.bad_lines_omitted += 1;
        }
    }

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
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(ParsedSums::default());
    }
    // Large files are cut at line boundaries into chunks parsed in parallel; each chunk knows
    // the number of its first line, so results are identical to a sequential parse.
    let mut chunks: Vec<(u64, &[u8])> = Vec::new();
    let mut rest = body;
    let mut first_line = 1u64;
    loop {
        let cut = rest
            .get(PARSE_CHUNK..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
            .map(|i| i + PARSE_CHUNK);
        match cut.and_then(|c| Some((rest.get(..c)?, rest.get(c + 1..)?))) {
            Some((chunk, tail)) => {
                chunks.push((first_line, chunk));
                first_line += chunk.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                rest = tail;
            }
            None => {
                chunks.push((first_line, rest));
                break;
            }
        }
    }
    let parts: Vec<Result<ParsedSums, SumsError>> = chunks
        .par_iter()
        .map(|&(first, chunk)| parse_chunk(chunk, first, limits))
        .collect();
    let mut out = ParsedSums::default();
    for part in parts {
        let part = part?;
        if out.entries.len() + part.entries.len() > limits.max_entries {
            return Err(SumsError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        if out.entries.is_empty() {
            out.entries = part.entries;
        } else {
            out.entries.extend(part.entries);
        }
        for bad in part.bad_lines {
            out.push_bad(bad, limits);
        }
        out.bad_lines_omitted += part.bad_lines_omitted;
        out.ignored_lines += part.ignored_lines;
        out.crlf |= part.crlf;
    }
    Ok(out)
}

/// Bytes per parallel parsing chunk.
const PARSE_CHUNK: usize = 512 << 10;

/// Parses the lines of `body` (no trailing newline), numbering them from `first_line`.
fn parse_chunk(body: &[u8], first_line: u64, limits: &SumsLimits) -> Result<ParsedSums, SumsError> {
    let mut out = ParsedSums::default();
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = first_line + index as u64;
        let raw = match raw.strip_suffix(b"\r") {
            Some(r) => {
                out.crlf = true;
                r
            }
            None => raw,
        };
        if raw.len() > limits.max_line_bytes {
            out.push_bad(
                BadLine {
                    line: line_no,
                    problem: LineProblem::TooLong {
                        len: raw.len(),
                        limit: limits.max_line_bytes,
                    },
                },
                limits,
            );
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            out.push_bad(
                BadLine {
                    line: line_no,
                    problem: LineProblem::NotUtf8,
                },
                limits,
            );
            continue;
        };
        let content = text.trim_start();
        if content.is_empty() || content.starts_with('#') {
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
            Err(problem) => out.push_bad(
                BadLine {
                    line: line_no,
                    problem,
                },
                limits,
            ),
        }
    }
    Ok(out)
}

fn parse_line(text: &str) -> Result<(String, Sha256Digest, LineForm), LineProblem> {
    let (escaped, rest) = match text.strip_prefix('\\') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (raw_name, digest, form) = if let Some(untagged) = split_untagged_fast(rest) {
        untagged?
    } else if starts_with_hex_and_space(rest) {
        split_untagged(rest)?
    } else {
        split_tagged(rest)?
    };
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

/// The common case: exactly 64 hex digits, then a space. `None` if the line does not start
/// that way (the slower paths then say what is wrong with it).
fn split_untagged_fast(s: &str) -> Option<Result<(&str, Sha256Digest, LineForm), LineProblem>> {
    if s.as_bytes().get(64) != Some(&b' ') {
        return None;
    }
    let digest = Sha256Digest::from_hex(s.get(..64)?).ok()?;
    let rest = s.get(64..)?;
    Some(match name_after_digest(rest) {
        Ok((name, form)) => Ok((name, digest, form)),
        Err(e) => Err(e),
    })
}

fn name_after_digest(rest: &str) -> Result<(&str, LineForm), LineProblem> {
    if let Some(name) = rest.strip_prefix("  ") {
        Ok((name, LineForm::GnuText))
    } else if let Some(name) = rest.strip_prefix(" *") {
        Ok((name, LineForm::GnuBinary))
    } else {
        Err(LineProblem::Malformed(
            "expected two spaces or \" *\" between digest and file name",
        ))
    }
}

/// `<hex>  name` or `<hex> *name` where the fast path did not apply: report the digest length.
fn split_untagged(s: &str) -> Result<(&str, Sha256Digest, LineForm), LineProblem> {
    let hex_len = s.bytes().take_while(u8::is_ascii_hexdigit).count();
    let (hex, rest) = s
        .split_at_checked(hex_len)
        .ok_or(LineProblem::Malformed("bad digest"))?;
    let digest = Sha256Digest::from_hex(hex).map_err(|_| LineProblem::DigestLength(hex.len()))?;
    let (name, form) = name_after_digest(rest)?;
    Ok((name, digest, form))
}

/// `ALGO (name) = <hex>` (BSD) or `ALGO(name)= <hex>` (OpenSSL). The name is everything between
/// the first `(` and the last `) = ` / `)= ` (names are not escaped by OpenSSL and may contain
/// parentheses); the digest is what follows.
fn split_tagged(s: &str) -> Result<(&str, Sha256Digest, LineForm), LineProblem> {
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
    let digest = Sha256Digest::from_hex(hex).map_err(|_| LineProblem::DigestLength(hex.len()))?;
    Ok((name, digest, form))
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
///
/// [`parse`] removes one leading `./` from a name, so a name that itself starts with `./`
/// is written with one more (`././x`, the same file to `sha256sum`): every written file
/// parses back to exactly the entries written.
pub fn write(entries: &BTreeMap<String, Sha256Digest>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 100);
    for (name, digest) in entries {
        let needs_escape = name.contains(['\\', '\n', '\r']);
        if needs_escape {
            out.push(b'\\');
        }
        out.extend_from_slice(digest.to_hex().as_bytes());
        out.extend_from_slice(b"  ");
        if name.starts_with("./") {
            out.extend_from_slice(b"./");
        }
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
    if parsed.bad_lines_omitted > 0 {
        let detail = format!(
            "{} more refused lines, not listed one by one",
            parsed.bad_lines_omitted
        );
        let check = if strict {
            Check::fail(SUMS_LINE_MALFORMED, detail)
        } else {
            Check::warn(
                SUMS_LINE_MALFORMED,
                format!("{detail} (ignored: not strict)"),
            )
        };
        checks.push(
            check
                .with_path(source)
                .with("omitted", parsed.bad_lines_omitted),
        );
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

/// Result of verifying a directory (the checks go to the caller's list).
#[derive(Debug, Default)]
pub struct TreeVerification {
    /// Listed files whose digest matched, by path.
    pub matched: BTreeMap<ArtifactPath, HashedFile>,
    /// Metadata files found (unlisted, exempt).
    pub metadata_found: Vec<String>,
}

/// Verifies `root` against `parsed`: every entry's digest, exact coverage of every regular file
/// at any depth, and no symlinks, specials or hard links anywhere (none is ever followed).
/// Checks are appended to `checks` in a stable order: listing problems, entries in file order,
/// then unlisted files in path order.
///
/// Errors only when the root itself cannot be listed; everything else is a check.
pub fn verify_tree(
    root: &Path,
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
    checks: &mut Vec<Check>,
) -> Result<TreeVerification, TreeError> {
    let listing = list_for_sums(root, &opts.limits)?;
    Ok(verify_listing(listing, parsed, opts, checks))
}

/// Lists a directory the way [`verify_listing`] expects (POSIX name rules, entry limit).
pub fn list_for_sums(root: &Path, limits: &SumsLimits) -> Result<tree::Tree, TreeError> {
    tree::list_tree(root, PathRules::Posix, limits.max_entries)
}

/// [`verify_tree`] over a listing made earlier with [`list_for_sums`] (so listing can run in
/// parallel with parsing).
pub fn verify_listing(
    listing: tree::Tree,
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
    checks: &mut Vec<Check>,
) -> TreeVerification {
    let root = listing.root.clone();
    let mut out = TreeVerification::default();
    checks.reserve(parsed.entries.len() + listing.problems.len() + 8);
    listing_checks(&listing, opts.limits.max_entries, checks);

    // Entries: path rules, duplicates and collisions, presence. Each accepted entry that names
    // a regular file becomes a hash job bound to the identity the listing saw.
    let mut listed = vec![false; listing.entries.len()];
    let mut jobs: Vec<(usize, FileId)> = Vec::with_capacity(parsed.entries.len());
    {
        // Per-entry work that needs no shared state runs in parallel: the path check, the
        // collision key and the lookup in the (sorted) listing.
        let mut on_disk: HashMap<&str, usize> = HashMap::with_capacity(listing.entries.len());
        on_disk.extend(
            listing
                .entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.path.as_ref().ok().map(|p| (p.as_str(), i))),
        );
        let prepared: Vec<Prepared<'_>> = parsed
            .entries
            .par_iter()
            .map(|entry| {
                // DESIGN 4 rule 6: a listed name is checked as text before anything touches
                // the disk.
                ArtifactPath::check(&entry.name, PathRules::Posix)?;
                let found = on_disk.get(entry.name.as_str()).copied();
                Ok((collision_key_cow(&entry.name), found))
            })
            .collect();
        let mut names = PathSet::with_capacity(parsed.entries.len());
        for (index, (entry, prep)) in parsed.entries.iter().zip(prepared).enumerate() {
            let at = |check: Check| {
                check
                    .with_path(printable(&entry.name).into_owned())
                    .with_line(entry.line)
            };
            let (key, found) = match prep {
                Ok(p) => p,
                Err(e) => {
                    checks.push(at(Check::fail(
                        SUMS_PATH_UNSAFE,
                        format!("listed name refused: {e}"),
                    )));
                    continue;
                }
            };
            if let Some(clash) = names.insert_key(key, index) {
                let (Clash::SameKey { with } | Clash::FileAndFolder { with }) = clash;
                let other = parsed.entries.get(with).map_or("", |e| e.name.as_str());
                checks.push(at(if other == entry.name {
                    Check::fail(SUMS_ENTRY_DUPLICATE, "name is listed more than once")
                } else {
                    Check::fail(
                        SUMS_ENTRY_COLLISION,
                        format!(
                            "name collides with {:?} after Unicode normalisation and case folding",
                            printable(other)
                        ),
                    )
                }));
                continue;
            }
            if let Some(slot) = found.and_then(|i| listed.get_mut(i)) {
                *slot = true;
            }
            match found.and_then(|i| listing.entries.get(i)) {
                Some(e) if e.kind == EntryKind::File => jobs.push((index, e.id)),
                // Symlinks and specials already failed in the listing checks; never read.
                Some(e) if e.kind != EntryKind::Dir => checks.push(at(Check::fail(
                    SUMS_ENTRY_MISSING,
                    format!("listed file is a {}, not a regular file", e.kind.as_str()),
                ))),
                other => {
                    let what = if other.is_some() {
                        "listed file is a directory, not a regular file"
                    } else {
                        "listed file does not exist"
                    };
                    checks.push(at(if opts.ignore_missing {
                        Check::skip(
                            SUMS_ENTRY_MISSING,
                            format!("{what} (ignored: --ignore-missing)"),
                        )
                    } else {
                        Check::fail(SUMS_ENTRY_MISSING, what)
                    }));
                }
            }
        }
    }

    let mut coverage: Vec<Check> = Vec::new();
    // Exact coverage: every regular file is listed, allowed, or metadata. Judged now so the
    // listing can be dropped before hashing; reported after the entries.
    for (entry, _) in listing.entries.iter().zip(&listed).filter(|(_, l)| !**l) {
        let (Ok(path), EntryKind::File) = (&entry.path, entry.kind) else {
            continue;
        };
        let name = path.as_str();
        let shown = printable(name).into_owned();
        if (opts.is_metadata)(name) {
            coverage.push(
                Check::skip(SUMS_METADATA_FILE, "verification metadata, not an asset")
                    .with_path(shown),
            );
            out.metadata_found.push(name.to_owned());
        } else if opts.allow_unlisted.iter().any(|m| m == name) {
            coverage.push(
                Check::skip(SUMS_FILE_UNLISTED, "not listed (allowed: --allow-unlisted)")
                    .with_path(shown),
            );
        } else {
            coverage.push(
                Check::fail(
                    SUMS_FILE_UNLISTED,
                    "file is present but not listed in the checksum file",
                )
                .with_path(shown),
            );
        }
    }

    drop(listed);
    drop(listing);

    // Hash every present entry in parallel; each open is bound to the listed inode and must
    // be the file's only link.
    let results = hash::hash_files(
        &jobs,
        |&(index, id)| HashJob {
            path: root.join(parsed.entries.get(index).map_or("", |e| e.name.as_str())),
            expect_id: Some(id),
            single_link: true,
        },
        opts.limits.max_file_bytes,
        opts.progress,
    );
    // Judging is independent per entry: write the checks in place, on all cores.
    checks.par_extend(jobs.par_iter().zip(&results).map(|(&(index, _), result)| {
        let Some(entry) = parsed.entries.get(index) else {
            return Check::fail(SUMS_ENTRY_UNREADABLE, "internal: entry vanished");
        };
        judge(entry, result)
    }));
    let mut matched: Vec<(ArtifactPath, HashedFile)> = jobs
        .par_iter()
        .zip(&results)
        .filter_map(|(&(index, _), result)| {
            let entry = parsed.entries.get(index)?;
            match result {
                // Only names that passed `ArtifactPath::check` became jobs.
                Ok(h) if h.digest == entry.digest => {
                    Some((ArtifactPath::from_checked(entry.name.clone()), *h))
                }
                _ => None,
            }
        })
        .collect();
    drop(results);
    coverage.sort_by(|a, b| a.path.cmp(&b.path));
    out.metadata_found.sort();
    checks.append(&mut coverage);
    // Sorted input lets the map be bulk-built; sort on all cores.
    matched.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.matched = matched.into_iter().collect();
    out
}

/// The check for one hashed entry.
fn judge(entry: &SumsEntry, result: &Result<HashedFile, HashError>) -> Check {
    let check = match result {
        Ok(h) if h.digest == entry.digest => Check::pass(SUMS_ENTRY_MATCH, "digest matches"),
        Ok(h) => Check::fail(
            SUMS_ENTRY_MISMATCH,
            "content does not match the listed digest",
        )
        .with("expected", entry.digest.to_string())
        .with("actual", h.digest.to_string()),
        Err(HashError::TooLarge { limit, .. }) => Check::fail(
            crate::report::codes::INPUT_TOO_LARGE,
            format!("file is larger than the limit of {limit} bytes"),
        ),
        Err(HashError::HardLinked { nlink, .. }) => Check::fail(
            SUMS_HARDLINK,
            format!("file has {nlink} hard links; its content can change through another name"),
        ),
        Err(e) => Check::fail(SUMS_ENTRY_UNREADABLE, e.to_string()),
    };
    check
        .with_path(printable(&entry.name).into_owned())
        .with_line(entry.line)
}

/// An entry's collision key and its index in the listing (if present), or why its name is
/// refused.
type Prepared<'a> = Result<(Cow<'a, str>, Option<usize>), PathError>;

/// Failures found by listing alone: folders that could not be read, names that are not
/// acceptable paths, links and special files.
fn listing_checks(listing: &tree::Tree, max_entries: usize, checks: &mut Vec<Check>) {
    for problem in &listing.problems {
        checks.push(
            Check::fail(
                SUMS_TREE_INCOMPLETE,
                format!("could not list part of the directory: {}", problem.message),
            )
            .with_path(printable(&problem.display).into_owned()),
        );
    }
    if listing.truncated {
        checks.push(Check::fail(
            SUMS_TREE_INCOMPLETE,
            format!("the directory has more than {max_entries} entries; raise the entry limit to verify it"),
        ));
    }
    // The walk's order is the file system's; report in path order.
    let mut found = Vec::new();
    for entry in &listing.entries {
        let shown = || printable(entry.display()).into_owned();
        if let Err(bad) = &entry.path {
            found.push(
                Check::fail(
                    SUMS_TREE_INCOMPLETE,
                    format!("name on disk is not an acceptable path: {}", bad.error),
                )
                .with_path(shown()),
            );
        }
        match entry.kind {
            EntryKind::Symlink => found.push(
                Check::fail(
                    SUMS_SYMLINK,
                    "symbolic link in the directory; links are never followed",
                )
                .with_path(shown()),
            ),
            EntryKind::Special => found.push(
                Check::fail(SUMS_SPECIAL_FILE, "device, FIFO or socket in the directory")
                    .with_path(shown()),
            ),
            _ => {}
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    checks.append(&mut found);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::NoProgress;
    use proptest::prelude::*;

    /// A file of several parallel parsing chunks numbers lines, counts entries and applies
    /// limits exactly as one sequential pass would.
    #[test]
    fn a_tagged_line_without_a_proper_algorithm_word_is_not_a_checksum_line() {
        let hex = "ab".repeat(32);
        for line in [
            format!("(app) = {hex}\n"),
            format!("SH@256 (app) = {hex}\n"),
        ] {
            let parsed = parse(line.as_bytes(), &SumsLimits::default()).unwrap();
            assert_eq!(
                parsed.bad_lines,
                vec![BadLine {
                    line: 1,
                    problem: LineProblem::Malformed("not a checksum line")
                }],
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_chunk_ends_at_the_first_line_end_past_the_chunk_size() {
        // Lines of 77 bytes after a first line padded so that a line ends one byte past the
        // chunk size: the cut must fall on that line end, not inside the line.
        let line = |n: usize, pad: usize| format!("{n:064x}  f{n:08}{}\n", "p".repeat(pad));
        let full = line(0, 0).len();
        let lines_before = (PARSE_CHUNK + 2 - full) / full;
        let pad = PARSE_CHUNK + 2 - full * (lines_before + 1);
        let mut text = line(0, pad);
        for n in 1..=lines_before + 10 {
            text.push_str(&line(n, 0));
        }
        assert_eq!(text.as_bytes()[PARSE_CHUNK + 1], b'\n');
        let parsed = parse(text.as_bytes(), &SumsLimits::default()).unwrap();
        assert!(parsed.bad_lines.is_empty());
        assert_eq!(parsed.entries.len(), lines_before + 11);
        for (n, e) in parsed.entries.iter().enumerate() {
            let pad = if n == 0 { pad } else { 0 };
            assert_eq!(e.name, format!("f{n:08}{}", "p".repeat(pad)));
            assert_eq!(e.line, n as u64 + 1);
        }
    }

    #[test]
    fn large_files_parse_in_chunks_as_one_pass() {
        let lines = 25_000u64;
        let bad_at = 20_000u64;
        let mut text = String::new();
        for n in 1..=lines {
            if n == bad_at {
                text.push_str("not a checksum line\n");
            } else {
                text.push_str(&format!("{:064x}  file-{n:05}\n", n));
            }
        }
        assert!(text.len() > 3 * PARSE_CHUNK, "several chunks");
        let parsed = parse(text.as_bytes(), &SumsLimits::default()).unwrap();
        assert_eq!(parsed.entries.len() as u64, lines - 1);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].line, bad_at);
        for e in &parsed.entries {
            assert_eq!(
                e.name,
                format!("file-{:05}", e.line),
                "line numbers across chunks"
            );
        }
        assert_eq!(parsed.forms(), vec![LineForm::GnuText]);

        let len = text.len() as u64;
        let within = |max_bytes: u64, max_entries: usize| SumsLimits {
            max_bytes,
            max_entries,
            ..SumsLimits::default()
        };
        let entries = (lines - 1) as usize;
        assert!(parse(text.as_bytes(), &within(len, entries)).is_ok());
        assert_eq!(
            parse(text.as_bytes(), &within(len - 1, entries)),
            Err(SumsError::TooLarge { limit: len - 1 })
        );
        assert_eq!(
            parse(text.as_bytes(), &within(len, entries - 1)),
            Err(SumsError::TooManyEntries { limit: entries - 1 })
        );
    }

    #[test]
    fn line_limit_is_inclusive_and_a_bare_dot_slash_is_kept() {
        let line = format!("{}  name", "b".repeat(64));
        let limits = |max_line_bytes: usize| SumsLimits {
            max_line_bytes,
            ..SumsLimits::default()
        };
        let at = parse(line.as_bytes(), &limits(line.len())).unwrap();
        assert_eq!(at.entries.len(), 1);
        let over = parse(line.as_bytes(), &limits(line.len() - 1)).unwrap();
        assert!(matches!(
            over.bad_lines[0].problem,
            LineProblem::TooLong { len, .. } if len == line.len()
        ));
        // `./` alone is not stripped to an empty name: it stays, for path checks to refuse.
        let dot = parse(
            format!("{}  ./\n", "b".repeat(64)).as_bytes(),
            &SumsLimits::default(),
        )
        .unwrap();
        assert_eq!(dot.entries[0].name, "./");
    }

    #[test]
    fn the_parsed_check_names_each_form_found() {
        let hex = "a".repeat(64);
        let cases = [
            (format!("{hex}  x\n"), "1 entries (GNU text)"),
            (
                format!("{hex} *x\r\n"),
                "1 entries (GNU binary, CRLF line ends)",
            ),
            (format!("SHA256 (x) = {hex}\n"), "1 entries (BSD tag)"),
            (format!("SHA256(x)= {hex}\n"), "1 entries (OpenSSL)"),
        ];
        for (text, detail) in cases {
            let parsed = parse(text.as_bytes(), &SumsLimits::default()).unwrap();
            let checks = parse_checks(&parsed, "SHA256SUMS", true);
            let c = checks.iter().find(|c| c.is(SUMS_PARSED)).unwrap();
            assert_eq!(c.detail, detail);
        }
    }

    const H1: &str = "656c10d88c33e9d74f9336f065573b6571ada223ea8e20d114b8f6d8e5f28461";
    const H2: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parse_ok(text: &str) -> ParsedSums {
        parse(text.as_bytes(), &SumsLimits::default()).unwrap()
    }

    /// Found by the `sums_lines` fuzz target: the line `HEX  ././p-1.4..tar.gz\\\` parses
    /// to the name `./p-1.4..tar.gz\\\` (one `./` removed), which `write` wrote as it was,
    /// so parsing the written file removed a second `./` and changed the name.
    #[test]
    fn write_keeps_a_name_that_starts_with_dot_slash() {
        let input: &[u8] = b"SApp-1\x1a\x00\xff\xf6r.g\x01\x00%\xbb\x94rm63.targz\n9ebfa2391635c75d68cacd947aa2338317306p\\\\\\_64.yar.gzr.gz\n9ebfa2391635c75d68cacd947aa23383173067f2420dea5e4e8729f18f66c3cd  ././p-1.4..tar.gz\\\\\\";
        let parsed = parse(input, &SumsLimits::default()).unwrap();
        let entries: BTreeMap<String, Sha256Digest> = parsed
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.digest))
            .collect();
        assert_eq!(
            entries.keys().collect::<Vec<_>>(),
            ["./p-1.4..tar.gz\\\\\\"]
        );
        let written = write(&entries);
        let again = parse(&written, &SumsLimits::default()).unwrap();
        assert!(again.bad_lines.is_empty());
        let back: BTreeMap<String, Sha256Digest> = again
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.digest))
            .collect();
        assert_eq!(back, entries);
        assert_eq!(write(&back), written);
        // Names that are just `./`, or only start with a dot, are kept as they are.
        for name in ["./", ".x", "../x", "a/./b"] {
            let one = BTreeMap::from([(name.to_owned(), Sha256Digest::of(b""))]);
            let parsed = parse(&write(&one), &SumsLimits::default()).unwrap();
            assert_eq!(parsed.entries[0].name, name);
        }
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
        let mut checks = Vec::new();
        let v = verify_tree(
            root,
            &parsed,
            &opts(&[], &|n| n == "SHA256SUMS"),
            &mut checks,
        )
        .unwrap();
        let codes: Vec<(&str, Option<&str>)> = checks
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
    fn listed_links_and_folders_are_named_for_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("folder")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();
        let mut m = BTreeMap::new();
        m.insert("folder".to_owned(), Sha256Digest::of(b""));
        m.insert("link".to_owned(), Sha256Digest::of(b""));
        let parsed = parse(&write(&m), &SumsLimits::default()).unwrap();
        for ignore_missing in [false, true] {
            let mut checks = Vec::new();
            let tree_opts = TreeOptions {
                ignore_missing,
                ..opts(&[], &|_| false)
            };
            verify_tree(root, &parsed, &tree_opts, &mut checks).unwrap();
            let listed: Vec<(&str, crate::Status, &str)> = checks
                .iter()
                .filter(|c| c.is(SUMS_ENTRY_MISSING))
                .map(|c| (c.path.as_deref().unwrap_or(""), c.status, &c.detail[..]))
                .collect();
            // A folder counts as missing (so --ignore-missing applies); a link never does.
            let folder = if ignore_missing {
                (
                    crate::Status::Skip,
                    "listed file is a directory, not a regular file (ignored: --ignore-missing)",
                )
            } else {
                (
                    crate::Status::Fail,
                    "listed file is a directory, not a regular file",
                )
            };
            assert_eq!(
                listed,
                vec![
                    ("folder", folder.0, folder.1),
                    (
                        "link",
                        crate::Status::Fail,
                        "listed file is a symbolic link, not a regular file"
                    ),
                ]
            );
        }
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
        let mut checks = Vec::new();
        verify_tree(dir.path(), &parsed, &opts(&[], &|_| false), &mut checks).unwrap();
        let codes: Vec<&str> = checks.iter().map(|c| c.code.as_ref()).collect();
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
        let mut checks = Vec::new();
        verify_tree(
            dir.path(),
            &parse_ok(&text),
            &opts(&[], &|_| false),
            &mut checks,
        )
        .unwrap();
        let failing: Vec<(&str, &str)> = checks
            .iter()
            .filter(|c| c.status == crate::report::Status::Fail)
            .map(|c| (c.code.as_ref(), c.path.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            failing,
            vec![
                ("sums-special-file", "fifo"),
                ("sums-entry-missing", "fifo"),
                ("sums-hardlink", "a"),
                ("sums-hardlink", "b"),
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
        let mut checks = Vec::new();
        verify_tree(dir.path(), &parse_ok(&text), &o, &mut checks).unwrap();
        assert!(
            checks
                .iter()
                .all(|c| c.status != crate::report::Status::Fail)
        );
        assert!(
            checks
                .iter()
                .any(|c| c.is(SUMS_ENTRY_MISSING) && c.status == crate::report::Status::Skip)
        );
        assert!(
            checks
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

    #[test]
    fn a_file_of_garbage_costs_a_count_not_a_check_per_line() {
        let garbage = "x\n".repeat(10_000);
        let parsed = parse(garbage.as_bytes(), &SumsLimits::default()).unwrap();
        assert_eq!(parsed.bad_lines.len(), DEFAULT_MAX_BAD_LINES_SHOWN);
        assert_eq!(parsed.bad_lines_omitted, 9_000);
        let checks = parse_checks(&parsed, "SHA256SUMS", true);
        assert_eq!(
            checks.len(),
            DEFAULT_MAX_BAD_LINES_SHOWN + 2,
            "lines, the rest, empty"
        );
        let rest = checks
            .iter()
            .find(|c| c.data.get("omitted").is_some())
            .unwrap();
        assert!(rest.is(codes::SUMS_LINE_MALFORMED));
        assert_eq!(rest.status, crate::report::Status::Fail);
        assert!(checks.iter().any(|c| c.is(codes::SUMS_EMPTY)));
    }
}
