//! Redaction of secrets before evidence is sealed (DESIGN section 4 rule 9).
//!
//! A [`Redactor`] finds secrets of the classes listed in [`SecretClass`] and the caller's
//! forbidden tokens, and replaces each one by the text `[REDACTED:<class>]`. Only the bytes of
//! a secret change; every other byte of the input stays exactly as it was, so redacted evidence
//! differs from the original only where something was removed. `docs/FORMAT.md` section 7 is
//! the normative description; this module implements it.
//!
//! How the input is read (see [`ContentHint`]):
//!
//! - **JSON** is tokenised by a small bounded parser that records the byte span of every value.
//!   Decisions are taken on *parsed* values (unescaped strings, object keys compared after
//!   normalisation), and replacements are spliced into the original bytes, so the output is
//!   still valid JSON, keys keep their order and numbers keep their exact text.
//! - **JSON Lines**: every line that is a JSON value is redacted as JSON; runs of other lines
//!   are redacted as text.
//! - **Text** is redacted on bytes (non-UTF-8 input is fine), line-oriented except for PEM
//!   private-key blocks, which span lines.
//!
//! Inside text and inside every JSON string the detectors also look through one level of JSON
//! string escaping (`\/`, `\u0041`, `\n`, ...) and of URL percent-encoding (`%2F`, `+`), so a
//! secret written in either form is found too. Forbidden tokens are also found base64-encoded
//! (standard and URL-safe alphabets, at any of the three byte alignments, embedded in a longer
//! base64 string).
//!
//! Counts per class are kept in [`RedactionCounts`]; neither the output nor the counts nor any
//! error or `Debug` output ever contains a secret or a digest of one.

mod decode;
mod detect;
mod forbidden;
mod json;
mod keys;
mod refs;
mod values;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use self::forbidden::Needles;

pub use self::keys::key_names_secret;
pub use self::values::OPT_IN;

/// Shortest forbidden token accepted, in bytes. Shorter tokens would match ordinary text.
pub const MIN_TOKEN_BYTES: usize = 6;
/// Longest forbidden token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Most forbidden tokens one [`Redactor`] accepts.
pub const MAX_TOKENS: usize = 1024;
/// Default deepest nesting of JSON arrays and objects redacted as JSON.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 512;
/// Default largest JSON document (or JSON line) redacted as JSON, in bytes.
pub const DEFAULT_MAX_JSON_BYTES: usize = 256 << 20;

/// The prefix of every replacement text: `[REDACTED:` + class name + `]`.
pub const PLACEHOLDER_PREFIX: &str = "[REDACTED:";

/// A kind of secret. The names ([`SecretClass::as_str`]) are stable: they appear in signed
/// manifests (`redaction.counts`) and in scan reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SecretClass {
    /// A value stored under a key (or `name`/`value` pair) that names a secret
    /// (`password`, `api_key`, `Authorization`, ...), whatever the value looks like.
    SecretKeyName,
    /// The credential after `Bearer ` (HTTP `Authorization` scheme).
    BearerToken,
    /// The credential after `Basic ` (base64 of `user:password`).
    BasicAuth,
    /// The password in a URL's user information (`scheme://user:password@host`).
    UrlPassword,
    /// A PEM private-key block, `-----BEGIN ... PRIVATE KEY-----` through its END line.
    PrivateKeyPem,
    /// A JSON Web Token (JWS or JWE compact form whose header is JSON with `alg`).
    Jwt,
    /// A GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// A GitLab personal access token (`glpat-`).
    GitlabToken,
    /// An AWS access key id (`AKIA`/`ASIA` + 16 upper-case letters or digits).
    AwsAccessKeyId,
    /// An OpenAI API key (`sk-...`, `sk-proj-...`).
    OpenaiKey,
    /// An Anthropic API key (`sk-ant-...`).
    AnthropicKey,
    /// A Slack token (`xoxa-`, `xoxb-`, `xoxp-`, `xoxr-`, `xoxs-`, `xapp-`).
    SlackToken,
    /// A Stripe live secret or restricted key (`sk_live_`, `rk_live_`).
    StripeLiveKey,
    /// A Google API key (`AIza` + 35 characters).
    GoogleApiKey,
    /// An npm access token (`npm_` + 36 characters).
    NpmToken,
    /// A token the caller declared forbidden, in any supported encoding.
    ForbiddenToken,
    /// Opt-in ([`OPT_IN`]): a `trace-...` id.
    TracingId,
    /// Opt-in: a `smoke-...` idempotency key.
    IdempotencyKey,
    /// Opt-in: a `railway-...` platform id.
    PlatformId,
    /// Opt-in: a key assignment in text (`private_key=...`, `Authorization: ...`), name and
    /// value together.
    KeyAssignment,
}

