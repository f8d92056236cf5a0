//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that is
//! hashed or signed (DESIGN section 3, "Canonical JSON").
//!
//! - no white space;
//! - object members sorted by the UTF-16 code units of their names (RFC 8785 section 3.2.3);
//! - strings escaped as ECMAScript's `JSON.stringify` does: `"` `\` and U+0000..U+001F only,
//!   with the short forms `\b \t \n \f \r` and lower-case `\u00xx` for the rest (3.2.2.2);
//! - numbers as ECMAScript's `Number.prototype.toString` (3.2.2.3): shortest round-trip digits,
//!   no exponent for magnitudes in [1e-6, 1e21), `e+N`/`e-N` otherwise, `-0` as `0`.
//!   Non-finite numbers and integers a double cannot hold exactly are refused.

use serde::Serialize;
use serde_json::{Number, Value};

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// A number is not finite, or an integer is not exactly representable as an IEEE double.
    #[error("number {0} cannot be represented exactly as an IEEE 754 double")]
    Number(String),
    /// The value could not be turned into JSON.
    #[error("cannot serialise: {0}")]
    Serialize(String),
}

/// The canonical bytes of a JSON value.
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(value, &mut out, Integers::Refuse)?;
    Ok(out)
}

/// The form in which two JSON values are compared for equality (journal unique keys): the
/// RFC 8785 canonical form, except that an integer no IEEE double holds exactly (magnitude
/// above 2^53, which RFC 8785 cannot write) is written as its exact decimal digits instead of
/// being refused. Never used for anything that is signed. Fails only for a number that is not
/// finite, which the strict readers never produce.
pub fn to_comparison_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(value, &mut out, Integers::Exact)?;
    Ok(out)
}

/// What to do with an integer that no double holds exactly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Integers {
    /// Refuse it (RFC 8785).
    Refuse,
    /// Write its exact decimal digits (comparison form).
    Exact,
}

/// The canonical bytes of any serialisable value.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let value =
        serde_json::to_value(value).map_err(|e| CanonicalError::Serialize(e.to_string()))?;
    to_canonical_vec(&value)
}

/// True if `bytes` are strict JSON (see [`crate::json`]) already in canonical form.
pub fn is_canonical(bytes: &[u8]) -> bool {
    let limits = crate::json::JsonLimits {
        max_bytes: bytes.len() as u64,
        ..crate::json::JsonLimits::default()
    };
    crate::json::parse_strict(bytes, &limits)
        .ok()
        .and_then(|v| to_canonical_vec(&v).ok())
        .is_some_and(|c| c == bytes)
}

fn write_value(value: &Value, out: &mut Vec<u8>, ints: Integers) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out, ints)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out, ints)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // RFC 8785 3.2.3: sort by UTF-16 code units, whatever order the map keeps.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out, ints)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// RFC 8785 3.2.2.2 string serialisation.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if u32::from(c) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Largest integer every smaller one of which a double holds exactly: 2^53.
const MAX_SAFE: u64 = 1 << 53;

fn write_number(n: &Number, out: &mut Vec<u8>, ints: Integers) -> Result<(), CanonicalError> {
    if let Some(u) = n.as_u64() {
        let exact = u <= MAX_SAFE || (u as f64) as u128 == u128::from(u);
        return write_integer(&|| u.to_string(), u as f64, exact, out, ints, n);
    }
    if let Some(i) = n.as_i64() {
        let exact = i.unsigned_abs() <= MAX_SAFE || (i as f64) as i128 == i128::from(i);
        return write_integer(&|| i.to_string(), i as f64, exact, out, ints, n);
    }
    match n.as_f64() {
        Some(f) => write_f64(f, out, n),
        None => Err(CanonicalError::Number(n.to_string())),
    }
}

/// An integer (whose decimal `digits` are made only when needed) with nearest double `nearest`. It is canonical (written
/// as that double) when the double holds it exactly, and also when `digits` are exactly the
/// double's own ECMAScript form: this writer writes a double such as 444444044444444416 as
/// `444444044444444400`, and that text, read back as an integer, must canonicalise to itself
/// (the form is a fixed point). Any other integer beyond 2^53 is refused, or written with
/// its exact digits in the comparison form.
fn write_integer(
    digits: &dyn Fn() -> String,
    nearest: f64,
    exact: bool,
    out: &mut Vec<u8>,
    ints: Integers,
    original: &Number,
) -> Result<(), CanonicalError> {
    if exact {
        return write_f64(nearest, out, original);
    }
    let digits = digits();
    let mut text = Vec::new();
    write_f64(nearest, &mut text, original)?;
    if text == digits.as_bytes() {
        out.extend_from_slice(&text);
        return Ok(());
    }
    if ints == Integers::Exact {
        out.extend_from_slice(digits.as_bytes());
        return Ok(());
    }
    Err(CanonicalError::Number(digits))
}

