use super::*;
use crate::bundle::build::{self, BuildOptions, Input};
use crate::keys::{NamedKey, PrivateKey};
use crate::pyjson;
use crate::report::{CheckCode, Status};
use serde_json::json;

const T0: &str = "2026-11-22T09:00:00Z";
const T1: &str = "2026-11-22T09:05:00Z";

fn operator() -> PrivateKey {
    PrivateKey::from_seed(&[7; 32])
}

fn stranger() -> PrivateKey {
    PrivateKey::from_seed(&[9; 32])
}

fn trust(key: &PrivateKey) -> TrustPolicy {
    TrustPolicy::new(
        vec![NamedKey {
            name: "operator".into(),
            key: key.public(),
        }],
        1,
    )
    .unwrap()
}

/// Inserts the engine's self-hash into `v` and returns its bytes.
fn sealed(mut v: Value, member: &str) -> Vec<u8> {
    let mut hashed = v.as_object().unwrap().clone();
    hashed.remove(member);
    hashed.remove("signature");
    v[member] = pyjson::python_hash(&Value::Object(hashed))
        .to_string()
        .into();
    serde_json::to_vec_pretty(&v).unwrap()
}

fn claim_value() -> Value {
    json!({
        "schema_version": CLAIM_SCHEMA,
        "deployment": {"deployment_id": "dep-2026-11-22-a", "service": "engine", "region": "eu-west-1"},
        "claimed_at": T0,
        "operator": "ops@example.invalid",
        "privacy": {"contains_exchange_credentials": false, "contains_wallet_material": false},
        "signature": "base64-carried-not-used",
        "note": "caf\u{e9} \u{1F680}",
        "weights": [0.1, 1e-05, 1e16, -0.0, 18446744073709551615u64],
    })
}

fn claim_hash_of(claim: &[u8]) -> String {
    let v: Value = serde_json::from_slice(claim).unwrap();
    v["claim_hash"].as_str().unwrap().to_owned()
}

fn heartbeat_value(claim: &[u8]) -> Value {
    json!({
        "schema_version": HEARTBEAT_SCHEMA,
        "deployment": {"deployment_id": "dep-2026-11-22-a"},
        "deployment_claim_hash": claim_hash_of(claim),
        "observed_at": T1,
        "mode": "paper",
        "privacy": {"contains_exchange_credentials": false, "contains_wallet_material": false},
        "positions": 0,
    })
}

fn good_pair() -> (Vec<u8>, Vec<u8>) {
    let claim = sealed(claim_value(), "claim_hash");
    let heartbeat = sealed(heartbeat_value(&claim), "heartbeat_hash");
    (claim, heartbeat)
}

fn check(claim: &[u8], heartbeat: &[u8]) -> PacketCheck {
    check_packets(claim, heartbeat, &PacketOptions::default())
}

fn statuses(report: &Report, code: CheckCode) -> Vec<Status> {
    report.with_code(code).map(|c| c.status).collect()
}

fn fails(report: &Report, code: CheckCode) -> bool {
    report.with_code(code).any(|c| c.status == Status::Fail)
}

#[test]
fn a_good_pair_passes_and_yields_every_fact() {
    let (claim, heartbeat) = good_pair();
    let checked = check(&claim, &heartbeat);
    let r = &checked.report;
    assert!(r.ok(), "{}", r.to_text(true));
    assert_eq!(r.summary().fail, 0);
    assert_eq!(r.summary().warn, 0, "{}", r.to_text(true));
    for code in [
        codes::IDENTITY_SCHEMA,
        codes::IDENTITY_CLAIM_HASH,
        codes::IDENTITY_HEARTBEAT_HASH,
        codes::IDENTITY_CLAIM_BINDING,
        codes::IDENTITY_DEPLOYMENT_ID,
        codes::IDENTITY_HEARTBEAT_ORDER,
        codes::IDENTITY_PRIVACY_FLAGS,
        codes::IDENTITY_SECRET_SCAN,
        codes::IDENTITY_MODE,
    ] {
        assert!(
            r.with_code(code).all(|c| c.status == Status::Pass) && r.has(code),
            "{}",
            code.code
        );
    }
    assert_eq!(
        statuses(r, codes::IDENTITY_PACKET_SIGNATURE_IGNORED),
        vec![Status::Skip]
    );
    assert_eq!(
        statuses(r, codes::IDENTITY_TIME_CLAIM),
        vec![Status::Skip, Status::Skip]
    );
    assert!(
        !r.has(codes::IDENTITY_HEARTBEAT_FRESH),
        "not reported without a policy"
    );
    assert!(
        r.checks
            .iter()
            .all(|c| c.section.as_deref() == Some("identity"))
    );
    let f = &checked.facts;
    assert_eq!(f.deployment_id.as_deref(), Some("dep-2026-11-22-a"));
    assert_eq!(f.claim_hash.unwrap().to_string(), claim_hash_of(&claim));
    assert_eq!(f.claim_time.unwrap().to_string(), T0);
    assert_eq!(f.heartbeat_time.unwrap().to_string(), T1);
    assert_eq!(f.mode.as_deref(), Some("paper"));
    assert_eq!(r.subject, f.to_json());
    assert_eq!(r.subject["kind"], "identity");
    assert_eq!(r.subject["deployment_id"], "dep-2026-11-22-a");
    assert_eq!(r.subject["mode"], "paper");
    let subject = manifest_subject(f, true);
    assert_eq!(subject.len(), 7);
    assert_eq!(subject[SUBJECT_OK_KEY], "true");
}

