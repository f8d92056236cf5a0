//! Capture profiles (`evidence.capture-profile/v1`): which endpoints to fetch from a running
//! service, what each response must show, what identifies the deployment, and which
//! assertions must hold before the deployment may serve as a rollback target.
//!
//! A profile is strict JSON (duplicate keys and unknown members refused):
//!
//! ```json
//! {
//!   "schema": "evidence.capture-profile/v1",
//!   "name": "health",
//!   "endpoints": [
//!     {"name": "health", "path": "/health", "auth": false,
//!      "assert": [{"check": "status", "in": [200]},
//!                 {"check": "json-equals", "pointer": "/status", "value": "ok"}]}
//!   ],
//!   "subject": {"deployment_id": {"endpoint": "health", "pointer": "/deployment_id"}},
//!   "rollback_preconditions": [
//!     {"endpoint": "health", "check": "json-equals", "pointer": "/status", "value": "ok"}
//!   ]
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::{self, JsonLimits};

/// The schema string of a profile.
pub const PROFILE_SCHEMA: &str = "evidence.capture-profile/v1";
/// Largest profile file: 1 MiB.
pub const MAX_PROFILE_BYTES: u64 = 1 << 20;
/// Most endpoints in a profile.
pub const MAX_ENDPOINTS: usize = 256;
/// Most assertions per endpoint, and rollback preconditions per profile.
pub const MAX_ASSERTIONS: usize = 256;

const HEALTH: &str = include_str!("profiles/health.json");
const ZERO_PAPER: &str = include_str!("profiles/zero-paper.json");

/// The built-in profiles: name and JSON text.
pub const BUILT_IN: &[(&str, &str)] = &[("health", HEALTH), ("zero-paper", ZERO_PAPER)];

/// A capture profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always [`PROFILE_SCHEMA`].
    pub schema: String,
    /// The profile's name (recorded in the bundle).
    pub name: String,
    /// A line saying what the profile is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Endpoints, fetched in this order.
    pub endpoints: Vec<Endpoint>,
    /// Bundle subject keys taken from responses (`deployment_id`, `commit`, ...): the first
    /// locator that finds a string or number wins; none found leaves the key out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subject: BTreeMap<String, Vec<Locator>>,
    /// Assertions a capture must satisfy to be a rollback target, evaluated on its stored
    /// packets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollback_preconditions: Vec<Precondition>,
    /// Checks reproducing another tool's verdicts (the predecessor's `railway_doctor.py` for
    /// zero-paper), each reported with its `doctor` name as pass, warn or fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doctor: Vec<DoctorCheck>,
    /// Opt-in value classes redacted from everything sealed (`crate::redact::OPT_IN` names),
    /// on top of the built-in secret classes, which are always redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    /// Where a capture holds a bound claim and heartbeat pair (`identity create
    /// --from-capture`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityPair>,
}

/// One doctor check: gates over one endpoint's packet, tried in order; the first that does
/// not hold decides the outcome, and when all hold the check passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorCheck {
    /// The name the other tool gives the check (reported as the check's `doctor` member).
    pub doctor: String,
    /// The endpoint whose packet the gates read.
    pub endpoint: String,
    /// The gates, in order.
    pub require: Vec<Gate>,
    /// The outcome when no token was given, without evaluating the gates (a check that
    /// needs the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<Outcome>,
}

/// A gate of a doctor check: all predicates must hold, else the outcome is `else`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// The predicates.
    pub all: Vec<Predicate>,
    /// The outcome when one does not hold.
    #[serde(rename = "else")]
    pub otherwise: Outcome,
    /// The name the other tool reports this outcome under, when it differs from the
    /// check's (`railway_doctor.py` names an unreachable `network_profile_privacy` check
    /// `network_profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_as: Option<String>,
}

/// A doctor outcome other than pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A warning: the capture still passes.
    Warn,
    /// A failure.
    Fail,
}