/// ECMAScript `Number.prototype.toString` for a finite double (ECMA-262 7.1.12.1).
fn write_f64(x: f64, out: &mut Vec<u8>, original: &Number) -> Result<(), CanonicalError> {
    if !x.is_finite() {
        return Err(CanonicalError::Number(original.to_string()));
    }
    if x == 0.0 {
        out.push(b'0');
        return Ok(());
    }
    if x < 0.0 {
        out.push(b'-');
    }
    let (digits, exp) = shortest_digits(x.abs());
    let k = digits.len() as i64;
    // x = digits × 10^(n - k)
    let n = exp + 1;
    let text = if k <= n && n <= 21 {
        let zeros = usize::try_from(n - k).unwrap_or(0);
        format!("{digits}{}", "0".repeat(zeros))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0).min(digits.len()));
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        let zeros = usize::try_from(-n).unwrap_or(0);
        format!("0.{}{digits}", "0".repeat(zeros))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1.min(digits.len()));
        if rest.is_empty() {
            format!("{first}e{sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{sign}{}", e.abs())
        }
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// The shortest decimal digits that read back as `x` (positive, finite), and the decimal
/// exponent of the first digit: `x ≈ d.ddd × 10^exp`.
///
/// When two strings of that shortest length both read back as `x`, ECMAScript
/// (`Number::toString`, which RFC 8785 uses) and CPython (David Gay's `dtoa`, mode 0) both
/// write the one closer to the exact value of `x`, and on an exact tie the one
/// with an even last digit; Rust's shortest formatting may pick the other
/// (`1000000000000000.25` is `...000.2` in Python, `...000.3` in Rust). So the length comes
/// from Rust's shortest form, and the digits from rounding the exact expansion of `x` to that
/// length, half to even, kept only if they read back as `x`.
pub(crate) fn shortest_digits(x: f64) -> (String, i64) {
    let split = |text: &str| -> (String, i64) {
        let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        (digits, exp.parse().unwrap_or(0))
    };
    let (short, short_exp) = split(&format!("{x:e}"));
    // Every finite double has an exact decimal expansion of at most 767 significant digits.
    let (exact, exact_exp) = split(&format!("{x:.800e}"));
    let exact = exact.trim_end_matches('0');
    let n = short.len();
    let Some((head, rest)) = exact.split_at_checked(n) else {
        return (short, short_exp);
    };
    let round_up = match rest.as_bytes().first() {
        None => false,
        Some(b'6'..=b'9') => true,
        Some(b'5') if rest.len() > 1 => true,
        Some(b'5') => head.as_bytes().last().is_some_and(|d| d % 2 == 1), // b'0' is even
        Some(_) => false,
    };
    let (mut digits, mut exp) = (head.to_owned(), exact_exp);
    if round_up {
        match increment(&digits) {
            Some(d) => digits = d,
            None => {
                digits = format!("1{}", "0".repeat(n));
                exp += 1;
            }
        }
    }
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let (first, more) = digits.split_at(1);
    let reads_back = format!("{first}.{more}0e{exp}").parse::<f64>() == Ok(x);
    if reads_back {
        (digits.to_owned(), exp)
    } else {
        (short, short_exp)
    }
}

