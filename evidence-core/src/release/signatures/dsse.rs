//! `SHA256SUMS.dsse.json`: a DSSE envelope of payload type
//! [`PAYLOAD_TYPE_SHA256SUMS`](crate::dsse::PAYLOAD_TYPE_SHA256SUMS) whose payload is exactly
//! the checksum file, judged against the caller's trust policy.

use std::path::{Path, PathBuf};

use super::{SignatureTrust, SumsSignatureFormat, beside};
use crate::dsse::{self, Envelope, SignatureRequirement};
use crate::release::SIGNATURE_CODES;
use crate::release::codes::*;
use crate::report::Check;

/// DSSE envelopes over the checksum file.
pub(crate) struct Dsse;

/// What the checks say is signed.
const WHAT: &str = "the checksum file";

impl SumsSignatureFormat for Dsse {
    fn candidates(&self, sums_path: &Path) -> Vec<PathBuf> {
        vec![beside(sums_path, ".dsse.json")]
    }

    fn keyed(&self, trust: &SignatureTrust<'_>) -> bool {
        trust.policy.is_some()
    }

    fn max_bytes(&self, trust: &SignatureTrust<'_>) -> u64 {
        trust.dsse_limits.max_envelope_bytes
    }

    fn missing(&self, trust: &SignatureTrust<'_>) -> Vec<Check> {
        match trust.policy {
            Some(_) if trust.attested => vec![Check::skip(
                RELEASE_SUMS_SIGNATURE_MISSING,
                "the checksum file is not signed, but signed provenance attests every asset by its SHA-256",
            )],
            Some(_) => vec![dsse::missing_check(
                &SIGNATURE_CODES,
                SignatureRequirement::Required,
                WHAT,
            )],
            None => Vec::new(),
        }
    }

    fn unreadable(&self, reason: String) -> Check {
        Check::fail(RELEASE_SUMS_ENVELOPE_INVALID, reason)
    }

    fn verify(&self, sums: &[u8], signature: &[u8], trust: &SignatureTrust<'_>) -> Vec<Check> {
        let envelope = match Envelope::parse(signature, trust.dsse_limits) {
            Ok(e) => e,
            Err(e) => return vec![Check::fail(RELEASE_SUMS_ENVELOPE_INVALID, e.to_string())],
        };
        let Some(policy) = trust.policy else {
            return vec![Check::warn(
                RELEASE_SUMS_SIGNATURE_UNCHECKED,
                format!(
                    "{} signature(s) present but no trusted key was given: the checksum file is not authenticated (pass --trusted-key or --keyring)",
                    envelope.signatures.len()
                ),
            )];
        };
        // DESIGN 2: the signature covers the exact bytes the digests were read from.
        if envelope.payload != sums {
            return vec![Check::fail(
                RELEASE_SUMS_SIGNATURE_INVALID,
                "the envelope signs other bytes than the checksum file: the checksum file was rewritten after signing",
            )];
        }
        let verdict = envelope.verify(dsse::PAYLOAD_TYPE_SHA256SUMS, policy);
        dsse::verdict_checks(
            &verdict,
            &SIGNATURE_CODES,
            SignatureRequirement::Required,
            WHAT,
        )
    }
}
