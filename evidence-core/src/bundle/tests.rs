//! Bundle creation, co-signing, verification and archive tests. Each negative test names the
//! check code (or error variant) it expects.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::archive::{self, ArchiveError, ArchiveLimits};
use super::build::{self, BuildError, BuildOptions, Input};
use super::codes::*;
use super::verify::verify_dir;
use super::*;
use crate::keys::{NamedKey, PrivateKey, TrustPolicy};
use crate::report::{CheckCode, Status};
use crate::timestamp::Timestamp;

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_seed(&[n; 32])
}

fn trust(keys: &[&PrivateKey], threshold: u32) -> TrustPolicy {
    TrustPolicy::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| NamedKey {
                name: format!("key{i}"),
                key: k.public(),
            })
            .collect(),
        threshold,
    )
    .unwrap()
}

/// An input folder with a nested file and a top-level file.
fn inputs(root: &Path) -> Vec<Input> {
    let dir = root.join("logs");
    fs::create_dir_all(dir.join("app")).unwrap();
    fs::write(dir.join("app/server.log"), "GET /health 200\n").unwrap();
    fs::write(dir.join("boot.txt"), "booted\n").unwrap();
    fs::write(root.join("status.json"), "{\"status\":\"ok\"}\n").unwrap();
    vec![Input::Path(dir), Input::Path(root.join("status.json"))]
}

fn options<'a>(sign: &[&'a PrivateKey]) -> BuildOptions<'a> {
    let mut opts = BuildOptions::new("deployment");
    opts.created_at = Some(Timestamp::parse("2026-11-22T09:30:00Z").unwrap());
    opts.subject = BTreeMap::from([
        ("target".to_owned(), "https://api.example".to_owned()),
        ("commit".to_owned(), "3f2c1e9".to_owned()),
    ]);
    opts.sign = sign.to_vec();
    opts
}

/// A fresh signed bundle at `<tmp>/b`.
fn signed_bundle(tmp: &Path, signer: &PrivateKey) -> PathBuf {
    let src = tmp.join("src");
    fs::create_dir_all(&src).unwrap();
    let out = tmp.join("b");
    build::create(&out, &inputs(&src), &options(&[signer])).unwrap();
    out
}

fn verify(dir: &Path, policy: Option<&TrustPolicy>) -> BundleVerification {
    verify_dir(
        dir,
        &VerifyOptions {
            trust: policy,
            ..VerifyOptions::default()
        },
    )
}

fn failing(v: &BundleVerification) -> Vec<&str> {
    v.report.failures().map(|c| &*c.code).collect()
}

#[track_caller]
fn assert_fails_with(v: &BundleVerification, code: CheckCode) {
    assert!(!v.report.ok(), "{}", v.report.to_text(true));
    assert!(v.bundle.is_none());
    assert!(
        v.report.with_code(code).any(|c| c.status == Status::Fail),
        "expected a failing {} check, got {:?}",
        code.code,
        failing(v)
    );
}

fn tree_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn created_bundles_verify_and_are_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let k = key(1);
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let ins = inputs(&src);
    let a = build::create(&tmp.path().join("a"), &ins, &options(&[&k])).unwrap();
    let b = build::create(&tmp.path().join("b"), &ins, &options(&[&k])).unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(
        tree_bytes(&tmp.path().join("a")),
        tree_bytes(&tmp.path().join("b"))
    );
    let paths: Vec<&str> = a.manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "payload/logs/app/server.log",
            "payload/logs/boot.txt",
            "payload/status.json"
        ]
    );

    let policy = trust(&[&k], 1);
    let v = verify(&tmp.path().join("a"), Some(&policy));
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    let bundle = v.bundle.unwrap();
    assert_eq!(bundle.id, a.id);
    assert_eq!(bundle.signers.len(), 1);
    assert_eq!(bundle.signers[0].key_id, k.public().key_id());
    assert!(v.report.has(BUNDLE_THRESHOLD_MET));
    // The creation time is reported as a claim, never as a pass.
    assert!(
        v.report
            .with_code(BUNDLE_CREATED_AT_CLAIM)
            .all(|c| c.status == Status::Skip)
    );

    // A different creation time gives a different id.
    let mut later = options(&[&k]);
    later.created_at = Some(Timestamp::parse("2026-11-22T09:30:01Z").unwrap());
    let c = build::create(&tmp.path().join("c"), &ins, &later).unwrap();
    assert_ne!(c.id, a.id);
}

#[test]
fn coreutils_checks_a_bundle_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let out = std::process::Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches(": OK").count(),
        4
    );
}

#[test]
fn without_trust_only_integrity_is_checked_and_said() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let v = verify(&dir, None);
    assert!(v.report.ok());
    assert!(
        v.report
            .with_code(BUNDLE_SIGNATURE_UNCHECKED)
            .all(|c| c.status == Status::Warn)
    );
    assert!(!v.bundle.unwrap().is_signed());
}

#[test]
fn creation_refuses_links_specials_collisions_and_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/a.txt"), "a").unwrap();
    symlink("/etc/hostname", src.join("d/host")).unwrap();
    let opts = options(&[]);
    let out = tmp.path().join("out");
    let err = build::create(&out, &[Input::Path(src.join("d"))], &opts).unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::Unsupported {
                what: "symbolic link",
                ..
            }
        ),
        "{err}"
    );
    let err = build::create(&out, &[Input::Path(src.join("d/host"))], &opts).unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::Unsupported {
                what: "symbolic link",
                ..
            }
        ),
        "{err}"
    );
    fs::remove_file(src.join("d/host")).unwrap();

    let fifo = src.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = build::create(&out, &[Input::Path(fifo)], &opts).unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::Unsupported {
                what: "special file",
                ..
            }
        ),
        "{err}"
    );

    fs::write(src.join("README"), "x").unwrap();
    fs::create_dir_all(src.join("other")).unwrap();
    fs::write(src.join("other/readme"), "y").unwrap();
    let err = build::create(
        &out,
        &[
            Input::Path(src.join("README")),
            Input::PathAs {
                path: src.join("other/readme"),
                at: "readme".into(),
            },
        ],
        &opts,
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::Collision { .. }), "{err}");

    fs::create_dir_all(src.join("empty")).unwrap();
    let err = build::create(&out, &[Input::Path(src.join("empty"))], &opts).unwrap_err();
    assert!(matches!(err, BuildError::Empty), "{err}");

    let err = build::create(
        &out,
        &[Input::Bytes {
            at: "../escape".into(),
            bytes: vec![],
        }],
        &opts,
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::BadName { .. }), "{err}");

    // Nothing was left behind: no destination, no temporary folder.
    assert!(!out.exists());
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An existing destination is never overwritten.
    fs::create_dir_all(&out).unwrap();
    let err = build::create(&out, &[Input::Path(src.join("README"))], &opts).unwrap_err();
    assert!(matches!(err, BuildError::Exists(_)), "{err}");
}

