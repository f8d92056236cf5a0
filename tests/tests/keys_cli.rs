//! End-to-end tests of key handling: every kind of wrong key file is named with what to do
//! (files made at test time by `openssl` and `ssh-keygen`, minisign keys by hand from its
//! format), keys from the environment and standard input, `--sign` with `--key` as its older
//! name, and `evidence keyring create` feeding `--keyring`.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use evidence_core::keys::{KeyError, KeyFileKind, KeyRole, Keyring, PrivateKey, PublicKey};
use evidence_tests::{need_tool, skip_or_fail, workspace_root};

fn evidence() -> Command {
    let mut cmd = evidence_tests::bin("evidence");
    cmd.current_dir(workspace_root());
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sample_bundle() -> PathBuf {
    workspace_root().join("fixtures/sample-bundle")
}

/// Runs `program args...` in `dir`; false (after one skip line) when the program is missing.
fn tool(dir: &Path, program: &str, args: &[&str]) -> bool {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(out) => {
            assert!(out.status.success(), "{program} {args:?}: {out:?}");
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip_or_fail(&format!("needs {program} on PATH"));
            false
        }
        Err(e) => panic!("{program}: {e}"),
    }
}

/// Keys of every kind that is not the one wanted, written by their own tools in `dir`.
struct Kinds {
    dir: tempfile::TempDir,
}

impl Kinds {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn make_kinds() -> Option<Kinds> {
    need_tool("openssl", None, "apt-get install openssl")?;
    let kinds = Kinds {
        dir: tempfile::tempdir().unwrap(),
    };
    let d = kinds.dir.path();
    let openssl = |args: &[&str]| assert!(tool(d, "openssl", args));
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.key"]);
    openssl(&["pkey", "-in", "ed.key", "-pubout", "-out", "ed.pub"]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "rsa.key",
    ]);
    openssl(&["pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub"]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "ec.key",
    ]);
    openssl(&["pkey", "-in", "ec.key", "-pubout", "-out", "ec.pub"]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "ed.key",
        "-v2",
        "aes-256-cbc",
        "-passout",
        "pass:secret",
        "-out",
        "encrypted.key",
    ]);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ed.key",
        "-subj",
        "/CN=operator",
        "-days",
        "1",
        "-out",
        "cert.pem",
    ]);
    if !tool(
        d,
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "op@host",
            "-f",
            "id_ed25519",
        ],
    ) {
        return None;
    }
    // minisign's key format: an untrusted comment line, then base64 of "Ed" + key id (8) +
    // public key (32), or for the secret key "Ed" + "Sc" (scrypt) + "B2" (BLAKE2b) + salt (32)
    // + opslimit (8) + memlimit (8) + encrypted key id, secret key and checksum (104).
    let b64 = |bytes: &[u8]| {
        fs::write(d.join("raw"), bytes).unwrap();
        openssl(&["base64", "-A", "-in", "raw", "-out", "raw.b64"]);
        fs::read_to_string(d.join("raw.b64")).unwrap()
    };
    let mut public = b"Ed".to_vec();
    public.extend([0x11; 8].iter().chain(&[0x22; 32]));
    fs::write(
        d.join("minisign.pub"),
        format!(
            "untrusted comment: minisign public key 1111111111111111\n{}\n",
            b64(&public)
        ),
    )
    .unwrap();
    let mut secret = b"EdScB2".to_vec();
    secret.extend([0x33; 32 + 8 + 8 + 104]);
    fs::write(
        d.join("minisign.key"),
        format!(
            "untrusted comment: minisign encrypted secret key\n{}\n",
            b64(&secret)
        ),
    )
    .unwrap();
    fs::create_dir(d.join("keys")).unwrap();
    fs::write(d.join("empty.key"), b"").unwrap();
    let out = evidence()
        .args(["keyring", "create", "--threshold", "1", "--key"])
        .arg(format!("ed={}", d.join("ed.pub").display()))
        .arg("--out")
        .arg(d.join("ops.keyring.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for f in [
        "ed.key",
        "rsa.key",
        "ec.key",
        "encrypted.key",
        "id_ed25519",
        "minisign.key",
    ] {
        fs::set_permissions(d.join(f), fs::Permissions::from_mode(0o600)).unwrap();
    }
    Some(kinds)
}

/// Asserts that `error` is `WrongKind` naming `found` where `role` was wanted.
fn assert_kind(error: KeyError, role: KeyRole, found: &KeyFileKind) {
    match error {
        KeyError::WrongKind {
            expected, found: f, ..
        } => assert_eq!((expected, &f), (role, found)),
        other => panic!("expected {found:?}, got {other}"),
    }
}

