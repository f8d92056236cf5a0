use super::*;
use crate::report::Status;
use proptest::prelude::*;
use serde_json::Value;

/// The official SPDX 2.3 JSON example, read from `../shared/interop` beside the workspace (never
/// copied into the repository); the tests that use it skip without it.
const EXAMPLE: &str = "spdx/SPDXJSONExample-v2.3.spdx.json";

fn example_bytes() -> Vec<u8> {
    std::fs::read(crate::testing::interop(EXAMPLE)).unwrap()
}

fn example() -> Value {
    serde_json::from_slice(&example_bytes()).unwrap()
}

fn run(doc: &Value) -> Report {
    verify_sbom(
        &serde_json::to_vec(doc).unwrap(),
        None,
        &SbomLimits::default(),
    )
}

/// Applies `edit` to the example and verifies the result.
fn edited(edit: impl FnOnce(&mut Value)) -> Report {
    let mut doc = example();
    edit(&mut doc);
    run(&doc)
}

/// Asserts that the report failed with `code` about `path`, and returns that check.
fn failed<'r>(report: &'r Report, code: CheckCode, path: &str) -> &'r Check {
    assert!(!report.ok(), "{}", report.to_text(true));
    assert!(
        !report.has(SBOM_VALID),
        "no sbom-valid pass beside a failure"
    );
    report
        .with_code(code)
        .find(|c| c.status == Status::Fail && c.path.as_deref() == Some(path))
        .unwrap_or_else(|| {
            panic!(
                "no failing {} about {path}:\n{}",
                code.code,
                report.to_text(true)
            )
        })
}

#[test]
fn official_example_passes() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = verify_sbom(&example_bytes(), None, &SbomLimits::default());
    assert!(report.ok(), "{}", report.to_text(true));
    let s = report.summary();
    assert_eq!(
        (s.pass, s.fail, s.warn, s.skip),
        (2, 0, 0, 0),
        "{}",
        report.to_text(true)
    );
    let valid = report.with_code(SBOM_VALID).next().unwrap();
    assert_eq!(valid.path.as_deref(), Some("SPDXRef-DOCUMENT"));
    assert_eq!(valid.section.as_deref(), Some("sbom"));
    assert_eq!(valid.data["packages"], 4);
    assert_eq!(valid.data["files"], 5);
    assert_eq!(valid.data["snippets"], 1);
    assert_eq!(valid.data["relationships"], 7);
    assert_eq!(report.subject["spdx_version"], "SPDX-2.3");
    assert_eq!(
        report.subject["sbom_sha256"],
        Sha256Digest::of(&example_bytes()).to_string()
    );
}

/// Valid SPDX 2.3 that `spdx-rs` 0.5.5 refuses (see the module documentation).
#[test]
fn valid_documents_spdx_rs_refuses_pass() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| {
        d["$schema"] = "https://spdx.org/schema/2.3".into();
        d["revieweds"] = serde_json::json!([{"reviewDate": "2010-02-10T00:00:00Z"}]);
        d["x-vendor-extension"] = serde_json::json!({"anything": [1, 2]});
        // Fields no rule reads may have any type.
        d["creationInfo"]["licenseListVersion"] = 3.17.into();
        d["packages"][0]["versionInfo"] = 2.into();
        d["packages"][2]["externalRefs"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "referenceCategory": "PERSISTENT-ID",
                "referenceType": "swh",
                "referenceLocator": "swh:1:cnt:94a9ed024d3859793618152ea559a168bbcbb5e2"
            }));
    });
    assert!(report.ok(), "{}", report.to_text(true));
    assert!(report.has(SBOM_VALID));
}

#[test]
fn wrong_version_fails_and_2_2_has_its_own_rules() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["spdxVersion"] = "SPDX-2.1".into());
    let c = failed(&report, SBOM_VERSION_UNSUPPORTED, "SPDXRef-DOCUMENT");
    assert_eq!(c.data["actual"], "SPDX-2.1");

    // The 2.3 example relabelled 2.2 breaks twelve 2.2 rules, the twelve pyspdxtools 0.8
    // names: six fields 2.2 requires, six things 2.3 introduced.
    let report = edited(|d| d["spdxVersion"] = "SPDX-2.2".into());
    assert!(!report.has(SBOM_VERSION_UNSUPPORTED));
    let count = |code: CheckCode| {
        report
            .with_code(code)
            .filter(|c| c.status == Status::Fail)
            .count()
    };
    assert_eq!(count(SBOM_FIELD_MISSING), 6, "{}", report.to_text(true));
    assert_eq!(count(SBOM_NOT_IN_VERSION), 6, "{}", report.to_text(true));
    assert_eq!(report.summary().fail, 12, "{}", report.to_text(true));
    let c = failed(&report, SBOM_NOT_IN_VERSION, "SPDXRef-Specification");
    assert_eq!(c.data["actual"], "SPECIFICATION_FOR");
    failed(&report, SBOM_FIELD_MISSING, "SPDXRef-fromDoap-0");
}

