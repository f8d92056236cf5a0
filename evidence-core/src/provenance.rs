//! Build provenance: in-toto Statement v1 with SLSA provenance v1 predicates, and the
//! predecessor's unsigned `PROVENANCE.json` (`zero.release_provenance.v1`).
//!
//! Statements arrive as a DSSE envelope (`*.dsse.json`), one envelope per line
//! (`*.intoto.jsonl`, also lines holding a Sigstore bundle's `dsseEnvelope`), or bare JSON
//! (unsigned). The signed bytes are parsed strictly (duplicate keys refused at any depth) and
//! the payload type and predicate type are taken from inside the signed content only
//! (DESIGN 3). A statement counts for an asset only through a SHA-256 subject digest equal to
//! the asset's verified digest (DESIGN 4 rule 2); other algorithms are ignored and weak ones
//! (MD5, SHA-1) never count (rule 12). A provenance policy (builder, source, build type) is
//! checked only against statements signed by trusted keys.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::digest::Sha256Digest;
use crate::dsse::{self, DsseLimits, Envelope, SignatureCodes, SignatureRequirement};
use crate::json::{self, JsonLimits};
use crate::keys::TrustPolicy;
use crate::report::{Check, CheckCode, check_codes};
use crate::text::printable;

/// The in-toto Statement v1 type.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The SLSA provenance v1 predicate type.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// The predecessor's provenance schema.
pub const LEGACY_SCHEMA: &str = "zero.release_provenance.v1";

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        PROVENANCE_ABSENT = "provenance-absent":
            "No provenance was found or asked for; nothing about how the release was built was checked.";
        PROVENANCE_PARSED = "provenance-parsed":
            "A statement was read: an in-toto Statement v1 with its predicate type and subject count.";
        PROVENANCE_INVALID = "provenance-invalid":
            "A provenance file or line is not a valid in-toto Statement v1 (or DSSE envelope of one), or exceeds a limit.";
        PROVENANCE_PREDICATE_UNSUPPORTED = "provenance-predicate-unsupported":
            "A statement's predicate is not SLSA provenance v1; it is not used for the provenance policy.";
        PROVENANCE_SIGNATURE_VERIFIED = "provenance-signature-verified":
            "A statement's signature verified under a trusted key.";
        PROVENANCE_SIGNATURE_MISSING = "provenance-signature-missing":
            "A statement is not signed although trusted keys were given.";
        PROVENANCE_SIGNATURE_INVALID = "provenance-signature-invalid":
            "A statement's signature is forged, or its envelope is not of the in-toto payload type.";
        PROVENANCE_SIGNER_UNTRUSTED = "provenance-signer-untrusted":
            "A statement is signed by keys that are not trusted.";
        PROVENANCE_SIGNATURE_DUPLICATE = "provenance-signature-duplicate":
            "A statement carries a second signature by an already counted key.";
        PROVENANCE_THRESHOLD_MET = "provenance-threshold-met":
            "Enough distinct trusted keys signed a statement.";
        PROVENANCE_THRESHOLD_NOT_MET = "provenance-threshold-not-met":
            "Fewer distinct trusted keys signed a statement than required.";
        PROVENANCE_SIGNATURE_UNCHECKED = "provenance-signature-unchecked":
            "No trusted key was given: statements were read but who made them was not checked.";
        PROVENANCE_SUBJECT_MATCH = "provenance-subject-match":
            "A release asset is named by a subject of a trusted statement with its exact SHA-256.";
        PROVENANCE_SUBJECT_MISMATCH = "provenance-subject-mismatch":
            "A statement names a release asset with a SHA-256 other than the asset's: the provenance describes other bytes.";
        PROVENANCE_SUBJECT_WEAK_DIGEST = "provenance-subject-weak-digest":
            "A subject names a release asset with only weak or unknown digests (MD5, SHA-1, ...); it never counts.";
        PROVENANCE_ARTIFACT_UNATTESTED = "provenance-artifact-unattested":
            "A release asset that must be attested is matched by no subject digest of a trusted statement.";
        PROVENANCE_NO_SUBJECT_MATCHED = "provenance-no-subject-matched":
            "No subject of any statement matches any release asset: the provenance is about something else.";
        PROVENANCE_MISSING = "provenance-missing":
            "A provenance policy was given, but no SLSA provenance statement signed by trusted keys was found.";
        PROVENANCE_BUILDER_ID = "provenance-builder-id":
            "The statement's builder id (runDetails.builder.id) equals --builder-id.";
        PROVENANCE_BUILD_TYPE = "provenance-build-type":
            "The statement's build type (buildDefinition.buildType) equals --build-type.";
        PROVENANCE_SOURCE_URI = "provenance-source-uri":
            "The statement's source repository equals --source-uri.";
        PROVENANCE_SOURCE_REF = "provenance-source-ref":
            "The statement's source ref is exactly the full ref --source-ref (or --source-tag, --source-branch) names.";
        PROVENANCE_SOURCE_COMMIT = "provenance-source-commit":
            "The statement's source commit equals --source-commit.";
        PROVENANCE_LEGACY_UNSIGNED = "provenance-legacy-unsigned":
            "A predecessor PROVENANCE.json was read: unsigned, informational evidence that never satisfies a signature requirement.";
        PROVENANCE_LEGACY_INVALID = "provenance-legacy-invalid":
            "PROVENANCE.json is not valid zero.release_provenance.v1 JSON.";
        PROVENANCE_LEGACY_ASSET_MATCH = "provenance-legacy-asset-match":
            "PROVENANCE.json gives an asset the SHA-256 and size SHA256SUMS verified.";
        PROVENANCE_LEGACY_ASSET_MISMATCH = "provenance-legacy-asset-mismatch":
            "PROVENANCE.json gives an asset another SHA-256 or size than the verified one, or names an asset the release does not have.";
        PROVENANCE_LEGACY_SOURCE_MISMATCH = "provenance-legacy-source-mismatch":
            "PROVENANCE.json's source (commit, repository, ref) disagrees with the signed provenance.";
    }
}
use codes::*;

