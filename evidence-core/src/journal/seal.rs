//! Sealing a journal and checking that a later version only appended to it.
//!
//! Both read the journal exactly once, verifying every line and extending the chain as it
//! passes, so what is sealed (or compared) is exactly what was verified.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::chain::{
    CheckpointBuilder, SEAL_KIND, SEAL_PAYLOAD_PATH, SEAL_SCHEMA, Seal, SealFormatError,
    chain_start, chain_step,
};
use super::codes::*;
use super::lines::LineReader;
use super::{JournalOptions, OptionsError, SECTION, Validator};
use crate::Verified;
use crate::bundle::build::{self, BuildError, BuildOptions, Built, Input};
use crate::bundle::{self, BundleId, BundleLimits, ToolInfo, VerifiedBundle, VerifyOptions};
use crate::digest::Sha256Digest;
use crate::keys::{NamedKey, PrivateKey, TrustPolicy};
use crate::report::{Check, Report, Status};
use crate::timestamp::Timestamp;

/// Subject keys of a seal bundle's manifest.
pub mod subject {
    /// The journal's file name.
    pub const JOURNAL: &str = "journal";
    /// Lines sealed.
    pub const LINES: &str = "lines";
    /// Bytes sealed.
    pub const BYTES: &str = "bytes";
    /// The chain head (`sha256:...`).
    pub const CHAIN_HEAD: &str = "chain_head";
}

/// How to seal.
#[derive(Debug)]
pub struct SealOptions<'a> {
    /// How the journal is verified before it is sealed.
    pub journal: JournalOptions,
    /// Keys signing the seal bundle (at least one).
    pub keys: Vec<&'a PrivateKey>,
    /// The bundle's `created_at`; `None` uses `SOURCE_DATE_EPOCH`, else the clock.
    pub created_at: Option<Timestamp>,
    /// The tool recorded in the bundle.
    pub tool: ToolInfo,
}

impl<'a> SealOptions<'a> {
    /// Default verification, signed by `keys`, recorded as written by this library.
    pub fn new(keys: Vec<&'a PrivateKey>) -> Self {
        Self {
            journal: JournalOptions::default(),
            keys,
            created_at: None,
            tool: BuildOptions::new(SEAL_KIND).tool,
        }
    }
}

/// Why a seal could not be written (nothing is left at the destination).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No signing key.
    #[error("no signing key given; a seal must be signed")]
    NoKey,
    /// The destination exists.
    #[error("{0} already exists; seals are never overwritten")]
    Exists(PathBuf),
    /// Bad options.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// Writing the bundle failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The seal could not be serialised (a count above 2^53).
    #[error(transparent)]
    Format(#[from] SealFormatError),
}

/// A seal whose bundle verified under a trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedJournal {
    /// The seal bundle's id.
    pub bundle_id: BundleId,
    /// The seal.
    pub seal: Seal,
}

/// The outcome of sealing.
#[derive(Debug)]
pub struct SealOutcome {
    /// The journal's verification, then the written bundle's.
    pub report: Report,
    /// The seal written, verified with the signing keys; `None` when the journal did not
    /// verify and nothing was written.
    pub sealed: Option<Verified<SealedJournal>>,
}

/// Verifies a journal and computes its seal in one read. The seal is `None` when the journal
/// does not verify or its last line has no LF (then the report says why).
pub fn compute_seal<R: Read>(
    reader: R,
    name: &str,
    opts: &JournalOptions,
) -> (Report, Option<Seal>) {
    let mut report = Report::new(json!({"kind": "journal", "journal": name}));
    let mut validator = Validator::new(opts);
    let mut lines = LineReader::new(reader, opts.limits.max_line_bytes, true);
    let mut chain = chain_start();
    let mut checkpoints = CheckpointBuilder::new();
    loop {
        match lines.next_line() {
            Ok(Some(line)) => {
                validator.line(&line);
                chain = chain_step(&chain, &line.digest.unwrap_or_default());
                checkpoints.record(validator.lines(), validator.bytes(), &chain);
            }
            Ok(None) => break,
            Err(e) => {
                validator.read_failed(&e);
                break;
            }
        }
    }
    let clean = validator.is_clean() && !validator.final_newline_missing();
    let (count, bytes) = (validator.lines(), validator.bytes());
    validator.finish(&mut report, name, Status::Fail);
    if !clean {
        return (report, None);
    }
    let (interval, checkpoints) = checkpoints.finish();
    let seal = Seal {
        schema: SEAL_SCHEMA.to_owned(),
        journal: name.to_owned(),
        lines: count,
        bytes,
        head: Sha256Digest::from_bytes(chain),
        checkpoint_interval: interval,
        checkpoints,
        max_line_bytes: opts.limits.max_line_bytes as u64,
        type_key: opts.type_key.clone(),
        unique_keys: opts.unique_keys.clone(),
    };
    (report, Some(seal))
}

