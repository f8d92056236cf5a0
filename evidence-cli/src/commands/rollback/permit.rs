//! `evidence rollback permit|check-permit`: issue a signed, expiring permit for a rehearsed
//! rollback, and check one just before rolling back.

use std::path::PathBuf;

use evidence_core::keys::{NamedKey, TrustPolicy};
use evidence_core::rollback::{self, PermitError};
use evidence_core::timestamp::{Timestamp, parse_duration};

use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs};
use crate::signing::SignArgs;
use crate::trust::{self, TrustArgs};
use crate::{clock, tool};

/// `evidence rollback permit`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
The rehearsal is verified first (against --trusted-key/--keyring, or the signing key's own
public key when none is given) and must have passed. The permit is a rollback-permit bundle
written as FILE (a .tar.gz when FILE ends in .tar.gz, else a folder) allowing exactly the
rollback from the rehearsal's current capture id to its previous one, until it expires.

Example:
  evidence rollback permit --rehearsal rehearsals/2026-11-24 --expires-in 1h \\
      --sign keys/operator.key --out permit.tar.gz")]
pub struct PermitArgs {
    /// The passed rehearsal.
    #[arg(long, value_name = "REHEARSAL")]
    pub rehearsal: PathBuf,
    /// How long the permit is valid: 90s, 15m, 1h, 1d (at most 7d).
    #[arg(long, value_name = "DURATION")]
    pub expires_in: String,
    #[command(flatten)]
    pub sign: SignArgs,
    /// The permit to write (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
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

/// Issues a permit for the rollback a passed rehearsal covers.
pub(super) fn permit(args: &PermitArgs) -> Result<Outcome, CliError> {
    must_exist(&args.rehearsal, "bundle")?;
    let key = args.sign.one()?;
    args.stale.check("evidence", &args.out)?;
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
        &key,
        &args.out,
        tool::info(),
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

/// Checks a permit for exactly this rollback, now (or at `--now`).
pub(super) fn check_permit(args: &CheckPermitArgs) -> Result<Outcome, CliError> {
    must_exist(&args.permit, "bundle")?;
    let Some(trust) = args.trust.policy()? else {
        let subject = serde_json::json!({
            "kind": "rollback-permit",
            "bundle": args.permit.display().to_string(),
        });
        return output::emit(trust::untrusted_report(subject), "evidence", &args.output);
    };
    let report = rollback::check_permit(
        &args.permit,
        &args.from,
        &args.to,
        &args.target,
        &trust,
        clock::now(args.now.as_deref())?,
    );
    output::emit(report, "evidence", &args.output)
}
