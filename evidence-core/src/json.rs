//! A strict JSON reader for signed and untrusted documents (DESIGN section 3: "Signed JSON is
//! parsed with duplicate keys rejected at any depth").
//!
//! On top of RFC 8259 as `serde_json` reads it (which already refuses trailing garbage, a
//! byte-order mark, invalid UTF-8 and lone surrogates in `\u` escapes), this reader refuses:
//! duplicate member names at any depth (compared after unescaping, so `"a"` and `"\u0061"` are
//! the same name), nesting deeper than a limit, more values than a limit, a parsed value that
//! would take more memory than a limit, and input larger than a limit. Two parsers that
//! disagree about which duplicate wins can be made to disagree about what was signed;
//! refusing duplicates removes the question.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::mem::size_of;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Default largest document: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default deepest nesting of arrays and objects.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default most values (of any type) in one document.
pub const DEFAULT_MAX_VALUES: usize = 4_000_000;
/// Default most memory a parsed document may take, as [`JsonLimits::max_memory`] estimates
/// it: 1 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 1 << 30;

/// Hard limits for [`parse_strict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonLimits {
    /// Largest input, in bytes.
    pub max_bytes: u64,
    /// Deepest nesting (a scalar at top level has depth 0; `[]` has depth 1). At most 127.
    pub max_depth: usize,
    /// Most values in the document.
    pub max_values: usize,
    /// Most memory the parsed value may take, in bytes, estimated while reading so that a
    /// document is refused before it is built. The estimate bounds the heap the value holds
    /// from above: each string and member name its bytes; each array its element slots as the
    /// array grows; each object [`OBJECT_BYTES`] for its first member and
    /// [`OBJECT_MEMBER_BYTES`] for every further one; and [`ALLOCATION_BYTES`] more for each
    /// string, array and object that allocates. Small objects are what make parsed JSON
    /// large: `[{"a":0},{"a":0},...]` takes about 85 times its size in memory, so a count of
    /// values alone does not bound it.
    pub max_memory: u64,
}

/// Bytes charged for an object's first member: one B-tree node of `serde_json`'s map, room
/// for 11 members whether or not they come.
pub const OBJECT_BYTES: u64 = 11 * (size_of::<String>() + size_of::<Value>()) as u64 + 16;
/// Bytes charged for each further member of an object. Every B-tree node but the first holds
/// at least 5 members, and an inner node more than its share, so a quarter of a node (with
/// its allocation) per member bounds the tree from above.
pub const OBJECT_MEMBER_BYTES: u64 = (OBJECT_BYTES + ALLOCATION_BYTES) / 4;
/// Bytes charged per allocation for the allocator's own header and rounding (glibc's malloc
/// takes at most 31 bytes more than asked: a one-byte string costs a 32-byte chunk).
pub const ALLOCATION_BYTES: u64 = 32;
/// Bytes of one array element's slot.
const SLOT_BYTES: u64 = size_of::<Value>() as u64;

impl Default for JsonLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_values: DEFAULT_MAX_VALUES,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The input is larger than the limit.
    #[error("document is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// An object has the same member name twice.
    #[error("duplicate key {key:?} at line {line}, column {column}")]
    DuplicateKey {
        /// The repeated name (control characters escaped).
        key: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Nesting deeper than the limit.
    #[error("nesting deeper than {limit} at line {line}, column {column}")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// More values than the limit.
    #[error("more than {limit} values")]
    TooManyValues {
        /// The limit.
        limit: usize,
    },
    /// The parsed value would take more memory than the limit.
    #[error("the parsed document would take more than {limit} bytes of memory")]
    TooMuchMemory {
        /// The limit.
        limit: u64,
    },
    /// Not JSON (or not of the expected shape).
    #[error("{message}")]
    Syntax {
        /// What the parser said, with line and column.
        message: String,
        /// 1-based line (0 if unknown).
        line: usize,
        /// 1-based column (0 if unknown).
        column: usize,
    },
}