/// Report sections.
pub mod section {
    /// Statements, signatures and policy.
    pub const PROVENANCE: &str = "provenance";
    /// Digest claims compared with the verified assets.
    pub const CROSS_CHECKS: &str = "cross-checks";
}

/// The codes statement signatures are reported under.
pub const SIGNATURE_CODES: SignatureCodes = SignatureCodes {
    verified: PROVENANCE_SIGNATURE_VERIFIED,
    missing: PROVENANCE_SIGNATURE_MISSING,
    invalid: PROVENANCE_SIGNATURE_INVALID,
    untrusted: PROVENANCE_SIGNER_UNTRUSTED,
    duplicate: PROVENANCE_SIGNATURE_DUPLICATE,
    threshold_met: PROVENANCE_THRESHOLD_MET,
    threshold_not_met: PROVENANCE_THRESHOLD_NOT_MET,
};

/// Default largest provenance file: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default most subjects in one statement.
pub const DEFAULT_MAX_SUBJECTS: usize = 10_000;
/// Default most statements (lines) in all provenance files together.
pub const DEFAULT_MAX_STATEMENTS: usize = 1_000;

/// Hard limits on provenance input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProvenanceLimits {
    /// Largest file, in bytes; a release reads at most this much provenance in all.
    pub max_bytes: u64,
    /// Most subjects per statement.
    pub max_subjects: usize,
    /// Most statements in all provenance files together.
    pub max_statements: usize,
    /// Most JSON values in one line, envelope or statement (of any type, at any depth),
    /// counted while it is read, so a statement with a hundred times the subjects allowed is
    /// refused before it is built.
    pub max_values: usize,
    /// Most memory one line, envelope or statement may take once parsed, estimated while it
    /// is read ([`JsonLimits::max_memory`]).
    pub max_memory: u64,
    /// Envelope limits.
    pub dsse: DsseLimits,
}

impl ProvenanceLimits {
    /// The strict JSON reader's limits for one provenance document.
    fn json(&self) -> JsonLimits {
        JsonLimits {
            max_bytes: self.max_bytes,
            max_values: self.max_values,
            max_memory: self.max_memory,
            ..JsonLimits::default()
        }
    }
}

/// Default most JSON values in one provenance document: room for the most subjects allowed
/// (an object, a name, a digest object and a few digests each) and a large predicate.
pub const DEFAULT_MAX_VALUES: usize = 100_000;
/// Default most memory one parsed provenance document may take: 32 MiB. A statement with the
/// most subjects allowed and 2,000 resolved dependencies is estimated at 21 MiB.
pub const DEFAULT_MAX_MEMORY: u64 = 32 << 20;

impl Default for ProvenanceLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_subjects: DEFAULT_MAX_SUBJECTS,
            max_statements: DEFAULT_MAX_STATEMENTS,
            max_values: DEFAULT_MAX_VALUES,
            max_memory: DEFAULT_MAX_MEMORY,
            dsse: DsseLimits::default(),
        }
    }
}

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// Not strict JSON, or not of the statement's shape.
    #[error("not an in-toto statement: {0}")]
    Json(String),
    /// `_type` is not in-toto Statement v1.
    #[error("statement type {0:?} is not {STATEMENT_V1:?}")]
    StatementType(String),
    /// More subjects than the limit.
    #[error("{found} subjects exceed the limit of {limit}")]
    TooManySubjects {
        /// Subjects in the statement.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A statement without subjects.
    #[error("the statement has no subjects")]
    NoSubjects,
}

/// How a subject is identified, after checking its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The subject's name (may be empty).
    pub name: String,
    /// Its SHA-256 digest, when it has a well-formed one.
    pub sha256: Option<Sha256Digest>,
    /// The other digest algorithms it names (never used to match).
    pub other_algorithms: Vec<String>,
}

/// A checked in-toto Statement v1.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The subjects.
    pub subjects: Vec<Subject>,
    /// The predicate type.
    pub predicate_type: String,
    /// The predicate (SLSA provenance v1 when `predicate_type` says so).
    pub predicate: Value,
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<RawSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Value,
}

#[derive(Deserialize)]
struct RawSubject {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

impl Statement {
    /// Parses the exact (signed) bytes of a statement.
    pub fn parse(bytes: &[u8], limits: &ProvenanceLimits) -> Result<Self, ProvenanceError> {
        let value = json::parse_strict(bytes, &limits.json())
            .map_err(|e| ProvenanceError::Json(e.to_string()))?;
        // The type is checked first so that a statement of another version gets a clear
        // message, and the subject count before anything is built from the subjects.
        match value.get("_type").and_then(Value::as_str) {
            Some(STATEMENT_V1) => {}
            Some(other) => return Err(ProvenanceError::StatementType(other.to_owned())),
            None => return Err(ProvenanceError::Json("no \"_type\" member".to_owned())),
        }
        let count = value
            .get("subject")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if count > limits.max_subjects {
            return Err(ProvenanceError::TooManySubjects {
                found: count,
                limit: limits.max_subjects,
            });
        }
        let raw: RawStatement =
            serde_json::from_value(value).map_err(|e| ProvenanceError::Json(e.to_string()))?;
        if raw.statement_type != STATEMENT_V1 {
            return Err(ProvenanceError::StatementType(raw.statement_type));
        }
        if raw.subject.is_empty() {
            return Err(ProvenanceError::NoSubjects);
        }
        let subjects = raw
            .subject
            .into_iter()
            .map(|s| {
                let sha256 = s
                    .digest
                    .get("sha256")
                    .and_then(|hex| Sha256Digest::from_hex(hex).ok());
                let other_algorithms = s
                    .digest
                    .keys()
                    .filter(|k| k.as_str() != "sha256")
                    .cloned()
                    .collect();
                Subject {
                    name: s.name,
                    sha256,
                    other_algorithms,
                }
            })
            .collect();
        Ok(Self {
            subjects,
            predicate_type: raw.predicate_type,
            predicate: raw.predicate,
        })
    }