/// An edit of a test document.
type Edit = fn(&mut Value);

/// A valid document of `version` with one package whose files were not analysed, and every
/// field SPDX 2.2 requires.
fn small(version: &str) -> Value {
    serde_json::json!({
        "spdxVersion": version,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "small",
        "documentNamespace": "https://example.com/spdx/small-1",
        "creationInfo": {"created": "2023-01-01T00:00:00Z", "creators": ["Tool: test"]},
        "packages": [{
            "SPDXID": "SPDXRef-P",
            "name": "p",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION"
        }]
    })
}

fn small_edited(version: &str, edit: impl FnOnce(&mut Value)) -> Report {
    let mut doc = small(version);
    edit(&mut doc);
    run(&doc)
}

/// A file of the small documents, with every field SPDX 2.2 requires.
fn small_file(name: &str) -> Value {
    serde_json::json!({
        "SPDXID": "SPDXRef-F",
        "fileName": name,
        "checksums": [{"algorithm": "SHA1", "checksumValue": "0".repeat(40)}],
        "licenseConcluded": "NOASSERTION",
        "licenseInfoInFiles": ["NOASSERTION"],
        "copyrightText": "NOASSERTION"
    })
}

#[test]
fn small_documents_of_both_versions_pass() {
    for version in ["SPDX-2.3", "SPDX-2.2"] {
        let report = run(&small(version));
        assert!(report.ok(), "{}", report.to_text(true));
        assert_eq!(report.summary().warn, 0, "{}", report.to_text(true));
    }
}

#[test]
fn a_single_package_needs_no_describes() {
    // SPDX 2.3 clause 11.1: DESCRIBES is mandatory only with more than one package.
    let report = run(&small("SPDX-2.3"));
    assert!(
        !report.has(SBOM_DESCRIBES_NOTHING),
        "{}",
        report.to_text(true)
    );
    let report = small_edited("SPDX-2.3", |d| {
        let second = serde_json::json!({"SPDXID": "SPDXRef-Q", "name": "q", "downloadLocation": "NONE", "filesAnalyzed": false});
        d["packages"].as_array_mut().unwrap().push(second);
    });
    failed(&report, SBOM_DESCRIBES_NOTHING, "SPDXRef-DOCUMENT");
    // A package and a file are more than a single package.
    let report = small_edited("SPDX-2.3", |d| {
        d["files"] = serde_json::json!([small_file("./a")])
    });
    failed(&report, SBOM_DESCRIBES_NOTHING, "SPDXRef-DOCUMENT");
}

#[test]
fn absolute_file_names_fail() {
    let with_file = |name: &str| {
        small_edited("SPDX-2.3", |d| {
            d["documentDescribes"] = serde_json::json!(["SPDXRef-P"]);
            d["files"] = serde_json::json!([small_file(name)]);
        })
    };
    let c = failed(&with_file("/go.mod"), SBOM_FILE_NAME_ABSOLUTE, "SPDXRef-F").clone();
    assert_eq!(c.data["actual"], "/go.mod");
    for relative in ["./go.mod", "go.mod"] {
        let report = with_file(relative);
        assert!(report.ok(), "{relative}: {}", report.to_text(true));
    }
}

