//! Secret-handling arguments shared by the commands that seal evidence: redaction switches,
//! forbidden tokens, and the bearer token for live capture. Tokens are never echoed.

use std::path::{Path, PathBuf};

use evidence_core::hash::{self, ReadError};
use evidence_core::redact::Redactor;

use crate::exit::CliError;

/// Largest `--forbid-token-file`: far more tokens than anyone forbids.
pub const MAX_TOKEN_LIST_BYTES: u64 = 1 << 20;
/// Largest `--token-file`: a bearer token is a line, not a document.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 << 10;

/// `--forbid-token`, `--forbid-token-file`: values that must not appear in what is sealed
/// or scanned. For commands that always redact (or always scan), this is all there is.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ForbidArgs {
    /// A value that must not appear in the evidence, also JSON-escaped, URL- or
    /// base64-encoded (repeatable).
    #[arg(long = "forbid-token", value_name = "T")]
    pub forbid_tokens: Vec<String>,
    /// Read forbidden tokens from a file, one per line (keeps them out of the process list).
    #[arg(long = "forbid-token-file", value_name = "FILE")]
    pub forbid_token_file: Option<PathBuf>,
}

impl ForbidArgs {
    /// Every forbidden token given, from the flags and the file.
    pub fn tokens(&self) -> Result<Vec<String>, CliError> {
        let mut all = self.forbid_tokens.clone();
        if let Some(file) = &self.forbid_token_file {
            let text = read_config(file, MAX_TOKEN_LIST_BYTES, "the forbidden-token file")?;
            all.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(all)
    }

    /// A redactor over these tokens and the built-in detectors.
    pub fn redactor(&self) -> Result<Redactor, CliError> {
        build(&self.tokens()?)
    }
}

/// `--redact` and the forbidden tokens, for commands where redaction is a choice.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RedactArgs {
    /// Redact secrets (credentials, private keys, tokens, JWTs, cloud keys) before sealing.
    /// A forbidden token implies it.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub forbid: ForbidArgs,
}

impl RedactArgs {
    /// The redactor, or `None` when neither redaction nor a forbidden token was asked for.
    pub fn redactor(&self) -> Result<Option<Redactor>, CliError> {
        let tokens = self.forbid.tokens()?;
        if !self.redact && tokens.is_empty() {
            return Ok(None);
        }
        build(&tokens).map(Some)
    }
}

/// A redactor over `tokens`; the error never repeats a token.
pub fn build(tokens: &[String]) -> Result<Redactor, CliError> {
    Redactor::new(tokens).map_err(|e| {
        CliError::from(e)
            .hint("forbidden tokens must be distinctive values at least a few characters long")
    })
}

/// `--token`, `--token-file` (or `EVIDENCE_TOKEN`): the bearer token for live capture.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TokenArgs {
    /// The bearer token for endpoints that need one (visible in the process list; prefer
    /// --token-file or EVIDENCE_TOKEN).
    #[arg(long, value_name = "T", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the bearer token from a file (its first line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The token, from the flag, the file, or the `EVIDENCE_TOKEN` variable.
    pub fn token(&self) -> Result<Option<String>, CliError> {
        if let Some(t) = &self.token {
            return Ok(Some(t.clone()));
        }
        if let Some(file) = &self.token_file {
            let text = read_config(file, MAX_TOKEN_FILE_BYTES, "the token file")?;
            let line = text.lines().next().unwrap_or_default().trim().to_owned();
            if line.is_empty() {
                return Err(CliError::new(format!("{} holds no token", file.display()))
                    .hint("put the token on the file's first line"));
            }
            return Ok(Some(line));
        }
        Ok(std::env::var("EVIDENCE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()))
    }
}

/// Reads one of the operator's configuration files as UTF-8 text: a symbolic link is
/// followed, but a FIFO, device or folder is refused (it would block or never end), and so
/// is a file over `limit` bytes. `what` names the file in the error.
pub fn read_config(path: &Path, limit: u64, what: &str) -> Result<String, CliError> {
    let fail =
        |why: &dyn std::fmt::Display| CliError::new(format!("{what} {}: {why}", path.display()));
    let bytes = hash::read_config(path, limit).map_err(|e| match e {
        ReadError::TooLarge { limit } => {
            fail(&format!("is larger than the limit of {limit} bytes")).hint(format!(
                "{what} is small; check that {} is the file you meant",
                path.display()
            ))
        }
        other => fail(&other),
    })?;
    String::from_utf8(bytes).map_err(|_| fail(&"is not UTF-8 text"))
}