#[test]
fn cosigning_keeps_the_id_and_reaches_a_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (key(1), key(2));
    let dir = signed_bundle(tmp.path(), &a);
    let id = BundleId::of_manifest(&fs::read(dir.join(MANIFEST_FILE)).unwrap());
    let policy = trust(&[&a, &b], 2);
    assert_fails_with(&verify(&dir, Some(&policy)), BUNDLE_THRESHOLD_NOT_MET);
    assert_eq!(build::cosign(&dir, &b).unwrap(), id);
    let envelope = fs::read(dir.join(ENVELOPE_FILE)).unwrap();
    assert_eq!(
        build::cosign(&dir, &b).unwrap(),
        id,
        "signing twice changes nothing"
    );
    assert_eq!(fs::read(dir.join(ENVELOPE_FILE)).unwrap(), envelope);
    let v = verify(&dir, Some(&policy));
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    assert_eq!(v.bundle.unwrap().id, id);

    // A tampered bundle is never co-signed.
    fs::write(dir.join("payload/status.json"), "{}").unwrap();
    assert!(matches!(
        build::cosign(&dir, &key(3)),
        Err(BuildError::NotVerified(_))
    ));
}

#[test]
fn directory_tampering_is_reported_by_its_code() {
    let signer = key(1);
    let policy = trust(&[&signer], 1);
    type Tamper = fn(&Path);
    let cases: Vec<(&str, Tamper, CheckCode)> = vec![
        (
            "flip a byte",
            |d| fs::write(d.join("payload/status.json"), "{\"status\":\"no\"}\n").unwrap(),
            BUNDLE_FILE_MISMATCH,
        ),
        (
            "truncate",
            |d| fs::write(d.join("payload/logs/boot.txt"), "boot").unwrap(),
            BUNDLE_FILE_MISMATCH,
        ),
        (
            "delete",
            |d| fs::remove_file(d.join("payload/logs/boot.txt")).unwrap(),
            BUNDLE_FILE_MISSING,
        ),
        (
            "plant a file",
            |d| fs::write(d.join("payload/extra.sh"), "x").unwrap(),
            BUNDLE_FILE_UNLISTED,
        ),
        (
            "plant at the top",
            |d| fs::write(d.join("NOTES"), "x").unwrap(),
            BUNDLE_FILE_UNLISTED,
        ),
        (
            "plant an empty folder",
            |d| fs::create_dir(d.join("payload/empty")).unwrap(),
            BUNDLE_ENTRY_FORBIDDEN,
        ),
        (
            "plant a symlink",
            |d| symlink("/etc/hostname", d.join("payload/host")).unwrap(),
            BUNDLE_ENTRY_FORBIDDEN,
        ),
        (
            "hard-link a payload file",
            |d| fs::hard_link(d.join("payload/status.json"), d.join("status-link")).unwrap(),
            BUNDLE_ENTRY_FORBIDDEN,
        ),
        (
            "strip the signature",
            |d| fs::remove_file(d.join(ENVELOPE_FILE)).unwrap(),
            BUNDLE_SIGNATURE_MISSING,
        ),
        (
            "re-sign by a stranger",
            |d| {
                fs::remove_file(d.join(ENVELOPE_FILE)).unwrap();
                build::cosign(d, &key(9)).unwrap();
            },
            BUNDLE_SIGNER_UNTRUSTED,
        ),
        (
            "break the envelope",
            |d| fs::write(d.join(ENVELOPE_FILE), "{}").unwrap(),
            BUNDLE_ENVELOPE_INVALID,
        ),
        (
            "edit SHA256SUMS",
            |d| {
                let sums = fs::read_to_string(d.join(SUMS_FILE)).unwrap();
                fs::write(
                    d.join(SUMS_FILE),
                    sums.replacen("payload/status.json", "payload/status.jsonx", 1),
                )
                .unwrap()
            },
            BUNDLE_SUMS_MISMATCH,
        ),
        (
            "remove SHA256SUMS",
            |d| fs::remove_file(d.join(SUMS_FILE)).unwrap(),
            BUNDLE_LAYOUT_INVALID,
        ),
        (
            "reformat the manifest",
            |d| {
                let m = fs::read_to_string(d.join(MANIFEST_FILE)).unwrap();
                fs::write(d.join(MANIFEST_FILE), format!("{m}\n")).unwrap()
            },
            BUNDLE_MANIFEST_INVALID,
        ),
        (
            "edit the manifest subject",
            |d| {
                let m = fs::read_to_string(d.join(MANIFEST_FILE)).unwrap();
                fs::write(d.join(MANIFEST_FILE), m.replace("3f2c1e9", "0000000")).unwrap()
            },
            BUNDLE_SIGNATURE_INVALID,
        ),
    ];
    for (name, tamper, code) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = signed_bundle(tmp.path(), &signer);
        assert!(verify(&dir, Some(&policy)).report.ok());
        tamper(&dir);
        let v = verify(&dir, Some(&policy));
        assert!(
            v.report.with_code(code).any(|c| c.status == Status::Fail),
            "{name}: expected {}, got {:?}",
            code.code,
            failing(&v)
        );
        assert!(v.bundle.is_none(), "{name}");
    }
}

#[test]
fn allow_unsigned_warns_but_a_forgery_still_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = key(1);
    let policy = trust(&[&signer], 1);
    let dir = signed_bundle(tmp.path(), &signer);
    fs::remove_file(dir.join(ENVELOPE_FILE)).unwrap();
    let opts = VerifyOptions {
        trust: Some(&policy),
        signatures: SignatureRequirement::AllowUnsigned,
        ..VerifyOptions::default()
    };
    let v = verify_dir(&dir, &opts);
    assert!(v.report.ok());
    assert!(
        v.report
            .with_code(BUNDLE_SIGNATURE_MISSING)
            .all(|c| c.status == Status::Warn)
    );
    // A signature by a stranger labelled with the trusted key's id is a forgery.
    build::cosign(&dir, &key(9)).unwrap();
    let text = fs::read_to_string(dir.join(ENVELOPE_FILE)).unwrap();
    let stranger_id = key(9).public().key_id().to_string();
    let forged = text.replace(&stranger_id, &signer.public().key_id().to_string());
    fs::write(dir.join(ENVELOPE_FILE), forged).unwrap();
    assert_fails_with(&verify_dir(&dir, &opts), BUNDLE_SIGNATURE_INVALID);
}

