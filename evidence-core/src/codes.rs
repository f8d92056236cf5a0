//! The registry of every check code the crate can emit. It sits at the top of the module
//! graph (it imports every module that defines codes) so that [`crate::report`], on the
//! ground floor, imports none of them. `docs/CHECKS.md` documents each code; a test keeps
//! the two in step and the codes unique.

use crate::report::CheckCode;

/// Every check code the crate can emit, grouped by module.
pub fn all() -> Vec<CheckCode> {
    let groups: &[&[CheckCode]] = &[
        crate::report::codes::ALL,
        crate::sums::codes::ALL,
        crate::release::codes::ALL,
        crate::bundle::codes::ALL,
        crate::provenance::codes::ALL,
        crate::sbom::codes::ALL,
        crate::sbom::cyclonedx::codes::ALL,
        crate::identity::codes::ALL,
        crate::journal::codes::ALL,
        crate::journal::envelope::codes::ALL,
        crate::journal::root::codes::ALL,
        crate::scan::codes::ALL,
        crate::capture::codes::ALL,
        crate::rollback::codes::ALL,
        crate::incident::codes::ALL,
        crate::legacy::codes::ALL,
    ];
    groups.iter().flat_map(|g| g.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn check_codes_are_unique_kebab_case_and_documented() {
        let docs = include_str!("../../docs/CHECKS.md");
        let mut seen = HashSet::new();
        for code in all() {
            assert!(seen.insert(code.code), "duplicate code {}", code.code);
            assert!(
                code.code.split('-').all(|w| !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{} is not kebab-case",
                code.code
            );
            assert!(
                docs.contains(&format!("| `{}` |", code.code)),
                "{} is not documented in docs/CHECKS.md",
                code.code
            );
        }
        for line in docs.lines() {
            if let Some(rest) = line.strip_prefix("| `") {
                let code = rest.split('`').next().unwrap_or_default();
                assert!(
                    seen.contains(code),
                    "docs/CHECKS.md lists unknown code {code}"
                );
            }
        }
    }
}
