//! Tests that need what a fresh clone does not have: `../shared` (third-party samples, the
//! predecessor's scripts), the real ZERO engine, an independent tool (`gpg`, `pyspdxtools`).
//!
//! Without the requirement such a test prints one line, `SKIPPED <test>: <why>`, and returns
//! early, so `cargo test --workspace --locked` passes on a user's clone. CI (`.ci/run`) sets
//! `EVIDENCE_NO_SKIP=1`, which turns every such skip into a failure: what CI claims to test,
//! it tests.
//!
//! The line is written straight to the process's standard error, past the test harness's
//! output capture, so that a skip is visible in a plain `cargo test` run.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The variable that turns a skip into a failure (set by `.ci/run`).
pub const NO_SKIP_VAR: &str = "EVIDENCE_NO_SKIP";

/// True when skips are failures (`EVIDENCE_NO_SKIP` set to anything but empty or `0`).
pub fn skips_are_failures() -> bool {
    std::env::var(NO_SKIP_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reports that the calling test cannot run because `why`. Prints one line and returns, or,
/// under `EVIDENCE_NO_SKIP=1`, fails the test.
#[track_caller]
pub fn skip_or_fail(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if skips_are_failures() {
        panic!("{test} cannot run under {NO_SKIP_VAR}=1: {why}");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// `../shared/<rel>`, or `None` (after one skip line) when it is absent.
#[track_caller]
pub fn need_shared(rel: &str) -> Option<PathBuf> {
    let path = crate::shared_dir().join(rel);
    if path.exists() {
        Some(path)
    } else {
        skip_or_fail(&format!(
            "needs ../shared/{rel} beside the workspace (CI has it; a clone does not)"
        ));
        None
    }
}

/// `../shared/interop/<rel>` (a third-party sample), or `None` after one skip line.
#[track_caller]
pub fn need_interop(rel: &str) -> Option<PathBuf> {
    need_shared(&format!("interop/{rel}"))
}

/// The path of an external program that answers `program --version` (or `version`, or
/// `--help`: pyspdxtools 0.8 takes `--version` for an option with a value), or `None` after one skip
/// line naming how to install it. `env` names a variable that may point at the program instead
/// of looking it up on `PATH` (for example `EVIDENCE_PYSPDXTOOLS`).
#[track_caller]
pub fn need_tool(program: &str, env: Option<&str>, install: &str) -> Option<PathBuf> {
    let chosen = env
        .and_then(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(program));
    // `openssl` answers `version`, pyspdxtools only `--help`, the others `--version`.
    let runs = ["--version", "version", "--help"].iter().any(|arg| {
        Command::new(&chosen)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if runs {
        Some(chosen)
    } else {
        skip_or_fail(&format!("needs {program} ({install})"));
        None
    }
}
