use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::keys::{NamedKey, PrivateKey, PublicKey};
use crate::report::{CheckCode, Status};

fn interop(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/interop")).join(path)
}

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_seed(&[n; 32])
}

fn trust(k: &PrivateKey) -> TrustPolicy {
    TrustPolicy::new(
        vec![NamedKey {
            name: "ci".into(),
            key: k.public(),
        }],
        1,
    )
    .unwrap()
}

fn asset(data: &[u8]) -> AssetDigest {
    AssetDigest {
        sha256: Sha256Digest::of(data),
        size: data.len() as u64,
    }
}

fn assets() -> BTreeMap<String, AssetDigest> {
    BTreeMap::from([
        ("app.tar.gz".to_owned(), asset(b"app")),
        ("SBOM.spdx.json".to_owned(), asset(b"{}")),
    ])
}

const COMMIT: &str = "3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";

/// A statement whose subjects are `subjects` (name, sha256 hex).
fn statement(subjects: &[(&str, String)]) -> Value {
    json!({
        "_type": STATEMENT_V1,
        "subject": subjects.iter().map(|(n, d)| json!({"name": n, "digest": {"sha256": d}})).collect::<Vec<_>>(),
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://example.com/buildtypes/make@v1",
                "externalParameters": {"source": "git+https://github.com/acme/widget@refs/tags/v1.4.2"},
                "resolvedDependencies": [{
                    "uri": "git+https://github.com/acme/widget@refs/tags/v1.4.2",
                    "digest": {"gitCommit": COMMIT}
                }]
            },
            "runDetails": {"builder": {"id": "https://ci.example/builders/release@v1"}}
        }
    })
}

fn good_statement() -> Value {
    statement(&[
        ("app.tar.gz", Sha256Digest::of(b"app").to_hex()),
        ("SBOM.spdx.json", Sha256Digest::of(b"{}").to_hex()),
    ])
}

fn signed(value: &Value, keys: &[&PrivateKey]) -> ProvenanceFile {
    let payload = serde_json::to_vec(value).unwrap();
    let env = Envelope::sign(dsse::PAYLOAD_TYPE_IN_TOTO, &payload, keys);
    ProvenanceFile {
        name: "release.intoto.jsonl".into(),
        bytes: env.to_json_line(),
    }
}

fn run(
    files: &[ProvenanceFile],
    legacy: Option<&ProvenanceFile>,
    trust: Option<&TrustPolicy>,
    policy: &ProvenancePolicy,
) -> Vec<Check> {
    run_limited(files, legacy, trust, policy, ProvenanceLimits::default())
}

/// [`run`] on one statement signed by `k`, with `k` the trusted key.
fn run_signed(k: &PrivateKey, value: &Value, policy: &ProvenancePolicy) -> Vec<Check> {
    run(&[signed(value, &[k])], None, Some(&trust(k)), policy)
}

/// [`run`] under the caller's limits.
fn run_limited(
    files: &[ProvenanceFile],
    legacy: Option<&ProvenanceFile>,
    trust: Option<&TrustPolicy>,
    policy: &ProvenancePolicy,
    limits: ProvenanceLimits,
) -> Vec<Check> {
    verify(&ProvenanceInputs {
        files,
        legacy,
        assets: &assets(),
        trust,
        policy,
        limits,
    })
}

fn status_of(checks: &[Check], code: CheckCode) -> Vec<Status> {
    checks
        .iter()
        .filter(|c| c.is(code))
        .map(|c| c.status)
        .collect()
}

#[track_caller]
fn assert_fails(checks: &[Check], code: CheckCode) {
    assert!(
        status_of(checks, code).contains(&Status::Fail),
        "expected a failing {}:\n{checks:#?}",
        code.code
    );
}

fn no_failures(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}

fn full_policy() -> ProvenancePolicy {
    ProvenancePolicy {
        builder_id: Some("https://ci.example/builders/release@v1".into()),
        source_uri: Some("github.com/acme/widget".into()),
        source_ref: Some("refs/tags/v1.4.2".into()),
        source_commit: Some(COMMIT.to_uppercase()),
        build_type: Some("https://example.com/buildtypes/make@v1".into()),
        artifacts: vec![],
    }
}

#[test]
fn the_interop_statement_verifies_against_its_subject() {
    if !crate::testing::have_interop("dsse") {
        return;
    }
    let public = PublicKey::load(&interop("openssl/signer.pub.pem")).unwrap();
    let policy = TrustPolicy::single("signer", public);
    let plain = std::fs::read(interop("coreutils/tree/plain.bin")).unwrap();
    let assets = BTreeMap::from([("plain.bin".to_owned(), asset(&plain))]);
    let provenance = ProvenancePolicy {
        builder_id: Some("https://example.com/builders/ci@v1".into()),
        source_uri: Some("https://example.com/acme/widget".into()),
        source_ref: Some("refs/tags/v1.2.3".into()),
        source_commit: Some("a".repeat(40)),
        ..ProvenancePolicy::default()
    };
    for name in [
        "dsse/provenance.intoto.jsonl",
        "dsse/provenance.intoto.dsse.json",
    ] {
        let file = ProvenanceFile {
            name: name.rsplit('/').next().unwrap().to_owned(),
            bytes: std::fs::read(interop(name)).unwrap(),
        };
        let checks = verify(&ProvenanceInputs {
            files: std::slice::from_ref(&file),
            legacy: None,
            assets: &assets,
            trust: Some(&policy),
            policy: &provenance,
            limits: ProvenanceLimits::default(),
        });
        assert!(no_failures(&checks), "{name}: {checks:#?}");
        for code in [
            PROVENANCE_PARSED,
            PROVENANCE_THRESHOLD_MET,
            PROVENANCE_SUBJECT_MATCH,
            PROVENANCE_BUILDER_ID,
            PROVENANCE_SOURCE_URI,
            PROVENANCE_SOURCE_REF,
            PROVENANCE_SOURCE_COMMIT,
        ] {
            assert_eq!(
                status_of(&checks, code),
                vec![Status::Pass],
                "{name} {}",
                code.code
            );
        }
    }
}