    /// The SLSA provenance facts, when the predicate is SLSA provenance v1.
    pub fn slsa(&self) -> Option<SlsaFacts> {
        (self.predicate_type == SLSA_PROVENANCE_V1).then(|| SlsaFacts::of(&self.predicate))
    }
}

/// What an SLSA provenance v1 predicate says about the build, as far as a policy checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlsaFacts {
    /// `runDetails.builder.id`.
    pub builder_id: Option<String>,
    /// `buildDefinition.buildType`.
    pub build_type: Option<String>,
    /// The sources built: those the external parameters name (their commits taken from the
    /// resolved dependency of the same repository), or the resolved dependencies when the
    /// parameters name none.
    pub sources: Vec<Source>,
}

/// A source the build used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// The repository URI as written (without the `@ref` suffix).
    pub uri: String,
    /// The ref (`refs/tags/v1.2.3`), when known.
    pub reference: Option<String>,
    /// The commit (`gitCommit` or `sha1` digest), lower case, when known.
    pub commit: Option<String>,
}

impl SlsaFacts {
    fn of(predicate: &Value) -> Self {
        let definition = predicate.get("buildDefinition");
        let mut sources = named_sources(definition.and_then(|d| d.get("externalParameters")));
        let dependencies = resolved_dependencies(definition);
        // The source built is the one the external parameters name. Resolved dependencies only
        // tell its commit (matched by repository); a build of a fork that lists the real
        // repository as one more dependency must not pass as a build of the real one. Only a
        // predicate whose parameters name no source falls back to its dependencies.
        if sources.is_empty() {
            sources = dependencies;
        } else {
            for s in &mut sources {
                if s.commit.is_none() {
                    let uri = normalize_uri(&s.uri);
                    s.commit = dependencies
                        .iter()
                        .find(|d| d.commit.is_some() && normalize_uri(&d.uri) == uri)
                        .and_then(|d| d.commit.clone());
                }
            }
        }
        Self {
            builder_id: text(
                predicate
                    .get("runDetails")
                    .and_then(|r| r.get("builder"))
                    .and_then(|b| b.get("id")),
            ),
            build_type: text(definition.and_then(|d| d.get("buildType"))),
            sources,
        }
    }
}

/// A JSON string member, owned.
fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// The sources `buildDefinition.externalParameters` names.
fn named_sources(external: Option<&Value>) -> Vec<Source> {
    let mut sources = Vec::new();
    // `externalParameters.source`: a URI string (`git+https://host/repo@refs/tags/v1`) or
    // an object with `uri`.
    match external.and_then(|e| e.get("source")) {
        Some(Value::String(s)) => sources.push(Source::from_uri(s, None)),
        Some(Value::Object(o)) => {
            if let Some(uri) = o.get("uri").and_then(Value::as_str) {
                sources.push(Source::from_uri(uri, None));
            }
        }
        _ => {}
    }
    // GitHub Actions build type: `externalParameters.workflow.{repository, ref}`.
    if let Some(w) = external.and_then(|e| e.get("workflow"))
        && let Some(repository) = w.get("repository").and_then(Value::as_str)
    {
        let mut source = Source::from_uri(repository, None);
        if source.reference.is_none() {
            source.reference = text(w.get("ref"));
        }
        sources.push(source);
    }
    sources
}

