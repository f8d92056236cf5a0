//! The one place where exit codes are decided.

use std::fmt;
use std::process::ExitCode;

/// A failure to run at all (exit code 2), with a hint saying what to do next.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong.
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl CliError {
    /// An error with no hint.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            hint: None,
        }
    }

    /// Adds the "what to do next" line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Self {
            message,
            hint: None,
        }
    }
}

/// A usage error (exit 2) unless `path` exists. A dangling symbolic link counts as existing:
/// the command then refuses it as a link, which says more than "no such file".
pub fn must_exist(path: &std::path::Path, what: &str) -> Result<(), CliError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Err(CliError::new(format!("{}: no such {what}", path.display()))
            .hint(format!("pass an existing {what}")));
    }
    Ok(())
}

/// Fails (exit 2, a usage error) unless `path` exists and is not a folder: a folder where a
/// file is expected cannot be judged, so it is not a failed check.
pub fn must_be_file(path: &std::path::Path, what: &str) -> Result<(), CliError> {
    must_exist(path, what)?;
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(CliError::new(format!(
            "{}: a folder, not {} {what}",
            path.display(),
            article(what)
        ))
        .hint(format!("pass the {what} file itself")));
    }
    Ok(())
}

/// `a` or `an` before `word`, by its first letter.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// What a command achieved when it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed (or the command had nothing to verify and succeeded).
    Ok,
    /// At least one check failed.
    Failed,
}

impl Outcome {
    /// `Ok` iff `ok`.
    pub fn from_ok(ok: bool) -> Self {
        if ok { Outcome::Ok } else { Outcome::Failed }
    }
}

/// Exit code when every check passed.
pub const EXIT_OK: u8 = 0;
/// Exit code when at least one check failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the tool could not run.
pub const EXIT_ERROR: u8 = 2;

/// Turns a command's result into the process exit code, printing a run error to stderr.
pub fn finish(tool: &str, result: Result<Outcome, CliError>) -> ExitCode {
    match result {
        Ok(Outcome::Ok) => ExitCode::from(EXIT_OK),
        Ok(Outcome::Failed) => ExitCode::from(EXIT_FAILED),
        Err(err) => {
            use std::io::Write as _;
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{tool}: error: {}", err.message);
            if let Some(hint) = &err.hint {
                let _ = writeln!(stderr, "{tool}: hint: {hint}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