impl SecretClass {
    /// Every class, in the order of [`SecretClass::as_str`]'s documentation table.
    pub const ALL: &'static [SecretClass] = &[
        SecretClass::SecretKeyName,
        SecretClass::BearerToken,
        SecretClass::BasicAuth,
        SecretClass::UrlPassword,
        SecretClass::PrivateKeyPem,
        SecretClass::Jwt,
        SecretClass::GithubToken,
        SecretClass::GitlabToken,
        SecretClass::AwsAccessKeyId,
        SecretClass::OpenaiKey,
        SecretClass::AnthropicKey,
        SecretClass::SlackToken,
        SecretClass::StripeLiveKey,
        SecretClass::GoogleApiKey,
        SecretClass::NpmToken,
        SecretClass::ForbiddenToken,
        SecretClass::TracingId,
        SecretClass::IdempotencyKey,
        SecretClass::PlatformId,
        SecretClass::KeyAssignment,
    ];

    /// The stable kebab-case name (matches `[a-z0-9][a-z0-9-]{0,63}`).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretClass::SecretKeyName => "secret-key-name",
            SecretClass::BearerToken => "bearer-token",
            SecretClass::BasicAuth => "basic-auth",
            SecretClass::UrlPassword => "url-password",
            SecretClass::PrivateKeyPem => "private-key-pem",
            SecretClass::Jwt => "jwt",
            SecretClass::GithubToken => "github-token",
            SecretClass::GitlabToken => "gitlab-token",
            SecretClass::AwsAccessKeyId => "aws-access-key-id",
            SecretClass::OpenaiKey => "openai-key",
            SecretClass::AnthropicKey => "anthropic-key",
            SecretClass::SlackToken => "slack-token",
            SecretClass::StripeLiveKey => "stripe-live-key",
            SecretClass::GoogleApiKey => "google-api-key",
            SecretClass::NpmToken => "npm-token",
            SecretClass::ForbiddenToken => "forbidden-token",
            // No name holds `trace-`, `smoke-` or `railway-`: a placeholder never matches
            // the pattern it replaced.
            SecretClass::TracingId => "tracing-id",
            SecretClass::IdempotencyKey => "idempotency-key",
            SecretClass::PlatformId => "platform-id",
            SecretClass::KeyAssignment => "key-assignment",
        }
    }

    /// The class with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// The replacement text, `[REDACTED:<class>]`.
    pub fn placeholder(self) -> String {
        format!("{PLACEHOLDER_PREFIX}{}]", self.as_str())
    }

    /// When detections overlap they are replaced once, under the most specific class: the
    /// one with the highest rank. Forbidden tokens rank first (the caller named them), generic
    /// detections (`Bearer`, key names) last.
    fn rank(self) -> u8 {
        match self {
            SecretClass::ForbiddenToken => 15,
            SecretClass::PrivateKeyPem => 14,
            SecretClass::Jwt => 13,
            SecretClass::GithubToken => 12,
            SecretClass::GitlabToken => 11,
            SecretClass::AwsAccessKeyId => 10,
            SecretClass::AnthropicKey => 9,
            SecretClass::OpenaiKey => 8,
            SecretClass::SlackToken => 7,
            SecretClass::StripeLiveKey => 6,
            SecretClass::GoogleApiKey => 5,
            SecretClass::NpmToken => 4,
            SecretClass::UrlPassword => 3,
            SecretClass::BasicAuth => 2,
            SecretClass::BearerToken => 1,
            SecretClass::SecretKeyName
            | SecretClass::TracingId
            | SecretClass::IdempotencyKey
            | SecretClass::PlatformId
            | SecretClass::KeyAssignment => 0,
        }
    }
}

