//! SPDX 2.3 JSON software bills of materials.
//!
//! So far: the SPDX license expression grammar ([`license`]) and package URLs ([`purl`]).

pub mod license;
pub mod purl;

/// `idstring = 1*(ALPHA / DIGIT / "-" / ".")` (SPDX 2.3 clauses 6.3, 7.2, 8.2 and Annex D).
pub(crate) fn is_idstring(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
