//! Live capture (`evidence deploy capture`): fetch a running service's endpoints as a profile
//! lists them, check what each answers, and seal the redacted responses, the assertion report
//! and the profile into a signed `deployment` bundle.
//!
//! A service that answers garbage, times out or redirects elsewhere still yields a complete,
//! verifiable bundle: every failure is a check in the report, never a crash and never a
//! half-written pack (the bundle is built beside the destination and renamed into place).
//! Secrets are redacted on parsed values before sealing, the bearer token among them; the
//! token is sent only to the target's origin.
//!
//! Payload layout:
//!
//! ```text
//! payload/capture.json          target, profile name, times (claims), endpoint list
//! payload/profile.json          the exact profile used (rollback rehearsal reads it)
//! payload/capture-report.json   the assertion report (evidence.report/v1)
//! payload/packets/<name>.json   one packet per endpoint (see [`packet`])
//! payload/logs/stdout.txt       with --logs-command: its output (and stderr.txt)
//! ```
//!
//! [`capture`] runs these stages in order over one state, each adding checks to its section
//! of the report:
//!
//! 1. prepare: parse the target, build the redactor (the token among the forbidden values)
//!    and fix the creation time; only this stage can refuse the capture.
//! 2. fetch, per endpoint: GET it ([`http`]), keep its packet, check its assertions
//!    (`assertions`).
//! 3. subject: find the values the profile names in the packets (`subject`).
//! 4. logs: with `--logs-command`, run it bounded in time and size (`logs`).
//! 5. conclude: put the verdict into the subject, redact the report.
//! 6. seal: write packets, profile, report and `capture.json` into the signed bundle.

mod doctor;
mod hashed;
pub mod http;
mod logs;
pub mod profile;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::bundle::ToolInfo;
use crate::bundle::build::{self, BuildError, BuildOptions, Built, Input};
use crate::bundle::manifest::MAX_SUBJECT_VALUE_BYTES;
use crate::keys::PrivateKey;
use crate::redact::Redactor;
use crate::report::{Check, Report, Status, check_codes};
use crate::text::printable;
use crate::timestamp::Timestamp;
use http::{Client, Fetched, HttpOptions, Target, TargetError};
use logs::run_logs;
use profile::{Predicate, Profile, When};

/// Check codes of this module.
pub mod codes {
    use super::check_codes;
    check_codes! {
        CAPTURE_ASSERTION = "capture-assertion":
            "A profile assertion about one endpoint's response held (pass), did not (fail), or did not apply to this run (skip).";
        CAPTURE_ENDPOINT_ERROR = "capture-endpoint-error":
            "An endpoint could not be fetched: connection refused, timeout, TLS failure, too many redirects, or a body over the size cap.";
        CAPTURE_REDIRECT_LEFT_ORIGIN = "capture-redirect-left-origin":
            "An endpoint redirected to another origin; the redirect was followed without the bearer token.";
        CAPTURE_SUBJECT_MISSING = "capture-subject-missing":
            "A subject value the profile names (deployment id, commit, ...) was not found in the responses.";
        CAPTURE_LOGS = "capture-logs":
            "The --logs-command ran and its output was captured (pass), or it failed, timed out or was cut at the size cap (fail).";
        CAPTURE_DOCTOR = "capture-doctor":
            "A profile doctor check, named by its doctor member (for zero-paper: a railway_doctor.py check), came out pass, warn or fail as that tool decides.";
        CAPTURE_SELF_HASH = "capture-self-hash":
            "A self-hashed claim or heartbeat in a packet was scanned and redaction left it intact (pass), or redaction changed it and its self-hash can no longer be checked (warn).";
    }
}
use codes::*;

/// The bundle kind of a capture.
pub const KIND: &str = "deployment";
/// Where packets are stored in the bundle.
pub const PACKETS_DIR: &str = "packets";
/// The stored profile.
pub const PROFILE_FILE: &str = "profile.json";
/// The stored assertion report.
pub const REPORT_FILE: &str = "capture-report.json";
/// The capture description.
pub const CAPTURE_FILE: &str = "capture.json";
/// The schema of `capture.json`.
pub const CAPTURE_SCHEMA: &str = "evidence.capture/v1";
/// The schema of a packet.
pub const PACKET_SCHEMA: &str = "evidence.capture-packet/v1";

