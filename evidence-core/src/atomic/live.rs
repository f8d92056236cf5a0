//! The process-wide registry of live temporaries: every temporary folder or file this module
//! creates is listed from its creation until it is persisted or dropped, so that a caller ending
//! the process early (a binary's SIGINT or SIGTERM handler) can remove what is half written
//! with [`remove_live_temporaries`]. The library only keeps the list; it never installs a
//! signal handler and never prints.
//!
//! One lock orders the three things that race: creating a temporary, renaming it into place,
//! and removing every temporary. A temporary is created and listed under the lock, so the
//! removal never misses one; it is renamed under the lock, so the removal never deletes half
//! of a folder that is then renamed to its destination; and once the removal has run, the
//! registry is closed: creating or persisting a temporary fails, because the process is ending.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The temporaries not yet persisted or dropped, and whether the registry is closed.
#[derive(Debug)]
struct Live {
    paths: Vec<PathBuf>,
    closed: bool,
}

/// A list of live temporaries behind the one lock. The process has one, [`LIVE`]; tests make
/// their own, so that emptying one never touches the temporaries of tests running beside them.
#[derive(Debug)]
pub(super) struct Registry(Mutex<Live>);

/// The process's temporaries.
pub(super) static LIVE: Registry = Registry::new();

/// How often a folder is removed again while other threads may still be writing into it.
const REMOVE_ATTEMPTS: usize = 20;

fn closed_error() -> io::Error {
    io::Error::other("the process is being interrupted; its temporaries were removed")
}

