//! Creating and co-signing bundles.
//!
//! Creation collects the inputs (files and folders, never following a symlink, refusing
//! devices and names that are not confined paths), copies each into a temporary folder beside
//! the destination while hashing exactly the bytes written (after redaction, when asked:
//! redaction reads a file whole, bounded by [`BuildOptions::max_redact_bytes`]),
//! writes `manifest.json` (canonical), `SHA256SUMS` and, when keys are given,
//! `manifest.dsse.json`, then renames the folder into place. Same inputs and `created_at` give
//! byte-identical bundles.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::manifest::{
    FileEntry, MANIFEST_SCHEMA, Manifest, ManifestError, PAYLOAD_PREFIX, RedactionSummary,
    ToolInfo, check_kind, check_subject_key,
};
use super::{BundleId, ENVELOPE_FILE, MANIFEST_FILE, SUMS_FILE, VerifyOptions};
use crate::atomic::{TempDir, TempFile};
use crate::digest::{Sha256Digest, Sha256Hasher};
use crate::dsse::{self, Envelope};
use crate::hash::{self, FileId};
use crate::keys::PrivateKey;
use crate::path::{ArtifactPath, Clash, PathRules, PathSet};
use crate::redact::{ContentHint, Redactor};
use crate::report::Report;
use crate::timestamp::Timestamp;
use crate::tree::{self, EntryKind};

/// Default largest input file: 64 GiB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 << 30;
/// Default largest file redacted (redaction reads a file whole): 256 MiB.
pub const DEFAULT_MAX_REDACT_BYTES: u64 = 256 << 20;

/// One thing to put in a bundle.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file or folder on disk, placed at `payload/<its name>` (a folder keeps its structure).
    Path(PathBuf),
    /// A file or folder on disk, placed at `payload/<at>`.
    PathAs {
        /// The file or folder.
        path: PathBuf,
        /// Where under `payload/` it goes.
        at: String,
    },
    /// Bytes produced in memory, placed at `payload/<at>`.
    Bytes {
        /// Where under `payload/` they go.
        at: String,
        /// The content.
        bytes: Vec<u8>,
    },
}

/// What to build.
#[derive(Debug)]
pub struct BuildOptions<'a> {
    /// The bundle kind (`a-z`, `0-9`, `-`).
    pub kind: String,
    /// Subject metadata.
    pub subject: BTreeMap<String, String>,
    /// The creation time to record; `None` uses `SOURCE_DATE_EPOCH`, else the clock.
    pub created_at: Option<Timestamp>,
    /// Bundles this one derives from.
    pub parents: Vec<BundleId>,
    /// Keys to sign with (none: an unsigned bundle).
    pub sign: Vec<&'a PrivateKey>,
    /// Redact every payload file before sealing (DESIGN 4 rule 9); the manifest records the
    /// counts per class.
    pub redactor: Option<&'a Redactor>,
    /// The tool to record.
    pub tool: ToolInfo,
    /// Largest input file.
    pub max_input_bytes: u64,
    /// Largest file redacted.
    pub max_redact_bytes: u64,
}

impl BuildOptions<'_> {
    /// Options for a bundle of `kind` written by this library, with default limits.
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            subject: BTreeMap::new(),
            created_at: None,
            parents: Vec::new(),
            sign: Vec::new(),
            redactor: None,
            tool: ToolInfo {
                name: env!("CARGO_PKG_NAME").to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_redact_bytes: DEFAULT_MAX_REDACT_BYTES,
        }
    }
}

