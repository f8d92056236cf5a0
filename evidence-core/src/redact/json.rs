//! JSON redaction on parsed values, spliced into the original bytes.
//!
//! A small RFC 8259 tokenizer walks the document with an explicit stack (bounded depth, no
//! recursion), validating as it goes and recording the byte span of every value. Decisions are
//! taken on parsed values: object keys and strings are unescaped before they are looked at.
//! The result is a list of edits over the original bytes; bytes outside an edit are never
//! touched, so key order, whitespace, number text and escaping all stay as they were. Any
//! syntax error (or a limit exceeded) abandons the edits and the caller falls back to text.

use serde_json::{Map, Value};

use super::decode::{self, Kind};
use super::keys::key_names_secret;
use super::refs::is_reference;
use super::{
    Edit, Hit, PLACEHOLDER_PREFIX, RedactionCounts, Redactor, SecretClass, merge_hits,
    normalise_edits,
};

/// Why a document was not redacted as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fail {
    /// Not valid JSON.
    Syntax,
    /// Nested deeper than the limit.
    TooDeep,
    /// Larger than the limit.
    TooLarge,
}

/// How the parent sees the value about to be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pair {
    None,
    /// The `name` (or `key`) member of an object: does its string name a secret?
    Name,
    /// The `value` member of an object.
    Value,
}

#[derive(Debug, Clone, Copy)]
struct Role {
    /// The value sits under a key that names a secret: replace it whole.
    secret: bool,
    pair: Pair,
}

const PLAIN: Role = Role {
    secret: false,
    pair: Pair::None,
};

#[derive(Debug)]
struct Frame {
    obj: bool,
    start: usize,
    /// Replace this container whole when it closes.
    secret: bool,
    /// This container is its parent object's `value` member.
    pair_value: bool,
    /// Object: its `name`/`key` member names a secret (`{"name": "Authorization", "value": ..}`
    /// as in HAR files, Kubernetes env lists and tag lists).
    name_secret: bool,
    /// Object: span of its `value` member's value.
    value_span: Option<(usize, usize)>,
}

enum Next {
    Value(Role),
    AfterValue,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    r: &'a Redactor,
    edits: Vec<Edit>,
    stack: Vec<Frame>,
    /// Inside a container that will be replaced whole: nothing below is examined.
    muted: bool,
}

