//! `zero.deployment_evidence.v1` packs, as `deployment_evidence.py` writes them and
//! `deployment_evidence_verify.py --require-signature` checks them.

use serde_json::{Map, Value, json};

use super::codes::*;
use super::shared::{HmacFile, Sums, check_hmac_file, check_sums, load_json};
use super::{Pack, VerifyOptions, leak};
use crate::digest::Sha256Digest;
use crate::report::{Check, Report};

const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "EVIDENCE_SIGNATURE.json";
const SIGNATURE_SCHEMA: &str = "zero.deployment_evidence_signature.v1";
const PAYLOAD_SCHEMA: &str = "zero.deployment_evidence_signature_payload.v1";

pub(super) fn verify(pack: &Pack, opts: &VerifyOptions<'_>, report: &mut Report) {
    let sums = check_sums(pack, &[SIGNATURE], report);
    if let Some(manifest) = load_json(pack, MANIFEST, &opts.limits, report) {
        check_doctor(&manifest, report);
        check_inventory(pack, &manifest, &sums, report);
        check_packets(pack, &manifest, report);
    }
    leak::check(pack, report);
    let payload = signed_payload(pack, &sums);
    let file = HmacFile {
        name: SIGNATURE,
        schema: SIGNATURE_SCHEMA,
    };
    check_hmac_file(pack, &file, &payload, opts, report);
}

/// The payload `deployment_evidence.py` signs: digests of `manifest.json` and `SHA256SUMS` as
/// they are in the pack, and the `SHA256SUMS` entries.
fn signed_payload(pack: &Pack, sums: &Sums) -> Value {
    let hex_of = |name: &str| {
        pack.files
            .get(name)
            .map_or(Value::Null, |b| Sha256Digest::of(b).to_hex().into())
    };
    let files: Map<String, Value> = sums
        .iter()
        .map(|(name, digest)| (name.clone(), Value::from(digest.as_str())))
        .collect();
    json!({
        "schema_version": PAYLOAD_SCHEMA,
        "manifest_sha256": hex_of(MANIFEST),
        "sha256s_sha256": hex_of(super::SUMS_FILE),
        "files": files,
    })
}

fn check_doctor(manifest: &Value, report: &mut Report) {
    let fails = manifest.pointer("/doctor/summary/fail");
    report.push(if fails.and_then(Value::as_u64) == Some(0) {
        Check::pass(LEGACY_DOCTOR, "the embedded doctor reported no failures").with_path(MANIFEST)
    } else {
        Check::fail(LEGACY_DOCTOR, "the embedded doctor reported failures")
            .with_path(MANIFEST)
            .with("fail", fails.cloned().unwrap_or(Value::Null))
    });
}

/// The manifest's `files` list must name every file `SHA256SUMS` names except `manifest.json`
/// with the same digest; stricter than the predecessor, also once each and with its real size.
fn check_inventory(pack: &Pack, manifest: &Value, sums: &Sums, report: &mut Report) {
    let mut problems = Vec::new();
    let mut listed = Sums::new();
    for item in manifest
        .get("files")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let path = item.get("path").and_then(Value::as_str);
        let digest = item.get("sha256").and_then(Value::as_str);
        let (Some(path), Some(digest)) = (path, digest) else {
            problems.push("an entry lacks path or sha256".to_owned());
            continue;
        };
        if listed.insert(path.to_owned(), digest.to_owned()).is_some() {
            problems.push(format!("{path} is listed twice"));
        }
        let size = pack.files.get(path).map(|b| b.len() as u64);
        if item.get("bytes").and_then(Value::as_u64) != size {
            problems.push(format!("{path}: bytes is not the file's size"));
        }
    }
    let expected: Sums = sums
        .iter()
        .filter(|(name, _)| name.as_str() != MANIFEST)
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect();
    if listed != expected {
        problems.push("the files list does not match SHA256SUMS".to_owned());
    }
    report.push(if problems.is_empty() {
        Check::pass(
            LEGACY_MANIFEST_INVENTORY,
            format!("the manifest lists the {} evidence files", listed.len()),
        )
        .with_path(MANIFEST)
    } else {
        Check::fail(LEGACY_MANIFEST_INVENTORY, problems.join("; ")).with_path(MANIFEST)
    });
}

fn check_packets(pack: &Pack, manifest: &Value, report: &mut Report) {
    let Some(packets) = manifest.get("packets").and_then(Value::as_array) else {
        report.push(
            Check::fail(LEGACY_PACKET, "the manifest has no packets list").with_path(MANIFEST),
        );
        return;
    };
    for packet in packets {
        let name = packet.get("name").and_then(Value::as_str).unwrap_or("?");
        let file = packet.get("file").and_then(Value::as_str).unwrap_or("");
        let status = packet.get("status").and_then(Value::as_u64);
        let check = if file.is_empty() || !pack.files.contains_key(file) {
            Check::fail(
                LEGACY_PACKET,
                format!("packet {name}: file {file:?} is missing"),
            )
        } else if status != Some(200) {
            Check::fail(
                LEGACY_PACKET,
                format!("packet {name}: expected HTTP 200, got {status:?}"),
            )
        } else {
            Check::pass(LEGACY_PACKET, format!("packet {name}: present, HTTP 200"))
        };
        report.push(check.with_path(file).with("packet", name));
    }
}