/// `buildDefinition.resolvedDependencies`, each with its commit (`gitCommit` or `sha1`).
fn resolved_dependencies(definition: Option<&Value>) -> Vec<Source> {
    let Some(deps) = definition
        .and_then(|d| d.get("resolvedDependencies"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    deps.iter()
        .filter_map(|dep| {
            let uri = dep.get("uri").and_then(Value::as_str)?;
            let commit = dep.get("digest").and_then(|d| {
                text(d.get("gitCommit"))
                    .or_else(|| text(d.get("sha1")))
                    .map(|c| c.to_ascii_lowercase())
            });
            Some(Source::from_uri(uri, commit))
        })
        .collect()
}

impl Source {
    /// Splits `uri@ref` (the ref part starts with `refs/`).
    fn from_uri(text: &str, commit: Option<String>) -> Self {
        match text.rsplit_once('@') {
            Some((uri, reference)) if reference.starts_with("refs/") => Self {
                uri: uri.to_owned(),
                reference: Some(reference.to_owned()),
                commit,
            },
            _ => Self {
                uri: text.to_owned(),
                reference: None,
                commit,
            },
        }
    }
}

/// A repository URI reduced for comparison: without `git+`, the scheme, a trailing `/` or
/// `.git`, so `git+https://github.com/acme/widget.git` and `github.com/acme/widget` agree.
pub fn normalize_uri(uri: &str) -> String {
    let uri = uri.strip_prefix("git+").unwrap_or(uri);
    let uri = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let uri = uri.trim_end_matches('/');
    let uri = uri.strip_suffix(".git").unwrap_or(uri);
    uri.to_owned()
}

/// One source of statements: a file name and its exact bytes.
#[derive(Debug, Clone)]
pub struct ProvenanceFile {
    /// The name reported (relative to the release directory, or as given).
    pub name: String,
    /// The exact bytes read.
    pub bytes: Vec<u8>,
}

/// What the caller requires of the provenance.
#[derive(Debug, Clone, Default)]
pub struct ProvenancePolicy {
    /// `--builder-id`.
    pub builder_id: Option<String>,
    /// `--source-uri`.
    pub source_uri: Option<String>,
    /// `--source-ref` (or `--source-tag`, `--source-branch`): a full ref such as
    /// `refs/tags/v1.4.2`, compared exactly, so a bare `v1.4.2` matches nothing.
    pub source_ref: Option<String>,
    /// `--source-commit`.
    pub source_commit: Option<String>,
    /// `--build-type`.
    pub build_type: Option<String>,
    /// Assets that must be attested (`--artifact`); empty means every asset.
    pub artifacts: Vec<String>,
}

impl ProvenancePolicy {
    /// True when any requirement was given: then a signed SLSA statement is required.
    pub fn is_set(&self) -> bool {
        self.builder_id.is_some()
            || self.source_uri.is_some()
            || self.source_ref.is_some()
            || self.source_commit.is_some()
            || self.build_type.is_some()
            || !self.artifacts.is_empty()
    }
}

/// A release asset as verified against SHA256SUMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetDigest {
    /// Its SHA-256.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Everything provenance verification needs.
#[derive(Debug, Clone, Copy)]
pub struct ProvenanceInputs<'a> {
    /// Statement files (`*.intoto.jsonl`, DSSE envelopes, bare statements).
    pub files: &'a [ProvenanceFile],
    /// The predecessor's `PROVENANCE.json`, if present.
    pub legacy: Option<&'a ProvenanceFile>,
    /// The verified assets, by path.
    pub assets: &'a BTreeMap<String, AssetDigest>,
    /// Trusted keys; `None` reads statements without authenticating them.
    pub trust: Option<&'a TrustPolicy>,
    /// The caller's requirements.
    pub policy: &'a ProvenancePolicy,
    /// Limits.
    pub limits: ProvenanceLimits,
}

/// A statement and whether trusted keys signed it.
#[derive(Debug)]
struct Read {
    origin: String,
    statement: Statement,
    trusted: bool,
    /// Whether it may attest assets: an SLSA provenance v1 statement, signed by trusted keys
    /// (any, when no trust was given), that satisfies the whole policy when one is set.
    qualifies: bool,
}

/// Verifies provenance against the verified assets; returns the checks (sections
/// `provenance` and `cross-checks`).
pub fn verify(inputs: &ProvenanceInputs<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let in_provenance = |c: Check| c.in_section(section::PROVENANCE);
    if inputs.files.is_empty() && inputs.legacy.is_none() && !inputs.policy.is_set() {
        checks.push(in_provenance(Check::skip(
            PROVENANCE_ABSENT,
            "no provenance found (*.intoto.jsonl, PROVENANCE.json) and none required",
        )));
        return checks;
    }
    let mut statements: Vec<Read> = Vec::new();
    let mut seen = 0;
    for file in inputs.files {
        read_file(file, inputs, &mut seen, &mut statements, &mut checks);
    }
    if inputs.trust.is_none() && !inputs.files.is_empty() {
        checks.push(in_provenance(Check::warn(
            PROVENANCE_SIGNATURE_UNCHECKED,
            "no trusted key was given: statements were read but not authenticated (pass --trusted-key or --keyring)",
        )));
    }
    // DESIGN 4 rule 2: the policy binds to the statement that attests an asset. Each trusted
    // SLSA statement is judged against the whole policy, and only those that satisfy it may
    // attest assets; a statement about other bytes cannot lend its builder to these.
    let mut signed_slsa: Vec<(usize, SlsaFacts)> = Vec::new();
    for (index, read) in statements.iter_mut().enumerate() {
        let Some(facts) = read.statement.slsa() else {
            continue;
        };
        let counts = read.trusted || inputs.trust.is_none();
        let mut satisfied = true;
        if read.trusted && inputs.policy.is_set() {
            let (policy, ok) = policy_checks(&facts, inputs.policy, true);
            satisfied = ok;
            for check in policy {
                checks.push(in_provenance(check.with_path(read.origin.clone())));
            }
        }
        read.qualifies = counts && (satisfied || !inputs.policy.is_set());
        if read.trusted {
            signed_slsa.push((index, facts));
        }
    }
    if inputs.policy.is_set() && signed_slsa.is_empty() {
        checks.push(in_provenance(Check::fail(
            PROVENANCE_MISSING,
            "no SLSA provenance v1 statement signed by trusted keys was found",
        )));
    }
    subject_checks(&statements, inputs, &mut checks);
    let signed_slsa: Vec<(&Read, SlsaFacts)> = signed_slsa
        .into_iter()
        .filter_map(|(i, f)| statements.get(i).map(|r| (r, f)))
        .collect();
    if let Some(legacy) = inputs.legacy {
        legacy_checks(legacy, inputs, &signed_slsa, &mut checks);
    }
    checks
}

/// Places a check at a statement's file or line, in the provenance section.
fn at(check: Check, origin: &str) -> Check {
    check
        .with_path(printable(origin).into_owned())
        .in_section(section::PROVENANCE)
}

/// Reads every statement of one file, with its signature checks.
fn read_file(
    file: &ProvenanceFile,
    inputs: &ProvenanceInputs<'_>,
    seen: &mut usize,
    statements: &mut Vec<Read>,
    checks: &mut Vec<Check>,
) {
    let Some(documents) = documents(file, inputs, seen, checks) else {
        return;
    };
    for (origin, bytes) in documents {
        let Some((payload, trusted)) = open_document(bytes, inputs, &origin, checks) else {
            continue;
        };
        match Statement::parse(&payload, &inputs.limits) {
            Ok(statement) => {
                parsed_checks(&statement, trusted, &origin, checks);
                statements.push(Read {
                    origin,
                    statement,
                    trusted,
                    qualifies: false,
                });
            }
            Err(e) => checks.push(at(Check::fail(PROVENANCE_INVALID, e.to_string()), &origin)),
        }
    }
}

/// The JSON documents of one file, each with the name it is reported under (`name:line` for
/// a `.jsonl` line).
type Documents<'f> = Box<dyn Iterator<Item = (String, &'f [u8])> + 'f>;

