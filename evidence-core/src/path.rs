//! Confined relative paths inside a bundle or a release directory.
//!
//! DESIGN section 3 (bundle rules) and section 4 rule 6: every path named by evidence is
//! relative, UTF-8, `/`-separated, has no `..`, no absolute form, no backslash and no NUL, and no
//! two paths collide after Unicode NFC normalisation and case folding. Paths are checked as text
//! before anything touches the file system, so a hostile name is refused, never resolved.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

/// Longest accepted path, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest accepted single path component, in bytes (Linux `NAME_MAX`).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Most components (folder depth + 1) a path may have.
pub const MAX_COMPONENTS: usize = 128;

/// Which characters a path may contain beyond the rules every path obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PathRules {
    /// Bundle paths (the safe default): no backslash and no control characters, so a path means
    /// the same on every platform and prints unambiguously.
    #[default]
    Strict,
    /// Names found in third-party release directories and SHA256SUMS files: backslashes and
    /// control characters (as in `new\nline.txt`) are legal POSIX file name bytes and coreutils
    /// escapes them, so they are accepted. Confinement rules still apply in full.
    Posix,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty.
    #[error("path is empty")]
    Empty,
    /// The path starts with `/` (absolute).
    #[error("path is absolute")]
    Absolute,
    /// A component is `..`.
    #[error("path contains a \"..\" component")]
    ParentComponent,
    /// A component is `.`.
    #[error("path contains a \".\" component")]
    CurrentComponent,
    /// Two slashes in a row or a trailing slash.
    #[error("path contains an empty component")]
    EmptyComponent,
    /// The path contains a NUL byte.
    #[error("path contains a NUL byte")]
    Nul,
    /// The path contains a backslash (strict rules only).
    #[error("path contains a backslash")]
    Backslash,
    /// The path contains a control character (strict rules only).
    #[error("path contains control character U+{0:04X}")]
    Control(u32),
    /// The path starts like a Windows drive (`C:`), which is absolute on Windows.
    #[error("path starts with a drive letter")]
    Drive,
    /// The path is not valid UTF-8.
    #[error("path is not valid UTF-8")]
    NotUtf8,
    /// The path or one of its components is too long, or it is too deep.
    #[error("path exceeds a length limit ({what})")]
    TooLong {
        /// Which limit: "path bytes", "component bytes" or "components".
        what: &'static str,
    },
}

/// A confined, relative, `/`-separated UTF-8 path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactPath(String);

