//! Producing a verifiable release (`evidence release seal`): `SHA256SUMS` over every asset,
//! `SHA256SUMS.dsse.json` signing its exact bytes, and `release.intoto.jsonl`, a signed in-toto
//! Statement v1 whose subjects are every asset, with an SLSA provenance v1 predicate.
//!
//! The directory is listed with the verifier's rules (no links, devices, hard links or
//! unportable names; collisions refused), so what is sealed is exactly what
//! [`verify_release`](super::verify_release) will accept. Nothing in the output depends on the
//! time or the order of listing: sealing twice writes identical files. Each output is written
//! beside its destination and renamed into place; `SHA256SUMS` is renamed last, so an
//! interrupted seal leaves signatures that do not match the old checksum file, which
//! verification refuses, never a half-written file.
//!
//! The commit point is the rename of `SHA256SUMS`: in a folder sealed for the first time,
//! `SHA256SUMS` present means all three outputs are present, complete and verifiable. A seal
//! killed before it leaves at most the other two outputs and temporaries named
//! `.NAME.tmp-PID-RANDOM` (see [`crate::atomic`]); the next seal removes those temporaries of
//! its three outputs before it lists the folder, so they never become assets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{SUMS_FILE, is_metadata_name};
use crate::atomic::TempFile;
use crate::digest::Sha256Digest;
use crate::dsse::{self, Envelope};
use crate::hash::{self, FileId, HashJob, Progress};
use crate::keys::PrivateKey;
use crate::path::{ArtifactPath, Clash, PathSet};
use crate::provenance::{SLSA_PROVENANCE_V1, STATEMENT_V1};
use crate::sums::{self, SumsLimits};
use crate::tree::{EntryKind, Tree};

/// The signed checksum file's name.
pub const SUMS_SIGNATURE_FILE: &str = "SHA256SUMS.dsse.json";
/// The provenance file's name.
pub const STATEMENT_FILE: &str = "release.intoto.jsonl";
/// The build type recorded when none is given: "a release directory sealed by `evidence release
/// seal`; `externalParameters.source` names the source repository and ref".
pub const DEFAULT_BUILD_TYPE: &str = "urn:evidence:build-type:release-seal:v1";
/// The build type of a GitHub Actions workflow run.
pub const GITHUB_WORKFLOW_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";

/// What the provenance predicate says about the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// `runDetails.builder.id`: who built the release (required).
    pub builder_id: String,
    /// `buildDefinition.buildType`.
    pub build_type: String,
    /// The source repository URI.
    pub source_uri: Option<String>,
    /// The source ref (`refs/tags/v1.2.3`).
    pub source_ref: Option<String>,
    /// The source commit.
    pub source_commit: Option<String>,
    /// `runDetails.metadata.invocationId`.
    pub invocation_id: Option<String>,
    /// A GitHub Actions workflow (`externalParameters.workflow`): repository, ref and path.
    pub workflow: Option<Workflow>,
}

/// A GitHub Actions workflow as the workflow build type records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    /// `https://github.com/OWNER/REPO`.
    pub repository: String,
    /// `refs/tags/v1.2.3`.
    pub reference: String,
    /// `.github/workflows/release.yml`.
    pub path: String,
}

impl BuildInfo {
    /// A build by `builder_id` of the default build type, source unknown.
    pub fn new(builder_id: impl Into<String>) -> Self {
        Self {
            builder_id: builder_id.into(),
            build_type: DEFAULT_BUILD_TYPE.to_owned(),
            source_uri: None,
            source_ref: None,
            source_commit: None,
            invocation_id: None,
            workflow: None,
        }
    }

