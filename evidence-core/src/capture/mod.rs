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

pub mod http;
pub mod profile;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let target = Target::parse(opts.target)?;
    let mut forbidden: Vec<String> = opts.forbid_tokens.to_vec();
    if let Some(t) = opts.token {
        forbidden.push(t.to_owned());
    }
    let redactor = Redactor::new(&forbidden).map_err(|e| CaptureError::Redact(e.to_string()))?;
    let created_at = match opts.created_at {
        Some(t) => t,
        None => Timestamp::now_or_source_date_epoch().map_err(BuildError::from)?,
    };
    let started = Timestamp::now();

    let client = Client::new(opts.http);
    let mut report = Report::new(json!({
        "kind": "deployment-capture",
        "target": target.url,
        "profile": opts.profile.name,
    }));
    let mut packets: BTreeMap<String, Value> = BTreeMap::new();
    for endpoint in &opts.profile.endpoints {
        let url = target.join(&endpoint.path);
        let token = if endpoint.auth { opts.token } else { None };
        let fetched = client.get(&url, &target.origin, token);
        let at = |c: Check| {
            c.with_path(endpoint.path.clone())
                .in_section("assertions")
                .with("endpoint", endpoint.name.clone())
        };
        if let Some(e) = &fetched.error {
            report.push(at(Check::fail(
                CAPTURE_ENDPOINT_ERROR,
                printable(e).into_owned(),
            )));
        }
        if fetched.left_origin {
            report.push(at(Check::warn(
                CAPTURE_REDIRECT_LEFT_ORIGIN,
                "redirected to another origin; followed without the bearer token",
            )));
        }
        let packet = packet(endpoint, &url, &fetched, token.is_some());
        for assertion in &endpoint.assertions {
            let applies = match assertion.when {
                When::Always => true,
                When::Token => opts.token.is_some(),
                When::NoToken => opts.token.is_none(),
            };
            let what = assertion.check.describe();
            let check = if !applies {
                Check::skip(
                    CAPTURE_ASSERTION,
                    format!(
                        "{what}: applies only {}",
                        if assertion.when == When::Token {
                            "with a token"
                        } else {
                            "without a token"
                        }
                    ),
                )
            } else {
                match evaluate(&assertion.check, &packet) {
                    Ok(()) => Check::pass(CAPTURE_ASSERTION, what),
                    Err(seen) => Check::fail(CAPTURE_ASSERTION, format!("{what}: {seen}")),
                }
            };
            report.push(at(check));
        }
        packets.insert(endpoint.name.clone(), packet);
    }

    // The subject: what the service says about itself, where the profile says to look.
    let mut subject = BTreeMap::from([
        ("target".to_owned(), target.url.clone()),
        ("profile".to_owned(), opts.profile.name.clone()),
    ]);
    for (key, locators) in &opts.profile.subject {
        let found = locators.iter().find_map(|l| {
            packets
                .get(&l.endpoint)
                .and_then(|p| json_payload(p))
                .and_then(|v| v.pointer(&l.pointer))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        });
        match found.filter(|v| v.len() <= MAX_SUBJECT_VALUE_BYTES && !looks_secret(&redactor, v)) {
            Some(v) => {
                subject.insert(key.clone(), v);
            }
            None => report.push(
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

    let mut inputs = Vec::with_capacity(packets.len() + 5);
    if let Some(command) = opts.logs_command {
        let (checks, files) = run_logs(command, &opts.logs);
        for c in checks {
            report.push(c.in_section("logs"));
        }
        inputs.extend(files);
    }
    let finished = Timestamp::now();
    // The verdict is part of the signed subject, so a later reader need not trust anything
    // outside the manifest.
    let verdict = if report.ok() { "pass" } else { "fail" };
    subject.insert("capture_result".to_owned(), verdict.to_owned());
    // The report never carries a secret: details that echo response values are redacted too.
    redact_report(&mut report, &redactor);

    for (name, packet) in &packets {
        inputs.push(Input::Bytes {
            at: format!("{PACKETS_DIR}/{name}.json"),
            bytes: pretty(packet),
        });
    }
    inputs.push(Input::Bytes {
        at: PROFILE_FILE.to_owned(),
        bytes: pretty(&serde_json::to_value(opts.profile).unwrap_or(Value::Null)),
    });
    inputs.push(Input::Bytes {
        at: REPORT_FILE.to_owned(),
        bytes: report.to_json_pretty().into_bytes(),
    });
    inputs.push(Input::Bytes {
        at: CAPTURE_FILE.to_owned(),
        bytes: pretty(&json!({
            "schema": CAPTURE_SCHEMA,
            "target": target.url,
            "profile": opts.profile.name,
            "started_at": started.to_string(),
            "finished_at": finished.to_string(),
            "token_given": opts.token.is_some(),
            "endpoints": opts.profile.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>(),
            "result": verdict,
        })),
    });
    let mut build_opts = BuildOptions::new(KIND);
    build_opts.subject = subject;
    build_opts.created_at = Some(created_at);
    build_opts.sign = opts.sign.clone();
    build_opts.redactor = Some(&redactor);
    build_opts.tool = opts.tool.clone();
    let built = build::create(out, &inputs, &build_opts)?;
    Ok(Captured { built, report })
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
    let shown = |v: Option<&Value>| match v {
        None => "nothing there".to_owned(),
        Some(v) => {
            let text = v.to_string();
            if text.len() > 120 {
                format!("{}...", text.chars().take(117).collect::<String>())
            } else {
                text
            }
        }
    };
    let body_json = json_payload(packet);
    let at = |pointer: &str| body_json.and_then(|b| b.pointer(pointer));
    let no_json = || {
        if body_json.is_none() {
            "the body is not JSON".to_owned()
        } else {
            "nothing there".to_owned()
        }
    };
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
        Predicate::JsonEquals { pointer, value } => match at(pointer) {
            Some(v) if v == value => Ok(()),
            Some(v) => Err(format!("found {}", shown(Some(v)))),
            None => Err(no_json()),
        },
        Predicate::JsonTrue { pointer } => match at(pointer) {
            Some(Value::Bool(true)) => Ok(()),
            Some(v) => Err(format!("found {}", shown(Some(v)))),
            None => Err(no_json()),
        },
        Predicate::JsonFalse { pointer } => match at(pointer) {
            Some(Value::Bool(false)) => Ok(()),
            Some(v) => Err(format!("found {}", shown(Some(v)))),
            None => Err(no_json()),
        },
        Predicate::JsonExists { pointer } => match at(pointer) {
            Some(_) => Ok(()),
            None => Err(no_json()),
        },
        Predicate::BodyExcludes { strings } => {
            let body = match packet.get("payload") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let found: Vec<&str> = strings
                .iter()
                .filter(|s| body.contains(s.as_str()))
                .map(String::as_str)
                .collect();
            if found.is_empty() {
                Ok(())
            } else {
                Err(format!("the body contains {found:?}"))
            }
        }
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

/// How long the output pipes may stay open once the logs command's process group was ended:
/// a process that left the group (`setsid`) and still holds them is not waited for.
const LOGS_DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What a reader thread kept of one pipe; shared so that a reader still blocked when the wait
/// ends gives up what it has.
#[derive(Debug, Default)]
struct Drained {
    kept: Vec<u8>,
    cut: bool,
}

/// Reads `pipe` to its end into `sink` (at most `limit` bytes kept, the rest drained so the
/// command never blocks on a full pipe), then says so on `done`.
fn drain(
    pipe: Option<impl std::io::Read + Send + 'static>,
    limit: u64,
    sink: std::sync::Arc<std::sync::Mutex<Drained>>,
    done: std::sync::mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let Ok(mut d) = sink.lock() else { break };
                let room = usize::try_from(limit.saturating_sub(d.kept.len() as u64))
                    .unwrap_or(usize::MAX)
                    .min(n);
                d.kept
                    .extend_from_slice(buf.get(..room).unwrap_or_default());
                if room < n {
                    d.cut = true;
                }
            }
        }
        let _ = done.send(());
    });
}

