//! Signing keys named on the command line (`--sign`, `--key`): PKCS#8 PEM private keys, loaded
//! with the same hint by every command that signs.

use std::path::{Path, PathBuf};

use evidence_core::keys::PrivateKey;

use crate::exit::CliError;

/// Loads every signing key named, in order; the first unreadable one is the error.
pub fn load_keys(files: &[PathBuf]) -> Result<Vec<PrivateKey>, CliError> {
    files.iter().map(|f| load_key(f)).collect()
}

/// Loads one signing key.
pub fn load_key(file: &Path) -> Result<PrivateKey, CliError> {
    PrivateKey::load(file).map_err(|e| {
        CliError::from(e)
            .hint("pass a PKCS#8 PEM private key (`evidence key generate` writes PREFIX.key)")
    })
}
