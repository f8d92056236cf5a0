//! Shared pieces of the `evidence` and `release-verify` command-line tools.
//!
//! Each subcommand module parses its arguments, calls one `evidence_core` function and renders
//! the report; exit codes are decided in one place, [`exit::finish`] (DESIGN section 3):
//! 0 every check passed, 1 a check failed, 2 the tool could not run.
//!
//! A command module imports the library and the shared modules beside [`commands`], never
//! another command: argument groups ([`trust`], [`source`], [`secrets`], [`output`], [`clock`],
//! [`stale`]) and helpers ([`signing`], [`profile`], [`tool`], [`progress`]). [`interrupt`] is
//! the binaries' SIGINT/SIGTERM handler.

#![forbid(unsafe_code)]

/// The version `--version` shows: the package version and the commit built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("EVIDENCE_BUILD_COMMIT"),
    ")"
);

pub mod clock;
pub mod commands;
pub mod exit;
pub mod interrupt;
pub mod output;
pub mod profile;
pub mod progress;
pub mod secrets;
pub mod signing;
pub mod source;
pub mod stale;
pub mod tool;
pub mod trust;