/// Seals the journal at `journal` into a signed bundle at `out`: a `.tar.gz` archive when
/// `out` ends with `.tar.gz`, else a folder. Only a journal that verifies, and whose last line
/// ends with an LF, is sealed. The bundle written is then verified with the signing keys and
/// its report appended.
pub fn seal(journal: &Path, out: &Path, opts: &SealOptions<'_>) -> Result<SealOutcome, SealError> {
    opts.journal.check()?;
    if opts.keys.is_empty() {
        return Err(SealError::NoKey);
    }
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(SealError::Exists(out.to_owned()));
    }
    let name = journal
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| journal.display().to_string());
    let file = match std::fs::File::open(journal) {
        Ok(f) => f,
        Err(e) => {
            return Ok(SealOutcome {
                report: super::unreadable(&journal.display().to_string(), &e),
                sealed: None,
            });
        }
    };
    let (mut report, computed) = compute_seal(file, &name, &opts.journal);
    report.subject = json!({
        "kind": "journal-seal",
        "journal": journal.display().to_string(),
        "seal": out.display().to_string(),
    });
    let Some(seal) = computed else {
        return Ok(SealOutcome {
            report,
            sealed: None,
        });
    };
    let built = write_seal(out, &seal, opts)?;
    report.push(sealed_check(&seal, out, &built));
    // Verify what was written, with the keys that signed it.
    let (seal_report, opened) =
        open_seal(out, &signer_trust(&opts.keys)?, &BundleLimits::default());
    report.absorb(seal_report, "seal");
    let sealed = opened.filter(|o| o.seal == seal && o.bundle_id == built.id);
    if sealed.is_none() && report.ok() {
        report.push(
            Check::fail(
                JOURNAL_SEAL_INVALID,
                "the seal written does not read back as the seal computed",
            )
            .in_section(SECTION),
        );
    }
    Ok(SealOutcome { report, sealed })
}

/// Writes the seal bundle holding `seal.json`, signed with every key of `opts`.
fn write_seal(out: &Path, seal: &Seal, opts: &SealOptions<'_>) -> Result<Built, SealError> {
    let bytes = seal.to_canonical_bytes()?;
    let mut build_opts = BuildOptions::new(SEAL_KIND);
    build_opts.subject = subject_of(seal);
    build_opts.created_at = opts.created_at;
    build_opts.sign = opts.keys.clone();
    build_opts.tool = opts.tool.clone();
    let inputs = [Input::Bytes {
        at: super::chain::SEAL_FILE.to_owned(),
        bytes,
    }];
    Ok(if out.to_string_lossy().ends_with(".tar.gz") {
        build::create_archive(out, &inputs, &build_opts)?
    } else {
        build::create(out, &inputs, &build_opts)?
    })
}

/// What was sealed, and where.
fn sealed_check(seal: &Seal, out: &Path, built: &Built) -> Check {
    Check::pass(
        JOURNAL_SEALED,
        format!(
            "sealed {} lines ({} bytes) with {} checkpoints every {} lines; chain head {}",
            seal.lines,
            seal.bytes,
            seal.checkpoints.len(),
            seal.checkpoint_interval,
            seal.head
        ),
    )
    .in_section(SECTION)
    .with_path(out.display().to_string())
    .with("id", built.id.to_string())
    .with("lines", seal.lines)
    .with("bytes", seal.bytes)
    .with("head", seal.head.to_string())
    .with("checkpoints", seal.checkpoints.len())
    .with("checkpoint_interval", seal.checkpoint_interval)
}

/// Trust in exactly the keys that signed, for reading the seal back.
fn signer_trust(keys: &[&PrivateKey]) -> Result<TrustPolicy, SealError> {
    let keys = keys
        .iter()
        .map(|k| NamedKey {
            name: k.public().key_id().to_string(),
            key: k.public(),
        })
        .collect();
    Ok(TrustPolicy::new(keys, 1).map_err(|e| BuildError::Sign(e.to_string()))?)
}

