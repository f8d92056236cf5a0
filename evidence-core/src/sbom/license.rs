//! SPDX license expressions (SPDX 2.3 Annex D).
//!
//! A hand-written parser for the Annex D grammar, a printer whose output parses back to the
//! same tree, and look-ups in the SPDX License List embedded by the `spdx` crate.
//!
//! The grammar is parsed by hand rather than with `spdx::Expression` because the tree must be
//! ours (printed, compared, walked for `LicenseRef-`s) and because the crate's parser judges
//! list membership while parsing, whereas SPDX makes syntax mandatory but list membership only
//! a matter of the list's version: an identifier newer than our copy of the list must not fail
//! a document. The crate is used only for its copy of the list.
//!
//! Rules enforced, with the Annex D clause each comes from:
//!
//! - D.1 grammar: `simple = license-id ["+"] / ["DocumentRef-" idstring ":"] "LicenseRef-"
//!   idstring`; `compound = simple ["WITH" exception-id] / compound "AND" compound /
//!   compound "OR" compound / "(" compound ")"`; `idstring = 1*(ALPHA / DIGIT / "-" / ".")`.
//! - D.1: no white space between an identifier and its `+`; white space or a parenthesis on
//!   both sides of `AND` and `OR`, white space on both sides of `WITH` (identifiers are
//!   maximal runs of identifier characters, so `MITANDBSD` is one unknown identifier, never an
//!   operator).
//! - D.2: operators are matched case-sensitively (`and` is an identifier, so `MIT and BSD`
//!   fails); identifiers case-insensitively when looked up in the list.
//! - D.4.5: precedence `+`, `WITH`, `AND`, `OR`, tightest first.
//! - `NONE` and `NOASSERTION` are whole field values only, never operands.
//!
//! Parenthesis nesting deeper than [`MAX_NESTING`] is refused, so a hostile value cannot
//! exhaust the stack; chains of one operator are kept flat (`A AND B AND C` is one node with
//! three members), so no input builds a deep tree.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use super::is_idstring;

/// Deepest parenthesis nesting accepted.
pub const MAX_NESTING: usize = 32;

/// Prefix of a user-defined license reference.
pub const LICENSE_REF_PREFIX: &str = "LicenseRef-";
/// Prefix of a reference to another SPDX document.
pub const DOCUMENT_REF_PREFIX: &str = "DocumentRef-";

/// The value of a license field: an expression, or one of the two special words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseValue {
    /// `NOASSERTION`: the author makes no assertion.
    NoAssertion,
    /// `NONE`: there is no license.
    None,
    /// A license expression.
    Expression(LicenseExpr),
}

/// A parsed license expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseExpr {
    /// A simple expression, with an optional `WITH` exception identifier.
    Simple {
        /// The license.
        license: SimpleLicense,
        /// The exception after `WITH`.
        exception: Option<String>,
    },
    /// All members apply (`AND`). Parsed trees have at least two members, none an `And`.
    And(Vec<LicenseExpr>),
    /// A choice among the members (`OR`). Parsed trees have at least two members, none an `Or`.
    Or(Vec<LicenseExpr>),
}

/// A license named by a simple expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimpleLicense {
    /// An identifier meant to be on the SPDX License List, optionally with `+` ("this version or
    /// any later one").
    Id {
        /// The identifier as written.
        id: String,
        /// A `+` followed the identifier.
        or_later: bool,
    },
    /// A user-defined license: `[DocumentRef-<doc>:]LicenseRef-<id>`.
    Ref {
        /// `DocumentRef-<doc>` (with its prefix) when the license is defined in another document.
        document: Option<String>,
        /// `LicenseRef-<id>` (with its prefix).
        license: String,
    },
}

