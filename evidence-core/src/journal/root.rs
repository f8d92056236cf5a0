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
use crate::report::{Check, Report, Status, check_codes};
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
    let checks = match open(path, head.stream) {
        Ok(opened) => judge(opened, head, trust),
        Err(check) => vec![*check],
    };
    for check in checks {
        report.push(check.with_path(name.clone()).in_section(SECTION));
    }
}

/// A root that parsed: its members, its claimed hash and its entry for the journal's stream.
struct Opened {
    root: serde_json::Map<String, Value>,
    root_hash: String,
    entry: Option<(Option<u64>, String)>,
}

/// Reads and parses the root, or the one check that says why it cannot be judged.
fn open(path: &Path, stream: Option<&str>) -> Result<Opened, Box<Check>> {
    let bytes = read(path)?;
    let limits = JsonLimits {
        max_bytes: MAX_ROOT_BYTES,
        ..JsonLimits::default()
    };
    let root = match crate::pyjson::parse(&bytes, &limits) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid("the root is not a JSON object".into()).into()),
        Err(e) => return Err(invalid(format!("not JSON the engine could hash: {e}")).into()),
    };
    if root.get("version").and_then(Value::as_str) != Some(ROOT_VERSION) {
        return Err(invalid(format!("version is not {ROOT_VERSION:?}")).into());
    }
    let Some(root_hash) = root
        .get("root_hash")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(invalid("root_hash is not a string".into()).into());
    };
    let Some(entry) = stream_entry(&root, stream) else {
        return Err(invalid(
            "streams is not a list of objects with stream, count and head_hash".into(),
        )
        .into());
    };
    Ok(Opened {
        root,
        root_hash,
        entry,
    })
}

/// The root file's bytes, at most [`MAX_ROOT_BYTES`].
fn read(path: &Path) -> Result<Vec<u8>, Box<Check>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ROOT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| {
            Box::new(Check::fail(
                crate::report::codes::INPUT_UNREADABLE,
                format!("cannot read the root: {e}"),
            ))
        })?;
    if bytes.len() as u64 > MAX_ROOT_BYTES {
        return Err(Box::new(
            Check::fail(
                crate::report::codes::INPUT_TOO_LARGE,
                format!("the root is larger than {MAX_ROOT_BYTES} bytes"),
            )
            .with("limit", MAX_ROOT_BYTES),
        ));
    }
    Ok(bytes)
}

/// The checks of a parsed root, in report order: its stream entry against the chain, its
/// hash, its signature, and `journal-root-verified` when none of them failed.
fn judge(mut opened: Opened, head: &ChainHead<'_>, trust: Option<&TrustPolicy>) -> Vec<Check> {
    let mut checks = stream_checks(opened.entry.take(), head);
    let root_hash = opened.root_hash;
    let signature = SignatureMembers::take(&mut opened.root);
    opened.root.remove("root_hash");
    opened.root.remove("anchor");
    let mut body = Value::Object(opened.root);
    let recomputed = engine_hash(&body);
    if recomputed != root_hash {
        checks.push(Check::fail(
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
    checks.push(signature_check(verdict, trust.is_some()));
    if checks.iter().all(|c| c.status != Status::Fail) {
        checks.push(
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
        );
    }
    checks
}

/// The root's entry for the journal's stream against what the chain established.
fn stream_checks(entry: Option<(Option<u64>, String)>, head: &ChainHead<'_>) -> Vec<Check> {
    let Some((count, head_hash)) = entry else {
        return vec![Check::fail(
            JOURNAL_ROOT_STREAM_MISSING,
            format!(
                "the root has no entry for stream {:?}",
                printable(head.stream.unwrap_or_default())
            ),
        )];
    };
    let mut checks = Vec::new();
    if count != Some(head.count) {
        checks.push(
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
        checks.push(
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
    checks
}

/// The one check that says what the root's signature proves.
fn signature_check(verdict: SignatureVerdict, keys_given: bool) -> Check {
    match verdict {
        SignatureVerdict::Unsigned if keys_given => Check::fail(
            JOURNAL_ROOT_SIGNATURE_MISSING,
            "the root is not signed, and trusted keys were given",
        ),
        SignatureVerdict::Unsigned => Check::skip(
            JOURNAL_ROOT_SIGNED,
            "the root is not signed: nothing pins it to its maker",
        ),
        SignatureVerdict::Unchecked => Check::skip(
            JOURNAL_ROOT_SIGNED,
            "the root is signed but not checked: no trusted key was given, and its embedded key \
             is never trusted by itself",
        ),
        SignatureVerdict::Trusted { name } => Check::pass(
            JOURNAL_ROOT_SIGNED,
            format!(
                "the root is signed by the trusted key {:?}",
                printable(&name)
            ),
        )
        .with("key", name),
        SignatureVerdict::Incomplete(why) => Check::fail(JOURNAL_ROOT_SIGNATURE_INCOMPLETE, why),
        SignatureVerdict::Invalid(why) => Check::fail(JOURNAL_ROOT_SIGNATURE_INVALID, why),
        SignatureVerdict::Untrusted { key_id } => Check::fail(
            JOURNAL_ROOT_SIGNER_UNTRUSTED,
            format!(
                "the root's signature verifies under its embedded key (key id {key_id}), which \
                 is not a trusted key"
            ),
        )
        .with("key_id", key_id),
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
