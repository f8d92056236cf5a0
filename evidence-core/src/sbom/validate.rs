//! The checked stage: SPDX 2.3 rules over a parsed document, and for an `SPDX-2.2` document
//! the rules of 2.2 where they differ ([`spdx22`]). Each rule cites the clause of the SPDX 2.3
//! specification it implements; `docs/FORMAT.md` section 9.2 lists them for independent
//! verifiers.
//!
//! Where the SPDX specification and the reference validator (spdx/tools-python, `pyspdxtools`
//! 0.8) differ, the specification wins and `docs/FORMAT.md` says so: fractional seconds in
//! `created` warn here (pyspdxtools refuses them; nearly every generator writes them), and a
//! 2.2 package whose files were analysed must have a verification code (pyspdxtools does not
//! check it).

use std::collections::{HashMap, HashSet};

use super::codes::*;
use super::license::{self, DOCUMENT_REF_PREFIX, LICENSE_REF_PREFIX, SimpleLicense};
use super::model::{Checksum, ExternalRef, SpdxDocument};
use super::{about, excerpt, is_idstring, is_spdx_ref, label, purl, section};
use crate::report::{Check, CheckCode, Status};
use crate::timestamp::Timestamp;

mod spdx22;

/// The SPDX version this module implements.
pub const SPDX_VERSION: &str = "SPDX-2.3";
/// The older version, judged by its own rules where they differ from 2.3.
pub const SPDX_VERSION_OLD: &str = "SPDX-2.2";

/// The SPDX version a document is judged by: 2.2 for `SPDX-2.2`, otherwise 2.3 (a document of
/// any other version fails `sbom-version-unsupported` and is judged by the 2.3 rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V2_2,
    V2_3,
}

impl Version {
    fn of(doc: &SpdxDocument) -> Self {
        if doc.spdx_version == SPDX_VERSION_OLD {
            Version::V2_2
        } else {
            Version::V2_3
        }
    }

    fn name(self) -> &'static str {
        match self {
            Version::V2_2 => "SPDX 2.2",
            Version::V2_3 => "SPDX 2.3",
        }
    }
}
/// The SPDXID a document must have (clause 6.3).
pub const DOCUMENT_SPDXID: &str = "SPDXRef-DOCUMENT";
/// The only data license (clause 6.2).
pub const DATA_LICENSE: &str = "CC0-1.0";

/// Relationship types of SPDX 2.3 (clause 11.1, table 68).
pub const RELATIONSHIP_TYPES: &[&str] = &[
    "DESCRIBES",
    "DESCRIBED_BY",
    "CONTAINS",
    "CONTAINED_BY",
    "DEPENDS_ON",
    "DEPENDENCY_OF",
    "DEPENDENCY_MANIFEST_OF",
    "BUILD_DEPENDENCY_OF",
    "DEV_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF",
    "TEST_DEPENDENCY_OF",
    "RUNTIME_DEPENDENCY_OF",
    "EXAMPLE_OF",
    "GENERATES",
    "GENERATED_FROM",
    "ANCESTOR_OF",
    "DESCENDANT_OF",
    "VARIANT_OF",
    "DISTRIBUTION_ARTIFACT",
    "PATCH_FOR",
    "PATCH_APPLIED",
    "COPY_OF",
    "FILE_ADDED",
    "FILE_DELETED",
    "FILE_MODIFIED",
    "EXPANDED_FROM_ARCHIVE",
    "DYNAMIC_LINK",
    "STATIC_LINK",
    "DATA_FILE_OF",
    "TEST_CASE_OF",
    "BUILD_TOOL_OF",
    "DEV_TOOL_OF",
    "TEST_OF",
    "TEST_TOOL_OF",
    "DOCUMENTATION_OF",
    "OPTIONAL_COMPONENT_OF",
    "METAFILE_OF",
    "PACKAGE_OF",
    "AMENDS",
    "PREREQUISITE_FOR",
    "HAS_PREREQUISITE",
    "REQUIREMENT_DESCRIPTION_FOR",
    "SPECIFICATION_FOR",
    "OTHER",
];

/// How many hex digits a checksum of an algorithm has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HexLength {
    Exactly(usize),
    /// An even number of digits in this range (variable-length algorithms).
    Between(usize, usize),
}

/// Longest BLAKE3 value accepted: 1024 bits. BLAKE3 can output any length; longer values add
/// nothing to a digest's strength.
const MAX_BLAKE3_HEX: usize = 256;