#[test]
fn a_signed_statement_meeting_the_policy_passes() {
    let k = key(1);
    let checks = run_signed(&k, &good_statement(), &full_policy());
    assert!(no_failures(&checks), "{checks:#?}");
    assert_eq!(status_of(&checks, PROVENANCE_SUBJECT_MATCH).len(), 2);
    assert_eq!(
        status_of(&checks, PROVENANCE_BUILD_TYPE),
        vec![Status::Pass]
    );
}

#[test]
fn policy_violations_report_what_was_seen() {
    let k = key(1);
    let file = signed(&good_statement(), &[&k]);
    let cases: Vec<(ProvenancePolicy, CheckCode, &str)> = vec![
        (
            ProvenancePolicy {
                builder_id: Some("https://evil.example/builder".into()),
                ..ProvenancePolicy::default()
            },
            PROVENANCE_BUILDER_ID,
            "https://ci.example/builders/release@v1",
        ),
        (
            ProvenancePolicy {
                source_ref: Some("refs/tags/v1.4.3".into()),
                ..ProvenancePolicy::default()
            },
            PROVENANCE_SOURCE_REF,
            "refs/tags/v1.4.2",
        ),
        (
            ProvenancePolicy {
                source_ref: Some("refs/heads/main".into()),
                ..ProvenancePolicy::default()
            },
            PROVENANCE_SOURCE_REF,
            "refs/tags/v1.4.2",
        ),
        (
            ProvenancePolicy {
                source_uri: Some("github.com/acme/widget-fork".into()),
                ..ProvenancePolicy::default()
            },
            PROVENANCE_SOURCE_URI,
            "git+https://github.com/acme/widget",
        ),
        (
            ProvenancePolicy {
                source_commit: Some("0".repeat(40)),
                ..ProvenancePolicy::default()
            },
            PROVENANCE_SOURCE_COMMIT,
            COMMIT,
        ),
        (
            ProvenancePolicy {
                build_type: Some("https://other".into()),
                ..ProvenancePolicy::default()
            },
            PROVENANCE_BUILD_TYPE,
            "https://example.com/buildtypes/make@v1",
        ),
    ];
    for (policy, code, seen) in cases {
        let checks = run(std::slice::from_ref(&file), None, Some(&trust(&k)), &policy);
        let check = checks.iter().find(|c| c.is(code)).unwrap();
        assert_eq!(check.status, Status::Fail, "{}", code.code);
        assert!(
            check.data["actual"].to_string().contains(seen),
            "{}: {check:?}",
            code.code
        );
    }
}

#[test]
fn statements_by_strangers_or_unsigned_never_satisfy_a_policy() {
    let (k, stranger) = (key(1), key(9));
    let policy = full_policy();
    let checks = run(
        &[signed(&good_statement(), &[&stranger])],
        None,
        Some(&trust(&k)),
        &policy,
    );
    assert_fails(&checks, PROVENANCE_SIGNER_UNTRUSTED);
    assert_fails(&checks, PROVENANCE_MISSING);
    assert_fails(&checks, PROVENANCE_ARTIFACT_UNATTESTED);
    assert!(status_of(&checks, PROVENANCE_BUILDER_ID).is_empty());

    let bare = ProvenanceFile {
        name: "provenance.json".into(),
        bytes: serde_json::to_vec(&good_statement()).unwrap(),
    };
    let checks = run(&[bare], None, Some(&trust(&k)), &policy);
    assert_fails(&checks, PROVENANCE_SIGNATURE_MISSING);
    assert_fails(&checks, PROVENANCE_MISSING);

    // An envelope made for another kind of document counts for nothing.
    let env = Envelope::sign(
        dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST,
        &serde_json::to_vec(&good_statement()).unwrap(),
        &[&k],
    );
    let other = ProvenanceFile {
        name: "x.dsse.json".into(),
        bytes: env.to_json_bytes(),
    };
    let checks = run(&[other], None, Some(&trust(&k)), &policy);
    assert_fails(&checks, PROVENANCE_SIGNATURE_INVALID);
    assert_fails(&checks, PROVENANCE_MISSING);
}

#[test]
fn without_trust_statements_are_read_and_said_to_be_unchecked() {
    let k = key(1);
    let checks = run(
        &[signed(&good_statement(), &[&k])],
        None,
        None,
        &ProvenancePolicy::default(),
    );
    assert!(no_failures(&checks), "{checks:#?}");
    assert_eq!(
        status_of(&checks, PROVENANCE_SIGNATURE_UNCHECKED),
        vec![Status::Warn]
    );
}

