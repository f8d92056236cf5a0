//! What the three legacy formats share: `SHA256SUMS`, JSON documents hashed the Python way,
//! and the HMAC-SHA256 signature files of evidence packs and rehearsals.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::codes::*;
use super::{LegacyLimits, Pack, SUMS_FILE, VerifyOptions};
use crate::digest::Sha256Digest;
use crate::report::{Check, Report};

/// The `SHA256SUMS` entries: file name -> lower-case hex digest.
pub(super) type Sums = BTreeMap<String, String>;

/// Parses and checks `SHA256SUMS`: format (strict, where the predecessor skipped or kept bad
/// lines), inventory (every file of the pack but itself and `exempt`) and each digest. Returns
/// the well-formed entries, which the signed payloads are recomputed from.
pub(super) fn check_sums(pack: &Pack, exempt: &[&str], report: &mut Report) -> Sums {
    let mut sums = Sums::new();
    let Some(bytes) = pack.files.get(SUMS_FILE) else {
        report.push(Check::fail(LEGACY_SUMS_FORMAT, "SHA256SUMS is missing").with_path(SUMS_FILE));
        return sums;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        report
            .push(Check::fail(LEGACY_SUMS_FORMAT, "SHA256SUMS is not UTF-8").with_path(SUMS_FILE));
        return sums;
    };
    let mut bad = 0;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = index as u64 + 1;
        match parse_line(line) {
            Ok((digest, name)) if !sums.contains_key(name) => {
                sums.insert(name.to_owned(), digest.to_owned());
            }
            Ok((_, name)) => {
                bad += 1;
                report.push(
                    Check::fail(LEGACY_SUMS_FORMAT, format!("{name} is listed twice"))
                        .with_path(SUMS_FILE)
                        .with_line(line_no),
                );
            }
            Err(why) => {
                bad += 1;
                report.push(
                    Check::fail(LEGACY_SUMS_FORMAT, why)
                        .with_path(SUMS_FILE)
                        .with_line(line_no),
                );
            }
        }
    }
    if bad == 0 {
        report.push(
            Check::pass(
                LEGACY_SUMS_FORMAT,
                format!("{} well-formed entries", sums.len()),
            )
            .with_path(SUMS_FILE),
        );
    }
    let listed: BTreeSet<&str> = sums.keys().map(String::as_str).collect();
    let present: BTreeSet<&str> = pack
        .files
        .keys()
        .map(String::as_str)
        .filter(|n| *n != SUMS_FILE && !exempt.contains(n))
        .collect();
    if listed == present {
        report.push(Check::pass(
            LEGACY_SUMS_INVENTORY,
            format!(
                "SHA256SUMS covers the {} of the pack",
                crate::text::count(present.len() as u64, "file")
            ),
        ));
    } else {
        let unlisted: Vec<&str> = present.difference(&listed).copied().collect();
        let missing: Vec<&str> = listed.difference(&present).copied().collect();
        report.push(
            Check::fail(
                LEGACY_SUMS_INVENTORY,
                "SHA256SUMS does not name exactly the files of the pack",
            )
            .with("unlisted", unlisted)
            .with("missing", missing),
        );
    }
    for (name, expected) in &sums {
        let Some(bytes) = pack.files.get(name) else {
            continue; // reported by the inventory check
        };
        let actual = Sha256Digest::of(bytes).to_hex();
        report.push(if actual == *expected {
            Check::pass(LEGACY_SUMS_DIGEST, "digest matches").with_path(name.as_str())
        } else {
            Check::fail(LEGACY_SUMS_DIGEST, "digest does not match SHA256SUMS")
                .with_path(name.as_str())
                .with("expected", expected.as_str())
                .with("actual", actual)
        });
    }
    sums
}

fn parse_line(line: &str) -> Result<(&str, &str), String> {
    let (digest, name) = line
        .split_once("  ")
        .ok_or("not `<digest>  <name>` (two spaces)")?;
    if digest.len() != 64
        || !digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err("the digest is not 64 lower-case hex digits".into());
    }
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with(char::is_whitespace)
        && !name.ends_with(char::is_whitespace);
    if !plain {
        return Err(format!("{name:?} is not a plain file name"));
    }
    Ok((digest, name))
}

/// Parses the pack's JSON document `name` as Python would hash it; a missing or invalid
/// document is reported and gives `None`.
pub(super) fn load_json(
    pack: &Pack,
    name: &str,
    limits: &LegacyLimits,
    report: &mut Report,
) -> Option<Value> {
    let Some(bytes) = pack.files.get(name) else {
        report.push(Check::fail(LEGACY_JSON_INVALID, "missing").with_path(name));
        return None;
    };
    match crate::pyjson::parse(bytes, &limits.json) {
        Ok(value @ Value::Object(_)) => Some(value),
        Ok(_) => {
            report.push(Check::fail(LEGACY_JSON_INVALID, "not a JSON object").with_path(name));
            None
        }
        Err(e) => {
            report.push(Check::fail(LEGACY_JSON_INVALID, e.to_string()).with_path(name));
            None
        }
    }
}

/// `"sha256:" + sha256(json.dumps(value, sort_keys=True, separators=(",", ":")))`.
pub(super) fn python_hash_text(value: &Value) -> String {
    crate::pyjson::python_hash(value).to_string()
}