/// The documents of one file, each with the name it is reported under; `None` (with a check)
/// when the file exceeds a limit or holds none. `seen` counts the statements of all files read
/// so far.
fn documents<'f>(
    file: &'f ProvenanceFile,
    inputs: &ProvenanceInputs<'_>,
    seen: &mut usize,
    checks: &mut Vec<Check>,
) -> Option<Documents<'f>> {
    if file.bytes.len() as u64 > inputs.limits.max_bytes {
        checks.push(at(
            Check::fail(
                PROVENANCE_INVALID,
                format!("larger than the limit of {} bytes", inputs.limits.max_bytes),
            ),
            &file.name,
        ));
        return None;
    }
    // One JSON document per line for `.jsonl`; otherwise the whole file is one document.
    // Counted before anything is allocated per line: the limit bounds all files together.
    let jsonl = file.name.ends_with(".jsonl");
    let count = if jsonl {
        lines(&file.bytes)
            .take(inputs.limits.max_statements + 1)
            .count()
    } else {
        1
    };
    if count == 0 {
        checks.push(at(
            Check::fail(PROVENANCE_INVALID, "the file holds no statement"),
            &file.name,
        ));
        return None;
    }
    if count > inputs.limits.max_statements.saturating_sub(*seen) {
        checks.push(at(
            Check::fail(
                PROVENANCE_INVALID,
                format!(
                    "more statements than the limit of {} (all provenance files together)",
                    inputs.limits.max_statements
                ),
            ),
            &file.name,
        ));
        *seen = inputs.limits.max_statements;
        return None;
    }
    *seen += count;
    Some(if jsonl {
        Box::new(lines(&file.bytes).map(|(i, line)| (format!("{}:{}", file.name, i + 1), line)))
    } else {
        Box::new(std::iter::once((file.name.clone(), file.bytes.as_slice())))
    })
}

/// The lines of a `.jsonl` file that are not blank, with their 0-based indexes.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

/// What a statement read is, and a warning when its predicate cannot serve the policy.
fn parsed_checks(statement: &Statement, trusted: bool, origin: &str, checks: &mut Vec<Check>) {
    checks.push(at(
        Check::pass(
            PROVENANCE_PARSED,
            format!(
                "in-toto Statement v1, predicate {}, {} subject(s){}",
                printable(&statement.predicate_type),
                statement.subjects.len(),
                if trusted {
                    ", signed by trusted keys"
                } else {
                    ""
                }
            ),
        )
        .with("predicate_type", statement.predicate_type.clone())
        .with("signed", trusted),
        origin,
    ));
    if statement.predicate_type != SLSA_PROVENANCE_V1 {
        checks.push(at(
            Check::warn(
                PROVENANCE_PREDICATE_UNSUPPORTED,
                format!(
                    "predicate type {} is not {SLSA_PROVENANCE_V1}; not used for the policy",
                    printable(&statement.predicate_type)
                ),
            ),
            origin,
        ));
    }
}

/// Opens one JSON document: a DSSE envelope (judged against the trust policy), a Sigstore
/// bundle holding one, or a bare statement. Returns the statement bytes and whether trusted
/// keys signed them.
fn open_document(
    bytes: &[u8],
    inputs: &ProvenanceInputs<'_>,
    origin: &str,
    checks: &mut Vec<Check>,
) -> Option<(Vec<u8>, bool)> {
    let value = match json::parse_strict(bytes, &inputs.limits.json()) {
        Ok(v) => v,
        Err(e) => {
            checks.push(at(Check::fail(PROVENANCE_INVALID, e.to_string()), origin));
            return None;
        }
    };
    let envelope = if value.get("payloadType").is_some() {
        Some(value)
    } else {
        value.get("dsseEnvelope").cloned()
    };
    let Some(envelope) = envelope else {
        // A bare statement: unsigned.
        if inputs.trust.is_some() {
            checks.push(at(
                dsse::missing_check(
                    &SIGNATURE_CODES,
                    SignatureRequirement::Required,
                    "the statement",
                ),
                origin,
            ));
        }
        return Some((bytes.to_vec(), false));
    };
    open_envelope(envelope, inputs, origin, checks)
}

/// Opens a DSSE envelope: its signatures judged against the trust policy when one is given,
/// otherwise only its payload type checked. Returns the payload and whether trusted keys
/// signed it.
fn open_envelope(
    envelope: Value,
    inputs: &ProvenanceInputs<'_>,
    origin: &str,
    checks: &mut Vec<Check>,
) -> Option<(Vec<u8>, bool)> {
    let envelope = match Envelope::from_value(envelope, &inputs.limits.dsse) {
        Ok(e) => e,
        Err(e) => {
            checks.push(at(Check::fail(PROVENANCE_INVALID, e.to_string()), origin));
            return None;
        }
    };
    let Some(policy) = inputs.trust else {
        if envelope.payload_type != dsse::PAYLOAD_TYPE_IN_TOTO {
            checks.push(at(
                Check::fail(
                    PROVENANCE_INVALID,
                    format!(
                        "envelope payload type {:?} is not {:?}",
                        printable(&envelope.payload_type),
                        dsse::PAYLOAD_TYPE_IN_TOTO
                    ),
                ),
                origin,
            ));
            return None;
        }
        return Some((envelope.payload, false));
    };
    let verdict = envelope.verify(dsse::PAYLOAD_TYPE_IN_TOTO, policy);
    for check in dsse::verdict_checks(
        &verdict,
        &SIGNATURE_CODES,
        SignatureRequirement::Required,
        "the statement",
    ) {
        checks.push(at(check, origin));
    }
    if matches!(
        verdict.outcome,
        dsse::SignatureOutcome::PayloadTypeMismatch { .. }
    ) {
        return None;
    }
    Some((envelope.payload, verdict.is_verified()))
}