/// Why a license expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at byte {offset})")]
#[non_exhaustive]
pub struct LicenseError {
    /// Byte offset in the text where the problem was found.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

fn error<T>(offset: usize, reason: &'static str) -> Result<T, LicenseError> {
    Err(LicenseError { offset, reason })
}

/// Parses a license field value: `NONE`, `NOASSERTION` or a license expression.
pub fn parse_value(text: &str) -> Result<LicenseValue, LicenseError> {
    match text.trim_matches(is_space) {
        "NONE" => Ok(LicenseValue::None),
        "NOASSERTION" => Ok(LicenseValue::NoAssertion),
        _ => parse_expression(text).map(LicenseValue::Expression),
    }
}

/// Parses a license expression (without the `NONE`/`NOASSERTION` special values).
pub fn parse_expression(text: &str) -> Result<LicenseExpr, LicenseError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: text.len(),
    };
    if parser.tokens.is_empty() {
        return error(0, "empty license expression");
    }
    let expr = parser.or(0)?;
    match parser.peek() {
        None => Ok(expr),
        Some(Token {
            kind: Kind::Close,
            offset,
        }) => error(*offset, "unbalanced ')'"),
        Some(t) => error(t.offset, "expected AND, OR or the end of the expression"),
    }
}

/// True if `id` is a license identifier on the SPDX License List (matched case-insensitively,
/// SPDX 2.3 D.2). Deprecated identifiers count as listed.
pub fn is_listed_license(id: &str) -> bool {
    static FOLDED: OnceLock<HashSet<String>> = OnceLock::new();
    spdx::license_id(id).is_some()
        || FOLDED
            .get_or_init(|| fold(spdx::identifiers::LICENSES.iter().map(|l| l.name)))
            .contains(&id.to_ascii_lowercase())
}

/// True if `id` is a license exception identifier on the SPDX License List (case-insensitive).
pub fn is_listed_exception(id: &str) -> bool {
    static FOLDED: OnceLock<HashSet<String>> = OnceLock::new();
    spdx::exception_id(id).is_some()
        || FOLDED
            .get_or_init(|| fold(spdx::identifiers::EXCEPTIONS.iter().map(|e| e.name)))
            .contains(&id.to_ascii_lowercase())
}

fn fold<'a>(names: impl Iterator<Item = &'a str>) -> HashSet<String> {
    names.map(str::to_ascii_lowercase).collect()
}

/// The version of the SPDX License List the look-ups use.
pub fn license_list_version() -> &'static str {
    spdx::license_version()
}

impl LicenseExpr {
    /// Calls `f` with every simple license and its exception, left to right.
    pub fn for_each_license<'a>(&'a self, f: &mut dyn FnMut(&'a SimpleLicense, Option<&'a str>)) {
        match self {
            LicenseExpr::Simple { license, exception } => f(license, exception.as_deref()),
            LicenseExpr::And(items) | LicenseExpr::Or(items) => {
                for item in items {
                    item.for_each_license(f);
                }
            }
        }
    }
}

impl LicenseValue {
    /// The expression, unless the value is `NONE` or `NOASSERTION`.
    pub fn expression(&self) -> Option<&LicenseExpr> {
        match self {
            LicenseValue::Expression(e) => Some(e),
            LicenseValue::None | LicenseValue::NoAssertion => None,
        }
    }
}

impl fmt::Display for SimpleLicense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimpleLicense::Id { id, or_later } => {
                f.write_str(id)?;
                if *or_later {
                    f.write_str("+")?;
                }
                Ok(())
            }
            SimpleLicense::Ref { document, license } => {
                if let Some(doc) = document {
                    write!(f, "{doc}:")?;
                }
                f.write_str(license)
            }
        }
    }
}

