//! Ed25519 keys, key ids, keyrings and trust policies (DESIGN section 3, "Keys", "Trust").
//!
//! - Private keys are PKCS#8 PEM (`openssl genpkey -algorithm ed25519`), written with mode 0600
//!   set at creation; public keys are SPKI PEM (`openssl pkey -pubout`).
//! - A key id is the lower-case hex SHA-256 of the 32 raw public-key bytes.
//! - Verification is strict (`verify_strict`: canonical S, no small-order points), and weak
//!   (small-order) public keys are refused when loaded.
//! - Trust always comes from the caller: trusted key files or a keyring, with a threshold of at
//!   least one distinct key (DESIGN 4 rules 4 and 5).

use std::fmt;
use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::atomic::{TempFile, refuse_existing};
use crate::digest::Sha256Digest;

/// Largest key or keyring file read: 1 MiB.
pub const MAX_KEY_FILE_BYTES: u64 = 1 << 20;
/// Most keys in a keyring.
pub const MAX_KEYRING_KEYS: usize = 256;
/// The schema string of a keyring file.
pub const KEYRING_SCHEMA: &str = "evidence.keyring/v1";

/// DER of a PKCS#8 v1 Ed25519 private key up to the 32-byte seed (RFC 8410 section 7):
/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
const PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

mod kind;

pub use kind::{KeyFileKind, KeyRole, classify};

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a PEM key of the expected kind.
    #[error("{what}: not an Ed25519 {expected} ({reason})")]
    Format {
        /// Where the key came from.
        what: String,
        /// "PKCS#8 private key" or "SPKI public key".
        expected: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The file (or text) is some other thing than the key wanted: named, with what to do.
    #[error("{what} is {found}, not {expected}; {}", found.remedy(*expected, file.as_deref()))]
    WrongKind {
        /// Where the key came from (the file as given, or "standard input", ...).
        what: String,
        /// The file as given, when it came from one (for the commands in the remedy).
        file: Option<String>,
        /// What was wanted.
        expected: KeyRole,
        /// What it is.
        found: KeyFileKind,
    },
    /// A public key is a small-order ("weak") point, which strict verification refuses.
    #[error("{0}: weak (small-order) Ed25519 public key refused")]
    WeakKey(String),
    /// A destination file already exists.
    #[error("{0} already exists; keys are never overwritten")]
    Exists(PathBuf),
    /// A signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A signature is not 64 bytes.
    #[error("signature must be 64 bytes, found {0}")]
    SignatureLength(usize),
    /// The operating system's random number generator failed.
    #[error("no randomness: {0}")]
    Random(String),
    /// A keyring file is malformed.
    #[error("keyring: {0}")]
    Keyring(String),
    /// A threshold of zero was asked for.
    #[error("a threshold of 0 checks nothing and is refused; use at least 1")]
    ThresholdZero,
    /// The threshold exceeds the number of distinct trusted keys.
    #[error("threshold {threshold} exceeds the {keys} distinct trusted key(s)")]
    ThresholdTooHigh {
        /// The threshold asked for.
        threshold: u32,
        /// Distinct keys available.
        keys: usize,
    },
    /// No trusted key was given.
    #[error("no trusted key given")]
    NoKeys,
}

/// A key id: the SHA-256 of the 32 raw public-key bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// Parses 64 hex digits (upper case accepted).
    pub fn parse(text: &str) -> Option<Self> {
        Sha256Digest::from_hex(text)
            .ok()
            .map(|d| Self(*d.as_bytes()))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("key id must be 64 hex digits"))
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// From the 32 raw bytes; refuses invalid encodings and weak (small-order) points.
    pub fn from_raw(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|e| KeyError::Format {
            what: "raw key".into(),
            expected: "SPKI public key",
            reason: e.to_string(),
        })?;
        Self::checked(key, "raw key")
    }

    fn checked(key: VerifyingKey, what: &str) -> Result<Self, KeyError> {
        if key.is_weak() {
            return Err(KeyError::WeakKey(what.to_owned()));
        }
        Ok(Self(key))
    }

    /// From SPKI PEM text.
    pub fn from_spki_pem(text: &str) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_public_key_pem(text.trim())
            .map_err(|e| not_a_key(text, KeyRole::Public, e.to_string()))?;
        Self::checked(key, "public key")
    }

    /// SPKI PEM text (LF line ends).
    pub fn to_spki_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Reads an SPKI PEM file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read_key_file(path, KeyRole::Public)?;
        Self::from_spki_pem(&text).map_err(|e| rename_to_file(e, path))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        KeyId(*Sha256Digest::of(self.as_bytes()).as_bytes())
    }

    /// Strict Ed25519 verification of `sig` over `msg`.
    pub fn verify_strict(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        let bytes: [u8; 64] = sig
            .try_into()
            .map_err(|_| KeyError::SignatureLength(sig.len()))?;
        let signature = Signature::from_bytes(&bytes);
        self.0
            .verify_strict(msg, &signature)
            .map_err(|_| KeyError::BadSignature)
    }
}