/// A claim and heartbeat pair inside one packet's JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPair {
    /// The endpoint whose packet holds the pair.
    pub endpoint: String,
    /// JSON pointer to the claim.
    pub claim: String,
    /// JSON pointer to the heartbeat.
    pub heartbeat: String,
}

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// A name, unique in the profile: `a-z`, `0-9`, `-` (it names the stored packet).
    pub name: String,
    /// Path and query, starting with `/`, appended to the target's origin.
    pub path: String,
    /// Whether the bearer token is sent (only when one is given, and only to the target's
    /// origin).
    #[serde(default)]
    pub auth: bool,
    /// What the response must show.
    #[serde(default, rename = "assert", skip_serializing_if = "Vec::is_empty")]
    pub assertions: Vec<Assertion>,
}

/// When an assertion applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// Always.
    #[default]
    Always,
    /// Only when a token was given.
    Token,
    /// Only when no token was given (for example: paid scopes refuse anonymous callers).
    NoToken,
}

impl When {
    fn is_always(&self) -> bool {
        *self == When::Always
    }
}

/// One assertion about a response. (Unknown members are refused by the predicate: serde
/// cannot deny them on a struct that flattens another.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    /// What is checked.
    #[serde(flatten)]
    pub check: Predicate,
    /// When it applies.
    #[serde(default, skip_serializing_if = "When::is_always")]
    pub when: When,
}

/// A predicate over a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Predicate {
    /// The HTTP status is one of these.
    Status {
        /// Accepted statuses.
        #[serde(rename = "in")]
        any_of: Vec<u16>,
    },
    /// A response header is present (name compared case-insensitively).
    HeaderPresent {
        /// The header name.
        name: String,
    },
    /// The JSON body has this value at this pointer (RFC 6901).
    JsonEquals {
        /// The pointer.
        pointer: String,
        /// The value.
        value: Value,
    },
    /// The JSON body has `true` at this pointer.
    JsonTrue {
        /// The pointer.
        pointer: String,
    },
    /// The JSON body has `false` at this pointer.
    JsonFalse {
        /// The pointer.
        pointer: String,
    },
    /// The JSON body has some value at this pointer.
    JsonExists {
        /// The pointer.
        pointer: String,
    },
    /// The JSON body has one of these values at this pointer.
    JsonOneOf {
        /// The pointer.
        pointer: String,
        /// The accepted values.
        values: Vec<Value>,
    },
    /// The JSON body has an object at this pointer (`""`: the body is a JSON object).
    JsonObject {
        /// The pointer.
        pointer: String,
    },
    /// The body contains none of these strings.
    BodyExcludes {
        /// The strings.
        strings: Vec<String>,
    },
    /// The body contains none of these strings in any ASCII case (as the predecessor's
    /// doctor compares), nor, with `token`, the bearer token given to the capture.
    BodyExcludesAnyCase {
        /// The strings.
        strings: Vec<String>,
        /// The token is one of the strings.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        token: bool,
    },
}

/// Where a subject value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locator {
    /// The endpoint's name.
    pub endpoint: String,
    /// The JSON pointer; the value must be a string or a number.
    pub pointer: String,
}

/// A rollback precondition: a predicate over one endpoint's stored packet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Precondition {
    /// The endpoint's name.
    pub endpoint: String,
    /// A name for the precondition (the predecessor's, for zero-paper), reported with it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What must hold.
    #[serde(flatten)]
    pub check: Predicate,
}

/// Why a profile was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not strict JSON of the profile's shape.
    #[error("not a capture profile: {0}")]
    Json(String),
    /// A rule is broken.
    #[error("capture profile: {0}")]
    Invalid(String),
    /// No built-in profile has this name.
    #[error("no built-in profile {0:?} (built in: health, zero-paper)")]
    Unknown(String),
}

