//! `evidence identity create|verify`: deployment claim and heartbeat packets, sealed into a
//! bundle signed by the operator key and verified against pinned keys.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use evidence_core::identity::{self, CreateError, CreateOptions, Freshness, IdentityLimits};
use evidence_core::timestamp;

use crate::clock::{self, CreatedAtArgs};
use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs};
use crate::signing::SignArgs;
use crate::tool;
use crate::trust::{self, TrustArgs};

/// Identity commands.
#[derive(Debug, clap::Subcommand)]
pub enum IdentityCommand {
    /// Check a claim and heartbeat pair and seal it into a signed identity bundle.
    Create(CreateArgs),
    /// Verify an identity bundle against pinned operator keys.
    Verify(VerifyArgs),
}

/// `evidence identity create`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Checks the pair first: schema strings, the engine's self-hashes (claim_hash, heartbeat_hash),
the heartbeat's deployment_claim_hash naming this claim, the same deployment id, the heartbeat
not older than the claim, privacy flags false and no secret-looking values. A pair that fails
is refused: the report says why and nothing is written.

The bundle (kind identity) holds the two packets' exact bytes and the report of the checks;
its signed manifest subject records deployment_id, claim_hash, heartbeat_hash, claim_time,
heartbeat_time, mode and the verdict. --out ending in .tar.gz writes the archive form.
--created-at (or SOURCE_DATE_EPOCH) makes the bundle reproducible.

--from-capture BUNDLE verifies a deployment capture under --trusted-key first, then takes the
bound pair its profile names (zero-paper: the pair inside /network/profile; the engine makes
a fresh claim per request, so /deployment/claim and /deployment/heartbeat never bind).

Exit status: 0 sealed, 1 the pair failed a check (nothing written), 2 the tool could not run
(missing file, bad key, --out exists).

Examples:
  evidence identity create --claim claim.json --heartbeat heartbeat.json \\
      --sign keys/operator.key --out evidence/identity-2026-11-22
  evidence identity create --claim claim.json --heartbeat heartbeat.json \\
      --sign keys/operator.key --out identity.tar.gz --json
  evidence identity create --from-capture packs/current --trusted-key keys/operator.pub \\
      --sign keys/operator.key --out evidence/identity-current")]
pub struct CreateArgs {
    /// The claim packet (zero.deployment.claim.v1), as the engine wrote it.
    #[arg(long, value_name = "FILE", required_unless_present = "from_capture")]
    pub claim: Option<PathBuf>,
    /// The heartbeat packet (zero.deployment.heartbeat.v1), as the engine wrote it.
    #[arg(long, value_name = "FILE", required_unless_present = "from_capture")]
    pub heartbeat: Option<PathBuf>,
    /// Take the pair from this deployment capture (folder or .tar.gz), verified first.
    #[arg(long, value_name = "BUNDLE", conflicts_with_all = ["claim", "heartbeat"])]
    pub from_capture: Option<PathBuf>,
    /// Keys trusted to have signed the capture (with --from-capture).
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub sign: SignArgs,
    /// The bundle folder (or .tar.gz) to create; must not exist.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub created_at: CreatedAtArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence identity verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Verifies the bundle (every file's digest, nothing extra, SHA256SUMS) and requires a signature
by the pinned keys: an unsigned bundle, or one signed only by other keys, fails; a key carried
by the evidence never counts. Then re-runs every packet check on the verified bytes, never
trusting the stored report, and checks that the stored report and the signed manifest subject
agree with what was recomputed. With --max-age the heartbeat must be at most that old now
(or at --now). Times inside packets are their claims; the report says so.

The report has sections bundle and identity; --json prints it as evidence.report/v1.

Exit status: 0 every check passed, 1 a check failed (trust-not-configured without
--trusted-key or --keyring), 2 the tool could not run (missing bundle, bad --trusted-key, bad
--max-age).

Examples:
  evidence identity verify evidence/identity-2026-11-22 --trusted-key keys/operator.pub
  evidence identity verify identity.tar.gz --trusted-key keys/operator.pub --max-age 15m --json
  evidence identity verify pack --keyring ops.keyring.json --max-age 1h --now 2026-11-22T10:00:00Z")]
pub struct VerifyArgs {
    /// The identity bundle folder or .tar.gz archive.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The oldest acceptable heartbeat: 90s, 15m, 24h, 7d, 1h30m.
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,
    /// Judge the heartbeat's age at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339", requires = "max_age")]
    pub now: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs an identity command.
pub fn run(command: &IdentityCommand) -> Result<Outcome, CliError> {
    match command {
        IdentityCommand::Create(args) => create(args),
        IdentityCommand::Verify(args) => verify(args),
    }
}

/// Reads a packet the caller named, up to one byte past the limit (the library reports an
/// oversized packet as a failing check). A symbolic link, FIFO or device is refused: a packet
/// is evidence, and reading a FIFO would wait forever.
fn read_packet(path: &Path, what: &str) -> Result<Vec<u8>, CliError> {
    let hint = || format!("pass the {what} packet the engine wrote");
    let fail =
        |e: &dyn std::fmt::Display| CliError::new(format!("{}: {e}", path.display())).hint(hint());
    let file = evidence_core::hash::open_no_follow(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
            fail(&"is a symbolic link; never followed")
        } else {
            fail(&e)
        }
    })?;
    if !file.metadata().map_err(|e| fail(&e))?.is_file() {
        return Err(fail(&"is not a regular file"));
    }
    let limit = IdentityLimits::default().max_packet_bytes;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(&e))?;
    Ok(bytes)
}

