//! The bundle tamper matrix, as property tests over generated bundles (library API, real
//! folders on a file system: /dev/shm when present, see [`tempdir`]).
//!
//! Each generated case is a random small tree (safe names, nested folders, random contents,
//! empty files included) sealed by 1-3 signers and verified under a threshold of 1..=signers.
//! Every mutation kind is applied to every case, each to a fresh copy, in both forms (the
//! folder, and the `.tar.gz` written from the mutated folder by the independent test tar
//! writer), and the verdict is checked against an expectation decided independently of the
//! verifier:
//!
//! - a payload change fails with exactly its code (`bundle-file-mismatch`, `-missing`,
//!   `-unlisted`, `bundle-entry-forbidden`);
//! - `manifest.json` is signed byte for byte: any change fails `bundle-signature-invalid`,
//!   plus `bundle-sums-mismatch` when the new bytes still parse (SHA256SUMS lists the old
//!   digest) or the parse failure's own code (`bundle-manifest-invalid`, `-path-unsafe`);
//! - `SHA256SUMS` must be byte for byte the file the manifest implies, so any edit of it
//!   fails `bundle-sums-mismatch`. `manifest.dsse.json` is not signed, so a few edits of it
//!   are *meaningless*: JSON white space, URL-safe base64 and key ids (hints). Whether an envelope
//!   edit is meaningless is decided by parsing (the DSSE parser, whose rules are specified and
//!   unit-tested on their own); a meaningless edit must verify with the same signers, every
//!   other edit must fail with `bundle-envelope-invalid` (the envelope no longer parses) or
//!   `bundle-signature-invalid` (it parses but says something else);
//! - signature swaps fail with their own code (untrusted, invalid, missing, not met);
//! - raw archive bytes: a flipped byte is accepted only if the gzip stream still decompresses,
//!   CRC included, to the very same tar bytes (gzip header fields nobody reads: mtime, XFL,
//!   OS, the FTEXT hint);
//!   truncation and appended bytes always fail `bundle-archive-invalid`.
//!
//! No mutation outside those meaningless classes is ever accepted, and a rejected bundle never
//! yields a `Verified` value. The number of tamper cases is exact and asserted (see
//! [`DIR_KINDS`], [`ARCHIVE_KINDS`], [`THRESHOLD_KINDS`]): with the default case counts,
//! 128 x (30 + 31) + 64 x 8 = 8,320 mutated bundles verified per run.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use evidence_core::bundle::archive;
use evidence_core::bundle::build::{self, BuildOptions, Input};
use evidence_core::bundle::codes::*;
use evidence_core::bundle::manifest::ManifestError;
use evidence_core::bundle::verify::verify_dir;
use evidence_core::bundle::{
    BundleVerification, ENVELOPE_FILE, MANIFEST_FILE, Manifest, SUMS_FILE, VerifyOptions,
};
use evidence_core::dsse::{self, Envelope};
use evidence_core::keys::{KeyId, NamedKey, PrivateKey, TrustPolicy};
use evidence_core::report::{CheckCode, Status};
use evidence_core::timestamp::Timestamp;
use evidence_tests::fixtures::bundle::copy_tree;
use evidence_tests::fixtures::tar;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Generated bundles per run of the main matrix.
const CASES: u32 = 128;
/// Generated bundles per run of the threshold matrix.
const THRESHOLD_CASES: u32 = 64;
/// Generated bundles per run of the round-trip property.
const ROUND_TRIP_CASES: u32 = 64;

/// Mutation kinds applied to the folder form of every case (see [`mutations`]).
const DIR_KINDS: usize = 30;
/// Mutation kinds applied to the archive form (folder mutations that have an archive
/// equivalent, plus raw archive bytes).
const ARCHIVE_KINDS: usize = 31;
/// Mutation kinds of the threshold matrix, each in both forms.
const THRESHOLD_KINDS: usize = 8;

const CREATED_AT: &str = "2026-11-22T09:30:00Z";

// ---------------------------------------------------------------------------------------
// Generated cases
// ---------------------------------------------------------------------------------------

/// Random choices for byte-level edits of one file.
#[derive(Debug, Clone)]
struct Edit {
    /// Which byte to flip.
    at: Index,
    /// What to XOR it with (never 0).
    xor: u8,
    /// The length to truncate to (below the current length).
    cut: Index,
    /// Bytes to append.
    extra: Vec<u8>,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        any::<Index>(),
        1..=255u8,
        any::<Index>(),
        prop::collection::vec(any::<u8>(), 1..16),
    )
        .prop_map(|(at, xor, cut, extra)| Edit {
            at,
            xor,
            cut,
            extra,
        })
}