impl ArtifactPath {
    /// Checks `text` under the strict (bundle) rules.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        Self::parse_with(text, PathRules::Strict)
    }

    /// Checks `text` under the given rules.
    pub fn parse_with(text: &str, rules: PathRules) -> Result<Self, PathError> {
        Self::check(text, rules)?;
        Ok(Self(text.to_owned()))
    }

    /// Checks `text` under the given rules without keeping it.
    pub fn check(text: &str, rules: PathRules) -> Result<(), PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if text.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong { what: "path bytes" });
        }
        if text.starts_with('/') {
            return Err(PathError::Absolute);
        }
        let bytes = text.as_bytes();
        if let [letter, b':', ..] = bytes
            && letter.is_ascii_alphabetic()
        {
            return Err(PathError::Drive);
        }
        for c in text.chars() {
            match c {
                '\0' => return Err(PathError::Nul),
                '\\' if rules == PathRules::Strict => return Err(PathError::Backslash),
                c if c.is_control() && rules == PathRules::Strict => {
                    return Err(PathError::Control(u32::from(c)));
                }
                _ => {}
            }
        }
        let mut count = 0usize;
        for component in text.split('/') {
            count += 1;
            if count > MAX_COMPONENTS {
                return Err(PathError::TooLong { what: "components" });
            }
            match component {
                "" => return Err(PathError::EmptyComponent),
                "." => return Err(PathError::CurrentComponent),
                ".." => return Err(PathError::ParentComponent),
                c if c.len() > MAX_COMPONENT_BYTES => {
                    return Err(PathError::TooLong {
                        what: "component bytes",
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Wraps text that [`ArtifactPath::check`] already accepted under the given rules.
    pub(crate) fn from_checked(text: String) -> Self {
        Self(text)
    }

    /// Checks raw bytes (for example a file name read from disk or a tar header).
    pub fn from_bytes(bytes: &[u8], rules: PathRules) -> Result<Self, PathError> {
        let text = std::str::from_utf8(bytes).map_err(|_| PathError::NotUtf8)?;
        Self::parse_with(text, rules)
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The key under which two paths collide: NFC(lower(upper(NFD(path)))), using the Unicode
    /// default (locale-independent) case mappings. Upper-then-lower casing folds `ß`/`SS`/`ss` and
    /// final/non-final sigma together, as full case folding does.
    pub fn collision_key(&self) -> String {
        collision_key(&self.0)
    }
}

/// See [`ArtifactPath::collision_key`].
pub fn collision_key(text: &str) -> String {
    if text.is_ascii() {
        // Normalisation is the identity on ASCII and its case folding is ASCII lower-casing.
        return text.to_ascii_lowercase();
    }
    let decomposed: String = text.nfd().collect();
    decomposed.to_uppercase().to_lowercase().nfc().collect()
}

/// Every proper ancestor folder of a `/`-separated path, deepest first: `a/b/c` gives `a/b`,
/// then `a`.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> + '_ {
    let mut rest = path;
    std::iter::from_fn(move || {
        let (parent, _) = rest.rsplit_once('/')?;
        rest = parent;
        Some(parent)
    })
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArtifactPath({:?})", self.0)
    }
}

impl AsRef<str> for ArtifactPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for ArtifactPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ArtifactPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Like [`collision_key`], but borrows `text` when it is already its own key (ASCII with no
/// upper-case letters), which is the common case.
pub fn collision_key_cow(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(collision_key(text))
    }
}

/// How a path clashes with one inserted before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clash {
    /// An earlier path has the same collision key (an exact duplicate, or a name equal after
    /// NFC normalisation and case folding); compare the two to tell which.
    SameKey {
        /// The id the earlier path was inserted with.
        with: usize,
    },
    /// One path uses the other as a folder (`a` and `a/b`, also after folding).
    FileAndFolder {
        /// The id the earlier path was inserted with.
        with: usize,
    },
}

/// Detects duplicates, NFC/case-folding collisions and file/folder clashes in a set of paths.
/// Paths are inserted with a caller-chosen id (usually an index into the caller's list), which
/// a [`Clash`] reports back. Keys borrow from the caller's paths where folding leaves them
/// unchanged, so the common case allocates nothing.
#[derive(Debug, Default)]
pub struct PathSet<'a> {
    /// Collision key of every file, and of every folder a file implies -> the id of the first
    /// path that put it there, and whether it is a folder.
    keys: HashMap<Cow<'a, str>, (usize, Slot)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    File,
    Folder,
}

impl<'a> PathSet<'a> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for about `paths` paths.
    pub fn with_capacity(paths: usize) -> Self {
        Self {
            keys: HashMap::with_capacity(paths.saturating_add(paths / 8)),
        }
    }

    /// Adds a path; returns how it clashes with an earlier one, if it does. A clashing path is
    /// not added, so every later path is compared against the first of a clashing group.
    pub fn insert(&mut self, path: &'a str, id: usize) -> Option<Clash> {
        self.insert_key(collision_key_cow(path), id)
    }

    /// [`PathSet::insert`] with the collision key computed by the caller (for example in
    /// parallel). `key` must be `collision_key_cow(path)`.
    pub fn insert_key(&mut self, key: Cow<'a, str>, id: usize) -> Option<Clash> {
        // Every proper prefix of this path is a folder and must not be a file seen before.
        // Folders are recorded with all their ancestors, so the walk up stops at the first
        // folder already known.
        let mut missing = Vec::new();
        for prefix in ancestors(&key) {
            match self.keys.get(prefix) {
                Some(&(with, Slot::File)) => return Some(Clash::FileAndFolder { with }),
                Some(&(_, Slot::Folder)) => break,
                None => missing.push(prefix.len()),
            }
        }
        if missing.is_empty() {
            // The path itself may be known already, as a file or as a folder.
            return match self.keys.entry(key) {
                Entry::Occupied(slot) => Some(match *slot.get() {
                    (with, Slot::File) => Clash::SameKey { with },
                    (with, Slot::Folder) => Clash::FileAndFolder { with },
                }),
                Entry::Vacant(slot) => {
                    slot.insert((id, Slot::File));
                    None
                }
            };
        }
        // A folder of this path was unknown, so the path itself cannot be known either.
        for slash in missing {
            let prefix = match &key {
                Cow::Borrowed(text) => text.get(..slash).map(Cow::Borrowed),
                Cow::Owned(text) => text.get(..slash).map(|p| Cow::Owned(p.to_owned())),
            };
            if let Some(prefix) = prefix {
                self.keys.insert(prefix, (id, Slot::Folder));
            }
        }
        self.keys.insert(key, (id, Slot::File));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ancestors_are_every_proper_folder_deepest_first() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a/b", "a"]);
        assert_eq!(ancestors("file").count(), 0);
    }

    #[test]
    fn ordinary_paths_are_accepted() {
        for p in [
            "a",
            "a/b/c.txt",
            "dir with space/ünïcode-ß.txt",
            ".hidden",
            "a..b",
        ] {
            assert_eq!(ArtifactPath::parse(p).unwrap().as_str(), p);
        }
    }

    #[test]
    fn escaping_paths_are_refused_with_the_reason() {
        let cases = [
            ("", PathError::Empty),
            ("/etc/passwd", PathError::Absolute),
            ("../x", PathError::ParentComponent),
            ("a/../../x", PathError::ParentComponent),
            ("a/./b", PathError::CurrentComponent),
            ("a//b", PathError::EmptyComponent),
            ("a/", PathError::EmptyComponent),
            ("a\0b", PathError::Nul),
            ("a\\..\\b", PathError::Backslash),
            ("a\nb", PathError::Control(10)),
            ("C:/x", PathError::Drive),
        ];
        for (text, want) in cases {
            assert_eq!(ArtifactPath::parse(text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn posix_rules_allow_backslash_and_newline_but_still_confine() {
        assert!(ArtifactPath::parse_with("back\\slash.txt", PathRules::Posix).is_ok());
        assert!(ArtifactPath::parse_with("new\nline.txt", PathRules::Posix).is_ok());
        assert_eq!(
            ArtifactPath::parse_with("../x", PathRules::Posix),
            Err(PathError::ParentComponent)
        );
        assert_eq!(
            ArtifactPath::parse_with("a\0", PathRules::Posix),
            Err(PathError::Nul)
        );
    }

    #[test]
    fn accessors_give_the_path_its_parts_and_its_collision_key() {
        let p = ArtifactPath::parse("Docs/Straße.txt").unwrap();
        assert_eq!(p.components().collect::<Vec<_>>(), ["Docs", "Straße.txt"]);
        assert_eq!(AsRef::<str>::as_ref(&p), "Docs/Straße.txt");
        assert_eq!(p.collision_key(), collision_key("DOCS/STRASSE.TXT"));
        assert_eq!(p.collision_key(), "docs/strasse.txt");
    }

    #[test]
    fn length_limits_hold_at_their_exact_values() {
        let deepest = vec!["a"; MAX_COMPONENTS].join("/");
        assert!(ArtifactPath::parse(&deepest).is_ok());
        assert!(ArtifactPath::parse(&"c".repeat(MAX_COMPONENT_BYTES)).is_ok());
        // 4096 bytes in components of at most 255: 17 x 240 bytes and 16 slashes.
        let mut longest = vec!["x".repeat(240); 17].join("/");
        assert_eq!(longest.len(), MAX_PATH_BYTES);
        assert!(ArtifactPath::parse(&longest).is_ok());
        longest.push('y');
        assert_eq!(
            ArtifactPath::parse(&longest),
            Err(PathError::TooLong { what: "path bytes" })
        );
    }

    #[test]
    fn length_limits_are_enforced() {
        let deep = vec!["a"; MAX_COMPONENTS + 1].join("/");
        assert_eq!(
            ArtifactPath::parse(&deep),
            Err(PathError::TooLong { what: "components" })
        );
        let long = "x".repeat(MAX_COMPONENT_BYTES + 1);
        assert_eq!(
            ArtifactPath::parse(&long),
            Err(PathError::TooLong {
                what: "component bytes"
            })
        );
        let huge = vec!["a"; 10_000].join("/");
        assert_eq!(
            ArtifactPath::parse(&huge),
            Err(PathError::TooLong { what: "path bytes" })
        );
    }

    #[test]
    fn non_utf8_bytes_are_refused() {
        assert_eq!(
            ArtifactPath::from_bytes(b"a\xffb", PathRules::Strict),
            Err(PathError::NotUtf8)
        );
    }

    #[test]
    fn collisions_after_nfc_and_case_folding_are_detected() {
        let mut set = PathSet::new();
        assert_eq!(set.insert("caf\u{e9}.txt", 0), None);
        assert_eq!(
            set.insert("cafe\u{301}.txt", 1),
            Some(Clash::SameKey { with: 0 })
        );
        assert_eq!(
            set.insert("CAF\u{c9}.TXT", 2),
            Some(Clash::SameKey { with: 0 })
        );
        assert_eq!(
            set.insert("caf\u{e9}.txt", 3),
            Some(Clash::SameKey { with: 0 })
        );
        assert_eq!(set.insert("stra\u{df}e", 4), None);
        assert_eq!(set.insert("STRASSE", 5), Some(Clash::SameKey { with: 4 }));
        assert_eq!(set.insert("README", 6), None);
        assert_eq!(set.insert("readme", 7), Some(Clash::SameKey { with: 6 }));
    }

    #[test]
    fn a_file_and_a_folder_of_the_same_name_clash() {
        let mut set = PathSet::new();
        assert_eq!(set.insert("a/b", 0), None);
        assert_eq!(set.insert("A", 1), Some(Clash::FileAndFolder { with: 0 }));
        let mut set = PathSet::new();
        assert_eq!(set.insert("a", 0), None);
        assert_eq!(set.insert("a/b", 1), Some(Clash::FileAndFolder { with: 0 }));
        assert_eq!(set.insert("a-b/c", 2), None);
    }

    #[test]
    fn borrowed_keys_are_the_folded_form() {
        assert!(matches!(
            collision_key_cow("lower/case.txt"),
            Cow::Borrowed(_)
        ));
        assert_eq!(collision_key_cow("Upper"), "upper");
        assert_eq!(collision_key_cow("caf\u{e9}"), collision_key("CAFE\u{301}"));
    }

    proptest! {
        #[test]
        fn accepted_paths_are_confined(text in "[a-z./\\\\]{0,24}") {
            if let Ok(p) = ArtifactPath::parse(&text) {
                prop_assert!(!p.as_str().starts_with('/'));
                prop_assert!(p.components().all(|c| c != ".." && c != "." && !c.is_empty()));
                prop_assert!(!p.as_str().contains('\\'));
            }
        }

        #[test]
        fn parser_never_panics(text in "\\PC{0,64}") {
            let _ = ArtifactPath::parse_with(&text, PathRules::Posix);
            let _ = ArtifactPath::parse(&text).map(|p| p.collision_key());
        }
    }
}