/// Asserts a usage error (exit 2) whose error line names `kind` and whose hint has `remedy`.
fn assert_named(out: &Output, kind: &str, remedy: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("evidence: error: ") && lines[0].contains(kind),
        "{err}"
    );
    assert!(
        lines[1].starts_with("evidence: hint: ") && lines[1].contains(remedy),
        "{err}"
    );
}

fn sign_with(kinds: &Kinds, file: &Path) -> Output {
    let input = kinds.path("notes.txt");
    fs::write(&input, b"notes\n").unwrap();
    evidence()
        .args(["bundle", "create", "--kind", "incident", "--out"])
        .arg(kinds.path("never-written"))
        .arg("--sign")
        .arg(file)
        .arg(&input)
        .output()
        .unwrap()
}

fn trust(file: &Path) -> Output {
    evidence()
        .args(["bundle", "verify"])
        .arg(sample_bundle())
        .arg("--trusted-key")
        .arg(file)
        .output()
        .unwrap()
}

/// A private key from `file` of the made kinds: `PrivateKey::load` gives `WrongKind` naming
/// `kind`, and `bundle create --sign` exits 2 with an error line naming the file and what it is
/// (`named`) and a hint holding `remedy` (`{file}` stands for the file's path), writing nothing.
fn wrong_private_key(file: &str, kind: KeyFileKind, named: &str, remedy: &str) {
    let Some(kinds) = make_kinds() else { return };
    let path = kinds.path(file);
    let shown = path.display().to_string();
    assert_kind(
        PrivateKey::load(&path).unwrap_err(),
        KeyRole::Private,
        &kind,
    );
    let out = sign_with(&kinds, &path);
    assert_named(
        &out,
        &format!("{shown} {named}"),
        &remedy.replace("{file}", &shown),
    );
    assert!(!kinds.path("never-written").exists());
}

/// A trusted key from `file`: `PublicKey::load` gives `WrongKind` naming `kind`, and `bundle
/// verify --trusted-key` exits 2 naming it (`named`) with `remedy` in the hint.
fn wrong_trusted_key(file: &str, kind: KeyFileKind, named: &str, remedy: &str) {
    let Some(kinds) = make_kinds() else { return };
    let path = kinds.path(file);
    let shown = path.display().to_string();
    assert_kind(PublicKey::load(&path).unwrap_err(), KeyRole::Public, &kind);
    assert_named(
        &trust(&path),
        &format!("{shown} {named}"),
        &remedy.replace("{file}", &shown),
    );
}

fn other(algorithm: &str, private: bool) -> KeyFileKind {
    KeyFileKind::OtherAlgorithm {
        algorithm: algorithm.into(),
        private,
    }
}

fn openssh_public() -> KeyFileKind {
    KeyFileKind::OpenSshPublic {
        key_type: "ssh-ed25519".into(),
    }
}

const OPENSSH_REMEDY: &str = "OpenSSH cannot write an Ed25519 key as PEM: make an Ed25519 key \
                              pair with `evidence key generate";

#[test]
fn a_public_key_given_as_the_private_key() {
    wrong_private_key(
        "ed.pub",
        KeyFileKind::Ed25519Public,
        "is an Ed25519 public key (SPKI PEM), not an Ed25519 private key (PKCS#8 PEM)",
        "sign with the private half: the PREFIX.key",
    );
}

#[test]
fn a_folder_given_as_the_private_key() {
    wrong_private_key(
        "keys",
        KeyFileKind::Folder,
        "is a folder, not an Ed25519 private key",
        "pass the key file itself, not the folder",
    );
}

#[test]
fn an_empty_file_given_as_the_private_key() {
    wrong_private_key(
        "empty.key",
        KeyFileKind::Empty,
        "is empty, not an Ed25519 private key",
        "fill it with the key",
    );
}

#[test]
fn an_openssh_private_key_given_as_the_private_key() {
    wrong_private_key(
        "id_ed25519",
        KeyFileKind::OpenSshPrivate,
        "is an OpenSSH private key, not an Ed25519 private key",
        OPENSSH_REMEDY,
    );
}

#[test]
fn an_openssh_public_key_given_as_the_private_key() {
    wrong_private_key(
        "id_ed25519.pub",
        openssh_public(),
        "is an OpenSSH public key (ssh-ed25519), not an Ed25519 private key",
        OPENSSH_REMEDY,
    );
}