#[test]
fn unanalyzed_packages_have_no_files() {
    let contains = |edit: fn(&mut Value)| {
        small_edited("SPDX-2.3", |d| {
            d["documentDescribes"] = serde_json::json!(["SPDXRef-P"]);
            d["files"] = serde_json::json!([small_file("./a")]);
            edit(d);
        })
    };
    let cases: [(Edit, &str); 5] = [
        (
            |d| d["packages"][0]["hasFiles"] = serde_json::json!(["SPDXRef-F"]),
            "hasFiles",
        ),
        (
            |d| {
                d["relationships"] = serde_json::json!([{"spdxElementId": "SPDXRef-P", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-F"}]);
            },
            "relationships",
        ),
        (
            |d| {
                d["relationships"] = serde_json::json!([{"spdxElementId": "SPDXRef-F", "relationshipType": "CONTAINED_BY", "relatedSpdxElement": "SPDXRef-P"}]);
            },
            "relationships",
        ),
        (
            |d| {
                d["packages"][0]["packageVerificationCode"] =
                    serde_json::json!({"packageVerificationCodeValue": "0".repeat(40)});
            },
            "packageVerificationCode",
        ),
        (
            |d| d["packages"][0]["licenseInfoFromFiles"] = serde_json::json!(["MIT"]),
            "licenseInfoFromFiles",
        ),
    ];
    for (edit, field) in cases {
        let report = contains(edit);
        let c = failed(&report, SBOM_FILES_ANALYZED_CONFLICT, "SPDXRef-P");
        assert_eq!(c.data["field"], field);
    }
    // The same package with filesAnalyzed true may contain the file.
    let report = contains(|d| {
        d["packages"][0]["filesAnalyzed"] = true.into();
        d["packages"][0]["hasFiles"] = serde_json::json!(["SPDXRef-F"]);
    });
    assert!(report.ok(), "{}", report.to_text(true));
    // Containing a package is not containing a file.
    let report = contains(|d| {
        d["relationships"] = serde_json::json!([{"spdxElementId": "SPDXRef-P", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-DOCUMENT"}]);
    });
    assert!(
        !report.has(SBOM_FILES_ANALYZED_CONFLICT),
        "{}",
        report.to_text(true)
    );
}

#[test]
fn fractional_seconds_in_created_warn() {
    for created in ["2023-01-01T00:00:00.123Z", "2022-08-18T05:23:38.066146511Z"] {
        let report = small_edited("SPDX-2.3", |d| {
            d["creationInfo"]["created"] = created.into()
        });
        assert!(report.ok(), "{}", report.to_text(true));
        let c = report
            .with_code(SBOM_CREATED_FRACTIONAL_SECONDS)
            .next()
            .unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.data["actual"], created);
    }
    for bad in [
        "2023-01-01T00:00:00.Z",
        "2023-01-01T00:00:00.12a3Z",
        "2023-13-01T00:00:00.123Z",
        "2023-01-01T00:00:00.123+01:00",
    ] {
        let report = small_edited("SPDX-2.3", |d| d["creationInfo"]["created"] = bad.into());
        failed(&report, SBOM_CREATION_INFO_INVALID, "SPDXRef-DOCUMENT");
        assert!(!report.has(SBOM_CREATED_FRACTIONAL_SECONDS), "{bad}");
    }
}

#[test]
fn spdx_2_2_requires_what_2_3_made_optional() {
    for field in ["licenseConcluded", "licenseDeclared", "copyrightText"] {
        let without = |d: &mut Value| {
            d["packages"][0].as_object_mut().unwrap().remove(field);
        };
        let c = failed(
            &small_edited("SPDX-2.2", without),
            SBOM_FIELD_MISSING,
            "SPDXRef-P",
        )
        .clone();
        assert_eq!(c.data["field"], field);
        let report = small_edited("SPDX-2.3", without);
        assert!(report.ok(), "2.3 without {field}: {}", report.to_text(true));
    }
    // 2.2 clause 7.9: analysed files need a verification code (absent filesAnalyzed is true).
    for analyzed in [Some(true), None] {
        let edit = |d: &mut Value| match analyzed {
            Some(a) => d["packages"][0]["filesAnalyzed"] = a.into(),
            None => {
                d["packages"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("filesAnalyzed");
            }
        };
        let c = failed(
            &small_edited("SPDX-2.2", edit),
            SBOM_FIELD_MISSING,
            "SPDXRef-P",
        )
        .clone();
        assert_eq!(c.data["field"], "packageVerificationCode");
        assert!(small_edited("SPDX-2.3", edit).ok());
    }
    for field in ["licenseConcluded", "licenseInfoInFiles", "copyrightText"] {
        let report = small_edited("SPDX-2.2", |d| {
            let mut file = small_file("./a");
            file.as_object_mut().unwrap().remove(field);
            d["files"] = serde_json::json!([file]);
            d["documentDescribes"] = serde_json::json!(["SPDXRef-P"]);
        });
        let c = failed(&report, SBOM_FIELD_MISSING, "SPDXRef-F");
        assert_eq!(c.data["field"], field);
    }
}

#[test]
fn spdx_2_2_refuses_what_2_3_introduced() {
    let cases: [(Edit, &str); 7] = [
        (
            |d| d["packages"][0]["primaryPackagePurpose"] = "LIBRARY".into(),
            "LIBRARY",
        ),
        (
            |d| d["packages"][0]["releaseDate"] = "2023-01-01T00:00:00Z".into(),
            "2023-01-01T00:00:00Z",
        ),
        (
            |d| d["packages"][0]["builtDate"] = "2023-01-01T00:00:00Z".into(),
            "2023-01-01T00:00:00Z",
        ),
        (
            |d| d["packages"][0]["validUntilDate"] = "2023-01-01T00:00:00Z".into(),
            "2023-01-01T00:00:00Z",
        ),
        (
            |d| {
                d["packages"][0]["checksums"] =
                    serde_json::json!([{"algorithm": "SHA3-256", "checksumValue": "0".repeat(64)}])
            },
            "SHA3-256",
        ),
        (
            |d| d["packages"][0]["externalRefs"] = serde_json::json!([{"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": "https://example.com/a"}]),
            "advisory",
        ),
        (
            |d| d["relationships"] = serde_json::json!([{"spdxElementId": "SPDXRef-P", "relationshipType": "SPECIFICATION_FOR", "relatedSpdxElement": "NONE"}]),
            "SPECIFICATION_FOR",
        ),
    ];
    for (edit, actual) in cases {
        let c = failed(
            &small_edited("SPDX-2.2", edit),
            SBOM_NOT_IN_VERSION,
            "SPDXRef-P",
        )
        .clone();
        assert_eq!(c.data["actual"], actual);
        let report = small_edited("SPDX-2.3", edit);
        assert!(report.ok(), "2.3 with {actual}: {}", report.to_text(true));
    }
}

#[test]
fn data_license_and_document_spdxid() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["dataLicense"] = "MIT".into());
    failed(&report, SBOM_DATA_LICENSE_INVALID, "SPDXRef-DOCUMENT");

    let report = edited(|d| d["SPDXID"] = "SPDXRef-Doc".into());
    failed(&report, SBOM_SPDXID_INVALID, "SPDXRef-Doc");
}

#[test]
fn malformed_and_duplicate_spdxids() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["packages"][1]["SPDXID"] = "SPDXRef-from Doap".into());
    let c = failed(&report, SBOM_SPDXID_INVALID, "SPDXRef-from Doap");
    assert_eq!(c.data["location"], "packages[1]");

    let report = edited(|d| d["files"][1]["SPDXID"] = "SPDXRef-DoapSource".into());
    let c = failed(&report, SBOM_SPDXID_DUPLICATE, "SPDXRef-DoapSource");
    assert_eq!(c.data["spdx_id"], "SPDXRef-DoapSource");
    assert_eq!(c.data["first"], "files[0]");
    assert_eq!(c.data["second"], "files[1]");

    // An element may not take the document's own SPDXID.
    let report = edited(|d| d["snippets"][0]["SPDXID"] = "SPDXRef-DOCUMENT".into());
    failed(&report, SBOM_SPDXID_DUPLICATE, "SPDXRef-DOCUMENT");
}

#[test]
fn bad_namespaces() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    for ns in [
        "",
        "spdx.org/spdxdocs/no-scheme",
        "http://spdx.org/doc#part",
        "http://spdx.org/a doc",
    ] {
        let report = edited(|d| d["documentNamespace"] = ns.into());
        let c = failed(&report, SBOM_NAMESPACE_INVALID, "SPDXRef-DOCUMENT");
        assert_eq!(c.data["actual"], ns);
    }
    let report = edited(|d| {
        d.as_object_mut().unwrap().remove("documentNamespace");
    });
    failed(&report, SBOM_NAMESPACE_INVALID, "SPDXRef-DOCUMENT");
}

#[test]
fn creation_info_problems() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["creationInfo"]["creators"] = serde_json::json!([]));
    failed(&report, SBOM_CREATION_INFO_INVALID, "SPDXRef-DOCUMENT");

    let report = edited(|d| {
        d["creationInfo"]
            .as_object_mut()
            .unwrap()
            .remove("creators");
    });
    failed(&report, SBOM_CREATION_INFO_INVALID, "SPDXRef-DOCUMENT");

    let report = edited(|d| d["creationInfo"]["creators"][1] = "ExampleCodeInspect".into());
    let c = failed(&report, SBOM_CREATION_INFO_INVALID, "SPDXRef-DOCUMENT");
    assert_eq!(c.data["actual"], "ExampleCodeInspect");

    for created in [
        "2010-01-29T18:30:22+01:00",
        "2010-01-29",
        "2010-13-29T18:30:22Z",
        "",
    ] {
        let report = edited(|d| d["creationInfo"]["created"] = created.into());
        failed(&report, SBOM_CREATION_INFO_INVALID, "SPDXRef-DOCUMENT");
    }

    let report = edited(|d| {
        d.as_object_mut().unwrap().remove("creationInfo");
    });
    failed(&report, SBOM_CREATION_INFO_INVALID, "SPDXRef-DOCUMENT");
}