    /// The build as GitHub Actions describes it through its standard variables
    /// (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`,
    /// `GITHUB_WORKFLOW_REF`, `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`): the builder id is the
    /// workflow file at its ref, the source the repository at `GITHUB_REF` and `GITHUB_SHA`.
    pub fn from_github_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, SealError> {
        let need = |name: &str| {
            var(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| SealError::Environment(name.to_owned()))
        };
        if var("GITHUB_ACTIONS").as_deref() != Some("true") {
            return Err(SealError::Environment("GITHUB_ACTIONS=true".to_owned()));
        }
        let server = need("GITHUB_SERVER_URL")?;
        let repository = need("GITHUB_REPOSITORY")?;
        let commit = need("GITHUB_SHA")?;
        let reference = need("GITHUB_REF")?;
        let workflow_ref = need("GITHUB_WORKFLOW_REF")?;
        let repository_uri = format!("{server}/{repository}");
        // GITHUB_WORKFLOW_REF = OWNER/REPO/.github/workflows/release.yml@refs/tags/v1
        let path = workflow_ref
            .split_once('@')
            .map_or(workflow_ref.as_str(), |(p, _)| p)
            .strip_prefix(&format!("{repository}/"))
            .unwrap_or_default()
            .to_owned();
        let invocation_id = match (var("GITHUB_RUN_ID"), var("GITHUB_RUN_ATTEMPT")) {
            (Some(run), Some(attempt)) => Some(format!(
                "{repository_uri}/actions/runs/{run}/attempts/{attempt}"
            )),
            (Some(run), None) => Some(format!("{repository_uri}/actions/runs/{run}")),
            _ => None,
        };
        Ok(Self {
            builder_id: format!("{server}/{workflow_ref}"),
            build_type: GITHUB_WORKFLOW_BUILD_TYPE.to_owned(),
            source_uri: Some(repository_uri.clone()),
            source_ref: Some(reference.clone()),
            source_commit: Some(commit),
            invocation_id,
            workflow: Some(Workflow {
                repository: repository_uri,
                reference,
                path,
            }),
        })
    }

    /// The SLSA provenance v1 predicate.
    fn predicate(&self) -> Value {
        let source = self.source_uri.as_ref().map(|uri| {
            let uri = if uri.starts_with("git+") {
                uri.clone()
            } else {
                format!("git+{uri}")
            };
            match &self.source_ref {
                Some(r) => format!("{uri}@{r}"),
                None => uri,
            }
        });
        let mut external = Map::new();
        match (&self.workflow, &source) {
            (Some(w), _) => {
                external.insert(
                    "workflow".into(),
                    json!({"repository": w.repository, "ref": w.reference, "path": w.path}),
                );
            }
            (None, Some(s)) => {
                external.insert("source".into(), Value::String(s.clone()));
            }
            (None, None) => {}
        }
        let mut definition = Map::new();
        definition.insert("buildType".into(), Value::String(self.build_type.clone()));
        definition.insert("externalParameters".into(), Value::Object(external));
        if let Some(s) = &source {
            let mut dependency = Map::new();
            dependency.insert("uri".into(), Value::String(s.clone()));
            if let Some(c) = &self.source_commit {
                dependency.insert(
                    "digest".into(),
                    json!({ "gitCommit": c.to_ascii_lowercase() }),
                );
            }
            definition.insert(
                "resolvedDependencies".into(),
                Value::Array(vec![Value::Object(dependency)]),
            );
        }
        let mut run = Map::new();
        run.insert("builder".into(), json!({ "id": self.builder_id }));
        if let Some(id) = &self.invocation_id {
            run.insert("metadata".into(), json!({ "invocationId": id }));
        }
        json!({ "buildDefinition": definition, "runDetails": run })
    }
}

/// How to seal.
pub struct SealOptions<'a> {
    /// Keys signing the checksum file and the statement (at least one).
    pub keys: Vec<&'a PrivateKey>,
    /// What the provenance says about the build.
    pub build: BuildInfo,
    /// Limits on the listing and on each file.
    pub limits: SumsLimits,
    /// Receives hashing progress.
    pub progress: &'a dyn Progress,
}

impl std::fmt::Debug for SealOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealOptions")
            .field("keys", &self.keys.len())
            .field("build", &self.build)
            .finish_non_exhaustive()
    }
}

