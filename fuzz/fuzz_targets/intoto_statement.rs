//! In-toto reading never panics: a bare statement, a DSSE envelope or a `.intoto.jsonl` file
//! (one envelope or statement per line), judged against release assets, with and without a
//! trusted key and a policy; also as a predecessor's legacy `PROVENANCE.json`.
#![no_main]

use std::collections::BTreeMap;

use evidence_core::Sha256Digest;
use evidence_core::dsse::{DsseLimits, Envelope};
use evidence_core::keys::{PrivateKey, TrustPolicy};
use evidence_core::provenance::{
    self, AssetDigest, ProvenanceFile, ProvenanceInputs, ProvenanceLimits, ProvenancePolicy,
    Statement,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ProvenanceLimits::default();
    if let Ok(statement) = Statement::parse(data, &limits) {
        assert!(!statement.subjects.is_empty(), "a statement without subjects was accepted");
        let _ = statement.slsa();
    }
    if let Ok(envelope) = Envelope::parse(data, &DsseLimits::default())
        && let Ok(statement) = Statement::parse(&envelope.payload, &limits)
    {
        let _ = statement.slsa();
    }

    let mut assets = BTreeMap::new();
    assets.insert(
        "app-1.4.2-linux-x86_64.tar.gz".to_owned(),
        AssetDigest {
            sha256: Sha256Digest::of(b"app"),
            size: 3,
        },
    );
    let key = PrivateKey::from_seed(&[3; 32]);
    let policy = TrustPolicy::single("fuzz", key.public());
    let required = ProvenancePolicy {
        builder_id: Some("https://github.com/actions/runner".to_owned()),
        source_uri: Some("git+https://example.invalid/app".to_owned()),
        source_ref: Some("refs/tags/v1.4.2".to_owned()),
        source_commit: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        build_type: None,
        artifacts: vec!["app-1.4.2-linux-x86_64.tar.gz".to_owned()],
    };
    let open = ProvenancePolicy::default();
    let file = |name: &str| ProvenanceFile {
        name: name.to_owned(),
        bytes: data.to_vec(),
    };
    let jsonl = [file("release.intoto.jsonl")];
    let single = [file("statement.json")];
    let legacy = file("PROVENANCE.json");
    for (files, legacy, trust, policy) in [
        (&jsonl[..], None, None, &open),
        (&jsonl[..], None, Some(&policy), &required),
        (&single[..], None, Some(&policy), &open),
        (&[][..], Some(&legacy), None, &required),
    ] {
        let checks = provenance::verify(&ProvenanceInputs {
            files,
            legacy,
            assets: &assets,
            trust,
            policy,
            limits,
        });
        assert!(!checks.is_empty(), "provenance verification reported nothing");
    }
});