/// Sends SIGKILL to the process group `pgid` (the shell's pid: it leads its own group).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Runs the logs command (`sh -c`), bounded in time and size.
///
/// The shell leads its own process group. When it exits, or when the time is up, the whole
/// group is killed: a background child (`sleep 1000 &`) would otherwise hold the output pipes
/// open and the capture would wait for it forever. The readers are then given
/// [`LOGS_DRAIN_GRACE`] to see the pipes close; a process that left the group and still
/// holds them is not waited for (its reader is abandoned, the output kept so far is used and
/// the check fails). The run therefore ends within the timeout plus that grace.
fn run_logs(command: &str, opts: &LogsOptions) -> (Vec<Check>, Vec<Input>) {
    let started = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return (
                vec![Check::fail(
                    CAPTURE_LOGS,
                    format!("cannot start the logs command: {e}"),
                )],
                Vec::new(),
            );
        }
    };
    let limit = opts.max_bytes;
    let (done, finished) = std::sync::mpsc::channel();
    let out = std::sync::Arc::new(std::sync::Mutex::new(Drained::default()));
    let err = std::sync::Arc::new(std::sync::Mutex::new(Drained::default()));
    drain(child.stdout.take(), limit, out.clone(), done.clone());
    drain(child.stderr.take(), limit, err.clone(), done);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // What the shell left running goes with it. (While the group has members its
                // id is not reused; without members there is nothing left to end.)
                kill_group(child.id());
                break Some(status);
            }
            Ok(None) if started.elapsed() >= opts.timeout => {
                kill_group(child.id());
                let _ = child.kill();
                timed_out = true;
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => {
                kill_group(child.id());
                break None;
            }
        }
    };
    // Bounded: both readers report, or the grace runs out.
    let drain_deadline = Instant::now() + LOGS_DRAIN_GRACE;
    let mut closed = 0;
    while closed < 2 {
        let left = drain_deadline.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            break;
        }
        closed += 1;
    }
    let take = |d: &std::sync::Mutex<Drained>| {
        d.lock()
            .map(|mut d| (std::mem::take(&mut d.kept), d.cut))
            .unwrap_or_default()
    };
    let (stdout, out_cut) = take(&out);
    let (stderr, err_cut) = take(&err);
    let mut problems = Vec::new();
    if timed_out {
        problems.push(format!("timed out after {} s", opts.timeout.as_secs()));
    }
    match status {
        Some(s) if s.success() => {}
        Some(s) => problems.push(format!("exited with {s}")),
        None => problems.push("its exit status is unknown".to_owned()),
    }
    if out_cut || err_cut {
        problems.push(format!("output cut at {limit} bytes"));
    }
    if closed < 2 {
        problems.push(format!(
            "output was still held open {} s after its process group ended (a process that left the group?); the output read so far is kept",
            LOGS_DRAIN_GRACE.as_secs()
        ));
    }
    let check = if problems.is_empty() {
        Check::pass(
            CAPTURE_LOGS,
            format!(
                "{} bytes of output, {} bytes of errors",
                stdout.len(),
                stderr.len()
            ),
        )
    } else {
        Check::fail(
            CAPTURE_LOGS,
            format!("the logs command {}", problems.join("; ")),
        )
    };
    let mut files = vec![Input::Bytes {
        at: "logs/stdout.txt".to_owned(),
        bytes: stdout,
    }];
    if !stderr.is_empty() {
        files.push(Input::Bytes {
            at: "logs/stderr.txt".to_owned(),
            bytes: stderr,
        });
    }
    (
        vec![check.with(
            "command_status",
            status.map(|s| s.to_string()).unwrap_or_default(),
        )],
        files,
    )
}

/// True when every check of a stored capture report that failed is absent: a convenience for
/// readers of [`REPORT_FILE`].
pub fn report_passed(report: &Report) -> bool {
    report.ok() && report.checks.iter().all(|c| c.status != Status::Fail)
}

#[cfg(test)]
mod tests;
