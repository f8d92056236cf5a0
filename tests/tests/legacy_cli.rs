//! `evidence legacy verify|import` on real legacy packs: the predecessor's scripts run against
//! the real ZERO engine write them, its verifier is the oracle for verdicts, and each
//! tampering must fail with its own check code.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evidence_core::digest::Sha256Digest;
use evidence_tests::failing_codes;
use evidence_tests::zero_engine::{self, ZeroEngine};
use serde_json::Value;

/// The HMAC key the packs are signed with. Long and unusual on purpose: the predecessor
/// redacts the key's text from every file it writes, so a short key would mangle the pack.
const HMAC_KEY: &str = "legacy-hmac-key-3b9f0d27";

/// Real packs written by the predecessor, in the engine's temporary folder.
struct Packs {
    engine: ZeroEngine,
    scripts: PathBuf,
    cur: PathBuf,
    prev: PathBuf,
    rehearsal: PathBuf,
    hmac_key: PathBuf,
}

impl Packs {
    /// Starts the engine and writes two evidence packs and a rehearsal, or `None` after one
    /// skip line when the engine or `../shared` is absent.
    fn make() -> Option<Self> {
        let scripts = zero_engine::predecessor_script("deployment_evidence.py")?
            .parent()?
            .to_path_buf();
        let engine = ZeroEngine::start()?;
        let dir = engine.dir().to_path_buf();
        let packs = Packs {
            cur: dir.join("cur"),
            prev: dir.join("prev"),
            rehearsal: dir.join("rehearsal"),
            hmac_key: dir.join("hmac.key"),
            scripts,
            engine,
        };
        fs::write(&packs.hmac_key, format!("{HMAC_KEY}\n")).unwrap();
        for out in [&packs.prev, &packs.cur] {
            packs.predecessor(
                "deployment_evidence.py",
                &[
                    &packs.engine.url,
                    "--token",
                    zero_engine::TOKEN,
                    "--output",
                    &out.display().to_string(),
                ],
            );
        }
        packs.predecessor(
            "deployment_rollback_rehearsal.py",
            &[
                &packs.cur.display().to_string(),
                "--previous-bundle",
                &packs.prev.display().to_string(),
                "--signing-key",
                HMAC_KEY,
                "--require-signature",
                "--output",
                &packs.rehearsal.display().to_string(),
            ],
        );
        Some(packs)
    }

    fn dir(&self) -> &Path {
        self.engine.dir()
    }

