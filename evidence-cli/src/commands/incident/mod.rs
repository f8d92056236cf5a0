//! `evidence incident capture|postmortem`.

mod capture;
mod postmortem;

pub use capture::CaptureArgs;
pub use postmortem::PostmortemArgs;

use crate::exit::{CliError, Outcome};

/// Incident commands.
#[derive(Debug, clap::Subcommand)]
pub enum IncidentCommand {
    /// Preserve an incident's facts, correlation ids, timeline and evidence files in a signed,
    /// redacted `incident` bundle.
    Capture(Box<CaptureArgs>),
    /// Render a Markdown post-mortem skeleton from an incident pack.
    Postmortem(PostmortemArgs),
}

/// Runs an incident command.
pub fn run(command: &IncidentCommand) -> Result<Outcome, CliError> {
    match command {
        IncidentCommand::Capture(args) => capture::capture(args),
        IncidentCommand::Postmortem(args) => postmortem::postmortem(args),
    }
}