/// The manifest subject of a seal bundle.
fn subject_of(seal: &Seal) -> BTreeMap<String, String> {
    BTreeMap::from([
        (subject::JOURNAL.to_owned(), seal.journal.clone()),
        (subject::LINES.to_owned(), seal.lines.to_string()),
        (subject::BYTES.to_owned(), seal.bytes.to_string()),
        (subject::CHAIN_HEAD.to_owned(), seal.head.to_string()),
    ])
}

/// Verifies a seal bundle (folder or `.tar.gz`) under `trust` and reads its `seal.json` from
/// the verified bytes. The bundle must be of kind `journal-seal`, hold exactly
/// `payload/seal.json`, and have a subject that agrees with it.
pub fn open_seal(
    path: &Path,
    trust: &TrustPolicy,
    limits: &BundleLimits,
) -> (Report, Option<Verified<SealedJournal>>) {
    let capture = [SEAL_PAYLOAD_PATH];
    let verification = bundle::verify_path(
        path,
        &VerifyOptions {
            trust: Some(trust),
            capture: &capture,
            limits: *limits,
            ..VerifyOptions::default()
        },
    );
    let mut report = verification.report;
    let Some(verified) = verification.bundle else {
        return (report, None);
    };
    let bundle = verified.into_inner();
    match seal_in(&bundle) {
        Ok(seal) => {
            let sealed = SealedJournal {
                bundle_id: bundle.id,
                seal,
            };
            (report, Some(Verified::new(sealed)))
        }
        Err(detail) => {
            report.push(
                Check::fail(JOURNAL_SEAL_INVALID, detail)
                    .with_path(path.display().to_string())
                    .in_section(SECTION),
            );
            (report, None)
        }
    }
}

/// The seal a verified bundle holds, or why it is not a seal bundle.
fn seal_in(bundle: &VerifiedBundle) -> Result<Seal, String> {
    if bundle.manifest.kind != SEAL_KIND {
        return Err(format!(
            "the bundle is of kind {:?}, not {SEAL_KIND:?}",
            bundle.manifest.kind
        ));
    }
    let paths: Vec<&str> = bundle
        .manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    if paths != [SEAL_PAYLOAD_PATH] {
        return Err(format!(
            "a seal bundle holds exactly {SEAL_PAYLOAD_PATH}; this one holds {paths:?}"
        ));
    }
    let Some(bytes) = bundle.captured.get(SEAL_PAYLOAD_PATH) else {
        return Err(format!("{SEAL_PAYLOAD_PATH} was not captured"));
    };
    let seal = Seal::parse(bytes).map_err(|e| e.to_string())?;
    for (key, value) in subject_of(&seal) {
        let found = bundle.manifest.subject.get(&key);
        if found != Some(&value) {
            return Err(format!(
                "manifest subject {key} is {found:?}, but seal.json says {value:?}"
            ));
        }
    }
    Ok(seal)
}

/// How to check a journal against its seal.
#[derive(Debug, Clone, Copy)]
pub struct AppendOptions<'a> {
    /// Who may have signed the seal (from the caller, never from the seal).
    pub trust: &'a TrustPolicy,
    /// How every line of the journal is verified.
    pub journal: &'a JournalOptions,
    /// Limits for reading the seal bundle.
    pub bundle: BundleLimits,
}

/// Verifies the seal bundle at `seal_path`, then checks the journal at `journal` against it
/// (see [`check_append_reader`]). A seal that does not verify stops before the journal is read.
pub fn check_append(seal_path: &Path, journal: &Path, opts: &AppendOptions<'_>) -> Report {
    let mut report = Report::new(json!({
        "kind": "journal-append",
        "seal": seal_path.display().to_string(),
        "journal": journal.display().to_string(),
    }));
    let (seal_report, sealed) = open_seal(seal_path, opts.trust, &opts.bundle);
    report.absorb(seal_report, "seal");
    let Some(sealed) = sealed else {
        return report;
    };
    if let serde_json::Value::Object(s) = &mut report.subject {
        s.insert("seal_id".into(), sealed.bundle_id.to_string().into());
    }
    let name = journal.display().to_string();
    let journal_report = match std::fs::File::open(journal) {
        Ok(file) => check_append_reader(&sealed, file, &name, opts.journal),
        Err(e) => super::unreadable(&name, &e),
    };
    report.absorb(journal_report, SECTION);
    report
}

