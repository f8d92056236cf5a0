//! The rules of SPDX 2.2 where they differ from 2.3, applied to `SPDX-2.2` documents on top of
//! the common rules. Clause numbers are those of the SPDX 2.2 specification (its package,
//! file and snippet clauses are numbered as in 2.3).
//!
//! 1. Fields 2.3 made optional are mandatory: package `licenseConcluded`, `licenseDeclared`,
//!    `copyrightText` (7.13, 7.15, 7.17); file `licenseConcluded`, `licenseInfoInFiles`,
//!    `copyrightText` (8.5, 8.6, 8.8); snippet `licenseConcluded`, `copyrightText` (9.5, 9.8).
//! 2. A package whose files were analysed (`filesAnalyzed` true or absent) has a
//!    `packageVerificationCode` (7.9: cardinality 1..1; 2.3 relaxed it to 0..1). pyspdxtools
//!    0.8 does not check this; the specification decides.
//! 3. What 2.3 introduced is not valid in 2.2: package `primaryPackagePurpose`, `releaseDate`,
//!    `builtDate`, `validUntilDate`; checksum algorithms `SHA3-256`, `SHA3-384`, `SHA3-512`,
//!    `BLAKE2b-256`, `BLAKE2b-384`, `BLAKE2b-512`, `BLAKE3`, `ADLER32`; relationship types
//!    `SPECIFICATION_FOR`, `REQUIREMENT_DESCRIPTION_FOR`; external reference types `advisory`,
//!    `fix`, `url`, `swid`.

use super::{SBOM_NOT_IN_VERSION, Validator, fail, label};
use crate::sbom::excerpt;
use crate::sbom::model::Checksum;

/// Checksum algorithms SPDX 2.3 added.
const NEW_ALGORITHMS: &[&str] = &[
    "SHA3-256",
    "SHA3-384",
    "SHA3-512",
    "BLAKE2b-256",
    "BLAKE2b-384",
    "BLAKE2b-512",
    "BLAKE3",
    "ADLER32",
];

/// Relationship types SPDX 2.3 added.
const NEW_RELATIONSHIP_TYPES: &[&str] = &["SPECIFICATION_FOR", "REQUIREMENT_DESCRIPTION_FOR"];

/// External reference types SPDX 2.3 added (Annex F).
const NEW_REFERENCE_TYPES: &[&str] = &["advisory", "fix", "url", "swid"];

/// True when an optional text field is absent or empty (absent and empty are alike).
fn absent(value: Option<&str>) -> bool {
    value.is_none_or(str::is_empty)
}

impl Validator<'_> {
    /// The SPDX 2.2 rules (see the module documentation).
    pub(super) fn spdx22(&mut self) {
        self.spdx22_packages();
        self.spdx22_files_and_snippets();
        self.spdx22_relationships();
    }

    fn newer(&mut self, path: &str, what: &str, value: &str) {
        self.checks.push(
            fail(
                SBOM_NOT_IN_VERSION,
                path,
                format!(
                    "{what} {:?} was introduced by SPDX 2.3 and is not valid in an SPDX-2.2 document",
                    excerpt(value)
                ),
            )
            .with("field", what)
            .with("actual", excerpt(value)),
        );
    }

    fn newer_checksums(&mut self, path: &str, checksums: &[Checksum]) {
        for c in checksums {
            if NEW_ALGORITHMS.contains(&c.algorithm.as_str()) {
                self.newer(path, "checksum algorithm", &c.algorithm);
            }
        }
    }

    fn spdx22_packages(&mut self) {
        let doc = self.doc;
        for (i, p) in doc.packages.iter().enumerate() {
            let path = label(&p.spdx_id, "packages", i);
            for (field, value) in [
                ("licenseConcluded", p.license_concluded.as_deref()),
                ("licenseDeclared", p.license_declared.as_deref()),
                ("copyrightText", p.copyright_text.as_deref()),
            ] {
                if absent(value) {
                    self.missing(&path, field);
                }
            }
            if p.files_analyzed() && p.package_verification_code.is_none() {
                self.missing(&path, "packageVerificationCode");
            }
            for (field, value) in [
                ("primaryPackagePurpose", &p.primary_package_purpose),
                ("releaseDate", &p.release_date),
                ("builtDate", &p.built_date),
                ("validUntilDate", &p.valid_until_date),
            ] {
                if let Some(value) = value {
                    self.newer(&path, field, value);
                }
            }
            self.newer_checksums(&path, &p.checksums);
            for r in &p.external_refs {
                if NEW_REFERENCE_TYPES.contains(&r.reference_type.as_str()) {
                    self.newer(&path, "externalRefs.referenceType", &r.reference_type);
                }
            }
        }
    }

    fn spdx22_files_and_snippets(&mut self) {
        let doc = self.doc;
        for (i, f) in doc.files.iter().enumerate() {
            let path = label(&f.spdx_id, "files", i);
            if absent(f.license_concluded.as_deref()) {
                self.missing(&path, "licenseConcluded");
            }
            if f.license_info_in_files.is_empty() {
                self.missing(&path, "licenseInfoInFiles");
            }
            if absent(f.copyright_text.as_deref()) {
                self.missing(&path, "copyrightText");
            }
            self.newer_checksums(&path, &f.checksums);
        }
        for (i, s) in doc.snippets.iter().enumerate() {
            let path = label(&s.spdx_id, "snippets", i);
            if absent(s.license_concluded.as_deref()) {
                self.missing(&path, "licenseConcluded");
            }
            if absent(s.copyright_text.as_deref()) {
                self.missing(&path, "copyrightText");
            }
        }
        for (i, r) in doc.external_document_refs.iter().enumerate() {
            if let Some(c) = &r.checksum {
                let path = label(&r.external_document_id, "externalDocumentRefs", i);
                self.newer_checksums(&path, std::slice::from_ref(c));
            }
        }
    }

    fn spdx22_relationships(&mut self) {
        let doc = self.doc;
        for (i, r) in doc.relationships.iter().enumerate() {
            if NEW_RELATIONSHIP_TYPES.contains(&r.relationship_type.as_str()) {
                let path = label(&r.spdx_element_id, "relationships", i);
                self.newer(&path, "relationshipType", &r.relationship_type);
            }
        }
    }
}
