//! `evidence release seal DIR --sign KEY`: write SHA256SUMS, its DSSE signature and a signed
//! SLSA provenance statement for a release directory, then verify the result.

use std::path::PathBuf;

use evidence_core::keys::{NamedKey, TrustPolicy};
use evidence_core::release::seal::{self, BuildInfo, SealOptions};
use evidence_core::release::{self, ReleaseOptions};
use evidence_core::sums::SumsLimits;

use crate::exit::{CliError, Outcome};
use crate::output::{self, OutputArgs};
use crate::progress::HashProgress;
use crate::signing::SignArgs;
use crate::source::SourceRefArgs;

/// `evidence release seal`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "\
Writes, in DIR:
  SHA256SUMS            every regular file at any depth (except verification metadata),
                        sorted, in the form `sha256sum -c` reads
  SHA256SUMS.dsse.json  a DSSE envelope signing the exact SHA256SUMS bytes
  release.intoto.jsonl  a signed in-toto Statement v1: every asset a subject by SHA-256, with
                        an SLSA provenance v1 predicate (builder, build type, source)
Links, devices, hard links and colliding names are refused. Sealing twice writes identical
files. The sealed release is then verified with the signing keys and the report printed.

With --provenance-from-env (in GitHub Actions) the builder is the workflow file at its ref,
the source the repository at GITHUB_REF and GITHUB_SHA; flags override single fields.

Examples:
  evidence release seal dist/ --sign release.key --builder-id https://ci.example/release@v1 \\
      --source-uri https://github.com/acme/widget --source-tag v1.4.2 \\
      --source-commit 3f2c1e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e
  evidence release seal dist/ --sign release.key --provenance-from-env")]
pub struct SealArgs {
    /// The release directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub sign: SignArgs,
    /// Fill the provenance from GitHub Actions variables (GITHUB_*).
    #[arg(long)]
    pub provenance_from_env: bool,
    /// The builder id (required unless --provenance-from-env).
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,
    /// The build type URI (default: urn:evidence:build-type:release-seal:v1).
    #[arg(long, value_name = "URI")]
    pub build_type: Option<String>,
    /// The source repository URI.
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,
    #[command(flatten)]
    pub source: SourceRefArgs,
    /// The source commit.
    #[arg(long, value_name = "SHA")]
    pub source_commit: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The provenance's build facts: from GitHub Actions variables or `--builder-id`, then each
/// flag given overriding its field.
fn build_info(args: &SealArgs) -> Result<BuildInfo, CliError> {
    let mut build = if args.provenance_from_env {
        BuildInfo::from_github_env(|name| std::env::var(name).ok()).map_err(|e| {
            CliError::from(e)
                .hint("run inside GitHub Actions, or pass --builder-id and the --source-* flags")
        })?
    } else {
        let builder = args.builder_id.clone().ok_or_else(|| {
            CliError::new("the provenance needs a builder id")
                .hint("pass --builder-id URI (who built this release), or --provenance-from-env in GitHub Actions")
        })?;
        BuildInfo::new(builder)
    };
    if let Some(v) = &args.builder_id {
        build.builder_id = v.clone();
    }
    if let Some(v) = &args.build_type {
        build.build_type = v.clone();
    }
    if let Some(v) = &args.source_uri {
        build.source_uri = Some(v.clone());
    }
    if let Some(v) = args.source.full_ref()? {
        build.source_ref = Some(v);
    }
    if let Some(v) = &args.source_commit {
        build.source_commit = Some(v.clone());
    }
    Ok(build)
}

/// Seals, then verifies what was sealed.
pub fn run(args: &SealArgs) -> Result<Outcome, CliError> {
    let keys = args.sign.required()?;
    let build = build_info(args)?;
    let progress = HashProgress::new(args.output.quiet || args.output.json);
    let sealed = seal::seal(
        &args.dir,
        &SealOptions {
            keys: keys.iter().collect(),
            build,
            limits: SumsLimits::default(),
            progress: &progress,
        },
    )
    .map_err(|e| {
        let hint = match e {
            seal::SealError::Refused { .. } => {
                "remove or replace the entry: a release holds only regular files with portable, distinct names"
            }
            seal::SealError::Empty => "put the release assets in the directory first",
            _ => "fix the problem and run again; sealing is idempotent",
        };
        CliError::from(e).hint(hint)
    })?;
    // Verify what was written, with the keys that signed it.
    let trust = TrustPolicy::new(
        keys.iter()
            .map(|k| NamedKey {
                name: k.public().key_id().to_string(),
                key: k.public(),
            })
            .collect(),
        1,
    )?;
    let verification = release::verify_release(
        &args.dir,
        &ReleaseOptions {
            trust: Some(&trust),
            progress: &progress,
            ..ReleaseOptions::default()
        },
    )?;
    progress.finish();
    let mut report = verification.report;
    if let serde_json::Value::Object(subject) = &mut report.subject {
        subject.insert("sealed".into(), serde_json::json!(sealed.written));
        subject.insert("assets".into(), serde_json::json!(sealed.assets.len()));
    }
    output::summary(
        &args.output,
        &format!(
            "sealed {} assets: wrote {} (SHA256SUMS {})\n",
            sealed.assets.len(),
            sealed.written.join(", "),
            sealed.sums_digest
        ),
    )?;
    output::emit(report, "evidence", &args.output)
}
