//! What a key file actually holds, told from its content, so that a wrong file gets advice for
//! the file it is (an OpenSSH key, a certificate, a keyring...) rather than a decoder's complaint
//! about the one that was expected.

use std::fmt;

use ed25519_dalek::pkcs8::SecretDocument;
use ed25519_dalek::pkcs8::{ObjectIdentifier, PrivateKeyInfoRef, spki::SubjectPublicKeyInfoRef};

/// What a command wanted where a key was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRole {
    /// A private key that signs (`--sign`).
    Private,
    /// A public key that is trusted (`--trusted-key`).
    Public,
    /// A keyring file (`--keyring`).
    Keyring,
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyRole::Private => "an Ed25519 private key (PKCS#8 PEM)",
            KeyRole::Public => "an Ed25519 public key (SPKI PEM)",
            KeyRole::Keyring => "a keyring (evidence.keyring/v1 JSON)",
        })
    }
}

/// What a file named as a key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFileKind {
    /// A folder.
    Folder,
    /// Nothing, or only white space.
    Empty,
    /// An Ed25519 public key, SPKI PEM.
    Ed25519Public,
    /// An Ed25519 private key, PKCS#8 PEM.
    Ed25519Private,
    /// An OpenSSH public key line (`ssh-ed25519 AAAA...`), with its key type.
    OpenSshPublic {
        /// The key type word, such as `ssh-ed25519` or `ssh-rsa`.
        key_type: String,
    },
    /// An OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    OpenSshPrivate,
    /// A minisign public key (42 bytes in base64, after an optional comment line).
    MinisignPublic,
    /// A minisign secret key (158 bytes in base64 after its comment line).
    MinisignSecret,
    /// A keyring file (JSON naming the keyring schema).
    Keyring,
    /// A key of another algorithm, named (RSA, EC (P-256), DSA, X25519, ...).
    OtherAlgorithm {
        /// The algorithm's name (the OID only when it has no name here).
        algorithm: String,
        /// A private key (else a public one).
        private: bool,
    },
    /// A password-protected PKCS#8 private key (`-----BEGIN ENCRYPTED PRIVATE KEY-----`).
    EncryptedPkcs8,
    /// An X.509 certificate.
    Certificate,
}

impl fmt::Display for KeyFileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileKind::Folder => f.write_str("a folder"),
            KeyFileKind::Empty => f.write_str("empty"),
            KeyFileKind::Ed25519Public => KeyRole::Public.fmt(f),
            KeyFileKind::Ed25519Private => KeyRole::Private.fmt(f),
            KeyFileKind::OpenSshPublic { key_type } => {
                write!(f, "an OpenSSH public key ({key_type})")
            }
            KeyFileKind::OpenSshPrivate => f.write_str("an OpenSSH private key"),
            KeyFileKind::MinisignPublic => f.write_str("a minisign public key"),
            KeyFileKind::MinisignSecret => f.write_str("a minisign secret key"),
            KeyFileKind::Keyring => KeyRole::Keyring.fmt(f),
            KeyFileKind::OtherAlgorithm { algorithm, private } => {
                let article = if algorithm.starts_with(['E', 'R', 'X', 'a']) {
                    "an"
                } else {
                    "a"
                };
                let half = if *private { "private" } else { "public" };
                write!(f, "{article} {algorithm} {half} key")
            }
            KeyFileKind::EncryptedPkcs8 => f.write_str("an encrypted PKCS#8 private key"),
            KeyFileKind::Certificate => f.write_str("an X.509 certificate"),
        }
    }
}

/// A key made the way this tool expects.
const MAKE_A_KEY: &str = "make an Ed25519 key pair with `evidence key generate --out PREFIX` \
     (or `openssl genpkey -algorithm ed25519`)";

