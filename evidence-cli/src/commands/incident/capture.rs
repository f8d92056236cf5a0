//! `evidence incident capture`: an incident's facts, correlation ids, timeline and evidence
//! files, redacted and sealed into a signed `incident` bundle.

use std::path::PathBuf;

use evidence_core::incident::{self, Event, Incident, IncidentOptions};

use crate::clock::CreatedAtArgs;
use crate::exit::{CliError, Outcome, must_exist};
use crate::output;
use crate::secrets::ForbidArgs;
use crate::signing::SignArgs;
use crate::tool;

/// `evidence incident capture`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Every required field must be given (exit 2 names the missing one). Attached files land under
payload/attachments/ and are redacted before sealing, like incident.json itself; correlation
ids (trace ids, request ids, idempotency keys) are preserved as given.

Example:
  evidence incident capture --id INC-2026-0042 --severity P1 --started-at 2026-11-24T07:15:00Z \\
      --summary 'Order router rejected all paper orders' --commit 3f2c1e9 \\
      --release-tag v1.4.2 --deployment-id dep-42 --trace-id trace-abc123 \\
      --event '2026-11-24T07:20:00Z=Alert fired' --attach router.log --attach packs/now \\
      --sign keys/oncall.key --out incidents/INC-2026-0042")]
pub struct CaptureArgs {
    /// The incident id.
    #[arg(long)]
    pub id: String,
    /// P0-P4 or SEV-1, SEV-2, SEV-3.
    #[arg(long)]
    pub severity: String,
    /// When it started (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub started_at: String,
    /// One paragraph saying what happened.
    #[arg(long)]
    pub summary: String,
    /// The commit that was running.
    #[arg(long, value_name = "SHA")]
    pub commit: String,
    /// The release tag that was running.
    #[arg(long, value_name = "TAG")]
    pub release_tag: String,
    /// The deployment id that was running.
    #[arg(long, value_name = "ID")]
    pub deployment_id: String,
    /// A trace id (repeatable).
    #[arg(long = "trace-id", value_name = "ID")]
    pub trace_ids: Vec<String>,
    /// A request id (repeatable).
    #[arg(long = "request-id", value_name = "ID")]
    pub request_ids: Vec<String>,
    /// An idempotency key (repeatable).
    #[arg(long = "idempotency-key", value_name = "KEY")]
    pub idempotency_keys: Vec<String>,
    /// A timeline event, TIME=TEXT (repeatable).
    #[arg(long = "event", value_name = "TIME=TEXT", value_parser = Event::parse)]
    pub events: Vec<Event>,
    /// The commit that fixed it.
    #[arg(long, value_name = "SHA")]
    pub remediation_commit: Option<String>,
    /// A command that verifies the fix (repeatable).
    #[arg(long = "verification-command", value_name = "CMD")]
    pub verification_commands: Vec<String>,
    /// A file or folder to preserve: endpoint snapshots, exports, logs, records (repeatable).
    #[arg(long = "attach", value_name = "PATH")]
    pub attach: Vec<PathBuf>,
    #[command(flatten)]
    pub secrets: ForbidArgs,
    #[command(flatten)]
    pub sign: SignArgs,
    /// The pack to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    #[command(flatten)]
    pub created_at: CreatedAtArgs,
}

/// Seals the incident pack and prints its id.
pub(super) fn capture(args: &CaptureArgs) -> Result<Outcome, CliError> {
    for path in &args.attach {
        must_exist(path, "file to attach")?;
    }
    let keys = args.sign.required()?;
    let redactor = args.secrets.redactor()?;
    args.stale.check("evidence", &args.out)?;
    let built = incident::capture(
        &args.out,
        IncidentOptions {
            incident: Incident {
                schema: String::new(),
                id: args.id.clone(),
                severity: args.severity.clone(),
                started_at: args.started_at.clone(),
                summary: args.summary.clone(),
                commit: args.commit.clone(),
                release_tag: args.release_tag.clone(),
                deployment_id: args.deployment_id.clone(),
                trace_ids: args.trace_ids.clone(),
                request_ids: args.request_ids.clone(),
                idempotency_keys: args.idempotency_keys.clone(),
                timeline: args.events.clone(),
                remediation_commit: args.remediation_commit.clone(),
                verification_commands: args.verification_commands.clone(),
            },
            attach: args.attach.clone(),
            redactor: &redactor,
            sign: keys.iter().collect(),
            created_at: args.created_at.timestamp()?,
            tool: tool::info(),
        },
    )
    .map_err(|e| {
        let hint = match &e {
            incident::IncidentError::Field { field, .. } => {
                format!("fix {field} and run again")
            }
            _ => "choose a new --out; nothing was written".to_owned(),
        };
        CliError::from(e).hint(hint)
    })?;
    output::write_stdout(&format!(
        "{}\nsealed incident {} ({}, {} redacted) at {}\n",
        built.id,
        args.id,
        evidence_core::text::count(built.manifest.files.len() as u64, "file"),
        evidence_core::text::count(
            built.manifest.redaction.counts.values().sum::<u64>(),
            "value"
        ),
        args.out.display()
    ))?;
    Ok(Outcome::Ok)
}
