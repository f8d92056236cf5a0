//! `--source-ref`, `--source-tag`, `--source-branch`: the source ref of a release's provenance,
//! always as a full ref, so a tag and a branch of the same name can never be confused
//! (`refs/tags/v1.4.2` is not `refs/heads/v1.4.2`).

use crate::exit::CliError;

/// The source ref flags, as slsa-verifier has them; at most one may be given.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceRefArgs {
    /// The source ref, in full: `refs/tags/v1.4.2`, `refs/heads/main`, `refs/pull/7/merge`.
    #[arg(long, value_name = "REF", conflicts_with_all = ["source_tag", "source_branch"])]
    pub source_ref: Option<String>,

    /// The source tag: the same as --source-ref refs/tags/TAG (never a branch of that name).
    #[arg(long, value_name = "TAG", conflicts_with = "source_branch")]
    pub source_tag: Option<String>,

    /// The source branch: the same as --source-ref refs/heads/NAME (never a tag of that name).
    #[arg(long, value_name = "NAME")]
    pub source_branch: Option<String>,
}

impl SourceRefArgs {
    /// The full ref named, if any. A `--source-ref` that is not a full ref is a usage error
    /// (exit 2): `v1.4.2` could be a tag or a branch, and guessing would accept either.
    pub fn full_ref(&self) -> Result<Option<String>, CliError> {
        if let Some(reference) = &self.source_ref {
            if !reference.starts_with("refs/") || reference.len() <= "refs/".len() {
                return Err(CliError::new(format!(
                    "--source-ref {reference:?} is not a full ref (refs/tags/..., refs/heads/..., refs/pull/...)"
                ))
                .hint(format!(
                    "use --source-tag {reference} for the tag or --source-branch {reference} for the branch"
                )));
            }
            return Ok(Some(reference.clone()));
        }
        Ok(self
            .source_tag
            .as_ref()
            .map(|tag| format!("refs/tags/{tag}"))
            .or_else(|| {
                self.source_branch
                    .as_ref()
                    .map(|branch| format!("refs/heads/{branch}"))
            }))
    }
}
