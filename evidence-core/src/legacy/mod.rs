//! Legacy packs: the predecessor's deployment evidence, rollback rehearsals and identity
//! bundles that auditors already archived, recognised by schema and verified with the
//! predecessor's own rules, and more strictly where those were weak.
//!
//! - **raw**: [`read_pack`] reads a pack folder whole, under [`LegacyLimits`]; a subfolder,
//!   link or special file is refused (the predecessor skipped them silently);
//! - **checked**: the JSON documents are parsed strictly (duplicate keys refused) and with
//!   [`crate::pyjson`], because every legacy hash is SHA-256 over Python's
//!   `json.dumps(obj, sort_keys=True, separators=(",", ":"))`; `SHA256SUMS` lines must be
//!   well-formed and name plain files, once each;
//! - **verified**: digests recomputed, HMAC-SHA256 tags compared in constant time, identity
//!   signatures checked against the caller's `--trusted-key` only. A signature that cannot be
//!   checked (no HMAC key, no trusted key, no signature file) fails: verification fails closed.
//!
//! [`import`] seals a verified pack's original bytes, unchanged, into a signed bundle of kind
//! `legacy`.

mod evidence;
mod identity;
mod import;
mod leak;
mod openssl;
mod rehearsal;
mod shared;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::json::JsonLimits;
use crate::report::{Check, Report, check_codes};

pub use import::{ImportError, ImportOptions, Imported, MAX_PACKS, import};
pub use openssl::{MIN_RSA_BITS, TrustedKey, TrustedKeyError};

/// Schema of the predecessor's deployment evidence packs (`manifest.json`).
pub const EVIDENCE_SCHEMA: &str = "zero.deployment_evidence.v1";
/// Schema of the predecessor's rollback rehearsal reports (`rollback_rehearsal.json`).
pub const REHEARSAL_SCHEMA: &str = "zero.deployment_rollback_rehearsal.v1";
/// Schema of the predecessor's identity bundles (`identity_bundle.json`).
pub const IDENTITY_SCHEMA: &str = "zero.deployment_identity_evidence.v1";
/// The bundle kind that [`import`] writes.
pub const BUNDLE_KIND: &str = "legacy";
/// The checksum file every legacy pack carries.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// The legacy formats this module recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacySchema {
    /// `zero.deployment_evidence.v1`.
    Evidence,
    /// `zero.deployment_rollback_rehearsal.v1`.
    Rehearsal,
    /// `zero.deployment_identity_evidence.v1`.
    Identity,
}

impl LegacySchema {
    /// The schema string.
    pub fn as_str(self) -> &'static str {
        match self {
            LegacySchema::Evidence => EVIDENCE_SCHEMA,
            LegacySchema::Rehearsal => REHEARSAL_SCHEMA,
            LegacySchema::Identity => IDENTITY_SCHEMA,
        }
    }

    /// The document that carries the schema string, and the signature file beside it.
    fn files(self) -> (&'static str, &'static str) {
        match self {
            LegacySchema::Evidence => ("manifest.json", "EVIDENCE_SIGNATURE.json"),
            LegacySchema::Rehearsal => (
                "rollback_rehearsal.json",
                "ROLLBACK_REHEARSAL_SIGNATURE.json",
            ),
            LegacySchema::Identity => ("identity_bundle.json", "IDENTITY_SIGNATURE.json"),
        }
    }

    const ALL: [LegacySchema; 3] = [
        LegacySchema::Evidence,
        LegacySchema::Rehearsal,
        LegacySchema::Identity,
    ];
}

