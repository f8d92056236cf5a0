//! Rendering reports on standard output.

use std::io::Write as _;
use std::path::Path;

use evidence_core::report::{Report, Tool};

use crate::exit::{CliError, Outcome};

/// How to print a report.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OutputArgs {
    /// Print the report as JSON (`evidence.report/v1`) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print every check, passes included (text output).
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print nothing; only the exit code tells the verdict.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Stamps the report with the running tool, prints it, and returns the verdict that decides
/// the exit code (which therefore always agrees with the report's `ok`). It is a command's last
/// step: the report is not freed, as the process exits next.
pub fn emit(mut report: Report, tool: &str, args: &OutputArgs) -> Result<Outcome, CliError> {
    report.tool = Tool {
        name: tool.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let text = if args.quiet {
        String::new()
    } else if args.json {
        report.to_json_pretty()
    } else {
        report.to_text(args.verbose)
    };
    write_stdout(&text)?;
    let outcome = Outcome::from_ok(report.ok());
    // Every command ends with its report: the process exits right after, and freeing a report
    // of 100,000 checks one allocation at a time would only delay the exit code.
    std::mem::forget(report);
    Ok(outcome)
}

/// Writes a line that sums up what a command wrote, ahead of its report, for text output
/// only: with `--json` or `--quiet` standard output stays the report alone.
pub fn summary(args: &OutputArgs, text: &str) -> Result<(), CliError> {
    if args.json || args.quiet {
        return Ok(());
    }
    write_stdout(text)
}

/// Records in the report's subject the bundle a command wrote: where it is and its id.
pub fn record_bundle(report: &mut Report, out: &Path, id: &str) {
    if let serde_json::Value::Object(subject) = &mut report.subject {
        subject.insert("bundle".into(), out.display().to_string().into());
        subject.insert("id".into(), id.into());
    }
}

/// Writes to standard output; failure to write is a run error (exit 2).
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(format!("cannot write output: {e}")))
}

/// A warning on standard error (unless `--quiet`): something the user should know that does
/// not change the verdict. Standard output stays the report alone.
pub fn warn(tool: &str, args: &OutputArgs, message: &str) {
    if !args.quiet {
        let _ = writeln!(std::io::stderr().lock(), "{tool}: warning: {message}");
    }
}
