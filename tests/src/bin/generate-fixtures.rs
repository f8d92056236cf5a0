//! Regenerates `fixtures/` (or checks it with `--check`).
//!
//! Usage: `cargo run -p evidence-tests --bin generate-fixtures [-- --check] [OUT_DIR]`

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut out = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!(
                    "usage: generate-fixtures [--check] [OUT_DIR]\n\nWrites every fixture under OUT_DIR (default: the workspace's fixtures/).\nWith --check, generates into a temporary directory and reports any difference from OUT_DIR."
                );
                return ExitCode::SUCCESS;
            }
            other => out = Some(std::path::PathBuf::from(other)),
        }
    }
    let out = out.unwrap_or_else(|| evidence_tests::workspace_root().join("fixtures"));
    let result = if check {
        evidence_tests::fixtures::check(&out).map(|diffs| {
            for d in &diffs {
                eprintln!("differs: {d}");
            }
            diffs.is_empty()
        })
    } else {
        evidence_tests::fixtures::generate_all(&out).map(|()| true)
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "fixtures are out of date: run `cargo run -p evidence-tests --bin generate-fixtures`"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("generate-fixtures: {e}");
            ExitCode::from(2)
        }
    }
}