impl KeyFileKind {
    /// What to do when this was given where `role` was wanted; `file` is the file's name as
    /// given, or `None` when the key did not come from a file.
    pub fn remedy(&self, role: KeyRole, file: Option<&str>) -> String {
        let f = file.unwrap_or("FILE");
        match (self, role) {
            (KeyFileKind::Folder, _) => "pass the key file itself, not the folder".to_owned(),
            (KeyFileKind::Empty, _) => {
                format!(
                    "fill it with the key (check the secret that should hold it), or {MAKE_A_KEY}"
                )
            }
            (KeyFileKind::Ed25519Public, KeyRole::Private) => "sign with the private half: \
                 the PREFIX.key that `evidence key generate` wrote beside PREFIX.pub"
                .to_owned(),
            (KeyFileKind::Ed25519Public, _) => {
                "pass a single public key with --trusted-key; `evidence keyring create --key \
                 NAME=PUBFILE --threshold N --out FILE` builds a keyring"
                    .to_owned()
            }
            (
                KeyFileKind::Ed25519Private | KeyFileKind::EncryptedPkcs8,
                KeyRole::Public | KeyRole::Keyring,
            ) => format!(
                "never hand a private key to a verifier: pass its public half \
                 (`openssl pkey -in {f} -pubout -out {f}.pub`, or the PREFIX.pub beside it)"
            ),
            (KeyFileKind::EncryptedPkcs8, _) => format!(
                "decrypt it with `openssl pkcs8 -in {f} -out G` (then pass G, kept mode 0600), \
                 or use an unencrypted key"
            ),
            (KeyFileKind::OpenSshPublic { .. } | KeyFileKind::OpenSshPrivate, _) => format!(
                "this tool reads PEM keys, and OpenSSH cannot write an Ed25519 key as PEM: {MAKE_A_KEY}"
            ),
            (KeyFileKind::MinisignPublic, KeyRole::Public) => format!(
                "a minisign key checks SHA256SUMS.minisig: pass it as `release-verify \
                 --minisign-key {f}`; other signatures need an SPKI PEM key"
            ),
            (KeyFileKind::MinisignPublic | KeyFileKind::MinisignSecret, _) => format!(
                "minisign keys are in minisign's own format and cannot be used here: {MAKE_A_KEY}"
            ),
            (KeyFileKind::Keyring, KeyRole::Private) => {
                "a keyring holds public keys only: sign with a private key (PREFIX.key)".to_owned()
            }
            (KeyFileKind::Keyring, _) => format!("pass it as --keyring {f}"),
            (KeyFileKind::OtherAlgorithm { .. }, _) => {
                format!("only Ed25519 keys are supported: {MAKE_A_KEY}")
            }
            (KeyFileKind::Certificate, KeyRole::Private) => {
                "a certificate holds no private key: sign with the PKCS#8 PEM private key"
                    .to_owned()
            }
            (KeyFileKind::Certificate, _) => format!(
                "pass the public key inside it: `openssl x509 -in {f} -pubkey -noout > {f}.pub`"
            ),
            (KeyFileKind::Ed25519Private, KeyRole::Private) => MAKE_A_KEY.to_owned(),
        }
    }
}

/// What `bytes` hold, when that can be told; `None` for anything unrecognised (the caller then
/// reports the decoder's own error).
pub fn classify(bytes: &[u8]) -> Option<KeyFileKind> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() {
        return Some(KeyFileKind::Empty);
    }
    if text.starts_with('{') {
        return text
            .contains(super::KEYRING_SCHEMA)
            .then_some(KeyFileKind::Keyring);
    }
    if let Some(label) = pem_label(text) {
        return classify_pem(label, text);
    }
    let first = text.split_whitespace().next().unwrap_or_default();
    if first.starts_with("ssh-") || first.starts_with("ecdsa-sha2-") || first.starts_with("sk-") {
        return Some(KeyFileKind::OpenSshPublic {
            key_type: crate::text::printable(first).into_owned(),
        });
    }
    classify_minisign(text)
}