/// Check codes of legacy packs.
pub mod codes {
    use super::check_codes;
    check_codes! {
        LEGACY_PACK_UNREADABLE = "legacy-pack-unreadable":
            "The pack folder or one of its files could not be read, it holds a subfolder, link or special file, or it exceeds a limit.";
        LEGACY_SCHEMA = "legacy-schema":
            "The pack is a recognised legacy format (manifest.json, rollback_rehearsal.json or identity_bundle.json with its schema_version).";
        LEGACY_JSON_INVALID = "legacy-json-invalid":
            "A JSON document of the pack is not strict JSON (duplicate keys, syntax, limits), not an object, or holds an integer Python would hash differently.";
        LEGACY_SUMS_FORMAT = "legacy-sums-format":
            "Every SHA256SUMS line is `<64 lower-case hex>  <plain file name>`, each name once.";
        LEGACY_SUMS_INVENTORY = "legacy-sums-inventory":
            "SHA256SUMS names exactly the files of the pack (all but itself; an evidence pack's EVIDENCE_SIGNATURE.json too).";
        LEGACY_SUMS_DIGEST = "legacy-sums-digest":
            "A file's SHA-256 equals its SHA256SUMS line.";
        LEGACY_MANIFEST_INVENTORY = "legacy-manifest-inventory":
            "The evidence manifest's files list (path, sha256, bytes) matches SHA256SUMS and the files, except manifest.json itself.";
        LEGACY_DOCTOR = "legacy-doctor":
            "The evidence manifest's embedded doctor summary reports zero failures.";
        LEGACY_PACKET = "legacy-packet":
            "A packet listed by the evidence manifest is present in the pack and was answered with HTTP 200.";
        LEGACY_LEAK = "legacy-leak":
            "No .json or .txt file of an evidence pack matches one of the predecessor verifier's five leak patterns (raw trace id, bearer token, sk- key, private or signing key assignment).";
        LEGACY_SIGNATURE_MISSING = "legacy-signature-missing":
            "The pack's signature file is present (evidence packs and rehearsals: HMAC; identity bundles: OpenSSL signature). Without it nothing vouches for the pack.";
        LEGACY_SIGNATURE_FORMAT = "legacy-signature-format":
            "The signature file has the expected schema_version and algorithm and key_material_included false.";
        LEGACY_SIGNED_PAYLOAD = "legacy-signed-payload":
            "The signature file's signed_payload equals the payload recomputed from the pack.";
        LEGACY_SIGNED_PAYLOAD_HASH = "legacy-signed-payload-hash":
            "The signature file's signed_payload_hash equals the Python-JSON SHA-256 of the recomputed payload.";
        LEGACY_HMAC = "legacy-hmac":
            "The HMAC-SHA256 tag (v1=<hex>) over the recomputed payload hash verifies with the --hmac-key-file key (compared in constant time).";
        LEGACY_HMAC_UNCHECKED = "legacy-hmac-unchecked":
            "No --hmac-key-file was given, so the HMAC tag could not be checked: verification fails closed.";
        LEGACY_PLAN_HASH = "legacy-plan-hash":
            "The rehearsal's rollback_plan.plan_hash equals the Python-JSON SHA-256 of the plan without it.";
        LEGACY_REHEARSAL_CONSISTENT = "legacy-rehearsal-consistent":
            "The rehearsal's ok and summary agree with its checks and with rollback_plan.rollback_ready, the one verdict the HMAC covers (through the plan hash).";
        LEGACY_REHEARSAL_READY = "legacy-rehearsal-ready":
            "The rehearsal's signed plan says rollback_ready true.";
        LEGACY_UNSIGNED_FIELDS = "legacy-unsigned-fields":
            "Warning: the rehearsal's ok, summary, checks and pack summaries are outside its HMAC; only the manifest digests and the plan are signed.";
        LEGACY_IDENTITY_SCHEMA = "legacy-identity-schema":
            "The identity bundle's claim and heartbeat carry zero.deployment.claim.v1 and zero.deployment.heartbeat.v1.";
        LEGACY_CLAIM_HASH = "legacy-claim-hash":
            "The claim's claim_hash equals its recomputed self-hash (without claim_hash and signature).";
        LEGACY_HEARTBEAT_HASH = "legacy-heartbeat-hash":
            "The heartbeat's heartbeat_hash equals its recomputed self-hash (without heartbeat_hash and signature).";
        LEGACY_IDENTITY_BINDING = "legacy-identity-binding":
            "The heartbeat's deployment_claim_hash names the claim, and each packet's signature object names its own hash.";
        LEGACY_IDENTITY_SUMMARY = "legacy-identity-summary":
            "identity_bundle.json records the claim and heartbeat hashes and the file digests of the files actually in the bundle.";
        LEGACY_IDENTITY_PRIVACY = "legacy-identity-privacy":
            "Both packets say they hold no exchange credentials or wallet material, and hold none of the predecessor's forbidden words.";
        LEGACY_EMBEDDED_KEY = "legacy-embedded-key":
            "The public key embedded in IDENTITY_SIGNATURE.json is the --trusted-key; it is never used to verify anything.";
        LEGACY_IDENTITY_SIGNATURE = "legacy-identity-signature":
            "The OpenSSL signature (ECDSA P-256 or RSA PKCS#1 v1.5, SHA-256) over the recomputed payload verifies under the --trusted-key.";
        LEGACY_IDENTITY_SIGNATURE_UNCHECKED = "legacy-identity-signature-unchecked":
            "No --trusted-key was given, so the identity signature could not be checked (the embedded key never counts): verification fails closed.";
    }
}

