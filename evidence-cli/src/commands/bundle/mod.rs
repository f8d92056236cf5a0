//! `evidence bundle create|sign|verify|pack|unpack|inspect`.

mod create;
mod verify;

pub use create::CreateArgs;
pub use verify::{UnpackArgs, VerifyArgs};

use std::path::PathBuf;

use evidence_core::bundle::{self, archive, build};

use crate::exit::{CliError, Outcome, must_exist};
use crate::output::write_stdout;
use crate::signing::SignArgs;

/// Bundle commands.
#[derive(Debug, clap::Subcommand)]
pub enum BundleCommand {
    /// Seal files and folders into a new signed, content-addressed bundle.
    Create(CreateArgs),
    /// Add a signature to an existing bundle folder (its id does not change).
    Sign {
        /// The bundle folder.
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Verify a bundle folder or .tar.gz archive.
    Verify(VerifyArgs),
    /// Pack a bundle folder into a deterministic .tar.gz.
    Pack {
        /// The bundle folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The archive to write (must not exist).
        #[arg(long, value_name = "FILE.tar.gz")]
        out: PathBuf,
        #[command(flatten)]
        stale: crate::stale::StaleArgs,
    },
    /// Verify a .tar.gz bundle and unpack it into a new folder.
    Unpack(UnpackArgs),
    /// Show what a bundle claims to hold, without verifying it.
    Inspect {
        /// The bundle folder or .tar.gz archive.
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a bundle command.
pub fn run(command: &BundleCommand) -> Result<Outcome, CliError> {
    match command {
        BundleCommand::Create(args) => create::create(args),
        BundleCommand::Sign { bundle, sign } => {
            must_exist(bundle, "bundle folder")?;
            let key = sign.one()?;
            match build::cosign(bundle, &key) {
                Ok(id) => {
                    write_stdout(&format!("signed {id} with key {}\n", key.public().key_id()))?;
                    Ok(Outcome::Ok)
                }
                // Hostile or broken evidence is a failed check (exit 1), not a failure to run.
                Err(build::BuildError::NotVerified(report)) => {
                    write_stdout(&report.to_text(false))?;
                    write_stdout("not signed: the bundle does not verify\n")?;
                    Ok(Outcome::Failed)
                }
                Err(e) => Err(CliError::from(e)),
            }
        }
        BundleCommand::Verify(args) => verify::verify(args),
        BundleCommand::Pack { dir, out, stale } => {
            must_exist(dir, "bundle folder")?;
            stale.check("evidence", out)?;
            match archive::pack(dir, out) {
                Ok(id) => {
                    write_stdout(&format!("packed {id} into {}\n", out.display()))?;
                    Ok(Outcome::Ok)
                }
                Err(archive::ArchiveError::NotVerified(report)) => {
                    write_stdout(&report.to_text(false))?;
                    write_stdout("not packed: the bundle does not verify; nothing was written\n")?;
                    Ok(Outcome::Failed)
                }
                Err(e) => Err(CliError::from(e)),
            }
        }
        BundleCommand::Unpack(args) => verify::unpack(args),
        BundleCommand::Inspect { bundle, json } => {
            must_exist(bundle, "bundle")?;
            let info = bundle::inspect::inspect(bundle)
                .map_err(|e| CliError::from(e).hint("pass a bundle folder or .tar.gz"))?;
            let text = if *json {
                let mut t = serde_json::to_string_pretty(&info).unwrap_or_default();
                t.push('\n');
                t
            } else {
                info.to_text()
            };
            write_stdout(&text)?;
            Ok(Outcome::Ok)
        }
    }
}
