//! The ZERO engine's own tamper-evident journals, built and tampered with by the installed
//! `zero_engine.journal_chain` (`engine_journal_cases.py`), verified by `evidence journal
//! verify`, and compared with the engine's own verdicts on the same files.

use std::path::Path;
use std::process::Command;

use evidence_tests::{bin, failing_codes, zero_engine};
use serde_json::Value;

const CASES: &str = include_str!("engine_journal_cases.py");

/// Builds every case with the engine; returns the folder and the engine's verdicts.
fn build_cases(python: &Path) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cases.py");
    std::fs::write(&script, CASES).unwrap();
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    let out = Command::new(python)
        .arg(&script)
        .arg(&cases)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts = std::fs::read(cases.join("verdicts.json")).unwrap();
    (dir, serde_json::from_slice(&verdicts).unwrap())
}

/// `evidence journal verify CASE/journal.jsonl --json` with `extra`; exit code and report.
fn verify(case: &Path, extra: &[&str]) -> (i32, Value) {
    let out = bin("evidence")
        .arg("journal")
        .arg("verify")
        .arg(case.join("journal.jsonl"))
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap(), report)
}

/// Verifies a case with its payloads and root, trusting `signer.pub` when `trusted`.
fn verify_all(cases: &Path, name: &str, trusted: bool) -> (i32, Value) {
    let case = cases.join(name);
    let payloads = case.join("raw.jsonl");
    let root = case.join("root.json");
    let key = cases.join("signer.pub");
    let mut args = vec![
        "--payloads",
        payloads.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ];
    if trusted {
        args.extend(["--trusted-key", key.to_str().unwrap()]);
    }
    verify(&case, &args)
}

fn check<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {report:#}"))
}

