//! Package URLs (purl), as SPDX 2.3 Annex F names them for `PACKAGE-MANAGER` external
//! references: `pkg:type/namespace/name@version?qualifiers#subpath`.
//!
//! Hand-written after the purl specification's "how to parse" steps; the checks are few and
//! syntactic, so a parser of our own is shorter than auditing a dependency for panics and
//! network access, and it lets us say exactly what is refused:
//!
//! 1. no white space or control characters (they must be percent-encoded);
//! 2. the subpath is what follows the last `#`, the qualifiers what follows the last `?`
//!    before it;
//! 3. the scheme is `pkg` (any case); slashes after `pkg:` are ignored (`pkg://` is accepted,
//!    as the specification demands);
//! 4. the type is one or more ASCII letters, digits, `.`, `+` or `-`, not starting with a
//!    digit (case-insensitive; lower case is canonical) and never percent-encoded;
//! 5. the name, the last `/`-separated segment, is required and non-empty after decoding; a
//!    version follows its last `@` and must be non-empty when the `@` is present;
//! 6. namespace segments are the segments before the name; empty segments are dropped;
//! 7. qualifiers are `&`-separated `key=value` pairs; keys are ASCII letters, digits, `.`, `-`,
//!    `_`, not starting with a digit, never percent-encoded, unique regardless of case;
//!    pairs with an empty value are dropped;
//! 8. every `%` starts a `%XX` escape of two hex digits, and each decoded component is UTF-8.
//!
//! Type-specific rules (for example that `maven` needs a namespace) are not checked.

use std::collections::BTreeMap;

/// A parsed package URL, with its components percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purl {
    /// The package type, lower-cased (`npm`, `cargo`, `maven`, ...).
    pub ty: String,
    /// Namespace segments (for example the Maven group id), possibly none.
    pub namespace: Vec<String>,
    /// The package name.
    pub name: String,
    /// The version, if given.
    pub version: Option<String>,
    /// Qualifiers, keys lower-cased.
    pub qualifiers: BTreeMap<String, String>,
    /// Subpath segments.
    pub subpath: Vec<String>,
}

/// Why a package URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PurlError {
    /// White space or a control character appears unencoded.
    #[error("white space and control characters must be percent-encoded")]
    Unencoded,
    /// The scheme is not `pkg:`.
    #[error("a package URL starts with \"pkg:\"")]
    Scheme,
    /// The type is missing or malformed.
    #[error("the type must be ASCII letters, digits, '.', '+' or '-', not starting with a digit")]
    Type,
    /// There is no name.
    #[error("the package name is missing")]
    MissingName,
    /// `@` with nothing after it.
    #[error("the version after '@' is empty")]
    EmptyVersion,
    /// A qualifier is malformed or repeated.
    #[error("qualifier {0:?} is malformed or repeated")]
    Qualifier(String),
    /// A `%` escape is malformed or decodes to something that is not UTF-8.
    #[error("malformed percent-encoding in {0:?}")]
    Encoding(String),
}

/// Parses a package URL.
pub fn parse(text: &str) -> Result<Purl, PurlError> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PurlError::Unencoded);
    }
    let (rest, subpath) = match text.rsplit_once('#') {
        Some((rest, sub)) => (rest, segments(sub, true)?),
        None => (text, Vec::new()),
    };
    let (rest, qualifiers) = match rest.rsplit_once('?') {
        Some((rest, q)) => (rest, qualifiers(q)?),
        None => (rest, BTreeMap::new()),
    };
    let (scheme, rest) = rest.split_once(':').ok_or(PurlError::Scheme)?;
    if !scheme.eq_ignore_ascii_case("pkg") {
        return Err(PurlError::Scheme);
    }
    let rest = rest.trim_start_matches('/');
    let (ty, rest) = rest.split_once('/').ok_or(PurlError::MissingName)?;
    let type_ok = ty.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && ty
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
    if !type_ok {
        return Err(PurlError::Type);
    }
    let rest = rest.trim_end_matches('/');
    let (namespace, last) = match rest.rsplit_once('/') {
        Some((ns, last)) => (segments(ns, false)?, last),
        None => (Vec::new(), rest),
    };
    let (name, version) = match last.rsplit_once('@') {
        Some((name, version)) => {
            if version.is_empty() {
                return Err(PurlError::EmptyVersion);
            }
            (name, Some(decode(version)?))
        }
        None => (last, None),
    };
    let name = decode(name)?;
    if name.is_empty() {
        return Err(PurlError::MissingName);
    }
    Ok(Purl {
        ty: ty.to_ascii_lowercase(),
        namespace,
        name,
        version,
        qualifiers,
        subpath,
    })
}

