//! Sealing a claim and heartbeat pair into a signed `identity` bundle.

use std::path::Path;

use super::{
    BUNDLE_KIND, CLAIM_PATH, HEARTBEAT_PATH, IdentityFacts, IdentityLimits, PacketOptions,
    REPORT_PATH, check_packets, manifest_subject,
};
use crate::bundle::build::{self, BuildError, BuildOptions, Input};
use crate::bundle::manifest::PAYLOAD_PREFIX;
use crate::bundle::{BundleId, Manifest, ToolInfo};
use crate::keys::PrivateKey;
use crate::report::{Report, Tool};
use crate::timestamp::Timestamp;

/// What to do with a pair of packets that fails a check. The safe default refuses to seal it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailingPairs {
    /// Refuse: nothing is written, the report says why.
    #[default]
    Refuse,
    /// Seal it anyway, for the record (the stored report and the subject say it failed, and
    /// verification fails it again). Never exposed by the CLI; used to build test fixtures and
    /// by callers that must preserve bad evidence.
    Record,
}

/// How to seal an identity bundle.
#[derive(Debug)]
pub struct CreateOptions<'a> {
    /// The operator key(s) to sign with; at least one.
    pub keys: Vec<&'a PrivateKey>,
    /// The creation time to record; `None` uses `SOURCE_DATE_EPOCH`, else the clock.
    pub created_at: Option<Timestamp>,
    /// What to do with a failing pair.
    pub failing: FailingPairs,
    /// Write a deterministic `.tar.gz` instead of a folder.
    pub archive: bool,
    /// Packet limits.
    pub limits: IdentityLimits,
    /// The tool recorded in the manifest and the stored report.
    pub tool: ToolInfo,
}

impl<'a> CreateOptions<'a> {
    /// Options signing with `keys`, refusing failing pairs, writing a folder.
    pub fn new(keys: Vec<&'a PrivateKey>) -> Self {
        Self {
            keys,
            created_at: None,
            failing: FailingPairs::Refuse,
            archive: false,
            limits: IdentityLimits::default(),
            tool: ToolInfo {
                name: env!("CARGO_PKG_NAME").to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        }
    }
}

/// Why no identity bundle was written (nothing is left at the destination).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// No signing key: identity evidence is worthless unsigned.
    #[error("no signing key: an identity bundle must be signed by the operator key")]
    NoKey,
    /// The packets failed a check and [`FailingPairs::Refuse`] applies.
    #[error("the claim and heartbeat fail the identity checks; nothing was sealed")]
    Refused(Box<Report>),
    /// Building the bundle failed.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A sealed identity bundle.
#[derive(Debug, Clone)]
pub struct Created {
    /// The bundle id.
    pub id: BundleId,
    /// Its manifest.
    pub manifest: Manifest,
    /// The report of the packet checks (also stored in the bundle).
    pub report: Report,
    /// The facts recorded in the manifest subject.
    pub facts: IdentityFacts,
}

/// Checks the packets (their exact bytes) and seals them at `out` (which must not exist), with
/// the report of the checks, into a bundle of kind `identity` signed by `opts.keys`.
pub fn create(
    out: &Path,
    claim: &[u8],
    heartbeat: &[u8],
    opts: &CreateOptions<'_>,
) -> Result<Created, CreateError> {
    if opts.keys.is_empty() {
        return Err(CreateError::NoKey);
    }
    let checked = check_packets(
        claim,
        heartbeat,
        &PacketOptions {
            freshness: None,
            limits: opts.limits,
        },
    );
    let mut report = checked.report;
    report.tool = Tool {
        name: opts.tool.name.clone(),
        version: opts.tool.version.clone(),
    };
    let ok = report.ok();
    if !ok && opts.failing == FailingPairs::Refuse {
        return Err(CreateError::Refused(Box::new(report)));
    }
    let at = |path: &str| path.strip_prefix(PAYLOAD_PREFIX).unwrap_or(path).to_owned();
    let inputs = [
        Input::Bytes {
            at: at(CLAIM_PATH),
            bytes: claim.to_vec(),
        },
        Input::Bytes {
            at: at(HEARTBEAT_PATH),
            bytes: heartbeat.to_vec(),
        },
        Input::Bytes {
            at: at(REPORT_PATH),
            bytes: report.to_json_pretty().into_bytes(),
        },
    ];
    let mut build_opts = BuildOptions::new(BUNDLE_KIND);
    build_opts.subject = manifest_subject(&checked.facts, ok);
    build_opts.created_at = opts.created_at;
    build_opts.sign = opts.keys.clone();
    build_opts.tool = opts.tool.clone();
    let built = if opts.archive {
        build::create_archive(out, &inputs, &build_opts)?
    } else {
        build::create(out, &inputs, &build_opts)?
    };
    Ok(Created {
        id: built.id,
        manifest: built.manifest,
        report,
        facts: checked.facts,
    })
}
