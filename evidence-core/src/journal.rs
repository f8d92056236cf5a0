//! JSONL journals: line-by-line verification, sealing with a hash chain, and checking that a
//! later version of a sealed journal only appended to it (`docs/FORMAT.md` section 11).
//!
//! - [`verify_path`] / [`verify_reader`] stream a journal once: every line must be a JSON
//!   object (strict: duplicate member names refused at any depth), no line longer than the
//!   limit, no value of a unique-key member repeated. The first bad line is reported with its
//!   line number, byte offset and reason; later bad lines are counted, not reported one by one.
//! - [`seal::seal`] verifies a journal and, in the same single read, computes the hash chain
//!   and its checkpoints; it writes them as `seal.json` in a signed evidence bundle of kind
//!   `journal-seal`.
//! - [`seal::check_append`] verifies a seal bundle against the caller's trust policy, then
//!   streams the journal: it must begin with exactly the sealed content. It reports what was
//!   appended, or the interval of lines in which history was rewritten, or a truncation.
//!
//! Memory does not grow with the journal: one buffer holds at most one line (the line limit
//! plus one read), the seal holds at most [`MAX_CHECKPOINTS`] checkpoints, and unique-key
//! tracking keeps a fixed-size fingerprint per distinct value under a hard limit.

pub mod chain;
pub mod envelope;
mod line;
mod lines;
pub mod root;
pub mod seal;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::digest::Sha256Hasher;
use crate::report::{Check, CheckCode, Report, Status, check_codes};
use line::{LineFault, Wanted};
use lines::{Line, LineReader};

pub use chain::{Checkpoint, Seal};

/// Default longest line, without its LF: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
/// Default deepest nesting of arrays and objects in a line (the line's object is depth 1).
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default most distinct unique-key values tracked in one run, over all unique keys: the
/// most a hash table of 2^23 slots of 25 bytes holds (7/8 of them), 200 MiB (300 MiB while
/// the table doubles into that size).
pub const DEFAULT_MAX_UNIQUE_VALUES: usize = 7_340_032;
/// Most distinct type names counted; lines of further types are counted together.
pub const MAX_TYPES: usize = 1024;
/// Longest type name counted, in bytes.
pub const MAX_TYPE_NAME_BYTES: usize = 128;
/// Most unique-key member names in one run.
pub const MAX_UNIQUE_KEYS: usize = 64;
/// Longest member name accepted as a unique key or type key, in bytes.
pub const MAX_KEY_NAME_BYTES: usize = 256;
/// Most checkpoints in a seal.
pub const MAX_CHECKPOINTS: u64 = 4096;
/// The type member read when the caller names none.
pub const DEFAULT_TYPE_KEY: &str = "type";
/// Report section of journal checks.
pub const SECTION: &str = "journal";

/// Check codes of journal verification, sealing and append checks.
pub mod codes {
    use super::check_codes;
    check_codes! {
        JOURNAL_LINES_VERIFIED = "journal-lines-verified":
            "How many lines are JSON objects, with counts per type and per unique key; zero good lines is a failure.";
        JOURNAL_LINE_TRUNCATED = "journal-line-truncated":
            "The last line has no newline and its JSON is incomplete: the writer stopped mid-line.";
        JOURNAL_LINE_NOT_UTF8 = "journal-line-not-utf8":
            "A line is not valid UTF-8.";
        JOURNAL_LINE_NOT_JSON = "journal-line-not-json":
            "A line is not JSON: a syntax error, an empty line, two values on one line, or nesting deeper than the limit.";
        JOURNAL_LINE_DUPLICATE_MEMBER = "journal-line-duplicate-member":
            "A line's JSON has the same member name twice in one object; readers disagree about which one counts.";
        JOURNAL_LINE_NOT_OBJECT = "journal-line-not-object":
            "A line is JSON but not an object (an array, string, number, boolean or null).";
        JOURNAL_LINE_TOO_LONG = "journal-line-too-long":
            "A line is longer than the line limit; it was measured and skipped, never held in memory.";
        JOURNAL_UNIQUE_KEY_DUPLICATE = "journal-unique-key-duplicate":
            "A line repeats the value a unique-key member (--unique-key) had on an earlier line.";
        JOURNAL_UNIQUE_KEY_ABSENT = "journal-unique-key-absent":
            "No good line has the unique-key member at all: nothing was checked for it (misspelt name?).";
        JOURNAL_FINAL_NEWLINE_MISSING = "journal-final-newline-missing":
            "The last line is complete JSON but has no newline; appending to it would change the line.";
        JOURNAL_SEALED = "journal-sealed":
            "The journal was sealed: lines, bytes, chain head and checkpoints written in a signed journal-seal bundle.";
        JOURNAL_SEAL_INVALID = "journal-seal-invalid":
            "The seal bundle verified, but it is not a valid journal seal: wrong kind, payload or seal.json schema, or a subject that disagrees with seal.json.";
        JOURNAL_PREFIX_INTACT = "journal-prefix-intact":
            "The journal begins with exactly the sealed content: the chain matches at every checkpoint and at the sealed line count.";
        JOURNAL_APPENDED = "journal-appended":
            "What was appended after the sealed content: lines, bytes and whether the appended lines verify.";
        JOURNAL_HISTORY_REWRITTEN = "journal-history-rewritten":
            "The chain differs from the seal at a checkpoint: a sealed line was changed, removed, inserted or moved within the reported interval.";
        JOURNAL_TRUNCATED = "journal-truncated":
            "The journal is shorter than the sealed content: sealed lines are missing from the end.";
    }
}

