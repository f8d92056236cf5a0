//! Values under secret-named keys that hold no secret of their own, so neither redaction nor a
//! scan counts them (`docs/FORMAT.md` section 7.2, `secret-key-name`):
//!
//! - **references** to a secret kept elsewhere, as a whole value, quoted or not:
//!   `${{ secrets.X }}`, `${VAR}`, `{{ .Values.x }}`, `$(command)`, `$VAR` and `%VAR%` (an
//!   upper-case name: `$Passw0rd` and `$ecretpw` are literals), `<placeholder>` (words);
//! - **permission words**: `write`, `read`, `none`, `read-all`, `write-all` (a GitHub workflow's
//!   `permissions: id-token: write`);
//! - **code**, for unquoted values in text only: an expression that computes the value rather
//!   than a literal that is the value: a dotted or `::`/`->` path (`options.identityToken`,
//!   `self.token`, `os.environ["X"]`), a call, index, generic or `?` after a name
//!   (`get_password()`, `Option<String>`), a keyword or type name (`String`, `str`, `await`,
//!   `new`), a type annotation (`token: Token,`) and a variable named like the key
//!   (`token = token`, `password: db_password`).
//!
//! A quoted literal is never code (`password = "hunter2hunter2"` counts, and so does
//! `"token": "options.identityToken"` in JSON), and the detectors for recognisable formats (AWS
//! keys, GitHub tokens, PEM blocks, ...) apply wherever a value appears, reference or not.

use super::keys::words_of;

/// Longest `<placeholder>` recognised, in bytes.
const MAX_PLACEHOLDER: usize = 128;

/// Keywords and type names that, as a whole unquoted value, are code rather than a literal.
const CODE_WORDS: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "char",
    "any",
    "arc",
    "async",
    "await",
    "bool",
    "boolean",
    "box",
    "bytes",
    "const",
    "cow",
    "dyn",
    "fn",
    "function",
    "if",
    "impl",
    "int",
    "lambda",
    "let",
    "match",
    "mut",
    "new",
    "number",
    "object",
    "option",
    "optional",
    "rc",
    "ref",
    "return",
    "self",
    "str",
    "string",
    "this",
    "typeof",
    "undefined",
    "unknown",
    "var",
    "vec",
    "yield",
];

/// Permission levels (GitHub workflow `permissions:`), never credentials.
const PERMISSION_WORDS: &[&str] = &["none", "read", "read-all", "write", "write-all"];

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// End of the identifier starting at `i` (`i` itself when there is none).
fn ident_end(s: &[u8], i: usize) -> usize {
    if !s.get(i).copied().is_some_and(is_ident_start) {
        return i;
    }
    let mut j = i + 1;
    while s.get(j).copied().is_some_and(is_ident) {
        j += 1;
    }
    j
}

/// A name made of `[A-Za-z_][A-Za-z0-9_]*` whose letters are all upper-case or all lower-case.
fn single_case_name(name: &[u8]) -> bool {
    let letters = || name.iter().filter(|b| b.is_ascii_alphabetic());
    ident_end(name, 0) == name.len()
        && !name.is_empty()
        && (letters().all(u8::is_ascii_uppercase) || letters().all(u8::is_ascii_lowercase))
}

/// A name made of `[A-Z_][A-Z0-9_]*` with at least one letter.
fn upper_case_name(name: &[u8]) -> bool {
    ident_end(name, 0) == name.len()
        && name.iter().any(u8::is_ascii_uppercase)
        && !name.iter().any(u8::is_ascii_lowercase)
}

/// True when `value` as a whole (a quoted value's content, a JSON string) is a reference, a
/// placeholder or a permission word.
pub(super) fn is_reference(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let wrapped = |open: &[u8], close: &[u8]| {
        v.len() >= open.len() + close.len() && v.starts_with(open) && v.ends_with(close)
    };
    if wrapped(b"${", b"}") || wrapped(b"{{", b"}}") || wrapped(b"$(", b")") {
        return true;
    }
    // A whole value that is a variable: only the environment-variable convention, upper
    // case (`$API_TOKEN`, `%API_TOKEN%`), so that a password such as `$ecretpw` is never taken
    // for one: redaction shares this rule, and a missed secret is worse than a noisy scan.
    if let Some(name) = v.strip_prefix(b"$") {
        return upper_case_name(name);
    }
    if let Some(name) = v.strip_prefix(b"%").and_then(|n| n.strip_suffix(b"%")) {
        return upper_case_name(name);
    }
    // A placeholder reads as words: `<your-token>`, `<API key>`, `<token_here>`; `<p@ss>` is
    // not one.
    if wrapped(b"<", b">") {
        let inner = v.get(1..v.len() - 1).unwrap_or_default();
        return v.len() <= MAX_PLACEHOLDER
            && inner.iter().any(u8::is_ascii_alphabetic)
            && inner
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b' ' | b'.'));
    }
    is_permission_word(v)
}

