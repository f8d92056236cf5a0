//! DSSE v1 envelopes: signing and verifying exact payload bytes (DESIGN section 3,
//! "Signatures"; the protocol is <https://github.com/secure-systems-lab/dsse>).
//!
//! ```json
//! {"payloadType": "...", "payload": "<base64>", "signatures": [{"keyid": "...", "sig": "<base64>"}]}
//! ```
//!
//! - A signature is an Ed25519 signature over `PAE(payloadType, payload)` where
//!   `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` and `LEN` is the
//!   ASCII decimal byte length (DSSE protocol, "Signature definition").
//! - Base64 is written in the standard alphabet with padding. On read, the standard and the
//!   URL-safe alphabets are accepted, with or without padding, but never a mix of the two,
//!   white space, or non-zero trailing bits: each byte string has one accepted encoding per
//!   alphabet, so an envelope cannot be altered without the bytes changing.
//! - `keyid` is a hint. Trust comes only from the caller's [`TrustPolicy`]; a threshold counts
//!   distinct trusted keys (DESIGN 4 rule 4).
//! - Each kind of signed document has its own payload type, so a signature made for one kind
//!   can never be replayed as another (domain separation).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::{Deserialize, Serialize};

use crate::json::{self, JsonLimits};
use crate::keys::{KeyId, PrivateKey, TrustPolicy};
use crate::report::{Check, CheckCode};
use crate::text::printable;

/// Payload type of a bundle manifest envelope (`manifest.dsse.json`).
pub const PAYLOAD_TYPE_BUNDLE_MANIFEST: &str = "application/vnd.evidence.bundle-manifest.v1+json";
/// Payload type of a signed checksum file (`SHA256SUMS.dsse.json`): the exact SUMS bytes.
pub const PAYLOAD_TYPE_SHA256SUMS: &str = "application/vnd.evidence.sha256sums.v1+text";
/// Payload type of an in-toto Statement (in-toto attestation framework, "Envelope layer").
pub const PAYLOAD_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";

/// Default largest envelope: 64 MiB.
pub const DEFAULT_MAX_ENVELOPE_BYTES: u64 = 64 << 20;
/// Default most signatures in one envelope.
pub const DEFAULT_MAX_SIGNATURES: usize = 64;
/// Longest `keyid` accepted, in bytes.
pub const MAX_KEYID_BYTES: usize = 256;
/// Longest `payloadType` accepted, in bytes.
pub const MAX_PAYLOAD_TYPE_BYTES: usize = 256;

/// Hard limits for reading envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DsseLimits {
    /// Largest envelope, in bytes (the payload is at most three quarters of this).
    pub max_envelope_bytes: u64,
    /// Most signatures.
    pub max_signatures: usize,
}

impl Default for DsseLimits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: DEFAULT_MAX_ENVELOPE_BYTES,
            max_signatures: DEFAULT_MAX_SIGNATURES,
        }
    }
}

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsseError {
    /// Not strict JSON of the envelope's shape.
    #[error("not a DSSE envelope: {0}")]
    Json(String),
    /// A base64 field does not decode under the rules of [`decode_base64`].
    #[error(
        "{field} is not valid base64 (standard or URL-safe alphabet, no white space, no mixed alphabets, no stray bits)"
    )]
    Base64 {
        /// Which field (`payload`, `signatures[2].sig`).
        field: String,
    },
    /// More signatures than the limit.
    #[error("{found} signatures exceed the limit of {limit}")]
    TooManySignatures {
        /// Signatures in the envelope.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// More JSON values than an envelope with the most signatures allowed holds: refused while
    /// reading, before the signatures are built (the count is not known).
    #[error("more JSON values than an envelope of at most {limit} signatures holds")]
    TooManyValues {
        /// The signature limit.
        limit: usize,
    },
    /// A field is too long or empty where it may not be.
    #[error("{field}: {reason}")]
    Field {
        /// Which field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signer's key id hint (may be empty); never a trust decision.
    pub keyid: String,
    /// The signature bytes.
    pub sig: Vec<u8>,
}

/// A DSSE envelope with its fields decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload type.
    pub payload_type: String,
    /// The exact payload bytes.
    pub payload: Vec<u8>,
    /// The signatures, in envelope order.
    pub signatures: Vec<Signature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<RawSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// `PAE(type, body)`: the bytes a DSSE signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        10 + type_len.len() + payload_type.len() + body_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

const STRICT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(false);
const STANDARD_READ: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, STRICT);
const URL_SAFE_READ: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, STRICT);