#[test]
fn the_self_hash_covers_everything_but_the_hash_and_the_signature() {
    // Changing the carried signature does not change the hash; any other member does.
    let mut v = claim_value();
    let claim = sealed(v.clone(), "claim_hash");
    v["signature"] = "something else".into();
    assert_eq!(
        claim_hash_of(&sealed(v.clone(), "claim_hash")),
        claim_hash_of(&claim)
    );
    v["operator"] = "mallory@example.invalid".into();
    assert_ne!(
        claim_hash_of(&sealed(v, "claim_hash")),
        claim_hash_of(&claim)
    );
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn an_edited_packet_fails_its_hash() {
    let (claim, heartbeat) = good_pair();
    let forged = edit(&claim, |v| v["operator"] = "mallory".into());
    let r = check(&forged, &heartbeat).report;
    assert!(fails(&r, codes::IDENTITY_CLAIM_HASH));
    assert!(
        !fails(&r, codes::IDENTITY_CLAIM_BINDING),
        "the stated hash still binds"
    );
    let forged = edit(&heartbeat, |v| v["positions"] = 5.into());
    let r = check(&claim, &forged).report;
    assert!(fails(&r, codes::IDENTITY_HEARTBEAT_HASH));
    // Missing and malformed hash members.
    let r = check(
        &edit(&claim, |v| v["claim_hash"] = "sha256:12".into()),
        &heartbeat,
    )
    .report;
    assert!(fails(&r, codes::IDENTITY_CLAIM_HASH));
    assert!(fails(&r, codes::IDENTITY_CLAIM_BINDING));
    let r = check(
        &claim,
        &edit(&heartbeat, |v| {
            v.as_object_mut().unwrap().remove("heartbeat_hash");
        }),
    )
    .report;
    assert!(fails(&r, codes::IDENTITY_HEARTBEAT_HASH));
    // Upper-case hex is the same digest (DESIGN 3: parsers accept it).
    let upper = edit(&claim, |v| {
        let h = v["claim_hash"]
            .as_str()
            .unwrap()
            .to_uppercase()
            .replace("SHA256:", "sha256:");
        v["claim_hash"] = h.into();
    });
    let hb = sealed(
        {
            let mut v = heartbeat_value(&claim);
            v["deployment_claim_hash"] = claim_hash_of(&upper).into();
            v
        },
        "heartbeat_hash",
    );
    assert!(check(&upper, &hb).report.ok());
}

#[test]
fn a_heartbeat_for_another_claim_fails_the_binding() {
    let (claim, _) = good_pair();
    let other = sealed(
        {
            let mut v = claim_value();
            v["claimed_at"] = "2026-11-21T09:00:00Z".into();
            v
        },
        "claim_hash",
    );
    let heartbeat = sealed(heartbeat_value(&other), "heartbeat_hash");
    let r = check(&claim, &heartbeat).report;
    assert!(
        fails(&r, codes::IDENTITY_CLAIM_BINDING),
        "{}",
        r.to_text(true)
    );
    assert!(!fails(&r, codes::IDENTITY_HEARTBEAT_HASH));
    let r = check(
        &claim,
        &sealed(
            {
                let mut v = heartbeat_value(&claim);
                v.as_object_mut().unwrap().remove("deployment_claim_hash");
                v
            },
            "heartbeat_hash",
        ),
    )
    .report;
    assert!(fails(&r, codes::IDENTITY_CLAIM_BINDING));
}

fn heartbeat_with(claim: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = heartbeat_value(claim);
    f(&mut v);
    sealed(v, "heartbeat_hash")
}

#[test]
fn deployment_ids_must_be_present_and_equal() {
    let (claim, _) = good_pair();
    let r = check(
        &claim,
        &heartbeat_with(&claim, |v| {
            v["deployment"]["deployment_id"] = "dep-other".into()
        }),
    );
    assert!(fails(&r.report, codes::IDENTITY_DEPLOYMENT_ID));
    assert_eq!(r.facts.deployment_id.as_deref(), Some("dep-2026-11-22-a"));
    for bad in [
        json!(""),
        json!("  "),
        json!(7),
        json!("a\nb"),
        json!("x".repeat(300)),
    ] {
        let hb = heartbeat_with(&claim, |v| v["deployment"]["deployment_id"] = bad.clone());
        assert!(
            fails(&check(&claim, &hb).report, codes::IDENTITY_DEPLOYMENT_ID),
            "{bad}"
        );
    }
    let hb = heartbeat_with(&claim, |v| {
        v.as_object_mut().unwrap().remove("deployment");
    });
    assert!(fails(
        &check(&claim, &hb).report,
        codes::IDENTITY_DEPLOYMENT_ID
    ));
}

#[test]
fn times_are_claims_checked_for_order_and_presence() {
    let (claim, _) = good_pair();
    let older = heartbeat_with(&claim, |v| v["observed_at"] = "2026-11-22T08:59:59Z".into());
    assert!(fails(
        &check(&claim, &older).report,
        codes::IDENTITY_HEARTBEAT_ORDER
    ));
    let same = heartbeat_with(&claim, |v| {
        v["observed_at"] = "2026-11-22T10:00:00+01:00".into()
    });
    assert!(check(&claim, &same).report.ok(), "offsets convert to UTC");
    // No time member at all: fail closed.
    let none = heartbeat_with(&claim, |v| {
        v.as_object_mut().unwrap().remove("observed_at");
    });
    let r = check(&claim, &none);
    assert!(fails(&r.report, codes::IDENTITY_TIME_INVALID));
    assert!(!r.report.has(codes::IDENTITY_HEARTBEAT_ORDER));
    assert_eq!(r.facts.heartbeat_time, None);
    // Other recognised members, in order of preference; a bad first member is not skipped.
    let ts = heartbeat_with(&claim, |v| {
        v.as_object_mut().unwrap().remove("observed_at");
        v["timestamp"] = T1.into();
    });
    assert!(check(&claim, &ts).report.ok());
    for bad in [
        json!("2026-11-22 09:05:00"),
        json!("2026-11-22T09:05:00"),
        json!(1_700_000_000),
    ] {
        let hb = heartbeat_with(&claim, |v| {
            v["observed_at"] = bad.clone();
            v["timestamp"] = T1.into();
        });
        assert!(
            fails(&check(&claim, &hb).report, codes::IDENTITY_TIME_INVALID),
            "{bad}"
        );
    }
}

#[test]
fn freshness_is_judged_against_the_given_now() {
    let (claim, heartbeat) = good_pair();
    let at = |now: &str, max: i64| PacketOptions {
        freshness: Some(Freshness {
            max_age_seconds: max,
            now: Timestamp::parse(now).unwrap(),
        }),
        ..PacketOptions::default()
    };
    let fresh = check_packets(&claim, &heartbeat, &at("2026-11-22T09:35:00Z", 3600)).report;
    assert_eq!(
        statuses(&fresh, codes::IDENTITY_HEARTBEAT_FRESH),
        vec![Status::Pass]
    );
    assert!(fresh.ok());
    let stale = check_packets(&claim, &heartbeat, &at("2026-11-22T10:05:01Z", 3600)).report;
    assert!(fails(&stale, codes::IDENTITY_HEARTBEAT_FRESH));
    let edge = check_packets(&claim, &heartbeat, &at("2026-11-22T10:05:00Z", 3600)).report;
    assert!(edge.ok(), "exactly max-age old is fresh");
    let future = check_packets(&claim, &heartbeat, &at("2026-11-22T08:59:00Z", 3600)).report;
    assert!(
        fails(&future, codes::IDENTITY_HEARTBEAT_FRESH),
        "from the future"
    );
    let skew = check_packets(&claim, &heartbeat, &at("2026-11-22T09:01:00Z", 3600)).report;
    assert!(skew.ok(), "within the allowed clock skew");
    let f = Freshness {
        max_age_seconds: 60,
        now: Timestamp::parse(T1).unwrap(),
    };
    assert_eq!(freshness_check(None, Some(&f)).status, Status::Fail);
    assert_eq!(freshness_check(None, None).status, Status::Skip);
}

#[test]
fn schema_strings_are_checked_under_either_member() {
    let (claim, heartbeat) = good_pair();
    // Swapped packets fail their schema checks.
    let r = check(&heartbeat, &claim).report;
    assert_eq!(
        statuses(&r, codes::IDENTITY_SCHEMA),
        vec![Status::Fail, Status::Fail]
    );
    let renamed = sealed(
        {
            let mut v = claim_value();
            v.as_object_mut().unwrap().remove("schema_version");
            v["schema"] = CLAIM_SCHEMA.into();
            v
        },
        "claim_hash",
    );
    let hb = sealed(heartbeat_value(&renamed), "heartbeat_hash");
    assert!(check(&renamed, &hb).report.ok());
    for (member, value) in [
        ("schema", json!("zero.deployment.claim.v2")),
        ("schema", json!(1)),
    ] {
        let c = sealed(
            {
                let mut v = claim_value();
                v[member] = value.clone();
                v
            },
            "claim_hash",
        );
        let hb = sealed(heartbeat_value(&c), "heartbeat_hash");
        assert!(
            fails(&check(&c, &hb).report, codes::IDENTITY_SCHEMA),
            "{value}"
        );
    }
    let none = sealed(
        {
            let mut v = claim_value();
            v.as_object_mut().unwrap().remove("schema_version");
            v
        },
        "claim_hash",
    );
    let hb = sealed(heartbeat_value(&none), "heartbeat_hash");
    assert!(fails(&check(&none, &hb).report, codes::IDENTITY_SCHEMA));
}

#[test]
fn privacy_flags_must_all_be_false() {
    let (claim, _) = good_pair();
    let set = heartbeat_with(&claim, |v| {
        v["privacy"]["contains_wallet_material"] = true.into();
    });
    let r = check(&claim, &set).report;
    let failing: Vec<_> = r
        .with_code(codes::IDENTITY_PRIVACY_FLAGS)
        .filter(|c| c.status == Status::Fail)
        .collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].data["flag"], "/privacy/contains_wallet_material");
    for (where_, value) in [
        (
            "nested",
            json!({"privacy": {"exchange": {"contains_api_keys": true}}}),
        ),
        ("top", json!({"contains_exchange_credentials": true})),
        (
            "string",
            json!({"privacy": {"contains_wallet_material": "false"}}),
        ),
        (
            "deep",
            json!({"deployment": {"privacy": {"contains_pii": null}}}),
        ),
    ] {
        let hb = heartbeat_with(&claim, |v| {
            for (k, x) in value.as_object().unwrap() {
                if k == "deployment" {
                    v["deployment"]["privacy"] = x["privacy"].clone();
                } else if k == "privacy" {
                    v["privacy"] = x.clone();
                } else {
                    v[k] = x.clone();
                }
            }
        });
        assert!(
            fails(&check(&claim, &hb).report, codes::IDENTITY_PRIVACY_FLAGS),
            "{where_}"
        );
    }
    // contains_* outside a privacy object and below the top level is not a flag.
    let other = heartbeat_with(&claim, |v| v["deployment"]["contains_gpu"] = true.into());
    assert!(check(&claim, &other).report.ok());
    // No flags at all: a warning, not a pass.
    let none = heartbeat_with(&claim, |v| {
        v.as_object_mut().unwrap().remove("privacy");
    });
    let r = check(&claim, &none).report;
    assert!(r.ok());
    assert!(statuses(&r, codes::IDENTITY_PRIVACY_FLAGS).contains(&Status::Warn));
}

