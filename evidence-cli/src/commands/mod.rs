//! One module per subcommand: parse arguments, call one library function, render the report.

pub mod bundle;
pub mod deploy;
pub mod identity;
pub mod incident;
pub mod journal;
pub mod journal_envelope;
pub mod key;
pub mod release_seal;
pub mod release_verify;
pub mod rollback;
pub mod scan;
