//! Software bills of materials: each format behind [`SbomFormat`], SPDX 2.3 JSON ([`spdx`])
//! and CycloneDX 1.4 to 1.6 JSON ([`cyclonedx`]).
//!
//! A format recognises its documents by content, parses and validates them into checks, and
//! hands the cross-checks its [`AssetClaim`]s: which files its elements name and with which
//! checksums. [`cross_check_claims`] compares those with the release's verified digests the
//! same way for every format. The release's `sbom` stage picks the format with [`recognise`].

use std::collections::BTreeMap;

use crate::digest::Sha256Digest;
use crate::json::JsonError;
use crate::report::{Check, CheckCode, Report, check_codes, codes::INPUT_TOO_LARGE};

pub mod cyclonedx;
pub mod license;
pub mod model;
pub mod purl;
pub mod spdx;
mod validate;

pub use model::{
    Checksum, CreationInfo, ExternalDocumentRef, ExternalRef, ExtractedLicense, File, Package,
    Relationship, Snippet, SpdxDocument, VerificationCode,
};
pub use spdx::{cross_check, parse, verify_sbom};
pub use validate::{
    DATA_LICENSE, DOCUMENT_SPDXID, RELATIONSHIP_TYPES, SPDX_VERSION, SPDX_VERSION_OLD, validate,
};

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        SBOM_PARSED = "sbom-parsed":
            "The SBOM was read as strict JSON within the limits and has the shape of its format (SPDX or CycloneDX JSON).";
        SBOM_INVALID_JSON = "sbom-invalid-json":
            "The SBOM is not strict JSON: a syntax error or a member name repeated in one object.";
        SBOM_SCHEMA_INVALID = "sbom-schema-invalid":
            "The SBOM is JSON but not of its format's shape: not an object, a checked field of the wrong JSON type, or (CycloneDX) bomFormat not CycloneDX.";
        SBOM_VERSION_UNSUPPORTED = "sbom-version-unsupported":
            "spdxVersion is neither SPDX-2.3 nor SPDX-2.2 (each is judged by its own version's rules), or a CycloneDX specVersion is not 1.4, 1.5 or 1.6.";
        SBOM_DATA_LICENSE_INVALID = "sbom-data-license-invalid":
            "dataLicense is not CC0-1.0.";
        SBOM_SPDXID_INVALID = "sbom-spdxid-invalid":
            "An SPDXID or DocumentRef id is malformed, or the document's SPDXID is not SPDXRef-DOCUMENT.";
        SBOM_SPDXID_DUPLICATE = "sbom-spdxid-duplicate":
            "Two elements (or two external document references) share one identifier.";
        SBOM_FIELD_MISSING = "sbom-field-missing":
            "A field the document's SPDX version, or CycloneDX (component type and name, dependency ref), requires is missing or empty.";
        SBOM_NAMESPACE_INVALID = "sbom-namespace-invalid":
            "documentNamespace (or an external document's URI) is not an absolute URI without a fragment.";
        SBOM_CREATION_INFO_INVALID = "sbom-creation-info-invalid":
            "creationInfo is missing, has no creators, a creator without a Person:/Organization:/Tool: prefix, or a created time not in YYYY-MM-DDThh:mm:ssZ form (fractional seconds only warn).";
        SBOM_CREATED_FRACTIONAL_SECONDS = "sbom-created-fractional-seconds":
            "creationInfo.created has fractional seconds (YYYY-MM-DDThh:mm:ss.fffZ), which SPDX's YYYY-MM-DDThh:mm:ssZ does not allow; many generators write them, so it warns.";
        SBOM_RELATIONSHIP_DANGLING = "sbom-relationship-dangling":
            "A relationship, documentDescribes, hasFiles or snippetFromFile names an element that does not exist.";
        SBOM_RELATIONSHIP_TYPE_INVALID = "sbom-relationship-type-invalid":
            "A relationshipType is not one of the SPDX 2.3 relationship types.";
        SBOM_DESCRIBES_NOTHING = "sbom-describes-nothing":
            "The document DESCRIBES no element, though it has more than a single package.";
        SBOM_CHECKSUM_INVALID = "sbom-checksum-invalid":
            "A checksum names an algorithm outside its format's list, or its value is not hex (SPDX: lower-case) of the algorithm's length.";
        SBOM_CHECKSUM_MISSING = "sbom-checksum-missing":
            "A file has no SHA1 checksum, which SPDX 2.3 requires of every file.";
        SBOM_FILE_NAME_ABSOLUTE = "sbom-file-name-absolute":
            "A fileName starts with '/'; SPDX file names are relative to the package root (\"./\"-prefixed).";
        SBOM_FILES_ANALYZED_CONFLICT = "sbom-files-analyzed-conflict":
            "A package with filesAnalyzed false has files (hasFiles, CONTAINS a file, a file CONTAINED_BY it), a packageVerificationCode or licenseInfoFromFiles.";
        SBOM_NOT_IN_VERSION = "sbom-not-in-version":
            "An SPDX-2.2 document uses a field, checksum algorithm, relationship type or external reference type that SPDX 2.3 introduced.";
        SBOM_LICENSE_INVALID = "sbom-license-invalid":
            "A license field is not a valid SPDX license expression, NONE or NOASSERTION, an extracted license id is malformed or repeated, or a CycloneDX license has neither id, name nor expression.";
        SBOM_LICENSE_REF_UNDECLARED = "sbom-license-ref-undeclared":
            "A license expression uses a LicenseRef- not defined in hasExtractedLicensingInfos, or a DocumentRef- not declared in externalDocumentRefs.";
        SBOM_LICENSE_UNKNOWN = "sbom-license-unknown":
            "A license or exception identifier is not on the SPDX License List this tool embeds.";
        SBOM_PURL_INVALID = "sbom-purl-invalid":
            "An external reference of type purl (a CycloneDX component's purl) is not a valid package URL.";
        SBOM_VALID = "sbom-valid":
            "Every rule of the SBOM's format checked held; the detail gives the element counts.";
        SBOM_ASSET_DIGEST_MATCH = "sbom-asset-digest-match":
            "An SBOM element naming a release asset gives that asset's SHA-256.";
        SBOM_ASSET_DIGEST_MISMATCH = "sbom-asset-digest-mismatch":
            "An SBOM element naming a release asset gives a SHA-256 other than the asset's.";
        SBOM_ASSET_DIGEST_MISSING = "sbom-asset-digest-missing":
            "An SBOM element naming a release asset has no SHA256 checksum; weak digests never count.";
        SBOM_ASSETS_UNMATCHED = "sbom-assets-unmatched":
            "No SBOM element names any release asset, so the SBOM is not bound to the release.";
        SBOM_FORMAT_UNKNOWN = "sbom-format-unknown":
            "A file named like an SBOM (or given with --sbom) is neither SPDX JSON nor CycloneDX JSON by its content.";
    }
}
use codes::*;

