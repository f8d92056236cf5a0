//! Reading tar entries with bounded extension records.
//!
//! The `tar` crate, in its default mode, reads a GNU long-name (`L`), long-link (`K`) or PAX
//! (`x`) record whole into memory before it yields the entry the record describes, whatever
//! size the record's header claims: a record of a few gigabytes of zeros (a few megabytes
//! compressed) would be allocated before any check of ours could run. Here entries are read in
//! raw mode and those records are handled by us, each refused beyond
//! [`MAX_EXTENSION_BYTES`] before a byte of it is read (DESIGN 4 rule 7). The entry's path is
//! resolved as the `tar` crate does: the GNU long name, else the PAX `path`, else the header's
//! name (with its ustar prefix); a long name and a PAX path that disagree are refused.

use std::io::{self, Read};

use crate::path::MAX_PATH_BYTES;

/// Most bytes of one PAX extended header read.
pub const MAX_EXTENSION_BYTES: u64 = 64 << 10;

/// Why an entry could not be read.
#[derive(Debug)]
pub(crate) enum TarReadError {
    /// A long name longer than any acceptable path (always refused; never read).
    LongName(u64),
    /// A PAX record over [`MAX_EXTENSION_BYTES`] (never read).
    Extension(u64),
    /// Extension records that describe no entry, or twice the same entry.
    Malformed(&'static str),
    /// The stream is not a tar archive, or reading failed.
    Io(io::Error),
}

impl std::fmt::Display for TarReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TarReadError::LongName(n) => write!(
                f,
                "a GNU long-name record of {n} bytes, longer than any acceptable path ({MAX_PATH_BYTES} bytes)"
            ),
            TarReadError::Extension(n) => write!(
                f,
                "a PAX extended header of {n} bytes, over the limit of {MAX_EXTENSION_BYTES}"
            ),
            TarReadError::Malformed(what) => f.write_str(what),
            TarReadError::Io(e) => write!(f, "corrupt archive: {e}"),
        }
    }
}

/// An entry with its extension records applied.
pub(crate) struct Resolved<'a, R: Read> {
    /// The entry (its data follows).
    pub(crate) entry: tar::Entry<'a, R>,
    /// The entry's path bytes.
    pub(crate) path: Vec<u8>,
    /// Whether a PAX extended header described the entry.
    pub(crate) pax: bool,
}

/// The next entry of `entries` (which must be in raw mode), with its extension records read
/// under the limits above.
pub(crate) fn next_entry<'a, R: Read>(
    entries: &mut tar::Entries<'a, R>,
) -> Option<Result<Resolved<'a, R>, TarReadError>> {
    let mut records = Records::default();
    loop {
        let mut entry = match entries.next() {
            None if records.pending() => {
                return Some(Err(TarReadError::Malformed(
                    "an extension record (long name or PAX) describes no entry",
                )));
            }
            None => return None,
            Some(Err(e)) => return Some(Err(TarReadError::Io(e))),
            Some(Ok(e)) => e,
        };
        match records.read(&mut entry) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => return Some(Err(e)),
        }
        return Some(records.resolve(entry));
    }
}

/// The extension records read so far for the entry that follows them.
#[derive(Default)]
struct Records {
    long_name: Option<Vec<u8>>,
    long_link: bool,
    pax: Option<Vec<u8>>,
}

impl Records {
    /// True when records were read that no entry has used yet.
    fn pending(&self) -> bool {
        self.long_name.is_some() || self.long_link || self.pax.is_some()
    }

    /// Reads `entry` when it is an extension record (returning true), within its limit.
    fn read<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<bool, TarReadError> {
        let kind = entry.header().entry_type();
        let size = entry.header().entry_size().map_err(TarReadError::Io)?;
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            // A name record: at most a path and its NUL (a link name is never used, since links
            // are refused, but it is bounded all the same).
            if size > MAX_PATH_BYTES as u64 + 1 {
                return Err(TarReadError::LongName(size));
            }
            let twice = if kind.is_gnu_longname() {
                self.long_name.is_some()
            } else {
                self.long_link
            };
            if twice {
                return Err(TarReadError::Malformed(
                    "two long-name records for one entry",
                ));
            }
            let bytes = read_bounded(entry, size).map_err(TarReadError::Io)?;
            if kind.is_gnu_longname() {
                let name = bytes.strip_suffix(b"\0").unwrap_or(&bytes).to_vec();
                self.long_name = Some(name);
            } else {
                self.long_link = true;
            }
            return Ok(true);
        }
        if kind.is_pax_local_extensions() {
            if size > MAX_EXTENSION_BYTES {
                return Err(TarReadError::Extension(size));
            }
            if self.pax.is_some() {
                return Err(TarReadError::Malformed(
                    "two PAX extended headers for one entry",
                ));
            }
            self.pax = Some(read_bounded(entry, size).map_err(TarReadError::Io)?);
            return Ok(true);
        }
        Ok(false)
    }

    /// The entry these records describe, with its path resolved.
    fn resolve<R: Read>(self, entry: tar::Entry<'_, R>) -> Result<Resolved<'_, R>, TarReadError> {
        let record = |key: &[u8]| -> Option<Vec<u8>> {
            let data = self.pax.as_deref()?;
            tar::PaxExtensions::new(data)
                .filter_map(Result::ok)
                .filter(|r| r.key_bytes() == key)
                .last()
                .map(|r| r.value_bytes().to_vec())
        };
        // Tools disagree on which of a GNU long name and a PAX path wins (GNU tar and the
        // `tar` crate take the long name, others the PAX path): an entry with both could be
        // judged under one name and extracted under the other.
        let pax_path = record(b"path");
        let path = match (self.long_name, pax_path) {
            (Some(name), Some(other)) if name != other => {
                return Err(TarReadError::Malformed(
                    "a GNU long name and a PAX path name one entry differently",
                ));
            }
            (Some(name), _) => name,
            (None, Some(name)) => name,
            (None, None) => entry.header().path_bytes().into_owned(),
        };
        Ok(Resolved {
            entry,
            path,
            pax: self.pax.is_some(),
        })
    }
}

/// Reads exactly the `size` bytes of a small record.
fn read_bounded<R: Read>(reader: &mut R, size: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    reader.take(size).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the archive ends inside an extension record",
        ));
    }
    Ok(bytes)
}
