//! Verifying a bundle folder: the directory source of the checks it shares with archives
//! (`check.rs`).
//!
//! The three metadata files are read by name, each once; everything later uses these bytes.
//! The tree is then listed (never following a link) and handed to the checker entry by entry
//! in path order; the listed files are hashed last, in parallel.

use std::convert::Infallible;
use std::io::Read as _;
use std::path::Path;

use super::check::{self, Entry, Form, Observation, PayloadChecks, layout_fail, payload_check};
use super::codes::*;
use super::{BundleVerification, ENVELOPE_FILE, MANIFEST_FILE, SUMS_FILE, VerifyOptions, section};
use crate::digest::Sha256Digest;
use crate::hash::{self, HashError, HashJob, HashedFile};
use crate::path::PathRules;
use crate::report::{Check, Report};
use crate::text::printable;
use crate::tree::{self, EntryKind};

/// Verifies a bundle folder.
///
/// Never fails as a function: a missing or unreadable bundle is a failing report (the CLI
/// decides beforehand whether the argument exists).
pub fn verify_dir(root: &Path, opts: &VerifyOptions<'_>) -> BundleVerification {
    let mut report = Form::Directory.report(&root.display().to_string());
    let files = read_metadata(root, opts, &mut report);
    let meta = check::metadata(
        files.manifest.as_deref(),
        files.envelope.as_deref(),
        files.sums.as_deref(),
        opts,
        &mut report,
    );
    let mut payload = PayloadChecks::new(meta.manifest.as_ref(), opts, Form::Directory);
    walk(root, opts, &mut payload, &mut report);
    hash_listed(root, opts, &mut payload, &mut report);
    let captured = payload.finish(&mut report);
    check::summary(report, meta, captured)
}

/// The metadata files' bytes, each `None` when absent or unreadable.
struct MetadataFiles {
    manifest: Option<Vec<u8>>,
    envelope: Option<Vec<u8>>,
    sums: Option<Vec<u8>>,
}

/// Reads the three metadata files. Like payload files, each must have a single link
/// (FORMAT 5.1): a second name outside the bundle could change it after verification.
fn read_metadata(root: &Path, opts: &VerifyOptions<'_>, report: &mut Report) -> MetadataFiles {
    let limits = &opts.limits;
    let mut linked: Vec<(&str, u64)> = Vec::new();
    let mut read = |name: &'static str, limit: u64, missing: Option<&str>| match read_small(
        &root.join(name),
        limit,
    ) {
        Ok(Some((bytes, links))) => {
            if links > 1 {
                linked.push((name, links));
            }
            Some(bytes)
        }
        Ok(None) => {
            if let Some(detail) = missing {
                report.push(layout_fail(name, detail));
            }
            None
        }
        Err(check) => {
            report.push((*check).with_path(name));
            None
        }
    };
    let files = MetadataFiles {
        manifest: read(
            MANIFEST_FILE,
            limits.manifest.max_bytes,
            Some("manifest.json is missing"),
        ),
        envelope: read(ENVELOPE_FILE, limits.max_metadata_bytes, None),
        sums: read(
            SUMS_FILE,
            limits.max_metadata_bytes,
            Some("SHA256SUMS is missing"),
        ),
    };
    for (name, links) in linked {
        report.push(payload_check(
            Check::fail(
                BUNDLE_ENTRY_FORBIDDEN,
                format!("file has {links} hard links; its content can change through another name"),
            ),
            name,
        ));
    }
    files
}

/// Lists the tree and hands every entry but the metadata files to the checker, in path
/// order: nothing but the metadata files and listed payload files may exist.
fn walk(
    root: &Path,
    opts: &VerifyOptions<'_>,
    payload: &mut PayloadChecks<'_>,
    report: &mut Report,
) {
    // A folder is bounded like an archive: the same entry limit, the same check.
    let max_entries = opts.limits.archive.max_entries;
    let listing = match tree::list_tree(root, PathRules::Strict, max_entries) {
        Ok(l) => l,
        Err(e) => {
            report.push(layout_fail("", e.to_string()));
            return;
        }
    };
    for problem in &listing.problems {
        report.push(
            Check::fail(
                BUNDLE_LAYOUT_INVALID,
                format!("could not list part of the bundle: {}", problem.message),
            )
            .with_path(printable(&problem.display).into_owned())
            .in_section(section::PAYLOAD),
        );
    }
    if listing.truncated {
        report.push(
            Check::fail(
                BUNDLE_ARCHIVE_LIMIT,
                format!("the bundle folder has more than {max_entries} entries"),
            )
            .in_section(section::PAYLOAD),
        );
    }
    let mut entries: Vec<&tree::TreeEntry> = listing.entries.iter().collect();
    entries.sort_by(|a, b| a.display().cmp(b.display()));
    for (name, entry) in entries.into_iter().filter_map(as_entry) {
        let Ok(()) = payload.entry(name, entry, report);
    }
}

