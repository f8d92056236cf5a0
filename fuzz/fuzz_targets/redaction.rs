//! Redaction. For a JSON document built from the fuzz input with a secret-shaped value and a
//! forbidden token planted in it: the redacted output is valid JSON, contains neither the
//! planted secret nor the token (as bytes, nor in any string or member name once parsed), and
//! redacting it again changes nothing; redacting the parsed value in place removes both too.
//! For raw bytes under every content hint: no panic, and redacting twice equals once.
#![no_main]

use arbitrary::Arbitrary;
use evidence_core::redact::{ContentHint, Redactor};
use evidence_fuzz::strings;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// The forbidden token every input is redacted with.
const TOKEN: &str = "fuzz-Forbidden-0x71c3";

/// Secret-shaped values whose whole text is the secret (built from parts so that the source
/// itself holds no secret-shaped literal).
fn secrets() -> Vec<String> {
    vec![
        format!("{}{}", "ghp_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
        format!("{}{}", "glpat-", "xYz12AbC3dEf4GhI5jKl"),
        format!("{}{}", "AKIA", "Z7Q2X9V4B6N1M3K5"),
        format!("{}{}", "sk-ant-api03-", "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0"),
        format!("{}{}", "xoxb-", "1234567890-0987654321-AbCdEfGhIjKlMnOp"),
        format!("{}{}", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"),
        format!("{}{}", "AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
        format!("{}{}", "npm_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ]
}

#[derive(Arbitrary, Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
    /// The secret as a whole string value.
    Secret,
    /// The secret as a whole member name.
    SecretKey(Box<Node>),
    /// The forbidden token inside a string, between arbitrary text.
    Token(String, String),
    /// The forbidden token inside a member name.
    TokenKey(String, Box<Node>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    doc: Node,
    secret: u8,
    pretty: bool,
    raw: Vec<u8>,
    hint: u8,
}

fn build(node: &Node, secret: &str, depth: usize) -> Value {
    if depth > 24 {
        return Value::Null;
    }
    let inner = |n: &Node| build(n, secret, depth + 1);
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(n) => Value::from(*n),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Arr(items) => Value::Array(items.iter().map(inner).collect()),
        Node::Obj(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), inner(v)))
                .collect::<Map<_, _>>(),
        ),
        Node::Secret => Value::String(secret.to_owned()),
        Node::SecretKey(v) => {
            let mut map = Map::new();
            map.insert(secret.to_owned(), inner(v));
            Value::Object(map)
        }
        Node::Token(a, b) => Value::String(format!("{a}{TOKEN}{b}")),
        Node::TokenKey(a, v) => {
            let mut map = Map::new();
            map.insert(format!("{a}{TOKEN}"), inner(v));
            Value::Object(map)
        }
    }
}

/// True if arbitrary text of the document (not a planted node) holds the secret's text: then
/// it may sit where it is not a secret by the detectors' rules (glued inside a longer word,
/// `xxghp_...xx`), and only the planted copies are asserted gone.
fn text_holds(node: &Node, secret: &str) -> bool {
    match node {
        Node::Str(s) => s.contains(secret),
        Node::Arr(items) => items.iter().any(|n| text_holds(n, secret)),
        Node::Obj(members) => members
            .iter()
            .any(|(k, v)| k.contains(secret) || text_holds(v, secret)),
        Node::SecretKey(v) => text_holds(v, secret),
        Node::Token(a, b) => a.contains(secret) || b.contains(secret),
        Node::TokenKey(a, v) => a.contains(secret) || text_holds(v, secret),
        Node::Null | Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Secret => false,
    }
}

fn assert_clean(value: &Value, secret: Option<&str>, what: &str) {
    let mut all = Vec::new();
    strings(value, &mut all);
    for s in all {
        if let Some(secret) = secret {
            assert!(!s.contains(secret), "{what}: the secret survived in {s:?}");
        }
        assert!(!s.contains(TOKEN), "{what}: the forbidden token survived in {s:?}");
    }
}

fuzz_target!(|input: Input| {
    let redactor = Redactor::new(&[TOKEN.to_owned()]).expect("a valid token");
    let hints = [
        ContentHint::Auto,
        ContentHint::Json,
        ContentHint::JsonLines,
        ContentHint::Text,
    ];

    // Raw bytes: no panic, and a second pass changes nothing.
    let hint = hints[usize::from(input.hint) % hints.len()];
    let once = redactor.redact_bytes(&input.raw, hint);
    let twice = redactor.redact_bytes(&once.bytes, hint);
    assert_eq!(twice.bytes, once.bytes, "redacting raw bytes twice changed them ({hint:?})");

    // A JSON document with planted secrets.
    let all = secrets();
    let secret = &all[usize::from(input.secret) % all.len()];
    let mut value = build(&input.doc, secret, 0);
    // Only planted copies of the secret are asserted gone (see `text_holds`); the forbidden
    // token must go wherever it is.
    let planted = (!text_holds(&input.doc, secret)).then_some(secret.as_str());
    let text = if input.pretty {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    }
    .expect("a value serialises");
    for hint in [ContentHint::Json, ContentHint::Auto] {
        let out = redactor.redact_bytes(&text, hint);
        let parsed: Value = serde_json::from_slice(&out.bytes).unwrap_or_else(|e| {
            panic!(
                "redacted JSON is not JSON ({hint:?}): {e}\n{}",
                String::from_utf8_lossy(&out.bytes)
            )
        });
        let shown = || {
            format!(
                "({hint:?})\ninput:  {}\noutput: {}",
                String::from_utf8_lossy(&text),
                String::from_utf8_lossy(&out.bytes)
            )
        };
        assert!(
            planted.is_none() || !out.bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret survived in the bytes {}",
            shown()
        );
        assert!(
            !out.bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "the forbidden token survived in the bytes {}",
            shown()
        );
        assert_clean(&parsed, planted, "redact_bytes");
        let again = redactor.redact_bytes(&out.bytes, hint);
        assert_eq!(again.bytes, out.bytes, "redacting JSON twice changed it");
    }
    let _ = redactor.redact_value(&mut value);
    assert_clean(&value, planted, "redact_value");
});
