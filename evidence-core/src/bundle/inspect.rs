//! What a bundle claims, read without verifying it (`evidence bundle inspect`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use serde::Serialize;

use super::manifest::Manifest;
use super::{BundleId, ENVELOPE_FILE, MANIFEST_FILE};
use crate::dsse::Envelope;
use crate::text::printable;

/// A bundle's claims.
#[derive(Debug, Clone, Serialize)]
pub struct BundleInfo {
    /// Always false: inspection reads claims and checks nothing beyond their syntax.
    pub verified: bool,
    /// The bundle id (SHA-256 of the manifest bytes).
    pub id: String,
    /// The kind.
    pub kind: String,
    /// The creation time the creator claims.
    pub created_at: String,
    /// The tool that wrote it.
    pub tool: String,
    /// Subject metadata.
    pub subject: BTreeMap<String, String>,
    /// Number of payload files.
    pub files: usize,
    /// Total payload bytes.
    pub bytes: u64,
    /// Key id hints of the signatures (not verified).
    pub signature_keyids: Vec<String>,
    /// Redaction counts per class.
    pub redaction: BTreeMap<String, u64>,
    /// Whether redaction ran.
    pub redaction_applied: bool,
    /// Parent bundle ids.
    pub parents: Vec<String>,
    /// Payload paths with sizes.
    pub listing: Vec<(String, u64)>,
}

/// Why a bundle could not be inspected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// Reading failed.
    #[error("cannot read the bundle: {0}")]
    Io(#[from] io::Error),
    /// The manifest is missing or invalid.
    #[error("{0}")]
    Manifest(String),
}

/// Reads the manifest and envelope of a bundle folder or archive.
pub fn inspect(path: &Path) -> Result<BundleInfo, InspectError> {
    let limits = super::BundleLimits::default();
    let (manifest_bytes, envelope_bytes) = if std::fs::metadata(path)?.is_dir() {
        read_folder(path, &limits)?
    } else {
        read_archive(path, &limits)?
    };
    let bytes = manifest_bytes.ok_or_else(|| InspectError::Manifest("no manifest.json".into()))?;
    let manifest = Manifest::parse(&bytes, &limits.manifest)
        .map_err(|e| InspectError::Manifest(e.to_string()))?;
    let signature_keyids = envelope_bytes
        .and_then(|b| Envelope::parse(&b, &limits.dsse).ok())
        .map(|e| e.signatures.iter().map(|s| s.keyid.clone()).collect())
        .unwrap_or_default();
    Ok(BundleInfo {
        verified: false,
        id: BundleId::of_manifest(&bytes).to_string(),
        kind: manifest.kind.clone(),
        created_at: manifest.created_at.clone(),
        tool: format!("{} {}", manifest.tool.name, manifest.tool.version),
        subject: manifest.subject.clone(),
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        signature_keyids,
        redaction: manifest.redaction.counts.clone(),
        redaction_applied: manifest.redaction.applied,
        parents: manifest.parents.clone(),
        listing: manifest
            .files
            .iter()
            .map(|f| (f.path.clone(), f.size))
            .collect(),
    })
}

/// The bytes of `manifest.json` and `manifest.dsse.json`, each `None` when absent.
type Claims = (Option<Vec<u8>>, Option<Vec<u8>>);

fn read_folder(path: &Path, limits: &super::BundleLimits) -> Result<Claims, InspectError> {
    let read = |name: &str, limit: u64| -> Result<Option<Vec<u8>>, InspectError> {
        match crate::hash::read_whole(&path.join(name), limit) {
            Ok(f) => Ok(Some(f.bytes)),
            Err(crate::hash::ReadError::NotFound) => Ok(None),
            Err(e) => Err(InspectError::Manifest(format!("{name} {e}"))),
        }
    };
    Ok((
        read(MANIFEST_FILE, limits.manifest.max_bytes)?,
        read(ENVELOPE_FILE, limits.max_metadata_bytes)?,
    ))
}

/// The manifest and envelope are the first entries of an archive.
fn read_archive(path: &Path, limits: &super::BundleLimits) -> Result<Claims, InspectError> {
    let mut archive = tar::Archive::new(GzDecoder::new(File::open(path)?));
    let mut manifest = None;
    let mut envelope = None;
    let mut entries = archive.entries()?.raw(true);
    for _ in 0..2 {
        let Some(item) = crate::tar_read::next_entry(&mut entries) else {
            break;
        };
        let crate::tar_read::Resolved {
            mut entry,
            path: name,
            ..
        } = item.map_err(|e| match e {
            crate::tar_read::TarReadError::Io(e) => e,
            other => std::io::Error::other(other.to_string()),
        })?;
        let mut b = Vec::new();
        (&mut entry)
            .take(limits.manifest.max_bytes)
            .read_to_end(&mut b)?;
        match name.as_slice() {
            b"manifest.json" => manifest = Some(b),
            b"manifest.dsse.json" => envelope = Some(b),
            _ => {}
        }
    }
    Ok((manifest, envelope))
}

impl BundleInfo {
    /// Human-readable rendering.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "bundle      {}", self.id);
        let _ = writeln!(out, "kind        {}", printable(&self.kind));
        let _ = writeln!(
            out,
            "created_at  {} (claimed, not verified)",
            self.created_at
        );
        let _ = writeln!(out, "tool        {}", printable(&self.tool));
        for (k, v) in &self.subject {
            let _ = writeln!(out, "subject     {}={}", printable(k), printable(v));
        }
        let _ = writeln!(out, "files       {} ({} bytes)", self.files, self.bytes);
        for (p, size) in &self.listing {
            let _ = writeln!(out, "  {size:>12}  {}", printable(p));
        }
        if self.signature_keyids.is_empty() {
            let _ = writeln!(out, "signatures  none");
        } else {
            for k in &self.signature_keyids {
                let _ = writeln!(out, "signature   keyid {}", printable(k));
            }
        }
        if self.redaction_applied {
            let total: u64 = self.redaction.values().sum();
            let _ = writeln!(out, "redaction   {total} value(s) redacted");
            for (class, n) in &self.redaction {
                let _ = writeln!(out, "  {n:>6}  {class}");
            }
        }
        for p in &self.parents {
            let _ = writeln!(out, "parent      {p}");
        }
        let _ = writeln!(
            out,
            "(not verified: run `evidence bundle verify` with --trusted-key to check it)"
        );
        out
    }
}
