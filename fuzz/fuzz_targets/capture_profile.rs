//! Capture profile parsing never panics; a parsed profile serialised by serde parses back to
//! the same profile; describing it and evaluating its predicates on packets never panics.
#![no_main]

use evidence_core::capture::evaluate;
use evidence_core::capture::profile::Profile;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = Profile::parse(data) else {
        return;
    };
    let bytes = serde_json::to_vec(&profile).expect("a profile serialises");
    let back = Profile::parse(&bytes).unwrap_or_else(|e| {
        panic!("a serialised profile is refused: {e}\n{}", String::from_utf8_lossy(&bytes))
    });
    assert_eq!(back, profile);

    let body: Value = serde_json::from_slice(data).unwrap_or(Value::Null);
    let packets = [
        json!({
            "schema": "evidence.capture-packet/v1", "endpoint": "health", "path": "/health",
            "url": "http://127.0.0.1/health", "auth": false, "status": 200,
            "headers": {"content-type": "application/json", "x-multi": ["a", "b"]},
            "body_format": "json", "payload": body, "error": null, "redirects": [],
        }),
        json!({"body_format": "text", "payload": String::from_utf8_lossy(data), "status": "x"}),
        Value::Null,
    ];
    for endpoint in &profile.endpoints {
        let _ = profile.endpoint(&endpoint.name);
        for assertion in &endpoint.assertions {
            let _ = assertion.check.describe();
            for packet in &packets {
                let _ = evaluate(&assertion.check, packet);
            }
        }
    }
    for pre in &profile.rollback_preconditions {
        for packet in &packets {
            let _ = evaluate(&pre.check, packet);
        }
    }
});
