//! End-to-end tests of `evidence key` and `evidence bundle` over the committed bundle fixtures
//! and bundles built at test time.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evidence_tests::fixtures::bundle::{
    self as fx, ABSOLUTE_TARGET, DOTDOT_TARGET, LONGNAME_TARGET, SIGNER,
};
use evidence_tests::fixtures::tar::{self, Header, TarWriter};
use evidence_tests::fixtures::{self, Expectation};
use evidence_tests::{codes_with, workspace_root};
use serde_json::Value;

fn evidence() -> Command {
    let mut cmd = evidence_tests::bin("evidence");
    cmd.current_dir(workspace_root());
    // The determinism test sets it explicitly; nothing else may inherit one by accident.
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

fn fixture(rel: &str) -> PathBuf {
    workspace_root().join("fixtures").join(rel)
}

fn signer_pub() -> PathBuf {
    fixture("keys/fixture-signer.pub")
}

fn cosigner_pub() -> PathBuf {
    fixture("keys/fixture-cosigner.pub")
}

fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    evidence().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Runs a command that prints a report with `--json`; returns the exit code and the report.
fn run_json<I, S>(args: I) -> (i32, Value)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = evidence().args(args).arg("--json").output().unwrap();
    let code = out.status.code().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}): {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        )
    });
    (code, report)
}

fn verify_json(bundle: &Path, keys: &[&Path], threshold: Option<u32>) -> (i32, Value) {
    let mut args: Vec<std::ffi::OsString> = vec!["bundle".into(), "verify".into(), bundle.into()];
    for k in keys {
        args.push("--trusted-key".into());
        args.push(k.into());
    }
    if let Some(t) = threshold {
        args.push("--threshold".into());
        args.push(t.to_string().into());
    }
    run_json(args)
}

/// A case's bundle: the folder `<case>/` or the archive `<case>.tar.gz`.
fn case_path(dir: &Path, case: &str) -> PathBuf {
    let folder = dir.join(case);
    let archive = dir.join(format!("{case}.tar.gz"));
    match (folder.is_dir(), archive.is_file()) {
        (true, false) => folder,
        (false, true) => archive,
        other => panic!("{case}: expected exactly one of {case}/ and {case}.tar.gz, got {other:?}"),
    }
}

/// Every file under `dir` with its bytes, and every folder (as `path/`).
fn tree(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if e.file_type().is_dir() {
                (format!("{rel}/"), None)
            } else {
                (rel, Some(fs::read(e.path()).unwrap()))
            }
        })
        .collect()
}

fn entries_of(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// The cases the bundle issue asks for, by name; the generator may add more.
const REQUIRED_CASES: &[&str] = &[
    "tampered-payload-byte",
    "truncated-payload",
    "appended-payload",
    "deleted-payload",
    "renamed-payload",
    "planted-file",
    "symlink-to-etc-hostname",
    "manifest-edited-after-signing",
    "manifest-not-canonical",
    "manifest-duplicate-key",
    "manifest-path-traversal",
    "manifest-case-collision",
    "sums-edited",
    "signature-stripped",
    "resigned-by-stranger",
    "keyid-names-another-key",
    "envelope-for-other-payload-type",
    "signature-over-other-bytes",
    "cosigned-two-keys",
    "archive-absolute-path",
    "archive-dotdot-path",
    "archive-gnu-longname-dotdot",
    "archive-symlink-entry",
    "archive-hardlink-entry",
    "archive-device-entry",
    "archive-fifo-entry",
    "archive-duplicate-entry",
    "archive-out-of-order",
    "archive-entry-before-its-folder",
    "archive-pax-size-mismatch",
    "archive-gzip-bomb",
    "archive-truncated",
    "archive-not-gzip",
    "archive-planted-entry",
    "archive-manifest-not-first",
    "archive-tampered-payload",
];

#[test]
fn every_bundle_case_meets_its_stated_expectation() {
    let dir = fixture("bundle-cases");
    let cases = fixtures::cases(&dir).unwrap();
    for required in REQUIRED_CASES {
        assert!(
            cases.iter().any(|c| c == required),
            "missing case {required}"
        );
    }
    for case in &cases {
        let expect = Expectation::read(&dir, case).unwrap();
        let path = case_path(&dir, case);
        assert_eq!(
            case.starts_with("archive-"),
            path.is_file(),
            "{case}: archive cases are named archive-*"
        );
        let (code, report) = verify_json(&path, &[&signer_pub()], None);
        expect.assert_met(case, code, &report);
        assert_eq!(report["tool"]["name"], "evidence");
        assert_eq!(report["schema"], "evidence.report/v1");
    }
}

#[test]
fn cases_git_cannot_store_are_made_at_test_time_and_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = fx::runtime_cases(&fixture(fx::SAMPLE_DIR), tmp.path()).unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let (code, report) = verify_json(&case.dir, &[&signer_pub()], None);
        case.expect.assert_met(case.name, code, &report);
    }
}

