//! End-to-end tests of `evidence journal verify|seal|check-append` over the committed fixtures
//! and journals built at run time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evidence_tests::fixtures::{self, journal};
use evidence_tests::{failing_codes, workspace_root};
use serde_json::Value;

fn evidence() -> Command {
    evidence_tests::bin("evidence")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    evidence().args(args).output().unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn checks<'a>(report: &'a Value, code: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(move |c| c["code"] == code)
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn every_journal_case_meets_its_stated_expectation() {
    let dir = workspace_root().join("fixtures").join(journal::CASES_DIR);
    let cases = fixtures::cases(&dir).unwrap();
    assert!(cases.len() >= 10, "{cases:?}");
    for case in cases {
        let expect = journal::JournalExpectation::read(&dir, &case).unwrap();
        let file = dir.join(format!("{case}.jsonl"));
        let out = evidence()
            .args([os("journal"), os("verify"), file.as_os_str()])
            .args(&expect.expect.args)
            .arg("--json")
            .output()
            .unwrap();
        let report = json_of(&out);
        let code = out.status.code().unwrap();
        expect.expect.assert_met(&case, code, &report);
        if let (Some(line), Some(offset)) = (expect.line, expect.offset) {
            let first = checks(&report, &expect.expect.must_fail[0]).next().unwrap();
            assert_eq!(first["line"], line, "{case}: {first:#}");
            assert_eq!(first["offset"], offset, "{case}: {first:#}");
        }
    }
}

fn seal_dir() -> PathBuf {
    workspace_root().join("fixtures").join(journal::SEAL_DIR)
}

#[test]
fn every_check_append_case_meets_its_stated_expectation() {
    let dir = seal_dir();
    let cases = fixtures::cases(&dir).unwrap();
    assert_eq!(cases.len(), 4, "{cases:?}");
    for case in cases {
        let expect = journal::JournalExpectation::read(&dir, &case).unwrap();
        let out = run(&[
            os("journal"),
            os("check-append"),
            dir.join(journal::SEAL_BUNDLE).as_os_str(),
            dir.join(format!("{case}.jsonl")).as_os_str(),
            os("--trusted-key"),
            dir.join(journal::SEAL_KEY).as_os_str(),
            os("--json"),
        ]);
        let report = json_of(&out);
        assert_eq!(
            out.status.code(),
            Some(expect.expect.exit_code),
            "{case}: {report:#}"
        );
        assert_eq!(report["ok"], expect.expect.ok, "{case}");
        let fails = failing_codes(&report);
        assert_eq!(fails, expect.expect.must_fail, "{case}");
        if let Some((from, to)) = expect.interval {
            let c = checks(&report, &expect.expect.must_fail[0]).next().unwrap();
            assert_eq!(
                (c["from_line"].as_u64(), c["to_line"].as_u64()),
                (Some(from), Some(to))
            );
        }
        assert!(
            checks(&report, "bundle-threshold-met").next().is_some(),
            "{case}"
        );
    }
}

#[test]
fn the_committed_seal_is_signed_by_the_committed_key_only() {
    let dir = seal_dir();
    let stranger = tempfile::tempdir().unwrap();
    let prefix = stranger.path().join("stranger");
    assert!(
        run(&[os("key"), os("generate"), os("--out"), prefix.as_os_str()])
            .status
            .success()
    );
    let out = run(&[
        os("journal"),
        os("check-append"),
        dir.join(journal::SEAL_BUNDLE).as_os_str(),
        dir.join("events.jsonl").as_os_str(),
        os("--trusted-key"),
        prefix.with_extension("pub").as_os_str(),
        os("--json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    assert!(failing_codes(&report).contains(&"bundle-signer-untrusted".to_owned()));
    assert!(checks(&report, "journal-prefix-intact").next().is_none());
}

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let ws = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        for name in ["operator", "stranger"] {
            let out = run(&[
                os("key"),
                os("generate"),
                os("--out"),
                ws.path(name).as_os_str(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        ws
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn events(lines: u64) -> Vec<u8> {
    journal::events(lines)
}

fn check_append(seal: &Path, file: &Path, key: &Path) -> (i32, Value) {
    let out = run(&[
        os("journal"),
        os("check-append"),
        seal.as_os_str(),
        file.as_os_str(),
        os("--trusted-key"),
        key.as_os_str(),
        os("--json"),
    ]);
    (out.status.code().unwrap(), json_of(&out))
}

#[test]
fn seal_then_check_append_in_both_forms() {
    let ws = Workspace::new();
    let file = ws.path("events.jsonl");
    let journal_bytes = events(5000);
    std::fs::write(&file, &journal_bytes).unwrap();
    for out_name in ["events.seal", "events.seal.tar.gz"] {
        let seal = ws.path(out_name);
        let out = run(&[
            os("journal"),
            os("seal"),
            file.as_os_str(),
            os("--key"),
            ws.path("operator.key").as_os_str(),
            os("--out"),
            seal.as_os_str(),
            os("--unique-key"),
            os("idempotency_key"),
        ]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.starts_with("sealed 5000 lines"), "{text}");
        assert!(
            text.ends_with("OK: 7 passed, 0 failed, 0 warnings, 1 skipped\n"),
            "{text}"
        );
        assert_eq!(seal.is_file(), out_name.ends_with(".tar.gz"));

        let (code, report) = check_append(&seal, &file, &ws.path("operator.pub"));
        assert_eq!(code, 0, "{report:#}");
        let intact = checks(&report, "journal-prefix-intact").next().unwrap();
        assert_eq!(
            intact["compared"], 2500,
            "a checkpoint every 2 lines, the last at the head"
        );
        assert_eq!(report["tool"]["name"], "evidence");

        let (code, report) = check_append(&seal, &file, &ws.path("stranger.pub"));
        assert_eq!(code, 1);
        assert!(failing_codes(&report).contains(&"bundle-signer-untrusted".to_owned()));
    }

    // Append, then rewrite an early line.
    let seal = ws.path("events.seal");
    let mut longer = journal_bytes.clone();
    longer.extend_from_slice(&events(5003)[journal_bytes.len()..]);
    std::fs::write(&file, &longer).unwrap();
    let (code, report) = check_append(&seal, &file, &ws.path("operator.pub"));
    assert_eq!(code, 0, "{report:#}");
    let appended = checks(&report, "journal-appended").next().unwrap();
    assert_eq!(appended["appended_lines"], 3);
    assert_eq!(appended["appended_valid"], true);

    let mut edited = longer.clone();
    let at = edited
        .windows(11)
        .position(|w| w == b"\"seq\":1234,")
        .unwrap();
    edited[at + 6] = b'9';
    std::fs::write(&file, &edited).unwrap();
    let (code, report) = check_append(&seal, &file, &ws.path("operator.pub"));
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["journal-history-rewritten"]);
    let c = checks(&report, "journal-history-rewritten").next().unwrap();
    assert_eq!(
        (c["from_line"].as_u64(), c["to_line"].as_u64()),
        (Some(1233), Some(1234))
    );

    // The text form names the interval.
    let out = run(&[
        os("journal"),
        os("check-append"),
        seal.as_os_str(),
        file.as_os_str(),
        os("--trusted-key"),
        ws.path("operator.pub").as_os_str(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("FAIL journal-history-rewritten")
            && text.contains("between lines 1233 and 1234"),
        "{text}"
    );
}

#[test]
fn a_journal_that_does_not_verify_is_not_sealed() {
    let ws = Workspace::new();
    let file = ws.path("events.jsonl");
    let mut bytes = events(10);
    bytes.extend_from_slice(b"{\"type\":\"deploy\"");
    std::fs::write(&file, &bytes).unwrap();
    let seal = ws.path("events.seal");
    let out = run(&[
        os("journal"),
        os("seal"),
        file.as_os_str(),
        os("--key"),
        ws.path("operator.key").as_os_str(),
        os("--out"),
        seal.as_os_str(),
        os("--json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    assert_eq!(failing_codes(&report), ["journal-line-truncated"]);
    assert!(std::fs::symlink_metadata(&seal).is_err(), "nothing written");
    let leftovers: Vec<_> = std::fs::read_dir(ws.dir.path()).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        5,
        "no temporary left behind: {leftovers:?}"
    );
}

#[test]
fn could_not_run_exits_2_with_a_hint() {
    let ws = Workspace::new();
    let file = ws.path("events.jsonl");
    std::fs::write(&file, events(3)).unwrap();
    let seal = ws.path("events.seal");
    let seal_args = |out: &Path| {
        vec![
            os("journal").to_owned(),
            os("seal").to_owned(),
            file.clone().into_os_string(),
            os("--key").to_owned(),
            ws.path("operator.key").into_os_string(),
            os("--out").to_owned(),
            out.to_owned().into_os_string(),
        ]
    };
    assert_eq!(
        evidence()
            .args(seal_args(&seal))
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec![
            "journal".into(),
            "verify".into(),
            ws.path("missing.jsonl").into(),
        ],
        vec![
            "journal".into(),
            "verify".into(),
            file.clone().into(),
            "--unique-key".into(),
            "".into(),
        ],
        seal_args(&seal),
        vec![
            "journal".into(),
            "check-append".into(),
            ws.path("no.seal").into(),
            file.clone().into(),
            "--trusted-key".into(),
            ws.path("operator.pub").into(),
        ],
        vec!["journal".into(), "verify".into()],
        // A folder where the journal file belongs cannot be judged: a usage error.
        vec!["journal".into(), "verify".into(), ws.path("").into()],
    ];
    for args in cases {
        let out = evidence().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error"), "{args:?}: {err}");
    }
    // No trusted key is no run error but a failed check whose detail names the flags.
    let out = evidence()
        .args(["journal", "check-append"])
        .arg(&seal)
        .arg(&file)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    assert_eq!(failing_codes(&report), vec!["trust-not-configured"]);
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("--trusted-key") && detail.contains("--keyring"));
}

#[test]
fn text_output_is_one_line_per_failure_plus_a_summary() {
    let file = workspace_root().join("fixtures/journal-cases/truncated-last-line.jsonl");
    let out = run(&[os("journal"), os("verify"), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("FAIL journal-line-truncated "),
        "{text}"
    );
    assert!(
        lines[0].contains("truncated-last-line.jsonl:13: "),
        "{text}"
    );
    assert_eq!(
        lines[1],
        "FAILED: 1 passed, 1 failed, 0 warnings, 0 skipped"
    );

    let good = workspace_root().join("fixtures/journal-cases/good-events.jsonl");
    let out = run(&[os("journal"), os("verify"), good.as_os_str(), os("--quiet")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn verify_reports_counts_per_type() {
    let good = workspace_root().join("fixtures/journal-cases/good-events.jsonl");
    let out = run(&[os("journal"), os("verify"), good.as_os_str(), os("--json")]);
    let report = json_of(&out);
    assert_eq!(report["schema"], "evidence.report/v1");
    let s = checks(&report, "journal-lines-verified").next().unwrap();
    assert_eq!(
        s["types"],
        serde_json::json!({"claim": 3, "deploy": 3, "heartbeat": 3, "note": 3})
    );
    let out = run(&[
        os("journal"),
        os("verify"),
        good.as_os_str(),
        os("--type-key"),
        os("operator"),
        os("--json"),
    ]);
    let s = checks(&json_of(&out), "journal-lines-verified")
        .next()
        .cloned()
        .unwrap();
    assert_eq!(s["types"], serde_json::json!({"alice": 3}));
    assert_eq!(s["untyped"], 9);
}

#[test]
fn help_teaches_with_examples_and_exit_codes() {
    for sub in ["verify", "seal", "check-append"] {
        let out = run(&[os("journal"), os(sub), os("--help")]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Examples:"), "{sub}: {text}");
        assert!(text.contains("Exit status: 0"), "{sub}: {text}");
    }
}
