//! Splitting a stream into lines under a hard line-length limit, in memory independent of the
//! stream's size: one buffer that holds at most one line below the limit plus one read.
//!
//! A line is the bytes up to and including an LF (0x0A), or the bytes after the last LF when
//! the stream does not end with one. A line whose content (without its LF) is longer than the
//! limit is never held in memory: it is measured and, when asked, hashed as it streams past.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

/// Bytes asked for in one `read` call once the buffer has room.
const READ_CHUNK: usize = 1 << 20;
/// Fewest free bytes worth a `read` call; below this the pending line is moved to the front.
const MIN_READ: usize = 64 << 10;

/// One line of the stream.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Length in bytes, including the LF when there is one.
    pub len: u64,
    /// Whether the line ends with an LF (only the last line of a stream may not).
    pub newline: bool,
    /// The line without its LF, or `None` when it is longer than the limit.
    pub content: Option<&'a [u8]>,
    /// SHA-256 of the line's bytes including its LF, when the reader hashes.
    pub digest: Option<[u8; 32]>,
}

/// Reads lines from `R` (see the module documentation).
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// First byte of the pending line in `buf`.
    start: usize,
    /// Bytes after `start` already known to hold no LF.
    scanned: usize,
    /// End of the data in `buf`.
    end: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
    max_line: usize,
    hash: bool,
}

impl<R: Read> LineReader<R> {
    /// A reader refusing to hold lines longer than `max_line` bytes (without the LF); with
    /// `hash`, every line comes with the SHA-256 of its bytes.
    pub(crate) fn new(inner: R, max_line: usize, hash: bool) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            end: 0,
            eof: false,
            offset: 0,
            max_line,
            hash,
        }
    }

    /// The next line, or `None` at the end of the stream.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            let unscanned = pending.get(self.scanned..).unwrap_or_default();
            if let Some(at) = find_newline(unscanned) {
                let content_len = self.scanned + at;
                return Ok(Some(self.take(content_len, true)));
            }
            self.scanned = pending.len();
            if pending.len() > self.max_line {
                return self.skip_long_line().map(Some);
            }
            if self.eof {
                if pending.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.take(pending.len(), false)));
            }
            self.fill()?;
        }
    }

    /// Consumes the pending line of `content_len` bytes (plus its LF when `newline`).
    fn take(&mut self, content_len: usize, newline: bool) -> Line<'_> {
        let len = content_len + usize::from(newline);
        let from = self.start;
        self.start += len;
        self.scanned = 0;
        let offset = self.offset;
        self.offset += len as u64;
        let bytes = self.buf.get(from..from + len).unwrap_or_default();
        let digest = self.hash.then(|| Sha256::digest(bytes).into());
        let content =
            (content_len <= self.max_line).then(|| bytes.get(..content_len).unwrap_or_default());
        Line {
            offset,
            len: len as u64,
            newline,
            content,
            digest,
        }
    }

    /// Streams past a line longer than the limit, measuring (and hashing) it.
    fn skip_long_line(&mut self) -> io::Result<Line<'static>> {
        let offset = self.offset;
        let mut hasher = self.hash.then(Sha256::new);
        let mut len: u64 = 0;
        loop {
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            let (part, newline) = match find_newline(pending) {
                Some(at) => (pending.get(..=at).unwrap_or_default(), true),
                None => (pending, false),
            };
            if let Some(h) = hasher.as_mut() {
                h.update(part);
            }
            len += part.len() as u64;
            self.start += part.len();
            self.offset += part.len() as u64;
            self.scanned = 0;
            if newline || (self.eof && self.start == self.end) {
                return Ok(Line {
                    offset,
                    len,
                    newline,
                    content: None,
                    digest: hasher.map(|h| h.finalize().into()),
                });
            }
            self.fill()?;
        }
    }

    /// Reads more data after `end`, first moving the pending line to the front or growing the
    /// buffer when there is too little room. Sets `eof` on a zero-byte read.
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 && self.buf.len() - self.end < MIN_READ {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_READ {
            // The pending line is at most `max_line` bytes here, so the buffer never grows
            // beyond one line at the limit plus one read.
            let want = (self.buf.len() * 2)
                .max(READ_CHUNK)
                .min(self.max_line.saturating_add(READ_CHUNK + 1))
                .max(self.end + MIN_READ);
            self.buf.resize(want, 0);
        }
        loop {
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.inner.read(free) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Position of the first LF in `hay`. Eight bytes at a time: a word whose bytes XOR `\n` has a
/// zero byte holds an LF, and the lowest flagged byte of `(x - 0x01..) & !x & 0x80..` is
/// exactly the first zero byte (higher ones may be false alarms, never lower ones).
pub(crate) fn find_newline(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const LFS: u64 = u64::from_le_bytes([b'\n'; 8]);
    let zero_bytes = |word: u64| {
        let x = word ^ LFS;
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut words = hay.chunks_exact(16);
    let mut base = 0usize;
    for pair in &mut words {
        let (a, b) = pair.split_at(8);
        let a = zero_bytes(u64::from_le_bytes(a.try_into().unwrap_or([0; 8])));
        let b = zero_bytes(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
        if a | b != 0 {
            return Some(if a != 0 {
                base + (a.trailing_zeros() / 8) as usize
            } else {
                base + 8 + (b.trailing_zeros() / 8) as usize
            });
        }
        base += 16;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| base + p)
}
