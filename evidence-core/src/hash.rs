//! Streaming, bounded, parallel file hashing.
//!
//! Files are opened without following symlinks and without blocking on FIFOs, checked to be the
//! very regular file a directory listing saw (same device and inode), read in large chunks into a
//! per-thread buffer (memory does not grow with file size), and checked again afterwards: a file
//! whose size, modification time or change time moved while it was read is reported, not trusted
//! (DESIGN section 4 rule 3, section 6).

use std::cell::RefCell;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::digest::{Sha256Digest, Sha256Hasher};

/// Size of each read. Large reads keep the per-byte system-call cost negligible.
pub const READ_CHUNK: usize = 1 << 20;

/// Default largest file hashed: 256 GiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 30;

/// Identity of a file on disk, as seen by `lstat`/`fstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// Identity taken from metadata.
    pub fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Digest and length of a file that was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashedFile {
    /// SHA-256 of the content.
    pub digest: Sha256Digest,
    /// Number of bytes hashed.
    pub size: u64,
}

/// Why a file could not be hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// Opening or reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The path is a symlink (refused, never followed).
    #[error("{path} is a symbolic link")]
    Symlink {
        /// The file.
        path: PathBuf,
    },
    /// The path is not a regular file (directory, device, FIFO, socket).
    #[error("{path} is not a regular file")]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// The file opened is not the one the directory listing saw (replaced, or reached through
    /// a folder swapped for a symlink).
    #[error("{path} was replaced between listing and reading")]
    Replaced {
        /// The file.
        path: PathBuf,
    },
    /// The file has more than one hard link, and the job asked for a single link.
    #[error("{path} has {nlink} hard links; its content can be changed through another name")]
    HardLinked {
        /// The file.
        path: PathBuf,
        /// Number of links.
        nlink: u64,
    },
    /// The file is larger than the limit.
    #[error("{path} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file changed while it was read.
    #[error("{path} changed while it was being hashed")]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

/// Receives hashing progress, in bytes; implemented by CLIs to drive a progress bar.
pub trait Progress: Sync {
    /// `bytes` more bytes were hashed.
    fn advance(&self, bytes: u64);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _bytes: u64) {}
}

/// What to hash and what to expect of it.
#[derive(Debug, Clone)]
pub struct HashJob {
    /// Path on disk.
    pub path: PathBuf,
    /// The identity a listing saw; the opened file must have it.
    pub expect_id: Option<FileId>,
    /// Refuse a file with more than one hard link.
    pub single_link: bool,
}

impl HashJob {
    /// A job for `path` with no identity to check and hard links allowed.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            expect_id: None,
            single_link: false,
        }
    }
}

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Hashes everything `reader` yields, refusing more than `limit` bytes.
pub fn hash_reader<R: Read>(
    reader: R,
    limit: u64,
    progress: &dyn Progress,
) -> io::Result<HashedFile> {
    hash_stream(reader, limit, None, progress).map(|(hashed, _)| hashed)
}

/// Hashes a stream. With `regular_size` (the size `fstat` reported for a regular file), a short
/// read that reaches exactly that size is taken as the end of the file, saving the final empty
/// read. Also returns whether the whole content came from one `read` call.
fn hash_stream<R: Read>(
    mut reader: R,
    limit: u64,
    regular_size: Option<u64>,
    progress: &dyn Progress,
) -> io::Result<(HashedFile, bool)> {
    BUFFER.with(|cell| {
        let mut guard = cell.try_borrow_mut();
        let mut local = Vec::new();
        let buf: &mut Vec<u8> = match guard.as_deref_mut() {
            Ok(shared) => shared,
            Err(_) => &mut local,
        };
        if buf.len() < READ_CHUNK {
            buf.resize(READ_CHUNK, 0);
        }
        let mut hasher = Sha256Hasher::new();
        let mut size: u64 = 0;
        let mut reads = 0u32;
        loop {
            let n = match reader.read(buf.as_mut_slice()) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            reads = reads.saturating_add(1);
            size = size.saturating_add(n as u64);
            if size > limit {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!("more than {limit} bytes"),
                ));
            }
            hasher.update(buf.get(..n).unwrap_or_default());
            progress.advance(n as u64);
            if n < buf.len() && regular_size == Some(size) {
                break;
            }
        }
        let hashed = HashedFile {
            digest: hasher.finish(),
            size,
        };
        Ok((hashed, reads <= 1))
    })
}

