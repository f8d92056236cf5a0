//! The zero-paper profile against the real ZERO engine (`zero-engine==0.1.6`), with the
//! predecessor's scripts as the oracle: doctor parity with and without a token, the subject
//! the engine really serves, redaction parity with the predecessor's verifier patterns,
//! rollback on two real captures, and identity evidence from a capture.
//!
//! Without `EVIDENCE_ZERO_PYTHON` (or the predecessor's scripts) each test prints one skip
//! line and passes; under `EVIDENCE_NO_SKIP=1` that is a failure.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use evidence_tests::fake_service::{self, FakeService};
use evidence_tests::zero_engine::{self, EngineOptions, TOKEN, ZeroEngine};
use evidence_tests::{bin, failing_codes};
use serde_json::Value;

/// A signing key pair and a folder for packs, beside a running engine.
struct Ops<'a> {
    engine: &'a ZeroEngine,
}

impl<'a> Ops<'a> {
    fn new(engine: &'a ZeroEngine) -> Self {
        let out = evidence(&["key", "generate", "--out"], &[&engine.dir().join("op")]);
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::write(engine.dir().join("token"), TOKEN).unwrap();
        Self { engine }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.engine.dir().join(name)
    }

    /// `evidence deploy capture URL --profile zero-paper`, signed, with `extra` arguments.
    fn capture(&self, out: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "deploy",
            "capture",
            &self.engine.url,
            "--profile",
            "zero-paper",
            "--json",
        ];
        args.extend_from_slice(extra);
        let key = self.path("op.key");
        let dest = self.path(out);
        bin("evidence")
            .args(&args)
            .arg("--sign")
            .arg(&key)
            .arg("--out")
            .arg(&dest)
            .output()
            .unwrap()
    }

    fn token_file(&self) -> String {
        self.path("token").display().to_string()
    }
}