#[test]
fn secrets_fail_without_showing_the_value() {
    let (claim, _) = good_pair();
    let hb = heartbeat_with(&claim, |v| {
        v["exchange"] = json!({"api_key": "FAKE-KEY-0000-for-tests-only"});
    });
    let r = check(&claim, &hb).report;
    let finding = r
        .with_code(codes::IDENTITY_SECRET_SCAN)
        .find(|c| c.status == Status::Fail)
        .unwrap();
    assert_eq!(finding.data["pointer"], "/exchange/api_key");
    assert_eq!(finding.data["class"], "api-key");
    assert!(!r.to_json_pretty().contains("FAKE-KEY"));
}

#[test]
fn the_mode_is_a_fact_and_its_absence_a_warning() {
    let (claim, _) = good_pair();
    let live = heartbeat_with(&claim, |v| {
        v.as_object_mut().unwrap().remove("mode");
        v["deployment"]["trading_mode"] = "live".into();
    });
    assert_eq!(check(&claim, &live).facts.mode.as_deref(), Some("live"));
    let none = heartbeat_with(&claim, |v| {
        v.as_object_mut().unwrap().remove("mode");
    });
    let r = check(&claim, &none);
    assert!(r.report.ok());
    assert_eq!(
        statuses(&r.report, codes::IDENTITY_MODE),
        vec![Status::Warn]
    );
    assert_eq!(r.facts.mode, None);
    let odd = heartbeat_with(&claim, |v| v["mode"] = json!({"paper": true}));
    assert_eq!(check(&claim, &odd).facts.mode, None);
}