/// Prints the expression in a form that parses back to the same tree: operators upper case,
/// single spaces, parentheses only where precedence needs them.
impl fmt::Display for LicenseExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LicenseExpr::Simple { license, exception } => {
                write!(f, "{license}")?;
                if let Some(e) = exception {
                    write!(f, " WITH {e}")?;
                }
                Ok(())
            }
            LicenseExpr::And(items) => write_joined(f, items, " AND ", |e| {
                matches!(e, LicenseExpr::And(_) | LicenseExpr::Or(_))
            }),
            LicenseExpr::Or(items) => {
                write_joined(f, items, " OR ", |e| matches!(e, LicenseExpr::Or(_)))
            }
        }
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    items: &[LicenseExpr],
    separator: &str,
    needs_parens: fn(&LicenseExpr) -> bool,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        if needs_parens(item) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

impl fmt::Display for LicenseValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LicenseValue::NoAssertion => f.write_str("NOASSERTION"),
            LicenseValue::None => f.write_str("NONE"),
            LicenseValue::Expression(e) => write!(f, "{e}"),
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    Open,
    Close,
    /// A run of identifier characters, with a `+` directly after it.
    Word {
        text: &'a str,
        plus: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind<'a>,
    offset: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, LicenseError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        let kind = match c {
            c if is_space(c) => continue,
            '(' => Kind::Open,
            ')' => Kind::Close,
            '+' => return error(offset, "'+' must directly follow a license identifier"),
            c if is_word_char(c) => {
                let mut end = offset + c.len_utf8();
                while let Some(&(i, c)) = chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                let plus = chars.next_if(|&(_, c)| c == '+').is_some();
                if plus {
                    // D.1: the `+` ends the identifier; an operator must be set off by space.
                    if let Some(&(i, c)) = chars.peek()
                        && !is_space(c)
                        && c != ')'
                    {
                        return error(i, "a '+' must be followed by white space or ')'");
                    }
                }
                let word = text.get(offset..end).unwrap_or_default();
                Kind::Word { text: word, plus }
            }
            _ => return error(offset, "character not allowed in a license expression"),
        };
        tokens.push(Token { kind, offset });
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    end: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.tokens.get(self.pos).copied();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// Consumes the operator `op` if it is next.
    fn eat_operator(&mut self, op: &str) -> bool {
        let found = matches!(
            self.peek(),
            Some(Token { kind: Kind::Word { text, plus: false }, .. }) if *text == op
        );
        if found {
            self.pos += 1;
        }
        found
    }

    fn or(&mut self, depth: usize) -> Result<LicenseExpr, LicenseError> {
        let mut items = Vec::new();
        loop {
            match self.and(depth)? {
                LicenseExpr::Or(inner) => items.extend(inner),
                other => items.push(other),
            }
            if !self.eat_operator("OR") {
                break;
            }
        }
        Ok(collapse(items, LicenseExpr::Or))
    }

    fn and(&mut self, depth: usize) -> Result<LicenseExpr, LicenseError> {
        let mut items = Vec::new();
        loop {
            match self.term(depth)? {
                LicenseExpr::And(inner) => items.extend(inner),
                other => items.push(other),
            }
            if !self.eat_operator("AND") {
                break;
            }
        }
        Ok(collapse(items, LicenseExpr::And))
    }

    fn term(&mut self, depth: usize) -> Result<LicenseExpr, LicenseError> {
        let Some(token) = self.next() else {
            return error(self.end, "the expression ends where a license was expected");
        };
        match token.kind {
            Kind::Open => {
                if depth >= MAX_NESTING {
                    return error(token.offset, "parentheses nested too deeply");
                }
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token {
                        kind: Kind::Close, ..
                    }) => Ok(inner),
                    Some(t) => error(t.offset, "expected AND, OR or ')'"),
                    None => error(self.end, "missing ')'"),
                }
            }
            Kind::Close => error(token.offset, "expected a license, found ')'"),
            Kind::Word { text, plus } => {
                let license = simple_license(text, plus, token.offset)?;
                let exception = if self.eat_operator("WITH") {
                    Some(self.exception()?)
                } else {
                    None
                };
                Ok(LicenseExpr::Simple { license, exception })
            }
        }
    }

    fn exception(&mut self) -> Result<String, LicenseError> {
        match self.next() {
            Some(Token {
                kind: Kind::Word { text, plus },
                offset,
            }) => {
                if is_operator(text) {
                    return error(offset, "expected an exception identifier after WITH");
                }
                if plus {
                    return error(offset, "'+' is not allowed on an exception identifier");
                }
                if !is_idstring(text) {
                    return error(
                        offset,
                        "an exception identifier has only letters, digits, '-' and '.'",
                    );
                }
                Ok(text.to_owned())
            }
            Some(t) => error(t.offset, "expected an exception identifier after WITH"),
            None => error(self.end, "the expression ends after WITH"),
        }
    }
}