/// Checksum algorithms of SPDX 2.3 (clauses 7.10 and 8.4) and their value lengths.
/// BLAKE3 is extendable-output: at least its default 256 bits. MD6 digests are 1 to 512 bits;
/// whole bytes are required.
fn hex_length(algorithm: &str) -> Option<HexLength> {
    use HexLength::*;
    Some(match algorithm {
        "SHA1" => Exactly(40),
        "SHA224" => Exactly(56),
        "SHA256" | "SHA3-256" | "BLAKE2b-256" => Exactly(64),
        "SHA384" | "SHA3-384" | "BLAKE2b-384" => Exactly(96),
        "SHA512" | "SHA3-512" | "BLAKE2b-512" => Exactly(128),
        "MD2" | "MD4" | "MD5" => Exactly(32),
        "ADLER32" => Exactly(8),
        "BLAKE3" => Between(64, MAX_BLAKE3_HEX),
        "MD6" => Between(2, 128),
        _ => return None,
    })
}

/// Applies the SPDX 2.3 rules, or for an `SPDX-2.2` document the 2.2 rules (the checked
/// stage). Failures and warnings name the element's SPDXID in `path`; when nothing failed, one
/// `sbom-valid` pass summarises the counts.
pub fn validate(doc: &SpdxDocument) -> Vec<Check> {
    let mut v = Validator {
        doc,
        version: Version::of(doc),
        checks: Vec::new(),
        ids: HashMap::new(),
        document_refs: HashSet::new(),
        license_refs: HashSet::new(),
    };
    v.document();
    v.identifiers();
    v.elements();
    v.relationships();
    v.files_analyzed();
    if v.version == Version::V2_2 {
        v.spdx22();
    }
    v.summary();
    v.checks
}

struct Validator<'a> {
    doc: &'a SpdxDocument,
    /// The rules the document is judged by.
    version: Version,
    checks: Vec<Check>,
    /// Every element SPDXID (document, packages, files, snippets) -> where it was first seen.
    ids: HashMap<&'a str, String>,
    /// Declared `externalDocumentId`s.
    document_refs: HashSet<&'a str>,
    /// Declared `LicenseRef-`s.
    license_refs: HashSet<&'a str>,
}

/// A check in the `sbom` section about the element `path` (an SPDXID, or where the element
/// is when it has none).
fn check(code: CheckCode, status: Status, path: &str, detail: String) -> Check {
    about(
        Check::new(code, status, detail).in_section(section::SBOM),
        path,
    )
}

fn fail(code: CheckCode, path: &str, detail: String) -> Check {
    check(code, Status::Fail, path, detail)
}

impl<'a> Validator<'a> {
    fn missing(&mut self, path: &str, field: &str) {
        self.checks.push(
            fail(
                SBOM_FIELD_MISSING,
                path,
                format!(
                    "{field} is required by {} but missing or empty",
                    self.version.name()
                ),
            )
            .with("field", field),
        );
    }

    /// Document creation information (clause 6).
    fn document(&mut self) {
        let doc = self.doc;
        self.version();
        // 6.2: dataLicense.
        if doc.data_license != DATA_LICENSE {
            self.checks.push(
                fail(
                    SBOM_DATA_LICENSE_INVALID,
                    DOCUMENT_SPDXID,
                    format!(
                        "dataLicense {:?} is not {DATA_LICENSE}",
                        excerpt(&doc.data_license)
                    ),
                )
                .with("expected", DATA_LICENSE)
                .with("actual", excerpt(&doc.data_license)),
            );
        }
        // 6.3: the document's SPDXID.
        if doc.spdx_id != DOCUMENT_SPDXID {
            let path = if doc.spdx_id.is_empty() {
                DOCUMENT_SPDXID.to_owned()
            } else {
                excerpt(&doc.spdx_id)
            };
            self.checks.push(
                fail(
                    SBOM_SPDXID_INVALID,
                    &path,
                    format!("the document's SPDXID must be {DOCUMENT_SPDXID}"),
                )
                .with("expected", DOCUMENT_SPDXID)
                .with("actual", excerpt(&doc.spdx_id)),
            );
        }
        // 6.4: name.
        if doc.name.is_empty() {
            self.missing(DOCUMENT_SPDXID, "name");
        }
        // 6.5: documentNamespace.
        if let Err(why) = absolute_uri(&doc.document_namespace) {
            self.checks.push(
                fail(
                    SBOM_NAMESPACE_INVALID,
                    DOCUMENT_SPDXID,
                    format!("documentNamespace {why}"),
                )
                .with("actual", excerpt(&doc.document_namespace)),
            );
        }
        // 6.8, 6.9: creators and created.
        self.creation_info();
    }