/// Decodes standard or URL-safe base64 (padding optional, no white space, no mixed alphabets,
/// no non-zero trailing bits).
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD_READ
        .decode(text)
        .or_else(|_| URL_SAFE_READ.decode(text))
        .ok()
}

/// Standard padded base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

impl Envelope {
    /// Reads an envelope: strict JSON (duplicate keys refused, unknown members refused), both
    /// base64 fields canonical, signatures 64 bytes, within `limits`.
    pub fn parse(bytes: &[u8], limits: &DsseLimits) -> Result<Self, DsseError> {
        // An envelope is an object of three members, the last an array of two-member objects:
        // 4 values, then 3 per signature. Counting values while reading bounds the memory of a
        // hostile envelope by the signature limit, not by its size.
        let json_limits = JsonLimits {
            max_bytes: limits.max_envelope_bytes,
            max_values: limits.max_signatures.saturating_mul(3).saturating_add(8),
            ..JsonLimits::default()
        };
        let raw: RawEnvelope =
            json::from_slice_strict(bytes, &json_limits).map_err(|e| match e {
                json::JsonError::TooManyValues { .. } => DsseError::TooManyValues {
                    limit: limits.max_signatures,
                },
                other => DsseError::Json(other.to_string()),
            })?;
        Self::from_raw(raw, limits)
    }

    /// Reads an envelope from an already parsed JSON value (one line of a `.intoto.jsonl`
    /// file, for example); the same rules as [`Envelope::parse`] apply.
    pub fn from_value(value: serde_json::Value, limits: &DsseLimits) -> Result<Self, DsseError> {
        let raw: RawEnvelope =
            serde_json::from_value(value).map_err(|e| DsseError::Json(e.to_string()))?;
        Self::from_raw(raw, limits)
    }

    fn from_raw(raw: RawEnvelope, limits: &DsseLimits) -> Result<Self, DsseError> {
        if raw.signatures.len() > limits.max_signatures {
            return Err(DsseError::TooManySignatures {
                found: raw.signatures.len(),
                limit: limits.max_signatures,
            });
        }
        if raw.payload_type.is_empty() || raw.payload_type.len() > MAX_PAYLOAD_TYPE_BYTES {
            return Err(DsseError::Field {
                field: "payloadType".into(),
                reason: format!("must be 1-{MAX_PAYLOAD_TYPE_BYTES} bytes"),
            });
        }
        let payload = decode_base64(&raw.payload).ok_or_else(|| DsseError::Base64 {
            field: "payload".into(),
        })?;
        let mut signatures = Vec::with_capacity(raw.signatures.len());
        for (i, s) in raw.signatures.into_iter().enumerate() {
            if s.keyid.len() > MAX_KEYID_BYTES {
                return Err(DsseError::Field {
                    field: format!("signatures[{i}].keyid"),
                    reason: format!("longer than {MAX_KEYID_BYTES} bytes"),
                });
            }
            let sig = decode_base64(&s.sig).ok_or_else(|| DsseError::Base64 {
                field: format!("signatures[{i}].sig"),
            })?;
            if sig.len() != 64 {
                return Err(DsseError::Field {
                    field: format!("signatures[{i}].sig"),
                    reason: format!("an Ed25519 signature is 64 bytes, found {}", sig.len()),
                });
            }
            signatures.push(Signature {
                keyid: s.keyid,
                sig,
            });
        }
        Ok(Self {
            payload_type: raw.payload_type,
            payload,
            signatures,
        })
    }

    /// An envelope over `payload`, signed by each of `keys` in order.
    pub fn sign(payload_type: &str, payload: &[u8], keys: &[&PrivateKey]) -> Self {
        let mut envelope = Self {
            payload_type: payload_type.to_owned(),
            payload: payload.to_vec(),
            signatures: Vec::with_capacity(keys.len()),
        };
        for key in keys {
            envelope.add_signature(key);
        }
        envelope
    }