impl fmt::Display for SecretClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many secrets of each class were redacted (or found), plus how often input announced as
/// JSON had to be redacted as text. Never holds secrets or digests of secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    counts: BTreeMap<SecretClass, u64>,
    json_fallbacks: u64,
}

impl RedactionCounts {
    /// No redactions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts per class name, for `redaction.counts` in a manifest. Classes with a zero count
    /// are left out.
    pub fn by_name(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c.as_str().to_owned(), *n))
            .collect()
    }

    /// Count for one class.
    pub fn get(&self, class: SecretClass) -> u64 {
        self.counts.get(&class).copied().unwrap_or(0)
    }

    /// Total over every class.
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0u64, |a, n| a.saturating_add(*n))
    }

    /// True when nothing was redacted.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Adds `n` redactions of `class`.
    pub fn add(&mut self, class: SecretClass, n: u64) {
        if n > 0 {
            let slot = self.counts.entry(class).or_insert(0);
            *slot = slot.saturating_add(n);
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &RedactionCounts) {
        for (class, n) in &other.counts {
            self.add(*class, *n);
        }
        self.json_fallbacks = self.json_fallbacks.saturating_add(other.json_fallbacks);
    }

    /// Non-zero counts in class order.
    pub fn iter(&self) -> impl Iterator<Item = (SecretClass, u64)> + '_ {
        self.counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (*c, *n))
    }

    /// How many inputs announced as JSON ([`ContentHint::Json`]) were not valid JSON within
    /// the limits and were redacted line by line instead (JSON lines as JSON, other lines as
    /// text). Not a secret class; not part of [`RedactionCounts::by_name`].
    pub fn json_fallbacks(&self) -> u64 {
        self.json_fallbacks
    }
}

/// What the caller knows about the input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ContentHint {
    /// Unknown: a JSON document if the whole input is one, else line by line (lines that are
    /// JSON values as JSON, the rest as text).
    #[default]
    Auto,
    /// One JSON document; if it is not valid JSON within the limits, handled as `Auto` does
    /// for non-JSON input, and counted in [`RedactionCounts::json_fallbacks`].
    Json,
    /// JSON Lines: every line that is a JSON value as JSON, the other lines as text.
    JsonLines,
    /// Text only; JSON structure is not looked at.
    Text,
}

impl ContentHint {
    /// The hint for a file name: `.json` and `.har` are JSON, `.jsonl`, `.ndjson` and
    /// `.jsonlines` JSON Lines, anything else `Auto`. Case-insensitive.
    pub fn from_path(path: &str) -> ContentHint {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = match name.rsplit_once('.') {
            Some((_, ext)) => ext.to_ascii_lowercase(),
            None => return ContentHint::Auto,
        };
        match ext.as_str() {
            "json" | "har" => ContentHint::Json,
            "jsonl" | "ndjson" | "jsonlines" => ContentHint::JsonLines,
            _ => ContentHint::Auto,
        }
    }
}

/// The redacted bytes and what was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The input with every secret replaced by `[REDACTED:<class>]`.
    pub bytes: Vec<u8>,
    /// How many secrets of each class were replaced.
    pub counts: RedactionCounts,
}

