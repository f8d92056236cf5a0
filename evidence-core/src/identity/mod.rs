//! Deployment identity evidence: the engine's deployment claim and heartbeat packets, checked,
//! sealed into a signed `identity` bundle, and verified against pinned operator keys.
//!
//! - **raw**: the two packets' exact bytes, read under [`IdentityLimits`];
//! - **checked**: [`check_packets`] parses them strictly and checks schema strings, the
//!   engine's self-hashes (recomputed with [`crate::pyjson`], byte-compatible with Python's
//!   `json.dumps(..., sort_keys=True, separators=(",", ":"))`), the heartbeat's binding to the
//!   claim, deployment ids, time order (and freshness when asked), privacy flags and secrets;
//! - **verified**: [`verify`] checks the bundle against the caller's [`TrustPolicy`] (a
//!   signature is required; a key carried by the evidence never counts), re-runs every packet
//!   check on the verified bytes, and compares the stored report and the signed manifest subject
//!   with what it recomputed. Only then is a [`Verified<DeploymentIdentity>`] returned.
//!
//! The predecessor's scripts trusted whatever public key the evidence carried and kept report
//! fields outside the signature. Here the trust policy is a required argument, and every fact
//! of the identity report is in the manifest the signature covers (its `subject`), next to the
//! digests of the packets and of the stored report.

mod from_capture;
mod packet;
mod seal;
mod secrets;
mod verify;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Verified;
use crate::bundle::{BundleId, BundleLimits, Signer};
use crate::digest::Sha256Digest;
use crate::json::JsonLimits;
use crate::keys::TrustPolicy;
use crate::report::{Report, check_codes};
use crate::timestamp::Timestamp;

pub use from_capture::{CapturedPair, FromCaptureError, pair_from_capture};
pub use packet::{check_packets, freshness_check};
pub use seal::{CreateError, CreateOptions, Created, FailingPairs, create};
pub use verify::verify;

/// Schema string of a deployment claim packet.
pub const CLAIM_SCHEMA: &str = "zero.deployment.claim.v1";
/// Schema string of a heartbeat packet.
pub const HEARTBEAT_SCHEMA: &str = "zero.deployment.heartbeat.v1";
/// Members that may carry a packet's schema string (either, or both with the same value).
pub const SCHEMA_MEMBERS: &[&str] = &["schema", "schema_version"];
/// Claim members read as the claim's time, in order of preference (the first present is used).
pub const CLAIM_TIME_MEMBERS: &[&str] = &["claimed_at", "issued_at", "generated_at", "created_at"];
/// Heartbeat members read as the heartbeat's time, in order of preference.
pub const HEARTBEAT_TIME_MEMBERS: &[&str] = &[
    "observed_at",
    "emitted_at",
    "heartbeat_at",
    "generated_at",
    "timestamp",
    "created_at",
];
/// Heartbeat members read as its mode, in order of preference (`deployment.` = nested;
/// `runtime.mode` is where zero-engine 0.1.6 states it).
pub const MODE_MEMBERS: &[&str] = &[
    "mode",
    "trading_mode",
    "deployment.mode",
    "deployment.trading_mode",
    "runtime.mode",
];
/// Longest accepted deployment id, in bytes.
pub const MAX_DEPLOYMENT_ID_BYTES: usize = 256;
/// Longest mode reported as a fact, in bytes.
pub const MAX_MODE_BYTES: usize = 64;
/// How far in the future (seconds, against the verifier's clock) a heartbeat may claim to be
/// before the freshness check fails: clocks of two machines are never exactly equal.
pub const MAX_FUTURE_SKEW_SECONDS: i64 = 300;

/// The bundle kind of identity evidence.
pub const BUNDLE_KIND: &str = "identity";
/// Where the claim's exact bytes live in the bundle.
pub const CLAIM_PATH: &str = "payload/claim.json";
/// Where the heartbeat's exact bytes live in the bundle.
pub const HEARTBEAT_PATH: &str = "payload/heartbeat.json";
/// Where the report of the packet checks made at sealing time lives in the bundle.
pub const REPORT_PATH: &str = "payload/identity-report.json";

/// Report section names.
pub mod section {
    /// Bundle integrity, layout and signatures.
    pub const BUNDLE: &str = "bundle";
    /// Packet checks and their agreement with the signed manifest.
    pub const IDENTITY: &str = "identity";
}

