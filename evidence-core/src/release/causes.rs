//! One root cause, one line: when the release's signatures fail because no signature is by a
//! trusted key, every check that fails for that reason (the checksum file's signer, each
//! statement's signer, each asset no trusted statement attests) is marked with one cause
//! ([`Check::with_cause`]) that names the signing key ids beside the trusted ones. The text
//! report then prints the cause once; `-v` and the JSON report keep every check.

use crate::keys::TrustPolicy;
use crate::provenance::codes::{
    PROVENANCE_ARTIFACT_UNATTESTED, PROVENANCE_SIGNATURE_VERIFIED, PROVENANCE_SIGNER_UNTRUSTED,
};
use crate::release::codes::RELEASE_SUMS_SIGNER_UNTRUSTED;
use crate::report::{Check, CheckCode, Report, Status};
use crate::text::printable;

/// The codes of checks that fail when the signer is not trusted.
const UNTRUSTED: &[CheckCode] = &[RELEASE_SUMS_SIGNER_UNTRUSTED, PROVENANCE_SIGNER_UNTRUSTED];

/// Marks the checks an untrusted signer explains (see the module documentation).
pub(super) fn attribute(report: &mut Report, trust: Option<&TrustPolicy>) {
    let Some(trust) = trust else {
        return;
    };
    // Only documents whose signer check failed: a checksum file that verified beside a
    // stranger's extra signature is not explained by this cause.
    let failed: Vec<CheckCode> = UNTRUSTED
        .iter()
        .copied()
        .filter(|code| {
            report
                .checks
                .iter()
                .any(|c| c.is(*code) && c.status == Status::Fail)
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    let untrusted = |c: &Check| failed.iter().any(|code| c.is(*code));
    let mut signers: Vec<String> = report
        .checks
        .iter()
        .filter(|c| untrusted(c) && c.status == Status::Warn)
        .filter_map(|c| c.data.get("keyid").and_then(|v| v.as_str()))
        .map(|id| printable(id).into_owned())
        .collect();
    signers.sort();
    signers.dedup();
    // Assets count as unattested for this reason only when the statements' signer is the
    // cause and no statement verified at all.
    let unattested = failed
        .iter()
        .any(|c| c.code == PROVENANCE_SIGNER_UNTRUSTED.code)
        && !report.has(PROVENANCE_SIGNATURE_VERIFIED);
    let cause = describe(&signers, trust);
    let checks = std::mem::take(&mut report.checks);
    report.checks = checks
        .into_iter()
        .map(|check| {
            let explained =
                untrusted(&check) || (unattested && check.is(PROVENANCE_ARTIFACT_UNATTESTED));
            if explained && matches!(check.status, Status::Fail | Status::Warn) {
                check.with_cause(cause.clone())
            } else {
                check
            }
        })
        .collect();
}

/// "signed by key id X, not by a trusted key (trusted: Y (name))".
fn describe(signers: &[String], trust: &TrustPolicy) -> String {
    let signed = match signers {
        [] => "no signature names its key".to_owned(),
        [one] => format!("signed by key id {one}"),
        many => format!("signed by key ids {}", many.join(", ")),
    };
    let trusted: Vec<String> = trust
        .keys
        .iter()
        .map(|k| format!("{} ({})", k.key.key_id(), printable(&k.name)))
        .collect();
    format!(
        "{signed}, not by a trusted key (trusted: {}): the wrong --trusted-key, or the release was re-signed by a stranger",
        trusted.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{NamedKey, PrivateKey};

    #[test]
    fn an_untrusted_signer_is_one_line_naming_both_keys() {
        let trusted = PrivateKey::from_seed(&[1; 32]);
        let policy = TrustPolicy::new(
            vec![NamedKey {
                name: "ops".into(),
                key: trusted.public(),
            }],
            1,
        )
        .unwrap();
        let mut report = Report::new(serde_json::json!({}));
        report.push(Check::warn(RELEASE_SUMS_SIGNER_UNTRUSTED, "signature 0").with("keyid", "abc"));
        report.push(Check::fail(
            RELEASE_SUMS_SIGNER_UNTRUSTED,
            "no trusted signature",
        ));
        report.push(Check::warn(PROVENANCE_SIGNER_UNTRUSTED, "signature 0").with("keyid", "abc"));
        report.push(Check::fail(
            PROVENANCE_SIGNER_UNTRUSTED,
            "no trusted signature",
        ));
        for asset in ["a", "b", "c"] {
            report.push(Check::fail(PROVENANCE_ARTIFACT_UNATTESTED, "unattested").with_path(asset));
        }
        report.push(Check::fail(crate::sums::codes::SUMS_ENTRY_MISMATCH, "other").with_path("d"));
        attribute(&mut report, Some(&policy));
        let text = report.to_text(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("FAIL release-sums-signer-untrusted: signed by key id abc, not by a trusted key (trusted: "), "{text}");
        assert!(
            lines[0].contains(&trusted.public().key_id().to_string()),
            "{text}"
        );
        assert!(
            lines[0].ends_with("(5 failed checks, 2 warnings; -v shows each)"),
            "{text}"
        );
        assert!(lines[1].starts_with("FAIL sums-entry-mismatch d"), "{text}");
        // Verbose and JSON keep every check, each with the cause.
        assert_eq!(report.to_text(true).lines().count(), 9);
        assert_eq!(
            report.checks.iter().filter(|c| c.cause().is_some()).count(),
            7
        );
        // The summary still counts each check.
        assert!(
            lines[2].starts_with("FAILED: 0 passed, 6 failed, 2 warnings"),
            "{text}"
        );
    }

    #[test]
    fn a_verified_document_beside_a_strangers_signature_is_not_blamed() {
        let policy = TrustPolicy::new(
            vec![NamedKey {
                name: "ops".into(),
                key: PrivateKey::from_seed(&[1; 32]).public(),
            }],
            1,
        )
        .unwrap();
        let mut report = Report::new(serde_json::json!({}));
        // SHA256SUMS verified, with an extra stranger's signature; the statement did not.
        report.push(Check::warn(RELEASE_SUMS_SIGNER_UNTRUSTED, "signature 1").with("keyid", "abc"));
        report.push(Check::warn(PROVENANCE_SIGNER_UNTRUSTED, "signature 0").with("keyid", "abc"));
        report.push(Check::fail(
            PROVENANCE_SIGNER_UNTRUSTED,
            "no trusted signature",
        ));
        attribute(&mut report, Some(&policy));
        let text = report.to_text(false);
        assert!(
            text.starts_with("WARN release-sums-signer-untrusted: signature 1"),
            "{text}"
        );
        assert!(
            text.contains("FAIL provenance-signer-untrusted: signed by key id abc"),
            "{text}"
        );
        assert!(report.checks[0].cause().is_none());
    }

    #[test]
    fn nothing_is_attributed_without_an_untrusted_failure() {
        let mut report = Report::new(serde_json::json!({}));
        report.push(Check::fail(PROVENANCE_ARTIFACT_UNATTESTED, "unattested").with_path("a"));
        let policy = TrustPolicy::new(
            vec![NamedKey {
                name: "ops".into(),
                key: PrivateKey::from_seed(&[1; 32]).public(),
            }],
            1,
        )
        .unwrap();
        attribute(&mut report, Some(&policy));
        assert!(report.checks.iter().all(|c| c.cause().is_none()));
    }
}
