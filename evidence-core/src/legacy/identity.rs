//! `zero.deployment_identity_evidence.v1` bundles, as `deployment_identity_evidence.py
//! create` writes them.
//!
//! The predecessor verified the signature with the public key the bundle itself carries, so
//! anyone could swap in their own key and re-sign. Here the signature counts only under the
//! caller's trusted key, the embedded key is merely compared with it, and the signed payload
//! is recomputed from the files (their digests and self-hashes), not copied from
//! `identity_bundle.json`.

use serde_json::{Value, json};

use super::codes::*;
use super::shared::{check_signature_format, check_signed_payload, check_sums, load_json};
use super::{Pack, VerifyOptions};
use crate::digest::Sha256Digest;
use crate::report::{Check, Report};

const BUNDLE: &str = "identity_bundle.json";
const CLAIM: &str = "deployment_claim.json";
const HEARTBEAT: &str = "deployment_heartbeat.json";
const SIGNATURE: &str = "IDENTITY_SIGNATURE.json";
const SIGNATURE_SCHEMA: &str = "zero.deployment_identity_signature.v1";
const PAYLOAD_SCHEMA: &str = "zero.deployment_identity_signature_payload.v1";
const CLAIM_SCHEMA: &str = "zero.deployment.claim.v1";
const HEARTBEAT_SCHEMA: &str = "zero.deployment.heartbeat.v1";
/// The predecessor's forbidden words, searched in the lower-cased packets.
const FORBIDDEN: &[&str] = &[
    "private_key",
    "secret_key",
    "wallet material",
    "exchange credential",
    "idempotency_key",
    "trace-",
    "bearer ",
];

/// What the packets establish, recomputed from the files.
struct Recomputed {
    claim_hash: String,
    heartbeat_hash: String,
    claim_file: String,
    heartbeat_file: String,
}

pub(super) fn verify(pack: &Pack, opts: &VerifyOptions<'_>, report: &mut Report) {
    check_sums(pack, &[], report);
    let bundle = load_json(pack, BUNDLE, &opts.limits, report);
    let claim = load_json(pack, CLAIM, &opts.limits, report);
    let heartbeat = load_json(pack, HEARTBEAT, &opts.limits, report);
    let (Some(bundle), Some(claim), Some(heartbeat)) = (bundle, claim, heartbeat) else {
        return;
    };
    let file_digest = |name: &str| {
        pack.files
            .get(name)
            .map(|b| Sha256Digest::of(b).to_string())
            .unwrap_or_default()
    };
    let facts = Recomputed {
        claim_hash: self_hash(&claim, "claim_hash"),
        heartbeat_hash: self_hash(&heartbeat, "heartbeat_hash"),
        claim_file: file_digest(CLAIM),
        heartbeat_file: file_digest(HEARTBEAT),
    };
    check_packets(&claim, &heartbeat, &facts, report);
    check_summary(&bundle, &facts, report);
    check_privacy(&claim, &heartbeat, report);
    check_signature(pack, &bundle, &facts, opts, report);
}

