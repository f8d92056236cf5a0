//! Rehearsing a rollback ([`rehearse`]): both captures verified under pinned keys and
//! compared, the previous one's health checked again on its stored packets, the report and an
//! operator plan sealed; and verifying the rehearsal bundle that results
//! ([`verify_rehearsal`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::codes::*;
use super::{
    MAX_CAPTURE_READ_BYTES, PLAN_FILE, PLAN_SCHEMA, REHEARSAL_KIND, REHEARSAL_REPORT_FILE, SECTION,
};
use crate::Verified;
use crate::bundle::build::{self, BuildError, BuildOptions, Built, Input};
use crate::bundle::{self, BundleId, BundleLimits, ToolInfo, VerifiedBundle};
use crate::capture::{self, profile::Profile};
use crate::digest::Sha256Digest;
use crate::keys::{PrivateKey, TrustPolicy};
use crate::report::{Check, Report};
use crate::text::printable;
use crate::timestamp::Timestamp;

/// How to rehearse.
#[derive(Debug)]
pub struct RehearseOptions<'a> {
    /// The current deployment's capture (folder or `.tar.gz`).
    pub current: &'a Path,
    /// The previous deployment's capture: the rollback target.
    pub previous: &'a Path,
    /// Keys trusted to have made both captures.
    pub trust: &'a TrustPolicy,
    /// Preconditions to apply instead of those in the previous capture's own profile.
    pub profile: Option<&'a Profile>,
    /// Keys signing the rehearsal.
    pub sign: Vec<&'a PrivateKey>,
    /// The creation time to record (default: `SOURCE_DATE_EPOCH`, else now).
    pub created_at: Option<Timestamp>,
    /// The tool recorded.
    pub tool: ToolInfo,
}

/// The result of a rehearsal: the bundle written and the report inside it.
#[derive(Debug)]
pub struct Rehearsal {
    /// The rehearsal bundle.
    pub built: Built,
    /// The report (its `ok` is the verdict).
    pub report: Report,
}

/// A deployment capture verified under trusted keys, with the files rehearsal reads.
struct Capture {
    id: BundleId,
    bundle: Verified<VerifiedBundle>,
}

impl Capture {
    fn subject(&self, key: &str) -> Option<&str> {
        self.bundle.manifest.subject.get(key).map(String::as_str)
    }

    fn file(&self, name: &str) -> Option<&[u8]> {
        self.bundle
            .captured
            .get(&format!("payload/{name}"))
            .map(Vec::as_slice)
    }
}