#[test]
fn unreadable_packets_are_invalid() {
    let (claim, heartbeat) = good_pair();
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"[1,2]".to_vec(),
        b"{\"a\":1,\"a\":2}".to_vec(),
        b"{\"n\":123456789012345678901234567890}".to_vec(),
        b"{\"n\":-0}".to_vec(),
        b"\xff".to_vec(),
    ];
    for bad in cases {
        let r = check(&bad, &heartbeat);
        assert!(fails(&r.report, codes::IDENTITY_PACKET_INVALID), "{bad:?}");
        assert!(!r.report.has(codes::IDENTITY_CLAIM_BINDING));
        assert_eq!(r.facts.claim_hash, None);
    }
    let mut opts = PacketOptions::default();
    opts.limits.max_packet_bytes = 64;
    let r = check_packets(&claim, &heartbeat, &opts).report;
    assert_eq!(
        statuses(&r, codes::IDENTITY_PACKET_INVALID),
        vec![Status::Fail, Status::Fail]
    );
}

// ---- bundles -------------------------------------------------------------------------------

fn created_at() -> Option<Timestamp> {
    Some(Timestamp::parse("2026-11-22T09:10:00Z").unwrap())
}

fn seal_pair(out: &std::path::Path, claim: &[u8], heartbeat: &[u8], key: &PrivateKey) -> Created {
    let mut opts = CreateOptions::new(vec![key]);
    opts.created_at = created_at();
    create(out, claim, heartbeat, &opts).unwrap()
}