    /// 6.1: spdxVersion.
    fn version(&mut self) {
        match self.doc.spdx_version.as_str() {
            SPDX_VERSION | SPDX_VERSION_OLD => {}
            other => self.checks.push(
                fail(
                    SBOM_VERSION_UNSUPPORTED,
                    DOCUMENT_SPDXID,
                    format!(
                        "spdxVersion {:?} is neither {SPDX_VERSION} nor {SPDX_VERSION_OLD}",
                        excerpt(other)
                    ),
                )
                .with("expected", SPDX_VERSION)
                .with("actual", excerpt(other)),
            ),
        }
    }

    fn creation_info(&mut self) {
        let Some(info) = &self.doc.creation_info else {
            self.checks.push(fail(
                SBOM_CREATION_INFO_INVALID,
                DOCUMENT_SPDXID,
                "creationInfo is missing".into(),
            ));
            return;
        };
        if info.creators.is_empty() {
            self.checks.push(fail(
                SBOM_CREATION_INFO_INVALID,
                DOCUMENT_SPDXID,
                "creationInfo.creators is empty; SPDX 2.3 requires at least one creator".into(),
            ));
        }
        for creator in &info.creators {
            let ok = ["Person: ", "Organization: ", "Tool: "].iter().any(|p| {
                creator
                    .strip_prefix(p)
                    .is_some_and(|r| !r.trim().is_empty())
            });
            if !ok {
                self.checks.push(
                    fail(
                        SBOM_CREATION_INFO_INVALID,
                        DOCUMENT_SPDXID,
                        format!(
                            "creator {:?} is not \"Person: ...\", \"Organization: ...\" or \"Tool: ...\"",
                            excerpt(creator)
                        ),
                    )
                    .with("actual", excerpt(creator)),
                );
            }
        }
        if Timestamp::parse(&info.created).is_err() {
            // 6.9 asks for whole seconds; npm, syft, trivy and cargo-sbom write fractions. A
            // fraction on an otherwise valid time is a warning (FORMAT 9.2), never a failure:
            // `created` is a claim nobody's trust rests on (DESIGN 4 rule 8).
            if whole_seconds(&info.created).is_some_and(|t| Timestamp::parse(&t).is_ok()) {
                self.checks.push(
                    check(
                        SBOM_CREATED_FRACTIONAL_SECONDS,
                        Status::Warn,
                        DOCUMENT_SPDXID,
                        format!(
                            "creationInfo.created {:?} has fractional seconds; SPDX writes YYYY-MM-DDThh:mm:ssZ",
                            excerpt(&info.created)
                        ),
                    )
                    .with("actual", excerpt(&info.created)),
                );
                return;
            }
            self.checks.push(
                fail(
                    SBOM_CREATION_INFO_INVALID,
                    DOCUMENT_SPDXID,
                    format!(
                        "creationInfo.created {:?} is not a UTC time YYYY-MM-DDThh:mm:ssZ",
                        excerpt(&info.created)
                    ),
                )
                .with("actual", excerpt(&info.created)),
            );
        }
    }

    /// Identifiers: syntax and uniqueness of element SPDXIDs (6.3, 7.2, 8.2, 9.2), external
    /// document ids (6.6) and extracted license ids (10.1). Collected before any reference is
    /// resolved.
    fn identifiers(&mut self) {
        self.element_ids();
        self.external_document_ids();
        self.license_ids();
    }

