//! The ZERO engine's own tamper-evident journals: hash-chained `zero.journal.v1` envelopes, one
//! JSON object per line, as `zero_engine.journal_chain` (zero-engine 0.1.6) writes them, and
//! the raw records they bind (`docs/FORMAT.md` section 11.6).
//!
//! The engine hashes with `json.dumps(sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)` ([`pyjson::dumps_with`] with [`Escape::Unicode`]):
//!
//! - `entry_hash` = `"sha256:"` + SHA-256 of that text of the entry without `entry_hash`,
//!   `signature`, `signing_key_id` and `signing_public_key_b64`;
//! - `prev_hash` is the previous entry's `entry_hash`, [`GENESIS_HASH`] for the first;
//! - `seq` counts from 1 in each file (one file holds one stream);
//! - `payload_hash` is the same hash of the raw record the entry stands for;
//! - the Ed25519 `signature` covers that text of the entry without `signature`, with
//!   `signing_key_id` and `signing_public_key_b64` as written (`""` when absent).
//!
//! Trust differs from the engine's own `verify_chain`, which verifies a signature with the
//! public key embedded in the entry: anyone who rewrites the journal can embed their own. Here
//! a signature counts only under a key the caller trusts; without one, signatures are reported
//! as not checked.
//!
//! The journal is read once, one line in memory at a time (under the line limit), and so is the
//! payload file beside it.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

use serde_json::{Map, Value, json};

use super::lines::{Line, LineReader, find_newline};
use super::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE_BYTES, JournalVerification, SECTION, root};
use crate::digest::Sha256Digest;
use crate::json::JsonLimits;
use crate::keys::{PublicKey, TrustPolicy};
use crate::pyjson::{self, Escape};
use crate::report::{Check, CheckCode, Report, Status, check_codes};
use crate::text::printable;

/// The `version` of every envelope.
pub const JOURNAL_VERSION: &str = "zero.journal.v1";
/// The `prev_hash` of the first entry (the engine's `ZERO_HASH`).
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
/// Most memory one parsed line may take (see [`JsonLimits::max_memory`]).
const MAX_LINE_MEMORY: u64 = 256 << 20;

/// Check codes of envelope journals.
pub mod codes {
    use super::check_codes;
    check_codes! {
        JOURNAL_ENVELOPE_CHAIN_VERIFIED = "journal-envelope-chain-verified":
            "Every entry of a zero.journal.v1 journal is in sequence from 1, links to the previous entry_hash and hashes to its own entry_hash.";
        JOURNAL_ENVELOPE_LINE_INVALID = "journal-envelope-line-invalid":
            "A line of an envelope journal is not one JSON object that can be hashed as the engine does (syntax, duplicate member, too long, not UTF-8, an integer beyond 64 bits).";
        JOURNAL_ENVELOPE_FIELD_INVALID = "journal-envelope-field-invalid":
            "An envelope lacks a member or has one of the wrong form: version, seq, stream, prev_hash, entry_hash, payload_hash.";
        JOURNAL_ENVELOPE_SEQUENCE_GAP = "journal-envelope-sequence-gap":
            "An entry's seq is not one more than the previous entry's (the first is 1): an entry was removed, inserted or moved.";
        JOURNAL_ENVELOPE_STREAM_MISMATCH = "journal-envelope-stream-mismatch":
            "An entry names another stream than the first entry of the file.";
        JOURNAL_ENVELOPE_PREV_HASH_MISMATCH = "journal-envelope-prev-hash-mismatch":
            "An entry's prev_hash is not the previous entry's entry_hash (the genesis hash for the first): the chain is broken here.";
        JOURNAL_ENVELOPE_ENTRY_HASH_MISMATCH = "journal-envelope-entry-hash-mismatch":
            "An entry does not hash to its entry_hash: a member was changed after the entry was written.";
        JOURNAL_ENVELOPE_SIGNATURES = "journal-envelope-signatures":
            "Whether every entry is signed by a trusted key; skipped (not passed) when no trusted key was given.";
        JOURNAL_ENVELOPE_SIGNATURE_MISSING = "journal-envelope-signature-missing":
            "Trusted keys were given but an entry is not signed (signatures are outside entry_hash and can be stripped).";
        JOURNAL_ENVELOPE_SIGNATURE_INCOMPLETE = "journal-envelope-signature-incomplete":
            "An entry has some signature members but not both signing_key_id and signature.";
        JOURNAL_ENVELOPE_SIGNATURE_INVALID = "journal-envelope-signature-invalid":
            "An entry's signature does not verify (forged, or the entry changed), or its signature or embedded key is malformed.";
        JOURNAL_ENVELOPE_SIGNER_UNTRUSTED = "journal-envelope-signer-untrusted":
            "An entry's signature verifies under the key embedded in it, which is not a trusted key.";
        JOURNAL_ENVELOPE_PAYLOADS_BOUND = "journal-envelope-payloads-bound":
            "Every entry's payload_hash is the hash of the raw record on the same position of the payload file.";
        JOURNAL_ENVELOPE_PAYLOAD_INVALID = "journal-envelope-payload-invalid":
            "A line of the payload file is not one JSON object that can be hashed as the engine does.";
        JOURNAL_ENVELOPE_PAYLOAD_MISMATCH = "journal-envelope-payload-mismatch":
            "A raw record does not hash to its entry's payload_hash: the record or the entry changed.";
        JOURNAL_ENVELOPE_PAYLOAD_COUNT_MISMATCH = "journal-envelope-payload-count-mismatch":
            "The payload file holds more or fewer records than the journal holds entries.";
    }
}

