//! CycloneDX 1.4, 1.5 and 1.6 JSON: recognise, validate, cross-check against a release.
//!
//! The same three stages as SPDX ([`super::spdx`]):
//!
//! 1. **raw**: the bytes are read with the strict JSON reader ([`crate::json`]: duplicate
//!    member names refused at any depth, size, depth, value and memory limits), then the SBOM
//!    limits (elements, string length);
//! 2. **checked**: what the CycloneDX schema and specification require and a verifier needs
//!    (`docs/FORMAT.md` 9.2): `bomFormat` is `CycloneDX`; `specVersion` is 1.4, 1.5 or 1.6;
//!    `serialNumber`, when present, is `urn:uuid:` and a lower-case UUID; `version` is an
//!    integer (from 1.5 on, at least 1); every component (`metadata.component`, `components` and their nested
//!    `components`, `metadata.tools.components`) has a `type` its version defines and a
//!    `name`; every `bom-ref` anywhere in the document is unique; every `dependencies[].ref`,
//!    `dependsOn` and `provides` entry names a `bom-ref`; hash algorithms are those of the
//!    schema with contents of their length in hex; license ids and expressions are SPDX
//!    license expressions (ids on the embedded SPDX License List, or a warning); purls are
//!    valid package URLs. Every problem is its own check naming the element by its
//!    `bom-ref` or its JSON position; a BOM with no failure gets one `sbom-valid` pass;
//! 3. **verified**: each component whose `name` is a release asset's path (after one leading
//!    `./`), or whose purl is `pkg:generic/<asset>`, is cross-checked against the asset's
//!    verified digest with [`cross_check_claims`], exactly as SPDX packages and files are.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::codes::*;
use super::license::{self, LicenseExpr, SimpleLicense};
use super::{
    AssetClaim, Checksum, SbomError, SbomFormat, SbomLimits, cross_check_claims, excerpt, purl,
    section,
};
use crate::digest::Sha256Digest;
use crate::json::{self, JsonLimits};
use crate::report::{Check, Report, Status, check_codes};

/// Check codes only CycloneDX documents report (the rest are shared with SPDX).
pub mod codes {
    use super::check_codes;
    check_codes! {
        SBOM_SERIAL_NUMBER_INVALID = "sbom-serial-number-invalid":
            "A CycloneDX serialNumber is not urn:uuid: and a lower-case 8-4-4-4-12 hex UUID (the schema's pattern), or version is not an integer (from 1.5 on, of at least 1).";
        SBOM_COMPONENT_TYPE_INVALID = "sbom-component-type-invalid":
            "A CycloneDX component's type is not one its specVersion defines.";
        SBOM_BOM_REF_DUPLICATE = "sbom-bom-ref-duplicate":
            "Two CycloneDX elements share one bom-ref; references to it are ambiguous.";
        SBOM_DEPENDENCY_DANGLING = "sbom-dependency-dangling":
            "A CycloneDX dependencies entry (ref, dependsOn or provides) names no bom-ref in the document.";
    }
}
use codes::*;

/// CycloneDX JSON BOMs.
#[derive(Debug)]
pub struct CycloneDx;

/// The format's name in reports.
const NAME: &str = "CycloneDX JSON";

/// The versions judged, oldest first.
pub const SPEC_VERSIONS: &[&str] = &["1.4", "1.5", "1.6"];

impl SbomFormat for CycloneDx {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Every CycloneDX JSON BOM has a `bomFormat` member.
    fn recognises(&self, bytes: &[u8]) -> bool {
        const MARKER: &[u8] = b"\"bomFormat\"";
        bytes.windows(MARKER.len()).any(|w| w == MARKER)
    }

    fn verify(
        &self,
        bytes: &[u8],
        assets: Option<&BTreeMap<String, Sha256Digest>>,
        limits: &SbomLimits,
    ) -> Report {
        verify_bom(bytes, assets, limits)
    }
}