#[test]
fn subjects_must_describe_the_assets_bytes() {
    let k = key(1);
    let t = trust(&k);
    let none = ProvenancePolicy::default();
    // The statement lies about app.tar.gz's digest.
    let lying = statement(&[
        ("app.tar.gz", Sha256Digest::of(b"other").to_hex()),
        ("SBOM.spdx.json", Sha256Digest::of(b"{}").to_hex()),
    ]);
    let checks = run(&[signed(&lying, &[&k])], None, Some(&t), &none);
    assert_fails(&checks, PROVENANCE_SUBJECT_MISMATCH);
    assert_fails(&checks, PROVENANCE_ARTIFACT_UNATTESTED);

    // Only one asset attested; the other is required by default.
    let partial = statement(&[("app.tar.gz", Sha256Digest::of(b"app").to_hex())]);
    let checks = run(&[signed(&partial, &[&k])], None, Some(&t), &none);
    let unattested: Vec<_> = checks
        .iter()
        .filter(|c| c.is(PROVENANCE_ARTIFACT_UNATTESTED))
        .map(|c| c.path.clone().unwrap())
        .collect();
    assert_eq!(unattested, ["SBOM.spdx.json"]);
    // ... unless --artifact narrows what must be attested.
    let narrowed = ProvenancePolicy {
        artifacts: vec!["./app.tar.gz".into()],
        ..ProvenancePolicy::default()
    };
    assert!(no_failures(&run(
        &[signed(&partial, &[&k])],
        None,
        Some(&t),
        &narrowed
    )));

    // About something else entirely.
    let elsewhere = statement(&[("other.bin", Sha256Digest::of(b"x").to_hex())]);
    let checks = run(&[signed(&elsewhere, &[&k])], None, Some(&t), &none);
    assert_fails(&checks, PROVENANCE_NO_SUBJECT_MATCHED);

    // Weak digests never count.
    let mut weak = good_statement();
    weak["subject"][0]["digest"] = json!({"sha1": "a".repeat(40), "md5": "b".repeat(32)});
    let checks = run(&[signed(&weak, &[&k])], None, Some(&t), &none);
    assert_eq!(
        status_of(&checks, PROVENANCE_SUBJECT_WEAK_DIGEST),
        vec![Status::Warn]
    );
    assert_fails(&checks, PROVENANCE_ARTIFACT_UNATTESTED);
}

#[test]
fn malformed_statements_and_limits_fail_cleanly() {
    let k = key(1);
    let t = trust(&k);
    let none = ProvenancePolicy::default();
    let file = |bytes: Vec<u8>| ProvenanceFile {
        name: "p.json".into(),
        bytes,
    };
    let mut v0 = good_statement();
    v0["_type"] = json!("https://in-toto.io/Statement/v0.1");
    let duplicate = br#"{"_type":"https://in-toto.io/Statement/v1","_type":"x","subject":[],"predicateType":"p"}"#;
    let mut many = good_statement();
    many["subject"] = json!(vec![
        json!({"name": "x", "digest": {"sha256": "0".repeat(64)}});
        10_001
    ]);
    let empty = statement(&[]);
    for (what, bytes) in [
        ("v0.1", serde_json::to_vec(&v0).unwrap()),
        ("duplicate key", duplicate.to_vec()),
        ("too many subjects", serde_json::to_vec(&many).unwrap()),
        ("no subjects", serde_json::to_vec(&empty).unwrap()),
        ("not json", b"\xff\xfe".to_vec()),
        ("empty jsonl", Vec::new()),
    ] {
        let checks = run(&[file(bytes)], None, None, &none);
        assert_fails(&checks, PROVENANCE_INVALID);
        let _ = what;
    }
    let empty_lines = ProvenanceFile {
        name: "x.intoto.jsonl".into(),
        bytes: b"\n\n".to_vec(),
    };
    assert_fails(
        &run(&[empty_lines], None, Some(&t), &none),
        PROVENANCE_INVALID,
    );
}

fn legacy(assets: Value, commit: &str) -> ProvenanceFile {
    ProvenanceFile {
        name: "PROVENANCE.json".into(),
        bytes: serde_json::to_vec(&json!({
            "schema_version": LEGACY_SCHEMA,
            "generated_at": "2026-11-20T10:00:00Z",
            "release": {"assets": assets, "checksums": "SHA256SUMS", "sbom": "SBOM.spdx.json", "version": "1.4.2"},
            "source": {"repository": "https://github.com/acme/widget", "branch": "main", "commit": commit, "dirty": false, "tag": "v1.4.2"},
            "policy": {"live_trading": false}
        }))
        .unwrap(),
    }
}

fn legacy_assets(app_digest: &str, app_size: u64) -> Value {
    json!([
        {"name": "app.tar.gz", "sha256": app_digest, "size": app_size},
        {"name": "SBOM.spdx.json", "sha256": Sha256Digest::of(b"{}").to_hex(), "size": 2}
    ])
}