/// Limits and time for `--logs-command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogsOptions {
    /// Longest run.
    pub timeout: Duration,
    /// Most bytes kept of stdout, and of stderr.
    pub max_bytes: u64,
}

impl Default for LogsOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            max_bytes: 16 << 20,
        }
    }
}

/// What to capture and how.
#[derive(Debug)]
pub struct CaptureOptions<'a> {
    /// The service's base URL.
    pub target: &'a str,
    /// The profile.
    pub profile: &'a Profile,
    /// The bearer token for endpoints marked `auth` (sent only to the target's origin).
    pub token: Option<&'a str>,
    /// Values that must not appear in the bundle; the token is added to them.
    pub forbid_tokens: &'a [String],
    /// Keys to sign with.
    pub sign: Vec<&'a PrivateKey>,
    /// A shell command whose output is captured as logs.
    pub logs_command: Option<&'a str>,
    /// HTTP limits and timeouts.
    pub http: HttpOptions,
    /// Logs limits.
    pub logs: LogsOptions,
    /// The creation time to record (default: `SOURCE_DATE_EPOCH`, else now).
    pub created_at: Option<Timestamp>,
    /// The tool recorded in the manifest.
    pub tool: ToolInfo,
}

/// Why a capture could not run (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The target URL is not acceptable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The redactor refused a forbidden token.
    #[error("{0}")]
    Redact(String),
    /// The bundle could not be written.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A finished capture: the bundle written and the assertion report.
#[derive(Debug)]
pub struct Captured {
    /// The bundle.
    pub built: Built,
    /// The assertion report (also stored in the bundle).
    pub report: Report,
}

/// Captures `opts.target` into a new bundle at `out`.
pub fn capture(out: &Path, opts: &CaptureOptions<'_>) -> Result<Captured, CaptureError> {
    let mut run = prepare(opts)?;
    let client = Client::new(opts.http);
    for endpoint in &opts.profile.endpoints {
        fetch(&mut run, &client, endpoint);
    }
    for check in doctor::run(opts.profile, &run.packets, opts.token) {
        run.report.push(check.in_section("doctor"));
    }
    for check in hashed::checks(&run.packets, &run.redactor) {
        run.report.push(check.in_section("redaction"));
    }
    find_subject(&mut run);
    if let Some(command) = opts.logs_command {
        let (checks, files) = run_logs(command, &opts.logs);
        for c in checks {
            run.report.push(c.in_section("logs"));
        }
        run.inputs.extend(files);
    }
    let finished = Timestamp::now();
    let verdict = conclude(&mut run);
    seal(out, run, finished, verdict)
}

/// One capture in progress: what the stages read and add to.
struct Run<'a> {
    opts: &'a CaptureOptions<'a>,
    target: Target,
    redactor: Redactor,
    created_at: Timestamp,
    started: Timestamp,
    report: Report,
    /// Endpoint name to its packet.
    packets: BTreeMap<String, Value>,
    /// The manifest subject, filled in as the stages learn it.
    subject: BTreeMap<String, String>,
    /// Files for the bundle, in the order they are added.
    inputs: Vec<Input>,
}

/// Stage 1: everything that can refuse the capture before a request is sent (nothing is
/// written when it does).
fn prepare<'a>(opts: &'a CaptureOptions<'a>) -> Result<Run<'a>, CaptureError> {
    let target = Target::parse(opts.target)?;
    let mut forbidden: Vec<String> = opts.forbid_tokens.to_vec();
    if let Some(t) = opts.token {
        forbidden.push(t.to_owned());
    }
    let redactor = Redactor::new(&forbidden)
        .map_err(|e| CaptureError::Redact(e.to_string()))?
        .with_opt_in(&opts.profile.opt_in_classes());
    let created_at = match opts.created_at {
        Some(t) => t,
        None => Timestamp::now_or_source_date_epoch().map_err(BuildError::from)?,
    };
    let report = Report::new(json!({
        "kind": "deployment-capture",
        "target": target.url,
        "profile": opts.profile.name,
    }));
    let subject = BTreeMap::from([
        ("target".to_owned(), target.url.clone()),
        ("profile".to_owned(), opts.profile.name.clone()),
    ]);
    Ok(Run {
        opts,
        target,
        redactor,
        created_at,
        started: Timestamp::now(),
        report,
        packets: BTreeMap::new(),
        subject,
        inputs: Vec::with_capacity(opts.profile.endpoints.len() + 5),
    })
}