#[test]
fn a_minisign_secret_key_given_as_the_private_key() {
    wrong_private_key(
        "minisign.key",
        KeyFileKind::MinisignSecret,
        "is a minisign secret key, not an Ed25519 private key",
        "minisign keys are in minisign's own format and cannot be used here",
    );
}

#[test]
fn a_minisign_public_key_given_as_the_private_key() {
    wrong_private_key(
        "minisign.pub",
        KeyFileKind::MinisignPublic,
        "is a minisign public key, not an Ed25519 private key",
        "minisign keys are in minisign's own format and cannot be used here",
    );
}

#[test]
fn a_keyring_given_as_the_private_key() {
    wrong_private_key(
        "ops.keyring.json",
        KeyFileKind::Keyring,
        "is a keyring (evidence.keyring/v1 JSON), not an Ed25519 private key",
        "a keyring holds public keys only: sign with a private key",
    );
}

#[test]
fn an_rsa_private_key_given_as_the_private_key() {
    wrong_private_key(
        "rsa.key",
        other("RSA", true),
        "is an RSA private key, not an Ed25519 private key",
        "only Ed25519 keys are supported",
    );
}

#[test]
fn an_ec_private_key_given_as_the_private_key() {
    wrong_private_key(
        "ec.key",
        other("EC (P-256)", true),
        "is an EC (P-256) private key, not an Ed25519 private key",
        "only Ed25519 keys are supported",
    );
}

#[test]
fn an_encrypted_pkcs8_key_given_as_the_private_key() {
    wrong_private_key(
        "encrypted.key",
        KeyFileKind::EncryptedPkcs8,
        "is an encrypted PKCS#8 private key, not an Ed25519 private key",
        "decrypt it with `openssl pkcs8 -in {file} -out G`",
    );
}

#[test]
fn a_certificate_given_as_the_private_key() {
    wrong_private_key(
        "cert.pem",
        KeyFileKind::Certificate,
        "is an X.509 certificate, not an Ed25519 private key",
        "a certificate holds no private key",
    );
}