fn evidence(args: &[&str], paths: &[&Path]) -> Output {
    bin("evidence").args(args).args(paths).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Everything the doctor tests need: the engine and the predecessor's script.
fn engine_and(script: &str, options: EngineOptions) -> Option<(ZeroEngine, PathBuf)> {
    let script = zero_engine::predecessor_script(script)?;
    let engine = ZeroEngine::start_with(options)?;
    Some((engine, script))
}

/// The predecessor's doctor verdicts, per check name (`ok`/`warn`/`fail`), and its exit status.
fn predecessor_doctor(
    engine: &ZeroEngine,
    script: &Path,
    token: Option<&str>,
    extra: &[&str],
) -> (Vec<(String, String)>, i32) {
    let mut args = vec![
        engine.url.as_str(),
        "--json",
        "--token",
        token.unwrap_or(""),
    ];
    args.extend_from_slice(extra);
    let out = zero_engine::run_predecessor(&engine.python, script, &args, &[]);
    let report = json(&out);
    let checks = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (checks, out.status.code().unwrap_or(-1))
}

/// Our doctor verdicts from a capture report: the `doctor` member and the status of each
/// `capture-doctor` check, in report order.
fn our_doctor(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "capture-doctor")
        .map(|c| {
            (
                c["doctor"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_doctor_checks_match_the_predecessor_with_and_without_a_token() {
    let Some((engine, doctor)) = engine_and("railway_doctor.py", EngineOptions::default()) else {
        return;
    };
    let ops = Ops::new(&engine);
    let mut table = String::from(
        "\n| check (railway_doctor.py) | predecessor, token | ours, token | predecessor, no token | ours, no token |\n|---|---|---|---|---|\n",
    );
    let mut rows: Vec<[String; 5]> = Vec::new();
    for (i, token) in [Some(TOKEN), None].into_iter().enumerate() {
        let (theirs, their_exit) = predecessor_doctor(&engine, &doctor, token, &[]);
        let token_file = ops.token_file();
        let extra: Vec<&str> = match token {
            Some(_) => vec!["--token-file", &token_file],
            None => vec![],
        };
        let started = Instant::now();
        let out = ops.capture(&format!("pack-{i}"), &extra);
        eprintln!(
            "zero-paper capture against the real engine ({}): {:?}",
            if token.is_some() { "token" } else { "no token" },
            started.elapsed()
        );
        let report = json(&out);
        let ours = our_doctor(&report);
        assert_eq!(
            ours.len(),
            18,
            "one capture-doctor check per railway_doctor.py check"
        );
        let as_theirs: Vec<(String, String)> = ours
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    if s == "pass" {
                        "ok".to_owned()
                    } else {
                        s.clone()
                    },
                )
            })
            .collect();
        assert_eq!(
            as_theirs, theirs,
            "per check name, in the predecessor's order"
        );
        // Warnings alone exit 0, as the predecessor's.
        assert_eq!(
            out.status.code(),
            Some(their_exit),
            "{:?}",
            failing_codes(&report)
        );
        assert_eq!(their_exit, 0);
        for (k, (name, status)) in ours.iter().enumerate() {
            if i == 0 {
                rows.push([
                    name.clone(),
                    theirs[k].1.clone(),
                    status.clone(),
                    String::new(),
                    String::new(),
                ]);
            } else {
                let row = rows.iter_mut().find(|r| r[0] == *name).unwrap();
                row[3] = theirs[k].1.clone();
                row[4] = status.clone();
            }
        }
    }
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r[0], r[1], r[2], r[3], r[4]
        ));
    }
    eprintln!("doctor parity on zero-engine 0.1.6:{table}");
    // The known outcomes of the real engine: the journal is ephemeral, and the paid history
    // needs the token.
    let row = |n: &str| rows.iter().find(|r| r[0] == n).unwrap().clone();
    assert_eq!(row("durable_journal")[2], "warn");
    assert_eq!(row("paid_history_auth")[2], "pass");
    assert_eq!(row("paid_history_auth")[4], "warn");
    assert_eq!(row("paid_scopes_fail_closed")[4], "pass");

    // --fail-on-warn, as the predecessor's: the warnings now fail both.
    let (_, their_exit) = predecessor_doctor(&engine, &doctor, None, &["--fail-on-warn"]);
    let out = ops.capture("pack-strict", &["--fail-on-warn"]);
    assert_eq!((their_exit, out.status.code()), (1, Some(1)));
    assert!(
        ops.path("pack-strict/manifest.json").is_file(),
        "the pack is written all the same"
    );
}

#[test]
fn the_doctor_fails_as_the_predecessor_does_on_a_service_that_is_not_the_engine() {
    // The old stand-in fails most of the doctor (no schema versions, paid scopes where the
    // engine has public ones, missing endpoints): every failing path, renamed checks
    // included (network_profile, intelligence_snapshot), must agree too.
    let Some(doctor) = zero_engine::predecessor_script("railway_doctor.py") else {
        return;
    };
    let Some(python) = zero_engine::need_python() else {
        return;
    };
    let service = FakeService::start(fake_service::zero_paper_routes());
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    for (i, with_token) in [true, false].into_iter().enumerate() {
        let mut args = vec![service.url.as_str(), "--json", "--token"];
        args.push(if with_token { TOKEN } else { "" });
        let out = zero_engine::run_predecessor(&python, &doctor, &args, &[]);
        let theirs: Vec<(String, String)> = json(&out)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut ours = bin("evidence");
        ours.args([
            "deploy",
            "capture",
            &service.url,
            "--profile",
            "zero-paper",
            "--json",
            "--out",
        ])
        .arg(dir.path().join(format!("pack-{i}")));
        if with_token {
            ours.arg("--token-file").arg(&token);
        }
        let ours_out = ours.output().unwrap();
        let ours: Vec<(String, String)> = our_doctor(&json(&ours_out))
            .into_iter()
            .map(|(n, s)| (n, if s == "pass" { "ok".to_owned() } else { s }))
            .collect();
        assert_eq!(ours, theirs, "token: {with_token}");
        assert!(
            theirs
                .iter()
                .any(|(n, s)| n == "network_profile" && s == "fail")
        );
        assert_eq!(
            (out.status.code(), ours_out.status.code()),
            (Some(1), Some(1))
        );
    }
}