/// Stage 2, per endpoint: fetch it, keep its packet, and check the profile's assertions
/// about it (section `assertions`).
fn fetch(run: &mut Run<'_>, client: &Client, endpoint: &profile::Endpoint) {
    let url = run.target.join(&endpoint.path);
    let token = if endpoint.auth { run.opts.token } else { None };
    let fetched = client.get(&url, &run.target.origin, token);
    let at = |c: Check| {
        c.with_path(endpoint.path.clone())
            .in_section("assertions")
            .with("endpoint", endpoint.name.clone())
    };
    if let Some(e) = &fetched.error {
        run.report.push(at(Check::fail(
            CAPTURE_ENDPOINT_ERROR,
            printable(e).into_owned(),
        )));
    }
    if fetched.left_origin {
        run.report.push(at(Check::warn(
            CAPTURE_REDIRECT_LEFT_ORIGIN,
            "redirected to another origin; followed without the bearer token",
        )));
    }
    let packet = packet(endpoint, &url, &fetched, token.is_some());
    for assertion in &endpoint.assertions {
        let check = assertion_check(assertion, &packet, run.opts.token);
        run.report.push(at(check));
    }
    run.packets.insert(endpoint.name.clone(), packet);
}

/// One assertion over a packet: skipped when its `when` does not match whether a token was
/// given, else pass or fail.
fn assertion_check(assertion: &profile::Assertion, packet: &Value, token: Option<&str>) -> Check {
    let applies = match assertion.when {
        When::Always => true,
        When::Token => token.is_some(),
        When::NoToken => token.is_none(),
    };
    let what = assertion.check.describe();
    if !applies {
        return Check::skip(
            CAPTURE_ASSERTION,
            format!(
                "{what}: applies only {}",
                if assertion.when == When::Token {
                    "with a token"
                } else {
                    "without a token"
                }
            ),
        );
    }
    match evaluate_with(&assertion.check, packet, token) {
        Ok(()) => Check::pass(CAPTURE_ASSERTION, what),
        Err(seen) => Check::fail(CAPTURE_ASSERTION, format!("{what}: {seen}")),
    }
}

/// Stage 3: the subject, what the service says about itself where the profile says to look
/// (section `subject`).
fn find_subject(run: &mut Run<'_>) {
    for (key, locators) in &run.opts.profile.subject {
        let found = locators.iter().find_map(|l| {
            run.packets
                .get(&l.endpoint)
                .and_then(|p| json_payload(p))
                .and_then(|v| v.pointer(&l.pointer))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        });
        let usable =
            |v: &String| v.len() <= MAX_SUBJECT_VALUE_BYTES && !looks_secret(&run.redactor, v);
        match found.filter(usable) {
            Some(v) => {
                run.subject.insert(key.clone(), v);
            }
            None => run.report.push(
                Check::warn(
                    CAPTURE_SUBJECT_MISSING,
                    format!(
                        "no usable {key} in the responses (too long, secret-looking, or absent)"
                    ),
                )
                .in_section("subject"),
            ),
        }
    }
}