/// Check codes of identity evidence.
pub mod codes {
    use super::check_codes;
    check_codes! {
        IDENTITY_PACKET_INVALID = "identity-packet-invalid":
            "A packet is not strict JSON, not an object, too large, or holds an integer Python would hash differently (beyond 64 bits, or -0).";
        IDENTITY_SCHEMA = "identity-schema":
            "The packet's schema (or schema_version) string is the expected zero.deployment.claim.v1 / zero.deployment.heartbeat.v1.";
        IDENTITY_CLAIM_HASH = "identity-claim-hash":
            "The claim's claim_hash equals the hash recomputed as the engine computes it.";
        IDENTITY_HEARTBEAT_HASH = "identity-heartbeat-hash":
            "The heartbeat's heartbeat_hash equals the hash recomputed as the engine computes it.";
        IDENTITY_CLAIM_BINDING = "identity-claim-binding":
            "The heartbeat's deployment_claim_hash names this claim's claim_hash.";
        IDENTITY_DEPLOYMENT_ID = "identity-deployment-id":
            "Both packets carry the same non-empty deployment.deployment_id.";
        IDENTITY_TIME_INVALID = "identity-time-invalid":
            "A packet has no recognised time member, or its value is not an RFC 3339 time.";
        IDENTITY_TIME_CLAIM = "identity-time-claim":
            "A packet's time, reported as the packet's own claim: it is not evidence of when anything happened.";
        IDENTITY_HEARTBEAT_ORDER = "identity-heartbeat-order":
            "The heartbeat is not older than the claim.";
        IDENTITY_HEARTBEAT_FRESH = "identity-heartbeat-fresh":
            "The heartbeat is not older than --max-age at verification time (skipped without --max-age).";
        IDENTITY_PRIVACY_FLAGS = "identity-privacy-flags":
            "Every privacy flag (contains_*) of a packet is false.";
        IDENTITY_SECRET_SCAN = "identity-secret-scan":
            "A packet holds no secret-looking value (secret-named members, PEM private keys).";
        IDENTITY_PACKET_SIGNATURE_IGNORED = "identity-packet-signature-ignored":
            "A packet carries its own signature member; it is carried, not used: trust comes only from the bundle signature by a pinned key.";
        IDENTITY_MODE = "identity-mode":
            "The heartbeat's mode (paper, live, ...), reported as a fact.";
        IDENTITY_BUNDLE_INVALID = "identity-bundle-invalid":
            "The bundle verified but is not identity evidence: another kind, or not exactly claim.json, heartbeat.json and identity-report.json.";
        IDENTITY_NOT_CHECKED = "identity-not-checked":
            "The packets were not checked because the bundle did not verify; nothing in it can be trusted.";
        IDENTITY_REPORT_CONSISTENT = "identity-report-consistent":
            "The stored identity-report.json agrees with the checks re-run on the packets.";
        IDENTITY_REPORT_MISMATCH = "identity-report-mismatch":
            "The stored identity-report.json disagrees with the checks re-run on the packets (verdict or facts), or is not a valid report.";
        IDENTITY_SUBJECT_CONSISTENT = "identity-subject-consistent":
            "The signed manifest subject records exactly the facts recomputed from the packets.";
        IDENTITY_SUBJECT_MISMATCH = "identity-subject-mismatch":
            "The signed manifest subject disagrees with the facts recomputed from the packets.";
    }
}

/// Hard limits on identity inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityLimits {
    /// Largest packet, in bytes.
    pub max_packet_bytes: u64,
    /// Largest stored `identity-report.json`, in bytes.
    pub max_report_bytes: u64,
    /// Depth and value-count limits for parsing packets.
    pub json: JsonLimits,
    /// Limits of the bundle holding the packets.
    pub bundle: BundleLimits,
}

/// Default largest packet: 1 MiB.
pub const DEFAULT_MAX_PACKET_BYTES: u64 = 1 << 20;
/// Default largest stored report: 4 MiB.
pub const DEFAULT_MAX_REPORT_BYTES: u64 = 4 << 20;

impl Default for IdentityLimits {
    fn default() -> Self {
        Self {
            max_packet_bytes: DEFAULT_MAX_PACKET_BYTES,
            max_report_bytes: DEFAULT_MAX_REPORT_BYTES,
            json: JsonLimits {
                max_bytes: DEFAULT_MAX_PACKET_BYTES,
                max_values: 100_000,
                ..JsonLimits::default()
            },
            bundle: BundleLimits {
                // Packets are held to their own, lower limit when they are checked.
                max_capture_bytes: DEFAULT_MAX_REPORT_BYTES,
                ..BundleLimits::default()
            },
        }
    }
}

/// Freshness policy: the heartbeat must be at most `max_age_seconds` old at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Oldest acceptable heartbeat age, in seconds.
    pub max_age_seconds: i64,
    /// The verifier's "now" (the clock, or a fixed time for reproducible runs).
    pub now: Timestamp,
}