    /// Adds a signature by `key`, labelled with its key id. Adding the same key twice changes
    /// nothing (Ed25519 signatures are deterministic).
    pub fn add_signature(&mut self, key: &PrivateKey) {
        let sig = key.sign(&pae(&self.payload_type, &self.payload));
        let keyid = key.public().key_id().to_string();
        if !self
            .signatures
            .iter()
            .any(|s| s.keyid == keyid && s.sig == sig)
        {
            self.signatures.push(Signature {
                keyid,
                sig: sig.to_vec(),
            });
        }
    }

    /// The envelope as file bytes, in one fixed form: pretty-printed JSON with members in the
    /// order `payloadType`, `payload`, `signatures` (`keyid`, `sig`), standard padded base64 and
    /// a trailing newline.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.to_raw()).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The envelope as one line of compact JSON without a newline (a `.intoto.jsonl` line).
    pub fn to_json_line(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_raw()).unwrap_or_default()
    }

    fn to_raw(&self) -> RawEnvelope {
        RawEnvelope {
            payload_type: self.payload_type.clone(),
            payload: encode_base64(&self.payload),
            signatures: self
                .signatures
                .iter()
                .map(|s| RawSignature {
                    keyid: s.keyid.clone(),
                    sig: encode_base64(&s.sig),
                })
                .collect(),
        }
    }

    /// Judges every signature against the trust policy.
    ///
    /// The payload type must be `expected_type` before any signature is considered. Each
    /// signature is tried against the trusted keys (the key its `keyid` names first):
    /// - it verifies with a key not yet counted: it counts for that key
    ///   ([`SigStatus::Verified`]), whatever its `keyid` says (DSSE: the key id "MUST NOT be used
    ///   for security decisions"; other implementations write their own key id forms);
    /// - it verifies with an already counted key: [`SigStatus::Duplicate`], not counted again;
    /// - it verifies with no trusted key although its `keyid` names one: forged or made over
    ///   other bytes, [`SigStatus::Invalid`] (a claim that can only make the verdict stricter);
    /// - otherwise it is by a stranger: [`SigStatus::Untrusted`].
    pub fn verify(&self, expected_type: &str, policy: &TrustPolicy) -> Verdict {
        if self.payload_type != expected_type {
            return Verdict {
                outcome: SignatureOutcome::PayloadTypeMismatch {
                    expected: expected_type.to_owned(),
                    found: self.payload_type.clone(),
                },
                signatures: Vec::new(),
                threshold: policy.threshold.get(),
            };
        }
        let message = pae(&self.payload_type, &self.payload);
        let mut counted: Vec<KeyId> = Vec::new();
        let mut reports = Vec::with_capacity(self.signatures.len());
        let mut problems = false;
        let trusted: Vec<(KeyId, &crate::keys::NamedKey)> =
            policy.keys.iter().map(|k| (k.key.key_id(), k)).collect();
        for (index, sig) in self.signatures.iter().enumerate() {
            let status = judge_signature(sig, &message, &trusted, &mut counted);
            problems |= matches!(status, SigStatus::Invalid { .. });
            reports.push(SigReport {
                index,
                keyid_hint: sig.keyid.clone(),
                status,
            });
        }
        let need = policy.threshold.get();
        let have = counted.len();
        let outcome = if self.signatures.is_empty() {
            SignatureOutcome::Missing
        } else if have >= need as usize {
            SignatureOutcome::Verified
        } else if have == 0 && !problems {
            SignatureOutcome::Untrusted
        } else {
            SignatureOutcome::ThresholdNotMet { have, need }
        };
        Verdict {
            outcome,
            signatures: reports,
            threshold: need,
        }
    }
}

/// How one signature fares against the trusted keys (see [`Envelope::verify`]); a key it
/// counts for is added to `counted`.
fn judge_signature(
    sig: &Signature,
    message: &[u8],
    trusted: &[(KeyId, &crate::keys::NamedKey)],
    counted: &mut Vec<KeyId>,
) -> SigStatus {
    let named = KeyId::parse(&sig.keyid);
    // The key the hint names is tried first; the hint decides nothing else.
    let mut order: Vec<&(KeyId, &crate::keys::NamedKey)> = trusted.iter().collect();
    order.sort_by_key(|(id, _)| Some(*id) != named);
    let verified_with = order
        .into_iter()
        .find(|(_, k)| k.key.verify_strict(message, &sig.sig).is_ok());
    let names_trusted = named.is_some_and(|n| trusted.iter().any(|(id, _)| *id == n));
    match verified_with {
        Some(&(id, key)) => {
            if counted.contains(&id) {
                SigStatus::Duplicate
            } else {
                counted.push(id);
                SigStatus::Verified {
                    key_id: id,
                    name: key.name.clone(),
                }
            }
        }
        None if names_trusted => SigStatus::Invalid {
            reason: "Ed25519 verification failed".to_owned(),
        },
        None => SigStatus::Untrusted,
    }
}