fn is_permission_word(v: &[u8]) -> bool {
    PERMISSION_WORDS
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w.as_bytes()))
}

/// True when the unquoted value starting at `v` (and running at most to `line_end`) of the key
/// `key`, after the separator `sep`, is a reference, a permission word or code.
pub(super) fn unquoted_is_not_literal(
    s: &[u8],
    v: usize,
    line_end: usize,
    key: &[u8],
    sep: u8,
) -> bool {
    let rest = s.get(v..line_end.max(v)).unwrap_or_default();
    if starts_reference(rest) {
        return true;
    }
    let word_end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b',' | b';' | b')' | b'}'))
        .unwrap_or(rest.len());
    if is_permission_word(rest.get(..word_end).unwrap_or_default()) {
        return true;
    }
    is_code(rest, key, sep)
}

/// `${...`, `{{`, `$(`, `` ` ``, `$NAME`, `%NAME%` at the start of an unquoted value.
fn starts_reference(rest: &[u8]) -> bool {
    if rest.starts_with(b"${") || rest.starts_with(b"{{") || rest.starts_with(b"$(") {
        return true;
    }
    if rest.first() == Some(&b'`') {
        return true;
    }
    if let Some(after) = rest.strip_prefix(b"$") {
        let end = ident_end(after, 0);
        // A variable, or a variable used in code (`$request->password`).
        return end > 0
            && (single_case_name(after.get(..end).unwrap_or_default())
                || !after.get(end).copied().is_some_and(is_literal_byte));
    }
    if let Some(after) = rest.strip_prefix(b"%") {
        let end = ident_end(after, 0);
        return end > 0 && after.get(end) == Some(&b'%');
    }
    false
}

/// A byte that may continue an unquoted literal (anything but white space and the
/// punctuation that ends or joins code).
fn is_literal_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || b"-.([<?;,)}".contains(&b))
}

/// The end of a path of identifiers (`a.b`, `a::b`, `a->b`) at the start of `rest`, and how
/// many segments it has.
fn path_end(rest: &[u8]) -> (usize, usize) {
    let mut end = ident_end(rest, 0);
    if end == 0 {
        return (0, 0);
    }
    let mut segments = 1;
    loop {
        let joint = match rest.get(end..) {
            Some(t) if t.starts_with(b"::") || t.starts_with(b"->") => 2,
            Some(t) if t.starts_with(b".") => 1,
            _ => return (end, segments),
        };
        let next = ident_end(rest, end + joint);
        if next == end + joint {
            return (end, segments);
        }
        end = next;
        segments += 1;
    }
}

/// True when the unquoted value at the start of `rest` is code (see the module doc).
fn is_code(rest: &[u8], key: &[u8], sep: u8) -> bool {
    // A raw pointer type (`token: *const c_void`).
    if rest.starts_with(b"*const ") || rest.starts_with(b"*mut ") {
        return true;
    }
    let (end, segments) = path_end(rest);
    if end == 0 {
        return false;
    }
    let after = rest.get(end..).unwrap_or_default();
    match after.first() {
        // A call, an index, a generic type, Rust's `?`, a macro.
        Some(b'(' | b'[' | b'<' | b'?' | b'!') => return true,
        // Followed by more of a literal (`abc-def`, `abc+/=`, `abc.123`): not a name.
        Some(&b) if is_literal_byte(b) || b == b'-' || b == b'.' => return false,
        _ => {}
    }
    let name = rest.get(..end).unwrap_or_default();
    // A path whose first name has no digit (`self.token`, not `p4ss.w0rd`).
    let first = rest.get(..ident_end(rest, 0)).unwrap_or_default();
    let path = segments > 1 && !first.iter().any(u8::is_ascii_digit);
    if path || names_a_variable(name, key) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    if CODE_WORDS.iter().any(|w| lower == w.as_bytes()) {
        return true;
    }
    // A type annotation: `token: Token,`, `password: SecretString)`, `secret: c_long = 1`.
    let next = after.trim_ascii_start().first().copied();
    sep == b':'
        && (next == Some(b'=')
            || (name.first().is_some_and(u8::is_ascii_uppercase)
                && matches!(next, Some(b',' | b')' | b';' | b'{' | b'>' | b'|'))))
}

