//! `SHA256SUMS.sig`, `SHA256SUMS.asc`, `SHA256SUMS.gpg` (and so `SHASUMS256.txt.sig` and
//! `.asc` for a checksum file named that way): OpenPGP signatures of the checksum file,
//! detached (armored or binary) or cleartext-signed, checked with the caller's
//! [`PgpKeyring`] ([`crate::openpgp`]).
//!
//! Without a keyring a signature file is reported unchecked, whatever it holds: a `.sig` may
//! be another tool's (cosign writes `checksums.txt.sig` too).

use std::path::{Path, PathBuf};

use super::{SignatureTrust, SumsSignatureFormat, beside};
use crate::openpgp::{
    PgpKeyring, PgpLimits, PgpSignatureError, PgpSignatures, PgpSigner, PgpVerdict,
};
use crate::release::codes::*;
use crate::report::Check;
use crate::text::printable;

/// OpenPGP signatures of the checksum file.
pub(crate) struct OpenPgp;

/// The file name endings looked for, in the order judged.
const EXTENSIONS: [&str; 3] = [".sig", ".asc", ".gpg"];

impl SumsSignatureFormat for OpenPgp {
    fn candidates(&self, sums_path: &Path) -> Vec<PathBuf> {
        EXTENSIONS.iter().map(|e| beside(sums_path, e)).collect()
    }

    fn keyed(&self, trust: &SignatureTrust<'_>) -> bool {
        trust.pgp_keys.is_some()
    }

    fn max_bytes(&self, trust: &SignatureTrust<'_>) -> u64 {
        limits(trust).max_signature_bytes
    }

    fn missing(&self, trust: &SignatureTrust<'_>) -> Vec<Check> {
        match trust.pgp_keys {
            Some(_) => vec![Check::fail(
                RELEASE_PGP_MISSING,
                "an OpenPGP key was given but there is no OpenPGP signature of the checksum file (.sig, .asc or .gpg beside it)",
            )],
            None => Vec::new(),
        }
    }

    fn unreadable(&self, reason: String) -> Check {
        Check::fail(RELEASE_PGP_MALFORMED, reason)
    }

    fn verify(&self, sums: &[u8], signature: &[u8], trust: &SignatureTrust<'_>) -> Vec<Check> {
        let parsed = PgpSignatures::parse(signature, sums, limits(trust));
        let Some(keyring) = trust.pgp_keys else {
            let what = match &parsed {
                Ok(s) => format!("{} OpenPGP signature(s) present", s.len()),
                Err(e) => format!("a signature file present ({e})"),
            };
            return vec![Check::warn(
                RELEASE_SUMS_SIGNATURE_UNCHECKED,
                format!(
                    "{what} but no --pgp-key was given: not checked, the checksum file is not authenticated by it"
                ),
            )];
        };
        match parsed {
            Ok(signatures) => judge(keyring, &signatures, sums, trust.now),
            Err(PgpSignatureError::Cleartext(e)) => {
                vec![Check::fail(RELEASE_PGP_INVALID, e.to_string())]
            }
            Err(e) => vec![Check::fail(RELEASE_PGP_MALFORMED, e.to_string())],
        }
    }
}

fn limits<'a>(trust: &SignatureTrust<'a>) -> &'a PgpLimits {
    trust
        .pgp_keys
        .map(PgpKeyring::limits)
        .unwrap_or(&PgpLimits::DEFAULT)
}

/// One check per signature. A signature by a key that is not trusted fails, unless another
/// signature in the same file verified (then it is only noted); every problem with a trusted
/// key fails.
fn judge(keyring: &PgpKeyring, signatures: &PgpSignatures, sums: &[u8], now: u64) -> Vec<Check> {
    let verdicts = signatures.verify(keyring, sums, now);
    let any_verified = verdicts
        .iter()
        .any(|v| matches!(v, PgpVerdict::Verified { .. }));
    let trusted = keyring.fingerprints();
    let trusted_text = trusted.join(", ");
    let form = if signatures.is_cleartext() {
        "cleartext OpenPGP signature"
    } else {
        "OpenPGP signature"
    };
    verdicts
        .into_iter()
        .map(|verdict| {
            let check = match &verdict {
                PgpVerdict::Verified { signer, created } => Check::pass(
                    RELEASE_PGP_VERIFIED,
                    format!(
                        "{form} of the checksum file verified: made by {}{}",
                        who(signer),
                        created.map(claimed).unwrap_or_default()
                    ),
                )
                .with("signer", signer.key.clone())
                .with("certificate", signer.certificate.clone()),
                PgpVerdict::Untrusted { issuer } => {
                    let detail = format!(
                        "{form} made by key {}, which is not among the trusted certificates ({trusted_text})",
                        issuer.as_deref().unwrap_or("(the signature names none)")
                    );
                    let check = if any_verified {
                        Check::warn(RELEASE_PGP_UNTRUSTED, detail)
                    } else {
                        Check::fail(RELEASE_PGP_UNTRUSTED, detail)
                    };
                    match issuer {
                        Some(i) => check.with("signer", i.clone()),
                        None => check,
                    }
                }
                PgpVerdict::BadSignature { signer, reason } => Check::fail(
                    RELEASE_PGP_INVALID,
                    format!(
                        "{form} names {} but does not verify over the checksum file: forged, or the checksum file was rewritten after signing",
                        who(signer),
                    ),
                )
                .with("signer", signer.key.clone())
                .with("reason", reason.clone()),
                PgpVerdict::Unacceptable { reason } => {
                    Check::fail(RELEASE_PGP_INVALID, format!("{form} refused: {reason}"))
                }
                PgpVerdict::KeyExpired { signer, expired } => Check::fail(
                    RELEASE_PGP_KEY_EXPIRED,
                    format!(
                        "{form} made by {}, which expired at {}; an updated copy of the certificate may extend it",
                        who(signer),
                        rfc3339(*expired)
                    ),
                )
                .with("signer", signer.key.clone()),
                PgpVerdict::KeyRevoked { signer, reason } => Check::fail(
                    RELEASE_PGP_KEY_REVOKED,
                    format!(
                        "{form} made by {}, which its owner revoked ({})",
                        who(signer),
                        printable(reason)
                    ),
                )
                .with("signer", signer.key.clone()),
                PgpVerdict::KeyUnusable { signer, reason } => Check::fail(
                    RELEASE_PGP_KEY_INVALID,
                    format!(
                        "{form} made by {}, which cannot sign: {}",
                        who(signer),
                        printable(reason)
                    ),
                )
                .with("signer", signer.key.clone()),
            };
            check.with("trusted", trusted.clone())
        })
        .collect()
}

/// "key FPR (EdDSALegacy) of certificate FPR "Name <mail>"".
fn who(signer: &PgpSigner) -> String {
    let mut out = format!("key {} ({})", signer.key, signer.algorithm);
    if signer.key != signer.certificate {
        out.push_str(&format!(" of certificate {}", signer.certificate));
    }
    if let Some(uid) = &signer.user_id {
        out.push_str(&format!(" \"{}\"", printable(uid)));
    }
    out
}

/// "; it claims to be made at ..." (DESIGN 4 rule 8: a timestamp inside evidence is a claim).
fn claimed(created: u64) -> String {
    format!(", at {} (as the signature claims)", rfc3339(created))
}

fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("Unix time {unix}"))
}