/// Hard limits on a legacy pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyLimits {
    /// Most files in a pack.
    pub max_files: usize,
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Largest pack, in bytes.
    pub max_pack_bytes: u64,
    /// Limits for parsing each JSON document.
    pub json: JsonLimits,
}

impl Default for LegacyLimits {
    fn default() -> Self {
        Self {
            max_files: 1024,
            max_file_bytes: 64 << 20,
            max_pack_bytes: 256 << 20,
            json: JsonLimits {
                max_bytes: 64 << 20,
                ..JsonLimits::default()
            },
        }
    }
}

/// How to verify legacy packs.
#[derive(Debug, Default)]
pub struct VerifyOptions<'a> {
    /// The HMAC key of evidence packs and rehearsals (the predecessor's `--signing-key`).
    pub hmac_key: Option<&'a [u8]>,
    /// The only key an identity signature may verify under.
    pub trusted_key: Option<&'a TrustedKey>,
    /// Limits.
    pub limits: LegacyLimits,
}

/// A pack's files, read whole: name -> bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pack {
    /// The files, by plain name.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The outcome of verifying one pack.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The checks.
    pub report: Report,
    /// The recognised schema, if any.
    pub schema: Option<LegacySchema>,
    /// The bytes that were verified (`None` when the pack could not be read).
    pub pack: Option<Pack>,
}

/// Reads every file of the pack folder `dir` under `limits`. A failure is returned as the
/// failing check that explains it (without a path: the caller names the pack).
pub fn read_pack(dir: &Path, limits: &LegacyLimits) -> Result<Pack, Box<Check>> {
    let fail = |what: String| Box::new(Check::fail(codes::LEGACY_PACK_UNREADABLE, what));
    let entries = std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read folder: {e}")))?;
    let mut pack = Pack::default();
    let mut total: u64 = 0;
    for entry in entries {
        let entry = entry.map_err(|e| fail(format!("cannot read folder: {e}")))?;
        let name = entry.file_name();
        let Some(name) = name.to_str().map(str::to_owned) else {
            return Err(fail(format!("{name:?} is not a UTF-8 file name")));
        };
        let kind = entry
            .file_type()
            .map_err(|e| fail(format!("{name}: {e}")))?;
        if !kind.is_file() {
            return Err(fail(format!(
                "{name} is not a regular file; a legacy pack holds only files (links are never followed)"
            )));
        }
        if pack.files.len() == limits.max_files {
            return Err(fail(format!("more than {} files", limits.max_files)));
        }
        let bytes = read_file(&entry.path(), limits.max_file_bytes)
            .map_err(|e| fail(format!("{name}: {e}")))?;
        total = total.saturating_add(bytes.len() as u64);
        if total > limits.max_pack_bytes {
            return Err(fail(format!("larger than {} bytes", limits.max_pack_bytes)));
        }
        pack.files.insert(name, bytes);
    }
    Ok(pack)
}

