//! `evidence journal verify|seal|check-append`: JSONL journals.

pub mod envelope;

use std::path::PathBuf;

use evidence_core::bundle::BundleLimits;
use evidence_core::journal::seal::{self, AppendOptions, SealError, SealOptions};
use evidence_core::journal::{DEFAULT_TYPE_KEY, JournalOptions};

use crate::clock::CreatedAtArgs;
use crate::exit::{CliError, Outcome, must_be_file, must_exist};
use crate::output::{self, OutputArgs};
use crate::signing::SignArgs;
use crate::tool;
use crate::trust::{self, TrustArgs};

/// Journal commands.
#[derive(Debug, clap::Subcommand)]
pub enum JournalCommand {
    /// Check that every line is a JSON object; report the first bad line.
    Verify(VerifyArgs),
    /// Verify a journal and write a signed seal of its content (a journal-seal bundle).
    Seal(SealArgs),
    /// Check that a journal begins with exactly the content its seal recorded.
    CheckAppend(CheckAppendArgs),
}

/// How lines are judged (shared by the three commands).
#[derive(Debug, Clone, clap::Args)]
pub struct LineArgs {
    /// A top-level member whose value must not repeat across lines, such as
    /// idempotency_key or id (repeatable; values compare in canonical JSON form).
    #[arg(long = "unique-key", value_name = "K")]
    pub unique_keys: Vec<String>,
    /// The top-level member whose string value is a line's type, for the counts.
    #[arg(long, value_name = "K", default_value = DEFAULT_TYPE_KEY)]
    pub type_key: String,
}

impl LineArgs {
    pub(crate) fn options(&self) -> Result<JournalOptions, CliError> {
        let opts = JournalOptions {
            unique_keys: self.unique_keys.clone(),
            type_key: self.type_key.clone(),
            ..JournalOptions::default()
        };
        opts.check().map_err(|e| {
            CliError::from(e)
                .hint("name each member once, with a non-empty name of at most 256 bytes")
        })?;
        Ok(opts)
    }
}

/// `evidence journal verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Reads FILE once, in memory that does not grow with it. Every line must be UTF-8, at most
16 MiB long, and one JSON object without duplicate member names; with --unique-key, no value
of that member may repeat. The first bad line is reported with its line number, byte offset
and reason; later bad lines are counted. A last line without a newline is reported as
truncated when its JSON is incomplete. Lines are counted per type (the --type-key member).
FILE may be a pipe: evidence journal verify <(zcat events.jsonl.gz).

When the first non-blank line is a zero.journal.v1 envelope (the ZERO engine's hash-chained
journals), the chain is verified instead: seq from 1 without gaps, each prev_hash the previous
entry_hash, each entry_hash recomputed; signatures count only under --trusted-key/--keyring
(an embedded key is never trusted; without keys they are reported as not checked);
--payloads binds each payload_hash to its raw record; --root checks a zero.journal_root.v1
root's hash, signature and its count and head_hash for the stream (docs/FORMAT.md 11.6).

Exit status: 0 every line is good, 1 a line is bad or the journal is empty,
2 the tool could not run.

Examples:
  evidence journal verify events.jsonl
  evidence journal verify events.jsonl --unique-key idempotency_key --json
  evidence journal verify audit.jsonl --type-key event --unique-key id
  evidence journal verify decisions.chain.jsonl --payloads decisions.jsonl \\
      --root journal-root-2026-11-22.json --trusted-key keys/journal.pub")]
