use std::collections::BTreeMap;

use serde_json::json;

use super::codes::*;
use super::*;
use crate::digest::Sha256Digest;
use crate::report::{CheckCode, Status};

fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(shared::hmac_sha256(key, message))
}

#[test]
fn hmac_matches_rfc_4231() {
    assert_eq!(
        hmac_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hmac_hex(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        ),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

fn leaks(text: &str) -> Vec<String> {
    let mut pack = Pack::default();
    pack.files.insert("a.json".into(), text.as_bytes().to_vec());
    let mut report = Report::new(json!(null));
    leak::check(&pack, &mut report);
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .filter_map(|c| c.data.get("pattern")?.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn leak_patterns_match_as_the_predecessor_regexes_do() {
    assert_eq!(leaks(r#"{"id": "trace-ab12"}"#), ["raw_trace_id"]);
    assert!(leaks(r#"{"id": "trace-"}"#).is_empty());
    assert!(leaks("TRACE_REDACTED").is_empty());
    // Header names too: the predecessor redacted `x-zero-trace-id` as well.
    assert_eq!(leaks("x-zero-trace-id"), ["raw_trace_id"]);
    assert_eq!(leaks("Authorization: Bearer abc.def"), ["bearer_token"]);
    assert!(leaks("Bearer REDACTED").is_empty());
    assert_eq!(leaks("Bearer REDACTEDX"), ["bearer_token"]);
    assert!(leaks("Bearer\"x").is_empty());
    assert_eq!(leaks("sk-ABCDEFGHIJKLMNOP"), ["openai_key"]);
    assert_eq!(leaks("sk-abcdefghijklmnopqrs"), ["openai_key"]);
    assert!(leaks("sk-ABCDEFGHIJKLMNO").is_empty());
    // A quoted JSON value never matches the predecessor's pattern (the class refuses `"`).
    assert!(leaks(r#"{"private_key": "abc"}"#).is_empty());
    assert_eq!(leaks("private_key=abc"), ["raw_private_key"]);
    assert_eq!(leaks("PRIVATE-KEY = abc"), ["raw_private_key"]);
    assert!(leaks(r#"{"private_key": "REDACTED"}"#).is_empty());
    assert!(leaks(r#"{"private_key": "redacted"}"#).is_empty());
    assert!(leaks(r#"{"api_private_key": "ok"}"#).is_empty());
    assert!(leaks(r#"{"private_key": ""}"#).is_empty());
    assert_eq!(leaks("signing_key:x"), ["raw_signing_key"]);
    assert_eq!(leaks("ſigning_\u{212a}ey=x"), ["raw_signing_key"]);
}

/// A self-consistent synthetic evidence pack signed with `key`.
fn evidence_pack(key: &[u8]) -> Pack {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    files.insert("health.json".into(), br#"{"status": 200}"#.to_vec());
    let health_hex = Sha256Digest::of(&files["health.json"]).to_hex();
    let manifest = json!({
        "schema_version": EVIDENCE_SCHEMA,
        "doctor": {"summary": {"fail": 0}},
        "packets": [{"name": "health", "file": "health.json", "status": 200}],
        "files": [{"path": "health.json", "sha256": health_hex, "bytes": 15}],
    });
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    let sums: String = files
        .iter()
        .map(|(n, b)| format!("{}  {n}\n", Sha256Digest::of(b).to_hex()))
        .collect();
    files.insert(SUMS_FILE.into(), sums.into_bytes());
    let payload = json!({
        "schema_version": "zero.deployment_evidence_signature_payload.v1",
        "manifest_sha256": Sha256Digest::of(&files["manifest.json"]).to_hex(),
        "sha256s_sha256": Sha256Digest::of(&files[SUMS_FILE]).to_hex(),
        "files": {
            "health.json": health_hex,
            "manifest.json": Sha256Digest::of(&files["manifest.json"]).to_hex(),
        },
    });
    let hash = crate::pyjson::python_hash(&payload).to_string();
    let signature = json!({
        "schema_version": "zero.deployment_evidence_signature.v1",
        "algorithm": "hmac-sha256",
        "key_material_included": false,
        "signed_payload": payload,
        "signed_payload_hash": hash,
        "signature": format!("v1={}", hmac_hex(key, hash.as_bytes())),
    });
    files.insert(
        "EVIDENCE_SIGNATURE.json".into(),
        serde_json::to_vec(&signature).unwrap(),
    );
    Pack { files }
}

fn run(pack: &Pack, key: Option<&[u8]>) -> Report {
    let opts = VerifyOptions {
        hmac_key: key,
        ..VerifyOptions::default()
    };
    let mut report = Report::new(json!(null));
    verify_pack(pack, &opts, &mut report);
    report
}

fn failing(report: &Report) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.code.as_ref())
        .collect()
}

fn only_fails(report: &Report, code: CheckCode) {
    let fails = failing(report);
    assert!(
        !fails.is_empty() && fails.iter().all(|c| *c == code.code),
        "{fails:?}"
    );
}

#[test]
fn a_consistent_evidence_pack_verifies_and_fails_closed_without_the_key() {
    let pack = evidence_pack(b"k3y");
    let report = run(&pack, Some(b"k3y"));
    assert!(report.ok(), "{}", report.to_text(true));
    only_fails(&run(&pack, None), LEGACY_HMAC_UNCHECKED);
    only_fails(&run(&pack, Some(b"other")), LEGACY_HMAC);
}

#[test]
fn evidence_pack_tampering_gives_its_own_code() {
    let mut pack = evidence_pack(b"k3y");
    pack.files.remove("EVIDENCE_SIGNATURE.json");
    only_fails(&run(&pack, Some(b"k3y")), LEGACY_SIGNATURE_MISSING);

    let mut pack = evidence_pack(b"k3y");
    pack.files.insert("extra.txt".into(), b"x".to_vec());
    only_fails(&run(&pack, Some(b"k3y")), LEGACY_SUMS_INVENTORY);

    let mut pack = evidence_pack(b"k3y");
    pack.files.insert(
        SUMS_FILE.into(),
        b"abc  health.json\n".to_vec(), // and then nothing else matches either
    );
    assert!(failing(&run(&pack, Some(b"k3y"))).contains(&LEGACY_SUMS_FORMAT.code));

    let mut pack = evidence_pack(b"k3y");
    pack.files
        .insert("health.json".into(), br#"{"status": 201}"#.to_vec());
    only_fails(&run(&pack, Some(b"k3y")), LEGACY_SUMS_DIGEST);
}

#[test]
fn unknown_packs_and_wrong_schemas_are_refused() {
    let mut pack = Pack::default();
    pack.files.insert("notes.txt".into(), b"hi".to_vec());
    only_fails(&run(&pack, None), LEGACY_SCHEMA);
    pack.files.insert(
        "manifest.json".into(),
        br#"{"schema_version": "zero.deployment_evidence.v2"}"#.to_vec(),
    );
    only_fails(&run(&pack, None), LEGACY_SCHEMA);
}

#[test]
fn trusted_keys_must_be_p256_or_strong_rsa_pem() {
    assert_eq!(
        TrustedKey::from_pem("not a key").unwrap_err(),
        TrustedKeyError::NotPem
    );
    // An Ed25519 SPKI key: the predecessor could not sign with one either.
    let ed = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        TrustedKey::from_pem(ed).unwrap_err(),
        TrustedKeyError::Unsupported
    );
}

#[test]
fn hmac_key_files_lose_one_line_break() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    std::fs::write(&path, "secret\r\n").unwrap();
    assert_eq!(read_hmac_key(&path).unwrap().as_slice(), b"secret");
    std::fs::write(&path, "\n").unwrap();
    assert!(read_hmac_key(&path).is_err());
}
