//! End-to-end tests of `release-verify` over the committed fixtures and runtime-built trees.

use std::process::Command;

use evidence_tests::fixtures::{self, Expectation};
use evidence_tests::{failing_codes, workspace_root};
use serde_json::Value;

fn release_verify() -> Command {
    evidence_tests::bin("release-verify")
}

fn run_json(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let out = release_verify().args(args).arg("--json").output().unwrap();
    let code = out.status.code().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (code, report)
}

/// Like [`run_json`], for integrity only on purpose (`--allow-unsigned`): the trees these tests
/// build are unsigned.
fn run_unsigned(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--allow-unsigned".as_ref());
    run_json(&all)
}

#[test]
fn fixtures_are_up_to_date() {
    let diffs = fixtures::check(&workspace_root().join("fixtures")).unwrap();
    assert!(
        diffs.is_empty(),
        "fixtures differ from the generator (run `cargo run -p evidence-tests --bin generate-fixtures`):\n{}",
        diffs.join("\n")
    );
}

/// The pinned key of the sample release (the README's main job uses it).
fn fixture_key() -> std::ffi::OsString {
    workspace_root()
        .join("fixtures/keys/fixture-signer.pub")
        .into_os_string()
}

#[test]
fn the_sample_release_verifies() {
    let dir = workspace_root().join("fixtures/sample-release");
    let key = fixture_key();
    let (code, report) = run_json(&[
        dir.as_os_str(),
        std::ffi::OsStr::new("--trusted-key"),
        key.as_os_str(),
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["schema"], "evidence.report/v1");
    assert_eq!(report["tool"]["name"], "release-verify");
    assert_eq!(report["summary"]["fail"], 0);
    let count = |code: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] == code && c["status"] == "pass")
            .count()
    };
    assert_eq!(count("sums-entry-match"), 5);
    assert_eq!(count("release-sums-threshold-met"), 1);
    assert_eq!(count("sbom-valid"), 1);
    assert_eq!(count("sbom-asset-digest-match"), 3);
    assert_eq!(count("provenance-subject-match"), 5);
    assert_eq!(count("provenance-legacy-asset-match"), 5);
}

#[test]
fn every_release_case_meets_its_stated_expectation() {
    let dir = workspace_root().join("fixtures/release-cases");
    let cases = fixtures::cases(&dir).unwrap();
    assert!(cases.len() >= 15, "{cases:?}");
    for case in cases {
        let expect = Expectation::read(&dir, &case).unwrap();
        // Keys and policy flags are given relative to the workspace root.
        let mut args = vec![dir.join(&case).into_os_string()];
        args.extend(expect.args.iter().map(|a| {
            let p = workspace_root().join(a);
            if a.starts_with("fixtures/") {
                p.into_os_string()
            } else {
                a.into()
            }
        }));
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (code, report) = run_json(&args);
        expect.assert_met(&case, code, &report);
    }
}

#[test]
fn human_output_is_one_line_per_failure_plus_a_summary() {
    let dir = workspace_root().join("fixtures/release-cases/tampered-byte");
    let out = release_verify()
        .arg(&dir)
        .arg("--allow-unsigned")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let golden = include_str!("golden/release-verify-tampered-byte.txt");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), golden);

    let ok = release_verify()
        .arg(workspace_root().join("fixtures/sample-release"))
        .arg("--trusted-key")
        .arg(fixture_key())
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap(),
        include_str!("golden/release-verify-sample-release.txt")
    );
    let quiet = release_verify().arg(&dir).arg("--quiet").output().unwrap();
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty());
}