/// The engine's self-hash: the packet without its hash member and its `signature` object.
fn self_hash(packet: &Value, member: &str) -> String {
    let mut body = packet.as_object().cloned().unwrap_or_default();
    body.remove(member);
    body.remove("signature");
    super::shared::python_hash_text(&Value::Object(body))
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn check_packets(claim: &Value, heartbeat: &Value, facts: &Recomputed, report: &mut Report) {
    let schemas_ok = str_at(claim, "/schema_version") == Some(CLAIM_SCHEMA)
        && str_at(heartbeat, "/schema_version") == Some(HEARTBEAT_SCHEMA);
    report.push(if schemas_ok {
        Check::pass(LEGACY_IDENTITY_SCHEMA, "claim and heartbeat schemas")
    } else {
        Check::fail(
            LEGACY_IDENTITY_SCHEMA,
            format!("expected {CLAIM_SCHEMA} and {HEARTBEAT_SCHEMA}"),
        )
    });
    for (code, file, packet, member, expected) in [
        (
            LEGACY_CLAIM_HASH,
            CLAIM,
            claim,
            "/claim_hash",
            &facts.claim_hash,
        ),
        (
            LEGACY_HEARTBEAT_HASH,
            HEARTBEAT,
            heartbeat,
            "/heartbeat_hash",
            &facts.heartbeat_hash,
        ),
    ] {
        let stated = str_at(packet, member);
        report.push(if stated == Some(expected.as_str()) {
            Check::pass(code, "the self-hash verifies").with_path(file)
        } else {
            Check::fail(code, "the self-hash does not match the packet")
                .with_path(file)
                .with("expected", expected.as_str())
                .with("actual", stated.map_or(Value::Null, Value::from))
        });
    }
    let claim_hash = Some(facts.claim_hash.as_str());
    let heartbeat_hash = Some(facts.heartbeat_hash.as_str());
    let mut problems = Vec::new();
    if str_at(heartbeat, "/deployment_claim_hash") != claim_hash {
        problems.push("the heartbeat's deployment_claim_hash does not name the claim");
    }
    if str_at(claim, "/signature/signed_claim_hash") != claim_hash {
        problems.push("the claim's signature object does not name the claim hash");
    }
    if str_at(heartbeat, "/signature/signed_heartbeat_hash") != heartbeat_hash {
        problems.push("the heartbeat's signature object does not name the heartbeat hash");
    }
    report.push(if problems.is_empty() {
        Check::pass(
            LEGACY_IDENTITY_BINDING,
            "the heartbeat is bound to the claim",
        )
    } else {
        Check::fail(LEGACY_IDENTITY_BINDING, problems.join("; "))
    });
}

/// `identity_bundle.json` must describe the files actually in the bundle.
fn check_summary(bundle: &Value, facts: &Recomputed, report: &mut Report) {
    let expected = [
        ("/claim/claim_hash", facts.claim_hash.as_str()),
        ("/heartbeat/heartbeat_hash", facts.heartbeat_hash.as_str()),
        ("/files/claim", CLAIM),
        ("/files/claim_sha256", facts.claim_file.as_str()),
        ("/files/heartbeat", HEARTBEAT),
        ("/files/heartbeat_sha256", facts.heartbeat_file.as_str()),
    ];
    let wrong: Vec<&str> = expected
        .iter()
        .filter(|(pointer, value)| bundle.pointer(pointer).and_then(Value::as_str) != Some(value))
        .map(|(pointer, _)| *pointer)
        .collect();
    report.push(if wrong.is_empty() {
        Check::pass(
            LEGACY_IDENTITY_SUMMARY,
            "identity_bundle.json describes the bundled packets",
        )
        .with_path(BUNDLE)
    } else {
        Check::fail(
            LEGACY_IDENTITY_SUMMARY,
            "identity_bundle.json disagrees with the bundled packets",
        )
        .with_path(BUNDLE)
        .with("members", wrong)
    });
}

fn check_privacy(claim: &Value, heartbeat: &Value, report: &mut Report) {
    let mut problems = Vec::new();
    for (name, packet) in [("claim", claim), ("heartbeat", heartbeat)] {
        for flag in ["contains_exchange_credentials", "contains_wallet_material"] {
            if packet.pointer(&format!("/privacy/{flag}")) != Some(&Value::Bool(false)) {
                problems.push(format!("{name}: privacy.{flag} is not false"));
            }
        }
    }
    let text = format!(
        "{}\n{}",
        crate::pyjson::dumps(claim),
        crate::pyjson::dumps(heartbeat)
    )
    .to_lowercase();
    for word in FORBIDDEN {
        if text.contains(word) {
            problems.push(format!("forbidden word {:?} found", word.trim()));
        }
    }
    report.push(if problems.is_empty() {
        Check::pass(
            LEGACY_IDENTITY_PRIVACY,
            "no credentials, wallet material or forbidden words",
        )
    } else {
        Check::fail(LEGACY_IDENTITY_PRIVACY, problems.join("; "))
    });
}

fn check_signature(
    pack: &Pack,
    bundle: &Value,
    facts: &Recomputed,
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) {
    if !pack.files.contains_key(SIGNATURE) {
        report.push(
            Check::fail(
                LEGACY_SIGNATURE_MISSING,
                "no IDENTITY_SIGNATURE.json: nothing vouches for the bundle",
            )
            .with_path(SIGNATURE),
        );
        return;
    }
    let Some(signature) = load_json(pack, SIGNATURE, &opts.limits, report) else {
        return;
    };
    check_signature_format(
        &signature,
        SIGNATURE,
        SIGNATURE_SCHEMA,
        "openssl-dgst-sha256",
        report,
    );
    // The signer hashed the text of the public key file it was given.
    let embedded = signature
        .get("public_key")
        .and_then(Value::as_str)
        .unwrap_or("");
    let payload = json!({
        "schema_version": PAYLOAD_SCHEMA,
        "bundle_schema_version": bundle.get("schema_version").cloned().unwrap_or(Value::Null),
        "claim_hash": facts.claim_hash,
        "heartbeat_hash": facts.heartbeat_hash,
        "claim_file_sha256": facts.claim_file,
        "heartbeat_file_sha256": facts.heartbeat_file,
        "public_key_sha256": Sha256Digest::of(embedded.as_bytes()).to_string(),
    });
    if signature.get("public_key_sha256") != payload.get("public_key_sha256") {
        report.push(
            Check::fail(
                LEGACY_SIGNATURE_FORMAT,
                "public_key_sha256 is not the hash of the embedded public key",
            )
            .with_path(SIGNATURE),
        );
    }
    check_signed_payload(&signature, SIGNATURE, &payload, report);
    let Some(trusted) = opts.trusted_key else {
        report.push(
            Check::fail(
                LEGACY_IDENTITY_SIGNATURE_UNCHECKED,
                "no --trusted-key: the signature was not checked (the key inside the bundle never counts)",
            )
            .with_path(SIGNATURE),
        );
        return;
    };
    report.push(if trusted.is_same_key(embedded) {
        Check::pass(
            LEGACY_EMBEDDED_KEY,
            "the embedded public key is the trusted key",
        )
        .with_path(SIGNATURE)
    } else {
        Check::fail(
            LEGACY_EMBEDDED_KEY,
            "the embedded public key is not the trusted key (it is never used)",
        )
        .with_path(SIGNATURE)
    });
    let raw = signature
        .get("signature")
        .and_then(Value::as_str)
        .unwrap_or("");
    let bytes = raw
        .strip_prefix("base64:")
        .and_then(crate::dsse::decode_base64);
    let message = crate::pyjson::dumps(&payload);
    let verified = bytes.is_some_and(|sig| trusted.verify(message.as_bytes(), &sig));
    report.push(if verified {
        Check::pass(
            LEGACY_IDENTITY_SIGNATURE,
            format!(
                "the {} signature verifies under the trusted key",
                trusted.algorithm()
            ),
        )
        .with_path(SIGNATURE)
    } else {
        Check::fail(
            LEGACY_IDENTITY_SIGNATURE,
            "the signature does not verify under the trusted key",
        )
        .with_path(SIGNATURE)
    });
}
