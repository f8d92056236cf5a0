//! What a transferable public key (an OpenPGP certificate) lets sign: the primary key and its
//! subkeys, each with the state its newest valid self-signature gives it (RFC 9580 section
//! 10.1 and 5.2.3.x: key flags, key expiration time, revocations).

use pgp::composed::{SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{PublicKey, PublicSubkey, Signature, SignatureType, SubpacketData};
use pgp::types::{Fingerprint, KeyDetails, KeyId, Tag};

use super::PgpLimits;

/// A key of a certificate that may make data signatures, with what its self-signatures say.
#[derive(Debug, Clone)]
pub(super) struct Component {
    pub(super) key: ComponentKey,
    pub(super) fingerprint: Fingerprint,
    pub(super) key_id: KeyId,
    pub(super) state: KeyState,
}

/// The key material of a component.
#[derive(Debug, Clone)]
pub(super) enum ComponentKey {
    Primary(PublicKey),
    Sub(PublicSubkey),
}

impl ComponentKey {
    /// Checks `signature` over `data` with this key.
    pub(super) fn verify(&self, signature: &Signature, data: &[u8]) -> Result<(), String> {
        let result = match self {
            Self::Primary(k) => signature.verify(k, data),
            Self::Sub(k) => signature.verify(k, data),
        };
        result.map_err(|e| e.to_string())
    }

    /// The public key algorithm, for reports.
    pub(super) fn algorithm(&self) -> String {
        match self {
            Self::Primary(k) => format!("{:?}", k.algorithm()),
            Self::Sub(k) => format!("{:?}", k.algorithm()),
        }
    }
}

/// What the self-signatures say about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyState {
    /// May sign; `expires` is a Unix time when the key expires.
    Usable { expires: Option<u64> },
    /// Revoked by its own primary key.
    Revoked { reason: String },
    /// Not usable for signing data, and why.
    Unusable { reason: String },
    /// A primary key whose flags allow certifying its subkeys but not signing data; `expires`
    /// bounds its subkeys too.
    CertifyOnly { expires: Option<u64> },
}

/// Every key of `cert` with its state, primary first (at most `limits.max_subkeys` subkeys).
pub(super) fn components(cert: &SignedPublicKey, limits: &PgpLimits) -> Vec<Component> {
    let primary = &cert.primary_key;
    let primary_state = primary_state(cert, limits);
    let mut out = vec![Component {
        key: ComponentKey::Primary(primary.clone()),
        fingerprint: primary.fingerprint(),
        key_id: primary.legacy_key_id(),
        state: primary_state.clone(),
    }];
    for sub in cert.public_subkeys.iter().take(limits.max_subkeys) {
        let state = match &primary_state {
            // A subkey is only as good as the primary key that binds it.
            KeyState::Revoked { .. } | KeyState::Unusable { .. } => primary_state.clone(),
            KeyState::Usable { expires } | KeyState::CertifyOnly { expires } => {
                subkey_state(primary, sub, limits, *expires)
            }
        };
        out.push(Component {
            key: ComponentKey::Sub(sub.key.clone()),
            fingerprint: sub.key.fingerprint(),
            key_id: sub.key.legacy_key_id(),
            state,
        });
    }
    out
}

/// The start of the reason for a key whose flags do not allow signing.
pub(super) const NOT_SIGNING: &str = "its key flags do not allow signing";