/// An Ed25519 private key (zeroised when dropped; never printed).
pub struct PrivateKey(SigningKey);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(public {})", self.public().key_id())
    }
}

impl PrivateKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Self(key))
    }

    /// From a 32-byte seed (tests and deterministic fixtures only).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// From PKCS#8 PEM text.
    pub fn from_pkcs8_pem(text: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(text.trim())
            .map(Self)
            .map_err(|e| not_a_key(text, KeyRole::Private, e.to_string()))
    }

    /// From PKCS#8 PEM bytes that came from `what` ("standard input", "environment variable
    /// K"), which errors name. The bytes are held to the key file limit and zeroised when done.
    pub fn from_pkcs8_pem_bytes(bytes: Vec<u8>, what: &str) -> Result<Self, KeyError> {
        let bytes = zeroize::Zeroizing::new(bytes);
        let refuse = |reason: &str| KeyError::Format {
            what: what.to_owned(),
            expected: "PKCS#8 private key",
            reason: reason.to_owned(),
        };
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(refuse(&format!(
                "larger than the limit of {MAX_KEY_FILE_BYTES} bytes for a key"
            )));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| refuse("not UTF-8"))?;
        Self::from_pkcs8_pem(text).map_err(|e| rename(e, what, None))
    }

    /// PKCS#8 v1 PEM text, exactly the form `openssl genpkey -algorithm ed25519` writes (RFC
    /// 8410: the 32-byte seed only, no public key), zeroised when dropped. OpenSSL 3.0 refuses
    /// the v2 form with an embedded public key, so that form is never written.
    pub fn to_pkcs8_pem(&self) -> Result<zeroize::Zeroizing<String>, KeyError> {
        use base64::Engine as _;
        let mut der = zeroize::Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&PKCS8_V1_ED25519_PREFIX);
        der.extend_from_slice(&self.0.to_bytes());
        let body = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*der));
        let mut pem = zeroize::Zeroizing::new(String::with_capacity(120));
        pem.push_str("-----BEGIN PRIVATE KEY-----\n");
        pem.push_str(&body);
        pem.push_str("\n-----END PRIVATE KEY-----\n");
        Ok(pem)
    }

    /// Reads a PKCS#8 PEM file. One readable by group or others loads too (a secret mount,
    /// Kubernetes' for one, is mode 0644), with a warning for the caller to show.
    pub fn load(path: &Path) -> Result<(Self, Option<ReadableByOthers>), KeyError> {
        let text = zeroize::Zeroizing::new(read_key_file(path, KeyRole::Private)?);
        let key = Self::from_pkcs8_pem(&text).map_err(|e| rename_to_file(e, path))?;
        let mode = std::fs::metadata(path)
            .map_err(|source| KeyError::Io {
                path: path.to_owned(),
                source,
            })?
            .permissions()
            .mode()
            & 0o777;
        let warning = (mode & 0o077 != 0).then(|| ReadableByOthers {
            path: path.to_owned(),
            mode,
        });
        Ok((key, warning))
    }

    /// Writes PKCS#8 PEM to `path` (which must not exist) with mode 0600, atomically.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        if refuse_existing(path).is_err() {
            return Err(KeyError::Exists(path.to_owned()));
        }
        let pem = self.to_pkcs8_pem()?;
        let temp = TempFile::beside_with_mode(path, 0o600).map_err(io)?;
        temp.write_all(pem.as_bytes()).map_err(io)?;
        temp.persist(path).map_err(io)
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `msg` (Ed25519 is deterministic: same key and message, same signature).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
}

/// A private key file that group or others can read: it loads, and the caller warns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path}: private key file is readable by group or others (mode {mode:o}); run `chmod 600` \
     on it unless a secret mount sets its mode"
)]
pub struct ReadableByOthers {
    /// The file.
    pub path: PathBuf,
    /// Its permission bits.
    pub mode: u32,
}