/// Why a [`Redactor`] could not be built. Messages name the token by its position in the
/// list, never by its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedactError {
    /// A forbidden token is empty.
    #[error("forbidden token #{index} is empty")]
    EmptyToken {
        /// 0-based position in the list given.
        index: usize,
    },
    /// A forbidden token is shorter than [`MIN_TOKEN_BYTES`].
    #[error("forbidden token #{index} is {len} bytes long; at least {min} bytes are required")]
    TokenTooShort {
        /// 0-based position in the list given.
        index: usize,
        /// Its length in bytes.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A forbidden token is longer than [`MAX_TOKEN_BYTES`].
    #[error("forbidden token #{index} is {len} bytes long; at most {max} bytes are accepted")]
    TokenTooLong {
        /// 0-based position in the list given.
        index: usize,
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// More than [`MAX_TOKENS`] forbidden tokens.
    #[error("{count} forbidden tokens given; at most {max} are accepted")]
    TooManyTokens {
        /// Number given.
        count: usize,
        /// The maximum.
        max: usize,
    },
}

/// Hard limits for JSON handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedactLimits {
    /// Deepest nesting of arrays and objects handled as JSON; deeper input is handled line by
    /// line (see [`ContentHint::Json`]).
    pub max_json_depth: usize,
    /// Largest JSON document (or JSON line) handled as JSON; larger input is handled line by
    /// line (see [`ContentHint::Json`]).
    pub max_json_bytes: usize,
}

impl Default for RedactLimits {
    fn default() -> Self {
        Self {
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
        }
    }
}

/// Finds and replaces secrets. Build one per set of forbidden tokens and reuse it; it is
/// `Send + Sync`.
pub struct Redactor {
    needles: Needles,
    tokens: usize,
    limits: RedactLimits,
    opt_in: Vec<SecretClass>,
}

impl fmt::Debug for Redactor {
    // Never prints a token, nor anything derived from one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("forbidden_tokens", &self.tokens)
            .field("limits", &self.limits)
            .field("opt_in", &self.opt_in)
            .finish_non_exhaustive()
    }
}

/// One replacement to make: bytes `start..end` of the input become the class's placeholder,
/// as a JSON string (with quotes) when `quoted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) class: SecretClass,
    pub(crate) quoted: bool,
}

/// A detection inside a text: bytes `start..end` are a secret of `class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) class: SecretClass,
}

/// The edits for one input, sorted and non-overlapping.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub(crate) edits: Vec<Edit>,
    pub(crate) json_fallback: bool,
}

impl Redactor {
    /// A redactor for the built-in classes plus `forbidden_tokens`. Each token must be
    /// [`MIN_TOKEN_BYTES`] to [`MAX_TOKEN_BYTES`] bytes long; duplicates are merged.
    pub fn new(forbidden_tokens: &[String]) -> Result<Self, RedactError> {
        if forbidden_tokens.len() > MAX_TOKENS {
            return Err(RedactError::TooManyTokens {
                count: forbidden_tokens.len(),
                max: MAX_TOKENS,
            });
        }
        for (index, token) in forbidden_tokens.iter().enumerate() {
            let len = token.len();
            if len == 0 {
                return Err(RedactError::EmptyToken { index });
            }
            if len < MIN_TOKEN_BYTES {
                return Err(RedactError::TokenTooShort {
                    index,
                    len,
                    min: MIN_TOKEN_BYTES,
                });
            }
            if len > MAX_TOKEN_BYTES {
                return Err(RedactError::TokenTooLong {
                    index,
                    len,
                    max: MAX_TOKEN_BYTES,
                });
            }
        }
        let needles = Needles::new(forbidden_tokens.iter().map(|t| t.as_bytes()));
        Ok(Self {
            needles,
            tokens: forbidden_tokens.len(),
            limits: RedactLimits::default(),
            opt_in: Vec::new(),
        })
    }

    /// The same redactor that also finds these opt-in classes ([`OPT_IN`]) in values and
    /// text (never in object keys); other classes in the list are always found anyway.
    #[must_use]
    pub fn with_opt_in(mut self, classes: &[SecretClass]) -> Self {
        self.opt_in = classes
            .iter()
            .copied()
            .filter(|c| OPT_IN.contains(c))
            .collect();
        self
    }