use codes::*;

/// Hard limits for reading a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalLimits {
    /// Longest line in bytes, without its LF.
    pub max_line_bytes: usize,
    /// Deepest nesting in a line.
    pub max_depth: usize,
    /// Most distinct unique-key values tracked (over all keys).
    pub max_unique_values: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_unique_values: DEFAULT_MAX_UNIQUE_VALUES,
        }
    }
}

/// How to verify a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalOptions {
    /// Top-level member names whose values must not repeat across lines.
    pub unique_keys: Vec<String>,
    /// The top-level member whose string value is a line's type, for the counts.
    pub type_key: String,
    /// Limits.
    pub limits: JournalLimits,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            unique_keys: Vec::new(),
            type_key: DEFAULT_TYPE_KEY.to_owned(),
            limits: JournalLimits::default(),
        }
    }
}

/// Why options were refused (a usage error, not a verdict about a journal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// Too many unique keys.
    #[error("at most {MAX_UNIQUE_KEYS} unique keys")]
    TooManyKeys,
    /// A key name is empty, too long or repeated.
    #[error("member name {0:?} is empty, longer than {MAX_KEY_NAME_BYTES} bytes or given twice")]
    BadKey(String),
    /// A limit is zero.
    #[error("limits must be positive")]
    ZeroLimit,
}

impl JournalOptions {
    /// Checks the option values themselves.
    pub fn check(&self) -> Result<(), OptionsError> {
        if self.unique_keys.len() > MAX_UNIQUE_KEYS {
            return Err(OptionsError::TooManyKeys);
        }
        let bad = |k: &String| k.is_empty() || k.len() > MAX_KEY_NAME_BYTES;
        for (i, k) in self.unique_keys.iter().enumerate() {
            if bad(k) || self.unique_keys.iter().take(i).any(|o| o == k) {
                return Err(OptionsError::BadKey(k.clone()));
            }
        }
        if bad(&self.type_key) {
            return Err(OptionsError::BadKey(self.type_key.clone()));
        }
        let l = &self.limits;
        if l.max_line_bytes == 0 || l.max_depth == 0 || l.max_unique_values == 0 {
            return Err(OptionsError::ZeroLimit);
        }
        Ok(())
    }
}

/// Why a line is bad, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BadLine {
    code: CheckCode,
    line: u64,
    offset: u64,
    detail: String,
    column: Option<u64>,
    /// For a repeated unique-key value: the key and the line where the value first appeared.
    repeat: Option<(String, u64)>,
}

/// Per unique key: what was seen.
#[derive(Debug, Clone, Copy, Default)]
struct KeyStats {
    distinct: u64,
    repeated: u64,
    absent: u64,
}

/// A fingerprint of one unique-key value: the first 16 bytes of SHA-256 over the key's
/// position and the value's comparison form (see `FORMAT.md` 11.2), stored as two words.
type Fingerprint = (u64, u64);

/// Counts lines, finds the first bad one and tracks unique values, one line at a time.
#[derive(Debug)]
pub(crate) struct Validator<'o> {
    opts: &'o JournalOptions,
    lines: u64,
    good: u64,
    bytes: u64,
    first_bad: Option<BadLine>,
    bad: u64,
    bad_by_code: BTreeMap<&'static str, u64>,
    types: HashMap<String, u64>,
    other_types: u64,
    untyped: u64,
    seen: HashMap<Fingerprint, u64>,
    keys: Vec<KeyStats>,
    unique_limit_hit: Option<u64>,
    final_newline_missing: bool,
    read_error: Option<String>,
}

