use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::codes::*;
use super::*;
use crate::bundle::build::{self, BuildOptions, Input};
use crate::bundle::{BundleId, ToolInfo};
use crate::capture::{self, profile::Profile};
use crate::digest::Sha256Digest;
use crate::keys::{NamedKey, PrivateKey, TrustPolicy};
use crate::report::{Check, CheckCode, Report, Status};
use crate::timestamp::Timestamp;

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_seed(&[n; 32])
}

fn trust(k: &PrivateKey) -> TrustPolicy {
    TrustPolicy::new(
        vec![NamedKey {
            name: "operator".into(),
            key: k.public(),
        }],
        1,
    )
    .unwrap()
}

fn tool() -> ToolInfo {
    ToolInfo {
        name: "evidence".into(),
        version: "test".into(),
    }
}

const TARGET: &str = "https://api.example";

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// A capture bundle as `evidence deploy capture` writes it, without the network: the health
/// profile's packet for `/health`, the stored report, the profile.
struct Fake<'a> {
    created_at: &'a str,
    target: &'a str,
    health_status: u16,
    report_ok: bool,
    commit: &'a str,
    /// Stored instead of the health packet, when set.
    packet_raw: Option<&'a [u8]>,
    /// Stored instead of the capture report, when set.
    report_raw: Option<&'a [u8]>,
    /// Further files under `packets/`.
    extra_packets: Vec<(String, Vec<u8>)>,
}

impl Default for Fake<'_> {
    fn default() -> Self {
        Self {
            created_at: "2026-11-20T10:00:00Z",
            target: "https://api.example",
            health_status: 200,
            report_ok: true,
            commit: "1111111",
            packet_raw: None,
            report_raw: None,
            extra_packets: Vec::new(),
        }
    }
}

fn capture_bundle(dir: &Path, name: &str, fake: Fake<'_>, signer: &PrivateKey) -> PathBuf {
    let profile = Profile::built_in("health").unwrap();
    let packet = json!({
        "schema": capture::PACKET_SCHEMA, "endpoint": "health", "path": "/health",
        "url": format!("{}/health", fake.target), "auth": false, "status": fake.health_status,
        "headers": {}, "body_format": "json", "payload": {"status": "ok", "commit": fake.commit},
        "error": null, "redirects": []
    });
    let mut report = Report::new(json!({"kind": "deployment-capture"}));
    report.push(Check::new(
        crate::capture::codes::CAPTURE_ASSERTION,
        if fake.report_ok {
            Status::Pass
        } else {
            Status::Fail
        },
        "status in [200]",
    ));
    let mut opts = BuildOptions::new(capture::KIND);
    opts.created_at = Some(ts(fake.created_at));
    opts.sign = vec![signer];
    opts.subject = BTreeMap::from([
        ("target".to_owned(), fake.target.to_owned()),
        ("profile".to_owned(), "health".to_owned()),
        ("commit".to_owned(), fake.commit.to_owned()),
        (
            "capture_result".to_owned(),
            if fake.report_ok { "pass" } else { "fail" }.to_owned(),
        ),
    ]);
    let out = dir.join(name);
    let mut inputs = vec![
        Input::Bytes {
            at: "packets/health.json".into(),
            bytes: fake
                .packet_raw
                .map_or_else(|| serde_json::to_vec(&packet).unwrap(), <[u8]>::to_vec),
        },
        Input::Bytes {
            at: capture::REPORT_FILE.into(),
            bytes: fake
                .report_raw
                .map_or_else(|| report.to_json_pretty().into_bytes(), <[u8]>::to_vec),
        },
        Input::Bytes {
            at: capture::PROFILE_FILE.into(),
            bytes: serde_json::to_vec(&profile).unwrap(),
        },
    ];
    for (at, bytes) in fake.extra_packets {
        inputs.push(Input::Bytes {
            at: format!("packets/{at}"),
            bytes,
        });
    }
    if name.ends_with(".tar.gz") {
        build::create_archive(&out, &inputs, &opts).unwrap();
    } else {
        build::create(&out, &inputs, &opts).unwrap();
    }
    out
}

fn rehearse_pair(
    dir: &Path,
    current: &Path,
    previous: &Path,
    t: &TrustPolicy,
    signer: &PrivateKey,
    out: &str,
) -> Rehearsal {
    rehearse(
        &dir.join(out),
        &RehearseOptions {
            current,
            previous,
            trust: t,
            profile: None,
            sign: vec![signer],
            created_at: Some(ts("2026-11-24T12:00:00Z")),
            tool: tool(),
        },
    )
    .unwrap()
}

