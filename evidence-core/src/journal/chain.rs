//! The journal hash chain and the seal document (`evidence.journal-seal/v1`), as specified in
//! `docs/FORMAT.md` section 11:
//!
//! ```text
//! h_0 = SHA-256("evidence.journal/v1")
//! h_i = SHA-256(h_{i-1} || SHA-256(line_i))     line_i: the line's bytes including its LF
//! ```
//!
//! Checkpoints record `(i, byte offset after line i, h_i)` for every multiple `i` of the
//! interval, the smallest power of two that leaves at most [`MAX_CHECKPOINTS`] of them.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::MAX_CHECKPOINTS;
use crate::digest::Sha256Digest;
use crate::json::{JsonLimits, parse_strict};

/// The schema string of `seal.json`.
pub const SEAL_SCHEMA: &str = "evidence.journal-seal/v1";
/// The bundle kind of a journal seal.
pub const SEAL_KIND: &str = "journal-seal";
/// Where `seal.json` sits in the bundle.
pub const SEAL_PAYLOAD_PATH: &str = "payload/seal.json";
/// The name `seal.json` is given under `payload/`.
pub const SEAL_FILE: &str = "seal.json";
/// The domain-separation string hashed into `h_0`.
pub const CHAIN_DOMAIN: &[u8] = b"evidence.journal/v1";
/// Largest `seal.json` read: 4096 checkpoints take about 500 KiB.
pub const MAX_SEAL_BYTES: u64 = 4 << 20;
/// Largest number a seal may hold: integers above 2^53 have no canonical JSON form.
pub const MAX_SEAL_NUMBER: u64 = 1 << 53;

/// `h_0`.
pub fn chain_start() -> [u8; 32] {
    Sha256::digest(CHAIN_DOMAIN).into()
}

/// `h_i` from `h_{i-1}` and `SHA-256(line_i)`.
pub fn chain_step(previous: &[u8; 32], line_digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(line_digest);
    h.finalize().into()
}

/// The checkpoint interval for a journal of `lines` lines: the smallest power of two `s` with
/// `lines / s <= MAX_CHECKPOINTS` (integer division).
pub fn checkpoint_interval(lines: u64) -> u64 {
    let mut s: u64 = 1;
    while lines / s > MAX_CHECKPOINTS {
        s = s.saturating_mul(2);
    }
    s
}

/// The chain state after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// 1-based number of the line the state is after.
    pub line: u64,
    /// Bytes from the start of the journal to the end of that line (the next line's offset).
    pub byte_offset: u64,
    /// `h_line`.
    pub chain: Sha256Digest,
}

/// Collects checkpoints in one pass without knowing the line count in advance: every multiple
/// of the interval is kept, and when there would be more than [`MAX_CHECKPOINTS`] the interval
/// doubles and every other one is dropped. What is left is exactly what
/// [`checkpoint_interval`] prescribes for the final count.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointBuilder {
    interval: u64,
    list: Vec<Checkpoint>,
}

impl CheckpointBuilder {
    pub(crate) fn new() -> Self {
        Self {
            interval: 1,
            list: Vec::new(),
        }
    }

    pub(crate) fn record(&mut self, line: u64, byte_offset: u64, chain: &[u8; 32]) {
        if !line.is_multiple_of(self.interval) {
            return;
        }
        self.list.push(Checkpoint {
            line,
            byte_offset,
            chain: Sha256Digest::from_bytes(*chain),
        });
        if self.list.len() as u64 > MAX_CHECKPOINTS {
            let wider = self.interval.saturating_mul(2);
            self.list.retain(|c| c.line.is_multiple_of(wider));
            self.interval = wider;
        }
    }

    pub(crate) fn finish(self) -> (u64, Vec<Checkpoint>) {
        (self.interval, self.list)
    }
}

/// `seal.json`: what a journal held when it was sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// [`SEAL_SCHEMA`].
    pub schema: String,
    /// The journal's file name when it was sealed (a label; not checked against anything).
    pub journal: String,
    /// Lines sealed (at least 1).
    pub lines: u64,
    /// Bytes sealed: the whole journal, which ends with an LF.
    pub bytes: u64,
    /// `h_lines`, the chain head.
    pub head: Sha256Digest,
    /// The checkpoint interval.
    pub checkpoint_interval: u64,
    /// The checkpoints, by line.
    pub checkpoints: Vec<Checkpoint>,
    /// The line limit the journal was verified under.
    pub max_line_bytes: u64,
    /// The type member the journal was verified with.
    pub type_key: String,
    /// Unique-key members the journal was verified with (their values did not repeat).
    pub unique_keys: Vec<String>,
}

