use std::collections::HashMap;
use std::fs;

use super::*;
use crate::keys::{NamedKey, TrustPolicy};
use crate::provenance::{ProvenancePolicy, codes as pcodes};
use crate::release::{ReleaseOptions, codes as rcodes, verify_release};
use crate::report::{CheckCode, Report, Status};

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_seed(&[n; 32])
}

fn trust(k: &PrivateKey) -> TrustPolicy {
    TrustPolicy::new(
        vec![NamedKey {
            name: "release".into(),
            key: k.public(),
        }],
        1,
    )
    .unwrap()
}

fn release_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app-linux.tar.gz"), b"linux build").unwrap();
    fs::write(dir.path().join("app-darwin.tar.gz"), b"darwin build").unwrap();
    fs::create_dir(dir.path().join("docs")).unwrap();
    fs::write(dir.path().join("docs/CHANGELOG.md"), b"# 1.4.2\n").unwrap();
    dir
}

fn build() -> BuildInfo {
    BuildInfo {
        source_uri: Some("https://github.com/acme/widget".into()),
        source_ref: Some("refs/tags/v1.4.2".into()),
        source_commit: Some("3F2C1E9A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E".into()),
        ..BuildInfo::new("https://ci.example/builders/release@v1")
    }
}

fn seal_with(dir: &Path, k: &PrivateKey) -> Sealed {
    seal(
        dir,
        &SealOptions {
            keys: vec![k],
            build: build(),
            limits: SumsLimits::default(),
            progress: &hash::NoProgress,
        },
    )
    .unwrap()
}

fn verify(dir: &Path, k: &PrivateKey, policy: ProvenancePolicy) -> Report {
    let t = trust(k);
    verify_release(
        dir,
        &ReleaseOptions {
            trust: Some(&t),
            policy,
            ..ReleaseOptions::default()
        },
    )
    .unwrap()
    .report
}

fn snapshot(dir: &Path) -> HashMap<String, Vec<u8>> {
    [SUMS_FILE, SUMS_SIGNATURE_FILE, STATEMENT_FILE]
        .iter()
        .map(|n| ((*n).to_owned(), fs::read(dir.join(n)).unwrap()))
        .collect()
}

#[track_caller]
fn assert_fails(report: &Report, code: CheckCode) {
    assert!(
        report.with_code(code).any(|c| c.status == Status::Fail),
        "expected a failing {}:\n{}",
        code.code,
        report.to_text(true)
    );
}

#[test]
fn a_sealed_release_verifies_with_its_policy_and_sealing_is_idempotent() {
    let dir = release_dir();
    let k = key(1);
    let sealed = seal_with(dir.path(), &k);
    assert_eq!(
        sealed.assets.keys().collect::<Vec<_>>(),
        ["app-darwin.tar.gz", "app-linux.tar.gz", "docs/CHANGELOG.md"]
    );
    assert_eq!(
        sealed.written,
        [STATEMENT_FILE, SUMS_SIGNATURE_FILE, SUMS_FILE]
    );
    let first = snapshot(dir.path());
    seal_with(dir.path(), &k);
    assert_eq!(
        snapshot(dir.path()),
        first,
        "sealing twice writes identical files"
    );

    let policy = ProvenancePolicy {
        builder_id: Some("https://ci.example/builders/release@v1".into()),
        source_uri: Some("github.com/acme/widget".into()),
        source_ref: Some("refs/tags/v1.4.2".into()),
        source_commit: Some("3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e".into()),
        build_type: Some(DEFAULT_BUILD_TYPE.into()),
        artifacts: vec![],
    };
    let report = verify(dir.path(), &k, policy);
    assert!(report.ok(), "{}", report.to_text(true));
    for code in [
        rcodes::RELEASE_SUMS_THRESHOLD_MET,
        pcodes::PROVENANCE_THRESHOLD_MET,
        pcodes::PROVENANCE_BUILDER_ID,
        pcodes::PROVENANCE_SOURCE_URI,
        pcodes::PROVENANCE_SOURCE_REF,
        pcodes::PROVENANCE_SOURCE_COMMIT,
        pcodes::PROVENANCE_BUILD_TYPE,
    ] {
        assert!(
            report.with_code(code).all(|c| c.status == Status::Pass) && report.has(code),
            "{}",
            code.code
        );
    }
    assert_eq!(
        report.with_code(pcodes::PROVENANCE_SUBJECT_MATCH).count(),
        3
    );
}

#[test]
fn rewriting_a_binary_and_its_checksum_is_caught() {
    let dir = release_dir();
    let k = key(1);
    seal_with(dir.path(), &k);
    // The attacker replaces a binary and recomputes SHA256SUMS to match.
    fs::write(dir.path().join("app-linux.tar.gz"), b"evil build").unwrap();
    let digests: BTreeMap<String, Sha256Digest> =
        ["app-darwin.tar.gz", "app-linux.tar.gz", "docs/CHANGELOG.md"]
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    Sha256Digest::of(&fs::read(dir.path().join(n)).unwrap()),
                )
            })
            .collect();
    fs::write(dir.path().join(SUMS_FILE), sums::write(&digests)).unwrap();
    let report = verify(dir.path(), &k, ProvenancePolicy::default());
    assert_fails(&report, rcodes::RELEASE_SUMS_SIGNATURE_INVALID);
    assert_fails(&report, pcodes::PROVENANCE_SUBJECT_MISMATCH);
    // Re-signed by the attacker's own key: untrusted.
    let attacker = key(9);
    seal_with(dir.path(), &attacker);
    let report = verify(dir.path(), &k, ProvenancePolicy::default());
    assert_fails(&report, rcodes::RELEASE_SUMS_SIGNER_UNTRUSTED);
    assert_fails(&report, pcodes::PROVENANCE_SIGNER_UNTRUSTED);
}

