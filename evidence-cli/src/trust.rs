//! Trust arguments shared by every command that verifies signatures: trusted keys come from the
//! caller (files or a keyring), never from the evidence (DESIGN 4 rule 5).

use std::path::PathBuf;

use evidence_core::keys::{self, Keyring, TrustPolicy};
use evidence_core::report::{Check, Report, codes};

use crate::exit::CliError;
use crate::signing::key_error;

/// The flags that give a command a trust anchor, as the `trust-not-configured` hint names them.
pub const ANCHOR_FLAGS: &str = "--trusted-key PUBFILE or --keyring FILE";

/// Records that a command ran with no trust anchor (DESIGN 4 rule 1, fail closed): a failing
/// `trust-not-configured` check whose detail names `flags`, or, with `--allow-unsigned`, a
/// warning saying only integrity was checked (the text verdict then says so too). It goes first,
/// so it leads the text output, in section `signatures` beside the unchecked signatures.
pub fn not_configured(report: &mut Report, flags: &str, allow_unsigned: bool) {
    let check = if allow_unsigned {
        Check::warn(
            codes::TRUST_NOT_CONFIGURED,
            "no trust anchor given: integrity only, as --allow-unsigned asks; who made the evidence was not checked",
        )
    } else {
        Check::fail(
            codes::TRUST_NOT_CONFIGURED,
            format!(
                "no trust anchor given, so who made the evidence cannot be checked: pass {flags}, or --allow-unsigned to check integrity only"
            ),
        )
    };
    report.checks.insert(0, check.in_section("signatures"));
}

/// The whole report of a command that judges evidence by its signer alone (a seal, an
/// identity, a rollback permit), run with no trusted key: one failing `trust-not-configured`
/// check (exit 1, like any verifier that cannot trust what it reads).
pub fn untrusted_report(subject: serde_json::Value) -> Report {
    let mut report = Report::new(subject);
    report.push(
        Check::fail(
            codes::TRUST_NOT_CONFIGURED,
            format!(
                "no trust anchor given, and this evidence means nothing unless its signer is trusted: pass {ANCHOR_FLAGS}"
            ),
        )
        .in_section("signatures"),
    );
    report
}

/// `--trusted-key`, `--keyring`, `--threshold`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrustArgs {
    /// A trusted Ed25519 public key (SPKI PEM, as `openssl pkey -pubout` writes); repeatable.
    #[arg(long = "trusted-key", value_name = "PUBFILE")]
    pub trusted_keys: Vec<PathBuf>,

    /// A keyring file (names, public keys and a threshold; see docs/FORMAT.md).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,

    /// How many distinct trusted keys must have signed (default: the keyring's threshold, else 1).
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,
}

impl TrustArgs {
    /// True when the caller named any trusted key.
    pub fn given(&self) -> bool {
        !self.trusted_keys.is_empty() || self.keyring.is_some()
    }

    /// The trust policy of a command that verifies with pinned keys only: no key named is a
    /// usage error (exit 2).
    pub fn required(&self) -> Result<TrustPolicy, CliError> {
        self.policy()?.ok_or_else(|| {
            CliError::new("a trusted key is required: evidence is verified with pinned keys only")
                .hint("add --trusted-key FILE or --keyring FILE")
        })
    }

    /// The trust policy, or `None` when no key was named. A threshold of 0, a threshold above the
    /// number of distinct keys, or `--threshold` without keys are usage errors (exit 2).
    pub fn policy(&self) -> Result<Option<TrustPolicy>, CliError> {
        if !self.given() {
            if self.threshold.is_some() {
                return Err(
                    CliError::new("--threshold needs --trusted-key or --keyring")
                        .hint("name the keys that count toward the threshold"),
                );
            }
            return Ok(None);
        }
        let mut keys = Vec::new();
        let mut threshold = self.threshold;
        if let Some(path) = &self.keyring {
            let ring = Keyring::load(path)
                .map_err(|e| key_error(e, "check the keyring file against docs/FORMAT.md"))?;
            threshold = threshold.or(Some(ring.threshold));
            keys.extend(ring.keys);
        }
        // Key files only add to the keyring's keys; with none given there is nothing to load
        // (a policy is made once, below, from everything named).
        keys.extend(keys::load_named_keys(&self.trusted_keys).map_err(|e| {
            key_error(
                e,
                "pass SPKI PEM public keys (`evidence key generate` writes PREFIX.pub)",
            )
        })?);
        let policy = TrustPolicy::new(keys, threshold.unwrap_or(1)).map_err(|e| {
            CliError::from(e)
                .hint("the threshold must be between 1 and the number of distinct trusted keys")
        })?;
        Ok(Some(policy))
    }
}
