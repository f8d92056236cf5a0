//! `release-verify --pgp-key`: OpenPGP signatures of the checksum file (Ed25519, RSA, ECDSA
//! P-256 and P-384 keys), with keys and
//! signatures made at test time by GnuPG in a temporary home (skipped with one line when `gpg`
//! is absent; a failure under `EVIDENCE_NO_SKIP=1`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use evidence_tests::skip::need_tool;
use evidence_tests::{codes_with, failing_codes};
use serde_json::Value;

/// A GnuPG home of its own; its agent is stopped when dropped.
struct Gpg {
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Option<Self> {
        let bin = need_tool("gpg", None, "apt-get install gnupg")?;
        let home = tempfile::tempdir().unwrap();
        Some(Self { bin, home })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("GNUPGHOME", self.home.path())
            .args(["--batch", "--yes", "--no-tty", "--quiet"])
            .args(["--pinentry-mode", "loopback", "--passphrase", ""])
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes a key (`algo` as `--quick-gen-key` takes it) and returns its fingerprint.
    fn key(&self, uid: &str, algo: &str, usage: &str, expire: &str, extra: &[&str]) -> String {
        let mut args = extra.to_vec();
        args.extend(["--quick-gen-key", uid, algo, usage, expire]);
        self.run(&args);
        self.fingerprints(uid)[0].clone()
    }

    /// The primary fingerprint, then subkey fingerprints, of `uid`.
    fn fingerprints(&self, uid: &str) -> Vec<String> {
        let out = self.run(&["--with-colons", "--list-keys", uid]);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_owned())
            .collect()
    }

    /// Exports the certificates of `fprs` into `path` (armored or binary).
    fn export(&self, path: &Path, armor: bool, fprs: &[&str]) {
        let mut args = vec!["--export"];
        if armor {
            args.push("--armor");
        }
        args.extend(fprs);
        let bytes = self.run(&args);
        assert!(!bytes.is_empty());
        std::fs::write(path, bytes).unwrap();
    }

