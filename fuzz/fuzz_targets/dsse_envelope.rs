//! DSSE envelope parsing never panics. A parsed envelope written back (file form and JSONL
//! line form) parses to the same envelope; the file form is a fixed point; reading through
//! an already parsed JSON value agrees with reading bytes. Judging its signatures never
//! panics, and a signature by a trusted key added to any envelope counts (the envelope verifies
//! unless it also carries a forged signature naming that key).
#![no_main]

use evidence_core::dsse::{self, DsseLimits, Envelope, SignatureOutcome};
use evidence_core::json::{self, JsonLimits};
use evidence_core::keys::{PrivateKey, TrustPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(bytes) = dsse::decode_base64(text)
    {
        let encoded = dsse::encode_base64(&bytes);
        assert_eq!(dsse::decode_base64(&encoded), Some(bytes));
    }

    let limits = DsseLimits::default();
    let Ok(envelope) = Envelope::parse(data, &limits) else {
        return;
    };
    let file = envelope.to_json_bytes();
    let back = Envelope::parse(&file, &limits).expect("the file form parses");
    assert_eq!(back, envelope);
    assert_eq!(back.to_json_bytes(), file, "the file form is not a fixed point");
    let line = envelope.to_json_line();
    assert!(!line.contains(&b'\n'));
    assert_eq!(Envelope::parse(&line, &limits).expect("the line form parses"), envelope);
    let value = json::parse_strict(data, &JsonLimits::default()).expect("accepted bytes are JSON");
    assert_eq!(Envelope::from_value(value, &limits).expect("same rules"), envelope);

    let key = PrivateKey::from_seed(&[7; 32]);
    let policy = TrustPolicy::single("fuzz", key.public());
    let verdict = envelope.verify(&envelope.payload_type, &policy);
    let _ = verdict.signers();
    let _ = envelope.verify("application/vnd.other", &policy);

    // A good signature by the trusted key always counts; the envelope as a whole verifies
    // unless it also carries a forgery (a signature naming the trusted key that fails), which
    // marks it as tampered with whatever else it holds.
    let mut signed = envelope.clone();
    signed.add_signature(&key);
    if signed.signatures.len() <= limits.max_signatures {
        let reread = Envelope::parse(&signed.to_json_bytes(), &limits).expect("signed parses");
        let verdict = reread.verify(&envelope.payload_type, &policy);
        assert_eq!(
            verdict.outcome,
            SignatureOutcome::Verified,
            "a signature by the trusted key does not count"
        );
        assert_eq!(verdict.is_verified(), !verdict.has_forgery());
    }
});
