//! `evidence bundle verify|unpack`: verify a bundle against the caller's trusted keys (and
//! unpack an archive that verifies).

use std::path::PathBuf;

use evidence_core::bundle::{self, SignatureRequirement, VerifyOptions, archive};
use evidence_core::keys::TrustPolicy;

use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs};
use crate::progress::HashProgress;
use crate::trust::TrustArgs;

/// `evidence bundle verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Checks every rule of docs/FORMAT.md section 5: each listed file's size and SHA-256, no
unlisted file, folder, link or special file, confined paths, SHA256SUMS agreeing with the
manifest, and, when trusted keys are given, signatures by enough distinct trusted keys.
Without --trusted-key or --keyring only integrity is checked, and the report says so.

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
    /// With trusted keys given, accept a bundle without signatures (an invalid one still fails).
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
    pub trust: TrustArgs,
    /// With trusted keys given, accept a bundle without signatures.
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
    let verification = bundle::verify_path(&args.bundle, &opts);
    progress.finish();
    output::emit(verification.report, "evidence", &args.output)
}

/// Verifies an archive and unpacks it into a new folder.
pub(super) fn unpack(args: &UnpackArgs) -> Result<Outcome, CliError> {
    must_exist(&args.archive, "archive")?;
    let policy = args.trust.policy()?;
    let progress = HashProgress::new(args.output.quiet || args.output.json);
    let opts = verify_options(policy.as_ref(), args.allow_unsigned, &progress);
    let verification = archive::unpack(&args.archive, &args.out, &opts)
        .map_err(|e| CliError::from(e).hint("choose a destination that does not exist"))?;
    progress.finish();
    output::emit(verification.report, "evidence", &args.output)
}