use codes::*;

/// Codes that judge signatures, counted apart for the signature summary.
const SIGNATURE_CODES: [CheckCode; 4] = [
    JOURNAL_ENVELOPE_SIGNATURE_MISSING,
    JOURNAL_ENVELOPE_SIGNATURE_INCOMPLETE,
    JOURNAL_ENVELOPE_SIGNATURE_INVALID,
    JOURNAL_ENVELOPE_SIGNER_UNTRUSTED,
];

/// What to verify besides the chain, and the limits.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct EnvelopeOptions<'a> {
    /// Keys whose signatures count; `None` reports signatures as not checked. One trusted
    /// signature per entry (and per root) suffices: the threshold is not used.
    pub trust: Option<&'a TrustPolicy>,
    /// The raw JSONL records the entries stand for, in the same order.
    pub payloads: Option<&'a Path>,
    /// A `zero.journal_root.v1` root that should cover this journal's stream.
    pub root: Option<&'a Path>,
    /// Longest line, without its LF (journal and payload file).
    pub max_line_bytes: usize,
    /// Deepest nesting in a line.
    pub max_depth: usize,
}

impl Default for EnvelopeOptions<'_> {
    fn default() -> Self {
        Self {
            trust: None,
            payloads: None,
            root: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl EnvelopeOptions<'_> {
    fn json_limits(&self) -> JsonLimits {
        JsonLimits {
            max_bytes: self.max_line_bytes as u64,
            max_depth: self.max_depth,
            max_memory: MAX_LINE_MEMORY,
            ..JsonLimits::default()
        }
    }
}

/// Reads the start of `reader` and tells whether it is an envelope journal: its first non-blank
/// line is a JSON object whose `version` is [`JOURNAL_VERSION`]. At most `max_line_bytes` plus
/// one read are held. The returned reader yields the whole stream, the bytes read here first,
/// so a pipe can be judged as well as a file.
pub fn detect<R: Read>(mut reader: R, max_line_bytes: usize) -> (bool, impl Read) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let mut start = 0;
    let is_envelope = loop {
        let pending = buf.get(start..).unwrap_or_default();
        if let Some(at) = find_newline(pending) {
            let line = pending.get(..at).unwrap_or_default();
            if !is_blank(line) {
                break is_envelope_line(line, max_line_bytes);
            }
            start += at + 1;
            continue;
        }
        if buf.len() > max_line_bytes {
            break false;
        }
        match reader.read(&mut chunk) {
            Ok(0) => break !is_blank(pending) && is_envelope_line(pending, max_line_bytes),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The reader that gets the stream next meets the error again and reports it.
            Err(_) => break false,
        }
    };
    (is_envelope, io::Cursor::new(buf).chain(reader))
}

