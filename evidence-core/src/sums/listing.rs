//! Verifying a directory against a parsed checksum file: the listing's own failures, every
//! entry judged and hashed, and exact coverage of every regular file.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use super::codes::*;
use super::{ParsedSums, SumsEntry, SumsLimits};
use crate::hash::{self, FileId, HashError, HashJob, HashedFile, Progress};
use crate::path::{ArtifactPath, Clash, PathError, PathRules, PathSet, collision_key_cow};
use crate::report::Check;
use crate::text::printable;
use crate::tree::{self, EntryKind, TreeEntry, TreeError};

/// How to verify a directory against a checksum file.
#[derive(Clone, Copy)]
pub struct TreeOptions<'a> {
    /// Skip (rather than fail) listed files that do not exist.
    pub ignore_missing: bool,
    /// Relative paths that may exist without being listed.
    pub allow_unlisted: &'a [String],
    /// Says which relative paths are verification metadata (checksum, signature, attestation
    /// files); those need not be listed and are reported as metadata.
    pub is_metadata: &'a (dyn Fn(&str) -> bool + Sync),
    /// Limits.
    pub limits: SumsLimits,
    /// Receives hashing progress.
    pub progress: &'a dyn Progress,
}

impl std::fmt::Debug for TreeOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeOptions")
            .field("ignore_missing", &self.ignore_missing)
            .field("allow_unlisted", &self.allow_unlisted)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Result of verifying a directory (the checks go to the caller's list).
#[derive(Debug, Default)]
pub struct TreeVerification {
    /// Listed files whose digest matched, by path.
    pub matched: BTreeMap<ArtifactPath, HashedFile>,
    /// Metadata files found (unlisted, exempt).
    pub metadata_found: Vec<String>,
}

/// Verifies `root` against `parsed`: every entry's digest, exact coverage of every regular file
/// at any depth, and no symlinks, specials or hard links anywhere (none is ever followed).
/// Checks are appended to `checks` in a stable order: listing problems, entries in file order,
/// then unlisted files in path order.
///
/// Errors only when the root itself cannot be listed; everything else is a check.
pub fn verify_tree(
    root: &Path,
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
    checks: &mut Vec<Check>,
) -> Result<TreeVerification, TreeError> {
    let listing = list_for_sums(root, &opts.limits)?;
    Ok(verify_listing(listing, parsed, opts, checks))
}

/// Lists a directory the way [`verify_listing`] expects (POSIX name rules, entry limit).
pub fn list_for_sums(root: &Path, limits: &SumsLimits) -> Result<tree::Tree, TreeError> {
    tree::list_tree(root, PathRules::Posix, limits.max_entries)
}

/// [`verify_tree`] over a listing made earlier with [`list_for_sums`] (so listing can run in
/// parallel with parsing).
pub fn verify_listing(
    listing: tree::Tree,
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
    checks: &mut Vec<Check>,
) -> TreeVerification {
    let root = listing.root.clone();
    checks.reserve(parsed.entries.len() + listing.problems.len() + 8);
    listing_checks(&listing, opts.limits.max_entries, checks);
    let (jobs, listed) = entry_jobs(&listing, parsed, opts, checks);
    // Exact coverage is judged now so the listing can be dropped before hashing; it is
    // reported after the entries.
    let (mut coverage, mut metadata_found) = coverage_checks(&listing, &listed, opts);
    drop(listed);
    drop(listing);
    let matched = hash_entries(&root, &jobs, parsed, opts, checks);
    coverage.sort_by(|a, b| a.path.cmp(&b.path));
    metadata_found.sort();
    checks.append(&mut coverage);
    TreeVerification {
        matched,
        metadata_found,
    }
}

/// A hash job: the index of an entry, and the identity the listing saw for its file.
type Job = (usize, FileId);

/// Judges every entry before anything is opened: path rules, duplicates and collisions,
/// presence. Each accepted entry that names a regular file becomes a hash job bound to the
/// identity the listing saw; `listed` marks the listing's entries that some entry names.
fn entry_jobs(
    listing: &tree::Tree,
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
    checks: &mut Vec<Check>,
) -> (Vec<Job>, Vec<bool>) {
    let mut listed = vec![false; listing.entries.len()];
    let mut jobs: Vec<Job> = Vec::with_capacity(parsed.entries.len());
    let prepared = prepare(listing, parsed);
    let mut names = PathSet::with_capacity(parsed.entries.len());
    for (index, (entry, prep)) in parsed.entries.iter().zip(prepared).enumerate() {
        let at = |check: Check| {
            check
                .with_path(printable(&entry.name).into_owned())
                .with_line(entry.line)
        };
        let (key, found) = match prep {
            Ok(p) => p,
            Err(e) => {
                checks.push(at(Check::fail(
                    SUMS_PATH_UNSAFE,
                    format!("listed name refused: {e}"),
                )));
                continue;
            }
        };
        if let Some(clash) = names.insert_key(key, index) {
            checks.push(at(clash_check(parsed, entry, clash)));
            continue;
        }
        if let Some(slot) = found.and_then(|i| listed.get_mut(i)) {
            *slot = true;
        }
        match found.and_then(|i| listing.entries.get(i)) {
            Some(e) if e.kind == EntryKind::File => jobs.push((index, e.id)),
            other => checks.push(at(not_a_file(other, opts))),
        }
    }
    (jobs, listed)
}

/// Per-entry work that needs no shared state, run in parallel: the path check, the collision
/// key and the lookup in the listing.
fn prepare<'p>(listing: &tree::Tree, parsed: &'p ParsedSums) -> Vec<Prepared<'p>> {
    let mut on_disk: HashMap<&str, usize> = HashMap::with_capacity(listing.entries.len());
    on_disk.extend(
        listing
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.path.as_ref().ok().map(|p| (p.as_str(), i))),
    );
    parsed
        .entries
        .par_iter()
        .map(|entry| {
            // DESIGN 4 rule 6: a listed name is checked as text before anything touches the
            // disk.
            ArtifactPath::check(&entry.name, PathRules::Posix)?;
            let found = on_disk.get(entry.name.as_str()).copied();
            Ok((collision_key_cow(&entry.name), found))
        })
        .collect()
}