/// Stage 5, once every check is in: the verdict (`pass` or `fail`) into the subject, and the
/// report redacted.
fn conclude(run: &mut Run<'_>) -> &'static str {
    // The verdict is part of the signed subject, so a later reader need not trust anything
    // outside the manifest.
    let verdict = if run.report.ok() { "pass" } else { "fail" };
    run.subject
        .insert("capture_result".to_owned(), verdict.to_owned());
    // The report never carries a secret: details that echo response values are redacted too.
    redact_report(&mut run.report, &run.redactor);
    verdict
}

/// Stage 6: the packets, the profile, the report and `capture.json` are sealed with the
/// logs into the signed bundle at `out`.
fn seal(
    out: &Path,
    mut run: Run<'_>,
    finished: Timestamp,
    verdict: &str,
) -> Result<Captured, CaptureError> {
    let opts = run.opts;
    for (name, packet) in &run.packets {
        run.inputs.push(Input::Bytes {
            at: format!("{PACKETS_DIR}/{name}.json"),
            bytes: pretty(packet),
        });
    }
    run.inputs.push(Input::Bytes {
        at: PROFILE_FILE.to_owned(),
        bytes: pretty(&serde_json::to_value(opts.profile).unwrap_or(Value::Null)),
    });
    run.inputs.push(Input::Bytes {
        at: REPORT_FILE.to_owned(),
        bytes: run.report.to_json_pretty().into_bytes(),
    });
    run.inputs.push(Input::Bytes {
        at: CAPTURE_FILE.to_owned(),
        bytes: pretty(&json!({
            "schema": CAPTURE_SCHEMA,
            "target": run.target.url,
            "profile": opts.profile.name,
            "started_at": run.started.to_string(),
            "finished_at": finished.to_string(),
            "token_given": opts.token.is_some(),
            "endpoints": opts.profile.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>(),
            "result": verdict,
        })),
    });
    let mut build_opts = BuildOptions::new(KIND);
    build_opts.subject = run.subject;
    build_opts.created_at = Some(run.created_at);
    build_opts.sign = opts.sign.clone();
    build_opts.redactor = Some(&run.redactor);
    build_opts.tool = opts.tool.clone();
    let built = build::create(out, &run.inputs, &build_opts)?;
    Ok(Captured {
        built,
        report: run.report,
    })
}

/// True when redaction would change `text`: it holds a secret or a forbidden token.
fn looks_secret(redactor: &Redactor, text: &str) -> bool {
    let mut value = Value::String(text.to_owned());
    redactor.redact_value(&mut value).total() > 0
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A stored packet (`evidence.capture-packet/v1`):
/// `{schema, endpoint, path, url, auth, status, headers, body_format, payload, error,
/// redirects}`. `headers` maps lower-case names to a string (or a list for repeated headers);
/// `body_format` is `json` (payload is the parsed body), `text` (a string), `base64` (a body
/// that is not UTF-8) or `none`.
pub fn packet(
    endpoint: &profile::Endpoint,
    url: &str,
    fetched: &Fetched,
    token_sent: bool,
) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in &fetched.headers {
        match headers.get_mut(name) {
            Some(Value::Array(list)) => list.push(Value::String(value.clone())),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value.clone())]);
            }
            None => {
                headers.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    let limits = crate::json::JsonLimits::default();
    let (format, payload) = if fetched.body.is_empty() {
        ("none", Value::Null)
    } else if let Ok(v) = crate::json::parse_strict(&fetched.body, &limits) {
        ("json", v)
    } else if let Ok(text) = std::str::from_utf8(&fetched.body) {
        ("text", Value::String(text.to_owned()))
    } else {
        (
            "base64",
            Value::String(crate::dsse::encode_base64(&fetched.body)),
        )
    };
    json!({
        "schema": PACKET_SCHEMA,
        "endpoint": endpoint.name,
        "path": endpoint.path,
        "url": url,
        "auth": token_sent,
        "status": fetched.status,
        "headers": headers,
        "body_format": format,
        "payload": payload,
        "error": fetched.error,
        "redirects": fetched.redirects.iter().map(|(s, l)| json!({"status": s, "location": l})).collect::<Vec<_>>(),
    })
}

/// The parsed JSON body of a packet, when its body was JSON.
pub fn json_payload(packet: &Value) -> Option<&Value> {
    (packet.get("body_format").and_then(Value::as_str) == Some("json"))
        .then(|| packet.get("payload"))
        .flatten()
}

