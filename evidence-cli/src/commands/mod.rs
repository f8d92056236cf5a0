//! One module per subcommand: parse arguments, call one library function, render the report.
//! A command with several subcommand groups is a folder, one file per group.

pub mod bundle;
pub mod deploy;
pub mod identity;
pub mod incident;
pub mod journal;
pub mod key;
pub mod legacy;
pub mod release_seal;
pub mod release_verify;
pub mod rollback;
pub mod scan;
