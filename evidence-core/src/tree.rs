//! Listing a directory tree without following links.
//!
//! DESIGN section 4 rule 6: evidence directories are walked with `lstat` semantics; symlinks,
//! devices, FIFOs and sockets are reported as what they are and never followed or read. Every
//! name is checked as a confined path. The walk is bounded in entries and depth, and anything it
//! could not list is reported, so an unreadable sub-folder can never hide a file.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::hash::FileId;
use crate::path::{ArtifactPath, MAX_COMPONENTS, PathError, PathRules};

/// Default most entries a listing visits.
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

/// What kind of file system object an entry is (from `lstat`, never following links).
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
    /// A short word for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "regular file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symbolic link",
            EntryKind::Special => "special file",
        }
    }
}

/// One entry below the root.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// The relative path as text (lossy if the name is not UTF-8), for messages.
    pub display: String,
    /// The relative path, or why it is not an acceptable path.
    pub path: Result<ArtifactPath, PathError>,
    /// Full path on disk.
    pub disk_path: PathBuf,
    /// Kind of object.
    pub kind: EntryKind,
    /// Size in bytes (from `lstat`).
    pub size: u64,
    /// Device and inode.
    pub id: FileId,
    /// Number of hard links.
    pub nlink: u64,
}

/// Something the walk could not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkProblem {
    /// Where (relative, lossy), if known.
    pub display: String,
    /// What went wrong.
    pub message: String,
}

/// The result of listing a tree.
#[derive(Debug, Default)]
pub struct Tree {
    /// Entries in sorted (file-name) order; the root itself is not included.
    pub entries: Vec<TreeEntry>,
    /// Anything that could not be listed; non-empty means the listing is incomplete.
    pub problems: Vec<WalkProblem>,
    /// True when the entry limit stopped the walk early.
    pub truncated: bool,
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
    let mut tree = Tree::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(true)
        .min_depth(1)
        .max_depth(MAX_COMPONENTS + 1)
        .sort_by_file_name();
    for item in walker {
        if tree.entries.len() >= max_entries {
            tree.truncated = true;
            break;
        }
        let entry = match item {
            Ok(e) => e,
            Err(err) => {
                let display = err
                    .path()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                tree.problems.push(WalkProblem {
                    display,
                    message: err.to_string(),
                });
                continue;
            }
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let display = rel.to_string_lossy().into_owned();
        let path = relative_path(rel, rules);
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(err) => {
                tree.problems.push(WalkProblem {
                    display,
                    message: err.to_string(),
                });
                continue;
            }
        };
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else {
            EntryKind::Special
        };
        tree.entries.push(TreeEntry {
            display,
            path,
            disk_path: entry.path().to_owned(),
            kind,
            size: meta.len(),
            id: FileId::of(&meta),
            nlink: meta.nlink(),
        });
    }
    Ok(tree)
}

fn relative_path(rel: &Path, rules: PathRules) -> Result<ArtifactPath, PathError> {
    use std::os::unix::ffi::OsStrExt as _;
    ArtifactPath::from_bytes(rel.as_os_str().as_bytes(), rules)
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
        let got: Vec<(String, EntryKind)> = tree
            .entries
            .iter()
            .map(|e| (e.display.clone(), e.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.txt".into(), EntryKind::File),
                ("link".into(), EntryKind::Symlink),
                ("sub".into(), EntryKind::Dir),
                ("sub/deeper".into(), EntryKind::Dir),
                ("sub/deeper/b.txt".into(), EntryKind::File),
            ]
        );
        assert!(tree.problems.is_empty());
        assert!(!tree.truncated);
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