/// Writes `PREFIX.key` (PKCS#8 PEM, mode 0600) and `PREFIX.pub` (SPKI PEM) for a new key;
/// refuses to overwrite either.
pub fn generate_key_pair(prefix: &Path) -> Result<(PrivateKey, KeyId), KeyError> {
    let with_ext = |ext: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    let key_path = with_ext(".key");
    let pub_path = with_ext(".pub");
    for p in [&key_path, &pub_path] {
        if refuse_existing(p).is_err() {
            return Err(KeyError::Exists(p.clone()));
        }
    }
    let key = PrivateKey::generate()?;
    key.save(&key_path)?;
    let public = key.public();
    let write_pub = || -> std::io::Result<()> {
        let temp = TempFile::beside(&pub_path)?;
        temp.write_all(public.to_spki_pem().as_bytes())?;
        temp.persist(&pub_path)
    };
    if let Err(source) = write_pub() {
        let _ = std::fs::remove_file(&key_path);
        return Err(KeyError::Io {
            path: pub_path,
            source,
        });
    }
    Ok((key, public.key_id()))
}

/// Reads a key or keyring file whole, under the key file limit; a folder is named as one.
fn read_key_file(path: &Path, role: KeyRole) -> Result<String, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    // Key files are the operator's own configuration: a symbolic link to one is followed.
    let bytes = crate::hash::read_config(path, MAX_KEY_FILE_BYTES).map_err(|e| match e {
        crate::hash::ReadError::Io(source) => io(source),
        crate::hash::ReadError::NotFound => io(std::io::Error::from_raw_os_error(libc::ENOENT)),
        crate::hash::ReadError::NotRegular if path.is_dir() => {
            rename_to_file(wrong_kind(role, KeyFileKind::Folder), path)
        }
        crate::hash::ReadError::TooLarge { .. } => io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the limit of {MAX_KEY_FILE_BYTES} bytes for a key file"),
        )),
        other => io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            other.to_string(),
        )),
    })?;
    String::from_utf8(bytes).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8",
        ))
    })
}

/// The error for key text that did not decode as `role`: what the text is instead when that
/// can be told, else the decoder's `reason`.
fn not_a_key(text: &str, role: KeyRole, reason: String) -> KeyError {
    let (what, expected, itself) = match role {
        KeyRole::Private => (
            "private key",
            "PKCS#8 private key",
            KeyFileKind::Ed25519Private,
        ),
        KeyRole::Public => ("public key", "SPKI public key", KeyFileKind::Ed25519Public),
        KeyRole::Keyring => return KeyError::Keyring(reason),
    };
    match classify(text.as_bytes()) {
        Some(found) if found != itself => wrong_kind(role, found),
        _ => KeyError::Format {
            what: what.into(),
            expected,
            reason,
        },
    }
}

fn wrong_kind(expected: KeyRole, found: KeyFileKind) -> KeyError {
    KeyError::WrongKind {
        what: "key".into(),
        file: None,
        expected,
        found,
    }
}

fn rename_to_file(e: KeyError, path: &Path) -> KeyError {
    let name = path.display().to_string();
    rename(e, &name, Some(&name))
}

/// The error with its source named `what` (and `file`, when it is one).
fn rename(e: KeyError, what: &str, file: Option<&str>) -> KeyError {
    match e {
        KeyError::Format {
            expected, reason, ..
        } => KeyError::Format {
            what: what.to_owned(),
            expected,
            reason,
        },
        KeyError::WrongKind {
            expected, found, ..
        } => KeyError::WrongKind {
            what: what.to_owned(),
            file: file.map(str::to_owned),
            expected,
            found,
        },
        KeyError::WeakKey(_) => KeyError::WeakKey(what.to_owned()),
        other => other,
    }
}

/// A public key with the name a keyring or key file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedKey {
    /// The name (keyring name, or the file name it was loaded from).
    pub name: String,
    /// The key.
    pub key: PublicKey,
}

/// A keyring file (`evidence.keyring/v1`):
///
/// ```json
/// {"schema": "evidence.keyring/v1", "threshold": 2,
///  "keys": [{"name": "alice", "public_key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n"}]}
/// ```
///
/// Strict JSON; unknown members refused; names 1-64 printable characters, unique; keys SPKI PEM,
/// unique by key id; `threshold` between 1 and the number of keys; at most 256 keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    /// The named keys.
    pub keys: Vec<NamedKey>,
    /// How many distinct keys must sign.
    pub threshold: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    schema: String,
    threshold: u32,
    keys: Vec<KeyringEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringEntry {
    name: String,
    public_key: String,
}