/// Parses, validates and (given the release's verified asset digests) cross-checks a
/// CycloneDX BOM into one report. The subject records the SHA-256 of the exact bytes judged.
pub fn verify_bom(
    bytes: &[u8],
    assets: Option<&BTreeMap<String, Sha256Digest>>,
    limits: &SbomLimits,
) -> Report {
    let mut report = Report::new(json!({
        "kind": "sbom",
        "format": NAME,
        "sbom_sha256": Sha256Digest::of(bytes).to_string(),
    }));
    let bom = match parse(bytes, limits) {
        Ok(bom) => bom,
        Err(e) => {
            report.push(e.to_check());
            return report;
        }
    };
    let mut judge = Judge::new(&bom);
    judge.document();
    if let Value::Object(subject) = &mut report.subject {
        subject.insert("spec_version".into(), judge.version.into());
        if let Some(serial) = bom.get("serialNumber").and_then(Value::as_str) {
            subject.insert("serial_number".into(), excerpt(serial).into());
        }
    }
    report.push(
        Check::pass(
            SBOM_PARSED,
            format!(
                "CycloneDX {}: {} components, {} dependency entries",
                judge.version,
                judge.components.len(),
                judge.dependencies
            ),
        )
        .in_section(section::SBOM),
    );
    let claims = judge.claims.split_off(0);
    report.checks.extend(judge.finish());
    if let Some(assets) = assets {
        report.checks.extend(cross_check_claims(
            claims.iter().map(Claim::as_claim),
            assets,
            "no component's name or pkg:generic purl",
        ));
    }
    report
}

/// Reads a CycloneDX JSON document within the limits: an object.
fn parse(bytes: &[u8], limits: &SbomLimits) -> Result<Map<String, Value>, SbomError> {
    let json_limits = JsonLimits {
        max_bytes: limits.max_bytes,
        max_depth: limits.max_depth,
        max_values: limits.max_values,
        max_memory: limits.max_memory,
    };
    let Value::Object(map) = json::parse_strict(bytes, &json_limits)? else {
        return Err(SbomError::Schema {
            location: "document".into(),
            message: "a CycloneDX JSON BOM is an object".into(),
        });
    };
    check_strings(&map, limits)?;
    Ok(map)
}

/// The string-length and element limits, over the whole tree: components are counted
/// wherever a `components` array holds them.
fn check_strings(map: &Map<String, Value>, limits: &SbomLimits) -> Result<(), SbomError> {
    let too_long = || SbomError::Limit {
        what: "bytes in one string",
        limit: limits.max_string_bytes as u64,
    };
    let mut components = 0usize;
    let mut stack: Vec<&Value> = Vec::new();
    let mut visit = |members: &Map<String, Value>| {
        if let Some(Value::Array(list)) = members.get("components") {
            components = components.saturating_add(list.len());
        }
        members.keys().any(|k| k.len() > limits.max_string_bytes)
    };
    if visit(map) {
        return Err(too_long());
    }
    stack.extend(map.values());
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) if s.len() > limits.max_string_bytes => return Err(too_long()),
            Value::Array(items) => stack.extend(items),
            Value::Object(members) => {
                if visit(members) {
                    return Err(too_long());
                }
                stack.extend(members.values());
            }
            _ => {}
        }
    }
    if components > limits.max_elements {
        return Err(SbomError::Limit {
            what: "components",
            limit: limits.max_elements as u64,
        });
    }
    Ok(())
}

/// A component that names a file, with its SHA-256-relevant hashes in SPDX spelling.
struct Claim {
    element: String,
    name: String,
    checksums: Vec<Checksum>,
}

impl Claim {
    fn as_claim(&self) -> AssetClaim<'_> {
        AssetClaim {
            element: self.element.clone(),
            name: &self.name,
            checksums: &self.checksums,
        }
    }
}

/// One component found, with where it is.
struct Component<'a> {
    at: String,
    value: &'a Map<String, Value>,
}

/// The validation pass: collects checks as it walks the document.
struct Judge<'a> {
    bom: &'a Map<String, Value>,
    version: &'a str,
    checks: Vec<Check>,
    components: Vec<Component<'a>>,
    refs: BTreeSet<&'a str>,
    dependencies: usize,
    claims: Vec<Claim>,
    failed: bool,
}