#[test]
fn the_predecessors_provenance_is_cross_checked_never_trusted() {
    let k = key(1);
    let t = trust(&k);
    let good = legacy(legacy_assets(&Sha256Digest::of(b"app").to_hex(), 3), COMMIT);
    let checks = run(&[], Some(&good), Some(&t), &ProvenancePolicy::default());
    assert!(no_failures(&checks), "{checks:#?}");
    assert_eq!(
        status_of(&checks, PROVENANCE_LEGACY_UNSIGNED),
        vec![Status::Warn]
    );
    assert_eq!(status_of(&checks, PROVENANCE_LEGACY_ASSET_MATCH).len(), 2);

    // It never satisfies a signature requirement.
    let checks = run(&[], Some(&good), Some(&t), &full_policy());
    assert_fails(&checks, PROVENANCE_MISSING);
    let commit = checks
        .iter()
        .find(|c| c.is(PROVENANCE_SOURCE_COMMIT))
        .unwrap();
    assert_eq!(commit.status, Status::Pass);
    assert_eq!(commit.data["signed"], false);

    // Lies about a digest, a size, an asset that does not exist.
    let lying = legacy(
        legacy_assets(&Sha256Digest::of(b"evil").to_hex(), 3),
        COMMIT,
    );
    assert_fails(
        &run(&[], Some(&lying), None, &ProvenancePolicy::default()),
        PROVENANCE_LEGACY_ASSET_MISMATCH,
    );
    let resized = legacy(legacy_assets(&Sha256Digest::of(b"app").to_hex(), 4), COMMIT);
    assert_fails(
        &run(&[], Some(&resized), None, &ProvenancePolicy::default()),
        PROVENANCE_LEGACY_ASSET_MISMATCH,
    );
    let ghost = legacy(
        json!([{"name": "ghost.bin", "sha256": "0".repeat(64), "size": 1}]),
        COMMIT,
    );
    assert_fails(
        &run(&[], Some(&ghost), None, &ProvenancePolicy::default()),
        PROVENANCE_LEGACY_ASSET_MISMATCH,
    );

    // Lies about the commit: against the policy, and against the signed provenance.
    let other_commit = legacy(
        legacy_assets(&Sha256Digest::of(b"app").to_hex(), 3),
        &"1".repeat(40),
    );
    let policy = ProvenancePolicy {
        source_commit: Some(COMMIT.into()),
        ..ProvenancePolicy::default()
    };
    let checks = run(
        &[signed(&good_statement(), &[&k])],
        Some(&other_commit),
        Some(&t),
        &policy,
    );
    assert_fails(&checks, PROVENANCE_LEGACY_SOURCE_MISMATCH);
    let by_legacy: Vec<_> = checks
        .iter()
        .filter(|c| c.is(PROVENANCE_SOURCE_COMMIT))
        .map(|c| (c.status, c.data["signed"].clone()))
        .collect();
    assert_eq!(
        by_legacy,
        vec![(Status::Pass, json!(true)), (Status::Fail, json!(false))]
    );

    // Not the predecessor's schema, or not JSON at all.
    let mut wrong = good.clone();
    wrong.bytes = String::from_utf8(wrong.bytes)
        .unwrap()
        .replace(LEGACY_SCHEMA, "zero.release_provenance.v2")
        .into_bytes();
    assert_fails(
        &run(&[], Some(&wrong), None, &ProvenancePolicy::default()),
        PROVENANCE_LEGACY_INVALID,
    );
}

#[test]
fn uris_and_refs_compare_as_documented() {
    assert_eq!(
        normalize_uri("git+https://github.com/acme/widget.git/"),
        "github.com/acme/widget"
    );
    assert_eq!(
        normalize_uri("github.com/acme/widget"),
        "github.com/acme/widget"
    );
}

/// Refs compare in full and exactly: a tag never passes for the branch of the same name nor
/// the other way round, and a bare name matches nothing (the CLI turns `--source-tag` and
/// `--source-branch` into full refs).
#[test]
fn a_tag_and_a_branch_of_the_same_name_are_different_refs() {
    let k = key(1);
    let by_ref = |built: &str, required: &str| {
        let mut statement = good_statement();
        let uri = format!("git+https://github.com/acme/widget@{built}");
        statement["predicate"]["buildDefinition"]["externalParameters"] = json!({"source": uri});
        let policy = ProvenancePolicy {
            source_ref: Some(required.into()),
            ..ProvenancePolicy::default()
        };
        status_of(&run_signed(&k, &statement, &policy), PROVENANCE_SOURCE_REF)
    };
    assert_eq!(
        by_ref("refs/tags/v1.4.2", "refs/tags/v1.4.2"),
        vec![Status::Pass]
    );
    assert_eq!(
        by_ref("refs/heads/main", "refs/heads/main"),
        vec![Status::Pass]
    );
    assert_eq!(
        by_ref("refs/pull/7/merge", "refs/pull/7/merge"),
        vec![Status::Pass]
    );
    assert_eq!(
        by_ref("refs/heads/v1.4.2", "refs/tags/v1.4.2"),
        vec![Status::Fail]
    );
    assert_eq!(
        by_ref("refs/tags/v1.4.2", "refs/heads/v1.4.2"),
        vec![Status::Fail]
    );
    assert_eq!(by_ref("refs/tags/v1.4.2", "v1.4.2"), vec![Status::Fail]);
    assert_eq!(by_ref("refs/heads/main", "main"), vec![Status::Fail]);
    assert_eq!(by_ref("refs/tags/v10", "refs/tags/v1"), vec![Status::Fail]);

    // The GitHub workflow build type's `workflow.ref` is held to the same rule.
    let mut workflow = good_statement();
    workflow["predicate"]["buildDefinition"]["externalParameters"] = json!({
        "workflow": {"repository": "https://github.com/acme/widget", "ref": "refs/heads/v1.4.2"}
    });
    let policy = ProvenancePolicy {
        source_ref: Some("refs/tags/v1.4.2".into()),
        ..ProvenancePolicy::default()
    };
    assert_fails(&run_signed(&k, &workflow, &policy), PROVENANCE_SOURCE_REF);
}

