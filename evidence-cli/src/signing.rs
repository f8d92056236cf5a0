//! Signing keys named on the command line: `--sign FILE` (repeatable; `-` reads standard input,
//! `--key` is the older name) or `--key-env VAR`, loaded the same way by every command that
//! signs. Key errors say what the file is instead and what to do about it.

use std::io::{Read as _, Write as _};
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};

use evidence_core::keys::{KeyError, MAX_KEY_FILE_BYTES, PrivateKey};

use crate::exit::CliError;

/// The hint for a private key that is not usable and not recognised as anything else.
const PRIVATE_KEY_HINT: &str =
    "pass a PKCS#8 PEM private key (`evidence key generate` writes PREFIX.key)";

/// `--sign`, `--key-env`: where the private keys that sign come from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SignArgs {
    /// A private key that signs: a PKCS#8 PEM file (PREFIX.key of `evidence key generate`), or
    /// `-` for standard input; repeatable where several keys may sign.
    // `--key` is the older name in some commands, kept hidden so that scripts keep working.
    #[arg(long = "sign", alias = "key", value_name = "KEYFILE")]
    pub sign_files: Vec<PathBuf>,

    /// Read the private key (PKCS#8 PEM text) from this environment variable instead of a file.
    #[arg(long = "key-env", value_name = "VAR")]
    pub key_env: Option<String>,
}

impl SignArgs {
    /// The keys named, in order; none is fine (the command then does not sign).
    pub fn keys(&self) -> Result<Vec<PrivateKey>, CliError> {
        if self.key_env.is_some() && !self.sign_files.is_empty() {
            return Err(
                CliError::new("--sign and --key-env both name a signing key").hint(
                    "give the key one way: --sign FILE, --sign - (standard input) or --key-env VAR",
                ),
            );
        }
        if self.sign_files.iter().filter(|f| is_stdin(f)).count() > 1 {
            return Err(
                CliError::new("--sign - is given twice: standard input holds one key")
                    .hint("pass the other keys as files"),
            );
        }
        if let Some(var) = &self.key_env {
            return Ok(vec![from_env(var)?]);
        }
        self.sign_files.iter().map(|f| load_key(f)).collect()
    }

    /// The keys named, at least one.
    pub fn required(&self) -> Result<Vec<PrivateKey>, CliError> {
        let keys = self.keys()?;
        if keys.is_empty() {
            return Err(CliError::new("a signing key is required").hint(
                "add --sign KEYFILE, --sign - (the key on standard input) or --key-env VAR",
            ));
        }
        Ok(keys)
    }

    /// The one key of a command that signs with exactly one.
    pub fn one(&self) -> Result<PrivateKey, CliError> {
        let mut keys = self.required()?;
        match (keys.pop(), keys.is_empty()) {
            (Some(key), true) => Ok(key),
            _ => Err(
                CliError::new("this command signs with one key; several were given")
                    .hint("name one --sign KEYFILE"),
            ),
        }
    }
}

fn is_stdin(file: &Path) -> bool {
    file.as_os_str() == "-"
}

/// Loads one signing key from a file (or standard input for `-`). A file group or others can
/// read loads with a warning on stderr: secret mounts are often mode 0644.
fn load_key(file: &Path) -> Result<PrivateKey, CliError> {
    if is_stdin(file) {
        return from_stdin();
    }
    let (key, warning) = PrivateKey::load(file).map_err(|e| key_error(e, PRIVATE_KEY_HINT))?;
    if let Some(warning) = warning {
        let _ = writeln!(std::io::stderr().lock(), "evidence: warning: {warning}");
    }
    Ok(key)
}

fn from_stdin() -> Result<PrivateKey, CliError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("standard input: {e}")))?;
    PrivateKey::from_pkcs8_pem_bytes(bytes, "standard input")
        .map_err(|e| key_error(e, PRIVATE_KEY_HINT))
}

fn from_env(var: &str) -> Result<PrivateKey, CliError> {
    let what = format!("environment variable {var}");
    let Some(value) = std::env::var_os(var) else {
        return Err(CliError::new(format!("{what} is not set"))
            .hint(format!("export {var} holding the PKCS#8 PEM private key")));
    };
    PrivateKey::from_pkcs8_pem_bytes(value.into_vec(), &what)
        .map_err(|e| key_error(e, PRIVATE_KEY_HINT))
}

/// A key error for the terminal: a file of the wrong kind is named, with its own remedy as the
/// hint; anything else gets `hint`.
pub fn key_error(e: KeyError, hint: &str) -> CliError {
    match e {
        KeyError::WrongKind {
            what,
            file,
            expected,
            found,
        } => CliError::new(format!("{what} is {found}, not {expected}"))
            .hint(found.remedy(expected, file.as_deref())),
        other => CliError::from(other).hint(hint),
    }
}
