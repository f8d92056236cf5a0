//! Permits: [`issue_permit`] turns a passed rehearsal into a signed, expiring, scoped
//! `rollback-permit`, and [`check_permit`] is what an automated rollback runs before acting.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::codes::*;
use super::{
    MAX_PERMIT_SECONDS, PERMIT_FILE, PERMIT_KIND, PERMIT_SCHEMA, SECTION, verify_rehearsal,
};
use crate::bundle::build::{self, BuildError, BuildOptions, Built, Input};
use crate::bundle::{self, BundleId, BundleLimits, ToolInfo};
use crate::digest::Sha256Digest;
use crate::keys::{PrivateKey, TrustPolicy};
use crate::report::{Check, Report};
use crate::text::printable;
use crate::timestamp::Timestamp;

/// The content of a permit (`evidence.rollback-permit/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permit {
    /// Always [`PERMIT_SCHEMA`].
    pub schema: String,
    /// The capture id rolled back from.
    pub from: String,
    /// The capture id rolled back to.
    pub to: String,
    /// The target service.
    pub target: String,
    /// The rehearsal that justified it.
    pub rehearsal: String,
    /// When it was issued.
    pub issued_at: String,
    /// When it stops being valid.
    pub expires_at: String,
    /// The key ids that signed it.
    pub signers: Vec<String>,
}

/// Why a permit could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PermitError {
    /// The rehearsal does not verify or did not pass; the report says why.
    #[error("the rehearsal does not allow a rollback")]
    Refused(Box<Report>),
    /// The lifetime is zero, negative or longer than [`MAX_PERMIT_SECONDS`].
    #[error("a permit lives between 1 second and 7 days")]
    Lifetime,
    /// Writing the permit failed.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Issues a permit for a passed rehearsal, valid `lifetime_seconds` from `now`.
pub fn issue_permit(
    rehearsal: &Path,
    trust: &TrustPolicy,
    lifetime_seconds: i64,
    now: Timestamp,
    key: &PrivateKey,
    out: &Path,
    tool: ToolInfo,
) -> Result<(Built, Permit), PermitError> {
    if !(1..=MAX_PERMIT_SECONDS).contains(&lifetime_seconds) {
        return Err(PermitError::Lifetime);
    }
    let (report, verified) = verify_rehearsal(rehearsal, trust);
    let Some(r) = verified.filter(|r| r.passed) else {
        return Err(PermitError::Refused(Box::new(report)));
    };
    let permit = Permit {
        schema: PERMIT_SCHEMA.to_owned(),
        from: r.current.clone(),
        to: r.previous.clone(),
        target: r.target.clone(),
        rehearsal: r.id.to_string(),
        issued_at: now.to_string(),
        expires_at: now.plus(lifetime_seconds).to_string(),
        signers: vec![key.public().key_id().to_string()],
    };
    let mut opts = BuildOptions::new(PERMIT_KIND);
    opts.created_at = Some(now);
    opts.parents = vec![r.id];
    opts.sign = vec![key];
    opts.tool = tool;
    opts.subject = BTreeMap::from([
        ("from".to_owned(), permit.from.clone()),
        ("to".to_owned(), permit.to.clone()),
        ("target".to_owned(), permit.target.clone()),
        ("rehearsal".to_owned(), permit.rehearsal.clone()),
        ("expires_at".to_owned(), permit.expires_at.clone()),
    ]);
    let bytes =
        crate::canonical::to_canonical(&permit).map_err(|e| BuildError::Sign(e.to_string()))?;
    let inputs = [Input::Bytes {
        at: PERMIT_FILE.to_owned(),
        bytes,
    }];
    let built = if out.extension().is_some_and(|e| e == "gz") {
        build::create_archive(out, &inputs, &opts)?
    } else {
        build::create(out, &inputs, &opts)?
    };
    Ok((built, permit))
}

/// Checks a permit before an automated rollback of `target` from capture `from` to capture
/// `to` at time `now`: signed by trusted keys, of kind rollback-permit with exactly one parent
/// (its rehearsal), its content equal to its signed subject, scoped to exactly this target and
/// pair of capture ids, issued for at most [`MAX_PERMIT_SECONDS`], and not expired.
pub fn check_permit(
    path: &Path,
    from: &str,
    to: &str,
    target: &str,
    trust: &TrustPolicy,
    now: Timestamp,
) -> Report {
    let mut report = Report::new(json!({
        "kind": "rollback-permit",
        "permit": path.display().to_string(),
        "from": from,
        "to": to,
        "target": target,
    }));
    let Some((id, permit)) = open_permit(path, trust, &mut report) else {
        return report;
    };
    let Some((issued, expires)) = permit_times(&permit, &mut report) else {
        return report;
    };
    report.push(
        Check::pass(
            ROLLBACK_PERMIT_VERIFIED,
            format!("permit {id} signed by trusted keys"),
        )
        .in_section(SECTION),
    );
    report.push(permit_scope(&permit, from, to, target).in_section(SECTION));
    report.push(permit_lifetime(issued, expires).in_section(SECTION));
    report.push(permit_expiry(&permit, issued, expires, now).in_section(SECTION));
    report
}