    /// Runs a predecessor script, which must succeed.
    fn predecessor(&self, script: &str, args: &[&str]) -> Output {
        let out = self.run_predecessor(script, args);
        assert!(
            out.status.success(),
            "{script} {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn run_predecessor(&self, script: &str, args: &[&str]) -> Output {
        zero_engine::run_predecessor(
            &self.engine.python,
            &self.scripts.join(script),
            args,
            &[("ZERO_DEPLOYMENT_EVIDENCE_SIGNING_KEY", HMAC_KEY)],
        )
    }

    /// The predecessor verifier's verdict, in its strictest mode.
    fn predecessor_accepts(&self, pack: &Path, key: &str) -> bool {
        let out = zero_engine::run_predecessor(
            &self.engine.python,
            &self.scripts.join("deployment_evidence_verify.py"),
            &[
                &pack.display().to_string(),
                "--signing-key",
                key,
                "--require-signature",
                "--json",
            ],
            &[],
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["ok"] == true
    }

    /// Copies a pack to a new folder for tampering.
    fn copy(&self, pack: &Path, name: &str) -> PathBuf {
        let to = self.dir().join(name);
        fs::create_dir(&to).unwrap();
        for entry in fs::read_dir(pack).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
        to
    }
}

fn evidence() -> Command {
    evidence_tests::bin("evidence")
}

/// `evidence legacy verify DIR ARGS --json`: exit code and report.
fn verify(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = evidence()
        .args(["legacy", "verify", "--json"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn key_args(packs: &Packs) -> Vec<String> {
    vec![
        "--hmac-key-file".into(),
        packs.hmac_key.display().to_string(),
    ]
}

fn verify_with_key(packs: &Packs, dir: &Path) -> (i32, Value) {
    let args = key_args(packs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    verify(dir, &args)
}

/// Rewrites `SHA256SUMS` to match the files as they now are, as a forger would.
fn rewrite_sums(dir: &Path, except: &[&str]) {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SHA256SUMS" && !except.contains(&n.as_str()))
        .collect();
    names.sort();
    let text: String = names
        .iter()
        .map(|n| {
            let digest = Sha256Digest::of(&fs::read(dir.join(n)).unwrap());
            format!("{}  {n}\n", digest.to_hex())
        })
        .collect();
    fs::write(dir.join("SHA256SUMS"), text).unwrap();
}

/// Replaces the first `from` in `dir/file` by `to`.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn assert_fails_with(report: &Value, code: &str) {
    let codes = failing_codes(report);
    assert!(
        codes.iter().any(|c| c == code),
        "want {code}, got {codes:?}"
    );
}

#[test]
fn evidence_packs_verify_exactly_where_the_predecessor_verifier_passes() {
    let Some(packs) = Packs::make() else {
        return;
    };
    let byte = packs.copy(&packs.cur, "byte-changed");
    edit(&byte, "health.json", "\"ok\"", "\"OK\"");
    let sums = packs.copy(&packs.cur, "sums-edited");
    edit(&sums, "health.json", "\"ok\"", "\"OK\"");
    rewrite_sums(&sums, &["EVIDENCE_SIGNATURE.json"]);

    let cases: [(&Path, &str, Option<&str>); 5] = [
        (&packs.cur, HMAC_KEY, None),
        (&packs.prev, HMAC_KEY, None),
        (&byte, HMAC_KEY, Some("legacy-sums-digest")),
        (&sums, HMAC_KEY, Some("legacy-manifest-inventory")),
        (&packs.cur, "not-the-key", Some("legacy-hmac")),
    ];
    for (pack, key, fails_with) in cases {
        let key_file = packs.dir().join("case.key");
        fs::write(&key_file, key).unwrap();
        let (code, report) = verify(pack, &["--hmac-key-file", &key_file.display().to_string()]);
        let theirs = packs.predecessor_accepts(pack, key);
        assert_eq!(
            code == 0,
            theirs,
            "{} with {key}: {report:#}",
            pack.display()
        );
        match fails_with {
            None => assert_eq!(code, 0, "{report:#}"),
            Some(expected) => {
                assert_eq!(code, 1);
                assert_fails_with(&report, expected);
            }
        }
    }
    // A SHA256SUMS rewritten to hide an edit cannot hide it from the signed payload.
    let (_, report) = verify_with_key(&packs, &sums);
    assert_fails_with(&report, "legacy-signed-payload");
    assert_fails_with(&report, "legacy-hmac");
    // Without the key the tag is not checked, and the pack fails closed.
    let (code, report) = verify(&packs.cur, &[]);
    assert_eq!(code, 1);
    assert_eq!(failing_codes(&report), ["legacy-hmac-unchecked"]);
}

#[test]
fn rehearsals_verify_and_their_unsigned_verdict_cannot_be_flipped() {
    let Some(packs) = Packs::make() else {
        return;
    };
    let (code, report) = verify_with_key(&packs, &packs.rehearsal);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        evidence_tests::codes_with(&report, "warn"),
        ["legacy-unsigned-fields"]
    );

    let flipped = packs.copy(&packs.rehearsal, "ok-flipped");
    edit(
        &flipped,
        "rollback_rehearsal.json",
        "\n  \"ok\": true,",
        "\n  \"ok\": false,",
    );
    rewrite_sums(&flipped, &[]);
    let (code, report) = verify_with_key(&packs, &flipped);
    assert_eq!(code, 1);
    // The HMAC still verifies: `ok` is outside it, which is why the check exists.
    assert_eq!(failing_codes(&report), ["legacy-rehearsal-consistent"]);

    let plan = packs.copy(&packs.rehearsal, "plan-hash-edited");
    let text = fs::read_to_string(plan.join("rollback_rehearsal.json")).unwrap();
    let rehearsal: Value = serde_json::from_str(&text).unwrap();
    let hash = rehearsal["rollback_plan"]["plan_hash"].as_str().unwrap();
    let forged = format!("sha256:{}", "0".repeat(64));
    edit(&plan, "rollback_rehearsal.json", hash, &forged);
    rewrite_sums(&plan, &[]);
    let (code, report) = verify_with_key(&packs, &plan);
    assert_eq!(code, 1);
    assert_fails_with(&report, "legacy-plan-hash");
    assert_fails_with(&report, "legacy-hmac");
}

/// Writes the bound claim and heartbeat the engine serves inside `/network/profile` (the
/// separate endpoints answer a fresh, unbound claim per request).
fn bound_pair(packs: &Packs) -> (PathBuf, PathBuf) {
    let profile: Value =
        serde_json::from_slice(&fs::read(packs.cur.join("network_profile.json")).unwrap()).unwrap();
    let claim = packs.dir().join("claim.json");
    let heartbeat = packs.dir().join("heartbeat.json");
    fs::write(&claim, profile["payload"]["deployment_claim"].to_string()).unwrap();
    fs::write(
        &heartbeat,
        profile["payload"]["deployment_heartbeat"].to_string(),
    )
    .unwrap();
    (claim, heartbeat)
}

/// Generates a key pair with openssl: `NAME.key` and `NAME.pub`.
fn openssl_key(dir: &Path, name: &str, algorithm: &[&str]) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    let ok = Command::new("openssl")
        .arg("genpkey")
        .args(algorithm)
        .arg("-out")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    (key, public)
}

fn identity_bundle(packs: &Packs, name: &str, key: &Path, public: &Path) -> PathBuf {
    let (claim, heartbeat) = bound_pair(packs);
    let out = packs.dir().join(name);
    let args: Vec<String> = [
        "create".into(),
        claim.display().to_string(),
        heartbeat.display().to_string(),
        "--private-key".into(),
        key.display().to_string(),
        "--public-key".into(),
        public.display().to_string(),
        "--output".into(),
        out.display().to_string(),
    ]
    .into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    packs.predecessor("deployment_identity_evidence.py", &args);
    out
}

fn predecessor_identity_accepts(packs: &Packs, bundle: &Path) -> bool {
    let out = packs.run_predecessor(
        "deployment_identity_evidence.py",
        &[
            "verify",
            &bundle.display().to_string(),
            "--require-signature",
        ],
    );
    out.status.success()
}

#[test]
fn identity_signatures_count_only_under_the_trusted_key() {
    if evidence_tests::need_tool("openssl", None, "openssl from the system's packages").is_none() {
        return;
    }
    let Some(packs) = Packs::make() else {
        return;
    };
    let dir = packs.dir().to_path_buf();
    let p256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    for (name, algorithm) in [("ecdsa", &p256[..]), ("rsa", &rsa[..])] {
        let (key, public) = openssl_key(&dir, name, algorithm);
        let bundle = identity_bundle(&packs, &format!("identity-{name}"), &key, &public);
        assert!(predecessor_identity_accepts(&packs, &bundle));
        let public = public.display().to_string();
        let (code, report) = verify(&bundle, &["--trusted-key", &public]);
        assert_eq!(code, 0, "{name}: {report:#}");
        // Without a trusted key the signature is unchecked: fail closed.
        let (code, report) = verify(&bundle, &[]);
        assert_eq!(code, 1);
        assert_eq!(
            failing_codes(&report),
            ["legacy-identity-signature-unchecked"]
        );
    }

    // An attacker re-signs the same packets with their own key and embeds it: the
    // predecessor, trusting the embedded key, accepts; we compare it with the pinned key.
    let (key, public) = openssl_key(&dir, "attacker", &p256);
    let swapped = identity_bundle(&packs, "identity-swapped", &key, &public);
    assert!(predecessor_identity_accepts(&packs, &swapped));
    let trusted = dir.join("ecdsa.pub").display().to_string();
    let (code, report) = verify(&swapped, &["--trusted-key", &trusted]);
    assert_eq!(code, 1);
    assert_eq!(
        failing_codes(&report),
        ["legacy-embedded-key", "legacy-identity-signature"]
    );

    // A changed heartbeat breaks its self-hash and the bundle's file digest.
    let edited = packs.copy(&dir.join("identity-ecdsa"), "identity-edited");
    edit(
        &edited,
        "deployment_heartbeat.json",
        "paper_only",
        "live_ready",
    );
    rewrite_sums(&edited, &[]);
    assert!(!predecessor_identity_accepts(&packs, &edited));
    let (code, report) = verify(&edited, &["--trusted-key", &trusted]);
    assert_eq!(code, 1);
    assert_fails_with(&report, "legacy-heartbeat-hash");
    assert_fails_with(&report, "legacy-identity-signature");
}

#[test]
fn import_seals_the_original_bytes_and_refuses_a_failing_pack() {
    let Some(packs) = Packs::make() else {
        return;
    };
    let dir = packs.dir().to_path_buf();
    let prefix = dir.join("operator");
    let out = evidence()
        .args(["key", "generate", "--out"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success());
    let import = |bundle: &Path, dirs: &[&Path]| {
        evidence()
            .args(["legacy", "import"])
            .args(dirs)
            .args(key_args(&packs))
            .arg("--sign")
            .arg(prefix.with_extension("key"))
            .arg("--out")
            .arg(bundle)
            .output()
            .unwrap()
    };
    let bundle = dir.join("legacy-bundle");
    let out = import(&bundle, &[&packs.cur, &packs.prev, &packs.rehearsal]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = evidence()
        .args(["bundle", "verify"])
        .arg(&bundle)
        .arg("--trusted-key")
        .arg(prefix.with_extension("pub"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for pack in [&packs.cur, &packs.prev, &packs.rehearsal] {
        let name = pack.file_name().unwrap();
        for entry in fs::read_dir(pack).unwrap() {
            let entry = entry.unwrap();
            let sealed = bundle.join("payload").join(name).join(entry.file_name());
            assert_eq!(
                fs::read(&sealed).unwrap(),
                fs::read(entry.path()).unwrap(),
                "{}",
                sealed.display()
            );
        }
    }
    let manifest: Value =
        serde_json::from_slice(&fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "legacy");
    let subject = &manifest["subject"];
    assert_eq!(subject["pack.1.schema"], "zero.deployment_evidence.v1");
    assert_eq!(
        subject["pack.3.schema"],
        "zero.deployment_rollback_rehearsal.v1"
    );
    let sums = Sha256Digest::of(&fs::read(packs.cur.join("SHA256SUMS")).unwrap());
    assert_eq!(subject["pack.1.sha256sums"], sums.to_string());

    let broken = packs.copy(&packs.cur, "broken");
    edit(&broken, "health.json", "\"ok\"", "\"OK\"");
    let refused = dir.join("refused-bundle");
    let out = import(&refused, &[&packs.prev, &broken]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!refused.exists(), "a failing pack must import nothing");
}