/// Opens a file for reading without following a final symlink and without blocking on a FIFO.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Why a small file could not be read whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// It does not exist.
    #[error("does not exist")]
    NotFound,
    /// It is a symbolic link, which is never followed.
    #[error("is a symbolic link; never followed")]
    Symlink,
    /// It is not a regular file.
    #[error("is not a regular file")]
    NotRegular,
    /// It is larger than the limit.
    #[error("is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The operating system refused.
    #[error("cannot be read: {0}")]
    Io(#[source] io::Error),
}

/// A small file read whole, with what `fstat` said of the opened file.
#[derive(Debug)]
pub struct WholeFile {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The opened file's metadata (hard links, identity).
    pub meta: Metadata,
}

/// Reads a regular file whole, refusing more than `limit` bytes, without following a final
/// symbolic link or blocking on a FIFO.
pub fn read_whole(path: &Path, limit: u64) -> Result<WholeFile, ReadError> {
    read_regular(path, limit, libc::O_NOFOLLOW)
}

/// Reads one of the operator's own configuration files whole (a key, a profile, a token
/// file): unlike evidence, a symbolic link to it is followed (`current.pub -> 2026.pub`), but
/// it must be a regular file (a FIFO or device would block or never end) of at most `limit`
/// bytes; a larger one is refused, not read in part.
pub fn read_config(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_regular(path, limit, 0).map(|f| f.bytes)
}

/// Opens `path` with `O_NONBLOCK` (a FIFO must not wait for a writer before it can be refused)
/// and `flags`, and reads it whole if it is a regular file of at most `limit` bytes.
fn read_regular(path: &Path, limit: u64, flags: i32) -> Result<WholeFile, ReadError> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::NotFound),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(ReadError::Symlink),
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    // Refused from its size, unread: reading up to the limit first would hold (and, as the
    // buffer doubles, reserve twice) the limit in memory for nothing. The read below still
    // stops at the limit should the file grow meanwhile.
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(WholeFile { bytes, meta })
}

/// Hashes one regular file (see the module documentation for the guarantees).
pub fn hash_file(
    job: &HashJob,
    limit: u64,
    progress: &dyn Progress,
) -> Result<HashedFile, HashError> {
    let path = &job.path;
    let io_err = |source: io::Error| HashError::Io {
        path: path.clone(),
        source,
    };
    let (file, before) = open_for_hashing(job, limit)?;
    let (hashed, single_read) = match hash_stream(&file, limit, Some(before.len()), progress) {
        Ok(h) => h,
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            return Err(HashError::TooLarge {
                path: path.clone(),
                limit,
            });
        }
        Err(e) => return Err(io_err(e)),
    };
    // A file read in several calls may change between them, and the digest would then be of
    // bytes that never existed together: compare size, modification time and status-change
    // time afterwards. The modification time alone is not enough: a writer can put it back
    // (`touch -d`, `utimensat`), but every write and every such reset moves the change time,
    // which only the kernel sets. Content taken by a single read call is one snapshot; its size
    // must still be the size `fstat` saw.
    let unchanged = hashed.size == before.len()
        && (single_read || unchanged_since(&file, &before).map_err(io_err)?);
    if !unchanged {
        return Err(HashError::Changed { path: path.clone() });
    }
    Ok(hashed)
}

/// Opens the job's file without following a symlink and checks it before a byte is read: a
/// regular file, the very one the listing saw, not hard-linked when that is refused, and
/// within `limit`.
fn open_for_hashing(job: &HashJob, limit: u64) -> Result<(File, Metadata), HashError> {
    let path = &job.path;
    let io_err = |source: io::Error| HashError::Io {
        path: path.clone(),
        source,
    };
    let file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(HashError::Symlink { path: path.clone() });
        }
        Err(e) => return Err(io_err(e)),
    };
    let before = file.metadata().map_err(io_err)?;
    if !before.file_type().is_file() {
        return Err(HashError::NotRegular { path: path.clone() });
    }
    // DESIGN 4 rule 3: the file read must be the very file the listing saw.
    if job
        .expect_id
        .is_some_and(|expected| FileId::of(&before) != expected)
    {
        return Err(HashError::Replaced { path: path.clone() });
    }
    if job.single_link && before.nlink() > 1 {
        return Err(HashError::HardLinked {
            path: path.clone(),
            nlink: before.nlink(),
        });
    }
    if before.len() > limit {
        return Err(HashError::TooLarge {
            path: path.clone(),
            limit,
        });
    }
    Ok((file, before))
}