/// Parses `bytes` strictly into a value.
pub fn parse_strict(bytes: &[u8], limits: &JsonLimits) -> Result<Value, JsonError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(JsonError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let state = State {
        limits: *limits,
        values: Cell::new(0),
        memory: Cell::new(0),
        failure: RefCell::new(None),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = StrictSeed {
        state: &state,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    result.map_err(|e| match state.failure.into_inner() {
        Some(failure) => with_position(failure, e.line(), e.column()),
        None => JsonError::Syntax {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        },
    })
}

/// Parses `bytes` strictly, then converts the value into `T`.
pub fn from_slice_strict<T: de::DeserializeOwned>(
    bytes: &[u8],
    limits: &JsonLimits,
) -> Result<T, JsonError> {
    let value = parse_strict(bytes, limits)?;
    serde_json::from_value(value).map_err(|e| JsonError::Syntax {
        message: e.to_string(),
        line: 0,
        column: 0,
    })
}

struct State {
    limits: JsonLimits,
    values: Cell<usize>,
    /// Estimated bytes held so far (see [`JsonLimits::max_memory`]).
    memory: Cell<u64>,
    failure: RefCell<Option<JsonError>>,
}

impl State {
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let n = self.values.get() + 1;
        self.values.set(n);
        if n > self.limits.max_values {
            return Err(self.fail(JsonError::TooManyValues {
                limit: self.limits.max_values,
            }));
        }
        Ok(())
    }

    /// Adds `bytes` to the memory estimate.
    fn charge<E: de::Error>(&self, bytes: u64) -> Result<(), E> {
        let total = self.memory.get().saturating_add(bytes);
        self.memory.set(total);
        if total > self.limits.max_memory {
            return Err(self.fail(JsonError::TooMuchMemory {
                limit: self.limits.max_memory,
            }));
        }
        Ok(())
    }

    /// Counts a string value and charges its bytes.
    fn string<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        self.count()?;
        self.charge(allocation(bytes))
    }

    fn fail<E: de::Error>(&self, err: JsonError) -> E {
        let message = err.to_string();
        *self.failure.borrow_mut() = Some(err);
        E::custom(message)
    }
}

