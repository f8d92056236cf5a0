//! `evidence incident postmortem`: a Markdown post-mortem skeleton from a verified incident pack.

use std::path::PathBuf;

use evidence_core::bundle::{self, VerifyOptions};
use evidence_core::incident;
use evidence_core::report::{Check, Report};
use evidence_core::text::printable;

use crate::exit::{CliError, Outcome, must_exist};
use crate::output;
use crate::trust::{self, ANCHOR_FLAGS, TrustArgs};

/// `evidence incident postmortem`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
The pack is verified first, against --trusted-key/--keyring; without them it fails
(trust-not-configured, exit 1, nothing rendered) unless --allow-unsigned asks for integrity
only, which the post-mortem then says. Its incident.json is then read strictly and checked
again with the rules of `incident capture`: a pack that is not a valid incident fails
incident-invalid (exit 1) and nothing is rendered. Every value from the pack is escaped for
Markdown (no HTML, links, emphasis or table cells can come from it), and the verification
commands are put in a code fence longer than any backtick run inside them.

Example:
  evidence incident postmortem incidents/INC-2026-0042 --trusted-key oncall.pub > postmortem.md")]
pub struct PostmortemArgs {
    /// The incident pack (folder or .tar.gz).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Render from a pack no trusted key vouches for (integrity only), on purpose.
    #[arg(long, conflicts_with_all = ["trusted_keys", "keyring"])]
    pub allow_unsigned: bool,
}

/// Verifies the pack, then renders its post-mortem.
pub(super) fn postmortem(args: &PostmortemArgs) -> Result<Outcome, CliError> {
    must_exist(&args.bundle, "incident pack")?;
    let trust = args.trust.policy()?;
    let capture = [format!("payload/{}", incident::INCIDENT_FILE)];
    let refs: Vec<&str> = capture.iter().map(String::as_str).collect();
    let verification = bundle::verify_path(
        &args.bundle,
        &VerifyOptions {
            trust: trust.as_ref(),
            capture: &refs,
            ..VerifyOptions::default()
        },
    );
    let mut report = verification.report;
    if trust.is_none() {
        trust::not_configured(&mut report, ANCHOR_FLAGS, args.allow_unsigned);
    }
    let (Some(verified), true) = (verification.bundle, report.ok()) else {
        output::write_stdout(&report.to_text(false))?;
        return Ok(Outcome::Failed);
    };
    match incident::postmortem(&verified, trust.is_some()) {
        Ok(markdown) => {
            output::write_stdout(&markdown)?;
            Ok(Outcome::Ok)
        }
        // Authentic but not a valid incident: a failed check on the evidence (exit 1).
        Err(e) => {
            let mut report = Report::new(serde_json::json!({
                "kind": "incident-postmortem",
                "bundle": args.bundle.display().to_string(),
            }));
            report.push(Check::fail(
                incident::codes::INCIDENT_INVALID,
                printable(&e.to_string()).into_owned(),
            ));
            output::write_stdout(&report.to_text(false))?;
            Ok(Outcome::Failed)
        }
    }
}
