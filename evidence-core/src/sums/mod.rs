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

use std::collections::BTreeMap;

use crate::digest::Sha256Digest;
use crate::hash;
use crate::report::check_codes;

mod listing;
mod parse;

pub use listing::{TreeOptions, TreeVerification, list_for_sums, verify_listing, verify_tree};
pub use parse::{parse, parse_checks};

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

#[cfg(test)]
mod tests;