/// Edits for one JSON document (sorted, non-overlapping), or why it is not one.
pub(super) fn document_edits(r: &Redactor, doc: &[u8]) -> Result<Vec<Edit>, Fail> {
    if doc.len() > r.limits.max_json_bytes {
        return Err(Fail::TooLarge);
    }
    let mut p = Parser {
        s: doc,
        i: 0,
        r,
        edits: Vec::new(),
        stack: Vec::new(),
        muted: false,
    };
    p.run()?;
    Ok(normalise_edits(p.edits))
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn run(&mut self) -> Result<(), Fail> {
        let mut next = Next::Value(PLAIN);
        loop {
            next = match next {
                Next::Value(role) => self.value(role)?,
                Next::AfterValue => {
                    self.ws();
                    let Some(top) = self.stack.last() else {
                        return if self.i == self.s.len() {
                            Ok(())
                        } else {
                            Err(Fail::Syntax)
                        };
                    };
                    let (more, close) = if top.obj { (b',', b'}') } else { (b',', b']') };
                    let obj = top.obj;
                    match self.peek() {
                        Some(b) if b == more => {
                            self.i += 1;
                            if obj {
                                self.member()?
                            } else {
                                Next::Value(PLAIN)
                            }
                        }
                        Some(b) if b == close => {
                            self.i += 1;
                            self.close();
                            Next::AfterValue
                        }
                        _ => return Err(Fail::Syntax),
                    }
                }
            };
        }
    }

    /// Parses a value (or opens a container) at the current position.
    fn value(&mut self, role: Role) -> Result<Next, Fail> {
        self.ws();
        let start = self.i;
        match self.peek() {
            Some(b @ (b'{' | b'[')) => {
                let obj = b == b'{';
                self.i += 1;
                self.open(obj, start, role)?;
                self.ws();
                if self.peek() == Some(if obj { b'}' } else { b']' }) {
                    self.i += 1;
                    self.close();
                    Ok(Next::AfterValue)
                } else if obj {
                    self.member()
                } else {
                    Ok(Next::Value(PLAIN))
                }
            }
            Some(b'"') => {
                let (cs, ce, escaped) = self.string()?;
                self.string_value(start, cs, ce, escaped, role);
                Ok(Next::AfterValue)
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                self.number_value(start, role);
                Ok(Next::AfterValue)
            }
            Some(b't') => self.literal(b"true", start, role),
            Some(b'f') => self.literal(b"false", start, role),
            Some(b'n') => self.literal(b"null", start, role),
            _ => Err(Fail::Syntax),
        }
    }

    fn literal(&mut self, word: &[u8], start: usize, role: Role) -> Result<Next, Fail> {
        if !self.s.get(self.i..).is_some_and(|t| t.starts_with(word)) {
            return Err(Fail::Syntax);
        }
        self.i += word.len();
        if !self.muted && role.pair == Pair::Value {
            self.set_value_span(start, self.i);
        }
        Ok(Next::AfterValue)
    }

    /// An object member: key, colon; returns the role of the value that follows.
    fn member(&mut self) -> Result<Next, Fail> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(Fail::Syntax);
        }
        let (cs, ce, escaped) = self.string()?;
        let raw = self.s.get(cs..ce).unwrap_or_default();
        let mut role = PLAIN;
        if !self.muted {
            self.inline_edits(cs, raw, escaped, true);
            // Keys are compared as parsed; a key too long to be a name is not decoded.
            let decoded;
            let key: &[u8] = if escaped && raw.len() <= 2048 {
                decoded = decode::decode(raw, Kind::JsonString).bytes;
                &decoded
            } else {
                raw
            };
            role.secret = key_names_secret(key);
            role.pair = if key.eq_ignore_ascii_case(b"name") || key.eq_ignore_ascii_case(b"key") {
                Pair::Name
            } else if key.eq_ignore_ascii_case(b"value") {
                Pair::Value
            } else {
                Pair::None
            };
        }
        self.ws();
        if self.peek() != Some(b':') {
            return Err(Fail::Syntax);
        }
        self.i += 1;
        Ok(Next::Value(role))
    }

    fn open(&mut self, obj: bool, start: usize, role: Role) -> Result<(), Fail> {
        if self.stack.len() >= self.r.limits.max_json_depth {
            return Err(Fail::TooDeep);
        }
        let secret = role.secret && !self.muted;
        self.stack.push(Frame {
            obj,
            start,
            secret,
            pair_value: !self.muted && role.pair == Pair::Value,
            name_secret: false,
            value_span: None,
        });
        if secret {
            self.muted = true;
        }
        Ok(())
    }

    /// Closes the innermost container; the closing bracket has been consumed.
    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let end = self.i;
        if frame.secret {
            self.muted = false;
            self.whole(frame.start, end, SecretClass::SecretKeyName);
            return;
        }
        if self.muted {
            return;
        }
        if frame.name_secret
            && let Some((vs, ve)) = frame.value_span
            && !self.trivial(vs, ve)
        {
            self.whole(vs, ve, SecretClass::SecretKeyName);
        }
        if frame.pair_value {
            self.set_value_span(frame.start, end);
        }
    }

    fn set_value_span(&mut self, start: usize, end: usize) {
        if let Some(parent) = self.stack.last_mut() {
            parent.value_span = Some((start, end));
        }
    }

    fn whole(&mut self, start: usize, end: usize, class: SecretClass) {
        self.edits.push(Edit {
            start,
            end,
            class,
            quoted: true,
        });
    }

    /// True for values that hold nothing to hide: `null`, `true`, `false`, `""`, a string
    /// that is already a placeholder, or a reference to a secret kept elsewhere
    /// ([`super::refs::is_reference`]: `"${{ secrets.X }}"`, `"<token>"`, `"write"`).
    fn trivial(&self, start: usize, end: usize) -> bool {
        let text = self.s.get(start..end).unwrap_or_default();
        matches!(text, b"null" | b"true" | b"false" | b"\"\"")
            || text
                .strip_prefix(b"\"")
                .and_then(|t| t.strip_suffix(b"\""))
                .is_some_and(|t| is_placeholder(t) || is_reference(t))
    }

    fn string_value(&mut self, start: usize, cs: usize, ce: usize, escaped: bool, role: Role) {
        if self.muted {
            return;
        }
        let end = ce + 1;
        if role.secret {
            if !self.trivial(start, end) {
                self.whole(start, end, SecretClass::SecretKeyName);
            }
            return;
        }
        let raw = self.s.get(cs..ce).unwrap_or_default();
        self.inline_edits(cs, raw, escaped, false);
        match role.pair {
            Pair::Name => {
                let decoded;
                let text: &[u8] = if escaped && raw.len() <= 2048 {
                    decoded = decode::decode(raw, Kind::JsonString).bytes;
                    &decoded
                } else {
                    raw
                };
                if key_names_secret(text)
                    && let Some(top) = self.stack.last_mut()
                {
                    top.name_secret = true;
                }
            }
            Pair::Value => self.set_value_span(start, end),
            Pair::None => {}
        }
    }

    fn number_value(&mut self, start: usize, role: Role) {
        if self.muted {
            return;
        }
        let end = self.i;
        if role.secret {
            self.whole(start, end, SecretClass::SecretKeyName);
            return;
        }
        let mut hits = Vec::new();
        self.r
            .detect_forbidden_raw(self.s.get(start..end).unwrap_or_default(), &mut hits);
        if !hits.is_empty() {
            self.whole(start, end, SecretClass::ForbiddenToken);
        }
        if role.pair == Pair::Value {
            self.set_value_span(start, end);
        }
    }

    /// Edits inside a string token whose raw content starts at `cs`.
    fn inline_edits(&mut self, cs: usize, raw: &[u8], escaped: bool, key: bool) {
        for h in string_hits(self.r, raw, escaped, key) {
            self.edits.push(Edit {
                start: cs + h.start,
                end: cs + h.end,
                class: h.class,
                quoted: false,
            });
        }
    }

    /// A string token at the current `"`: returns its content span and whether it has escapes.
    fn string(&mut self) -> Result<(usize, usize, bool), Fail> {
        self.i += 1;
        let cs = self.i;
        let mut escaped = false;
        loop {
            let rest = self.s.get(self.i..).unwrap_or_default();
            let Some(off) = rest
                .iter()
                .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20)
            else {
                return Err(Fail::Syntax);
            };
            self.i += off;
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    let (_, len) = decode::json_escape(self.s, self.i).ok_or(Fail::Syntax)?;
                    self.i += len;
                }
                _ => return Err(Fail::Syntax),
            }
        }
        let ce = self.i;
        self.i += 1;
        // Escapes are ASCII, so the raw content is UTF-8 exactly when the value is.
        std::str::from_utf8(self.s.get(cs..ce).unwrap_or_default()).map_err(|_| Fail::Syntax)?;
        Ok((cs, ce, escaped))
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - from
    }

    fn number(&mut self) -> Result<(), Fail> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Fail::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Fail::Syntax);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Fail::Syntax);
            }
        }
        Ok(())
    }
}

