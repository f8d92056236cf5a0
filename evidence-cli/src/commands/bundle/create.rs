//! `evidence bundle create`: seal files and folders into a new signed, content-addressed bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use evidence_core::bundle::BundleId;
use evidence_core::bundle::build::{self, BuildOptions, Built, Input};
use evidence_core::keys::PrivateKey;

use crate::clock::CreatedAtArgs;
use crate::exit::{CliError, Outcome, must_exist};
use crate::output::write_stdout;
use crate::secrets::RedactArgs;
use crate::signing::SignArgs;
use crate::tool;

/// `evidence bundle create`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Each INPUT file lands at payload/<its name>; a folder keeps its structure under
payload/<folder name>/. Symbolic links, devices and names that are not portable paths are
refused, never followed. The bundle is written beside --out and renamed into place only when
complete. Same inputs and --created-at (or SOURCE_DATE_EPOCH) give the same bundle id.

Examples:
  evidence bundle create --kind deployment --out packs/2026-11-22 \\
      --subject target=https://api.example --subject commit=3f2c1e9 \\
      --sign keys/operator.key --redact logs/ status.json
  SOURCE_DATE_EPOCH=1700000000 evidence bundle create --kind build --out b dist/")]
pub struct CreateArgs {
    /// What the bundle holds (a-z, 0-9, -): deployment, incident, release, ...
    #[arg(long)]
    pub kind: String,
    /// The bundle folder to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    /// Subject metadata, KEY=VALUE (repeatable): target, commit, release_tag, deployment_id, ...
    #[arg(long = "subject", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub subject: Vec<(String, String)>,
    #[command(flatten)]
    pub sign: SignArgs,
    #[command(flatten)]
    pub secrets: RedactArgs,
    #[command(flatten)]
    pub created_at: CreatedAtArgs,
    /// Id of a bundle this one derives from (repeatable).
    #[arg(long = "parent", value_name = "ID")]
    pub parents: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Files and folders to seal.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((k.to_owned(), v.to_owned()))
}

/// Seals the inputs into a new bundle and prints its id.
pub(super) fn create(args: &CreateArgs) -> Result<Outcome, CliError> {
    for input in &args.inputs {
        must_exist(input, "input")?;
    }
    args.stale.check("evidence", &args.out)?;
    let keys = args.sign.keys()?;
    let redactor = args.secrets.redactor()?;
    let created_at = args.created_at.timestamp()?;
    let parents = parents(&args.parents)?;
    let subject: BTreeMap<String, String> = args.subject.iter().cloned().collect();
    let mut opts = BuildOptions::new(args.kind.clone());
    opts.subject = subject;
    opts.created_at = created_at;
    opts.parents = parents;
    opts.sign = keys.iter().collect();
    opts.redactor = redactor.as_ref();
    opts.tool = tool::info();
    let inputs: Vec<Input> = args.inputs.iter().cloned().map(Input::Path).collect();
    let built = build::create(&args.out, &inputs, &opts).map_err(|e| {
        let hint = match &e {
            build::BuildError::Exists(_) => "choose a new --out; bundles are never overwritten",
            build::BuildError::Unsupported { .. } => {
                "copy the link's target in as a regular file if you mean to seal it"
            }
            _ => "nothing was written; fix the input and run again",
        };
        CliError::from(e).hint(hint)
    })?;
    write_stdout(&created_text(args, &built, &keys))?;
    Ok(Outcome::Ok)
}

/// `--parent` ids, parsed.
fn parents(ids: &[String]) -> Result<Vec<BundleId>, CliError> {
    ids.iter()
        .map(|p| {
            evidence_core::Sha256Digest::parse(p)
                .map(BundleId)
                .map_err(|e| {
                    CliError::new(format!("--parent {p}: {e}"))
                        .hint("a bundle id looks like sha256:<64 hex>")
                })
        })
        .collect()
}

/// What `create` prints: the new bundle's id and a summary line, or the same facts as JSON.
fn created_text(args: &CreateArgs, built: &Built, keys: &[PrivateKey]) -> String {
    if args.json {
        let value = serde_json::json!({
            "id": built.id.to_string(),
            "path": args.out.display().to_string(),
            "kind": built.manifest.kind,
            "files": built.manifest.files.len(),
            "signed_by": keys.iter().map(|k| k.public().key_id().to_string()).collect::<Vec<_>>(),
            "redaction": built.manifest.redaction,
        });
        let mut t = serde_json::to_string_pretty(&value).unwrap_or_default();
        t.push('\n');
        t
    } else {
        let mut t = format!(
            "{}\ncreated {} bundle at {} ({}",
            built.id,
            built.manifest.kind,
            args.out.display(),
            evidence_core::text::count(built.manifest.files.len() as u64, "file")
        );
        if !keys.is_empty() {
            t.push_str(&format!(", signed by {} key(s)", keys.len()));
        }
        let redacted: u64 = built.manifest.redaction.counts.values().sum();
        if built.manifest.redaction.applied {
            t.push_str(&format!(", {redacted} value(s) redacted"));
        }
        t.push_str(")\n");
        t
    }
}
