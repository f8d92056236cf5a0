//! Checking a claim and heartbeat pair (raw bytes -> checked facts).
//!
//! Lenient on members it does not check, strict on those it does. Every rule below is stated in
//! `docs/FORMAT.md` section 10 with the check code it reports.

use serde_json::{Map, Value};

use super::codes::*;
use super::{
    CLAIM_SCHEMA, CLAIM_TIME_MEMBERS, Freshness, HEARTBEAT_SCHEMA, HEARTBEAT_TIME_MEMBERS,
    IdentityFacts, IdentityLimits, MAX_DEPLOYMENT_ID_BYTES, MAX_FUTURE_SKEW_SECONDS,
    MAX_MODE_BYTES, MODE_MEMBERS, PacketCheck, PacketOptions, SCHEMA_MEMBERS, secrets, section,
};
use crate::digest::Sha256Digest;
use crate::pyjson;
use crate::report::{Check, Report};
use crate::text::printable;
use crate::timestamp::Timestamp;

/// Which packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Claim,
    Heartbeat,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Claim => "claim.json",
            Kind::Heartbeat => "heartbeat.json",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Claim => "claim",
            Kind::Heartbeat => "heartbeat",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Kind::Claim => CLAIM_SCHEMA,
            Kind::Heartbeat => HEARTBEAT_SCHEMA,
        }
    }

    /// The member holding the packet's own hash; it and `signature` are left out of the hash.
    fn hash_member(self) -> &'static str {
        match self {
            Kind::Claim => "claim_hash",
            Kind::Heartbeat => "heartbeat_hash",
        }
    }

    fn hash_code(self) -> crate::report::CheckCode {
        match self {
            Kind::Claim => IDENTITY_CLAIM_HASH,
            Kind::Heartbeat => IDENTITY_HEARTBEAT_HASH,
        }
    }

    fn time_members(self) -> &'static [&'static str] {
        match self {
            Kind::Claim => CLAIM_TIME_MEMBERS,
            Kind::Heartbeat => HEARTBEAT_TIME_MEMBERS,
        }
    }
}

/// Most flag names a passing privacy check lists.
const MAX_LISTED_FLAGS: usize = 32;

/// The member a packet carries its signature in (carried, never used).
const SIGNATURE_MEMBER: &str = "signature";

/// A packet that parsed as a JSON object.
struct Packet {
    kind: Kind,
    map: Map<String, Value>,
    /// The self-hash as the engine computes it.
    recomputed: Sha256Digest,
}

impl Packet {
    fn check(&self, check: Check) -> Check {
        check
            .with_path(self.kind.file())
            .in_section(section::IDENTITY)
    }
}

/// Checks a claim and a heartbeat packet (their exact bytes). With `opts.freshness`, the
/// heartbeat's age is checked too; without it the freshness check is not reported at all, so a
/// caller can add it later with [`freshness_check`].
pub fn check_packets(claim: &[u8], heartbeat: &[u8], opts: &PacketOptions) -> PacketCheck {
    let mut report = Report::new(Value::Null);
    let claim = parse(claim, Kind::Claim, &opts.limits, &mut report);
    let heartbeat = parse(heartbeat, Kind::Heartbeat, &opts.limits, &mut report);
    let mut facts = IdentityFacts::default();

    for packet in [&claim, &heartbeat].into_iter().flatten() {
        schema_check(packet, &mut report);
        self_hash_check(packet, &mut report);
        let time = time_check(packet, &mut report);
        match packet.kind {
            Kind::Claim => {
                facts.claim_hash = Some(packet.recomputed);
                facts.claim_time = time;
            }
            Kind::Heartbeat => {
                facts.heartbeat_hash = Some(packet.recomputed);
                facts.heartbeat_time = time;
            }
        }
        privacy_check(packet, &mut report);
        secret_check(packet, &mut report);
        if packet.map.contains_key(SIGNATURE_MEMBER) {
            report.push(packet.check(Check::skip(
                IDENTITY_PACKET_SIGNATURE_IGNORED,
                format!(
                    "the {} carries a signature member: carried, not used; trust comes only from the bundle's signature by a pinned key",
                    packet.kind.label()
                ),
            )));
        }
    }

    if let (Some(c), Some(h)) = (&claim, &heartbeat) {
        facts.deployment_id = deployment_id_check(c, h, &mut report);
        binding_check(c, h, &mut report);
        if let (Some(ct), Some(ht)) = (facts.claim_time, facts.heartbeat_time) {
            report.push(order_check(ct, ht));
        }
    }
    if let Some(h) = &heartbeat {
        facts.mode = mode_check(h, &mut report);
    }
    if let Some(freshness) = &opts.freshness {
        report.push(freshness_check(facts.heartbeat_time, Some(freshness)));
    }
    report.subject = facts.to_json();
    PacketCheck { report, facts }
}

