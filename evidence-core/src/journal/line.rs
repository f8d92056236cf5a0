//! Judging one journal line: UTF-8, strict JSON (duplicate member names refused at any depth,
//! nesting bounded), a JSON object. Only the members the caller asks about are kept: the type
//! member's string and, as full values, the unique-key members. Everything else is validated
//! and dropped as it is read, so the cost per line is the parse, not an allocation per value.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a line is bad, before any cross-line rule (unique keys) is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineFault {
    /// The last line of the stream has no LF and ends before its JSON value does.
    Truncated(String),
    /// Not UTF-8; `column` is the 1-based byte column of the first bad byte.
    NotUtf8 { column: u64 },
    /// Not JSON (or an empty line, or nested too deeply); `column` when the parser knows it.
    NotJson {
        message: String,
        column: Option<u64>,
    },
    /// A member name appears twice in one object.
    DuplicateMember { name: String, column: Option<u64> },
    /// JSON, but not an object.
    NotObject { found: &'static str },
}

/// What a good line holds that the verifier counts.
#[derive(Debug, Default)]
pub(crate) struct Facts<'a> {
    /// The type member's value, when it is a string.
    pub type_name: Option<Cow<'a, str>>,
    /// For each unique key (by index), its value when present.
    pub unique: Vec<Option<Value>>,
}

/// The member names a line is read for.
#[derive(Debug)]
pub(crate) struct Wanted<'o> {
    /// The type member's name.
    pub type_key: &'o str,
    /// Unique-key member names.
    pub unique_keys: &'o [String],
    /// Deepest nesting of arrays and objects (the line's object is depth 1).
    pub max_depth: usize,
}

/// Judges one line's content (without its LF). `last_without_newline` says it is the final
/// line of a stream that does not end with an LF.
pub(crate) fn judge<'a>(
    content: &'a [u8],
    last_without_newline: bool,
    wanted: &Wanted<'_>,
) -> Result<Facts<'a>, LineFault> {
    let text = text_of(content, last_without_newline)?;
    let state = State {
        wanted,
        fault: Cell::new(None),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = Top { state: &state }
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top));
    match result {
        Ok(TopValue::Object(facts)) => Ok(facts),
        Ok(TopValue::Other(found)) => Err(LineFault::NotObject { found }),
        Err(e) => Err(parse_fault(
            &e,
            state.fault.take(),
            wanted,
            last_without_newline,
        )),
    }
}

/// The line as UTF-8 text that is not blank.
fn text_of(content: &[u8], last_without_newline: bool) -> Result<&str, LineFault> {
    let text = match std::str::from_utf8(content) {
        Ok(t) => t,
        // An incomplete sequence at the very end of the stream: the writer stopped mid-character.
        Err(e) if last_without_newline && e.error_len().is_none() => {
            return Err(LineFault::Truncated(
                "the last line ends inside a UTF-8 character and has no newline".into(),
            ));
        }
        Err(e) => {
            return Err(LineFault::NotUtf8 {
                column: e.valid_up_to() as u64 + 1,
            });
        }
    };
    if text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        if last_without_newline {
            return Err(LineFault::Truncated(
                "the last line holds only white space and has no newline".into(),
            ));
        }
        return Err(LineFault::NotJson {
            message: "empty line".into(),
            column: None,
        });
    }
    Ok(text)
}

/// Why the parse failed: a rule of ours (`fault`), a truncated last line, or bad JSON.
fn parse_fault(
    e: &serde_json::Error,
    fault: Option<Fault>,
    wanted: &Wanted<'_>,
    last_without_newline: bool,
) -> LineFault {
    let column = (e.column() > 0).then_some(e.column() as u64);
    match fault {
        Some(Fault::Duplicate(name)) => LineFault::DuplicateMember { name, column },
        Some(Fault::TooDeep) => LineFault::NotJson {
            message: format!("nested deeper than {} levels", wanted.max_depth),
            column,
        },
        None if last_without_newline && e.classify() == serde_json::error::Category::Eof => {
            LineFault::Truncated(format!(
                "the last line has no newline and its JSON is incomplete ({})",
                message(e)
            ))
        }
        None => LineFault::NotJson {
            message: message(e),
            column,
        },
    }
}

/// serde's message without its "at line 1 column N" (the report gives line and column).
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let text = text.strip_suffix(&suffix).unwrap_or(&text);
    if e.column() > 0 {
        format!("{text} at byte {}", e.column())
    } else {
        text.to_owned()
    }
}

/// A rule broken inside the parse, recorded beside serde's error (which carries the position).
enum Fault {
    Duplicate(String),
    TooDeep,
}

struct State<'o> {
    wanted: &'o Wanted<'o>,
    fault: Cell<Option<Fault>>,
}

impl State<'_> {
    fn fail<E: de::Error>(&self, fault: Fault) -> E {
        let message = match &fault {
            Fault::Duplicate(name) => format!("duplicate member name {name:?}"),
            Fault::TooDeep => "nested too deeply".to_owned(),
        };
        self.fault.set(Some(fault));
        E::custom(message)
    }
}