/// The key of one keyring entry, checked against the entries before it: a printable name,
/// a valid key, neither name nor key repeated.
fn entry_key(entry: &KeyringEntry, keys: &[NamedKey]) -> Result<PublicKey, KeyError> {
    check_name(&entry.name)?;
    let key = PublicKey::from_spki_pem(&entry.public_key).map_err(|e| {
        KeyError::Keyring(format!(
            "key {:?}: {e}",
            crate::text::printable(&entry.name)
        ))
    })?;
    check_unique(&entry.name, &key, keys)?;
    Ok(key)
}

fn check_name(name: &str) -> Result<(), KeyError> {
    let name_ok =
        !name.is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control);
    if !name_ok {
        return Err(KeyError::Keyring(format!(
            "key name {:?} must be 1-64 printable characters",
            crate::text::printable(name)
        )));
    }
    Ok(())
}

/// Neither `name` nor `key` is among `keys` already.
fn check_unique(name: &str, key: &PublicKey, keys: &[NamedKey]) -> Result<(), KeyError> {
    if keys.iter().any(|k| k.name == name) {
        return Err(KeyError::Keyring(format!("name {name:?} appears twice")));
    }
    if let Some(other) = keys.iter().find(|k| k.key == *key) {
        return Err(KeyError::Keyring(format!(
            "keys {:?} and {name:?} are the same key",
            other.name
        )));
    }
    Ok(())
}

/// A keyring's threshold is between 1 and its number of keys.
fn check_threshold(threshold: u32, keys: usize) -> Result<(), KeyError> {
    if threshold == 0 {
        return Err(KeyError::ThresholdZero);
    }
    if threshold as usize > keys {
        return Err(KeyError::ThresholdTooHigh { threshold, keys });
    }
    Ok(())
}

impl Keyring {
    /// Parses keyring bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyError> {
        let limits = crate::json::JsonLimits {
            max_bytes: MAX_KEY_FILE_BYTES,
            ..crate::json::JsonLimits::default()
        };
        let file: KeyringFile = crate::json::from_slice_strict(bytes, &limits)
            .map_err(|e| KeyError::Keyring(e.to_string()))?;
        if file.schema != KEYRING_SCHEMA {
            return Err(KeyError::Keyring(format!(
                "schema must be {KEYRING_SCHEMA:?}, found {:?}",
                crate::text::printable(&file.schema)
            )));
        }
        if file.keys.len() > MAX_KEYRING_KEYS {
            return Err(KeyError::Keyring(format!(
                "more than {MAX_KEYRING_KEYS} keys"
            )));
        }
        let mut keys: Vec<NamedKey> = Vec::with_capacity(file.keys.len());
        for entry in file.keys {
            let key = entry_key(&entry, &keys)?;
            keys.push(NamedKey {
                name: entry.name,
                key,
            });
        }
        check_threshold(file.threshold, keys.len())?;
        Ok(Self {
            keys,
            threshold: file.threshold,
        })
    }

    /// A keyring of `keys` under the rules a keyring file obeys: names 1-64 printable
    /// characters, no name or key twice, at most 256 keys, a threshold from 1 to their number.
    pub fn new(keys: Vec<NamedKey>, threshold: u32) -> Result<Self, KeyError> {
        if keys.len() > MAX_KEYRING_KEYS {
            return Err(KeyError::Keyring(format!(
                "more than {MAX_KEYRING_KEYS} keys"
            )));
        }
        for (i, k) in keys.iter().enumerate() {
            check_name(&k.name)?;
            check_unique(&k.name, &k.key, keys.get(..i).unwrap_or_default())?;
        }
        check_threshold(threshold, keys.len())?;
        Ok(Self { keys, threshold })
    }

    /// Writes the keyring file to `path`, which must not exist, atomically.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        if refuse_existing(path).is_err() {
            return Err(KeyError::Exists(path.to_owned()));
        }
        let temp = TempFile::beside(path).map_err(io)?;
        temp.write_all(&self.to_json_bytes()).map_err(io)?;
        temp.persist(path).map_err(io)
    }

    /// Reads a keyring file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read_key_file(path, KeyRole::Keyring)?;
        Self::parse(text.as_bytes()).map_err(|e| match (e, classify(text.as_bytes())) {
            (KeyError::Keyring(_), Some(found)) if found != KeyFileKind::Keyring => {
                rename_to_file(wrong_kind(KeyRole::Keyring, found), path)
            }
            (KeyError::Keyring(m), _) => KeyError::Keyring(format!("{}: {m}", path.display())),
            (other, _) => other,
        })
    }

    /// The keyring as file bytes (pretty JSON, trailing newline).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let file = KeyringFile {
            schema: KEYRING_SCHEMA.to_owned(),
            threshold: self.threshold,
            keys: self
                .keys
                .iter()
                .map(|k| KeyringEntry {
                    name: k.name.clone(),
                    public_key: k.key.to_spki_pem(),
                })
                .collect(),
        };
        let mut out = serde_json::to_vec_pretty(&file).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Loads SPKI PEM public key files, each named after its file name.
