use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::report::CheckCode;
use crate::sbom::format_of;

/// The CycloneDX specification's own valid 1.6 example, read from `../shared/interop`.
const SPEC_EXAMPLE: &str = "cyclonedx/cyclonedx-spec-valid-bom-1.6.json";

/// A small valid BOM of `version`: an application with a dependency, a file asset.
fn bom(version: &str) -> Value {
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": version,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "component": {"type": "application", "name": "app", "bom-ref": "app"}
        },
        "components": [
            {
                "type": "library", "name": "serde", "version": "1.0.0", "bom-ref": "serde",
                "purl": "pkg:cargo/serde@1.0.0",
                "licenses": [{"expression": "MIT OR Apache-2.0"}]
            },
            {
                "type": "file", "name": "app-1.0-linux.tar.gz", "bom-ref": "asset",
                "hashes": [{"alg": "SHA-256", "content": "ab".repeat(32)}],
                "licenses": [{"license": {"id": "MIT"}}]
            }
        ],
        "dependencies": [
            {"ref": "app", "dependsOn": ["serde"]},
            {"ref": "serde", "dependsOn": []}
        ]
    })
}

fn judge(doc: &Value, assets: Option<&BTreeMap<String, Sha256Digest>>) -> Report {
    let bytes = serde_json::to_vec(doc).unwrap();
    let format = format_of(&bytes);
    assert_eq!(format.name(), NAME);
    format.verify(&bytes, assets, &SbomLimits::default())
}

fn failing(report: &Report) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.code.as_ref())
        .collect()
}

#[track_caller]
fn fails_with(doc: &Value, code: CheckCode) -> Report {
    let report = judge(doc, None);
    assert!(
        failing(&report).contains(&code.code),
        "expected {}: {}",
        code.code,
        report.to_text(true)
    );
    assert!(!report.has(SBOM_VALID), "{}", report.to_text(true));
    report
}

#[test]
fn valid_boms_of_each_version_pass() {
    for version in SPEC_VERSIONS {
        let report = judge(&bom(version), None);
        assert!(report.ok(), "{version}: {}", report.to_text(true));
        assert!(report.has(SBOM_VALID));
        assert!(report.has(SBOM_PARSED));
        assert_eq!(report.subject["format"], NAME);
    }
}

#[test]
fn the_specifications_own_example_passes() {
    if !crate::testing::have_interop(SPEC_EXAMPLE) {
        return;
    }
    let bytes = std::fs::read(crate::testing::interop(SPEC_EXAMPLE)).unwrap();
    assert_eq!(format_of(&bytes).name(), NAME);
    let report = format_of(&bytes).verify(&bytes, None, &SbomLimits::default());
    assert!(report.ok(), "{}", report.to_text(true));
    assert!(report.has(SBOM_VALID));
}

#[test]
fn header_rules_each_fail_with_their_code() {
    let mut doc = bom("1.6");
    doc["bomFormat"] = json!("CycloneDx");
    fails_with(&doc, SBOM_SCHEMA_INVALID);
    for old in ["1.3", "1.2", "2.0", ""] {
        let mut doc = bom("1.6");
        doc["specVersion"] = json!(old);
        fails_with(&doc, SBOM_VERSION_UNSUPPORTED);
    }
    for serial in [
        json!("3e671687-395b-41f5-a30f-a58921a69b79"),
        json!("urn:uuid:3E671687-395B-41F5-A30F-A58921A69B79"),
        json!("urn:uuid:3e671687395b41f5a30fa58921a69b79"),
        json!("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b7"),
        json!(7),
    ] {
        let mut doc = bom("1.5");
        doc["serialNumber"] = serial.clone();
        fails_with(&doc, SBOM_SERIAL_NUMBER_INVALID);
    }
    // The schemas' pattern constrains neither the version nor the variant digit.
    let mut any_variant = bom("1.5");
    any_variant["serialNumber"] = json!("urn:uuid:3e671687-395b-61f5-c30f-a58921a69b79");
    assert!(judge(&any_variant, None).ok());
    for version in [json!(0), json!(-1), json!("1"), json!(1.5)] {
        let mut doc = bom("1.5");
        doc["version"] = version;
        fails_with(&doc, SBOM_SERIAL_NUMBER_INVALID);
    }
    // 1.4 asks only for an integer.
    let mut old = bom("1.4");
    old["version"] = json!(0);
    assert!(judge(&old, None).ok());
    old["version"] = json!("1");
    fails_with(&old, SBOM_SERIAL_NUMBER_INVALID);
}