    /// The same redactor with other JSON limits.
    #[must_use]
    pub fn with_limits(mut self, limits: RedactLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The JSON limits in force.
    pub fn limits(&self) -> RedactLimits {
        self.limits
    }

    /// How many forbidden tokens were given.
    pub fn forbidden_token_count(&self) -> usize {
        self.tokens
    }

    /// Redacts `bytes`. Never fails and never panics: input that is not what `hint` says is
    /// handled as the hint's documentation describes. If nothing is found, the output equals
    /// the input byte for byte.
    pub fn redact_bytes(&self, bytes: &[u8], hint: ContentHint) -> Redacted {
        let analysis = self.analyse(bytes, hint);
        let mut counts = RedactionCounts::new();
        if analysis.json_fallback {
            counts.json_fallbacks = 1;
        }
        for edit in &analysis.edits {
            counts.add(edit.class, 1);
        }
        let bytes = if analysis.edits.is_empty() {
            bytes.to_vec()
        } else {
            apply(bytes, &analysis.edits).0
        };
        Redacted { bytes, counts }
    }

    /// Redacts a parsed JSON value in place (for callers that hold one, such as HTTP capture):
    /// the same rules as for JSON documents. Object keys that contain a secret are rewritten;
    /// numbers that contain a forbidden token become placeholder strings.
    pub fn redact_value(&self, value: &mut Value) -> RedactionCounts {
        let mut counts = RedactionCounts::new();
        json::redact_value(self, value, &mut counts);
        counts
    }

    /// Finds what [`Redactor::redact_bytes`] would replace.
    ///
    /// A redaction changes the context of its neighbours (a token glued to the dashes of a
    /// PEM END line is at a word boundary only once the block is gone), so detection runs
    /// again on the redacted output until nothing new is found (at most [`MAX_ROUNDS`]
    /// rounds), and the new edits are mapped back onto the input. Redacting twice then
    /// changes nothing.
    pub(crate) fn analyse(&self, bytes: &[u8], hint: ContentHint) -> Analysis {
        let mut analysis = self.analyse_once(bytes, hint);
        for _ in 1..MAX_ROUNDS {
            if analysis.edits.is_empty() {
                break;
            }
            let (out, spans) = apply(bytes, &analysis.edits);
            let next = self.analyse_once(&out, hint);
            if next.edits.is_empty() {
                break;
            }
            analysis.edits.extend(next.edits.iter().map(|e| Edit {
                start: back_start(&spans, e.start),
                end: back_end(&spans, e.end),
                ..*e
            }));
            analysis.edits = normalise_edits(std::mem::take(&mut analysis.edits));
        }
        analysis
    }

    /// One round of detection.
    fn analyse_once(&self, bytes: &[u8], hint: ContentHint) -> Analysis {
        let mut analysis = match hint {
            ContentHint::Text => Analysis {
                edits: self.text_edits(bytes, 0),
                json_fallback: false,
            },
            ContentHint::Json | ContentHint::Auto => match json::document_edits(self, bytes) {
                Ok(edits) => Analysis {
                    edits,
                    json_fallback: false,
                },
                Err(_) => Analysis {
                    edits: self.lines_edits(bytes),
                    json_fallback: hint == ContentHint::Json,
                },
            },
            ContentHint::JsonLines => Analysis {
                edits: self.lines_edits(bytes),
                json_fallback: false,
            },
        };
        analysis.edits = normalise_edits(std::mem::take(&mut analysis.edits));
        analysis
    }

    /// Line by line: each line that is a JSON value is redacted as JSON, each maximal run of
    /// other lines as one text (so PEM blocks spanning lines are seen whole).
    fn lines_edits(&self, bytes: &[u8]) -> Vec<Edit> {
        let mut edits = Vec::new();
        let mut run_start: Option<usize> = None;
        let mut start = 0usize;
        while start < bytes.len() {
            let end = memchr_from(b'\n', bytes, start).map_or(bytes.len(), |nl| nl + 1);
            let line = bytes.get(start..end).unwrap_or_default();
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let as_json = if looks_like_json_value(content) {
                json::document_edits(self, content).ok()
            } else {
                None
            };
            match as_json {
                Some(line_edits) => {
                    if let Some(rs) = run_start.take() {
                        edits.extend(self.text_edits(bytes.get(rs..start).unwrap_or_default(), rs));
                    }
                    edits.extend(line_edits.into_iter().map(|e| Edit {
                        start: e.start + start,
                        end: e.end + start,
                        ..e
                    }));
                }
                None => {
                    run_start.get_or_insert(start);
                }
            }
            start = end;
        }
        if let Some(rs) = run_start {
            edits.extend(self.text_edits(bytes.get(rs..).unwrap_or_default(), rs));
        }
        edits
    }

    /// Edits for a text at offset `base` of the input.
    fn text_edits(&self, text: &[u8], base: usize) -> Vec<Edit> {
        self.detect_text(text)
            .into_iter()
            .map(|h| Edit {
                start: h.start + base,
                end: h.end + base,
                class: h.class,
                quoted: false,
            })
            .collect()
    }

    /// Every secret in `text` (raw, through one level of JSON string escaping and through URL
    /// percent-encoding), merged into sorted non-overlapping hits; hits that only cover
    /// existing placeholders are dropped, so redacting twice changes nothing.
    pub(crate) fn detect_text(&self, text: &[u8]) -> Vec<Hit> {
        self.detect_in(text, &self.opt_in)
    }

    /// [`Redactor::detect_text`] for an object key: the opt-in classes are for values only.
    pub(crate) fn detect_key_text(&self, text: &[u8]) -> Vec<Hit> {
        self.detect_in(text, &[])
    }

    fn detect_in(&self, text: &[u8], opt_in: &[SecretClass]) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.detect_raw(text, opt_in, &mut hits);
        decode::decoded_hits(text, decode::Kind::JsonString, &mut hits, &|view, out| {
            self.detect_raw(view, opt_in, out);
        });
        decode::decoded_hits(text, decode::Kind::Url, &mut hits, &|view, out| {
            self.detect_raw(view, opt_in, out);
        });
        drop_placeholder_hits(text, &mut hits);
        merge_hits(hits)
    }