#[test]
fn nothing_to_check_is_a_skip_not_a_pass() {
    let checks = run(&[], None, None, &ProvenancePolicy::default());
    assert_eq!(status_of(&checks, PROVENANCE_ABSENT), vec![Status::Skip]);
    assert_eq!(checks.len(), 1);
}

#[test]
fn only_statements_meeting_the_policy_attest_assets() {
    let k = key(1);
    let policy = full_policy();
    // A trusted, policy-meeting SLSA statement about other bytes, and a trusted statement of
    // another predicate type whose subjects are the assets: neither attests them.
    let elsewhere = statement(&[("other.tar.gz", Sha256Digest::of(b"other").to_hex())]);
    let mut not_slsa = good_statement();
    not_slsa["predicateType"] = json!("https://example.com/test-result/v1");
    let checks = run(
        &[signed(&elsewhere, &[&k]), signed(&not_slsa, &[&k])],
        None,
        Some(&trust(&k)),
        &policy,
    );
    assert!(
        status_of(&checks, PROVENANCE_BUILDER_ID)
            .iter()
            .all(|s| *s == Status::Pass)
    );
    assert_fails(&checks, PROVENANCE_ARTIFACT_UNATTESTED);

    // A statement about the assets built by another builder, beside one by the required
    // builder about other bytes: the assets are attested only by the wrong build.
    let mut rogue = good_statement();
    rogue["predicate"]["runDetails"]["builder"]["id"] = json!("https://evil.example/builder");
    let checks = run(
        &[signed(&elsewhere, &[&k]), signed(&rogue, &[&k])],
        None,
        Some(&trust(&k)),
        &policy,
    );
    assert_fails(&checks, PROVENANCE_BUILDER_ID);
    assert_fails(&checks, PROVENANCE_ARTIFACT_UNATTESTED);
}

#[test]
fn source_flags_bind_to_the_source_built_not_a_dependency() {
    let k = key(1);
    // A build of a fork that lists the real repository, at the real commit, as a dependency.
    let mut fork = good_statement();
    fork["predicate"]["buildDefinition"]["externalParameters"]["source"] =
        json!("git+https://github.com/mallory/widget@refs/tags/v1.4.2");
    fork["predicate"]["buildDefinition"]["resolvedDependencies"] = json!([
        {"uri": "git+https://github.com/mallory/widget@refs/tags/v1.4.2",
         "digest": {"gitCommit": "1".repeat(40)}},
        {"uri": "git+https://github.com/acme/widget@refs/tags/v1.4.2",
         "digest": {"gitCommit": COMMIT}}
    ]);
    let checks = run_signed(&k, &fork, &full_policy());
    assert_fails(&checks, PROVENANCE_SOURCE_URI);
    assert_fails(&checks, PROVENANCE_SOURCE_COMMIT);
    assert_fails(&checks, PROVENANCE_ARTIFACT_UNATTESTED);

    // Two sources that each satisfy one flag do not together satisfy both.
    let mut split = good_statement();
    split["predicate"]["buildDefinition"]["externalParameters"] = json!({
        "source": "git+https://github.com/acme/widget@refs/heads/main",
        "workflow": {"repository": "https://github.com/mallory/widget", "ref": "refs/tags/v1.4.2"}
    });
    split["predicate"]["buildDefinition"]["resolvedDependencies"] = json!([]);
    let policy = ProvenancePolicy {
        source_uri: Some("github.com/acme/widget".into()),
        source_ref: Some("refs/tags/v1.4.2".into()),
        ..ProvenancePolicy::default()
    };
    let checks = run_signed(&k, &split, &policy);
    let check = checks.iter().find(|c| c.is(PROVENANCE_SOURCE_URI)).unwrap();
    assert_eq!(check.status, Status::Fail);
    assert!(check.detail.contains("no single source"), "{check:?}");
    assert_fails(&checks, PROVENANCE_SOURCE_REF);

    // Parameters that name no source fall back to the resolved dependencies.
    let mut deps_only = good_statement();
    deps_only["predicate"]["buildDefinition"]["externalParameters"] = json!({});
    let checks = run_signed(&k, &deps_only, &full_policy());
    assert!(no_failures(&checks), "{checks:#?}");
}

