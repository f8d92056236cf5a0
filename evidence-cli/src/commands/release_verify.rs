//! `release-verify DIR` (also `evidence release verify DIR`): one verdict over a release
//! directory.

use std::path::PathBuf;

use evidence_core::provenance::ProvenancePolicy;
use evidence_core::release::{self, MinisignKey, PgpKeyring, ReleaseOptions};

use crate::exit::{CliError, Outcome};
use crate::output::{self, OutputArgs};
use crate::progress::HashProgress;
use crate::source::SourceRefArgs;
use crate::trust::{self, TrustArgs};

/// Arguments of the release verification step.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct ReleaseVerifyArgs {
    /// The release directory (every regular file in it, at any depth, must be listed).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Checksum file to use instead of DIR/SHA256SUMS.
    #[arg(long, value_name = "FILE")]
    pub sums: Option<PathBuf>,

    /// An asset that must be listed and verified (repeatable).
    #[arg(long = "expect", value_name = "NAME")]
    pub expect: Vec<String>,

    /// Skip listed files that are absent instead of failing (like `sha256sum --ignore-missing`).
    #[arg(long)]
    pub ignore_missing: bool,

    /// A relative path that may be present without being listed (repeatable).
    #[arg(long = "allow-unlisted", value_name = "NAME")]
    pub allow_unlisted: Vec<String>,

    /// Accept zero-byte assets.
    #[arg(long)]
    pub allow_empty: bool,

    /// Warn about malformed checksum lines instead of failing.
    #[arg(long)]
    pub no_strict: bool,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// A minisign public key; SHA256SUMS.minisig must then exist and verify.
    #[arg(long, value_name = "FILE")]
    pub minisign_key: Option<PathBuf>,

    /// An OpenPGP public key, or a keyring of several (armored or binary, repeatable); the
    /// checksum file's .sig, .asc or .gpg must then exist and verify under one of its keys.
    #[arg(long = "pgp-key", value_name = "FILE")]
    pub pgp_keys: Vec<PathBuf>,

    /// Check integrity only, on purpose: with no --trusted-key, --keyring, --minisign-key or
    /// --pgp-key the verification fails (trust-not-configured) unless this is given.
    #[arg(long, conflicts_with_all = ["trusted_keys", "keyring", "minisign_key", "pgp_keys"])]
    pub allow_unsigned: bool,

    /// An SBOM (SPDX or CycloneDX JSON, judged by content) to check besides those the release
    /// ships (repeatable).
    #[arg(long, value_name = "FILE")]
    pub sbom: Vec<PathBuf>,

    /// A provenance file to use instead of the discovered *.intoto.jsonl and PROVENANCE.json
    /// (repeatable): .intoto.jsonl, a DSSE envelope, a bare statement, or PROVENANCE.json.
    #[arg(long, value_name = "FILE")]
    pub provenance: Vec<PathBuf>,

    // Before the policy flags: see `source`.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Require a signed SLSA statement whose builder id is ID.
    #[arg(
        long,
        value_name = "ID",
        help_heading = "Provenance policy (needs --trusted-key or --keyring)"
    )]
    pub builder_id: Option<String>,

    /// Require the repository built (`github.com/acme/widget` matches
    /// `git+https://github.com/acme/widget.git`). The --source-* flags bind together: one and
    /// the same source must satisfy all of them.
    #[arg(
        long,
        value_name = "URI",
        help_heading = "Provenance policy (needs --trusted-key or --keyring)"
    )]
    pub source_uri: Option<String>,

    /// Require the source ref (`--source-ref` in full, or `--source-tag`, `--source-branch`).
    /// The group's heading carries on to later fields, which therefore name their own.
    #[command(
        flatten,
        next_help_heading = "Provenance policy (needs --trusted-key or --keyring)"
    )]
    pub source: SourceRefArgs,

    /// Require the source commit (full hex).
    #[arg(
        long,
        value_name = "SHA",
        help_heading = "Provenance policy (needs --trusted-key or --keyring)"
    )]
    pub source_commit: Option<String>,

    /// Require the build type URI.
    #[arg(
        long,
        value_name = "URI",
        help_heading = "Provenance policy (needs --trusted-key or --keyring)"
    )]
    pub build_type: Option<String>,

    /// An asset that must be attested by a signed statement (repeatable; default: every asset).
    #[arg(
        long = "artifact",
        value_name = "NAME",
        help_heading = "Provenance policy (needs --trusted-key or --keyring)"
    )]
    pub artifacts: Vec<String>,
}

