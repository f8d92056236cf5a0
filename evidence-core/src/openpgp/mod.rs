//! OpenPGP (RFC 9580, and RFC 4880 v4 keys) detached signatures over exact bytes, checked
//! against certificates the caller trusts. The packet formats and the cryptography are the
//! `pgp` crate's (rpgp); this module decides what counts: which keys of a certificate may sign
//! ([`cert`]), which signatures are acceptable, and what to tell apart in a verdict.
//!
//! Trust comes from the caller only (DESIGN 3): a [`PgpKeyring`] is read from files given on
//! the command line, never from the evidence. Every input is bounded ([`PgpLimits`]); nothing
//! here prints or panics.

mod cert;
mod cleartext;

use std::io::Cursor;
use std::path::Path;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType};
use pgp::types::KeyDetails;

use crate::hash::read_whole;
use cert::{Component, KeyState};

pub use cleartext::CleartextError;

/// Hard limits on OpenPGP inputs (DESIGN 4 rule 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgpLimits {
    /// Largest key file read.
    pub max_key_bytes: u64,
    /// Most certificates across all key files.
    pub max_certificates: usize,
    /// Most subkeys looked at per certificate.
    pub max_subkeys: usize,
    /// Most self-signatures checked per key or user ID.
    pub max_self_signatures: usize,
    /// Largest signature file read.
    pub max_signature_bytes: u64,
    /// Most signatures in one signature file.
    pub max_signatures: usize,
}

impl PgpLimits {
    /// The default limits: key files up to 8 MiB and 256 certificates (a project's whole
    /// release keyring), signature files up to 1 MiB with at most 16 signatures.
    pub const DEFAULT: Self = Self {
        max_key_bytes: 8 << 20,
        max_certificates: 256,
        max_subkeys: 64,
        max_self_signatures: 32,
        max_signature_bytes: 1 << 20,
        max_signatures: 16,
    };
}

impl Default for PgpLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a key file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgpKeyError {
    /// The file cannot be read (or is larger than the limit).
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The bytes are not OpenPGP public keys.
    #[error("not an OpenPGP public key or keyring: {0}")]
    Malformed(String),
    /// The file holds no public key.
    #[error("no OpenPGP public key in it")]
    Empty,
    /// More certificates than [`PgpLimits::max_certificates`].
    #[error("more than {0} OpenPGP certificates")]
    TooMany(usize),
}

/// One trusted certificate: its primary fingerprint, first user ID and the keys that may sign.
#[derive(Debug, Clone)]
struct Certificate {
    fingerprint: String,
    user_id: Option<String>,
    components: Vec<Component>,
}

/// The OpenPGP certificates (transferable public keys) the caller trusts.
#[derive(Debug, Clone, Default)]
pub struct PgpKeyring {
    certs: Vec<Certificate>,
    limits: PgpLimits,
}

impl PgpKeyring {
    /// An empty keyring with `limits`.
    pub fn new(limits: PgpLimits) -> Self {
        Self {
            certs: Vec::new(),
            limits,
        }
    }

    /// Adds every certificate in `bytes`: armored (one or several `PUBLIC KEY BLOCK`s) or
    /// binary (`gpg --export`, a keyring of several certificates one after another).
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<usize, PgpKeyError> {
        let mut parsed = Vec::new();
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            collect_certs(bytes, &mut parsed, &self.limits)?;
        } else {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| PgpKeyError::Malformed("neither binary nor armored text".into()))?;
            for block in armored_blocks(text, "PGP PUBLIC KEY BLOCK") {
                collect_certs(block.as_bytes(), &mut parsed, &self.limits)?;
            }
        }
        if parsed.is_empty() {
            return Err(PgpKeyError::Empty);
        }
        let n = parsed.len();
        if self.certs.len() + n > self.limits.max_certificates {
            return Err(PgpKeyError::TooMany(self.limits.max_certificates));
        }
        for key in parsed {
            self.certs.push(certificate(&key, &self.limits));
        }
        Ok(n)
    }

    /// Adds every certificate of the key file at `path` (at most
    /// [`PgpLimits::max_key_bytes`]).
    pub fn add_file(&mut self, path: &Path) -> Result<usize, PgpKeyError> {
        let file =
            read_whole(path, self.limits.max_key_bytes).map_err(|e| PgpKeyError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        self.add_bytes(&file.bytes)
    }

    /// The primary fingerprints (upper-case hex, as `gpg --fingerprint` shows them without
    /// spaces), in the order added.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs.iter().map(|c| c.fingerprint.clone()).collect()
    }

    /// True when no certificate was added.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The limits this keyring applies to signatures too.
    pub fn limits(&self) -> &PgpLimits {
        &self.limits
    }
}