    /// Pattern detectors and forbidden tokens on the bytes as they are.
    fn detect_raw(&self, text: &[u8], opt_in: &[SecretClass], out: &mut Vec<Hit>) {
        detect::detect_patterns(text, out);
        values::detect_values(text, opt_in, out);
        self.needles.find(text, out);
    }

    /// Forbidden tokens only, on the bytes as they are (for JSON numbers).
    pub(crate) fn detect_forbidden_raw(&self, text: &[u8], out: &mut Vec<Hit>) {
        self.needles.find(text, out);
    }
}

/// Most detection rounds per input (see [`Redactor::analyse`]).
const MAX_ROUNDS: usize = 4;

/// Where a replacement went: output bytes `out.0..out.1` replaced input bytes `inp.0..inp.1`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spliced {
    out: (usize, usize),
    inp: (usize, usize),
}

/// Applies sorted, non-overlapping edits; returns the output and where each replacement went.
pub(crate) fn apply(bytes: &[u8], edits: &[Edit]) -> (Vec<u8>, Vec<Spliced>) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut spans = Vec::with_capacity(edits.len());
    let mut at = 0usize;
    for edit in edits {
        out.extend_from_slice(bytes.get(at..edit.start).unwrap_or_default());
        let out_start = out.len();
        if edit.quoted {
            out.push(b'"');
        }
        out.extend_from_slice(PLACEHOLDER_PREFIX.as_bytes());
        out.extend_from_slice(edit.class.as_str().as_bytes());
        out.push(b']');
        if edit.quoted {
            out.push(b'"');
        }
        spans.push(Spliced {
            out: (out_start, out.len()),
            inp: (edit.start, edit.end),
        });
        at = edit.end.max(at);
    }
    out.extend_from_slice(bytes.get(at..).unwrap_or_default());
    (out, spans)
}

