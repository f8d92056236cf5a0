//! End-to-end test support and the fixture generator for the evidence toolkit.
//!
//! Every file under `fixtures/` is produced by [`fixtures::generate_all`]; run
//! `cargo run -p evidence-tests --bin generate-fixtures` after changing it. The test
//! `fixtures_are_up_to_date` regenerates into a temporary directory and compares byte for byte,
//! so committed fixtures can never drift from their generator.

#![forbid(unsafe_code)]

pub mod fixtures;

use std::path::PathBuf;

/// The workspace root (the directory holding `fixtures/`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `../shared/interop` beside the workspace (present in CI).
pub fn interop_dir() -> PathBuf {
    workspace_root().join("../shared/interop")
}