/// Member names seen in one object: held inline (no allocation) for the usual few members,
/// in a set once there are more.
struct Names<'de> {
    inline: [Option<Cow<'de, str>>; INLINE_NAMES],
    len: usize,
    set: Option<HashSet<Cow<'de, str>>>,
}

/// Objects with more members than this move their names to a set.
const INLINE_NAMES: usize = 16;

impl<'de> Names<'de> {
    fn new() -> Self {
        Self {
            inline: [const { None }; INLINE_NAMES],
            len: 0,
            set: None,
        }
    }

    /// Records `name`, or gives it back if it was already there.
    fn insert(&mut self, name: Cow<'de, str>) -> Result<(), Cow<'de, str>> {
        if let Some(set) = self.set.as_mut() {
            if set.contains(&name) {
                return Err(name);
            }
            set.insert(name);
            return Ok(());
        }
        let seen = self.inline.get(..self.len).unwrap_or_default();
        if seen.iter().flatten().any(|n| *n == name) {
            return Err(name);
        }
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(name);
                self.len += 1;
            }
            None => {
                let mut set: HashSet<Cow<'de, str>> =
                    self.inline.iter_mut().filter_map(Option::take).collect();
                set.insert(name);
                self.set = Some(set);
            }
        }
        Ok(())
    }
}

impl State<'_> {
    fn duplicate<E: de::Error>(&self, name: &str) -> E {
        self.fail(Fault::Duplicate(crate::text::printable(name).into_owned()))
    }
}

/// Reads a member name, borrowed from the line when it has no escapes.
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The whole line: an object whose wanted members are kept, or another value (validated).
enum TopValue<'de> {
    Object(Facts<'de>),
    Other(&'static str),
}

struct Top<'s, 'o> {
    state: &'s State<'o>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = TopValue<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = TopValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(TopValue::Other("boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(TopValue::Other("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(TopValue::Other("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(TopValue::Other("number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(TopValue::Other("string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(TopValue::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skim {
            state: self.state,
            depth: 0,
        }
        .visit_seq(seq)?;
        Ok(TopValue::Other("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let wanted = self.state.wanted;
        let inner = Skim {
            state: self.state,
            depth: 1,
        };
        if wanted.max_depth < 1 {
            return Err(self.state.fail(Fault::TooDeep));
        }
        let mut facts = Facts {
            type_name: None,
            unique: vec![None; wanted.unique_keys.len()],
        };
        let mut names = Names::new();
        while let Some(name) = access.next_key_seed(NameSeed)? {
            let unique = wanted.unique_keys.iter().position(|k| *k == *name);
            let is_type = *name == *wanted.type_key;
            if let Err(name) = names.insert(name) {
                return Err(self.state.duplicate(&name));
            }
            match unique {
                Some(index) => {
                    let value = access.next_value_seed(Build {
                        state: self.state,
                        depth: 1,
                    })?;
                    if is_type {
                        facts.type_name = value.as_str().map(|s| Cow::Owned(s.to_owned()));
                    }
                    if let Some(slot) = facts.unique.get_mut(index) {
                        *slot = Some(value);
                    }
                }
                None if is_type => {
                    facts.type_name = access.next_value_seed(TypeSeed { inner })?;
                }
                None => access.next_value_seed(inner)?,
            }
        }
        Ok(TopValue::Object(facts))
    }
}

/// The type member's value: kept when it is a string, otherwise validated and dropped.
struct TypeSeed<'s, 'o> {
    inner: Skim<'s, 'o>,
}

impl<'de> DeserializeSeed<'de> for TypeSeed<'_, '_> {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TypeSeed<'_, '_> {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(access).map(|()| None)
    }
}

/// Validates a value and keeps nothing. `depth` is the nesting of the value's container.
#[derive(Clone, Copy)]
struct Skim<'s, 'o> {
    state: &'s State<'o>,
    depth: usize,
}

impl<'s, 'o> Skim<'s, 'o> {
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth + 1;
        if depth > self.state.wanted.max_depth {
            return Err(self.state.fail(Fault::TooDeep));
        }
        Ok(Self { depth, ..self })
    }
}

impl<'de> DeserializeSeed<'de> for Skim<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skim<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        let mut names = Names::new();
        while let Some(name) = access.next_key_seed(NameSeed)? {
            if let Err(name) = names.insert(name) {
                return Err(self.state.duplicate(&name));
            }
            access.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Builds a value (a unique-key member), under the same rules. `depth` as for [`Skim`].
#[derive(Clone, Copy)]
struct Build<'s, 'o> {
    state: &'s State<'o>,
    depth: usize,
}

impl Build<'_, '_> {
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth + 1;
        if depth > self.state.wanted.max_depth {
            return Err(self.state.fail(Fault::TooDeep));
        }
        Ok(Self { depth, ..self })
    }
}

impl<'de> DeserializeSeed<'de> for Build<'_, '_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_, '_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut map = Map::new();
        while let Some(name) = access.next_key_seed(NameSeed)? {
            if map.contains_key(name.as_ref()) {
                return Err(self.state.duplicate(&name));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(name.into_owned(), value);
        }
        Ok(Value::Object(map))
    }
}