/// Report section names.
pub mod section {
    /// Parsing and SPDX rules.
    pub const SBOM: &str = "sbom";
    /// Comparisons between the SBOM and the release's verified checksums.
    pub const CROSS_CHECKS: &str = "cross-checks";
}

/// Default largest SBOM: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default deepest JSON nesting (SPDX itself needs 6).
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// Default most JSON values.
pub const DEFAULT_MAX_VALUES: usize = 8_000_000;
/// Default most packages, files and snippets together.
pub const DEFAULT_MAX_ELEMENTS: usize = 1_000_000;
/// Default most relationships.
pub const DEFAULT_MAX_RELATIONSHIPS: usize = 2_000_000;
/// Default longest string (or member name), in bytes. License texts are the longest strings.
pub const DEFAULT_MAX_STRING_BYTES: usize = 1 << 20;
/// Default most memory the parsed JSON may take.
pub const DEFAULT_MAX_MEMORY: u64 = 1 << 30;

/// Hard limits for reading an SBOM ([`parse`]). Exceeding one is `input-too-large`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SbomLimits {
    /// Largest document, in bytes.
    pub max_bytes: u64,
    /// Deepest JSON nesting.
    pub max_depth: usize,
    /// Most JSON values.
    pub max_values: usize,
    /// Most packages, files and snippets together.
    pub max_elements: usize,
    /// Most relationships.
    pub max_relationships: usize,
    /// Longest string or member name, in bytes.
    pub max_string_bytes: usize,
    /// Most memory the parsed JSON may take, estimated while reading
    /// ([`JsonLimits::max_memory`](crate::json::JsonLimits::max_memory)).
    pub max_memory: u64,
}