impl Profile {
    /// Parses and checks profile bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProfileError> {
        let limits = JsonLimits {
            max_bytes: MAX_PROFILE_BYTES,
            ..JsonLimits::default()
        };
        let profile: Profile = json::from_slice_strict(bytes, &limits)
            .map_err(|e| ProfileError::Json(e.to_string()))?;
        profile.check()?;
        Ok(profile)
    }

    /// A built-in profile by name.
    pub fn built_in(name: &str) -> Result<Self, ProfileError> {
        let text = BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| ProfileError::Unknown(name.to_owned()))?;
        Self::parse(text.as_bytes())
    }

    /// The endpoint with this name.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Refuses a profile that is not well formed: the first problem found, in the order
    /// schema, name, endpoints, subject, rollback preconditions.
    fn check(&self) -> Result<(), ProfileError> {
        if self.schema != PROFILE_SCHEMA {
            return invalid(format!("schema must be {PROFILE_SCHEMA:?}"));
        }
        if crate::bundle::manifest::check_kind(&self.name).is_err() {
            return invalid("name must be 1-64 characters of a-z, 0-9 and '-'".to_owned());
        }
        if self.endpoints.is_empty() || self.endpoints.len() > MAX_ENDPOINTS {
            return invalid(format!("1 to {MAX_ENDPOINTS} endpoints are required"));
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            self.check_endpoint(i, e)?;
        }
        self.check_subject()?;
        self.check_rollback_preconditions()?;
        self.check_doctor()?;
        self.check_redact_and_identity()
    }

    /// Named doctor checks on known endpoints, each with sound gates.
    fn check_doctor(&self) -> Result<(), ProfileError> {
        if self.doctor.len() > MAX_ASSERTIONS {
            return invalid("too many doctor checks".to_owned());
        }
        for d in &self.doctor {
            let names = std::iter::once(&d.doctor)
                .chain(d.require.iter().filter_map(|g| g.reported_as.as_ref()));
            if names.into_iter().any(|n| n.is_empty() || n.len() > 64) {
                return invalid("doctor check names are 1-64 bytes".to_owned());
            }
            if self.endpoint(&d.endpoint).is_none() {
                return invalid(format!(
                    "doctor check {:?} names unknown endpoint {:?}",
                    d.doctor, d.endpoint
                ));
            }
            if d.require.is_empty()
                || d.require.len() > MAX_ASSERTIONS
                || d.require
                    .iter()
                    .any(|g| g.all.is_empty() || g.all.len() > MAX_ASSERTIONS)
            {
                return invalid(format!(
                    "doctor check {:?}: 1 to {MAX_ASSERTIONS} gates of 1 to {MAX_ASSERTIONS} predicates",
                    d.doctor
                ));
            }
            for p in d.require.iter().flat_map(|g| &g.all) {
                check_predicate(p).map_err(|m| {
                    ProfileError::Invalid(format!("doctor check {:?}: {m}", d.doctor))
                })?;
            }
        }
        Ok(())
    }

    /// Opt-in class names the redactor knows; an identity pair in a known endpoint.
    fn check_redact_and_identity(&self) -> Result<(), ProfileError> {
        if let Some(name) = self.redact.iter().find(|n| {
            !crate::redact::SecretClass::from_name(n)
                .is_some_and(|c| crate::redact::OPT_IN.contains(&c))
        }) {
            return invalid(format!(
                "redact: {name:?} is not an opt-in class (tracing-id, idempotency-key, platform-id, key-assignment)"
            ));
        }
        if let Some(pair) = &self.identity {
            if self.endpoint(&pair.endpoint).is_none() {
                return invalid(format!(
                    "identity names unknown endpoint {:?}",
                    pair.endpoint
                ));
            }
            check_pointer(&pair.claim).map_err(ProfileError::Invalid)?;
            check_pointer(&pair.heartbeat).map_err(ProfileError::Invalid)?;
        }
        Ok(())
    }

    /// The opt-in classes of [`Profile::redact`] (names were checked when parsing).
    pub fn opt_in_classes(&self) -> Vec<crate::redact::SecretClass> {
        self.redact
            .iter()
            .filter_map(|n| crate::redact::SecretClass::from_name(n))
            .collect()
    }

    /// Endpoint `i`: a unique name, a path under the target, bounded sound assertions.
    fn check_endpoint(&self, i: usize, e: &Endpoint) -> Result<(), ProfileError> {
        if crate::bundle::manifest::check_kind(&e.name).is_err() {
            return invalid(format!(
                "endpoint {i}: name {:?} must be 1-64 characters of a-z, 0-9 and '-'",
                e.name
            ));
        }
        if self.endpoints.iter().take(i).any(|o| o.name == e.name) {
            return invalid(format!("endpoint name {:?} appears twice", e.name));
        }
        if !e.path.starts_with('/')
            || e.path.starts_with("//")
            || e.path.contains(char::is_whitespace)
        {
            return invalid(format!(
                "endpoint {:?}: path must start with a single '/' and hold no white space",
                e.name
            ));
        }
        if e.assertions.len() > MAX_ASSERTIONS {
            return invalid(format!("endpoint {:?}: too many assertions", e.name));
        }
        for a in &e.assertions {
            check_predicate(&a.check)
                .map_err(|m| ProfileError::Invalid(format!("endpoint {:?}: {m}", e.name)))?;
        }
        Ok(())
    }

    /// Subject keys the manifest accepts, each located in a known endpoint.
    fn check_subject(&self) -> Result<(), ProfileError> {
        for (key, locators) in &self.subject {
            if crate::bundle::manifest::check_subject_key(key).is_err() {
                return invalid(format!(
                    "subject key {key:?} must be a-z, 0-9, '_', '.', '-'"
                ));
            }
            for locator in locators {
                if self.endpoint(&locator.endpoint).is_none() {
                    return invalid(format!(
                        "subject {key:?} names unknown endpoint {:?}",
                        locator.endpoint
                    ));
                }
                check_pointer(&locator.pointer).map_err(ProfileError::Invalid)?;
            }
        }
        Ok(())
    }

    /// A bounded number of rollback preconditions, each on a known endpoint.
    fn check_rollback_preconditions(&self) -> Result<(), ProfileError> {
        if self.rollback_preconditions.len() > MAX_ASSERTIONS {
            return invalid("too many rollback preconditions".to_owned());
        }
        for p in &self.rollback_preconditions {
            if self.endpoint(&p.endpoint).is_none() {
                return invalid(format!(
                    "rollback precondition names unknown endpoint {:?}",
                    p.endpoint
                ));
            }
            check_predicate(&p.check).map_err(ProfileError::Invalid)?;
        }
        Ok(())
    }
}

