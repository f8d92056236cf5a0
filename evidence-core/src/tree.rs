//! Listing a directory tree without following links.
//!
//! DESIGN section 4 rule 6: evidence directories are walked with `lstat` semantics; symlinks,
//! devices, FIFOs and sockets are reported as what they are and never followed or read. Every
//! name is checked as a confined path. The walk is bounded in entries and depth, and anything it
//! could not list is reported, so an unreadable sub-folder can never hide a file.
//!
//! The walk reads each directory once (`getdents`), takes each entry's type and inode number
//! from the directory entry itself and the device from its folder, so listing costs no `stat`
//! per file; sub-folders are listed in parallel. Readers later bind each open to the identity
//! recorded here (see [`crate::hash::HashJob::expect_id`]).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{DirEntryExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::hash::FileId;
use crate::path::{ArtifactPath, MAX_COMPONENTS, PathError, PathRules};

/// Default most entries a listing visits.
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

/// What kind of file system object an entry is (never following links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A device, FIFO or socket.
    Special,
}

impl EntryKind {
    /// A short phrase for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "regular file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symbolic link",
            EntryKind::Special => "special file",
        }
    }
}

/// A name found on disk that is not an acceptable path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadName {
    /// The relative path, lossily decoded, for messages.
    pub display: String,
    /// Why it is refused.
    pub error: PathError,
}

/// One entry below the root.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// The relative path, or why the name on disk is not acceptable.
    pub path: Result<ArtifactPath, BadName>,
    /// Kind of object.
    pub kind: EntryKind,
    /// Device (of the containing folder) and inode (from the directory entry).
    pub id: FileId,
}

impl TreeEntry {
    /// The relative path as text, for messages.
    pub fn display(&self) -> &str {
        match &self.path {
            Ok(p) => p.as_str(),
            Err(bad) => &bad.display,
        }
    }
}

/// Something the walk could not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkProblem {
    /// Where (relative, lossy).
    pub display: String,
    /// What went wrong.
    pub message: String,
}

/// The result of listing a tree.
#[derive(Debug, Default)]
pub struct Tree {
    /// The root that was listed.
    pub root: PathBuf,
    /// Entries in walk order (not sorted; sort what you report); the root is not included.
    pub entries: Vec<TreeEntry>,
    /// Anything that could not be listed; non-empty means the listing is incomplete.
    pub problems: Vec<WalkProblem>,
    /// True when the entry limit stopped the walk early.
    pub truncated: bool,
}

impl Tree {
    /// Where an entry with an acceptable path lives on disk.
    pub fn disk_path(&self, path: &ArtifactPath) -> PathBuf {
        self.root.join(path.as_str())
    }
}

/// Why a tree could not be listed at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The root does not exist or cannot be read.
    #[error("cannot read directory {path}: {source}")]
    Root {
        /// The root given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The root is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The root given.
        path: PathBuf,
    },
}