#[test]
fn dangling_relationships() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["relationships"][2]["relatedSpdxElement"] = "SPDXRef-Missing".into());
    let c = failed(&report, SBOM_RELATIONSHIP_DANGLING, "SPDXRef-Package");
    assert_eq!(c.data["target"], "SPDXRef-Missing");
    assert_eq!(c.data["spdx_id"], "SPDXRef-Package");

    let report = edited(|d| d["relationships"][2]["spdxElementId"] = "SPDXRef-Ghost".into());
    failed(&report, SBOM_RELATIONSHIP_DANGLING, "SPDXRef-Ghost");

    // NONE and NOASSERTION only on the related side.
    let report = edited(|d| d["relationships"][3]["spdxElementId"] = "NOASSERTION".into());
    failed(&report, SBOM_RELATIONSHIP_DANGLING, "NOASSERTION");
    let report = edited(|d| d["relationships"][3]["relatedSpdxElement"] = "NONE".into());
    assert!(report.ok(), "{}", report.to_text(true));

    // A DocumentRef- must be declared.
    let report = edited(|d| {
        d["relationships"][1]["relatedSpdxElement"] = "DocumentRef-other:SPDXRef-X".into();
    });
    failed(&report, SBOM_RELATIONSHIP_DANGLING, "SPDXRef-DOCUMENT");

    // documentDescribes, hasFiles and snippetFromFile are references too.
    let report = edited(|d| d["documentDescribes"][0] = "SPDXRef-Nothing".into());
    failed(&report, SBOM_RELATIONSHIP_DANGLING, "SPDXRef-DOCUMENT");
    let report = edited(|d| d["packages"][0]["hasFiles"][0] = "SPDXRef-Nothing".into());
    failed(&report, SBOM_RELATIONSHIP_DANGLING, "SPDXRef-Package");
    let report = edited(|d| d["snippets"][0]["snippetFromFile"] = "SPDXRef-Package".into());
    failed(&report, SBOM_RELATIONSHIP_DANGLING, "SPDXRef-Snippet");

    let report = edited(|d| d["relationships"][0]["relationshipType"] = "OWNS".into());
    let c = failed(&report, SBOM_RELATIONSHIP_TYPE_INVALID, "SPDXRef-DOCUMENT");
    assert_eq!(c.data["actual"], "OWNS");
}