fn invalid(message: String) -> Result<(), ProfileError> {
    Err(ProfileError::Invalid(message))
}

fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "JSON pointer {pointer:?} must be empty or start with '/'"
        ))
    }
}

fn check_predicate(p: &Predicate) -> Result<(), String> {
    match p {
        Predicate::Status { any_of } if any_of.is_empty() => {
            Err("a status check needs at least one status".to_owned())
        }
        Predicate::Status { any_of } if any_of.iter().any(|s| !(100..=599).contains(s)) => {
            Err("statuses are 100-599".to_owned())
        }
        Predicate::HeaderPresent { name } if name.is_empty() => Err("empty header name".to_owned()),
        Predicate::JsonEquals { pointer, .. }
        | Predicate::JsonTrue { pointer }
        | Predicate::JsonFalse { pointer }
        | Predicate::JsonExists { pointer }
        | Predicate::JsonObject { pointer } => check_pointer(pointer),
        Predicate::JsonOneOf { values, .. } if values.is_empty() => {
            Err("a json-one-of check needs at least one value".to_owned())
        }
        Predicate::JsonOneOf { pointer, .. } => check_pointer(pointer),
        Predicate::BodyExcludes { strings } | Predicate::BodyExcludesAnyCase { strings, .. }
            if strings.iter().any(String::is_empty) =>
        {
            Err("body-excludes strings may not be empty".to_owned())
        }
        _ => Ok(()),
    }
}