impl Registry {
    pub(super) const fn new() -> Self {
        Self(Mutex::new(Live {
            paths: Vec::new(),
            closed: false,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        // A thread that panicked while holding the lock left the list consistent: every change
        // to it is a single push or remove.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `create` (which makes the temporary at `path`) and lists `path`, under the lock.
    pub(super) fn create_listed(
        &self,
        path: &Path,
        create: impl FnOnce(&Path) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut live = self.lock();
        if live.closed {
            return Err(closed_error());
        }
        create(path)?;
        live.paths.push(path.to_path_buf());
        Ok(())
    }

    /// Renames the temporary at `from` to `to` and takes it off the list, under the lock.
    pub(super) fn rename_listed(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut live = self.lock();
        if live.closed {
            return Err(closed_error());
        }
        fs::rename(from, to)?;
        forget(&mut live, from);
        Ok(())
    }

    /// Takes `path` off the list (its owner removed it).
    pub(super) fn unlist(&self, path: &Path) {
        forget(&mut self.lock(), path);
    }

    /// The listed temporaries, oldest first.
    pub(super) fn paths(&self) -> Vec<PathBuf> {
        self.lock().paths.clone()
    }

    /// Removes every listed temporary and closes the registry.
    pub(super) fn remove_all(&self) -> Cleanup {
        let mut live = self.lock();
        live.closed = true;
        let mut cleanup = Cleanup::default();
        for path in std::mem::take(&mut live.paths) {
            match remove_now(&path) {
                Ok(true) => cleanup.removed.push(path),
                Ok(false) => {}
                Err(e) => cleanup.failed.push((path, e)),
            }
        }
        cleanup
    }
}

fn forget(live: &mut Live, path: &Path) {
    if let Some(i) = live.paths.iter().position(|p| p == path) {
        live.paths.swap_remove(i);
    }
}

/// The temporaries this process has created and neither persisted nor removed yet.
pub fn live_temporaries() -> Vec<PathBuf> {
    LIVE.paths()
}

/// What [`remove_live_temporaries`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Cleanup {
    /// The temporaries that existed and are now gone.
    pub removed: Vec<PathBuf>,
    /// The temporaries that could not be removed, with why.
    pub failed: Vec<(PathBuf, io::Error)>,
}

/// Removes every live temporary of this process and closes the registry: from then on,
/// creating or persisting a temporary fails. For a handler that ends the process (SIGINT,
/// SIGTERM) and must leave no half-written output behind; it is safe to call from any thread
/// while other threads are writing, and a second call finds nothing left.
pub fn remove_live_temporaries() -> Cleanup {
    LIVE.remove_all()
}

/// Removes `path` (a folder with its content, or a file; a link is never followed). True when
/// something was there. A folder is removed again while another thread still creates files in
/// it, until it is gone.
fn remove_now(path: &Path) -> io::Result<bool> {
    let mut existed = false;
    let mut last = None;
    for _ in 0..REMOVE_ATTEMPTS {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(existed),
            Err(e) => return Err(e),
        };
        existed = true;
        let result = if meta.is_dir() {
            fs::remove_dir_all(path)
        } else {
            fs::remove_file(path)
        };
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => last = Some(e),
        }
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(existed),
        _ => Err(last.unwrap_or_else(|| io::Error::other("still there after removing it"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_listed_from_creation_to_persist_or_drop() {
        let dir = tempfile::tempdir().unwrap();
        let kept = super::super::TempDir::beside(&dir.path().join("kept")).unwrap();
        let dropped = super::super::TempFile::beside(&dir.path().join("dropped")).unwrap();
        let (kept_path, dropped_path) = (kept.path().to_owned(), dropped.path().to_owned());
        assert!(live_temporaries().contains(&kept_path));
        assert!(live_temporaries().contains(&dropped_path));
        kept.persist(&dir.path().join("kept")).unwrap();
        drop(dropped);
        assert!(!live_temporaries().contains(&kept_path));
        assert!(!live_temporaries().contains(&dropped_path));
    }

    #[test]
    fn removing_all_deletes_folders_and_files_and_closes_the_registry() {
        let registry = Registry::new();
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(".out.tmp-1-0123456789abcdef");
        let file = dir.path().join(".f.tmp-1-0123456789abcdef");
        let gone = dir.path().join(".g.tmp-1-0123456789abcdef");
        registry
            .create_listed(&folder, |p| {
                fs::create_dir(p)?;
                fs::create_dir(p.join("payload"))?;
                fs::write(p.join("payload/big"), b"partial")
            })
            .unwrap();
        registry
            .create_listed(&file, |p| fs::write(p, b"x"))
            .unwrap();
        // One whose owner already removed it (a race with its drop) is not reported.
        registry
            .create_listed(&gone, |p| fs::write(p, b"x"))
            .unwrap();
        fs::remove_file(&gone).unwrap();
        let cleanup = registry.remove_all();
        let mut removed = cleanup.removed.clone();
        removed.sort();
        let mut expected = vec![folder.clone(), file.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(cleanup.failed.is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(registry.paths().is_empty());
        // Closed: nothing new is created, nothing renamed into place.
        let late = dir.path().join(".late.tmp-1-0123456789abcdef");
        assert!(
            registry
                .create_listed(&late, |p| fs::write(p, b"x"))
                .is_err()
        );
        assert!(!late.exists());
        fs::write(&late, b"x").unwrap();
        assert!(
            registry
                .rename_listed(&late, &dir.path().join("late"))
                .is_err()
        );
        assert!(!dir.path().join("late").exists());
        assert!(registry.remove_all().removed.is_empty());
    }

    #[test]
    fn a_rename_and_a_removal_never_interleave() {
        // Whichever takes the lock first wins wholly: the destination is complete, or the
        // temporary is gone and the destination absent.
        for _ in 0..20 {
            let registry = std::sync::Arc::new(Registry::new());
            let dir = tempfile::tempdir().unwrap();
            let temp = dir.path().join(".out.tmp-1-0123456789abcdef");
            let target = dir.path().join("out");
            registry
                .create_listed(&temp, |p| {
                    fs::create_dir(p)?;
                    (0..50).try_for_each(|i| fs::write(p.join(i.to_string()), b"x"))
                })
                .unwrap();
            let remover = {
                let registry = registry.clone();
                std::thread::spawn(move || registry.remove_all())
            };
            let renamed = registry.rename_listed(&temp, &target).is_ok();
            let cleanup = remover.join().unwrap();
            if renamed {
                assert_eq!(fs::read_dir(&target).unwrap().count(), 50);
                assert!(cleanup.removed.is_empty());
            } else {
                assert!(!target.exists());
                assert_eq!(cleanup.removed, vec![temp.clone()]);
            }
            assert!(!temp.exists());
        }
    }
}
