//! Atomic outputs (DESIGN 4 rule 11): everything is written under a temporary name beside the
//! destination and renamed into place only when complete, so a crash or a failed check never
//! leaves a half-written file or bundle at the destination. Temporaries are removed when
//! dropped without being persisted.
//!
//! Two things clean up after a run that was stopped: every temporary is listed while it lives,
//! so a binary's SIGINT/SIGTERM handler can remove them ([`remove_live_temporaries`]); and a
//! temporary left by a run that nothing could clean (SIGKILL, power loss) carries its
//! writer's pid in its name, so a later run can tell it is stale ([`stale_temporaries_beside`]).

mod live;
mod stale;

pub use live::{Cleanup, live_temporaries, remove_live_temporaries};
pub use stale::{
    StaleTemporary, Writer, remove_stale, stale_temporaries_beside, stale_temporaries_in,
};

use live::LIVE;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// A temporary name in `target`'s folder: `.NAME.tmp-PID-RANDOM`. The folder must exist:
/// outputs never create folders above their destination, and a missing one is said plainly.
fn temp_name(target: &Path) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "destination has no file name")
    })?;
    let parent = parent_of(target);
    match fs::metadata(&parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", parent.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "the folder {} does not exist; create it first",
                    parent.display()
                ),
            ));
        }
        Err(e) => return Err(e),
    }
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        hex::encode(random)
    ));
    Ok(parent.join(temp))
}

/// The folder `target` is written into (`.` for a bare name).
fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The output name and the writer's pid of a temporary name `.NAME.tmp-PID-RANDOM` (RANDOM 16
/// lower-case hex digits), whatever NAME is; `None` for any other name.
pub fn parse_temp_name(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix('.')?;
    let at = rest.rfind(".tmp-")?;
    let output = rest.get(..at).filter(|o| !o.is_empty())?;
    let (pid, random) = rest.get(at + ".tmp-".len()..)?.split_once('-')?;
    let well_formed = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        return None;
    }
    Some((output, pid.parse().ok()?))
}

/// True when `name` is a temporary name this module gives an output called `target_name`
/// (`.NAME.tmp-PID-RANDOM`, RANDOM 16 lower-case hex digits): what a process killed before its
/// rename leaves behind.
pub fn is_temp_name_for(name: &str, target_name: &str) -> bool {
    parse_temp_name(name).is_some_and(|(output, _)| output == target_name)
}

/// Removes what an interrupted writer of the outputs `names` left in `dir`: regular files at
/// its top level with a temporary name of one of them ([`is_temp_name_for`]), nothing else.
/// Unlike [`stale_temporaries_beside`] it does not ask whether the writer still runs: its
/// callers (release seal, bundle sign) pass their own outputs, which two writers at once would
/// spoil anyway.
pub fn remove_stale_temporaries(dir: &Path, names: &[&str]) -> io::Result<()> {
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let ours = names.iter().any(|output| is_temp_name_for(name, output));
        if ours && item.file_type()?.is_file() {
            fs::remove_file(item.path())?;
        }
    }
    Ok(())
}

/// Fails if `target` exists (as anything, including a dangling symlink).
pub fn refuse_existing(target: &Path) -> io::Result<()> {
    match fs::symlink_metadata(target) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", target.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes sure a rename into `dir` survives a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

/// A temporary folder beside a destination folder.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    persisted: bool,
}

impl TempDir {
    /// Creates an empty temporary folder beside `target` (mode 0755 minus umask).
    pub fn beside(target: &Path) -> io::Result<Self> {
        let path = temp_name(target)?;
        LIVE.create_listed(&path, |p| fs::create_dir(p))?;
        Ok(Self {
            path,
            persisted: false,
        })
    }

    /// The temporary folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the folder to `target`, which must not exist.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        refuse_existing(target)?;
        sync_dir(&self.path)?;
        LIVE.rename_listed(&self.path, target)?;
        self.persisted = true;
        sync_dir(target.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_dir_all(&self.path);
            LIVE.unlist(&self.path);
        }
    }
}

