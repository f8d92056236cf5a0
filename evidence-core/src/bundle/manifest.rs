//! The bundle manifest (`manifest.json`, schema `evidence.bundle/v1`): raw bytes -> checked
//! [`Manifest`].
//!
//! The manifest is RFC 8785 canonical JSON. The bundle id is the SHA-256 of its exact bytes;
//! the DSSE envelope signs those same bytes. Readers parse it with duplicate keys refused at any
//! depth, check every field, and check that the bytes are canonical (so a manifest has exactly
//! one byte form and one id).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::json::{self, JsonLimits};
use crate::path::{ArtifactPath, PathRules};

/// The schema string of a v1 manifest.
pub const MANIFEST_SCHEMA: &str = "evidence.bundle/v1";
/// Every payload path starts with this folder.
pub const PAYLOAD_PREFIX: &str = "payload/";

/// Default largest manifest: 64 MiB.
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Default most files a bundle may list.
pub const DEFAULT_MAX_FILES: usize = 1_000_000;
/// Most subject entries.
pub const MAX_SUBJECT_ENTRIES: usize = 256;
/// Longest subject key, in bytes.
pub const MAX_SUBJECT_KEY_BYTES: usize = 64;
/// Longest subject value, in bytes.
pub const MAX_SUBJECT_VALUE_BYTES: usize = 4096;
/// Most parents.
pub const MAX_PARENTS: usize = 64;
/// Longest kind, in bytes.
pub const MAX_KIND_BYTES: usize = 64;
/// Largest `size` and redaction `count`: 2^53. Canonical JSON (RFC 8785) writes numbers as
/// IEEE doubles, so a larger integer does not always read back as itself (2^60 + 1 cannot
/// be written at all; 3919314991764733952 is written `3919314991764734000`).
pub const MAX_INTEGER: u64 = 1 << 53;

/// The tool that wrote a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    /// Tool name.
    pub name: String,
    /// Tool version.
    pub version: String,
}

/// One payload file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path relative to the bundle root, starting with `payload/`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, 64 lower-case hex digits.
    pub sha256: String,
}

/// What redaction did before the bundle was sealed: counts per secret class, never the secrets
/// or their digests (DESIGN 4 rule 9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionSummary {
    /// Whether redaction ran.
    pub applied: bool,
    /// Number of redacted values per secret class name. Written as a list of
    /// `{"class", "count"}` objects sorted by class, so that no member name of the manifest
    /// looks like the name of a secret (`"bearer-token": 2` would, to any scanner).
    #[serde(with = "class_counts")]
    pub counts: BTreeMap<String, u64>,
}

/// `{class: count}` as `[{"class": class, "count": count}, ...]`, sorted, each class once.
mod class_counts {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        class: String,
        count: u64,
    }

    pub(super) fn serialize<S: Serializer>(
        counts: &BTreeMap<String, u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let list: Vec<Entry> = counts
            .iter()
            .map(|(class, count)| Entry {
                class: class.clone(),
                count: *count,
            })
            .collect();
        list.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, u64>, D::Error> {
        let list = Vec::<Entry>::deserialize(d)?;
        let mut out = BTreeMap::new();
        let mut previous: Option<String> = None;
        for e in list {
            if previous
                .as_ref()
                .is_some_and(|p| p.as_bytes() >= e.class.as_bytes())
            {
                return Err(serde::de::Error::custom(
                    "redaction.counts must be sorted by class, each class once",
                ));
            }
            previous = Some(e.class.clone());
            out.insert(e.class, e.count);
        }
        Ok(out)
    }
}

/// A bundle manifest as written in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// What the bundle holds (`deployment`, `incident`, `release`, ...).
    pub kind: String,
    /// When the bundle was created, as claimed by its creator (RFC 3339, UTC, seconds).
    pub created_at: String,
    /// The tool that wrote it.
    pub tool: ToolInfo,
    /// Free-form string metadata (target, commit, release_tag, deployment_id, ...).
    pub subject: BTreeMap<String, String>,
    /// Every payload file, sorted by path bytes.
    pub files: Vec<FileEntry>,
    /// What redaction did.
    pub redaction: RedactionSummary,
    /// Ids (`sha256:...`) of bundles this one derives from, sorted, unique.
    pub parents: Vec<String>,
}

