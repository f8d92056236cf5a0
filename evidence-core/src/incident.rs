//! Incident packs: everything an incident needs, preserved in a signed `incident` bundle, and
//! a post-mortem skeleton rendered from it.
//!
//! The pack holds `incident.json` (`evidence.incident/v1`: id, severity, start time, summary,
//! commit, release tag, deployment id, correlation ids, timeline, remediation commit and
//! verification commands) and the attached files under `attachments/`, redacted before
//! sealing. The manifest subject repeats the identifying fields so they are signed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Verified;
use crate::bundle::build::{self, BuildError, BuildOptions, Built, Input};
use crate::bundle::{ToolInfo, VerifiedBundle};
use crate::keys::PrivateKey;
use crate::redact::Redactor;
use crate::report::printable;
use crate::timestamp::Timestamp;

/// The bundle kind.
pub const KIND: &str = "incident";
/// The incident description in the bundle.
pub const INCIDENT_FILE: &str = "incident.json";
/// The schema of `incident.json`.
pub const INCIDENT_SCHEMA: &str = "evidence.incident/v1";
/// Where attachments go under `payload/`.
pub const ATTACHMENTS_DIR: &str = "attachments";

/// Severities: `P0`-`P4` or `SEV-1`-`SEV-3`.
pub fn check_severity(text: &str) -> Result<(), String> {
    let ok = matches!(
        text,
        "P0" | "P1" | "P2" | "P3" | "P4" | "SEV-1" | "SEV-2" | "SEV-3"
    );
    if ok {
        Ok(())
    } else {
        Err(format!(
            "severity {text:?} must be one of P0-P4 or SEV-1, SEV-2, SEV-3"
        ))
    }
}

/// One timeline event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// What happened.
    pub text: String,
}

impl Event {
    /// Parses `TIME=TEXT` (RFC 3339 time).
    pub fn parse(arg: &str) -> Result<Self, String> {
        let (time, text) = arg
            .split_once('=')
            .ok_or_else(|| format!("{arg:?} is not TIME=TEXT"))?;
        let at = Timestamp::parse_rfc3339(time).map_err(|e| format!("{time:?}: {e}"))?;
        if text.trim().is_empty() {
            return Err(format!("{arg:?}: the event text is empty"));
        }
        Ok(Self {
            at: at.to_string(),
            text: text.to_owned(),
        })
    }
}

/// `incident.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Always [`INCIDENT_SCHEMA`].
    pub schema: String,
    /// The incident id.
    pub id: String,
    /// P0-P4 or SEV-1..3.
    pub severity: String,
    /// When it started (UTC).
    pub started_at: String,
    /// One paragraph.
    pub summary: String,
    /// The commit running when it started.
    pub commit: String,
    /// The release tag.
    pub release_tag: String,
    /// The deployment id.
    pub deployment_id: String,
    /// Trace ids.
    #[serde(default)]
    pub trace_ids: Vec<String>,
    /// Request ids.
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Idempotency keys.
    #[serde(default)]
    pub idempotency_keys: Vec<String>,
    /// Timeline, sorted by time.
    #[serde(default)]
    pub timeline: Vec<Event>,
    /// The commit that fixed it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_commit: Option<String>,
    /// Commands that verify the fix.
    #[serde(default)]
    pub verification_commands: Vec<String>,
}