fn invalid(kind: Kind, detail: String) -> Check {
    Check::fail(IDENTITY_PACKET_INVALID, detail)
        .with_path(kind.file())
        .in_section(section::IDENTITY)
}

fn parse(bytes: &[u8], kind: Kind, limits: &IdentityLimits, report: &mut Report) -> Option<Packet> {
    if bytes.len() as u64 > limits.max_packet_bytes {
        report.push(invalid(
            kind,
            format!(
                "the {} is larger than the limit of {} bytes",
                kind.label(),
                limits.max_packet_bytes
            ),
        ));
        return None;
    }
    let mut json_limits = limits.json;
    json_limits.max_bytes = limits.max_packet_bytes;
    let value = match pyjson::parse(bytes, &json_limits) {
        Ok(v) => v,
        Err(e) => {
            report.push(invalid(
                kind,
                format!("the {} cannot be read: {e}", kind.label()),
            ));
            return None;
        }
    };
    let Value::Object(map) = value else {
        report.push(invalid(
            kind,
            format!("the {} is not a JSON object", kind.label()),
        ));
        return None;
    };
    // The engine hashes the packet without its own hash and its signature.
    let mut hashed = map.clone();
    hashed.remove(kind.hash_member());
    hashed.remove(SIGNATURE_MEMBER);
    let recomputed = pyjson::python_hash(&Value::Object(hashed));
    Some(Packet {
        kind,
        map,
        recomputed,
    })
}

fn schema_check(p: &Packet, report: &mut Report) {
    let want = p.kind.schema();
    let present: Vec<(&str, &Value)> = SCHEMA_MEMBERS
        .iter()
        .filter_map(|m| p.map.get(*m).map(|v| (*m, v)))
        .collect();
    let wrong = present
        .iter()
        .find(|(_, v)| v.as_str() != Some(want))
        .map(|(m, v)| (*m, *v));
    let check = match (present.first(), wrong) {
        (None, _) => Check::fail(
            IDENTITY_SCHEMA,
            format!(
                "the {} has no schema or schema_version member; expected {want:?}",
                p.kind.label()
            ),
        )
        .with("expected", want),
        (Some(_), Some((member, value))) => Check::fail(
            IDENTITY_SCHEMA,
            format!(
                "{member} is {}, expected {want:?}: not a {} packet",
                short(value),
                p.kind.label()
            ),
        )
        .with("expected", want)
        .with("actual", value.clone()),
        (Some((member, _)), None) => {
            Check::pass(IDENTITY_SCHEMA, format!("{member} is {want:?}")).with("schema", want)
        }
    };
    report.push(p.check(check));
}

/// A short, printable rendering of a JSON value for a detail line.
fn short(value: &Value) -> String {
    let text = value.to_string();
    let mut out: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        out.push_str("...");
    }
    printable(&out).into_owned()
}

fn digest_member(p: &Packet, member: &str) -> Result<Sha256Digest, String> {
    match p.map.get(member) {
        None => Err(format!("has no {member} member")),
        Some(Value::String(s)) => {
            Sha256Digest::parse(s).map_err(|e| format!("{member} is not sha256:<64 hex>: {e}"))
        }
        Some(other) => Err(format!("{member} is {}, not a string", short(other))),
    }
}

fn self_hash_check(p: &Packet, report: &mut Report) {
    let member = p.kind.hash_member();
    let code = p.kind.hash_code();
    let actual = p.recomputed.to_string();
    let check = match digest_member(p, member) {
        Ok(stated) if stated == p.recomputed => Check::pass(
            code,
            format!("{member} {actual} recomputed over the packet without {member} and signature"),
        )
        .with("actual", actual),
        Ok(stated) => Check::fail(
            code,
            format!(
                "{member} is {stated} but the {} hashes to {actual}: it was edited after it was hashed",
                p.kind.label()
            ),
        )
        .with("expected", stated.to_string())
        .with("actual", actual),
        Err(reason) => Check::fail(code, format!("the {} {reason}", p.kind.label()))
            .with("actual", actual),
    };
    report.push(p.check(check));
}

