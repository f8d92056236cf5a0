//! Rollback rehearsal and permits.
//!
//! Before a rollback, an operator proves from signed evidence that the rollback target is a
//! healthy, older deployment of the same service:
//!
//! - [`rehearse`] verifies the current and the previous `deployment` captures under pinned
//!   keys, checks them against each other and re-evaluates the profile's rollback
//!   preconditions on the previous capture's stored packets, then seals the full report and
//!   an operator plan into a signed `rollback-rehearsal` bundle whose parents are both capture
//!   ids. A failed rehearsal is sealed too, its verdict inside the signed manifest.
//! - [`verify_rehearsal`] checks such a bundle (pinned keys, the plan's digest, the verdict).
//! - [`issue_permit`] turns a passed rehearsal into a signed, expiring, scoped
//!   `rollback-permit` (from the current capture id to the previous one), and [`check_permit`]
//!   is what an automated rollback runs before acting.
//!
//! The rehearsal, made and verified, lives in `rehearse.rs`; permits in `permit.rs`.

mod permit;
mod rehearse;

pub use permit::{Permit, PermitError, check_permit, issue_permit};
pub use rehearse::{Rehearsal, RehearseOptions, VerifiedRehearsal, rehearse, verify_rehearsal};

use crate::report::check_codes;

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        ROLLBACK_CAPTURE_VERIFIED = "rollback-capture-verified":
            "A deployment capture (current or previous) verified as a bundle signed by trusted keys.";
        ROLLBACK_CAPTURE_UNVERIFIED = "rollback-capture-unverified":
            "A deployment capture does not verify under the trusted keys (tampered, unsigned, signed by a stranger, or not a bundle).";
        ROLLBACK_CAPTURE_KIND = "rollback-capture-kind":
            "A bundle given as a capture is not of kind deployment, or lacks its capture files.";
        ROLLBACK_SAME_TARGET = "rollback-same-target":
            "Both captures are of the same target service.";
        ROLLBACK_DISTINCT_BUNDLES = "rollback-distinct-bundles":
            "The current and previous captures are different bundles (a rollback from a pack to itself proves nothing).";
        ROLLBACK_PREVIOUS_OLDER = "rollback-previous-older":
            "The previous capture was created strictly before the current one (signed creation times).";
        ROLLBACK_PREVIOUS_CAPTURE_PASSED = "rollback-previous-capture-passed":
            "Every assertion of the previous capture passed: the rollback target was healthy when captured.";
        ROLLBACK_PRECONDITION = "rollback-precondition":
            "A profile rollback precondition, re-evaluated on the previous capture's stored packets.";
        ROLLBACK_REHEARSAL_VERIFIED = "rollback-rehearsal-verified":
            "A rollback-rehearsal bundle verified under trusted keys, its plan digest and report consistent with its signed manifest.";
        ROLLBACK_REHEARSAL_INVALID = "rollback-rehearsal-invalid":
            "A rollback-rehearsal bundle does not verify, is not of that kind, or its plan or report disagree with its signed manifest.";
        ROLLBACK_REHEARSAL_FAILED = "rollback-rehearsal-failed":
            "The rehearsal's signed verdict is fail: the rollback must not proceed.";
        ROLLBACK_PERMIT_VERIFIED = "rollback-permit-verified":
            "A rollback permit verified as a bundle signed by trusted keys.";
        ROLLBACK_PERMIT_INVALID = "rollback-permit-invalid":
            "A permit does not verify under the trusted keys, is not a rollback-permit, or its content disagrees with its signed manifest.";
        ROLLBACK_PERMIT_SCOPE = "rollback-permit-scope":
            "The permit allows exactly this rollback: of the given target, from the given current capture id to the given previous one.";
        ROLLBACK_PERMIT_EXPIRED = "rollback-permit-expired":
            "The permit's expiry time has passed (or its issue time is in the future).";
        ROLLBACK_PERMIT_LIFETIME = "rollback-permit-lifetime":
            "The permit was issued for between 1 second and 7 days (expires_at minus issued_at).";
    }
}

/// The kind of a rehearsal bundle.
pub const REHEARSAL_KIND: &str = "rollback-rehearsal";
/// The kind of a permit bundle.
pub const PERMIT_KIND: &str = "rollback-permit";
/// The rehearsal report in its bundle.
pub const REHEARSAL_REPORT_FILE: &str = "rehearsal-report.json";
/// The plan in a rehearsal bundle.
pub const PLAN_FILE: &str = "plan.json";
/// The permit in its bundle.
pub const PERMIT_FILE: &str = "permit.json";
/// The schema of a plan.
pub const PLAN_SCHEMA: &str = "evidence.rollback-plan/v1";
/// The schema of a permit.
pub const PERMIT_SCHEMA: &str = "evidence.rollback-permit/v1";

/// Longest a permit may live: 7 days.
pub const MAX_PERMIT_SECONDS: i64 = 7 * 24 * 3600;

const SECTION: &str = "rollback";

/// Most bytes a rehearsal keeps of one capture (its report, profile and packets, as
/// verified): 32 MiB, so the two captures of a rehearsal hold at most 64 MiB together.
pub const MAX_CAPTURE_READ_BYTES: u64 = 32 << 20;

#[cfg(test)]
mod tests;
