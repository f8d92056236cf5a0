//! SPDX JSON reading, validation and the cross-check against release assets never panic.
//! Every license expression in a parsed document (and the input itself, read as one) prints
//! in a form that parses back to the same tree, as `LicenseExpr`'s `Display` promises.
#![no_main]

use std::collections::BTreeMap;

use evidence_core::Sha256Digest;
use evidence_core::sbom::{self, SbomLimits, license, purl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && text.len() <= 4096
    {
        license_round_trip(text);
        let _ = purl::parse(text);
    }

    let limits = SbomLimits::default();
    let _ = sbom::verify_sbom(data, None, &limits).to_json_pretty();
    let Ok(doc) = sbom::parse(data, &limits) else {
        return;
    };
    let _ = sbom::validate(&doc);
    // Assets named like the document's own files, with their listed digest (a match) or the
    // digest of the name (a mismatch).
    let mut assets = BTreeMap::new();
    for file in &doc.files {
        let listed = file
            .checksums
            .iter()
            .find(|c| c.algorithm == "SHA256")
            .and_then(|c| Sha256Digest::from_hex(&c.checksum_value).ok());
        let name = file.file_name.strip_prefix("./").unwrap_or(&file.file_name);
        assets.insert(
            name.to_owned(),
            listed.unwrap_or_else(|| Sha256Digest::of(name.as_bytes())),
        );
    }
    let _ = sbom::cross_check(&doc, &assets);
    let _ = sbom::verify_sbom(data, Some(&assets), &limits);
    for text in doc
        .packages
        .iter()
        .flat_map(|p| [p.license_concluded.as_deref(), p.license_declared.as_deref()])
        .chain(doc.files.iter().map(|f| f.license_concluded.as_deref()))
        .flatten()
    {
        license_round_trip(text);
    }
    for p in &doc.packages {
        for r in &p.external_refs {
            let _ = purl::parse(&r.reference_locator);
        }
    }
});

fn license_round_trip(text: &str) {
    if let Ok(value) = license::parse_value(text) {
        let printed = value.to_string();
        let back = license::parse_value(&printed)
            .unwrap_or_else(|e| panic!("{printed:?} (printed from {text:?}) does not parse: {e}"));
        assert_eq!(back, value, "{text:?} printed as {printed:?}");
        if let Some(expr) = value.expression() {
            let mut seen = 0usize;
            expr.for_each_license(&mut |_, _| seen += 1);
        }
    }
}
