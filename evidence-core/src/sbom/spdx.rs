//! SPDX 2.3 (and 2.2) JSON: parse, validate, cross-check against a release.
//!
//! Three stages (DESIGN section 2):
//!
//! 1. **raw**: [`parse`] reads the bytes with the strict JSON reader ([`crate::json`]:
//!    duplicate keys refused at any depth, size, depth and value-count limits), then enforces
//!    the SBOM limits ([`SbomLimits`]: elements, relationships, string length) and reads the
//!    fields this module checks into an [`SpdxDocument`];
//! 2. **checked**: [`validate`] applies the SPDX 2.3 (or 2.2) rules `docs/FORMAT.md` lists (version,
//!    data license, SPDXIDs, namespace, creation info, references, relationships, DESCRIBES,
//!    checksums, license expressions, purls). Every problem is its own check naming the
//!    element's SPDXID; a document with no failure gets one `sbom-valid` pass with counts;
//! 3. **verified**: [`cross_check`] compares the SHA-256 the SBOM gives for each release asset
//!    it names with the asset's SHA-256 from the verified SHA256SUMS.
//!
//! [`verify_sbom`] runs all three into one [`Report`]; [`Spdx`] is the [`SbomFormat`] that
//! does so.
//!
//! # Why not `spdx-rs`
//!
//! The project card names `spdx-rs` as the parser. Version 0.5.5 (the latest, released
//! 2023-09-19, nothing since) parses the official SPDX 2.3 example, but refuses valid SPDX 2.3
//! documents: a top-level `$schema` or `revieweds` member (both in the 2.3 JSON schema; its
//! document struct denies unknown fields), and the `referenceCategory` `PERSISTENT-ID` (its
//! enum spells it `PERSISTENT-I-D`). It also refuses a whole document for one bad license
//! expression or unknown relationship type, so the error cannot name the element, and it
//! accepts documents SPDX forbids (no creators, a `created` time with an offset or fractional
//! seconds, lower-case `and`/`or` operators). We therefore read the fields we check with a
//! serde model of our own ([`model`](super::model)), lenient on fields we do not check and
//! strict on those we do.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::codes::*;
use super::{
    AssetClaim, SbomError, SbomFormat, SbomLimits, SpdxDocument, cross_check_claims, excerpt,
    label, section, validate,
};
use crate::digest::Sha256Digest;
use crate::json::{self, JsonLimits};
use crate::report::{Check, Report};

/// SPDX 2.3 JSON documents.
#[derive(Debug)]
pub struct Spdx;

impl SbomFormat for Spdx {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Every SPDX JSON document has a `spdxVersion` member.
    fn recognises(&self, bytes: &[u8]) -> bool {
        const MARKER: &[u8] = b"\"spdxVersion\"";
        bytes.windows(MARKER.len()).any(|w| w == MARKER)
    }

    fn verify(
        &self,
        bytes: &[u8],
        assets: Option<&BTreeMap<String, Sha256Digest>>,
        limits: &SbomLimits,
    ) -> Report {
        verify_sbom(bytes, assets, limits)
    }
}

/// The format's name in reports.
const NAME: &str = "SPDX JSON";

/// Reads an SPDX JSON document (the raw stage; see the module documentation).
pub fn parse(bytes: &[u8], limits: &SbomLimits) -> Result<SpdxDocument, SbomError> {
    let json_limits = JsonLimits {
        max_bytes: limits.max_bytes,
        max_depth: limits.max_depth,
        max_values: limits.max_values,
        max_memory: limits.max_memory,
    };
    let value = json::parse_strict(bytes, &json_limits)?;
    let Value::Object(mut map) = value else {
        return Err(SbomError::Schema {
            location: "document".into(),
            message: "an SPDX JSON document is an object".into(),
        });
    };
    check_limits(&map, limits)?;
    let packages = take_list(&mut map, "packages")?;
    let files = take_list(&mut map, "files")?;
    let snippets = take_list(&mut map, "snippets")?;
    let relationships = take_list(&mut map, "relationships")?;
    let mut doc: SpdxDocument =
        serde_json::from_value(Value::Object(map)).map_err(|e| SbomError::Schema {
            location: "document".into(),
            message: e.to_string(),
        })?;
    doc.packages = packages;
    doc.files = files;
    doc.snippets = snippets;
    doc.relationships = relationships;
    Ok(doc)
}