#[track_caller]
fn fails_with(report: &Report, code: CheckCode) {
    assert!(
        report.with_code(code).any(|c| c.status == Status::Fail),
        "expected failing {}:\n{}",
        code.code,
        report.to_text(true)
    );
}

#[test]
fn a_healthy_older_target_rehearses_verifies_and_gets_a_permit() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let previous = capture_bundle(tmp.path(), "prev", Fake::default(), &op);
    let current = capture_bundle(
        tmp.path(),
        "cur",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            commit: "2222222",
            ..Fake::default()
        },
        &op,
    );
    let r = rehearse_pair(tmp.path(), &current, &previous, &t, &op, "rehearsal");
    assert!(r.report.ok(), "{}", r.report.to_text(true));
    assert_eq!(r.built.manifest.subject["verdict"], "pass");
    assert_eq!(r.built.manifest.parents.len(), 2);
    for code in [
        ROLLBACK_SAME_TARGET,
        ROLLBACK_DISTINCT_BUNDLES,
        ROLLBACK_PREVIOUS_OLDER,
        ROLLBACK_PREVIOUS_CAPTURE_PASSED,
        ROLLBACK_PRECONDITION,
    ] {
        assert!(
            r.report.with_code(code).all(|c| c.status == Status::Pass),
            "{}",
            code.code
        );
        assert!(r.report.has(code), "{}", code.code);
    }

    let (report, verified) = verify_rehearsal(&tmp.path().join("rehearsal"), &t);
    assert!(report.ok(), "{}", report.to_text(true));
    let verified = verified.unwrap();
    assert!(verified.passed);

    let permit_path = tmp.path().join("permit.tar.gz");
    let now = ts("2026-11-24T12:30:00Z");
    let (_, permit) = issue_permit(
        &tmp.path().join("rehearsal"),
        &t,
        3600,
        now,
        &op,
        &permit_path,
        tool(),
    )
    .unwrap();
    assert_eq!(permit.expires_at, "2026-11-24T13:30:00Z");
    // A `.tar.gz` name gets an archive, not a folder.
    assert!(permit_path.is_file());
    let ok = check_permit(
        &permit_path,
        &verified.current,
        &verified.previous,
        "https://api.example/",
        &t,
        ts("2026-11-24T13:00:00Z"),
    );
    assert!(ok.ok(), "{}", ok.to_text(true));

    // Wrong ids, expiry passed, unknown signer: each refuses with its code.
    fails_with(
        &check_permit(
            &permit_path,
            &verified.previous,
            &verified.current,
            TARGET,
            &t,
            now,
        ),
        ROLLBACK_PERMIT_SCOPE,
    );
    // The right captures, but the automation is rolling back another service.
    fails_with(
        &check_permit(
            &permit_path,
            &verified.current,
            &verified.previous,
            "https://other.example",
            &t,
            now,
        ),
        ROLLBACK_PERMIT_SCOPE,
    );
    // Expired, or not yet issued (a clock problem): each says which.
    for (at, says) in [
        ("2026-11-24T13:30:00Z", "expired at"),
        ("2026-11-24T12:00:00Z", "check the clocks"),
    ] {
        let report = check_permit(
            &permit_path,
            &verified.current,
            &verified.previous,
            TARGET,
            &t,
            ts(at),
        );
        fails_with(&report, ROLLBACK_PERMIT_EXPIRED);
        let check = report.with_code(ROLLBACK_PERMIT_EXPIRED).next().unwrap();
        assert!(check.detail.contains(says), "{at}: {check:?}");
    }
    let stranger = trust(&key(9));
    fails_with(
        &check_permit(
            &permit_path,
            &verified.current,
            &verified.previous,
            TARGET,
            &stranger,
            now,
        ),
        ROLLBACK_PERMIT_INVALID,
    );
    // A rehearsal is not a permit.
    fails_with(
        &check_permit(
            &tmp.path().join("rehearsal"),
            &verified.current,
            &verified.previous,
            TARGET,
            &t,
            now,
        ),
        ROLLBACK_PERMIT_INVALID,
    );
    assert!(matches!(
        issue_permit(
            &tmp.path().join("rehearsal"),
            &t,
            0,
            now,
            &op,
            &tmp.path().join("p2"),
            tool()
        ),
        Err(PermitError::Lifetime)
    ));
}

