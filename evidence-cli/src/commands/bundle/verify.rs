//! `evidence bundle verify|unpack`: verify a bundle against the caller's trusted keys (and
//! unpack an archive that verifies).

use std::path::PathBuf;

use evidence_core::bundle::{self, SignatureRequirement, VerifyOptions, archive};
use evidence_core::keys::TrustPolicy;

use crate::exit::{CliError, Outcome, must_be_file, must_exist};
use crate::output::{self, OutputArgs};
use crate::progress::HashProgress;
use crate::trust::{self, ANCHOR_FLAGS, TrustArgs};

/// `evidence bundle verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Checks every rule of docs/FORMAT.md section 5: each listed file's size and SHA-256, no
unlisted file, folder, link or special file, confined paths, SHA256SUMS agreeing with the
manifest, and signatures by enough distinct trusted keys. Without --trusted-key or --keyring
the verification fails (trust-not-configured) unless --allow-unsigned asks for integrity
only: the verdict then reads \"OK (unauthenticated: integrity only)\".

Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run.

Examples:
  evidence bundle verify packs/2026-11-22 --trusted-key keys/operator.pub
  evidence bundle verify pack.tar.gz --keyring ops.keyring.json --json")]
pub struct VerifyArgs {
    /// The bundle folder or .tar.gz archive.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Accept what no trusted key signed: with trusted keys, a bundle without signatures; with
    /// none, integrity only (an invalid signature still fails).
    #[arg(long)]
    pub allow_unsigned: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence bundle unpack`.
#[derive(Debug, clap::Args)]
pub struct UnpackArgs {
    /// The .tar.gz bundle.
    #[arg(value_name = "FILE")]
    pub archive: PathBuf,
    /// The folder to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Accept what no trusted key signed: with trusted keys, a bundle without signatures; with
    /// none, integrity only. Without either, nothing is unpacked.
    #[arg(long)]
    pub allow_unsigned: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn verify_options<'a>(
    policy: Option<&'a TrustPolicy>,
    allow_unsigned: bool,
    progress: &'a HashProgress,
) -> VerifyOptions<'a> {
    VerifyOptions {
        trust: policy,
        signatures: if allow_unsigned {
            SignatureRequirement::AllowUnsigned
        } else {
            SignatureRequirement::Required
        },
        progress,
        ..VerifyOptions::default()
    }
}

/// Verifies a bundle folder or archive.
pub(super) fn verify(args: &VerifyArgs) -> Result<Outcome, CliError> {
    must_exist(&args.bundle, "bundle")?;
    let policy = args.trust.policy()?;
    let progress = HashProgress::new(args.output.quiet || args.output.json);
    let opts = verify_options(policy.as_ref(), args.allow_unsigned, &progress);
    let mut report = bundle::verify_path(&args.bundle, &opts).report;
    progress.finish();
    if policy.is_none() {
        trust::not_configured(&mut report, ANCHOR_FLAGS, args.allow_unsigned);
    }
    output::emit(report, "evidence", &args.output)
}

/// Verifies an archive and unpacks it into a new folder. With no trust anchor and no
/// `--allow-unsigned` it only verifies: nothing unauthenticated is written.
pub(super) fn unpack(args: &UnpackArgs) -> Result<Outcome, CliError> {
    must_be_file(&args.archive, "archive")?;
    let policy = args.trust.policy()?;
    let progress = HashProgress::new(args.output.quiet || args.output.json);
    let opts = verify_options(policy.as_ref(), args.allow_unsigned, &progress);
    let mut report = if policy.is_some() || args.allow_unsigned {
        args.stale.check("evidence", &args.out)?;
        archive::unpack(&args.archive, &args.out, &opts)
            .map_err(|e| CliError::from(e).hint("choose a destination that does not exist"))?
            .report
    } else {
        bundle::verify_path(&args.archive, &opts).report
    };
    progress.finish();
    if policy.is_none() {
        trust::not_configured(&mut report, ANCHOR_FLAGS, args.allow_unsigned);
    }
    output::emit(report, "evidence", &args.output)
}
