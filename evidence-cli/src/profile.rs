//! Capture profiles named on the command line (`--profile`): a built-in name or a profile file.

use std::path::Path;

use evidence_core::capture::profile::{self, Profile};

use crate::exit::CliError;
use crate::secrets;

/// Loads a profile: a built-in name, or a file when the argument looks like a path (it
/// contains `/` or ends in `.json`). A bare word that is not a built-in is an error, not a
/// file in the current folder: a typo such as `zero-papr` must not read some other file.
pub fn load(name_or_file: &str) -> Result<Profile, CliError> {
    let names = || {
        profile::BUILT_IN
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if profile::BUILT_IN.iter().any(|(n, _)| *n == name_or_file) {
        return Profile::built_in(name_or_file).map_err(CliError::from);
    }
    if !name_or_file.contains('/') && !name_or_file.ends_with(".json") {
        return Err(
            CliError::new(format!("no built-in profile is named {name_or_file:?}")).hint(format!(
                "built-in profiles: {}; for a profile file in this folder write ./{name_or_file}",
                names()
            )),
        );
    }
    let text = secrets::read_config(
        Path::new(name_or_file),
        profile::MAX_PROFILE_BYTES,
        "profile",
    )
    .map_err(|e| match e.hint {
        Some(_) => e,
        None => e.hint(format!(
            "name a built-in profile ({}) or a profile file",
            names()
        )),
    })?;
    Profile::parse(text.as_bytes())
        .map_err(|e| CliError::from(e).hint("check the profile against docs/FORMAT.md"))
}