/// Evaluates a predicate over a packet; `Err` says what was seen instead.
pub fn evaluate(predicate: &Predicate, packet: &Value) -> Result<(), String> {
    evaluate_with(predicate, packet, None)
}

/// [`evaluate`] for a capture given `token` (`body-excludes` with `token` looks for it).
fn evaluate_with(predicate: &Predicate, packet: &Value, token: Option<&str>) -> Result<(), String> {
    match predicate {
        Predicate::Status { any_of } => match packet.get("status").and_then(Value::as_u64) {
            Some(s) if any_of.iter().any(|a| u64::from(*a) == s) => Ok(()),
            Some(s) => Err(format!("status was {s}")),
            None => Err("no response".to_owned()),
        },
        Predicate::HeaderPresent { name } => {
            let present = packet
                .get("headers")
                .and_then(Value::as_object)
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(name)));
            if present {
                Ok(())
            } else {
                Err("header absent".to_owned())
            }
        }
        Predicate::JsonEquals { pointer, value } => json_at(packet, pointer, |v| v == value),
        Predicate::JsonTrue { pointer } => json_at(packet, pointer, |v| *v == Value::Bool(true)),
        Predicate::JsonFalse { pointer } => json_at(packet, pointer, |v| *v == Value::Bool(false)),
        Predicate::JsonExists { pointer } => json_at(packet, pointer, |_| true),
        Predicate::JsonOneOf { pointer, values } => {
            json_at(packet, pointer, |v| values.contains(v))
        }
        Predicate::JsonObject { pointer } => json_at(packet, pointer, Value::is_object),
        Predicate::BodyExcludes { strings } => body_excludes(packet, strings, None, false),
        Predicate::BodyExcludesAnyCase {
            strings,
            token: with_token,
        } => body_excludes(packet, strings, token.filter(|_| *with_token), true),
    }
}

/// The JSON predicates: the value at `pointer` in the JSON body satisfies `holds`.
fn json_at(packet: &Value, pointer: &str, holds: impl Fn(&Value) -> bool) -> Result<(), String> {
    let body_json = json_payload(packet);
    match body_json.and_then(|b| b.pointer(pointer)) {
        Some(v) if holds(v) => Ok(()),
        Some(v) => {
            // What was found, cut to a readable length.
            let text = v.to_string();
            let shown = if text.len() > 120 {
                format!("{}...", text.chars().take(117).collect::<String>())
            } else {
                text
            };
            Err(format!("found {shown}"))
        }
        None if body_json.is_none() => Err("the body is not JSON".to_owned()),
        None => Err("nothing there".to_owned()),
    }
}

/// `body-excludes`: none of `strings` (nor `token`) occurs in the body (a JSON body as its
/// text). The token is never named in the result.
fn body_excludes(
    packet: &Value,
    strings: &[String],
    token: Option<&str>,
    ignore_case: bool,
) -> Result<(), String> {
    let body = match packet.get("payload") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let fold = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        }
    };
    let body = fold(&body);
    let found: Vec<&str> = strings
        .iter()
        .filter(|s| body.contains(&fold(s)))
        .map(String::as_str)
        .chain(
            token
                .filter(|t| body.contains(&fold(t)))
                .map(|_| "the token"),
        )
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!("the body contains {found:?}"))
    }
}

/// Redacts every check detail and data value of a report.
fn redact_report(report: &mut Report, redactor: &Redactor) {
    for check in &mut report.checks {
        let mut detail = Value::String(check.detail.to_string());
        if redactor.redact_value(&mut detail).total() > 0
            && let Value::String(s) = detail
        {
            check.detail = s.into();
        }
        let mut data = Value::Object(std::mem::take(&mut check.data));
        redactor.redact_value(&mut data);
        if let Value::Object(map) = data {
            check.data = map;
        }
    }
}

/// True when every check of a stored capture report that failed is absent: a convenience for
/// readers of [`REPORT_FILE`].
pub fn report_passed(report: &Report) -> bool {
    report.ok() && report.checks.iter().all(|c| c.status != Status::Fail)
}

#[cfg(test)]
mod tests;
