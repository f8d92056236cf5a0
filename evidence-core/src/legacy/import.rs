//! Importing verified legacy packs into a signed evidence bundle of kind `legacy`.
//!
//! Each pack is read once; the bytes that were verified are the bytes sealed, unchanged, at
//! `payload/<pack folder name>/<file>`, so nothing can change between the check and the seal.
//! The signed manifest subject names each pack's schema and the digests of its checksum file,
//! main document and signature file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{BUNDLE_KIND, LegacySchema, SUMS_FILE, VerifyOptions, read_pack, verify_pack};
use crate::bundle::build::{self, BuildError, BuildOptions, Input};
use crate::bundle::{BundleId, Manifest, ToolInfo};
use crate::digest::Sha256Digest;
use crate::keys::PrivateKey;
use crate::report::Report;
use crate::timestamp::Timestamp;

/// Most packs in one import (each takes six subject entries of the manifest's 256).
pub const MAX_PACKS: usize = 32;

/// How to import.
#[derive(Debug)]
pub struct ImportOptions<'a> {
    /// How to verify each pack first.
    pub verify: VerifyOptions<'a>,
    /// The key(s) to sign the bundle with; at least one.
    pub keys: Vec<&'a PrivateKey>,
    /// The creation time to record; `None` uses `SOURCE_DATE_EPOCH`, else the clock.
    pub created_at: Option<Timestamp>,
    /// The tool recorded in the manifest.
    pub tool: ToolInfo,
}

/// Why nothing was imported (nothing is left at the destination).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// No signing key.
    #[error("no signing key: a legacy bundle must be signed")]
    NoKey,
    /// No pack, too many, or two with the same folder name.
    #[error("{0}")]
    Packs(String),
    /// A pack failed verification; the report says which check.
    #[error("a legacy pack fails verification; nothing was imported")]
    Refused(Box<Report>),
    /// Building the bundle failed.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A written legacy bundle.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The bundle id.
    pub id: BundleId,
    /// Its manifest.
    pub manifest: Manifest,
    /// The verification report of every pack.
    pub report: Report,
}

/// Verifies every pack in `dirs` and, only if all pass, seals their original bytes at `out`
/// (which must not exist).
pub fn import(
    out: &Path,
    dirs: &[PathBuf],
    opts: &ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    if opts.keys.is_empty() {
        return Err(ImportError::NoKey);
    }
    if dirs.is_empty() || dirs.len() > MAX_PACKS {
        return Err(ImportError::Packs(format!(
            "import 1 to {MAX_PACKS} packs at a time"
        )));
    }
    let mut report = Report::new(json!({"type": "legacy-import", "packs": dirs.len()}));
    let mut inputs = Vec::new();
    let mut subject = BTreeMap::new();
    let mut names = Vec::new();
    for (index, dir) in dirs.iter().enumerate() {
        let name = pack_name(dir)?;
        if names.contains(&name) {
            return Err(ImportError::Packs(format!(
                "two packs are named {name}; the bundle keeps each under its folder name"
            )));
        }
        let mut pack_report = Report::new(json!(null));
        let (pack, schema) = match read_pack(dir, &opts.verify.limits) {
            Ok(pack) => {
                let schema = verify_pack(&pack, &opts.verify, &mut pack_report);
                (Some(pack), schema)
            }
            Err(check) => {
                pack_report.push(*check);
                (None, None)
            }
        };
        let ok = pack_report.ok();
        for mut check in pack_report.checks {
            check.path = Some(match check.path {
                Some(path) => format!("{name}/{path}"),
                None => name.clone(),
            });
            check.section = Some(Cow::Owned(name.clone()));
            report.push(check);
        }
        if let (true, Some(pack), Some(schema)) = (ok, pack, schema) {
            record(&mut subject, index + 1, &name, schema, &pack.files);
            for (file, bytes) in pack.files {
                inputs.push(Input::Bytes {
                    at: format!("{name}/{file}"),
                    bytes,
                });
            }
        }
        names.push(name);
    }
    if !report.ok() {
        return Err(ImportError::Refused(Box::new(report)));
    }
    subject.insert("legacy.packs".into(), dirs.len().to_string());
    let mut build_opts = BuildOptions::new(BUNDLE_KIND);
    build_opts.subject = subject;
    build_opts.created_at = opts.created_at;
    build_opts.sign = opts.keys.clone();
    build_opts.tool = opts.tool.clone();
    let built = build::create(out, &inputs, &build_opts)?;
    Ok(Imported {
        id: built.id,
        manifest: built.manifest,
        report,
    })
}

/// The pack's folder name, which becomes its place in the bundle.
fn pack_name(dir: &Path) -> Result<String, ImportError> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .map(str::to_owned)
        .ok_or_else(|| {
            ImportError::Packs(format!(
                "{}: name the pack folder itself (its name becomes its place in the bundle)",
                dir.display()
            ))
        })
}

/// Records a pack in the manifest subject: its folder, schema, and the digests of the files
/// that carry its verdict.
fn record(
    subject: &mut BTreeMap<String, String>,
    number: usize,
    name: &str,
    schema: LegacySchema,
    files: &BTreeMap<String, Vec<u8>>,
) {
    let (document, signature) = schema.files();
    let digest = |file: &str| {
        files
            .get(file)
            .map(|b| Sha256Digest::of(b).to_string())
            .unwrap_or_default()
    };
    let key = |what: &str| format!("pack.{number}.{what}");
    subject.insert(key("folder"), name.to_owned());
    subject.insert(key("schema"), schema.as_str().to_owned());
    subject.insert(key("files"), files.len().to_string());
    subject.insert(key("sha256sums"), digest(SUMS_FILE));
    subject.insert(key("document"), format!("{document} {}", digest(document)));
    subject.insert(
        key("signature"),
        format!("{signature} {}", digest(signature)),
    );
}