#[test]
fn the_document_must_describe_something() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let without = |d: &mut Value| {
        d.as_object_mut().unwrap().remove("documentDescribes");
    };
    let report = edited(without);
    failed(&report, SBOM_DESCRIBES_NOTHING, "SPDXRef-DOCUMENT");

    let report = edited(|d| {
        without(d);
        d["relationships"][0]["relationshipType"] = "DESCRIBES".into();
    });
    assert!(report.ok(), "{}", report.to_text(true));

    let report = edited(|d| {
        without(d);
        d["relationships"][4] = serde_json::json!({
            "spdxElementId": "SPDXRef-File",
            "relationshipType": "DESCRIBED_BY",
            "relatedSpdxElement": "SPDXRef-DOCUMENT"
        });
    });
    assert!(report.ok(), "{}", report.to_text(true));

    // Describing NONE describes nothing.
    let report = edited(|d| {
        without(d);
        d["relationships"][0]["relationshipType"] = "DESCRIBES".into();
        d["relationships"][0]["relatedSpdxElement"] = "NONE".into();
    });
    failed(&report, SBOM_DESCRIBES_NOTHING, "SPDXRef-DOCUMENT");
}

#[test]
fn checksum_problems() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| {
        d["packages"][0]["checksums"][2]["checksumValue"] =
            "11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efc".into();
    });
    let c = failed(&report, SBOM_CHECKSUM_INVALID, "SPDXRef-Package");
    assert_eq!(c.data["algorithm"], "SHA256");

    let report = edited(|d| {
        d["files"][0]["checksums"][0]["checksumValue"] =
            "2FD4E1C67A2D28FCED849EE1BB76E7391B93EB12".into();
    });
    failed(&report, SBOM_CHECKSUM_INVALID, "SPDXRef-DoapSource");

    let report = edited(|d| d["files"][0]["checksums"][0]["algorithm"] = "SHA-1".into());
    failed(&report, SBOM_CHECKSUM_INVALID, "SPDXRef-DoapSource");

    let report = edited(|d| {
        d["externalDocumentRefs"][0]["checksum"]["checksumValue"] = "d6a770ba".into();
    });
    failed(&report, SBOM_CHECKSUM_INVALID, "DocumentRef-spdx-tool-1.2");

    // Every file needs a SHA1 (clause 8.4), even when it has a stronger digest.
    let report = edited(|d| {
        d["files"][3]["checksums"] = serde_json::json!([{
            "algorithm": "SHA256",
            "checksumValue": "11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd"
        }]);
    });
    let c = failed(&report, SBOM_CHECKSUM_MISSING, "SPDXRef-Specification");
    assert_eq!(c.data["algorithms"], serde_json::json!(["SHA256"]));

    // Variable-length algorithms.
    for (algorithm, len, ok) in [
        ("BLAKE3", 64, true),
        ("BLAKE3", 128, true),
        ("BLAKE3", 62, false),
        ("BLAKE3", 65, false),
        ("MD6", 2, true),
        ("MD6", 128, true),
        ("MD6", 130, false),
        ("ADLER32", 8, true),
    ] {
        let report = edited(|d| {
            d["packages"][3]["checksums"].as_array_mut().unwrap().push(
                serde_json::json!({"algorithm": algorithm, "checksumValue": "a".repeat(len)}),
            );
        });
        assert_eq!(
            report.ok(),
            ok,
            "{algorithm} {len}: {}",
            report.to_text(true)
        );
    }
}