/// The failure for an entry whose name another entry already took.
fn clash_check(parsed: &ParsedSums, entry: &SumsEntry, clash: Clash) -> Check {
    let (Clash::SameKey { with } | Clash::FileAndFolder { with }) = clash;
    let other = parsed.entries.get(with).map_or("", |e| e.name.as_str());
    if other == entry.name {
        Check::fail(SUMS_ENTRY_DUPLICATE, "name is listed more than once")
    } else {
        Check::fail(
            SUMS_ENTRY_COLLISION,
            format!(
                "name collides with {:?} after Unicode normalisation and case folding",
                printable(other)
            ),
        )
    }
}

/// The check for an entry that names no regular file: absent, a folder, or (already failed in
/// the listing checks, never read) a link or special file.
fn not_a_file(found: Option<&TreeEntry>, opts: &TreeOptions<'_>) -> Check {
    match found {
        Some(e) if e.kind != EntryKind::Dir => Check::fail(
            SUMS_ENTRY_MISSING,
            format!("listed file is a {}, not a regular file", e.kind.as_str()),
        ),
        other => {
            let what = if other.is_some() {
                "listed file is a directory, not a regular file"
            } else {
                "listed file does not exist"
            };
            if opts.ignore_missing {
                Check::skip(
                    SUMS_ENTRY_MISSING,
                    format!("{what} (ignored: --ignore-missing)"),
                )
            } else {
                Check::fail(SUMS_ENTRY_MISSING, what)
            }
        }
    }
}

/// Exact coverage: every regular file is listed, allowed, or metadata. Returns the checks for
/// the files no entry names and the metadata files found, both in listing order.
fn coverage_checks(
    listing: &tree::Tree,
    listed: &[bool],
    opts: &TreeOptions<'_>,
) -> (Vec<Check>, Vec<String>) {
    let mut coverage: Vec<Check> = Vec::new();
    let mut metadata_found = Vec::new();
    for (entry, _) in listing.entries.iter().zip(listed).filter(|(_, l)| !**l) {
        let (Ok(path), EntryKind::File) = (&entry.path, entry.kind) else {
            continue;
        };
        let name = path.as_str();
        let check = if (opts.is_metadata)(name) {
            metadata_found.push(name.to_owned());
            Check::skip(SUMS_METADATA_FILE, "verification metadata, not an asset")
        } else if opts.allow_unlisted.iter().any(|m| m == name) {
            Check::skip(SUMS_FILE_UNLISTED, "not listed (allowed: --allow-unlisted)")
        } else {
            Check::fail(
                SUMS_FILE_UNLISTED,
                "file is present but not listed in the checksum file",
            )
        };
        coverage.push(check.with_path(printable(name).into_owned()));
    }
    (coverage, metadata_found)
}