impl<'a> Judge<'a> {
    fn new(bom: &'a Map<String, Value>) -> Self {
        Self {
            bom,
            version: bom.get("specVersion").and_then(Value::as_str).unwrap_or(""),
            checks: Vec::new(),
            components: Vec::new(),
            refs: BTreeSet::new(),
            dependencies: 0,
            claims: Vec::new(),
            failed: false,
        }
    }

    fn push(&mut self, status: Status, code: crate::report::CheckCode, at: &str, detail: String) {
        self.failed |= status == Status::Fail;
        let check = match status {
            Status::Fail => Check::fail(code, detail),
            Status::Warn => Check::warn(code, detail),
            _ => Check::pass(code, detail),
        };
        self.checks
            .push(check.in_section(section::SBOM).with_path(at.to_owned()));
    }

    fn fail(&mut self, code: crate::report::CheckCode, at: &str, detail: String) {
        self.push(Status::Fail, code, at, detail);
    }

    /// Every document-level rule, then every component, reference and dependency.
    fn document(&mut self) {
        self.header();
        if self.failed {
            return;
        }
        self.collect_components();
        self.collect_refs(self.bom, "document".to_owned());
        for i in 0..self.components.len() {
            self.component(i);
        }
        self.dependency_graph();
    }

    /// `bomFormat`, `specVersion`, `serialNumber`, `version`.
    fn header(&mut self) {
        match self.bom.get("bomFormat") {
            Some(Value::String(f)) if f == "CycloneDX" => {}
            other => self.fail(
                SBOM_SCHEMA_INVALID,
                "bomFormat",
                format!("bomFormat must be \"CycloneDX\", found {}", shown(other)),
            ),
        }
        if !SPEC_VERSIONS.contains(&self.version) {
            let found = shown(self.bom.get("specVersion"));
            self.fail(
                SBOM_VERSION_UNSUPPORTED,
                "specVersion",
                format!(
                    "specVersion {found} is not one of {} (older BOMs: convert with the CycloneDX CLI)",
                    SPEC_VERSIONS.join(", ")
                ),
            );
        }
        if let Some(serial) = self.bom.get("serialNumber")
            && !serial.as_str().is_some_and(is_uuid_urn)
        {
            let found = shown(Some(serial));
            self.fail(
                SBOM_SERIAL_NUMBER_INVALID,
                "serialNumber",
                format!("serialNumber {found} is not urn:uuid: followed by a lower-case UUID"),
            );
        }
        // An integer; from 1.5 on, at least 1.
        let least = if self.version == "1.4" { i64::MIN } else { 1 };
        if let Some(version) = self.bom.get("version")
            && version.as_i64().is_none_or(|v| v < least)
        {
            let found = shown(Some(version));
            let rule = if least == 1 { " of at least 1" } else { "" };
            self.fail(
                SBOM_SERIAL_NUMBER_INVALID,
                "version",
                format!("version {found} is not an integer{rule}"),
            );
        }
    }

