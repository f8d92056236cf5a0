//! Doctor checks (a profile's `doctor` member): another tool's verdicts reproduced on the
//! captured packets, one check each, carrying that tool's name for it. For zero-paper these
//! are the 18 checks of the predecessor's `railway_doctor.py`, with its endpoints, predicates
//! and ok/warn/fail outcomes (reported as pass/warn/fail).

use std::collections::BTreeMap;

use serde_json::Value;

use super::codes::CAPTURE_DOCTOR;
use super::evaluate_with;
use super::profile::{DoctorCheck, Outcome, Profile};
use crate::report::Check;

/// Every doctor check of `profile`, in profile order, over the packets by endpoint name.
pub(super) fn run(
    profile: &Profile,
    packets: &BTreeMap<String, Value>,
    token: Option<&str>,
) -> Vec<Check> {
    profile
        .doctor
        .iter()
        .map(|d| {
            let path = profile
                .endpoint(&d.endpoint)
                .map_or_else(String::new, |e| e.path.clone());
            let (name, check) = decide(d, packets.get(&d.endpoint), token);
            check
                .with_path(path)
                .with("endpoint", d.endpoint.clone())
                .with("doctor", name)
        })
        .collect()
}

/// The outcome and the name it is reported under: the first gate that does not hold
/// decides; a check that needs a token has its `anonymous` outcome when none was given.
fn decide(d: &DoctorCheck, packet: Option<&Value>, token: Option<&str>) -> (String, Check) {
    if token.is_none()
        && let Some(outcome) = d.anonymous
    {
        let detail = format!("{}: not run without a token (pass --token)", d.doctor);
        let check = outcome_check(outcome, detail);
        return (d.doctor.clone(), check);
    }
    let Some(packet) = packet else {
        return (
            d.doctor.clone(),
            Check::fail(CAPTURE_DOCTOR, "the endpoint was not fetched"),
        );
    };
    for gate in &d.require {
        for predicate in &gate.all {
            if let Err(seen) = evaluate_with(predicate, packet, token) {
                let name = gate.reported_as.as_ref().unwrap_or(&d.doctor).clone();
                let detail = format!("{name}: {}: {seen}", predicate.describe());
                return (name, outcome_check(gate.otherwise, detail));
            }
        }
    }
    let held: Vec<String> = d
        .require
        .iter()
        .flat_map(|g| &g.all)
        .map(super::profile::Predicate::describe)
        .collect();
    let detail = format!("{}: {}", d.doctor, held.join("; "));
    (d.doctor.clone(), Check::pass(CAPTURE_DOCTOR, detail))
}

fn outcome_check(outcome: Outcome, detail: String) -> Check {
    match outcome {
        Outcome::Warn => Check::warn(CAPTURE_DOCTOR, detail),
        Outcome::Fail => Check::fail(CAPTURE_DOCTOR, detail),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::report::Status;

    fn packet(status: u16, body: Value) -> Value {
        json!({"status": status, "headers": {}, "body_format": "json", "payload": body})
    }

    #[test]
    fn the_first_gate_that_fails_decides_under_its_reported_name() {
        let profile = Profile::parse(
            json!({
                "schema": "evidence.capture-profile/v1", "name": "p",
                "endpoints": [{"name": "np", "path": "/np"}, {"name": "paid", "path": "/paid", "auth": true}],
                "doctor": [
                    {"doctor": "privacy", "endpoint": "np", "require": [
                        {"all": [{"check": "status", "in": [200]}], "else": "fail", "reported_as": "np"},
                        {"all": [{"check": "body-excludes-any-case", "strings": ["trace-"], "token": true}], "else": "warn"}]},
                    {"doctor": "paid", "endpoint": "paid", "anonymous": "warn",
                     "require": [{"all": [{"check": "status", "in": [200]}], "else": "fail"}]}
                ]
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let outcome = |np: Value, token: Option<&str>| {
            let packets = BTreeMap::from([
                ("np".to_owned(), np),
                ("paid".to_owned(), packet(200, json!({}))),
            ]);
            run(&profile, &packets, token)
                .into_iter()
                .map(|c| (c.data["doctor"].as_str().unwrap().to_owned(), c.status))
                .collect::<Vec<_>>()
        };
        let named = |a: &str, s, b: &str, t| vec![(a.to_owned(), s), (b.to_owned(), t)];
        assert_eq!(
            outcome(packet(200, json!({"a": "ok"})), Some("tok-secret")),
            named("privacy", Status::Pass, "paid", Status::Pass)
        );
        assert_eq!(
            outcome(packet(503, json!({})), None),
            named("np", Status::Fail, "paid", Status::Warn)
        );
        assert_eq!(
            outcome(packet(200, json!({"t": "TRACE-1"})), None),
            named("privacy", Status::Warn, "paid", Status::Warn)
        );
        let leaked = run(
            &profile,
            &BTreeMap::from([("np".to_owned(), packet(200, json!({"t": "Tok-Secret"})))]),
            Some("tok-secret"),
        );
        assert_eq!(leaked[0].status, Status::Warn);
        assert!(
            !leaked[0].detail.contains("ecret"),
            "the token is never named: {}",
            leaked[0].detail
        );
        assert_eq!(
            leaked[1].status,
            Status::Fail,
            "an endpoint that was not fetched fails"
        );
    }
}