#[test]
fn unsafe_and_colliding_manifest_paths_have_their_own_codes() {
    use crate::canonical::to_canonical_vec;
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let original: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST_FILE)).unwrap()).unwrap();
    let rewrite = |files: serde_json::Value| {
        let mut m = original.clone();
        m["files"] = files;
        fs::write(dir.join(MANIFEST_FILE), to_canonical_vec(&m).unwrap()).unwrap();
        verify(&dir, None)
    };
    let entry =
        |path: &str| serde_json::json!({"path": path, "size": 1, "sha256": "00".repeat(32)});
    let v = rewrite(serde_json::json!([entry("payload/../etc/passwd")]));
    assert_fails_with(&v, BUNDLE_PATH_UNSAFE);
    let v = rewrite(serde_json::json!([entry("SHA256SUMS")]));
    assert_fails_with(&v, BUNDLE_PATH_UNSAFE);
    let v = rewrite(serde_json::json!([
        entry("payload/README"),
        entry("payload/readme")
    ]));
    assert_fails_with(&v, BUNDLE_PATH_COLLISION);
    let v = rewrite(serde_json::json!([]));
    assert_fails_with(&v, BUNDLE_EMPTY);
}

#[test]
fn archives_are_deterministic_and_verify_without_unpacking() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = key(1);
    let policy = trust(&[&signer], 1);
    let dir = signed_bundle(tmp.path(), &signer);
    let a = tmp.path().join("a.tar.gz");
    let b = tmp.path().join("b.tar.gz");
    let id = archive::pack(&dir, &a).unwrap();
    archive::pack(&dir, &b).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert!(matches!(
        archive::pack(&dir, &a),
        Err(ArchiveError::Exists(_))
    ));

    let opts = VerifyOptions {
        trust: Some(&policy),
        ..VerifyOptions::default()
    };
    let v = archive::verify_archive(&a, &opts);
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    assert_eq!(v.bundle.unwrap().id, id);
    // Both forms' reports name the bundle they verified.
    assert_eq!(v.report.subject["id"], id.to_string());
    assert_eq!(v.report.subject["form"], "archive");
    let folder = verify_dir(&dir, &opts);
    assert_eq!(folder.report.subject["id"], id.to_string());
    assert_eq!(folder.report.subject["form"], "directory");

    let out = tmp.path().join("unpacked");
    let v = archive::unpack(&a, &out, &opts).unwrap();
    assert!(v.report.ok());
    assert_eq!(tree_bytes(&out), tree_bytes(&dir));

    // A stranger's trust policy: the archive fails and nothing is unpacked.
    let stranger = trust(&[&key(9)], 1);
    let out2 = tmp.path().join("refused");
    let v = archive::unpack(
        &a,
        &out2,
        &VerifyOptions {
            trust: Some(&stranger),
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert_fails_with(&v, BUNDLE_SIGNER_UNTRUSTED);
    assert!(!out2.exists());
    assert_eq!(
        fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        0,
        "no temporary folder is left behind"
    );

    // A tampered bundle is never packed.
    fs::write(dir.join("payload/status.json"), "{}").unwrap();
    assert!(matches!(
        archive::pack(&dir, &tmp.path().join("c.tar.gz")),
        Err(ArchiveError::NotVerified(_))
    ));
}

#[test]
fn archives_verify_from_memory_like_from_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = key(1);
    let policy = trust(&[&signer], 1);
    let dir = signed_bundle(tmp.path(), &signer);
    let packed = tmp.path().join("a.tar.gz");
    let id = archive::pack(&dir, &packed).unwrap();
    let bytes = fs::read(&packed).unwrap();
    let opts = VerifyOptions {
        trust: Some(&policy),
        ..VerifyOptions::default()
    };
    let from_file = archive::verify_archive(&packed, &opts);
    let v = archive::verify_archive_reader(bytes.as_slice(), "in-memory.tar.gz", &opts);
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    assert_eq!(v.bundle.unwrap().id, id);
    assert_eq!(v.report.subject["bundle"], "in-memory.tar.gz");
    assert_eq!(v.report.subject["id"], id.to_string());
    assert_eq!(v.report.checks, from_file.report.checks);

    // The same streaming checks apply: a byte appended after the gzip member fails.
    let mut trailing = bytes.clone();
    trailing.push(0);
    let v = archive::verify_archive_reader(trailing.as_slice(), "trailing", &opts);
    assert_fails_with(&v, BUNDLE_ARCHIVE_INVALID);
    // A truncated archive fails without panicking.
    let v = archive::verify_archive_reader(&bytes[..bytes.len() / 2], "half", &opts);
    assert!(!v.report.ok());
}

#[test]
fn highly_compressible_evidence_verifies_and_unpacks_and_oversized_entries_stop() {
    // 24 MiB of zeros (a wiped disk image) compresses over 1000:1: evidence, not a bomb. The
    // manifest declares every byte, so the stream stays within what it declares.
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("zeros.bin");
    fs::write(&src, vec![0u8; 24 << 20]).unwrap();
    let dir = tmp.path().join("b");
    build::create(&dir, &[Input::Path(src)], &options(&[])).unwrap();
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    assert!(fs::metadata(&packed).unwrap().len() < 200 << 10);
    let v = archive::verify_archive(&packed, &VerifyOptions::default());
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    let out = tmp.path().join("unpacked");
    let v = archive::unpack(&packed, &out, &VerifyOptions::default()).unwrap();
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    assert_eq!(
        fs::metadata(out.join("payload/zeros.bin")).unwrap().len(),
        24 << 20
    );

    let limits = BundleLimits {
        archive: ArchiveLimits {
            max_entry_bytes: 1 << 20,
            ..ArchiveLimits::default()
        },
        ..BundleLimits::default()
    };
    let v = archive::verify_archive(
        &packed,
        &VerifyOptions {
            limits,
            ..VerifyOptions::default()
        },
    );
    assert_fails_with(&v, BUNDLE_ARCHIVE_LIMIT);
    assert!(
        v.report
            .with_code(BUNDLE_ARCHIVE_LIMIT)
            .any(|c| c.detail.contains("larger than the limit"))
    );
}

#[test]
fn folders_and_archives_share_entry_and_manifest_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let with = |limits: BundleLimits| VerifyOptions {
        limits,
        signatures: crate::dsse::SignatureRequirement::AllowUnsigned,
        ..VerifyOptions::default()
    };
    let few_entries = with(BundleLimits {
        archive: ArchiveLimits {
            max_entries: 3,
            ..ArchiveLimits::default()
        },
        ..BundleLimits::default()
    });
    let small_manifest = with(BundleLimits {
        manifest: ManifestLimits {
            max_bytes: 64,
            ..ManifestLimits::default()
        },
        ..BundleLimits::default()
    });
    for opts in [few_entries, small_manifest] {
        let folder = super::verify::verify_dir(&dir, &opts);
        let archive = archive::verify_archive(&packed, &opts);
        for v in [&folder, &archive] {
            assert_fails_with(v, BUNDLE_ARCHIVE_LIMIT);
        }
    }
}