/// Why manifest bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not strict JSON of the manifest's shape.
    #[error("manifest is not valid: {0}")]
    Json(String),
    /// Larger than the limit.
    #[error("manifest is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The schema string is not `evidence.bundle/v1`.
    #[error("unsupported manifest schema {0:?} (expected \"evidence.bundle/v1\")")]
    Schema(String),
    /// A field breaks a rule.
    #[error("manifest field {field}: {reason}")]
    Field {
        /// Which field (`kind`, `files[3].path`, ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A listed path is not a confined payload path.
    #[error("manifest field {field}: unsafe path: {reason}")]
    UnsafePath {
        /// Which entry (`files[3].path`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The bytes are not the canonical (RFC 8785) form of the manifest.
    #[error("manifest bytes are not canonical JSON (RFC 8785)")]
    NotCanonical,
}

/// Limits applied when reading a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestLimits {
    /// Largest manifest, in bytes.
    pub max_bytes: u64,
    /// Most files listed.
    pub max_files: usize,
}

impl Default for ManifestLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_MANIFEST_BYTES,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

impl Manifest {
    /// Reads and checks manifest bytes: strict JSON, shape, every field rule, canonical form.
    pub fn parse(bytes: &[u8], limits: &ManifestLimits) -> Result<Self, ManifestError> {
        if bytes.len() as u64 > limits.max_bytes {
            return Err(ManifestError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        let json_limits = JsonLimits {
            max_bytes: limits.max_bytes,
            ..JsonLimits::default()
        };
        let value = json::parse_strict(bytes, &json_limits)
            .map_err(|e| ManifestError::Json(e.to_string()))?;
        // The schema is checked before the shape, so a future version gets a clear message.
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(MANIFEST_SCHEMA) => {}
            Some(other) => return Err(ManifestError::Schema(other.to_owned())),
            None => return Err(ManifestError::Schema(String::new())),
        }
        // DESIGN 3: one manifest, one byte form, one id. Judged from the value already parsed;
        // reported after the field rules, which say more about a wrong manifest.
        let canonical =
            crate::canonical::to_canonical_vec(&value).is_ok_and(|c| c.as_slice() == bytes);
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| ManifestError::Json(e.to_string()))?;
        manifest.check(limits)?;
        if !canonical {
            return Err(ManifestError::NotCanonical);
        }
        Ok(manifest)
    }

    /// Checks every field rule (see `docs/FORMAT.md`, bundle manifest).
    pub fn check(&self, limits: &ManifestLimits) -> Result<(), ManifestError> {
        if self.schema != MANIFEST_SCHEMA {
            return Err(ManifestError::Schema(self.schema.clone()));
        }
        check_kind(&self.kind).map_err(|r| field("kind", r))?;
        crate::timestamp::parse_timestamp(&self.created_at)
            .map_err(|e| field("created_at", e.to_string()))?;
        self.check_subject()?;
        self.check_files(limits)?;
        self.check_parents()?;
        for (class, count) in &self.redaction.counts {
            check_kind(class).map_err(|r| field(&format!("redaction.counts.{class}"), r))?;
            if *count > MAX_INTEGER {
                return Err(field(
                    &format!("redaction.counts.{class}"),
                    format!("larger than {MAX_INTEGER} (2^53, the largest exact JSON integer)"),
                ));
            }
        }
        Ok(())
    }

    fn check_subject(&self) -> Result<(), ManifestError> {
        if self.subject.len() > MAX_SUBJECT_ENTRIES {
            return Err(field(
                "subject",
                format!("more than {MAX_SUBJECT_ENTRIES} entries"),
            ));
        }
        for (key, value) in &self.subject {
            check_subject_key(key).map_err(|r| field(&format!("subject.{key}"), r))?;
            if value.len() > MAX_SUBJECT_VALUE_BYTES {
                return Err(field(
                    &format!("subject.{key}"),
                    format!("value longer than {MAX_SUBJECT_VALUE_BYTES} bytes"),
                ));
            }
        }
        Ok(())
    }