/// True when `name` is a variable named like `key`: the same last word (`token = token`,
/// `password: db_password`, `token: githubToken`).
fn names_a_variable(name: &[u8], key: &[u8]) -> bool {
    let value_words = words_of(name);
    let key_words = words_of(key);
    match (value_words.last(), key_words.last()) {
        (Some(v), Some(k)) => {
            v == k && (value_words.len() > 1 || name.eq_ignore_ascii_case(k.as_bytes()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_as_whole_values() {
        for yes in [
            "${{ secrets.NPM_TOKEN }}",
            "${TOKEN}",
            "${TOKEN:-x}",
            "{{ .Values.password }}",
            "$(cat /run/secret)",
            "$GITHUB_TOKEN",
            "%API_KEY%",
            "<your-token-here>",
            "<TOKEN>",
            "write",
            "read",
            "none",
            "write-all",
            " ${X} ",
        ] {
            assert!(is_reference(yes.as_bytes()), "{yes}");
        }
        for no in [
            "hunter2hunter2",
            "$Passw0rd",
            // Lower-case after `$`, or a placeholder that is not words: kept as secrets, since
            // redaction shares this rule.
            "$token",
            "$ecretpw",
            "%api_key%",
            "<p@ss>",
            "<12345>",
            "$",
            "pre${X}",
            "<>",
            "a<b>",
            "writer",
            "options.identityToken",
            "get_password()",
        ] {
            assert!(!is_reference(no.as_bytes()), "{no}");
        }
    }

    fn not_literal(text: &str, key: &str, sep: u8) -> bool {
        unquoted_is_not_literal(text.as_bytes(), 0, text.len(), key.as_bytes(), sep)
    }

    #[test]
    fn code_shapes_are_not_literals() {
        for (value, key, sep) in [
            ("options.identityToken;", "token", b'='),
            ("get_password()", "password", b'='),
            ("self.token", "token", b':'),
            ("self.token,", "token", b':'),
            ("os.environ[\"X\"]", "secret", b'='),
            ("os.getenv('X')", "secret", b'='),
            ("Option<String>,", "token", b':'),
            ("String,", "password", b':'),
            ("str", "password", b':'),
            ("Token,", "token", b':'),
            ("SecretString)", "secret", b':'),
            ("token;", "token", b'='),
            ("token", "token", b':'),
            ("db_password", "password", b'='),
            ("githubToken,", "token", b':'),
            ("await getToken()", "token", b'='),
            ("new Password(x)", "password", b'='),
            ("Token::new(x)", "token", b'='),
            ("$request->password;", "password", b'='),
            ("$(cat f)", "token", b'='),
            ("${{ secrets.X }}", "token", b':'),
            ("${VAR}", "password", b'='),
            ("$VAR", "password", b'='),
            ("write", "id-token", b':'),
            ("read", "id-token", b':'),
            ("none", "contents", b':'),
            ("fetch_token()?", "token", b'='),
            ("Token![=]", "token", b':'),
            ("u32 = 4096;", "max_token", b':'),
        ] {
            assert!(not_literal(value, key, sep), "{key}{} {value}", sep as char);
        }
    }

    #[test]
    fn literals_stay_literals() {
        for (value, key, sep) in [
            ("hunter22", "password", b'='),
            ("hunter22 next=1", "password", b'='),
            ("Hunter22", "password", b':'),
            ("abc123XYZ&sort=asc", "access_token", b'='),
            ("abcdef123", "token", b'='),
            ("s3cr3t-value", "secret", b'='),
            ("a=b; c=d", "cookie", b':'),
            ("Bearer abc.def", "authorization", b':'),
            ("p4ss.w0rd", "password", b'='),
            ("123.456", "token", b'='),
            ("$Passw0rd!", "password", b'='),
            ("supersecret", "password", b'='),
            ("super_secret", "password", b'='),
            ("writer", "token", b'='),
            ("Hunter22,", "password", b'='),
        ] {
            assert!(
                !not_literal(value, key, sep),
                "{key}{} {value}",
                sep as char
            );
        }
    }
}