#[test]
fn captured_files_are_the_verified_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let capture = ["payload/status.json"];
    let opts = VerifyOptions {
        capture: &capture,
        ..VerifyOptions::default()
    };
    let v = verify_dir(&dir, &opts);
    let bundle = v.bundle.unwrap();
    assert_eq!(
        bundle
            .captured
            .get("payload/status.json")
            .map(Vec::as_slice),
        Some(&b"{\"status\":\"ok\"}\n"[..])
    );
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let v = archive::verify_archive(&packed, &opts);
    assert_eq!(v.bundle.unwrap().captured, bundle.captured);
}

/// The capture limits hold alike for a folder and its archive: the same files fail with the
/// same check (`bundle-archive-limit`) and the same detail, and nothing verifies without them.
#[test]
fn capture_limits_are_the_same_for_folders_and_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let forms = [(&dir, "folder"), (&packed, "archive")];
    let limited = |per_file: u64, total: u64| BundleLimits {
        max_capture_bytes: per_file,
        max_capture_total_bytes: total,
        ..BundleLimits::default()
    };
    let details = |v: &BundleVerification| -> Vec<(Option<String>, String)> {
        v.report
            .with_code(BUNDLE_ARCHIVE_LIMIT)
            .map(|c| (c.path.clone(), c.detail.to_string()))
            .collect()
    };

    // One file over the per-file limit (payload/status.json is 16 bytes).
    let capture = ["payload/status.json"];
    let mut seen = Vec::new();
    for (path, form) in forms {
        let v = verify_path(
            path,
            &VerifyOptions {
                capture: &capture,
                limits: limited(10, 1 << 20),
                ..VerifyOptions::default()
            },
        );
        assert_fails_with(&v, BUNDLE_ARCHIVE_LIMIT);
        assert!(
            !v.report.has(BUNDLE_FILE_MISMATCH),
            "{form}: {:?}",
            failing(&v)
        );
        seen.push(details(&v));
    }
    assert_eq!(seen[0], seen[1], "folder and archive report alike");
    assert!(
        seen[0][0].1.contains("larger than the limit of 10 bytes"),
        "{seen:?}"
    );

    // Files under a folder, together over the total: the first in manifest order fits, the
    // next does not (app/server.log is 16 bytes, boot.txt 7).
    let capture = ["payload/logs/"];
    let mut seen = Vec::new();
    for (path, _) in forms {
        let v = verify_path(
            path,
            &VerifyOptions {
                capture: &capture,
                limits: limited(1 << 20, 20),
                ..VerifyOptions::default()
            },
        );
        assert_fails_with(&v, BUNDLE_ARCHIVE_LIMIT);
        seen.push(details(&v));
    }
    assert_eq!(seen[0], seen[1], "folder and archive report alike");
    assert_eq!(seen[0].len(), 1, "{seen:?}");
    assert_eq!(seen[0][0].0.as_deref(), Some("payload/logs/boot.txt"));
    assert!(
        seen[0][0]
            .1
            .contains("together exceed the limit of 20 bytes")
    );

    // Within both limits, a folder prefix keeps every file below it, in both forms.
    let mut kept = Vec::new();
    for (path, form) in forms {
        let v = verify_path(
            path,
            &VerifyOptions {
                capture: &capture,
                limits: limited(16, 23),
                ..VerifyOptions::default()
            },
        );
        let bundle = v
            .bundle
            .unwrap_or_else(|| panic!("{form}: {}", v.report.to_text(true)));
        kept.push(bundle.captured.clone());
    }
    assert_eq!(kept[0], kept[1]);
    assert_eq!(
        kept[0].keys().collect::<Vec<_>>(),
        ["payload/logs/app/server.log", "payload/logs/boot.txt"]
    );
}

#[test]
fn bundles_can_be_written_straight_to_an_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let k = key(1);
    let out = tmp.path().join("permit.tar.gz");
    let built = build::create_archive(
        &out,
        &[Input::Bytes {
            at: "permit.json".into(),
            bytes: b"{}".to_vec(),
        }],
        &options(&[&k]),
    )
    .unwrap();
    let policy = trust(&[&k], 1);
    let v = super::verify_path(
        &out,
        &VerifyOptions {
            trust: Some(&policy),
            ..VerifyOptions::default()
        },
    );
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    assert_eq!(v.bundle.unwrap().id, built.id);
    // Only the archive is left: no staging folder.
    let names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["permit.tar.gz"]);
    assert!(matches!(
        build::create_archive(&out, &[], &options(&[])),
        Err(BuildError::Exists(_))
    ));
}

#[test]
fn hard_linked_metadata_files_are_forbidden_like_payload_files() {
    // FORMAT 5.1: no file in the bundle may have a second hard link. A hard-linked
    // manifest.json, SHA256SUMS or manifest.dsse.json can be changed through the other name
    // after verification, exactly like a payload file.
    let signer = key(1);
    let policy = trust(&[&signer], 1);
    for name in [MANIFEST_FILE, SUMS_FILE, ENVELOPE_FILE] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = signed_bundle(tmp.path(), &signer);
        fs::hard_link(dir.join(name), tmp.path().join("outside")).unwrap();
        let v = verify(&dir, Some(&policy));
        assert_fails_with(&v, BUNDLE_ENTRY_FORBIDDEN);
        assert!(
            v.report
                .with_code(BUNDLE_ENTRY_FORBIDDEN)
                .any(|c| c.path.as_deref() == Some(name)),
            "{name}: {}",
            v.report.to_text(true)
        );
        assert_eq!(failing(&v), [BUNDLE_ENTRY_FORBIDDEN.code], "{name}");
    }
}

