//! Our CycloneDX verdicts beside those of an independent implementation: the CycloneDX
//! project's own `cyclonedx-python-lib`, whose strict validator checks a BOM against the
//! official JSON schema of its `specVersion`.
//!
//! Where the schema can say it (document shape, `specVersion`, `serialNumber`, component
//! types per version, hash algorithm names and lengths, mandatory names and types), both must
//! agree. What the schema cannot express (every `bom-ref` unique, every dependency reference
//! resolving, a hash as long as its algorithm's output rather than any standard length: rules
//! of the specification's prose, or plain facts, that a verifier needs) the schema validator
//! accepts and we refuse; those cases assert exactly that disagreement.
//!
//! Needs a Python with `cyclonedx-python-lib[json-validation]` (`EVIDENCE_CYCLONEDX_PYTHON`,
//! set by `.ci/run`); without it each test prints one skip line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use evidence_core::sbom::{self, SbomLimits};
use serde_json::{Value, json};

const INSTALL: &str = "pip install 'cyclonedx-python-lib[json-validation]' and set EVIDENCE_CYCLONEDX_PYTHON to that python";

/// The validator as a small program: a BOM on standard input, its verdict on standard output.
const VALIDATE: &str = r#"
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
text = sys.stdin.read()
version = json.loads(text).get("specVersion")
schema = {"1.4": SchemaVersion.V1_4, "1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}.get(version)
if schema is None:
    print("invalid: no schema for specVersion %r" % (version,))
else:
    error = JsonStrictValidator(schema).validate_str(text)
    print("valid" if error is None else "invalid: %s" % str(error).splitlines()[0][:200])
"#;

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("EVIDENCE_CYCLONEDX_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&python)
        .args(["-c", "import cyclonedx.validation.json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        evidence_tests::skip_or_fail(&format!("needs cyclonedx-python-lib ({INSTALL})"));
        None
    }
}

/// The schema validator's verdict: `Ok(())` or the first line of its error.
fn theirs(python: &PathBuf, bytes: &[u8]) -> Result<(), String> {
    let mut child = Command::new(python)
        .args(["-c", VALIDATE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "validator crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    match text.trim() {
        "valid" => Ok(()),
        other => Err(other.to_owned()),
    }
}

/// Our verdict: `Ok(())` or the failing codes.
fn ours(bytes: &[u8]) -> Result<(), Vec<String>> {
    let report = sbom::format_of(bytes).verify(bytes, None, &SbomLimits::default());
    if report.ok() {
        Ok(())
    } else {
        Err(report
            .checks
            .iter()
            .filter(|c| c.status == evidence_core::report::Status::Fail)
            .map(|c| c.code.to_string())
            .collect())
    }
}

fn base(version: &str) -> Value {
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": version,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "app", "bom-ref": "app"}},
        "components": [
            {"type": "library", "name": "serde", "version": "1.0.0", "bom-ref": "serde",
             "purl": "pkg:cargo/serde@1.0.0",
             "hashes": [{"alg": "SHA-256", "content": "ab".repeat(32)}],
             "licenses": [{"license": {"id": "MIT"}}]}
        ],
        "dependencies": [{"ref": "app", "dependsOn": ["serde"]}, {"ref": "serde"}]
    })
}

/// A case: its name, the document, and the failing code we must report (None: valid).
type Case = (&'static str, Value, Option<&'static str>);

fn schema_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = vec![
        ("valid-1.4", base("1.4"), None),
        ("valid-1.5", base("1.5"), None),
        ("valid-1.6", base("1.6"), None),
    ];
    let mut edit =
        |name: &'static str, version: &str, code: &'static str, f: &dyn Fn(&mut Value)| {
            let mut doc = base(version);
            f(&mut doc);
            cases.push((name, doc, Some(code)));
        };
    edit("bom-format-misspelt", "1.6", "sbom-schema-invalid", &|d| {
        d["bomFormat"] = json!("CycloneDx")
    });
    edit(
        "serial-number-not-a-urn",
        "1.6",
        "sbom-serial-number-invalid",
        &|d| d["serialNumber"] = json!("3e671687-395b-41f5-a30f-a58921a69b79"),
    );
    edit(
        "serial-number-upper-case",
        "1.5",
        "sbom-serial-number-invalid",
        &|d| d["serialNumber"] = json!("urn:uuid:3E671687-395B-41F5-A30F-A58921A69B79"),
    );
    edit("version-zero", "1.6", "sbom-serial-number-invalid", &|d| {
        d["version"] = json!(0)
    });
    edit(
        "platform-type-in-1.4",
        "1.4",
        "sbom-component-type-invalid",
        &|d| d["components"][0]["type"] = json!("platform"),
    );
    edit(
        "cryptographic-asset-in-1.5",
        "1.5",
        "sbom-component-type-invalid",
        &|d| d["components"][0]["type"] = json!("cryptographic-asset"),
    );
    edit(
        "hash-algorithm-spdx-spelling",
        "1.6",
        "sbom-checksum-invalid",
        &|d| d["components"][0]["hashes"][0]["alg"] = json!("SHA256"),
    );
    edit(
        "hash-content-too-short",
        "1.6",
        "sbom-checksum-invalid",
        &|d| d["components"][0]["hashes"][0]["content"] = json!("ab".repeat(15)),
    );
    edit(
        "component-without-name",
        "1.6",
        "sbom-field-missing",
        &|d| {
            d["components"][0].as_object_mut().unwrap().remove("name");
        },
    );
    edit(
        "component-without-type",
        "1.5",
        "sbom-field-missing",
        &|d| {
            d["components"][0].as_object_mut().unwrap().remove("type");
        },
    );
    edit(
        "dependency-without-ref",
        "1.6",
        "sbom-field-missing",
        &|d| d["dependencies"][1] = json!({"dependsOn": []}),
    );
    cases
}

