//! The raw stage: the parts of an SPDX 2.3 (or 2.2) JSON document this crate checks.
//!
//! Lenient on what it does not check (unknown members and the many informational fields are
//! ignored, so vendor extensions, `$schema`, `revieweds`, annotations and every valid
//! `referenceCategory` spelling pass through), strict on the fields it does: each must have the
//! JSON type the SPDX 2.3 schema gives it, or the document is refused with the location of the
//! offending element. Fields no rule reads are deliberately absent, so their types never
//! matter. Required string fields are read as possibly absent so that a missing one
//! becomes a check naming the element rather than a parse failure; an absent field and an
//! empty string are treated alike.

use serde::Deserialize;

/// An SPDX document, as parsed (not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SpdxDocument {
    /// `SPDXID`; must be `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID", default)]
    pub spdx_id: String,
    /// `spdxVersion`, for example `SPDX-2.3`.
    #[serde(default)]
    pub spdx_version: String,
    /// `dataLicense`; must be `CC0-1.0`.
    #[serde(default)]
    pub data_license: String,
    /// `name` of the document.
    #[serde(default)]
    pub name: String,
    /// `documentNamespace`: an absolute URI without a fragment.
    #[serde(default)]
    pub document_namespace: String,
    /// `creationInfo`.
    #[serde(default)]
    pub creation_info: Option<CreationInfo>,
    /// `externalDocumentRefs`.
    #[serde(default)]
    pub external_document_refs: Vec<ExternalDocumentRef>,
    /// `documentDescribes` (the JSON form of DESCRIBES relationships from the document).
    #[serde(default)]
    pub document_describes: Vec<String>,
    /// `packages`.
    #[serde(default)]
    pub packages: Vec<Package>,
    /// `files`.
    #[serde(default)]
    pub files: Vec<File>,
    /// `snippets`.
    #[serde(default)]
    pub snippets: Vec<Snippet>,
    /// `relationships`.
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// `hasExtractedLicensingInfos`: the `LicenseRef-`s this document defines.
    #[serde(default)]
    pub has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

/// `creationInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreationInfo {
    /// `creators`: `Person: ...`, `Organization: ...` or `Tool: ...`.
    #[serde(default)]
    pub creators: Vec<String>,
    /// `created`: `YYYY-MM-DDThh:mm:ssZ`. A claim by the author, never trusted.
    #[serde(default)]
    pub created: String,
}

/// One entry of `externalDocumentRefs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExternalDocumentRef {
    /// `externalDocumentId`: `DocumentRef-<idstring>`.
    #[serde(default)]
    pub external_document_id: String,
    /// `spdxDocument`: the namespace of the referenced document.
    #[serde(default)]
    pub spdx_document: String,
    /// `checksum` of the referenced document.
    #[serde(default)]
    pub checksum: Option<Checksum>,
}

/// A `checksums` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Checksum {
    /// `algorithm`, as SPDX spells it (`SHA256`, `SHA3-256`, `BLAKE2b-256`, ...).
    #[serde(default)]
    pub algorithm: String,
    /// `checksumValue`: lower-case hex.
    #[serde(default)]
    pub checksum_value: String,
}

