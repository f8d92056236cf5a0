//! `zero.journal_root.v1` roots, as `zero_engine.journal_chain.generate_root` writes them: a
//! summary of each stream (`stream`, `count`, `head_hash`, ...) under a `root_hash`, optionally
//! signed with Ed25519 (`docs/FORMAT.md` section 11.6).
//!
//! `root_hash` is the engine hash ([`super::envelope::engine_hash`]) of the root without
//! `root_hash`, `signature`, `signing_key_id`, `signing_public_key_b64` and `anchor`; the
//! signature covers the same members plus `root_hash` and the two key members as written.

use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use super::SECTION;
use super::envelope::{SignatureMembers, SignatureVerdict, engine_hash};
use crate::json::JsonLimits;
use crate::keys::TrustPolicy;
use crate::report::{Check, Report, check_codes};
use crate::text::printable;

/// The `version` of a root.
pub const ROOT_VERSION: &str = "zero.journal_root.v1";
/// Largest root file read.
pub const MAX_ROOT_BYTES: u64 = 16 << 20;

/// Check codes of journal roots.
pub mod codes {
    use super::check_codes;
    check_codes! {
        JOURNAL_ROOT_VERIFIED = "journal-root-verified":
            "The root hashes to its root_hash, and its entry for the journal's stream has the chain's count and head_hash.";
        JOURNAL_ROOT_INVALID = "journal-root-invalid":
            "The root file is not a zero.journal_root.v1 object with a root_hash and a list of streams.";
        JOURNAL_ROOT_HASH_MISMATCH = "journal-root-hash-mismatch":
            "The root does not hash to its root_hash: a member was changed after the root was made.";
        JOURNAL_ROOT_SIGNED = "journal-root-signed":
            "Whether the root is signed by a trusted key; skipped (not passed) when no trusted key was given.";
        JOURNAL_ROOT_SIGNATURE_MISSING = "journal-root-signature-missing":
            "Trusted keys were given but the root is not signed.";
        JOURNAL_ROOT_SIGNATURE_INCOMPLETE = "journal-root-signature-incomplete":
            "The root has some signature members but not both signing_key_id and signature.";
        JOURNAL_ROOT_SIGNATURE_INVALID = "journal-root-signature-invalid":
            "The root's signature does not verify, or its signature or embedded key is malformed.";
        JOURNAL_ROOT_SIGNER_UNTRUSTED = "journal-root-signer-untrusted":
            "The root's signature verifies under the key embedded in it, which is not a trusted key.";
        JOURNAL_ROOT_STREAM_MISSING = "journal-root-stream-missing":
            "The root has no entry for the journal's stream.";
        JOURNAL_ROOT_COUNT_MISMATCH = "journal-root-count-mismatch":
            "The root's count for the stream differs from the number of entries in the journal.";
        JOURNAL_ROOT_HEAD_MISMATCH = "journal-root-head-mismatch":
            "The root's head_hash for the stream differs from the journal's last entry_hash.";
    }
}

use codes::*;

/// What the journal's chain established, to compare with the root.
#[derive(Debug)]
pub(crate) struct ChainHead<'a> {
    pub(crate) stream: Option<&'a str>,
    pub(crate) count: u64,
    pub(crate) head_hash: &'a str,
}