/// The label of the first PEM block (`-----BEGIN LABEL-----`).
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")?;
    let rest = text.get(start + "-----BEGIN ".len()..)?;
    rest.split_once("-----").map(|(label, _)| label)
}

fn classify_pem(label: &str, text: &str) -> Option<KeyFileKind> {
    let other = |algorithm: &str, private| KeyFileKind::OtherAlgorithm {
        algorithm: algorithm.to_owned(),
        private,
    };
    match label {
        "OPENSSH PRIVATE KEY" => Some(KeyFileKind::OpenSshPrivate),
        "ENCRYPTED PRIVATE KEY" => Some(KeyFileKind::EncryptedPkcs8),
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => {
            Some(KeyFileKind::Certificate)
        }
        "RSA PRIVATE KEY" => Some(other("RSA", true)),
        "RSA PUBLIC KEY" => Some(other("RSA", false)),
        "EC PRIVATE KEY" => Some(other("EC (ECDSA)", true)),
        "DSA PRIVATE KEY" => Some(other("DSA", true)),
        "PRIVATE KEY" | "PUBLIC KEY" => classify_der(label == "PRIVATE KEY", text),
        _ => None,
    }
}

/// Names the algorithm of a PKCS#8 or SPKI document from its OID (and curve, for EC keys).
fn classify_der(private: bool, text: &str) -> Option<KeyFileKind> {
    // A secret document: the DER of a private key is zeroised when dropped.
    let (_, doc) = SecretDocument::from_pem(text).ok()?;
    let (oid, params) = if private {
        let info = PrivateKeyInfoRef::try_from(doc.as_bytes()).ok()?;
        (info.algorithm.oid, info.algorithm.parameters_oid().ok())
    } else {
        let info = SubjectPublicKeyInfoRef::try_from(doc.as_bytes()).ok()?;
        (info.algorithm.oid, info.algorithm.parameters_oid().ok())
    };
    if oid == ED25519 {
        return Some(if private {
            KeyFileKind::Ed25519Private
        } else {
            KeyFileKind::Ed25519Public
        });
    }
    Some(KeyFileKind::OtherAlgorithm {
        algorithm: algorithm_name(oid, params),
        private,
    })
}

const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A name for a key algorithm OID; the dotted OID only for one not listed.
fn algorithm_name(oid: ObjectIdentifier, params: Option<ObjectIdentifier>) -> String {
    let known = [
        ("1.2.840.113549.1.1.1", "RSA"),
        ("1.2.840.113549.1.1.10", "RSA-PSS"),
        ("1.2.840.10040.4.1", "DSA"),
        ("1.3.101.110", "X25519"),
        ("1.3.101.111", "X448"),
        ("1.3.101.113", "Ed448"),
    ];
    let curves = [
        ("1.2.840.10045.3.1.7", "P-256"),
        ("1.3.132.0.34", "P-384"),
        ("1.3.132.0.35", "P-521"),
        ("1.3.132.0.10", "secp256k1"),
    ];
    let dotted = oid.to_string();
    if dotted == "1.2.840.10045.2.1" {
        let curve = params.map(|p| p.to_string()).unwrap_or_default();
        let name = curves
            .iter()
            .find(|(o, _)| *o == curve)
            .map_or_else(|| format!("curve {curve}"), |(_, n)| (*n).to_owned());
        return format!("EC ({name})");
    }
    known
        .iter()
        .find(|(o, _)| *o == dotted)
        .map_or_else(|| format!("algorithm {dotted}"), |(_, n)| (*n).to_owned())
}

