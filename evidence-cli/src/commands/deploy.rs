//! `evidence deploy capture URL --out DIR`: a signed, redacted evidence pack of a running
//! service.

use std::path::PathBuf;
use std::time::Duration;

use evidence_core::capture::http::HttpOptions;
use evidence_core::capture::{self, CaptureOptions, LogsOptions};

use crate::clock::CreatedAtArgs;
use crate::exit::{CliError, Outcome};
use crate::output::{self, OutputArgs};
use crate::secrets::{ForbidArgs, TokenArgs};
use crate::signing::SignArgs;
use crate::{profile, tool};

/// Deployment commands.
#[derive(Debug, clap::Subcommand)]
pub enum DeployCommand {
    /// Capture a running service into a signed, redacted `deployment` evidence bundle.
    Capture(CaptureArgs),
}

/// `evidence deploy capture`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Fetches every endpoint of the profile from URL, checks what each answers, and seals the
responses (as packets {path, status, headers, payload}, redacted on parsed values), the
assertion report and the profile into a new bundle at --out. The bundle is written even when
assertions fail or the service is down: the report inside says what failed, and the exit
status is 1. The bearer token goes only to endpoints marked auth, only on URL's origin (a
redirect elsewhere is followed without it), and is itself redacted from everything sealed.

Built-in profiles: health (GET /health, expects 200) and zero-paper (the ZERO paper engine:
the predecessor's 14 packets, its railway_doctor.py checks as section doctor, each with the
predecessor's name in member doctor, and its redaction classes). A profile file is JSON (see docs/FORMAT.md), named by a
path that contains a / or ends in .json; any other word must be a built-in name.

Without --sign the pack is written unsigned, with a warning on stderr: it proves integrity
only, and rollback rehearsal (and any verifier given a trusted key) refuses it.

Exit status: 0 every assertion passed (warnings alone exit 0, as the predecessor's doctor),
1 some failed or, with --fail-on-warn, some warned (the bundle is written either way), 2
nothing was written (bad arguments, --out exists, unreadable key or profile).

Examples:
  evidence deploy capture https://paper.example --profile zero-paper \\
      --token-file ops.token --sign keys/operator.key --out packs/2026-11-24-pre-promote
  evidence deploy capture http://127.0.0.1:8080 --out pack --logs-command 'journalctl -u zero -n 500'")]
pub struct CaptureArgs {
    /// The service's base URL (http or https; no credentials, query or fragment).
    #[arg(value_name = "URL")]
    pub url: String,
    /// The bundle folder to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    /// A built-in profile name (health, zero-paper), or a profile file: a path with a `/` or
    /// ending in .json (./my-profile.json).
    #[arg(long, value_name = "NAME|FILE", default_value = "health")]
    pub profile: String,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub secrets: ForbidArgs,
    #[command(flatten)]
    pub sign: SignArgs,
    /// A shell command whose output is captured as logs (redacted like everything else). It
    /// runs with sh -c in its own process group, which is killed when the shell exits or
    /// after 60 s: anything it leaves running in the background is ended.
    #[arg(long, value_name = "CMD")]
    pub logs_command: Option<String>,
    /// Seconds allowed for each endpoint, redirects included.
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub timeout: u64,
    /// Largest response body kept, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_body: u64,
    /// Exit 1 when a check warned (the predecessor's --fail-on-warn); the pack is the same.
    #[arg(long)]
    pub fail_on_warn: bool,
    #[command(flatten)]
    pub created_at: CreatedAtArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs a deploy command.
pub fn run(command: &DeployCommand) -> Result<Outcome, CliError> {
    let DeployCommand::Capture(args) = command;
    let profile = profile::load(&args.profile)?;
    args.stale.check("evidence", &args.out)?;
    let keys = args.sign.keys()?;
    if keys.is_empty() {
        output::warn(
            "evidence",
            &args.output,
            "the pack will not be signed (no --sign): it proves integrity only, and \
             `evidence rollback rehearse` or a verifier with a trusted key will refuse it",
        );
    }
    let token = args.token.token()?;
    let forbid = args.secrets.tokens()?;
    let mut http = HttpOptions::default();
    http.timeout = Duration::from_secs(args.timeout.max(1));
    http.max_body_bytes = args.max_body;
    let captured = capture::capture(
        &args.out,
        &CaptureOptions {
            target: &args.url,
            profile: &profile,
            token: token.as_deref(),
            forbid_tokens: &forbid,
            sign: keys.iter().collect(),
            logs_command: args.logs_command.as_deref(),
            http,
            logs: LogsOptions::default(),
            created_at: args.created_at.timestamp()?,
            tool: tool::info(),
        },
    )
    .map_err(|e| {
        let hint = match &e {
            capture::CaptureError::Target(_) => {
                "pass the service's base URL, such as https://api.example"
            }
            capture::CaptureError::Build(evidence_core::bundle::build::BuildError::Exists(_)) => {
                "choose a new --out; evidence packs are never overwritten or merged"
            }
            _ => "nothing was written; fix the problem and run again",
        };
        CliError::from(e).hint(hint)
    })?;
    let mut report = captured.report;
    output::record_bundle(&mut report, &args.out, &captured.built.id.to_string());
    output::summary(
        &args.output,
        &format!(
            "{}\ncaptured {} endpoint(s) of {} into {} ({} value(s) redacted)\n",
            captured.built.id,
            profile.endpoints.len(),
            args.url,
            args.out.display(),
            captured
                .built
                .manifest
                .redaction
                .counts
                .values()
                .sum::<u64>()
        ),
    )?;
    let warned = report.summary().warn > 0;
    match output::emit(report, "evidence", &args.output)? {
        Outcome::Ok if args.fail_on_warn && warned => Ok(Outcome::Failed),
        outcome => Ok(outcome),
    }
}