/// A package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Package {
    /// `SPDXID`.
    #[serde(rename = "SPDXID", default)]
    pub spdx_id: String,
    /// `name`.
    #[serde(default)]
    pub name: String,
    /// `packageFileName`: the file the package was distributed as.
    #[serde(default)]
    pub package_file_name: Option<String>,
    /// `downloadLocation`: a URL, `NONE` or `NOASSERTION`.
    #[serde(default)]
    pub download_location: String,
    /// `checksums`.
    #[serde(default)]
    pub checksums: Vec<Checksum>,
    /// `licenseConcluded`.
    #[serde(default)]
    pub license_concluded: Option<String>,
    /// `licenseDeclared`.
    #[serde(default)]
    pub license_declared: Option<String>,
    /// `licenseInfoFromFiles`.
    #[serde(default)]
    pub license_info_from_files: Vec<String>,
    /// `externalRefs`.
    #[serde(default)]
    pub external_refs: Vec<ExternalRef>,
    /// `hasFiles`: SPDXIDs of files the package contains.
    #[serde(default)]
    pub has_files: Vec<String>,
    /// `filesAnalyzed`; absent means `true` (SPDX 2.3 clause 7.8).
    #[serde(default)]
    pub files_analyzed: Option<bool>,
    /// `packageVerificationCode`.
    #[serde(default)]
    pub package_verification_code: Option<VerificationCode>,
    /// `copyrightText`.
    #[serde(default)]
    pub copyright_text: Option<String>,
    /// `primaryPackagePurpose` (new in SPDX 2.3).
    #[serde(default)]
    pub primary_package_purpose: Option<String>,
    /// `releaseDate` (new in SPDX 2.3).
    #[serde(default)]
    pub release_date: Option<String>,
    /// `builtDate` (new in SPDX 2.3).
    #[serde(default)]
    pub built_date: Option<String>,
    /// `validUntilDate` (new in SPDX 2.3).
    #[serde(default)]
    pub valid_until_date: Option<String>,
}

impl Package {
    /// Whether the package's files were analysed: `filesAnalyzed`, `true` when absent.
    pub fn files_analyzed(&self) -> bool {
        self.files_analyzed.unwrap_or(true)
    }
}

/// A package's `packageVerificationCode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerificationCode {
    /// `packageVerificationCodeValue`.
    #[serde(default)]
    pub package_verification_code_value: String,
}

/// An `externalRefs` entry of a package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExternalRef {
    /// `referenceCategory` (`SECURITY`, `PACKAGE-MANAGER`, `PERSISTENT-ID`, `OTHER`).
    #[serde(default)]
    pub reference_category: String,
    /// `referenceType` (`purl`, `cpe23Type`, ...).
    #[serde(default)]
    pub reference_type: String,
    /// `referenceLocator`.
    #[serde(default)]
    pub reference_locator: String,
}

/// A file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct File {
    /// `SPDXID`.
    #[serde(rename = "SPDXID", default)]
    pub spdx_id: String,
    /// `fileName`, usually `./`-prefixed and relative to the package root.
    #[serde(default)]
    pub file_name: String,
    /// `checksums`; SPDX 2.3 requires a SHA1 among them.
    #[serde(default)]
    pub checksums: Vec<Checksum>,
    /// `licenseConcluded`.
    #[serde(default)]
    pub license_concluded: Option<String>,
    /// `licenseInfoInFiles`.
    #[serde(default)]
    pub license_info_in_files: Vec<String>,
    /// `copyrightText`.
    #[serde(default)]
    pub copyright_text: Option<String>,
}

/// A snippet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Snippet {
    /// `SPDXID`.
    #[serde(rename = "SPDXID", default)]
    pub spdx_id: String,
    /// `snippetFromFile`: SPDXID of the file the snippet is from.
    #[serde(default)]
    pub snippet_from_file: String,
    /// `licenseConcluded`.
    #[serde(default)]
    pub license_concluded: Option<String>,
    /// `licenseInfoInSnippets`.
    #[serde(default)]
    pub license_info_in_snippets: Vec<String>,
    /// `copyrightText`.
    #[serde(default)]
    pub copyright_text: Option<String>,
}

/// A relationship.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Relationship {
    /// `spdxElementId`: the subject.
    #[serde(default)]
    pub spdx_element_id: String,
    /// `relationshipType`.
    #[serde(default)]
    pub relationship_type: String,
    /// `relatedSpdxElement`: the object; may also be `NONE` or `NOASSERTION`.
    #[serde(default)]
    pub related_spdx_element: String,
}

/// A `hasExtractedLicensingInfos` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExtractedLicense {
    /// `licenseId`: `LicenseRef-<idstring>`.
    #[serde(default)]
    pub license_id: String,
    /// `extractedText`.
    #[serde(default)]
    pub extracted_text: String,
}