/// Where the journal first left the sealed history.
#[derive(Debug, Clone, Copy)]
struct Divergence {
    /// The first line that may differ.
    from: u64,
    /// The line at whose checkpoint the difference showed.
    to: u64,
    expected_offset: u64,
    actual_offset: u64,
    expected_chain: [u8; 32],
    actual_chain: [u8; 32],
}

/// Follows the chain of the journal being read and compares it with the seal.
struct Comparison<'s> {
    seal: &'s Seal,
    next: usize,
    chain: [u8; 32],
    lines: u64,
    bytes: u64,
    /// The last line at which the chain was compared and matched (0: none yet).
    matched: u64,
    compared: u64,
    diverged: Option<Divergence>,
}

impl<'s> Comparison<'s> {
    fn new(seal: &'s Seal) -> Self {
        Self {
            seal,
            next: 0,
            chain: chain_start(),
            lines: 0,
            bytes: 0,
            matched: 0,
            compared: 0,
            diverged: None,
        }
    }

    fn line(&mut self, len: u64, digest: &[u8; 32]) {
        self.lines += 1;
        self.bytes += len;
        self.chain = chain_step(&self.chain, digest);
        if self.diverged.is_some() || self.lines > self.seal.lines {
            return;
        }
        let checkpoint = self
            .seal
            .checkpoints
            .get(self.next)
            .filter(|c| c.line == self.lines);
        let expected = match checkpoint {
            Some(c) => (c.byte_offset, *c.chain.as_bytes()),
            None if self.lines == self.seal.lines => (self.seal.bytes, *self.seal.head.as_bytes()),
            None => return,
        };
        if checkpoint.is_some() {
            self.next += 1;
        }
        self.compared += 1;
        if expected == (self.bytes, self.chain) {
            self.matched = self.lines;
        } else {
            self.diverged = Some(Divergence {
                from: self.matched + 1,
                to: self.lines,
                expected_offset: expected.0,
                actual_offset: self.bytes,
                expected_chain: expected.1,
                actual_chain: self.chain,
            });
        }
    }
}

/// Checks that the journal read from `reader` begins with exactly the sealed content: the
/// chain and byte offset must match at every checkpoint and at the sealed line count. Every
/// line is also verified as in [`super::verify_reader`]. Reports what was appended, or the
/// interval of lines where history was rewritten, or that sealed lines are missing.
pub fn check_append_reader<R: Read>(
    sealed: &Verified<SealedJournal>,
    reader: R,
    name: &str,
    opts: &JournalOptions,
) -> Report {
    let seal = &sealed.seal;
    let mut report = Report::new(json!({"kind": "journal-append", "journal": name}));
    let mut validator = Validator::new(opts);
    let read = read_against(seal, reader, opts, &mut validator);
    validator.finish(&mut report, name, Status::Warn);
    let at = |check: Check| check.with_path(name.to_owned()).in_section(SECTION);
    if let Some(d) = read.comparison.diverged {
        report.push(at(rewritten_check(seal, &read.comparison, &d)));
        return report;
    }
    if read.comparison.lines < seal.lines {
        report.push(at(truncated_check(seal, &read)));
        return report;
    }
    report.push(at(Check::pass(
        JOURNAL_PREFIX_INTACT,
        format!(
            "the first {} lines ({} bytes) are exactly the sealed content ({} points of the chain \
             compared)",
            seal.lines, seal.bytes, read.comparison.compared
        ),
    )
    .with("sealed_lines", seal.lines)
    .with("sealed_bytes", seal.bytes)
    .with("compared", read.comparison.compared)
    .with("sealed_name", seal.journal.clone())));
    report.push(at(appended_check(seal, &read)));
    report
}

/// What reading a journal against its seal found.
struct AppendRead<'s> {
    comparison: Comparison<'s>,
    /// Bad lines after the sealed ones.
    appended_bad: u64,
    /// The first of them.
    first_appended_bad: Option<u64>,
    /// False when reading stopped with an error.
    read_ok: bool,
}

