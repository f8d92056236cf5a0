//! `evidence rollback rehearse|verify`: prove a rollback sound from two signed captures, and
//! verify the rehearsal bundle that records it.

use std::path::PathBuf;

use evidence_core::rollback::{self, RehearseOptions};

use crate::clock::CreatedAtArgs;
use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs};
use crate::signing::SignArgs;
use crate::trust::{self, TrustArgs};
use crate::{profile, tool};

/// `evidence rollback rehearse`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Checks, each its own code: both captures verify under the trusted keys (a signature is
required); both are of the same target; they are different bundles; the previous one was
created strictly before the current one; every assertion of the previous capture passed;
the profile's rollback preconditions hold on the previous capture's stored packets (for
zero-paper: live mode refused, risk-increasing actions blocked, heartbeat paper-only, health
ok). The report and an operator plan are sealed into a signed rollback-rehearsal bundle whose
parents are both capture ids, whatever the verdict; the exit status is 1 when it failed.

Example:
  evidence rollback rehearse --current packs/now --previous packs/last-good \\
      --trusted-key ops.pub --sign keys/operator.key --out rehearsals/2026-11-24")]
pub struct RehearseArgs {
    /// The current deployment's capture (folder or .tar.gz).
    #[arg(long, value_name = "BUNDLE")]
    pub current: PathBuf,
    /// The previous deployment's capture: the rollback target.
    #[arg(long, value_name = "BUNDLE")]
    pub previous: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Apply this profile's rollback preconditions instead of the one stored in the capture.
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub sign: SignArgs,
    /// The rehearsal bundle to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    #[command(flatten)]
    pub created_at: CreatedAtArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence rollback verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The rehearsal bundle (folder or .tar.gz).
    #[arg(value_name = "REHEARSAL")]
    pub rehearsal: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Rehearses the rollback and seals the rehearsal, whatever its verdict.
pub(super) fn rehearse(args: &RehearseArgs) -> Result<Outcome, CliError> {
    must_exist(&args.current, "bundle")?;
    must_exist(&args.previous, "bundle")?;
    let trust = args.trust.required()?;
    args.stale.check("evidence", &args.out)?;
    let profile = args.profile.as_deref().map(profile::load).transpose()?;
    let keys = args.sign.required()?;
    let rehearsal = rollback::rehearse(
        &args.out,
        &RehearseOptions {
            current: &args.current,
            previous: &args.previous,
            trust: &trust,
            profile: profile.as_ref(),
            sign: keys.iter().collect(),
            created_at: args.created_at.timestamp()?,
            tool: tool::info(),
        },
    )
    .map_err(|e| CliError::from(e).hint("choose a new --out; nothing was written"))?;
    let mut report = rehearsal.report;
    output::record_bundle(&mut report, &args.out, &rehearsal.built.id.to_string());
    output::emit(report, "evidence", &args.output)
}

/// Verifies a rehearsal bundle.
pub(super) fn verify(args: &VerifyArgs) -> Result<Outcome, CliError> {
    must_exist(&args.rehearsal, "bundle")?;
    let Some(trust) = args.trust.policy()? else {
        let subject = serde_json::json!({
            "kind": "rollback-rehearsal",
            "bundle": args.rehearsal.display().to_string(),
        });
        return output::emit(trust::untrusted_report(subject), "evidence", &args.output);
    };
    let (report, _) = rollback::verify_rehearsal(&args.rehearsal, &trust);
    output::emit(report, "evidence", &args.output)
}