/// Lists everything under `root` without following symlinks below it. The root itself may be
/// a symlink to a directory (the caller chose it).
pub fn list_tree(root: &Path, rules: PathRules, max_entries: usize) -> Result<Tree, TreeError> {
    let meta = std::fs::metadata(root).map_err(|source| TreeError::Root {
        path: root.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(TreeError::NotADirectory {
            path: root.to_owned(),
        });
    }
    let walker = Walker {
        rules,
        max_entries,
        seen: AtomicUsize::new(0),
    };
    let mut listing = Listing::default();
    walker.dir(root, &[], meta.dev(), 0, &mut listing);
    let mut problems = listing.problems;
    problems.sort_by(|a, b| a.display.cmp(&b.display));
    Ok(Tree {
        root: root.to_owned(),
        entries: listing.entries,
        problems,
        truncated: walker.seen.load(Ordering::Relaxed) > max_entries,
    })
}

#[derive(Default)]
struct Listing {
    entries: Vec<TreeEntry>,
    problems: Vec<WalkProblem>,
}

impl Listing {
    fn merge(&mut self, other: Listing) {
        self.entries.extend(other.entries);
        self.problems.extend(other.problems);
    }
}

struct Walker {
    rules: PathRules,
    max_entries: usize,
    seen: AtomicUsize,
}

impl Walker {
    /// Lists the folder `disk` (relative path `rel`, on device `dev`) into `out`, then its
    /// sub-folders in parallel.
    fn dir(&self, disk: &Path, rel: &[u8], dev: u64, depth: usize, out: &mut Listing) {
        let subdirs = self.list(disk, rel, dev, depth, out);
        let children: Vec<Listing> = subdirs
            .par_iter()
            .map(|(child_disk, child_rel, child_dev)| {
                let mut listing = Listing::default();
                self.dir(child_disk, child_rel, *child_dev, depth + 1, &mut listing);
                listing
            })
            .collect();
        for child in children {
            out.merge(child);
        }
    }

    /// Lists the entries of one folder into `out` and returns the sub-folders to descend into
    /// (none once the entry limit is reached).
    fn list(
        &self,
        disk: &Path,
        rel: &[u8],
        dev: u64,
        depth: usize,
        out: &mut Listing,
    ) -> Vec<(PathBuf, Vec<u8>, u64)> {
        let problem = |message: String| WalkProblem {
            display: String::from_utf8_lossy(rel).into_owned(),
            message,
        };
        let reader = match std::fs::read_dir(disk) {
            Ok(r) => r,
            Err(e) => {
                out.problems
                    .push(problem(format!("cannot list folder: {e}")));
                return Vec::new();
            }
        };
        let mut subdirs: Vec<(PathBuf, Vec<u8>, u64)> = Vec::new();
        for item in reader {
            let entry = match item {
                Ok(e) => e,
                Err(e) => {
                    out.problems
                        .push(problem(format!("cannot list folder: {e}")));
                    continue;
                }
            };
            if self.seen.fetch_add(1, Ordering::Relaxed) >= self.max_entries {
                return Vec::new();
            }
            subdirs.extend(self.entry(&entry, disk, rel, dev, depth, out));
        }
        subdirs
    }

    /// Lists one entry of the folder `disk` into `out`; returns it when it is a sub-folder to
    /// descend into.
    fn entry(
        &self,
        entry: &std::fs::DirEntry,
        disk: &Path,
        rel: &[u8],
        dev: u64,
        depth: usize,
        out: &mut Listing,
    ) -> Option<(PathBuf, Vec<u8>, u64)> {
        let name = entry.file_name();
        let child_rel = child_rel(rel, name.as_bytes());
        // d_type, or an lstat where the file system does not report it; never follows.
        let kind = match entry.file_type() {
            Ok(ft) if ft.is_symlink() => EntryKind::Symlink,
            Ok(ft) if ft.is_dir() => EntryKind::Dir,
            Ok(ft) if ft.is_file() => EntryKind::File,
            Ok(_) => EntryKind::Special,
            Err(e) => {
                out.problems.push(WalkProblem {
                    display: String::from_utf8_lossy(&child_rel).into_owned(),
                    message: format!("cannot tell the entry's type: {e}"),
                });
                return None;
            }
        };
        let path = ArtifactPath::from_bytes(&child_rel, self.rules).map_err(|error| BadName {
            display: String::from_utf8_lossy(&child_rel).into_owned(),
            error,
        });
        // A folder deeper than any acceptable path is reported (its own path fails the
        // component limit) and not descended into.
        let subdir = if kind == EntryKind::Dir && depth < MAX_COMPONENTS {
            subdir_of(
                disk.join(OsStr::from_bytes(name.as_bytes())),
                child_rel,
                out,
            )
        } else {
            None
        };
        out.entries.push(TreeEntry {
            path,
            kind,
            id: FileId {
                dev,
                ino: entry.ino(),
            },
        });
        subdir
    }
}

/// The relative path of `name` in the folder `rel`.
fn child_rel(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut child = Vec::with_capacity(rel.len() + 1 + name.len());
    if !rel.is_empty() {
        child.extend_from_slice(rel);
        child.push(b'/');
    }
    child.extend_from_slice(name);
    child
}

/// A sub-folder to descend into, with its device, if it is still a folder (a problem in `out`
/// otherwise).
fn subdir_of(disk: PathBuf, rel: Vec<u8>, out: &mut Listing) -> Option<(PathBuf, Vec<u8>, u64)> {
    match std::fs::symlink_metadata(&disk) {
        Ok(m) if m.is_dir() => Some((disk, rel, m.dev())),
        Ok(_) => {
            out.problems.push(WalkProblem {
                display: String::from_utf8_lossy(&rel).into_owned(),
                message: "folder was replaced while it was being listed".to_owned(),
            });
            None
        }
        Err(e) => {
            out.problems.push(WalkProblem {
                display: String::from_utf8_lossy(&rel).into_owned(),
                message: format!("cannot read folder: {e}"),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_files_and_reports_links_and_specials() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("a.txt"), b"a").unwrap();
        std::fs::write(root.join("sub/deeper/b.txt"), b"bb").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        let tree = list_tree(root, PathRules::Strict, 100).unwrap();
        let mut got: Vec<(&str, EntryKind)> =
            tree.entries.iter().map(|e| (e.display(), e.kind)).collect();
        got.sort_by_key(|(path, _)| *path);
        assert_eq!(
            got,
            vec![
                ("a.txt", EntryKind::File),
                ("link", EntryKind::Symlink),
                ("sub", EntryKind::Dir),
                ("sub/deeper", EntryKind::Dir),
                ("sub/deeper/b.txt", EntryKind::File),
            ]
        );
        assert!(tree.problems.is_empty());
        assert!(!tree.truncated);
        let meta = std::fs::symlink_metadata(root.join("sub/deeper/b.txt")).unwrap();
        let b = tree
            .entries
            .iter()
            .find(|e| e.display() == "sub/deeper/b.txt")
            .unwrap();
        assert_eq!(b.id, FileId::of(&meta));
    }

    #[test]
    fn entry_limit_truncates_visibly() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(dir.path().join(i.to_string()), b"").unwrap();
        }
        let tree = list_tree(dir.path(), PathRules::Strict, 5).unwrap();
        assert!(tree.truncated);
        assert_eq!(tree.entries.len(), 5);
        let tree = list_tree(dir.path(), PathRules::Strict, 10).unwrap();
        assert!(!tree.truncated);
    }

    #[test]
    fn bad_names_are_listed_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OsStr::from_bytes(b"bad\xff")), b"").unwrap();
        std::fs::write(dir.path().join("back\\slash"), b"").unwrap();
        let tree = list_tree(dir.path(), PathRules::Strict, 10).unwrap();
        let mut errors: Vec<String> = tree
            .entries
            .iter()
            .filter_map(|e| e.path.as_ref().err().map(|b| format!("{:?}", b.error)))
            .collect();
        errors.sort();
        assert_eq!(errors, vec!["Backslash", "NotUtf8"]);
    }

    #[test]
    fn too_deep_folders_are_reported_not_descended() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        for _ in 0..(MAX_COMPONENTS + 2) {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("hidden"), b"x").unwrap();
        let tree = list_tree(dir.path(), PathRules::Strict, 10_000).unwrap();
        assert!(tree.entries.iter().any(|e| matches!(
            &e.path,
            Err(BadName {
                error: PathError::TooLong { .. },
                ..
            })
        )));
        assert!(!tree.entries.iter().any(|e| e.display().ends_with("hidden")));
    }

    #[test]
    fn root_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            list_tree(&file, PathRules::Strict, 5),
            Err(TreeError::NotADirectory { .. })
        ));
        assert!(matches!(
            list_tree(&dir.path().join("missing"), PathRules::Strict, 5),
            Err(TreeError::Root { .. })
        ));
    }
}