/// How one signature fared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigStatus {
    /// Verified with a trusted key, counted toward the threshold.
    Verified {
        /// The key.
        key_id: KeyId,
        /// Its name in the trust policy.
        name: String,
    },
    /// Names a trusted key but does not verify: forged or made over other bytes.
    Invalid {
        /// Why.
        reason: String,
    },
    /// By no trusted key.
    Untrusted,
    /// By a trusted key already counted.
    Duplicate,
}

/// One signature's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigReport {
    /// Its position in the envelope (0-based).
    pub index: usize,
    /// Its `keyid` as written (a hint, possibly empty).
    pub keyid_hint: String,
    /// How it fared.
    pub status: SigStatus,
}

/// The envelope's overall verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureOutcome {
    /// Enough distinct trusted keys signed.
    Verified,
    /// The envelope holds no signatures.
    Missing,
    /// The envelope was made for another kind of document; no signature was considered.
    PayloadTypeMismatch {
        /// The payload type required.
        expected: String,
        /// The one found.
        found: String,
    },
    /// Signatures exist, none by a trusted key, and none claims to be.
    Untrusted,
    /// Fewer distinct trusted keys signed than required.
    ThresholdNotMet {
        /// Distinct trusted keys that signed.
        have: usize,
        /// The threshold.
        need: u32,
    },
}

/// The result of [`Envelope::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The overall outcome.
    pub outcome: SignatureOutcome,
    /// Each signature's status, in envelope order.
    pub signatures: Vec<SigReport>,
    /// The threshold applied.
    pub threshold: u32,
}

impl Verdict {
    /// True when the threshold was met and no signature is forged. An envelope
    /// that carries a forgery beside enough good signatures has been tampered with, and the
    /// checks from [`verdict_checks`] fail; callers deciding trust must not accept it either.
    pub fn is_verified(&self) -> bool {
        self.outcome == SignatureOutcome::Verified && !self.has_forgery()
    }

    /// True when some signature names a trusted key but does not verify.
    pub fn has_forgery(&self) -> bool {
        self.signatures
            .iter()
            .any(|s| matches!(s.status, SigStatus::Invalid { .. }))
    }

