//! Self-hashed objects in captured packets: a claim or heartbeat (an object with a
//! `claim_hash` or `heartbeat_hash` member) is covered by a hash the engine computed over its
//! exact content, so redaction must not change it silently. Each one is scanned with the
//! capture's redactor: left intact, or reported as no longer checkable.

use std::collections::BTreeMap;

use serde_json::Value;

use super::codes::CAPTURE_SELF_HASH;
use super::json_payload;
use crate::redact::Redactor;
use crate::report::Check;

/// Members that mark an object as self-hashed.
const HASH_MEMBERS: &[&str] = &["claim_hash", "heartbeat_hash"];

/// One check per self-hashed object in the JSON bodies of `packets`.
pub(super) fn checks(packets: &BTreeMap<String, Value>, redactor: &Redactor) -> Vec<Check> {
    let mut out = Vec::new();
    for (endpoint, packet) in packets {
        let Some(body) = json_payload(packet) else {
            continue;
        };
        let mut stack: Vec<(String, &Value)> = vec![(String::new(), body)];
        while let Some((pointer, value)) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(member) = HASH_MEMBERS.iter().find(|m| map.contains_key(**m)) {
                        out.push(
                            check(redactor, value, member)
                                .with("endpoint", endpoint.clone())
                                .with("pointer", pointer.clone()),
                        );
                        continue;
                    }
                    for (k, v) in map.iter().rev() {
                        stack.push((
                            format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                            v,
                        ));
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate().rev() {
                        stack.push((format!("{pointer}/{i}"), v));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether redaction leaves the object hashed by `member` as it is.
fn check(redactor: &Redactor, object: &Value, member: &str) -> Check {
    let mut copy = object.clone();
    let found = redactor.redact_value(&mut copy).total();
    if found == 0 {
        Check::pass(
            CAPTURE_SELF_HASH,
            format!("scanned; redaction leaves the object of {member} intact"),
        )
    } else {
        Check::warn(
            CAPTURE_SELF_HASH,
            format!(
                "redaction replaced {found} value(s) in the object of {member}: its self-hash can no longer be checked"
            ),
        )
    }
}