    /// Signs `file` with `signer` into `out` (`how`: `--detach-sign` or `--clear-sign`).
    fn sign(&self, signer: &str, file: &Path, out: &Path, how: &str, extra: &[&str]) {
        let mut args = extra.to_vec();
        args.extend(["--local-user", signer, "--output"]);
        args.push(out.to_str().unwrap());
        args.push(how);
        args.push(file.to_str().unwrap());
        self.run(&args);
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A release directory with two assets and a `sums` checksum file listing them.
fn release(sums: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for (name, data) in [("app.tar.gz", "app"), ("app.zip", "zip")] {
        std::fs::write(dir.path().join(name), data).unwrap();
        text.push_str(&format!(
            "{}  {name}\n",
            evidence_core::digest::Sha256Digest::of(data.as_bytes()).to_hex()
        ));
    }
    std::fs::write(dir.path().join(sums), text).unwrap();
    dir
}

fn verify(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = evidence_tests::bin("release-verify")
        .arg(dir)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

/// The checks of `code`.
fn checks<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == code)
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn armored_and_binary_signatures_verify_for_each_key_type() {
    let Some(gpg) = Gpg::new() else { return };
    for algo in ["ed25519", "rsa3072", "nistp256", "nistp384"] {
        let uid = format!("Test {algo} <{algo}@example.com>");
        let fpr = gpg.key(&uid, algo, "sign", "never", &[]);
        let dir = release("SHA256SUMS");
        let sums = dir.path().join("SHA256SUMS");
        gpg.sign(
            &fpr,
            &sums,
            &dir.path().join("SHA256SUMS.sig"),
            "--detach-sign",
            &[],
        );
        gpg.sign(
            &fpr,
            &sums,
            &dir.path().join("SHA256SUMS.asc"),
            "--detach-sign",
            &["--armor"],
        );
        let keys = tempfile::tempdir().unwrap();
        for armor in [true, false] {
            let key = keys.path().join(format!("{algo}-{armor}.key"));
            gpg.export(&key, armor, &[&fpr]);
            let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
            assert_eq!(code, 0, "{algo}: {report:#}");
            let verified = checks(&report, "release-pgp-verified");
            let files: Vec<&str> = verified
                .iter()
                .map(|c| c["path"].as_str().unwrap())
                .collect();
            assert_eq!(files, ["SHA256SUMS.sig", "SHA256SUMS.asc"], "{algo}");
            for c in verified {
                assert_eq!(c["status"], "pass");
                assert_eq!(c["signer"], fpr.as_str());
                assert_eq!(c["trusted"], serde_json::json!([fpr]));
                assert!(c["detail"].as_str().unwrap().contains(&fpr), "{c}");
            }
        }
    }
}

#[test]
fn a_keyring_of_two_verifies_a_signature_by_the_second() {
    let Some(gpg) = Gpg::new() else { return };
    let first = gpg.key("First <first@example.com>", "ed25519", "sign", "never", &[]);
    let second = gpg.key(
        "Second <second@example.com>",
        "rsa3072",
        "sign",
        "never",
        &[],
    );
    let dir = release("SHA256SUMS");
    let sums = dir.path().join("SHA256SUMS");
    gpg.sign(
        &second,
        &sums,
        &dir.path().join("SHA256SUMS.sig"),
        "--detach-sign",
        &[],
    );
    let keys = tempfile::tempdir().unwrap();
    // One binary keyring, and two armored blocks in one file.
    let binary = keys.path().join("keyring.gpg");
    gpg.export(&binary, false, &[&first, &second]);
    let armored = keys.path().join("keyring.asc");
    gpg.export(&keys.path().join("a.asc"), true, &[&first]);
    gpg.export(&keys.path().join("b.asc"), true, &[&second]);
    let mut both = std::fs::read(keys.path().join("a.asc")).unwrap();
    both.extend(std::fs::read(keys.path().join("b.asc")).unwrap());
    std::fs::write(&armored, both).unwrap();
    for ring in [&binary, &armored] {
        let (code, report) = verify(dir.path(), &["--pgp-key", path(ring)]);
        assert_eq!(code, 0, "{report:#}");
        let c = checks(&report, "release-pgp-verified")[0];
        assert_eq!(c["signer"], second.as_str());
        assert_eq!(c["trusted"], serde_json::json!([first, second]));
    }
}

#[test]
fn a_strangers_signature_and_an_edited_checksum_file_fail() {
    let Some(gpg) = Gpg::new() else { return };
    let trusted = gpg.key("Trusted <t@example.com>", "ed25519", "sign", "never", &[]);
    let stranger = gpg.key("Stranger <s@example.com>", "ed25519", "sign", "never", &[]);
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("trusted.asc");
    gpg.export(&key, true, &[&trusted]);

    let dir = release("SHA256SUMS");
    let sums = dir.path().join("SHA256SUMS");
    gpg.sign(
        &stranger,
        &sums,
        &dir.path().join("SHA256SUMS.sig"),
        "--detach-sign",
        &[],
    );
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-untrusted"]);
    let c = checks(&report, "release-pgp-untrusted")[0];
    assert_eq!(c["signer"], stranger.as_str());

    // Signed by the trusted key, then a line added for a planted (and listed) file.
    let dir = release("SHA256SUMS");
    let sums = dir.path().join("SHA256SUMS");
    gpg.sign(
        &trusted,
        &sums,
        &dir.path().join("SHA256SUMS.asc"),
        "--detach-sign",
        &["--armor"],
    );
    std::fs::write(dir.path().join("planted.sh"), "x").unwrap();
    let mut text = std::fs::read_to_string(&sums).unwrap();
    text.push_str(&format!(
        "{}  planted.sh\n",
        evidence_core::digest::Sha256Digest::of(b"x").to_hex()
    ));
    std::fs::write(&sums, text).unwrap();
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-invalid"]);
    assert_eq!(
        checks(&report, "release-pgp-invalid")[0]["path"],
        "SHA256SUMS.asc"
    );
}

#[test]
fn a_signature_without_a_key_warns_by_name_and_trust_fails_closed() {
    let Some(gpg) = Gpg::new() else { return };
    let fpr = gpg.key("Node <n@example.com>", "ed25519", "sign", "never", &[]);
    // Node.js's names: SHASUMS256.txt with .sig (binary) and .asc (cleartext-signed).
    let dir = release("SHASUMS256.txt");
    let sums = dir.path().join("SHASUMS256.txt");
    gpg.sign(
        &fpr,
        &sums,
        &dir.path().join("SHASUMS256.txt.sig"),
        "--detach-sign",
        &[],
    );
    gpg.sign(
        &fpr,
        &sums,
        &dir.path().join("SHASUMS256.txt.asc"),
        "--clear-sign",
        &[],
    );
    let sums_arg = ["--sums", path(&sums)];
    let (code, report) = verify(dir.path(), &sums_arg);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["trust-not-configured"]);
    let unchecked = checks(&report, "release-sums-signature-unchecked");
    let files: Vec<&str> = unchecked
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["SHASUMS256.txt.sig", "SHASUMS256.txt.asc"]);
    assert!(unchecked.iter().all(|c| c["status"] == "warn"));
    assert!(
        report["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("--pgp-key")
    );

    let (code, report) = verify(dir.path(), &[sums_arg[0], sums_arg[1], "--allow-unsigned"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(codes_with(&report, "warn").len(), 3, "{report:#}");

    // With the key both files verify, the cleartext one against the checksum file's text.
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("node.asc");
    gpg.export(&key, true, &[&fpr]);
    let (code, report) = verify(
        dir.path(),
        &[sums_arg[0], sums_arg[1], "--pgp-key", path(&key)],
    );
    assert_eq!(code, 0, "{report:#}");
    let verified = checks(&report, "release-pgp-verified");
    assert_eq!(verified.len(), 2, "{report:#}");
    assert!(
        verified[1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("cleartext")
    );

    // A cleartext message over other text is refused.
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "0000  app.tar.gz\n").unwrap();
    gpg.sign(
        &fpr,
        &other,
        &dir.path().join("SHASUMS256.txt.asc"),
        "--clear-sign",
        &[],
    );
    std::fs::remove_file(&other).unwrap();
    let (code, report) = verify(
        dir.path(),
        &[sums_arg[0], sums_arg[1], "--pgp-key", path(&key)],
    );
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-invalid"]);
}

#[test]
fn garbage_signatures_and_key_files_are_refused_with_their_codes() {
    let Some(gpg) = Gpg::new() else { return };
    let fpr = gpg.key("Test <t@example.com>", "ed25519", "sign", "never", &[]);
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("key.asc");
    gpg.export(&key, true, &[&fpr]);
    let dir = release("SHA256SUMS");
    std::fs::write(dir.path().join("SHA256SUMS.sig"), "MEUCIQDgarbage==\n").unwrap();
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-malformed"]);
    // Without a key the same file is only unchecked (a .sig may be another tool's).
    let (_, report) = verify(dir.path(), &["--allow-unsigned"]);
    assert_eq!(
        checks(&report, "release-sums-signature-unchecked")[0]["path"],
        "SHA256SUMS.sig"
    );
    // A key given and no signature file at all.
    std::fs::remove_file(dir.path().join("SHA256SUMS.sig")).unwrap();
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-missing"]);
    // A key file that is not a key cannot run (exit 2), naming the file.
    let out = evidence_tests::bin("release-verify")
        .arg(dir.path())
        .args(["--pgp-key", path(&dir.path().join("SHA256SUMS"))])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pgp-key"));
}

#[test]
fn expired_and_revoked_keys_fail_and_a_signing_subkey_counts() {
    let Some(gpg) = Gpg::new() else { return };
    let keys = tempfile::tempdir().unwrap();
    // Made and used in 2020 with a one-day lifetime: expired now.
    let past = ["--faked-system-time", "20200101T000000!"];
    let old = gpg.key("Old <old@example.com>", "ed25519", "sign", "1d", &past);
    let dir = release("SHA256SUMS");
    let sums = dir.path().join("SHA256SUMS");
    gpg.sign(
        &old,
        &sums,
        &dir.path().join("SHA256SUMS.sig"),
        "--detach-sign",
        &past,
    );
    let key = keys.path().join("old.asc");
    gpg.export(&key, true, &[&old]);
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-key-expired"]);

    // Signed, then revoked with the revocation certificate gpg keeps for every key.
    let gone = gpg.key("Gone <gone@example.com>", "ed25519", "sign", "never", &[]);
    let dir = release("SHA256SUMS");
    let sums = dir.path().join("SHA256SUMS");
    gpg.sign(
        &gone,
        &sums,
        &dir.path().join("SHA256SUMS.sig"),
        "--detach-sign",
        &[],
    );
    let rev = gpg.home.path().join(format!("openpgp-revocs.d/{gone}.rev"));
    let text = std::fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let armed = keys.path().join("gone.rev");
    std::fs::write(&armed, text).unwrap();
    gpg.run(&["--import", path(&armed)]);
    let key = keys.path().join("gone.asc");
    gpg.export(&key, true, &[&gone]);
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["release-pgp-key-revoked"]);

    // A certify-only primary key with a signing subkey: the subkey signs, the certificate is
    // trusted, and the report names both.
    let primary = gpg.key("Sub <sub@example.com>", "ed25519", "cert", "never", &[]);
    gpg.run(&["--quick-add-key", &primary, "ed25519", "sign", "never"]);
    let subkey = gpg.fingerprints("Sub <sub@example.com>")[1].clone();
    let dir = release("SHA256SUMS");
    let sums = dir.path().join("SHA256SUMS");
    gpg.sign(
        &primary,
        &sums,
        &dir.path().join("SHA256SUMS.gpg"),
        "--detach-sign",
        &[],
    );
    let key = keys.path().join("sub.gpg");
    gpg.export(&key, false, &[&primary]);
    let (code, report) = verify(dir.path(), &["--pgp-key", path(&key)]);
    assert_eq!(code, 0, "{report:#}");
    let c = checks(&report, "release-pgp-verified")[0];
    assert_eq!(c["signer"], subkey.as_str());
    assert_eq!(c["certificate"], primary.as_str());
    assert_eq!(c["path"], "SHA256SUMS.gpg");
}