fn is_envelope_line(line: &[u8], max_line_bytes: usize) -> bool {
    let limits = JsonLimits {
        max_bytes: max_line_bytes as u64,
        max_memory: MAX_LINE_MEMORY,
        ..JsonLimits::default()
    };
    crate::json::parse_strict(line, &limits)
        .is_ok_and(|v| v.get("version").and_then(Value::as_str) == Some(JOURNAL_VERSION))
}

/// A line the engine's reader skips: nothing but white space.
fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c))
}

/// `"sha256:"` + SHA-256 of the engine's canonical text of `value`.
pub fn engine_hash(value: &Value) -> String {
    let text = pyjson::dumps_with(value, Escape::Unicode);
    format!("sha256:{}", Sha256Digest::of(text.as_bytes()).to_hex())
}

/// Verifies the envelope journal at `path` (see [`verify_reader`]).
pub fn verify_path(path: &Path, opts: &EnvelopeOptions<'_>) -> JournalVerification {
    let name = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => verify_reader(file, &name, opts),
        Err(e) => {
            let mut report = Report::new(subject(&name));
            report.push(unreadable(&name, "journal", &e));
            JournalVerification {
                report,
                lines: 0,
                bytes: 0,
            }
        }
    }
}

/// Verifies an envelope journal read from `reader` (`name` labels it), with the payload file
/// and root of `opts`.
pub fn verify_reader<R: Read>(
    reader: R,
    name: &str,
    opts: &EnvelopeOptions<'_>,
) -> JournalVerification {
    let mut report = Report::new(subject(name));
    let mut walk = Walk::new(opts);
    if let Some(path) = opts.payloads {
        let payload_name = path.display().to_string();
        match std::fs::File::open(path) {
            Ok(file) => walk.payloads = Some(Payloads::new(file, payload_name, opts)),
            Err(e) => report.push(unreadable(&payload_name, "payload file", &e)),
        }
    }
    let mut lines = LineReader::new(reader, opts.max_line_bytes, false);
    loop {
        match lines.next_line() {
            Ok(Some(line)) => walk.line(&line),
            Ok(None) => break,
            Err(e) => {
                walk.read_error = Some(e.to_string());
                break;
            }
        }
    }
    let (lines, bytes) = (walk.lines, walk.bytes);
    walk.finish(&mut report, name);
    JournalVerification {
        report,
        lines,
        bytes,
    }
}

fn subject(name: &str) -> Value {
    json!({"kind": "journal", "journal": name, "format": JOURNAL_VERSION})
}

fn unreadable(name: &str, what: &str, error: &io::Error) -> Check {
    Check::fail(
        crate::report::codes::INPUT_UNREADABLE,
        format!("cannot open the {what}: {error}"),
    )
    .with_path(name.to_owned())
    .in_section(SECTION)
}

/// One bad line, as reported.
#[derive(Debug)]
struct Fault {
    code: CheckCode,
    line: u64,
    offset: u64,
    detail: String,
    data: Vec<(&'static str, Value)>,
}

/// The first bad line of a file and how many there were, by code.
#[derive(Debug, Default)]
struct Faults {
    first: Option<Fault>,
    count: u64,
    by_code: BTreeMap<&'static str, u64>,
}

impl Faults {
    fn add(&mut self, fault: Fault) {
        self.count += 1;
        *self.by_code.entry(fault.code.code).or_default() += 1;
        self.first.get_or_insert(fault);
    }

    fn counted(&self, codes: &[CheckCode]) -> u64 {
        codes.iter().filter_map(|c| self.by_code.get(c.code)).sum()
    }

    /// The failing check of the first bad line, if any.
    fn first_check(&self, path: &str) -> Option<Check> {
        let fault = self.first.as_ref()?;
        let more = self.count - 1;
        let mut detail = fault.detail.clone();
        if more > 0 {
            detail.push_str(&format!(" ({more} more bad lines follow)"));
        }
        let mut check = Check::fail(fault.code, detail)
            .with_path(path.to_owned())
            .in_section(SECTION)
            .with_line(fault.line)
            .with("offset", fault.offset)
            .with("more_bad_lines", more);
        for (key, value) in &fault.data {
            check = check.with(key, value.clone());
        }
        Some(check)
    }
}

/// The state of the chain while the journal streams past.
struct Walk<'o> {
    opts: &'o EnvelopeOptions<'o>,
    json: JsonLimits,
    lines: u64,
    blank: u64,
    bytes: u64,
    entries: u64,
    expected_seq: u64,
    prev_hash: String,
    stream: Option<String>,
    first_ts: Option<String>,
    last_ts: Option<String>,
    signed: u64,
    trusted_by: BTreeMap<String, u64>,
    faults: Faults,
    payloads: Option<Payloads>,
    read_error: Option<String>,
}

