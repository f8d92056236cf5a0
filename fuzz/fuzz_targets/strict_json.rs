//! The strict JSON reader never panics; what it accepts, serde_json accepts as the same value;
//! the canonical (RFC 8785) form of an accepted value parses back to the same value and is a
//! fixed point of canonicalisation.
#![no_main]

use evidence_core::canonical;
use evidence_core::json::{self, JsonLimits};
use evidence_fuzz::same_json;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let limits = JsonLimits::default();
    let strict = json::parse_strict(data, &limits);
    let canonical_input = canonical::is_canonical(data);
    let Ok(value) = strict else {
        assert!(!canonical_input, "refused input reported canonical");
        return;
    };
    let loose: Value = serde_json::from_slice(data).expect("strict JSON is JSON");
    assert!(same_json(&value, &loose), "strict and loose readers disagree");
    canonical::to_comparison_vec(&value).expect("a parsed value has a comparison form");

    let Ok(bytes) = canonical::to_canonical_vec(&value) else {
        assert!(!canonical_input);
        return;
    };
    if canonical_input {
        assert_eq!(bytes, data, "canonical input is not its own canonical form");
    }
    let back = json::parse_strict(&bytes, &limits).expect("canonical bytes parse");
    assert!(same_json(&value, &back), "canonical form changed the value");
    let again = canonical::to_canonical_vec(&back).expect("canonical value canonicalises");
    assert_eq!(again, bytes, "canonical form is not a fixed point");
    assert!(canonical::is_canonical(&bytes));
    let generic = canonical::to_canonical(&value).expect("to_canonical agrees");
    assert_eq!(generic, bytes);
});
