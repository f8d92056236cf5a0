//! `evidence journal verify` on the ZERO engine's envelope journals: the file is recognised by
//! its first line and verified with `evidence_core::journal::envelope`; other journals go to
//! the JSON Lines verifier exactly as before.

use std::path::PathBuf;

use evidence_core::journal::{self, DEFAULT_MAX_LINE_BYTES, envelope};

use super::VerifyArgs;
use crate::exit::{CliError, Outcome, must_be_file, must_exist};
use crate::output;
use crate::trust::TrustArgs;

/// Options that apply to `zero.journal.v1` envelope journals only.
#[derive(Debug, clap::Args)]
pub struct EnvelopeArgs {
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Envelope journals: the raw JSONL records the entries stand for, in order; each
    /// payload_hash must be the hash of its record.
    #[arg(long, value_name = "RAW")]
    pub payloads: Option<PathBuf>,
    /// Envelope journals: a zero.journal_root.v1 root whose hash, signature and entry for the
    /// journal's stream (count, head_hash) are checked.
    #[arg(long, value_name = "ROOT")]
    pub root: Option<PathBuf>,
}

/// Runs `journal verify`.
pub fn verify(args: &VerifyArgs) -> Result<Outcome, CliError> {
    must_be_file(&args.file, "journal")?;
    let opts = args.lines.options()?;
    let e = &args.envelope;
    let Ok(file) = std::fs::File::open(&args.file) else {
        // The JSON Lines verifier reports a file it cannot open, as it always did.
        let verification = journal::verify_path(&args.file, &opts);
        return output::emit(verification.report, "evidence", &args.output);
    };
    let name = args.file.display().to_string();
    let (is_envelope, reader) = envelope::detect(file, DEFAULT_MAX_LINE_BYTES);
    if !is_envelope {
        if e.trust.given() || e.payloads.is_some() || e.root.is_some() {
            return Err(CliError::new(format!(
                "{name} is not a zero.journal.v1 envelope journal"
            ))
            .hint("--trusted-key, --keyring, --payloads and --root apply to envelope journals only"));
        }
        let verification = journal::verify_reader(reader, &name, &opts);
        return output::emit(verification.report, "evidence", &args.output);
    }
    if !opts.unique_keys.is_empty() {
        return Err(CliError::new(format!(
            "{name} is an envelope journal; --unique-key does not apply"
        ))
        .hint("envelope entries are checked by seq, prev_hash and entry_hash"));
    }
    let trust = e.trust.policy()?;
    if trust.as_ref().is_some_and(|t| t.threshold.get() > 1) {
        return Err(CliError::new(
            "an envelope entry and a root carry one signature each; a threshold above 1 cannot be met",
        )
        .hint("pass --threshold 1 (any one trusted key suffices)"));
    }
    for (path, what) in [(&e.payloads, "payload file"), (&e.root, "root")] {
        if let Some(path) = path {
            must_exist(path, what)?;
        }
    }
    let mut envelope_opts = envelope::EnvelopeOptions::default();
    envelope_opts.trust = trust.as_ref();
    envelope_opts.payloads = e.payloads.as_deref();
    envelope_opts.root = e.root.as_deref();
    let verification = envelope::verify_reader(reader, &name, &envelope_opts);
    output::emit(verification.report, "evidence", &args.output)
}