/// Why `seal.json` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seal.json: {0}")]
pub struct SealFormatError(pub String);

impl Seal {
    /// Parses and checks `seal.json` bytes: strict JSON, exactly the schema's members,
    /// canonical (RFC 8785) bytes, and every rule of [`Seal::check`].
    pub fn parse(bytes: &[u8]) -> Result<Self, SealFormatError> {
        let err = |m: String| SealFormatError(m);
        let limits = JsonLimits {
            max_bytes: MAX_SEAL_BYTES,
            ..JsonLimits::default()
        };
        let value = parse_strict(bytes, &limits).map_err(|e| err(e.to_string()))?;
        let seal: Seal = serde_json::from_value(value).map_err(|e| err(e.to_string()))?;
        seal.check()?;
        if seal.to_canonical_bytes()? != bytes {
            return Err(err("not in canonical form (RFC 8785)".into()));
        }
        Ok(seal)
    }

    /// The canonical bytes of `seal.json`.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, SealFormatError> {
        crate::canonical::to_canonical(self).map_err(|e| SealFormatError(e.to_string()))
    }

    /// Checks the rules between members: schema, counts, the interval, and checkpoints at
    /// exactly the multiples of the interval with increasing offsets, agreeing with the head.
    pub fn check(&self) -> Result<(), SealFormatError> {
        self.check_members()?;
        self.check_checkpoints()
    }

    /// The schema, the counts and the name limits.
    fn check_members(&self) -> Result<(), SealFormatError> {
        let fail = |m: &str| Err(SealFormatError(m.to_owned()));
        if self.schema != SEAL_SCHEMA {
            return Err(SealFormatError(format!(
                "schema is {:?}, expected {SEAL_SCHEMA:?}",
                self.schema
            )));
        }
        if self.journal.is_empty() || self.journal.len() > 4096 {
            return fail("journal name must be 1-4096 bytes");
        }
        if self.lines == 0 {
            return fail("a seal covers at least one line");
        }
        if self.bytes < self.lines.saturating_mul(3) {
            return fail("fewer than 3 bytes per line (each line is a JSON object and an LF)");
        }
        if self.bytes > MAX_SEAL_NUMBER || self.max_line_bytes > MAX_SEAL_NUMBER {
            return fail("a number is above 2^53");
        }
        if self.max_line_bytes == 0 {
            return fail("max_line_bytes must be positive");
        }
        if self.type_key.is_empty()
            || self.type_key.len() > super::MAX_KEY_NAME_BYTES
            || self.unique_keys.len() > super::MAX_UNIQUE_KEYS
            || self
                .unique_keys
                .iter()
                .any(|k| k.is_empty() || k.len() > super::MAX_KEY_NAME_BYTES)
        {
            return fail("type_key or unique_keys break the name limits");
        }
        Ok(())
    }

    /// The interval, and checkpoints at exactly its multiples with increasing offsets,
    /// agreeing with the head at the last line.
    fn check_checkpoints(&self) -> Result<(), SealFormatError> {
        let fail = |m: &str| Err(SealFormatError(m.to_owned()));
        if self.checkpoint_interval != checkpoint_interval(self.lines) {
            return Err(SealFormatError(format!(
                "checkpoint_interval is {}, but {} lines need {}",
                self.checkpoint_interval,
                self.lines,
                checkpoint_interval(self.lines)
            )));
        }
        let expected = self.lines / self.checkpoint_interval;
        if self.checkpoints.len() as u64 != expected {
            return Err(SealFormatError(format!(
                "{} checkpoints, expected {expected}",
                self.checkpoints.len()
            )));
        }
        let mut previous_offset = 0u64;
        for (i, c) in self.checkpoints.iter().enumerate() {
            if c.line != (i as u64 + 1).saturating_mul(self.checkpoint_interval) {
                return fail("checkpoints are not at the multiples of the interval");
            }
            if c.byte_offset <= previous_offset || c.byte_offset > self.bytes {
                return fail("checkpoint offsets must increase and stay within the journal");
            }
            previous_offset = c.byte_offset;
            if c.line == self.lines && (c.byte_offset != self.bytes || c.chain != self.head) {
                return fail("the checkpoint at the last line disagrees with bytes or head");
            }
        }
        Ok(())
    }
}