#[test]
fn the_statement_limit_bounds_all_files_together() {
    let k = key(1);
    let mut line = signed(&good_statement(), &[&k]).bytes;
    line.push(b'\n');
    let jsonl = |n: usize, name: &str| ProvenanceFile {
        name: name.into(),
        bytes: line.repeat(n),
    };
    let limits = ProvenanceLimits {
        max_statements: 3,
        ..ProvenanceLimits::default()
    };
    let t = trust(&k);
    let run_with = |files: &[ProvenanceFile]| {
        run_limited(files, None, Some(&t), &ProvenancePolicy::default(), limits)
    };
    // Two files of two statements each: the second file is over the shared limit.
    let checks = run_with(&[jsonl(2, "a.intoto.jsonl"), jsonl(2, "b.intoto.jsonl")]);
    let refused: Vec<_> = checks
        .iter()
        .filter(|c| c.is(PROVENANCE_INVALID))
        .map(|c| c.path.as_deref())
        .collect();
    assert_eq!(refused, vec![Some("b.intoto.jsonl")]);
    assert_eq!(status_of(&checks, PROVENANCE_PARSED).len(), 2);
    // One file of exactly the limit is read whole.
    let checks = run_with(&[jsonl(3, "a.intoto.jsonl")]);
    assert_eq!(status_of(&checks, PROVENANCE_PARSED).len(), 3);
    assert!(status_of(&checks, PROVENANCE_INVALID).is_empty());

    // Millions of blank-separated lines are counted, not collected.
    let flood = ProvenanceFile {
        name: "flood.intoto.jsonl".into(),
        bytes: b"x\n".repeat(4_000_000),
    };
    let checks = run_with(&[flood]);
    let check = checks.iter().find(|c| c.is(PROVENANCE_INVALID)).unwrap();
    assert!(check.detail.contains("limit of 3"), "{check:?}");
    assert_eq!(status_of(&checks, PROVENANCE_PARSED).len(), 0);
}

#[test]
fn statement_parsing_applies_the_callers_limits() {
    let bytes = serde_json::to_vec(&good_statement()).unwrap();
    let limits = |max_bytes: u64, max_values: usize| ProvenanceLimits {
        max_bytes,
        max_values,
        ..ProvenanceLimits::default()
    };
    let len = bytes.len() as u64;
    assert!(Statement::parse(&bytes, &limits(len, DEFAULT_MAX_VALUES)).is_ok());
    match Statement::parse(&bytes, &limits(len - 1, DEFAULT_MAX_VALUES)) {
        Err(ProvenanceError::Json(m)) => assert!(
            m.contains(&format!("larger than the limit of {} bytes", len - 1)),
            "{m}"
        ),
        other => panic!("expected the byte limit, got {other:?}"),
    }
    match Statement::parse(&bytes, &limits(len, 5)) {
        Err(ProvenanceError::Json(m)) => assert!(m.contains("more than 5 values"), "{m}"),
        other => panic!("expected the value limit, got {other:?}"),
    }
}

#[test]
fn the_default_memory_limit_admits_the_largest_statement_and_a_lower_one_refuses_it() {
    // The most subjects allowed, each with a 64-character name, and 2,000 resolved
    // dependencies: what DEFAULT_MAX_MEMORY is documented to admit (estimated at 21 MiB).
    let subjects: Vec<(String, String)> = (0..DEFAULT_MAX_SUBJECTS)
        .map(|i| (format!("dist/{i:059}"), Sha256Digest::of(b"app").to_hex()))
        .collect();
    let named: Vec<(&str, String)> = subjects
        .iter()
        .map(|(n, d)| (n.as_str(), d.clone()))
        .collect();
    let mut value = statement(&named);
    let deps: Vec<Value> = (0..2_000)
        .map(|i| json!({"uri": format!("git+https://github.com/acme/dep-{i}@refs/tags/v1"), "digest": {"gitCommit": COMMIT}}))
        .collect();
    value["predicate"]["buildDefinition"]["resolvedDependencies"] = json!(deps);
    let bytes = serde_json::to_vec(&value).unwrap();
    let parsed = Statement::parse(&bytes, &ProvenanceLimits::default()).unwrap();
    assert_eq!(parsed.subjects.len(), DEFAULT_MAX_SUBJECTS);
    let limits = ProvenanceLimits {
        max_memory: 16 << 20,
        ..ProvenanceLimits::default()
    };
    match Statement::parse(&bytes, &limits) {
        Err(ProvenanceError::Json(m)) => assert!(
            m.contains(&format!("more than {} bytes of memory", 16 << 20)),
            "{m}"
        ),
        other => panic!("expected the memory limit, got {other:?}"),
    }
}

#[test]
fn an_envelope_with_more_values_than_allowed_is_refused_before_it_is_opened() {
    // The value limit bounds the envelope line itself, not only the statement inside it: 30
    // copies of one signature make the envelope far larger than its small statement.
    let k = key(1);
    let payload = serde_json::to_vec(&good_statement()).unwrap();
    let mut env = Envelope::sign(dsse::PAYLOAD_TYPE_IN_TOTO, &payload, &[&k]);
    env.signatures = vec![env.signatures[0].clone(); 30];
    let limits = ProvenanceLimits {
        max_values: 60,
        ..ProvenanceLimits::default()
    };
    assert!(
        Statement::parse(&payload, &limits).is_ok(),
        "the statement alone is within the limit"
    );
    let file = ProvenanceFile {
        name: "release.intoto.jsonl".into(),
        bytes: env.to_json_line(),
    };
    let checks = run_limited(&[file], None, None, &ProvenancePolicy::default(), limits);
    let invalid: Vec<&Check> = checks.iter().filter(|c| c.is(PROVENANCE_INVALID)).collect();
    assert_eq!(invalid.len(), 1, "{checks:#?}");
    assert_eq!(invalid[0].status, Status::Fail);
    assert!(
        invalid[0].detail.contains("more than 60 values"),
        "{invalid:?}"
    );
    assert!(status_of(&checks, PROVENANCE_PARSED).is_empty());
}