impl<'o> Validator<'o> {
    pub(crate) fn new(opts: &'o JournalOptions) -> Self {
        Self {
            opts,
            lines: 0,
            good: 0,
            bytes: 0,
            first_bad: None,
            bad: 0,
            bad_by_code: BTreeMap::new(),
            types: HashMap::new(),
            other_types: 0,
            untyped: 0,
            seen: HashMap::new(),
            keys: vec![KeyStats::default(); opts.unique_keys.len()],
            unique_limit_hit: None,
            final_newline_missing: false,
            read_error: None,
        }
    }

    /// Judges one line; returns true if it is good.
    pub(crate) fn line(&mut self, line: &Line<'_>) -> bool {
        self.lines += 1;
        self.bytes += line.len;
        let number = self.lines;
        let verdict = match line.content {
            None => Err(BadLine {
                code: JOURNAL_LINE_TOO_LONG,
                line: number,
                offset: line.offset,
                detail: format!(
                    "line is {} bytes long; the limit is {} bytes",
                    line.len - u64::from(line.newline),
                    self.opts.limits.max_line_bytes
                ),
                column: None,
                repeat: None,
            }),
            Some(content) => self.judge(content, line, number),
        };
        match verdict {
            Ok(()) => {
                self.good += 1;
                if !line.newline {
                    self.final_newline_missing = true;
                }
                true
            }
            Err(bad) => {
                self.bad += 1;
                *self.bad_by_code.entry(bad.code.code).or_default() += 1;
                if self.first_bad.is_none() {
                    self.first_bad = Some(bad);
                }
                false
            }
        }
    }

    fn judge(&mut self, content: &[u8], line: &Line<'_>, number: u64) -> Result<(), BadLine> {
        let wanted = Wanted {
            type_key: &self.opts.type_key,
            unique_keys: &self.opts.unique_keys,
            max_depth: self.opts.limits.max_depth,
        };
        let facts = line::judge(content, !line.newline, &wanted)
            .map_err(|fault| fault_line(fault, line, number))?;
        self.record_unique(&facts.unique, line, number)?;
        self.count_type(facts.type_name);
        Ok(())
    }

    /// Records every present unique-key value of a line; the first repeat makes the line bad.
    fn record_unique(
        &mut self,
        values: &[Option<Value>],
        line: &Line<'_>,
        number: u64,
    ) -> Result<(), BadLine> {
        let mut repeat: Option<BadLine> = None;
        for (index, value) in values.iter().enumerate() {
            let Some(stats) = self.keys.get_mut(index) else {
                continue;
            };
            let value = match value {
                None | Some(Value::Null) => {
                    stats.absent += 1;
                    continue;
                }
                Some(v) => v,
            };
            let fingerprint = fingerprint(index, value);
            match self.seen.get(&fingerprint) {
                Some(&first) => {
                    stats.repeated += 1;
                    if repeat.is_none() {
                        let key = self
                            .opts
                            .unique_keys
                            .get(index)
                            .cloned()
                            .unwrap_or_default();
                        repeat = Some(BadLine {
                            code: JOURNAL_UNIQUE_KEY_DUPLICATE,
                            line: number,
                            offset: line.offset,
                            detail: format!(
                                "the value of {:?} repeats the one on line {first}",
                                crate::text::printable(&key)
                            ),
                            column: None,
                            repeat: Some((key, first)),
                        });
                    }
                }
                None if self.seen.len() >= self.opts.limits.max_unique_values => {
                    stats.distinct += 1;
                    self.unique_limit_hit.get_or_insert(number);
                }
                None => {
                    stats.distinct += 1;
                    self.seen.insert(fingerprint, number);
                }
            }
        }
        repeat.map_or(Ok(()), Err)
    }

    /// Counts a good line under its type, within the limits on type names.
    fn count_type(&mut self, type_name: Option<Cow<'_, str>>) {
        match type_name {
            Some(name) if name.len() <= MAX_TYPE_NAME_BYTES => {
                if let Some(n) = self.types.get_mut(name.as_ref()) {
                    *n += 1;
                } else if self.types.len() < MAX_TYPES {
                    self.types.insert(name.into_owned(), 1);
                } else {
                    self.other_types += 1;
                }
            }
            Some(_) => self.other_types += 1,
            None => self.untyped += 1,
        }
    }

    /// Records that reading stopped with an error.
    pub(crate) fn read_failed(&mut self, error: &std::io::Error) {
        self.read_error = Some(error.to_string());
    }