/// A temporary file beside a destination file.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates an empty temporary file beside `target` with mode 0644 (minus umask).
    pub fn beside(target: &Path) -> io::Result<Self> {
        Self::beside_with_mode(target, 0o644)
    }

    /// Creates an empty temporary file beside `target` with the given mode, set at creation
    /// (so a private key is never readable by others, even briefly).
    pub fn beside_with_mode(target: &Path, mode: u32) -> io::Result<Self> {
        let path = temp_name(target)?;
        LIVE.create_listed(&path, |p| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(p)
                .map(drop)
        })?;
        Ok(Self {
            path,
            persisted: false,
        })
    }

    /// The temporary file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the temporary file for writing.
    pub fn file(&self) -> io::Result<File> {
        OpenOptions::new().write(true).open(&self.path)
    }

    /// Writes `bytes` as the whole content.
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let mut f = self.file()?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Renames the file to `target`, replacing nothing: fails if `target` exists.
    pub fn persist(self, target: &Path) -> io::Result<()> {
        refuse_existing(target)?;
        self.persist_replacing(target)
    }

    /// Renames the file to `target`, atomically replacing an existing file.
    pub fn persist_replacing(mut self, target: &Path) -> io::Result<()> {
        File::open(&self.path)?.sync_all()?;
        LIVE.rename_listed(&self.path, target)?;
        self.persisted = true;
        sync_dir(target.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
            LIVE.unlist(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_temporaries_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        {
            let t = TempDir::beside(&target).unwrap();
            fs::write(t.path().join("x"), b"x").unwrap();
            let f = TempFile::beside(&dir.path().join("file")).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn persist_never_replaces_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        let t = TempDir::beside(&target).unwrap();
        assert_eq!(
            t.persist(&target).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        let file = dir.path().join("f");
        fs::write(&file, b"old").unwrap();
        let f = TempFile::beside(&file).unwrap();
        f.write_all(b"new").unwrap();
        let f2 = TempFile::beside(&file).unwrap();
        f2.write_all(b"newer").unwrap();
        assert!(f.persist(&file).is_err());
        f2.persist_replacing(&file).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"newer");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let t = TempFile::beside(&dir.path().join("SHA256SUMS")).unwrap();
        let name = t.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(is_temp_name_for(&name, "SHA256SUMS"), "{name}");
        assert!(!is_temp_name_for(&name, "SHA256SUMS.dsse.json"));
        for other in [
            "SHA256SUMS",
            ".SHA256SUMS.tmp-",
            ".SHA256SUMS.tmp-12-0123456789abcde",
            ".SHA256SUMS.tmp-12-0123456789abcdeF",
            ".SHA256SUMS.tmp-x-0123456789abcdef",
            ".SHA256SUMS.tmp-12-0123456789abcdef/x",
        ] {
            assert!(!is_temp_name_for(other, "SHA256SUMS"), "{other}");
        }
        assert!(is_temp_name_for(
            ".SHA256SUMS.tmp-12-0123456789abcdef",
            "SHA256SUMS"
        ));
    }

    #[test]
    fn any_output_name_and_the_writer_pid_are_read_from_a_temporary_name() {
        assert_eq!(
            parse_temp_name(".bundle.tar.gz.tmp-4242-0123456789abcdef"),
            Some(("bundle.tar.gz", 4242))
        );
        assert_eq!(
            parse_temp_name("..x.tmp-7.tmp-1-0123456789abcdef"),
            Some((".x.tmp-7", 1))
        );
        for other in [
            ".tmp-1-0123456789abcdef",
            "out.tmp-1-0123456789abcdef",
            ".out.tmp--0123456789abcdef",
            ".out.tmp-99999999999-0123456789abcdef",
            ".out.tmp-1-0123456789ABCDEF",
        ] {
            assert_eq!(parse_temp_name(other), None, "{other}");
        }
    }

    #[test]
    fn private_mode_is_set_at_creation() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let f = TempFile::beside_with_mode(&dir.path().join("k"), 0o600).unwrap();
        let mode = fs::metadata(f.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_parent_folder_is_named_and_never_created() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("packs/now");
        let err = TempDir::beside(&target).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("packs does not exist"), "{err}");
        assert!(!dir.path().join("packs").exists());
        fs::write(dir.path().join("file"), b"").unwrap();
        let err = TempFile::beside(&dir.path().join("file/x")).unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }
}