const AFTER_HELP: &str = "\
Checks, in one report:
  checksums   the checksum file parses (GNU, BSD --tag or OpenSSL form, strict by default);
              every listed file exists and matches; every regular file at any depth is listed;
              no symlinks, hard links, devices or escaping names. SHA256SUMS, SHA256SUMS.dsse.json,
              SHA256SUMS.minisig, SHA256SUMS.asc, SHA256SUMS.gpg, PROVENANCE.json, *.sig and
              *.intoto.jsonl at the top level are metadata.
  signatures  SHA256SUMS.dsse.json (DSSE over the exact SHA256SUMS bytes) against --trusted-key or
              --keyring, SHA256SUMS.minisig against --minisign-key, SHA256SUMS.sig/.asc/.gpg
              (OpenPGP: detached, armored or binary, or cleartext-signed; for --sums FILE, FILE.sig
              and so on) against --pgp-key. With a key given, a missing or invalid signature
              fails. Without any, verification fails (trust-not-configured) unless
              --allow-unsigned asks for integrity only: the verdict then reads
              \"OK (unauthenticated: integrity only)\".
  sbom        every SBOM among the assets (*.spdx.json, *.cdx.json, *.cyclonedx.json, bom.json,
              *.bom.json, sbom.json, *.sbom.json; any case, any depth) and each --sbom, judged by
              content: SPDX 2.2/2.3 JSON by the SPDX rules, CycloneDX 1.4-1.6 JSON by its schema's
              (bom-refs, dependencies, hashes, licenses, purls); one that is neither fails. Every
              package, file or component naming a release asset must give its verified SHA-256.
  provenance  *.intoto.jsonl (or --provenance): in-toto Statement v1 with SLSA provenance v1, signed
              by trusted keys; every asset (or each --artifact) must be a subject by SHA-256; the
              policy flags are checked against signed statements only. PROVENANCE.json
              (zero.release_provenance.v1) is unsigned evidence: its digests are cross-checked.
  release     at least one asset verified, no zero-byte assets, every --expect'ed asset present.

Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run.

Examples:
  release-verify dist/ --trusted-key release.pub
  release-verify dist/ --keyring release.keyring.json --expect app-linux-x86_64.tar.gz --json > report.json
  release-verify downloads/ --trusted-key release.pub \\
      --builder-id https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.4.2 \\
      --source-uri github.com/acme/widget --source-tag v1.4.2
  release-verify downloads/ --minisign-key minisign.pub
  release-verify node-v22.12.0/ --sums node-v22.12.0/SHASUMS256.txt --pgp-key nodejs-keys.asc \\
      --ignore-missing
  release-verify downloads/ --sums downloads/checksums.txt --allow-unlisted notes.txt --allow-unsigned";

/// Runs the release verification step; `tool` names the binary in the report.
pub fn run(args: &ReleaseVerifyArgs, tool: &str) -> Result<Outcome, CliError> {
    let trust = args.trust.policy()?;
    let policy = ProvenancePolicy {
        builder_id: args.builder_id.clone(),
        source_uri: args.source_uri.clone(),
        source_ref: args.source.full_ref()?,
        source_commit: args.source_commit.clone(),
        build_type: args.build_type.clone(),
        artifacts: args.artifacts.clone(),
    };
    if policy.is_set() && trust.is_none() {
        return Err(CliError::new(
            "a provenance policy can only be checked against a statement signed by a trusted key",
        )
        .hint("add --trusted-key FILE or --keyring FILE"));
    }
    let minisign_key = args
        .minisign_key
        .as_deref()
        .map(MinisignKey::load)
        .transpose()
        .map_err(|e| CliError::from(e).hint("pass the minisign.pub the project publishes"))?;
    let pgp_keys = pgp_keyring(&args.pgp_keys)?;
    let progress = HashProgress::new(args.output.quiet || args.output.json);
    let opts = ReleaseOptions {
        sums: args.sums.clone(),
        expect: args.expect.clone(),
        ignore_missing: args.ignore_missing,
        allow_unlisted: args.allow_unlisted.clone(),
        allow_empty: args.allow_empty,
        strict: !args.no_strict,
        progress: &progress,
        trust: trust.as_ref(),
        minisign_key: minisign_key.as_ref(),
        pgp_keys: pgp_keys.as_ref(),
        sbom: args.sbom.clone(),
        provenance: args.provenance.clone(),
        policy,
        ..ReleaseOptions::default()
    };
    let result = release::verify_release(&args.dir, &opts);
    progress.finish();
    let mut verification = result.map_err(|e| {
        CliError::from(e).hint(
            "pass the release directory (and --sums FILE if the checksum file lives elsewhere)",
        )
    })?;
    if trust.is_none() && minisign_key.is_none() && pgp_keys.is_none() {
        trust::not_configured(
            &mut verification.report,
            "--trusted-key PUBFILE, --keyring FILE, --minisign-key FILE or --pgp-key FILE",
            args.allow_unsigned,
        );
    }
    // The process ends right after the report is printed; freeing every verified asset one by
    // one first would only delay the verdict.
    std::mem::forget(verification.verified);
    output::emit(verification.report, tool, &args.output)
}

/// Every certificate of the `--pgp-key` files in one keyring, or `None` when none was given.
fn pgp_keyring(files: &[PathBuf]) -> Result<Option<PgpKeyring>, CliError> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut ring = PgpKeyring::default();
    for file in files {
        ring.add_file(file).map_err(|e| {
            CliError::new(format!("--pgp-key {}: {e}", file.display())).hint(
                "pass the project's OpenPGP public key or keyring (gpg --armor --export KEYID > key.asc)",
            )
        })?;
    }
    Ok(Some(ring))
}