/// Subjects against the verified assets: matches, lies, weak digests, coverage.
fn subject_checks(statements: &[Read], inputs: &ProvenanceInputs<'_>, checks: &mut Vec<Check>) {
    let mut attested: BTreeMap<&str, &str> = BTreeMap::new();
    let mut any_match = false;
    for read in statements {
        for subject in &read.statement.subjects {
            any_match |= attest(read, subject, inputs.assets, &mut attested);
            checks.extend(named_asset_check(read, subject, inputs.assets));
        }
    }
    if statements.is_empty() {
        return;
    }
    if !any_match {
        checks.push(
            Check::fail(
                PROVENANCE_NO_SUBJECT_MATCHED,
                "no subject digest of any statement matches a release asset",
            )
            .in_section(section::CROSS_CHECKS),
        );
    }
    coverage_checks(&attested, inputs, checks);
}

/// Records the assets whose SHA-256 a subject has as attested by its statement, when that
/// statement qualifies; true when there is any such asset.
fn attest<'a>(
    read: &'a Read,
    subject: &Subject,
    assets: &'a BTreeMap<String, AssetDigest>,
    attested: &mut BTreeMap<&'a str, &'a str>,
) -> bool {
    let Some(d) = subject.sha256 else {
        return false;
    };
    let mut any = false;
    for (name, _) in assets.iter().filter(|(_, a)| a.sha256 == d) {
        any = true;
        if read.qualifies {
            attested.entry(name).or_insert(read.origin.as_str());
        }
    }
    any
}

/// A subject that names an asset must describe that asset's bytes.
fn named_asset_check(
    read: &Read,
    subject: &Subject,
    assets: &BTreeMap<String, AssetDigest>,
) -> Option<Check> {
    let (name, asset) = assets.get_key_value(subject.name.as_str())?;
    let check = match subject.sha256 {
        Some(d) if d == asset.sha256 => return None,
        Some(d) => Check::fail(
            PROVENANCE_SUBJECT_MISMATCH,
            "the statement gives this asset another SHA-256 than the verified one",
        )
        .with_path(printable(name).into_owned())
        .with("statement", read.origin.clone())
        .with("expected", asset.sha256.to_string())
        .with("actual", d.to_string()),
        None => Check::warn(
            PROVENANCE_SUBJECT_WEAK_DIGEST,
            format!(
                "the subject has no SHA-256 (only {}); it never counts",
                if subject.other_algorithms.is_empty() {
                    "no digest".to_owned()
                } else {
                    subject.other_algorithms.join(", ")
                }
            ),
        )
        .with_path(printable(name).into_owned())
        .with("statement", read.origin.clone()),
    };
    Some(check.in_section(section::CROSS_CHECKS))
}

/// Each asset that must be attested (every asset, or those `--artifact` names) against the
/// qualifying statements' subjects.
fn coverage_checks(
    attested: &BTreeMap<&str, &str>,
    inputs: &ProvenanceInputs<'_>,
    checks: &mut Vec<Check>,
) {
    let required: Vec<&str> = if inputs.policy.artifacts.is_empty() {
        inputs.assets.keys().map(String::as_str).collect()
    } else {
        inputs
            .policy
            .artifacts
            .iter()
            .map(|a| a.strip_prefix("./").unwrap_or(a))
            .collect()
    };
    for name in required {
        let check = match attested.get(name) {
            Some(origin) => Check::pass(
                PROVENANCE_SUBJECT_MATCH,
                format!("attested by {} with its exact SHA-256", printable(origin)),
            )
            .with("statement", (*origin).to_owned()),
            None if !inputs.assets.contains_key(name) => Check::fail(
                PROVENANCE_ARTIFACT_UNATTESTED,
                "named by --artifact but not a verified release asset",
            ),
            None => Check::fail(
                PROVENANCE_ARTIFACT_UNATTESTED,
                match (inputs.trust.is_some(), inputs.policy.is_set()) {
                    (true, true) => {
                        "no SLSA statement signed by trusted keys and meeting the policy has this asset's digest as a subject"
                    }
                    (true, false) => {
                        "no SLSA statement signed by trusted keys has this asset's digest as a subject"
                    }
                    _ => "no SLSA statement has this asset's digest as a subject",
                },
            ),
        };
        checks.push(
            check
                .with_path(printable(name).into_owned())
                .in_section(section::CROSS_CHECKS),
        );
    }
}

/// The policy checks against one statement's facts, and whether all of them hold.
///
/// The source flags bind together: `--source-uri`, `--source-ref` and `--source-commit` must
/// all hold for one and the same source, or a build of a fork that merely lists the real
/// repository among its dependencies would pass.
fn policy_checks(facts: &SlsaFacts, policy: &ProvenancePolicy, signed: bool) -> (Vec<Check>, bool) {
    let mut checks = Vec::new();
    checks.extend(exact_check(
        PROVENANCE_BUILDER_ID,
        "builder id",
        &policy.builder_id,
        &facts.builder_id,
        signed,
    ));
    checks.extend(exact_check(
        PROVENANCE_BUILD_TYPE,
        "build type",
        &policy.build_type,
        &facts.build_type,
        signed,
    ));
    source_checks(facts, policy, signed, &mut checks);
    let all = checks
        .iter()
        .all(|c| c.status == crate::report::Status::Pass);
    (checks, all)
}

