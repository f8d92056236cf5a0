//! `evidence rollback rehearse|verify|permit|check-permit`.

use std::path::{Path, PathBuf};

use evidence_core::keys::{NamedKey, TrustPolicy};
use evidence_core::report::Report;
use evidence_core::rollback::{self, PermitError, RehearseOptions};
use evidence_core::timestamp::{Timestamp, parse_duration};

use crate::commands::bundle::load_keys;
use crate::commands::deploy::{created_at, load_profile, tool};
use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs};
use crate::trust::TrustArgs;

/// Rollback commands.
#[derive(Debug, clap::Subcommand)]
pub enum RollbackCommand {
    /// Prove from two signed captures that rolling back from CURRENT to PREVIOUS is sound.
    Rehearse(RehearseArgs),
    /// Verify a rehearsal bundle; fails when its signed verdict is fail.
    Verify(VerifyArgs),
    /// Issue a signed, expiring permit for the rollback a passed rehearsal covers.
    Permit(PermitArgs),
    /// What an automated rollback runs: check a permit for exactly this rollback, now.
    CheckPermit(CheckPermitArgs),
}

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
    /// Sign the rehearsal with this private key (repeatable).
    #[arg(long = "sign", value_name = "KEYFILE", required = true)]
    pub sign: Vec<PathBuf>,
    /// The rehearsal bundle to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The creation time to record (RFC 3339); default: SOURCE_DATE_EPOCH, else now.
    #[arg(long, value_name = "RFC3339")]
    pub created_at: Option<String>,
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

/// `evidence rollback permit`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
The rehearsal is verified first (against --trusted-key/--keyring, or the signing key's own
public key when none is given) and must have passed. The permit is a rollback-permit bundle
written as FILE (a .tar.gz when FILE ends in .tar.gz, else a folder) allowing exactly the
rollback from the rehearsal's current capture id to its previous one, until it expires.

Example:
  evidence rollback permit --rehearsal rehearsals/2026-11-24 --expires-in 1h \\
      --key keys/operator.key --out permit.tar.gz")]
pub struct PermitArgs {
    /// The passed rehearsal.
    #[arg(long, value_name = "REHEARSAL")]
    pub rehearsal: PathBuf,
    /// How long the permit is valid: 90s, 15m, 1h, 1d (at most 7d).
    #[arg(long, value_name = "DURATION")]
    pub expires_in: String,
    /// The signing key.
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// The permit to write (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// `evidence rollback check-permit`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Refuses (exit 1) a permit that is not signed by a trusted key, is for another service
(--target) or another pair of captures, was issued for longer than 7 days, has expired, has
times that cannot be read, or whose content disagrees with its signed manifest (which must
name exactly one parent, the rehearsal).

Example:
  evidence rollback check-permit permit.tar.gz --target https://paper.example \\
      --from sha256:... --to sha256:... --trusted-key ops.pub && ./rollback.sh")]
pub struct CheckPermitArgs {
    /// The permit.
    #[arg(value_name = "PERMIT")]
    pub permit: PathBuf,
    /// The current capture id being rolled back from.
    #[arg(long, value_name = "ID")]
    pub from: String,
    /// The previous capture id being rolled back to.
    #[arg(long, value_name = "ID")]
    pub to: String,
    /// The service being rolled back (its base URL, as captured; a trailing / is ignored).
    #[arg(long, value_name = "URL")]
    pub target: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Judge expiry at this time instead of now (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn required_trust(trust: &TrustArgs) -> Result<TrustPolicy, CliError> {
    trust.policy()?.ok_or_else(|| {
        CliError::new("a trusted key is required: evidence is verified with pinned keys only")
            .hint("add --trusted-key FILE or --keyring FILE")
    })
}

fn now(arg: Option<&str>) -> Result<Timestamp, CliError> {
    Ok(created_at(arg)?.unwrap_or_else(Timestamp::now))
}

/// Runs a rollback command.
pub fn run(command: &RollbackCommand) -> Result<Outcome, CliError> {
    match command {
        RollbackCommand::Rehearse(args) => {
            must_exist(&args.current, "bundle")?;
            must_exist(&args.previous, "bundle")?;
            let trust = required_trust(&args.trust)?;
            let profile = args.profile.as_deref().map(load_profile).transpose()?;
            let keys = load_keys(&args.sign)?;
            let rehearsal = rollback::rehearse(
                &args.out,
                &RehearseOptions {
                    current: &args.current,
                    previous: &args.previous,
                    trust: &trust,
                    profile: profile.as_ref(),
                    sign: keys.iter().collect(),
                    created_at: created_at(args.created_at.as_deref())?,
                    tool: tool(),
                },
            )
            .map_err(|e| CliError::from(e).hint("choose a new --out; nothing was written"))?;
            let mut report = rehearsal.report;
            stamp(&mut report, &args.out, &rehearsal.built.id.to_string());
            output::emit(report, "evidence", &args.output)
        }
        RollbackCommand::Verify(args) => {
            must_exist(&args.rehearsal, "bundle")?;
            let trust = required_trust(&args.trust)?;
            let (report, _) = rollback::verify_rehearsal(&args.rehearsal, &trust);
            output::emit(report, "evidence", &args.output)
        }
        RollbackCommand::Permit(args) => {
            must_exist(&args.rehearsal, "bundle")?;
            let keys = load_keys(std::slice::from_ref(&args.key))?;
            let key = keys.first().ok_or_else(|| CliError::new("no key"))?;
            let trust = match args.trust.policy()? {
                Some(t) => t,
                None => TrustPolicy::new(
                    vec![NamedKey {
                        name: "signing key".to_owned(),
                        key: key.public(),
                    }],
                    1,
                )?,
            };
            let seconds = parse_duration(&args.expires_in)
                .map_err(|e| CliError::from(e).hint("use a duration such as 30m, 1h or 1d"))?;
            match rollback::issue_permit(
                &args.rehearsal,
                &trust,
                seconds,
                Timestamp::now(),
                key,
                &args.out,
                tool(),
            ) {
                Ok((built, permit)) => {
                    output::write_stdout(&format!(
                        "{}\npermit {} -> {} for {}, valid until {}\n",
                        built.id, permit.from, permit.to, permit.target, permit.expires_at
                    ))?;
                    Ok(Outcome::Ok)
                }
                Err(PermitError::Refused(report)) => {
                    output::write_stdout(&report.to_text(false))?;
                    Ok(Outcome::Failed)
                }
                Err(e) => Err(CliError::from(e).hint("choose a new --out and a duration up to 7d")),
            }
        }
        RollbackCommand::CheckPermit(args) => {
            must_exist(&args.permit, "bundle")?;
            let trust = required_trust(&args.trust)?;
            let report = rollback::check_permit(
                &args.permit,
                &args.from,
                &args.to,
                &args.target,
                &trust,
                now(args.now.as_deref())?,
            );
            output::emit(report, "evidence", &args.output)
        }
    }
}

fn stamp(report: &mut Report, out: &Path, id: &str) {
    if let serde_json::Value::Object(subject) = &mut report.subject {
        subject.insert("bundle".into(), out.display().to_string().into());
        subject.insert("id".into(), id.into());
    }
}
