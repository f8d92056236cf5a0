//! Python-compatible JSON text, byte for byte: what
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"))` writes for an object that
//! `json.loads` read, with the default `ensure_ascii=True` ([`dumps`]) or with
//! `ensure_ascii=False` ([`dumps_with`] and [`Escape::Unicode`], what the engine's journal
//! envelopes hash).
//!
//! The deployment engine computes a packet's self-hash as `"sha256:"` + SHA-256 of that text, so
//! verifying the hash means reproducing CPython's encoder exactly. It differs from RFC 8785
//! (see [`crate::canonical`]) in every place that matters:
//!
//! - object members are sorted by the **code points** of their names (Python `str` order, the
//!   same as UTF-8 byte order), not by UTF-16 code units: `"\u{ffff}"` sorts before `"\u{1f600}"`;
//! - every character outside U+0020..U+007E is escaped: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
//!   and `\uXXXX` with lower-case hex for the rest (U+007F included), astral characters as a
//!   surrogate pair (`\ud83d\ude00`); `/` is not escaped. With `ensure_ascii=False` only `"`,
//!   `\\` and the controls U+0000..U+001F are escaped (the same way); every other character,
//!   U+007F included, is written as itself in UTF-8;
//! - integers are Python `int`s, written with all their digits;
//! - floats are written as `float.__repr__` does: the shortest digits that round-trip, in
//!   exponent form (`1e-05`, `1e+16`, `1.5e+300`: at least two exponent digits, with a sign) when
//!   the decimal exponent is below -4 or at least 16, else in fixed form with `.0` for integral
//!   values (`100.0`, `-0.0`).
//!
//! `serde_json` (without its `arbitrary_precision` feature) turns an integer beyond the 64-bit
//! ranges into a float and reads `-0` as the float `-0.0`, while Python keeps both as `int`s. A
//! document holding such an integer would be hashed differently from the engine, so [`parse`]
//! refuses it instead of guessing.

use std::fmt::Write as _;

use serde_json::{Number, Value};

use crate::digest::Sha256Digest;
use crate::json::{self, JsonError, JsonLimits};

/// Why a document cannot be hashed the way Python would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PyJsonError {
    /// Not strict JSON (duplicate keys, syntax, limits).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// An integer outside the 64-bit ranges: Python keeps every digit, this reader cannot.
    #[error(
        "integer {digits} at byte {offset} is outside the 64-bit range; Python would hash all its digits, which this verifier cannot reproduce"
    )]
    BigInteger {
        /// The integer's text (at most 40 characters, then `...`).
        digits: String,
        /// Byte offset of the integer in the document.
        offset: usize,
    },
    /// The integer `-0`: Python reads the `int` 0 and writes `0`; this reader would see `-0.0`.
    #[error("integer -0 at byte {offset}: Python writes it as 0; refusing to guess")]
    NegativeZeroInteger {
        /// Byte offset of the integer in the document.
        offset: usize,
    },
}

/// Parses `bytes` strictly (duplicate keys refused, see [`crate::json`]) and refuses integers
/// whose value [`dumps`] could not reproduce as Python would.
pub fn parse(bytes: &[u8], limits: &JsonLimits) -> Result<Value, PyJsonError> {
    let value = json::parse_strict(bytes, limits)?;
    check_integers(bytes)?;
    Ok(value)
}

/// Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))`.
pub fn dumps(value: &Value) -> String {
    dumps_with(value, Escape::Ascii)
}

/// Which characters of strings are escaped: Python's `ensure_ascii` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `ensure_ascii=True` (Python's default): everything outside U+0020..U+007E.
    Ascii,
    /// `ensure_ascii=False`: only `"`, `\\` and U+0000..U+001F.
    Unicode,
}

/// Python's `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=...)`.
pub fn dumps_with(value: &Value, escape: Escape) -> String {
    let mut out = String::new();
    write_value(value, escape, &mut out);
    out
}

/// `"sha256:" + sha256(dumps(value).encode())`, the engine's self-hash of a packet.
pub fn python_hash(value: &Value) -> Sha256Digest {
    Sha256Digest::of(dumps(value).as_bytes())
}

/// Scans the number tokens of a document that strict parsing already accepted.
fn check_integers(bytes: &[u8]) -> Result<(), PyJsonError> {
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while bytes.get(i).is_some_and(|c| {
                c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
            }) {
                i += 1;
            }
            let token = bytes.get(start..i).unwrap_or_default();
            check_integer_token(token, start)?;
            continue;
        }
        i += 1;
    }
    Ok(())
}

fn check_integer_token(token: &[u8], offset: usize) -> Result<(), PyJsonError> {
    if token.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        return Ok(()); // a float, for Python and for serde_json alike
    }
    // The token is ASCII: the strict parser accepted it as a number.
    let text = String::from_utf8_lossy(token);
    let fits = if text.starts_with('-') {
        match text.parse::<i64>() {
            Ok(0) => return Err(PyJsonError::NegativeZeroInteger { offset }),
            Ok(_) => true,
            Err(_) => false,
        }
    } else {
        text.parse::<u64>().is_ok()
    };
    if fits {
        return Ok(());
    }
    let mut digits: String = text.chars().take(40).collect();
    if text.len() > 40 {
        digits.push_str("...");
    }
    Err(PyJsonError::BigInteger { digits, offset })
}

fn write_value(value: &Value, escape: Escape, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, escape, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, escape, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // `sorted(d.items())`: Python compares `str` by code point, which is the byte order
            // of UTF-8 and so the order of Rust's `str`.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, escape, out);
                out.push(':');
                write_value(item, escape, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, escape: Escape, out: &mut String) {
    match escape {
        Escape::Ascii => write_ascii_string(s, out),
        Escape::Unicode => write_unicode_string(s, out),
    }
}

/// CPython's `escape_unicode` (`Modules/_json.c`). Runs of unescaped characters are copied
/// whole: journal lines are mostly such runs, and a 1 GiB journal is hashed through here.
fn write_unicode_string(s: &str, out: &mut String) {
    out.push('"');
    let mut run = 0;
    for (at, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(run..at).unwrap_or_default());
        run = at + 1;
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// CPython's `ascii_escape_unicode` (`Modules/_json.c`).
fn write_ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

fn write_number(n: &Number, out: &mut String) {
    if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(f) = n.as_f64() {
        write_float(f, out);
    }
}

/// CPython's `float.__repr__` (`PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0)`).
fn write_float(x: f64, out: &mut String) {
    if !x.is_finite() {
        // Unreachable for values read from JSON; Python would write these names.
        out.push_str(if x.is_nan() {
            "NaN"
        } else if x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        });
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x == 0.0 {
        out.push_str("0.0");
        return;
    }
    let (digits, exp) = crate::canonical::shortest_digits(x.abs());
    // x = d.ddd × 10^exp; Python switches to exponent form when exp < -4 or exp >= 16.
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
        return;
    }
    if exp >= 0 {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(int_len);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        let zeros = usize::try_from(-exp - 1).unwrap_or(0);
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', zeros));
        out.push_str(&digits);
    }
}

#[cfg(test)]
mod tests;