/// How a policy check marks a claim nobody signed.
fn claim_suffix(signed: bool) -> &'static str {
    if signed { "" } else { " (unsigned claim)" }
}

/// A field that must equal the policy's value, when the policy gives one.
fn exact_check(
    code: CheckCode,
    what: &str,
    expected: &Option<String>,
    actual: &Option<String>,
    signed: bool,
) -> Option<Check> {
    let suffix = claim_suffix(signed);
    let expected = expected.as_ref()?;
    let seen = actual.clone().unwrap_or_default();
    let check = if actual.as_ref() == Some(expected) {
        Check::pass(code, format!("{what} is {}{suffix}", printable(&seen)))
    } else if actual.is_none() {
        Check::fail(code, format!("the statement names no {what}{suffix}"))
    } else {
        Check::fail(
            code,
            format!(
                "{what} is {}, not the required one{suffix}",
                printable(&seen)
            ),
        )
    };
    Some(
        check
            .with("expected", expected.clone())
            .with("actual", seen)
            .with("signed", signed),
    )
}

/// The `--source-*` checks, all judged against the one source that satisfies every flag given.
fn source_checks(
    facts: &SlsaFacts,
    policy: &ProvenancePolicy,
    signed: bool,
    checks: &mut Vec<Check>,
) {
    let flags = [
        SourceFlag {
            code: PROVENANCE_SOURCE_URI,
            what: "repository",
            expected: &policy.source_uri,
            part: |s| Some(s.uri.as_str()),
            same: |a, e| normalize_uri(a) == normalize_uri(e),
        },
        SourceFlag {
            code: PROVENANCE_SOURCE_REF,
            what: "ref",
            expected: &policy.source_ref,
            part: |s| s.reference.as_deref(),
            // Full refs, compared exactly: a short name would let a branch named like the
            // release tag (`refs/heads/v1.4.2`) pass as the tag.
            same: |a, e| a == e,
        },
        SourceFlag {
            code: PROVENANCE_SOURCE_COMMIT,
            what: "commit",
            expected: &policy.source_commit,
            part: |s| s.commit.as_deref(),
            same: |a, e| a.eq_ignore_ascii_case(e),
        },
    ];
    // The one source every given flag holds for, if there is one.
    let bound = facts
        .sources
        .iter()
        .find(|source| flags.iter().all(|flag| flag.holds(source)));
    for flag in &flags {
        checks.extend(flag.check(facts, bound, signed));
    }
}

/// One `--source-*` flag: which part of a source it reads and how it compares.
struct SourceFlag<'a> {
    code: CheckCode,
    what: &'static str,
    expected: &'a Option<String>,
    part: fn(&Source) -> Option<&str>,
    same: fn(&str, &str) -> bool,
}

impl SourceFlag<'_> {
    /// True when the flag is not given or `source` satisfies it.
    fn holds(&self, source: &Source) -> bool {
        match self.expected {
            None => true,
            Some(e) => (self.part)(source).is_some_and(|a| (self.same)(a, e)),
        }
    }

    /// The flag's check, when it is given; `bound` is the source satisfying every flag.
    fn check(&self, facts: &SlsaFacts, bound: Option<&Source>, signed: bool) -> Option<Check> {
        let Self {
            code,
            what,
            expected,
            part,
            ..
        } = self;
        let expected = expected.as_ref()?;
        let suffix = claim_suffix(signed);
        let mut seen: Vec<String> = facts
            .sources
            .iter()
            .filter_map(|s| part(s).map(str::to_owned))
            .collect();
        seen.sort();
        seen.dedup();
        let check = match bound {
            Some(source) => Check::pass(
                *code,
                format!(
                    "source {what} {} matches{suffix}",
                    printable(part(source).unwrap_or_default())
                ),
            ),
            None if seen.is_empty() => Check::fail(
                *code,
                format!("the statement names no source {what}{suffix}"),
            ),
            None if facts.sources.iter().any(|s| self.holds(s)) => Check::fail(
                *code,
                format!(
                    "a source has the required {what}, but no single source satisfies every --source-* flag given{suffix}"
                ),
            ),
            None => Check::fail(
                *code,
                format!(
                    "source {what} is {}, not the required one{suffix}",
                    printable(&seen.join(", "))
                ),
            ),
        };
        Some(
            check
                .with("expected", expected.clone())
                .with("actual", seen)
                .with("signed", signed),
        )
    }
}

/// The predecessor's `PROVENANCE.json`.
#[derive(Debug, Clone, Deserialize)]
struct Legacy {
    schema_version: String,
    release: LegacyRelease,
    #[serde(default)]
    source: Option<LegacySource>,
}

#[derive(Debug, Clone, Deserialize)]
struct LegacyRelease {
    assets: Vec<LegacyAsset>,
}

