use super::*;
use proptest::prelude::*;
use std::io::Write as _;
use std::process::{Command, Stdio};

fn py(text: &str) -> String {
    dumps(&parse(text.as_bytes(), &JsonLimits::default()).unwrap())
}

/// Expected outputs were produced by CPython 3.11's `json.dumps(json.loads(text),
/// sort_keys=True, separators=(",", ":"))`; the proptest below re-checks against the local
/// python3 on random documents.
#[test]
fn fixed_vectors() {
    let cases: &[(&str, &str)] = &[
        // Code point order, not UTF-16 order: U+FFFF sorts before U+1F600.
        (
            "{\"\u{1F600}\":1,\"\u{ffff}\":2,\"a\":3,\"\u{e9}\":4,\"Z\":5,\"\":6}",
            r#"{"":6,"Z":5,"a":3,"\u00e9":4,"\uffff":2,"\ud83d\ude00":1}"#,
        ),
        (
            "\"\\u0000\\u0001\\u001f\u{7f}\u{80}\u{2028}\u{d7ff}\u{e000}\u{10ffff}/\\\\\\\"\\b\\f\\n\\r\\t\"",
            r#""\u0000\u0001\u001f\u007f\u0080\u2028\ud7ff\ue000\udbff\udfff/\\\"\b\f\n\r\t""#,
        ),
        ("\"\\/\"", r#""/""#),
        (
            "[1e-05,0.0001,1e16,1e15]",
            "[1e-05,0.0001,1e+16,1000000000000000.0]",
        ),
        ("123456789012345678.0", "1.2345678901234568e+17"),
        ("9999999999999998.0", "9999999999999998.0"),
        (
            "[1.5e300,-0.0,0.0,100.0,1E2]",
            "[1.5e+300,-0.0,0.0,100.0,100.0]",
        ),
        (
            "[5e-324,1.7976931348623157e308]",
            "[5e-324,1.7976931348623157e+308]",
        ),
        (
            "[0.1,0.3333333333333333,2.5e-5,12345.678]",
            "[0.1,0.3333333333333333,2.5e-05,12345.678]",
        ),
        (
            "[1e22,1e21,0.00001234,9.999e-5]",
            "[1e+22,1e+21,1.234e-05,9.999e-05]",
        ),
        (
            "[1000000000000000.2,999999999999999.9]",
            "[1000000000000000.2,999999999999999.9]",
        ),
        // Exact ties between two shortest candidates: the even last digit wins.
        (
            "[1000000000000000.25,1000000000000000.75]",
            "[1000000000000000.2,1000000000000000.8]",
        ),
        (
            "[9007199254740993,9007199254740993.0]",
            "[9007199254740993,9007199254740992.0]",
        ),
        (
            "[0.30000000000000004,4.35,1e301]",
            "[0.30000000000000004,4.35,1e+301]",
        ),
        (
            "[18446744073709551615,-9223372036854775808,9223372036854775807,0,-1]",
            "[18446744073709551615,-9223372036854775808,9223372036854775807,0,-1]",
        ),
        (
            "{ \"b\" : [ true , false , null ] , \"a\" : { } }",
            r#"{"a":{},"b":[true,false,null]}"#,
        ),
        ("\"\\ud83d\\ude00\"", r#""\ud83d\ude00""#),
    ];
    for (input, want) in cases {
        assert_eq!(&py(input), want, "{input}");
    }
}

#[test]
fn integers_python_would_keep_whole_are_refused() {
    let l = JsonLimits::default();
    for text in [
        "18446744073709551616",
        "[-9223372036854775809]",
        "{\"a\":123456789012345678901234567890}",
    ] {
        assert!(
            matches!(
                parse(text.as_bytes(), &l),
                Err(PyJsonError::BigInteger { .. })
            ),
            "{text}"
        );
    }
    assert_eq!(
        parse(b"{\"a\": -0}", &l),
        Err(PyJsonError::NegativeZeroInteger { offset: 6 })
    );
    // Digits inside strings, and floats of any size, are fine.
    assert!(
        parse(
            b"{\"-0\":\"123456789012345678901234567890\",\"x\":-0.0}",
            &l
        )
        .is_ok()
    );
    assert!(parse(b"[1e400]", &l).is_err(), "infinity is not JSON");
    assert!(matches!(
        parse(b"{\"a\":1,\"a\":2}", &l),
        Err(PyJsonError::Json(JsonError::DuplicateKey { .. }))
    ));
    let long = format!("[{}]", "9".repeat(100));
    match parse(long.as_bytes(), &l) {
        Err(PyJsonError::BigInteger { digits, offset: 1 }) => assert_eq!(digits.len(), 43),
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_ensure_ascii_only_quotes_backslashes_and_controls_are_escaped() {
    let text =
        "{\"\u{e9}\":\"\\u0000\\u001f\u{7f}\u{80}\u{2028}\u{1f600}/\\\\\\\"\\b\\f\\n\\r\\t\"}";
    let value = parse(text.as_bytes(), &JsonLimits::default()).unwrap();
    assert_eq!(
        dumps_with(&value, Escape::Unicode),
        "{\"\u{e9}\":\"\\u0000\\u001f\u{7f}\u{80}\u{2028}\u{1f600}/\\\\\\\"\\b\\f\\n\\r\\t\"}"
    );
}

#[test]
fn hash_is_sha256_of_the_text() {
    let v = serde_json::json!({"b": 1, "a": "é"});
    assert_eq!(dumps(&v), r#"{"a":"\u00e9","b":1}"#);
    assert_eq!(
        python_hash(&v),
        Sha256Digest::of(br#"{"a":"\u00e9","b":1}"#)
    );
}

/// Runs CPython's encoder over one document per line; `None` when python3 is absent and the
/// caller allowed skipping.
pub(crate) fn python_dumps(lines: &[String]) -> Option<Vec<String>> {
    python_dumps_with(lines, Escape::Ascii)
}

/// [`python_dumps`] with `ensure_ascii` as `escape` says.
fn python_dumps_with(lines: &[String], escape: Escape) -> Option<Vec<String>> {
    let ensure_ascii = match escape {
        Escape::Ascii => "True",
        Escape::Unicode => "False",
    };
    let script = format!(
        "import json,sys\n\
         sys.stdout.reconfigure(encoding='utf-8')\n\
         for line in sys.stdin.buffer.read().decode('utf-8').split('\\n')[:-1]:\n\
         \x20   sys.stdout.write(json.dumps(json.loads(line), sort_keys=True, separators=(',', ':'), ensure_ascii={ensure_ascii}) + '\\n')\n"
    );
    let child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("EVIDENCE_SKIP_PYTHON").is_some() => {
            let _ = e;
            return None;
        }
        Err(e) => panic!(
            "python3 is needed for the cross-check ({e}); set EVIDENCE_SKIP_PYTHON=1 to skip"
        ),
    };
    let mut input = String::new();
    for line in lines {
        input.push_str(line);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "python3 failed");
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.lines().map(str::to_owned).collect())
}

fn arb_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\0', '\u{1f}'),
        1 => proptest::char::range('\u{7f}', '\u{ff}'),
        1 => proptest::char::range('\u{100}', '\u{d7ff}'),
        1 => proptest::char::range('\u{e000}', '\u{ffff}'),
        1 => proptest::char::range('\u{10000}', '\u{10ffff}'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(arb_char(), 0..8).prop_map(|cs| cs.into_iter().collect())
}

fn arb_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        // Around the switch to exponent form (1e-4 / 1e-5 and 1e15 / 1e16).
        (-7i32..19, 1u64..100_000).prop_map(|(e, m)| m as f64 * 10f64.powi(e - 5)),
        (any::<bool>(), -6i32..18).prop_map(|(neg, e)| {
            let x = 10f64.powi(e);
            if neg { -x } else { x }
        }),
        Just(-0.0),
        Just(0.0),
        any::<i32>().prop_map(f64::from),
        // Exact ties: integers near 2^50..2^54 plus a binary fraction.
        (1u64 << 49..1u64 << 54, 0u8..8).prop_map(|(i, f)| i as f64 + f64::from(f) / 8.0),
        // Powers of two, where the gap below is half the gap above.
        (1u64..2047).prop_map(|e| f64::from_bits(e << 52)),
    ]
    .prop_filter("finite", |x| x.is_finite())
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        arb_float().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(arb_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    // Each case is one python3 process over a few hundred documents.
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_cpython(docs in proptest::collection::vec(arb_json(), 200..300)) {
        let lines: Vec<String> = docs.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
        let Some(expected) = python_dumps(&lines) else { return Ok(()) };
        prop_assert_eq!(expected.len(), lines.len());
        for (line, want) in lines.iter().zip(&expected) {
            // The full path: the same text parsed by the packet reader, then encoded.
            let ours = dumps(&parse(line.as_bytes(), &JsonLimits::default()).unwrap());
            prop_assert_eq!(&ours, want, "input {}", line);
        }
    }

    #[test]
    fn agrees_with_cpython_without_ensure_ascii(docs in proptest::collection::vec(arb_json(), 200..300)) {
        let lines: Vec<String> = docs.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
        let Some(expected) = python_dumps_with(&lines, Escape::Unicode) else { return Ok(()) };
        prop_assert_eq!(expected.len(), lines.len());
        for (line, want) in lines.iter().zip(&expected) {
            let value = parse(line.as_bytes(), &JsonLimits::default()).unwrap();
            prop_assert_eq!(&dumps_with(&value, Escape::Unicode), want, "input {}", line);
        }
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&bytes, &JsonLimits::default());
    }
}

#[test]
fn fixed_vectors_agree_with_cpython() {
    let inputs: Vec<String> = [
        "{\"\u{1F600}\":1,\"\u{ffff}\":2,\"a\":3}",
        "[1e-05,0.0001,1e16,1e15,-0.0,5e-324,123456789012345678.0]",
        "[18446744073709551615,-9223372036854775808]",
        "\"\\u0000\u{7f}\u{10ffff}/\"",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let Some(expected) = python_dumps(&inputs) else {
        return;
    };
    for (input, want) in inputs.iter().zip(&expected) {
        assert_eq!(&py(input), want, "{input}");
    }
}

#[test]
fn underflowing_floats_agree_with_cpython() {
    let inputs: Vec<String> = ["[1e-400,-1e-400,2.4703282292062328e-324]", "[1.0e+0,10E-1]"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(py(&inputs[0]), "[0.0,-0.0,5e-324]");
    let Some(expected) = python_dumps(&inputs) else {
        return;
    };
    for (input, want) in inputs.iter().zip(&expected) {
        assert_eq!(&py(input), want, "{input}");
    }
}