impl<'o> Walk<'o> {
    fn new(opts: &'o EnvelopeOptions<'o>) -> Self {
        Self {
            opts,
            json: opts.json_limits(),
            lines: 0,
            blank: 0,
            bytes: 0,
            entries: 0,
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            stream: None,
            first_ts: None,
            last_ts: None,
            signed: 0,
            trusted_by: BTreeMap::new(),
            faults: Faults::default(),
            payloads: None,
            read_error: None,
        }
    }

    fn line(&mut self, line: &Line<'_>) {
        self.lines += 1;
        self.bytes += line.len;
        let number = self.lines;
        let fault = |code, detail: String| Fault {
            code,
            line: number,
            offset: line.offset,
            detail,
            data: Vec::new(),
        };
        let Some(content) = line.content else {
            self.entries += 1;
            self.bind(number, None);
            self.expected_seq = self.expected_seq.saturating_add(1);
            let length = line.len - u64::from(line.newline);
            let limit = self.opts.max_line_bytes;
            self.faults.add(fault(
                JOURNAL_ENVELOPE_LINE_INVALID,
                format!("line is {length} bytes long; the limit is {limit} bytes"),
            ));
            return;
        };
        if is_blank(content) {
            self.blank += 1;
            return;
        }
        self.entries += 1;
        let entry = match parse_object(content, &self.json) {
            Ok(entry) => entry,
            Err(why) => {
                self.bind(number, None);
                self.expected_seq = self.expected_seq.saturating_add(1);
                self.faults.add(fault(JOURNAL_ENVELOPE_LINE_INVALID, why));
                return;
            }
        };
        let payload_hash = entry.get("payload_hash").and_then(Value::as_str);
        self.bind(number, payload_hash.map(str::to_owned));
        if let Err((code, detail)) = self.check_entry(entry) {
            self.faults.add(fault(code, detail));
        }
    }

    /// Judges one parsed entry against the chain so far, then moves the chain on to it (also
    /// when it is bad, so that each later line is judged on its own).
    fn check_entry(&mut self, mut entry: Map<String, Value>) -> Result<(), (CheckCode, String)> {
        let fields = EntryFields::read(&entry);
        let expected_seq = self.expected_seq;
        self.expected_seq = fields.seq.unwrap_or(expected_seq).saturating_add(1);
        let expected_prev = match fields.entry_hash {
            Some(h) => std::mem::replace(&mut self.prev_hash, h.to_owned()),
            None => self.prev_hash.clone(),
        };
        if let Some(ts) = entry.get("ts").and_then(Value::as_str) {
            if self.first_ts.is_none() {
                self.first_ts = Some(ts.to_owned());
            }
            self.last_ts = Some(ts.to_owned());
        }
        let (seq, stream, prev_hash, entry_hash) = fields.complete()?;
        match &self.stream {
            None => self.stream = Some(stream.to_owned()),
            Some(first) if first != stream => {
                return Err((
                    JOURNAL_ENVELOPE_STREAM_MISMATCH,
                    format!(
                        "the entry is of stream {:?}, the file's first entry of stream {:?}",
                        printable(stream),
                        printable(first)
                    ),
                ));
            }
            Some(_) => {}
        }
        if seq != expected_seq {
            return Err((
                JOURNAL_ENVELOPE_SEQUENCE_GAP,
                format!("seq is {seq}, expected {expected_seq}"),
            ));
        }
        if prev_hash != expected_prev {
            let previous = if expected_seq == 1 {
                "the genesis hash"
            } else {
                "the previous entry's entry_hash"
            };
            return Err((
                JOURNAL_ENVELOPE_PREV_HASH_MISMATCH,
                format!("prev_hash is {prev_hash}, but {previous} is {expected_prev}"),
            ));
        }
        let entry_hash = entry_hash.to_owned();
        let signature = SignatureMembers::take(&mut entry);
        entry.remove("entry_hash");
        let mut body = Value::Object(entry);
        let recomputed = engine_hash(&body);
        if recomputed != entry_hash {
            return Err((
                JOURNAL_ENVELOPE_ENTRY_HASH_MISMATCH,
                format!("entry_hash is {entry_hash}, but the entry hashes to {recomputed}"),
            ));
        }
        let verdict = signature.judge(self.opts.trust, || {
            signature.signed_text(&mut body, "entry_hash", &entry_hash)
        });
        self.signature_verdict(verdict)
    }