#[test]
fn commit_release_tag_and_deployment_id_come_from_what_the_engine_serves() {
    let options = EngineOptions {
        env: vec![
            ("ZERO_DEPLOYMENT_ID".to_owned(), "paper-eu-1".to_owned()),
            (
                "ZERO_DEPLOYMENT_VERSION".to_owned(),
                "v0.1.6-rc2".to_owned(),
            ),
        ],
        ..EngineOptions::default()
    };
    let Some(engine) = ZeroEngine::start_with(options) else {
        return;
    };
    let ops = Ops::new(&engine);
    let out = ops.capture("pack", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?}",
        failing_codes(&json(&out))
    );
    let subject = read_json(&ops.path("pack/manifest.json"))["subject"].clone();
    let (_, claim) = engine.get("/deployment/claim");
    let claim: Value = serde_json::from_slice(&claim).unwrap();
    eprintln!(
        "subject found in the engine's packets: deployment_id={} (deployment.deployment_id), \
         release_tag={} (deployment.version), commit={} (zero-engine 0.1.6 serves none)",
        subject["deployment_id"], subject["release_tag"], subject["commit"]
    );
    assert_eq!(subject["deployment_id"], "paper-eu-1");
    assert_eq!(
        subject["deployment_id"],
        claim["deployment"]["deployment_id"]
    );
    assert_eq!(subject["release_tag"], "v0.1.6-rc2");
    assert_eq!(subject["release_tag"], claim["deployment"]["version"]);
    assert!(
        subject.get("commit").is_none(),
        "no commit is made up: {subject}"
    );
}

/// Every string value (never a key) of every stored packet, checked against the
/// predecessor verifier's five leak patterns (`deployment_evidence_verify.py`,
/// `secret_patterns`) with Python's own `re`; prints the matches.
const LEAK_SCAN: &str = r#"
import json, pathlib, re, sys
patterns = {
    "raw_trace_id": r"trace-[A-Za-z0-9._:-]+",
    "bearer_token": r"Bearer\s+(?!REDACTED\b)[A-Za-z0-9._~+/=-]+",
    "openai_key": r"sk-[A-Za-z0-9]{16,}",
    "raw_private_key": r"(?i)private[_-]?key[\"']?\s*[:=]\s*(?!REDACTED\b)[^\"'\s,}]+",
    "raw_signing_key": r"(?i)signing[_-]?key[\"']?\s*[:=]\s*(?!REDACTED\b)[^\"'\s,}]+",
}
def values(v):
    if isinstance(v, dict):
        for x in v.values():
            yield from values(x)
    elif isinstance(v, list):
        for x in v:
            yield from values(x)
    elif isinstance(v, str):
        yield v
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    for text in values(json.loads(path.read_text())):
        for name, pattern in patterns.items():
            for m in re.finditer(pattern, text):
                print(path.name, name, m.group(0))
"#;