/// True when the file's size, modification and status-change times are still those of
/// `before`.
fn unchanged_since(file: &File, before: &Metadata) -> io::Result<bool> {
    let after = file.metadata()?;
    Ok(after.len() == before.len()
        && after.mtime() == before.mtime()
        && after.mtime_nsec() == before.mtime_nsec()
        && after.ctime() == before.ctime()
        && after.ctime_nsec() == before.ctime_nsec())
}

/// Hashes one file per item in parallel (spread over all cores), keeping order. `job` turns an
/// item into its [`HashJob`] on the worker thread, so callers need not build every path first.
pub fn hash_files<T: Sync>(
    items: &[T],
    job: impl Fn(&T) -> HashJob + Sync,
    limit: u64,
    progress: &dyn Progress,
) -> Vec<Result<HashedFile, HashError>> {
    items
        .par_iter()
        .map(|item| hash_file(&job(item), limit, progress))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn configuration_files_follow_links_but_refuse_fifos_and_oversize() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("2026.pub");
        std::fs::write(&real, b"key").unwrap();
        let link = tmp.path().join("current.pub");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(read_config(&link, 3).unwrap(), b"key");
        assert!(matches!(
            read_config(&link, 2),
            Err(ReadError::TooLarge { limit: 2 })
        ));
        assert!(matches!(
            read_config(&tmp.path().join("absent"), 3),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_config(tmp.path(), 3),
            Err(ReadError::NotRegular)
        ));
        // A FIFO with no writer: refused at once, not waited on.
        let fifo = tmp.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(matches!(read_config(&fifo, 3), Err(ReadError::NotRegular)));
    }

    struct Count(AtomicU64);
    impl Progress for Count {
        fn advance(&self, bytes: u64) {
            self.0.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    fn job(path: &Path) -> HashJob {
        HashJob::new(path)
    }

    #[test]
    fn hashes_a_file_larger_than_one_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let data: Vec<u8> = (0..(READ_CHUNK * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let progress = Count(AtomicU64::new(0));
        let h = hash_file(&job(&path), u64::MAX, &progress).unwrap();
        assert_eq!(h.digest, Sha256Digest::of(&data));
        assert_eq!(h.size, data.len() as u64);
        assert_eq!(progress.0.load(Ordering::Relaxed), data.len() as u64);
    }

    #[test]
    fn refuses_symlinks_fifos_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"0123456789").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            hash_file(&job(&link), u64::MAX, &NoProgress),
            Err(HashError::Symlink { .. })
        ));
        assert!(matches!(
            hash_file(&job(&target), 9, &NoProgress),
            Err(HashError::TooLarge { limit: 9, .. })
        ));
        assert!(matches!(
            hash_file(&job(dir.path()), u64::MAX, &NoProgress),
            Err(HashError::NotRegular { .. })
        ));
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(matches!(
            hash_file(&job(&fifo), u64::MAX, &NoProgress),
            Err(HashError::NotRegular { .. })
        ));
    }

    #[test]
    fn a_replaced_file_is_detected_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        let id_b = FileId::of(&std::fs::symlink_metadata(&b).unwrap());
        let job = HashJob {
            expect_id: Some(id_b),
            ..HashJob::new(a)
        };
        assert!(matches!(
            hash_file(&job, u64::MAX, &NoProgress),
            Err(HashError::Replaced { .. })
        ));
    }

    #[test]
    fn hard_links_are_refused_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"a").unwrap();
        assert!(hash_file(&job(&a), u64::MAX, &NoProgress).is_ok());
        std::fs::hard_link(&a, dir.path().join("b")).unwrap();
        let single = HashJob {
            single_link: true,
            ..HashJob::new(&a)
        };
        assert!(matches!(
            hash_file(&single, u64::MAX, &NoProgress),
            Err(HashError::HardLinked { nlink: 2, .. })
        ));
        assert!(hash_file(&job(&a), u64::MAX, &NoProgress).is_ok());
    }

    #[test]
    fn files_of_exactly_one_chunk_and_empty_files_hash_correctly() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, READ_CHUNK - 1, READ_CHUNK, READ_CHUNK + 1] {
            let p = dir.path().join(len.to_string());
            let data = vec![0x5a; len];
            std::fs::write(&p, &data).unwrap();
            let h = hash_file(&job(&p), u64::MAX, &NoProgress).unwrap();
            assert_eq!(
                h,
                HashedFile {
                    digest: Sha256Digest::of(&data),
                    size: len as u64
                }
            );
        }
    }

    #[test]
    fn reader_limit_is_enforced_while_streaming() {
        let data = vec![7u8; 1000];
        let err = hash_reader(&data[..], 999, &NoProgress).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        let ok = hash_reader(&data[..], 1000, &NoProgress).unwrap();
        assert_eq!(ok.size, 1000);
    }

    #[test]
    fn parallel_results_keep_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut jobs = Vec::new();
        for i in 0..100u32 {
            let p = dir.path().join(i.to_string());
            let mut f = File::create(&p).unwrap();
            write!(f, "{i}").unwrap();
            jobs.push(job(&p));
        }
        let results = hash_files(&jobs, Clone::clone, u64::MAX, &NoProgress);
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(
                r.unwrap().digest,
                Sha256Digest::of(i.to_string().as_bytes())
            );
        }
    }

    /// A reader that yields `data` a few bytes per call, after one `EINTR`, then `err` (if any)
    /// instead of the end.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        interrupted: bool,
        err: Option<io::ErrorKind>,
    }
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(3).min(self.data.len() - self.at);
            if n == 0 {
                return match self.err {
                    Some(kind) => Err(kind.into()),
                    None => Ok(0),
                };
            }
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn streams_are_read_to_their_end_through_short_reads_and_eintr() {
        let data: Vec<u8> = (0..100u8).collect();
        let trickle = |err| Trickle {
            data: data.clone(),
            at: 0,
            interrupted: false,
            err,
        };
        // Short reads are not the end of a stream, and EINTR is retried, not an error.
        let h = hash_reader(trickle(None), u64::MAX, &NoProgress).unwrap();
        assert_eq!(h.digest, Sha256Digest::of(&data));
        assert_eq!(h.size, 100);
        // Any other error ends the read as an error (it is not retried for ever).
        let err = hash_reader(trickle(Some(io::ErrorKind::Other)), u64::MAX, &NoProgress);
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::Other);
    }

    /// Progress that runs `act` once, after the first read of a file.
    struct AfterFirstRead<F: Fn() + Sync>(F, std::sync::atomic::AtomicBool);
    impl<F: Fn() + Sync> Progress for AfterFirstRead<F> {
        fn advance(&self, _bytes: u64) {
            if !self.1.swap(true, Ordering::Relaxed) {
                (self.0)();
            }
        }
    }

    #[test]
    fn a_file_rewritten_between_reads_is_refused_even_with_its_times_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![1u8; READ_CHUNK + 10]).unwrap();
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        // Between the first and second read: same size, modification time put back (as
        // `touch -d` would), only the change time, which the kernel sets, tells.
        let rewrite = || {
            let f = File::options().write(true).open(&path).unwrap();
            std::os::unix::fs::FileExt::write_at(&f, b"X", 0).unwrap();
            f.set_modified(when).unwrap();
        };
        let progress = AfterFirstRead(rewrite, Default::default());
        assert!(matches!(
            hash_file(&job(&path), u64::MAX, &progress),
            Err(HashError::Changed { .. })
        ));
        // Untouched, the same file hashes.
        assert!(hash_file(&job(&path), u64::MAX, &NoProgress).is_ok());
    }

    #[test]
    fn a_file_that_grows_past_the_limit_while_read_is_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing");
        std::fs::write(&path, vec![1u8; READ_CHUNK + 10]).unwrap();
        let limit = (READ_CHUNK + 20) as u64;
        // Exactly at the limit is allowed.
        let exact = dir.path().join("exact");
        std::fs::write(&exact, vec![1u8; READ_CHUNK + 20]).unwrap();
        assert!(hash_file(&job(&exact), limit, &NoProgress).is_ok());
        let grow = || {
            let mut f = File::options().append(true).open(&path).unwrap();
            f.write_all(&[2u8; 100]).unwrap();
        };
        let progress = AfterFirstRead(grow, Default::default());
        assert!(matches!(
            hash_file(&job(&path), limit, &progress),
            Err(HashError::TooLarge { .. })
        ));
    }

    #[test]
    fn open_errors_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        // A path through a regular file is neither missing nor a link.
        let through = file.join("child");
        assert!(matches!(read_whole(&through, 10), Err(ReadError::Io(_))));
        assert!(matches!(read_whole(&link, 10), Err(ReadError::Symlink)));
        assert!(matches!(
            read_whole(&dir.path().join("absent"), 10),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            hash_file(&job(&through), u64::MAX, &NoProgress),
            Err(HashError::Io { .. })
        ));
    }
}