    fn signature_verdict(&mut self, verdict: SignatureVerdict) -> Result<(), (CheckCode, String)> {
        match verdict {
            SignatureVerdict::Unsigned if self.opts.trust.is_some() => Err((
                JOURNAL_ENVELOPE_SIGNATURE_MISSING,
                "the entry is not signed, and trusted keys were given".to_owned(),
            )),
            SignatureVerdict::Unsigned => Ok(()),
            SignatureVerdict::Unchecked => {
                self.signed += 1;
                Ok(())
            }
            SignatureVerdict::Trusted { name } => {
                self.signed += 1;
                *self.trusted_by.entry(name).or_default() += 1;
                Ok(())
            }
            SignatureVerdict::Incomplete(why) => Err((JOURNAL_ENVELOPE_SIGNATURE_INCOMPLETE, why)),
            SignatureVerdict::Invalid(why) => Err((JOURNAL_ENVELOPE_SIGNATURE_INVALID, why)),
            SignatureVerdict::Untrusted { key_id } => Err((
                JOURNAL_ENVELOPE_SIGNER_UNTRUSTED,
                format!(
                    "the signature verifies under the key embedded in the entry (key id \
                     {key_id}), which is not a trusted key"
                ),
            )),
        }
    }

    fn bind(&mut self, line: u64, payload_hash: Option<String>) {
        if let Some(payloads) = self.payloads.as_mut() {
            payloads.bind(line, payload_hash.as_deref());
        }
    }

    fn finish(mut self, report: &mut Report, name: &str) {
        if let Some(error) = &self.read_error {
            report.push(
                Check::fail(
                    crate::report::codes::INPUT_UNREADABLE,
                    format!("reading stopped after {} bytes: {error}", self.bytes),
                )
                .with_path(name.to_owned())
                .in_section(SECTION)
                .with("offset", self.bytes),
            );
        }
        if let Some(check) = self.faults.first_check(name) {
            report.push(check);
        }
        report.push(self.chain_summary(name));
        report.push(self.signature_summary(name));
        if let Some(payloads) = self.payloads.take() {
            payloads.finish(report, self.entries);
        }
        if let Some(path) = self.opts.root {
            let head = root::ChainHead {
                stream: self.stream.as_deref(),
                count: self.entries,
                head_hash: &self.prev_hash,
            };
            root::verify(path, &head, self.opts.trust, report);
        }
    }

    fn chain_summary(&self, name: &str) -> Check {
        let check = if self.entries == 0 {
            Check::fail(
                JOURNAL_ENVELOPE_CHAIN_VERIFIED,
                "the journal holds no entry: an empty chain verifies nothing",
            )
        } else if self.faults.count > 0 || self.read_error.is_some() {
            Check::fail(
                JOURNAL_ENVELOPE_CHAIN_VERIFIED,
                format!(
                    "{} of {} entries break the chain or its signatures",
                    self.faults.count, self.entries
                ),
            )
        } else {
            Check::pass(
                JOURNAL_ENVELOPE_CHAIN_VERIFIED,
                format!(
                    "{} entries of stream {:?} chain from the genesis hash to {} ({} bytes)",
                    self.entries,
                    printable(self.stream.as_deref().unwrap_or_default()),
                    self.prev_hash,
                    self.bytes
                ),
            )
        };
        check
            .with_path(name.to_owned())
            .in_section(SECTION)
            .with("entries", self.entries)
            .with("lines", self.lines)
            .with("blank_lines", self.blank)
            .with("bytes", self.bytes)
            .with("stream", self.stream.clone())
            .with("head_hash", self.prev_hash.clone())
            .with("first_ts", self.first_ts.clone())
            .with("last_ts", self.last_ts.clone())
            .with("bad_lines", self.faults.count)
            .with("bad_by_code", json!(self.faults.by_code))
    }