/// Why an incident pack could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IncidentError {
    /// A field is missing or malformed.
    #[error("{field}: {reason}")]
    Field {
        /// The field (as its command-line flag).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Writing the bundle failed (nothing is left at the destination).
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl Incident {
    /// Checks every field; `timeline` is sorted.
    pub fn check(&mut self) -> Result<(), IncidentError> {
        let field = |field: &'static str, reason: String| IncidentError::Field { field, reason };
        let required = [
            ("--id", &self.id),
            ("--summary", &self.summary),
            ("--commit", &self.commit),
            ("--release-tag", &self.release_tag),
            ("--deployment-id", &self.deployment_id),
        ];
        for (name, value) in required {
            if value.trim().is_empty() {
                return Err(field(name, "is required and may not be empty".to_owned()));
            }
            if value.len() > 4096 || value.chars().any(|c| c.is_control() && c != '\n') {
                return Err(field(
                    name,
                    "must be at most 4096 bytes without control characters".to_owned(),
                ));
            }
        }
        check_severity(&self.severity).map_err(|r| field("--severity", r))?;
        let started = Timestamp::parse_rfc3339(&self.started_at)
            .map_err(|e| field("--started-at", e.to_string()))?;
        self.started_at = started.to_string();
        let hexish =
            |v: &str| v.len() >= 7 && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit());
        if !hexish(&self.commit) {
            return Err(field(
                "--commit",
                format!("{:?} is not a commit SHA (7-64 hex digits)", self.commit),
            ));
        }
        if let Some(c) = &self.remediation_commit
            && !hexish(c)
        {
            return Err(field(
                "--remediation-commit",
                format!("{c:?} is not a commit SHA (7-64 hex digits)"),
            ));
        }
        self.timeline.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(())
    }
}

/// How to capture an incident.
#[derive(Debug)]
pub struct IncidentOptions<'a> {
    /// The incident.
    pub incident: Incident,
    /// Files attached as evidence (each lands at `attachments/<file name>`; folders keep their
    /// structure).
    pub attach: Vec<PathBuf>,
    /// Redacts attachments and the incident description.
    pub redactor: &'a Redactor,
    /// Signing keys.
    pub sign: Vec<&'a PrivateKey>,
    /// The creation time (default: `SOURCE_DATE_EPOCH`, else now).
    pub created_at: Option<Timestamp>,
    /// The tool recorded.
    pub tool: ToolInfo,
}

/// Seals an incident pack at `out`.
pub fn capture(out: &Path, opts: IncidentOptions<'_>) -> Result<Built, IncidentError> {
    let mut incident = opts.incident;
    incident.schema = INCIDENT_SCHEMA.to_owned();
    incident.check()?;
    let mut bytes = serde_json::to_vec_pretty(&incident).unwrap_or_default();
    bytes.push(b'\n');
    let mut inputs = vec![Input::Bytes {
        at: INCIDENT_FILE.to_owned(),
        bytes,
    }];
    for path in &opts.attach {
        let name =
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| IncidentError::Field {
                    field: "--attach",
                    reason: format!("{}: cannot tell the file's name", path.display()),
                })?;
        inputs.push(Input::PathAs {
            path: path.clone(),
            at: format!("{ATTACHMENTS_DIR}/{name}"),
        });
    }
    let mut build_opts = BuildOptions::new(KIND);
    build_opts.subject = BTreeMap::from([
        ("incident_id".to_owned(), incident.id.clone()),
        ("severity".to_owned(), incident.severity.clone()),
        ("started_at".to_owned(), incident.started_at.clone()),
        ("commit".to_owned(), incident.commit.clone()),
        ("release_tag".to_owned(), incident.release_tag.clone()),
        ("deployment_id".to_owned(), incident.deployment_id.clone()),
    ]);
    build_opts.created_at = opts.created_at;
    build_opts.sign = opts.sign;
    build_opts.redactor = Some(opts.redactor);
    build_opts.tool = opts.tool;
    Ok(build::create(out, &inputs, &build_opts)?)
}