fn check_limits(map: &Map<String, Value>, limits: &SbomLimits) -> Result<(), SbomError> {
    let count = |key: &str| map.get(key).and_then(Value::as_array).map_or(0, Vec::len);
    let elements = count("packages") + count("files") + count("snippets");
    if elements > limits.max_elements {
        return Err(SbomError::Limit {
            what: "packages, files and snippets",
            limit: limits.max_elements as u64,
        });
    }
    if count("relationships") > limits.max_relationships {
        return Err(SbomError::Limit {
            what: "relationships",
            limit: limits.max_relationships as u64,
        });
    }
    let too_long = SbomError::Limit {
        what: "bytes in one string",
        limit: limits.max_string_bytes as u64,
    };
    let mut stack: Vec<&Value> = map.values().collect();
    if map.keys().any(|k| k.len() > limits.max_string_bytes) {
        return Err(too_long);
    }
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) if s.len() > limits.max_string_bytes => return Err(too_long),
            Value::Array(items) => stack.extend(items),
            Value::Object(members) => {
                if members.keys().any(|k| k.len() > limits.max_string_bytes) {
                    return Err(too_long);
                }
                stack.extend(members.values());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Removes `key` from the document and reads each of its items, so an error names the item.
fn take_list<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<Vec<T>, SbomError> {
    match map.remove(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let id = item
                    .get("SPDXID")
                    .and_then(Value::as_str)
                    .map(|id| format!(" ({})", excerpt(id)))
                    .unwrap_or_default();
                serde_json::from_value(item).map_err(|e| SbomError::Schema {
                    location: format!("{key}[{i}]{id}"),
                    message: e.to_string(),
                })
            })
            .collect(),
        Some(_) => Err(SbomError::Schema {
            location: key.to_owned(),
            message: "expected an array".into(),
        }),
    }
}

/// [`cross_check_claims`] over the files and packages of `doc` that name a file: a file's
/// `fileName`, a package's `packageFileName`.
pub fn cross_check(doc: &SpdxDocument, assets: &BTreeMap<String, Sha256Digest>) -> Vec<Check> {
    let packages = doc.packages.iter().enumerate().filter_map(|(i, p)| {
        let name = p.package_file_name.as_deref()?;
        Some(AssetClaim {
            element: label(&p.spdx_id, "packages", i),
            name,
            checksums: &p.checksums,
        })
    });
    let files = doc.files.iter().enumerate().map(|(i, f)| AssetClaim {
        element: label(&f.spdx_id, "files", i),
        name: f.file_name.as_str(),
        checksums: &f.checksums,
    });
    cross_check_claims(
        packages.chain(files),
        assets,
        "no package's packageFileName and no file's fileName",
    )
}

/// Parses, validates and (given the release's verified asset digests) cross-checks an SBOM,
/// returning one report. The subject records the SHA-256 of the exact bytes judged.
pub fn verify_sbom(
    bytes: &[u8],
    assets: Option<&BTreeMap<String, Sha256Digest>>,
    limits: &SbomLimits,
) -> Report {
    let mut report = Report::new(json!({
        "kind": "sbom",
        "format": NAME,
        "sbom_sha256": Sha256Digest::of(bytes).to_string(),
    }));
    let doc = match parse(bytes, limits) {
        Ok(doc) => doc,
        Err(e) => {
            report.push(e.to_check());
            return report;
        }
    };
    if let Value::Object(subject) = &mut report.subject {
        subject.insert("spdx_version".into(), doc.spdx_version.clone().into());
        subject.insert("name".into(), doc.name.clone().into());
        subject.insert(
            "document_namespace".into(),
            doc.document_namespace.clone().into(),
        );
    }
    report.push(
        Check::pass(
            SBOM_PARSED,
            format!(
                "{} packages, {} files, {} snippets, {} relationships",
                doc.packages.len(),
                doc.files.len(),
                doc.snippets.len(),
                doc.relationships.len()
            ),
        )
        .in_section(section::SBOM),
    );
    report.checks.extend(validate(&doc));
    if let Some(assets) = assets {
        report.checks.extend(cross_check(&doc, assets));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::format_of;

    #[test]
    fn spdx_is_recognised_and_judges_what_no_format_recognises() {
        assert!(Spdx.recognises(br#"{"spdxVersion": "SPDX-2.3"}"#));
        assert!(!Spdx.recognises(br#"{"bomFormat": "CycloneDX"}"#));
        assert_eq!(format_of(b"not json").name(), NAME);
        let report = format_of(b"not json").verify(b"not json", None, &SbomLimits::default());
        assert!(report.has(SBOM_INVALID_JSON));
    }
}