#[derive(Debug, Clone)]
struct Case {
    /// Payload files: path below `payload/` and content. At least one is non-empty.
    files: BTreeMap<String, Vec<u8>>,
    /// How many keys signed (1-3).
    signers: usize,
    /// Threshold of the trust policy over all signers (1..=signers).
    threshold: usize,
    /// Edits of manifest.json, SHA256SUMS, manifest.dsse.json, a payload file, the archive.
    edits: [Edit; 5],
    /// Other random picks (files, folders).
    picks: [Index; 6],
    /// A fresh name (no `.`, so `name.suffix` never exists yet).
    new_name: String,
    /// Content of a planted file.
    new_content: Vec<u8>,
}

fn component() -> impl Strategy<Value = String> {
    "[a-z0-9_-]{1,8}"
}

fn rel_path() -> impl Strategy<Value = String> {
    prop::collection::vec(component(), 1..=3).prop_map(|parts| parts.join("/"))
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        4 => prop::collection::vec(any::<u8>(), 1..300),
    ]
}

/// Keeps the first of any two paths that would collide (equal, or one a folder of the other),
/// so the tree can exist on disk.
fn confined_tree(files: Vec<(String, Vec<u8>)>) -> BTreeMap<String, Vec<u8>> {
    let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (path, data) in files {
        let clash = kept.keys().any(|k| {
            *k == path || k.starts_with(&format!("{path}/")) || path.starts_with(&format!("{k}/"))
        });
        if !clash {
            kept.insert(path, data);
        }
    }
    kept
}

fn tree() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    (
        (rel_path(), prop::collection::vec(any::<u8>(), 1..300)),
        prop::collection::vec((rel_path(), content()), 0..6),
    )
        .prop_map(|(first, rest)| {
            let mut all = vec![first];
            all.extend(rest);
            confined_tree(all)
        })
}

/// 1-3 signers (at least `min_signers`) and a threshold from `min_threshold` to the signers.
fn case(min_signers: usize, min_threshold: usize) -> impl Strategy<Value = Case> {
    let signers = (min_signers..=3usize).prop_flat_map(move |s| (Just(s), min_threshold..=s));
    (
        tree(),
        signers,
        [edit(), edit(), edit(), edit(), edit()],
        any::<[Index; 6]>(),
        component(),
        content(),
    )
        .prop_map(
            |(files, (signers, threshold), edits, picks, new_name, new_content)| Case {
                files,
                signers,
                threshold,
                edits,
                picks,
                new_name,
                new_content,
            },
        )
}

fn key(n: usize) -> PrivateKey {
    PrivateKey::from_seed(&[u8::try_from(n).unwrap() + 1; 32])
}

fn stranger() -> PrivateKey {
    PrivateKey::from_seed(&[0xee; 32])
}

fn policy(signers: usize, threshold: usize) -> TrustPolicy {
    let keys = (0..signers)
        .map(|i| NamedKey {
            name: format!("key{i}"),
            key: key(i).public(),
        })
        .collect();
    TrustPolicy::new(keys, u32::try_from(threshold).unwrap()).unwrap()
}

fn created_at_unix() -> u64 {
    u64::try_from(Timestamp::parse(CREATED_AT).unwrap().unix()).unwrap()
}

/// Seals the case's tree at `out`, signed by its signers.
fn build_case(case: &Case, out: &Path) {
    build_tree(&case.files, case.signers, out);
}

/// Seals `files` (paths below `payload/`) at `out`, signed by the first `signers` keys.
fn build_tree(files: &BTreeMap<String, Vec<u8>>, signers: usize, out: &Path) {
    let keys: Vec<PrivateKey> = (0..signers).map(key).collect();
    let mut opts = BuildOptions::new("tamper-test");
    opts.created_at = Some(Timestamp::parse(CREATED_AT).unwrap());
    opts.subject = BTreeMap::from([("commit".to_owned(), "3f2c1e9".to_owned())]);
    opts.sign = keys.iter().collect();
    let inputs: Vec<Input> = files
        .iter()
        .map(|(at, bytes)| Input::Bytes {
            at: at.clone(),
            bytes: bytes.clone(),
        })
        .collect();
    build::create(out, &inputs, &opts).unwrap();
}

// ---------------------------------------------------------------------------------------
// Expectations and judging
// ---------------------------------------------------------------------------------------

/// What a mutated bundle must produce.
#[derive(Debug, Clone)]
enum Expect {
    /// Exactly these codes fail.
    Exactly(Vec<CheckCode>),
    /// At least these codes fail.
    Includes(Vec<CheckCode>),
    /// A meaningless edit: verifies, with the same id and signers.
    Accepted,
}

fn failing(v: &BundleVerification) -> BTreeSet<String> {
    v.report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.code.to_string())
        .collect()
}

