//! The signatures `openssl dgst -sha256 -sign KEY` writes, which the predecessor's identity
//! bundles carry: ECDSA P-256 (a DER `SEQUENCE { r, s }`) or RSA PKCS#1 v1.5, both over
//! SHA-256 of the message. Only a key the caller pinned ([`TrustedKey`]) verifies one.

use p256::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use rsa::traits::PublicKeyParts as _;
use sha2::Sha256;

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// A pinned public key for legacy identity signatures.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    key: Key,
    /// The SPKI DER the PEM text holds, to recognise the same key in another PEM text.
    spki: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Key {
    P256(p256::ecdsa::VerifyingKey),
    Rsa(rsa::pkcs1v15::VerifyingKey<Sha256>),
}

/// Why a PEM text is not an acceptable trusted key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustedKeyError {
    /// Not exactly one `PUBLIC KEY` PEM block of valid base64.
    #[error(
        "not a PEM public key (one -----BEGIN PUBLIC KEY----- block, as `openssl pkey -pubout` writes)"
    )]
    NotPem,
    /// The key is neither P-256 nor RSA (Ed25519 included: the predecessor could not sign with it).
    #[error("the public key is neither ECDSA P-256 nor RSA")]
    Unsupported,
    /// An RSA modulus below [`MIN_RSA_BITS`].
    #[error("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required")]
    WeakRsa {
        /// The modulus size.
        bits: usize,
    },
}

impl TrustedKey {
    /// Parses SPKI PEM text (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(text: &str) -> Result<Self, TrustedKeyError> {
        let spki = pem_body(text).ok_or(TrustedKeyError::NotPem)?;
        let key = if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) {
            Key::P256(key)
        } else if let Ok(key) = rsa::PublicKey::from_public_key_der(&spki) {
            let bits = key.size() * 8;
            if bits < MIN_RSA_BITS {
                return Err(TrustedKeyError::WeakRsa { bits });
            }
            Key::Rsa(rsa::pkcs1v15::VerifyingKey::new(key))
        } else {
            return Err(TrustedKeyError::Unsupported);
        };
        Ok(Self { key, spki })
    }

    /// `ecdsa-p256` or `rsa`.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::P256(_) => "ecdsa-p256",
            Key::Rsa(_) => "rsa",
        }
    }

    /// True if `text` is a PEM encoding of this same key.
    pub fn is_same_key(&self, text: &str) -> bool {
        pem_body(text).is_some_and(|der| der == self.spki)
    }

    /// Verifies `signature` (as `openssl dgst -sha256 -sign` writes it) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.key {
            Key::P256(key) => p256::ecdsa::DerSignature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            Key::Rsa(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
        }
    }
}

/// The DER inside exactly one `PUBLIC KEY` PEM block.
fn pem_body(text: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    let (before, rest) = text.split_once(BEGIN)?;
    let (body, after) = rest.split_once(END)?;
    if !before.trim().is_empty() || !after.trim().is_empty() {
        return None;
    }
    let joined: String = body.split_whitespace().collect();
    crate::dsse::decode_base64(&joined).filter(|der| !der.is_empty())
}