/// The primary key: revoked by itself, or bound by at least one valid self-signature (a direct
/// key signature or a user ID self-certification), the newest of which gives flags and expiry.
fn primary_state(cert: &SignedPublicKey, limits: &PgpLimits) -> KeyState {
    let primary = &cert.primary_key;
    let own = |s: &&Signature| issued_by(s, primary);
    // RFC 9580 5.2.1.12: a key revocation signature made by the key itself.
    for sig in cert
        .details
        .revocation_signatures
        .iter()
        .filter(own)
        .take(limits.max_self_signatures)
    {
        if sig.typ() == Some(SignatureType::KeyRevocation) && sig.verify_key(primary).is_ok() {
            return KeyState::Revoked {
                reason: revocation_reason(sig),
            };
        }
    }
    let direct = cert
        .details
        .direct_signatures
        .iter()
        .filter(own)
        .filter(|s| s.typ() == Some(SignatureType::Key))
        .take(limits.max_self_signatures)
        .filter(|s| s.verify_key(primary).is_ok());
    let mut certifications = Vec::new();
    for user in &cert.details.users {
        for sig in user
            .signatures
            .iter()
            .filter(own)
            .filter(|s| s.is_certification() && s.typ() != Some(SignatureType::CertRevocation))
            .take(limits.max_self_signatures)
        {
            if sig
                .verify_certification(primary, Tag::UserId, &user.id)
                .is_ok()
            {
                certifications.push(sig);
            }
        }
    }
    let Some(newest) = newest(direct.chain(certifications)) else {
        return KeyState::Unusable {
            reason: "no valid self-signature binds a user ID or the key itself".into(),
        };
    };
    let expires = expires(primary.created_at().as_secs(), newest);
    if has_key_flags(newest) && !newest.key_flags().sign() {
        return KeyState::CertifyOnly { expires };
    }
    KeyState::Usable { expires }
}

/// A subkey: revoked, or bound by a valid binding signature whose flags allow signing and
/// which embeds a valid primary key binding ("back") signature (RFC 9580 5.2.1.7 and 5.2.1.8).
fn subkey_state(
    primary: &PublicKey,
    sub: &SignedPublicSubKey,
    limits: &PgpLimits,
    primary_expires: Option<u64>,
) -> KeyState {
    let sigs = || {
        sub.signatures
            .iter()
            .filter(|s| issued_by(s, primary))
            .take(limits.max_self_signatures)
    };
    for sig in sigs() {
        if sig.typ() == Some(SignatureType::SubkeyRevocation)
            && sig.verify_subkey_binding(primary, &sub.key).is_ok()
        {
            return KeyState::Revoked {
                reason: revocation_reason(sig),
            };
        }
    }
    let bindings = sigs()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .filter(|s| s.verify_subkey_binding(primary, &sub.key).is_ok());
    let Some(binding) = newest(bindings) else {
        return KeyState::Unusable {
            reason: "no valid binding signature from its primary key".into(),
        };
    };
    if !binding.key_flags().sign() {
        return KeyState::Unusable {
            reason: NOT_SIGNING.into(),
        };
    }
    let backed = binding
        .embedded_signature()
        .is_some_and(|back| back.verify_primary_key_binding(&sub.key, primary).is_ok());
    if !backed {
        return KeyState::Unusable {
            reason: "its binding has no valid back signature (the subkey never agreed to sign for this key)".into(),
        };
    }
    let own = expires(sub.key.created_at().as_secs(), binding);
    let expires = match (own, primary_expires) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    KeyState::Usable { expires }
}

/// True when `sig` names `key` as its issuer, or names no issuer at all.
fn issued_by(sig: &Signature, key: &impl KeyDetails) -> bool {
    names(sig, &key.fingerprint(), &key.legacy_key_id())
}

/// True when `sig` names the key with `fingerprint` and `key_id` as its issuer, or names no
/// issuer at all (then only the cryptography can tell).
pub(super) fn names(sig: &Signature, fingerprint: &Fingerprint, key_id: &KeyId) -> bool {
    let ids = sig.issuer_key_id();
    let fps = sig.issuer_fingerprint();
    (ids.is_empty() && fps.is_empty()) || ids.contains(&key_id) || fps.contains(&fingerprint)
}

/// The newest signature (by its creation time) of `sigs`.
fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

/// When the key created at `created` expires by `sig`'s key expiration time (0: never).
fn expires(created: u32, sig: &Signature) -> Option<u64> {
    sig.key_expiration_time()
        .map(|d| d.as_secs())
        .filter(|d| *d > 0)
        .map(|d| u64::from(created) + u64::from(d))
}

fn revocation_reason(sig: &Signature) -> String {
    let code = sig
        .revocation_reason_code()
        .map(|c| format!("{c:?}"))
        .unwrap_or_else(|| "no reason given".into());
    match sig.revocation_reason_string() {
        Some(text) if !text.is_empty() => {
            format!("{code}: {}", String::from_utf8_lossy(text))
        }
        _ => code,
    }
}