    /// Lines read so far.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes read so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True when reading stopped early, a line was bad, or nothing was read.
    pub(crate) fn is_clean(&self) -> bool {
        self.read_error.is_none()
            && self.bad == 0
            && self.good > 0
            && self.unique_limit_hit.is_none()
            && self.keys.iter().all(|k| k.distinct > 0 || k.repeated > 0)
    }

    /// Whether the last line lacked its LF.
    pub(crate) fn final_newline_missing(&self) -> bool {
        self.final_newline_missing
    }

    /// Writes the checks. `final_newline` is the status a missing final LF gets (a warning
    /// when verifying, a failure when sealing).
    pub(crate) fn finish(self, report: &mut Report, name: &str, final_newline: Status) {
        let (absent, unique) = self.unique_key_checks();
        let checks = [
            self.read_error_check(),
            self.first_bad_check(),
            self.final_newline_check(final_newline),
            self.unique_limit_check(),
        ];
        let summary = self.summary_check(unique);
        for check in checks.into_iter().flatten().chain(absent).chain([summary]) {
            report.push(check.with_path(name.to_owned()).in_section(SECTION));
        }
    }

    /// Where reading stopped with an error, if it did.
    fn read_error_check(&self) -> Option<Check> {
        let error = self.read_error.as_ref()?;
        Some(
            Check::fail(
                crate::report::codes::INPUT_UNREADABLE,
                format!("reading stopped after {} bytes: {error}", self.bytes),
            )
            .with("offset", self.bytes),
        )
    }

    /// The first bad line, with how many more follow.
    fn first_bad_check(&self) -> Option<Check> {
        let bad = self.first_bad.as_ref()?;
        let more = self.bad - 1;
        let mut detail = bad.detail.clone();
        if more > 0 {
            detail.push_str(&format!(" ({more} more bad lines follow)"));
        }
        let mut check = Check::fail(bad.code, detail)
            .with_line(bad.line)
            .with("offset", bad.offset)
            .with("more_bad_lines", more);
        if let Some(column) = bad.column {
            check = check.with("column", column);
        }
        if let Some((key, first)) = &bad.repeat {
            check = check.with("key", key.clone()).with("first_line", *first);
        }
        Some(check)
    }

    /// A last line without its LF, under the status the caller gives it.
    fn final_newline_check(&self, final_newline: Status) -> Option<Check> {
        if !self.final_newline_missing {
            return None;
        }
        let detail = match final_newline {
            Status::Fail => {
                "the last line has no newline; a journal is sealed only when it ends with one \
                 (a writer may still be appending, and the next append would change the line)"
            }
            _ => "the last line is complete JSON but has no newline",
        };
        Some(Check::new(JOURNAL_FINAL_NEWLINE_MISSING, final_newline, detail).with_line(self.lines))
    }

    /// The line from which unique-key values were no longer tracked, if the limit was hit.
    fn unique_limit_check(&self) -> Option<Check> {
        let at = self.unique_limit_hit?;
        Some(
            Check::fail(
                crate::report::codes::INPUT_TOO_LARGE,
                format!(
                    "more than {} distinct unique-key values; values first seen from line {at} on \
                     were not tracked",
                    self.opts.limits.max_unique_values
                ),
            )
            .with_line(at)
            .with("limit", self.opts.limits.max_unique_values),
        )
    }

    /// A failure for each unique key no good line has, and every key's counts.
    fn unique_key_checks(&self) -> (Vec<Check>, serde_json::Map<String, Value>) {
        let mut absent = Vec::new();
        let mut unique = serde_json::Map::new();
        for (key, stats) in self.opts.unique_keys.iter().zip(&self.keys) {
            if stats.distinct == 0 && stats.repeated == 0 {
                absent.push(
                    Check::fail(
                        JOURNAL_UNIQUE_KEY_ABSENT,
                        format!(
                            "no good line has a member {:?}: nothing was checked for it",
                            crate::text::printable(key)
                        ),
                    )
                    .with("key", key.clone()),
                );
            }
            unique.insert(
                key.clone(),
                json!({"distinct": stats.distinct, "repeated": stats.repeated, "absent": stats.absent}),
            );
        }
        (absent, unique)
    }

