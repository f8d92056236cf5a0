//! `evidence`: evidence bundles, deployment, identity, incident and release flows.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use evidence_cli::commands::bundle::{self, BundleCommand};
use evidence_cli::commands::deploy::{self, DeployCommand};
use evidence_cli::commands::identity::{self, IdentityCommand};
use evidence_cli::commands::incident::{self, IncidentCommand};
use evidence_cli::commands::journal::{self, JournalCommand};
use evidence_cli::commands::key::{self, KeyCommand, KeyringCommand};
use evidence_cli::commands::legacy::{self, LegacyCommand};
use evidence_cli::commands::release_seal::{self, SealArgs};
use evidence_cli::commands::release_verify::{self, ReleaseVerifyArgs};
use evidence_cli::commands::rollback::{self, RollbackCommand};
use evidence_cli::commands::scan::{self, ScanArgs};
use evidence_cli::exit::{self, CliError, Outcome};

/// Forensic evidence and release integrity: signed, content-addressed evidence bundles and
/// offline verification.
#[derive(Debug, Parser)]
#[command(
    name = "evidence",
    version = evidence_cli::VERSION,
    propagate_version = true,
    after_long_help = "\
Every verifying command prints one line per failing check and a summary (-v: every check,
--json: the evidence.report/v1 report, -q: nothing). Trust comes only from the caller:
--trusted-key/--keyring name the keys that count; a key inside the evidence never does.

Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run, 130/143
interrupted by SIGINT/SIGTERM (the output being written is removed; see --clean-stale).
Formats: docs/FORMAT.md; check codes: docs/CHECKS.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ed25519 signing keys: generate a pair, print a key id.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Keyrings: named public keys and a threshold, for --keyring.
    #[command(subcommand)]
    Keyring(KeyringCommand),
    /// Evidence bundles: create, sign, verify, pack, unpack, inspect.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Find secrets and forbidden tokens in files, folders, bundles and archives.
    Scan(ScanArgs),
    /// Release integrity: seal a release directory, verify one.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Live capture of a running deployment into a signed evidence pack.
    #[command(subcommand)]
    Deploy(DeployCommand),
    /// Deployment identity: seal a claim and heartbeat pair, verify one against pinned keys.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Rollback rehearsal and permits.
    #[command(subcommand)]
    Rollback(RollbackCommand),
    /// Incident packs and post-mortem skeletons.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// JSONL journals: verify line by line, seal with a hash chain, check that only appends followed.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// The predecessor's evidence packs, rehearsals and identity bundles: verify, import.
    #[command(subcommand)]
    Legacy(LegacyCommand),
}

#[derive(Debug, Subcommand)]
enum ReleaseCommand {
    /// Verify a release directory: checksums, signatures, provenance (same as `release-verify`).
    Verify(ReleaseVerifyArgs),
    /// Write SHA256SUMS, its signature and signed SLSA provenance for a release directory.
    Seal(SealArgs),
}

fn run(cli: Cli) -> Result<Outcome, CliError> {
    match cli.command {
        Command::Key(command) => key::run(&command),
        Command::Keyring(command) => key::run_keyring(&command),
        Command::Bundle(command) => bundle::run(&command),
        Command::Identity(command) => identity::run(&command),
        Command::Scan(args) => scan::run(&args),
        Command::Deploy(command) => deploy::run(&command),
        Command::Rollback(command) => rollback::run(&command),
        Command::Incident(command) => incident::run(&command),
        Command::Release(ReleaseCommand::Verify(args)) => release_verify::run(&args, "evidence"),
        Command::Release(ReleaseCommand::Seal(args)) => release_seal::run(&args),
        Command::Journal(command) => journal::run(&command),
        Command::Legacy(command) => legacy::run(&command),
    }
}

fn main() -> ExitCode {
    evidence_cli::interrupt::install("evidence");
    let cli = Cli::parse();
    let result = run(cli);
    evidence_cli::interrupt::settle();
    exit::finish("evidence", result)
}