    /// The trusted keys that counted, with their names.
    pub fn signers(&self) -> Vec<(KeyId, String)> {
        self.signatures
            .iter()
            .filter_map(|s| match &s.status {
                SigStatus::Verified { key_id, name } => Some((*key_id, name.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The check codes a kind of signed document reports its signatures under.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCodes {
    /// A signature by a trusted key verified.
    pub verified: CheckCode,
    /// No signature where one is required.
    pub missing: CheckCode,
    /// A signature is forged, or the envelope is for another payload type.
    pub invalid: CheckCode,
    /// Signatures by keys that are not trusted.
    pub untrusted: CheckCode,
    /// A repeated signature by an already counted key.
    pub duplicate: CheckCode,
    /// The threshold was met.
    pub threshold_met: CheckCode,
    /// The threshold was not met.
    pub threshold_not_met: CheckCode,
}

/// Whether a missing signature fails when a trust policy is given. The safe default is
/// [`SignatureRequirement::Required`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureRequirement {
    /// A missing signature fails.
    #[default]
    Required,
    /// A missing signature is only a warning (`--allow-unsigned`); an invalid one still fails.
    AllowUnsigned,
}

/// Turns a verdict into report checks (one per signature, then one for the threshold), using
/// `codes`; `what` names the signed document in details ("the bundle", "SHA256SUMS").
pub fn verdict_checks(
    verdict: &Verdict,
    codes: &SignatureCodes,
    requirement: SignatureRequirement,
    what: &str,
) -> Vec<Check> {
    let mut checks = Vec::with_capacity(verdict.signatures.len() + 1);
    for sig in &verdict.signatures {
        checks.push(signature_check(sig, codes, what));
    }
    checks.push(threshold_check(verdict, codes, requirement, what));
    checks
}

/// The check for one signature.
fn signature_check(sig: &SigReport, codes: &SignatureCodes, what: &str) -> Check {
    let hint = printable(&sig.keyid_hint).into_owned();
    let n = sig.index;
    match &sig.status {
        SigStatus::Verified { key_id, name } => Check::pass(
            codes.verified,
            format!("signature {n} verified with trusted key {}", printable(name)),
        )
        .with("key_id", key_id.to_string())
        .with("key_name", name.clone()),
        SigStatus::Invalid { reason } => Check::fail(
            codes.invalid,
            format!(
                "signature {n} names trusted key {hint} but does not verify ({reason}): forged, or {what} changed"
            ),
        )
        .with("keyid", hint),
        // A stranger's signature alone proves nothing either way; the threshold check
        // decides.
        SigStatus::Untrusted => Check::warn(
            codes.untrusted,
            format!("signature {n} is by a key that is not trusted (keyid {hint:?})"),
        )
        .with("keyid", hint),
        SigStatus::Duplicate => Check::warn(
            codes.duplicate,
            format!("signature {n} repeats a key already counted; it does not count again"),
        )
        .with("keyid", hint),
    }
}

/// The check for the verdict as a whole: the threshold met, or why not.
fn threshold_check(
    verdict: &Verdict,
    codes: &SignatureCodes,
    requirement: SignatureRequirement,
    what: &str,
) -> Check {
    let need = verdict.threshold;
    let signers = verdict.signers();
    let have = signers.len();
    match &verdict.outcome {
        SignatureOutcome::Verified => Check::pass(
            codes.threshold_met,
            format!(
                "{have} distinct trusted key(s) signed {what}; {need} required: {}",
                signers
                    .iter()
                    .map(|(_, name)| printable(name).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with("threshold", need)
        .with("signed", have)
        .with(
            "signers",
            signers
                .iter()
                .map(|(id, _)| id.to_string())
                .collect::<Vec<_>>(),
        ),
        SignatureOutcome::Missing => missing_check(codes, requirement, what),
        SignatureOutcome::PayloadTypeMismatch { expected, found } => Check::fail(
            codes.invalid,
            format!(
                "payload type {:?} is not {expected:?}: the envelope was made for another kind of document",
                printable(found)
            ),
        ),
        SignatureOutcome::Untrusted => Check::fail(
            codes.untrusted,
            format!(
                "no signature on {what} is by a trusted key: it may have been re-signed by a stranger"
            ),
        ),
        SignatureOutcome::ThresholdNotMet { have, need } => Check::fail(
            codes.threshold_not_met,
            format!("{have} distinct trusted key(s) signed {what}; {need} required"),
        )
        .with("threshold", *need)
        .with("signed", *have),
    }
}

/// The check for a signature that is absent where a trust policy was given.
pub fn missing_check(
    codes: &SignatureCodes,
    requirement: SignatureRequirement,
    what: &str,
) -> Check {
    match requirement {
        SignatureRequirement::AllowUnsigned => Check::warn(
            codes.missing,
            format!("{what} is not signed (allowed: --allow-unsigned)"),
        ),
        SignatureRequirement::Required => Check::fail(
            codes.missing,
            format!("{what} is not signed, but a trusted key was given"),
        ),
    }
}

impl fmt::Display for SignatureOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verified => f.write_str("verified"),
            Self::Missing => f.write_str("no signatures"),
            Self::PayloadTypeMismatch { expected, found } => {
                write!(f, "payload type {found:?} is not {expected:?}")
            }
            Self::Untrusted => f.write_str("no signature by a trusted key"),
            Self::ThresholdNotMet { have, need } => {
                write!(f, "{have} of {need} required trusted keys signed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{NamedKey, PublicKey};
    use std::path::PathBuf;

    fn interop(path: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/interop")).join(path)
    }

    fn key(n: u8) -> PrivateKey {
        PrivateKey::from_seed(&[n; 32])
    }

    fn policy(keys: &[&PrivateKey], threshold: u32) -> TrustPolicy {
        TrustPolicy::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| NamedKey {
                    name: format!("k{i}"),
                    key: k.public(),
                })
                .collect(),
            threshold,
        )
        .unwrap()
    }

    #[test]
    fn pae_matches_the_spec_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn envelope_written_by_another_implementation_verifies() {
        if !crate::testing::have_interop("dsse") {
            return;
        }
        let bytes = std::fs::read(interop("dsse/provenance.intoto.dsse.json")).unwrap();
        let env = Envelope::parse(&bytes, &DsseLimits::default()).unwrap();
        let public = PublicKey::load(&interop("openssl/signer.pub.pem")).unwrap();
        let verdict = env.verify(PAYLOAD_TYPE_IN_TOTO, &TrustPolicy::single("signer", public));
        assert_eq!(verdict.outcome, SignatureOutcome::Verified);
        assert_eq!(
            verdict.signers(),
            vec![(public.key_id(), "signer".to_owned())]
        );
        // The same envelope under another expected type counts for nothing.
        let other = env.verify(
            PAYLOAD_TYPE_BUNDLE_MANIFEST,
            &TrustPolicy::single("s", public),
        );
        assert!(matches!(
            other.outcome,
            SignatureOutcome::PayloadTypeMismatch { .. }
        ));
    }

    #[test]
    fn round_trip_is_byte_stable() {
        let a = key(1);
        let b = key(2);
        let env = Envelope::sign("t/x", b"payload", &[&a, &b]);
        let bytes = env.to_json_bytes();
        let back = Envelope::parse(&bytes, &DsseLimits::default()).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.to_json_bytes(), bytes);
        assert_eq!(
            Envelope::parse(&env.to_json_line(), &DsseLimits::default()).unwrap(),
            env
        );
        let mut again = env.clone();
        again.add_signature(&a);
        assert_eq!(again, env, "signing twice with one key changes nothing");
    }

    #[test]
    fn threshold_counts_distinct_keys_only() {
        let a = key(1);
        let b = key(2);
        let mut env = Envelope::sign("t", b"p", &[&a]);
        let dup = env.signatures[0].clone();
        env.signatures.push(dup);
        let verdict = env.verify("t", &policy(&[&a, &b], 2));
        assert_eq!(
            verdict.outcome,
            SignatureOutcome::ThresholdNotMet { have: 1, need: 2 }
        );
        assert_eq!(verdict.signatures[1].status, SigStatus::Duplicate);
        // An unlabelled copy is still the same key.
        env.signatures[1].keyid.clear();
        let verdict = env.verify("t", &policy(&[&a, &b], 2));
        assert_eq!(verdict.signatures[1].status, SigStatus::Duplicate);
        env.add_signature(&b);
        assert!(env.verify("t", &policy(&[&a, &b], 2)).is_verified());
    }

    #[test]
    fn strangers_and_forgeries_are_told_apart_and_labels_are_hints() {
        let a = key(1);
        let stranger = key(9);
        let trusted = policy(&[&a], 1);

        let by_stranger = Envelope::sign("t", b"p", &[&stranger]);
        let v = by_stranger.verify("t", &trusted);
        assert_eq!(v.outcome, SignatureOutcome::Untrusted);
        assert_eq!(v.signatures[0].status, SigStatus::Untrusted);

        // A stranger's signature labelled with the trusted key's id: a forgery.
        let mut forged = by_stranger.clone();
        forged.signatures[0].keyid = a.public().key_id().to_string();
        let v = forged.verify("t", &trusted);
        assert!(matches!(v.signatures[0].status, SigStatus::Invalid { .. }));
        assert!(matches!(
            v.outcome,
            SignatureOutcome::ThresholdNotMet { have: 0, .. }
        ));

        // The trusted key's signature over other bytes.
        let mut changed = Envelope::sign("t", b"p", &[&a]);
        changed.payload = b"q".to_vec();
        let v = changed.verify("t", &trusted);
        assert!(matches!(v.signatures[0].status, SigStatus::Invalid { .. }));

        // The trusted key's signature under another label (a stranger's id, or the id form of
        // another implementation): the key id is a hint, the signature counts.
        for label in [
            stranger.public().key_id().to_string(),
            "4b14284670182934c5043942231d5c6d2c429f376dbb3b03fb2fb89320f49aca".to_owned(),
            "carol".to_owned(),
        ] {
            let mut relabelled = Envelope::sign("t", b"p", &[&a]);
            relabelled.signatures[0].keyid = label.clone();
            let v = relabelled.verify("t", &trusted);
            assert_eq!(
                v.signatures[0].status,
                SigStatus::Verified {
                    key_id: a.public().key_id(),
                    name: "k0".to_owned()
                },
                "{label}"
            );
            assert!(v.is_verified(), "{label}");
        }

        // Enough good signatures beside a forgery: the threshold is met, yet not verified.
        let mut beside = Envelope::sign("t", b"p", &[&a]);
        beside.add_signature(&stranger);
        beside.signatures[1].keyid = a.public().key_id().to_string();
        let v = beside.verify("t", &trusted);
        assert_eq!(v.outcome, SignatureOutcome::Verified);
        assert!(v.has_forgery());
        assert!(!v.is_verified());

        let empty = Envelope {
            payload_type: "t".into(),
            payload: b"p".to_vec(),
            signatures: vec![],
        };
        assert_eq!(
            empty.verify("t", &trusted).outcome,
            SignatureOutcome::Missing
        );
    }

    #[test]
    fn malformed_envelopes_are_refused() {
        let limits = DsseLimits::default();
        let good = Envelope::sign("t", b"payload!", &[&key(1)]);
        let text = String::from_utf8(good.to_json_bytes()).unwrap();
        let cases: Vec<(String, &str)> = vec![
            (
                text.replace("\"payloadType\"", "\"payloadtype\""),
                "unknown member",
            ),
            (
                text.replacen("{", "{\"payload\": \"AA==\",", 1),
                "duplicate key",
            ),
            (
                text.replace("cGF5bG9hZCE=", "cGF5bG9hZCE"),
                "unpadded is fine",
            ),
            (
                text.replace("cGF5bG9hZCE=", "cGF5bG9hZCF="),
                "non-zero trailing bits",
            ),
            (text.replace("cGF5bG9hZCE=", "cGF5 bG9hZCE="), "white space"),
            (text.replace("\"t\"", "\"\""), "empty type"),
        ];
        for (bytes, why) in cases {
            let result = Envelope::parse(bytes.as_bytes(), &limits);
            if why == "unpadded is fine" {
                assert_eq!(result.unwrap(), good, "{why}");
            } else {
                assert!(result.is_err(), "{why} must be refused");
            }
        }
        // Mixed alphabets in one field.
        assert_eq!(decode_base64("-_+/"), None);
        assert_eq!(
            decode_base64("-_-_").unwrap(),
            decode_base64("+/+/").unwrap()
        );
        // Signature count limit.
        let mut many = good.clone();
        many.signatures = vec![good.signatures[0].clone(); 65];
        assert!(matches!(
            Envelope::parse(&many.to_json_bytes(), &limits),
            Err(DsseError::TooManySignatures {
                found: 65,
                limit: 64
            })
        ));
        // Short signature.
        let mut short = good.clone();
        short.signatures[0].sig.truncate(63);
        assert!(matches!(
            Envelope::parse(&short.to_json_bytes(), &limits),
            Err(DsseError::Field { .. })
        ));
    }

    #[test]
    fn verdict_checks_use_the_given_codes() {
        use crate::report::Status;
        let code = |code: &'static str| CheckCode { code, summary: "" };
        let codes = SignatureCodes {
            verified: code("v"),
            missing: code("m"),
            invalid: code("i"),
            untrusted: code("u"),
            duplicate: code("d"),
            threshold_met: code("tm"),
            threshold_not_met: code("tn"),
        };
        let a = key(1);
        let s = key(2);
        let env = Envelope::sign("t", b"p", &[&a, &s]);
        let checks = verdict_checks(
            &env.verify("t", &policy(&[&a], 1)),
            &codes,
            SignatureRequirement::Required,
            "it",
        );
        let got: Vec<(&str, Status)> = checks.iter().map(|c| (&*c.code, c.status)).collect();
        assert_eq!(
            got,
            vec![
                ("v", Status::Pass),
                ("u", Status::Warn),
                ("tm", Status::Pass)
            ]
        );
    }

    #[test]
    fn size_and_value_limits_are_the_callers() {
        let good = Envelope::sign("t", b"payload!", &[&key(1)]);
        let bytes = good.to_json_bytes();
        // The byte limit is the envelope limit, not the JSON reader's default.
        let small = DsseLimits {
            max_envelope_bytes: bytes.len() as u64 - 1,
            ..DsseLimits::default()
        };
        match Envelope::parse(&bytes, &small) {
            Err(DsseError::Json(message)) => assert!(
                message.contains(&format!(
                    "larger than the limit of {} bytes",
                    bytes.len() - 1
                )),
                "{message}"
            ),
            other => panic!("expected the size limit, got {other:?}"),
        }
        let exact = DsseLimits {
            max_envelope_bytes: bytes.len() as u64,
            ..DsseLimits::default()
        };
        assert_eq!(Envelope::parse(&bytes, &exact).unwrap(), good);
        // The value count is bounded by the signature limit while reading: an envelope with
        // far more signatures than allowed is refused before its signatures are built.
        let mut many = good.clone();
        many.signatures = vec![good.signatures[0].clone(); 8];
        let one = DsseLimits {
            max_signatures: 1,
            ..DsseLimits::default()
        };
        assert_eq!(
            Envelope::parse(&many.to_json_bytes(), &one),
            Err(DsseError::TooManyValues { limit: 1 })
        );
    }

    #[test]
    fn limits_on_counts_and_lengths_are_inclusive() {
        let limits = DsseLimits::default();
        let good = Envelope::sign("t", b"payload!", &[&key(1)]);
        // Exactly the most signatures allowed is accepted; one more is not.
        let mut full = good.clone();
        full.signatures = vec![good.signatures[0].clone(); DEFAULT_MAX_SIGNATURES];
        assert_eq!(
            Envelope::parse(&full.to_json_bytes(), &limits).unwrap(),
            full
        );
        // payloadType: 1 to 256 bytes.
        for (len, ok) in [
            (1, true),
            (MAX_PAYLOAD_TYPE_BYTES, true),
            (MAX_PAYLOAD_TYPE_BYTES + 1, false),
        ] {
            let mut env = good.clone();
            env.payload_type = "t".repeat(len);
            let result = Envelope::parse(&env.to_json_bytes(), &limits);
            if ok {
                assert_eq!(result.unwrap(), env, "payloadType of {len} bytes");
            } else {
                assert!(
                    matches!(&result, Err(DsseError::Field { field, .. }) if field == "payloadType"),
                    "payloadType of {len} bytes: {result:?}"
                );
            }
        }
        // keyid: at most 256 bytes.
        for (len, ok) in [
            (0, true),
            (MAX_KEYID_BYTES, true),
            (MAX_KEYID_BYTES + 1, false),
        ] {
            let mut env = good.clone();
            env.signatures[0].keyid = "k".repeat(len);
            let result = Envelope::parse(&env.to_json_bytes(), &limits);
            if ok {
                assert_eq!(result.unwrap(), env, "keyid of {len} bytes");
            } else {
                assert!(
                    matches!(&result, Err(DsseError::Field { field, .. }) if field == "signatures[0].keyid"),
                    "keyid of {len} bytes: {result:?}"
                );
            }
        }
    }

    #[test]
    fn signing_adds_beside_a_bogus_signature_that_borrows_the_key_id() {
        // An envelope read from disk may hold a signature labelled with a key's id that the
        // key never made (or the key's signature under another label). Signing with the key
        // must still add its real signature: only an identical (keyid, sig) pair is skipped.
        let a = key(1);
        let stranger = key(9);
        let a_id = a.public().key_id().to_string();
        let mut borrowed_label = Envelope::sign("t", b"p", &[&stranger]);
        borrowed_label.signatures[0].keyid = a_id.clone();
        borrowed_label.add_signature(&a);
        assert_eq!(borrowed_label.signatures.len(), 2);
        // The real signature counts, but the bogus one under a's id is still a forgery and
        // keeps the envelope from verifying.
        let verdict = borrowed_label.verify("t", &policy(&[&a], 1));
        assert!(matches!(verdict.outcome, SignatureOutcome::Verified));
        assert!(verdict.has_forgery());
        assert!(!verdict.is_verified());

        let mut relabelled = Envelope::sign("t", b"p", &[&a]);
        relabelled.signatures[0].keyid = stranger.public().key_id().to_string();
        relabelled.add_signature(&a);
        assert_eq!(relabelled.signatures.len(), 2);
        assert_eq!(relabelled.signatures[1].keyid, a_id);
        let verdict = relabelled.verify("t", &policy(&[&a], 1));
        assert!(matches!(verdict.outcome, SignatureOutcome::Verified));
        assert_eq!(verdict.signatures[1].status, SigStatus::Duplicate);
        assert!(
            verdict.is_verified(),
            "a's signature under another label still counts once"
        );
    }
}