/// Checks one verdict; `what` names the mutation in failure messages.
fn judge(
    v: &BundleVerification,
    expect: &Expect,
    reference: &Reference,
    what: &str,
) -> Result<(), TestCaseError> {
    let fails = failing(v);
    let show = || format!("{what}: {}", v.report.to_text(true));
    match expect {
        Expect::Accepted => {
            prop_assert!(v.report.ok(), "meaningless edit refused: {}", show());
            let bundle = v.bundle.as_ref().unwrap();
            prop_assert_eq!(bundle.id, reference.id);
            let signers: Vec<KeyId> = bundle.signers.iter().map(|s| s.key_id).collect();
            prop_assert_eq!(&signers, &reference.signers, "{}", show());
            return Ok(());
        }
        Expect::Exactly(codes) => {
            let want: BTreeSet<String> = codes.iter().map(|c| c.code.to_owned()).collect();
            prop_assert_eq!(&fails, &want, "{}", show());
        }
        Expect::Includes(codes) => {
            for c in codes {
                prop_assert!(fails.contains(c.code), "expected {}: {}", c.code, show());
            }
        }
    }
    // Never accepted, never a verified value, and failures are real failures.
    prop_assert!(!v.report.ok(), "{}", show());
    prop_assert!(v.bundle.is_none(), "{}", show());
    prop_assert!(!fails.is_empty(), "{}", show());
    Ok(())
}

/// What the unmutated bundle verified as.
struct Reference {
    id: evidence_core::bundle::BundleId,
    signers: Vec<KeyId>,
    manifest: Vec<u8>,
    sums: Vec<u8>,
    envelope: Vec<u8>,
}

/// Envelope edits that change nothing the signature check reads: same payload type,
/// payload and signatures. Key ids are hints (DSSE): a good signature counts under any label.
fn envelope_equivalent(original: &[u8], edited: &[u8]) -> bool {
    let parse = |b: &[u8]| Envelope::parse(b, &Default::default()).ok();
    match (parse(original), parse(edited)) {
        (Some(a), Some(b)) => {
            a.payload_type == b.payload_type
                && a.payload == b.payload
                && a.signatures.len() == b.signatures.len()
                && a.signatures
                    .iter()
                    .zip(&b.signatures)
                    .all(|(x, y)| x.sig == y.sig)
        }
        _ => false,
    }
}

/// The expectation for edited bytes of one metadata file.
fn metadata_expect(name: &str, reference: &Reference, edited: &[u8]) -> Expect {
    match name {
        MANIFEST_FILE => {
            // Signed byte for byte: never meaningless.
            let second = match Manifest::parse(edited, &Default::default()) {
                Ok(_) => BUNDLE_SUMS_MISMATCH,
                Err(ManifestError::UnsafePath { .. }) => BUNDLE_PATH_UNSAFE,
                Err(_) => BUNDLE_MANIFEST_INVALID,
            };
            Expect::Includes(vec![BUNDLE_SIGNATURE_INVALID, second])
        }
        // SHA256SUMS must be byte for byte the file the manifest implies (FORMAT 5.3).
        SUMS_FILE if edited == reference.sums.as_slice() => Expect::Accepted,
        SUMS_FILE => Expect::Exactly(vec![BUNDLE_SUMS_MISMATCH]),
        _ if envelope_equivalent(&reference.envelope, edited) => Expect::Accepted,
        _ if Envelope::parse(edited, &Default::default()).is_err() => {
            Expect::Exactly(vec![BUNDLE_ENVELOPE_INVALID])
        }
        _ => Expect::Includes(vec![BUNDLE_SIGNATURE_INVALID]),
    }
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

/// One mutation: its name, what it does to a copy of the bundle folder, and what the folder
/// and (if it has one) the archive form must then produce.
struct Mutation {
    name: String,
    apply: Box<dyn Fn(&Path)>,
    dir: Expect,
    archive: Option<Expect>,
}

fn flip(bytes: &[u8], e: &Edit) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = e.at.index(out.len());
    out[at] ^= e.xor;
    out
}

fn truncate(bytes: &[u8], e: &Edit) -> Vec<u8> {
    bytes[..e.cut.index(bytes.len())].to_vec()
}

fn append(bytes: &[u8], e: &Edit) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(&e.extra);
    out
}

fn with_suffix(path: &str, suffix: &str) -> String {
    format!("{path}{suffix}")
}

/// Folders a planted file or folder can go into: the root, payload/ and its sub-folders.
fn folders(case: &Case) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::from([String::new(), "payload/".to_owned()]);
    for path in case.files.keys() {
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        let mut prefix = "payload/".to_owned();
        for p in parts {
            prefix.push_str(p);
            prefix.push('/');
            out.insert(prefix.clone());
        }
    }
    out.into_iter().collect()
}

fn write_envelope(dir: &Path, envelope: &Envelope) {
    fs::write(dir.join(ENVELOPE_FILE), envelope.to_json_bytes()).unwrap();
}

