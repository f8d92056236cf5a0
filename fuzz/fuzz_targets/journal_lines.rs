//! JSONL journal verification never panics, and its verdict does not depend on how the
//! reader hands out the bytes (all at once, or a few at a time). When a seal is computed,
//! the seal passes its own checks and its canonical bytes parse back to it.
#![no_main]

use evidence_core::journal::seal::compute_seal;
use evidence_core::journal::{self, JournalLimits, JournalOptions, Seal};
use evidence_fuzz::Trickle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let mut limits = JournalLimits::default();
    if seed & 1 == 1 {
        // Small limits, so the limit paths are reached by small inputs.
        limits.max_line_bytes = 64;
        limits.max_depth = 4;
        limits.max_unique_values = 8;
    }
    let mut opts = JournalOptions::default();
    opts.unique_keys = vec!["id".to_owned(), "idempotency_key".to_owned()];
    opts.limits = limits;
    opts.check().expect("fuzz options are valid");

    let whole = journal::verify_reader(rest, "events.jsonl", &opts);
    let pieces = journal::verify_reader(Trickle::new(rest, seed), "events.jsonl", &opts);
    assert_eq!(whole.lines, pieces.lines);
    assert_eq!(whole.bytes, pieces.bytes);
    assert_eq!(
        whole.report.to_json_pretty(),
        pieces.report.to_json_pretty(),
        "the verdict depends on read sizes"
    );

    let (report, seal) = compute_seal(Trickle::new(rest, seed.wrapping_add(1)), "events.jsonl", &opts);
    if let Some(seal) = seal {
        assert!(report.ok(), "a seal for a journal that failed");
        seal.check().expect("a computed seal passes its own checks");
        let bytes = seal.to_canonical_bytes().expect("a computed seal serialises");
        assert_eq!(Seal::parse(&bytes).expect("seal bytes parse"), seal);
        assert_eq!(seal.lines, whole.lines);
        assert_eq!(seal.bytes, whole.bytes);
    }
});
