//! Reading a checksum file: cutting it into chunks parsed in parallel, each line in every
//! form the module documentation lists, and the checks that judge the parsed file on its own.

use rayon::prelude::*;

use super::codes::*;
use super::{BadLine, LineForm, LineProblem, ParsedSums, SumsEntry, SumsError, SumsLimits};
use crate::digest::Sha256Digest;
use crate::report::Check;

/// Parses checksum file bytes.
pub fn parse(bytes: &[u8], limits: &SumsLimits) -> Result<ParsedSums, SumsError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(SumsError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(ParsedSums::default());
    }
    // Large files are cut at line boundaries into chunks parsed in parallel; each chunk knows
    // the number of its first line, so results are identical to a sequential parse.
    let parts: Vec<Result<ParsedSums, SumsError>> = chunks(body)
        .par_iter()
        .map(|&(first, chunk)| parse_chunk(chunk, first, limits))
        .collect();
    let mut out = ParsedSums::default();
    for part in parts {
        let part = part?;
        if out.entries.len() + part.entries.len() > limits.max_entries {
            return Err(SumsError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        if out.entries.is_empty() {
            out.entries = part.entries;
        } else {
            out.entries.extend(part.entries);
        }
        for bad in part.bad_lines {
            out.push_bad(bad, limits);
        }
        out.bad_lines_omitted += part.bad_lines_omitted;
        out.ignored_lines += part.ignored_lines;
        out.crlf |= part.crlf;
    }
    Ok(out)
}

/// Bytes per parallel parsing chunk.
pub(super) const PARSE_CHUNK: usize = 512 << 10;

/// `body` cut at the first line end past every [`PARSE_CHUNK`] bytes, each piece with the
/// number of its first line.
fn chunks(body: &[u8]) -> Vec<(u64, &[u8])> {
    let mut chunks: Vec<(u64, &[u8])> = Vec::new();
    let mut rest = body;
    let mut first_line = 1u64;
    loop {
        let cut = rest
            .get(PARSE_CHUNK..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
            .map(|i| i + PARSE_CHUNK);
        match cut.and_then(|c| Some((rest.get(..c)?, rest.get(c + 1..)?))) {
            Some((chunk, tail)) => {
                chunks.push((first_line, chunk));
                first_line += chunk.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                rest = tail;
            }
            None => {
                chunks.push((first_line, rest));
                break;
            }
        }
    }
    chunks
}

/// Parses the lines of `body` (no trailing newline), numbering them from `first_line`.
fn parse_chunk(body: &[u8], first_line: u64, limits: &SumsLimits) -> Result<ParsedSums, SumsError> {
    let mut out = ParsedSums::default();
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = first_line + index as u64;
        let raw = match raw.strip_suffix(b"\r") {
            Some(r) => {
                out.crlf = true;
                r
            }
            None => raw,
        };
        let text = match line_text(raw, limits) {
            Ok(text) => text,
            Err(problem) => {
                out.push_bad(BadLine { line, problem }, limits);
                continue;
            }
        };
        let content = text.trim_start();
        if content.is_empty() || content.starts_with('#') {
            out.ignored_lines += 1;
            continue;
        }
        match parse_line(text) {
            Ok((name, digest, form)) => {
                if out.entries.len() >= limits.max_entries {
                    return Err(SumsError::TooManyEntries {
                        limit: limits.max_entries,
                    });
                }
                out.entries.push(SumsEntry {
                    line,
                    name,
                    digest,
                    form,
                });
            }
            Err(problem) => out.push_bad(BadLine { line, problem }, limits),
        }
    }
    Ok(out)
}

/// A line (without its line end) as text, if it is within the length limit and UTF-8.
fn line_text<'a>(raw: &'a [u8], limits: &SumsLimits) -> Result<&'a str, LineProblem> {
    if raw.len() > limits.max_line_bytes {
        return Err(LineProblem::TooLong {
            len: raw.len(),
            limit: limits.max_line_bytes,
        });
    }
    std::str::from_utf8(raw).map_err(|_| LineProblem::NotUtf8)
}

fn parse_line(text: &str) -> Result<(String, Sha256Digest, LineForm), LineProblem> {
    let (escaped, rest) = match text.strip_prefix('\\') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (raw_name, digest, form) = if let Some(untagged) = split_untagged_fast(rest) {
        untagged?
    } else if starts_with_hex_and_space(rest) {
        split_untagged(rest)?
    } else {
        split_tagged(rest)?
    };
    let name = if escaped {
        unescape(raw_name)?
    } else {
        raw_name.to_owned()
    };
    let name = match name.strip_prefix("./") {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => name,
    };
    if name.is_empty() {
        return Err(LineProblem::Malformed("file name is empty"));
    }
    Ok((name, digest, form))
}

fn starts_with_hex_and_space(s: &str) -> bool {
    let hex_len = s.bytes().take_while(u8::is_ascii_hexdigit).count();
    hex_len > 0 && s.as_bytes().get(hex_len) == Some(&b' ')
}

/// The common case: exactly 64 hex digits, then a space. `None` if the line does not start
/// that way (the slower paths then say what is wrong with it).
fn split_untagged_fast(s: &str) -> Option<Result<(&str, Sha256Digest, LineForm), LineProblem>> {
    if s.as_bytes().get(64) != Some(&b' ') {
        return None;
    }
    let digest = Sha256Digest::from_hex(s.get(..64)?).ok()?;
    let rest = s.get(64..)?;
    Some(match name_after_digest(rest) {
        Ok((name, form)) => Ok((name, digest, form)),
        Err(e) => Err(e),
    })
}

