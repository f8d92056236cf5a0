//! `zero.deployment_rollback_rehearsal.v1` reports, as `deployment_rollback_rehearsal.py`
//! writes them (the predecessor had no verifier for them).
//!
//! Its HMAC covers only the two manifest digests and the plan hash. The plan holds
//! `rollback_ready`, so that verdict is signed; `ok`, `summary` and `checks` are not, and are
//! believed only where they agree with it.

use serde_json::{Value, json};

use super::codes::*;
use super::shared::{HmacFile, check_hmac_file, check_sums, load_json, python_hash_text};
use super::{Pack, VerifyOptions};
use crate::report::{Check, Report};

const REPORT: &str = "rollback_rehearsal.json";
const SIGNATURE: &str = "ROLLBACK_REHEARSAL_SIGNATURE.json";
const SIGNATURE_SCHEMA: &str = "zero.deployment_rollback_rehearsal_signature.v1";
const PAYLOAD_SCHEMA: &str = "zero.deployment_rollback_rehearsal_signature_payload.v1";

pub(super) fn verify(pack: &Pack, opts: &VerifyOptions<'_>, report: &mut Report) {
    check_sums(pack, &[], report);
    let Some(rehearsal) = load_json(pack, REPORT, &opts.limits, report) else {
        return;
    };
    let plan = rehearsal.get("rollback_plan").unwrap_or(&Value::Null);
    check_plan_hash(plan, report);
    check_verdict(&rehearsal, plan, report);
    report.push(
        Check::warn(
            LEGACY_UNSIGNED_FIELDS,
            "ok, summary, checks and the pack summaries are outside the HMAC; only the manifest digests and the plan (rollback_ready) are signed",
        )
        .with_path(REPORT),
    );
    let field = |pointer: &str| rehearsal.pointer(pointer).cloned().unwrap_or(Value::Null);
    let payload = json!({
        "schema_version": PAYLOAD_SCHEMA,
        "report_schema_version": field("/schema_version"),
        "current_manifest_sha256": field("/current/manifest_sha256"),
        "rollback_target_manifest_sha256": field("/rollback_target/manifest_sha256"),
        "rollback_plan_hash": field("/rollback_plan/plan_hash"),
    });
    let file = HmacFile {
        name: SIGNATURE,
        schema: SIGNATURE_SCHEMA,
    };
    check_hmac_file(pack, &file, &payload, opts, report);
}

/// The plan hash is the Python-JSON hash of the plan before `plan_hash` was added to it.
fn check_plan_hash(plan: &Value, report: &mut Report) {
    let Some(members) = plan.as_object() else {
        report.push(Check::fail(LEGACY_PLAN_HASH, "no rollback_plan object").with_path(REPORT));
        return;
    };
    let mut body = members.clone();
    let stated = body.remove("plan_hash");
    let expected = python_hash_text(&Value::Object(body));
    report.push(
        if stated.as_ref().and_then(Value::as_str) == Some(expected.as_str()) {
            Check::pass(LEGACY_PLAN_HASH, "plan_hash matches the plan").with_path(REPORT)
        } else {
            Check::fail(LEGACY_PLAN_HASH, "plan_hash is not the hash of the plan")
                .with_path(REPORT)
                .with("expected", expected)
                .with("actual", stated.unwrap_or(Value::Null))
        },
    );
}

fn check_verdict(rehearsal: &Value, plan: &Value, report: &mut Report) {
    let ready = plan.get("rollback_ready").and_then(Value::as_bool);
    let ok = rehearsal.get("ok").and_then(Value::as_bool);
    let checks = rehearsal
        .get("checks")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let failed = checks
        .iter()
        .filter(|c| c.get("status").and_then(Value::as_str) != Some("ok"))
        .count();
    let counted = json!({"ok": checks.len() - failed, "fail": failed});
    let mut problems = Vec::new();
    if ok.is_none() || ok != ready {
        problems.push("ok disagrees with the signed rollback_plan.rollback_ready");
    }
    if ok != Some(failed == 0) {
        problems.push("ok disagrees with the checks");
    }
    if rehearsal.get("summary") != Some(&counted) {
        problems.push("summary disagrees with the checks");
    }
    report.push(if problems.is_empty() {
        Check::pass(
            LEGACY_REHEARSAL_CONSISTENT,
            "ok, summary and checks agree with the signed plan",
        )
        .with_path(REPORT)
    } else {
        Check::fail(LEGACY_REHEARSAL_CONSISTENT, problems.join("; "))
            .with_path(REPORT)
            .with("ok", ok.map_or(Value::Null, Value::from))
            .with("rollback_ready", ready.map_or(Value::Null, Value::from))
    });
    report.push(if ready == Some(true) {
        Check::pass(
            LEGACY_REHEARSAL_READY,
            "the signed plan says rollback_ready",
        )
        .with_path(REPORT)
    } else {
        Check::fail(
            LEGACY_REHEARSAL_READY,
            "the signed plan does not say rollback_ready",
        )
        .with_path(REPORT)
    });
}