/// The decompressed tar stream of a packed archive, and that stream without its two
/// end-of-archive blocks.
fn tar_of(packed: &Path) -> (Vec<u8>, Vec<u8>) {
    use std::io::Read as _;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(packed).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    let mut body = tar.clone();
    while body.len() >= 512 && body[body.len() - 512..].iter().all(|b| *b == 0) {
        body.truncate(body.len() - 512);
    }
    (tar, body)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn archives_must_end_where_the_verified_stream_ends() {
    // `tar -xzf` (and Python's tarfile) decompress every gzip member and read on past a
    // stream that stops without an end-of-archive marker; a verifier that stops at the end of
    // the first member would vouch for an archive that other tools unpack differently.
    let tmp = tempfile::tempdir().unwrap();
    let signer = key(1);
    let policy = trust(&[&signer], 1);
    let dir = signed_bundle(tmp.path(), &signer);
    let packed = tmp.path().join("good.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let good = fs::read(&packed).unwrap();
    let (tar, body) = tar_of(&packed);

    // A second gzip member that overwrites a payload file and plants another.
    let mut evil = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("payload/status.json", &b"{\"status\":\"pwned\"}\n"[..]),
        ("payload/planted.sh", &b"#!/bin/sh\n"[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        evil.append_data(&mut header, name, data).unwrap();
    }
    let evil = evil.into_inner().unwrap();
    let mut two_members = gzip(&body);
    two_members.extend_from_slice(&gzip(&evil));

    let mut trailing_garbage = good.clone();
    trailing_garbage.extend_from_slice(b"not gzip");
    let mut bad_crc = good.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0x01;
    let no_trailer = good[..good.len() - 8].to_vec();
    let mut after_end_marker = tar.clone();
    after_end_marker.extend_from_slice(&evil);
    let after_end_marker = gzip(&after_end_marker);

    let opts = VerifyOptions {
        trust: Some(&policy),
        ..VerifyOptions::default()
    };
    for (name, bytes) in [
        ("second gzip member", two_members),
        ("bytes after the gzip member", trailing_garbage),
        ("wrong gzip CRC", bad_crc),
        ("gzip trailer cut off", no_trailer),
        ("entries after the end-of-archive marker", after_end_marker),
    ] {
        let path = tmp.path().join("case.tar.gz");
        fs::write(&path, &bytes).unwrap();
        let v = archive::verify_archive(&path, &opts);
        assert!(
            v.report
                .with_code(BUNDLE_ARCHIVE_INVALID)
                .any(|c| c.status == Status::Fail),
            "{name}: {}",
            v.report.to_text(true)
        );
        assert!(v.bundle.is_none(), "{name}");
        let out = tmp.path().join("out");
        let v = archive::unpack(&path, &out, &opts).unwrap();
        assert!(!v.report.ok(), "{name}");
        assert!(!out.exists(), "{name}");
        fs::remove_file(&path).unwrap();
    }
    // The untouched archive still verifies.
    let v = archive::verify_archive(&packed, &opts);
    assert!(v.report.ok(), "{}", v.report.to_text(true));
}

/// Writes a `.tar.gz` whose entries are `entries` (name, bytes) in order, all regular files.
fn raw_archive(path: &Path, entries: &[(&str, &[u8])]) {
    let file = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn repeated_metadata_and_early_stops_report_what_is_wrong_only() {
    let tmp = tempfile::tempdir().unwrap();
    let k = key(1);
    let dir = signed_bundle(tmp.path(), &k);
    let manifest = fs::read(dir.join(MANIFEST_FILE)).unwrap();
    let sums = fs::read(dir.join(SUMS_FILE)).unwrap();
    let policy = trust(&[&k], 1);
    let opts = VerifyOptions {
        trust: Some(&policy),
        ..VerifyOptions::default()
    };
    // manifest.json again after SHA256SUMS: a repeated entry, not an unlisted file.
    let repeated = tmp.path().join("repeated.tar.gz");
    raw_archive(
        &repeated,
        &[
            (MANIFEST_FILE, &manifest),
            (SUMS_FILE, &sums),
            (MANIFEST_FILE, b"{}"),
        ],
    );
    let v = archive::verify_archive(&repeated, &opts);
    assert_fails_with(&v, BUNDLE_ARCHIVE_INVALID);
    assert!(
        !v.report.has(BUNDLE_FILE_UNLISTED),
        "{}",
        v.report.to_text(true)
    );
    // An archive that starts with a payload file stops there; no signature verdict is given
    // about metadata that was never read.
    let early = tmp.path().join("early.tar.gz");
    raw_archive(&early, &[("payload/x", b"x"), (MANIFEST_FILE, &manifest)]);
    let v = archive::verify_archive(&early, &opts);
    assert_fails_with(&v, BUNDLE_ARCHIVE_INVALID);
    assert!(
        !v.report.has(BUNDLE_SIGNATURE_MISSING),
        "{}",
        v.report.to_text(true)
    );
    // A folder without manifest.json: the layout failure, and no word about signatures.
    fs::remove_file(dir.join(MANIFEST_FILE)).unwrap();
    let v = verify(&dir, Some(&policy));
    assert_fails_with(&v, BUNDLE_LAYOUT_INVALID);
    assert!(
        !v.report.has(BUNDLE_SIGNATURE_INVALID),
        "{}",
        v.report.to_text(true)
    );
    assert!(
        !v.report.has(BUNDLE_SIGNATURE_MISSING),
        "{}",
        v.report.to_text(true)
    );
}

#[test]
fn redaction_counts_are_a_sorted_list_of_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST_FILE)).unwrap()).unwrap();
    let rewrite = |m: &serde_json::Value| {
        let bytes = crate::canonical::to_canonical_vec(m).unwrap();
        Manifest::parse(&bytes, &Default::default())
    };
    m["redaction"] = serde_json::json!({"applied": true, "counts": [
        {"class": "bearer-token", "count": 2}, {"class": "jwt", "count": 1}]});
    let parsed = rewrite(&m).unwrap();
    assert_eq!(parsed.redaction.counts.get("bearer-token"), Some(&2));
    for bad in [
        serde_json::json!([{"class": "jwt", "count": 1}, {"class": "bearer-token", "count": 2}]),
        serde_json::json!([{"class": "jwt", "count": 1}, {"class": "jwt", "count": 2}]),
        serde_json::json!({"jwt": 1}),
        serde_json::json!([{"class": "Not A Class", "count": 1}]),
    ] {
        m["redaction"]["counts"] = bad.clone();
        assert!(rewrite(&m).is_err(), "{bad} must be refused");
    }
}

#[test]
fn an_interrupted_sign_leaves_a_named_failure_that_the_next_sign_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let k = key(1);
    let dir = signed_bundle(tmp.path(), &k);
    let leftover = dir.join(".manifest.dsse.json.tmp-4242-0123456789abcdef");
    fs::write(&leftover, b"partial").unwrap();
    let v = verify(&dir, Some(&trust(&[&k], 1)));
    assert_fails_with(&v, BUNDLE_FILE_UNLISTED);
    assert!(
        v.report
            .with_code(BUNDLE_FILE_UNLISTED)
            .any(|c| c.detail.contains("interrupted `evidence bundle sign`"))
    );
    build::cosign(&dir, &key(2)).unwrap();
    assert!(!leftover.exists());
    assert!(verify(&dir, Some(&trust(&[&k], 1))).report.ok());
}