#[derive(Debug, Clone, Deserialize)]
struct LegacyAsset {
    name: String,
    sha256: String,
    size: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct LegacySource {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    tag: Option<String>,
}

/// The predecessor's `PROVENANCE.json` against the verified assets, the policy and the signed
/// provenance.
fn legacy_checks(
    file: &ProvenanceFile,
    inputs: &ProvenanceInputs<'_>,
    signed: &[(&Read, SlsaFacts)],
    checks: &mut Vec<Check>,
) {
    let Some(legacy) = read_legacy(file, inputs, checks) else {
        return;
    };
    checks.push(at(
        Check::warn(
            PROVENANCE_LEGACY_UNSIGNED,
            format!(
                "{LEGACY_SCHEMA} with {} asset(s): unsigned and informational; its claims are cross-checked, never trusted",
                legacy.release.assets.len()
            ),
        ),
        &file.name,
    ));
    legacy_asset_checks(file, &legacy.release.assets, inputs.assets, checks);
    let Some(source) = legacy.source else {
        return;
    };
    legacy_source_checks(file, &source, inputs.policy, checks);
    legacy_commit_checks(file, &source, signed, checks);
}

/// Parses `PROVENANCE.json` strictly and checks its schema and digests; `None` (with a check)
/// when it is not valid.
fn read_legacy(
    file: &ProvenanceFile,
    inputs: &ProvenanceInputs<'_>,
    checks: &mut Vec<Check>,
) -> Option<Legacy> {
    let json_limits = JsonLimits {
        max_bytes: inputs.limits.max_bytes,
        ..JsonLimits::default()
    };
    let legacy: Legacy = match json::from_slice_strict(&file.bytes, &json_limits) {
        Ok(l) => l,
        Err(e) => {
            checks.push(at(
                Check::fail(PROVENANCE_LEGACY_INVALID, e.to_string()),
                &file.name,
            ));
            return None;
        }
    };
    if legacy.schema_version != LEGACY_SCHEMA {
        checks.push(at(
            Check::fail(
                PROVENANCE_LEGACY_INVALID,
                format!(
                    "schema_version {:?} is not {LEGACY_SCHEMA:?}",
                    printable(&legacy.schema_version)
                ),
            ),
            &file.name,
        ));
        return None;
    }
    if let Some(bad) = legacy
        .release
        .assets
        .iter()
        .find(|a| Sha256Digest::from_hex(&a.sha256).is_err())
    {
        checks.push(at(
            Check::fail(
                PROVENANCE_LEGACY_INVALID,
                format!(
                    "asset {:?}: sha256 is not 64 hex digits",
                    printable(&bad.name)
                ),
            ),
            &file.name,
        ));
        return None;
    }
    Some(legacy)
}

/// Every digest claim about an asset must agree with SHA256SUMS.
fn legacy_asset_checks(
    file: &ProvenanceFile,
    claims: &[LegacyAsset],
    assets: &BTreeMap<String, AssetDigest>,
    checks: &mut Vec<Check>,
) {
    for asset in claims {
        let name = asset.name.strip_prefix("./").unwrap_or(&asset.name);
        let claimed = Sha256Digest::from_hex(&asset.sha256).ok();
        let check = match assets.get(name) {
            Some(v) if Some(v.sha256) == claimed && v.size == asset.size => Check::pass(
                PROVENANCE_LEGACY_ASSET_MATCH,
                "SHA-256 and size agree with the verified asset",
            ),
            Some(v) => Check::fail(
                PROVENANCE_LEGACY_ASSET_MISMATCH,
                "SHA-256 or size differs from the verified asset: PROVENANCE.json describes other bytes",
            )
            .with("expected", v.sha256.to_string())
            .with("actual", claimed.map(|d| d.to_string()).unwrap_or_default())
            .with("expected_size", v.size)
            .with("actual_size", asset.size),
            None => Check::fail(
                PROVENANCE_LEGACY_ASSET_MISMATCH,
                "names an asset the verified release does not have",
            ),
        };
        checks.push(
            check
                .with_path(printable(name).into_owned())
                .with("claimed_by", file.name.clone())
                .in_section(section::CROSS_CHECKS),
        );
    }
}

/// Its source fields against the policy's `--source-*` flags, reported as unsigned claims.
fn legacy_source_checks(
    file: &ProvenanceFile,
    source: &LegacySource,
    policy: &ProvenancePolicy,
    checks: &mut Vec<Check>,
) {
    let reference = source
        .tag
        .clone()
        .map(|t| format!("refs/tags/{t}"))
        .or_else(|| source.branch.clone().map(|b| format!("refs/heads/{b}")));
    let facts = SlsaFacts {
        builder_id: None,
        build_type: None,
        sources: source
            .repository
            .clone()
            .map(|uri| Source {
                uri,
                reference,
                commit: source.commit.as_ref().map(|c| c.to_ascii_lowercase()),
            })
            .into_iter()
            .collect(),
    };
    let source_policy = ProvenancePolicy {
        source_uri: policy.source_uri.clone(),
        source_ref: policy.source_ref.clone(),
        source_commit: policy.source_commit.clone(),
        ..ProvenancePolicy::default()
    };
    for check in policy_checks(&facts, &source_policy, false).0 {
        checks.push(at(check, &file.name));
    }
}

/// Its commit against the signed provenance: the two must tell the same story.
fn legacy_commit_checks(
    file: &ProvenanceFile,
    source: &LegacySource,
    signed: &[(&Read, SlsaFacts)],
    checks: &mut Vec<Check>,
) {
    for (read, signed_facts) in signed {
        let commits: Vec<&str> = signed_facts
            .sources
            .iter()
            .filter_map(|s| s.commit.as_deref())
            .collect();
        if let Some(commit) = &source.commit
            && !commits.is_empty()
            && !commits.iter().any(|c| c.eq_ignore_ascii_case(commit))
        {
            checks.push(
                at(
                    Check::fail(
                        PROVENANCE_LEGACY_SOURCE_MISMATCH,
                        format!(
                            "commit {} disagrees with the signed provenance ({})",
                            printable(commit),
                            commits.join(", ")
                        ),
                    )
                    .with("statement", read.origin.clone())
                    .with("expected", commits.join(", "))
                    .with("actual", commit.clone()),
                    &file.name,
                )
                .in_section(section::CROSS_CHECKS),
            );
        }
    }
}

#[cfg(test)]
mod tests;