/// Why a bundle could not be built (nothing is left at the destination).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Reading an input or writing the bundle failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The destination already exists.
    #[error("{0} already exists; bundles are never overwritten")]
    Exists(PathBuf),
    /// An input is a symbolic link, device, FIFO or socket.
    #[error(
        "{path} is a {what}; only regular files and folders can be sealed (links are never followed)"
    )]
    Unsupported {
        /// The input.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// An input name is not an acceptable bundle path.
    #[error("{path}: {reason}")]
    BadName {
        /// The input.
        path: String,
        /// Why.
        reason: String,
    },
    /// Two inputs would land on the same (or colliding) payload path.
    #[error("{path} collides with {with} inside the bundle; rename one of them")]
    Collision {
        /// The later input's payload path.
        path: String,
        /// The earlier one's.
        with: String,
    },
    /// No input files.
    #[error("nothing to seal: the inputs hold no files")]
    Empty,
    /// An input is larger than the limit.
    #[error("{path} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The input.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// An input changed while it was being read.
    #[error("{0} changed while it was being read; try again")]
    Changed(PathBuf),
    /// Kind, subject or parents break a manifest rule.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A SOURCE_DATE_EPOCH problem.
    #[error(transparent)]
    Time(#[from] crate::timestamp::TimeError),
    /// The bundle to co-sign does not verify.
    #[error("the bundle does not verify; refusing to sign it")]
    NotVerified(Box<Report>),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The new bundle's id.
    pub id: BundleId,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Where one payload file comes from.
#[derive(Debug)]
enum Source {
    Disk { path: PathBuf, id: FileId },
    Memory(Vec<u8>),
}

/// Builds a bundle at `out` (which must not exist) from `inputs`.
pub fn create(out: &Path, inputs: &[Input], opts: &BuildOptions<'_>) -> Result<Built, BuildError> {
    if fs::symlink_metadata(out).is_ok() {
        return Err(BuildError::Exists(out.to_owned()));
    }
    let created_at = check_options(opts)?;
    let files = resolve_inputs(inputs)?;
    // Copy into a temporary folder beside `out`, hashing exactly what is written.
    let temp = TempDir::beside(out).map_err(io_at(out))?;
    let (entries, counts) = write_payloads(temp.path(), &files, opts)?;
    let manifest = new_manifest(opts, created_at, entries, counts);
    manifest.check(&Default::default())?;
    let id = write_metadata(temp.path(), &manifest, opts)?;
    temp.persist(out).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => BuildError::Exists(out.to_owned()),
        _ => BuildError::Io {
            path: out.to_owned(),
            source: e,
        },
    })?;
    Ok(Built { id, manifest })
}

/// Checks the kind and subject keys before anything is read; returns the `created_at` to
/// record.
fn check_options(opts: &BuildOptions<'_>) -> Result<Timestamp, BuildError> {
    check_kind(&opts.kind).map_err(|reason| ManifestError::Field {
        field: "kind".into(),
        reason,
    })?;
    for key in opts.subject.keys() {
        check_subject_key(key).map_err(|reason| ManifestError::Field {
            field: format!("subject.{key}"),
            reason,
        })?;
    }
    match opts.created_at {
        Some(t) => Ok(t),
        None => Ok(Timestamp::now_or_source_date_epoch()?),
    }
}

/// Resolves inputs to payload paths, sorted, refusing links, specials, bad names and
/// collisions.
fn resolve_inputs(inputs: &[Input]) -> Result<Vec<(String, Source)>, BuildError> {
    let mut files: Vec<(String, Source)> = Vec::new();
    for input in inputs {
        collect(input, &mut files)?;
    }
    if files.is_empty() {
        return Err(BuildError::Empty);
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut set = PathSet::with_capacity(files.len());
    for (i, (path, _)) in files.iter().enumerate() {
        if let Some(Clash::SameKey { with } | Clash::FileAndFolder { with }) = set.insert(path, i) {
            return Err(BuildError::Collision {
                path: path.clone(),
                with: files.get(with).map(|f| f.0.clone()).unwrap_or_default(),
            });
        }
    }
    Ok(files)
}

/// Writes every payload file into `temp` (in parallel), returning their manifest entries and
/// the redaction counts summed by class.
fn write_payloads(
    temp: &Path,
    files: &[(String, Source)],
    opts: &BuildOptions<'_>,
) -> Result<(Vec<FileEntry>, BTreeMap<String, u64>), BuildError> {
    // Each folder below `temp` is made one level at a time, never `temp` itself: if an
    // interrupt removed `temp` meanwhile, this fails instead of creating it again.
    for (path, _) in files {
        let parents: Vec<&Path> = Path::new(path).ancestors().skip(1).collect();
        for parent in parents
            .into_iter()
            .rev()
            .filter(|p| !p.as_os_str().is_empty())
        {
            match fs::create_dir(temp.join(parent)) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(io_at(temp)(e));
                }
                _ => {}
            }
        }
    }
    let written = files
        .par_iter()
        .map(|(path, source)| write_payload(temp, path, source, opts))
        .collect::<Result<Vec<(FileEntry, BTreeMap<String, u64>)>, BuildError>>()?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut entries = Vec::with_capacity(written.len());
    for (entry, found) in written {
        for (class, n) in found {
            *counts.entry(class).or_default() += n;
        }
        entries.push(entry);
    }
    Ok((entries, counts))
}