/// Verifies the root at `path` against `head`, pushing its checks onto `report`.
pub(crate) fn verify(
    path: &Path,
    head: &ChainHead<'_>,
    trust: Option<&TrustPolicy>,
    report: &mut Report,
) {
    let name = path.display().to_string();
    let check = |c: Check| c.with_path(name.clone()).in_section(SECTION);
    let mut bytes = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_ROOT_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        report.push(check(Check::fail(
            crate::report::codes::INPUT_UNREADABLE,
            format!("cannot read the root: {e}"),
        )));
        return;
    }
    if bytes.len() as u64 > MAX_ROOT_BYTES {
        report.push(check(
            Check::fail(
                crate::report::codes::INPUT_TOO_LARGE,
                format!("the root is larger than {MAX_ROOT_BYTES} bytes"),
            )
            .with("limit", MAX_ROOT_BYTES),
        ));
        return;
    }
    let limits = JsonLimits {
        max_bytes: MAX_ROOT_BYTES,
        ..JsonLimits::default()
    };
    let mut root = match crate::pyjson::parse(&bytes, &limits) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return report.push(check(invalid("the root is not a JSON object".into()))),
        Err(e) => {
            return report.push(check(invalid(format!(
                "not JSON the engine could hash: {e}"
            ))));
        }
    };
    if root.get("version").and_then(Value::as_str) != Some(ROOT_VERSION) {
        return report.push(check(invalid(format!("version is not {ROOT_VERSION:?}"))));
    }
    let Some(root_hash) = root
        .get("root_hash")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return report.push(check(invalid("root_hash is not a string".into())));
    };
    let Some(entry) = stream_entry(&root, head.stream) else {
        return report.push(check(invalid(
            "streams is not a list of objects with stream, count and head_hash".into(),
        )));
    };
    let mut ok = true;
    let mut fail = |c: Check| {
        ok = false;
        report.push(check(c));
    };
    match entry {
        None => fail(Check::fail(
            JOURNAL_ROOT_STREAM_MISSING,
            format!(
                "the root has no entry for stream {:?}",
                printable(head.stream.unwrap_or_default())
            ),
        )),
        Some((count, head_hash)) => {
            if count != Some(head.count) {
                fail(
                    Check::fail(
                        JOURNAL_ROOT_COUNT_MISMATCH,
                        format!(
                            "the root counts {} entries, the journal holds {}",
                            count.map_or("?".to_owned(), |c| c.to_string()),
                            head.count
                        ),
                    )
                    .with("expected", head.count)
                    .with("actual", count),
                );
            }
            if head_hash != head.head_hash {
                fail(
                    Check::fail(
                        JOURNAL_ROOT_HEAD_MISMATCH,
                        format!(
                            "the root's head_hash is {}, the journal's last entry_hash {}",
                            printable(&head_hash),
                            head.head_hash
                        ),
                    )
                    .with("expected", head.head_hash.to_owned())
                    .with("actual", head_hash),
                );
            }
        }
    }
    let signature = SignatureMembers::take(&mut root);
    root.remove("root_hash");
    root.remove("anchor");
    let mut body = Value::Object(root);
    let recomputed = engine_hash(&body);
    if recomputed != root_hash {
        fail(Check::fail(
            JOURNAL_ROOT_HASH_MISMATCH,
            format!(
                "root_hash is {}, but the root hashes to {recomputed}",
                printable(&root_hash)
            ),
        ));
    }
    let verdict = signature.judge(trust, || {
        signature.signed_text(&mut body, "root_hash", &root_hash)
    });
    match verdict {
        SignatureVerdict::Unsigned if trust.is_some() => fail(Check::fail(
            JOURNAL_ROOT_SIGNATURE_MISSING,
            "the root is not signed, and trusted keys were given",
        )),
        SignatureVerdict::Unsigned => report.push(check(Check::skip(
            JOURNAL_ROOT_SIGNED,
            "the root is not signed: nothing pins it to its maker",
        ))),
        SignatureVerdict::Unchecked => report.push(check(Check::skip(
            JOURNAL_ROOT_SIGNED,
            "the root is signed but not checked: no trusted key was given, and its embedded key \
             is never trusted by itself",
        ))),
        SignatureVerdict::Trusted { name } => report.push(check(
            Check::pass(
                JOURNAL_ROOT_SIGNED,
                format!(
                    "the root is signed by the trusted key {:?}",
                    printable(&name)
                ),
            )
            .with("key", name),
        )),
        SignatureVerdict::Incomplete(why) => {
            fail(Check::fail(JOURNAL_ROOT_SIGNATURE_INCOMPLETE, why))
        }
        SignatureVerdict::Invalid(why) => fail(Check::fail(JOURNAL_ROOT_SIGNATURE_INVALID, why)),
        SignatureVerdict::Untrusted { key_id } => fail(
            Check::fail(
                JOURNAL_ROOT_SIGNER_UNTRUSTED,
                format!(
                    "the root's signature verifies under its embedded key (key id {key_id}), \
                     which is not a trusted key"
                ),
            )
            .with("key_id", key_id),
        ),
    }
    if ok {
        report.push(check(
            Check::pass(
                JOURNAL_ROOT_VERIFIED,
                format!(
                    "the root hashes to {root_hash} and records stream {:?} with {} entries and \
                     head {}",
                    printable(head.stream.unwrap_or_default()),
                    head.count,
                    head.head_hash
                ),
            )
            .with("root_hash", root_hash),
        ));
    }
}

fn invalid(why: String) -> Check {
    Check::fail(JOURNAL_ROOT_INVALID, why)
}

/// The root's `(count, head_hash)` for `stream`: `None` when `streams` is malformed,
/// `Some(None)` when the stream is not listed.
#[allow(clippy::type_complexity)]
fn stream_entry(
    root: &serde_json::Map<String, Value>,
    stream: Option<&str>,
) -> Option<Option<(Option<u64>, String)>> {
    let streams = root.get("streams")?.as_array()?;
    let mut found = None;
    for item in streams {
        let item = item.as_object()?;
        let name = item.get("stream")?.as_str()?;
        let count = item.get("count")?;
        let head = item.get("head_hash")?.as_str()?;
        if Some(name) == stream && found.is_none() {
            found = Some((count.as_u64(), head.to_owned()));
        }
    }
    Some(found)
}