/// Input offset of output offset `p` as the start of a range (inside a replacement: its start).
fn back_start(spans: &[Spliced], p: usize) -> usize {
    let i = spans.partition_point(|s| s.out.0 <= p);
    match i.checked_sub(1).and_then(|i| spans.get(i)) {
        None => p,
        Some(s) if p < s.out.1 => s.inp.0,
        Some(s) => s.inp.1 + (p - s.out.1),
    }
}

/// Input offset of output offset `p` as the end of a range (inside a replacement: its end).
fn back_end(spans: &[Spliced], p: usize) -> usize {
    let i = spans.partition_point(|s| s.out.0 < p);
    match i.checked_sub(1).and_then(|i| spans.get(i)) {
        None => p,
        Some(s) if p <= s.out.1 => s.inp.1,
        Some(s) => s.inp.1 + (p - s.out.1),
    }
}

/// True if `line` could be a JSON value (its first non-blank byte can start one).
fn looks_like_json_value(line: &[u8]) -> bool {
    match line.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r')) {
        Some(b) => matches!(
            b,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        ),
        None => false,
    }
}

/// Position of the first `needle` at or after `from`.
pub(crate) fn memchr_from(needle: u8, hay: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|b| *b == needle)
        .map(|p| p + from)
}

/// Position of the first `needle` (non-empty) in `hay` at or after `from`.
pub(crate) fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = from;
    while let Some(p) = memchr_from(first, hay, at) {
        if hay.get(p + 1..).is_some_and(|t| t.starts_with(rest)) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

/// Spans of `[REDACTED:<class>]` placeholders in `text`.
fn placeholder_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let prefix = PLACEHOLDER_PREFIX.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0usize;
    while let Some(p) = memchr_from(b'[', text, from) {
        from = p + 1;
        if !text.get(p..).is_some_and(|t| t.starts_with(prefix)) {
            continue;
        }
        let name_start = p + prefix.len();
        let mut q = name_start;
        while text
            .get(q)
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && q - name_start < 64
        {
            q += 1;
        }
        if q > name_start && text.get(q) == Some(&b']') {
            spans.push((p, q + 1));
            from = q + 1;
        }
    }
    spans
}

/// Removes hits that lie entirely inside existing placeholders.
fn drop_placeholder_hits(text: &[u8], hits: &mut Vec<Hit>) {
    if hits.is_empty() || find_bytes(text, PLACEHOLDER_PREFIX.as_bytes(), 0).is_none() {
        return;
    }
    let spans = placeholder_spans(text);
    if spans.is_empty() {
        return;
    }
    hits.retain(|h| {
        // Spans are sorted and disjoint: find the first one ending after the hit's start and
        // check whether the hit is covered by consecutive placeholders.
        let mut i = spans.partition_point(|(_, e)| *e <= h.start);
        let mut covered_to = h.start;
        while let Some((s, e)) = spans.get(i) {
            if *s > covered_to {
                break;
            }
            covered_to = *e;
            if covered_to >= h.end {
                return false;
            }
            i += 1;
        }
        true
    });
}

/// Sorts hits and merges overlapping ones; a merged hit takes the highest-ranked class.
pub(crate) fn merge_hits(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.retain(|h| h.end > h.start);
    hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
    for h in hits {
        match out.last_mut() {
            Some(last) if h.start < last.end => {
                last.end = last.end.max(h.end);
                if h.class.rank() > last.class.rank() {
                    last.class = h.class;
                }
            }
            _ => out.push(h),
        }
    }
    out
}

/// Sorts edits and drops any edit contained in (or overlapping) an earlier one.
pub(crate) fn normalise_edits(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.retain(|e| e.end > e.start);
    edits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        match out.last_mut() {
            Some(last) if e.start < last.end => {
                // Contained edits vanish inside the outer replacement. Partial overlaps cannot
                // arise from the JSON parser (inner edits lie inside one string token); in
                // text, hits are merged before they become edits.
                if e.end > last.end {
                    last.end = e.end;
                }
            }
            _ => out.push(e),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