#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    state: &'a State,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.state.count()?;
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.state.string(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.state.string(v.capacity())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.state.count()?;
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            let before = items.capacity();
            items.push(item);
            let grown = items.capacity().saturating_sub(before) as u64;
            let first = if before == 0 { ALLOCATION_BYTES } else { 0 };
            self.state
                .charge(grown.saturating_mul(SLOT_BYTES).saturating_add(first))?;
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        self.state.count()?;
        let inner = self.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let member = if map.is_empty() {
                OBJECT_BYTES + ALLOCATION_BYTES
            } else {
                OBJECT_MEMBER_BYTES
            };
            self.state
                .charge(member.saturating_add(allocation(key.capacity())))?;
            if map.contains_key(&key) {
                return Err(self.state.fail(JsonError::DuplicateKey {
                    key: crate::text::printable(&key).into_owned(),
                    line: 0,
                    column: 0,
                }));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

impl<'a> StrictSeed<'a> {
    fn enter<E: de::Error>(self) -> Result<StrictSeed<'a>, E> {
        let depth = self.depth + 1;
        if depth > self.state.limits.max_depth {
            return Err(self.state.fail(JsonError::TooDeep {
                limit: self.state.limits.max_depth,
                line: 0,
                column: 0,
            }));
        }
        Ok(StrictSeed {
            state: self.state,
            depth,
        })
    }
}

/// The estimated cost of a string's heap buffer of `capacity` bytes (none when empty).
fn allocation(capacity: usize) -> u64 {
    match capacity {
        0 => 0,
        n => (n as u64).saturating_add(ALLOCATION_BYTES),
    }
}

/// Replaces the unknown positions recorded by the visitor with the parser's.
fn with_position(err: JsonError, line: usize, column: usize) -> JsonError {
    match err {
        JsonError::DuplicateKey { key, .. } => JsonError::DuplicateKey { key, line, column },
        JsonError::TooDeep { limit, .. } => JsonError::TooDeep {
            limit,
            line,
            column,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strict(text: &str) -> Result<Value, JsonError> {
        parse_strict(text.as_bytes(), &JsonLimits::default())
    }

    #[test]
    fn accepts_ordinary_json() {
        let v = strict(r#"{"a":[1,2.5,"x",null,true],"b":{"c":{}}}"#).unwrap();
        assert_eq!(v["a"][2], "x");
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":[{"a":1,"b":2,"a":3}]}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            assert!(
                matches!(strict(text), Err(JsonError::DuplicateKey { ref key, .. }) if key == "a"),
                "{text}: {:?}",
                strict(text)
            );
        }
        match strict("{\n  \"k\": 1,\n  \"k\": 2\n}") {
            Err(JsonError::DuplicateKey { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn depth_values_and_size_limits() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            strict(&deep),
            Err(JsonError::TooDeep { limit: 64, .. })
        ));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(strict(&ok).is_ok());
        let limits = JsonLimits {
            max_values: 3,
            ..JsonLimits::default()
        };
        assert_eq!(
            parse_strict(b"[1,2,3]", &limits),
            Err(JsonError::TooManyValues { limit: 3 })
        );
        // The array and its two elements: exactly the limit.
        assert!(parse_strict(b"[1,2]", &limits).is_ok());
        let limits = JsonLimits {
            max_bytes: 4,
            ..JsonLimits::default()
        };
        assert_eq!(
            parse_strict(b"[1,2]", &limits),
            Err(JsonError::TooLarge { limit: 4 })
        );
    }

    /// The least `max_memory` under which `text` parses.
    fn charged(text: &str) -> u64 {
        let parses = |max_memory| {
            let limits = JsonLimits {
                max_memory,
                ..JsonLimits::default()
            };
            match parse_strict(text.as_bytes(), &limits) {
                Ok(_) => true,
                Err(JsonError::TooMuchMemory { limit }) => {
                    assert_eq!(limit, max_memory);
                    false
                }
                Err(e) => panic!("{text}: {e}"),
            }
        };
        let (mut low, mut high) = (0, 1 << 20);
        while low < high {
            let mid = (low + high) / 2;
            if parses(mid) {
                high = mid
            } else {
                low = mid + 1
            }
        }
        low
    }

    #[test]
    fn memory_is_charged_per_allocation_the_value_makes() {
        // Scalars and empty containers live in their parent's slot: nothing to charge.
        for text in ["0", "true", "null", "\"\"", "[]", "{}"] {
            assert_eq!(charged(text), 0, "{text}");
        }
        assert_eq!(charged(r#""abc""#), 3 + ALLOCATION_BYTES);
        // An array is charged its slots as it grows: 4, then 8.
        let slot = size_of::<Value>() as u64;
        assert_eq!(charged("[1]"), 4 * slot + ALLOCATION_BYTES);
        assert_eq!(charged("[1,2,3,4,5]"), 8 * slot + ALLOCATION_BYTES);
        // An object: a whole node for its first member, a share for each further one, and
        // every member name.
        assert_eq!(
            charged(r#"{"a":0}"#),
            OBJECT_BYTES + 2 * ALLOCATION_BYTES + 1
        );
        assert_eq!(
            charged(r#"{"a":0,"bc":"xyz"}"#),
            OBJECT_BYTES + OBJECT_MEMBER_BYTES + 4 * ALLOCATION_BYTES + 1 + 2 + 3
        );
        // Escapes are charged as the unescaped string the value holds.
        assert_eq!(charged(r#""\u0041\n""#), 2 + ALLOCATION_BYTES);
    }

    #[test]
    fn small_objects_meet_the_memory_limit_long_before_the_value_limit() {
        // 100,000 one-member objects in 800 KB: 200,001 values, but over 60 MiB once parsed.
        let text = format!("[{}]", vec![r#"{"a":0}"#; 100_000].join(","));
        let limits = JsonLimits {
            max_memory: 16 << 20,
            ..JsonLimits::default()
        };
        assert_eq!(
            parse_strict(text.as_bytes(), &limits),
            Err(JsonError::TooMuchMemory { limit: 16 << 20 })
        );
        let limits = JsonLimits {
            max_memory: 60 << 20,
            ..JsonLimits::default()
        };
        assert_eq!(
            parse_strict(text.as_bytes(), &limits),
            Err(JsonError::TooMuchMemory { limit: 60 << 20 })
        );
    }

    #[test]
    fn malformed_input_is_a_syntax_error() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\":1} x",
            "\u{feff}{}",
            r#""\ud800""#,
            "NaN",
            "[1e400]",
        ] {
            assert!(
                matches!(strict(text), Err(JsonError::Syntax { .. })),
                "{text:?}: {:?}",
                strict(text)
            );
        }
        assert!(matches!(
            parse_strict(b"\"\xff\"", &JsonLimits::default()),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn typed_reading() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct T {
            a: u32,
        }
        assert_eq!(
            from_slice_strict::<T>(br#"{"a":7}"#, &JsonLimits::default()),
            Ok(T { a: 7 })
        );
        assert!(matches!(
            from_slice_strict::<T>(br#"{"a":7,"a":8}"#, &JsonLimits::default()),
            Err(JsonError::DuplicateKey { .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_strict(&bytes, &JsonLimits::default());
        }

        #[test]
        fn agrees_with_serde_json_on_duplicate_free_input(
            m in proptest::collection::btree_map("[a-z]{1,4}", any::<i32>(), 0..8)
        ) {
            let v = serde_json::to_value(&m).unwrap();
            let bytes = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(parse_strict(&bytes, &JsonLimits::default()).unwrap(), v);
        }
    }
}