/// Renders a Markdown post-mortem skeleton from a verified incident pack whose
/// `incident.json` bytes were captured during verification.
pub fn postmortem(bundle: &Verified<VerifiedBundle>, signed: bool) -> Result<String, String> {
    let bytes = bundle
        .captured
        .get(&format!("payload/{INCIDENT_FILE}"))
        .ok_or("the pack holds no incident.json")?;
    let incident: Incident =
        crate::json::from_slice_strict(bytes, &crate::json::JsonLimits::default())
            .map_err(|e| format!("incident.json: {e}"))?;
    if bundle.manifest.kind != KIND {
        return Err(format!(
            "the bundle is of kind {:?}, not {KIND:?}",
            bundle.manifest.kind
        ));
    }
    // Table cells: no line breaks, no pipes, no control characters.
    let cell = |s: &str| -> String { printable(s).replace('|', "\\|").replace('\n', " ") };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Post-mortem: {} ({})\n",
        cell(&incident.id),
        cell(&incident.severity)
    );
    let _ = writeln!(
        md,
        "> Prefilled from evidence pack `{}`{}. Sections marked TODO are for the humans.\n",
        bundle.id,
        if signed {
            format!(
                ", signed by {}",
                bundle
                    .signers
                    .iter()
                    .map(|s| format!("{} (`{}`)", cell(&s.name), s.key_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            " (integrity checked; NOT verified against a trusted key)".to_owned()
        }
    );
    let _ = writeln!(md, "## Summary\n\n{}\n", printable(&incident.summary));
    let _ = writeln!(md, "## Facts\n\n| field | value |\n|---|---|");
    for (k, v) in [
        ("incident", incident.id.as_str()),
        ("severity", incident.severity.as_str()),
        ("started at", incident.started_at.as_str()),
        ("commit", incident.commit.as_str()),
        ("release tag", incident.release_tag.as_str()),
        ("deployment id", incident.deployment_id.as_str()),
        (
            "remediation commit",
            incident.remediation_commit.as_deref().unwrap_or("TODO"),
        ),
        (
            "pack created at (claimed)",
            bundle.manifest.created_at.as_str(),
        ),
    ] {
        let _ = writeln!(md, "| {k} | `{}` |", cell(v));
    }
    let ids = [
        ("trace ids", &incident.trace_ids),
        ("request ids", &incident.request_ids),
        ("idempotency keys", &incident.idempotency_keys),
    ];
    if ids.iter().any(|(_, v)| !v.is_empty()) {
        let _ = writeln!(md, "\n## Correlation ids\n");
        for (name, values) in ids {
            for v in values {
                let _ = writeln!(md, "- {name}: `{}`", cell(v));
            }
        }
    }
    let _ = writeln!(md, "\n## Timeline (UTC)\n\n| time | event |\n|---|---|");
    let _ = writeln!(md, "| {} | Incident started |", incident.started_at);
    for e in &incident.timeline {
        let _ = writeln!(md, "| {} | {} |", e.at, cell(&e.text));
    }
    let _ = writeln!(md, "| TODO | Resolved |");
    let _ = writeln!(
        md,
        "\n## Impact\n\nTODO: who was affected, for how long, what it cost.\n"
    );
    let _ = writeln!(md, "## Root cause\n\nTODO\n");
    let _ = writeln!(
        md,
        "## Evidence index\n\n| file | bytes | sha256 |\n|---|---|---|"
    );
    for f in &bundle.manifest.files {
        let _ = writeln!(md, "| `{}` | {} | `{}` |", cell(&f.path), f.size, f.sha256);
    }
    if bundle.manifest.redaction.applied {
        let total: u64 = bundle.manifest.redaction.counts.values().sum();
        let _ = writeln!(
            md,
            "\n{total} secret value(s) were redacted before sealing."
        );
    }
    let _ = writeln!(md, "\n## Verification\n");
    if incident.verification_commands.is_empty() {
        let _ = writeln!(md, "TODO: commands that prove the fix.");
    } else {
        let _ = writeln!(md, "```sh");
        for c in &incident.verification_commands {
            let _ = writeln!(md, "{}", printable(c));
        }
        let _ = writeln!(md, "```");
    }
    let _ = writeln!(
        md,
        "\n## Action items\n\n| action | owner | due | ticket |\n|---|---|---|---|\n| TODO | TODO | TODO | TODO |"
    );
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{VerifyOptions, verify_path};
    use crate::keys::{NamedKey, TrustPolicy};

    fn incident() -> Incident {
        Incident {
            schema: String::new(),
            id: "INC-2026-0042".into(),
            severity: "P1".into(),
            started_at: "2026-11-24T08:15:00+01:00".into(),
            summary: "Order router rejected all paper orders.".into(),
            commit: "3f2c1e9".into(),
            release_tag: "v1.4.2".into(),
            deployment_id: "dep-42".into(),
            trace_ids: vec!["trace-abc123".into()],
            request_ids: vec!["req-1".into()],
            idempotency_keys: vec!["idem-7f3a".into()],
            timeline: vec![
                Event::parse("2026-11-24T07:40:00Z=Rollback started").unwrap(),
                Event::parse("2026-11-24T07:20:00Z=Alert fired").unwrap(),
            ],
            remediation_commit: None,
            verification_commands: vec!["release-verify dist/ --trusted-key ops.pub".into()],
        }
    }

    #[test]
    fn packs_are_sealed_redacted_and_rendered() {
        let tmp = tempfile::tempdir().unwrap();
        let key = PrivateKey::from_seed(&[3; 32]);
        let log = tmp.path().join("router.log");
        std::fs::write(
            &log,
            "07:20 auth header Bearer abcdefghijklmnopqrstuvwxyz0123456789\n",
        )
        .unwrap();
        let redactor = Redactor::new(&[]).unwrap();
        let out = tmp.path().join("pack");
        let built = capture(
            &out,
            IncidentOptions {
                incident: incident(),
                attach: vec![log],
                redactor: &redactor,
                sign: vec![&key],
                created_at: Some(Timestamp::parse("2026-11-24T09:00:00Z").unwrap()),
                tool: ToolInfo {
                    name: "evidence".into(),
                    version: "test".into(),
                },
            },
        )
        .unwrap();
        assert_eq!(built.manifest.subject["incident_id"], "INC-2026-0042");
        assert_eq!(built.manifest.subject["started_at"], "2026-11-24T07:15:00Z");
        let trust = TrustPolicy::new(
            vec![NamedKey {
                name: "oncall".into(),
                key: key.public(),
            }],
            1,
        )
        .unwrap();
        let capture_list = ["payload/incident.json"];
        let v = verify_path(
            &out,
            &VerifyOptions {
                trust: Some(&trust),
                capture: &capture_list,
                ..VerifyOptions::default()
            },
        );
        let bundle = v.bundle.unwrap();
        let log = std::fs::read_to_string(out.join("payload/attachments/router.log")).unwrap();
        assert!(
            !log.contains("abcdefghijklmnopqrstuvwxyz0123456789"),
            "{log}"
        );
        assert_eq!(
            bundle.manifest.redaction.counts.get("bearer-token"),
            Some(&1)
        );
        let md = postmortem(&bundle, true).unwrap();
        assert!(md.starts_with("# Post-mortem: INC-2026-0042 (P1)"));
        let alert = md.find("Alert fired").unwrap();
        let rollback = md.find("Rollback started").unwrap();
        assert!(alert < rollback, "the timeline is sorted");
        assert!(md.contains("`payload/attachments/router.log`"));
        assert!(md.contains("idem-7f3a"));
        assert!(md.contains("signed by oncall"));
    }

    #[test]
    fn missing_or_malformed_fields_are_named() {
        type Edit = fn(&mut Incident);
        let cases: Vec<(Edit, &str)> = vec![
            (|i| i.summary.clear(), "--summary"),
            (|i| i.severity = "P5".into(), "--severity"),
            (|i| i.started_at = "yesterday".into(), "--started-at"),
            (|i| i.commit = "main".into(), "--commit"),
            (|i| i.deployment_id = " ".into(), "--deployment-id"),
            (
                |i| i.remediation_commit = Some("zz".into()),
                "--remediation-commit",
            ),
        ];
        for (edit, flag) in cases {
            let mut i = incident();
            edit(&mut i);
            match i.check() {
                Err(IncidentError::Field { field, .. }) => assert_eq!(field, flag),
                other => panic!("{flag}: {other:?}"),
            }
        }
        assert!(Event::parse("no-equals").is_err());
        assert!(Event::parse("2026-11-24T07:20:00Z=").is_err());
        assert!(check_severity("SEV-2").is_ok());
    }
}