/// True if `text` is one or more placeholders and nothing else.
pub(super) fn is_placeholder(text: &[u8]) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix(PLACEHOLDER_PREFIX.as_bytes()) else {
            return false;
        };
        let name_len = after
            .iter()
            .position(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-'))
            .unwrap_or(after.len());
        if name_len == 0 || after.get(name_len) != Some(&b']') {
            return false;
        }
        rest = after.get(name_len + 1..).unwrap_or_default();
    }
    true
}

/// Secrets in a JSON string, found on its parsed value and mapped back to spans of its raw
/// (escaped) content, widened to whole escape sequences.
fn string_hits(r: &Redactor, raw: &[u8], escaped: bool, key: bool) -> Vec<Hit> {
    let detect = |text: &[u8]| {
        if key {
            r.detect_key_text(text)
        } else {
            r.detect_text(text)
        }
    };
    if !escaped {
        return detect(raw);
    }
    let mut hits = Vec::new();
    decode::value_hits(raw, &mut hits, &|value, out| {
        out.extend(detect(value));
    });
    merge_hits(hits)
}

/// [`Redactor::redact_value`]: the same rules as for documents, on a parsed value.
pub(super) fn redact_value(r: &Redactor, root: &mut Value, counts: &mut RedactionCounts) {
    let mut stack: Vec<&mut Value> = vec![root];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(text) => {
                if let Some(new) = redact_str(r, text, false, counts) {
                    *text = new;
                }
            }
            Value::Number(n) => {
                let mut hits = Vec::new();
                r.detect_forbidden_raw(n.to_string().as_bytes(), &mut hits);
                if !hits.is_empty() {
                    counts.add(SecretClass::ForbiddenToken, 1);
                    *v = Value::String(SecretClass::ForbiddenToken.placeholder());
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => {
                redact_keys(r, map, counts);
                let pair_secret = map.iter().any(|(k, child)| {
                    (k.eq_ignore_ascii_case("name") || k.eq_ignore_ascii_case("key"))
                        && child
                            .as_str()
                            .is_some_and(|s| key_names_secret(s.as_bytes()))
                });
                for (k, child) in map.iter_mut() {
                    let secret = key_names_secret(k.as_bytes())
                        || (pair_secret && k.eq_ignore_ascii_case("value"));
                    if !secret {
                        stack.push(child);
                        continue;
                    }
                    let trivial = match &*child {
                        Value::Null | Value::Bool(_) => true,
                        Value::String(s) => {
                            s.is_empty()
                                || is_placeholder(s.as_bytes())
                                || is_reference(s.as_bytes())
                        }
                        _ => false,
                    };
                    if !trivial {
                        counts.add(SecretClass::SecretKeyName, 1);
                        *child = Value::String(SecretClass::SecretKeyName.placeholder());
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// Rewrites the keys of `map` that contain a secret; a rewritten key that would clash with
/// one already present gets a `#2`, `#3`, ... suffix so no value is lost.
fn redact_keys(r: &Redactor, map: &mut Map<String, Value>, counts: &mut RedactionCounts) {
    if !map
        .keys()
        .any(|k| !r.detect_key_text(k.as_bytes()).is_empty())
    {
        return;
    }
    let old = std::mem::take(map);
    for (k, child) in old {
        let mut key = redact_str(r, &k, true, counts).unwrap_or(k);
        if map.contains_key(&key) {
            let mut n = 2u64;
            while map.contains_key(&format!("{key}#{n}")) {
                n += 1;
            }
            key = format!("{key}#{n}");
        }
        map.insert(key, child);
    }
}

/// `text` with every secret replaced, or `None` if it has none.
fn redact_str(r: &Redactor, text: &str, key: bool, counts: &mut RedactionCounts) -> Option<String> {
    let hits = if key {
        r.detect_key_text(text.as_bytes())
    } else {
        r.detect_text(text.as_bytes())
    };
    if hits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for h in hits {
        let mut start = h.start.max(at);
        while start > at && !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = h.end.min(text.len());
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        if end <= start {
            continue;
        }
        out.push_str(text.get(at..start).unwrap_or_default());
        out.push_str(&h.class.placeholder());
        counts.add(h.class, 1);
        at = end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Some(out)
}
