//! Temporaries left by a run that could not clean up (SIGKILL, power loss): found beside a
//! destination by their name, `.NAME.tmp-PID-RANDOM`, and judged by whether process PID still
//! runs. Where `/proc` is mounted (Linux), a PID without `/proc/PID` is not running; elsewhere
//! whether it runs cannot be told, and such a temporary is reported as [`Writer::Unknown`] so
//! that only a caller who asks removes it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{parent_of, parse_temp_name};

/// What is known about the process that created a temporary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Writer {
    /// `/proc` is mounted and has no entry for the pid: the writer is gone.
    NotRunning,
    /// The pid is this process or has a `/proc` entry (perhaps a later process given the
    /// same pid: such a temporary is left alone, the safe side).
    Running,
    /// No `/proc` here (macOS, a container without it): whether the writer runs cannot be told.
    Unknown,
}

impl Writer {
    /// What is known about process `pid` on this machine.
    pub fn of_pid(pid: u32) -> Self {
        if pid == std::process::id() {
            return Writer::Running;
        }
        if !Path::new("/proc/self").exists() {
            return Writer::Unknown;
        }
        if Path::new("/proc").join(pid.to_string()).exists() {
            Writer::Running
        } else {
            Writer::NotRunning
        }
    }
}

/// A temporary that a run which no longer runs (or may not) left beside a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleTemporary {
    /// The temporary folder or file.
    pub path: PathBuf,
    /// The pid in its name: the process that created it.
    pub pid: u32,
    /// [`Writer::NotRunning`] or [`Writer::Unknown`], never [`Writer::Running`].
    pub writer: Writer,
    /// True for a folder, false for a file.
    pub is_dir: bool,
}

/// The temporaries in the folder that `target` would be written into (of any output, not only
/// `target`'s own) whose writer is not running, or may not be: what an earlier run killed
/// before it could clean up left there. Sorted by path. Links and special files are never
/// counted, whatever their name; temporaries of running processes are left out.
pub fn stale_temporaries_beside(target: &Path) -> io::Result<Vec<StaleTemporary>> {
    stale_temporaries_in(&parent_of(target))
}

/// [`stale_temporaries_beside`], for the folder itself.
pub fn stale_temporaries_in(dir: &Path) -> io::Result<Vec<StaleTemporary>> {
    let mut found = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let Some(pid) = name.to_str().and_then(parse_temp_name).map(|(_, pid)| pid) else {
            continue;
        };
        let kind = item.file_type()?;
        if !kind.is_dir() && !kind.is_file() {
            continue;
        }
        let writer = Writer::of_pid(pid);
        if writer != Writer::Running {
            found.push(StaleTemporary {
                path: item.path(),
                pid,
                writer,
                is_dir: kind.is_dir(),
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Removes a stale temporary (a folder with its content, or a file), following no link.
/// Before removing, checks that the path is still what was found (a folder stays a folder, a
/// file a file) and that its writer has not been found running since.
pub fn remove_stale(stale: &StaleTemporary) -> io::Result<()> {
    let meta = fs::symlink_metadata(&stale.path)?;
    if meta.is_dir() != stale.is_dir || meta.file_type().is_symlink() {
        return Err(io::Error::other(format!(
            "{} changed since it was found; left alone",
            stale.path.display()
        )));
    }
    if Writer::of_pid(stale.pid) == Writer::Running {
        return Err(io::Error::other(format!(
            "process {} that wrote {} is running; left alone",
            stale.pid,
            stale.path.display()
        )));
    }
    if stale.is_dir {
        fs::remove_dir_all(&stale.path)
    } else {
        fs::remove_file(&stale.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has ended and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn only_temporaries_of_ended_writers_are_stale() {
        if !crate::testing::have_proc() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale_dir = dir.path().join(format!(".old.tmp-{dead}-0123456789abcdef"));
        let stale_file = dir
            .path()
            .join(format!(".a.tar.gz.tmp-{dead}-00000000000000ff"));
        fs::create_dir(&stale_dir).unwrap();
        fs::write(stale_dir.join("partial"), b"x").unwrap();
        fs::write(&stale_file, b"x").unwrap();
        // Left alone: a running writer (this process, and pid 1), a link, other names.
        let ours = super::super::TempDir::beside(&dir.path().join("new")).unwrap();
        fs::create_dir(dir.path().join(".x.tmp-1-0123456789abcdef")).unwrap();
        std::os::unix::fs::symlink(
            &stale_dir,
            dir.path().join(format!(".l.tmp-{dead}-0123456789abcdef")),
        )
        .unwrap();
        fs::write(dir.path().join(format!(".old.tmp-{dead}-0123")), b"x").unwrap();
        fs::write(dir.path().join("old"), b"x").unwrap();

        let found = stale_temporaries_beside(&dir.path().join("anything")).unwrap();
        let paths: Vec<&Path> = found.iter().map(|s| s.path.as_path()).collect();
        let mut expected = vec![stale_file.as_path(), stale_dir.as_path()];
        expected.sort();
        assert_eq!(paths, expected);
        assert!(
            found
                .iter()
                .all(|s| s.pid == dead && s.writer == Writer::NotRunning)
        );
        for stale in &found {
            remove_stale(stale).unwrap();
        }
        assert!(!stale_dir.exists() && !stale_file.exists());
        assert!(ours.path().exists());
        assert!(stale_temporaries_in(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_temporary_that_changed_since_it_was_found_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".out.tmp-4000000000-0123456789abcdef");
        fs::write(&path, b"x").unwrap();
        let found = StaleTemporary {
            path: path.clone(),
            pid: 4_000_000_000,
            writer: Writer::NotRunning,
            is_dir: true,
        };
        assert!(remove_stale(&found).is_err());
        assert!(path.exists());
        let running = StaleTemporary {
            pid: std::process::id(),
            is_dir: false,
            ..found
        };
        assert!(remove_stale(&running).is_err());
        assert!(path.exists());
    }

    #[test]
    fn this_process_is_running() {
        assert_eq!(Writer::of_pid(std::process::id()), Writer::Running);
    }
}