fn read_file(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = crate::hash::open_no_follow(path).map_err(|e| e.to_string())?;
    // Checked on the open file: the name may have been swapped since the folder was listed.
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > max {
        return Err(format!("larger than {max} bytes"));
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(bytes)
}

/// Recognises the pack's schema: the first of `manifest.json`, `rollback_rehearsal.json`,
/// `identity_bundle.json` present decides, and its `schema_version` must be the one expected.
pub fn recognise(pack: &Pack, limits: &LegacyLimits) -> Result<LegacySchema, Box<Check>> {
    for schema in LegacySchema::ALL {
        let (document, _) = schema.files();
        let Some(bytes) = pack.files.get(document) else {
            continue;
        };
        let found = crate::json::parse_strict(bytes, &limits.json)
            .ok()
            .and_then(|v| v.get("schema_version").cloned());
        if found.as_ref().and_then(Value::as_str) == Some(schema.as_str()) {
            return Ok(schema);
        }
        return Err(Box::new(
            Check::fail(
                codes::LEGACY_SCHEMA,
                format!(
                    "{document} does not carry schema_version {}",
                    schema.as_str()
                ),
            )
            .with_path(document)
            .with("expected", schema.as_str())
            .with("actual", found.unwrap_or(Value::Null)),
        ));
    }
    Err(Box::new(Check::fail(
        codes::LEGACY_SCHEMA,
        "not a legacy pack: no manifest.json, rollback_rehearsal.json or identity_bundle.json",
    )))
}

/// Verifies the pack folder `dir`.
pub fn verify(dir: &Path, opts: &VerifyOptions<'_>) -> Verification {
    let mut report = Report::new(json!({
        "type": "legacy-pack",
        "path": dir.display().to_string(),
    }));
    let pack = match read_pack(dir, &opts.limits) {
        Ok(pack) => pack,
        Err(check) => {
            report.push(check.with_path(dir.display().to_string()));
            return Verification {
                report,
                schema: None,
                pack: None,
            };
        }
    };
    let schema = verify_pack(&pack, opts, &mut report);
    Verification {
        report,
        schema,
        pack: Some(pack),
    }
}

/// Verifies a pack already read, appending the checks to `report`.
pub fn verify_pack(
    pack: &Pack,
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) -> Option<LegacySchema> {
    let schema = match recognise(pack, &opts.limits) {
        Ok(schema) => schema,
        Err(check) => {
            report.push(*check);
            return None;
        }
    };
    report.push(
        Check::pass(
            codes::LEGACY_SCHEMA,
            format!("recognised {}", schema.as_str()),
        )
        .with("schema", schema.as_str()),
    );
    if let Value::Object(subject) = &mut report.subject {
        subject.insert("schema".into(), schema.as_str().into());
    }
    match schema {
        LegacySchema::Evidence => evidence::verify(pack, opts, report),
        LegacySchema::Rehearsal => rehearsal::verify(pack, opts, report),
        LegacySchema::Identity => identity::verify(pack, opts, report),
    }
    Some(schema)
}

/// An HMAC key, wiped from memory when dropped.
pub type HmacKey = Zeroizing<Vec<u8>>;

/// Reads an HMAC key file: its bytes, less one trailing line break (a key written with `echo`
/// must equal the predecessor's `--signing-key` string).
pub fn read_hmac_key(path: &Path) -> Result<HmacKey, String> {
    let mut key = Zeroizing::new(read_file(path, 4096)?);
    if key.ends_with(b"\n") {
        key.pop();
        if key.ends_with(b"\r") {
            key.pop();
        }
    }
    if key.is_empty() {
        return Err("the HMAC key file is empty".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