/// Reads every line, verifying it with `validator` and following the chain against the seal.
fn read_against<'s, R: Read>(
    seal: &'s Seal,
    reader: R,
    opts: &JournalOptions,
    validator: &mut Validator<'_>,
) -> AppendRead<'s> {
    let mut read = AppendRead {
        comparison: Comparison::new(seal),
        appended_bad: 0,
        first_appended_bad: None,
        read_ok: true,
    };
    let mut lines = LineReader::new(reader, opts.limits.max_line_bytes, true);
    loop {
        match lines.next_line() {
            Ok(Some(line)) => {
                let good = validator.line(&line);
                let comparison = &mut read.comparison;
                comparison.line(line.len, &line.digest.unwrap_or_default());
                if !good && comparison.lines > seal.lines {
                    read.appended_bad += 1;
                    read.first_appended_bad.get_or_insert(comparison.lines);
                }
            }
            Ok(None) => break,
            Err(e) => {
                validator.read_failed(&e);
                read.read_ok = false;
                break;
            }
        }
    }
    read
}

/// The lines between which the journal left the sealed history.
fn rewritten_check(seal: &Seal, comparison: &Comparison<'_>, d: &Divergence) -> Check {
    let detail = if d.from == d.to {
        format!(
            "history was rewritten: line {} differs from the sealed one",
            d.to
        )
    } else {
        format!(
            "history was rewritten: the first changed line is between lines {} and {} \
             (lines 1-{} match the seal)",
            d.from,
            d.to,
            d.from - 1
        )
    };
    Check::fail(JOURNAL_HISTORY_REWRITTEN, detail)
        .with_line(d.from)
        .with("from_line", d.from)
        .with("to_line", d.to)
        .with("expected_byte_offset", d.expected_offset)
        .with("actual_byte_offset", d.actual_offset)
        .with(
            "expected_chain",
            Sha256Digest::from_bytes(d.expected_chain).to_string(),
        )
        .with(
            "actual_chain",
            Sha256Digest::from_bytes(d.actual_chain).to_string(),
        )
        .with("sealed_lines", seal.lines)
        .with("sealed_bytes", seal.bytes)
        .with("lines", comparison.lines)
        .with("bytes", comparison.bytes)
}

/// The journal is shorter than the seal: sealed lines are missing.
fn truncated_check(seal: &Seal, read: &AppendRead<'_>) -> Check {
    let (lines_now, bytes_now) = (read.comparison.lines, read.comparison.bytes);
    // Lines 1..matched are intact; the first difference lies after them, at the latest at
    // the first missing line.
    let from = read.comparison.matched + 1;
    let to = lines_now + 1;
    let mut detail = format!(
        "the journal has {lines_now} lines ({bytes_now} bytes) but the seal covers {} lines \
         ({} bytes): sealed lines are missing",
        seal.lines, seal.bytes
    );
    if !read.read_ok {
        detail.push_str(" (reading stopped early)");
    }
    if from <= lines_now {
        detail.push_str(&format!(
            "; lines 1-{} match the seal, lines {from}-{lines_now} could not be compared",
            from - 1
        ));
    }
    Check::fail(JOURNAL_TRUNCATED, detail)
        .with_line(from)
        .with("from_line", from)
        .with("to_line", to)
        .with("sealed_lines", seal.lines)
        .with("sealed_bytes", seal.bytes)
        .with("lines", lines_now)
        .with("bytes", bytes_now)
}

/// What was appended after the sealed lines, and whether it verifies.
fn appended_check(seal: &Seal, read: &AppendRead<'_>) -> Check {
    let (lines_now, bytes_now) = (read.comparison.lines, read.comparison.bytes);
    let appended_bad = read.appended_bad;
    let appended_lines = lines_now - seal.lines;
    let appended_bytes = bytes_now - seal.bytes;
    let detail = match (appended_lines, read.first_appended_bad) {
        (0, _) => "nothing was appended since the seal".to_owned(),
        (n, None) => format!(
            "{n} lines ({appended_bytes} bytes) were appended after line {}; they verify",
            seal.lines
        ),
        (n, Some(first)) => format!(
            "{n} lines ({appended_bytes} bytes) were appended after line {}; {appended_bad} of \
             them are bad, the first is line {first}",
            seal.lines
        ),
    };
    Check::pass(JOURNAL_APPENDED, detail)
        .with("appended_lines", appended_lines)
        .with("appended_bytes", appended_bytes)
        .with("appended_bad_lines", appended_bad)
        .with("appended_valid", appended_bad == 0)
        .with("lines", lines_now)
        .with("bytes", bytes_now)
}