impl Default for SbomLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_values: DEFAULT_MAX_VALUES,
            max_elements: DEFAULT_MAX_ELEMENTS,
            max_relationships: DEFAULT_MAX_RELATIONSHIPS,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

/// Why an SBOM could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    /// Not strict JSON, or over a JSON limit (bytes, depth, values).
    #[error("{0}")]
    Json(#[from] JsonError),
    /// Over an SBOM limit.
    #[error("the SBOM has more than {limit} {what}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// JSON, but not of the SPDX shape.
    #[error("{location}: {message}")]
    Schema {
        /// Where: `document`, `packages[3]`, `creationInfo`, ...
        location: String,
        /// What is wrong.
        message: String,
    },
}

impl SbomError {
    /// The check code this error is reported under.
    pub fn code(&self) -> CheckCode {
        match self {
            SbomError::Json(
                JsonError::TooLarge { .. }
                | JsonError::TooDeep { .. }
                | JsonError::TooManyValues { .. }
                | JsonError::TooMuchMemory { .. },
            )
            | SbomError::Limit { .. } => INPUT_TOO_LARGE,
            SbomError::Json(_) => SBOM_INVALID_JSON,
            SbomError::Schema { .. } => SBOM_SCHEMA_INVALID,
        }
    }

    /// The failing check that reports this error.
    pub fn to_check(&self) -> Check {
        let mut check = Check::fail(self.code(), self.to_string()).in_section(section::SBOM);
        match self {
            SbomError::Json(
                JsonError::Syntax { line, .. }
                | JsonError::DuplicateKey { line, .. }
                | JsonError::TooDeep { line, .. },
            ) if *line > 0 => check = check.with_line(*line as u64),
            SbomError::Schema { location, .. } => check = check.with_path(location.clone()),
            _ => {}
        }
        check
    }
}

/// One SBOM format. [`FORMATS`] lists them; [`format_of`] picks one by content.
pub trait SbomFormat: Sync {
    /// The format's name, as reports give it.
    fn name(&self) -> &'static str;

    /// True when `bytes` look like this format: a cheap look for a marker, never a parse.
    fn recognises(&self, bytes: &[u8]) -> bool;

    /// Parses and validates `bytes` into one report and, given the release's verified asset
    /// digests (asset path -> SHA-256), cross-checks the document's [`AssetClaim`]s against
    /// them with [`cross_check_claims`]. The subject records the SHA-256 of the exact bytes
    /// judged.
    fn verify(
        &self,
        bytes: &[u8],
        assets: Option<&BTreeMap<String, Sha256Digest>>,
        limits: &SbomLimits,
    ) -> Report;
}

/// Every supported format; the first is also the one a document no format recognises is
/// judged by, so its parser says what is wrong with it.
pub const FORMATS: &[&dyn SbomFormat] = &[&spdx::Spdx, &cyclonedx::CycloneDx];

/// The format that recognises `bytes`, if any.
pub fn recognise(bytes: &[u8]) -> Option<&'static dyn SbomFormat> {
    FORMATS.iter().copied().find(|f| f.recognises(bytes))
}

/// The format `bytes` are judged by: the one that recognises them, or SPDX, whose parser then
/// says what is wrong.
pub fn format_of(bytes: &[u8]) -> &'static dyn SbomFormat {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.recognises(bytes))
        .unwrap_or(&spdx::Spdx)
}

/// What one SBOM element says about a file it names.
#[derive(Debug, Clone)]
pub struct AssetClaim<'a> {
    /// The element, as checks name it: its identifier, or its position (`files[2]`) when it
    /// has none. An SPDXID is also given as `spdx_id`.
    pub element: String,
    /// The file name it gives.
    pub name: &'a str,
    /// Its checksums, algorithms spelled as SPDX spells them (`SHA256`, `SHA1`, `MD5`).
    pub checksums: &'a [Checksum],
}