#[test]
fn bad_rollbacks_are_recorded_and_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let old = capture_bundle(tmp.path(), "old", Fake::default(), &op);
    let new = capture_bundle(
        tmp.path(),
        "new",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            ..Fake::default()
        },
        &op,
    );
    // From a pack to itself.
    let r = rehearse_pair(tmp.path(), &new, &new, &t, &op, "self");
    fails_with(&r.report, ROLLBACK_DISTINCT_BUNDLES);
    fails_with(&r.report, ROLLBACK_PREVIOUS_OLDER);
    assert_eq!(r.built.manifest.subject["verdict"], "fail");
    // To a newer pack: that is a roll forward.
    let r = rehearse_pair(tmp.path(), &old, &new, &t, &op, "forward");
    fails_with(&r.report, ROLLBACK_PREVIOUS_OLDER);
    let check = r.report.with_code(ROLLBACK_PREVIOUS_OLDER).next().unwrap();
    assert!(check.detail.contains("would roll forward"), "{check:?}");
    // The failed rehearsal is sealed, verifies as authentic, and fails verification.
    let (report, verified) = verify_rehearsal(&tmp.path().join("forward"), &t);
    fails_with(&report, ROLLBACK_REHEARSAL_FAILED);
    assert!(!verified.unwrap().passed);
    assert!(matches!(
        issue_permit(
            &tmp.path().join("forward"),
            &t,
            3600,
            ts("2026-11-24T12:30:00Z"),
            &op,
            &tmp.path().join("p"),
            tool()
        ),
        Err(PermitError::Refused(_))
    ));

    // Another service.
    let elsewhere = capture_bundle(
        tmp.path(),
        "elsewhere",
        Fake {
            target: "https://other.example",
            ..Fake::default()
        },
        &op,
    );
    fails_with(
        &rehearse_pair(tmp.path(), &new, &elsewhere, &t, &op, "r1").report,
        ROLLBACK_SAME_TARGET,
    );
    // An unhealthy target: its capture failed, and the precondition fails on its packet.
    let sick = capture_bundle(
        tmp.path(),
        "sick",
        Fake {
            health_status: 503,
            report_ok: false,
            ..Fake::default()
        },
        &op,
    );
    let r = rehearse_pair(tmp.path(), &new, &sick, &t, &op, "r2");
    fails_with(&r.report, ROLLBACK_PREVIOUS_CAPTURE_PASSED);
    fails_with(&r.report, ROLLBACK_PRECONDITION);
    // A capture signed by a stranger.
    let forged = capture_bundle(tmp.path(), "forged", Fake::default(), &key(9));
    fails_with(
        &rehearse_pair(tmp.path(), &new, &forged, &t, &op, "r3").report,
        ROLLBACK_CAPTURE_UNVERIFIED,
    );
}

#[test]
fn edited_rehearsals_do_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let previous = capture_bundle(tmp.path(), "prev", Fake::default(), &op);
    let current = capture_bundle(
        tmp.path(),
        "cur",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            ..Fake::default()
        },
        &op,
    );
    rehearse_pair(tmp.path(), &current, &previous, &t, &op, "r");
    let dir = tmp.path().join("r");
    // The plan edited: the payload digest no longer matches.
    let plan = dir.join("payload").join(PLAN_FILE);
    let mut bytes = std::fs::read(&plan).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&plan, bytes).unwrap();
    let (report, verified) = verify_rehearsal(&dir, &t);
    fails_with(&report, crate::bundle::codes::BUNDLE_FILE_MISMATCH);
    fails_with(&report, ROLLBACK_REHEARSAL_INVALID);
    assert!(verified.is_none());
}

/// A passed rehearsal of two healthy captures at `<tmp>/rehearsal`; returns it verified.
fn passed_rehearsal(tmp: &Path, op: &PrivateKey, t: &TrustPolicy) -> VerifiedRehearsal {
    let previous = capture_bundle(tmp, "prev", Fake::default(), op);
    let current = capture_bundle(
        tmp,
        "cur",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            commit: "2222222",
            ..Fake::default()
        },
        op,
    );
    let r = rehearse_pair(tmp, &current, &previous, t, op, "rehearsal");
    assert!(r.report.ok(), "{}", r.report.to_text(true));
    verify_rehearsal(&tmp.join("rehearsal"), t).1.unwrap()
}