/// Found by the `bundle_manifest` fuzz target: a manifest that passed `check` with a file of
/// size 3919314991764733952 was written as `"size":3919314991764734000` (the canonical form
/// of the same double), which parsed back as another size, or not at all. Sizes and counts
/// above 2^53 are now refused by `check`, so every checked manifest survives its own bytes.
#[test]
fn manifest_size_above_2_pow_53_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let manifest = Manifest::parse(
        &fs::read(dir.join(MANIFEST_FILE)).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let limits = ManifestLimits::default();
    let mut big = manifest.clone();
    big.files[0].size = 3_919_314_991_764_733_952;
    assert!(matches!(
        big.check(&limits),
        Err(manifest::ManifestError::Field { ref field, .. }) if field == "files[0].size"
    ));
    // The bytes it would have been written as are refused too.
    let bytes = crate::canonical::to_canonical(&big).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("\"size\":3919314991764734000"));
    assert!(Manifest::parse(&bytes, &limits).is_err());
    // 2^53 itself is exact, and round-trips.
    let mut edge = manifest.clone();
    edge.files[0].size = manifest::MAX_INTEGER;
    edge.redaction
        .counts
        .insert("jwt".into(), manifest::MAX_INTEGER);
    let bytes = edge.to_canonical_bytes().unwrap();
    assert_eq!(Manifest::parse(&bytes, &limits).unwrap(), edge);
    edge.redaction
        .counts
        .insert("jwt".into(), manifest::MAX_INTEGER + 1);
    assert!(edge.check(&limits).is_err());
}

/// The archive limits trip at their values and not before: a legitimate archive exactly at a
/// limit, or merely compressible, verifies; one byte over, or a bomb past the grace, does not.
#[test]
fn archive_limits_trip_at_their_values_and_not_before() {
    let tmp = tempfile::tempdir().unwrap();
    let pack_of = |name: &str, files: &[(&str, Vec<u8>)]| {
        let dir = tmp.path().join(name);
        let inputs: Vec<Input> = files
            .iter()
            .map(|(at, bytes)| Input::Bytes {
                at: (*at).into(),
                bytes: bytes.clone(),
            })
            .collect();
        build::create(&dir, &inputs, &options(&[])).unwrap();
        let packed = tmp.path().join(format!("{name}.tar.gz"));
        archive::pack(&dir, &packed).unwrap();
        packed
    };
    let with = |archive: ArchiveLimits| VerifyOptions {
        limits: BundleLimits {
            archive,
            ..BundleLimits::default()
        },
        ..VerifyOptions::default()
    };
    let limit_details = |v: &BundleVerification| -> Vec<String> {
        v.report
            .with_code(BUNDLE_ARCHIVE_LIMIT)
            .map(|c| c.detail.to_string())
            .collect()
    };

    let mut noise = vec![0u8; 2 << 20];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for b in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state as u8;
    }
    let noisy = pack_of(
        "noise",
        &[("noise.bin", noise), ("small.txt", b"x".to_vec())],
    );
    let v = archive::verify_archive(&noisy, &VerifyOptions::default());
    assert!(v.report.ok(), "{}", v.report.to_text(true));

    // The content budget (every file's bytes, metadata included): exactly those bytes pass,
    // one byte less refuses.
    let content: u64 = tree_bytes(&tmp.path().join("noise"))
        .values()
        .map(|b| b.len() as u64)
        .sum();
    let exact = ArchiveLimits {
        max_total_bytes: content,
        ..ArchiveLimits::default()
    };
    let v = archive::verify_archive(&noisy, &with(exact));
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    let short = ArchiveLimits {
        max_total_bytes: content - 1,
        ..ArchiveLimits::default()
    };
    let v = archive::verify_archive(&noisy, &with(short));
    assert_eq!(
        limit_details(&v),
        vec![format!(
            "more than {} bytes of content in total",
            content - 1
        )]
    );
    // An archive that stopped early failed as a whole: the files it never reached are not
    // reported one by one as missing.
    assert!(
        !v.report.has(BUNDLE_FILE_MISSING),
        "{}",
        v.report.to_text(true)
    );
}

/// Zeros after the end-of-archive marker are not content, so the content budget never sees
/// them; the decompressed stream is bounded by what the manifest declares, so padding up to
/// [`archive::END_PADDING_ALLOWANCE`] passes and a bomb hidden there stops.
#[test]
fn a_bomb_after_the_end_marker_stops_at_the_declared_bound() {
    use std::io::{Read as _, Write as _};
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(&packed).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    let padded = |zeros: usize| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let block = vec![0u8; 1 << 20];
        let mut left = zeros;
        while left > 0 {
            let n = left.min(block.len());
            gz.write_all(&block[..n]).unwrap();
            left -= n;
        }
        gz.finish().unwrap()
    };
    let opts = VerifyOptions::default();
    // Padding within the allowance: what `tar` writes to fill a record, and more.
    let allowed = padded(archive::END_PADDING_ALLOWANCE as usize / 2);
    let v = archive::verify_archive_reader(allowed.as_slice(), "padded.tar.gz", &opts);
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    // A gigabyte of zeros after the end marker: stopped at the bound the manifest implies,
    // long before the absolute cap.
    let bomb = padded(1 << 30);
    let v = archive::verify_archive_reader(bomb.as_slice(), "bomb.tar.gz", &opts);
    let details: Vec<String> = v
        .report
        .with_code(BUNDLE_ARCHIVE_LIMIT)
        .map(|c| c.detail.to_string())
        .collect();
    assert_eq!(details.len(), 1, "{}", v.report.to_text(true));
    assert!(
        details[0].contains("bytes decompressed (the manifest declares"),
        "{}",
        details[0]
    );
    let limit: u64 = details[0]
        .strip_prefix("more than ")
        .and_then(|d| d.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(limit < tar.len() as u64 + (4 << 20), "{limit}");
}

/// The bound the manifest implies, exactly: its files at their declared sizes in tar blocks,
/// with a header each (and a long-name record for long paths), the folders their paths imply,
/// the end marker and the padding allowance.
#[test]
fn the_payload_allowance_counts_declared_files_folders_and_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let long = format!("{}/deep.txt", "d".repeat(120));
    let dir = tmp.path().join("b");
    build::create(
        &dir,
        &[
            Input::Bytes {
                at: "a/one.txt".into(),
                bytes: vec![b'x'; 513],
            },
            Input::Bytes {
                at: long.clone(),
                bytes: Vec::new(),
            },
        ],
        &options(&[]),
    )
    .unwrap();
    let manifest = Manifest::parse(
        &fs::read(dir.join(MANIFEST_FILE)).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let long_record = |len: u64| 512 + len.div_ceil(512) * 512;
    // payload/a/one.txt: a header and two blocks of content.
    let one = 512 + 1024;
    // payload/<long>/deep.txt: a header and a long-name record, no content.
    let deep = 512 + long_record(format!("payload/{long}").len() as u64 + 1);
    // The folders payload/, payload/a/ and payload/<long>/ (a long name too).
    let folders =
        512 + 512 + 512 + long_record(format!("payload/{}/", "d".repeat(120)).len() as u64 + 1);
    // The end marker and the padding allowance.
    let end = 1024 + archive::END_PADDING_ALLOWANCE;
    let expected = one + deep + folders + end;
    assert_eq!(archive::payload_allowance(&manifest), expected);
}