/// The schema and algorithm an HMAC signature file must carry.
pub(super) struct HmacFile<'a> {
    pub(super) name: &'a str,
    pub(super) schema: &'a str,
}

/// Checks an HMAC-SHA256 signature file against the payload recomputed from the pack, as the
/// predecessor signed it: the tag is `v1=` + hex HMAC over the text of the payload's hash.
pub(super) fn check_hmac_file(
    pack: &Pack,
    file: &HmacFile<'_>,
    payload: &Value,
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) {
    if !pack.files.contains_key(file.name) {
        report.push(
            Check::fail(
                LEGACY_SIGNATURE_MISSING,
                "no signature file: nothing vouches for the pack",
            )
            .with_path(file.name),
        );
        return;
    }
    let Some(signature) = load_json(pack, file.name, &opts.limits, report) else {
        return;
    };
    check_signature_format(&signature, file.name, file.schema, "hmac-sha256", report);
    let payload_hash = check_signed_payload(&signature, file.name, payload, report);
    let Some(key) = opts.hmac_key else {
        report.push(
            Check::fail(
                LEGACY_HMAC_UNCHECKED,
                "no --hmac-key-file: the HMAC tag was not checked",
            )
            .with_path(file.name),
        );
        return;
    };
    let expected = format!(
        "v1={}",
        hex::encode(hmac_sha256(key, payload_hash.as_bytes()))
    );
    let stated = signature
        .get("signature")
        .and_then(Value::as_str)
        .unwrap_or("");
    report.push(if constant_time_eq(stated.as_bytes(), expected.as_bytes()) {
        Check::pass(LEGACY_HMAC, "the HMAC-SHA256 tag verifies with the given key")
            .with_path(file.name)
    } else {
        Check::fail(
            LEGACY_HMAC,
            "the HMAC-SHA256 tag does not verify with the given key (wrong key, or the pack changed)",
        )
        .with_path(file.name)
    });
}

/// Checks `schema_version`, `algorithm` and `key_material_included: false`.
pub(super) fn check_signature_format(
    signature: &Value,
    name: &str,
    schema: &str,
    algorithm: &str,
    report: &mut Report,
) {
    let mut wrong = Vec::new();
    if signature.get("schema_version").and_then(Value::as_str) != Some(schema) {
        wrong.push(format!("schema_version is not {schema}"));
    }
    if signature.get("algorithm").and_then(Value::as_str) != Some(algorithm) {
        wrong.push(format!("algorithm is not {algorithm}"));
    }
    if signature.get("key_material_included") != Some(&Value::Bool(false)) {
        wrong.push("key_material_included is not false".to_owned());
    }
    report.push(if wrong.is_empty() {
        Check::pass(
            LEGACY_SIGNATURE_FORMAT,
            format!("{schema}, {algorithm}, no key material"),
        )
        .with_path(name)
    } else {
        Check::fail(LEGACY_SIGNATURE_FORMAT, wrong.join("; ")).with_path(name)
    });
}

/// Compares the stated `signed_payload` and `signed_payload_hash` with the recomputed payload;
/// returns the recomputed hash text, the only one ever signed or verified here.
pub(super) fn check_signed_payload(
    signature: &Value,
    name: &str,
    payload: &Value,
    report: &mut Report,
) -> String {
    report.push(if signature.get("signed_payload") == Some(payload) {
        Check::pass(
            LEGACY_SIGNED_PAYLOAD,
            "signed_payload matches the recomputed payload",
        )
        .with_path(name)
    } else {
        Check::fail(
            LEGACY_SIGNED_PAYLOAD,
            "signed_payload does not match the payload recomputed from the pack",
        )
        .with_path(name)
    });
    let hash = python_hash_text(payload);
    let stated = signature.get("signed_payload_hash").and_then(Value::as_str);
    report.push(if stated == Some(hash.as_str()) {
        Check::pass(LEGACY_SIGNED_PAYLOAD_HASH, "signed_payload_hash matches").with_path(name)
    } else {
        Check::fail(
            LEGACY_SIGNED_PAYLOAD_HASH,
            "signed_payload_hash is not the hash of the recomputed payload",
        )
        .with_path(name)
        .with("expected", hash.as_str())
        .with("actual", stated.map_or(Value::Null, Value::from))
    });
    hash
}

/// HMAC-SHA256 (RFC 2104) over SHA-256, whose block is 64 bytes.
pub(super) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = Zeroizing::new([0u8; 64]);
    if key.len() > 64 {
        let hashed: [u8; 32] = Sha256::digest(key).into();
        block.iter_mut().zip(hashed).for_each(|(b, k)| *b = k);
    } else {
        block.iter_mut().zip(key).for_each(|(b, k)| *b = *k);
    }
    let pad = |byte: u8| -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        out.iter_mut()
            .zip(block.iter())
            .for_each(|(o, b)| *o = b ^ byte);
        out
    };
    let inner: [u8; 32] = Sha256::new()
        .chain_update(pad(0x36).as_slice())
        .chain_update(message)
        .finalize()
        .into();
    Sha256::new()
        .chain_update(pad(0x5c).as_slice())
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compares two byte strings without stopping at the first difference, so the time taken
/// tells an attacker nothing about how much of a forged tag was right. (The length is public:
/// a tag always has the same length.)
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