fn create(args: &CreateArgs) -> Result<Outcome, CliError> {
    // Without --from-capture, clap requires both --claim and --heartbeat.
    let named = |p: &Option<PathBuf>| p.clone().unwrap_or_default();
    let (claim, heartbeat) = match &args.from_capture {
        Some(bundle) => match from_capture(bundle, &args.trust)? {
            Ok(pair) => pair,
            Err(report) => {
                let why = "refused: the capture does not verify under the trusted keys\n";
                output::summary(&args.output, why)?;
                return output::emit(report, "evidence", &args.output);
            }
        },
        None => (
            read_packet(&named(&args.claim), "claim")?,
            read_packet(&named(&args.heartbeat), "heartbeat")?,
        ),
    };
    let keys = args.sign.required()?;
    let mut opts = CreateOptions::new(keys.iter().collect());
    opts.created_at = args.created_at.timestamp()?;
    opts.archive = args
        .out
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".tar.gz"));
    opts.tool = tool::info();
    match identity::create(&args.out, &claim, &heartbeat, &opts) {
        Ok(created) => {
            let mut report = created.report;
            output::record_bundle(&mut report, &args.out, &created.id.to_string());
            output::summary(
                &args.output,
                &format!(
                    "{}\nsealed identity bundle at {} (deployment {}, signed by {} key(s))\n",
                    created.id,
                    args.out.display(),
                    created.facts.deployment_id.as_deref().unwrap_or("?"),
                    keys.len()
                ),
            )?;
            output::emit(report, "evidence", &args.output)
        }
        Err(CreateError::Refused(report)) => {
            output::summary(
                &args.output,
                "refused: the claim and heartbeat fail the identity checks; nothing was written\n",
            )?;
            output::emit(*report, "evidence", &args.output)
        }
        Err(CreateError::Build(e)) => {
            let hint = match &e {
                evidence_core::bundle::build::BuildError::Exists(_) => {
                    "choose a new --out; bundles are never overwritten"
                }
                _ => "nothing was written; fix the problem and run again",
            };
            Err(CliError::from(e).hint(hint))
        }
        Err(e) => Err(CliError::from(e).hint("pass --sign with the operator's private key")),
    }
}

/// A claim and a heartbeat, as bytes.
type Pair = (Vec<u8>, Vec<u8>);

/// The pair of a verified capture, or the report of a capture that does not verify.
fn from_capture(
    bundle: &Path,
    trust: &TrustArgs,
) -> Result<Result<Pair, evidence_core::report::Report>, CliError> {
    must_exist(bundle, "capture")?;
    let policy = trust.required()?;
    match identity::pair_from_capture(bundle, &policy) {
        Ok(pair) => Ok(Ok((pair.claim, pair.heartbeat))),
        Err(identity::FromCaptureError::Unverified(report)) => Ok(Err(*report)),
        Err(e) => Err(CliError::from(e).hint(
            "pass a deployment capture whose profile names an identity pair (zero-paper does)",
        )),
    }
}

fn verify(args: &VerifyArgs) -> Result<Outcome, CliError> {
    must_exist(&args.bundle, "identity bundle")?;
    // A key inside the bundle is never trusted.
    let Some(policy) = args.trust.policy()? else {
        let subject =
            serde_json::json!({"kind": "identity", "bundle": args.bundle.display().to_string()});
        return output::emit(trust::untrusted_report(subject), "evidence", &args.output);
    };
    let freshness = match &args.max_age {
        None => None,
        Some(text) => {
            let max_age_seconds = timestamp::parse_duration(text)
                .map_err(|e| CliError::from(e).hint("use a duration such as 15m, 24h or 7d"))?;
            Some(Freshness {
                max_age_seconds,
                now: clock::now(args.now.as_deref())?,
            })
        }
    };
    let mut opts = identity::VerifyOptions::new(&policy);
    opts.freshness = freshness;
    let verification = identity::verify(&args.bundle, &opts);
    output::emit(verification.report, "evidence", &args.output)
}