#[test]
fn license_problems() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["packages"][0]["licenseConcluded"] = "MIT AND".into());
    let c = failed(&report, SBOM_LICENSE_INVALID, "SPDXRef-Package");
    assert_eq!(c.data["field"], "licenseConcluded");

    let report = edited(|d| d["files"][4]["licenseInfoInFiles"][0] = "GPL-2.0-only OR".into());
    failed(&report, SBOM_LICENSE_INVALID, "SPDXRef-File");

    let report = edited(|d| d["snippets"][0]["licenseConcluded"] = "MIT and BSD-2-Clause".into());
    failed(&report, SBOM_LICENSE_INVALID, "SPDXRef-Snippet");

    let report = edited(|d| d["files"][0]["licenseConcluded"] = "LicenseRef-Undeclared".into());
    let c = failed(&report, SBOM_LICENSE_REF_UNDECLARED, "SPDXRef-DoapSource");
    assert_eq!(c.data["license"], "LicenseRef-Undeclared");

    let report = edited(|d| {
        d["packages"][3]["licenseDeclared"] = "DocumentRef-elsewhere:LicenseRef-1".into();
    });
    failed(&report, SBOM_LICENSE_REF_UNDECLARED, "SPDXRef-Saxon");

    // A DocumentRef- that is declared is fine.
    let report = edited(|d| {
        d["packages"][3]["licenseDeclared"] = "DocumentRef-spdx-tool-1.2:LicenseRef-9".into();
    });
    assert!(report.ok(), "{}", report.to_text(true));

    let report = edited(|d| {
        d["hasExtractedLicensingInfos"][1]["licenseId"] = "LicenseRef-1".into();
    });
    failed(&report, SBOM_LICENSE_INVALID, "LicenseRef-1");

    // Identifiers missing from the License List only warn.
    let report = edited(|d| {
        d["packages"][3]["licenseConcluded"] =
            "Not-Yet-Listed-1.0 WITH Some-exception-9 OR mit".into();
    });
    assert!(report.ok(), "{}", report.to_text(true));
    let warnings: Vec<_> = report.with_code(SBOM_LICENSE_UNKNOWN).collect();
    assert_eq!(warnings.len(), 2, "{}", report.to_text(true));
    assert!(
        warnings
            .iter()
            .all(|c| c.status == Status::Warn && c.path.as_deref() == Some("SPDXRef-Saxon"))
    );
}

#[test]
fn purl_problems() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| {
        d["packages"][2]["externalRefs"][0]["referenceLocator"] = "pkg:maven".into();
    });
    let c = failed(&report, SBOM_PURL_INVALID, "SPDXRef-fromDoap-0");
    assert_eq!(c.data["actual"], "pkg:maven");

    let report = edited(|d| {
        d["packages"][2]["externalRefs"][0]["referenceLocator"] =
            "pkg:maven/org.apache.jena/apache jena@3.12.0".into();
    });
    failed(&report, SBOM_PURL_INVALID, "SPDXRef-fromDoap-0");

    // Only purl references are parsed as purls.
    let report = edited(|d| {
        d["packages"][0]["externalRefs"][0]["referenceLocator"] = "not a cpe".into();
    });
    assert!(report.ok(), "{}", report.to_text(true));
}

#[test]
fn required_fields() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| {
        d["packages"][1].as_object_mut().unwrap().remove("name");
    });
    let c = failed(&report, SBOM_FIELD_MISSING, "SPDXRef-fromDoap-1");
    assert_eq!(c.data["field"], "name");

    let report = edited(|d| d["files"][2]["fileName"] = "".into());
    failed(&report, SBOM_FIELD_MISSING, "SPDXRef-JenaLib");

    let report = edited(|d| {
        d["files"][2].as_object_mut().unwrap().remove("SPDXID");
    });
    failed(&report, SBOM_FIELD_MISSING, "files[2]");
}

#[test]
fn wrong_json_types_are_schema_errors_naming_the_element() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let report = edited(|d| d["packages"][1]["name"] = 5.into());
    let c = failed(
        &report,
        SBOM_SCHEMA_INVALID,
        "packages[1] (SPDXRef-fromDoap-1)",
    );
    assert!(c.detail.contains("invalid type"), "{}", c.detail);

    let report = edited(|d| d["relationships"] = serde_json::json!({"a": 1}));
    failed(&report, SBOM_SCHEMA_INVALID, "relationships");

    let report = edited(|d| d["creationInfo"]["creators"] = "Tool: x".into());
    failed(&report, SBOM_SCHEMA_INVALID, "document");

    let report = run(&serde_json::json!([1, 2]));
    failed(&report, SBOM_SCHEMA_INVALID, "document");
}