#[test]
fn create_then_verify_round_trips_as_folder_and_archive() {
    let dir = tempfile::tempdir().unwrap();
    let (claim, heartbeat) = good_pair();
    let key = operator();
    for (name, archive) in [("identity", false), ("identity.tar.gz", true)] {
        let out = dir.path().join(name);
        let mut opts = CreateOptions::new(vec![&key]);
        opts.created_at = created_at();
        opts.archive = archive;
        let created = create(&out, &claim, &heartbeat, &opts).unwrap();
        assert!(created.report.ok());
        assert_eq!(created.manifest.kind, "identity");
        assert_eq!(
            created.manifest.subject,
            manifest_subject(&created.facts, true)
        );
        let trust = trust(&key);
        let v = verify(&out, &VerifyOptions::new(&trust));
        assert!(v.report.ok(), "{}", v.report.to_text(true));
        for c in &v.report.checks {
            let s = c.section.as_deref();
            assert!(s == Some("bundle") || s == Some("identity"), "{c:?}");
            if c.code.starts_with("bundle-") {
                assert_eq!(s, Some("bundle"));
            } else {
                assert_eq!(s, Some("identity"), "{}", c.code);
            }
        }
        assert!(v.report.has(codes::IDENTITY_REPORT_CONSISTENT));
        assert!(v.report.has(codes::IDENTITY_SUBJECT_CONSISTENT));
        assert_eq!(
            statuses(&v.report, codes::IDENTITY_HEARTBEAT_FRESH),
            vec![Status::Skip]
        );
        let id = v.identity.unwrap();
        assert_eq!(id.bundle_id, created.id);
        assert_eq!(id.deployment_id, "dep-2026-11-22-a");
        assert_eq!(id.claim, claim);
        assert_eq!(id.heartbeat, heartbeat);
        assert!(id.is_paper_only());
        assert_eq!(id.signers.len(), 1);
        let mut other = id.into_inner();
        for (mode, paper) in [(Some("PAPER"), true), (Some("live"), false), (None, false)] {
            other.mode = mode.map(str::to_owned);
            assert_eq!(other.is_paper_only(), paper, "{mode:?}");
        }
        assert_eq!(v.report.subject["kind"], "identity");
        assert_eq!(v.report.subject["deployment_id"], "dep-2026-11-22-a");
        assert_eq!(v.report.subject["id"], created.id.to_string());
    }
    // Deterministic: the same inputs and time give the same bundle id.
    let again = seal_pair(&dir.path().join("again"), &claim, &heartbeat, &key);
    let first = crate::bundle::BundleId::of_manifest(
        &std::fs::read(dir.path().join("identity/manifest.json")).unwrap(),
    );
    assert_eq!(again.id, first);
}