/// A payload entry larger than its manifest line declares is a bomb in disguise: the stream
/// stops at the declared bound, whatever the compression ratio.
#[test]
fn an_entry_larger_than_declared_stops_at_the_declared_bound() {
    use std::io::{self, Read as _, Write as _};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    build::create(
        &dir,
        &[Input::Bytes {
            at: "small.txt".into(),
            bytes: b"tiny".to_vec(),
        }],
        &options(&[]),
    )
    .unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    for name in [MANIFEST_FILE, SUMS_FILE] {
        let bytes = fs::read(dir.join(name)).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    let mut folder = tar::Header::new_gnu();
    folder.set_entry_type(tar::EntryType::Directory);
    folder.set_mode(0o755);
    folder.set_size(0);
    folder.set_cksum();
    builder
        .append_data(&mut folder, "payload/", io::empty())
        .unwrap();
    let huge: u64 = 256 << 20;
    let mut header = tar::Header::new_gnu();
    header.set_size(huge);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "payload/small.txt", io::repeat(0).take(huge))
        .unwrap();
    let tar_bytes = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    let gz = gz.finish().unwrap();
    let v = archive::verify_archive_reader(gz.as_slice(), "big.tar.gz", &VerifyOptions::default());
    let details: Vec<String> = v
        .report
        .with_code(BUNDLE_ARCHIVE_LIMIT)
        .map(|c| c.detail.to_string())
        .collect();
    assert_eq!(details.len(), 1, "{}", v.report.to_text(true));
    assert!(
        details[0].contains("the manifest declares 4 bytes in 1 file)"),
        "{}",
        details[0]
    );
}

/// An archive that stops at its first entry fails as a whole, with the one check that says
/// why: no metadata checks are run on the half-read bundle.
#[test]
fn oversized_name_and_extension_records_stop_the_archive_with_their_own_code() {
    use std::io::Write as _;
    let record = |kind: tar::EntryType, size: u64| {
        let mut header = tar::Header::new_gnu();
        header.set_path("././@LongLink").unwrap();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(header.as_bytes()).unwrap();
        gz.write_all(&[0u8; 1024]).unwrap();
        gz.finish().unwrap()
    };
    let opts = VerifyOptions::default();
    for (kind, code) in [
        (tar::EntryType::GNULongName, BUNDLE_PATH_UNSAFE),
        (tar::EntryType::XHeader, BUNDLE_ARCHIVE_LIMIT),
    ] {
        let bytes = record(kind, 1 << 20);
        let v = archive::verify_archive_reader(bytes.as_slice(), "records.tar.gz", &opts);
        assert_eq!(failing(&v), vec![code.code], "{}", v.report.to_text(true));
    }
    // An entry limit of zero stops at the first entry the same way.
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let none = VerifyOptions {
        limits: BundleLimits {
            archive: ArchiveLimits {
                max_entries: 0,
                ..ArchiveLimits::default()
            },
            ..BundleLimits::default()
        },
        ..VerifyOptions::default()
    };
    let v = archive::verify_archive(&packed, &none);
    assert_eq!(failing(&v), vec![BUNDLE_ARCHIVE_LIMIT.code]);
    // Even with a trust policy: a half-read bundle is not judged for signatures.
    let policy = trust(&[&key(1)], 1);
    let trusted_none = VerifyOptions {
        trust: Some(&policy),
        ..none
    };
    let v = archive::verify_archive(&packed, &trusted_none);
    assert_eq!(failing(&v), vec![BUNDLE_ARCHIVE_LIMIT.code]);

    // Each limit is inclusive: an archive exactly at it verifies, one past it does not.
    let entries = tar::Archive::new(flate2::read::GzDecoder::new(
        fs::File::open(&packed).unwrap(),
    ))
    .entries()
    .unwrap()
    .count();
    let manifest = fs::metadata(dir.join(MANIFEST_FILE)).unwrap().len();
    let sums = fs::metadata(dir.join(SUMS_FILE)).unwrap().len();
    let envelope = fs::metadata(dir.join(ENVELOPE_FILE)).unwrap().len();
    let limited = |max_entries: usize, manifest_bytes: u64, metadata_bytes: u64| {
        let mut limits = BundleLimits {
            archive: ArchiveLimits {
                max_entries,
                ..ArchiveLimits::default()
            },
            max_metadata_bytes: metadata_bytes,
            ..BundleLimits::default()
        };
        limits.manifest.max_bytes = manifest_bytes;
        // Trusted: a stream stopped after its manifest must not also report the signature it
        // never reached as missing.
        VerifyOptions {
            limits,
            trust: Some(&policy),
            ..VerifyOptions::default()
        }
    };
    let metadata = sums.max(envelope);
    let v = archive::verify_archive(&packed, &limited(entries, manifest, metadata));
    assert!(v.report.ok(), "{}", v.report.to_text(true));
    let largest = tree_bytes(&dir)
        .values()
        .map(|b| b.len() as u64)
        .max()
        .unwrap();
    let entry_limit = |max_entry_bytes: u64| VerifyOptions {
        limits: BundleLimits {
            archive: ArchiveLimits {
                max_entry_bytes,
                ..ArchiveLimits::default()
            },
            ..BundleLimits::default()
        },
        ..VerifyOptions::default()
    };
    assert!(
        archive::verify_archive(&packed, &entry_limit(largest))
            .report
            .ok()
    );
    let v = archive::verify_archive(&packed, &entry_limit(largest - 1));
    assert_eq!(failing(&v), vec![BUNDLE_ARCHIVE_LIMIT.code]);
    for (opts, what) in [
        (limited(entries - 1, manifest, metadata), "entries"),
        (limited(entries, manifest - 1, metadata), "manifest"),
        (limited(entries, manifest, metadata - 1), "metadata"),
    ] {
        let v = archive::verify_archive(&packed, &opts);
        assert_eq!(failing(&v), vec![BUNDLE_ARCHIVE_LIMIT.code], "{what}");
    }
}

