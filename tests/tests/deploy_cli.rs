//! End-to-end tests of the deployment flows against a local HTTP service started by each
//! test: live capture, rollback rehearsal and permits, incident packs.

use std::path::{Path, PathBuf};
use std::process::Output;

use evidence_tests::bin;
use evidence_tests::fake_service::{self, FakeService, Reply};
use serde_json::Value;

const TOKEN: &str = "tok_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
/// The profile the stand-in service was written to (the old zero-paper): these tests are of
/// the capture mechanics; the zero-paper profile is tested on the real engine (zero_paper.rs).
const STAND_IN_PROFILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/stand-in-profile.json"
);

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = bin("evidence")
            .args(["key", "generate", "--out"])
            .arg(dir.path().join("op"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let out = bin("evidence")
            .args(["key", "generate", "--out"])
            .arg(dir.path().join("stranger"))
            .output()
            .unwrap();
        assert!(out.status.success());
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn capture(
        &self,
        service: &FakeService,
        out: &str,
        created_at: &str,
        extra: &[&str],
    ) -> Output {
        bin("evidence")
            .args([
                "deploy",
                "capture",
                &service.url,
                "--profile",
                STAND_IN_PROFILE,
                "--out",
            ])
            .arg(self.path(out))
            .arg("--sign")
            .arg(self.path("op.key"))
            .args(["--created-at", created_at, "--json"])
            .args(extra)
            .output()
            .unwrap()
    }

    fn evidence(&self, args: &[&str]) -> Output {
        bin("evidence")
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn failing(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| {
            format!(
                "{} {}",
                c["code"].as_str().unwrap(),
                c["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn has(report: &Value, code: &str, status: &str) -> bool {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == code && c["status"] == status)
}

/// Every byte of every file under `dir`, as one lossy string.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

fn verify(env: &Env, bundle: &str) -> Output {
    env.evidence(&[
        "bundle",
        "verify",
        bundle,
        "--trusted-key",
        "op.pub",
        "--json",
    ])
}

#[test]
fn a_healthy_paper_engine_captures_clean_and_verifies() {
    let env = Env::new();
    let service = FakeService::start(fake_service::zero_paper_routes());
    let out = env.capture(&service, "pack", "2026-11-24T10:00:00Z", &[]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", failing(&r));
    // Without a token, the paid scopes must refuse and did.
    assert!(has(&r, "capture-assertion", "skip"));
    let paid: Vec<&Value> = service
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/live/cockpit"))
        .map(|_| &Value::Null)
        .collect();
    assert_eq!(paid.len(), 1);
    assert!(service.seen().iter().all(|s| s.authorization.is_none()));
    let v = verify(&env, "pack");
    assert_eq!(v.status.code(), Some(0), "{:?}", failing(&report(&v)));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(env.path("pack/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "deployment");
    assert_eq!(
        manifest["subject"]["deployment_id"],
        fake_service::DEPLOYMENT_ID
    );
    assert_eq!(manifest["subject"]["commit"], fake_service::COMMIT);
    assert_eq!(manifest["subject"]["capture_result"], "pass");
    assert_eq!(manifest["subject"]["target"], service.url);
    let packet: Value = serde_json::from_slice(
        &std::fs::read(env.path("pack/payload/packets/live-preflight.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(packet["status"], 200);
    assert_eq!(packet["payload"]["live_mode"], "refused");
    let files = std::fs::read_dir(env.path("pack/payload/packets"))
        .unwrap()
        .count();
    assert_eq!(files, 14);
}

#[test]
fn the_token_goes_to_the_target_only_and_never_into_the_pack() {
    let env = Env::new();
    let elsewhere = FakeService::start(Default::default());
    elsewhere.set("/steal", Reply::json(serde_json::json!({"ok": true})));
    let service = FakeService::start(fake_service::zero_paper_routes());
    // The service echoes the bearer token back, and one paid scope redirects to another origin.
    service.set("/live/receipts", Reply::EchoAuthorization);
    service.set(
        "/intelligence/snapshot",
        Reply::Redirect(format!("{}/steal", elsewhere.url)),
    );
    let token_file = env.path("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let out = env.capture(
        &service,
        "pack",
        "2026-11-24T10:00:00Z",
        &["--token-file", token_file.to_str().unwrap()],
    );
    let r = report(&out);
    assert!(has(&r, "capture-redirect-left-origin", "warn"), "{r:#}");
    // The other origin never saw the token; the target did, on its paid scopes.
    assert_eq!(elsewhere.seen().len(), 1);
    assert_eq!(elsewhere.seen()[0].authorization, None);
    assert!(service.seen().iter().any(|s| s.path == "/live/cockpit"
        && s.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))));
    assert!(
        service
            .seen()
            .iter()
            .filter(|s| s.path == "/health")
            .all(|s| s.authorization.is_none()),
        "public endpoints get no token"
    );
    let sealed = all_text(&env.path("pack"));
    assert!(
        !sealed.contains(TOKEN),
        "the token was sealed into the pack"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    assert_eq!(verify(&env, "pack").status.code(), Some(0));
}

#[test]
fn odd_and_broken_answers_still_give_a_complete_verifiable_pack() {
    let env = Env::new();
    let service = FakeService::start(fake_service::zero_paper_routes());
    service.set(
        "/v2/status",
        Reply::raw(200, br#"{"api_key": ["k-1", "k-2"], "note": "say \"hi\"", "nested": {"password": {"a": 1}}}"#),
    );
    service.set("/health", Reply::raw(500, b"<html>oops</html>"));
    service.set("/immune", Reply::raw(200, b"\xff\xfe\x00garbage"));
    service.set("/metrics", Reply::Hang);
    service.set(
        "/live/preflight",
        Reply::json(serde_json::json!({"ready": true, "live_mode": "armed", "trace": "trace-77"})),
    );
    let out = env.capture(&service, "pack", "2026-11-24T10:00:00Z", &[]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    let fails = failing(&r);
    for expected in [
        "capture-assertion /health",
        "capture-assertion /live/preflight",
        "capture-endpoint-error /metrics",
    ] {
        assert!(
            fails.iter().any(|f| f == expected),
            "{expected} missing from {fails:?}"
        );
    }
    assert_eq!(
        verify(&env, "pack").status.code(),
        Some(0),
        "the pack is complete"
    );
    let status: Value = serde_json::from_slice(
        &std::fs::read(env.path("pack/payload/packets/v2-status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(status["body_format"], "json");
    assert_eq!(status["payload"]["note"], "say \"hi\"");
    // Secret-named members are redacted whatever their type, on the parsed value.
    let sealed = all_text(&env.path("pack"));
    assert!(
        !sealed.contains("k-1") && !sealed.contains("k-2"),
        "api_key items survived"
    );
    assert!(status["payload"]["api_key"].is_string(), "{status:#}");
    assert!(
        status["payload"]["nested"]["password"].is_string(),
        "{status:#}"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(env.path("pack/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["redaction"]["applied"], true);
    assert!(class_count(&manifest, "secret-key-name") >= 2);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(env.path("pack/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["subject"]["capture_result"], "fail");
}

#[test]
fn nothing_is_written_over_or_into_an_existing_folder() {
    let env = Env::new();
    let service = FakeService::start(fake_service::zero_paper_routes());
    std::fs::create_dir(env.path("pack")).unwrap();
    std::fs::write(env.path("pack/planted.sh"), "rm -rf /").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", env.path("pack/host")).unwrap();
    let out = env.capture(&service, "pack", "2026-11-24T10:00:00Z", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_dir(env.path("pack")).unwrap().count(), 2);
    // A dead target still yields a complete pack saying what failed.
    let dead = bin("evidence")
        .args(["deploy", "capture", "http://127.0.0.1:9", "--out"])
        .arg(env.path("dead"))
        .args(["--json", "--timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(dead.status.code(), Some(1));
    assert!(has(&report(&dead), "capture-endpoint-error", "fail"));
    assert_eq!(
        env.evidence(&["bundle", "verify", "dead", "--allow-unsigned"])
            .status
            .code(),
        Some(0)
    );
    let bad = bin("evidence")
        .args(["deploy", "capture", "ftp://x", "--out"])
        .arg(env.path("bad"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(!env.path("bad").exists());
}

#[test]
fn operator_files_and_arguments_are_read_strictly() {
    let env = Env::new();
    let service = FakeService::start(fake_service::zero_paper_routes());
    let capture = |args: &[&str]| {
        let mut all = vec!["deploy", "capture", service.url.as_str(), "--out", "pack"];
        all.extend_from_slice(args);
        env.evidence(&all)
    };
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    // A bare word is a built-in name, never a file in the current folder.
    std::fs::write(env.path("zero-papr"), b"{}").unwrap();
    let typo = capture(&["--profile", "zero-papr"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("no built-in profile is named \"zero-papr\""));
    assert!(stderr(&typo).contains("./zero-papr"), "{}", stderr(&typo));
    // A FIFO is refused at once, not waited on; an oversized token file is refused unread.
    let fifo = env.path("profile.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let blocked = capture(&["--profile", "./profile.json"]);
    assert_eq!(blocked.status.code(), Some(2));
    assert!(
        stderr(&blocked).contains("not a regular file"),
        "{}",
        stderr(&blocked)
    );
    std::fs::write(env.path("big.token"), vec![b'x'; (64 << 10) + 1]).unwrap();
    let big = capture(&["--token-file", "big.token"]);
    assert_eq!(big.status.code(), Some(2));
    assert!(stderr(&big).contains("larger than the limit of 65536 bytes"));
    // Capture always redacts: --redact is not one of its options.
    let redact = capture(&["--redact"]);
    assert_eq!(redact.status.code(), Some(2));
    assert!(!env.path("pack").exists());
    // An unsigned pack is written, with a warning on stderr; --quiet silences it.
    let unsigned = capture(&[]);
    assert_eq!(unsigned.status.code(), Some(0), "{}", stderr(&unsigned));
    assert!(stderr(&unsigned).contains("warning: the pack will not be signed"));
    let quiet = env.evidence(&[
        "deploy",
        "capture",
        service.url.as_str(),
        "--out",
        "quiet",
        "--quiet",
    ]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(quiet.stderr.is_empty());
}

fn id_of(env: &Env, bundle: &str) -> String {
    let bytes = std::fs::read(env.path(bundle).join("manifest.json")).unwrap();
    evidence_core::bundle::BundleId::of_manifest(&bytes).to_string()
}

#[test]
fn rollback_rehearsal_permit_and_refusals() {
    let env = Env::new();
    let service = FakeService::start(fake_service::zero_paper_routes());
    assert_eq!(
        env.capture(&service, "previous", "2026-11-20T10:00:00Z", &[])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        env.capture(&service, "current", "2026-11-24T10:00:00Z", &[])
            .status
            .code(),
        Some(0)
    );
    let rehearse = |out: &str, current: &str, previous: &str| {
        env.evidence(&[
            "rollback",
            "rehearse",
            "--current",
            current,
            "--previous",
            previous,
            "--trusted-key",
            "op.pub",
            "--sign",
            "op.key",
            "--out",
            out,
            "--json",
        ])
    };
    let ok = rehearse("rehearsal", "current", "previous");
    assert_eq!(ok.status.code(), Some(0), "{:?}", failing(&report(&ok)));
    assert_eq!(
        env.evidence(&["rollback", "verify", "rehearsal", "--trusted-key", "op.pub"])
            .status
            .code(),
        Some(0)
    );
    // No trusted key: a failed check naming the flags, not a pass.
    let untrusted = env.evidence(&["rollback", "verify", "rehearsal", "--json"]);
    assert_eq!(untrusted.status.code(), Some(1));
    assert_eq!(failing(&report(&untrusted)), ["trust-not-configured "]);
    let permit = env.evidence(&[
        "rollback",
        "permit",
        "--rehearsal",
        "rehearsal",
        "--expires-in",
        "1h",
        "--key",
        "op.key",
        "--out",
        "permit.tar.gz",
    ]);
    assert_eq!(permit.status.code(), Some(0), "{permit:?}");
    let (cur, prev) = (id_of(&env, "current"), id_of(&env, "previous"));
    let target = service.url.as_str();
    let check = |from: &str, to: &str, key: &str, now: Option<&str>| {
        let mut args = vec![
            "rollback",
            "check-permit",
            "permit.tar.gz",
            "--target",
            target,
            "--from",
            from,
            "--to",
            to,
            "--trusted-key",
            key,
            "--json",
        ];
        if let Some(n) = now {
            args.extend(["--now", n]);
        }
        env.evidence(&args)
    };
    assert_eq!(check(&cur, &prev, "op.pub", None).status.code(), Some(0));
    let wrong = check(&prev, &cur, "op.pub", None);
    assert!(has(&report(&wrong), "rollback-permit-scope", "fail"));
    let late = check(&cur, &prev, "op.pub", Some("2099-01-01T00:00:00Z"));
    assert!(has(&report(&late), "rollback-permit-expired", "fail"));
    // The right captures, but another service: out of scope. Without --target: a usage error.
    let elsewhere = env.evidence(&[
        "rollback",
        "check-permit",
        "permit.tar.gz",
        "--target",
        "https://other.example",
        "--from",
        &cur,
        "--to",
        &prev,
        "--trusted-key",
        "op.pub",
        "--json",
    ]);
    assert_eq!(elsewhere.status.code(), Some(1));
    assert!(has(&report(&elsewhere), "rollback-permit-scope", "fail"));
    let untargeted = env.evidence(&[
        "rollback",
        "check-permit",
        "permit.tar.gz",
        "--from",
        &cur,
        "--to",
        &prev,
        "--trusted-key",
        "op.pub",
    ]);
    assert_eq!(untargeted.status.code(), Some(2));
    let unkeyed = env.evidence(&[
        "rollback",
        "check-permit",
        "permit.tar.gz",
        "--target",
        target,
        "--from",
        &cur,
        "--to",
        &prev,
        "--json",
    ]);
    assert_eq!(unkeyed.status.code(), Some(1));
    let unkeyed = report(&unkeyed);
    assert_eq!(failing(&unkeyed), ["trust-not-configured "]);
    let detail = unkeyed["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("--trusted-key") && detail.contains("--keyring"));
    assert!(String::from_utf8_lossy(&untargeted.stderr).contains("--target"));
    let stranger = check(&cur, &prev, "stranger.pub", None);
    assert_eq!(stranger.status.code(), Some(1));
    assert!(has(&report(&stranger), "rollback-permit-invalid", "fail"));

    // From a pack to itself, and to a newer pack: recorded, signed, and refused.
    let same = rehearse("same", "current", "current");
    assert_eq!(same.status.code(), Some(1));
    assert!(has(&report(&same), "rollback-distinct-bundles", "fail"));
    let forward = rehearse("forward", "previous", "current");
    assert!(has(&report(&forward), "rollback-previous-older", "fail"));
    let verify_forward = env.evidence(&[
        "rollback",
        "verify",
        "forward",
        "--trusted-key",
        "op.pub",
        "--json",
    ]);
    assert_eq!(verify_forward.status.code(), Some(1));
    assert!(has(
        &report(&verify_forward),
        "rollback-rehearsal-failed",
        "fail"
    ));
    let refused = env.evidence(&[
        "rollback",
        "permit",
        "--rehearsal",
        "forward",
        "--expires-in",
        "1h",
        "--key",
        "op.key",
        "--out",
        "p2.tar.gz",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(!env.path("p2.tar.gz").exists());

    // A rollback target that was unhealthy when captured.
    service.set(
        "/live/preflight",
        Reply::json(serde_json::json!({"ready": true, "live_mode": "armed"})),
    );
    env.capture(&service, "sick", "2026-11-22T10:00:00Z", &[]);
    let sick = rehearse("to-sick", "current", "sick");
    let r = report(&sick);
    assert!(has(&r, "rollback-previous-capture-passed", "fail"));
    assert!(has(&r, "rollback-precondition", "fail"));
    // Trust comes from the caller: no key, no rehearsal.
    let untrusted = env.evidence(&[
        "rollback",
        "rehearse",
        "--current",
        "current",
        "--previous",
        "previous",
        "--sign",
        "op.key",
        "--out",
        "x",
    ]);
    assert_eq!(untrusted.status.code(), Some(2));
}

#[test]
fn incident_packs_preserve_ids_redact_secrets_and_render_a_postmortem() {
    let env = Env::new();
    let log = env.path("router.log");
    std::fs::write(
        &log,
        format!("07:20 upstream said Authorization: Bearer {TOKEN}\n"),
    )
    .unwrap();
    let out = env.evidence(&[
        "incident",
        "capture",
        "--id",
        "INC-2026-0042",
        "--severity",
        "P1",
        "--started-at",
        "2026-11-24T07:15:00Z",
        "--summary",
        "Order router rejected all paper orders",
        "--commit",
        "3f2c1e9",
        "--release-tag",
        "v1.4.2",
        "--deployment-id",
        "dep-42",
        "--trace-id",
        "trace-abc123",
        "--idempotency-key",
        "idem-7f3a",
        "--event",
        "2026-11-24T07:20:00Z=Alert fired",
        "--attach",
        "router.log",
        "--forbid-token",
        TOKEN,
        "--sign",
        "op.key",
        "--out",
        "inc",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let sealed = all_text(&env.path("inc"));
    assert!(!sealed.contains(TOKEN));
    assert!(sealed.contains("trace-abc123") && sealed.contains("idem-7f3a"));
    let pm = env.evidence(&["incident", "postmortem", "inc", "--trusted-key", "op.pub"]);
    assert_eq!(pm.status.code(), Some(0));
    let md = String::from_utf8(pm.stdout).unwrap();
    assert!(md.starts_with("# Post-mortem: INC-2026-0042 (P1)"), "{md}");
    assert!(md.contains("| 2026-11-24T07:20:00Z | Alert fired |"));
    assert!(md.contains("payload/attachments/router.log"));
    // No trusted key: nothing is rendered unless integrity only is asked for, and then the
    // post-mortem says so.
    let untrusted = env.evidence(&["incident", "postmortem", "inc"]);
    assert_eq!(untrusted.status.code(), Some(1));
    let text = String::from_utf8(untrusted.stdout).unwrap();
    assert!(text.starts_with("FAIL trust-not-configured: "), "{text}");
    assert!(!text.contains("# Post-mortem"), "{text}");
    let unsigned = env.evidence(&["incident", "postmortem", "inc", "--allow-unsigned"]);
    assert_eq!(unsigned.status.code(), Some(0));
    let md = String::from_utf8(unsigned.stdout).unwrap();
    assert!(md.contains("NOT verified against a trusted key"), "{md}");
    // Missing required fields are usage errors naming the field.
    let missing = env.evidence(&[
        "incident",
        "capture",
        "--id",
        "X",
        "--severity",
        "P9",
        "--started-at",
        "2026-11-24T07:15:00Z",
        "--summary",
        "s",
        "--commit",
        "3f2c1e9",
        "--release-tag",
        "v1",
        "--deployment-id",
        "d",
        "--sign",
        "op.key",
        "--out",
        "inc2",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--severity"));
    let absent = env.evidence(&[
        "incident", "capture", "--id", "X", "--sign", "op.key", "--out", "inc3",
    ]);
    assert_eq!(absent.status.code(), Some(2));
    assert!(!env.path("inc2").exists() && !env.path("inc3").exists());
}

/// The manifest's redaction count for one class (0 when the class is not listed).
fn class_count(manifest: &Value, class: &str) -> u64 {
    manifest["redaction"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["class"] == class)
        .map_or(0, |e| e["count"].as_u64().unwrap())
}