    fn signature_summary(&self, name: &str) -> Check {
        let check = match self.opts.trust {
            None if self.signed > 0 => Check::skip(
                JOURNAL_ENVELOPE_SIGNATURES,
                format!(
                    "{} of {} entries carry a signature, not checked: no trusted key was given, \
                     and a key embedded in an entry is never trusted by itself",
                    self.signed, self.entries
                ),
            ),
            None => Check::skip(
                JOURNAL_ENVELOPE_SIGNATURES,
                "no entry is signed: only the hash chain was checked, which whoever rewrites \
                 the journal can recompute",
            ),
            Some(_) => {
                let bad = self.faults.counted(&SIGNATURE_CODES);
                let trusted: u64 = self.trusted_by.values().sum();
                if bad == 0 && trusted == self.entries && trusted > 0 {
                    Check::pass(
                        JOURNAL_ENVELOPE_SIGNATURES,
                        format!("all {trusted} entries are signed by trusted keys"),
                    )
                } else {
                    Check::fail(
                        JOURNAL_ENVELOPE_SIGNATURES,
                        format!(
                            "{trusted} of {} entries are signed by trusted keys",
                            self.entries
                        ),
                    )
                }
            }
        };
        check
            .with_path(name.to_owned())
            .in_section(SECTION)
            .with("signed", self.signed)
            .with("trusted_by", json!(self.trusted_by))
    }
}

/// Parses one line as the engine's reader would accept it and its encoder reproduce it.
fn parse_object(content: &[u8], limits: &JsonLimits) -> Result<Map<String, Value>, String> {
    match pyjson::parse(content, limits) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the line is JSON but not an object".to_owned()),
        Err(e) => Err(format!("not a JSON object the engine could hash: {e}")),
    }
}

/// The members every envelope has, as far as they are of the right form.
#[derive(Debug)]
struct EntryFields<'e> {
    version: Option<&'e str>,
    seq: Option<u64>,
    stream: Option<&'e str>,
    prev_hash: Option<&'e str>,
    entry_hash: Option<&'e str>,
    payload_hash: Option<&'e str>,
}

impl<'e> EntryFields<'e> {
    fn read(entry: &'e Map<String, Value>) -> Self {
        let digest = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| is_digest(s))
        };
        Self {
            version: entry.get("version").and_then(Value::as_str),
            seq: entry.get("seq").and_then(Value::as_u64).filter(|s| *s >= 1),
            stream: entry
                .get("stream")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty()),
            prev_hash: digest("prev_hash"),
            entry_hash: digest("entry_hash"),
            payload_hash: digest("payload_hash"),
        }
    }

    /// `(seq, stream, prev_hash, entry_hash)`, or the first member that is wrong.
    fn complete(&self) -> Result<(u64, &'e str, &'e str, &'e str), (CheckCode, String)> {
        let wrong = |what: &str| Err((JOURNAL_ENVELOPE_FIELD_INVALID, what.to_owned()));
        if self.version != Some(JOURNAL_VERSION) {
            return wrong("version is not \"zero.journal.v1\"");
        }
        let Some(seq) = self.seq else {
            return wrong("seq is not an integer of at least 1");
        };
        let Some(stream) = self.stream else {
            return wrong("stream is not a non-empty string");
        };
        let (Some(prev), Some(hash), Some(_)) =
            (self.prev_hash, self.entry_hash, self.payload_hash)
        else {
            return wrong(
                "prev_hash, entry_hash and payload_hash must each be \"sha256:\" and 64 \
                 lower-case hex digits",
            );
        };
        Ok((seq, stream, prev, hash))
    }
}

/// `"sha256:"` and 64 lower-case hex digits, the only form the engine writes.
fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The signature members of an entry or root, taken out of it.
#[derive(Debug)]
pub(crate) struct SignatureMembers {
    key_id: Option<Value>,
    public_key: Option<Value>,
    signature: Option<Value>,
}

/// What a signature established.
#[derive(Debug)]
pub(crate) enum SignatureVerdict {
    /// No signature member is set.
    Unsigned,
    /// Well-formed, but no trusted key was given.
    Unchecked,
    /// Verified under the trusted key of this name.
    Trusted {
        /// The trusted key's name.
        name: String,
    },
    /// Some members are set but not both `signing_key_id` and `signature`.
    Incomplete(String),
    /// Malformed, or it does not verify.
    Invalid(String),
    /// Verifies under the embedded key, which is not trusted.
    Untrusted {
        /// Hex key id of the embedded key.
        key_id: String,
    },
}

