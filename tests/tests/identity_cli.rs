//! End-to-end tests of `evidence identity create|verify` over the committed fixtures, packets
//! written by python3, and runtime-built bundles.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use evidence_tests::fixtures;
use evidence_tests::fixtures::identity::{self, IdentityExpectation, operator_key, stranger_key};
use evidence_tests::{failing_codes, workspace_root};
use serde_json::Value;

fn evidence() -> Command {
    evidence_tests::bin("evidence")
}

fn cases_dir() -> PathBuf {
    workspace_root().join("fixtures").join(identity::CASES_DIR)
}

fn operator_pub() -> PathBuf {
    cases_dir().join("operator.pub")
}

fn report_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn verify_json(bundle: &Path, extra: &[String]) -> (i32, Value) {
    let out = evidence()
        .args(["identity", "verify"])
        .arg(bundle)
        .arg("--trusted-key")
        .arg(operator_pub())
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), report_of(&out))
}

/// Writes the operator's (or a stranger's) private key, derived from the fixture seed.
fn write_key(dir: &Path, stranger: bool) -> PathBuf {
    let path = dir.join(if stranger {
        "stranger.key"
    } else {
        "operator.key"
    });
    let key = if stranger {
        stranger_key()
    } else {
        operator_key()
    };
    key.save(&path).unwrap();
    path
}