/// How to check a pair of packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketOptions {
    /// Check the heartbeat's age; `None` reports the freshness check as skipped.
    pub freshness: Option<Freshness>,
    /// Limits.
    pub limits: IdentityLimits,
}

/// The facts a pair of packets establishes, as far as they could be read. Hashes are the ones
/// recomputed from the packet bytes (equal to the stated ones when the hash checks pass); times
/// are the packets' own claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityFacts {
    /// The claim's `deployment.deployment_id` (when it is an acceptable id).
    pub deployment_id: Option<String>,
    /// The claim's recomputed self-hash.
    pub claim_hash: Option<Sha256Digest>,
    /// The heartbeat's recomputed self-hash.
    pub heartbeat_hash: Option<Sha256Digest>,
    /// The claim's time (claimed).
    pub claim_time: Option<Timestamp>,
    /// The heartbeat's time (claimed).
    pub heartbeat_time: Option<Timestamp>,
    /// The heartbeat's mode (`paper`, `live`, ...).
    pub mode: Option<String>,
}

impl IdentityFacts {
    /// The facts as manifest subject entries (absent facts are left out).
    pub fn to_subject(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("deployment_id", self.deployment_id.clone());
        put("claim_hash", self.claim_hash.map(|d| d.to_string()));
        put("heartbeat_hash", self.heartbeat_hash.map(|d| d.to_string()));
        put("claim_time", self.claim_time.map(|t| t.to_string()));
        put("heartbeat_time", self.heartbeat_time.map(|t| t.to_string()));
        put("mode", self.mode.clone());
        m
    }

    /// The facts as a report subject: `{"kind": "identity", ...subject entries}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), BUNDLE_KIND.into());
        for (k, v) in self.to_subject() {
            m.insert(k, v.into());
        }
        Value::Object(m)
    }
}

/// The manifest subject key recording the verdict of the packet checks at sealing time.
pub const SUBJECT_OK_KEY: &str = "identity_ok";

/// The manifest subject of an identity bundle: the facts and the verdict.
pub fn manifest_subject(facts: &IdentityFacts, ok: bool) -> BTreeMap<String, String> {
    let mut m = facts.to_subject();
    m.insert(SUBJECT_OK_KEY.to_owned(), ok.to_string());
    m
}

/// The outcome of [`check_packets`].
#[derive(Debug, Clone)]
pub struct PacketCheck {
    /// Every check, in section `identity`; its subject is [`IdentityFacts::to_json`].
    pub report: Report,
    /// What could be read.
    pub facts: IdentityFacts,
}

/// A deployment identity whose bundle was signed by pinned keys and whose packets passed every
/// check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentIdentity {
    /// The bundle id.
    pub bundle_id: BundleId,
    /// The trusted keys that signed the bundle.
    pub signers: Vec<Signer>,
    /// The deployment id both packets carry.
    pub deployment_id: String,
    /// The claim's self-hash.
    pub claim_hash: Sha256Digest,
    /// The heartbeat's self-hash.
    pub heartbeat_hash: Sha256Digest,
    /// The claim's time (a claim).
    pub claim_time: Timestamp,
    /// The heartbeat's time (a claim).
    pub heartbeat_time: Timestamp,
    /// The heartbeat's mode, when it states one.
    pub mode: Option<String>,
    /// The claim's verified bytes.
    pub claim: Vec<u8>,
    /// The heartbeat's verified bytes.
    pub heartbeat: Vec<u8>,
}

impl DeploymentIdentity {
    /// True if the heartbeat says it runs in paper (simulated) mode.
    pub fn is_paper_only(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("paper"))
    }
}

/// How to verify an identity bundle.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Trusted keys and threshold: required, a signature by them is required.
    pub trust: &'a TrustPolicy,
    /// Check the heartbeat's age; `None` reports the freshness check as skipped.
    pub freshness: Option<Freshness>,
    /// Limits.
    pub limits: IdentityLimits,
}

impl<'a> VerifyOptions<'a> {
    /// Options with the given trust policy, no freshness check and default limits.
    pub fn new(trust: &'a TrustPolicy) -> Self {
        Self {
            trust,
            freshness: None,
            limits: IdentityLimits::default(),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug)]
pub struct IdentityVerification {
    /// Bundle checks (section `bundle`) and identity checks (section `identity`).
    pub report: Report,
    /// The verified identity, present only when the report is ok.
    pub identity: Option<Verified<DeploymentIdentity>>,
}

#[cfg(test)]
mod tests;