/// The manifest of the files written.
fn new_manifest(
    opts: &BuildOptions<'_>,
    created_at: Timestamp,
    files: Vec<FileEntry>,
    counts: BTreeMap<String, u64>,
) -> Manifest {
    let mut parents: Vec<String> = opts.parents.iter().map(|p| p.to_string()).collect();
    parents.sort();
    parents.dedup();
    Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        kind: opts.kind.clone(),
        created_at: created_at.to_string(),
        tool: opts.tool.clone(),
        subject: opts.subject.clone(),
        files,
        redaction: RedactionSummary {
            applied: opts.redactor.is_some(),
            counts,
        },
        parents,
    }
}

/// Writes `manifest.json`, `SHA256SUMS` and, when keys are given, `manifest.dsse.json`;
/// returns the bundle id.
fn write_metadata(
    temp: &Path,
    manifest: &Manifest,
    opts: &BuildOptions<'_>,
) -> Result<BundleId, BuildError> {
    let manifest_bytes = manifest.to_canonical_bytes()?;
    write_new(&temp.join(MANIFEST_FILE), &manifest_bytes)?;
    write_new(&temp.join(SUMS_FILE), &manifest.sums_bytes(&manifest_bytes))?;
    if !opts.sign.is_empty() {
        let envelope = Envelope::sign(
            dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST,
            &manifest_bytes,
            &opts.sign,
        );
        write_new(&temp.join(ENVELOPE_FILE), &envelope.to_json_bytes())?;
    }
    Ok(BundleId::of_manifest(&manifest_bytes))
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_at(path))?;
    f.write_all(bytes).map_err(io_at(path))?;
    f.sync_all().map_err(io_at(path))
}

/// Adds the files of one input to `files`.
fn collect(input: &Input, files: &mut Vec<(String, Source)>) -> Result<(), BuildError> {
    let (disk, at) = match input {
        Input::Bytes { at, bytes } => {
            let path = payload_path(at)?;
            files.push((path, Source::Memory(bytes.clone())));
            return Ok(());
        }
        Input::Path(p) => (p, input_name(p)?),
        Input::PathAs { path, at } => (path, at.clone()),
    };
    // The input itself: never follow a link, even the one named on the command line.
    let meta = fs::symlink_metadata(disk).map_err(io_at(disk))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Err(BuildError::Unsupported {
            path: disk.clone(),
            what: "symbolic link",
        });
    }
    if ft.is_file() {
        let path = payload_path(&at)?;
        files.push((
            path,
            Source::Disk {
                path: disk.clone(),
                id: FileId::of(&meta),
            },
        ));
        return Ok(());
    }
    if !ft.is_dir() {
        return Err(BuildError::Unsupported {
            path: disk.clone(),
            what: "special file",
        });
    }
    collect_folder(disk, &payload_path(&at)?, files)
}