#[test]
fn component_types_follow_the_spec_version() {
    let mut doc = bom("1.4");
    doc["components"][0]["type"] = json!("platform");
    fails_with(&doc, SBOM_COMPONENT_TYPE_INVALID);
    doc["specVersion"] = json!("1.5");
    assert!(judge(&doc, None).ok());
    doc["components"][0]["type"] = json!("cryptographic-asset");
    fails_with(&doc, SBOM_COMPONENT_TYPE_INVALID);
    doc["specVersion"] = json!("1.6");
    assert!(judge(&doc, None).ok());
    doc["components"][0]["type"] = json!("Library");
    fails_with(&doc, SBOM_COMPONENT_TYPE_INVALID);
    // Nested components are judged too, named by their bom-ref.
    let mut nested = bom("1.6");
    nested["components"][0]["components"] =
        json!([{"type": "gadget", "name": "x", "bom-ref": "inner"}]);
    let report = fails_with(&nested, SBOM_COMPONENT_TYPE_INVALID);
    assert!(
        report
            .with_code(SBOM_COMPONENT_TYPE_INVALID)
            .any(|c| c.path.as_deref() == Some("inner"))
    );
    let mut unnamed = bom("1.6");
    unnamed["components"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    fails_with(&unnamed, SBOM_FIELD_MISSING);
}

#[test]
fn bom_refs_are_unique_and_dependencies_resolve() {
    let mut doc = bom("1.6");
    doc["components"][1]["bom-ref"] = json!("serde");
    fails_with(&doc, SBOM_BOM_REF_DUPLICATE);
    // A bom-ref declared anywhere counts: a service's collides with a component's.
    let mut doc = bom("1.6");
    doc["services"] = json!([{"name": "api", "bom-ref": "app"}]);
    fails_with(&doc, SBOM_BOM_REF_DUPLICATE);
    let mut doc = bom("1.6");
    doc["dependencies"][0]["dependsOn"] = json!(["serde", "tokio"]);
    let report = fails_with(&doc, SBOM_DEPENDENCY_DANGLING);
    assert!(
        report
            .with_code(SBOM_DEPENDENCY_DANGLING)
            .any(|c| c.detail.contains("\"tokio\""))
    );
    let mut doc = bom("1.6");
    doc["dependencies"][1]["ref"] = json!("nowhere");
    fails_with(&doc, SBOM_DEPENDENCY_DANGLING);
    let mut doc = bom("1.6");
    doc["dependencies"][0]["provides"] = json!(["missing"]);
    fails_with(&doc, SBOM_DEPENDENCY_DANGLING);
    let mut doc = bom("1.6");
    doc["components"][0]["bom-ref"] = json!("");
    fails_with(&doc, SBOM_SCHEMA_INVALID);
}

#[test]
fn hashes_licenses_and_purls_are_checked() {
    for (alg, content) in [
        ("SHA256", "ab".repeat(32)),
        ("SHA-256", "ab".repeat(20)),
        ("SHA-1", "zz".repeat(20)),
        ("MD5", "ab".repeat(20)),
        ("BLAKE3", "ab".repeat(10)),
    ] {
        let mut doc = bom("1.6");
        doc["components"][1]["hashes"] = json!([{"alg": alg, "content": content}]);
        fails_with(&doc, SBOM_CHECKSUM_INVALID);
    }
    let mut doc = bom("1.6");
    doc["components"][1]["hashes"] = json!([
        {"alg": "SHA-512", "content": "AB".repeat(64)},
        {"alg": "BLAKE3", "content": "ab".repeat(32)},
        {"alg": "SHA3-384", "content": "01".repeat(48)}
    ]);
    assert!(judge(&doc, None).ok());

    let mut doc = bom("1.6");
    doc["components"][0]["licenses"] = json!([{"expression": "MIT OR"}]);
    fails_with(&doc, SBOM_LICENSE_INVALID);
    let mut doc = bom("1.6");
    doc["components"][0]["licenses"] = json!([{"license": {"url": "https://x"}}]);
    fails_with(&doc, SBOM_LICENSE_INVALID);
    // Unknown ids warn, as for SPDX; a named license without an id is fine.
    let mut doc = bom("1.6");
    doc["components"][0]["licenses"] = json!([
        {"license": {"id": "Not-A-License"}},
        {"license": {"name": "Acme Proprietary"}},
        {"expression": "Apache-2.0 AND Made-Up-1.0"}
    ]);
    let report = judge(&doc, None);
    assert!(report.ok(), "{}", report.to_text(true));
    assert_eq!(report.with_code(SBOM_LICENSE_UNKNOWN).count(), 2);

    let mut doc = bom("1.6");
    doc["components"][0]["purl"] = json!("serde@1.0.0");
    fails_with(&doc, SBOM_PURL_INVALID);
}

#[test]
fn components_naming_release_assets_are_cross_checked() {
    let digest = Sha256Digest::from_hex(&"ab".repeat(32)).unwrap();
    let assets: BTreeMap<String, Sha256Digest> =
        [("app-1.0-linux.tar.gz".to_owned(), digest)].into();
    let report = judge(&bom("1.6"), Some(&assets));
    assert!(report.ok(), "{}", report.to_text(true));
    assert!(
        report
            .with_code(SBOM_ASSET_DIGEST_MATCH)
            .any(|c| c.path.as_deref() == Some("asset"))
    );
    // Another digest: the release's asset is not the one the BOM describes.
    let mut doc = bom("1.6");
    doc["components"][1]["hashes"] = json!([{"alg": "SHA-256", "content": "cd".repeat(32)}]);
    assert!(failing(&judge(&doc, Some(&assets))).contains(&SBOM_ASSET_DIGEST_MISMATCH.code));
    // Only weak digests never verify an asset.
    doc["components"][1]["hashes"] = json!([{"alg": "SHA-1", "content": "cd".repeat(20)}]);
    assert!(failing(&judge(&doc, Some(&assets))).contains(&SBOM_ASSET_DIGEST_MISSING.code));
    // A pkg:generic purl names the asset too, upper-case hex and all.
    let mut doc = bom("1.6");
    doc["components"][1]["name"] = json!("linux build");
    doc["components"][1]["purl"] = json!("pkg:generic/app-1.0-linux.tar.gz@1.0");
    doc["components"][1]["hashes"] = json!([{"alg": "SHA-256", "content": "AB".repeat(32)}]);
    let report = judge(&doc, Some(&assets));
    assert!(
        report.has(SBOM_ASSET_DIGEST_MATCH),
        "{}",
        report.to_text(true)
    );
    // Naming no asset: a warning that the BOM is not bound to the release.
    let other: BTreeMap<String, Sha256Digest> = [("other.zip".to_owned(), digest)].into();
    let report = judge(&bom("1.6"), Some(&other));
    assert!(report.ok());
    assert!(report.has(SBOM_ASSETS_UNMATCHED));
}

#[test]
fn cyclonedx_is_recognised_by_content_and_spdx_is_not_mistaken_for_it() {
    assert!(CycloneDx.recognises(br#"{"bomFormat": "CycloneDX"}"#));
    assert!(!CycloneDx.recognises(br#"{"spdxVersion": "SPDX-2.3"}"#));
    assert_eq!(
        format_of(br#"{"spdxVersion": "SPDX-2.3"}"#).name(),
        "SPDX JSON"
    );
    let report = judge(&json!({"bomFormat": "CycloneDX"}), None);
    assert!(failing(&report).contains(&SBOM_VERSION_UNSUPPORTED.code));
    let bytes = br#"["bomFormat"]"#;
    let report = CycloneDx.verify(bytes, None, &SbomLimits::default());
    assert!(failing(&report).contains(&SBOM_SCHEMA_INVALID.code));
    let bytes = br#"{"bomFormat": "CycloneDX", "bomFormat": "CycloneDX"}"#;
    let report = CycloneDx.verify(bytes, None, &SbomLimits::default());
    assert!(failing(&report).contains(&SBOM_INVALID_JSON.code));
}

proptest! {
    /// Whatever JSON a BOM holds, judging it never panics, and a BOM that passes has
    /// `sbom-valid` while one that fails has not.
    #[test]
    fn any_json_is_judged_without_panicking(
        extra in proptest::collection::vec(("[a-z-]{1,8}", "[ -~]{0,12}"), 0..6),
        ty in "(application|library|file|gadget|)",
        alg in "(SHA-256|SHA-1|MD5|SHA3-512|X)",
        content in "[0-9a-fA-Fz]{0,130}",
    ) {
        let mut doc = bom("1.6");
        for (k, v) in &extra {
            doc["components"][1][k.as_str()] = json!(v);
        }
        doc["components"][0]["type"] = json!(ty);
        doc["components"][1]["hashes"] = json!([{"alg": alg, "content": content}]);
        let report = judge(&doc, None);
        prop_assert_eq!(report.ok(), report.has(SBOM_VALID));
    }
}

#[test]
fn limits_are_enforced_before_judging() {
    let limits = SbomLimits {
        max_elements: 1,
        ..SbomLimits::default()
    };
    let bytes = serde_json::to_vec(&bom("1.6")).unwrap();
    assert!(CycloneDx.verify(&bytes, None, &SbomLimits::default()).ok());
    let report = CycloneDx.verify(&bytes, None, &limits);
    assert!(
        report.has(crate::report::codes::INPUT_TOO_LARGE),
        "{}",
        report.to_text(true)
    );
    let limits = SbomLimits {
        max_string_bytes: 8,
        ..SbomLimits::default()
    };
    let report = CycloneDx.verify(&bytes, None, &limits);
    assert!(report.has(crate::report::codes::INPUT_TOO_LARGE));
}
