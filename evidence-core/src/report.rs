//! Verification reports: a list of checks with stable codes, serialised as
//! `evidence.report/v1` (DESIGN section 3, "Report").
//!
//! Every verifier in this crate returns a [`Report`]. Passes are listed next to failures so a
//! reader sees what was checked, not only what went wrong. [`Report::ok`] is true only when no
//! check failed *and* at least one check passed: a report that verified nothing is a failure.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::text::printable;

/// The schema string of a serialised report.
pub const REPORT_SCHEMA: &str = "evidence.report/v1";

/// A stable check code and the one-line meaning documented in `docs/CHECKS.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckCode {
    /// Kebab-case code, unique across the crate.
    pub code: &'static str,
    /// What a check with this code establishes (or found wrong).
    pub summary: &'static str,
}

/// Defines check-code constants and an `ALL` list of them, so a module's codes cannot be
/// forgotten by the registry in [`crate::codes::all`].
macro_rules! check_codes {
    ($( $(#[$meta:meta])* $name:ident = $code:literal : $summary:literal; )*) => {
        $(
            $(#[$meta])*
            #[doc = $summary]
            pub const $name: $crate::report::CheckCode =
                $crate::report::CheckCode { code: $code, summary: $summary };
        )*
        /// Every check code this module defines.
        pub const ALL: &[$crate::report::CheckCode] = &[$($name),*];
    };
}
pub(crate) use check_codes;

/// Codes shared by every verifier.
pub mod codes {
    check_codes! {
        INPUT_UNREADABLE = "input-unreadable":
            "An input file could not be read (missing, permission denied, not a regular file).";
        INPUT_TOO_LARGE = "input-too-large":
            "An input exceeded a hard size or count limit; raise the limit explicitly if it is legitimate.";
        TRUST_NOT_CONFIGURED = "trust-not-configured":
            "No trust anchor was given, so who made the evidence was not checked (a warning when integrity only was asked for).";
    }
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check held.
    Pass,
    /// The check did not hold; the evidence must not be trusted.
    Fail,
    /// Worth a human's attention, but does not fail verification.
    Warn,
    /// The check did not apply or was explicitly relaxed by the caller.
    Skip,
}

impl Status {
    /// The lower-case word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
        }
    }
}

/// One check: what was checked, how it came out, and the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Stable kebab-case code (see `docs/CHECKS.md`).
    pub code: Cow<'static, str>,
    /// Outcome.
    pub status: Status,
    /// Human-readable explanation, never containing secrets.
    pub detail: Cow<'static, str>,
    /// Report section (for example `checksums`, `signatures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Cow<'static, str>>,
    /// The file or element the check is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based line number, for line-oriented inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Further machine-readable facts (`expected`, `actual`, `key_id`, ...).
    #[serde(flatten)]
    pub data: Map<String, Value>,
}

impl Check {
    /// A check with the given code, status and detail.
    pub fn new(code: CheckCode, status: Status, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: Cow::Borrowed(code.code),
            status,
            detail: detail.into(),
            section: None,
            path: None,
            line: None,
            data: Map::new(),
        }
    }

    /// A passing check.
    pub fn pass(code: CheckCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, Status::Pass, detail)
    }

    /// A failing check.
    pub fn fail(code: CheckCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, Status::Fail, detail)
    }

    /// A warning.
    pub fn warn(code: CheckCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, Status::Warn, detail)
    }

    /// A skipped check.
    pub fn skip(code: CheckCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, Status::Skip, detail)
    }

    /// Names the file or element the check is about.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Records a 1-based line number.
    #[must_use]
    pub fn with_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Places the check in a report section.
    #[must_use]
    pub fn in_section(mut self, section: &'static str) -> Self {
        self.section = Some(Cow::Borrowed(section));
        self
    }

    /// Adds a machine-readable fact.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// Marks the check as one consequence of a root cause shared with other checks (one line
    /// naming it, the data member [`CAUSE`]). The text form then prints the cause once instead
    /// of every check it explains, unless verbose; the JSON form keeps every check.
    pub fn with_cause(self, cause: impl Into<String>) -> Self {
        self.with(CAUSE, cause.into())
    }

    /// The root cause this check is marked with ([`Check::with_cause`]).
    pub fn cause(&self) -> Option<&str> {
        self.data.get(CAUSE).and_then(Value::as_str)
    }

    /// True if this check has the given code.
    pub fn is(&self, code: CheckCode) -> bool {
        self.code == code.code
    }
}

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Tool name (`release-verify`, `evidence`, `evidence-core`).
    pub name: String,
    /// Tool version.
    pub version: String,
}

impl Tool {
    /// This library, as the tool.
    pub fn library() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Pass/fail/warn/skip counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Checks that passed.
    pub pass: usize,
    /// Checks that failed.
    pub fail: usize,
    /// Warnings.
    pub warn: usize,
    /// Skipped checks.
    #[serde(default)]
    pub skip: usize,
}