#[test]
fn stored_packets_are_redacted_as_the_predecessor_redacts_and_counted_per_class() {
    let Some(engine) = ZeroEngine::start() else {
        return;
    };
    let ops = Ops::new(&engine);
    // A paper order with a smoke-test idempotency key and one with a railway-style key: the
    // audit export then carries both (the predecessor's smoke runs leave such keys).
    for key in ["smoke-test-001", "railway-run-7"] {
        let body =
            format!(r#"{{"coin":"BTC","side":"buy","size":0.01,"idempotency_key":"{key}"}}"#);
        post(engine.port(), "/execute", &body);
    }
    let token_file = ops.token_file();
    let out = ops.capture(
        "pack",
        &[
            "--token-file",
            &token_file,
            "--forbid-token",
            "zero-paper-api/0.1",
        ],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", failing_codes(&report));
    let packets = ops.path("pack/payload/packets");
    let scan = std::process::Command::new(&engine.python)
        .args(["-c", LEAK_SCAN])
        .arg(&packets)
        .output()
        .unwrap();
    assert!(scan.status.success(), "{}", stderr(&scan));
    assert_eq!(
        String::from_utf8_lossy(&scan.stdout),
        "",
        "leak patterns still match"
    );

    let manifest = read_json(&ops.path("pack/manifest.json"));
    let count = |class: &str| {
        manifest["redaction"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class"] == class)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    eprintln!("redaction counts: {}", manifest["redaction"]["counts"]);
    // One trace id per response header at least, the keys of both orders, the server
    // header (forbidden).
    assert!(count("tracing-id") >= 22, "{manifest:#}");
    assert!(
        count("idempotency-key") >= 1 && count("platform-id") >= 1,
        "{manifest:#}"
    );
    assert!(count("forbidden-token") >= 22, "{manifest:#}");
    let all = std::fs::read_dir(&packets)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    for raw in [
        "smoke-test-001",
        "railway-run-7",
        TOKEN,
        "zero-paper-api/0.1",
    ] {
        assert!(!all.contains(raw), "{raw} is still in a packet");
    }
    // Header names stay, their values are redacted.
    let health = read_json(&packets.join("health.json"));
    assert_eq!(
        health["headers"]["x-zero-trace-id"],
        "[REDACTED:tracing-id]"
    );
    // Every self-hashed claim and heartbeat was scanned and left intact.
    let hashed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "capture-self-hash")
        .collect();
    assert!(hashed.len() >= 4, "{hashed:?}");
    assert!(hashed.iter().all(|c| c["status"] == "pass"), "{hashed:?}");
    let claim =
        read_json(&packets.join("network-profile.json"))["payload"]["deployment_claim"].clone();
    assert_eq!(claim["deployment"]["owner"], "local-operator");

    // A forbidden value inside a claim: redaction must change it, and the report says its
    // self-hash can no longer be checked.
    let out = ops.capture("pack-owner", &["--forbid-token", "local-operator"]);
    let report = json(&out);
    let warned = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "capture-self-hash" && c["status"] == "warn")
        .count();
    assert!(warned >= 2, "{report:#}");
}

/// A minimal HTTP/1.0 POST of a JSON body on 127.0.0.1.
fn post(port: u16, path: &str, body: &str) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}

#[test]
fn two_real_captures_rehearse_get_a_permit_and_agree_with_the_predecessor() {
    let Some((engine, rehearsal)) =
        engine_and("deployment_rollback_rehearsal.py", EngineOptions::default())
    else {
        return;
    };
    let Some(collect) = zero_engine::predecessor_script("deployment_evidence.py") else {
        return;
    };
    let ops = Ops::new(&engine);
    for (pack, at) in [
        ("previous", "2026-12-01T10:00:00Z"),
        ("current", "2026-12-01T11:00:00Z"),
    ] {
        let out = ops.capture(pack, &["--created-at", at]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{:?}",
            failing_codes(&json(&out))
        );
    }
    let out = bin("evidence")
        .args(["rollback", "rehearse", "--json", "--current"])
        .arg(ops.path("current"))
        .arg("--previous")
        .arg(ops.path("previous"))
        .arg("--trusted-key")
        .arg(ops.path("op.pub"))
        .arg("--sign")
        .arg(ops.path("op.key"))
        .arg("--out")
        .arg(ops.path("rehearsal"))
        .output()
        .unwrap();
    let ours = json(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", failing_codes(&ours));
    let preconditions: Vec<(String, String)> = ours["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "rollback-precondition")
        .map(|c| {
            (
                c["precondition"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        preconditions.len(),
        10,
        "the predecessor's ten: {preconditions:?}"
    );

    // The predecessor on its own packs from the same engine.
    let key = "rehearsal-hmac-key";
    for pack in ["prev", "cur"] {
        let dest = ops.path(pack).display().to_string();
        let out = zero_engine::run_predecessor(
            &engine.python,
            &collect,
            &[&engine.url, "--token", TOKEN, "--output", &dest],
            &[("ZERO_DEPLOYMENT_EVIDENCE_SIGNING_KEY", key)],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (cur, prev, rb) = (ops.path("cur"), ops.path("prev"), ops.path("rb"));
    let args = [
        cur.to_str().unwrap(),
        "--previous-bundle",
        prev.to_str().unwrap(),
        "--signing-key",
        key,
        "--require-signature",
        "--output",
        rb.to_str().unwrap(),
        "--json",
    ];
    let out = zero_engine::run_predecessor(&engine.python, &rehearsal, &args, &[]);
    let theirs = json(&out);
    assert_eq!(theirs["ok"], true, "{theirs:#}");
    assert_eq!(out.status.code(), Some(0));
    let mut table = String::from(
        "\n| precondition | predecessor (rollback_target) | ours (previous) |\n|---|---|---|\n",
    );
    for (name, status) in &preconditions {
        let their = theirs["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == format!("rollback_target:{name}"))
            .unwrap_or_else(|| panic!("the predecessor has no check {name}"));
        assert_eq!(
            (their["status"].as_str(), status.as_str()),
            (Some("ok"), "pass"),
            "{name}"
        );
        table.push_str(&format!(
            "| {name} | {} | {status} |\n",
            their["status"].as_str().unwrap()
        ));
    }
    eprintln!(
        "rollback rehearsal on the same engine: predecessor ok={} ({} checks ok), ours {} ({} preconditions):{table}",
        theirs["ok"],
        theirs["summary"]["ok"],
        ours["ok"],
        preconditions.len()
    );

    let out = evidence(
        &["rollback", "verify", "--trusted-key"],
        &[&ops.path("op.pub"), &ops.path("rehearsal")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The permit, and the check an automated rollback runs.
    let permit = ops.path("permit.tar.gz");
    let out = bin("evidence")
        .args(["rollback", "permit", "--expires-in", "1h", "--rehearsal"])
        .arg(ops.path("rehearsal"))
        .arg("--trusted-key")
        .arg(ops.path("op.pub"))
        .arg("--key")
        .arg(ops.path("op.key"))
        .arg("--out")
        .arg(&permit)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let bundle_id = |pack: &str| {
        let out = evidence(&["bundle", "inspect", "--json"], &[&ops.path(pack)]);
        json(&out)["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.stdout)))
    };
    let out = bin("evidence")
        .args([
            "rollback",
            "check-permit",
            "--from",
            &bundle_id("current"),
            "--to",
            &bundle_id("previous"),
            "--target",
            &engine.url,
            "--trusted-key",
        ])
        .arg(ops.path("op.pub"))
        .arg(&permit)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

#[test]
fn identity_evidence_seals_the_bound_pair_of_a_verified_capture() {
    let Some(engine) = ZeroEngine::start() else {
        return;
    };
    let ops = Ops::new(&engine);
    let out = ops.capture("pack", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?}",
        failing_codes(&json(&out))
    );
    let create = |out_dir: &str, trusted: &str| {
        bin("evidence")
            .args(["identity", "create", "--json", "--from-capture"])
            .arg(ops.path("pack"))
            .arg("--trusted-key")
            .arg(ops.path(trusted))
            .arg("--key")
            .arg(ops.path("op.key"))
            .arg("--out")
            .arg(ops.path(out_dir))
            .output()
            .unwrap()
    };
    let out = create("identity", "op.pub");
    let created = json(&out);
    assert_eq!(out.status.code(), Some(0), "{created:#}");
    let out = evidence(
        &["identity", "verify", "--json", "--trusted-key"],
        &[&ops.path("op.pub"), &ops.path("identity")],
    );
    let verified = json(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", failing_codes(&verified));
    let subject = read_json(&ops.path("identity/manifest.json"))["subject"].clone();
    assert_eq!(subject["deployment_id"], "local-paper");
    assert_eq!(subject["mode"], "paper");
    let profile = read_json(&ops.path("pack/payload/packets/network-profile.json"));
    assert_eq!(
        subject["claim_hash"],
        profile["payload"]["deployment_claim"]["claim_hash"]
    );

    // A capture signed by another key is refused, and nothing is written.
    let stranger = evidence(&["key", "generate", "--out"], &[&ops.path("stranger")]);
    assert!(stranger.status.success());
    let out = create("identity-2", "stranger.pub");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!ops.path("identity-2").exists());
}