/// How the checker sees an entry of the tree; `None` for a metadata file (already read).
fn as_entry(entry: &tree::TreeEntry) -> Option<(&str, Entry<'static, Infallible>)> {
    let name = match &entry.path {
        Ok(p) => p.as_str(),
        Err(bad) => {
            let detail = format!("name on disk is not an acceptable path: {}", bad.error);
            let refused = Entry::Refused {
                code: BUNDLE_PATH_UNSAFE,
                detail: detail.into(),
            };
            return Some((&bad.display, refused));
        }
    };
    let presented = match (name, entry.kind) {
        (MANIFEST_FILE | ENVELOPE_FILE | SUMS_FILE, EntryKind::File) => return None,
        (_, EntryKind::Symlink | EntryKind::Special) => Entry::Refused {
            code: BUNDLE_ENTRY_FORBIDDEN,
            detail: format!(
                "{} in the bundle; never followed or read",
                entry.kind.as_str()
            )
            .into(),
        },
        (_, EntryKind::Dir) => Entry::Folder,
        (_, EntryKind::File) => Entry::DiskFile(entry.id),
    };
    Some((name, presented))
}

/// Hashes the listed files in parallel, each bound to the inode listed and to a single link;
/// files the caller wants back are read whole (bounded) and hashed from those bytes.
fn hash_listed(
    root: &Path,
    opts: &VerifyOptions<'_>,
    payload: &mut PayloadChecks<'_>,
    report: &mut Report,
) {
    use rayon::prelude::*;
    let jobs = payload.take_deferred();
    let capture_limit = opts.limits.max_capture_bytes;
    let max_file = opts.limits.max_file_bytes;
    let checks = &*payload;
    let results: Vec<(usize, Observation)> = jobs
        .par_iter()
        .map(|(index, name, id)| {
            let job = HashJob {
                path: root.join(name),
                expect_id: Some(*id),
                single_link: true,
            };
            let observed = if checks.wants_capture(name) {
                read_and_hash(&job, capture_limit).map(|(h, bytes)| (h, Some(bytes)))
            } else {
                hash::hash_file(&job, max_file, opts.progress).map(|h| (h, None))
            };
            (*index, observed)
        })
        .collect();
    for (index, observed) in results {
        payload.observe(index, observed, report);
    }
}

/// Reads a small metadata file without following a symlink; `None` if it does not exist.
/// Returns the bytes and the file's number of hard links. An error is the failing check,
/// without its path; a file over its limit is `bundle-archive-limit`, as the same file in an
/// archive is.
fn read_small(path: &Path, limit: u64) -> Result<Option<(Vec<u8>, u64)>, Box<Check>> {
    match hash::read_whole(path, limit) {
        Ok(f) => Ok(Some((
            f.bytes,
            std::os::unix::fs::MetadataExt::nlink(&f.meta),
        ))),
        Err(hash::ReadError::NotFound) => Ok(None),
        Err(e @ hash::ReadError::TooLarge { .. }) => Err(Box::new(
            Check::fail(BUNDLE_ARCHIVE_LIMIT, format!("the file {e}"))
                .in_section(section::MANIFEST),
        )),
        Err(e) => Err(Box::new(layout_fail("", e))),
    }
}

/// Reads a whole regular file (bounded), returning its digest and bytes; the same guarantees
/// as [`hash::hash_file`].
fn read_and_hash(job: &HashJob, limit: u64) -> Result<(HashedFile, Vec<u8>), HashError> {
    let path = job.path.clone();
    let io = |source| HashError::Io {
        path: path.clone(),
        source,
    };
    let file = hash::open_no_follow(&job.path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(HashError::NotRegular { path });
    }
    if job
        .expect_id
        .is_some_and(|id| hash::FileId::of(&meta) != id)
    {
        return Err(HashError::Replaced { path });
    }
    if job.single_link && std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
        return Err(HashError::HardLinked {
            path,
            nlink: std::os::unix::fs::MetadataExt::nlink(&meta),
        });
    }
    if meta.len() > limit {
        return Err(HashError::TooLarge { path, limit });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(HashError::TooLarge { path, limit });
    }
    let hashed = HashedFile {
        digest: Sha256Digest::of(&bytes),
        size: bytes.len() as u64,
    };
    Ok((hashed, bytes))
}
