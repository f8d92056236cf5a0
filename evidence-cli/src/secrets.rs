//! Secret-handling arguments shared by the commands that seal evidence: redaction switches,
//! forbidden tokens, and the bearer token for live capture. Tokens are never echoed.

use std::path::PathBuf;

use evidence_core::redact::Redactor;

use crate::exit::CliError;

/// `--redact`, `--forbid-token`, `--forbid-token-file`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RedactArgs {
    /// Redact secrets (credentials, private keys, tokens, JWTs, cloud keys) before sealing.
    #[arg(long)]
    pub redact: bool,
    /// A value that must not appear in the evidence, also JSON-escaped, URL- or
    /// base64-encoded (repeatable; implies --redact).
    #[arg(long = "forbid-token", value_name = "T")]
    pub forbid_tokens: Vec<String>,
    /// Read forbidden tokens from a file, one per line (keeps them out of the process list).
    #[arg(long = "forbid-token-file", value_name = "FILE")]
    pub forbid_token_file: Option<PathBuf>,
}

impl RedactArgs {
    /// Every forbidden token given, from the flags and the file.
    pub fn tokens(&self) -> Result<Vec<String>, CliError> {
        let mut all = self.forbid_tokens.clone();
        if let Some(file) = &self.forbid_token_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::new(format!("cannot read {}: {e}", file.display())))?;
            all.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(all)
    }

    /// The redactor, or `None` when neither redaction nor a forbidden token was asked for.
    pub fn redactor(&self) -> Result<Option<Redactor>, CliError> {
        let tokens = self.tokens()?;
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
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::new(format!("cannot read {}: {e}", file.display())))?;
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