fn collapse(mut items: Vec<LicenseExpr>, make: fn(Vec<LicenseExpr>) -> LicenseExpr) -> LicenseExpr {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    make(items)
}

fn is_operator(word: &str) -> bool {
    matches!(word, "AND" | "OR" | "WITH")
}

fn simple_license(text: &str, plus: bool, offset: usize) -> Result<SimpleLicense, LicenseError> {
    if is_operator(text) {
        return error(offset, "expected a license, found an operator");
    }
    if matches!(text, "NONE" | "NOASSERTION") {
        return error(
            offset,
            "NONE and NOASSERTION may only stand alone as the whole value",
        );
    }
    match license_ref(text, offset)? {
        Some((document, license, id)) => {
            if !is_idstring(id) {
                return error(
                    offset,
                    "a LicenseRef- identifier has only letters, digits, '-' and '.'",
                );
            }
            if plus {
                return error(offset, "'+' applies only to SPDX License List identifiers");
            }
            Ok(SimpleLicense::Ref {
                document: document.map(str::to_owned),
                license: license.to_owned(),
            })
        }
        None => {
            if !is_idstring(text) {
                return error(
                    offset,
                    "a license identifier has only letters, digits, '-' and '.' (':' only after DocumentRef-)",
                );
            }
            Ok(SimpleLicense::Id {
                id: text.to_owned(),
                or_later: plus,
            })
        }
    }
}

/// A license reference's parts: the `DocumentRef-<id>` (if any), the `LicenseRef-<id>` and
/// the bare id.
type LicenseRef<'t> = (Option<&'t str>, &'t str, &'t str);