/// A permit bundle written by hand (as another tool, or an attacker holding a trusted key,
/// could): `edit` changes the permit and the build options before sealing.
fn hand_permit(
    tmp: &Path,
    name: &str,
    op: &PrivateKey,
    r: &VerifiedRehearsal,
    edit: impl FnOnce(&mut Permit, &mut BuildOptions<'_>),
) -> PathBuf {
    let mut permit = Permit {
        schema: PERMIT_SCHEMA.to_owned(),
        from: r.current.clone(),
        to: r.previous.clone(),
        target: r.target.clone(),
        rehearsal: r.id.to_string(),
        issued_at: "2026-11-24T12:30:00Z".to_owned(),
        expires_at: "2026-11-24T13:30:00Z".to_owned(),
        signers: vec![op.public().key_id().to_string()],
    };
    let mut opts = BuildOptions::new(PERMIT_KIND);
    opts.created_at = Some(ts("2026-11-24T12:30:00Z"));
    opts.parents = vec![r.id];
    opts.sign = vec![op];
    opts.tool = tool();
    edit(&mut permit, &mut opts);
    if opts.subject.is_empty() {
        opts.subject = BTreeMap::from([
            ("from".to_owned(), permit.from.clone()),
            ("to".to_owned(), permit.to.clone()),
            ("target".to_owned(), permit.target.clone()),
            ("rehearsal".to_owned(), permit.rehearsal.clone()),
            ("expires_at".to_owned(), permit.expires_at.clone()),
        ]);
    }
    let out = tmp.join(name);
    build::create(
        &out,
        &[Input::Bytes {
            at: PERMIT_FILE.to_owned(),
            bytes: crate::canonical::to_canonical(&permit).unwrap(),
        }],
        &opts,
    )
    .unwrap();
    out
}

#[test]
fn permits_are_held_to_their_rules_when_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let r = passed_rehearsal(tmp.path(), &op, &t);
    let now = ts("2026-11-24T13:00:00Z");
    let check = |path: &Path| check_permit(path, &r.current, &r.previous, TARGET, &t, now);

    // Made by hand within the rules, it passes: the checks below fail for their reason only.
    let fine = hand_permit(tmp.path(), "fine", &op, &r, |_, _| {});
    let ok = check(&fine);
    assert!(ok.ok(), "{}", ok.to_text(true));
    assert!(
        ok.with_code(ROLLBACK_PERMIT_LIFETIME)
            .all(|c| c.status == Status::Pass)
    );

    // Longer than 7 days, though signed by a trusted key.
    let long = hand_permit(tmp.path(), "long", &op, &r, |p, _| {
        p.issued_at = "2026-11-01T00:00:00Z".to_owned();
        p.expires_at = "2026-12-01T00:00:00Z".to_owned();
    });
    let report = check(&long);
    fails_with(&report, ROLLBACK_PERMIT_LIFETIME);
    assert!(
        !report
            .with_code(ROLLBACK_PERMIT_EXPIRED)
            .any(|c| c.status == Status::Fail)
    );
    // Expiring before it was issued.
    let backwards = hand_permit(tmp.path(), "backwards", &op, &r, |p, _| {
        p.issued_at = "2026-11-24T14:00:00Z".to_owned();
    });
    fails_with(&check(&backwards), ROLLBACK_PERMIT_LIFETIME);

    // An issue time that cannot be read is named as such, not taken for an expiry.
    let unreadable = hand_permit(tmp.path(), "unreadable", &op, &r, |p, _| {
        p.issued_at = "yesterday".to_owned();
    });
    let report = check(&unreadable);
    fails_with(&report, ROLLBACK_PERMIT_INVALID);
    let c = report
        .with_code(ROLLBACK_PERMIT_INVALID)
        .find(|c| c.status == Status::Fail)
        .unwrap();
    assert!(
        c.detail.contains("issued_at") && c.detail.contains("yesterday"),
        "{c:?}"
    );
    assert_eq!(c.data.get("field"), Some(&json!("issued_at")));
    assert!(!report.has(ROLLBACK_PERMIT_EXPIRED));

    // Two parents: the rehearsal and something else.
    let other = BundleId::of_manifest(b"another bundle");
    let two = hand_permit(tmp.path(), "two-parents", &op, &r, |_, o| {
        o.parents = vec![r.id, other];
    });
    fails_with(&check(&two), ROLLBACK_PERMIT_INVALID);
    // permit.json's target disagrees with the signed subject's.
    let split = hand_permit(tmp.path(), "split-target", &op, &r, |p, o| {
        o.subject = BTreeMap::from([
            ("from".to_owned(), p.from.clone()),
            ("to".to_owned(), p.to.clone()),
            ("target".to_owned(), "https://other.example".to_owned()),
            ("rehearsal".to_owned(), p.rehearsal.clone()),
            ("expires_at".to_owned(), p.expires_at.clone()),
        ]);
    });
    fails_with(&check(&split), ROLLBACK_PERMIT_INVALID);
    // A permit for another service is out of scope for this one.
    let elsewhere = hand_permit(tmp.path(), "elsewhere", &op, &r, |p, _| {
        p.target = "https://other.example".to_owned();
    });
    fails_with(&check(&elsewhere), ROLLBACK_PERMIT_SCOPE);
}