/// A verification report (`evidence.report/v1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Who wrote the report.
    pub tool: Tool,
    /// What was verified (free-form JSON, usually an object).
    pub subject: Value,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// An empty report about `subject`, written by this library.
    pub fn new(subject: Value) -> Self {
        Self {
            tool: Tool::library(),
            subject,
            checks: Vec::new(),
        }
    }

    /// Appends a check.
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// Appends every check of another report, tagging untagged ones with `section`.
    pub fn absorb(&mut self, other: Report, section: &'static str) {
        for mut check in other.checks {
            if check.section.is_none() {
                check.section = Some(Cow::Borrowed(section));
            }
            self.checks.push(check);
        }
    }

    /// Places every check from index `first` on that has no section yet in `section`.
    pub fn set_section(&mut self, first: usize, section: &'static str) {
        for check in self.checks.iter_mut().skip(first) {
            if check.section.is_none() {
                check.section = Some(Cow::Borrowed(section));
            }
        }
    }

    /// Counts per status.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Warn => s.warn += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }

    /// True iff no check failed and at least one passed (DESIGN section 3: zero items verified
    /// is a failure, never a pass).
    pub fn ok(&self) -> bool {
        let s = self.summary();
        s.fail == 0 && s.pass > 0
    }

    /// True if some check has this code.
    pub fn has(&self, code: CheckCode) -> bool {
        self.checks.iter().any(|c| c.is(code))
    }

    /// The checks with this code.
    pub fn with_code(&self, code: CheckCode) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.is(code))
    }

    /// The failing checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The report as a JSON value in the `evidence.report/v1` shape.
    pub fn to_json_value(&self) -> Value {
        serde_json::to_value(ReportJson::from(self)).unwrap_or(Value::Null)
    }

    /// The report as pretty-printed JSON text with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(&ReportJson::from(self)).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a report back from its JSON form. `ok` and `summary` are recomputed from the
    /// checks and must agree with what the document claims.
    pub fn from_json(value: Value) -> Result<Self, ReportError> {
        let raw: ReportJson<'static> =
            serde_json::from_value(value).map_err(|e| ReportError::Malformed(e.to_string()))?;
        if raw.schema != REPORT_SCHEMA {
            return Err(ReportError::Schema(raw.schema.into_owned()));
        }
        let report = Report {
            tool: raw.tool,
            subject: raw.subject,
            checks: raw.checks.into_owned(),
        };
        if report.ok() != raw.ok || report.summary() != raw.summary {
            return Err(ReportError::Inconsistent);
        }
        Ok(report)
    }

    /// Human-readable rendering: one line per failing check and per warning (all checks when
    /// `verbose`), then a summary line. A report that passed without a trust anchor says in
    /// its verdict that only integrity was checked, so the word `OK` alone always means
    /// authenticated.
    ///
    /// Without `verbose`, checks that share a root cause ([`Check::with_cause`]) print as one
    /// line where the first of them stood: the cause, under the worst status among them, and
    /// how many failures and warnings it explains.
    pub fn to_text(&self, verbose: bool) -> String {
        let mut out = String::new();
        let mut causes_shown: Vec<&str> = Vec::new();
        for c in &self.checks {
            let show = verbose || matches!(c.status, Status::Fail | Status::Warn);
            if !show {
                continue;
            }
            if let Some(cause) = c.cause().filter(|_| !verbose) {
                if !causes_shown.contains(&cause) {
                    causes_shown.push(cause);
                    self.write_cause(&mut out, cause);
                }
                continue;
            }
            let _ = write!(out, "{:<4} {}", c.status.as_str().to_uppercase(), c.code);
            if let Some(path) = &c.path {
                let _ = write!(out, " {}", printable(path));
                if let Some(line) = c.line {
                    let _ = write!(out, ":{line}");
                }
            } else if let Some(line) = c.line {
                let _ = write!(out, " line {line}");
            }
            let _ = writeln!(out, ": {}", printable(&c.detail));
        }
        let s = self.summary();
        let verdict = match (self.ok(), self.has(codes::TRUST_NOT_CONFIGURED)) {
            (false, _) => "FAILED",
            (true, false) => "OK",
            (true, true) => "OK (unauthenticated: integrity only)",
        };
        let _ = writeln!(
            out,
            "{verdict}: {} passed, {} failed, {}, {} skipped",
            s.pass,
            s.fail,
            crate::text::count(s.warn as u64, "warning"),
            s.skip
        );
        out
    }
}

impl Report {
    /// One line for the failures and warnings sharing `cause`.
    fn write_cause(&self, out: &mut String, cause: &str) {
        let shared: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| c.cause() == Some(cause) && matches!(c.status, Status::Fail | Status::Warn))
            .collect();
        let failed = shared.iter().filter(|c| c.status == Status::Fail).count();
        let status = if failed > 0 {
            Status::Fail
        } else {
            Status::Warn
        };
        let warned = shared.len() - failed;
        let mut counts = Vec::new();
        if failed > 0 {
            counts.push(crate::text::count(failed as u64, "failed check"));
        }
        if warned > 0 {
            counts.push(crate::text::count(warned as u64, "warning"));
        }
        let _ = writeln!(
            out,
            "{:<4} {}: {} ({}; -v shows each)",
            status.as_str().to_uppercase(),
            shared.first().map_or("", |c| c.code.as_ref()),
            printable(cause),
            counts.join(", ")
        );
    }
}