/// Why a release could not be sealed (nothing was written, unless the error says otherwise).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The directory does not exist or cannot be listed.
    #[error("{path}: {reason}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds something a verifier refuses (a link, a device, a hard link, an
    /// unportable or colliding name); sealing it would produce a release that cannot verify.
    #[error("{path}: {reason}")]
    Refused {
        /// The entry, relative to the directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// No assets to seal.
    #[error("nothing to seal: the directory holds no assets")]
    Empty,
    /// No signing key.
    #[error("no signing key given")]
    NoKey,
    /// A variable needed by `--provenance-from-env` is not set.
    #[error("not in a GitHub Actions run: {0} is not set")]
    Environment(String),
    /// Writing an output failed; outputs renamed before the failure stay.
    #[error("{path}: {source}")]
    Write {
        /// The output.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// What was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Every asset and its SHA-256, by path.
    pub assets: BTreeMap<String, Sha256Digest>,
    /// The digest of the checksum file written.
    pub sums_digest: Sha256Digest,
    /// The files written, relative to the directory, in the order they were renamed into place.
    pub written: Vec<String>,
}

/// Seals `dir` (see the module documentation).
pub fn seal(dir: &Path, opts: &SealOptions<'_>) -> Result<Sealed, SealError> {
    if opts.keys.is_empty() {
        return Err(SealError::NoKey);
    }
    let listing = list(dir, opts)?;
    let assets = assets(&listing)?;
    refuse_collisions(&assets)?;
    let digests = hash_assets(&listing, &assets, opts)?;

    let sums_bytes = sums::write(&digests);
    let sums_envelope = Envelope::sign(dsse::PAYLOAD_TYPE_SHA256SUMS, &sums_bytes, &opts.keys);
    let statement_line = statement_line(dir, &digests, opts)?;
    // All three are written in full before the first rename; SHA256SUMS goes last.
    let written = write_outputs(
        dir,
        [
            (STATEMENT_FILE, &statement_line),
            (SUMS_SIGNATURE_FILE, &sums_envelope.to_json_bytes()),
            (SUMS_FILE, &sums_bytes),
        ],
    )?;
    Ok(Sealed {
        assets: digests,
        sums_digest: Sha256Digest::of(&sums_bytes),
        written,
    })
}

/// A problem with the directory itself.
fn directory_error(dir: &Path, reason: String) -> SealError {
    SealError::Directory {
        path: dir.to_owned(),
        reason,
    }
}

/// Lists `dir` with the verifier's rules, after removing temporaries a crashed seal left; a
/// listing with a problem, or cut at the entry limit, is refused.
fn list(dir: &Path, opts: &SealOptions<'_>) -> Result<Tree, SealError> {
    let directory = |reason: String| directory_error(dir, reason);
    if !std::fs::metadata(dir)
        .map_err(|e| directory(e.to_string()))?
        .is_dir()
    {
        return Err(directory("not a directory".to_owned()));
    }
    crate::atomic::remove_stale_temporaries(dir, &[STATEMENT_FILE, SUMS_SIGNATURE_FILE, SUMS_FILE])
        .map_err(|e| directory(e.to_string()))?;
    let listing = sums::list_for_sums(dir, &opts.limits).map_err(|e| directory(e.to_string()))?;
    if let Some(problem) = listing.problems.first() {
        return Err(SealError::Refused {
            path: problem.display.clone(),
            reason: problem.message.clone(),
        });
    }
    if listing.truncated {
        return Err(directory(format!(
            "more than {} entries",
            opts.limits.max_entries
        )));
    }
    Ok(listing)
}

/// The assets: every regular file but the release metadata, sorted by path bytes. A name
/// that is not acceptable, or anything but a file or folder, is refused.
fn assets(listing: &Tree) -> Result<Vec<(ArtifactPath, FileId)>, SealError> {
    let mut assets = Vec::new();
    for entry in &listing.entries {
        let path = entry.path.as_ref().map_err(|bad| SealError::Refused {
            path: bad.display.clone(),
            reason: bad.error.to_string(),
        })?;
        match entry.kind {
            EntryKind::Dir => {}
            EntryKind::File if is_metadata_name(path.as_str()) => {}
            EntryKind::File => assets.push((path.clone(), entry.id)),
            other => {
                return Err(SealError::Refused {
                    path: path.to_string(),
                    reason: format!("a {}; a release holds only regular files", other.as_str()),
                });
            }
        }
    }
    if assets.is_empty() {
        return Err(SealError::Empty);
    }
    assets.sort_by(|a, b| a.0.as_str().as_bytes().cmp(b.0.as_str().as_bytes()));
    Ok(assets)
}

/// Refuses two assets whose names collide after Unicode normalisation and case folding.
fn refuse_collisions(assets: &[(ArtifactPath, FileId)]) -> Result<(), SealError> {
    let mut names = PathSet::with_capacity(assets.len());
    for (i, (path, _)) in assets.iter().enumerate() {
        if let Some(Clash::SameKey { with } | Clash::FileAndFolder { with }) =
            names.insert(path.as_str(), i)
        {
            return Err(SealError::Refused {
                path: path.to_string(),
                reason: format!(
                    "collides with {} after Unicode normalisation and case folding",
                    assets.get(with).map_or("", |a| a.0.as_str())
                ),
            });
        }
    }
    Ok(())
}

/// Each file is hashed once, bound to the inode listed and to a single link.
fn hash_assets(
    listing: &Tree,
    assets: &[(ArtifactPath, FileId)],
    opts: &SealOptions<'_>,
) -> Result<BTreeMap<String, Sha256Digest>, SealError> {
    let hashed = hash::hash_files(
        assets,
        |(path, id)| HashJob {
            path: listing.disk_path(path),
            expect_id: Some(*id),
            single_link: true,
        },
        opts.limits.max_file_bytes,
        opts.progress,
    );
    let mut digests = BTreeMap::new();
    for ((path, _), result) in assets.iter().zip(hashed) {
        let h = result.map_err(|e| SealError::Refused {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        digests.insert(path.as_str().to_owned(), h.digest);
    }
    Ok(digests)
}

/// The signed provenance statement over every asset, as one JSON line.
fn statement_line(
    dir: &Path,
    digests: &BTreeMap<String, Sha256Digest>,
    opts: &SealOptions<'_>,
) -> Result<Vec<u8>, SealError> {
    let statement = json!({
        "_type": STATEMENT_V1,
        "subject": digests
            .iter()
            .map(|(name, d)| json!({"name": name, "digest": {"sha256": d.to_hex()}}))
            .collect::<Vec<_>>(),
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": opts.build.predicate(),
    });
    let statement_bytes =
        crate::canonical::to_canonical_vec(&statement).map_err(|e| SealError::Write {
            path: dir.join(STATEMENT_FILE),
            source: std::io::Error::other(e.to_string()),
        })?;
    let mut statement_line =
        Envelope::sign(dsse::PAYLOAD_TYPE_IN_TOTO, &statement_bytes, &opts.keys).to_json_line();
    statement_line.push(b'\n');
    Ok(statement_line)
}

/// Writes every output to a temporary beside it, then renames them into place in order: the
/// names renamed, or the first failure (outputs renamed before it stay).
fn write_outputs(dir: &Path, outputs: [(&str, &[u8]); 3]) -> Result<Vec<String>, SealError> {
    let mut temps = Vec::with_capacity(outputs.len());
    for (name, bytes) in outputs {
        let target = dir.join(name);
        let write = |source| SealError::Write {
            path: target.clone(),
            source,
        };
        let temp = TempFile::beside(&target).map_err(write)?;
        temp.write_all(bytes).map_err(write)?;
        temps.push((name, target, temp));
    }
    let mut written = Vec::with_capacity(temps.len());
    for (name, target, temp) in temps {
        temp.persist_replacing(&target)
            .map_err(|source| SealError::Write {
                path: target.clone(),
                source,
            })?;
        written.push(name.to_owned());
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