/// Parses `bytes` (binary packets) as certificates into `out`.
fn collect_certs(
    bytes: &[u8],
    out: &mut Vec<SignedPublicKey>,
    limits: &PgpLimits,
) -> Result<(), PgpKeyError> {
    let (iter, _) = SignedPublicKey::from_reader_many(Cursor::new(bytes))
        .map_err(|e| PgpKeyError::Malformed(e.to_string()))?;
    for key in iter {
        if out.len() >= limits.max_certificates {
            return Err(PgpKeyError::TooMany(limits.max_certificates));
        }
        out.push(key.map_err(|e| PgpKeyError::Malformed(e.to_string()))?);
    }
    Ok(())
}

/// Every `-----BEGIN <label>-----` ... `-----END <label>-----` block of `text`, markers
/// included.
fn armored_blocks<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(after) = rest.get(start..) else {
            break;
        };
        let Some(stop) = after.find(&end) else {
            // An unterminated block: hand it over whole so the parser says what is wrong.
            blocks.push(after);
            break;
        };
        let stop = stop + end.len();
        blocks.push(after.get(..stop).unwrap_or(after));
        rest = after.get(stop..).unwrap_or("");
    }
    blocks
}

fn certificate(key: &SignedPublicKey, limits: &PgpLimits) -> Certificate {
    Certificate {
        fingerprint: upper_hex(key.primary_key.fingerprint().as_bytes()),
        user_id: key
            .details
            .users
            .first()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned()),
        components: cert::components(key, limits),
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Why a signature file was refused before any key was tried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgpSignatureError {
    /// Not OpenPGP signature packets (armored or binary).
    #[error("not an OpenPGP signature: {0}")]
    Malformed(String),
    /// No signature in it.
    #[error("no OpenPGP signature in it")]
    Empty,
    /// More signatures than [`PgpLimits::max_signatures`].
    #[error("more than {0} signatures in one file")]
    TooMany(usize),
    /// A cleartext-signed message whose text is not the signed file.
    #[error(transparent)]
    Cleartext(#[from] CleartextError),
}

/// The signatures of one signature file, and over which bytes they were made.
#[derive(Debug, Clone)]
pub struct PgpSignatures {
    signatures: Vec<Signature>,
    /// `Some` for a cleartext-signed message: the signed text, checked against the file.
    cleartext: Option<Vec<u8>>,
}

impl PgpSignatures {
    /// Parses a detached signature (armored `PGP SIGNATURE` or binary packets) or a
    /// cleartext-signed message (`PGP SIGNED MESSAGE`) made over `data`; the latter is
    /// accepted only when its text is exactly `data` ([`cleartext`]).
    pub fn parse(bytes: &[u8], data: &[u8], limits: &PgpLimits) -> Result<Self, PgpSignatureError> {
        if cleartext::is_cleartext(bytes) {
            let (signatures, signed) = cleartext::parse(bytes, data)?;
            return Self::bounded(signatures, Some(signed), limits);
        }
        let (iter, _) = DetachedSignature::from_reader_many(Cursor::new(bytes))
            .map_err(|e| PgpSignatureError::Malformed(e.to_string()))?;
        let mut signatures = Vec::new();
        for sig in iter {
            if signatures.len() >= limits.max_signatures {
                return Err(PgpSignatureError::TooMany(limits.max_signatures));
            }
            let sig = sig.map_err(|e| PgpSignatureError::Malformed(e.to_string()))?;
            signatures.push(sig.signature);
        }
        Self::bounded(signatures, None, limits)
    }

    fn bounded(
        signatures: Vec<Signature>,
        cleartext: Option<Vec<u8>>,
        limits: &PgpLimits,
    ) -> Result<Self, PgpSignatureError> {
        if signatures.is_empty() {
            return Err(PgpSignatureError::Empty);
        }
        if signatures.len() > limits.max_signatures {
            return Err(PgpSignatureError::TooMany(limits.max_signatures));
        }
        Ok(Self {
            signatures,
            cleartext,
        })
    }

    /// How many signatures the file holds.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Always false: an empty file is refused by [`parse`](Self::parse).
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// True for a cleartext-signed message.
    pub fn is_cleartext(&self) -> bool {
        self.cleartext.is_some()
    }

    /// The verdict on each signature over `data` under `keyring`, at Unix time `now`.
    pub fn verify(&self, keyring: &PgpKeyring, data: &[u8], now: u64) -> Vec<PgpVerdict> {
        let signed = self.cleartext.as_deref().unwrap_or(data);
        self.signatures
            .iter()
            .map(|sig| verify_one(keyring, sig, signed, now))
            .collect()
    }
}

/// Who a verdict is about: the key that made (or claims to have made) the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgpSigner {
    /// The signing key's fingerprint (a subkey's, when a subkey signed).
    pub key: String,
    /// The certificate's primary fingerprint.
    pub certificate: String,
    /// The certificate's first user ID, as it claims.
    pub user_id: Option<String>,
    /// The key's algorithm.
    pub algorithm: String,
}

/// The verdict on one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PgpVerdict {
    /// Made over the bytes by a usable key of a trusted certificate.
    Verified {
        /// The key.
        signer: PgpSigner,
        /// The creation time the signature claims (DESIGN 4 rule 8: a claim).
        created: Option<u64>,
    },
    /// The signature is not acceptable whatever the key: wrong type, weak digest, expired.
    Unacceptable {
        /// Why.
        reason: String,
    },
    /// A trusted key is named but the signature does not verify over the bytes.
    BadSignature {
        /// The key.
        signer: PgpSigner,
        /// What the crypto said.
        reason: String,
    },
    /// No trusted key matches the issuer.
    Untrusted {
        /// The issuer the signature names (fingerprint or key id), if any.
        issuer: Option<String>,
    },
    /// The trusted key that signed has expired.
    KeyExpired {
        /// The key.
        signer: PgpSigner,
        /// When (Unix time).
        expired: u64,
    },
    /// The trusted key that signed was revoked.
    KeyRevoked {
        /// The key.
        signer: PgpSigner,
        /// The revocation reason.
        reason: String,
    },
    /// The trusted key that signed cannot sign (not bound, not signing-capable).
    KeyUnusable {
        /// The key.
        signer: PgpSigner,
        /// Why.
        reason: String,
    },
}