#[test]
fn every_identity_case_meets_its_stated_expectation() {
    let dir = cases_dir();
    let cases = fixtures::cases(&dir).unwrap();
    for want in [
        "good",
        "good-archive.tar.gz",
        "forged-claim-resigned-by-stranger",
        "claim-hash-wrong",
        "heartbeat-for-other-claim",
        "deployment-id-mismatch",
        "heartbeat-older-than-claim",
        "stale-heartbeat",
        "privacy-flag-set",
        "secret-in-heartbeat",
        "report-edited-outside-signature",
        "manifest-subject-edited",
        "unsigned-identity-bundle",
    ] {
        assert!(cases.iter().any(|c| c == want), "missing case {want}");
    }
    for case in &cases {
        let expect = IdentityExpectation::read(&dir, case).unwrap();
        let (code, report) = verify_json(&dir.join(case), &expect.expect.args);
        expect.expect.assert_met(case, code, &report);
        assert_eq!(report["schema"], "evidence.report/v1");
        assert_eq!(report["tool"]["name"], "evidence");
        assert_eq!(report["subject"]["kind"], "identity");
        for check in report["checks"].as_array().unwrap() {
            let section = check["section"].as_str().unwrap();
            assert!(
                section == "bundle" || section == "identity",
                "{case}: {check}"
            );
        }
        // A packet failure in a validly signed bundle is found by re-running the checks; the
        // record of the failure agrees with itself.
        if expect
            .expect
            .must_fail
            .iter()
            .any(|c| c.starts_with("identity-"))
        {
            let passed = |code: &str| {
                report["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["code"] == code && c["status"] == "pass")
            };
            assert!(passed("bundle-threshold-met"), "{case}");
            assert!(passed("identity-report-consistent"), "{case}");
            assert!(passed("identity-subject-consistent"), "{case}");
        }
    }
}

#[test]
fn the_good_bundle_carries_its_facts_in_the_report() {
    let (code, report) = verify_json(&cases_dir().join("good"), &[]);
    assert_eq!(code, 0, "{report:#}");
    let subject = &report["subject"];
    assert_eq!(subject["deployment_id"], "dep-2026-11-22-eu1");
    assert_eq!(subject["mode"], "paper");
    assert_eq!(subject["claim_time"], identity::CLAIM_TIME);
    assert_eq!(subject["heartbeat_time"], identity::HEARTBEAT_TIME);
    let claim: Value =
        serde_json::from_slice(&std::fs::read(cases_dir().join("claim.json")).unwrap()).unwrap();
    assert_eq!(subject["claim_hash"], claim["claim_hash"]);
    let skipped: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "skip")
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(
        skipped.contains(&"identity-packet-signature-ignored"),
        "{skipped:?}"
    );
    assert!(skipped.contains(&"identity-heartbeat-fresh"), "{skipped:?}");
    // Another pinned key: the operator's signature does not count.
    let out = evidence()
        .args(["identity", "verify"])
        .arg(cases_dir().join("good"))
        .arg("--trusted-key")
        .arg(cases_dir().join("stranger.pub"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(failing_codes(&report_of(&out)).contains(&"bundle-signer-untrusted".to_owned()));
}

#[test]
fn create_refuses_every_failing_pair_with_the_same_code() {
    let dir = cases_dir();
    let tmp = tempfile::tempdir().unwrap();
    let key = write_key(tmp.path(), false);
    let mut refused = 0;
    for case in fixtures::cases(&dir).unwrap() {
        let expect = IdentityExpectation::read(&dir, &case).unwrap();
        let packet_codes: Vec<&String> = expect
            .expect
            .must_fail
            .iter()
            .filter(|c| c.starts_with("identity-") && *c != "identity-heartbeat-fresh")
            .collect();
        if packet_codes.is_empty() {
            continue;
        }
        let out_dir = tmp.path().join(&case);
        let out = evidence()
            .args(["identity", "create", "--json", "--claim"])
            .arg(dir.join(&case).join("payload/claim.json"))
            .arg("--heartbeat")
            .arg(dir.join(&case).join("payload/heartbeat.json"))
            .arg("--key")
            .arg(&key)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{case}");
        let report = report_of(&out);
        assert_eq!(report["ok"], false);
        let fails = failing_codes(&report);
        for want in packet_codes {
            assert!(fails.contains(want), "{case}: {fails:?}");
        }
        assert!(
            !out_dir.exists(),
            "{case}: a refused pair must leave nothing"
        );
        refused += 1;
    }
    assert_eq!(refused, 6);
}

#[test]
fn create_then_verify_round_trips_and_reproduces_the_fixture() {
    let dir = cases_dir();
    let tmp = tempfile::tempdir().unwrap();
    let key = write_key(tmp.path(), false);
    for name in ["bundle", "bundle.tar.gz"] {
        let out_path = tmp.path().join(name);
        let out = evidence()
            .args(["identity", "create", "--claim"])
            .arg(dir.join("claim.json"))
            .arg("--heartbeat")
            .arg(dir.join("heartbeat.json"))
            .args(["--key"])
            .arg(&key)
            .arg("--out")
            .arg(&out_path)
            .args(["--created-at", identity::CREATED_AT])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("sealed identity bundle"), "{text}");
        assert!(
            text.ends_with("OK: 12 passed, 0 failed, 0 warnings, 3 skipped\n"),
            "{text}"
        );
        let (code, report) = verify_json(&out_path, &[]);
        assert_eq!(code, 0, "{report:#}");
    }
    // Same packets, key and time: byte-identical to the committed fixtures.
    for file in [
        "manifest.json",
        "manifest.dsse.json",
        "SHA256SUMS",
        "payload/claim.json",
        "payload/heartbeat.json",
        "payload/identity-report.json",
    ] {
        assert_eq!(
            std::fs::read(tmp.path().join("bundle").join(file)).unwrap(),
            std::fs::read(dir.join("good").join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(
        std::fs::read(tmp.path().join("bundle.tar.gz")).unwrap(),
        std::fs::read(dir.join("good-archive.tar.gz")).unwrap()
    );
    // --json prints the report, with the new bundle's id.
    let out = evidence()
        .args(["identity", "create", "--json", "--claim"])
        .arg(dir.join("claim.json"))
        .arg("--heartbeat")
        .arg(dir.join("heartbeat.json"))
        .arg("--key")
        .arg(&key)
        .arg("--out")
        .arg(tmp.path().join("json"))
        .args(["--created-at", identity::CREATED_AT])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = report_of(&out);
    assert_eq!(report["ok"], true);
    assert!(
        report["subject"]["id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn human_output_names_the_failure() {
    let out = evidence()
        .args(["identity", "verify"])
        .arg(cases_dir().join("claim-hash-wrong"))
        .arg("--trusted-key")
        .arg(operator_pub())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL identity-claim-hash claim.json: claim_hash is sha256:")),
        "{text}"
    );
    assert!(
        text.ends_with("FAILED: 20 passed, 1 failed, 0 warnings, 5 skipped\n"),
        "{text}"
    );
    let quiet = evidence()
        .args(["identity", "verify", "-q"])
        .arg(cases_dir().join("claim-hash-wrong"))
        .arg("--trusted-key")
        .arg(operator_pub())
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty());
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    evidence().args(args).output().unwrap()
}

#[test]
fn could_not_run_exits_2_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let key = write_key(tmp.path(), false);
    let bad_key = tmp.path().join("bad.key");
    std::fs::write(&bad_key, "not a key\n").unwrap();
    let claim = cases_dir().join("claim.json");
    let heartbeat = cases_dir().join("heartbeat.json");
    let good = cases_dir().join("good");
    let linked = tmp.path().join("linked-claim.json");
    std::os::unix::fs::symlink(&claim, &linked).unwrap();
    let fifo = tmp.path().join("fifo-claim.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let os = |s: &str| std::ffi::OsString::from(s);
    let create_with = |claim: &Path, key: &Path, out: &Path| -> Vec<std::ffi::OsString> {
        vec![
            os("identity"),
            os("create"),
            os("--claim"),
            claim.into(),
            os("--heartbeat"),
            heartbeat.clone().into(),
            os("--key"),
            key.into(),
            os("--out"),
            out.into(),
        ]
    };
    let out = |name: &str| tmp.path().join(name);
    let cases: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        (
            "claim is a symbolic link",
            create_with(&linked, &key, &out("o3")),
        ),
        ("claim is a FIFO", create_with(&fifo, &key, &out("o4"))),
        (
            "missing claim",
            create_with(&tmp.path().join("nope.json"), &key, &out("o1")),
        ),
        ("bad key", create_with(&claim, &bad_key, &out("o2"))),
        ("out exists", create_with(&claim, &key, tmp.path())),
        (
            "missing bundle",
            vec![
                os("identity"),
                os("verify"),
                tmp.path().join("nope").into(),
                os("--trusted-key"),
                operator_pub().into(),
            ],
        ),
        (
            "bad trusted key",
            vec![
                os("identity"),
                os("verify"),
                good.clone().into(),
                os("--trusted-key"),
                bad_key.clone().into(),
            ],
        ),
        (
            "bad max-age",
            vec![
                os("identity"),
                os("verify"),
                good.clone().into(),
                os("--trusted-key"),
                operator_pub().into(),
                os("--max-age"),
                os("soon"),
            ],
        ),
        (
            "now without max-age",
            vec![
                os("identity"),
                os("verify"),
                good.clone().into(),
                os("--trusted-key"),
                operator_pub().into(),
                os("--now"),
                os("2026-11-22T09:00:00Z"),
            ],
        ),
    ];
    for (what, args) in cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{what}");
        assert!(out.stdout.is_empty(), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("evidence: error:") || err.starts_with("error:"),
            "{what}: {err}"
        );
        if err.starts_with("evidence: error:") {
            assert!(err.contains("evidence: hint:"), "{what}: {err}");
        }
        if what == "claim is a symbolic link" {
            assert!(err.contains("symbolic link"), "{err}");
        }
        if what == "claim is a FIFO" {
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
    assert!(!tmp.path().join("o1").exists() && !tmp.path().join("o2").exists());
}

/// No trusted key: a key inside the bundle never counts, so the verdict is a failed
/// `trust-not-configured` check naming the flags (exit 1), not a run error.
#[test]
fn verifying_without_a_trusted_key_fails_closed() {
    let out = evidence()
        .args(["identity", "verify"])
        .arg(cases_dir().join("good"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = report_of(&out);
    assert_eq!(failing_codes(&report), vec!["trust-not-configured"]);
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("--trusted-key") && detail.contains("--keyring"));
}

#[test]
fn help_teaches_examples_and_exit_codes() {
    for sub in ["create", "verify"] {
        let out = evidence()
            .args(["identity", sub, "--help"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Examples:"), "{sub}");
        assert!(text.contains("Exit status: 0"), "{sub}");
        assert!(text.contains(&format!("evidence identity {sub}")), "{sub}");
    }
}

// ---- python3 cross-checks ------------------------------------------------------------------

/// Runs a python3 script with `stdin`; `None` when python3 is missing and
/// `EVIDENCE_SKIP_PYTHON` is set.
fn python(script: &str, stdin: &str) -> Option<String> {
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) if std::env::var_os("EVIDENCE_SKIP_PYTHON").is_some() => return None,
        Err(e) => panic!("python3 is needed ({e}); set EVIDENCE_SKIP_PYTHON=1 to skip"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The engine's hash function, in Python, over files named on stdin (one per line):
/// prints `<computed> <stated>` per file.
const ENGINE_HASH: &str = r#"
import hashlib, json, sys
def engine_hash(packet, member):
    body = {k: v for k, v in packet.items() if k not in (member, "signature")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
for path in sys.stdin.read().split():
    packet = json.load(open(path, encoding="utf-8"))
    member = "claim_hash" if "claim_hash" in packet else "heartbeat_hash"
    print(engine_hash(packet, member), packet[member])
"#;

#[test]
fn fixture_hashes_agree_with_python() {
    let dir = cases_dir();
    let mut files = vec![dir.join("claim.json"), dir.join("heartbeat.json")];
    for case in [
        "good",
        "heartbeat-for-other-claim",
        "deployment-id-mismatch",
        "secret-in-heartbeat",
    ] {
        files.push(dir.join(case).join("payload/claim.json"));
        files.push(dir.join(case).join("payload/heartbeat.json"));
    }
    let wrong = dir.join("claim-hash-wrong/payload/claim.json");
    files.push(wrong);
    let input: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    let Some(out) = python(ENGINE_HASH, &input) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), files.len());
    for (file, line) in files.iter().zip(&lines) {
        let (computed, stated) = line.split_once(' ').unwrap();
        if file.ends_with("claim-hash-wrong/payload/claim.json") {
            assert_ne!(
                computed, stated,
                "python agrees the edited claim's hash is wrong"
            );
        } else {
            assert_eq!(computed, stated, "{}", file.display());
        }
    }
}

/// Packets written and hashed by Python itself, with what trips serialisers up: non-ASCII and
/// astral text, control characters, floats at the exponent switch, large integers, key order
/// that differs between code points and UTF-16.
const PYTHON_PACKETS: &str = r#"
import hashlib, json, sys
out = sys.argv[1]
def engine_hash(packet, member):
    body = {k: v for k, v in packet.items() if k not in (member, "signature")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
claim = {
    "schema": "zero.deployment.claim.v1",
    "deployment": {"deployment_id": "dep-\u00e9t\u00e9-\U0001F680", "region": "eu"},
    "issued_at": "2026-11-22T10:00:00.654321+01:00",
    "numbers": [1e-05, 0.0001, 1e16, 1e15, -0.0, 1000000000000000.25, 18446744073709551615, -9223372036854775808, 5e-324],
    "keys": {"\uffff": 1, "\U0001F600": 2, "a": 3, "\u00e9": 4},
    "text": "tab\there \"quoted\" back\\slash \x01 \x7f /slash",
    "privacy": {"contains_exchange_credentials": False},
    "signature": "ignored",
}
claim["claim_hash"] = engine_hash(claim, "claim_hash")
heartbeat = {
    "schema": "zero.deployment.heartbeat.v1",
    "deployment": {"deployment_id": claim["deployment"]["deployment_id"], "mode": "paper"},
    "deployment_claim_hash": claim["claim_hash"],
    "emitted_at": "2026-11-22T09:00:30Z",
    "privacy": {"contains_wallet_material": False},
}
heartbeat["heartbeat_hash"] = engine_hash(heartbeat, "heartbeat_hash")
json.dump(claim, open(out + "/claim.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
json.dump(heartbeat, open(out + "/heartbeat.json", "w"))
print("ok")
"#;

#[test]
fn packets_hashed_by_python_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .args(["-c", PYTHON_PACKETS])
        .arg(tmp.path())
        .output();
    let out = match status {
        Ok(o) => o,
        Err(_) if std::env::var_os("EVIDENCE_SKIP_PYTHON").is_some() => return,
        Err(e) => panic!("python3 is needed ({e}); set EVIDENCE_SKIP_PYTHON=1 to skip"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = write_key(tmp.path(), false);
    let bundle = tmp.path().join("b");
    let out = evidence()
        .args(["identity", "create", "--json", "--claim"])
        .arg(tmp.path().join("claim.json"))
        .arg("--heartbeat")
        .arg(tmp.path().join("heartbeat.json"))
        .arg("--key")
        .arg(&key)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    let report = report_of(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["subject"]["mode"], "paper");
    assert_eq!(report["subject"]["claim_time"], "2026-11-22T09:00:00Z");
    let (code, report) = verify_json(
        &bundle,
        &[
            "--max-age".into(),
            "10m".into(),
            "--now".into(),
            "2026-11-22T09:05:00Z".into(),
        ],
    );
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn a_bundle_signed_by_a_stranger_fails_even_with_perfect_packets() {
    let tmp = tempfile::tempdir().unwrap();
    let key = write_key(tmp.path(), true);
    let bundle = tmp.path().join("b");
    let out = evidence()
        .args(["identity", "create", "--claim"])
        .arg(cases_dir().join("claim.json"))
        .arg("--heartbeat")
        .arg(cases_dir().join("heartbeat.json"))
        .arg("--key")
        .arg(&key)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (code, report) = verify_json(&bundle, &[]);
    assert_eq!(code, 1);
    let fails = failing_codes(&report);
    assert!(
        fails.contains(&"bundle-signer-untrusted".to_owned()),
        "{fails:?}"
    );
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "identity-not-checked")
    );
}