/// Every mutation of the main matrix for one case, with its expectations.
fn mutations(case: &Case, reference: &Reference, outside: &Path) -> Vec<Mutation> {
    let mut out = Vec::new();
    let metadata = [
        (MANIFEST_FILE, &reference.manifest),
        (SUMS_FILE, &reference.sums),
        (ENVELOPE_FILE, &reference.envelope),
    ];
    // 1-15: flip, truncate, append, delete, rename each metadata file.
    for (i, (name, original)) in metadata.into_iter().enumerate() {
        let e = &case.edits[i];
        for (how, edited) in [
            ("flip a byte of", flip(original, e)),
            ("truncate", truncate(original, e)),
            ("append to", append(original, e)),
        ] {
            let expect = metadata_expect(name, reference, &edited);
            out.push(Mutation {
                name: format!("{how} {name}"),
                apply: Box::new(move |d| fs::write(d.join(name), &edited).unwrap()),
                dir: expect.clone(),
                archive: Some(expect),
            });
        }
        let (dir_delete, archive_delete, dir_rename, archive_rename) = match name {
            MANIFEST_FILE => (
                Expect::Includes(vec![BUNDLE_LAYOUT_INVALID]),
                // The archive then starts with another entry.
                Expect::Includes(vec![BUNDLE_ARCHIVE_INVALID]),
                Expect::Includes(vec![BUNDLE_LAYOUT_INVALID, BUNDLE_FILE_UNLISTED]),
                Expect::Includes(vec![BUNDLE_ARCHIVE_INVALID]),
            ),
            SUMS_FILE => (
                Expect::Exactly(vec![BUNDLE_LAYOUT_INVALID]),
                Expect::Exactly(vec![BUNDLE_ARCHIVE_INVALID]),
                Expect::Exactly(vec![BUNDLE_LAYOUT_INVALID, BUNDLE_FILE_UNLISTED]),
                Expect::Exactly(vec![BUNDLE_ARCHIVE_INVALID]),
            ),
            _ => (
                Expect::Exactly(vec![BUNDLE_SIGNATURE_MISSING]),
                Expect::Exactly(vec![BUNDLE_SIGNATURE_MISSING]),
                Expect::Exactly(vec![BUNDLE_SIGNATURE_MISSING, BUNDLE_FILE_UNLISTED]),
                Expect::Exactly(vec![BUNDLE_SIGNATURE_MISSING, BUNDLE_FILE_UNLISTED]),
            ),
        };
        out.push(Mutation {
            name: format!("delete {name}"),
            apply: Box::new(move |d| fs::remove_file(d.join(name)).unwrap()),
            dir: dir_delete,
            archive: Some(archive_delete),
        });
        out.push(Mutation {
            name: format!("rename {name}"),
            apply: Box::new(move |d| {
                fs::rename(d.join(name), d.join(with_suffix(name, ".renamed"))).unwrap()
            }),
            dir: dir_rename,
            archive: Some(archive_rename),
        });
    }

    // 16-20: the same on a payload file.
    let paths: Vec<String> = case.files.keys().map(|p| format!("payload/{p}")).collect();
    let non_empty: Vec<&String> = case
        .files
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(p, _)| p)
        .collect();
    let e = &case.edits[3];
    let edited = non_empty[case.picks[0].index(non_empty.len())];
    let original = case.files[edited].clone();
    let edited = format!("payload/{edited}");
    let mismatch = || Expect::Exactly(vec![BUNDLE_FILE_MISMATCH]);
    for (how, bytes) in [
        ("flip a byte of", flip(&original, e)),
        ("truncate", truncate(&original, e)),
    ] {
        let path = edited.clone();
        out.push(Mutation {
            name: format!("{how} {path}"),
            apply: Box::new(move |d| fs::write(d.join(&path), &bytes).unwrap()),
            dir: mismatch(),
            archive: Some(mismatch()),
        });
    }
    let any = paths[case.picks[1].index(paths.len())].clone();
    {
        let (path, extra) = (any.clone(), e.extra.clone());
        out.push(Mutation {
            name: format!("append to {path}"),
            apply: Box::new(move |d| {
                let mut bytes = fs::read(d.join(&path)).unwrap();
                bytes.extend_from_slice(&extra);
                fs::write(d.join(&path), bytes).unwrap();
            }),
            dir: mismatch(),
            archive: Some(mismatch()),
        });
    }
    {
        let path = any.clone();
        out.push(Mutation {
            name: format!("delete {path}"),
            apply: Box::new(move |d| fs::remove_file(d.join(&path)).unwrap()),
            dir: Expect::Exactly(vec![BUNDLE_FILE_MISSING]),
            archive: Some(Expect::Exactly(vec![BUNDLE_FILE_MISSING])),
        });
    }
    {
        let path = any.clone();
        let both = || Expect::Exactly(vec![BUNDLE_FILE_MISSING, BUNDLE_FILE_UNLISTED]);
        out.push(Mutation {
            name: format!("rename {path}"),
            apply: Box::new(move |d| {
                fs::rename(d.join(&path), d.join(with_suffix(&path, ".renamed"))).unwrap()
            }),
            dir: both(),
            archive: Some(both()),
        });
    }

    // 21-22: plant a file, plant an empty folder.
    let places = folders(case);
    {
        let path = format!(
            "{}{}.planted",
            places[case.picks[2].index(places.len())],
            case.new_name
        );
        let data = case.new_content.clone();
        out.push(Mutation {
            name: format!("plant {path}"),
            apply: Box::new(move |d| fs::write(d.join(&path), &data).unwrap()),
            dir: Expect::Exactly(vec![BUNDLE_FILE_UNLISTED]),
            archive: Some(Expect::Exactly(vec![BUNDLE_FILE_UNLISTED])),
        });
    }
    {
        let path = format!(
            "{}{}.d",
            places[case.picks[3].index(places.len())],
            case.new_name
        );
        out.push(Mutation {
            name: format!("plant empty folder {path}"),
            apply: Box::new(move |d| fs::create_dir(d.join(&path)).unwrap()),
            dir: Expect::Exactly(vec![BUNDLE_ENTRY_FORBIDDEN]),
            archive: Some(Expect::Exactly(vec![BUNDLE_ENTRY_FORBIDDEN])),
        });
    }

    // 23-25: hard links out of the bundle (no archive equivalent: tar would copy the
    // bytes), and a payload file replaced by a symlink to an identical copy outside.
    {
        let path = any.clone();
        let target = outside.join("payload-link");
        out.push(Mutation {
            name: format!("hard-link {path} from outside"),
            apply: Box::new(move |d| {
                let _ = fs::remove_file(&target);
                fs::hard_link(d.join(&path), &target).unwrap()
            }),
            dir: Expect::Exactly(vec![BUNDLE_ENTRY_FORBIDDEN]),
            archive: None,
        });
    }
    {
        let name = [MANIFEST_FILE, SUMS_FILE, ENVELOPE_FILE][case.picks[4].index(3)];
        let target = outside.join("metadata-link");
        out.push(Mutation {
            name: format!("hard-link {name} from outside"),
            apply: Box::new(move |d| {
                let _ = fs::remove_file(&target);
                fs::hard_link(d.join(name), &target).unwrap()
            }),
            dir: Expect::Exactly(vec![BUNDLE_ENTRY_FORBIDDEN]),
            archive: None,
        });
    }
    {
        let path = any.clone();
        let copy = outside.join("symlink-target");
        out.push(Mutation {
            name: format!("replace {path} by a symlink to an identical copy"),
            apply: Box::new(move |d| {
                fs::copy(d.join(&path), &copy).unwrap();
                fs::remove_file(d.join(&path)).unwrap();
                std::os::unix::fs::symlink(&copy, d.join(&path)).unwrap();
            }),
            dir: Expect::Exactly(vec![BUNDLE_ENTRY_FORBIDDEN, BUNDLE_FILE_MISSING]),
            // The stream stops at the link entry.
            archive: Some(Expect::Exactly(vec![BUNDLE_ENTRY_FORBIDDEN])),
        });
    }

    // 26-30: signatures.
    let manifest = reference.manifest.clone();
    let signers: Vec<PrivateKey> = (0..case.signers).map(key).collect();
    let signed_by =
        |keys: &[&PrivateKey]| Envelope::sign(dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST, &manifest, keys);
    let all: Vec<&PrivateKey> = signers.iter().collect();
    let mut sig_mutation = |name: &str, envelope: Envelope, expect: Expect| {
        out.push(Mutation {
            name: name.to_owned(),
            apply: Box::new(move |d| write_envelope(d, &envelope)),
            dir: expect.clone(),
            archive: Some(expect),
        });
    };
    sig_mutation(
        "envelope re-signed by a stranger",
        signed_by(&[&stranger()]),
        Expect::Exactly(vec![BUNDLE_SIGNER_UNTRUSTED]),
    );
    let mut forged = signed_by(&[&stranger()]);
    forged.signatures[0].keyid = key(0).public().key_id().to_string();
    sig_mutation(
        "stranger's signature labelled with a trusted key id",
        forged,
        Expect::Exactly(vec![BUNDLE_SIGNATURE_INVALID, BUNDLE_THRESHOLD_NOT_MET]),
    );
    let other_manifest = String::from_utf8(manifest.clone())
        .unwrap()
        .replace("3f2c1e9", "0000000");
    sig_mutation(
        "envelope replayed from another bundle",
        Envelope::sign(
            dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST,
            other_manifest.as_bytes(),
            &all,
        ),
        Expect::Exactly(vec![BUNDLE_SIGNATURE_INVALID]),
    );
    let mut stripped = signed_by(&all);
    stripped.signatures.truncate(case.threshold - 1);
    sig_mutation(
        "signatures stripped below the threshold",
        stripped,
        Expect::Exactly(vec![if case.threshold == 1 {
            BUNDLE_SIGNATURE_MISSING
        } else {
            BUNDLE_THRESHOLD_NOT_MET
        }]),
    );
    sig_mutation(
        "signed under another payload type",
        Envelope::sign(dsse::PAYLOAD_TYPE_SHA256SUMS, &manifest, &all),
        Expect::Exactly(vec![BUNDLE_SIGNATURE_INVALID]),
    );
    out
}