    /// Every component: `metadata.component`, `metadata.tools.components` (1.5 and later),
    /// `components`, each with its nested `components`.
    fn collect_components(&mut self) {
        let metadata = self.bom.get("metadata").and_then(Value::as_object);
        let mut stack: Vec<(String, &'a Value)> = Vec::new();
        if let Some(meta) = metadata {
            if let Some(c) = meta.get("component") {
                stack.push(("metadata.component".to_owned(), c));
            }
            if let Some(Value::Array(list)) = meta
                .get("tools")
                .and_then(Value::as_object)
                .and_then(|t| t.get("components"))
            {
                push_list(&mut stack, "metadata.tools.components", list);
            }
        }
        match self.bom.get("components") {
            None => {}
            Some(Value::Array(list)) => push_list(&mut stack, "components", list),
            Some(_) => self.fail(
                SBOM_SCHEMA_INVALID,
                "components",
                "components must be an array".to_owned(),
            ),
        }
        while let Some((at, value)) = stack.pop() {
            let Some(object) = value.as_object() else {
                self.fail(SBOM_SCHEMA_INVALID, &at, "a component is an object".into());
                continue;
            };
            if let Some(Value::Array(nested)) = object.get("components") {
                push_list(&mut stack, &format!("{at}.components"), nested);
            }
            self.components.push(Component { at, value: object });
        }
        self.components.sort_by(|a, b| a.at.cmp(&b.at));
    }

    /// Every `bom-ref` in the document, wherever it is declared: unique, a non-empty string.
    fn collect_refs(&mut self, map: &'a Map<String, Value>, at: String) {
        let mut stack: Vec<(String, &'a Map<String, Value>)> = vec![(at, map)];
        let mut seen: BTreeMap<&'a str, String> = BTreeMap::new();
        while let Some((at, object)) = stack.pop() {
            if let Some(r) = object.get("bom-ref") {
                match r.as_str() {
                    Some(r) if !r.is_empty() => {
                        if let Some(first) = seen.get(r) {
                            let detail = format!(
                                "bom-ref {:?} is declared again (first at {first})",
                                excerpt(r)
                            );
                            self.fail(SBOM_BOM_REF_DUPLICATE, &at, detail);
                        } else {
                            seen.insert(r, at.clone());
                        }
                    }
                    _ => self.fail(
                        SBOM_SCHEMA_INVALID,
                        &at,
                        "bom-ref must be a non-empty string".into(),
                    ),
                }
            }
            for (key, value) in object {
                match value {
                    Value::Object(inner) => stack.push((format!("{at}.{key}"), inner)),
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            if let Value::Object(inner) = item {
                                stack.push((format!("{at}.{key}[{i}]"), inner));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.refs = seen.into_keys().collect();
    }

    /// The rules of one component, and its claim on a release asset.
    fn component(&mut self, index: usize) {
        let Some(Component { at, value }) = self.components.get(index) else {
            return;
        };
        let (at, value) = (label_of(at, value), *value);
        match value.get("type").and_then(Value::as_str) {
            Some(t) if component_types(self.version).contains(&t) => {}
            Some(t) => {
                let detail = format!(
                    "type {:?} is not a CycloneDX {} component type",
                    excerpt(t),
                    self.version
                );
                self.fail(SBOM_COMPONENT_TYPE_INVALID, &at, detail);
            }
            None => self.fail(SBOM_FIELD_MISSING, &at, "a component has no type".into()),
        }
        let name = value.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            self.fail(SBOM_FIELD_MISSING, &at, "a component has no name".into());
        }
        let checksums = self.hashes(&at, value.get("hashes"));
        self.licenses(&at, value.get("licenses"));
        let generic = self.purl(&at, value.get("purl"));
        let names: BTreeSet<&str> = [Some(name), generic.as_deref()]
            .into_iter()
            .flatten()
            .filter(|n| !n.is_empty())
            .collect();
        for claimed in names {
            self.claims.push(Claim {
                element: at.clone(),
                name: claimed.to_owned(),
                checksums: checksums.clone(),
            });
        }
    }

    /// Checks `hashes` and returns them in SPDX spelling (`SHA256`, lower-case hex).
    fn hashes(&mut self, at: &str, hashes: Option<&'a Value>) -> Vec<Checksum> {
        let Some(hashes) = hashes else {
            return Vec::new();
        };
        let Some(list) = hashes.as_array() else {
            self.fail(SBOM_SCHEMA_INVALID, at, "hashes must be an array".into());
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, hash) in list.iter().enumerate() {
            let alg = hash.get("alg").and_then(Value::as_str).unwrap_or("");
            let content = hash.get("content").and_then(Value::as_str).unwrap_or("");
            match hash_length(alg) {
                None => self.fail(
                    SBOM_CHECKSUM_INVALID,
                    at,
                    format!(
                        "hashes[{i}]: alg {:?} is not a CycloneDX hash algorithm",
                        excerpt(alg)
                    ),
                ),
                Some(len) if !is_hex_of(content, len) => self.fail(
                    SBOM_CHECKSUM_INVALID,
                    at,
                    format!(
                        "hashes[{i}]: {alg} content is not {} hex digits",
                        describe_len(len)
                    ),
                ),
                Some(_) => out.push(Checksum {
                    algorithm: alg.replace('-', ""),
                    checksum_value: content.to_ascii_lowercase(),
                }),
            }
        }
        out
    }

    /// Checks `licenses`: each a `license` with an SPDX `id` or a `name`, or an `expression`.
    fn licenses(&mut self, at: &str, licenses: Option<&Value>) {
        let Some(licenses) = licenses else {
            return;
        };
        let Some(list) = licenses.as_array() else {
            self.fail(SBOM_SCHEMA_INVALID, at, "licenses must be an array".into());
            return;
        };
        for (i, choice) in list.iter().enumerate() {
            let field = format!("licenses[{i}]");
            if let Some(expr) = choice.get("expression") {
                let text = expr.as_str().unwrap_or("");
                match license::parse_expression(text) {
                    Ok(parsed) => self.unlisted_ids(at, &field, &parsed),
                    Err(e) => self.fail(
                        SBOM_LICENSE_INVALID,
                        at,
                        format!(
                            "{field}: expression {:?} is not an SPDX license expression: {e}",
                            excerpt(text)
                        ),
                    ),
                }
                continue;
            }
            let license = choice.get("license");
            let id = license.and_then(|l| l.get("id"));
            let name = license.and_then(|l| l.get("name")).and_then(Value::as_str);
            match (id, name) {
                (Some(Value::String(id)), _) if license::is_listed_license(id) => {}
                (Some(Value::String(id)), _) => self.push(
                    Status::Warn,
                    SBOM_LICENSE_UNKNOWN,
                    at,
                    format!(
                        "{field}: license id {:?} is not on the SPDX License List {}",
                        excerpt(id),
                        license::license_list_version()
                    ),
                ),
                (None, Some(n)) if !n.is_empty() => {}
                _ => self.fail(
                    SBOM_LICENSE_INVALID,
                    at,
                    format!("{field}: a license needs an SPDX id, a name or an expression"),
                ),
            }
        }
    }

    /// Warns of license ids in an expression that are not on the SPDX License List.
    fn unlisted_ids(&mut self, at: &str, field: &str, expr: &LicenseExpr) {
        let mut stack = vec![expr];
        while let Some(e) = stack.pop() {
            match e {
                LicenseExpr::And(items) | LicenseExpr::Or(items) => stack.extend(items),
                LicenseExpr::Simple {
                    license: SimpleLicense::Id { id, .. },
                    ..
                } if !license::is_listed_license(id) => {
                    let detail = format!(
                        "{field}: {} is not on the SPDX License List {}",
                        excerpt(id),
                        license::license_list_version()
                    );
                    self.push(Status::Warn, SBOM_LICENSE_UNKNOWN, at, detail);
                }
                LicenseExpr::Simple { .. } => {}
            }
        }
    }

    /// Checks `purl`; returns the asset name a `pkg:generic/<name>` purl gives.
    fn purl(&mut self, at: &str, purl: Option<&Value>) -> Option<String> {
        let purl = purl?;
        let Some(text) = purl.as_str() else {
            self.fail(SBOM_SCHEMA_INVALID, at, "purl must be a string".into());
            return None;
        };
        match purl::parse(text) {
            Ok(p) if p.ty == "generic" && p.namespace.is_empty() => Some(p.name),
            Ok(_) => None,
            Err(e) => {
                self.fail(
                    SBOM_PURL_INVALID,
                    at,
                    format!("purl {:?}: {e}", excerpt(text)),
                );
                None
            }
        }
    }

    /// `dependencies`: each `ref`, `dependsOn` and `provides` entry names a declared bom-ref.
    fn dependency_graph(&mut self) {
        let Some(deps) = self.bom.get("dependencies") else {
            return;
        };
        let Some(list) = deps.as_array() else {
            self.fail(
                SBOM_SCHEMA_INVALID,
                "dependencies",
                "dependencies must be an array".into(),
            );
            return;
        };
        self.dependencies = list.len();
        for (i, dep) in list.iter().enumerate() {
            let at = format!("dependencies[{i}]");
            let named = dep.get("ref").into_iter().map(|r| ("ref", r));
            let listed = ["dependsOn", "provides"].into_iter().flat_map(|key| {
                dep.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(move |r| (key, r))
            });
            let dangling: Vec<String> = named
                .chain(listed)
                .filter(|(_, r)| !r.as_str().is_some_and(|r| self.refs.contains(r)))
                .map(|(key, r)| format!("{key} {}", shown(Some(r))))
                .collect();
            if dep.get("ref").is_none() {
                self.fail(SBOM_FIELD_MISSING, &at, "a dependency has no ref".into());
            }
            for d in dangling {
                self.fail(
                    SBOM_DEPENDENCY_DANGLING,
                    &at,
                    format!("{d} names no bom-ref in the document"),
                );
            }
        }
    }

    /// The checks, ending with `sbom-valid` when nothing failed.
    fn finish(mut self) -> Vec<Check> {
        if !self.failed {
            let detail = format!(
                "CycloneDX {}: every checked rule holds for {} components, {} bom-refs and {} dependency entries",
                self.version,
                self.components.len(),
                self.refs.len(),
                self.dependencies
            );
            self.push(Status::Pass, SBOM_VALID, "document", detail);
        }
        self.checks
    }
}

fn push_list<'a>(stack: &mut Vec<(String, &'a Value)>, at: &str, list: &'a [Value]) {
    stack.extend(
        list.iter()
            .enumerate()
            .map(|(i, c)| (format!("{at}[{i}]"), c)),
    );
}

/// A component as checks name it: its `bom-ref`, or its position.
fn label_of(at: &str, value: &Map<String, Value>) -> String {
    match value.get("bom-ref").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => excerpt(r),
        _ => at.to_owned(),
    }
}

/// A value as a message quotes it.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "nothing".to_owned(),
        Some(Value::String(s)) => format!("{:?}", excerpt(s)),
        Some(other) => excerpt(&other.to_string()),
    }
}

