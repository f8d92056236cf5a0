//! Verifying an identity bundle: the bundle under the caller's trust policy, then every packet
//! check again on the verified bytes, then the stored report and the signed subject against
//! what was recomputed.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::codes::*;
use super::{
    BUNDLE_KIND, CLAIM_PATH, DeploymentIdentity, HEARTBEAT_PATH, IdentityFacts,
    IdentityVerification, PacketCheck, PacketOptions, REPORT_PATH, VerifyOptions, check_packets,
    freshness_check, manifest_subject, section,
};
use crate::Verified;
use crate::bundle::{self, SignatureRequirement, VerifiedBundle};
use crate::hash::NoProgress;
use crate::report::{Check, Report};
use crate::text::printable;

/// The payload files an identity bundle holds, exactly.
const PAYLOAD: [&str; 3] = [CLAIM_PATH, HEARTBEAT_PATH, REPORT_PATH];

/// Verifies an identity bundle (a folder or a `.tar.gz`).
///
/// Never fails as a function: every problem is a failing check. The identity is returned only
/// when every check passed.
pub fn verify(path: &Path, opts: &VerifyOptions<'_>) -> IdentityVerification {
    let (mut report, bundle) = verify_bundle(path, opts);
    let Some(bundle) = bundle else {
        report.push(
            Check::skip(
                IDENTITY_NOT_CHECKED,
                "the packets were not checked: the bundle did not verify, so nothing in it can be trusted",
            )
            .in_section(section::IDENTITY),
        );
        return IdentityVerification {
            report,
            identity: None,
        };
    };
    let Some((claim, heartbeat, stored)) = shape_check(&bundle, &mut report) else {
        return IdentityVerification {
            report,
            identity: None,
        };
    };
    let facts = recheck(&bundle, claim, heartbeat, stored, opts, &mut report);
    if let Value::Object(m) = &mut report.subject {
        // The archive reader does not record the id; the verified bundle knows it.
        m.insert("id".into(), bundle.id.to_string().into());
        for (k, v) in facts.to_subject() {
            m.insert(k, v.into());
        }
    }
    let identity = if report.ok() {
        identity_of(&bundle, &facts, claim, heartbeat).map(Verified::new)
    } else {
        None
    };
    IdentityVerification { report, identity }
}

/// The bundle verified under the caller's trust, its checks in section `bundle` of a report
/// of kind `identity`; the bundle when it verified.
fn verify_bundle(
    path: &Path,
    opts: &VerifyOptions<'_>,
) -> (Report, Option<Verified<VerifiedBundle>>) {
    // DESIGN 4 rule 5: trust comes from the caller, and a signature is required.
    let bundle_opts = bundle::VerifyOptions {
        trust: Some(opts.trust),
        signatures: SignatureRequirement::Required,
        limits: opts.limits.bundle,
        capture: &PAYLOAD,
        progress: &NoProgress,
    };
    let verification = bundle::verify_path(path, &bundle_opts);
    let mut subject = verification.report.subject.clone();
    if let Value::Object(m) = &mut subject {
        m.insert("kind".into(), BUNDLE_KIND.into());
    }
    let mut report = Report::new(subject);
    for mut check in verification.report.checks {
        check.section = Some(Cow::Borrowed(section::BUNDLE));
        report.push(check);
    }
    (report, verification.bundle)
}

/// Every packet check again on the verified bytes (claim, heartbeat, stored report), then
/// freshness, the stored report and the signed subject against what was recomputed.
fn recheck(
    bundle: &VerifiedBundle,
    claim: &[u8],
    heartbeat: &[u8],
    stored: &[u8],
    opts: &VerifyOptions<'_>,
    report: &mut Report,
) -> IdentityFacts {
    // DESIGN 4 rule 3: the checks run on the verified bytes, never on a re-read file, and never
    // trust the stored report.
    let checked = check_packets(
        claim,
        heartbeat,
        &PacketOptions {
            freshness: None,
            limits: opts.limits,
        },
    );
    let ok_at_sealing = checked.report.ok();
    let PacketCheck {
        report: packet_report,
        facts,
    } = checked;
    report.checks.extend(packet_report.checks);
    report.push(freshness_check(
        facts.heartbeat_time,
        opts.freshness.as_ref(),
    ));
    report.push(stored_report_check(stored, &facts, ok_at_sealing, opts));
    report.push(subject_check(
        &bundle.manifest.subject,
        &facts,
        ok_at_sealing,
    ));
    facts
}