    /// Element SPDXIDs: the document's, then those of packages, files and snippets.
    fn element_ids(&mut self) {
        let doc = self.doc;
        if doc.spdx_id == DOCUMENT_SPDXID {
            self.ids.insert(DOCUMENT_SPDXID, "the document".into());
        }
        let elements = doc
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.spdx_id.as_str(), "packages", i))
            .chain(
                doc.files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.spdx_id.as_str(), "files", i)),
            )
            .chain(
                doc.snippets
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.spdx_id.as_str(), "snippets", i)),
            );
        for (id, list, index) in elements {
            let at = format!("{list}[{index}]");
            if id.is_empty() {
                self.missing(&at, "SPDXID");
                continue;
            }
            if !is_spdx_ref(id) {
                self.checks.push(
                    fail(
                        SBOM_SPDXID_INVALID,
                        &excerpt(id),
                        format!(
                            "{at}: an SPDXID is \"SPDXRef-\" followed by letters, digits, '.' and '-'"
                        ),
                    )
                    .with("location", at.as_str()),
                );
            }
            if let Some(first) = self.ids.get(id) {
                self.checks.push(
                    fail(
                        SBOM_SPDXID_DUPLICATE,
                        &excerpt(id),
                        format!("{at} reuses the SPDXID of {first}"),
                    )
                    .with("first", first.as_str())
                    .with("second", at),
                );
            } else {
                self.ids.insert(id, at);
            }
        }
    }

    /// External document ids (6.6), with the document URI and checksum each needs.
    fn external_document_ids(&mut self) {
        for (i, r) in self.doc.external_document_refs.iter().enumerate() {
            let at = format!("externalDocumentRefs[{i}]");
            let id = r.external_document_id.as_str();
            let path = label(id, "externalDocumentRefs", i);
            if id.is_empty() {
                self.missing(&at, "externalDocumentId");
            } else if !id
                .strip_prefix(DOCUMENT_REF_PREFIX)
                .is_some_and(is_idstring)
            {
                self.checks.push(fail(
                    SBOM_SPDXID_INVALID,
                    &excerpt(id),
                    format!(
                        "{at}: an externalDocumentId is \"DocumentRef-\" followed by letters, digits, '.' and '-'"
                    ),
                ));
            } else if !self.document_refs.insert(id) {
                self.checks.push(fail(
                    SBOM_SPDXID_DUPLICATE,
                    &excerpt(id),
                    format!("{at} declares {id} a second time"),
                ));
            }
            if r.spdx_document.is_empty() {
                self.missing(&path, "spdxDocument");
            } else if let Err(why) = absolute_uri(&r.spdx_document) {
                self.checks.push(
                    fail(SBOM_NAMESPACE_INVALID, &path, format!("spdxDocument {why}"))
                        .with("actual", excerpt(&r.spdx_document)),
                );
            }
            match &r.checksum {
                None => self.missing(&path, "checksum"),
                Some(c) => self.checksum(&path, c),
            }
        }
    }

    /// Extracted license ids (10.1), each with its text.
    fn license_ids(&mut self) {
        for (i, l) in self.doc.has_extracted_licensing_infos.iter().enumerate() {
            let at = format!("hasExtractedLicensingInfos[{i}]");
            let id = l.license_id.as_str();
            if id.is_empty() {
                self.missing(&at, "licenseId");
                continue;
            }
            if !id.strip_prefix(LICENSE_REF_PREFIX).is_some_and(is_idstring) {
                self.checks.push(fail(
                    SBOM_LICENSE_INVALID,
                    &excerpt(id),
                    format!(
                        "{at}: a licenseId is \"LicenseRef-\" followed by letters, digits, '.' and '-'"
                    ),
                ));
            } else if !self.license_refs.insert(id) {
                self.checks.push(fail(
                    SBOM_LICENSE_INVALID,
                    &excerpt(id),
                    format!("{at} defines {id} a second time"),
                ));
            }
            if l.extracted_text.is_empty() {
                self.missing(&excerpt(id), "extractedText");
            }
        }
    }

    /// Packages (7), files (8) and snippets (9).
    fn elements(&mut self) {
        self.packages();
        self.files();
        self.snippets();
    }

    /// Packages (7): name, download location, checksums, licenses, external references and
    /// the files they contain.
    fn packages(&mut self) {
        for (i, p) in self.doc.packages.iter().enumerate() {
            let path = label(&p.spdx_id, "packages", i);
            if p.name.is_empty() {
                self.missing(&path, "name");
            }
            if p.download_location.is_empty() {
                self.missing(&path, "downloadLocation");
            }
            for c in &p.checksums {
                self.checksum(&path, c);
            }
            self.license_fields(
                &path,
                [
                    ("licenseConcluded", p.license_concluded.as_deref()),
                    ("licenseDeclared", p.license_declared.as_deref()),
                ],
                ("licenseInfoFromFiles", &p.license_info_from_files),
            );
            self.external_refs(&path, &p.external_refs);
            // hasFiles (the JSON form of CONTAINS) must name elements of this document.
            for id in &p.has_files {
                if !self.ids.contains_key(id.as_str()) {
                    self.dangling(&path, "hasFiles", id, "no element has this SPDXID");
                }
            }
        }
    }

    /// A package's external references (7.21): all three fields, and a valid purl.
    fn external_refs(&mut self, path: &str, refs: &[ExternalRef]) {
        for r in refs {
            for (field, value) in [
                ("externalRefs.referenceCategory", &r.reference_category),
                ("externalRefs.referenceType", &r.reference_type),
                ("externalRefs.referenceLocator", &r.reference_locator),
            ] {
                if value.is_empty() {
                    self.missing(path, field);
                }
            }
            // 7.21 and Annex F: a purl locator must be a valid package URL.
            if r.reference_type == "purl"
                && let Err(e) = purl::parse(&r.reference_locator)
            {
                self.checks.push(
                    fail(
                        SBOM_PURL_INVALID,
                        path,
                        format!("purl {:?}: {e}", excerpt(&r.reference_locator)),
                    )
                    .with("actual", excerpt(&r.reference_locator)),
                );
            }
        }
    }

    /// Files (8): name, checksums (a SHA1 among them) and licenses.
    fn files(&mut self) {
        for (i, f) in self.doc.files.iter().enumerate() {
            let path = label(&f.spdx_id, "files", i);
            if f.file_name.is_empty() {
                self.missing(&path, "fileName");
            }
            // 8.1: a file name is relative to the package root, "./"-prefixed. pyspdxtools
            // refuses a leading "/" too (syft 0.91 writes "/go.mod").
            if f.file_name.starts_with('/') {
                self.checks.push(
                    fail(
                        SBOM_FILE_NAME_ABSOLUTE,
                        &path,
                        format!(
                            "fileName {:?} is absolute; SPDX file names are relative to the package root and start with \"./\"",
                            excerpt(&f.file_name)
                        ),
                    )
                    .with("actual", excerpt(&f.file_name)),
                );
            }
            for c in &f.checksums {
                self.checksum(&path, c);
            }
            // 8.4: "Cardinality 1..1 SHA1, others may be optionally provided".
            if !f.checksums.iter().any(|c| c.algorithm == "SHA1") {
                let algorithms: Vec<String> =
                    f.checksums.iter().map(|c| excerpt(&c.algorithm)).collect();
                self.checks.push(
                    fail(
                        SBOM_CHECKSUM_MISSING,
                        &path,
                        "a file must have a SHA1 checksum (SPDX 2.3 clause 8.4)".into(),
                    )
                    .with("algorithms", algorithms),
                );
            }
            self.license_fields(
                &path,
                [("licenseConcluded", f.license_concluded.as_deref())],
                ("licenseInfoInFiles", &f.license_info_in_files),
            );
        }
    }

    /// Snippets (9): the file each is from, and licenses.
    fn snippets(&mut self) {
        let doc = self.doc;
        let file_ids: HashSet<&str> = doc.files.iter().map(|f| f.spdx_id.as_str()).collect();
        for (i, s) in doc.snippets.iter().enumerate() {
            let path = label(&s.spdx_id, "snippets", i);
            // 9.2: snippetFromFile names the file the snippet is from.
            if s.snippet_from_file.is_empty() {
                self.missing(&path, "snippetFromFile");
            } else if !file_ids.contains(s.snippet_from_file.as_str()) {
                self.dangling(
                    &path,
                    "snippetFromFile",
                    &s.snippet_from_file,
                    "no file has this SPDXID",
                );
            }
            self.license_fields(
                &path,
                [("licenseConcluded", s.license_concluded.as_deref())],
                ("licenseInfoInSnippets", &s.license_info_in_snippets),
            );
        }
    }

    fn dangling(&mut self, path: &str, field: &str, target: &str, why: &str) {
        self.checks.push(
            fail(
                SBOM_RELATIONSHIP_DANGLING,
                path,
                format!("{field} {:?}: {why}", excerpt(target)),
            )
            .with("field", field)
            .with("target", excerpt(target)),
        );
    }

    /// A checksum: algorithm on the SPDX 2.3 list, value lower-case hex of its length.
    fn checksum(&mut self, path: &str, c: &Checksum) {
        let value = &c.checksum_value;
        let problem = match hex_length(&c.algorithm) {
            None => Some(format!(
                "algorithm {:?} is not an SPDX 2.3 checksum algorithm",
                excerpt(&c.algorithm)
            )),
            Some(_)
                if !value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
            {
                Some(format!("{} value is not lower-case hex", c.algorithm))
            }
            Some(HexLength::Exactly(n)) if value.len() != n => Some(format!(
                "{} value has {} hex digits, expected {n}",
                c.algorithm,
                value.len()
            )),
            Some(HexLength::Between(min, max))
                if !(min..=max).contains(&value.len()) || !value.len().is_multiple_of(2) =>
            {
                Some(format!(
                    "{} value has {} hex digits, expected an even number from {min} to {max}",
                    c.algorithm,
                    value.len()
                ))
            }
            Some(_) => None,
        };
        if let Some(detail) = problem {
            self.checks.push(
                fail(SBOM_CHECKSUM_INVALID, path, detail)
                    .with("algorithm", excerpt(&c.algorithm))
                    .with("actual", excerpt(value)),
            );
        }
    }

    /// License fields (7.13-7.15, 8.5-8.6, 9.6-9.7): each value is `NONE`, `NOASSERTION` or an
    /// Annex D expression; `LicenseRef-`s must be defined in this document and `DocumentRef-`s
    /// declared; identifiers not on the SPDX License List are warnings.
    fn license_fields<const N: usize>(
        &mut self,
        path: &str,
        single: [(&str, Option<&str>); N],
        (list_field, list): (&str, &[String]),
    ) {
        let values = single
            .into_iter()
            .filter_map(|(field, value)| Some((field, value?)))
            .chain(list.iter().map(|v| (list_field, v.as_str())));
        for (field, value) in values {
            self.license_value(path, field, value);
        }
    }

    fn license_value(&mut self, path: &str, field: &str, value: &str) {
        let parsed = match license::parse_value(value) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.checks.push(
                    fail(
                        SBOM_LICENSE_INVALID,
                        path,
                        format!("{field} {:?}: {e}", excerpt(value)),
                    )
                    .with("field", field)
                    .with("actual", excerpt(value)),
                );
                return;
            }
        };
        let Some(expr) = parsed.expression() else {
            return;
        };
        let mut leaves = Vec::new();
        expr.for_each_license(&mut |lic, exception| leaves.push((lic, exception)));
        let list = license::license_list_version();
        let mut reported = HashSet::new();
        for (lic, exception) in leaves {
            let problem = self.license_problem(field, lic, list);
            let exception_problem =
                exception
                    .filter(|e| !license::is_listed_exception(e))
                    .map(|e| {
                        (
                            Status::Warn,
                            SBOM_LICENSE_UNKNOWN,
                            e,
                            format!(
                                "{field}: exception {e} is not on the SPDX License List {list}"
                            ),
                        )
                    });
            for (status, code, name, detail) in problem.into_iter().chain(exception_problem) {
                if reported.insert(name) {
                    self.checks.push(
                        check(code, status, path, detail)
                            .with("field", field)
                            .with("license", name),
                    );
                }
            }
        }
    }

    /// What is wrong with one license of an expression: not on the list (a warning), or a
    /// reference to an undeclared document or undefined `LicenseRef-`.
    fn license_problem<'l>(
        &self,
        field: &str,
        lic: &'l SimpleLicense,
        list: &str,
    ) -> Option<(Status, CheckCode, &'l str, String)> {
        match lic {
            SimpleLicense::Id { id, .. } if !license::is_listed_license(id) => Some((
                Status::Warn,
                SBOM_LICENSE_UNKNOWN,
                id.as_str(),
                format!("{field}: {id} is not on the SPDX License List {list}"),
            )),
            SimpleLicense::Ref {
                document: Some(doc),
                license,
            } if !self.document_refs.contains(doc.as_str()) => Some((
                Status::Fail,
                SBOM_LICENSE_REF_UNDECLARED,
                doc.as_str(),
                format!(
                    "{field}: {doc}:{license} names a document not declared in externalDocumentRefs"
                ),
            )),
            SimpleLicense::Ref {
                document: None,
                license,
            } if !self.license_refs.contains(license.as_str()) => Some((
                Status::Fail,
                SBOM_LICENSE_REF_UNDECLARED,
                license.as_str(),
                format!("{field}: {license} is not defined in hasExtractedLicensingInfos"),
            )),
            _ => None,
        }
    }

    /// Relationships (clause 11) and the document's DESCRIBES (6.11 / 11.1).
    fn relationships(&mut self) {
        let doc = self.doc;
        for id in &doc.document_describes {
            if let Err(why) = self.resolve(id, false) {
                self.dangling(DOCUMENT_SPDXID, "documentDescribes", id, why);
            }
        }
        let mut describes = doc.document_describes.len();
        for (i, r) in doc.relationships.iter().enumerate() {
            let path = label(&r.spdx_element_id, "relationships", i);
            let kind = r.relationship_type.as_str();
            if !RELATIONSHIP_TYPES.contains(&kind) {
                self.checks.push(
                    fail(
                        SBOM_RELATIONSHIP_TYPE_INVALID,
                        &path,
                        format!(
                            "relationships[{i}]: {:?} is not an SPDX 2.3 relationship type",
                            excerpt(kind)
                        ),
                    )
                    .with("actual", excerpt(kind)),
                );
            }
            // 11.1: the subject is an element of this or a declared external document.
            if let Err(why) = self.resolve(&r.spdx_element_id, false) {
                self.dangling(
                    &path,
                    &format!("relationships[{i}].spdxElementId"),
                    &r.spdx_element_id,
                    why,
                );
            }
            // 11.1: the object may also be NONE or NOASSERTION.
            if let Err(why) = self.resolve(&r.related_spdx_element, true) {
                self.dangling(
                    &path,
                    &format!("relationships[{i}].relatedSpdxElement"),
                    &r.related_spdx_element,
                    why,
                );
            }
            let special = matches!(r.related_spdx_element.as_str(), "NONE" | "NOASSERTION");
            let from_document = kind == "DESCRIBES" && r.spdx_element_id == DOCUMENT_SPDXID;
            let to_document = kind == "DESCRIBED_BY" && r.related_spdx_element == DOCUMENT_SPDXID;
            if (from_document && !special) || to_document {
                describes += 1;
            }
        }
        // 11.1: DESCRIBES is mandatory only when the document has more than one package or set
        // of files. As pyspdxtools reads it: one package and no files or snippets needs none.
        let single_package =
            doc.packages.len() == 1 && doc.files.is_empty() && doc.snippets.is_empty();
        if describes == 0 && !single_package {
            self.checks.push(fail(
                SBOM_DESCRIBES_NOTHING,
                DOCUMENT_SPDXID,
                "the document DESCRIBES no element (no documentDescribes, no DESCRIBES relationship from SPDXRef-DOCUMENT, no DESCRIBED_BY relationship to it), and it has more than a single package".into(),
            ));
        }
    }

    /// Packages whose files were not analysed (`filesAnalyzed: false`, 7.8): such a package
    /// contains no files (7.8: `hasFiles`, `CONTAINS` a file, a file `CONTAINED_BY` it), and
    /// has no `packageVerificationCode` (7.9) and no `licenseInfoFromFiles` (7.14).
    fn files_analyzed(&mut self) {
        let doc = self.doc;
        let unanalyzed: HashSet<&str> = doc
            .packages
            .iter()
            .filter(|p| !p.files_analyzed())
            .map(|p| p.spdx_id.as_str())
            .collect();
        if unanalyzed.is_empty() {
            return;
        }
        let file_ids: HashSet<&str> = doc.files.iter().map(|f| f.spdx_id.as_str()).collect();
        // One pass over the relationships: how many files each such package contains.
        let mut contained: HashMap<&str, usize> = HashMap::new();
        for r in &doc.relationships {
            let (package, file) = match r.relationship_type.as_str() {
                "CONTAINS" => (r.spdx_element_id.as_str(), r.related_spdx_element.as_str()),
                "CONTAINED_BY" => (r.related_spdx_element.as_str(), r.spdx_element_id.as_str()),
                _ => continue,
            };
            if unanalyzed.contains(package) && file_ids.contains(file) {
                *contained.entry(package).or_default() += 1;
            }
        }
        for (i, p) in doc.packages.iter().enumerate() {
            if p.files_analyzed() {
                continue;
            }
            let path = label(&p.spdx_id, "packages", i);
            let relationships = contained.get(p.spdx_id.as_str()).copied().unwrap_or(0);
            let problems = [
                ("hasFiles", p.has_files.len(), "lists files"),
                (
                    "relationships",
                    relationships,
                    "relate files to it by CONTAINS or CONTAINED_BY",
                ),
                (
                    "packageVerificationCode",
                    usize::from(p.package_verification_code.is_some()),
                    "is present",
                ),
                (
                    "licenseInfoFromFiles",
                    p.license_info_from_files.len(),
                    "is present",
                ),
            ];
            for (field, count, what) in problems {
                if count == 0 {
                    continue;
                }
                self.checks.push(
                    fail(
                        SBOM_FILES_ANALYZED_CONFLICT,
                        &path,
                        format!(
                            "filesAnalyzed is false, so the package has no files, verification code or licenses from files (SPDX 2.3 clauses 7.8, 7.9, 7.14), but {field} {what}"
                        ),
                    )
                    .with("field", field)
                    .with("count", count),
                );
            }
        }
    }

    /// Resolves a relationship endpoint: a local SPDXID, `DocumentRef-<id>:SPDXRef-<id>` with
    /// a declared document, or (`special`) `NONE`/`NOASSERTION`.
    fn resolve(&self, id: &str, special: bool) -> Result<(), &'static str> {
        if id.is_empty() {
            return Err("the identifier is empty");
        }
        if matches!(id, "NONE" | "NOASSERTION") {
            return if special {
                Ok(())
            } else {
                Err("NONE and NOASSERTION are allowed only as the related element")
            };
        }
        if id.starts_with(DOCUMENT_REF_PREFIX) {
            let Some((doc, element)) = id.split_once(':') else {
                return Err("a DocumentRef- reference needs \":SPDXRef-<id>\"");
            };
            if !self.document_refs.contains(doc) {
                return Err("the DocumentRef- is not declared in externalDocumentRefs");
            }
            if !is_spdx_ref(element) {
                return Err("the SPDXID after the DocumentRef- is malformed");
            }
            return Ok(());
        }
        if self.ids.contains_key(id) {
            Ok(())
        } else {
            Err("no element has this SPDXID")
        }
    }

    fn summary(&mut self) {
        if self.checks.iter().any(|c| c.status == Status::Fail) {
            return;
        }
        let doc = self.doc;
        self.checks.push(
            check(
                SBOM_VALID,
                Status::Pass,
                DOCUMENT_SPDXID,
                format!(
                    "{}: every checked rule holds for {} packages, {} files, {} snippets and {} relationships",
                    doc.spdx_version,
                    doc.packages.len(),
                    doc.files.len(),
                    doc.snippets.len(),
                    doc.relationships.len()
                ),
            )
            .with("packages", doc.packages.len())
            .with("files", doc.files.len())
            .with("snippets", doc.snippets.len())
            .with("relationships", doc.relationships.len())
            .with("license_list_version", license::license_list_version()),
        );
    }
}