/// The component types each version defines (CycloneDX 1.4 to 1.6 schemas, `component.type`).
fn component_types(version: &str) -> &'static [&'static str] {
    const V14: &[&str] = &[
        "application",
        "framework",
        "library",
        "container",
        "operating-system",
        "device",
        "firmware",
        "file",
    ];
    const V15: &[&str] = &[
        "application",
        "framework",
        "library",
        "container",
        "platform",
        "operating-system",
        "device",
        "device-driver",
        "firmware",
        "file",
        "machine-learning-model",
        "data",
    ];
    const V16: &[&str] = &[
        "application",
        "framework",
        "library",
        "container",
        "platform",
        "operating-system",
        "device",
        "device-driver",
        "firmware",
        "file",
        "machine-learning-model",
        "data",
        "cryptographic-asset",
    ];
    match version {
        "1.4" => V14,
        "1.5" => V15,
        _ => V16,
    }
}

/// Hex digits of each hash algorithm's content; `Some(0)` for BLAKE3, whose output length is
/// not fixed (the schema accepts 32 to 128 digits of the standard lengths).
fn hash_length(alg: &str) -> Option<usize> {
    Some(match alg {
        "MD5" => 32,
        "SHA-1" => 40,
        "SHA-256" | "SHA3-256" | "BLAKE2b-256" => 64,
        "SHA-384" | "SHA3-384" | "BLAKE2b-384" => 96,
        "SHA-512" | "SHA3-512" | "BLAKE2b-512" => 128,
        "BLAKE3" => 0,
        _ => return None,
    })
}

fn describe_len(len: usize) -> String {
    if len == 0 {
        "32, 40, 64, 96 or 128".to_owned()
    } else {
        len.to_string()
    }
}

/// Hex (either case, as the schema allows) of `len` digits, or of a standard length for 0.
fn is_hex_of(text: &str, len: usize) -> bool {
    let lengths: &[usize] = if len == 0 {
        &[32, 40, 64, 96, 128]
    } else {
        &[len]
    };
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `urn:uuid:` and a UUID in lower-case hex, 8-4-4-4-12 digits: the pattern of the 1.4 to 1.6
/// schemas (which, unlike RFC 4122, constrain neither the version nor the variant digit).
fn is_uuid_urn(text: &str) -> bool {
    let Some(uuid) = text.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

#[cfg(test)]
mod tests;