/// Compares the SHA-256 that SBOM elements claim for release assets with the assets' digests
/// from the verified SHA256SUMS (`assets`: asset path relative to the release directory ->
/// SHA-256). `naming` says which fields name a file, for the warning when none names an asset.
///
/// A claim names an asset when its name equals the asset path after removing one leading
/// `./`. Names are compared byte for byte; download URLs are not used, since their last
/// segment need not be the file name. Each naming element gets one check:
/// `sbom-asset-digest-match` when it has a `SHA256` checksum and every `SHA256` checksum it
/// has equals the asset's; `sbom-asset-digest-mismatch` when one differs;
/// `sbom-asset-digest-missing` when it has none (MD5 and SHA-1 never count, DESIGN rule 12).
/// When no element names any asset the SBOM is not bound to the release:
/// `sbom-assets-unmatched`.
pub fn cross_check_claims<'a>(
    claims: impl IntoIterator<Item = AssetClaim<'a>>,
    assets: &BTreeMap<String, Sha256Digest>,
    naming: &str,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for claim in claims {
        let asset = claim.name.strip_prefix("./").unwrap_or(claim.name);
        if let Some(digest) = assets.get(asset) {
            checks.push(judge_asset(&claim.element, asset, claim.checksums, digest));
        }
    }
    // Most SBOMs describe source packages rather than release files, so an SBOM that names no
    // asset is not evidence against the release; it is reported, not failed.
    if checks.is_empty() {
        checks.push(
            Check::warn(
                SBOM_ASSETS_UNMATCHED,
                format!(
                    "{naming} names one of the {} release assets; the SBOM says nothing about this release",
                    assets.len()
                ),
            )
            .in_section(section::CROSS_CHECKS)
            .with("assets", assets.len()),
        );
    }
    checks
}

fn judge_asset(element: &str, asset: &str, checksums: &[Checksum], digest: &Sha256Digest) -> Check {
    let sha256: Vec<&str> = checksums
        .iter()
        .filter(|c| c.algorithm == "SHA256")
        .map(|c| c.checksum_value.as_str())
        .collect();
    let check = if sha256.is_empty() {
        let algorithms: Vec<String> = checksums.iter().map(|c| excerpt(&c.algorithm)).collect();
        Check::fail(
            SBOM_ASSET_DIGEST_MISSING,
            format!(
                "names release asset {} but gives no SHA256 checksum{}; MD5 and SHA-1 never verify an asset",
                crate::text::printable(asset),
                if algorithms.is_empty() {
                    String::new()
                } else {
                    format!(" (only {})", algorithms.join(", "))
                }
            ),
        )
        .with("algorithms", algorithms)
    } else if let Some(wrong) = sha256
        .iter()
        .find(|v| Sha256Digest::from_hex(v).ok().as_ref() != Some(digest))
    {
        Check::fail(
            SBOM_ASSET_DIGEST_MISMATCH,
            format!(
                "gives a SHA256 for release asset {} that differs from the asset's verified SHA-256",
                crate::text::printable(asset)
            ),
        )
        .with("expected", digest.to_string())
        .with("actual", format!("sha256:{}", excerpt(wrong)))
    } else {
        Check::pass(
            SBOM_ASSET_DIGEST_MATCH,
            format!(
                "SHA256 equals the verified digest of release asset {}",
                crate::text::printable(asset)
            ),
        )
        .with("sha256", digest.to_string())
    };
    about(
        check.in_section(section::CROSS_CHECKS).with("asset", asset),
        element,
    )
}

/// Names the element a check is about: `path`, and `spdx_id` too when it is an SPDXID (not a
/// position such as `files[2]`).
fn about(check: Check, element: &str) -> Check {
    let check = check.with_path(element);
    if is_spdx_ref(element) {
        check.with("spdx_id", element)
    } else {
        check
    }
}

/// The identifier to name an element by: its SPDXID, or `list[index]` when it has none.
fn label(spdx_id: &str, list: &str, index: usize) -> String {
    if spdx_id.is_empty() {
        format!("{list}[{index}]")
    } else {
        excerpt(spdx_id)
    }
}

/// Keeps a value quoted in a report short: at most 200 bytes, cut at a character boundary.
fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text.get(..end).unwrap_or_default())
}

/// `idstring = 1*(ALPHA / DIGIT / "-" / ".")` (SPDX 2.3 clauses 6.3, 7.2, 8.2 and Annex D).
pub(crate) fn is_idstring(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `"SPDXRef-" idstring`.
pub(crate) fn is_spdx_ref(text: &str) -> bool {
    text.strip_prefix("SPDXRef-").is_some_and(is_idstring)
}

#[cfg(test)]
mod tests;