#[test]
fn create_refuses_a_failing_pair_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (claim, _) = good_pair();
    let stale = heartbeat_with(&claim, |v| v["observed_at"] = "2020-01-01T00:00:00Z".into());
    let key = operator();
    let out = dir.path().join("b");
    match create(&out, &claim, &stale, &CreateOptions::new(vec![&key])) {
        Err(CreateError::Refused(r)) => assert!(fails(&r, codes::IDENTITY_HEARTBEAT_ORDER)),
        other => panic!("{other:?}"),
    }
    assert!(!out.exists());
    assert!(matches!(
        create(&out, &claim, &stale, &CreateOptions::new(vec![])),
        Err(CreateError::NoKey)
    ));
    // Recorded on purpose, it still fails verification, and the record agrees with itself.
    let mut opts = CreateOptions::new(vec![&key]);
    opts.failing = FailingPairs::Record;
    let created = create(&out, &claim, &stale, &opts).unwrap();
    assert_eq!(created.manifest.subject[SUBJECT_OK_KEY], "false");
    let trust = trust(&key);
    let v = verify(&out, &VerifyOptions::new(&trust));
    assert!(!v.report.ok());
    assert!(v.identity.is_none());
    assert!(fails(&v.report, codes::IDENTITY_HEARTBEAT_ORDER));
    assert!(v.report.has(codes::IDENTITY_REPORT_CONSISTENT));
    assert!(v.report.has(codes::IDENTITY_SUBJECT_CONSISTENT));
}

#[test]
fn only_pinned_signers_count() {
    let dir = tempfile::tempdir().unwrap();
    let (claim, heartbeat) = good_pair();
    let forged = edit(&claim, |v| v["operator"] = "mallory".into());
    let out = dir.path().join("resigned");
    let stranger = stranger();
    let mut opts = CreateOptions::new(vec![&stranger]);
    opts.failing = FailingPairs::Record;
    create(&out, &forged, &heartbeat, &opts).unwrap();
    let pinned = trust(&operator());
    let v = verify(&out, &VerifyOptions::new(&pinned));
    assert!(fails(
        &v.report,
        crate::bundle::codes::BUNDLE_SIGNER_UNTRUSTED
    ));
    assert_eq!(
        statuses(&v.report, codes::IDENTITY_NOT_CHECKED),
        vec![Status::Skip]
    );
    assert!(v.identity.is_none());

    // Unsigned: the bundle layer says the signature is missing.
    let out = dir.path().join("unsigned");
    let mut b = BuildOptions::new(BUNDLE_KIND);
    b.created_at = created_at();
    let checked = check(&claim, &heartbeat);
    b.subject = manifest_subject(&checked.facts, true);
    build::create(
        &out,
        &bundle_inputs(&claim, &heartbeat, &checked.report),
        &b,
    )
    .unwrap();
    let v = verify(&out, &VerifyOptions::new(&pinned));
    assert!(fails(
        &v.report,
        crate::bundle::codes::BUNDLE_SIGNATURE_MISSING
    ));
}

fn bundle_inputs(claim: &[u8], heartbeat: &[u8], report: &Report) -> Vec<Input> {
    vec![
        Input::Bytes {
            at: "claim.json".into(),
            bytes: claim.to_vec(),
        },
        Input::Bytes {
            at: "heartbeat.json".into(),
            bytes: heartbeat.to_vec(),
        },
        Input::Bytes {
            at: "identity-report.json".into(),
            bytes: report.to_json_pretty().into_bytes(),
        },
    ]
}