pub fn load_named_keys(files: &[PathBuf]) -> Result<Vec<NamedKey>, KeyError> {
    files
        .iter()
        .map(|f| {
            Ok(NamedKey {
                name: f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| f.display().to_string()),
                key: PublicKey::load(f)?,
            })
        })
        .collect()
}

/// Who is trusted, and how many distinct trusted keys must sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Distinct trusted keys.
    pub keys: Vec<NamedKey>,
    /// Distinct keys required.
    pub threshold: NonZeroU32,
}

impl TrustPolicy {
    /// A policy over `keys` (duplicates by key id are merged, keeping the first name).
    /// Threshold 0 is refused, as is one above the number of distinct keys.
    pub fn new(keys: Vec<NamedKey>, threshold: u32) -> Result<Self, KeyError> {
        let threshold = NonZeroU32::new(threshold).ok_or(KeyError::ThresholdZero)?;
        let mut distinct: Vec<NamedKey> = Vec::with_capacity(keys.len());
        for k in keys {
            if !distinct.iter().any(|d| d.key == k.key) {
                distinct.push(k);
            }
        }
        if distinct.is_empty() {
            return Err(KeyError::NoKeys);
        }
        if threshold.get() as usize > distinct.len() {
            return Err(KeyError::ThresholdTooHigh {
                threshold: threshold.get(),
                keys: distinct.len(),
            });
        }
        Ok(Self {
            keys: distinct,
            threshold,
        })
    }

    /// A policy from a keyring and its threshold.
    pub fn from_keyring(ring: &Keyring) -> Result<Self, KeyError> {
        Self::new(ring.keys.clone(), ring.threshold)
    }

    /// A policy from SPKI PEM files (each named after its file); threshold defaults to 1.
    pub fn from_key_files(files: &[PathBuf], threshold: Option<u32>) -> Result<Self, KeyError> {
        Self::new(load_named_keys(files)?, threshold.unwrap_or(1))
    }

    /// A policy trusting one key.
    pub fn single(name: &str, key: PublicKey) -> Self {
        Self {
            keys: vec![NamedKey {
                name: name.to_owned(),
                key,
            }],
            threshold: NonZeroU32::MIN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `openssl args...` in `dir`, failing the test if it fails.
    fn openssl(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    }

    /// An Ed25519 key pair written by `openssl genpkey` and `openssl pkey -pubout`, and a raw
    /// signature of `message.txt` made by `openssl pkeyutl -sign -rawin`.
    fn openssl_written_keys() -> Option<tempfile::TempDir> {
        if !crate::testing::have_tool("openssl") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("message.txt"), b"signed by OpenSSL\n").unwrap();
        openssl(
            dir.path(),
            &["genpkey", "-algorithm", "ed25519", "-out", "signer.key.pem"],
        );
        openssl(
            dir.path(),
            &[
                "pkey",
                "-in",
                "signer.key.pem",
                "-pubout",
                "-out",
                "signer.pub.pem",
            ],
        );
        openssl(
            dir.path(),
            &[
                "pkey",
                "-pubin",
                "-in",
                "signer.pub.pem",
                "-outform",
                "DER",
                "-out",
                "signer.pub.der",
            ],
        );
        openssl(
            dir.path(),
            &[
                "pkeyutl",
                "-sign",
                "-rawin",
                "-inkey",
                "signer.key.pem",
                "-in",
                "message.txt",
                "-out",
                "message.sig",
            ],
        );
        Some(dir)
    }

    #[test]
    fn openssl_written_keys_load_and_verify() {
        let Some(dir) = openssl_written_keys() else {
            return;
        };
        let file = |name: &str| dir.path().join(name);
        let public = PublicKey::load(&file("signer.pub.pem")).unwrap();
        let text = std::fs::read_to_string(file("signer.key.pem")).unwrap();
        let private = PrivateKey::from_pkcs8_pem(&text).unwrap();
        assert_eq!(private.public(), public);
        let msg = std::fs::read(file("message.txt")).unwrap();
        let sig = std::fs::read(file("message.sig")).unwrap();
        public.verify_strict(&msg, &sig).unwrap();
        assert!(matches!(
            public.verify_strict(b"other", &sig),
            Err(KeyError::BadSignature)
        ));
        assert!(matches!(
            public.verify_strict(&msg, &sig[..63]),
            Err(KeyError::SignatureLength(63))
        ));
        // The key id is the SHA-256 of the raw 32-byte key: the last 32 bytes of the DER
        // SubjectPublicKeyInfo OpenSSL wrote.
        let der = std::fs::read(file("signer.pub.der")).unwrap();
        assert_eq!(der.len(), 44);
        assert_eq!(
            public.key_id().to_string(),
            Sha256Digest::of(&der[12..]).to_hex()
        );
    }

    #[test]
    fn private_key_pem_is_the_openssl_form() {
        let Some(dir) = openssl_written_keys() else {
            return;
        };
        let text = std::fs::read_to_string(dir.path().join("signer.key.pem")).unwrap();
        let key = PrivateKey::from_pkcs8_pem(&text).unwrap();
        assert_eq!(key.to_pkcs8_pem().unwrap().as_str(), text);
    }

    #[test]
    fn pem_round_trips() {
        let key = PrivateKey::from_seed(&[7; 32]);
        let pem = key.to_pkcs8_pem().unwrap();
        let back = PrivateKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.public(), key.public());
        let public = PublicKey::from_spki_pem(&key.public().to_spki_pem()).unwrap();
        assert_eq!(public, key.public());
        assert!(format!("{key:?}").starts_with("PrivateKey(public "));
    }

