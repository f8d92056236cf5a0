//! The bound claim and heartbeat pair of a deployment capture (`identity create
//! --from-capture`). The engine makes a fresh claim per request, so a claim and a heartbeat
//! fetched separately never bind; it serves a bound pair inside one packet, and the capture's
//! own profile says where (for zero-paper: `/deployment_claim` and `/deployment_heartbeat` of
//! `/network/profile`). The capture is verified under pinned keys first, and the pair is read
//! from the verified bytes only.

use std::path::Path;

use serde_json::Value;

use crate::bundle::{self, BundleId, BundleLimits};
use crate::capture::{self, profile::Profile};
use crate::keys::TrustPolicy;
use crate::report::Report;

/// Most bytes of a capture kept while verifying it (its profile and packets).
const MAX_READ_BYTES: u64 = 32 << 20;

/// A pair taken from a verified capture.
#[derive(Debug)]
pub struct CapturedPair {
    /// The claim, as compact JSON of the value the capture holds.
    pub claim: Vec<u8>,
    /// The heartbeat, likewise.
    pub heartbeat: Vec<u8>,
    /// The capture it came from.
    pub capture: BundleId,
}

/// Why no pair was taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FromCaptureError {
    /// The capture does not verify under the trusted keys (the report says why).
    #[error("the capture does not verify under the trusted keys")]
    Unverified(Box<Report>),
    /// The capture verified but holds no pair where its profile points.
    #[error("{0}")]
    NoPair(String),
}

/// Verifies the capture at `path` under `trust` and returns the pair its profile points at.
pub fn pair_from_capture(
    path: &Path,
    trust: &TrustPolicy,
) -> Result<CapturedPair, FromCaptureError> {
    let wanted = [
        format!("payload/{}", capture::PROFILE_FILE),
        format!("payload/{}/", capture::PACKETS_DIR),
    ];
    let limits = BundleLimits {
        max_capture_bytes: MAX_READ_BYTES,
        max_capture_total_bytes: MAX_READ_BYTES,
        ..BundleLimits::default()
    };
    let verification = bundle::verify_capturing(path, trust, &wanted, limits);
    let Some(verified) = verification.bundle else {
        return Err(FromCaptureError::Unverified(Box::new(verification.report)));
    };
    let no_pair = |why: String| FromCaptureError::NoPair(why);
    if verified.manifest.kind != capture::KIND {
        return Err(no_pair(format!(
            "the bundle is of kind {:?}, not a deployment capture",
            crate::text::printable(&verified.manifest.kind)
        )));
    }
    let file = |name: &str| verified.captured.get(&format!("payload/{name}"));
    let profile = file(capture::PROFILE_FILE)
        .map(|b| Profile::parse(b))
        .and_then(Result::ok)
        .ok_or_else(|| no_pair("the capture holds no valid profile".to_owned()))?;
    let pair = profile.identity.as_ref().ok_or_else(|| {
        no_pair(format!(
            "profile {} names no claim and heartbeat pair (its identity member)",
            profile.name
        ))
    })?;
    let packet_name = format!("{}/{}.json", capture::PACKETS_DIR, pair.endpoint);
    let packet: Value = file(&packet_name)
        .and_then(|b| crate::json::parse_strict(b, &crate::json::JsonLimits::default()).ok())
        .ok_or_else(|| {
            no_pair(format!(
                "the capture holds no readable packet {packet_name}"
            ))
        })?;
    let take = |pointer: &str, what: &str| {
        capture::json_payload(&packet)
            .and_then(|body| body.pointer(pointer))
            .filter(|v| v.is_object())
            .map(|v| serde_json::to_vec(v).unwrap_or_default())
            .ok_or_else(|| no_pair(format!("no {what} object at {pointer} in {packet_name}")))
    };
    Ok(CapturedPair {
        claim: take(&pair.claim, "claim")?,
        heartbeat: take(&pair.heartbeat, "heartbeat")?,
        capture: verified.id,
    })
}