/// No --trusted-key, --keyring, --minisign-key or --pgp-key: the verdict fails closed, naming the flags;
/// `--allow-unsigned` makes it an integrity-only pass that says so.
#[test]
fn without_a_trust_anchor_verification_fails_unless_integrity_only_is_asked_for() {
    let sample = workspace_root().join("fixtures/sample-release");
    let out = release_verify().arg(&sample).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        include_str!("golden/release-verify-sample-release-no-trust-anchor.txt")
    );
    let (code, report) = run_json(&[sample.as_os_str()]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), vec!["trust-not-configured"]);
    let check = &report["checks"][0];
    assert_eq!(check["code"], "trust-not-configured");
    assert_eq!(check["section"], "signatures");
    for flag in [
        "--trusted-key",
        "--keyring",
        "--minisign-key",
        "--pgp-key",
        "--allow-unsigned",
    ] {
        assert!(check["detail"].as_str().unwrap().contains(flag), "{check}");
    }

    let out = release_verify()
        .arg(&sample)
        .arg("--allow-unsigned")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        include_str!("golden/release-verify-sample-release-integrity-only.txt")
    );
    let (code, report) = run_unsigned(&[sample.as_os_str()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["checks"][0]["code"], "trust-not-configured");
    assert_eq!(report["checks"][0]["status"], "warn");

    // The README shows both transcripts as they are.
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    for golden in [
        include_str!("golden/release-verify-sample-release-no-trust-anchor.txt"),
        include_str!("golden/release-verify-sample-release-integrity-only.txt"),
    ] {
        assert!(readme.contains(golden), "README lacks:\n{golden}");
    }

    // A minisign key is a trust anchor too (here one that signed nothing in this release).
    let minisign = tempfile::tempdir().unwrap();
    let minisign_pub = minisign.path().join("minisign.pub");
    std::fs::write(
        &minisign_pub,
        "untrusted comment: minisign public key\nRWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3\n",
    )
    .unwrap();
    let (code, report) = run_json(&[
        sample.as_os_str(),
        "--minisign-key".as_ref(),
        minisign_pub.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), vec!["release-minisign-missing"]);

    // With a key the check is absent, and --allow-unsigned beside a key is a usage error.
    let (code, report) = run_json(&[sample.as_os_str(), "--trusted-key".as_ref(), &fixture_key()]);
    assert_eq!(code, 0);
    assert!(!report.to_string().contains("trust-not-configured"));
    let out = release_verify()
        .arg(&sample)
        .arg("--allow-unsigned")
        .arg("--trusted-key")
        .arg(fixture_key())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--source-ref` takes full refs only; `--source-tag` and `--source-branch` name one kind of
/// ref each, so a branch named like the release tag never passes for the tag.
#[test]
fn a_branch_named_like_the_tag_is_not_the_tag() {
    let keys = tempfile::tempdir().unwrap();
    let prefix = keys.path().join("release");
    let status = evidence_tests::bin("evidence")
        .args(["key", "generate", "--out"])
        .arg(&prefix)
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let public = prefix.with_extension("pub");
    let release = make_release(&[("app.tar.gz", b"app")]);
    let seal = |source: &[&str]| {
        evidence_tests::bin("evidence")
            .args(["release", "seal"])
            .arg(release.path())
            .arg("--key")
            .arg(prefix.with_extension("key"))
            .args(["--builder-id", "https://ci.example/release@v1"])
            .args(["--source-uri", "https://github.com/acme/widget"])
            .args(source)
            .args(["--json"])
            .output()
            .unwrap()
    };
    // Sealing takes full refs only, too.
    let out = seal(&["--source-ref", "v1.4.2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--source-branch v1.4.2"));
    assert_eq!(seal(&["--source-branch", "v1.4.2"]).status.code(), Some(0));

    let verify = |source: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            release.path().as_os_str(),
            "--trusted-key".as_ref(),
            public.as_os_str(),
        ];
        args.extend(source.iter().map(std::ffi::OsStr::new));
        run_json(&args)
    };
    let ref_status = |report: &Value| -> Vec<String> {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] == "provenance-source-ref")
            .map(|c| c["status"].as_str().unwrap().to_owned())
            .collect()
    };
    for source in [
        &["--source-branch", "v1.4.2"][..],
        &["--source-ref", "refs/heads/v1.4.2"][..],
    ] {
        let (code, report) = verify(source);
        assert_eq!(code, 0, "{source:?}: {report:#}");
        assert_eq!(ref_status(&report), vec!["pass"], "{source:?}");
    }
    for source in [
        &["--source-tag", "v1.4.2"][..],
        &["--source-ref", "refs/tags/v1.4.2"][..],
    ] {
        let (code, report) = verify(source);
        assert_eq!(code, 1, "{source:?}");
        assert_eq!(ref_status(&report), vec!["fail"], "{source:?}");
    }

    // A bare --source-ref is a usage error naming both precise flags.
    let out = release_verify()
        .arg(release.path())
        .arg("--trusted-key")
        .arg(&public)
        .args(["--source-ref", "v1.4.2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("not a full ref"), "{stderr}");
    assert!(stderr.contains("--source-tag v1.4.2"), "{stderr}");
    assert!(stderr.contains("--source-branch v1.4.2"), "{stderr}");
    // At most one of the three.
    let out = release_verify()
        .arg(release.path())
        .arg("--trusted-key")
        .arg(&public)
        .args(["--source-tag", "v1.4.2", "--source-branch", "v1.4.2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn could_not_run_exits_2_with_a_hint() {
    let out = release_verify()
        .arg("/nonexistent/release")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("release-verify: error:"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(out.stdout.is_empty());

    let sample = workspace_root().join("fixtures/sample-release");
    let out = release_verify()
        .arg(&sample)
        .args(["--sums", "/nonexistent/SHA256SUMS"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = release_verify().arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = release_verify().output().unwrap();
    assert_eq!(out.status.code(), Some(2), "DIR is required");
}

#[test]
fn expected_assets_and_relaxations() {
    let sample = workspace_root().join("fixtures/sample-release");
    let (code, report) = run_unsigned(&[
        sample.as_os_str(),
        "--expect".as_ref(),
        "app-1.4.2-linux-x86_64.tar.gz".as_ref(),
        "--expect".as_ref(),
        "app-1.4.2-linux-aarch64.tar.gz".as_ref(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), vec!["release-expected-asset"]);

    let missing = workspace_root().join("fixtures/release-cases/missing-file");
    let (code, report) = run_unsigned(&[missing.as_os_str(), "--ignore-missing".as_ref()]);
    assert_eq!(code, 0, "{report:#}");
    let unlisted = workspace_root().join("fixtures/release-cases/unlisted-file");
    let (code, _) = run_unsigned(&[
        unlisted.as_os_str(),
        "--allow-unlisted".as_ref(),
        "install.sh".as_ref(),
    ]);
    assert_eq!(code, 0);
    let malformed = workspace_root().join("fixtures/release-cases/malformed-line");
    let (code, report) = run_unsigned(&[malformed.as_os_str(), "--no-strict".as_ref()]);
    assert_eq!(code, 0);
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "sums-line-malformed" && c["status"] == "warn")
    );
}

fn make_release(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut map = std::collections::BTreeMap::new();
    for (name, data) in files {
        fixtures::write(&dir.path().join(name), data).unwrap();
        map.insert((*name).to_owned(), evidence_core::Sha256Digest::of(data));
    }
    std::fs::write(
        dir.path().join("SHA256SUMS"),
        evidence_core::sums::write(&map),
    )
    .unwrap();
    dir
}

#[test]
fn hard_links_fifos_and_non_utf8_names_fail_at_runtime() {
    let dir = make_release(&[("a.bin", b"a")]);
    std::fs::hard_link(dir.path().join("a.bin"), dir.path().join("b.bin")).unwrap();
    let (code, report) = run_unsigned(&[dir.path().as_os_str()]);
    assert_eq!(code, 1);
    assert!(failing_codes(&report).contains(&"sums-hardlink".to_owned()));

    let dir = make_release(&[("a.bin", b"a")]);
    assert!(
        Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status()
            .unwrap()
            .success()
    );
    let (code, report) = run_unsigned(&[dir.path().as_os_str()]);
    assert_eq!(code, 1);
    assert!(failing_codes(&report).contains(&"sums-special-file".to_owned()));

    use std::os::unix::ffi::OsStrExt as _;
    let dir = make_release(&[("a.bin", b"a")]);
    let bad = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad-\xff.bin"));
    std::fs::write(bad, b"x").unwrap();
    let (code, report) = run_unsigned(&[dir.path().as_os_str()]);
    assert_eq!(code, 1);
    assert!(failing_codes(&report).contains(&"sums-tree-incomplete".to_owned()));
}

#[test]
fn a_symlinked_folder_is_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"s").unwrap();
    let dir = make_release(&[("a.bin", b"a")]);
    std::os::unix::fs::symlink(outside.path(), dir.path().join("sub")).unwrap();
    let sums = format!(
        "{}  a.bin\n{}  sub/secret\n",
        evidence_core::Sha256Digest::of(b"a").to_hex(),
        evidence_core::Sha256Digest::of(b"s").to_hex()
    );
    std::fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
    let (code, report) = run_unsigned(&[dir.path().as_os_str()]);
    assert_eq!(code, 1);
    let fails = failing_codes(&report);
    assert!(fails.contains(&"sums-symlink".to_owned()), "{fails:?}");
    assert!(
        fails.contains(&"sums-entry-missing".to_owned()),
        "{fails:?}"
    );
}

/// The tree the checksum tools are run over: names with a space, a backslash, a newline and
/// non-ASCII letters, and an empty file.
const TOOL_TREE: &[(&str, &[u8])] = &[
    ("plain.bin", b"plain bytes\n"),
    ("name with space.txt", b"space\n"),
    ("back\\slash.txt", b"backslash\n"),
    ("new\nline.txt", b"newline\n"),
    ("empty.dat", b""),
    ("\u{fc}n\u{ef}code-\u{df}.txt", b"unicode\n"),
];

/// The names every tool writes plainly (no escaping of a backslash or a newline).
const PLAIN_NAMES: &[&str] = &["plain.bin", "name with space.txt", "empty.dat"];

/// Runs `program args... names...` in `dir` and returns what it printed, or `None` after one
/// skip line when the program is not installed.
fn tool_output(
    dir: &std::path::Path,
    program: &str,
    args: &[&str],
    names: &[&str],
) -> Option<Vec<u8>> {
    evidence_tests::need_tool(
        program,
        None,
        "coreutils, perl or openssl from the system's packages",
    )?;
    let out = Command::new(program)
        .args(args)
        .args(names)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// Checksum files written at test time by GNU coreutils `sha256sum` (text, `-b`, `--tag`),
/// perl `shasum -a 256` (also with CRLF line ends) and `openssl dgst -sha256` (OpenSSL 3's
/// `SHA2-256(name)= hex` form) all verify, every entry matched.
#[test]
fn files_written_by_coreutils_shasum_and_openssl_verify() {
    let tree = tempfile::tempdir().unwrap();
    for (name, data) in TOOL_TREE {
        std::fs::write(tree.path().join(name), data).unwrap();
    }
    let all: Vec<&str> = TOOL_TREE.iter().map(|(n, _)| *n).collect();
    let runs: [(&str, &str, &[&str], &[&str]); 5] = [
        ("gnu-text", "sha256sum", &[], &all),
        ("gnu-binary", "sha256sum", &["-b"], &all),
        ("bsd-tag", "sha256sum", &["--tag"], &all),
        ("perl-shasum", "shasum", &["-a", "256"], PLAIN_NAMES),
        ("openssl", "openssl", &["dgst", "-sha256"], PLAIN_NAMES),
    ];
    let sums_dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for (label, program, args, names) in runs {
        let Some(bytes) = tool_output(tree.path(), program, args, names) else {
            continue;
        };
        if label == "perl-shasum" {
            let crlf = String::from_utf8(bytes.clone())
                .unwrap()
                .replace('\n', "\r\n");
            written.push(("crlf", crlf.into_bytes(), names.len()));
        }
        written.push((label, bytes, names.len()));
    }
    for (label, bytes, listed) in written {
        let sums = sums_dir.path().join(format!("SHA256SUMS.{label}"));
        std::fs::write(&sums, &bytes).unwrap();
        let parsed = evidence_core::sums::parse(&bytes, &Default::default()).unwrap();
        assert_eq!(parsed.entries.len(), listed, "{label}");
        assert!(
            parsed.bad_lines.is_empty(),
            "{label}: {:?}",
            parsed.bad_lines
        );
        let mut args: Vec<std::ffi::OsString> = vec![
            tree.path().into(),
            "--sums".into(),
            sums.into(),
            "--allow-empty".into(),
        ];
        for name in &all {
            if !parsed.entries.iter().any(|e| e.name == *name) {
                args.push("--allow-unlisted".into());
                args.push(name.into());
            }
        }
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (code, report) = run_unsigned(&refs);
        assert_eq!(code, 0, "{label}: {report:#}");
        let matched = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] == "sums-entry-match")
            .count();
        assert_eq!(matched, listed, "{label}");
    }
}

#[test]
fn coreutils_and_shasum_accept_what_we_write() {
    let names: &[&str] = &[
        "plain.bin",
        "name with space.txt",
        "back\\slash.txt",
        "new\nline.txt",
        "carriage\rreturn.txt",
        "\u{fc}n\u{ef}code-\u{df}.txt",
        "sub/dir/nested.bin",
        "*star-first",
        " space-first",
        "#hash-first",
    ];
    let files: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (*n, n.as_bytes().to_vec())).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    let dir = make_release(&refs);
    if evidence_tests::need_tool("sha256sum", None, "GNU coreutils").is_some() {
        let out = Command::new("sha256sum")
            .args(["-c", "--strict", "SHA256SUMS"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // Our own verifier agrees.
    let (code, report) = run_unsigned(&[dir.path().as_os_str()]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn help_teaches_usage() {
    let out = release_verify().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["--expect", "--sums", "--json", "Exit status", "Examples"] {
        assert!(text.contains(needle), "--help lacks {needle}");
    }
}

/// The DSSE statement written by another implementation (Python's `cryptography`) in
/// `../shared/interop/dsse/` verifies with the OpenSSL-written public key, the builder id it
/// names, against the coreutils tree file it attests.
#[test]
fn the_interop_statement_verifies_a_release_of_plain_bin() {
    if evidence_tests::need_interop("dsse/provenance.intoto.jsonl").is_none() {
        return;
    }
    let interop = evidence_tests::interop_dir();
    let release = tempfile::tempdir().unwrap();
    let plain = std::fs::read(interop.join("coreutils/tree/plain.bin")).unwrap();
    std::fs::write(release.path().join("plain.bin"), &plain).unwrap();
    let digest = evidence_core::Sha256Digest::of(&plain).to_hex();
    std::fs::write(
        release.path().join("SHA256SUMS"),
        format!("{digest}  plain.bin\n"),
    )
    .unwrap();
    std::fs::copy(
        interop.join("dsse/provenance.intoto.jsonl"),
        release.path().join("provenance.intoto.jsonl"),
    )
    .unwrap();
    let key = interop.join("openssl/signer.pub.pem");
    let policy = |builder: &str| {
        run_json(&[
            release.path().as_os_str(),
            std::ffi::OsStr::new("--trusted-key"),
            key.as_os_str(),
            std::ffi::OsStr::new("--builder-id"),
            std::ffi::OsStr::new(builder),
            std::ffi::OsStr::new("--source-tag"),
            std::ffi::OsStr::new("v1.2.3"),
        ])
    };
    let (code, report) = policy("https://example.com/builders/ci@v1");
    assert_eq!(code, 0, "{report:#}");
    let passed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "pass")
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    for code in [
        "provenance-signature-verified",
        "provenance-subject-match",
        "provenance-builder-id",
        "provenance-source-ref",
    ] {
        assert!(passed.contains(&code), "{code}: {passed:?}");
    }
    // The same statement under another builder policy fails, saying what it saw.
    let (code, report) = policy("https://example.com/builders/other@v1");
    assert_eq!(code, 1);
    assert!(failing_codes(&report).contains(&"provenance-builder-id".to_owned()));
    // With the plain file changed, the statement no longer covers it.
    std::fs::write(release.path().join("plain.bin"), b"changed").unwrap();
    let (code, report) = policy("https://example.com/builders/ci@v1");
    assert_eq!(code, 1);
    assert!(failing_codes(&report).contains(&"sums-entry-mismatch".to_owned()));
}

/// A release signed by another DSSE implementation (securesystemslib, `../shared/interop/
/// dsse-thirdparty/`): its `keyid` is securesystemslib's own hash of the key, not our key id.
/// DSSE makes the key id a hint, so both signatures count for the trusted key they verify with.
#[test]
fn a_release_signed_by_securesystemslib_verifies_whatever_its_key_ids() {
    let (Some(third), Some(wheel)) = (
        evidence_tests::need_interop("dsse-thirdparty/SHA256SUMS.dsse.json"),
        evidence_tests::need_interop("sigstore/github_provenance_demo-0.0.12-py3-none-any.whl"),
    ) else {
        return;
    };
    let third = third.parent().unwrap();
    let release = tempfile::tempdir().unwrap();
    std::fs::copy(&wheel, release.path().join(wheel.file_name().unwrap())).unwrap();
    for name in ["SHA256SUMS", "SHA256SUMS.dsse.json"] {
        std::fs::copy(third.join(name), release.path().join(name)).unwrap();
    }
    std::fs::copy(
        third.join("statement.intoto.jsonl"),
        release.path().join("provenance.intoto.jsonl"),
    )
    .unwrap();
    let key = third.join("carol.pub");
    let (code, report) = run_json(&[
        release.path().as_os_str(),
        std::ffi::OsStr::new("--trusted-key"),
        key.as_os_str(),
        std::ffi::OsStr::new("--builder-id"),
        std::ffi::OsStr::new("https://github.com/actions/runner/github-hosted"),
        std::ffi::OsStr::new("--source-branch"),
        std::ffi::OsStr::new("main"),
    ]);
    assert_eq!(code, 0, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    let passed = |code: &str| {
        checks
            .iter()
            .any(|c| c["code"] == code && c["status"] == "pass")
    };
    assert!(passed("release-sums-signature-verified"), "{report:#}");
    assert!(passed("provenance-signature-verified"), "{report:#}");
    // The label as written is kept in the report; it decided nothing.
    let label = "4b14284670182934c5043942231d5c6d2c429f376dbb3b03fb2fb89320f49aca";
    let carol_id = checks
        .iter()
        .find(|c| c["code"] == "release-sums-signature-verified")
        .and_then(|c| c["key_id"].as_str())
        .map(str::to_owned)
        .expect("the verified signature names its key");
    assert_ne!(carol_id, label, "{report:#}");

    // A stranger's key still does not verify it, and the third-party label is no shortcut.
    let stranger = tempfile::tempdir().unwrap();
    let stranger_pub = stranger.path().join("stranger.pub");
    let private = evidence_core::keys::PrivateKey::from_seed(&[7; 32]);
    std::fs::write(&stranger_pub, private.public().to_spki_pem()).unwrap();
    let (code, report) = run_json(&[
        release.path().as_os_str(),
        std::ffi::OsStr::new("--trusted-key"),
        stranger_pub.as_os_str(),
    ]);
    assert_eq!(code, 1, "{report:#}");
    let fails = failing_codes(&report);
    assert!(
        fails.contains(&"release-sums-signer-untrusted".to_owned())
            || fails.contains(&"release-sums-threshold-not-met".to_owned()),
        "{fails:?}"
    );
}

/// A release shipping CycloneDX BOMs, as goreleaser (`ARTIFACT.sbom.json`) and CycloneDX tools
/// (`bom.json`, here the CycloneDX specification's own valid 1.6 example) write them: each is
/// found, judged as CycloneDX, and bound to the asset it names.
#[test]
fn cyclonedx_boms_in_a_release_are_found_and_bound_to_their_assets() {
    let Some(spec_example) =
        evidence_tests::need_interop("cyclonedx/cyclonedx-spec-valid-bom-1.6.json")
    else {
        return;
    };
    let release = tempfile::tempdir().unwrap();
    let asset = b"the linux build";
    std::fs::write(release.path().join("app_1.0_linux_amd64.tar.gz"), asset).unwrap();
    std::fs::copy(&spec_example, release.path().join("bom.json")).unwrap();
    let bom = |digest: &str| {
        serde_json::to_vec_pretty(&serde_json::json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "serialNumber": "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427",
            "version": 1,
            "metadata": {"component": {
                "type": "file", "name": "app_1.0_linux_amd64.tar.gz", "bom-ref": "archive",
                "hashes": [{"alg": "SHA-256", "content": digest}]
            }},
            "components": [{"type": "library", "name": "serde", "bom-ref": "serde",
                            "purl": "pkg:cargo/serde@1.0.210"}],
            "dependencies": [{"ref": "archive", "dependsOn": ["serde"]}]
        }))
        .unwrap()
    };
    let good = evidence_core::Sha256Digest::of(asset).to_hex();
    let write = |bytes: Vec<u8>| {
        std::fs::write(
            release.path().join("app_1.0_linux_amd64.tar.gz.sbom.json"),
            bytes,
        )
        .unwrap();
        let listing = std::process::Command::new("sha256sum")
            .args([
                "app_1.0_linux_amd64.tar.gz",
                "app_1.0_linux_amd64.tar.gz.sbom.json",
                "bom.json",
            ])
            .current_dir(release.path())
            .output()
            .unwrap();
        assert!(listing.status.success());
        std::fs::write(release.path().join("SHA256SUMS"), listing.stdout).unwrap();
    };
    write(bom(&good));
    let (code, report) = run_unsigned(&[release.path().as_os_str()]);
    assert_eq!(code, 0, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    let parsed: Vec<(&str, &str)> = checks
        .iter()
        .filter(|c| c["code"] == "sbom-parsed")
        .map(|c| (c["path"].as_str().unwrap(), c["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        parsed,
        vec![
            ("app_1.0_linux_amd64.tar.gz.sbom.json", "CycloneDX JSON"),
            ("bom.json", "CycloneDX JSON")
        ]
    );
    assert!(checks.iter().any(|c| c["code"] == "sbom-asset-digest-match"
        && c["sbom"] == "app_1.0_linux_amd64.tar.gz.sbom.json"
        && c["path"] == "archive"));
    assert_eq!(
        checks.iter().filter(|c| c["code"] == "sbom-valid").count(),
        2
    );

    // The BOM describes another build: the release fails, naming BOM and component.
    write(bom(&"0".repeat(64)));
    let (code, report) = run_unsigned(&[release.path().as_os_str()]);
    assert_eq!(code, 1);
    assert!(failing_codes(&report).contains(&"sbom-asset-digest-mismatch".to_owned()));
}

/// `--version` names the commit the binary was built from, so a report in an incident file can
/// be traced to the exact code that wrote it.
#[test]
fn version_shows_the_commit() {
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    for tool in ["evidence", "release-verify"] {
        let out = evidence_tests::bin(tool).arg("--version").output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.trim(),
            format!("{tool} {} (commit {head})", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// One mistake, one line: verifying the sample release against the wrong key prints the root
/// cause once, naming the key id the release is signed with beside the trusted one; `-v` and
/// `--json` keep every check.
#[test]
fn a_wrong_trusted_key_is_one_line_naming_both_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let stranger = evidence_core::keys::PrivateKey::from_seed(&[9; 32]);
    let stranger_pub = tmp.path().join("stranger.pub");
    std::fs::write(&stranger_pub, stranger.public().to_spki_pem()).unwrap();
    let release = workspace_root().join("fixtures/sample-release");
    let run = |extra: &[&str]| {
        let out = release_verify()
            .arg(&release)
            .arg("--trusted-key")
            .arg(&stranger_pub)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(fails.len(), 1, "{text}");
    let signer = evidence_core::keys::PublicKey::from_spki_pem(
        &std::fs::read_to_string(workspace_root().join("fixtures/keys/fixture-signer.pub"))
            .unwrap(),
    )
    .unwrap()
    .key_id()
    .to_string();
    assert!(
        fails[0].contains(&format!("signed by key id {signer}")),
        "{text}"
    );
    assert!(
        fails[0].contains(&stranger.public().key_id().to_string()),
        "{text}"
    );
    assert!(fails[0].contains("-v shows each"), "{text}");
    // Verbose: every check again, each still saying why.
    let verbose = run(&["-v"]);
    assert!(
        verbose.lines().filter(|l| l.starts_with("FAIL ")).count() >= 7,
        "{verbose}"
    );
    let (_, report) = run_json(&[
        release.as_os_str(),
        std::ffi::OsStr::new("--trusted-key"),
        stranger_pub.as_os_str(),
    ]);
    let caused = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cause"].is_string())
        .count();
    assert!(caused >= 7, "{report:#}");
}