#[test]
fn engine_built_chains_and_roots_verify_signed_and_unsigned() {
    let Some(python) = zero_engine::need_python() else {
        return;
    };
    let (dir, engine) = build_cases(&python);
    let cases = dir.path().join("cases");
    for (name, trusted, case_engine) in [("plain", false, "plain"), ("signed", true, "signed")] {
        let (code, report) = verify_all(&cases, name, trusted);
        assert_eq!(code, 0, "{report:#}");
        let chain = check(&report, "journal-envelope-chain-verified");
        assert_eq!(chain["status"], "pass");
        // The same count and head as the engine's own verify_chain.
        assert_eq!(chain["entries"], engine[case_engine]["count"]);
        assert_eq!(chain["head_hash"], engine[case_engine]["head_hash"]);
        assert_eq!(engine[case_engine]["chain"], "ok");
        assert_eq!(engine[case_engine]["payloads"], "ok");
        assert_eq!(engine[case_engine]["root"], "ok");
        assert_eq!(
            check(&report, "journal-envelope-payloads-bound")["status"],
            "pass"
        );
        assert_eq!(check(&report, "journal-root-verified")["status"], "pass");
        let (sig_status, root_sig) = if trusted {
            ("pass", "pass")
        } else {
            ("skip", "skip")
        };
        assert_eq!(
            check(&report, "journal-envelope-signatures")["status"],
            sig_status
        );
        assert_eq!(check(&report, "journal-root-signed")["status"], root_sig);
    }
    // The engine's sidecar writes the same entries with ensure_ascii=True: same verdict.
    let (code, report) = verify_all(&cases, "sidecar_form", true);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn signatures_are_unchecked_without_a_trusted_key_never_passed() {
    let Some(python) = zero_engine::need_python() else {
        return;
    };
    let (dir, _) = build_cases(&python);
    let cases = dir.path().join("cases");
    let (code, report) = verify(&cases.join("signed"), &[]);
    assert_eq!(code, 0, "{report:#}");
    let sigs = check(&report, "journal-envelope-signatures");
    assert_eq!(sigs["status"], "skip");
    assert_eq!(sigs["signed"], 12);
    // The stranger's signature is "valid" to the engine, which trusts the embedded key; without
    // a trusted key it is only reported as unchecked, with a trusted one it fails.
    let (code, report) = verify(&cases.join("stranger_signed"), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        check(&report, "journal-envelope-signatures")["status"],
        "skip"
    );
}

#[test]
fn each_tampering_fails_with_its_own_code_on_its_line_and_agrees_with_the_engine() {
    let Some(python) = zero_engine::need_python() else {
        return;
    };
    let (dir, engine) = build_cases(&python);
    let cases = dir.path().join("cases");
    // (case, first failing code, line, (part, what the engine's own verifier says))
    type Expectation<'a> = (&'a str, &'a str, Option<u64>, (&'a str, &'a str));
    let expectations: &[Expectation] = &[
        (
            "payload_hash_edited",
            "journal-envelope-entry-hash-mismatch",
            Some(4),
            ("chain", "entry 4: entry hash mismatch"),
        ),
        (
            "line_dropped",
            "journal-envelope-sequence-gap",
            Some(5),
            ("chain", "entry 5: sequence mismatch"),
        ),
        (
            "reordered",
            "journal-envelope-sequence-gap",
            Some(3),
            ("chain", "entry 3: sequence mismatch"),
        ),
        (
            "embedded_key_swapped",
            "journal-envelope-signature-invalid",
            Some(2),
            ("chain", "entry 2: invalid signature"),
        ),
        // The engine accepts a stranger's signature: it trusts the key embedded in the entry.
        (
            "stranger_signed",
            "journal-envelope-signer-untrusted",
            Some(2),
            ("chain", "ok"),
        ),
        (
            "raw_record_edited",
            "journal-envelope-payload-mismatch",
            Some(7),
            ("payloads", "entry 7: payload hash mismatch"),
        ),
        // The engine's verify_root does not compare the root with the chain.
        (
            "root_count_wrong",
            "journal-root-count-mismatch",
            None,
            ("root", "ok"),
        ),
        (
            "root_edited",
            "journal-root-hash-mismatch",
            None,
            ("root", "root hash mismatch"),
        ),
    ];
    for (name, code, line, (part, engine_says)) in expectations {
        let (exit, report) = verify_all(&cases, name, true);
        assert_eq!(exit, 1, "{name}: {report:#}");
        let failing = failing_codes(&report);
        assert_eq!(
            failing.first().map(String::as_str),
            Some(*code),
            "{name}: {report:#}"
        );
        let first = check(&report, code);
        assert_eq!(first["line"].as_u64(), *line, "{name}: {first:#}");
        assert_eq!(
            engine[name][part], *engine_says,
            "{name}: {:#}",
            engine[name]
        );
    }
    // The dropped line also shows in the payload binding and the count.
    let (_, report) = verify_all(&cases, "line_dropped", true);
    assert!(failing_codes(&report).contains(&"journal-envelope-payload-count-mismatch".into()));
    // A wrong root count is also reported by the entry count beside it.
    let (_, report) = verify_all(&cases, "root_count_wrong", true);
    let count = check(&report, "journal-root-count-mismatch");
    assert_eq!(
        (count["expected"].as_u64(), count["actual"].as_u64()),
        (Some(12), Some(13))
    );
}

#[test]
fn a_raw_record_the_engine_cannot_reread_is_still_bound() {
    let Some(python) = zero_engine::need_python() else {
        return;
    };
    let (dir, engine) = build_cases(&python);
    let cases = dir.path().join("cases");
    // canonical_json writes U+2029 as itself, and the engine's read_jsonl splits lines there.
    let says = engine["raw_paragraph_separator"]["payloads"]
        .as_str()
        .unwrap();
    assert!(says.contains("invalid JSONL"), "{says}");
    let (code, report) = verify_all(&cases, "raw_paragraph_separator", false);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        check(&report, "journal-envelope-payloads-bound")["status"],
        "pass"
    );
}

#[test]
fn envelope_options_on_an_ordinary_journal_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, "{\"type\":\"a\"}\n").unwrap();
    let out = bin("evidence")
        .args(["journal", "verify"])
        .arg(&file)
        .arg("--root")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a zero.journal.v1"));
}