#[test]
fn the_ed25519_key_openssl_wrote_signs() {
    let Some(kinds) = make_kinds() else { return };
    let out = sign_with(&kinds, &kinds.path("ed.key"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_private_key_given_as_a_trusted_key() {
    wrong_trusted_key(
        "ed.key",
        KeyFileKind::Ed25519Private,
        "is an Ed25519 private key (PKCS#8 PEM), not an Ed25519 public key (SPKI PEM)",
        "never hand a private key to a verifier: pass its public half \
         (`openssl pkey -in {file} -pubout -out {file}.pub`",
    );
}

#[test]
fn an_encrypted_private_key_given_as_a_trusted_key() {
    wrong_trusted_key(
        "encrypted.key",
        KeyFileKind::EncryptedPkcs8,
        "is an encrypted PKCS#8 private key, not an Ed25519 public key",
        "never hand a private key to a verifier",
    );
}

#[test]
fn a_folder_given_as_a_trusted_key() {
    wrong_trusted_key(
        "keys",
        KeyFileKind::Folder,
        "is a folder, not an Ed25519 public key",
        "pass the key file itself",
    );
}

#[test]
fn an_empty_file_given_as_a_trusted_key() {
    wrong_trusted_key(
        "empty.key",
        KeyFileKind::Empty,
        "is empty, not an Ed25519 public key",
        "fill it with the key",
    );
}

#[test]
fn an_openssh_public_key_given_as_a_trusted_key() {
    wrong_trusted_key(
        "id_ed25519.pub",
        openssh_public(),
        "is an OpenSSH public key (ssh-ed25519), not an Ed25519 public key",
        "evidence key generate",
    );
}

#[test]
fn a_minisign_public_key_given_as_a_trusted_key() {
    wrong_trusted_key(
        "minisign.pub",
        KeyFileKind::MinisignPublic,
        "is a minisign public key, not an Ed25519 public key",
        "pass it as `release-verify --minisign-key {file}`",
    );
}

#[test]
fn a_keyring_given_as_a_trusted_key() {
    wrong_trusted_key(
        "ops.keyring.json",
        KeyFileKind::Keyring,
        "is a keyring (evidence.keyring/v1 JSON), not an Ed25519 public key",
        "pass it as --keyring {file}",
    );
}

#[test]
fn an_rsa_public_key_given_as_a_trusted_key() {
    wrong_trusted_key(
        "rsa.pub",
        other("RSA", false),
        "is an RSA public key, not an Ed25519 public key",
        "only Ed25519 keys are supported",
    );
}

#[test]
fn an_ec_public_key_given_as_a_trusted_key() {
    wrong_trusted_key(
        "ec.pub",
        other("EC (P-256)", false),
        "is an EC (P-256) public key, not an Ed25519 public key",
        "only Ed25519 keys are supported",
    );
}

#[test]
fn a_certificate_given_as_a_trusted_key() {
    wrong_trusted_key(
        "cert.pem",
        KeyFileKind::Certificate,
        "is an X.509 certificate, not an Ed25519 public key",
        "`openssl x509 -in {file} -pubkey -noout > {file}.pub`",
    );
}

#[test]
fn a_public_key_given_as_the_keyring() {
    let Some(kinds) = make_kinds() else { return };
    let out = evidence()
        .args(["bundle", "verify"])
        .arg(sample_bundle())
        .arg("--keyring")
        .arg(kinds.path("ed.pub"))
        .output()
        .unwrap();
    assert_kind(
        Keyring::load(&kinds.path("ed.pub")).unwrap_err(),
        KeyRole::Keyring,
        &KeyFileKind::Ed25519Public,
    );
    assert_named(
        &out,
        "is an Ed25519 public key (SPKI PEM), not a keyring",
        "evidence keyring create",
    );
}

#[test]
fn key_id_reads_either_half_and_names_anything_else() {
    let Some(kinds) = make_kinds() else { return };
    let id = |file: &str| {
        evidence()
            .args(["key", "id"])
            .arg(kinds.path(file))
            .output()
            .unwrap()
    };
    assert_eq!(id("ed.key").stdout, id("ed.pub").stdout);
    assert_eq!(id("ed.key").status.code(), Some(0));
    assert_named(
        &id("rsa.key"),
        "is an RSA private key",
        "only Ed25519 keys are supported",
    );
}

fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let out = evidence()
        .args(["key", "generate", "--out"])
        .arg(dir.join(name))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    )
}

fn create_bundle(dir: &Path, out: &str, sign: &[&Path]) -> PathBuf {
    let input = dir.join("notes.txt");
    fs::write(&input, b"notes\n").unwrap();
    let mut cmd = evidence();
    cmd.args(["bundle", "create", "--kind", "incident", "--out"])
        .arg(dir.join(out));
    for k in sign {
        cmd.arg("--sign").arg(k);
    }
    let o = cmd.arg(&input).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    dir.join(out)
}

fn verify_with_keyring(bundle: &Path, ring: &Path) -> Output {
    evidence()
        .args(["bundle", "verify"])
        .arg(bundle)
        .arg("--keyring")
        .arg(ring)
        .output()
        .unwrap()
}

#[test]
fn keyring_create_writes_what_keyring_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (alice_key, alice) = key_pair(t, "alice");
    let (bob_key, bob) = key_pair(t, "bob");
    let both = create_bundle(t, "both", &[&alice_key, &bob_key]);
    let one = create_bundle(t, "one", &[&alice_key]);
    let create = |args: &[String]| {
        evidence()
            .args(["keyring", "create"])
            .args(args)
            .output()
            .unwrap()
    };
    let key =
        |name: &str, file: &Path| vec!["--key".to_owned(), format!("{name}={}", file.display())];
    let ring = t.join("ops.keyring.json");
    let mut args = [key("alice", &alice), key("bob", &bob)].concat();
    args.extend([
        "--threshold".into(),
        "2".into(),
        "--out".into(),
        ring.display().to_string(),
    ]);
    let out = create(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.ends_with(&format!("wrote {}: 2 keys, 2 must sign\n", ring.display())),
        "{text}"
    );
    let alice_id = PublicKey::load(&alice).unwrap().key_id().to_string();
    assert!(text.starts_with(&format!("{alice_id} alice\n")), "{text}");
    assert_eq!(Keyring::load(&ring).unwrap().threshold, 2);
    // Accepted by --keyring: both signatures meet the threshold, one does not.
    let o = verify_with_keyring(&both, &ring);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verify_with_keyring(&one, &ring).status.code(), Some(1));

    // Refusals, none of which writes anything.
    let refused = |args: Vec<String>, error: &str| {
        let out = t.join("refused.json");
        let mut args = args;
        args.extend(["--out".into(), out.display().to_string()]);
        let o = create(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(error), "{}", stderr(&o));
        assert!(!out.exists());
    };
    let threshold = |n: &str| vec!["--threshold".to_owned(), n.to_owned()];
    refused(
        [key("alice", &alice), key("alice", &bob), threshold("1")].concat(),
        "name \"alice\" appears twice",
    );
    refused(
        [key("alice", &alice), key("carol", &alice), threshold("1")].concat(),
        "keys \"alice\" and \"carol\" are the same key",
    );
    refused(
        [key("alice", &alice), threshold("2")].concat(),
        "threshold 2 exceeds the 1 distinct trusted key(s)",
    );
    refused(
        [key("alice", &alice), threshold("0")].concat(),
        "a threshold of 0 checks nothing",
    );
    refused(
        [key("alice", &t.join("nobody.pub")), threshold("1")].concat(),
        "No such file or directory",
    );
    refused(
        [key("alice", &alice_key), threshold("1")].concat(),
        "is an Ed25519 private key (PKCS#8 PEM), not an Ed25519 public key",
    );
    refused(
        [vec!["--key".into(), "alice".into()], threshold("1")].concat(),
        "expected NAME=PUBFILE",
    );
    // An existing keyring is never overwritten.
    let before = fs::read(&ring).unwrap();
    let mut again = [key("bob", &bob), threshold("1")].concat();
    again.extend(["--out".into(), ring.display().to_string()]);
    let o = create(&again);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(fs::read(&ring).unwrap(), before);
}