/// Adds every file below the folder `disk`, sealed under the payload path `base`, refusing
/// the first link, special file or unacceptable name met.
fn collect_folder(
    disk: &Path,
    base: &str,
    files: &mut Vec<(String, Source)>,
) -> Result<(), BuildError> {
    let listing =
        tree::list_tree(disk, PathRules::Strict, tree::DEFAULT_MAX_ENTRIES).map_err(|e| {
            BuildError::Io {
                path: disk.to_owned(),
                source: io::Error::other(e.to_string()),
            }
        })?;
    if let Some(problem) = listing.problems.first() {
        return Err(BuildError::Io {
            path: disk.join(&problem.display),
            source: io::Error::other(problem.message.clone()),
        });
    }
    if listing.truncated {
        return Err(BuildError::Io {
            path: disk.to_owned(),
            source: io::Error::other("too many entries"),
        });
    }
    for entry in &listing.entries {
        let rel = match &entry.path {
            Ok(p) => p,
            Err(bad) => {
                return Err(BuildError::BadName {
                    path: disk.join(&bad.display).display().to_string(),
                    reason: bad.error.to_string(),
                });
            }
        };
        let what = match entry.kind {
            EntryKind::Dir => continue,
            EntryKind::File => {
                let source = Source::Disk {
                    path: disk.join(rel.as_str()),
                    id: entry.id,
                };
                files.push((
                    payload_path(&format!("{}/{}", base_rel(base), rel))?,
                    source,
                ));
                continue;
            }
            EntryKind::Symlink => "symbolic link",
            _ => "special file",
        };
        return Err(BuildError::Unsupported {
            path: disk.join(rel.as_str()),
            what,
        });
    }
    Ok(())
}

/// The name an input is sealed under: its last path component (resolved for `.` and `..`).
fn input_name(p: &Path) -> Result<String, BuildError> {
    let direct = p.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    let name = direct.or_else(|| {
        let full = fs::canonicalize(p).ok()?;
        full.file_name()?.to_str().map(str::to_owned)
    });
    name.ok_or_else(|| BuildError::BadName {
        path: p.display().to_string(),
        reason: "cannot tell the input's name (not UTF-8?); rename it".to_owned(),
    })
}

fn base_rel(payload: &str) -> &str {
    payload.strip_prefix(PAYLOAD_PREFIX).unwrap_or(payload)
}

/// `payload/<at>`, checked under the strict rules.
fn payload_path(at: &str) -> Result<String, BuildError> {
    let path = format!("{PAYLOAD_PREFIX}{at}");
    ArtifactPath::check(&path, PathRules::Strict).map_err(|e| BuildError::BadName {
        path: at.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(path)
}

/// Writes one payload file into the temporary bundle, hashing exactly the bytes written
/// (after redaction, when asked); returns its manifest entry and the redaction counts.
fn write_payload(
    root: &Path,
    path: &str,
    source: &Source,
    opts: &BuildOptions<'_>,
) -> Result<(FileEntry, BTreeMap<String, u64>), BuildError> {
    let dest = root.join(path);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&dest)
        .map_err(io_at(&dest))?;
    let mut counts = BTreeMap::new();
    let mut write_bytes = |bytes: &[u8]| -> Result<(Sha256Digest, u64), BuildError> {
        out.write_all(bytes).map_err(io_at(&dest))?;
        Ok((Sha256Digest::of(bytes), bytes.len() as u64))
    };
    let (digest, size) = match (source, opts.redactor) {
        (Source::Memory(b), None) => write_bytes(b)?,
        (Source::Memory(b), Some(r)) => {
            let redacted = r.redact_bytes(b, ContentHint::from_path(path));
            counts = redacted.counts.by_name();
            write_bytes(&redacted.bytes)?
        }
        (Source::Disk { path: disk, id }, Some(r)) => {
            let original = read_input(disk, *id, opts.max_redact_bytes)?;
            let redacted = r.redact_bytes(&original, ContentHint::from_path(path));
            counts = redacted.counts.by_name();
            write_bytes(&redacted.bytes)?
        }
        (Source::Disk { path: disk, id }, None) => {
            copy_hashing(disk, *id, &mut out, opts.max_input_bytes)?
        }
    };
    out.sync_all().map_err(io_at(&dest))?;
    Ok((
        FileEntry {
            path: path.to_owned(),
            size,
            sha256: digest.to_hex(),
        },
        counts,
    ))
}

/// Opens an input bound to the identity it was listed with.
fn open_input(disk: &Path, id: FileId) -> Result<(File, u64), BuildError> {
    let file = hash::open_no_follow(disk).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            BuildError::Unsupported {
                path: disk.to_owned(),
                what: "symbolic link",
            }
        } else {
            BuildError::Io {
                path: disk.to_owned(),
                source: e,
            }
        }
    })?;
    let meta = file.metadata().map_err(io_at(disk))?;
    if !meta.is_file() {
        return Err(BuildError::Unsupported {
            path: disk.to_owned(),
            what: "special file",
        });
    }
    if FileId::of(&meta) != id {
        return Err(BuildError::Changed(disk.to_owned()));
    }
    Ok((file, meta.len()))
}