    /// Each file entry's path, digest and size, and their order.
    fn check_files(&self, limits: &ManifestLimits) -> Result<(), ManifestError> {
        if self.files.len() > limits.max_files {
            return Err(field(
                "files",
                format!("more than {} entries", limits.max_files),
            ));
        }
        let mut previous: Option<&str> = None;
        for (i, f) in self.files.iter().enumerate() {
            let name = format!("files[{i}]");
            check_payload_path(&f.path).map_err(|reason| ManifestError::UnsafePath {
                field: format!("{name}.path"),
                reason,
            })?;
            if f.sha256.len() != 64
                || !f
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(field(
                    &format!("{name}.sha256"),
                    "must be 64 lower-case hex digits".to_owned(),
                ));
            }
            if f.size > MAX_INTEGER {
                return Err(field(
                    &format!("{name}.size"),
                    format!("larger than {MAX_INTEGER} (2^53, the largest exact JSON integer)"),
                ));
            }
            if let Some(prev) = previous
                && prev.as_bytes() >= f.path.as_bytes()
            {
                return Err(field(
                    &format!("{name}.path"),
                    "files must be sorted by path bytes, without duplicates".to_owned(),
                ));
            }
            previous = Some(&f.path);
        }
        Ok(())
    }

    /// Parent bundle ids: lower-case digests, sorted, without duplicates.
    fn check_parents(&self) -> Result<(), ManifestError> {
        if self.parents.len() > MAX_PARENTS {
            return Err(field("parents", format!("more than {MAX_PARENTS} entries")));
        }
        let mut previous: Option<&str> = None;
        for (i, p) in self.parents.iter().enumerate() {
            let d = Sha256Digest::parse(p)
                .map_err(|e| field(&format!("parents[{i}]"), e.to_string()))?;
            if d.to_string() != *p {
                return Err(field(
                    &format!("parents[{i}]"),
                    "must be lower case".to_owned(),
                ));
            }
            if previous.is_some_and(|prev| prev >= p.as_str()) {
                return Err(field(
                    "parents",
                    "must be sorted, without duplicates".to_owned(),
                ));
            }
            previous = Some(p);
        }
        Ok(())
    }

    /// The canonical bytes of this manifest (what `manifest.json` holds).
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        crate::canonical::to_canonical(self).map_err(|e| ManifestError::Json(e.to_string()))
    }

    /// The bundle's `SHA256SUMS` (FORMAT 5.3): `manifest.json` (the digest of `manifest_bytes`)
    /// and every listed file, in the writing form of the checksum module, sorted by name.
    pub fn sums_bytes(&self, manifest_bytes: &[u8]) -> Vec<u8> {
        let mut map: BTreeMap<String, Sha256Digest> = self
            .files
            .iter()
            .filter_map(|f| Self::file_digest(f).map(|d| (f.path.clone(), d)))
            .collect();
        map.insert(
            super::MANIFEST_FILE.to_owned(),
            Sha256Digest::of(manifest_bytes),
        );
        crate::sums::write(&map)
    }

    /// The digest of a file entry.
    pub fn file_digest(entry: &FileEntry) -> Option<Sha256Digest> {
        Sha256Digest::from_hex(&entry.sha256).ok()
    }
}

/// A manifest field that breaks its rule.
fn field(field: &str, reason: String) -> ManifestError {
    ManifestError::Field {
        field: field.to_owned(),
        reason,
    }
}

/// A kind (and a redaction class name): 1-64 bytes of `a-z`, `0-9` and `-`, starting with a
/// letter or digit.
pub fn check_kind(kind: &str) -> Result<(), String> {
    let ok = !kind.is_empty()
        && kind.len() <= MAX_KIND_BYTES
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !kind.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind:?} must be 1-{MAX_KIND_BYTES} characters of a-z, 0-9 and '-', not starting with '-'"
        ))
    }
}

/// A subject key: 1-64 bytes of `a-z`, `0-9`, `_`, `.` and `-`.
pub fn check_subject_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= MAX_SUBJECT_KEY_BYTES
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.' || b == b'-'
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key {key:?} must be 1-{MAX_SUBJECT_KEY_BYTES} characters of a-z, 0-9, '_', '.', '-'"
        ))
    }
}

/// A payload path: a strict confined path under `payload/`.
pub fn check_payload_path(path: &str) -> Result<(), String> {
    ArtifactPath::check(path, PathRules::Strict).map_err(|e| e.to_string())?;
    match path.strip_prefix(PAYLOAD_PREFIX) {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(format!("{path:?} is not under {PAYLOAD_PREFIX}")),
    }
}
