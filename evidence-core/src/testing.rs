//! Test-only support: what a fresh clone may not have, third-party samples from
//! `../shared/interop` beside the workspace and external programs such as `openssl`.
//!
//! CI has both. A unit test that needs one asks first ([`have_interop`], [`have_tool`]): when
//! it is missing the test writes one line, `SKIPPED <test>: <why>`, and returns, so `cargo
//! test` passes on a fresh clone; under `EVIDENCE_NO_SKIP=1` (set by `.ci/run`) the test fails
//! instead. The end-to-end tests follow the same rule through `evidence_tests::skip_or_fail`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `../shared/interop/<rel>`, whether or not it exists.
pub(crate) fn interop(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/interop")).join(rel)
}

/// True when `../shared/interop/<rel>` exists; otherwise skips (see the module documentation).
#[track_caller]
pub(crate) fn have_interop(rel: &str) -> bool {
    interop(rel).exists()
        || skip(&format!(
            "needs ../shared/interop/{rel} beside the workspace (CI has it; a clone does not)"
        ))
}

/// True when `program version` runs; otherwise skips (see the module documentation).
#[track_caller]
pub(crate) fn have_tool(program: &str) -> bool {
    Command::new(program)
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        || skip(&format!("needs {program} on PATH"))
}

/// True when `/proc` is mounted (Linux), where a pid can be told running or not; otherwise skips.
#[track_caller]
pub(crate) fn have_proc() -> bool {
    std::path::Path::new("/proc/self").exists() || skip("needs /proc (Linux)")
}

/// Writes the skip line and returns false, or panics when skips are failures.
#[track_caller]
fn skip(why: &str) -> bool {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if std::env::var("EVIDENCE_NO_SKIP").is_ok_and(|v| !v.is_empty() && v != "0") {
        panic!("{test} cannot run under EVIDENCE_NO_SKIP=1: {why}");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    false
}