/// Raw edits of the packed archive: flip, truncate, append.
fn archive_byte_mutations(
    packed: &[u8],
    tar_bytes: &[u8],
    e: &Edit,
) -> Vec<(String, Vec<u8>, Expect)> {
    let flipped = flip(packed, e);
    let same_stream = {
        let mut rest: &[u8] = &flipped;
        let mut out = Vec::new();
        let decoded = flate2::bufread::GzDecoder::new(&mut rest)
            .read_to_end(&mut out)
            .is_ok();
        decoded && rest.is_empty() && out == tar_bytes
    };
    let at = e.at.index(packed.len());
    vec![
        (
            format!("flip byte {at} of the archive"),
            flipped,
            if same_stream {
                Expect::Accepted
            } else {
                // Whatever the corruption turns into, it is never accepted; which check
                // notices depends on where the damage decodes to.
                Expect::Includes(vec![])
            },
        ),
        (
            format!(
                "truncate the archive to {} bytes",
                e.cut.index(packed.len())
            ),
            truncate(packed, e),
            Expect::Includes(vec![BUNDLE_ARCHIVE_INVALID]),
        ),
        (
            format!("append {} bytes to the archive", e.extra.len()),
            append(packed, e),
            Expect::Includes(vec![BUNDLE_ARCHIVE_INVALID]),
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn reference_of(dir: &Path, opts: &VerifyOptions<'_>) -> Result<Reference, TestCaseError> {
    let v = verify_dir(dir, opts);
    prop_assert!(v.report.ok(), "{}", v.report.to_text(true));
    let bundle = v.bundle.unwrap().into_inner();
    Ok(Reference {
        id: bundle.id,
        signers: bundle.signers.iter().map(|s| s.key_id).collect(),
        manifest: fs::read(dir.join(MANIFEST_FILE)).unwrap(),
        sums: fs::read(dir.join(SUMS_FILE)).unwrap(),
        envelope: fs::read(dir.join(ENVELOPE_FILE)).unwrap(),
    })
}

/// A temporary folder, in memory when the machine has /dev/shm: every generated bundle is
/// built with fsync calls (the builder makes its output durable), which on a disk cost more
/// than all the verification the matrix does.
fn tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

fn fresh(root: &Path, n: usize) -> PathBuf {
    let dir = root.join(format!("m{n}"));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_mutation_of_a_bundle_is_detected_by_its_code() {
    let tamper_cases = AtomicUsize::new(0);
    let meaningless = AtomicUsize::new(0);
    let mtime = created_at_unix();
    let result = runner(CASES).run(&case(1, 1), |case| {
        let tmp = tempdir();
        let (base, outside) = (tmp.path().join("base"), tmp.path().join("outside"));
        fs::create_dir(&outside).unwrap();
        build_case(&case, &base);
        let policy = policy(case.signers, case.threshold);
        let opts = VerifyOptions {
            trust: Some(&policy),
            ..VerifyOptions::default()
        };
        let reference = reference_of(&base, &opts)?;
        let list = mutations(&case, &reference, &outside);
        prop_assert_eq!(list.len(), DIR_KINDS);
        let mut archive_count = 0;
        for (n, m) in list.iter().enumerate() {
            let dir = fresh(tmp.path(), n);
            copy_tree(&base, &dir).unwrap();
            (m.apply)(&dir);
            judge(&verify_dir(&dir, &opts), &m.dir, &reference, &m.name)?;
            tamper_cases.fetch_add(1, Ordering::Relaxed);
            if matches!(m.dir, Expect::Accepted) {
                meaningless.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(expect) = &m.archive {
                let packed = tmp.path().join(format!("m{n}.tar.gz"));
                fs::write(&packed, tar::bundle_archive(&dir, mtime).unwrap()).unwrap();
                let what = format!("{} (archive)", m.name);
                judge(
                    &archive::verify_archive(&packed, &opts),
                    expect,
                    &reference,
                    &what,
                )?;
                tamper_cases.fetch_add(1, Ordering::Relaxed);
                archive_count += 1;
            }
            fs::remove_dir_all(&dir).unwrap();
        }
        // Raw bytes of the good archive.
        let packed = tar::bundle_archive(&base, mtime).unwrap();
        let tar_bytes = tar::gunzip(&packed).unwrap();
        for (what, bytes, expect) in archive_byte_mutations(&packed, &tar_bytes, &case.edits[4]) {
            let path = tmp.path().join("raw.tar.gz");
            fs::write(&path, &bytes).unwrap();
            judge(
                &archive::verify_archive(&path, &opts),
                &expect,
                &reference,
                &what,
            )?;
            tamper_cases.fetch_add(1, Ordering::Relaxed);
            if matches!(expect, Expect::Accepted) {
                meaningless.fetch_add(1, Ordering::Relaxed);
            }
            archive_count += 1;
        }
        prop_assert_eq!(archive_count, ARCHIVE_KINDS);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let total = tamper_cases.load(Ordering::Relaxed);
    eprintln!(
        "tamper matrix: {total} mutated bundles verified ({} meaningless edits of unsigned metadata or the gzip header, accepted)",
        meaningless.load(Ordering::Relaxed)
    );
    assert_eq!(total, CASES as usize * (DIR_KINDS + ARCHIVE_KINDS));
}

#[test]
fn duplicates_strangers_and_relabels_never_reach_a_threshold() {
    // Thresholds of 2 or more: the signers that should count are one short, and the missing
    // signature is faked four ways.
    let tamper_cases = AtomicUsize::new(0);
    let mtime = created_at_unix();
    let result = runner(THRESHOLD_CASES).run(&case(2, 2), |case| {
        let tmp = tempdir();
        let base = tmp.path().join("base");
        build_case(&case, &base);
        let policy = policy(case.signers, case.threshold);
        let opts = VerifyOptions {
            trust: Some(&policy),
            ..VerifyOptions::default()
        };
        let reference = reference_of(&base, &opts)?;
        let t = case.threshold;
        let present: Vec<PrivateKey> = (0..t - 1).map(key).collect();
        let present: Vec<&PrivateKey> = present.iter().collect();
        let short = Envelope::sign(
            dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST,
            &reference.manifest,
            &present,
        );
        let first = short.signatures[0].clone();

        let mut duplicated = short.clone();
        while duplicated.signatures.len() < t {
            duplicated.signatures.push(first.clone());
        }
        let mut anonymous = short.clone();
        let mut unlabelled = first.clone();
        unlabelled.keyid = String::new();
        anonymous.signatures.push(unlabelled);
        let mut with_stranger = short.clone();
        with_stranger.add_signature(&stranger());
        let mut claimed = short.clone();
        let mut fake = first.clone();
        fake.keyid = key(t - 1).public().key_id().to_string();
        claimed.signatures.push(fake);

        let not_met = || Expect::Exactly(vec![BUNDLE_THRESHOLD_NOT_MET]);
        let cases = [
            (
                "a trusted signature repeated",
                duplicated,
                not_met(),
                BUNDLE_SIGNATURE_DUPLICATE,
            ),
            (
                "a trusted signature repeated without key id",
                anonymous,
                not_met(),
                BUNDLE_SIGNATURE_DUPLICATE,
            ),
            (
                "a stranger's signature added",
                with_stranger,
                not_met(),
                BUNDLE_SIGNER_UNTRUSTED,
            ),
            (
                // The key id is a hint: the copy verifies with the first key, already counted.
                "a trusted signature relabelled as the missing signer's",
                claimed,
                not_met(),
                BUNDLE_SIGNATURE_DUPLICATE,
            ),
        ];
        for (n, (what, envelope, expect, reported)) in cases.into_iter().enumerate() {
            let dir = fresh(tmp.path(), n);
            copy_tree(&base, &dir).unwrap();
            write_envelope(&dir, &envelope);
            let packed = tmp.path().join(format!("m{n}.tar.gz"));
            fs::write(&packed, tar::bundle_archive(&dir, mtime).unwrap()).unwrap();
            for v in [
                verify_dir(&dir, &opts),
                archive::verify_archive(&packed, &opts),
            ] {
                judge(&v, &expect, &reference, what)?;
                // The faked signature is named in the report, not silently dropped.
                prop_assert!(v.report.has(reported), "{what}: {}", v.report.to_text(true));
                tamper_cases.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let total = tamper_cases.load(Ordering::Relaxed);
    eprintln!("threshold matrix: {total} mutated bundles verified");
    assert_eq!(total, THRESHOLD_CASES as usize * THRESHOLD_KINDS);
}

/// Every file and folder below `dir` with its bytes.
fn tree_bytes(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let data = e.file_type().is_file().then(|| fs::read(e.path()).unwrap());
            (rel, data)
        })
        .collect()
}

#[test]
fn unmutated_bundles_verify_and_round_trip_byte_for_byte() {
    let mtime = created_at_unix();
    let result = runner(ROUND_TRIP_CASES).run(&case(1, 1), |case| {
        let tmp = tempdir();
        let base = tmp.path().join("base");
        build_case(&case, &base);
        let policy = policy(case.signers, case.threshold);
        let opts = VerifyOptions {
            trust: Some(&policy),
            ..VerifyOptions::default()
        };
        let v = verify_dir(&base, &opts);
        prop_assert!(v.report.ok(), "{}", v.report.to_text(true));
        prop_assert_eq!(v.report.summary().warn, 0);
        let id = v.bundle.unwrap().id;

        let packed = tmp.path().join("b.tar.gz");
        prop_assert_eq!(archive::pack(&base, &packed).unwrap(), id);
        let bytes = fs::read(&packed).unwrap();
        // The independent writer agrees with pack on every byte.
        prop_assert_eq!(&tar::bundle_archive(&base, mtime).unwrap(), &bytes);
        let v = archive::verify_archive(&packed, &opts);
        prop_assert!(v.report.ok(), "{}", v.report.to_text(true));
        prop_assert_eq!(v.bundle.unwrap().id, id);

        let out = tmp.path().join("unpacked");
        let v = archive::unpack(&packed, &out, &opts).unwrap();
        prop_assert!(v.report.ok());
        prop_assert_eq!(tree_bytes(&out), tree_bytes(&base));
        let again = tmp.path().join("again.tar.gz");
        archive::pack(&out, &again).unwrap();
        prop_assert_eq!(fs::read(&again).unwrap(), bytes);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn meaningless_envelope_edits_are_accepted_and_checksum_edits_are_not() {
    // The envelope is not signed (co-signing changes it without changing the bundle), so
    // edits that readers cannot tell apart verify. Each is pinned here so that a change of
    // that policy is a decision, not an accident. Everything else the matrix above tries is
    // refused.
    let tmp = tempdir();
    let files: BTreeMap<String, Vec<u8>> =
        BTreeMap::from([("logs/app.log".to_owned(), b"GET /health 200\n".to_vec())]);
    let base = tmp.path().join("base");
    build_tree(&files, 2, &base);
    let policy = policy(2, 2);
    let opts = VerifyOptions {
        trust: Some(&policy),
        ..VerifyOptions::default()
    };
    let reference = reference_of(&base, &opts).unwrap();
    let sums = String::from_utf8(reference.sums.clone()).unwrap();
    let envelope = String::from_utf8(reference.envelope.clone()).unwrap();
    let parsed = Envelope::parse(&reference.envelope, &Default::default()).unwrap();
    let url_safe = {
        // The same envelope with URL-safe base64 and no padding, key ids in upper case,
        // written compactly on one line.
        let b64 = |b: &[u8]| {
            dsse::encode_base64(b)
                .replace('+', "-")
                .replace('/', "_")
                .trim_end_matches('=')
                .to_owned()
        };
        let sigs: Vec<serde_json::Value> = parsed
            .signatures
            .iter()
            .map(|s| serde_json::json!({"keyid": s.keyid.to_uppercase(), "sig": b64(&s.sig)}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "payloadType": parsed.payload_type,
            "payload": b64(&parsed.payload),
            "signatures": sigs,
        }))
        .unwrap()
    };
    // Checksum-file edits that coreutils would read alike are refused all the same: the
    // file must be exactly the one the manifest implies, so `sha256sum -c` run alone checks
    // every file the manifest lists.
    let sums_edits: Vec<(&str, Vec<u8>)> = vec![
        (
            "SHA256SUMS with upper-case hex",
            sums.to_uppercase()
                .replace("PAYLOAD/LOGS/APP.LOG", "payload/logs/app.log")
                .replace("MANIFEST.JSON", "manifest.json")
                .into_bytes(),
        ),
        (
            "SHA256SUMS in GNU binary form",
            sums.replace("  ", " *").into_bytes(),
        ),
        (
            "SHA256SUMS with a comment and a blank line",
            format!("# checked by hand\n\n{sums}").into_bytes(),
        ),
    ];
    for (n, (what, bytes)) in sums_edits.into_iter().enumerate() {
        let dir = fresh(tmp.path(), 100 + n);
        copy_tree(&base, &dir).unwrap();
        fs::write(dir.join(SUMS_FILE), &bytes).unwrap();
        judge(
            &verify_dir(&dir, &opts),
            &Expect::Exactly(vec![BUNDLE_SUMS_MISMATCH]),
            &reference,
            what,
        )
        .unwrap();
    }
    let edits: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "envelope re-indented with tabs",
            ENVELOPE_FILE,
            envelope.replace("  ", "\t").into_bytes(),
        ),
        (
            "envelope in URL-safe base64, upper-case key ids, one line",
            ENVELOPE_FILE,
            url_safe,
        ),
    ];
    for (n, (what, name, bytes)) in edits.into_iter().enumerate() {
        assert!(
            matches!(metadata_expect(name, &reference, &bytes), Expect::Accepted),
            "{what}: the oracle disagrees"
        );
        let dir = fresh(tmp.path(), n);
        copy_tree(&base, &dir).unwrap();
        fs::write(dir.join(name), &bytes).unwrap();
        judge(
            &verify_dir(&dir, &opts),
            &Expect::Accepted,
            &reference,
            what,
        )
        .unwrap();
        let packed = tmp.path().join(format!("m{n}.tar.gz"));
        fs::write(
            &packed,
            tar::bundle_archive(&dir, created_at_unix()).unwrap(),
        )
        .unwrap();
        judge(
            &archive::verify_archive(&packed, &opts),
            &Expect::Accepted,
            &reference,
            what,
        )
        .unwrap();
    }
}