/// Digests strong enough for a data signature (DESIGN 4 rule 12: no MD5, SHA-1, RIPEMD-160).
fn strong(hash: Option<HashAlgorithm>) -> bool {
    matches!(
        hash,
        Some(
            HashAlgorithm::Sha224
                | HashAlgorithm::Sha256
                | HashAlgorithm::Sha384
                | HashAlgorithm::Sha512
                | HashAlgorithm::Sha3_256
                | HashAlgorithm::Sha3_512
        )
    )
}

/// One signature's verdict: its own properties first, then each trusted key it names.
fn verify_one(keyring: &PgpKeyring, sig: &Signature, data: &[u8], now: u64) -> PgpVerdict {
    // RFC 9580 5.2.1.1/5.2.1.2: a detached signature over a document is binary or text.
    if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
        return PgpVerdict::Unacceptable {
            reason: format!(
                "a {:?} signature, not a signature over a document",
                sig.typ()
            ),
        };
    }
    if !strong(sig.hash_alg()) {
        let alg = sig.hash_alg().map(|h| h.to_string());
        return PgpVerdict::Unacceptable {
            reason: format!(
                "made with the digest {}, too weak to rely on",
                alg.as_deref().unwrap_or("(unknown)")
            ),
        };
    }
    let created = sig.created().map(|t| u64::from(t.as_secs()));
    if let (Some(c), Some(d)) = (created, sig.signature_expiration_time())
        && d.as_secs() > 0
        && c + u64::from(d.as_secs()) <= now
    {
        return PgpVerdict::Unacceptable {
            reason: format!(
                "the signature itself expired at Unix time {}",
                c + u64::from(d.as_secs())
            ),
        };
    }
    let mut first_problem = None;
    for cert in &keyring.certs {
        for component in &cert.components {
            if !cert::names(sig, &component.fingerprint, &component.key_id) {
                continue;
            }
            let verdict = judge(cert, component, sig, data, now, created);
            if matches!(verdict, PgpVerdict::Verified { .. }) {
                return verdict;
            }
            first_problem.get_or_insert(verdict);
        }
    }
    first_problem.unwrap_or_else(|| PgpVerdict::Untrusted {
        issuer: issuer(sig),
    })
}

/// The verdict on `sig` under one key that it names.
fn judge(
    cert: &Certificate,
    component: &Component,
    sig: &Signature,
    data: &[u8],
    now: u64,
    created: Option<u64>,
) -> PgpVerdict {
    let signer = PgpSigner {
        key: upper_hex(component.fingerprint.as_bytes()),
        certificate: cert.fingerprint.clone(),
        user_id: cert.user_id.clone(),
        algorithm: component.key.algorithm(),
    };
    // DESIGN 2: the signature covers these exact bytes, or nothing else matters.
    if let Err(reason) = component.key.verify(sig, data) {
        return PgpVerdict::BadSignature { signer, reason };
    }
    match &component.state {
        KeyState::Revoked { reason } => PgpVerdict::KeyRevoked {
            signer,
            reason: reason.clone(),
        },
        KeyState::Unusable { reason } => PgpVerdict::KeyUnusable {
            signer,
            reason: reason.clone(),
        },
        KeyState::CertifyOnly { .. } => PgpVerdict::KeyUnusable {
            signer,
            reason: format!("{} (only its subkeys may)", cert::NOT_SIGNING),
        },
        KeyState::Usable {
            expires: Some(expired),
        } if *expired <= now => PgpVerdict::KeyExpired {
            signer,
            expired: *expired,
        },
        KeyState::Usable { .. } => PgpVerdict::Verified { signer, created },
    }
}

/// The issuer a signature names: its fingerprint, else its key id (upper-case hex).
fn issuer(sig: &Signature) -> Option<String> {
    sig.issuer_fingerprint()
        .first()
        .map(|f| upper_hex(f.as_bytes()))
        .or_else(|| sig.issuer_key_id().first().map(|k| upper_hex(k.as_ref())))
}