/// Python's truth value of a member: the engine treats `""`, `0`, `null` and the like as absent.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

impl SignatureMembers {
    pub(crate) fn take(doc: &mut Map<String, Value>) -> Self {
        Self {
            key_id: doc.remove("signing_key_id"),
            public_key: doc.remove("signing_public_key_b64"),
            signature: doc.remove("signature"),
        }
    }

    /// The signed text: `body` (the hashed members) with the hash member and the key members
    /// as written, `""` for an absent one.
    pub(crate) fn signed_text(&self, body: &mut Value, hash_member: &str, hash: &str) -> Vec<u8> {
        if let Some(map) = body.as_object_mut() {
            let or_empty = |v: &Option<Value>| v.clone().unwrap_or_else(|| Value::from(""));
            map.insert(hash_member.to_owned(), Value::from(hash));
            map.insert("signing_key_id".to_owned(), or_empty(&self.key_id));
            map.insert(
                "signing_public_key_b64".to_owned(),
                or_empty(&self.public_key),
            );
        }
        pyjson::dumps_with(body, Escape::Unicode).into_bytes()
    }

    /// Judges the signature; `signed_text` is called only when there is something to verify.
    pub(crate) fn judge(
        &self,
        trust: Option<&TrustPolicy>,
        signed_text: impl FnOnce() -> Vec<u8>,
    ) -> SignatureVerdict {
        let (key_id, public_key, signature) = (
            self.key_id.as_ref(),
            self.public_key.as_ref(),
            self.signature.as_ref(),
        );
        if !truthy(key_id) && !truthy(public_key) && !truthy(signature) {
            return SignatureVerdict::Unsigned;
        }
        if !truthy(key_id) || !truthy(signature) {
            return SignatureVerdict::Incomplete(
                "a signature member is set, but not both signing_key_id and signature".to_owned(),
            );
        }
        let Some(sig) = signature
            .and_then(Value::as_str)
            .and_then(crate::dsse::decode_base64)
            .filter(|s| s.len() == 64)
        else {
            return SignatureVerdict::Invalid("signature is not the base64 of 64 bytes".to_owned());
        };
        let embedded = if truthy(public_key) {
            let key = public_key
                .and_then(Value::as_str)
                .and_then(crate::dsse::decode_base64)
                .and_then(|raw| <[u8; 32]>::try_from(raw).ok())
                .and_then(|raw| PublicKey::from_raw(&raw).ok());
            match key {
                Some(key) => Some(key),
                None => {
                    return SignatureVerdict::Invalid(
                        "signing_public_key_b64 is not the base64 of an Ed25519 public key"
                            .to_owned(),
                    );
                }
            }
        } else {
            None
        };
        let Some(trust) = trust else {
            return SignatureVerdict::Unchecked;
        };
        let text = signed_text();
        let verifies = |key: &PublicKey| key.verify_strict(&text, &sig).is_ok();
        match embedded {
            // The embedded key is what the signer claims; it decides only whether a failure
            // is a forgery or a stranger's key.
            Some(embedded) => match trust.keys.iter().find(|k| k.key == embedded) {
                Some(trusted) if verifies(&trusted.key) => SignatureVerdict::Trusted {
                    name: trusted.name.clone(),
                },
                Some(trusted) => SignatureVerdict::Invalid(format!(
                    "the signature does not verify under the trusted key {:?}",
                    printable(&trusted.name)
                )),
                None if verifies(&embedded) => SignatureVerdict::Untrusted {
                    key_id: embedded.key_id().to_string(),
                },
                None => SignatureVerdict::Invalid(
                    "the signature verifies neither under a trusted key nor under the embedded one"
                        .to_owned(),
                ),
            },
            None => match trust.keys.iter().find(|k| verifies(&k.key)) {
                Some(trusted) => SignatureVerdict::Trusted {
                    name: trusted.name.clone(),
                },
                None => SignatureVerdict::Invalid(
                    "the signature verifies under none of the trusted keys".to_owned(),
                ),
            },
        }
    }
}