#[test]
fn permits_longer_than_seven_days_are_not_issued() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    passed_rehearsal(tmp.path(), &op, &t);
    let now = ts("2026-11-24T12:30:00Z");
    let issue = |seconds: i64, out: &str| {
        issue_permit(
            &tmp.path().join("rehearsal"),
            &t,
            seconds,
            now,
            &op,
            &tmp.path().join(out),
            tool(),
        )
    };
    assert!(matches!(
        issue(MAX_PERMIT_SECONDS + 1, "p1"),
        Err(PermitError::Lifetime)
    ));
    assert!(matches!(issue(-5, "p2"), Err(PermitError::Lifetime)));
    assert!(!tmp.path().join("p1").exists() && !tmp.path().join("p2").exists());
    let (_, permit) = issue(MAX_PERMIT_SECONDS, "p3").unwrap();
    assert_eq!(permit.expires_at, "2026-12-01T12:30:00Z");
}

#[test]
fn json_read_from_evidence_is_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let current = capture_bundle(
        tmp.path(),
        "cur",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            ..Fake::default()
        },
        &op,
    );
    // A stored report with a duplicate member: two readers could disagree on its verdict.
    let mut report = Report::new(json!({"kind": "deployment-capture"}));
    report.push(Check::pass(
        crate::capture::codes::CAPTURE_ASSERTION,
        "status in [200]",
    ));
    let text = report.to_json_pretty();
    let dup_report = text.replacen("\"ok\": true", "\"ok\": false, \"ok\": true", 1);
    assert_ne!(dup_report, text);
    let prev = capture_bundle(
        tmp.path(),
        "dup-report",
        Fake {
            report_raw: Some(dup_report.as_bytes()),
            ..Fake::default()
        },
        &op,
    );
    let r = rehearse_pair(tmp.path(), &current, &prev, &t, &op, "r1");
    fails_with(&r.report, ROLLBACK_CAPTURE_KIND);
    // A stored report that failed under a signed verdict of "pass".
    let mut failed = Report::new(json!({"kind": "deployment-capture"}));
    failed.push(Check::fail(
        crate::capture::codes::CAPTURE_ASSERTION,
        "status in [200]",
    ));
    let failed = failed.to_json_pretty();
    let prev = capture_bundle(
        tmp.path(),
        "verdict-disagrees",
        Fake {
            report_raw: Some(failed.as_bytes()),
            ..Fake::default()
        },
        &op,
    );
    let r = rehearse_pair(tmp.path(), &current, &prev, &t, &op, "r1b");
    let check = r.report.with_code(ROLLBACK_CAPTURE_KIND).next().unwrap();
    assert_eq!(check.status, Status::Fail);
    assert!(
        check.detail.contains("disagrees with its signed verdict"),
        "{check:?}"
    );
    // A stored packet with a duplicate member.
    let dup_packet = br#"{"schema":"evidence.capture-packet/v1","endpoint":"health","path":"/health","url":"https://api.example/health","auth":false,"status":503,"status":200,"headers":{},"body_format":"json","payload":{"status":"ok"},"error":null,"redirects":[]}"#;
    let prev = capture_bundle(
        tmp.path(),
        "dup-packet",
        Fake {
            packet_raw: Some(dup_packet),
            ..Fake::default()
        },
        &op,
    );
    let r = rehearse_pair(tmp.path(), &current, &prev, &t, &op, "r2");
    fails_with(&r.report, ROLLBACK_PRECONDITION);
    assert!(
        r.report
            .with_code(ROLLBACK_PRECONDITION)
            .any(|c| c.detail.contains("not strict JSON")),
        "{}",
        r.report.to_text(true)
    );

    // A rehearsal whose stored report has a duplicate member does not verify.
    let mut stored = Report::new(json!({"kind": "rollback-rehearsal"}));
    stored.push(Check::pass(ROLLBACK_SAME_TARGET, "same"));
    let text = stored.to_json_pretty();
    let dup = text.replacen("\"ok\": true", "\"ok\": false, \"ok\": true", 1);
    let plan = br#"{"schema":"evidence.rollback-plan/v1"}"#.to_vec();
    let mut opts = BuildOptions::new(REHEARSAL_KIND);
    opts.created_at = Some(ts("2026-11-24T12:00:00Z"));
    opts.sign = vec![&op];
    opts.subject = BTreeMap::from([
        ("verdict".to_owned(), "pass".to_owned()),
        ("target".to_owned(), TARGET.to_owned()),
        (
            "plan_sha256".to_owned(),
            Sha256Digest::of(&plan).to_string(),
        ),
    ]);
    let out = tmp.path().join("dup-rehearsal");
    build::create(
        &out,
        &[
            Input::Bytes {
                at: REHEARSAL_REPORT_FILE.to_owned(),
                bytes: dup.into_bytes(),
            },
            Input::Bytes {
                at: PLAN_FILE.to_owned(),
                bytes: plan,
            },
        ],
        &opts,
    )
    .unwrap();
    let (report, verified) = verify_rehearsal(&out, &t);
    fails_with(&report, ROLLBACK_REHEARSAL_INVALID);
    assert!(verified.is_none());
}