/// Reads a whole input, bound to its listed identity, refusing more than `limit` bytes.
fn read_input(disk: &Path, id: FileId, limit: u64) -> Result<Vec<u8>, BuildError> {
    let (file, len) = open_input(disk, id)?;
    if len > limit {
        return Err(BuildError::TooLarge {
            path: disk.to_owned(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_at(disk))?;
    if bytes.len() as u64 > limit {
        return Err(BuildError::TooLarge {
            path: disk.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

fn copy_hashing(
    disk: &Path,
    id: FileId,
    out: &mut File,
    limit: u64,
) -> Result<(Sha256Digest, u64), BuildError> {
    let (mut file, len) = open_input(disk, id)?;
    if len > limit {
        return Err(BuildError::TooLarge {
            path: disk.to_owned(),
            limit,
        });
    }
    let mut hasher = Sha256Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_at(disk)(e)),
        };
        size = size.saturating_add(n as u64);
        if size > limit {
            return Err(BuildError::TooLarge {
                path: disk.to_owned(),
                limit,
            });
        }
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        out.write_all(chunk).map_err(io_at(disk))?;
    }
    Ok((hasher.finish(), size))
}

/// Adds a signature by `key` to a bundle folder without changing its id. The bundle is verified
/// first (integrity; existing signatures are kept as they are) and the signature covers the
/// exact manifest bytes that were verified. Signing twice with the same key changes nothing.
pub fn cosign(dir: &Path, key: &PrivateKey) -> Result<BundleId, BuildError> {
    // A sign killed before its rename left a temporary inside the bundle, which verification
    // refuses as unlisted; it is ours to remove.
    crate::atomic::remove_stale_temporaries(dir, &[ENVELOPE_FILE]).map_err(io_at(dir))?;
    let verification = super::verify::verify_dir(dir, &VerifyOptions::default());
    let Some(bundle) = verification.bundle else {
        return Err(BuildError::NotVerified(Box::new(verification.report)));
    };
    let envelope_path = dir.join(ENVELOPE_FILE);
    // The signatures kept are those of the envelope just verified, not a second reading.
    let mut envelope = match &bundle.envelope_bytes {
        Some(bytes) => Envelope::parse(bytes, &Default::default())
            .map_err(|e| BuildError::Sign(format!("existing {ENVELOPE_FILE}: {e}")))?,
        None => Envelope {
            payload_type: dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST.to_owned(),
            payload: bundle.manifest_bytes.clone(),
            signatures: Vec::new(),
        },
    };
    if envelope.payload != bundle.manifest_bytes
        || envelope.payload_type != dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST
    {
        return Err(BuildError::Sign(format!(
            "{ENVELOPE_FILE} signs something other than this manifest; remove it or fix the bundle"
        )));
    }
    envelope.add_signature(key);
    let temp = TempFile::beside(&envelope_path).map_err(io_at(&envelope_path))?;
    temp.write_all(&envelope.to_json_bytes())
        .map_err(io_at(&envelope_path))?;
    temp.persist_replacing(&envelope_path)
        .map_err(io_at(&envelope_path))?;
    Ok(bundle.id)
}

/// Builds a bundle and writes it only as a deterministic `.tar.gz` at `out` (which must not
/// exist): the folder is built in a temporary place beside `out`, packed, and removed.
pub fn create_archive(
    out: &Path,
    inputs: &[Input],
    opts: &BuildOptions<'_>,
) -> Result<Built, BuildError> {
    if fs::symlink_metadata(out).is_ok() {
        return Err(BuildError::Exists(out.to_owned()));
    }
    let staging = TempDir::beside(out).map_err(io_at(out))?;
    let folder = staging.path().join("bundle");
    let built = create(&folder, inputs, opts)?;
    super::archive::pack(&folder, out).map_err(|e| match e {
        super::archive::ArchiveError::Exists(p) => BuildError::Exists(p),
        other => BuildError::Io {
            path: out.to_owned(),
            source: io::Error::other(other.to_string()),
        },
    })?;
    Ok(built)
}
