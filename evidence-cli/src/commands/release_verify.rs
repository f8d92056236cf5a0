//! `release-verify DIR` (also `evidence release verify DIR`): one verdict over a release
//! directory.

use std::path::PathBuf;

use evidence_core::release::{self, ReleaseOptions};

use crate::exit::{CliError, Outcome};
use crate::output::{self, OutputArgs};
use crate::progress::HashProgress;

/// Arguments of the release verification step.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct ReleaseVerifyArgs {
    /// The release directory (every regular file in it, at any depth, must be listed).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Checksum file to use instead of DIR/SHA256SUMS.
    #[arg(long, value_name = "FILE")]
    pub sums: Option<PathBuf>,

    /// An asset that must be listed and verified (repeatable).
    #[arg(long = "expect", value_name = "NAME")]
    pub expect: Vec<String>,

    /// Skip listed files that are absent instead of failing (like `sha256sum --ignore-missing`).
    #[arg(long)]
    pub ignore_missing: bool,

    /// A relative path that may be present without being listed (repeatable).
    #[arg(long = "allow-unlisted", value_name = "NAME")]
    pub allow_unlisted: Vec<String>,

    /// Accept zero-byte assets.
    #[arg(long)]
    pub allow_empty: bool,

    /// Warn about malformed checksum lines instead of failing.
    #[arg(long)]
    pub no_strict: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

const AFTER_HELP: &str = "\
Checks, in one report:
  checksums  the checksum file parses (GNU, BSD --tag or OpenSSL form, strict by default);
             every listed file exists and matches; every regular file at any depth is listed;
             no symlinks, hard links, devices or escaping names. SHA256SUMS, SHA256SUMS.dsse.json,
             SHA256SUMS.minisig, *.sig and *.intoto.jsonl at the top level are metadata.
  release    at least one asset verified, no zero-byte assets, every --expect'ed asset present.

Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run.

Examples:
  release-verify dist/
  release-verify dist/ --expect app-linux-x86_64.tar.gz --json > report.json
  release-verify downloads/ --sums downloads/checksums.txt --allow-unlisted notes.txt";

/// Runs the release verification step; `tool` names the binary in the report.
pub fn run(args: &ReleaseVerifyArgs, tool: &str) -> Result<Outcome, CliError> {
    let progress = HashProgress::new(args.output.quiet || args.output.json);
    let opts = ReleaseOptions {
        sums: args.sums.clone(),
        expect: args.expect.clone(),
        ignore_missing: args.ignore_missing,
        allow_unlisted: args.allow_unlisted.clone(),
        allow_empty: args.allow_empty,
        strict: !args.no_strict,
        progress: &progress,
        ..ReleaseOptions::default()
    };
    let result = release::verify_release(&args.dir, &opts);
    progress.finish();
    let verification = result.map_err(|e| {
        CliError::from(e).hint(
            "pass the release directory (and --sums FILE if the checksum file lives elsewhere)",
        )
    })?;
    output::emit(verification.report, tool, &args.output)
}
