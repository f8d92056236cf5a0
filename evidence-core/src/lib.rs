//! `evidence_core`: content-addressed, Ed25519-signed evidence bundles and release integrity
//! verification.
//!
//! Every input flows through three stages (DESIGN section 2): **raw** bytes read under hard
//! limits, **checked** structure (parsed, paths confined, digests well-formed) and **verified**
//! content (digests recomputed, signatures and policy applied). Only this crate can construct
//! a [`Verified`] value, so code that acts on trusted evidence can demand one.
//!
//! The library never prints; every verifier returns a [`report::Report`] whose checks carry
//! stable codes documented in `docs/CHECKS.md`.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![warn(missing_docs)]
// The library never prints (DESIGN section 5): callers decide what reaches a terminal.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod atomic;
pub mod bundle;
pub mod canonical;
pub mod capture;
pub mod codes;
pub mod digest;
pub mod dsse;
pub mod hash;
pub mod identity;
pub mod incident;
pub mod journal;
pub mod json;
pub mod keys;
pub mod legacy;
pub mod openpgp;
pub mod path;
pub mod provenance;
pub mod pyjson;
pub mod redact;
pub mod release;
pub mod report;
pub mod rollback;
pub mod sbom;
pub mod scan;
pub mod sums;
pub mod tar_read;
#[cfg(test)]
mod testing;
pub mod text;
pub mod timestamp;
pub mod tree;

pub use digest::Sha256Digest;
pub use path::ArtifactPath;
pub use report::{Check, Report, Status};

/// A value whose verification succeeded. Only `evidence_core` can construct one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self(inner)
    }

    /// Gives up the proof and returns the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