    #[test]
    fn key_pairs_are_written_with_private_mode_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("op");
        let (key, id) = generate_key_pair(&prefix).unwrap();
        let key_file = dir.path().join("op.key");
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            PublicKey::load(&dir.path().join("op.pub"))
                .unwrap()
                .key_id(),
            id
        );
        let (loaded, warning) = PrivateKey::load(&key_file).unwrap();
        assert_eq!((loaded.public(), warning), (key.public(), None));
        assert!(matches!(
            generate_key_pair(&prefix),
            Err(KeyError::Exists(_))
        ));
        // A key others can read (a secret mount) loads, with a warning for the caller.
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (loaded, warning) = PrivateKey::load(&key_file).unwrap();
        assert_eq!(loaded.public(), key.public());
        let warning = warning.unwrap();
        assert_eq!(warning.mode, 0o644);
        assert!(
            warning
                .to_string()
                .contains("readable by group or others (mode 644)")
        );
    }

    #[test]
    fn openssl_accepts_our_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _) = generate_key_pair(&dir.path().join("k")).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-in"])
            .arg(dir.path().join("k.key"))
            .arg("-pubout")
            .output()
            .unwrap();
        assert!(out.status.success());
        let theirs = PublicKey::from_spki_pem(&String::from_utf8(out.stdout).unwrap()).unwrap();
        assert_eq!(theirs, PublicKey::load(&dir.path().join("k.pub")).unwrap());
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_raw(&identity),
            Err(KeyError::WeakKey(_))
        ));
    }

    #[test]
    fn oversized_or_special_key_files_are_refused_not_truncated() {
        let dir = tempfile::tempdir().unwrap();
        // A valid key followed by more than the limit of padding: reading only the first
        // megabyte would have accepted it.
        let mut text = PrivateKey::from_seed(&[3; 32]).public().to_spki_pem();
        text.push_str(&"\n".repeat(MAX_KEY_FILE_BYTES as usize));
        let big = dir.path().join("big.pub");
        std::fs::write(&big, &text).unwrap();
        let err = PublicKey::load(&big).unwrap_err();
        assert!(
            matches!(&err, KeyError::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidData),
            "{err}"
        );
        assert!(err.to_string().contains("limit"), "{err}");
        // A folder is named as one.
        let err = PublicKey::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                &err,
                KeyError::WrongKind {
                    found: KeyFileKind::Folder,
                    ..
                }
            ),
            "{err}"
        );
        // A link to a key, the operator's own configuration, is followed.
        let key = PrivateKey::from_seed(&[3; 32]).public();
        std::fs::write(dir.path().join("2026.pub"), key.to_spki_pem()).unwrap();
        std::os::unix::fs::symlink("2026.pub", dir.path().join("current.pub")).unwrap();
        assert_eq!(
            PublicKey::load(&dir.path().join("current.pub")).unwrap(),
            key
        );
    }

    fn ring_json(threshold: u32, keys: &[(&str, &PrivateKey)]) -> Vec<u8> {
        let entries: Vec<serde_json::Value> = keys
            .iter()
            .map(|(n, k)| serde_json::json!({"name": n, "public_key": k.public().to_spki_pem()}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "schema": KEYRING_SCHEMA, "threshold": threshold, "keys": entries
        }))
        .unwrap()
    }

    #[test]
    fn keyrings_parse_and_refuse_bad_thresholds_and_duplicates() {
        let a = PrivateKey::from_seed(&[1; 32]);
        let b = PrivateKey::from_seed(&[2; 32]);
        let ring = Keyring::parse(&ring_json(2, &[("alice", &a), ("bob", &b)])).unwrap();
        assert_eq!(ring.threshold, 2);
        assert_eq!(Keyring::parse(&ring.to_json_bytes()).unwrap(), ring);
        assert!(matches!(
            Keyring::parse(&ring_json(0, &[("alice", &a)])),
            Err(KeyError::ThresholdZero)
        ));
        assert!(matches!(
            Keyring::parse(&ring_json(3, &[("alice", &a), ("bob", &b)])),
            Err(KeyError::ThresholdTooHigh {
                threshold: 3,
                keys: 2
            })
        ));
        assert!(matches!(
            Keyring::parse(&ring_json(1, &[("alice", &a), ("alice2", &a)])),
            Err(KeyError::Keyring(m)) if m.contains("same key")
        ));
        assert!(matches!(
            Keyring::parse(&ring_json(1, &[("alice", &a), ("alice", &b)])),
            Err(KeyError::Keyring(m)) if m.contains("twice")
        ));
        assert!(matches!(
            Keyring::parse(
                br#"{"schema":"evidence.keyring/v1","threshold":1,"keys":[],"extra":1}"#
            ),
            Err(KeyError::Keyring(_))
        ));
    }

    #[test]
    fn keyring_key_count_and_name_rules_hold_at_their_edges() {
        let many: Vec<PrivateKey> = (0..=MAX_KEYRING_KEYS)
            .map(|i| {
                let mut seed = [7u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                PrivateKey::from_seed(&seed)
            })
            .collect();
        let names: Vec<String> = (0..many.len()).map(|i| format!("k{i}")).collect();
        let entries: Vec<(&str, &PrivateKey)> =
            names.iter().map(String::as_str).zip(&many).collect();
        let ring = Keyring::parse(&ring_json(1, &entries[..MAX_KEYRING_KEYS])).unwrap();
        assert_eq!(ring.keys.len(), MAX_KEYRING_KEYS);
        assert!(matches!(
            Keyring::parse(&ring_json(1, &entries)),
            Err(KeyError::Keyring(m)) if m == format!("more than {MAX_KEYRING_KEYS} keys")
        ));

        let a = PrivateKey::from_seed(&[1; 32]);
        let longest = "n".repeat(64);
        assert!(Keyring::parse(&ring_json(1, &[(&longest, &a)])).is_ok());
        for bad in ["", &"n".repeat(65), "tab\there"] {
            assert!(
                matches!(
                    Keyring::parse(&ring_json(1, &[(bad, &a)])),
                    Err(KeyError::Keyring(m)) if m.contains("1-64 printable characters")
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keyrings_are_created_under_the_file_rules_and_read_back() {
        let named = |n: &str, seed: u8| NamedKey {
            name: n.into(),
            key: PrivateKey::from_seed(&[seed; 32]).public(),
        };
        let ring = Keyring::new(vec![named("alice", 1), named("bob", 2)], 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ops.keyring.json");
        ring.save(&file).unwrap();
        assert_eq!(Keyring::load(&file).unwrap(), ring);
        assert!(matches!(ring.save(&file), Err(KeyError::Exists(_))));
        assert!(matches!(
            Keyring::new(vec![named("alice", 1), named("alice", 2)], 1),
            Err(KeyError::Keyring(m)) if m.contains("twice")
        ));
        assert!(matches!(
            Keyring::new(vec![named("alice", 1), named("carol", 1)], 1),
            Err(KeyError::Keyring(m)) if m.contains("same key")
        ));
        assert!(matches!(
            Keyring::new(vec![named("alice", 1)], 2),
            Err(KeyError::ThresholdTooHigh {
                threshold: 2,
                keys: 1
            })
        ));
        assert!(matches!(
            Keyring::new(vec![named("alice", 1)], 0),
            Err(KeyError::ThresholdZero)
        ));
        assert!(matches!(
            Keyring::new(vec![named("", 1)], 1),
            Err(KeyError::Keyring(m)) if m.contains("1-64 printable characters")
        ));
    }

    #[test]
    fn wrong_kinds_are_named_with_a_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::from_seed(&[5; 32]);
        let public = dir.path().join("op.pub");
        std::fs::write(&public, key.public().to_spki_pem()).unwrap();
        let private = dir.path().join("op.key");
        key.save(&private).unwrap();
        let err = PrivateKey::load(&public).unwrap_err();
        assert!(
            matches!(
                &err,
                KeyError::WrongKind {
                    expected: KeyRole::Private,
                    found: KeyFileKind::Ed25519Public,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("is an Ed25519 public key (SPKI PEM), not an Ed25519 private key"),
            "{err}"
        );
        assert!(err.to_string().contains("PREFIX.key"), "{err}");
        let err = PublicKey::load(&private).unwrap_err();
        assert!(
            matches!(
                &err,
                KeyError::WrongKind {
                    expected: KeyRole::Public,
                    found: KeyFileKind::Ed25519Private,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("openssl pkey -in {}", private.display())),
            "{err}"
        );
        let err = Keyring::load(&public).unwrap_err();
        assert!(
            matches!(
                &err,
                KeyError::WrongKind {
                    expected: KeyRole::Keyring,
                    found: KeyFileKind::Ed25519Public,
                    ..
                }
            ),
            "{err}"
        );
        // Text from elsewhere is named after where it came from, and held to the limit.
        let err =
            PrivateKey::from_pkcs8_pem_bytes(Vec::new(), "environment variable K").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable K is empty, not an Ed25519 private key"),
            "{err}"
        );
        let big = vec![b' '; MAX_KEY_FILE_BYTES as usize + 1];
        let err = PrivateKey::from_pkcs8_pem_bytes(big, "standard input").unwrap_err();
        assert!(err.to_string().contains("larger than the limit"), "{err}");
        let pem = key.to_pkcs8_pem().unwrap();
        let back = PrivateKey::from_pkcs8_pem_bytes(pem.as_bytes().to_vec(), "standard input");
        assert_eq!(back.unwrap().public(), key.public());
    }

    #[test]
    fn named_key_files_are_named_after_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = [("alice.pub", 1u8), ("bob.pub", 2)]
            .iter()
            .map(|(name, seed)| {
                let path = dir.path().join(name);
                let pem = PrivateKey::from_seed(&[*seed; 32]).public().to_spki_pem();
                std::fs::write(&path, pem).unwrap();
                path
            })
            .collect();
        let keys = load_named_keys(&files).unwrap();
        let named: Vec<(&str, PublicKey)> = keys.iter().map(|k| (k.name.as_str(), k.key)).collect();
        assert_eq!(
            named,
            vec![
                ("alice.pub", PrivateKey::from_seed(&[1; 32]).public()),
                ("bob.pub", PrivateKey::from_seed(&[2; 32]).public()),
            ]
        );
    }

    #[test]
    fn keyrings_larger_than_a_key_file_are_refused_by_the_parser() {
        // The parser enforces the key file limit itself (1 MiB), not the JSON reader's much
        // larger default: a caller may hand it bytes that did not come from `Keyring::load`.
        let a = PrivateKey::from_seed(&[1; 32]);
        let mut bytes = ring_json(1, &[("alice", &a)]);
        let fill = MAX_KEY_FILE_BYTES as usize + 1 - bytes.len();
        bytes.extend(std::iter::repeat_n(b' ', fill));
        assert_eq!(bytes.len() as u64, MAX_KEY_FILE_BYTES + 1);
        assert!(matches!(
            Keyring::parse(&bytes),
            Err(KeyError::Keyring(m)) if m.contains("larger than the limit of 1048576 bytes")
        ));
        bytes.pop();
        assert_eq!(Keyring::parse(&bytes).unwrap().keys.len(), 1);
    }

    #[test]
    fn trust_policies_count_distinct_keys() {
        let a = PrivateKey::from_seed(&[1; 32]);
        let named = |n: &str, k: &PrivateKey| NamedKey {
            name: n.into(),
            key: k.public(),
        };
        let p = TrustPolicy::new(vec![named("a", &a), named("a-again", &a)], 1).unwrap();
        assert_eq!(p.keys.len(), 1);
        assert!(matches!(
            TrustPolicy::new(vec![named("a", &a), named("a-again", &a)], 2),
            Err(KeyError::ThresholdTooHigh {
                threshold: 2,
                keys: 1
            })
        ));
        assert!(matches!(
            TrustPolicy::new(vec![named("a", &a)], 0),
            Err(KeyError::ThresholdZero)
        ));
        assert!(matches!(TrustPolicy::new(vec![], 1), Err(KeyError::NoKeys)));
    }
}