#[test]
fn duplicate_json_keys_are_a_parse_error() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let text = String::from_utf8(example_bytes()).unwrap();
    let dup = text.replacen(
        "\"name\" : \"SPDX-Tools-v2.0\",",
        "\"name\" : \"SPDX-Tools-v2.0\", \"name\" : \"Other\",",
        1,
    );
    assert_ne!(dup, text);
    assert!(matches!(
        parse(dup.as_bytes(), &SbomLimits::default()),
        Err(SbomError::Json(JsonError::DuplicateKey { ref key, .. })) if key == "name"
    ));
    let report = verify_sbom(dup.as_bytes(), None, &SbomLimits::default());
    assert!(!report.ok());
    let c = report.with_code(SBOM_INVALID_JSON).next().unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(c.line.is_some());

    // Nested duplicates too.
    let dup = text.replacen(
        "\"SPDXID\" : \"SPDXRef-Saxon\",",
        "\"SPDXID\" : \"SPDXRef-Saxon\", \"SPDXID\" : \"SPDXRef-Other\",",
        1,
    );
    let report = verify_sbom(dup.as_bytes(), None, &SbomLimits::default());
    assert!(report.has(SBOM_INVALID_JSON));

    let report = verify_sbom(b"{\"SPDXID\": ", None, &SbomLimits::default());
    assert!(report.has(SBOM_INVALID_JSON));
    assert!(!report.ok());
}

fn too_large(bytes: &[u8], limits: &SbomLimits) {
    let started = std::time::Instant::now();
    let report = verify_sbom(bytes, None, limits);
    assert!(!report.ok());
    let c = report.with_code(INPUT_TOO_LARGE).next().unwrap_or_else(|| {
        panic!("{}", report.to_text(true));
    });
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.section.as_deref(), Some("sbom"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn hostile_inputs_fail_cleanly() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let limits = SbomLimits::default();
    // Deep nesting, in a member the model does not even read.
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(200_000), "]".repeat(200_000));
    too_large(deep.as_bytes(), &limits);

    // More elements than the limit.
    let small = SbomLimits {
        max_elements: 1_000,
        ..limits
    };
    let many = format!("{{\"files\":[{}{{}}]}}", "{},".repeat(1_000));
    too_large(many.as_bytes(), &small);
    let report = verify_sbom(many.as_bytes(), None, &limits);
    assert!(!report.has(INPUT_TOO_LARGE), "within the default limit");

    let small = SbomLimits {
        max_relationships: 10,
        ..limits
    };
    let rels = format!("{{\"relationships\":[{}{{}}]}}", "{},".repeat(10));
    too_large(rels.as_bytes(), &small);

    // A huge array of anything runs into the value limit.
    let small = SbomLimits {
        max_values: 100_000,
        ..limits
    };
    let huge = format!("{{\"packages\":[{}0]}}", "0,".repeat(200_000));
    too_large(huge.as_bytes(), &small);

    // Small objects run into the memory limit long before the value limit: 100,000 of them
    // in 800 KB would take over 60 MiB once parsed.
    let small = SbomLimits {
        max_memory: 16 << 20,
        ..limits
    };
    let objects = format!("{{\"packages\":[{}{{}}]}}", r#"{"a":0},"#.repeat(100_000));
    too_large(objects.as_bytes(), &small);
    assert!(matches!(
        parse(objects.as_bytes(), &small),
        Err(SbomError::Json(JsonError::TooMuchMemory { limit })) if limit == 16 << 20
    ));

    // Long strings, values and member names alike.
    let small = SbomLimits {
        max_string_bytes: 1_000,
        ..limits
    };
    let long = format!("{{\"comment\":\"{}\"}}", "a".repeat(1_001));
    too_large(long.as_bytes(), &small);
    let long = format!("{{\"x\":{{\"{}\":1}}}}", "a".repeat(1_001));
    too_large(long.as_bytes(), &small);

    // More bytes than the limit.
    let small = SbomLimits {
        max_bytes: 1_000,
        ..limits
    };
    too_large(&example_bytes(), &small);
}

#[test]
fn default_limits_keep_the_official_example_and_cap_hostile_sizes() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let l = SbomLimits::default();
    assert_eq!(l.max_bytes, 64 << 20);
    assert_eq!(l.max_depth, 32);
    assert!(parse(&example_bytes(), &l).is_ok());
}

fn digest(hex: &str) -> Sha256Digest {
    Sha256Digest::from_hex(hex).unwrap()
}

const GLIBC_SHA256: &str = "11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd";

fn cross(assets: &[(&str, Sha256Digest)]) -> Vec<Check> {
    let doc = parse(&example_bytes(), &SbomLimits::default()).unwrap();
    let assets: BTreeMap<String, Sha256Digest> =
        assets.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    cross_check(&doc, &assets)
}

