//! `evidence bundle create|sign|verify|pack|unpack|inspect`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use evidence_core::bundle::archive;
use evidence_core::bundle::build::{self, BuildOptions, Input};
use evidence_core::bundle::{self, BundleId, SignatureRequirement, VerifyOptions};
use evidence_core::keys::PrivateKey;
use evidence_core::timestamp::Timestamp;

use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs, write_stdout};
use crate::progress::HashProgress;
use crate::secrets::RedactArgs;
use crate::trust::TrustArgs;

/// Bundle commands.
#[derive(Debug, clap::Subcommand)]
pub enum BundleCommand {
    /// Seal files and folders into a new signed, content-addressed bundle.
    Create(CreateArgs),
    /// Add a signature to an existing bundle folder (its id does not change).
    Sign {
        /// The bundle folder.
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        /// The private key (PKCS#8 PEM).
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,
    },
    /// Verify a bundle folder or .tar.gz archive.
    Verify(VerifyArgs),
    /// Pack a bundle folder into a deterministic .tar.gz.
    Pack {
        /// The bundle folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The archive to write (must not exist).
        #[arg(long, value_name = "FILE.tar.gz")]
        out: PathBuf,
    },
    /// Verify a .tar.gz bundle and unpack it into a new folder.
    Unpack(UnpackArgs),
    /// Show what a bundle claims to hold, without verifying it.
    Inspect {
        /// The bundle folder or .tar.gz archive.
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

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
    /// Subject metadata, KEY=VALUE (repeatable): target, commit, release_tag, deployment_id, ...
    #[arg(long = "subject", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub subject: Vec<(String, String)>,
    /// Sign with this private key (repeatable).
    #[arg(long = "sign", value_name = "KEYFILE")]
    pub sign: Vec<PathBuf>,
    #[command(flatten)]
    pub secrets: RedactArgs,
    /// The creation time to record (RFC 3339); default: SOURCE_DATE_EPOCH, else now.
    #[arg(long, value_name = "RFC3339")]
    pub created_at: Option<String>,
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

/// `evidence bundle verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Checks every rule of docs/FORMAT.md section 5: each listed file's size and SHA-256, no
unlisted file, folder, link or special file, confined paths, SHA256SUMS agreeing with the
manifest, and, when trusted keys are given, signatures by enough distinct trusted keys.
Without --trusted-key or --keyring only integrity is checked, and the report says so.

Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run.

Examples:
  evidence bundle verify packs/2026-11-22 --trusted-key keys/operator.pub
  evidence bundle verify pack.tar.gz --keyring ops.keyring.json --json")]
pub struct VerifyArgs {
    /// The bundle folder or .tar.gz archive.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// With trusted keys given, accept a bundle without signatures (an invalid one still fails).
    #[arg(long)]
    pub allow_unsigned: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence bundle unpack`.
#[derive(Debug, clap::Args)]
pub struct UnpackArgs {
    /// The .tar.gz bundle.
    #[arg(value_name = "FILE")]
    pub archive: PathBuf,
    /// The folder to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// With trusted keys given, accept a bundle without signatures.
    #[arg(long)]
    pub allow_unsigned: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((k.to_owned(), v.to_owned()))
}

/// Loads signing keys named on the command line.
pub fn load_keys(files: &[PathBuf]) -> Result<Vec<PrivateKey>, CliError> {
    files
        .iter()
        .map(|f| {
            PrivateKey::load(f).map_err(|e| {
                CliError::from(e).hint(
                    "pass a PKCS#8 PEM private key (`evidence key generate` writes PREFIX.key)",
                )
            })
        })
        .collect()
}

fn verify_options<'a>(
    policy: Option<&'a evidence_core::keys::TrustPolicy>,
    allow_unsigned: bool,
    progress: &'a HashProgress,
) -> VerifyOptions<'a> {
    VerifyOptions {
        trust: policy,
        signatures: if allow_unsigned {
            SignatureRequirement::AllowUnsigned
        } else {
            SignatureRequirement::Required
        },
        progress,
        ..VerifyOptions::default()
    }
}

/// Runs a bundle command.
pub fn run(command: &BundleCommand) -> Result<Outcome, CliError> {
    match command {
        BundleCommand::Create(args) => create(args),
        BundleCommand::Sign { bundle, key } => {
            must_exist(bundle, "bundle folder")?;
            let key = load_keys(std::slice::from_ref(key))?;
            let key = key.first().ok_or_else(|| CliError::new("no key"))?;
            match build::cosign(bundle, key) {
                Ok(id) => {
                    write_stdout(&format!("signed {id} with key {}\n", key.public().key_id()))?;
                    Ok(Outcome::Ok)
                }
                // Hostile or broken evidence is a failed check (exit 1), not a failure to run.
                Err(build::BuildError::NotVerified(report)) => {
                    write_stdout(&report.to_text(false))?;
                    write_stdout("not signed: the bundle does not verify\n")?;
                    Ok(Outcome::Failed)
                }
                Err(e) => Err(CliError::from(e)),
            }
        }
        BundleCommand::Verify(args) => {
            must_exist(&args.bundle, "bundle")?;
            let policy = args.trust.policy()?;
            let progress = HashProgress::new(args.output.quiet || args.output.json);
            let opts = verify_options(policy.as_ref(), args.allow_unsigned, &progress);
            let verification = bundle::verify_path(&args.bundle, &opts);
            progress.finish();
            output::emit(verification.report, "evidence", &args.output)
        }
        BundleCommand::Pack { dir, out } => {
            must_exist(dir, "bundle folder")?;
            match archive::pack(dir, out) {
                Ok(id) => {
                    write_stdout(&format!("packed {id} into {}\n", out.display()))?;
                    Ok(Outcome::Ok)
                }
                Err(archive::ArchiveError::NotVerified(report)) => {
                    write_stdout(&report.to_text(false))?;
                    write_stdout("not packed: the bundle does not verify; nothing was written\n")?;
                    Ok(Outcome::Failed)
                }
                Err(e) => Err(CliError::from(e)),
            }
        }
        BundleCommand::Unpack(args) => {
            must_exist(&args.archive, "archive")?;
            let policy = args.trust.policy()?;
            let progress = HashProgress::new(args.output.quiet || args.output.json);
            let opts = verify_options(policy.as_ref(), args.allow_unsigned, &progress);
            let verification = archive::unpack(&args.archive, &args.out, &opts)
                .map_err(|e| CliError::from(e).hint("choose a destination that does not exist"))?;
            progress.finish();
            output::emit(verification.report, "evidence", &args.output)
        }
        BundleCommand::Inspect { bundle, json } => {
            must_exist(bundle, "bundle")?;
            let info = bundle::inspect::inspect(bundle)
                .map_err(|e| CliError::from(e).hint("pass a bundle folder or .tar.gz"))?;
            let text = if *json {
                let mut t = serde_json::to_string_pretty(&info).unwrap_or_default();
                t.push('\n');
                t
            } else {
                info.to_text()
            };
            write_stdout(&text)?;
            Ok(Outcome::Ok)
        }
    }
}

fn create(args: &CreateArgs) -> Result<Outcome, CliError> {
    for input in &args.inputs {
        must_exist(input, "input")?;
    }
    let keys = load_keys(&args.sign)?;
    let redactor = args.secrets.redactor()?;
    let created_at = args
        .created_at
        .as_deref()
        .map(Timestamp::parse_rfc3339)
        .transpose()
        .map_err(|e| CliError::from(e).hint("use a time such as 2026-11-22T09:30:00Z"))?;
    let parents = args
        .parents
        .iter()
        .map(|p| {
            evidence_core::Sha256Digest::parse(p)
                .map(BundleId)
                .map_err(|e| {
                    CliError::new(format!("--parent {p}: {e}"))
                        .hint("a bundle id looks like sha256:<64 hex>")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let subject: BTreeMap<String, String> = args.subject.iter().cloned().collect();
    let mut opts = BuildOptions::new(args.kind.clone());
    opts.subject = subject;
    opts.created_at = created_at;
    opts.parents = parents;
    opts.sign = keys.iter().collect();
    opts.redactor = redactor.as_ref();
    opts.tool = bundle::ToolInfo {
        name: "evidence".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
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
    let text = if args.json {
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
            "{}\ncreated {} bundle at {} ({} files",
            built.id,
            built.manifest.kind,
            args.out.display(),
            built.manifest.files.len()
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
    };
    write_stdout(&text)?;
    Ok(Outcome::Ok)
}