/// The data member naming a check's root cause ([`Check::with_cause`]).
pub const CAUSE: &str = "cause";

/// Why a serialised report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Not a report object.
    #[error("malformed report: {0}")]
    Malformed(String),
    /// Wrong schema string.
    #[error("unsupported report schema {0:?}")]
    Schema(String),
    /// `ok` or `summary` disagree with the checks.
    #[error("report's ok/summary fields disagree with its checks")]
    Inconsistent,
}

#[derive(Serialize, Deserialize)]
struct ReportJson<'a> {
    schema: Cow<'a, str>,
    tool: Tool,
    subject: Value,
    ok: bool,
    summary: Summary,
    checks: Cow<'a, [Check]>,
}

impl<'a> From<&'a Report> for ReportJson<'a> {
    fn from(r: &'a Report) -> Self {
        ReportJson {
            schema: Cow::Borrowed(REPORT_SCHEMA),
            tool: r.tool.clone(),
            subject: r.subject.clone(),
            ok: r.ok(),
            summary: r.summary(),
            checks: Cow::Borrowed(&r.checks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_report_is_not_ok() {
        let r = Report::new(Value::Null);
        assert!(!r.ok());
        let mut r = Report::new(Value::Null);
        r.push(Check::skip(codes::INPUT_UNREADABLE, "nothing"));
        assert!(!r.ok(), "only skipped checks verify nothing");
    }

    #[test]
    fn one_failure_makes_the_report_fail() {
        let mut r = Report::new(Value::Null);
        r.push(Check::pass(codes::INPUT_UNREADABLE, "fine"));
        r.push(Check::warn(codes::INPUT_TOO_LARGE, "hmm"));
        assert!(r.ok());
        r.push(Check::fail(codes::INPUT_TOO_LARGE, "bad"));
        assert!(!r.ok());
        assert_eq!(
            r.summary(),
            Summary {
                pass: 1,
                fail: 1,
                warn: 1,
                skip: 0
            }
        );
    }

    #[test]
    fn json_shape_matches_the_design() {
        let mut r = Report::new(serde_json::json!({"kind": "test"}));
        r.push(
            Check::fail(codes::INPUT_UNREADABLE, "gone")
                .with_path("a.bin")
                .with_line(3)
                .in_section("checksums")
                .with("expected", "x"),
        );
        let v = r.to_json_value();
        assert_eq!(v["schema"], REPORT_SCHEMA);
        assert_eq!(v["tool"]["name"], "evidence-core");
        assert_eq!(v["ok"], false);
        assert_eq!(v["summary"]["fail"], 1);
        assert_eq!(v["checks"][0]["code"], "input-unreadable");
        assert_eq!(v["checks"][0]["status"], "fail");
        assert_eq!(v["checks"][0]["path"], "a.bin");
        assert_eq!(v["checks"][0]["line"], 3);
        assert_eq!(v["checks"][0]["section"], "checksums");
        assert_eq!(v["checks"][0]["expected"], "x");
        let back = Report::from_json(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn edited_ok_field_is_refused() {
        let mut r = Report::new(Value::Null);
        r.push(Check::fail(codes::INPUT_UNREADABLE, "gone"));
        let mut v = r.to_json_value();
        v["ok"] = Value::Bool(true);
        assert_eq!(Report::from_json(v), Err(ReportError::Inconsistent));
    }

    #[test]
    fn text_rendering_escapes_control_characters() {
        let mut r = Report::new(Value::Null);
        r.push(Check::fail(codes::INPUT_UNREADABLE, "x").with_path("evil\nOK: all good"));
        let text = r.to_text(false);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.ends_with("FAILED: 0 passed, 1 failed, 0 warnings, 0 skipped\n"));
    }

    #[test]
    fn a_pass_without_a_trust_anchor_says_integrity_only() {
        let mut r = Report::new(Value::Null);
        r.push(Check::pass(codes::INPUT_UNREADABLE, "fine"));
        r.push(Check::warn(codes::TRUST_NOT_CONFIGURED, "integrity only"));
        assert!(r.ok());
        assert!(r.to_text(false).ends_with(
            "OK (unauthenticated: integrity only): 1 passed, 0 failed, 1 warning, 0 skipped\n"
        ));
        r.checks[1].status = Status::Fail;
        assert!(r.to_text(false).starts_with("FAIL trust-not-configured: "));
        assert!(
            r.to_text(false)
                .ends_with("FAILED: 1 passed, 1 failed, 0 warnings, 0 skipped\n")
        );
    }
}