#[test]
fn a_raised_byte_limit_is_honoured_for_one_large_document() {
    // A caller may raise the byte limit above the JSON reader's default (64 MiB); a single
    // document between the two is then read, not refused at the default.
    let mut bytes = serde_json::to_vec(&good_statement()).unwrap();
    bytes.resize(crate::json::DEFAULT_MAX_BYTES as usize + 1, b' ');
    let limits = ProvenanceLimits {
        max_bytes: crate::json::DEFAULT_MAX_BYTES + 1024,
        ..ProvenanceLimits::default()
    };
    let file = ProvenanceFile {
        name: "p.json".into(),
        bytes,
    };
    let checks = run_limited(&[file], None, None, &ProvenancePolicy::default(), limits);
    assert!(no_failures(&checks), "{checks:#?}");
    assert_eq!(status_of(&checks, PROVENANCE_PARSED), vec![Status::Pass]);
}

#[test]
fn the_predecessors_provenance_is_held_to_the_byte_limit() {
    let good = legacy(legacy_assets(&Sha256Digest::of(b"app").to_hex(), 3), COMMIT);
    let limits = ProvenanceLimits {
        max_bytes: good.bytes.len() as u64 - 1,
        ..ProvenanceLimits::default()
    };
    let checks = run_limited(&[], Some(&good), None, &ProvenancePolicy::default(), limits);
    let invalid = checks
        .iter()
        .find(|c| c.is(PROVENANCE_LEGACY_INVALID))
        .expect("a legacy-invalid check");
    assert_eq!(invalid.status, Status::Fail);
    assert!(
        invalid.detail.contains("larger than the limit"),
        "{invalid:?}"
    );
    assert!(status_of(&checks, PROVENANCE_LEGACY_ASSET_MATCH).is_empty());
}

#[test]
fn the_predecessors_repository_and_ref_are_held_to_the_policy_as_claims() {
    let good = legacy(legacy_assets(&Sha256Digest::of(b"app").to_hex(), 3), COMMIT);
    let policy = ProvenancePolicy {
        source_uri: Some("github.com/acme/widget".into()),
        source_ref: Some("refs/tags/v1.4.2".into()),
        ..ProvenancePolicy::default()
    };
    let checks = run(&[], Some(&good), None, &policy);
    for code in [PROVENANCE_SOURCE_URI, PROVENANCE_SOURCE_REF] {
        let by_legacy: Vec<(Status, Value)> = checks
            .iter()
            .filter(|c| c.is(code) && c.path.as_deref() == Some("PROVENANCE.json"))
            .map(|c| (c.status, c.data["signed"].clone()))
            .collect();
        assert_eq!(
            by_legacy,
            vec![(Status::Pass, json!(false))],
            "{}",
            code.code
        );
    }
    // A ref the predecessor does not claim fails as an unsigned claim.
    let other_ref = ProvenancePolicy {
        source_ref: Some("refs/tags/v9".into()),
        ..ProvenancePolicy::default()
    };
    let legacy_ref = |policy: &ProvenancePolicy| -> Vec<Status> {
        run(&[], Some(&good), None, policy)
            .iter()
            .filter(|c| c.is(PROVENANCE_SOURCE_REF) && c.path.as_deref() == Some("PROVENANCE.json"))
            .map(|c| c.status)
            .collect()
    };
    assert_eq!(legacy_ref(&other_ref), vec![Status::Fail]);
    // Its `tag` is refs/tags/TAG, never the branch of that name.
    let branch_named_like_the_tag = ProvenancePolicy {
        source_ref: Some("refs/heads/v1.4.2".into()),
        ..ProvenancePolicy::default()
    };
    assert_eq!(legacy_ref(&branch_named_like_the_tag), vec![Status::Fail]);
}

#[test]
fn subject_count_limit_is_inclusive_and_other_algorithms_are_named() {
    let mut value = good_statement();
    value["subject"][0]["digest"]["sha512"] = json!("ab".repeat(64));
    let bytes = serde_json::to_vec(&value).unwrap();
    let limits = |max_subjects: usize| ProvenanceLimits {
        max_subjects,
        ..ProvenanceLimits::default()
    };
    // Two subjects: allowed at a limit of two, refused at one.
    let parsed = Statement::parse(&bytes, &limits(2)).unwrap();
    assert_eq!(
        parsed.subjects[0].other_algorithms,
        vec!["sha512".to_owned()]
    );
    assert!(parsed.subjects[1].other_algorithms.is_empty());
    assert!(matches!(
        Statement::parse(&bytes, &limits(1)),
        Err(ProvenanceError::TooManySubjects { found: 2, limit: 1 })
    ));
}