/// Splits `LicenseRef-<id>` or `DocumentRef-<id>:LicenseRef-<id>` into its parts; `None` for
/// any other text. The ids' characters are checked by the caller, except the document's.
fn license_ref(text: &str, offset: usize) -> Result<Option<LicenseRef<'_>>, LicenseError> {
    Ok(if let Some(rest) = text.strip_prefix(DOCUMENT_REF_PREFIX) {
        let Some((doc, license)) = rest.split_once(':') else {
            return error(
                offset,
                "DocumentRef- must be followed by ':LicenseRef-<id>'",
            );
        };
        if !is_idstring(doc) {
            return error(offset, "malformed DocumentRef- identifier");
        }
        let Some(id) = license.strip_prefix(LICENSE_REF_PREFIX) else {
            return error(
                offset,
                "DocumentRef-<id>: must be followed by LicenseRef-<id>",
            );
        };
        Some((
            Some(
                text.get(..DOCUMENT_REF_PREFIX.len() + doc.len())
                    .unwrap_or_default(),
            ),
            license,
            id,
        ))
    } else {
        text.strip_prefix(LICENSE_REF_PREFIX)
            .map(|id| (None, text, id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> LicenseExpr {
        LicenseExpr::Simple {
            license: SimpleLicense::Id {
                id: s.to_owned(),
                or_later: false,
            },
            exception: None,
        }
    }

    #[test]
    fn valid_forms() {
        assert_eq!(parse_expression("MIT").unwrap(), id("MIT"));
        assert_eq!(parse_expression("  (MIT)  ").unwrap(), id("MIT"));
        assert_eq!(
            parse_expression("GPL-2.0+").unwrap(),
            LicenseExpr::Simple {
                license: SimpleLicense::Id {
                    id: "GPL-2.0".into(),
                    or_later: true
                },
                exception: None
            }
        );
        assert_eq!(
            parse_expression("GPL-2.0-or-later WITH Classpath-exception-2.0").unwrap(),
            LicenseExpr::Simple {
                license: SimpleLicense::Id {
                    id: "GPL-2.0-or-later".into(),
                    or_later: false
                },
                exception: Some("Classpath-exception-2.0".into())
            }
        );
        assert_eq!(
            parse_expression("DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2").unwrap(),
            LicenseExpr::Simple {
                license: SimpleLicense::Ref {
                    document: Some("DocumentRef-spdx-tool-1.2".into()),
                    license: "LicenseRef-MIT-Style-2".into()
                },
                exception: None
            }
        );
        // AND binds tighter than OR (D.4.5).
        assert_eq!(
            parse_expression("LGPL-2.1-only OR BSD-3-Clause AND MIT").unwrap(),
            LicenseExpr::Or(vec![
                id("LGPL-2.1-only"),
                LicenseExpr::And(vec![id("BSD-3-Clause"), id("MIT")])
            ])
        );
        assert_eq!(
            parse_expression("MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)").unwrap(),
            LicenseExpr::And(vec![
                id("MIT"),
                LicenseExpr::Or(vec![id("LGPL-2.1-or-later"), id("BSD-3-Clause")])
            ])
        );
        // Chains stay flat, with or without redundant parentheses.
        assert_eq!(
            parse_expression("(A AND B) AND C").unwrap(),
            parse_expression("A AND B AND C").unwrap()
        );
        assert_eq!(
            parse_expression("(MIT)AND(BSD-2-Clause)").unwrap(),
            LicenseExpr::And(vec![id("MIT"), id("BSD-2-Clause")])
        );
        assert_eq!(parse_value("NONE").unwrap(), LicenseValue::None);
        assert_eq!(
            parse_value("NOASSERTION").unwrap(),
            LicenseValue::NoAssertion
        );
        assert_eq!(
            parse_value("(LGPL-2.0-only OR LicenseRef-3)")
                .unwrap()
                .to_string(),
            "LGPL-2.0-only OR LicenseRef-3"
        );
    }

    #[test]
    fn invalid_forms() {
        for text in [
            "",
            "   ",
            "MIT AND",
            "AND MIT",
            "MIT OR OR BSD-2-Clause",
            "MIT BSD-2-Clause",
            "MIT and BSD-2-Clause",
            "MIT or Apache-2.0",
            "(MIT",
            "MIT)",
            "()",
            "MIT +",
            "+MIT",
            "MIT+AND BSD-2-Clause",
            "LicenseRef-x+",
            "LicenseRef-",
            "LicenseRef-a_b",
            "DocumentRef-x",
            "DocumentRef-:LicenseRef-y",
            "DocumentRef-x:MIT",
            "a:b",
            "MIT WITH",
            "MIT WITH AND",
            "MIT WITH (Classpath-exception-2.0)",
            "(MIT) WITH Classpath-exception-2.0",
            "MIT WITH Classpath-exception-2.0+",
            "MIT AND NONE",
            "NOASSERTION OR MIT",
            "MIT/Apache-2.0",
            "MIT, BSD-2-Clause",
            "Apache_2.0",
            "MIT\u{0}",
            "MÏT",
        ] {
            assert!(parse_value(text).is_err(), "{text:?} should be refused");
        }
        let deep = format!("{}MIT{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(
            parse_expression(&deep).unwrap_err().reason,
            "parentheses nested too deeply"
        );
        let ok = format!("{}MIT{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(parse_expression(&ok).unwrap(), id("MIT"));
        let err = parse_expression("MIT AND (BSD-2-Clause").unwrap_err();
        assert_eq!(err.offset, 21);
    }

    #[test]
    fn long_chains_build_a_flat_tree() {
        let text = vec!["MIT"; 50_000].join(" AND ");
        match parse_expression(&text).unwrap() {
            LicenseExpr::And(items) => assert_eq!(items.len(), 50_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_lookups_are_case_insensitive() {
        assert!(is_listed_license("MIT"));
        assert!(is_listed_license("mit"));
        assert!(
            is_listed_license("GPL-2.0"),
            "deprecated ids are still listed"
        );
        assert!(!is_listed_license("Not-A-License-1.0"));
        assert!(is_listed_exception("Classpath-exception-2.0"));
        assert!(is_listed_exception("classpath-EXCEPTION-2.0"));
        assert!(!is_listed_exception("MIT"));
        assert!(!license_list_version().is_empty());
    }

    fn leaf() -> impl Strategy<Value = LicenseExpr> {
        let id = "[A-Za-z0-9][A-Za-z0-9.-]{0,8}".prop_filter("not an operator or keyword", |s| {
            !matches!(s.as_str(), "AND" | "OR" | "WITH" | "NONE" | "NOASSERTION")
                && !s.starts_with(LICENSE_REF_PREFIX)
                && !s.starts_with(DOCUMENT_REF_PREFIX)
        });
        let simple = prop_oneof![
            (id.clone(), any::<bool>())
                .prop_map(|(id, or_later)| SimpleLicense::Id { id, or_later }),
            (
                proptest::option::of("[a-z0-9.-]{1,6}"),
                "[A-Za-z0-9.-]{1,6}"
            )
                .prop_map(|(doc, lic)| SimpleLicense::Ref {
                    document: doc.map(|d| format!("{DOCUMENT_REF_PREFIX}{d}")),
                    license: format!("{LICENSE_REF_PREFIX}{lic}"),
                }),
        ];
        (simple, proptest::option::of(id))
            .prop_map(|(license, exception)| LicenseExpr::Simple { license, exception })
    }

    fn flat(items: Vec<LicenseExpr>, and: bool) -> LicenseExpr {
        let mut out = Vec::new();
        for item in items {
            match item {
                LicenseExpr::And(inner) if and => out.extend(inner),
                LicenseExpr::Or(inner) if !and => out.extend(inner),
                other => out.push(other),
            }
        }
        if and {
            LicenseExpr::And(out)
        } else {
            LicenseExpr::Or(out)
        }
    }

    fn tree() -> impl Strategy<Value = LicenseExpr> {
        leaf().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| flat(v, true)),
                proptest::collection::vec(inner, 2..4).prop_map(|v| flat(v, false)),
            ]
        })
    }

    fn token_soup() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("MIT"),
                Just("Apache-2.0"),
                Just("GPL-2.0"),
                Just("LicenseRef-a"),
                Just("DocumentRef-d:LicenseRef-x"),
                Just("Classpath-exception-2.0"),
                Just("AND"),
                Just("OR"),
                Just("WITH"),
                Just("NONE"),
                Just("("),
                Just(")"),
                Just("+"),
                Just(" "),
                Just(" "),
                Just(" "),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,64}") {
            let _ = parse_value(&text);
        }

        #[test]
        fn printed_trees_parse_back_to_themselves(expr in tree()) {
            let printed = expr.to_string();
            prop_assert_eq!(parse_expression(&printed).unwrap(), expr, "{}", printed);
        }

        #[test]
        fn parse_print_parse_is_stable(text in token_soup()) {
            if let Ok(value) = parse_value(&text) {
                let printed = value.to_string();
                let again = parse_value(&printed);
                prop_assert_eq!(again.as_ref(), Ok(&value), "{:?} printed as {:?}", text, printed);
            }
        }
    }
}