pub struct VerifyArgs {
    /// The journal (JSON Lines).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub envelope: envelope::EnvelopeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence journal seal`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Verifies FILE as `journal verify` does and, in the same read, computes a SHA-256 chain over
its lines with up to 4096 evenly spaced checkpoints (docs/FORMAT.md section 11). Writes them
as payload/seal.json in an evidence bundle of kind journal-seal, signed with --sign, whose
subject records the journal's name, lines, bytes and chain head. --out ending in .tar.gz
writes the archive form, anything else a folder; it must not exist. Nothing is written when
the journal does not verify or its last line has no newline. The written seal is verified
before the report is printed.

Exit status: 0 sealed, 1 the journal did not verify (nothing written), 2 the tool could not run.

Examples:
  evidence journal seal events.jsonl --sign keys/operator.key --out seals/events-2026-11-22
  evidence journal seal events.jsonl --sign keys/operator.key --unique-key idempotency_key \\
      --out seals/events.seal.tar.gz")]
pub struct SealArgs {
    /// The journal to seal.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub sign: SignArgs,
    /// The seal bundle to create: a folder, or an archive when it ends in .tar.gz.
    #[arg(long, value_name = "SEAL")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    #[command(flatten)]
    pub created_at: CreatedAtArgs,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence journal check-append`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Verifies the SEAL bundle (folder or .tar.gz) with the trusted keys, then reads FILE once: it
must begin with exactly the sealed content, the chain and byte offset matching at every
checkpoint and at the sealed line count. Reports what was appended (lines, bytes, whether the
appended lines verify), or the interval of lines in which the first changed line lies when
history was rewritten (changed, deleted, inserted or reordered lines), or that sealed lines
are missing. Every line is also verified as `journal verify` does.

Exit status: 0 only appended (or unchanged), 1 a check failed (untrusted or tampered seal, no
--trusted-key or --keyring, rewritten or truncated history, a bad line), 2 the tool could not
run.

Examples:
  evidence journal check-append seals/events-2026-11-22 events.jsonl \\
      --trusted-key keys/operator.pub
  evidence journal check-append events.seal.tar.gz events.jsonl --keyring ops.keyring.json --json")]
pub struct CheckAppendArgs {
    /// The seal bundle (folder or .tar.gz).
    #[arg(value_name = "SEAL")]
    pub seal: PathBuf,
    /// The journal now.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs a journal command.
pub fn run(command: &JournalCommand) -> Result<Outcome, CliError> {
    match command {
        JournalCommand::Verify(args) => envelope::verify(args),
        JournalCommand::Seal(args) => seal(args),
        JournalCommand::CheckAppend(args) => {
            must_exist(&args.seal, "seal")?;
            must_be_file(&args.file, "journal")?;
            let opts = args.lines.options()?;
            // A seal is never trusted by itself.
            let Some(trust) = args.trust.policy()? else {
                let subject = serde_json::json!({
                    "kind": "journal-append",
                    "seal": args.seal.display().to_string(),
                });
                return output::emit(trust::untrusted_report(subject), "evidence", &args.output);
            };
            let report = seal::check_append(
                &args.seal,
                &args.file,
                &AppendOptions {
                    trust: &trust,
                    journal: &opts,
                    bundle: BundleLimits::default(),
                },
            );
            output::emit(report, "evidence", &args.output)
        }
    }
}

fn seal(args: &SealArgs) -> Result<Outcome, CliError> {
    must_be_file(&args.file, "journal")?;
    let keys = args.sign.required()?;
    let mut opts = SealOptions::new(keys.iter().collect());
    args.stale.check("evidence", &args.out)?;
    opts.journal = args.lines.options()?;
    opts.created_at = args.created_at.timestamp()?;
    opts.tool = tool::info();
    let outcome = seal::seal(&args.file, &args.out, &opts).map_err(|e| {
        let hint = match e {
            SealError::Exists(_) => "choose a new --out; seals are never overwritten",
            _ => "nothing was written; fix the problem and run again",
        };
        CliError::from(e).hint(hint)
    })?;
    let line = match &outcome.sealed {
        Some(s) => format!(
            "sealed {} lines ({} bytes) of {} into {}: {}\n",
            s.seal.lines,
            s.seal.bytes,
            args.file.display(),
            args.out.display(),
            s.bundle_id
        ),
        None => "the journal did not verify; no seal was written\n".to_owned(),
    };
    output::summary(&args.output, &line)?;
    output::emit(outcome.report, "evidence", &args.output)
}
