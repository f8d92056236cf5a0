//! `evidence scan PATH...`: find secrets and forbidden tokens without changing anything.

use std::path::PathBuf;

use evidence_core::report::Report;
use evidence_core::scan::{self, ScanOptions};

use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs};
use crate::secrets::ForbidArgs;

/// `evidence scan`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Looks in files, folders (at any depth, never following links) and .tar.gz archives (evidence
bundles included, read in one pass without unpacking) for credentials, private keys, tokens,
JWTs and cloud keys, and for each --forbid-token also JSON-escaped, URL-encoded or
base64-encoded. Each finding names the file, line and class of secret, never the secret.

Exit status: 0 nothing found, 1 a secret or forbidden token was found (or something could not
be read), 2 the tool could not run.

Examples:
  evidence scan logs/ journal.jsonl --forbid-token-file tokens.txt
  evidence scan packs/2026-11-24.tar.gz --json")]
pub struct ScanArgs {
    /// Files, folders or archives to scan.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub secrets: ForbidArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Scans every path into one report.
pub fn run(args: &ScanArgs) -> Result<Outcome, CliError> {
    for path in &args.paths {
        must_exist(path, "file or folder")?;
    }
    let redactor = args.secrets.redactor()?;
    let mut report = Report::new(serde_json::json!({
        "kind": "scan",
        "paths": args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "forbidden_tokens": redactor.forbidden_token_count(),
    }));
    for path in &args.paths {
        let one = scan::scan_path(path, &redactor, &ScanOptions::default());
        report.checks.extend(one.checks);
    }
    output::emit(report, "evidence", &args.output)
}