/// Bundles signed by the operator key but written by something other than `create`: the
/// recomputed checks must still catch a lying subject or stored report.
#[test]
fn signed_but_inconsistent_bundles_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (claim, heartbeat) = good_pair();
    let key = operator();
    let pinned = trust(&key);
    let checked = check(&claim, &heartbeat);
    let build_with = |name: &str,
                      kind: &str,
                      subject: std::collections::BTreeMap<String, String>,
                      inputs: Vec<Input>| {
        let out = dir.path().join(name);
        let mut b = BuildOptions::new(kind);
        b.created_at = created_at();
        b.subject = subject;
        b.sign = vec![&key];
        build::create(&out, &inputs, &b).unwrap();
        verify(&out, &VerifyOptions::new(&pinned))
    };
    let good_subject = manifest_subject(&checked.facts, true);

    let mut lying = good_subject.clone();
    lying.insert("mode".into(), "live".into());
    let v = build_with(
        "subject",
        BUNDLE_KIND,
        lying,
        bundle_inputs(&claim, &heartbeat, &checked.report),
    );
    assert!(fails(&v.report, codes::IDENTITY_SUBJECT_MISMATCH));
    assert!(v.identity.is_none());

    let mut extra = good_subject.clone();
    extra.insert("target".into(), "x".into());
    let v = build_with(
        "extra-subject",
        BUNDLE_KIND,
        extra,
        bundle_inputs(&claim, &heartbeat, &checked.report),
    );
    assert!(fails(&v.report, codes::IDENTITY_SUBJECT_MISMATCH));

    let mut other_report = checked.report.clone();
    other_report.subject["deployment_id"] = "dep-other".into();
    let v = build_with(
        "report",
        BUNDLE_KIND,
        good_subject.clone(),
        bundle_inputs(&claim, &heartbeat, &other_report),
    );
    assert!(fails(&v.report, codes::IDENTITY_REPORT_MISMATCH));

    let mut inputs = bundle_inputs(&claim, &heartbeat, &checked.report);
    inputs[2] = Input::Bytes {
        at: "identity-report.json".into(),
        bytes: b"{\"ok\": true}".to_vec(),
    };
    let v = build_with("bad-report", BUNDLE_KIND, good_subject.clone(), inputs);
    assert!(fails(&v.report, codes::IDENTITY_REPORT_MISMATCH));

    let v = build_with(
        "kind",
        "deployment",
        good_subject.clone(),
        bundle_inputs(&claim, &heartbeat, &checked.report),
    );
    assert!(fails(&v.report, codes::IDENTITY_BUNDLE_INVALID));

    let mut inputs = bundle_inputs(&claim, &heartbeat, &checked.report);
    inputs.push(Input::Bytes {
        at: "extra.txt".into(),
        bytes: b"x".to_vec(),
    });
    let v = build_with("extra-file", BUNDLE_KIND, good_subject.clone(), inputs);
    assert!(fails(&v.report, codes::IDENTITY_BUNDLE_INVALID));

    let mut inputs = bundle_inputs(&claim, &heartbeat, &checked.report);
    inputs.remove(2);
    let v = build_with("missing-report", BUNDLE_KIND, good_subject, inputs);
    assert!(fails(&v.report, codes::IDENTITY_BUNDLE_INVALID));
}

#[test]
fn freshness_at_verify_time() {
    let dir = tempfile::tempdir().unwrap();
    let (claim, heartbeat) = good_pair();
    let key = operator();
    let out = dir.path().join("b");
    seal_pair(&out, &claim, &heartbeat, &key);
    let pinned = trust(&key);
    let mut opts = VerifyOptions::new(&pinned);
    opts.freshness = Some(Freshness {
        max_age_seconds: 3600,
        now: Timestamp::parse("2026-11-23T09:05:00Z").unwrap(),
    });
    let v = verify(&out, &opts);
    assert!(fails(&v.report, codes::IDENTITY_HEARTBEAT_FRESH));
    // Staleness is judged now; the stored verdict (made without a maximum age) still agrees.
    assert!(v.report.has(codes::IDENTITY_REPORT_CONSISTENT));
    opts.freshness = Some(Freshness {
        max_age_seconds: 86_400,
        now: Timestamp::parse("2026-11-23T09:05:00Z").unwrap(),
    });
    assert!(verify(&out, &opts).report.ok());
}
