//! End-to-end test support and the fixture generator for the evidence toolkit.
//!
//! Every file under `fixtures/` is produced by [`fixtures::generate_all`]; run
//! `cargo run -p evidence-tests --bin generate-fixtures` after changing it. The test
//! `fixtures_are_up_to_date` regenerates into a temporary directory and compares byte for byte,
//! so committed fixtures can never drift from their generator.

#![forbid(unsafe_code)]

pub mod fake_service;
pub mod fixtures;
pub mod modules;
pub mod skip;
pub mod zero_engine;

pub use skip::{need_interop, need_shared, need_tool, skip_or_fail};

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (the directory holding `fixtures/`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `../shared/interop` beside the workspace (present in CI, absent from a user's clone).
/// Tests that read it call [`need_interop`] instead, which skips when it is absent.
pub fn interop_dir() -> PathBuf {
    workspace_root().join("../shared/interop")
}

/// `../shared` beside the workspace: the predecessor's scripts, the operator runbooks and the
/// third-party samples. Present in CI, absent from a user's clone.
pub fn shared_dir() -> PathBuf {
    workspace_root().join("../shared")
}

/// A command running one of the workspace's binaries (`evidence`, `release-verify`).
///
/// Integration tests of this package do not get `CARGO_BIN_EXE_*` for binaries of other
/// packages, and `cargo test --workspace` does not build them on a fresh checkout, so the first
/// call builds them with the cargo running the tests, into the same target folder and profile.
pub fn bin(name: &str) -> Command {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT.get_or_init(build_binaries);
    match dir {
        Ok(dir) => Command::new(dir.join(name)),
        Err(e) => panic!("cannot build the workspace binaries: {e}"),
    }
}

fn build_binaries() -> Result<PathBuf, String> {
    // The test executable lives in <target>/<profile>/deps/.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("unexpected test executable location")?
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    // The variables cargo sets for a test process describe this package; passed on, build
    // scripts that watch them (ring's watches CARGO_MANIFEST_DIR) would rebuild every time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            );
        if set_for_tests {
            build.env_remove(name.as_ref());
        }
    }
    build.current_dir(workspace_root()).args([
        "build",
        "--quiet",
        "--bins",
        "-p",
        "evidence-cli",
        "-p",
        "release-verify",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("cargo build exited with {status}"));
    }
    Ok(profile_dir)
}

/// The codes of a JSON report's checks that have `status` (`pass`, `fail`, `warn`, `skip`),
/// in report order.
pub fn codes_with(report: &serde_json::Value, status: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c["status"] == status)
                .filter_map(|c| c["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The codes of a JSON report's failing checks.
pub fn failing_codes(report: &serde_json::Value) -> Vec<String> {
    codes_with(report, "fail")
}