/// A folder entry that no listed file needs is planted, in an archive as in a folder.
#[test]
fn a_planted_empty_folder_in_an_archive_is_refused() {
    use std::io::Read as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let packed = tmp.path().join("b.tar.gz");
    archive::pack(&dir, &packed).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut original = tar::Archive::new(flate2::read::GzDecoder::new(
        fs::File::open(&packed).unwrap(),
    ));
    for entry in original.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        builder.append(&header, data.as_slice()).unwrap();
    }
    let mut planted = tar::Header::new_gnu();
    planted.set_path("payload/zz-planted/").unwrap();
    planted.set_entry_type(tar::EntryType::Directory);
    planted.set_mode(0o755);
    planted.set_size(0);
    planted.set_cksum();
    builder.append(&planted, &[][..]).unwrap();
    let tar_bytes = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
    let bytes = gz.finish().unwrap();
    let untouched = archive::verify_archive(&packed, &VerifyOptions::default());
    assert!(untouched.report.ok(), "{}", untouched.report.to_text(true));
    let v = archive::verify_archive_reader(
        bytes.as_slice(),
        "planted.tar.gz",
        &VerifyOptions::default(),
    );
    assert_eq!(
        failing(&v),
        vec![BUNDLE_ENTRY_FORBIDDEN.code],
        "{}",
        v.report.to_text(true)
    );
    assert!(
        v.report
            .with_code(BUNDLE_ENTRY_FORBIDDEN)
            .any(|c| c.path.as_deref() == Some("payload/zz-planted"))
    );
}

/// A SHA256SUMS that is not the one the manifest implies is refused, and the check says
/// where: the file whose digest differs, the first differing line, or the end.
#[test]
fn a_rewritten_sums_file_is_located_by_line_and_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let original = fs::read_to_string(dir.join(SUMS_FILE)).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let index = lines
        .iter()
        .position(|l| l.ends_with("payload/status.json"))
        .unwrap();
    let located = |text: String| {
        fs::write(dir.join(SUMS_FILE), text).unwrap();
        let v = verify(&dir, None);
        let c = v
            .report
            .with_code(BUNDLE_SUMS_MISMATCH)
            .next()
            .unwrap()
            .clone();
        (
            c.path.unwrap_or_default(),
            c.detail.into_owned(),
            c.data["line"].clone(),
        )
    };
    let digest_changed = {
        let mut l: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
        let flipped = if l[index].starts_with('0') { "1" } else { "0" };
        l[index].replace_range(..1, flipped);
        l.join("\n") + "\n"
    };
    assert_eq!(
        located(digest_changed),
        (
            "payload/status.json".to_owned(),
            "listed with another digest than the manifest's".to_owned(),
            serde_json::json!(index + 1)
        )
    );
    let renamed = original.replace("payload/status.json", "payload/status.jsox");
    let (path, detail, line) = located(renamed);
    assert_eq!(path, SUMS_FILE);
    assert!(
        detail.starts_with(&format!("line {} is ", index + 1)),
        "{detail}"
    );
    assert_eq!(line, serde_json::json!(index + 1));
    let (path, detail, line) = located(format!("{original}{}  payload/extra\n", "0".repeat(64)));
    assert_eq!(path, SUMS_FILE);
    assert!(detail.contains("payload/extra"), "{detail}");
    assert_eq!(line, serde_json::json!(lines.len() + 1));
    // Only the final line end missing: every line agrees, the end does not.
    let (path, detail, _) = located(original.trim_end_matches('\n').to_owned());
    assert_eq!(path, SUMS_FILE);
    assert!(
        detail.starts_with("lines are missing or extra at the end"),
        "{detail}"
    );
}

/// A payload file the caller keeps (read whole, not streamed) is held to the same rules as
/// any other: a second hard link refuses it. An unlisted file is reported as planted, without
/// the explanation kept for a signing temporary left by an interrupted sign.
#[test]
fn kept_payload_files_and_unlisted_files_are_judged_like_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    let capture = ["payload/status.json"];
    let keep = VerifyOptions {
        capture: &capture,
        ..VerifyOptions::default()
    };
    assert!(verify_dir(&dir, &keep).report.ok());
    fs::hard_link(dir.join("payload/status.json"), tmp.path().join("outside")).unwrap();
    let v = verify_dir(&dir, &keep);
    assert_eq!(
        failing(&v),
        vec![BUNDLE_ENTRY_FORBIDDEN.code],
        "{}",
        v.report.to_text(true)
    );
    fs::remove_file(tmp.path().join("outside")).unwrap();
    fs::write(dir.join("payload/planted.txt"), "x").unwrap();
    let v = verify_dir(&dir, &keep);
    let details: Vec<String> = v
        .report
        .with_code(BUNDLE_FILE_UNLISTED)
        .map(|c| c.detail.to_string())
        .collect();
    assert_eq!(
        details,
        vec!["file is not listed in the manifest".to_owned()]
    );
}

/// Planted entries past the caller's display limit are counted in one check, not listed; a
/// changed file says whether its size or only its content differs.
#[test]
fn planted_entries_are_shown_up_to_the_limit_and_counted_after() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = signed_bundle(tmp.path(), &key(1));
    for i in 0..5 {
        fs::write(dir.join(format!("payload/planted-{i}")), "x").unwrap();
    }
    let opts = VerifyOptions {
        limits: BundleLimits {
            max_unexpected_shown: 2,
            ..BundleLimits::default()
        },
        ..VerifyOptions::default()
    };
    let v = verify_dir(&dir, &opts);
    let unlisted: Vec<(Option<String>, Option<u64>)> = v
        .report
        .with_code(BUNDLE_FILE_UNLISTED)
        .map(|c| (c.path.clone(), c.data.get("count").and_then(|v| v.as_u64())))
        .collect();
    assert_eq!(unlisted.len(), 3, "{unlisted:?}");
    assert_eq!(unlisted.iter().filter(|(p, _)| p.is_some()).count(), 2);
    assert_eq!(unlisted[2], (None, Some(3)));

    let status = dir.join("payload/status.json");
    let original = fs::read(&status).unwrap();
    let mut same_size = original.clone();
    same_size[0] ^= 1;
    let detail = |bytes: &[u8]| {
        fs::write(&status, bytes).unwrap();
        let v = verify(&dir, None);
        v.report
            .with_code(BUNDLE_FILE_MISMATCH)
            .map(|c| c.detail.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        detail(&same_size),
        vec!["content differs from the manifest"]
    );
    let longer = [original.as_slice(), b"x"].concat();
    assert_eq!(
        detail(&longer),
        vec![format!(
            "size {} differs from the listed {}",
            original.len() + 1,
            original.len()
        )]
    );
}