/// Adds one to a decimal digit string; `None` when it is all nines.
fn increment(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(to_canonical_vec(v).unwrap()).unwrap()
    }

    fn num(text: &str) -> String {
        canon(&serde_json::from_str::<Value>(text).unwrap())
    }

    #[test]
    fn rfc8785_number_examples() {
        // RFC 8785 Appendix B (IEEE 754 value, as parsed from its shortest decimal form).
        let cases = [
            ("0", "0"),
            ("-0.0", "0"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("1e+30", "1e+30"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("333333333.33333329", "333333333.3333333"),
            ("9007199254740992", "9007199254740992"),
            ("-9007199254740992", "-9007199254740992"),
            ("295147905179352830000", "295147905179352830000"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
            ("-1.5", "-1.5"),
            ("123456789.0", "123456789"),
            ("0.1", "0.1"),
            // Two shortest candidates (...2 and ...3) both read back; ECMAScript takes the
            // one closer to the exact value, and on this exact tie the even one.
            ("1000000000000000.25", "1000000000000000.2"),
            ("1000000000000000.75", "1000000000000000.8"),
        ];
        for (input, want) in cases {
            assert_eq!(num(input), want, "{input}");
        }
    }

    #[test]
    fn rfc8785_sample_object() {
        // The sample of RFC 8785 section 3.2.2 (numbers, strings, literals).
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canon(&v),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785 3.2.3 example: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
        let v = json!({
            "\u{20ac}": "Euro Sign",
            "\r": "Carriage Return",
            "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\u{1f600}": "Emoji: Grinning Face",
            "\u{80}": "Control",
            "\u{f6}": "Latin Small Letter O With Diaeresis"
        });
        let text = canon(&v);
        let order = [
            "\\r",
            "1",
            "\u{80}",
            "\u{f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ];
        let mut last = 0;
        for k in order {
            let at = text.find(&format!("\"{k}\":")).unwrap();
            assert!(at >= last, "{k} out of order in {text}");
            last = at;
        }
    }

    #[test]
    fn comparison_form_writes_inexact_integers_exactly() {
        let cmp = |text: &str| {
            String::from_utf8(
                to_comparison_vec(&serde_json::from_str::<Value>(text).unwrap()).unwrap(),
            )
            .unwrap()
        };
        // Where RFC 8785 has a form, the comparison form is that form.
        assert_eq!(cmp(r#"{"b":1.0,"a":"\u0061"}"#), r#"{"a":"a","b":1}"#);
        assert_eq!(cmp("1152921504606846976"), cmp("1.152921504606846976e18"));
        // Beyond it, exact digits: neighbours a double cannot tell apart stay distinct.
        assert_eq!(cmp("9007199254740993"), "9007199254740993");
        assert_eq!(cmp("-9007199254740993"), "-9007199254740993");
        assert_ne!(cmp("9007199254740993"), cmp("9007199254740992"));
    }

    #[test]
    fn unrepresentable_integers_are_refused() {
        let v: Value = serde_json::from_str("9007199254740993").unwrap();
        assert!(matches!(
            to_canonical_vec(&v),
            Err(CanonicalError::Number(_))
        ));
        let v: Value = serde_json::from_str("18446744073709551615").unwrap();
        assert!(matches!(
            to_canonical_vec(&v),
            Err(CanonicalError::Number(_))
        ));
    }

    /// Found by the `strict_json` fuzz target: the canonical form of the double nearest to
    /// this number is the integer text `-444444044444444400`, which no double holds exactly;
    /// reading that text back as an integer and canonicalising it again was refused, so the
    /// canonical form was not a fixed point and `is_canonical` refused it.
    #[test]
    fn canonical_form_of_a_large_float_reads_back_as_a_canonical_integer() {
        let input = b"-444444044444444444.4444444444444444444444";
        let v = crate::json::parse_strict(input, &crate::json::JsonLimits::default()).unwrap();
        let once = to_canonical_vec(&v).unwrap();
        assert_eq!(once, b"-444444044444444400");
        let back = crate::json::parse_strict(&once, &crate::json::JsonLimits::default()).unwrap();
        assert_eq!(to_canonical_vec(&back).unwrap(), once);
        assert!(is_canonical(&once));
        // The same holds for the exact-but-long integers this writer shortens.
        assert_eq!(num("1152921504606846976"), "1152921504606847000");
        assert_eq!(num("1152921504606847000"), "1152921504606847000");
        // An integer that is neither exact nor any double's form is still refused.
        assert!(
            to_canonical_vec(&serde_json::from_str::<Value>("444444044444444401").unwrap())
                .is_err()
        );
    }

    #[test]
    fn is_canonical_detects_other_forms() {
        assert!(is_canonical(br#"{"a":1,"b":[true,null]}"#));
        assert!(!is_canonical(br#"{"b":1,"a":1}"#));
        assert!(!is_canonical(br#"{"a": 1}"#));
        assert!(!is_canonical(b"{\"a\":1}\n"));
        assert!(!is_canonical(br#"{"a":1,"a":1}"#));
        assert!(!is_canonical(br#"{"a":"\u0041"}"#));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|i| json!(i)),
            (-1e300f64..1e300).prop_map(|f| json!(f)),
            "\\PC{0,12}".prop_map(Value::String),
            "[\\x00-\\x20\"\\\\]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point_and_valid_json(v in arb_json()) {
            let once = to_canonical_vec(&v).unwrap();
            let parsed: Value = serde_json::from_slice(&once).unwrap();
            let twice = to_canonical_vec(&parsed).unwrap();
            prop_assert_eq!(&once, &twice);
            prop_assert!(is_canonical(&once));
        }

        #[test]
        fn canonical_integers_are_a_fixed_point(i in any::<i64>(), u in any::<u64>()) {
            for v in [json!(i), json!(u), json!(i as f64), json!(u as f64)] {
                if let Ok(once) = to_canonical_vec(&v) {
                    let back: Value = serde_json::from_slice(&once).unwrap();
                    prop_assert_eq!(to_canonical_vec(&back).unwrap(), once);
                }
            }
        }

        #[test]
        fn numbers_round_trip_exactly(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let text = canon(&json!(f));
            let back: f64 = text.parse().unwrap();
            prop_assert_eq!(back, if f == 0.0 { 0.0 } else { f });
        }
    }
}