/// Hashes every job in parallel, each open bound to the listed inode and required to be the
/// file's only link; appends one check per job and returns the entries whose digest matched.
fn hash_entries(
    root: &Path,
    jobs: &[Job],
    parsed: &ParsedSums,
    opts: &TreeOptions<'_>,
    checks: &mut Vec<Check>,
) -> BTreeMap<ArtifactPath, HashedFile> {
    let results = hash::hash_files(
        jobs,
        |&(index, id)| HashJob {
            path: root.join(parsed.entries.get(index).map_or("", |e| e.name.as_str())),
            expect_id: Some(id),
            single_link: true,
        },
        opts.limits.max_file_bytes,
        opts.progress,
    );
    // Judging is independent per entry: write the checks in place, on all cores.
    checks.par_extend(jobs.par_iter().zip(&results).map(|(&(index, _), result)| {
        let Some(entry) = parsed.entries.get(index) else {
            return Check::fail(SUMS_ENTRY_UNREADABLE, "internal: entry vanished");
        };
        judge(entry, result)
    }));
    let mut matched: Vec<(ArtifactPath, HashedFile)> = jobs
        .par_iter()
        .zip(&results)
        .filter_map(|(&(index, _), result)| {
            let entry = parsed.entries.get(index)?;
            match result {
                // Only names that passed `ArtifactPath::check` became jobs.
                Ok(h) if h.digest == entry.digest => {
                    Some((ArtifactPath::from_checked(entry.name.clone()), *h))
                }
                _ => None,
            }
        })
        .collect();
    drop(results);
    // Sorted input lets the map be bulk-built; sort on all cores.
    matched.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    matched.into_iter().collect()
}

/// The check for one hashed entry.
fn judge(entry: &SumsEntry, result: &Result<HashedFile, HashError>) -> Check {
    let check = match result {
        Ok(h) if h.digest == entry.digest => Check::pass(SUMS_ENTRY_MATCH, "digest matches"),
        Ok(h) => Check::fail(
            SUMS_ENTRY_MISMATCH,
            "content does not match the listed digest",
        )
        .with("expected", entry.digest.to_string())
        .with("actual", h.digest.to_string()),
        Err(HashError::TooLarge { limit, .. }) => Check::fail(
            crate::report::codes::INPUT_TOO_LARGE,
            format!("file is larger than the limit of {limit} bytes"),
        ),
        Err(HashError::HardLinked { nlink, .. }) => Check::fail(
            SUMS_HARDLINK,
            format!("file has {nlink} hard links; its content can change through another name"),
        ),
        Err(e) => Check::fail(SUMS_ENTRY_UNREADABLE, e.to_string()),
    };
    check
        .with_path(printable(&entry.name).into_owned())
        .with_line(entry.line)
}

/// An entry's collision key and its index in the listing (if present), or why its name is
/// refused.
type Prepared<'a> = Result<(Cow<'a, str>, Option<usize>), PathError>;

/// Failures found by listing alone: folders that could not be read, names that are not
/// acceptable paths, links and special files.
fn listing_checks(listing: &tree::Tree, max_entries: usize, checks: &mut Vec<Check>) {
    for problem in &listing.problems {
        checks.push(
            Check::fail(
                SUMS_TREE_INCOMPLETE,
                format!("could not list part of the directory: {}", problem.message),
            )
            .with_path(printable(&problem.display).into_owned()),
        );
    }
    if listing.truncated {
        checks.push(Check::fail(
            SUMS_TREE_INCOMPLETE,
            format!("the directory has more than {max_entries} entries; raise the entry limit to verify it"),
        ));
    }
    // The walk's order is the file system's; report in path order.
    let mut found = Vec::new();
    for entry in &listing.entries {
        let shown = || printable(entry.display()).into_owned();
        if let Err(bad) = &entry.path {
            found.push(
                Check::fail(
                    SUMS_TREE_INCOMPLETE,
                    format!("name on disk is not an acceptable path: {}", bad.error),
                )
                .with_path(shown()),
            );
        }
        match entry.kind {
            EntryKind::Symlink => found.push(
                Check::fail(
                    SUMS_SYMLINK,
                    "symbolic link in the directory; links are never followed",
                )
                .with_path(shown()),
            ),
            EntryKind::Special => found.push(
                Check::fail(SUMS_SPECIAL_FILE, "device, FIFO or socket in the directory")
                    .with_path(shown()),
            ),
            _ => {}
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    checks.append(&mut found);
}