/// Verifies one capture; pushes its checks; returns it when it verified.
fn verify_capture(
    role: &str,
    path: &Path,
    trust: &TrustPolicy,
    report: &mut Report,
) -> Option<Capture> {
    let verification = verify_capture_bundle(path, trust);
    let at = |c: Check| {
        c.with_path(path.display().to_string())
            .in_section(SECTION)
            .with("role", role.to_owned())
    };
    let Some(bundle) = verification.bundle else {
        report.push(at(unverified(role, &verification.report)));
        return None;
    };
    let id = bundle.id;
    if bundle.manifest.kind != capture::KIND {
        report.push(at(Check::fail(
            ROLLBACK_CAPTURE_KIND,
            format!(
                "the {role} bundle is of kind {:?}, not {:?}",
                printable(&bundle.manifest.kind),
                capture::KIND
            ),
        )));
        return None;
    }
    report.push(at(Check::pass(
        ROLLBACK_CAPTURE_VERIFIED,
        format!(
            "the {role} capture {id} verified, signed by {}",
            bundle
                .signers
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .with("id", id.to_string())));
    Some(Capture { id, bundle })
}

/// Verifies a capture bundle under `trust`, keeping the files a rehearsal reads.
fn verify_capture_bundle(path: &Path, trust: &TrustPolicy) -> bundle::BundleVerification {
    // The report, the profile and every packet are kept as verified (the preconditions to
    // evaluate are known only once the profile is read): the packets are asked for by their
    // folder, so nothing is read from the bundle before it is verified, and a budget bounds
    // what is kept, whatever the bundle holds.
    let wanted = [
        format!("payload/{}", capture::REPORT_FILE),
        format!("payload/{}", capture::PROFILE_FILE),
        format!("payload/{}/", capture::PACKETS_DIR),
    ];
    let limits = BundleLimits {
        max_capture_bytes: MAX_CAPTURE_READ_BYTES,
        max_capture_total_bytes: MAX_CAPTURE_READ_BYTES,
        ..BundleLimits::default()
    };
    bundle::verify_capturing(path, trust, &wanted, limits)
}

/// The failed `rollback-capture-unverified` check, naming the bundle checks that failed.
fn unverified(role: &str, verification: &Report) -> Check {
    let failing: Vec<String> = verification
        .failures()
        .map(|c| c.code.to_string())
        .collect();
    let mut codes: Vec<&str> = failing.iter().map(String::as_str).collect();
    codes.sort_unstable();
    codes.dedup();
    Check::fail(
        ROLLBACK_CAPTURE_UNVERIFIED,
        format!(
            "the {role} capture does not verify under the trusted keys (failed: {})",
            codes.join(", ")
        ),
    )
    .with("failed", failing)
}

/// Rehearses a rollback from `opts.current` to `opts.previous` and seals the result at `out`
/// (the bundle is written whatever the verdict; its subject and report carry the verdict).
pub fn rehearse(out: &Path, opts: &RehearseOptions<'_>) -> Result<Rehearsal, BuildError> {
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(BuildError::Exists(out.to_owned()));
    }
    let mut report = Report::new(json!({
        "kind": "rollback-rehearsal",
        "current": opts.current.display().to_string(),
        "previous": opts.previous.display().to_string(),
    }));
    let current = verify_capture("current", opts.current, opts.trust, &mut report);
    let previous = verify_capture("previous", opts.previous, opts.trust, &mut report);
    if let (Some(cur), Some(prev)) = (&current, &previous) {
        for check in [
            same_target(cur, prev),
            distinct_bundles(cur, prev),
            previous_older(cur, prev),
        ] {
            report.push(check.in_section(SECTION));
        }
    }
    if let Some(prev) = &previous {
        previous_health(prev, opts.profile, &mut report);
    }
    seal_rehearsal(out, opts, report, current.as_ref(), previous.as_ref())
}

/// Both captures must describe the same service: a rollback moves one target back.
fn same_target(cur: &Capture, prev: &Capture) -> Check {
    let (a, b) = (cur.subject("target"), prev.subject("target"));
    if a.is_some() && a.map(|t| t.trim_end_matches('/')) == b.map(|t| t.trim_end_matches('/')) {
        Check::pass(
            ROLLBACK_SAME_TARGET,
            format!("both captures are of {}", printable(a.unwrap_or_default())),
        )
    } else {
        Check::fail(
            ROLLBACK_SAME_TARGET,
            format!(
                "the captures are of different targets: {} and {}",
                printable(a.unwrap_or("(none)")),
                printable(b.unwrap_or("(none)"))
            ),
        )
    }
}

/// A rollback from a pack to itself proves nothing.
fn distinct_bundles(cur: &Capture, prev: &Capture) -> Check {
    if cur.id != prev.id {
        Check::pass(
            ROLLBACK_DISTINCT_BUNDLES,
            "the captures are different bundles",
        )
    } else {
        Check::fail(
            ROLLBACK_DISTINCT_BUNDLES,
            format!("both are bundle {}", cur.id),
        )
    }
}

/// The rollback target must be older; the times are signed claims of trusted keys.
fn previous_older(cur: &Capture, prev: &Capture) -> Check {
    let created = |c: &Capture| Timestamp::parse(&c.bundle.manifest.created_at).ok();
    match (created(prev), created(cur)) {
        (Some(p), Some(c)) if p < c => Check::pass(
            ROLLBACK_PREVIOUS_OLDER,
            format!("previous {p} is before current {c} (signed creation times)"),
        ),
        (Some(p), Some(c)) => Check::fail(
            ROLLBACK_PREVIOUS_OLDER,
            format!("previous {p} is not before current {c}: this would roll forward"),
        ),
        _ => Check::fail(ROLLBACK_PREVIOUS_OLDER, "a creation time cannot be read"),
    }
}

/// Writes the rehearsal bundle: the report and the plan, the verdict and both captures'
/// identities in the signed subject, both captures as parents.
fn seal_rehearsal(
    out: &Path,
    opts: &RehearseOptions<'_>,
    report: Report,
    current: Option<&Capture>,
    previous: Option<&Capture>,
) -> Result<Rehearsal, BuildError> {
    // The plan: what the operator does, and how to verify afterwards.
    let target = previous
        .and_then(|p| p.subject("target"))
        .unwrap_or("TARGET")
        .to_owned();
    let plan = plan(current, previous, &target);
    let plan_bytes = crate::canonical::to_canonical_vec(&plan).unwrap_or_default();
    let plan_digest = Sha256Digest::of(&plan_bytes);
    let verdict = if report.ok() { "pass" } else { "fail" };

    let mut subject = BTreeMap::from([
        ("verdict".to_owned(), verdict.to_owned()),
        ("target".to_owned(), target),
        ("plan_sha256".to_owned(), plan_digest.to_string()),
    ]);
    let mut parents = Vec::new();
    for (role, capture) in [("current", current), ("previous", previous)] {
        if let Some(c) = capture {
            add_to_subject(&mut subject, role, c);
            parents.push(c.id);
        }
    }
    let mut build_opts = BuildOptions::new(REHEARSAL_KIND);
    build_opts.subject = subject;
    build_opts.parents = parents;
    build_opts.created_at = opts.created_at;
    build_opts.sign = opts.sign.clone();
    build_opts.tool = opts.tool.clone();
    let built = build::create(
        out,
        &[
            Input::Bytes {
                at: REHEARSAL_REPORT_FILE.to_owned(),
                bytes: report.to_json_pretty().into_bytes(),
            },
            Input::Bytes {
                at: PLAN_FILE.to_owned(),
                bytes: plan_bytes,
            },
        ],
        &build_opts,
    )?;
    Ok(Rehearsal { built, report })
}

/// One capture's id, creation time and identity (`<role>_id`, `<role>_commit`, ...) in the
/// rehearsal's subject.
fn add_to_subject(subject: &mut BTreeMap<String, String>, role: &str, c: &Capture) {
    subject.insert(format!("{role}_id"), c.id.to_string());
    for key in ["deployment_id", "commit", "release_tag"] {
        if let Some(v) = c.subject(key) {
            subject.insert(format!("{role}_{key}"), v.to_owned());
        }
    }
    subject.insert(
        format!("{role}_created_at"),
        c.bundle.manifest.created_at.clone(),
    );
}

/// Parses JSON read from evidence: duplicate member names refused at any depth, and bounded
/// (FORMAT 13).
fn strict_json(bytes: &[u8]) -> Result<Value, crate::json::JsonError> {
    crate::json::parse_strict(bytes, &crate::json::JsonLimits::default())
}

/// The previous capture must have passed every assertion when it was taken, and the profile's
/// rollback preconditions must hold on its stored packets.
fn previous_health(prev: &Capture, profile: Option<&Profile>, report: &mut Report) {
    report.push(previous_passed(prev).in_section(SECTION));
    let own;
    let profile = match profile {
        Some(p) => p,
        None => match prev.file(capture::PROFILE_FILE).map(Profile::parse) {
            Some(Ok(p)) => {
                own = p;
                &own
            }
            _ => {
                report.push(
                    Check::fail(
                        ROLLBACK_CAPTURE_KIND,
                        "the previous capture holds no valid profile; pass --profile",
                    )
                    .in_section(SECTION),
                );
                return;
            }
        },
    };
    if profile.rollback_preconditions.is_empty() {
        report.push(
            Check::skip(
                ROLLBACK_PRECONDITION,
                format!("profile {} defines no rollback preconditions", profile.name),
            )
            .in_section(SECTION),
        );
    }
    for pre in &profile.rollback_preconditions {
        let mut check = precondition(prev, pre).with("endpoint", pre.endpoint.clone());
        if !pre.name.is_empty() {
            check = check.with("precondition", pre.name.clone());
        }
        report.push(check.in_section(SECTION));
    }
}

/// The previous capture's stored report passed, and agrees with its signed verdict.
fn previous_passed(prev: &Capture) -> Check {
    let stored = prev
        .file(capture::REPORT_FILE)
        .and_then(|b| strict_json(b).ok())
        .and_then(|v| Report::from_json(v).ok());
    let verdict = prev.subject("capture_result");
    match (&stored, verdict) {
        (Some(r), Some("pass")) if r.ok() => Check::pass(
            ROLLBACK_PREVIOUS_CAPTURE_PASSED,
            format!(
                "all {} checks of the previous capture passed",
                r.summary().pass
            ),
        ),
        (Some(r), Some(v)) if r.ok() != (v == "pass") => Check::fail(
            ROLLBACK_CAPTURE_KIND,
            "the previous capture's report disagrees with its signed verdict",
        ),
        (Some(r), _) => Check::fail(
            ROLLBACK_PREVIOUS_CAPTURE_PASSED,
            format!(
                "the previous capture failed {} check(s): {}",
                r.summary().fail,
                r.failures()
                    .take(5)
                    .map(|c| format!("{} {}", c.code, c.path.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        (None, _) => Check::fail(
            ROLLBACK_CAPTURE_KIND,
            "the previous capture has no readable capture report",
        ),
    }
}

/// One rollback precondition, evaluated on the previous capture's stored packet.
fn precondition(prev: &Capture, pre: &capture::profile::Precondition) -> Check {
    let what = format!("{}: {}", pre.endpoint, pre.check.describe());
    let packet = prev
        .file(&format!("{}/{}.json", capture::PACKETS_DIR, pre.endpoint))
        .map(strict_json);
    match packet {
        None => Check::fail(ROLLBACK_PRECONDITION, format!("{what}: no stored packet")),
        Some(Err(e)) => Check::fail(
            ROLLBACK_PRECONDITION,
            format!("{what}: the stored packet is not strict JSON: {e}"),
        ),
        Some(Ok(p)) => match capture::evaluate(&pre.check, &p) {
            Ok(()) => Check::pass(ROLLBACK_PRECONDITION, what),
            Err(seen) => Check::fail(ROLLBACK_PRECONDITION, format!("{what}: {seen}")),
        },
    }
}

/// The operator plan: ordered steps and the commands that verify the rollback afterwards.
fn plan(current: Option<&Capture>, previous: Option<&Capture>, target: &str) -> Value {
    let id = |c: Option<&Capture>| c.map(|c| c.id.to_string()).unwrap_or_default();
    let field =
        |c: Option<&Capture>, k: &str| c.and_then(|c| c.subject(k)).unwrap_or("unknown").to_owned();
    let previous_commit = field(previous, "commit");
    let previous_deployment = field(previous, "deployment_id");
    let profile = previous
        .and_then(|p| p.subject("profile"))
        .unwrap_or("health")
        .to_owned();
    json!({
        "schema": PLAN_SCHEMA,
        "from": {"capture": id(current), "deployment_id": field(current, "deployment_id"), "commit": field(current, "commit")},
        "to": {"capture": id(previous), "deployment_id": previous_deployment, "commit": previous_commit},
        "steps": [
            "Obtain a rollback permit for exactly this pair: evidence rollback permit --rehearsal REHEARSAL --expires-in 1h --key KEY --out permit.tar.gz",
            format!("Announce the rollback of {target} from {} to {} to the incident channel.", field(current, "commit"), previous_commit),
            format!("Have the automation check the permit: evidence rollback check-permit permit.tar.gz --target {target} --from CURRENT_ID --to PREVIOUS_ID --trusted-key OPERATOR.pub"),
            format!("Redeploy commit {previous_commit} (deployment {previous_deployment}) with the release tooling."),
            "Capture the service again and compare it with the rollback target (commands below).",
            "Attach the new capture and this rehearsal to the incident pack.",
        ],
        "verify_after": [
            format!("evidence deploy capture {target} --profile {profile} --sign KEY --out post-rollback"),
            "evidence bundle verify post-rollback --trusted-key OPERATOR.pub",
            format!("evidence bundle inspect post-rollback   # commit must be {previous_commit}"),
        ],
    })
}

/// A rehearsal bundle verified under trusted keys, with its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRehearsal {
    /// The rehearsal's bundle id.
    pub id: BundleId,
    /// The current capture's id.
    pub current: String,
    /// The previous capture's id.
    pub previous: String,
    /// The target service.
    pub target: String,
    /// True when the signed verdict is pass.
    pub passed: bool,
}

/// Verifies a rehearsal bundle: signature under `trust`, kind, the plan's digest against the
/// signed subject, the stored report's verdict against the signed verdict; a failed verdict is
/// a failing check. Returns the report and, when the bundle is authentic and consistent, the
/// rehearsal (whose `passed` may still be false).
pub fn verify_rehearsal(path: &Path, trust: &TrustPolicy) -> (Report, Option<VerifiedRehearsal>) {
    let mut report =
        Report::new(json!({"kind": "rollback-rehearsal", "bundle": path.display().to_string()}));
    let Some((out, stored)) = open_rehearsal(path, trust, &mut report) else {
        return (report, None);
    };
    report.push(
        Check::pass(
            ROLLBACK_REHEARSAL_VERIFIED,
            format!(
                "rehearsal {} of {} -> {}",
                out.id, out.current, out.previous
            ),
        )
        .in_section(SECTION)
        .with("id", out.id.to_string()),
    );
    if !out.passed {
        let reasons: Vec<String> = stored
            .iter()
            .flat_map(|r| r.failures().map(|c| c.code.to_string()).collect::<Vec<_>>())
            .collect();
        report.push(
            Check::fail(
                ROLLBACK_REHEARSAL_FAILED,
                "the rehearsal's signed verdict is fail",
            )
            .in_section(SECTION)
            .with("failed", reasons),
        );
    }
    (report, Some(out))
}

/// Verifies the rehearsal bundle and its consistency with its signed manifest (the bundle's
/// checks go to section `bundle`, a refusal is `rollback-rehearsal-invalid`): the rehearsal
/// and its stored report, or `None` once refused.
fn open_rehearsal(
    path: &Path,
    trust: &TrustPolicy,
    report: &mut Report,
) -> Option<(VerifiedRehearsal, Option<Report>)> {
    let capture = [
        format!("payload/{REHEARSAL_REPORT_FILE}"),
        format!("payload/{PLAN_FILE}"),
    ];
    let verification = bundle::verify_capturing(path, trust, &capture, BundleLimits::default());
    report.absorb(verification.report, "bundle");
    let mut invalid = |detail: String| {
        report.push(Check::fail(ROLLBACK_REHEARSAL_INVALID, detail).in_section(SECTION));
        None
    };
    let Some(bundle) = verification.bundle else {
        return invalid("the rehearsal bundle does not verify under the trusted keys".to_owned());
    };
    let m = &bundle.manifest;
    if m.kind != REHEARSAL_KIND {
        return invalid(format!(
            "the bundle is of kind {:?}, not {REHEARSAL_KIND:?}",
            printable(&m.kind)
        ));
    }
    let plan = bundle.captured.get(&format!("payload/{PLAN_FILE}"));
    let stored = bundle
        .captured
        .get(&format!("payload/{REHEARSAL_REPORT_FILE}"))
        .and_then(|b| strict_json(b).ok())
        .and_then(|v| Report::from_json(v).ok());
    let subject = |k: &str| m.subject.get(k).cloned().unwrap_or_default();
    let plan_ok = plan.is_some_and(|p| Sha256Digest::of(p).to_string() == subject("plan_sha256"));
    let verdict = subject("verdict");
    let stored_ok = stored.as_ref().map(Report::ok);
    if !plan_ok {
        return invalid("the plan's digest is not the one in the signed manifest".to_owned());
    }
    // A missing or unreadable report (`None`) differs from every verdict.
    if stored_ok != Some(verdict == "pass") || !matches!(verdict.as_str(), "pass" | "fail") {
        return invalid("the stored report disagrees with the signed verdict".to_owned());
    }
    let out = VerifiedRehearsal {
        id: bundle.id,
        current: subject("current_id"),
        previous: subject("previous_id"),
        target: subject("target"),
        passed: verdict == "pass",
    };
    Some((out, stored))
}