    /// How many lines are good, with the counts by code, type and unique key.
    fn summary_check(&self, unique: serde_json::Map<String, Value>) -> Check {
        let types: BTreeMap<&String, &u64> = self.types.iter().collect();
        let summary = if self.good == 0 {
            let why = if self.lines == 0 {
                "the journal is empty: zero lines verify nothing".to_owned()
            } else {
                format!("none of the {} lines is a good JSON object", self.lines)
            };
            Check::fail(JOURNAL_LINES_VERIFIED, why)
        } else {
            Check::pass(
                JOURNAL_LINES_VERIFIED,
                format!(
                    "{} of {} lines are good JSON objects ({} bytes)",
                    self.good, self.lines, self.bytes
                ),
            )
        };
        summary
            .with("lines", self.lines)
            .with("good_lines", self.good)
            .with("bad_lines", self.bad)
            .with("bytes", self.bytes)
            .with("bad_by_code", json!(self.bad_by_code))
            .with("type_key", self.opts.type_key.clone())
            .with("types", json!(types))
            .with("other_types", self.other_types)
            .with("untyped", self.untyped)
            .with("unique_keys", Value::Object(unique))
    }
}

/// How a line fault is reported.
fn fault_line(fault: LineFault, line: &Line<'_>, number: u64) -> BadLine {
    let (code, detail, column) = match fault {
        LineFault::Truncated(why) => (JOURNAL_LINE_TRUNCATED, why, None),
        LineFault::NotUtf8 { column } => (
            JOURNAL_LINE_NOT_UTF8,
            format!("invalid UTF-8 at byte {column} of the line"),
            Some(column),
        ),
        LineFault::NotJson { message, column } => (
            JOURNAL_LINE_NOT_JSON,
            format!("not JSON: {message}"),
            column,
        ),
        LineFault::DuplicateMember { name, column } => (
            JOURNAL_LINE_DUPLICATE_MEMBER,
            format!("member name {name:?} appears twice in one object"),
            column,
        ),
        LineFault::NotObject { found } => (
            JOURNAL_LINE_NOT_OBJECT,
            format!("the line is a JSON {found}, not an object"),
            None,
        ),
    };
    BadLine {
        code,
        line: number,
        offset: line.offset,
        detail,
        column,
        repeat: None,
    }
}

/// The fingerprint of a unique-key value.
fn fingerprint(key_index: usize, value: &Value) -> Fingerprint {
    let mut h = Sha256Hasher::new();
    h.update(&(key_index as u32).to_be_bytes());
    // The strict reader never yields a non-finite number, so this cannot fail; if it did, the
    // value's plain text would still be an unambiguous stand-in.
    match crate::canonical::to_comparison_vec(value) {
        Ok(bytes) => h.update(&bytes),
        Err(_) => h.update(value.to_string().as_bytes()),
    }
    let d = h.finish();
    let b = d.as_bytes();
    let word = |at: usize| {
        let mut w = [0u8; 8];
        if let Some(src) = b.get(at..at + 8) {
            w.copy_from_slice(src);
        }
        u64::from_le_bytes(w)
    };
    (word(0), word(8))
}

/// The outcome of verifying a journal.
#[derive(Debug, Clone)]
pub struct JournalVerification {
    /// Every check.
    pub report: Report,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Verifies a journal read from `reader`; `name` labels it in the report.
pub fn verify_reader<R: Read>(reader: R, name: &str, opts: &JournalOptions) -> JournalVerification {
    let mut report = Report::new(json!({"kind": "journal", "journal": name}));
    let mut validator = Validator::new(opts);
    let mut lines = LineReader::new(reader, opts.limits.max_line_bytes, false);
    loop {
        match lines.next_line() {
            Ok(Some(line)) => {
                validator.line(&line);
            }
            Ok(None) => break,
            Err(e) => {
                validator.read_failed(&e);
                break;
            }
        }
    }
    let (lines, bytes) = (validator.lines(), validator.bytes());
    validator.finish(&mut report, name, Status::Warn);
    JournalVerification {
        report,
        lines,
        bytes,
    }
}

/// Verifies the journal at `path` (a regular file or a pipe). An unreadable file is a failing
/// report (`input-unreadable`).
pub fn verify_path(path: &Path, opts: &JournalOptions) -> JournalVerification {
    let name = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => verify_reader(file, &name, opts),
        Err(e) => JournalVerification {
            report: unreadable(&name, &e),
            lines: 0,
            bytes: 0,
        },
    }
}

/// A report saying `name` could not be opened.
fn unreadable(name: &str, error: &std::io::Error) -> Report {
    let mut report = Report::new(json!({"kind": "journal", "journal": name}));
    report.push(
        Check::fail(
            crate::report::codes::INPUT_UNREADABLE,
            format!("cannot open the journal: {error}"),
        )
        .with_path(name.to_owned())
        .in_section(SECTION),
    );
    report
}

#[cfg(test)]
mod tests;