#[test]
fn captures_in_archives_rehearse_like_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let previous = capture_bundle(tmp.path(), "prev.tar.gz", Fake::default(), &op);
    let current = capture_bundle(
        tmp.path(),
        "cur.tar.gz",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            ..Fake::default()
        },
        &op,
    );
    let r = rehearse_pair(tmp.path(), &current, &previous, &t, &op, "r");
    assert!(r.report.ok(), "{}", r.report.to_text(true));
    assert!(
        r.report
            .with_code(ROLLBACK_PRECONDITION)
            .all(|c| c.status == Status::Pass)
    );
    assert!(r.report.has(ROLLBACK_PRECONDITION));
}

/// Bytes that do not compress (an archive of them is no gzip bomb).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

#[test]
fn captures_over_the_read_budget_are_refused_in_both_forms() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    let t = trust(&op);
    let current = capture_bundle(
        tmp.path(),
        "cur",
        Fake {
            created_at: "2026-11-24T10:00:00Z",
            ..Fake::default()
        },
        &op,
    );
    // Three packets of 12 MiB: each under the per-file limit, together over the budget.
    let size = 12 << 20;
    assert!(3 * size as u64 > MAX_CAPTURE_READ_BYTES && (size as u64) < MAX_CAPTURE_READ_BYTES);
    let extra: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| (format!("big-{i}.json"), noise(size, i + 1)))
        .collect();
    let mut failed = Vec::new();
    for name in ["big", "big.tar.gz"] {
        let prev = capture_bundle(
            tmp.path(),
            name,
            Fake {
                extra_packets: extra.clone(),
                ..Fake::default()
            },
            &op,
        );
        let r = rehearse_pair(tmp.path(), &current, &prev, &t, &op, &format!("r-{name}"));
        fails_with(&r.report, ROLLBACK_CAPTURE_UNVERIFIED);
        let c = r
            .report
            .with_code(ROLLBACK_CAPTURE_UNVERIFIED)
            .next()
            .unwrap();
        assert_eq!(
            c.data.get("failed"),
            Some(&json!(["bundle-archive-limit"])),
            "{name}: {c:?}"
        );
        failed.push(c.detail.to_string());
    }
    assert_eq!(
        failed[0], failed[1],
        "the same refusal for a folder and an archive"
    );
}

#[test]
fn a_rehearsal_is_only_accepted_from_a_trusted_signer() {
    let tmp = tempfile::tempdir().unwrap();
    let op = key(1);
    passed_rehearsal(tmp.path(), &op, &trust(&op));
    let (report, verified) = verify_rehearsal(&tmp.path().join("rehearsal"), &trust(&key(9)));
    fails_with(&report, crate::bundle::codes::BUNDLE_SIGNER_UNTRUSTED);
    fails_with(&report, ROLLBACK_REHEARSAL_INVALID);
    assert!(verified.is_none());
}