#[test]
fn the_sample_bundle_verifies_as_a_folder_and_as_an_archive() {
    let mut ids = Vec::new();
    for path in [fixture(fx::SAMPLE_DIR), fixture(fx::SAMPLE_ARCHIVE)] {
        let (code, report) = verify_json(&path, &[&signer_pub()], None);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["ok"], true);
        assert_eq!(report["summary"]["fail"], 0);
        assert_eq!(report["summary"]["warn"], 0);
        let passes = codes_with(&report, "pass");
        assert_eq!(
            passes.iter().filter(|c| *c == "bundle-file-match").count(),
            4
        );
        for code in [
            "bundle-manifest-valid",
            "bundle-sums-consistent",
            "bundle-signature-verified",
            "bundle-threshold-met",
        ] {
            assert!(passes.iter().any(|c| c == code), "{code}: {passes:?}");
        }
        let signed = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "bundle-signature-verified")
            .unwrap();
        assert_eq!(
            signed["key_id"],
            fx::key(SIGNER).public().key_id().to_string()
        );
        assert_eq!(signed["key_name"], "fixture-signer.pub");
        ids.push(report["subject"]["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    assert!(ids[0].as_str().unwrap().starts_with("sha256:"));

    // Without a trusted key verification fails closed, naming the flags; --allow-unsigned
    // checks integrity only, and the report says so.
    let (code, report) = verify_json(&fixture(fx::SAMPLE_DIR), &[], None);
    assert_eq!(code, 1);
    assert_eq!(codes_with(&report, "fail"), ["trust-not-configured"]);
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    for flag in ["--trusted-key", "--keyring", "--allow-unsigned"] {
        assert!(detail.contains(flag), "{detail}");
    }
    let (code, report) = run_json([
        OsStr::new("bundle"),
        OsStr::new("verify"),
        fixture(fx::SAMPLE_ARCHIVE).as_os_str(),
        OsStr::new("--allow-unsigned"),
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        codes_with(&report, "warn"),
        ["trust-not-configured", "bundle-signature-unchecked"]
    );
    let text = stdout(&run([
        OsStr::new("bundle"),
        OsStr::new("verify"),
        fixture(fx::SAMPLE_DIR).as_os_str(),
        OsStr::new("--allow-unsigned"),
    ]));
    assert!(
        text.ends_with(
            "OK (unauthenticated: integrity only): 6 passed, 0 failed, 2 warnings, 1 skipped\n"
        ),
        "{text}"
    );
    // The wrong trusted key: the stranger's.
    let (code, report) = verify_json(
        &fixture(fx::SAMPLE_DIR),
        &[&fixture("keys/stranger.pub")],
        None,
    );
    assert_eq!(code, 1);
    assert_eq!(codes_with(&report, "fail"), ["bundle-signer-untrusted"]);
}

#[test]
fn an_independent_tar_writer_and_pack_agree_on_every_byte() {
    let sample = fixture(fx::SAMPLE_DIR);
    let committed = fs::read(fixture(fx::SAMPLE_ARCHIVE)).unwrap();
    assert_eq!(
        tar::bundle_archive(&sample, fx::created_at_unix()).unwrap(),
        committed
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("again.tar.gz");
    let o = run([
        OsStr::new("bundle"),
        "pack".as_ref(),
        sample.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read(&out).unwrap(), committed);
}

#[test]
fn thresholds_count_distinct_trusted_keys() {
    let both: [&Path; 2] = [&signer_pub(), &cosigner_pub()];
    let (code, report) = verify_json(&fixture("bundle-cases/cosigned-two-keys"), &both, Some(2));
    assert_eq!(code, 0, "{report:#}");
    let met = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "bundle-threshold-met")
        .unwrap();
    assert_eq!(met["signed"], 2);
    assert_eq!(met["threshold"], 2);

    // A signature repeated never counts twice.
    let (code, report) = verify_json(
        &fixture("bundle-cases/duplicated-signature"),
        &both,
        Some(2),
    );
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(codes_with(&report, "fail"), ["bundle-threshold-not-met"]);
    assert!(codes_with(&report, "warn").contains(&"bundle-signature-duplicate".to_owned()));

    // One signer, threshold 2.
    let (code, report) = verify_json(&fixture(fx::SAMPLE_DIR), &both, Some(2));
    assert_eq!(code, 1);
    assert_eq!(codes_with(&report, "fail"), ["bundle-threshold-not-met"]);

    // The same key given twice is one key: threshold 2 cannot be reached with it.
    let out = run([
        OsStr::new("bundle"),
        "verify".as_ref(),
        fixture(fx::SAMPLE_DIR).as_os_str(),
        "--trusted-key".as_ref(),
        signer_pub().as_os_str(),
        "--trusted-key".as_ref(),
        signer_pub().as_os_str(),
        "--threshold".as_ref(),
        "2".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("exceeds the 1 distinct trusted key(s)"));
}

// ---------------------------------------------------------------------------------------
// Unpacking hostile archives
// ---------------------------------------------------------------------------------------

/// Runs `evidence bundle unpack ARCHIVE --out <tmp>/out` in a fresh folder and returns the
/// exit code and the folder (kept alive by the returned guard).
fn unpack_into_fresh_dir(archive: &Path) -> (i32, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run([
        OsStr::new("bundle"),
        "unpack".as_ref(),
        archive.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--trusted-key".as_ref(),
        signer_pub().as_os_str(),
        "--json".as_ref(),
    ]);
    let code = o.status.code().unwrap();
    if code != 2 {
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["ok"], code == 0);
    }
    (code, tmp)
}

#[test]
fn hostile_archives_are_refused_by_unpack_and_write_nothing_anywhere() {
    let dir = fixture("bundle-cases");
    let parent_of_tmp = tempfile::tempdir()
        .unwrap()
        .path()
        .parent()
        .unwrap()
        .to_owned();
    let escapes = [
        PathBuf::from(ABSOLUTE_TARGET),
        parent_of_tmp.join(DOTDOT_TARGET),
        parent_of_tmp.join(LONGNAME_TARGET),
    ];
    for target in &escapes {
        // A leftover from an earlier (broken) run must not hide a new escape.
        let _ = fs::remove_file(target);
    }
    let mut checked = 0;
    for case in fixtures::cases(&dir).unwrap() {
        let expect = Expectation::read(&dir, &case).unwrap();
        if !case.starts_with("archive-") || expect.ok {
            continue;
        }
        let (code, tmp) = unpack_into_fresh_dir(&dir.join(format!("{case}.tar.gz")));
        assert_eq!(code, 1, "{case}");
        assert_eq!(
            entries_of(tmp.path()),
            Vec::<String>::new(),
            "{case}: no output and no temporary folder may be left"
        );
        for target in &escapes {
            assert!(!target.exists(), "{case} wrote {}", target.display());
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");

    // The good archive unpacks to exactly the sample folder.
    let (code, tmp) = unpack_into_fresh_dir(&fixture(fx::SAMPLE_ARCHIVE));
    assert_eq!(code, 0);
    assert_eq!(entries_of(tmp.path()), ["out"]);
    assert_eq!(
        tree(&tmp.path().join("out")),
        tree(&fixture(fx::SAMPLE_DIR))
    );
}

#[test]
fn escapes_to_a_fresh_name_beside_the_unpack_folder_never_happen() {
    // Hostile archives made now, aimed at a name no earlier run can have created: an absolute
    // path, a `..` path, a long `..` name, and a symlink entry followed by a file written
    // "through" it.
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().parent().unwrap().to_owned();
    let unique = format!(
        "evidence-escape-{}-{}",
        std::process::id(),
        tmp.path().file_name().unwrap().to_string_lossy()
    );
    let target = parent.join(&unique);
    let mtime = fx::created_at_unix();
    let entries = tar::tree_entries(&fixture(fx::SAMPLE_DIR)).unwrap();
    for kind in ["absolute", "dotdot", "longname", "symlink"] {
        let mut t = TarWriter::new();
        t.bytes(&tar::write_entries(&entries, mtime).unfinished());
        match kind {
            "absolute" => {
                let name = target.to_str().unwrap();
                t.entry(Header::file(name, 0, mtime), name, b"escaped\n");
            }
            "dotdot" => {
                let name = format!("payload/../../../{unique}");
                t.entry(Header::file(&name, 0, mtime), &name, b"escaped\n");
            }
            "longname" => {
                let name = format!("payload/{}{}{unique}", "d/".repeat(60), "../".repeat(63));
                assert!(name.len() > 100);
                t.entry(Header::file(&name, 0, mtime), &name, b"escaped\n");
            }
            _ => {
                let mut link = Header::file("payload/zz-link", 0, mtime);
                link.typeflag = tar::kind::SYMLINK;
                link.linkname = parent.to_str().unwrap().as_bytes().to_vec();
                t.raw(&link, &[]);
                let name = format!("payload/zz-link/{unique}");
                t.entry(Header::file(&name, 0, mtime), &name, b"escaped\n");
            }
        }
        let archive = tmp.path().join(format!("{kind}.tar.gz"));
        fs::write(&archive, tar::gzip(&t.finish())).unwrap();
        let (code, out_dir) = unpack_into_fresh_dir(&archive);
        assert_eq!(code, 1, "{kind}");
        assert!(entries_of(out_dir.path()).is_empty(), "{kind}");
        assert!(!target.exists(), "{kind} escaped to {}", target.display());
        let out_parent = out_dir.path().parent().unwrap().join(&unique);
        assert!(!out_parent.exists(), "{kind}");
    }
}

/// Without a trusted key `unpack` verifies, fails `trust-not-configured` and writes nothing;
/// `--allow-unsigned` unpacks what only integrity vouches for.
#[test]
fn unpack_without_a_trust_anchor_writes_nothing_unless_integrity_only_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let archive = fixture(fx::SAMPLE_ARCHIVE);
    let unpack = |extra: &[&OsStr]| {
        let mut args = vec![
            OsStr::new("bundle"),
            "unpack".as_ref(),
            archive.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend_from_slice(extra);
        run_json(args)
    };
    let (code, report) = unpack(&[]);
    assert_eq!(code, 1);
    assert_eq!(codes_with(&report, "fail"), ["trust-not-configured"]);
    assert!(!out.exists());
    assert!(entries_of(tmp.path()).is_empty());
    let (code, report) = unpack(&["--allow-unsigned".as_ref()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["checks"][0]["status"], "warn");
    assert!(out.join("manifest.json").is_file());
}

#[test]
fn unpack_of_a_folder_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run([
        OsStr::new("bundle"),
        "unpack".as_ref(),
        fixture(fx::SAMPLE_DIR).as_os_str(),
        "--out".as_ref(),
        tmp.path().join("out").as_os_str(),
        "--trusted-key".as_ref(),
        signer_pub().as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("a folder, not an archive"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn unpack_refuses_an_existing_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = run([
        OsStr::new("bundle"),
        "unpack".as_ref(),
        fixture(fx::SAMPLE_ARCHIVE).as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--trusted-key".as_ref(),
        signer_pub().as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("evidence: error:") && err.contains("already exists"),
        "{err}"
    );
    assert!(
        err.contains("evidence: hint: choose a destination that does not exist"),
        "{err}"
    );
    assert_eq!(entries_of(&out), ["keep.txt"]);
    assert_eq!(entries_of(tmp.path()), ["out"]);
}

// ---------------------------------------------------------------------------------------
// Keys and the whole flow
// ---------------------------------------------------------------------------------------

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

fn generate_key(prefix: &Path) -> String {
    let o = run([
        OsStr::new("key"),
        "generate".as_ref(),
        "--out".as_ref(),
        prefix.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let id = stdout(&o).trim().to_owned();
    assert_eq!(id.len(), 64);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    id
}

fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    PathBuf::from(format!("{}{ext}", prefix.display()))
}

#[test]
fn generated_keys_are_private_and_interoperate_with_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("operator");
    let id = generate_key(&prefix);
    let (key, public) = (with_ext(&prefix, ".key"), with_ext(&prefix, ".pub"));
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    for file in [&key, &public] {
        let o = run([OsStr::new("key"), "id".as_ref(), file.as_os_str()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o), format!("{id}\n"));
    }
    if have("openssl") {
        let o = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), fs::read_to_string(&public).unwrap());
    } else {
        eprintln!("note: openssl not installed; key interop skipped");
    }
    // Existing key files are never overwritten.
    let before = fs::read(&key).unwrap();
    let o = run([
        OsStr::new("key"),
        "generate".as_ref(),
        "--out".as_ref(),
        prefix.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert!(stderr(&o).contains("evidence: hint:"), "{}", stderr(&o));
    assert_eq!(fs::read(&key).unwrap(), before);
}

/// Input files for `bundle create`: a folder with a nested file, and a JSON file.
fn make_inputs(root: &Path) -> (PathBuf, PathBuf) {
    let logs = root.join("logs");
    fs::create_dir_all(logs.join("app")).unwrap();
    fs::write(logs.join("app/server.log"), "GET /health 200\n").unwrap();
    fs::write(logs.join("deploy.log"), "rollout started\nrollout done\n").unwrap();
    fs::write(logs.join("app/empty.log"), "").unwrap();
    let status = root.join("status.json");
    fs::write(&status, "{\"healthy\":true}\n").unwrap();
    (logs, status)
}

#[test]
fn create_verify_cosign_pack_unpack_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b) = (t.join("alice"), t.join("bob"));
    let a_id = generate_key(&a);
    let b_id = generate_key(&b);
    let (a_key, a_pub) = (with_ext(&a, ".key"), with_ext(&a, ".pub"));
    let (b_key, b_pub) = (with_ext(&b, ".key"), with_ext(&b, ".pub"));
    let (logs, status) = make_inputs(t);
    let bundle = t.join("pack");

    let o = evidence()
        .args(["bundle", "create", "--kind", "deployment", "--out"])
        .arg(&bundle)
        .args(["--subject", "target=https://api.example"])
        .args(["--subject", "commit=3f2c1e9"])
        .args(["--subject", "deployment_id=dep-42"])
        .args(["--created-at", "2026-11-22T09:30:00Z", "--sign"])
        .arg(&a_key)
        .arg(&logs)
        .arg(&status)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let created: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(created["files"], 4);
    assert_eq!(created["signed_by"], serde_json::json!([a_id]));
    let id = created["id"].as_str().unwrap().to_owned();

    // Verify with Alice; then ask for two keys before Bob signed.
    let (code, report) = verify_json(&bundle, &[&a_pub], None);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["subject"]["id"], id.as_str());
    let (code, report) = verify_json(&bundle, &[&a_pub, &b_pub], Some(2));
    assert_eq!(code, 1);
    assert_eq!(codes_with(&report, "fail"), ["bundle-threshold-not-met"]);

    // Bob co-signs: the id does not change.
    let o = evidence()
        .args(["bundle", "sign"])
        .arg(&bundle)
        .arg("--key")
        .arg(&b_key)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("signed {id} with key {b_id}\n"));
    let (code, report) = verify_json(&bundle, &[&a_pub, &b_pub], Some(2));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["subject"]["id"], id.as_str());

    // Pack, verify the archive with both keys, unpack, compare.
    let archive = t.join("pack.tar.gz");
    let o = evidence()
        .args(["bundle", "pack"])
        .arg(&bundle)
        .arg("--out")
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("packed {id} into {}\n", archive.display())
    );
    let (code, report) = verify_json(&archive, &[&a_pub, &b_pub], Some(2));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["subject"]["form"], "archive");
    let unpacked = t.join("unpacked");
    let o = evidence()
        .args(["bundle", "unpack"])
        .arg(&archive)
        .arg("--out")
        .arg(&unpacked)
        .arg("--trusted-key")
        .arg(&a_pub)
        .arg("--trusted-key")
        .arg(&b_pub)
        .args(["--threshold", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "OK: 9 passed, 0 failed, 0 warnings, 1 skipped\n"
    );
    assert_eq!(tree(&unpacked), tree(&bundle));

    // Inspect, as text and JSON, from the folder and the archive: claims, not verdicts.
    for path in [&bundle, &archive] {
        let o = evidence()
            .args(["bundle", "inspect"])
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        for needle in [
            format!("bundle      {id}"),
            "kind        deployment".to_owned(),
            "created_at  2026-11-22T09:30:00Z (claimed, not verified)".to_owned(),
            "subject     deployment_id=dep-42".to_owned(),
            "files       4 (".to_owned(),
            format!("signature   keyid {a_id}"),
            format!("signature   keyid {b_id}"),
            "(not verified:".to_owned(),
        ] {
            assert!(text.contains(&needle), "{needle:?} not in\n{text}");
        }
        let o = evidence()
            .args(["bundle", "inspect", "--json"])
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let info: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(info["verified"], false);
        assert_eq!(info["id"], id.as_str());
        assert_eq!(info["kind"], "deployment");
        assert_eq!(info["subject"]["commit"], "3f2c1e9");
        assert_eq!(info["files"], 4);
        assert_eq!(info["signature_keyids"], serde_json::json!([a_id, b_id]));
        let listed: Vec<&str> = info["listing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[0].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            [
                "payload/logs/app/empty.log",
                "payload/logs/app/server.log",
                "payload/logs/deploy.log",
                "payload/status.json"
            ]
        );
    }

    // A tampered folder is neither co-signed nor packed, and says why on stdout.
    fs::write(bundle.join("payload/status.json"), "{\"healthy\":false}\n").unwrap();
    for args in [
        vec![
            "bundle".into(),
            "sign".into(),
            bundle.clone().into_os_string(),
            "--key".into(),
            a_key.clone().into_os_string(),
        ],
        vec![
            "bundle".into(),
            "pack".into(),
            bundle.clone().into_os_string(),
            "--out".into(),
            t.join("bad.tar.gz").into_os_string(),
        ],
    ] as [Vec<std::ffi::OsString>; 2]
    {
        // Hostile evidence is a failed check (exit 1), with the report saying why.
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stdout(&o).contains("FAIL bundle-file-mismatch payload/status.json"));
        assert!(
            stdout(&o).contains("the bundle does not verify"),
            "{}",
            stdout(&o)
        );
    }
    assert!(!t.join("bad.tar.gz").exists());
}

#[test]
fn coreutils_checks_a_created_bundle_and_is_fooled_where_we_are_not() {
    if !have("sha256sum") {
        eprintln!("note: sha256sum not installed; coreutils interop skipped");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (logs, status) = make_inputs(tmp.path());
    let bundle = tmp.path().join("b");
    let o = evidence()
        .args(["bundle", "create", "--kind", "incident", "--out"])
        .arg(&bundle)
        .args(["--created-at", "2026-11-22T09:30:00Z"])
        .arg(&logs)
        .arg(&status)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let check = |dir: &Path| {
        Command::new("sha256sum")
            .args(["-c", "--strict", "SHA256SUMS"])
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let o = check(&bundle);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o).matches(": OK\n").count(), 5, "{}", stdout(&o));

    // sums-edited: coreutils is satisfied, the signed manifest is not.
    let edited = fixture("bundle-cases/sums-edited");
    assert!(check(&edited).status.success());
    let (code, _) = verify_json(&edited, &[&signer_pub()], None);
    assert_eq!(code, 1);
}

#[test]
fn the_same_inputs_and_time_give_the_same_bundle_and_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (logs, status) = make_inputs(t);
    let key = t.join("signer.key");
    fx::write_private_key(SIGNER, &key).unwrap();
    // 2026-11-22T09:30:00Z
    let epoch = fx::created_at_unix().to_string();
    let create = |out: &Path, by_flag: bool| {
        let mut cmd = evidence();
        cmd.args(["bundle", "create", "--kind", "deployment", "--out"])
            .arg(out)
            .args(["--subject", "commit=3f2c1e9", "--sign"])
            .arg(&key)
            .arg(&logs)
            .arg(&status);
        if by_flag {
            cmd.args(["--created-at", "2026-11-22T09:30:00Z"]);
        } else {
            cmd.env("SOURCE_DATE_EPOCH", &epoch);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let archive = PathBuf::from(format!("{}.tar.gz", out.display()));
        let o = run([
            OsStr::new("bundle"),
            "pack".as_ref(),
            out.as_os_str(),
            "--out".as_ref(),
            archive.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        fs::read(archive).unwrap()
    };
    let by_flag = create(&t.join("a"), true);
    let by_env = create(&t.join("b"), false);
    assert_eq!(tree(&t.join("a")), tree(&t.join("b")));
    assert_eq!(by_flag, by_env, "archives differ");
    let manifest = fs::read_to_string(t.join("a/manifest.json")).unwrap();
    assert!(manifest.contains("\"created_at\":\"2026-11-22T09:30:00Z\""));

    // A second later is another bundle.
    let o = evidence()
        .args(["bundle", "create", "--kind", "deployment", "--out"])
        .arg(t.join("c"))
        .args(["--subject", "commit=3f2c1e9", "--sign"])
        .arg(&key)
        .arg(&logs)
        .arg(&status)
        .args(["--created-at", "2026-11-22T09:30:01Z"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_ne!(
        fs::read(t.join("a/manifest.json")).unwrap(),
        fs::read(t.join("c/manifest.json")).unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// Could not run: exit 2, an error line and a hint line
// ---------------------------------------------------------------------------------------

#[track_caller]
fn assert_usage_error(o: &Output, error: &str, hint: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("evidence: error: ") && lines[0].contains(error),
        "{err}"
    );
    assert_eq!(lines[1], format!("evidence: hint: {hint}"), "{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}

#[test]
fn could_not_run_exits_2_with_the_error_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (logs, _) = make_inputs(t);
    let key = t.join("signer.key");
    fx::write_private_key(SIGNER, &key).unwrap();
    let sample = fixture(fx::SAMPLE_DIR);

    // A missing input path.
    let o = evidence()
        .args(["bundle", "create", "--kind", "deployment", "--out"])
        .arg(t.join("new"))
        .arg(t.join("no-such-input"))
        .output()
        .unwrap();
    assert_usage_error(&o, "no-such-input: no such input", "pass an existing input");
    assert!(!t.join("new").exists());

    // A missing bundle to verify.
    let o = evidence()
        .args(["bundle", "verify"])
        .arg(t.join("no-such-bundle"))
        .output()
        .unwrap();
    assert_usage_error(&o, "no such bundle", "pass an existing bundle");

    // An existing --out is never overwritten.
    fs::create_dir(t.join("taken")).unwrap();
    let o = evidence()
        .args(["bundle", "create", "--kind", "deployment", "--out"])
        .arg(t.join("taken"))
        .arg(&logs)
        .output()
        .unwrap();
    assert_usage_error(
        &o,
        "already exists; bundles are never overwritten",
        "choose a new --out; bundles are never overwritten",
    );
    assert!(entries_of(&t.join("taken")).is_empty());

    // Threshold 0 checks nothing.
    let o = evidence()
        .args(["bundle", "verify"])
        .arg(&sample)
        .arg("--trusted-key")
        .arg(signer_pub())
        .args(["--threshold", "0"])
        .output()
        .unwrap();
    assert_usage_error(
        &o,
        "a threshold of 0 checks nothing and is refused",
        "the threshold must be between 1 and the number of distinct trusted keys",
    );

    // --threshold without keys.
    let o = evidence()
        .args(["bundle", "verify"])
        .arg(&sample)
        .args(["--threshold", "1"])
        .output()
        .unwrap();
    assert_usage_error(
        &o,
        "--threshold needs --trusted-key or --keyring",
        "name the keys that count toward the threshold",
    );

    // Unreadable or unusable private keys: a missing file, a folder, and a public key file,
    // each named for what it is (tests/tests/keys_cli.rs has every kind). The tests may run as
    // root, which reads files whatever their mode, so a mode-000 file would prove nothing.
    let folder = t.join("a-folder.key");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
    let public_as_private = t.join("public-as-private.key");
    fs::copy(signer_pub(), &public_as_private).unwrap();
    fs::set_permissions(&public_as_private, fs::Permissions::from_mode(0o600)).unwrap();
    let private_hint = "pass a PKCS#8 PEM private key (`evidence key generate` writes PREFIX.key)";
    for (bad, error, hint) in [
        (
            t.join("missing.key"),
            "No such file or directory",
            private_hint,
        ),
        (
            folder,
            "a-folder.key is a folder, not an Ed25519 private key",
            "pass the key file itself, not the folder",
        ),
        (
            public_as_private,
            "is an Ed25519 public key (SPKI PEM), not an Ed25519 private key (PKCS#8 PEM)",
            "sign with the private half: the PREFIX.key that `evidence key generate` wrote beside PREFIX.pub",
        ),
    ] {
        let o = evidence()
            .args(["bundle", "create", "--kind", "deployment", "--out"])
            .arg(t.join("new"))
            .arg("--sign")
            .arg(&bad)
            .arg(&logs)
            .output()
            .unwrap();
        assert_usage_error(&o, error, hint);
    }
    let o = evidence()
        .args(["bundle", "verify"])
        .arg(&sample)
        .arg("--trusted-key")
        .arg(t.join("missing.pub"))
        .output()
        .unwrap();
    assert_usage_error(
        &o,
        "No such file or directory",
        "pass SPKI PEM public keys (`evidence key generate` writes PREFIX.pub)",
    );

    // A private key readable by others (a secret mount) signs, with a warning on stderr, for
    // signing and for co-signing (`--key`, the older name of `--sign`).
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let warning = "private key file is readable by group or others (mode 644)";
    let o = evidence()
        .args(["bundle", "create", "--kind", "deployment", "--out"])
        .arg(t.join("new"))
        .arg("--sign")
        .arg(&key)
        .arg(&logs)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(warning), "{}", stderr(&o));
    let copy = t.join("copy");
    fx::copy_tree(&sample, &copy).unwrap();
    let o = evidence()
        .args(["bundle", "sign"])
        .arg(&copy)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("evidence: warning: "),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(warning), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------
// Golden transcript
// ---------------------------------------------------------------------------------------

#[test]
fn a_failing_verify_prints_the_golden_transcript() {
    // Relative paths from the workspace root, as a user would type them.
    let out = evidence()
        .args([
            "bundle",
            "verify",
            "fixtures/bundle-cases/sums-edited",
            "--trusted-key",
            "fixtures/keys/fixture-signer.pub",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        include_str!("golden/bundle-verify-sums-edited.txt")
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn redacted_bundles_hold_no_secret_and_scan_agrees() {
    let t = tempfile::tempdir().unwrap();
    let t = t.path();
    let token = "deploy-token-7c1f9e2b4a";
    let input = t.join("evidence");
    fs::create_dir(&input).unwrap();
    fs::write(
        input.join("status.json"),
        format!(
            "{{\"status\": \"ok\", \"password\": \"hunter2-hunter2\", \"items\": [\"Bearer abcdefghijklmnopqrstuvwxyz012345\"], \"count\": 3, \"echo\": \"{token}\"}}\n"
        ),
    )
    .unwrap();
    fs::write(
        input.join("app.log"),
        format!(
            "10:00 calling upstream with key AKIAIOSFODNN7EXAMPLE\n10:01 ?t={token}\n10:02 fine\n"
        ),
    )
    .unwrap();
    // The originals hold secrets: scan says where, never what.
    let (code, report) = run_json([
        OsStr::new("scan"),
        input.as_os_str(),
        OsStr::new("--forbid-token"),
        OsStr::new(token),
    ]);
    assert_eq!(code, 1);
    let text = report.to_string();
    assert!(
        !text.contains(token) && !text.contains("hunter2-hunter2"),
        "{text}"
    );
    assert!(codes_with(&report, "fail").contains(&"scan-secret-found".to_owned()));
    assert!(codes_with(&report, "fail").contains(&"scan-forbidden-token-found".to_owned()));

    let out = t.join("b");
    let created = run([
        OsStr::new("bundle"),
        OsStr::new("create"),
        OsStr::new("--kind"),
        OsStr::new("incident"),
        OsStr::new("--redact"),
        OsStr::new("--forbid-token"),
        OsStr::new(token),
        OsStr::new("--out"),
        out.as_os_str(),
        input.as_os_str(),
    ]);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let sealed = fs::read_to_string(out.join("payload/evidence/status.json")).unwrap();
    let value: Value = serde_json::from_str(&sealed).expect("redacted JSON stays JSON");
    assert_eq!(value["status"], "ok");
    assert_eq!(value["count"], 3);
    let log = fs::read_to_string(out.join("payload/evidence/app.log")).unwrap();
    for secret in [
        token,
        "hunter2-hunter2",
        "AKIAIOSFODNN7EXAMPLE",
        "abcdefghijklmnopqrstuvwxyz012345",
    ] {
        assert!(
            !sealed.contains(secret) && !log.contains(secret),
            "{secret} survived"
        );
    }
    assert!(log.contains("10:02 fine"));
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["redaction"]["applied"], true);
    assert!(class_count(&manifest, "forbidden-token") >= 2);
    // The bundle verifies, and a scan of it (folder and archive) finds nothing.
    assert_eq!(
        run([
            OsStr::new("bundle"),
            OsStr::new("verify"),
            out.as_os_str(),
            OsStr::new("--allow-unsigned")
        ])
        .status
        .code(),
        Some(0)
    );
    let packed = t.join("b.tar.gz");
    run([
        OsStr::new("bundle"),
        OsStr::new("pack"),
        out.as_os_str(),
        OsStr::new("--out"),
        packed.as_os_str(),
    ]);
    for target in [&out, &packed] {
        let (code, report) = run_json([
            OsStr::new("scan"),
            target.as_os_str(),
            OsStr::new("--forbid-token"),
            OsStr::new(token),
        ]);
        assert_eq!(code, 0, "{report:#}");
        assert!(codes_with(&report, "pass").contains(&"scan-clean".to_owned()));
    }
    // A scan of nothing that exists cannot run.
    assert_eq!(
        run([OsStr::new("scan"), t.join("nope").as_os_str()])
            .status
            .code(),
        Some(2)
    );
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

#[test]
fn a_keyring_alone_is_a_trust_policy() {
    use evidence_core::keys::{Keyring, NamedKey, PublicKey};
    let t = tempfile::tempdir().unwrap();
    let named = |name: &str, path: PathBuf| NamedKey {
        name: name.to_owned(),
        key: PublicKey::load(&path).unwrap(),
    };
    let ring = |threshold: u32| {
        let path = t.path().join(format!("ring-{threshold}.json"));
        let ring = Keyring {
            keys: vec![
                named("signer", signer_pub()),
                named("cosigner", cosigner_pub()),
            ],
            threshold,
        };
        fs::write(&path, ring.to_json_bytes()).unwrap();
        path
    };
    let cosigned = fixture("bundle-cases/cosigned-two-keys");
    let two = ring(2);
    let (code, report) = run_json([
        OsStr::new("bundle"),
        OsStr::new("verify"),
        cosigned.as_os_str(),
        OsStr::new("--keyring"),
        two.as_os_str(),
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert!(codes_with(&report, "pass").contains(&"bundle-threshold-met".to_owned()));
    // The keyring's threshold applies: one signer is not enough.
    let sample = fixture("sample-bundle");
    let (code, report) = run_json([
        OsStr::new("bundle"),
        OsStr::new("verify"),
        sample.as_os_str(),
        OsStr::new("--keyring"),
        two.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(codes_with(&report, "fail"), ["bundle-threshold-not-met"]);
    // And release-verify takes it too.
    let one = ring(1);
    let out = evidence_tests::bin("release-verify")
        .arg(fixture("sample-release"))
        .arg("--keyring")
        .arg(&one)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