#[test]
fn sealing_refuses_what_verification_would_refuse() {
    let k = key(1);
    let opts = SealOptions {
        keys: vec![&k],
        build: build(),
        limits: SumsLimits::default(),
        progress: &hash::NoProgress,
    };
    let dir = release_dir();
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("host")).unwrap();
    assert!(matches!(
        seal(dir.path(), &opts),
        Err(SealError::Refused { .. })
    ));
    fs::remove_file(dir.path().join("host")).unwrap();
    fs::hard_link(
        dir.path().join("app-linux.tar.gz"),
        dir.path().join("docs/linked"),
    )
    .unwrap();
    assert!(matches!(
        seal(dir.path(), &opts),
        Err(SealError::Refused { .. })
    ));
    fs::remove_file(dir.path().join("docs/linked")).unwrap();
    fs::write(dir.path().join("APP-LINUX.tar.gz"), b"x").unwrap();
    assert!(matches!(
        seal(dir.path(), &opts),
        Err(SealError::Refused { .. })
    ));

    let empty = tempfile::tempdir().unwrap();
    fs::write(empty.path().join(SUMS_FILE), b"").unwrap();
    assert!(matches!(seal(empty.path(), &opts), Err(SealError::Empty)));
    assert!(matches!(
        seal(
            empty.path(),
            &SealOptions {
                keys: vec![],
                ..opts
            }
        ),
        Err(SealError::NoKey)
    ));
    // Nothing was written by the refused seals.
    assert_eq!(fs::read(empty.path().join(SUMS_FILE)).unwrap(), b"");
    assert!(!dir.path().join(SUMS_FILE).exists());
}

#[test]
fn github_actions_variables_fill_the_provenance() {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/widget"),
        ("GITHUB_SHA", "3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"),
        ("GITHUB_REF", "refs/tags/v1.4.2"),
        (
            "GITHUB_WORKFLOW_REF",
            "acme/widget/.github/workflows/release.yml@refs/tags/v1.4.2",
        ),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_RUN_ATTEMPT", "1"),
    ]);
    let info = BuildInfo::from_github_env(|n| vars.get(n).map(|v| (*v).to_owned())).unwrap();
    assert_eq!(
        info.builder_id,
        "https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.4.2"
    );
    assert_eq!(info.build_type, GITHUB_WORKFLOW_BUILD_TYPE);
    assert_eq!(
        info.invocation_id.as_deref(),
        Some("https://github.com/acme/widget/actions/runs/42/attempts/1")
    );
    let predicate = info.predicate();
    assert_eq!(
        predicate["buildDefinition"]["externalParameters"]["workflow"]["path"],
        ".github/workflows/release.yml"
    );
    assert_eq!(
        predicate["buildDefinition"]["resolvedDependencies"][0]["uri"],
        "git+https://github.com/acme/widget@refs/tags/v1.4.2"
    );
    let facts = crate::provenance::Statement {
        subjects: vec![],
        predicate_type: SLSA_PROVENANCE_V1.into(),
        predicate,
    }
    .slsa()
    .unwrap();
    assert!(facts.sources.iter().any(|s| s.commit.as_deref()
        == Some("3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e")
        && s.reference.as_deref() == Some("refs/tags/v1.4.2")));
    let outside = BuildInfo::from_github_env(|_| None).unwrap_err();
    assert!(matches!(outside, SealError::Environment(_)));
}

#[test]
fn temporaries_of_an_interrupted_seal_are_removed_not_sealed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.tar.gz"), b"app").unwrap();
    // What a seal killed before its renames leaves, and a look-alike that is not ours.
    let stale = [
        ".SHA256SUMS.tmp-4242-0123456789abcdef",
        ".release.intoto.jsonl.tmp-4242-fedcba9876543210",
        ".SHA256SUMS.dsse.json.tmp-1-00000000000000ff",
    ];
    for name in stale {
        std::fs::write(dir.path().join(name), b"partial").unwrap();
    }
    std::fs::write(dir.path().join(".notes.tmp-1-0123456789abcdef"), b"mine").unwrap();
    let key = key(9);
    let sealed = seal(
        dir.path(),
        &SealOptions {
            keys: vec![&key],
            build: BuildInfo::new("https://ci.example/b"),
            limits: SumsLimits::default(),
            progress: &crate::hash::NoProgress,
        },
    )
    .unwrap();
    let assets: Vec<&str> = sealed.assets.keys().map(String::as_str).collect();
    // Only our own temporaries go; anything else is an asset like any other.
    assert_eq!(assets, [".notes.tmp-1-0123456789abcdef", "app.tar.gz"]);
    for name in stale {
        assert!(!dir.path().join(name).exists(), "{name}");
    }
}