/// Splits on `/`, drops empty segments (and `.`/`..` in a subpath), decodes each.
fn segments(text: &str, subpath: bool) -> Result<Vec<String>, PurlError> {
    text.split('/')
        .filter(|s| !(s.is_empty() || subpath && matches!(*s, "." | "..")))
        .map(decode)
        .collect()
}

fn qualifiers(text: &str) -> Result<BTreeMap<String, String>, PurlError> {
    let mut out = BTreeMap::new();
    for pair in text.split('&') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| PurlError::Qualifier(pair.to_owned()))?;
        let key_ok = key.chars().next().is_some_and(|c| !c.is_ascii_digit())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !key_ok {
            return Err(PurlError::Qualifier(key.to_owned()));
        }
        let value = decode(value)?;
        if value.is_empty() {
            continue;
        }
        let key = key.to_ascii_lowercase();
        if out.contains_key(&key) {
            return Err(PurlError::Qualifier(key));
        }
        out.insert(key, value);
    }
    Ok(out)
}

/// Percent-decodes one component; the result must be UTF-8.
fn decode(text: &str) -> Result<String, PurlError> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bad = || PurlError::Encoding(text.to_owned());
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex_digit).ok_or_else(bad)?;
            let lo = bytes.next().and_then(hex_digit).ok_or_else(bad)?;
            out.push((hi << 4) | lo);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_forms() {
        let p = parse("pkg:maven/org.apache.jena/apache-jena@3.12.0").unwrap();
        assert_eq!(p.ty, "maven");
        assert_eq!(p.namespace, ["org.apache.jena"]);
        assert_eq!(p.name, "apache-jena");
        assert_eq!(p.version.as_deref(), Some("3.12.0"));

        let p = parse("pkg:npm/%40angular/animation@12.3.1").unwrap();
        assert_eq!(p.namespace, ["@angular"]);
        let p = parse("pkg:npm/@angular/core").unwrap();
        assert_eq!(
            (p.namespace[0].as_str(), p.name.as_str()),
            ("@angular", "core")
        );
        assert_eq!(p.version, None);

        let p =
            parse("pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie&empty=#src/./lib/../x/")
                .unwrap();
        assert_eq!(p.qualifiers.len(), 2);
        assert_eq!(p.qualifiers["arch"], "i386");
        assert_eq!(p.subpath, ["src", "lib", "x"]);

        let p = parse("PKG://Cargo/serde@1.0.0").unwrap();
        assert_eq!(p.ty, "cargo");
        assert_eq!(p.name, "serde");
        assert!(parse("pkg:generic/openssl@1.1.10g?download_url=https://openssl.org/source/openssl-1.1.0g.tar.gz&checksum=sha256:de4d501267da").is_ok());
        assert!(parse("pkg:golang/google.golang.org/genproto#googleapis/api/annotations").is_ok());
        assert!(parse("pkg:c++/x").is_ok());
    }

    #[test]
    fn invalid_forms() {
        for (text, expected) in [
            ("", PurlError::Scheme),
            ("maven/org/x@1", PurlError::Scheme),
            ("http://example.com/x", PurlError::Scheme),
            ("pkg:", PurlError::MissingName),
            ("pkg:npm", PurlError::MissingName),
            ("pkg:npm/", PurlError::MissingName),
            ("pkg:npm/@1.0", PurlError::MissingName),
            ("pkg:1npm/x", PurlError::Type),
            ("pkg:n_pm/x", PurlError::Type),
            ("pkg:n%70m/x", PurlError::Type),
            ("pkg:/x", PurlError::MissingName),
            ("pkg:+x/y", PurlError::Type),
            ("pkg:npm/x@", PurlError::EmptyVersion),
            ("pkg:npm/x y", PurlError::Unencoded),
            ("pkg:npm/x\n", PurlError::Unencoded),
            ("pkg:npm/x?arch", PurlError::Qualifier("arch".into())),
            ("pkg:npm/x?1a=b", PurlError::Qualifier("1a".into())),
            ("pkg:npm/x?a%41=b", PurlError::Qualifier("a%41".into())),
            ("pkg:npm/x?a=1&A=2", PurlError::Qualifier("a".into())),
            ("pkg:npm/x%zz", PurlError::Encoding("x%zz".into())),
            ("pkg:npm/x%2", PurlError::Encoding("x%2".into())),
            ("pkg:npm/x%ff", PurlError::Encoding("x%ff".into())),
        ] {
            assert_eq!(parse(text), Err(expected), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,64}") {
            let _ = parse(&text);
        }

        #[test]
        fn parsing_purl_like_text_never_panics(text in "pkg:[a-z%0-9./@?#&=+-]{0,40}") {
            let _ = parse(&text);
        }
    }
}
