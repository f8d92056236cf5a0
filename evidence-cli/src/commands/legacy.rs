//! `evidence legacy verify|import`: the predecessor's evidence packs, rollback rehearsals and
//! identity bundles, verified by their own rules (more strictly where those were weak) and
//! sealed, unchanged, into a signed bundle.

use std::path::PathBuf;

use evidence_core::legacy::{self, HmacKey, ImportError, ImportOptions, TrustedKey, VerifyOptions};
use evidence_core::timestamp::Timestamp;

use crate::exit::{CliError, Outcome, must_exist};
use crate::output::{self, OutputArgs, write_stdout};
use crate::signing::SignArgs;

/// Legacy commands.
#[derive(Debug, clap::Subcommand)]
pub enum LegacyCommand {
    /// Verify a legacy pack (recognised by its schema).
    Verify(VerifyArgs),
    /// Verify legacy packs and seal their original bytes into a signed bundle of kind legacy.
    Import(ImportArgs),
}

/// The keys a legacy pack is checked with.
#[derive(Debug, Clone, clap::Args)]
pub struct LegacyKeys {
    /// The HMAC key of evidence packs and rehearsals (the predecessor's --signing-key), in a
    /// file; one trailing line break is ignored.
    #[arg(long, value_name = "FILE")]
    pub hmac_key_file: Option<PathBuf>,
    /// The public key (PEM, ECDSA P-256 or RSA) that signed an identity bundle; the key inside
    /// the bundle never counts.
    #[arg(long, value_name = "PEM")]
    pub trusted_key: Option<PathBuf>,
}

/// `evidence legacy verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Recognises the pack by schema: zero.deployment_evidence.v1 (manifest.json),
zero.deployment_rollback_rehearsal.v1 (rollback_rehearsal.json) or
zero.deployment_identity_evidence.v1 (identity_bundle.json), and checks SHA256SUMS, the
manifest or report, self-hashes and the signature. An HMAC tag needs --hmac-key-file, an
identity signature needs --trusted-key: without them the signature is reported unchecked and
the pack fails (fail closed). A rehearsal always warns that its ok and checks are unsigned.

Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run (missing
folder, unreadable key).

Examples:
  evidence legacy verify artifacts/deployment-evidence/20261122T093000Z --hmac-key-file hmac.key
  evidence legacy verify artifacts/deployment-identity/20261122T093000Z --trusted-key signer.pem --json")]
pub struct VerifyArgs {
    /// The pack folder the predecessor wrote.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub keys: LegacyKeys,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `evidence legacy import`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Verifies every pack first, as `legacy verify` does; if any fails, nothing is written and the
report says why. Otherwise the packs' original bytes are sealed unchanged at
payload/<pack folder>/<file> of a bundle of kind legacy, signed by --sign, whose manifest
subject names each pack's schema and the digests of its SHA256SUMS, main document and
signature file. `evidence bundle verify BUNDLE --trusted-key` verifies it.

Exit status: 0 imported, 1 a pack failed verification (nothing written), 2 the tool could not
run (missing folder, bad key, --out exists).

Example:
  evidence legacy import evidence/cur evidence/prev rehearsal --hmac-key-file hmac.key \\
      --sign keys/operator.key --out archive/legacy-2026-11-22")]
pub struct ImportArgs {
    /// The pack folders the predecessor wrote.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub keys: LegacyKeys,
    #[command(flatten)]
    pub sign: SignArgs,
    /// The bundle folder to create; must not exist.
    #[arg(long, value_name = "BUNDLE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stale: crate::stale::StaleArgs,
    /// The creation time to record (RFC 3339); default: SOURCE_DATE_EPOCH, else now.
    #[arg(long, value_name = "RFC3339")]
    pub created_at: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs a legacy command.
pub fn run(command: &LegacyCommand) -> Result<Outcome, CliError> {
    match command {
        LegacyCommand::Verify(args) => verify(args),
        LegacyCommand::Import(args) => import(args),
    }
}

/// The keys, read: the HMAC key (wiped on drop) and the trusted key.
type Loaded = (Option<HmacKey>, Option<TrustedKey>);

fn load(keys: &LegacyKeys) -> Result<Loaded, CliError> {
    let hmac = keys
        .hmac_key_file
        .as_deref()
        .map(|path| {
            legacy::read_hmac_key(path).map_err(|e| {
                CliError::new(format!("{}: {e}", path.display()))
                    .hint("pass a file holding the key the pack was signed with")
            })
        })
        .transpose()?;
    let trusted = keys
        .trusted_key
        .as_deref()
        .map(|path| {
            let fail = |e: &dyn std::fmt::Display| {
                CliError::new(format!("{}: {e}", path.display()))
                    .hint("pass the signer's public key as `openssl pkey -pubout` writes it")
            };
            let text = std::fs::read_to_string(path).map_err(|e| fail(&e))?;
            TrustedKey::from_pem(&text).map_err(|e| fail(&e))
        })
        .transpose()?;
    Ok((hmac, trusted))
}

fn options<'a>(loaded: &'a Loaded) -> VerifyOptions<'a> {
    VerifyOptions {
        hmac_key: loaded.0.as_ref().map(|k| k.as_slice()),
        trusted_key: loaded.1.as_ref(),
        ..VerifyOptions::default()
    }
}

fn verify(args: &VerifyArgs) -> Result<Outcome, CliError> {
    must_exist(&args.dir, "legacy pack folder")?;
    let loaded = load(&args.keys)?;
    let verification = legacy::verify(&args.dir, &options(&loaded));
    output::emit(verification.report, "evidence", &args.output)
}

fn import(args: &ImportArgs) -> Result<Outcome, CliError> {
    for dir in &args.dirs {
        must_exist(dir, "legacy pack folder")?;
    }
    args.stale.check("evidence", &args.out)?;
    let loaded = load(&args.keys)?;
    let keys = args.sign.required()?;
    let created_at = args
        .created_at
        .as_deref()
        .map(Timestamp::parse_rfc3339)
        .transpose()
        .map_err(|e| CliError::from(e).hint("use a time such as 2026-11-22T09:30:00Z"))?;
    let opts = ImportOptions {
        verify: options(&loaded),
        keys: keys.iter().collect(),
        created_at,
        tool: evidence_core::bundle::ToolInfo {
            name: "evidence".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    };
    let quiet = args.output.json || args.output.quiet;
    match legacy::import(&args.out, &args.dirs, &opts) {
        Ok(imported) => {
            if !quiet {
                write_stdout(&format!(
                    "{}\nimported {} legacy pack(s) into {} (signed by {} key(s))\n",
                    imported.id,
                    args.dirs.len(),
                    args.out.display(),
                    keys.len()
                ))?;
            }
            output::emit(imported.report, "evidence", &args.output)
        }
        Err(ImportError::Refused(report)) => {
            if !quiet {
                write_stdout("refused: a legacy pack fails verification; nothing was written\n")?;
            }
            output::emit(*report, "evidence", &args.output)
        }
        Err(ImportError::Build(e)) => {
            let hint = match &e {
                evidence_core::bundle::build::BuildError::Exists(_) => {
                    "choose a new --out; bundles are never overwritten"
                }
                _ => "nothing was written; fix the problem and run again",
            };
            Err(CliError::from(e).hint(hint))
        }
        Err(e) => Err(CliError::from(e).hint("name each pack folder once, and pass --sign")),
    }
}