/// The first recognised time member, checked; returns the time when it is valid.
fn time_check(p: &Packet, report: &mut Report) -> Option<Timestamp> {
    let members = p.kind.time_members();
    let Some((member, value)) = members.iter().find_map(|m| p.map.get(*m).map(|v| (*m, v))) else {
        report.push(p.check(Check::fail(
            IDENTITY_TIME_INVALID,
            format!(
                "the {} has no time member (looked for {}); its age cannot be judged",
                p.kind.label(),
                members.join(", ")
            ),
        )));
        return None;
    };
    let parsed = value
        .as_str()
        .ok_or_else(|| "is not a string".to_owned())
        .and_then(|s| Timestamp::parse_rfc3339(s).map_err(|e| e.to_string()));
    match parsed {
        Ok(t) => {
            report.push(
                p.check(
                    Check::skip(
                        IDENTITY_TIME_CLAIM,
                        format!(
                            "{} {member} {t} is the packet's own claim, not evidence of time",
                            p.kind.label()
                        ),
                    )
                    .with("member", member)
                    .with("time", t.to_string()),
                ),
            );
            Some(t)
        }
        Err(reason) => {
            report.push(
                p.check(
                    Check::fail(
                        IDENTITY_TIME_INVALID,
                        format!("{member} {}: {reason}", short(value)),
                    )
                    .with("member", member),
                ),
            );
            None
        }
    }
}

fn order_check(claim: Timestamp, heartbeat: Timestamp) -> Check {
    let check = if heartbeat >= claim {
        Check::pass(
            IDENTITY_HEARTBEAT_ORDER,
            format!("heartbeat {heartbeat} is not older than claim {claim}"),
        )
    } else {
        Check::fail(
            IDENTITY_HEARTBEAT_ORDER,
            format!(
                "heartbeat {heartbeat} is older than claim {claim}: it cannot be a heartbeat of this deployment"
            ),
        )
    };
    check
        .with("claim_time", claim.to_string())
        .with("heartbeat_time", heartbeat.to_string())
        .in_section(section::IDENTITY)
}

/// The freshness check: the heartbeat must be at most `max_age_seconds` old at `now`, and not
/// more than [`MAX_FUTURE_SKEW_SECONDS`] in the future. Skipped when `freshness` is `None`;
/// fails when the heartbeat's time is unknown.
pub fn freshness_check(heartbeat_time: Option<Timestamp>, freshness: Option<&Freshness>) -> Check {
    let Some(f) = freshness else {
        return Check::skip(
            IDENTITY_HEARTBEAT_FRESH,
            "no maximum age given (--max-age): the heartbeat's age was not checked",
        )
        .in_section(section::IDENTITY);
    };
    let check = match heartbeat_time {
        None => Check::fail(
            IDENTITY_HEARTBEAT_FRESH,
            "the heartbeat has no valid time: its age cannot be judged",
        ),
        Some(t) => {
            let age = f.now.unix().saturating_sub(t.unix());
            let c = if age < -MAX_FUTURE_SKEW_SECONDS {
                Check::fail(
                    IDENTITY_HEARTBEAT_FRESH,
                    format!(
                        "heartbeat time {t} is {}s after now ({}): the clocks disagree or the time is false",
                        -age, f.now
                    ),
                )
            } else if age > f.max_age_seconds {
                Check::fail(
                    IDENTITY_HEARTBEAT_FRESH,
                    format!(
                        "heartbeat {t} is {} old at {}, more than the maximum {}: the deployment may be dead",
                        crate::text::duration(age.unsigned_abs()),
                        f.now,
                        crate::text::duration(f.max_age_seconds.unsigned_abs())
                    ),
                )
            } else {
                Check::pass(
                    IDENTITY_HEARTBEAT_FRESH,
                    format!(
                        "heartbeat {t} is {} old at {} (maximum {})",
                        crate::text::duration(age.max(0).unsigned_abs()),
                        f.now,
                        crate::text::duration(f.max_age_seconds.unsigned_abs())
                    ),
                )
            };
            c.with("heartbeat_time", t.to_string())
                .with("age_seconds", age)
        }
    };
    check
        .with("now", f.now.to_string())
        .with("max_age_seconds", f.max_age_seconds)
        .in_section(section::IDENTITY)
}

