//! Times given on the command line: `--created-at` for what a command writes, `--now` for
//! judging expiry and freshness.

use evidence_core::timestamp::Timestamp;

use crate::exit::CliError;

/// `--created-at`, shared by every command that writes a bundle.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CreatedAtArgs {
    /// The creation time to record (RFC 3339); default: SOURCE_DATE_EPOCH, else now.
    #[arg(long, value_name = "RFC3339")]
    pub created_at: Option<String>,
}

impl CreatedAtArgs {
    /// The time given, or `None` to let the library take SOURCE_DATE_EPOCH or the clock.
    pub fn timestamp(&self) -> Result<Option<Timestamp>, CliError> {
        self.created_at.as_deref().map(parse).transpose()
    }
}

/// Parses an RFC 3339 time given on the command line.
pub fn parse(text: &str) -> Result<Timestamp, CliError> {
    Timestamp::parse_rfc3339(text)
        .map_err(|e| CliError::from(e).hint("use a time such as 2026-11-22T09:30:00Z"))
}

/// The time given by `--now`, else the clock's.
pub fn now(arg: Option<&str>) -> Result<Timestamp, CliError> {
    Ok(arg.map(parse).transpose()?.unwrap_or_else(Timestamp::now))
}
