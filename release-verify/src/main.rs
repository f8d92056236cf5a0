//! `release-verify`: the release verification gate. Thin wrapper over
//! `evidence_cli::commands::release_verify`, which `evidence release verify` shares.

use std::process::ExitCode;

use clap::Parser;
use evidence_cli::commands::release_verify::{self, ReleaseVerifyArgs};
use evidence_cli::exit;

/// Verify a downloaded or about-to-be-published release directory: checksums and exact
/// coverage, signatures of the checksum file, the SBOM and in-toto/SLSA provenance, each
/// cross-checked against the verified digests. One report, one exit code.
#[derive(Debug, Parser)]
#[command(name = "release-verify", version = evidence_cli::VERSION)]
struct Cli {
    #[command(flatten)]
    args: ReleaseVerifyArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    exit::finish(
        "release-verify",
        release_verify::run(&cli.args, "release-verify"),
    )
}
