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
use crate::json::JsonError;
use crate::keys::PrivateKey;
use crate::redact::Redactor;
use crate::report::check_codes;
use crate::text::printable;
use crate::timestamp::Timestamp;

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        INCIDENT_INVALID = "incident-invalid":
            "An incident pack verified, but it is not of kind incident or its incident.json is not a valid evidence.incident/v1: no post-mortem is rendered from it.";
    }
}

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
        for event in &mut self.timeline {
            let at = Timestamp::parse_rfc3339(&event.at)
                .map_err(|e| field("--event", format!("{}: {e}", printable(&event.at))))?;
            event.at = at.to_string();
            if event.text.trim().is_empty()
                || event.text.len() > 4096
                || event.text.chars().any(|c| c.is_control() && c != '\n')
            {
                return Err(field(
                    "--event",
                    format!(
                        "the event at {} needs a text of at most 4096 bytes without control characters",
                        event.at
                    ),
                ));
            }
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

/// Why no post-mortem was rendered from a verified pack (check `incident-invalid`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostmortemError {
    /// The bundle is of another kind.
    #[error("the bundle is of kind {0:?}, not {KIND:?}")]
    Kind(String),
    /// The pack holds no `incident.json` (or its bytes were not kept during verification).
    #[error("the pack holds no incident.json")]
    Missing,
    /// `incident.json` is not strict JSON of the incident's shape.
    #[error("incident.json: {0}")]
    Json(#[from] JsonError),
    /// `incident.json` has another schema.
    #[error("incident.json: schema {0:?} is not {INCIDENT_SCHEMA:?}")]
    Schema(String),
    /// A field breaks the rules [`Incident::check`] applies when a pack is captured.
    #[error("incident.json: {0}")]
    Invalid(#[source] IncidentError),
}

/// ASCII punctuation that can open Markdown (or HTML) inside a line: escaped with a backslash
/// wherever text from evidence is written.
const MD_SPECIAL: &[char] = &[
    '\\', '`', '*', '_', '~', '[', ']', '(', ')', '<', '>', '!', '&', '|', '#', '$',
];

/// Text from evidence as Markdown inline text: control characters escaped ([`printable`]),
/// then every character that could open emphasis, a link, an image, a code span, raw HTML, an
/// entity, math or a table cell boundary escaped with a backslash, so it renders as itself.
fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        if MD_SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text from evidence that starts a line: as [`md_text`], without leading white space (an
/// indented code block), and with what would open a block there (a list, quote, heading or
/// rule) escaped.
fn md_line(text: &str) -> String {
    let text = md_text(text.trim_start());
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    match text.as_bytes().get(digits) {
        Some(b'.' | b')') if digits > 0 => {
            format!(
                "{}\\{}",
                text.get(..digits).unwrap_or_default(),
                text.get(digits..).unwrap_or_default()
            )
        }
        Some(b'-' | b'+' | b'=') if digits == 0 => format!("\\{text}"),
        _ => text,
    }
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Lines from evidence as a fenced code block whose fence is longer than any backtick run in
/// them, so no line can close it early.
fn md_fenced(lines: &[String], info: &str) -> String {
    let lines: Vec<String> = lines.iter().map(|l| printable(l).into_owned()).collect();
    let run = lines
        .iter()
        .map(|l| longest_backtick_run(l))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(run.max(2) + 1);
    let mut out = format!("{fence}{info}\n");
    for l in &lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

/// Renders a Markdown post-mortem skeleton from a verified incident pack whose
/// `incident.json` bytes were captured during verification.
///
/// The pack is not taken on trust: `incident.json` is read strictly and checked again as
/// [`capture`] checks it, and every value from it is escaped (recorded commands go into a
/// code fence they cannot close).
pub fn postmortem(
    bundle: &Verified<VerifiedBundle>,
    signed: bool,
) -> Result<String, PostmortemError> {
    let incident = read_incident(bundle)?;
    let mut md = String::new();
    heading(&mut md, bundle, &incident, signed);
    facts(&mut md, bundle, &incident);
    timeline(&mut md, &incident);
    evidence_index(&mut md, bundle);
    verification(&mut md, &incident);
    Ok(md)
}

/// `incident.json` of an incident pack, read strictly and checked.
fn read_incident(bundle: &Verified<VerifiedBundle>) -> Result<Incident, PostmortemError> {
    if bundle.manifest.kind != KIND {
        return Err(PostmortemError::Kind(
            printable(&bundle.manifest.kind).into_owned(),
        ));
    }
    let bytes = bundle
        .captured
        .get(&format!("payload/{INCIDENT_FILE}"))
        .ok_or(PostmortemError::Missing)?;
    let mut incident: Incident =
        crate::json::from_slice_strict(bytes, &crate::json::JsonLimits::default())?;
    if incident.schema != INCIDENT_SCHEMA {
        return Err(PostmortemError::Schema(
            printable(&incident.schema).into_owned(),
        ));
    }
    incident.check().map_err(PostmortemError::Invalid)?;
    Ok(incident)
}

/// The title, where the text comes from (and who signed it), and the summary.
fn heading(md: &mut String, bundle: &Verified<VerifiedBundle>, incident: &Incident, signed: bool) {
    let _ = writeln!(
        md,
        "# Post-mortem: {} ({})\n",
        md_text(&incident.id),
        md_text(&incident.severity)
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
                    .map(|s| format!("{} (`{}`)", md_text(&s.name), s.key_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            " (integrity checked; NOT verified against a trusted key)".to_owned()
        }
    );
    let _ = writeln!(md, "## Summary\n\n{}\n", md_line(&incident.summary));
}

/// The facts table, and the correlation ids when there are any.
fn facts(md: &mut String, bundle: &Verified<VerifiedBundle>, incident: &Incident) {
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
        let _ = writeln!(md, "| {k} | {} |", md_text(v));
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
                let _ = writeln!(md, "- {name}: {}", md_text(v));
            }
        }
    }
}

/// The timeline, then the impact and root cause left to the humans.
fn timeline(md: &mut String, incident: &Incident) {
    let _ = writeln!(md, "\n## Timeline (UTC)\n\n| time | event |\n|---|---|");
    let _ = writeln!(
        md,
        "| {} | Incident started |",
        md_text(&incident.started_at)
    );
    for e in &incident.timeline {
        let _ = writeln!(md, "| {} | {} |", md_text(&e.at), md_text(&e.text));
    }
    let _ = writeln!(md, "| TODO | Resolved |");
    let _ = writeln!(
        md,
        "\n## Impact\n\nTODO: who was affected, for how long, what it cost.\n"
    );
    let _ = writeln!(md, "## Root cause\n\nTODO\n");
}

/// Every file of the pack with its size and digest, and how many values were redacted.
fn evidence_index(md: &mut String, bundle: &Verified<VerifiedBundle>) {
    let _ = writeln!(
        md,
        "## Evidence index\n\n| file | bytes | sha256 |\n|---|---|---|"
    );
    for f in &bundle.manifest.files {
        // The digest is 64 hex digits (checked with the manifest): safe in a code span.
        let _ = writeln!(md, "| {} | {} | `{}` |", md_text(&f.path), f.size, f.sha256);
    }
    if bundle.manifest.redaction.applied {
        let total: u64 = bundle.manifest.redaction.counts.values().sum();
        let _ = writeln!(
            md,
            "\n{total} secret value(s) were redacted before sealing."
        );
    }
}

/// The recorded verification commands (fenced), and the action items table.
fn verification(md: &mut String, incident: &Incident) {
    let _ = writeln!(md, "\n## Verification\n");
    if incident.verification_commands.is_empty() {
        let _ = writeln!(md, "TODO: commands that prove the fix.");
    } else {
        md.push_str(&md_fenced(&incident.verification_commands, "sh"));
    }
    let _ = writeln!(
        md,
        "\n## Action items\n\n| action | owner | due | ticket |\n|---|---|---|---|\n| TODO | TODO | TODO | TODO |"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{VerifyOptions, verify_path};
    use crate::json::JsonError;
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
        assert!(md.contains("| payload/attachments/router.log |"));
        assert!(md.contains("idem-7f3a"));
        assert!(md.contains("signed by oncall"));
    }

    fn oncall() -> (PrivateKey, TrustPolicy) {
        let key = PrivateKey::from_seed(&[3; 32]);
        let trust = TrustPolicy::new(
            vec![NamedKey {
                name: "oncall".into(),
                key: key.public(),
            }],
            1,
        )
        .unwrap();
        (key, trust)
    }

    fn verified(path: &Path, trust: &TrustPolicy) -> Verified<VerifiedBundle> {
        let capture_list = ["payload/incident.json"];
        let v = verify_path(
            path,
            &VerifyOptions {
                trust: Some(trust),
                capture: &capture_list,
                ..VerifyOptions::default()
            },
        );
        v.bundle.unwrap()
    }

    /// A pack sealed by hand, as another tool (or someone holding the key) could: no check
    /// ran on `incident.json` when it was made.
    fn hand_pack(dir: &Path, name: &str, kind: &str, json: &[u8], key: &PrivateKey) -> PathBuf {
        let mut opts = BuildOptions::new(kind);
        opts.created_at = Some(Timestamp::parse("2026-11-24T09:00:00Z").unwrap());
        opts.sign = vec![key];
        let out = dir.join(name);
        build::create(
            &out,
            &[Input::Bytes {
                at: INCIDENT_FILE.into(),
                bytes: json.to_vec(),
            }],
            &opts,
        )
        .unwrap();
        out
    }

    /// Pipes on a line that a GFM table reads as cell boundaries: those not escaped (a
    /// backslash escapes the character after it, whatever it is).
    fn cell_boundaries(line: &str) -> usize {
        let mut count = 0;
        let mut escaped = false;
        for c in line.chars() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' => escaped = true,
                '|' => count += 1,
                _ => {}
            }
        }
        count
    }

    #[test]
    fn hostile_values_cannot_shape_the_postmortem() {
        let tmp = tempfile::tempdir().unwrap();
        let (key, trust) = oncall();
        let mut hostile = incident();
        hostile.id = "INC-1` <b>x</b>".into();
        hostile.summary =
            "1. <img src=x onerror=alert(1)> *bold* [click](https://evil.example) &amp; $x$".into();
        hostile.release_tag = "v1 | injected | cell \\| more".into();
        hostile.trace_ids = vec!["</details><script>alert(1)</script>".into()];
        hostile.timeline = vec![Event::parse("2026-11-24T07:20:00Z=a|b\\|c <i>").unwrap()];
        hostile.verification_commands = vec![
            "echo ```` done".into(),
            "```".into(),
            "# not a heading\n```\n<script>".into(),
        ];
        let redactor = Redactor::new(&[]).unwrap();
        let out = tmp.path().join("pack");
        capture(
            &out,
            IncidentOptions {
                incident: hostile,
                attach: vec![],
                redactor: &redactor,
                sign: vec![&key],
                created_at: None,
                tool: ToolInfo {
                    name: "evidence".into(),
                    version: "test".into(),
                },
            },
        )
        .unwrap();
        let md = postmortem(&verified(&out, &trust), true).unwrap();
        // Outside the code fence, no character from the pack opens HTML, emphasis, a link, an
        // entity or math: each is escaped.
        let (prose, _) = md.split_once("## Verification").unwrap();
        let mut escaped = false;
        for c in prose.chars() {
            if escaped {
                escaped = false;
                continue;
            }
            escaped = c == '\\';
            assert!(
                !matches!(c, '<' | '*' | '[' | '&' | '$'),
                "unescaped {c}:\n{md}"
            );
        }
        assert!(md.contains("\\<img src=x onerror=alert\\(1\\)\\>"), "{md}");
        assert!(
            md.contains("## Summary\n\n1\\. "),
            "no list from the summary:\n{md}"
        );
        // Every table row has its header's columns.
        let mut header: Option<usize> = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                header = None;
                continue;
            }
            let cells = cell_boundaries(line);
            match header {
                None => header = Some(cells),
                Some(expected) => assert_eq!(cells, expected, "{line}"),
            }
        }
        // The commands sit in a fence longer than any backtick run in them, closed once.
        let fence = "`````";
        assert!(md.contains(&format!("\n{fence}sh\n")), "{md}");
        let after = md.split(&format!("{fence}sh\n")).nth(1).unwrap();
        let (inside, rest) = after.split_once(&format!("\n{fence}\n")).unwrap();
        assert_eq!(inside.lines().count(), 3, "{inside}");
        assert!(inside.lines().all(|l| !l.starts_with(fence)));
        assert!(rest.contains("## Action items"));
    }

    #[test]
    fn postmortems_check_the_pack_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (key, trust) = oncall();
        let mut good = incident();
        good.schema = INCIDENT_SCHEMA.into();
        good.check().unwrap();
        let good_json = serde_json::to_value(&good).unwrap();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good_json.clone();
            edit(&mut v);
            serde_json::to_vec(&v).unwrap()
        };
        let pack = |name: &str, json: &[u8]| {
            let path = hand_pack(tmp.path(), name, KIND, json, &key);
            postmortem(&verified(&path, &trust), true)
        };
        assert!(pack("good", &with(&|_| {})).is_ok());
        match pack("severity", &with(&|v| v["severity"] = "P9".into())) {
            Err(PostmortemError::Invalid(IncidentError::Field { field, .. })) => {
                assert_eq!(field, "--severity");
            }
            other => panic!("{other:?}"),
        }
        match pack(
            "control",
            &with(&|v| v["deployment_id"] = "dep\u{1b}[31m".into()),
        ) {
            Err(PostmortemError::Invalid(IncidentError::Field { field, .. })) => {
                assert_eq!(field, "--deployment-id");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            pack(
                "schema",
                &with(&|v| v["schema"] = "evidence.incident/v9".into())
            ),
            Err(PostmortemError::Schema(_))
        ));
        let text = String::from_utf8(with(&|_| {})).unwrap();
        let dup = text.replacen(
            "\"severity\":\"P1\"",
            "\"severity\":\"P1\",\"severity\":\"P9\"",
            1,
        );
        assert_ne!(dup, text);
        assert!(matches!(
            pack("duplicate", dup.as_bytes()),
            Err(PostmortemError::Json(JsonError::DuplicateKey { .. }))
        ));
        let other_kind = hand_pack(tmp.path(), "kind", "deployment", &with(&|_| {}), &key);
        assert!(matches!(
            postmortem(&verified(&other_kind, &trust), true),
            Err(PostmortemError::Kind(_))
        ));
        let nothing_kept = verify_path(
            &tmp.path().join("good"),
            &VerifyOptions {
                trust: Some(&trust),
                ..VerifyOptions::default()
            },
        );
        assert!(matches!(
            postmortem(&nothing_kept.bundle.unwrap(), true),
            Err(PostmortemError::Missing)
        ));
    }

    proptest::proptest! {
        /// Escaped text holds no character that Markdown would act on, and reads back as the
        /// printable form of the original.
        #[test]
        fn escaped_text_is_inert(text in "\\PC{0,40}|[`*_|<>\\\\\\[\\]()!&#$~ a-z0-9.\\n-]{0,40}") {
            let escaped = md_text(&text);
            let mut unescaped = String::new();
            let mut chars = escaped.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    let next = chars.next();
                    proptest::prop_assert!(next.is_some_and(|n| MD_SPECIAL.contains(&n)), "{escaped}");
                    unescaped.extend(next);
                } else {
                    proptest::prop_assert!(!MD_SPECIAL.contains(&c), "{escaped}");
                    proptest::prop_assert!(!c.is_control(), "{escaped}");
                    unescaped.push(c);
                }
            }
            proptest::prop_assert_eq!(unescaped, printable(&text).into_owned());
        }

        /// No line of a fenced block can close it.
        #[test]
        fn fences_cannot_be_closed_from_inside(lines in proptest::collection::vec("[`a ]{0,12}", 0..5)) {
            let block = md_fenced(&lines, "sh");
            let fence: String = block.chars().take_while(|c| *c == '`').collect();
            let body: Vec<&str> = block.lines().collect();
            proptest::prop_assert_eq!(body.len(), lines.len() + 2);
            for line in &body[1..body.len() - 1] {
                proptest::prop_assert!(longest_backtick_run(line) < fence.len());
            }
            proptest::prop_assert_eq!(*body.last().unwrap(), fence.as_str());
        }
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
        // Timeline events read from a pack are held to the rules of the command line.
        let mut i = incident();
        i.timeline.push(Event {
            at: "soon".into(),
            text: "x".into(),
        });
        assert!(matches!(
            i.check(),
            Err(IncidentError::Field {
                field: "--event",
                ..
            })
        ));
        let mut i = incident();
        i.timeline.push(Event {
            at: "2026-11-24T07:30:00+01:00".into(),
            text: " ".into(),
        });
        assert!(matches!(
            i.check(),
            Err(IncidentError::Field {
                field: "--event",
                ..
            })
        ));
        assert!(Event::parse("no-equals").is_err());
        assert!(Event::parse("2026-11-24T07:20:00Z=").is_err());
        assert!(check_severity("SEV-2").is_ok());
    }
}