#[test]
fn schema_rules_agree_with_cyclonedx_python_lib() {
    let Some(python) = python() else {
        return;
    };
    let mut table = Vec::new();
    for (name, doc, code) in schema_cases() {
        let bytes = serde_json::to_vec_pretty(&doc).unwrap();
        let (theirs, ours) = (theirs(&python, &bytes), ours(&bytes));
        table.push(format!("{name}: theirs {theirs:?}, ours {ours:?}"));
        match code {
            None => {
                assert_eq!(theirs, Ok(()), "{name}");
                assert_eq!(ours, Ok(()), "{name}");
            }
            Some(code) => {
                assert!(theirs.is_err(), "{name}: the schema validator accepts it");
                let ours = ours.expect_err(name);
                assert!(ours.contains(&code.to_owned()), "{name}: {ours:?}");
            }
        }
    }
    eprintln!("{}", table.join("\n"));
}

#[test]
fn the_specifications_example_is_valid_for_both() {
    let Some(python) = python() else {
        return;
    };
    let Some(path) = evidence_tests::need_interop("cyclonedx/cyclonedx-spec-valid-bom-1.6.json")
    else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(theirs(&python, &bytes), Ok(()));
    assert_eq!(ours(&bytes), Ok(()));
}

/// Rules of the specification's prose the JSON schema cannot express: the schema validator
/// accepts these BOMs; a verifier must not.
#[test]
fn what_the_schema_cannot_say_we_refuse() {
    let Some(python) = python() else {
        return;
    };
    let mut duplicate = base("1.6");
    duplicate["components"][0]["bom-ref"] = json!("app");
    let mut dangling = base("1.6");
    dangling["dependencies"][0]["dependsOn"] = json!(["serde", "tokio"]);
    let mut short = base("1.6");
    short["components"][0]["hashes"][0]["content"] = json!("ab".repeat(20));
    for (name, doc, code) in [
        ("sha-256-of-sha-1-length", short, "sbom-checksum-invalid"),
        (
            "bom-ref-declared-twice",
            duplicate,
            "sbom-bom-ref-duplicate",
        ),
        (
            "depends-on-nothing-declared",
            dangling,
            "sbom-dependency-dangling",
        ),
    ] {
        let bytes = serde_json::to_vec_pretty(&doc).unwrap();
        assert_eq!(
            theirs(&python, &bytes),
            Ok(()),
            "{name}: the schema now says it; update the doc"
        );
        let ours = ours(&bytes).expect_err(name);
        assert!(ours.contains(&code.to_owned()), "{name}: {ours:?}");
    }
}