/// Verifies the permit bundle (its checks go to section `bundle`) and reads `permit.json`,
/// which must agree with the signed manifest: its id and the permit, or `None` once refused.
fn open_permit(
    path: &Path,
    trust: &TrustPolicy,
    report: &mut Report,
) -> Option<(BundleId, Permit)> {
    let capture = [format!("payload/{PERMIT_FILE}")];
    let verification = bundle::verify_capturing(path, trust, &capture, BundleLimits::default());
    report.absorb(verification.report, "bundle");
    let mut invalid = |detail: &str| {
        report.push(Check::fail(ROLLBACK_PERMIT_INVALID, detail.to_owned()).in_section(SECTION));
        None
    };
    let Some(bundle) = verification.bundle else {
        return invalid("the permit does not verify under the trusted keys");
    };
    let m = &bundle.manifest;
    if m.kind != PERMIT_KIND {
        return invalid("the bundle is not a rollback-permit");
    }
    let permit: Option<Permit> = bundle
        .captured
        .get(&format!("payload/{PERMIT_FILE}"))
        .and_then(|b| crate::json::from_slice_strict(b, &crate::json::JsonLimits::default()).ok());
    // Every member the check relies on is the signed subject's, and the permit has exactly one
    // parent, its rehearsal (FORMAT 12.3).
    let Some(permit) = permit.filter(|p| {
        p.schema == PERMIT_SCHEMA
            && m.subject.get("from") == Some(&p.from)
            && m.subject.get("to") == Some(&p.to)
            && m.subject.get("target") == Some(&p.target)
            && m.subject.get("rehearsal") == Some(&p.rehearsal)
            && m.subject.get("expires_at") == Some(&p.expires_at)
            && m.parents.len() == 1
            && m.parents.first().map(String::as_str) == Some(p.rehearsal.as_str())
    }) else {
        return invalid(
            "permit.json is missing or disagrees with the signed manifest (subject, or its one parent)",
        );
    };
    Some((bundle.id, permit))
}

/// The permit's issue and expiry times; a time that cannot be read is named (a failed
/// `rollback-permit-invalid`), not mistaken for an expiry.
fn permit_times(permit: &Permit, report: &mut Report) -> Option<(Timestamp, Timestamp)> {
    let time = |field: &'static str, text: &str| {
        Timestamp::parse(text).map_err(|e| (field, format!("permit.json {field}: {e}")))
    };
    match (
        time("issued_at", &permit.issued_at),
        time("expires_at", &permit.expires_at),
    ) {
        (Ok(i), Ok(e)) => Some((i, e)),
        (Err((field, detail)), _) | (_, Err((field, detail))) => {
            report.push(
                Check::fail(ROLLBACK_PERMIT_INVALID, detail)
                    .in_section(SECTION)
                    .with("field", field),
            );
            None
        }
    }
}

/// The permit allows exactly this rollback: this target, from `from` to `to` (ids compared
/// in their normal form).
fn permit_scope(permit: &Permit, from: &str, to: &str, target: &str) -> Check {
    let normalize = |id: &str| {
        Sha256Digest::parse(id)
            .map(|d| d.to_string())
            .unwrap_or_else(|_| id.to_owned())
    };
    let same_target = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    let allows = format!(
        "allows {} -> {} of {}",
        permit.from,
        permit.to,
        printable(&permit.target)
    );
    if normalize(from) == permit.from
        && normalize(to) == permit.to
        && same_target(target, &permit.target)
    {
        Check::pass(ROLLBACK_PERMIT_SCOPE, allows)
    } else {
        Check::fail(
            ROLLBACK_PERMIT_SCOPE,
            format!("{allows}, not the rollback asked for"),
        )
    }
    .with("permit_from", permit.from.clone())
    .with("permit_to", permit.to.clone())
    .with("permit_target", permit.target.clone())
}

/// Checked again here, not only when issuing: a permit signed by a trusted key with another
/// tool, or by hand, is held to the same rule.
fn permit_lifetime(issued: Timestamp, expires: Timestamp) -> Check {
    let lifetime = expires.unix().saturating_sub(issued.unix());
    if (1..=MAX_PERMIT_SECONDS).contains(&lifetime) {
        Check::pass(
            ROLLBACK_PERMIT_LIFETIME,
            format!("issued for {lifetime} s (at most {MAX_PERMIT_SECONDS} s)"),
        )
    } else {
        Check::fail(
            ROLLBACK_PERMIT_LIFETIME,
            format!(
                "issued at {issued} to expire at {expires}: a permit lives between 1 second and 7 days"
            ),
        )
    }
    .with("lifetime_seconds", lifetime)
}

/// `now` lies between the issue time (inclusive) and the expiry (exclusive).
fn permit_expiry(permit: &Permit, issued: Timestamp, expires: Timestamp, now: Timestamp) -> Check {
    if issued <= now && now < expires {
        Check::pass(
            ROLLBACK_PERMIT_EXPIRED,
            format!("valid until {expires} (now {now})"),
        )
    } else if now < issued {
        Check::fail(
            ROLLBACK_PERMIT_EXPIRED,
            format!("issued at {issued}, after now ({now}): check the clocks"),
        )
    } else {
        Check::fail(
            ROLLBACK_PERMIT_EXPIRED,
            format!("expired at {expires} (now {now})"),
        )
    }
    .with("expires_at", permit.expires_at.clone())
}