/// A minisign key (minisign's key format): an `untrusted comment:` line, then base64 of
/// `"Ed"` + key id (8) + public key (32) = 42 bytes, or for a secret key `"Ed"` + KDF algorithm
/// (2) + checksum algorithm (2) + salt (32) + opslimit (8) + memlimit (8) + key id, secret key
/// and checksum (104) = 158 bytes. A public key is also passed as its bare base64 line.
fn classify_minisign(text: &str) -> Option<KeyFileKind> {
    use base64::Engine as _;
    let mut lines = text.lines();
    let mut line = lines.next()?.trim();
    if line.starts_with("untrusted comment:") {
        line = lines.next()?.trim();
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .ok()?;
    match (bytes.get(..2), bytes.len()) {
        (Some(b"Ed"), 42) => Some(KeyFileKind::MinisignPublic),
        (Some(b"Ed"), 158) => Some(KeyFileKind::MinisignSecret),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A minisign public key file made by hand from minisign's format: `Ed`, key id, key.
    fn minisign_public() -> String {
        let mut bytes = b"Ed".to_vec();
        bytes.extend([7u8; 8]);
        bytes.extend([9u8; 32]);
        format!(
            "untrusted comment: minisign public key 0707070707070707\n{}\n",
            b64(&bytes)
        )
    }

    /// A minisign secret key file: `Ed`, `Sc` (scrypt), `B2` (BLAKE2b), salt, limits, and the
    /// encrypted key id, secret key and checksum.
    fn minisign_secret() -> String {
        let mut bytes = b"EdScB2".to_vec();
        bytes.extend([1u8; 32 + 8 + 8 + 104]);
        format!(
            "untrusted comment: minisign encrypted secret key\n{}\n",
            b64(&bytes)
        )
    }

    #[test]
    fn kinds_are_told_from_content() {
        let public_line = minisign_public().lines().nth(1).unwrap().to_owned();
        let cases: Vec<(String, Option<KeyFileKind>)> = vec![
            (" \n\t\n".into(), Some(KeyFileKind::Empty)),
            (minisign_public(), Some(KeyFileKind::MinisignPublic)),
            (public_line, Some(KeyFileKind::MinisignPublic)),
            (minisign_secret(), Some(KeyFileKind::MinisignSecret)),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@host\n".into(),
                Some(KeyFileKind::OpenSshPublic {
                    key_type: "ssh-ed25519".into(),
                }),
            ),
            (
                r#"{"schema": "evidence.keyring/v1", "threshold": 1, "keys": []}"#.into(),
                Some(KeyFileKind::Keyring),
            ),
            (r#"{"schema": "other"}"#.into(), None),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"
                    .into(),
                Some(KeyFileKind::OpenSshPrivate),
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
                    .into(),
                Some(KeyFileKind::EncryptedPkcs8),
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
                Some(KeyFileKind::Certificate),
            ),
            ("hello".into(), None),
            ("-----BEGIN PUBLIC KEY-----\nnot base64\n".into(), None),
        ];
        for (text, kind) in cases {
            assert_eq!(classify(text.as_bytes()), kind, "{text:?}");
        }
        assert_eq!(classify(&[0xff, 0xfe]), None);
    }

    #[test]
    fn algorithms_are_named_not_numbered() {
        let oid = ObjectIdentifier::new_unwrap;
        assert_eq!(algorithm_name(oid("1.2.840.113549.1.1.1"), None), "RSA");
        assert_eq!(
            algorithm_name(oid("1.2.840.10045.2.1"), Some(oid("1.3.132.0.34"))),
            "EC (P-384)"
        );
        assert_eq!(
            algorithm_name(oid("1.2.840.10045.2.1"), Some(oid("1.2.3.4"))),
            "EC (curve 1.2.3.4)"
        );
        assert_eq!(algorithm_name(oid("1.2.3.4"), None), "algorithm 1.2.3.4");
        let kind = |algorithm: &str| KeyFileKind::OtherAlgorithm {
            algorithm: algorithm.into(),
            private: true,
        };
        assert_eq!(kind("RSA").to_string(), "an RSA private key");
        assert_eq!(kind("DSA").to_string(), "a DSA private key");
        assert_eq!(
            kind("algorithm 1.2.3.4").to_string(),
            "an algorithm 1.2.3.4 private key"
        );
    }
}
