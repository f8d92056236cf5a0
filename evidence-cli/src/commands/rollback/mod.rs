//! `evidence rollback rehearse|verify|permit|check-permit`.

mod permit;
mod rehearse;

pub use permit::{CheckPermitArgs, PermitArgs};
pub use rehearse::{RehearseArgs, VerifyArgs};

use crate::exit::{CliError, Outcome};

/// Rollback commands.
#[derive(Debug, clap::Subcommand)]
pub enum RollbackCommand {
    /// Prove from two signed captures that rolling back from CURRENT to PREVIOUS is sound.
    Rehearse(RehearseArgs),
    /// Verify a rehearsal bundle; fails when its signed verdict is fail.
    Verify(VerifyArgs),
    /// Issue a signed, expiring permit for the rollback a passed rehearsal covers.
    Permit(PermitArgs),
    /// What an automated rollback runs: check a permit for exactly this rollback, now.
    CheckPermit(CheckPermitArgs),
}

/// Runs a rollback command.
pub fn run(command: &RollbackCommand) -> Result<Outcome, CliError> {
    match command {
        RollbackCommand::Rehearse(args) => rehearse::rehearse(args),
        RollbackCommand::Verify(args) => rehearse::verify(args),
        RollbackCommand::Permit(args) => permit::permit(args),
        RollbackCommand::CheckPermit(args) => permit::check_permit(args),
    }
}