/// `YYYY-MM-DDThh:mm:ss.fffZ` without its fraction (`YYYY-MM-DDThh:mm:ssZ`), or `None` when
/// `text` is not a time with a fraction of one or more digits.
fn whole_seconds(text: &str) -> Option<String> {
    let (seconds, fraction) = text.strip_suffix('Z')?.split_once('.')?;
    (!fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{seconds}Z"))
}

/// RFC 3986 absolute URI, as SPDX 2.3 clause 6.5 asks of a namespace: `scheme ":" rest`,
/// scheme `ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")`, something after the colon, only URI
/// characters (unreserved, reserved, `%XX` escapes), and no `#` (a namespace has no fragment).
fn absolute_uri(text: &str) -> Result<(), &'static str> {
    if text.is_empty() {
        return Err("is missing or empty");
    }
    let Some((scheme, rest)) = text.split_once(':') else {
        return Err("is not an absolute URI: it has no scheme");
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err("is not an absolute URI: malformed scheme");
    }
    if rest.is_empty() {
        return Err("is not an absolute URI: nothing follows the scheme");
    }
    if text.contains('#') {
        return Err("must not contain '#'");
    }
    let mut bytes = rest.bytes();
    while let Some(b) = bytes.next() {
        let ok = match b {
            b'%' => {
                let hex = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_hexdigit());
                hex(bytes.next()) && hex(bytes.next())
            }
            b if b.is_ascii_alphanumeric() => true,
            b'-' | b'.' | b'_' | b'~' => true,
            b':' | b'/' | b'?' | b'[' | b']' | b'@' => true,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
            _ => false,
        };
        if !ok {
            return Err(
                "is not an absolute URI: a character must be percent-encoded, or a '%' escape is malformed",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_uris() {
        for ok in [
            "http://spdx.org/spdxdocs/spdx-example-444504E0-4F89-41D3-9A0C-0305E82C3301",
            "https://example.com/a?b=c&d=%20",
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
            "git+ssh://host/x",
        ] {
            assert_eq!(absolute_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "spdx.org/doc",
            "://x",
            "1http://x",
            "http:",
            "http://x#frag",
            "http://x y",
            "http://x/\u{e9}",
            "http://x/%zz",
            "http://x/%4",
        ] {
            assert!(absolute_uri(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checksum_lengths() {
        assert_eq!(hex_length("SHA1"), Some(HexLength::Exactly(40)));
        assert_eq!(hex_length("BLAKE2b-384"), Some(HexLength::Exactly(96)));
        assert_eq!(
            hex_length("sha256"),
            None,
            "algorithm names are case-sensitive"
        );
        assert_eq!(hex_length("SHA-256"), None);
        assert_eq!(RELATIONSHIP_TYPES.len(), 45);
    }
}