#[test]
fn private_keys_come_from_the_environment_or_standard_input() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (key, public) = key_pair(t, "op");
    let pem = fs::read_to_string(&key).unwrap();
    fs::write(t.join("events.jsonl"), b"{\"type\":\"start\"}\n").unwrap();
    let seal = |out: &str| {
        let mut cmd = evidence();
        cmd.args(["journal", "seal"])
            .arg(t.join("events.jsonl"))
            .arg("--out")
            .arg(t.join(out));
        cmd
    };
    let verify = |bundle: &str| {
        evidence()
            .args(["bundle", "verify"])
            .arg(t.join(bundle))
            .arg("--trusted-key")
            .arg(&public)
            .output()
            .unwrap()
    };

    // --key-env VAR.
    let o = seal("from-env")
        .args(["--key-env", "SIGNING_KEY"])
        .env("SIGNING_KEY", &pem)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verify("from-env").status.code(), Some(0));

    // --sign - reads standard input.
    let mut child = seal("from-stdin")
        .args(["--sign", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verify("from-stdin").status.code(), Some(0));

    // --key, the older name of --sign, still signs; help shows only --sign.
    let o = seal("from-key").arg("--key").arg(&key).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let help = evidence()
        .args(["journal", "seal", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("--sign <KEYFILE>") && help.contains("--key-env <VAR>"),
        "{help}"
    );
    assert!(!help.contains("--key <"), "{help}");

    // Both, neither, an unset variable, a variable holding the public key: each named.
    let usage = |o: Output, error: &str, hint: &str| {
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("evidence: error: {error}")), "{err}");
        assert!(err.contains(&format!("evidence: hint: {hint}")), "{err}");
    };
    usage(
        seal("x")
            .arg("--sign")
            .arg(&key)
            .args(["--key-env", "SIGNING_KEY"])
            .env("SIGNING_KEY", &pem)
            .output()
            .unwrap(),
        "--sign and --key-env both name a signing key",
        "give the key one way",
    );
    usage(
        seal("x").output().unwrap(),
        "a signing key is required",
        "add --sign KEYFILE, --sign - (the key on standard input) or --key-env VAR",
    );
    usage(
        seal("x")
            .args(["--key-env", "NO_SUCH_KEY_VAR"])
            .env_remove("NO_SUCH_KEY_VAR")
            .output()
            .unwrap(),
        "environment variable NO_SUCH_KEY_VAR is not set",
        "export NO_SUCH_KEY_VAR",
    );
    usage(
        seal("x")
            .args(["--key-env", "SIGNING_KEY"])
            .env("SIGNING_KEY", fs::read_to_string(&public).unwrap())
            .output()
            .unwrap(),
        "environment variable SIGNING_KEY is an Ed25519 public key (SPKI PEM), not an Ed25519 private key",
        "sign with the private half",
    );
    usage(
        seal("x")
            .args(["--key-env", "SIGNING_KEY"])
            .env("SIGNING_KEY", "")
            .output()
            .unwrap(),
        "environment variable SIGNING_KEY is empty",
        "fill it with the key",
    );
    let o = evidence()
        .args(["bundle", "sign"])
        .arg(t.join("from-env"))
        .output()
        .unwrap();
    usage(o, "a signing key is required", "add --sign KEYFILE");
    assert!(!t.join("x").exists());
}