/// The bundle must be of kind `identity` and hold exactly the three payload files.
fn shape_check<'b>(
    bundle: &'b VerifiedBundle,
    report: &mut Report,
) -> Option<(&'b [u8], &'b [u8], &'b [u8])> {
    let fail =
        |detail: String| Check::fail(IDENTITY_BUNDLE_INVALID, detail).in_section(section::IDENTITY);
    if bundle.manifest.kind != BUNDLE_KIND {
        report.push(fail(format!(
            "the bundle is of kind {:?}, not {BUNDLE_KIND:?}: it is not identity evidence",
            printable(&bundle.manifest.kind)
        )));
        return None;
    }
    let listed: BTreeSet<&str> = bundle
        .manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    let wanted: BTreeSet<&str> = PAYLOAD.into_iter().collect();
    if listed != wanted {
        let missing: Vec<&str> = wanted.difference(&listed).copied().collect();
        let extra: Vec<String> = listed
            .difference(&wanted)
            .map(|p| printable(p).into_owned())
            .collect();
        report.push(
            fail(format!(
                "an identity bundle holds exactly {}; missing: [{}], extra: [{}]",
                PAYLOAD.join(", "),
                missing.join(", "),
                extra.join(", ")
            ))
            .with("missing", missing)
            .with("extra", extra),
        );
        return None;
    }
    let get = |p: &str| bundle.captured.get(p).map(Vec::as_slice);
    match (get(CLAIM_PATH), get(HEARTBEAT_PATH), get(REPORT_PATH)) {
        (Some(c), Some(h), Some(r)) => Some((c, h, r)),
        _ => {
            report.push(fail(
                "a payload file verified but its bytes were not kept (larger than the packet limit?)"
                    .to_owned(),
            ));
            None
        }
    }
}

/// The stored report must be a valid report whose verdict and facts equal the recomputed ones.
fn stored_report_check(
    stored: &[u8],
    facts: &IdentityFacts,
    ok: bool,
    opts: &VerifyOptions<'_>,
) -> Check {
    let fail = |detail: String| {
        Check::fail(IDENTITY_REPORT_MISMATCH, detail)
            .with_path(REPORT_PATH)
            .in_section(section::IDENTITY)
    };
    let limits = crate::json::JsonLimits {
        max_bytes: opts.limits.max_report_bytes,
        ..crate::json::JsonLimits::default()
    };
    let parsed = crate::json::parse_strict(stored, &limits)
        .map_err(|e| e.to_string())
        .and_then(|v| Report::from_json(v).map_err(|e| e.to_string()));
    let stored = match parsed {
        Ok(r) => r,
        Err(e) => {
            return fail(format!(
                "the stored report is not a valid evidence.report/v1: {e}"
            ));
        }
    };
    let mut problems = Vec::new();
    if stored.ok() != ok {
        problems.push(format!(
            "it says ok={} but the packets {} the checks now",
            stored.ok(),
            if ok { "pass" } else { "fail" }
        ));
    }
    let recomputed = facts.to_json();
    if stored.subject != recomputed {
        problems.push("its facts differ from the packets'".to_owned());
    }
    if problems.is_empty() {
        return Check::pass(
            IDENTITY_REPORT_CONSISTENT,
            format!("the stored report (ok={ok}) agrees with the checks re-run on the packets"),
        )
        .with_path(REPORT_PATH)
        .in_section(section::IDENTITY);
    }
    fail(format!(
        "the stored report disagrees: {}",
        problems.join("; ")
    ))
    .with("expected", recomputed)
    .with("actual", stored.subject)
}

/// The signed manifest subject must record exactly the recomputed facts and verdict.
fn subject_check(
    signed: &std::collections::BTreeMap<String, String>,
    facts: &IdentityFacts,
    ok: bool,
) -> Check {
    let recomputed = manifest_subject(facts, ok);
    if *signed == recomputed {
        return Check::pass(
            IDENTITY_SUBJECT_CONSISTENT,
            format!(
                "the signed manifest subject records exactly the recomputed facts ({} entries)",
                recomputed.len()
            ),
        )
        .with_path(bundle::MANIFEST_FILE)
        .in_section(section::IDENTITY);
    }
    let keys: BTreeSet<&String> = signed.keys().chain(recomputed.keys()).collect();
    let differing: Vec<String> = keys
        .into_iter()
        .filter(|k| signed.get(*k) != recomputed.get(*k))
        .map(|k| printable(k).into_owned())
        .collect();
    Check::fail(
        IDENTITY_SUBJECT_MISMATCH,
        format!(
            "the signed manifest subject disagrees with the packets on: {}",
            differing.join(", ")
        ),
    )
    .with_path(bundle::MANIFEST_FILE)
    .with("keys", differing)
    .with("expected", serde_json::json!(recomputed))
    .with("actual", serde_json::json!(signed))
    .in_section(section::IDENTITY)
}

fn identity_of(
    bundle: &VerifiedBundle,
    facts: &IdentityFacts,
    claim: &[u8],
    heartbeat: &[u8],
) -> Option<DeploymentIdentity> {
    Some(DeploymentIdentity {
        bundle_id: bundle.id,
        signers: bundle.signers.clone(),
        deployment_id: facts.deployment_id.clone()?,
        claim_hash: facts.claim_hash?,
        heartbeat_hash: facts.heartbeat_hash?,
        claim_time: facts.claim_time?,
        heartbeat_time: facts.heartbeat_time?,
        mode: facts.mode.clone(),
        claim: claim.to_vec(),
        heartbeat: heartbeat.to_vec(),
    })
}