/// A raw record, or why its line is bad.
type Record = Result<Map<String, Value>, String>;

/// The payload file, read in step with the journal.
struct Payloads {
    name: String,
    reader: LineReader<std::fs::File>,
    json: JsonLimits,
    max_line_bytes: usize,
    /// Lines read.
    line: u64,
    records: u64,
    bound: u64,
    /// Entries that found no record.
    missing: u64,
    faults: Faults,
    read_error: Option<String>,
}

impl Payloads {
    fn new(file: std::fs::File, name: String, opts: &EnvelopeOptions<'_>) -> Self {
        Self {
            name,
            reader: LineReader::new(file, opts.max_line_bytes, false),
            json: opts.json_limits(),
            max_line_bytes: opts.max_line_bytes,
            line: 0,
            records: 0,
            bound: 0,
            missing: 0,
            faults: Faults::default(),
            read_error: None,
        }
    }

    /// The next record: its line, offset and the record or why it is bad; `None` at the end.
    fn next_record(&mut self) -> Option<(u64, u64, Record)> {
        if self.read_error.is_some() {
            return None;
        }
        loop {
            let line = match self.reader.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => {
                    self.read_error = Some(e.to_string());
                    return None;
                }
            };
            self.line += 1;
            let record = match line.content {
                None => Err(format!(
                    "line is longer than the limit of {} bytes",
                    self.max_line_bytes
                )),
                Some(content) if is_blank(content) => continue,
                Some(content) => parse_object(content, &self.json),
            };
            self.records += 1;
            return Some((self.line, line.offset, record));
        }
    }

    /// Binds the entry on journal line `entry_line` to the next record.
    fn bind(&mut self, entry_line: u64, payload_hash: Option<&str>) {
        let Some((line, offset, record)) = self.next_record() else {
            self.missing += 1;
            return;
        };
        let fault = |code, detail: String| Fault {
            code,
            line,
            offset,
            detail,
            data: vec![("entry_line", Value::from(entry_line))],
        };
        match record {
            Err(why) => self
                .faults
                .add(fault(JOURNAL_ENVELOPE_PAYLOAD_INVALID, why)),
            Ok(record) => {
                let Some(expected) = payload_hash else {
                    // The entry itself is bad and already reported.
                    return;
                };
                let actual = engine_hash(&Value::Object(record));
                if actual == expected {
                    self.bound += 1;
                } else {
                    self.faults.add(fault(
                        JOURNAL_ENVELOPE_PAYLOAD_MISMATCH,
                        format!(
                            "the record hashes to {actual}, but the entry on journal line \
                             {entry_line} has payload_hash {expected}"
                        ),
                    ));
                }
            }
        }
    }

    fn finish(mut self, report: &mut Report, entries: u64) {
        let mut extra = 0u64;
        while self.next_record().is_some() {
            extra += 1;
        }
        let name = self.name.clone();
        if let Some(error) = &self.read_error {
            report.push(
                Check::fail(
                    crate::report::codes::INPUT_UNREADABLE,
                    format!(
                        "reading the payload file stopped at line {}: {error}",
                        self.line
                    ),
                )
                .with_path(name.clone())
                .in_section(SECTION),
            );
        }
        if let Some(check) = self.faults.first_check(&name) {
            report.push(check);
        }
        if self.missing > 0 || extra > 0 {
            report.push(
                Check::fail(
                    JOURNAL_ENVELOPE_PAYLOAD_COUNT_MISMATCH,
                    format!(
                        "the journal holds {entries} entries, the payload file {} records",
                        self.records
                    ),
                )
                .with_path(name.clone())
                .in_section(SECTION)
                .with("entries", entries)
                .with("records", self.records),
            );
        }
        let ok = self.bound == entries
            && self.faults.count == 0
            && extra == 0
            && self.read_error.is_none()
            && entries > 0;
        let status = if ok { Status::Pass } else { Status::Fail };
        report.push(
            Check::new(
                JOURNAL_ENVELOPE_PAYLOADS_BOUND,
                status,
                format!(
                    "{} of {entries} entries are bound to their raw record",
                    self.bound
                ),
            )
            .with_path(name)
            .in_section(SECTION)
            .with("bound", self.bound)
            .with("records", self.records)
            .with("entries", entries),
        );
    }
}