/// Reads `deployment.deployment_id`.
fn deployment_id(p: &Packet) -> Result<String, String> {
    let id = match p.map.get("deployment") {
        None => return Err("has no deployment member".to_owned()),
        Some(Value::Object(d)) => match d.get("deployment_id") {
            None => return Err("has no deployment.deployment_id".to_owned()),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(format!(
                    "deployment.deployment_id is {}, not a string",
                    short(other)
                ));
            }
        },
        Some(other) => return Err(format!("deployment is {}, not an object", short(other))),
    };
    if id.trim().is_empty() {
        return Err("has an empty deployment.deployment_id".to_owned());
    }
    if id.len() > MAX_DEPLOYMENT_ID_BYTES {
        return Err(format!(
            "deployment.deployment_id is longer than {MAX_DEPLOYMENT_ID_BYTES} bytes"
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(format!(
            "deployment.deployment_id {:?} contains control characters",
            printable(&id)
        ));
    }
    Ok(id)
}

fn deployment_id_check(c: &Packet, h: &Packet, report: &mut Report) -> Option<String> {
    let check = |check: Check| check.in_section(section::IDENTITY);
    match (deployment_id(c), deployment_id(h)) {
        (Ok(a), Ok(b)) if a == b => {
            report.push(check(
                Check::pass(
                    IDENTITY_DEPLOYMENT_ID,
                    format!("both packets are for deployment {}", printable(&a)),
                )
                .with("deployment_id", a.clone()),
            ));
            Some(a)
        }
        (Ok(a), Ok(b)) => {
            report.push(check(
                Check::fail(
                    IDENTITY_DEPLOYMENT_ID,
                    format!(
                        "the claim is for deployment {} but the heartbeat for {}",
                        printable(&a),
                        printable(&b)
                    ),
                )
                .with("expected", a.clone())
                .with("actual", b),
            ));
            Some(a)
        }
        (a, b) => {
            for (packet, result) in [(c, &a), (h, &b)] {
                if let Err(reason) = result {
                    report.push(packet.check(Check::fail(
                        IDENTITY_DEPLOYMENT_ID,
                        format!("the {} {reason}", packet.kind.label()),
                    )));
                }
            }
            a.ok()
        }
    }
}

fn binding_check(c: &Packet, h: &Packet, report: &mut Report) {
    const MEMBER: &str = "deployment_claim_hash";
    let check = match (digest_member(h, MEMBER), digest_member(c, "claim_hash")) {
        (Ok(named), Ok(claim)) if named == claim => Check::pass(
            IDENTITY_CLAIM_BINDING,
            format!("the heartbeat names this claim ({claim})"),
        )
        .with("claim_hash", claim.to_string()),
        (Ok(named), Ok(claim)) => Check::fail(
            IDENTITY_CLAIM_BINDING,
            format!(
                "the heartbeat's {MEMBER} is {named}, but this claim is {claim}: the heartbeat belongs to another claim"
            ),
        )
        .with("expected", claim.to_string())
        .with("actual", named.to_string()),
        (Err(reason), _) => Check::fail(IDENTITY_CLAIM_BINDING, format!("the heartbeat {reason}")),
        (Ok(_), Err(reason)) => Check::fail(
            IDENTITY_CLAIM_BINDING,
            format!("the claim {reason}: the heartbeat cannot be bound to it"),
        ),
    };
    report.push(h.check(check));
}

/// Privacy flags: every `contains_*` member at the top level or anywhere inside a member named
/// `privacy`.
fn privacy_check(p: &Packet, report: &mut Report) {
    let flags = privacy_flags(p);
    if flags.is_empty() {
        report.push(p.check(Check::warn(
            IDENTITY_PRIVACY_FLAGS,
            format!(
                "the {} declares no privacy flags (contains_*): nothing says it holds no credentials",
                p.kind.label()
            ),
        )));
        return;
    }
    let raised: Vec<Check> = flags
        .iter()
        .filter_map(|(pointer, value)| raised_flag(p, pointer, value))
        .collect();
    if !raised.is_empty() {
        for check in raised {
            report.push(p.check(check));
        }
        return;
    }
    // The names are listed up to a bound, so the stored report stays small.
    let names: Vec<String> = flags
        .iter()
        .take(MAX_LISTED_FLAGS)
        .map(|(p, _)| printable(p).into_owned())
        .collect();
    report.push(
        p.check(
            Check::pass(
                IDENTITY_PRIVACY_FLAGS,
                format!("{} privacy flag(s), all false", flags.len()),
            )
            .with("flags", names)
            .with("flag_count", flags.len()),
        ),
    );
}

/// The packet's privacy flags by JSON pointer, sorted, each once.
fn privacy_flags(p: &Packet) -> Vec<(String, &Value)> {
    let mut flags: Vec<(String, &Value)> = Vec::new();
    for (name, value) in &p.map {
        let pointer = format!("/{}", escape_pointer(name));
        if name.starts_with("contains_") {
            flags.push((pointer.clone(), value));
        }
        collect_privacy(name, value, &pointer, false, 0, &mut flags);
    }
    flags.sort_by(|a, b| a.0.cmp(&b.0));
    flags.dedup_by(|a, b| a.0 == b.0);
    flags
}

/// The failing check of a flag that is not `false`, or `None` for one that is.
fn raised_flag(p: &Packet, pointer: &str, value: &Value) -> Option<Check> {
    let reason = match value {
        Value::Bool(false) => return None,
        Value::Bool(true) => "is true",
        _ => "is not a boolean",
    };
    Some(
        Check::fail(
            IDENTITY_PRIVACY_FLAGS,
            format!(
                "privacy flag {} {reason}: the {} says it holds private material",
                printable(pointer),
                p.kind.label()
            ),
        )
        .with("flag", printable(pointer).into_owned())
        .with("actual", value.clone()),
    )
}

fn collect_privacy<'a>(
    name: &str,
    value: &'a Value,
    pointer: &str,
    inside: bool,
    depth: usize,
    out: &mut Vec<(String, &'a Value)>,
) {
    if depth > 64 {
        return;
    }
    let inside = inside || name == "privacy";
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = format!("{pointer}/{}", escape_pointer(k));
                if inside && k.starts_with("contains_") {
                    out.push((child.clone(), v));
                }
                collect_privacy(k, v, &child, inside, depth + 1, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_privacy("", v, &format!("{pointer}/{i}"), inside, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn secret_check(p: &Packet, report: &mut Report) {
    // STOPGAP hook: the shared scanner replaces `secrets::secret_findings` when it lands.
    let findings = secrets::secret_findings(&Value::Object(p.map.clone()));
    if findings.is_empty() {
        report.push(p.check(Check::pass(
            IDENTITY_SECRET_SCAN,
            format!("no secret-looking value in the {}", p.kind.label()),
        )));
        return;
    }
    for (pointer, class) in findings {
        report.push(p.check(
            Check::fail(
                IDENTITY_SECRET_SCAN,
                format!(
                    "{} looks like a secret ({class}); the value is not shown. Never seal credentials: fix the engine's packet",
                    printable(&pointer)
                ),
            )
            .with("pointer", printable(&pointer).into_owned())
            .with("class", class),
        ));
    }
}

/// Reports the heartbeat's mode; returns it when it is a usable fact.
fn mode_check(h: &Packet, report: &mut Report) -> Option<String> {
    let found = MODE_MEMBERS.iter().find_map(|m| {
        let value = match m.split_once('.') {
            Some((outer, inner)) => h.map.get(outer)?.as_object()?.get(inner)?,
            None => h.map.get(*m)?,
        };
        Some((*m, value))
    });
    let Some((member, value)) = found else {
        report.push(h.check(Check::warn(
            IDENTITY_MODE,
            format!(
                "the heartbeat states no mode (looked for {}): paper-only cannot be established",
                MODE_MEMBERS.join(", ")
            ),
        )));
        return None;
    };
    match value.as_str() {
        Some(mode)
            if !mode.is_empty()
                && mode.len() <= MAX_MODE_BYTES
                && !mode.chars().any(char::is_control) =>
        {
            report.push(
                h.check(
                    Check::pass(
                        IDENTITY_MODE,
                        format!("the heartbeat runs in mode {mode:?}"),
                    )
                    .with("member", member)
                    .with("mode", mode),
                ),
            );
            Some(mode.to_owned())
        }
        _ => {
            report.push(h.check(
                Check::warn(
                    IDENTITY_MODE,
                    format!(
                        "{member} is {}: not a mode name (1-{MAX_MODE_BYTES} bytes, no control characters)",
                        short(value)
                    ),
                )
                .with("member", member),
            ));
            None
        }
    }
}