#[test]
fn sources_are_read_from_every_documented_place() {
    let facts = |external: Value, deps: Value| {
        let mut value = good_statement();
        value["predicate"]["buildDefinition"]["externalParameters"] = external;
        value["predicate"]["buildDefinition"]["resolvedDependencies"] = deps;
        SlsaFacts::of(&value["predicate"]).sources
    };
    let other = "1".repeat(40);
    // `source` as an object with `uri`; its commit comes from the dependency with the same
    // repository, not from the first dependency that has a commit.
    let sources = facts(
        json!({"source": {"uri": "git+https://github.com/acme/widget@refs/tags/v1.4.2"}}),
        json!([
            {"uri": "git+https://github.com/acme/tools@refs/heads/main", "digest": {"gitCommit": other}},
            {"uri": "git+https://github.com/acme/widget@refs/tags/v1.4.2", "digest": {"gitCommit": COMMIT}}
        ]),
    );
    assert_eq!(
        sources,
        vec![Source {
            uri: "git+https://github.com/acme/widget".into(),
            reference: Some("refs/tags/v1.4.2".into()),
            commit: Some(COMMIT.into()),
        }]
    );
    // An `@` that is not followed by a ref stays part of the URI.
    let sources = facts(
        json!({"source": "https://git.example/widget@v1.4.2"}),
        json!([]),
    );
    assert_eq!(
        sources,
        vec![Source {
            uri: "https://git.example/widget@v1.4.2".into(),
            reference: None,
            commit: None,
        }]
    );
}

#[test]
fn trusted_statements_are_not_said_to_be_unchecked() {
    let k = key(1);
    let checks = run_signed(&k, &good_statement(), &ProvenancePolicy::default());
    assert!(
        status_of(&checks, PROVENANCE_SIGNATURE_UNCHECKED).is_empty(),
        "{checks:#?}"
    );
    assert!(
        status_of(&checks, PROVENANCE_PREDICATE_UNSUPPORTED).is_empty(),
        "{checks:#?}"
    );
    let mut other = good_statement();
    other["predicateType"] = json!("https://example.com/attestation/test-result/v1");
    let checks = run_signed(&k, &other, &ProvenancePolicy::default());
    assert_eq!(
        status_of(&checks, PROVENANCE_PREDICATE_UNSUPPORTED),
        vec![Status::Warn]
    );
}

#[test]
fn a_provenance_file_over_the_byte_limit_is_refused_by_its_size() {
    let k = key(1);
    let file = signed(&good_statement(), &[&k]);
    let len = file.bytes.len() as u64;
    let t = trust(&k);
    let run_with = |max_bytes: u64| {
        let limits = ProvenanceLimits {
            max_bytes,
            ..ProvenanceLimits::default()
        };
        run_limited(
            std::slice::from_ref(&file),
            None,
            Some(&t),
            &ProvenancePolicy::default(),
            limits,
        )
    };
    assert!(no_failures(&run_with(len)));
    let checks = run_with(len / 2);
    let check = checks.iter().find(|c| c.is(PROVENANCE_INVALID)).unwrap();
    assert_eq!(
        check.detail,
        format!("larger than the limit of {} bytes", len / 2)
    );
}

#[test]
fn failures_explain_what_was_missing() {
    let k = key(1);
    let detail = |checks: &[Check], code: CheckCode, path: Option<&str>| {
        checks
            .iter()
            .find(|c| {
                c.is(code)
                    && c.status == Status::Fail
                    && path.is_none_or(|p| c.path.as_deref() == Some(p))
            })
            .map(|c| c.detail.clone())
            .unwrap_or_else(|| panic!("no failing {}: {checks:#?}", code.code))
    };
    let sbom_only = statement(&[("SBOM.spdx.json", Sha256Digest::of(b"{}").to_hex())]);
    let file = [signed(&sbom_only, &[&k])];
    let with_policy = run(&file, None, Some(&trust(&k)), &full_policy());
    assert!(
        detail(
            &with_policy,
            PROVENANCE_ARTIFACT_UNATTESTED,
            Some("app.tar.gz")
        )
        .contains("signed by trusted keys and meeting the policy")
    );
    let without_policy = run(&file, None, Some(&trust(&k)), &ProvenancePolicy::default());
    assert_eq!(
        detail(
            &without_policy,
            PROVENANCE_ARTIFACT_UNATTESTED,
            Some("app.tar.gz")
        ),
        "no SLSA statement signed by trusted keys has this asset's digest as a subject"
    );
    let named = ProvenancePolicy {
        artifacts: vec!["missing.bin".into()],
        ..ProvenancePolicy::default()
    };
    let checks = run_signed(&k, &good_statement(), &named);
    assert_eq!(
        detail(&checks, PROVENANCE_ARTIFACT_UNATTESTED, Some("missing.bin")),
        "named by --artifact but not a verified release asset"
    );

    let uri_only = ProvenancePolicy {
        source_uri: Some("github.com/acme/widget".into()),
        ..ProvenancePolicy::default()
    };
    let mut no_source = good_statement();
    no_source["predicate"]["buildDefinition"]["externalParameters"] = json!({});
    no_source["predicate"]["buildDefinition"]["resolvedDependencies"] = json!([]);
    let checks = run_signed(&k, &no_source, &uri_only);
    assert!(detail(&checks, PROVENANCE_SOURCE_URI, None).contains("names no source"));
    let other = ProvenancePolicy {
        source_uri: Some("github.com/acme/other".into()),
        ..ProvenancePolicy::default()
    };
    let checks = run_signed(&k, &good_statement(), &other);
    assert!(detail(&checks, PROVENANCE_SOURCE_URI, None).contains("not the required one"));
}