fn name_after_digest(rest: &str) -> Result<(&str, LineForm), LineProblem> {
    if let Some(name) = rest.strip_prefix("  ") {
        Ok((name, LineForm::GnuText))
    } else if let Some(name) = rest.strip_prefix(" *") {
        Ok((name, LineForm::GnuBinary))
    } else {
        Err(LineProblem::Malformed(
            "expected two spaces or \" *\" between digest and file name",
        ))
    }
}

/// `<hex>  name` or `<hex> *name` where the fast path did not apply: report the digest length.
fn split_untagged(s: &str) -> Result<(&str, Sha256Digest, LineForm), LineProblem> {
    let hex_len = s.bytes().take_while(u8::is_ascii_hexdigit).count();
    let (hex, rest) = s
        .split_at_checked(hex_len)
        .ok_or(LineProblem::Malformed("bad digest"))?;
    let digest = Sha256Digest::from_hex(hex).map_err(|_| LineProblem::DigestLength(hex.len()))?;
    let (name, form) = name_after_digest(rest)?;
    Ok((name, digest, form))
}

/// `ALGO (name) = <hex>` (BSD) or `ALGO(name)= <hex>` (OpenSSL). The name is everything between
/// the first `(` and the last `) = ` / `)= ` (names are not escaped by OpenSSL and may contain
/// parentheses); the digest is what follows.
fn split_tagged(s: &str) -> Result<(&str, Sha256Digest, LineForm), LineProblem> {
    let open = s
        .find('(')
        .ok_or(LineProblem::Malformed("not a checksum line"))?;
    let (algo_part, after_open) = s.split_at(open);
    let after_open = after_open.get(1..).unwrap_or_default();
    let (algo, form) = match algo_part.strip_suffix(' ') {
        Some(a) => (a, LineForm::BsdTag),
        None => (algo_part, LineForm::OpenSsl),
    };
    if algo.is_empty()
        || !algo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
    {
        return Err(LineProblem::Malformed("not a checksum line"));
    }
    let separator = match form {
        LineForm::BsdTag => ") = ",
        _ => ")= ",
    };
    let close = after_open
        .rfind(separator)
        .ok_or(LineProblem::Malformed("tagged line lacks \") = <digest>\""))?;
    let name = after_open.get(..close).unwrap_or_default();
    let hex = after_open
        .get(close + separator.len()..)
        .unwrap_or_default();
    let upper = algo.to_ascii_uppercase();
    match upper.as_str() {
        "SHA256" | "SHA2-256" | "SHA-256" => {}
        "MD5" | "SHA1" | "SHA-1" => {
            return Err(LineProblem::Algorithm {
                name: algo.to_owned(),
                weak: true,
            });
        }
        _ => {
            return Err(LineProblem::Algorithm {
                name: algo.to_owned(),
                weak: false,
            });
        }
    }
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineProblem::Malformed("digest is not hexadecimal"));
    }
    let digest = Sha256Digest::from_hex(hex).map_err(|_| LineProblem::DigestLength(hex.len()))?;
    Ok((name, digest, form))
}

fn unescape(s: &str) -> Result<String, LineProblem> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => return Err(LineProblem::BadEscape),
        }
    }
    Ok(out)
}

/// The checks that judge a parsed file on its own: what was parsed, each refused line (a
/// failure when `strict`, else a warning), mixed forms and emptiness (always failures).
pub fn parse_checks(parsed: &ParsedSums, source: &str, strict: bool) -> Vec<Check> {
    let refused = |code, detail: String| {
        if strict {
            Check::fail(code, detail)
        } else {
            Check::warn(code, format!("{detail} (ignored: not strict)"))
        }
    };
    let mut checks = Vec::new();
    for bad in &parsed.bad_lines {
        let code = match bad.problem {
            LineProblem::Algorithm { .. } => SUMS_ALGORITHM_UNSUPPORTED,
            _ => SUMS_LINE_MALFORMED,
        };
        let detail = format!("line {}: {}", bad.line, bad.problem);
        checks.push(refused(code, detail).with_path(source).with_line(bad.line));
    }
    if parsed.bad_lines_omitted > 0 {
        let detail = format!(
            "{} more refused lines, not listed one by one",
            parsed.bad_lines_omitted
        );
        checks.push(
            refused(SUMS_LINE_MALFORMED, detail)
                .with_path(source)
                .with("omitted", parsed.bad_lines_omitted),
        );
    }
    if let Some((untagged, tagged)) = parsed.mixed_forms() {
        checks.push(
            Check::fail(
                SUMS_MIXED_FORMAT,
                format!(
                    "untagged line {untagged} and tagged line {tagged} in one file; a checksum file uses one form"
                ),
            )
            .with_path(source),
        );
    }
    checks.push(entries_check(parsed).with_path(source));
    checks
}

/// What was parsed: a failure when no SHA-256 entry was.
fn entries_check(parsed: &ParsedSums) -> Check {
    if parsed.entries.is_empty() {
        return Check::fail(SUMS_EMPTY, "the checksum file lists no SHA-256 entries");
    }
    let forms: Vec<&str> = parsed.forms().iter().map(|f| f.as_str()).collect();
    Check::pass(
        SUMS_PARSED,
        format!(
            "{} ({}{})",
            crate::text::count(parsed.entries.len() as u64, "entry"),
            forms.join(", "),
            if parsed.crlf { ", CRLF line ends" } else { "" }
        ),
    )
    .with("entries", parsed.entries.len())
}