#[test]
fn cross_check_match() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let checks = cross(&[
        ("glibc-2.11.1.tar.gz", digest(GLIBC_SHA256)),
        ("unrelated.bin", Sha256Digest::of(b"x")),
    ]);
    assert_eq!(checks.len(), 1, "{checks:?}");
    let c = &checks[0];
    assert!(c.is(SBOM_ASSET_DIGEST_MATCH));
    assert_eq!(c.status, Status::Pass);
    assert_eq!(c.section.as_deref(), Some("cross-checks"));
    assert_eq!(c.path.as_deref(), Some("SPDXRef-Package"));
    assert_eq!(c.data["asset"], "glibc-2.11.1.tar.gz");
}

#[test]
fn cross_check_mismatch() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let actual = Sha256Digest::of(b"the real release asset");
    let checks = cross(&[("glibc-2.11.1.tar.gz", actual)]);
    assert_eq!(checks.len(), 1, "{checks:?}");
    let c = &checks[0];
    assert!(c.is(SBOM_ASSET_DIGEST_MISMATCH));
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.path.as_deref(), Some("SPDXRef-Package"));
    assert_eq!(c.data["expected"], actual.to_string());
    assert_eq!(c.data["actual"], format!("sha256:{GLIBC_SHA256}"));
}

#[test]
fn cross_check_weak_digests_never_count() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    // SPDXRef-Saxon (packageFileName saxonB-8.8.zip) has only a SHA1; SPDXRef-File
    // (./package/foo.c) only SHA1 and MD5.
    let checks = cross(&[
        ("saxonB-8.8.zip", Sha256Digest::of(b"saxon")),
        ("package/foo.c", Sha256Digest::of(b"foo")),
    ]);
    assert_eq!(checks.len(), 2, "{checks:?}");
    for (c, path, algorithms) in [
        (&checks[0], "SPDXRef-Saxon", serde_json::json!(["SHA1"])),
        (
            &checks[1],
            "SPDXRef-File",
            serde_json::json!(["SHA1", "MD5"]),
        ),
    ] {
        assert!(c.is(SBOM_ASSET_DIGEST_MISSING), "{c:?}");
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.path.as_deref(), Some(path));
        assert_eq!(c.data["algorithms"], algorithms);
    }
}

#[test]
fn cross_check_names_must_match_exactly() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    // No element names these: the SBOM is not bound to the release.
    let checks = cross(&[
        ("GLIBC-2.11.1.tar.gz", digest(GLIBC_SHA256)),
        ("dist/glibc-2.11.1.tar.gz", digest(GLIBC_SHA256)),
        ("glibc-ports-2.15.tar.gz", digest(GLIBC_SHA256)),
    ]);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(checks[0].is(SBOM_ASSETS_UNMATCHED));
    assert_eq!(checks[0].status, Status::Warn);
    let checks = cross(&[]);
    assert!(checks[0].is(SBOM_ASSETS_UNMATCHED));
}

#[test]
fn verify_sbom_runs_every_stage() {
    if !crate::testing::have_interop(EXAMPLE) {
        return;
    }
    let assets: BTreeMap<String, Sha256Digest> =
        [("glibc-2.11.1.tar.gz".to_owned(), digest(GLIBC_SHA256))].into();
    let report = verify_sbom(&example_bytes(), Some(&assets), &SbomLimits::default());
    assert!(report.ok(), "{}", report.to_text(true));
    let sections: Vec<_> = report
        .checks
        .iter()
        .map(|c| (c.code.as_ref(), c.section.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        sections,
        [
            ("sbom-parsed", "sbom"),
            ("sbom-valid", "sbom"),
            ("sbom-asset-digest-match", "cross-checks")
        ]
    );
    let wrong: BTreeMap<String, Sha256Digest> =
        [("glibc-2.11.1.tar.gz".to_owned(), Sha256Digest::of(b"x"))].into();
    let report = verify_sbom(&example_bytes(), Some(&wrong), &SbomLimits::default());
    assert!(!report.ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let report = verify_sbom(&bytes, None, &SbomLimits::default());
        prop_assert!(!report.ok());
    }

    /// Replaces one string anywhere in the example with arbitrary text: never a panic, and the
    /// report is consistent.
    #[test]
    fn mutated_example_never_panics(index in 0usize..400, text in "\\PC{0,24}") {
        // Without the example (a fresh clone) the tests above have said so once each.
        if !crate::testing::interop(EXAMPLE).exists() {
            return Ok(());
        }
        let mut doc = example();
        let mut n = 0;
        replace_nth_string(&mut doc, index, &text, &mut n);
        let report = run(&doc);
        prop_assert_eq!(report.ok(), report.failures().next().is_none());
    }
}

fn replace_nth_string(value: &mut Value, index: usize, text: &str, n: &mut usize) {
    match value {
        Value::String(s) => {
            if *n == index {
                *s = text.to_owned();
            }
            *n += 1;
        }
        Value::Array(items) => {
            for item in items {
                replace_nth_string(item, index, text, n);
            }
        }
        Value::Object(members) => {
            for item in members.values_mut() {
                replace_nth_string(item, index, text, n);
            }
        }
        _ => {}
    }
}