impl Predicate {
    /// A short human description (`status in [200]`, `/ready is false`).
    pub fn describe(&self) -> String {
        match self {
            Predicate::Status { any_of } => format!("status in {any_of:?}"),
            Predicate::HeaderPresent { name } => format!("header {name} present"),
            Predicate::JsonEquals { pointer, value } => format!("{pointer} equals {value}"),
            Predicate::JsonTrue { pointer } => format!("{pointer} is true"),
            Predicate::JsonFalse { pointer } => format!("{pointer} is false"),
            Predicate::JsonExists { pointer } => format!("{pointer} exists"),
            Predicate::JsonOneOf { pointer, values } => {
                let shown: Vec<String> = values.iter().map(Value::to_string).collect();
                format!("{pointer} is one of [{}]", shown.join(", "))
            }
            Predicate::JsonObject { pointer } if pointer.is_empty() => {
                "the body is a JSON object".to_owned()
            }
            Predicate::JsonObject { pointer } => format!("{pointer} is an object"),
            Predicate::BodyExcludes { strings } => format!("body contains none of {strings:?}"),
            Predicate::BodyExcludesAnyCase { strings, token } => format!(
                "body contains none of {strings:?}{} in any case",
                if *token { " nor the token" } else { "" }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profiles_parse() {
        let health = Profile::built_in("health").unwrap();
        assert_eq!(health.endpoints.len(), 1);
        let zero = Profile::built_in("zero-paper").unwrap();
        // The predecessor's 14 packets (each expected to answer 200), then the doctor's 8
        // other endpoints (the paid history twice: without and with the token).
        let expected_200 = zero.endpoints.iter().filter(|e| !e.assertions.is_empty());
        assert_eq!(expected_200.count(), 14, "the predecessor's 14 packets");
        assert_eq!(zero.endpoints.len(), 22, "the doctor's 22 requests");
        assert_eq!(zero.doctor.len(), 18, "railway_doctor.py's 18 checks");
        assert_eq!(
            zero.rollback_preconditions.len(),
            10,
            "the predecessor's ten"
        );
        assert!(zero.identity.is_some() && zero.opt_in_classes().len() == 4);
        assert!(matches!(
            Profile::built_in("nope"),
            Err(ProfileError::Unknown(_))
        ));
    }

    #[test]
    fn built_in_profiles_survive_their_own_redaction() {
        // A capture stores its profile redacted; rollback rehearsal and identity create read
        // it back, so nothing in a built-in profile may look like a secret.
        for (name, _) in BUILT_IN {
            let profile = Profile::built_in(name).unwrap();
            let redactor = crate::redact::Redactor::new(&[])
                .unwrap()
                .with_opt_in(&profile.opt_in_classes());
            let mut value = serde_json::to_value(&profile).unwrap();
            assert_eq!(redactor.redact_value(&mut value).total(), 0, "{name}");
        }
    }

    #[test]
    fn bad_profiles_are_refused_with_a_reason() {
        let base = serde_json::json!({
            "schema": PROFILE_SCHEMA, "name": "p",
            "endpoints": [{"name": "h", "path": "/health", "assert": [{"check": "status", "in": [200]}]}]
        });
        assert!(Profile::parse(base.to_string().as_bytes()).is_ok());
        let cases = [
            ("/schema", serde_json::json!("other")),
            ("/name", serde_json::json!("Bad Name")),
            ("/endpoints/0/path", serde_json::json!("health")),
            ("/endpoints/0/path", serde_json::json!("//evil.example/x")),
            ("/endpoints/0/assert/0/in", serde_json::json!([])),
            (
                "/endpoints/0/assert/0/check",
                serde_json::json!("status-ish"),
            ),
            ("/endpoints/0/extra", serde_json::json!(1)),
            (
                "/subject",
                serde_json::json!({"deployment_id": [{"endpoint": "nope", "pointer": "/x"}]}),
            ),
            ("/endpoints/0/assert/0/bogus", serde_json::json!(1)),
            (
                "/rollback_preconditions",
                serde_json::json!([{"endpoint": "h", "check": "json-true", "pointer": "x"}]),
            ),
        ];
        for (pointer, value) in cases {
            let mut doc = base.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            doc.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert(key.to_owned(), value);
            assert!(
                Profile::parse(doc.to_string().as_bytes()).is_err(),
                "{pointer} must be refused"
            );
        }
        let dup =
            br#"{"schema":"evidence.capture-profile/v1","name":"p","name":"q","endpoints":[]}"#;
        assert!(matches!(Profile::parse(dup), Err(ProfileError::Json(_))));
    }
}
