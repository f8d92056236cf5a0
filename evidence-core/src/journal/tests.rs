use std::io::{self, Read};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;

use super::chain::{
    CheckpointBuilder, SEAL_KIND, SEAL_PAYLOAD_PATH, Seal, chain_start, chain_step,
    checkpoint_interval,
};
use super::lines::{LineReader, find_newline};
use super::seal::{
    AppendOptions, SealOptions, SealedJournal, check_append, check_append_reader, compute_seal,
    open_seal, seal,
};
use super::*;
use crate::Verified;
use crate::bundle::{BundleId, BundleLimits};
use crate::digest::Sha256Digest;
use crate::keys::{PrivateKey, TrustPolicy};
use crate::report::codes::{INPUT_TOO_LARGE, INPUT_UNREADABLE};

fn verify(bytes: &[u8]) -> Report {
    verify_reader(bytes, "j.jsonl", &JournalOptions::default()).report
}

fn verify_with(bytes: &[u8], opts: &JournalOptions) -> Report {
    verify_reader(bytes, "j.jsonl", opts).report
}

fn unique(keys: &[&str]) -> JournalOptions {
    JournalOptions {
        unique_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        ..JournalOptions::default()
    }
}

/// The one failing bad-line check: its code, line and byte offset.
fn first_bad(report: &Report) -> (String, u64, u64) {
    let bad: Vec<&Check> = report
        .failures()
        .filter(|c| c.code.starts_with("journal-line-") || c.code == "journal-unique-key-duplicate")
        .collect();
    assert_eq!(bad.len(), 1, "{:#}", report.to_json_value());
    let c = bad[0];
    (
        c.code.to_string(),
        c.line.unwrap(),
        c.data["offset"].as_u64().unwrap(),
    )
}

fn summary(report: &Report) -> &Check {
    report.with_code(JOURNAL_LINES_VERIFIED).next().unwrap()
}

const GOOD: &[u8] = b"{\"type\":\"deploy\",\"id\":1}\n{\"type\":\"heartbeat\",\"id\":2}\n{\"type\":\"deploy\",\"id\":3,\"x\":{\"y\":[1,2,{\"z\":null}]}}\n";

#[test]
fn a_good_journal_verifies_with_counts_per_type() {
    let r = verify(GOOD);
    assert!(r.ok(), "{}", r.to_text(true));
    let s = summary(&r);
    assert_eq!(s.status, Status::Pass);
    assert_eq!(s.data["lines"], 3);
    assert_eq!(s.data["good_lines"], 3);
    assert_eq!(s.data["bytes"], GOOD.len());
    assert_eq!(
        s.data["types"],
        serde_json::json!({"deploy": 2, "heartbeat": 1})
    );
    assert_eq!(s.data["untyped"], 0);
}

#[test]
fn type_counts_use_the_type_key_and_count_untyped_lines() {
    let j = b"{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n{\"kind\":\"a\"}\n{\"kind\":7}\n{\"other\":1}\n{\"kind\":\"\\u0061\"}\n";
    let r = verify(j);
    assert_eq!(summary(&r).data["untyped"], 6, "default type key is `type`");
    let opts = JournalOptions {
        type_key: "kind".into(),
        ..JournalOptions::default()
    };
    let r = verify_with(j, &opts);
    let s = summary(&r);
    assert_eq!(s.data["types"], serde_json::json!({"a": 3, "b": 1}));
    assert_eq!(
        s.data["untyped"], 2,
        "a number and a missing member are untyped"
    );
    assert_eq!(s.data["type_key"], "kind");
}

#[test]
fn too_many_types_are_counted_together() {
    let mut j = String::new();
    for i in 0..(MAX_TYPES + 5) {
        j.push_str(&format!("{{\"type\":\"t{i}\"}}\n"));
    }
    j.push_str(&format!(
        "{{\"type\":\"{}\"}}\n",
        "x".repeat(MAX_TYPE_NAME_BYTES + 1)
    ));
    let r = verify(j.as_bytes());
    assert!(r.ok());
    let s = summary(&r);
    assert_eq!(s.data["types"].as_object().unwrap().len(), MAX_TYPES);
    assert_eq!(s.data["other_types"], 6);
}

#[test]
fn crlf_lines_verify() {
    let j = b"{\"type\":\"a\"}\r\n{\"type\":\"b\"}\r\n";
    let r = verify(j);
    assert!(r.ok(), "{}", r.to_text(true));
    assert_eq!(summary(&r).data["lines"], 2);
    assert_eq!(summary(&r).data["bytes"], j.len());
}

#[test]
fn an_empty_journal_fails() {
    let r = verify(b"");
    assert!(!r.ok());
    let s = summary(&r);
    assert_eq!(s.status, Status::Fail);
    assert_eq!(s.data["lines"], 0);
}

#[test]
fn a_journal_of_only_bad_lines_fails_its_summary_too() {
    let r = verify(b"[]\n");
    assert_eq!(summary(&r).status, Status::Fail);
    assert_eq!(first_bad(&r).0, "journal-line-not-object");
}

#[test]
fn truncated_last_line_is_reported_at_its_line_and_offset() {
    let j = b"{\"a\":1}\n{\"a\":2}\n{\"a\":";
    let r = verify(j);
    assert!(!r.ok());
    assert_eq!(first_bad(&r), ("journal-line-truncated".into(), 3, 16));
    // Ending inside a multi-byte character is a truncation too, not bad UTF-8.
    let r = verify(b"{\"a\":1}\n{\"a\":\"caf\xc3");
    assert_eq!(first_bad(&r), ("journal-line-truncated".into(), 2, 8));
    // A complete last line without a newline verifies, with a warning.
    let r = verify(b"{\"a\":1}\n{\"a\":2}");
    assert!(r.ok(), "{}", r.to_text(true));
    let warn = r.with_code(JOURNAL_FINAL_NEWLINE_MISSING).next().unwrap();
    assert_eq!((warn.status, warn.line), (Status::Warn, Some(2)));
    // A cut-off line in the middle (the writer crashed, then another appended) is not JSON.
    let r = verify(b"{\"a\":1}\n{\"a\":\n{\"a\":3}\n");
    assert_eq!(first_bad(&r), ("journal-line-not-json".into(), 2, 8));
}

#[test]
fn invalid_utf8_is_reported_with_its_column() {
    let j = b"{\"a\":1}\n{\"a\":\"\xff\"}\n{\"a\":3}\n";
    let r = verify(j);
    assert_eq!(first_bad(&r), ("journal-line-not-utf8".into(), 2, 8));
    let c = r.with_code(JOURNAL_LINE_NOT_UTF8).next().unwrap();
    assert_eq!(c.data["column"], 7);
    assert_eq!(summary(&r).data["good_lines"], 2);
}

#[test]
fn values_that_are_not_objects_are_reported() {
    for (line, found) in [
        ("[1,2]", "array"),
        ("\"text\"", "string"),
        ("42", "number"),
        ("true", "boolean"),
        ("null", "null"),
    ] {
        let j = format!("{{}}\n{line}\n");
        let r = verify(j.as_bytes());
        assert_eq!(
            first_bad(&r),
            ("journal-line-not-object".into(), 2, 3),
            "{line}"
        );
        let c = r.with_code(JOURNAL_LINE_NOT_OBJECT).next().unwrap();
        assert!(c.detail.contains(found), "{}", c.detail);
    }
}

#[test]
fn lines_that_are_not_json_are_reported() {
    for line in [
        "{\"a\":}",
        "{\"a\":1",
        "",
        "   ",
        "{\"a\":1}{\"b\":2}",
        "{\"a\":1} x",
        "\u{feff}{}",
        "{'a':1}",
        "{\"a\":NaN}",
        "{\"a\":1e400}",
        "[1",
    ] {
        let j = format!("{{\"ok\":true}}\n{line}\n{{\"ok\":true}}\n");
        let r = verify(j.as_bytes());
        assert_eq!(
            first_bad(&r),
            ("journal-line-not-json".into(), 2, 12),
            "{line:?}: {}",
            r.to_text(true)
        );
    }
}

#[test]
fn nesting_beyond_the_limit_is_not_json() {
    let deep = format!("{{\"a\":{}1{}}}\n", "[".repeat(70), "]".repeat(70));
    let r = verify(deep.as_bytes());
    assert_eq!(first_bad(&r).0, "journal-line-not-json");
    let ok = format!("{{\"a\":{}1{}}}\n", "[".repeat(63), "]".repeat(63));
    assert!(verify(ok.as_bytes()).ok(), "64 levels are allowed");
    // The unique-key path builds values under the same limit.
    let r = verify_with(deep.replace("\"a\"", "\"id\"").as_bytes(), &unique(&["id"]));
    assert_eq!(first_bad(&r).0, "journal-line-not-json");
}

#[test]
fn duplicate_member_names_are_refused_at_any_depth() {
    for line in [
        r#"{"a":1,"a":2}"#,
        r#"{"a":1,"\u0061":2}"#,
        r#"{"x":{"b":1,"c":2,"b":3}}"#,
        r#"{"x":[{"k":1},{"k":1,"k":2}]}"#,
        r#"{"id":{"b":1,"b":2}}"#,
        r#"{"type":"a","type":"b"}"#,
    ] {
        let j = format!("{{}}\n{line}\n");
        let r = verify_with(j.as_bytes(), &unique(&["id"]));
        assert_eq!(
            first_bad(&r),
            ("journal-line-duplicate-member".into(), 2, 3),
            "{line}"
        );
    }
    // Many members switch to a set; the rule still holds.
    let mut big: Vec<String> = (0..100).map(|i| format!("\"m{i}\":{i}")).collect();
    let ok = format!("{{{}}}\n", big.join(","));
    assert!(verify(ok.as_bytes()).ok());
    big.push("\"m7\":0".into());
    let dup = format!("{{{}}}\n", big.join(","));
    let r = verify(dup.as_bytes());
    let c = r.with_code(JOURNAL_LINE_DUPLICATE_MEMBER).next().unwrap();
    assert!(c.detail.contains("m7"), "{}", c.detail);
}

#[test]
fn a_repeated_unique_key_is_reported_with_the_first_line() {
    let j = b"{\"idempotency_key\":\"k1\"}\n{\"idempotency_key\":\"k2\"}\n{\"idempotency_key\":\"k1\"}\n{\"idempotency_key\":\"k2\"}\n";
    let r = verify_with(j, &unique(&["idempotency_key"]));
    assert!(!r.ok());
    assert_eq!(
        first_bad(&r),
        ("journal-unique-key-duplicate".into(), 3, 50)
    );
    let c = r.with_code(JOURNAL_UNIQUE_KEY_DUPLICATE).next().unwrap();
    assert_eq!(c.data["key"], "idempotency_key");
    assert_eq!(c.data["first_line"], 1);
    assert_eq!(c.data["more_bad_lines"], 1);
    let s = summary(&r);
    assert_eq!(s.data["unique_keys"]["idempotency_key"]["distinct"], 2);
    assert_eq!(s.data["unique_keys"]["idempotency_key"]["repeated"], 2);
    assert_eq!(s.data["bad_by_code"]["journal-unique-key-duplicate"], 2);
    // Without --unique-key the same journal is fine.
    assert!(verify(j).ok());
}

#[test]
fn unique_values_compare_canonically() {
    let same = [
        (r#"{"id":1}"#, r#"{"id":1.0}"#),
        (r#"{"id":"a"}"#, r#"{"id":"\u0061"}"#),
        (r#"{"id":{"x":1,"y":2}}"#, r#"{"id":{"y":2,"x":1}}"#),
        (r#"{"id":[1,"a"]}"#, r#"{"id":[1e0,"a"]}"#),
        (r#"{"id":100}"#, r#"{"id":1e2}"#),
    ];
    for (a, b) in same {
        let j = format!("{a}\n{b}\n");
        let r = verify_with(j.as_bytes(), &unique(&["id"]));
        assert_eq!(first_bad(&r).0, "journal-unique-key-duplicate", "{a} {b}");
    }
    let different = [
        (r#"{"id":1}"#, r#"{"id":"1"}"#),
        (r#"{"id":9007199254740993}"#, r#"{"id":9007199254740992}"#),
        (r#"{"id":[1,2]}"#, r#"{"id":[2,1]}"#),
        (r#"{"id":true}"#, r#"{"id":"true"}"#),
        (r#"{"id":1}"#, r#"{"other":1}"#),
    ];
    for (a, b) in different {
        let j = format!("{a}\n{b}\n");
        let r = verify_with(j.as_bytes(), &unique(&["id"]));
        assert!(r.ok(), "{a} {b}: {}", r.to_text(true));
    }
}

#[test]
fn unique_keys_are_tracked_separately() {
    let j = b"{\"id\":1,\"key\":1}\n{\"id\":2,\"key\":2}\n{\"id\":3,\"key\":1}\n";
    assert!(verify_with(j, &unique(&["id"])).ok());
    let r = verify_with(j, &unique(&["id", "key"]));
    assert_eq!(
        first_bad(&r),
        ("journal-unique-key-duplicate".into(), 3, 34)
    );
    // The same value under two keys is no repeat.
    assert!(
        verify_with(
            b"{\"id\":1,\"key\":2}\n{\"id\":2,\"key\":1}\n",
            &unique(&["id", "key"])
        )
        .ok()
    );
}

#[test]
fn the_type_member_can_also_be_a_unique_key() {
    let opts = JournalOptions {
        unique_keys: vec!["kind".into()],
        type_key: "kind".into(),
        ..JournalOptions::default()
    };
    let r = verify_with(b"{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n", &opts);
    assert!(r.ok(), "{}", r.to_text(true));
    assert_eq!(
        summary(&r).data["types"],
        serde_json::json!({"a": 1, "b": 1})
    );
    let r = verify_with(b"{\"kind\":\"a\"}\n{\"kind\":\"a\"}\n", &opts);
    assert_eq!(
        first_bad(&r),
        ("journal-unique-key-duplicate".into(), 2, 13)
    );
}

#[test]
fn a_unique_key_no_line_has_fails() {
    let r = verify_with(GOOD, &unique(&["idempotency_kye"]));
    assert!(!r.ok());
    let c = r.with_code(JOURNAL_UNIQUE_KEY_ABSENT).next().unwrap();
    assert_eq!(c.data["key"], "idempotency_kye");
    let r = verify_with(b"{\"id\":null}\n", &unique(&["id"]));
    assert!(r.has(JOURNAL_UNIQUE_KEY_ABSENT), "null counts as absent");
}

#[test]
fn the_unique_value_limit_is_a_clear_failure() {
    let opts = JournalOptions {
        unique_keys: vec!["id".into()],
        limits: JournalLimits {
            max_unique_values: 2,
            ..JournalLimits::default()
        },
        ..JournalOptions::default()
    };
    let r = verify_with(b"{\"id\":1}\n{\"id\":2}\n{\"id\":1}\n{\"id\":3}\n", &opts);
    let c = r.with_code(INPUT_TOO_LARGE).next().unwrap();
    assert_eq!((c.status, c.line), (Status::Fail, Some(4)));
    assert_eq!(
        first_bad(&r).1,
        3,
        "values already tracked still catch repeats"
    );
}

#[test]
fn over_long_lines_are_measured_and_skipped() {
    let opts = JournalOptions {
        limits: JournalLimits {
            max_line_bytes: 16,
            ..JournalLimits::default()
        },
        ..JournalOptions::default()
    };
    let j = b"{\"a\":1}\n{\"a\":\"0123456789\"}\n{\"a\":3}\n{\"b\":\"0123456789abcdef\"}";
    let r = verify_with(j, &opts);
    assert_eq!(first_bad(&r), ("journal-line-too-long".into(), 2, 8));
    let c = r.with_code(JOURNAL_LINE_TOO_LONG).next().unwrap();
    assert!(c.detail.contains("18 bytes"), "{}", c.detail);
    assert_eq!(c.data["more_bad_lines"], 1);
    let s = summary(&r);
    assert_eq!(
        (s.data["lines"].as_u64(), s.data["good_lines"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(s.data["bytes"], j.len());
    // Exactly at the limit is fine; CR counts, LF does not.
    let at = format!("{{\"a\":\"{}\"}}\r\n", "x".repeat(7));
    assert_eq!(at.len(), 17);
    assert!(verify_with(at.as_bytes(), &opts).ok());
}

#[test]
fn a_huge_line_streams_past_in_bounded_memory() {
    // 64 MiB without a newline, then a good line: never buffered whole.
    let huge = io::repeat(b'x').take(64 << 20);
    let reader = huge.chain(&b"\n{\"a\":1}\n"[..]);
    let opts = JournalOptions {
        limits: JournalLimits {
            max_line_bytes: 1 << 20,
            ..JournalLimits::default()
        },
        ..JournalOptions::default()
    };
    let v = verify_reader(reader, "huge", &opts);
    assert_eq!(first_bad(&v.report), ("journal-line-too-long".into(), 1, 0));
    assert_eq!(v.lines, 2);
    assert_eq!(v.bytes, (64 << 20) + 9);
}

#[test]
fn bad_lines_after_the_first_are_counted() {
    let j = b"{}\n[]\nnope\n{\"a\":1,\"a\":1}\n{}\n";
    let r = verify(j);
    assert_eq!(first_bad(&r), ("journal-line-not-object".into(), 2, 3));
    let c = r.failures().find(|c| c.line == Some(2)).unwrap();
    assert_eq!(c.data["more_bad_lines"], 2);
    assert!(c.detail.contains("2 more bad lines"), "{}", c.detail);
    let s = summary(&r);
    assert_eq!(s.status, Status::Pass, "good lines were verified");
    assert_eq!(s.data["bad_lines"], 3);
}

#[test]
fn unreadable_input_is_reported() {
    let v = verify_path(
        Path::new("/nonexistent/journal.jsonl"),
        &JournalOptions::default(),
    );
    assert!(v.report.has(INPUT_UNREADABLE));
    assert!(!v.report.ok());

    struct Broken(usize);
    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            let line = b"{}\n";
            buf[..3].copy_from_slice(line);
            Ok(3)
        }
    }
    let v = verify_reader(Broken(2), "broken", &JournalOptions::default());
    let c = v.report.with_code(INPUT_UNREADABLE).next().unwrap();
    assert_eq!(c.data["offset"], 6);
    assert!(!v.report.ok());
}

#[test]
fn options_are_checked() {
    assert!(unique(&["id", "id"]).check().is_err());
    assert!(unique(&[""]).check().is_err());
    let many: Vec<String> = (0..=MAX_UNIQUE_KEYS).map(|i| format!("k{i}")).collect();
    let opts = JournalOptions {
        unique_keys: many,
        ..JournalOptions::default()
    };
    assert_eq!(opts.check(), Err(OptionsError::TooManyKeys));
    assert!(unique(&["id"]).check().is_ok());
}

/// A reader that hands out at most `step` bytes per call.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(self.1).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn collect_lines(data: &[u8], step: usize, max: usize) -> Vec<(u64, u64, bool, Option<Vec<u8>>)> {
    let mut reader = LineReader::new(Trickle(data, step), max, true);
    let mut out = Vec::new();
    while let Some(line) = reader.next_line().unwrap() {
        assert_eq!(
            line.digest.unwrap(),
            *Sha256Digest::of(&data[line.offset as usize..(line.offset + line.len) as usize])
                .as_bytes()
        );
        out.push((
            line.offset,
            line.len,
            line.newline,
            line.content.map(<[u8]>::to_vec),
        ));
    }
    out
}

fn naive_lines(data: &[u8], max: usize) -> Vec<(u64, u64, bool, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while offset < data.len() {
        let rest = &data[offset..];
        let (content, newline) = match rest.iter().position(|&b| b == b'\n') {
            Some(p) => (&rest[..p], true),
            None => (rest, false),
        };
        let len = content.len() + usize::from(newline);
        let kept = (content.len() <= max).then(|| content.to_vec());
        out.push((offset as u64, len as u64, newline, kept));
        offset += len;
    }
    out
}

proptest! {
    #[test]
    fn find_newline_agrees_with_a_plain_search(
        hay in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\x8a'), Just(b'\x0b'), any::<u8>()], 0..100)
    ) {
        prop_assert_eq!(find_newline(&hay), hay.iter().position(|&b| b == b'\n'));
    }

    #[test]
    fn line_reader_splits_like_a_plain_split(
        data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), Just(b'{')], 0..400),
        step in 1usize..70,
        max in 1usize..40,
    ) {
        prop_assert_eq!(collect_lines(&data, step, max), naive_lines(&data, max));
    }

    #[test]
    fn verification_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = verify_with(&data, &unique(&["id"]));
    }
}

// ---- the chain, checkpoints and seal.json ----

#[test]
fn the_chain_is_as_documented() {
    // h_0 = SHA-256("evidence.journal/v1"); h_1 = SHA-256(h_0 || SHA-256("{}\n")).
    let h0 = *Sha256Digest::of(b"evidence.journal/v1").as_bytes();
    assert_eq!(chain_start(), h0);
    let mut input = h0.to_vec();
    input.extend_from_slice(Sha256Digest::of(b"{}\n").as_bytes());
    let h1 = *Sha256Digest::of(&input).as_bytes();
    assert_eq!(chain_step(&h0, Sha256Digest::of(b"{}\n").as_bytes()), h1);
    let (_, seal) = compute_seal(&b"{}\n"[..], "j", &JournalOptions::default());
    let seal = seal.unwrap();
    assert_eq!(seal.head, Sha256Digest::from_bytes(h1));
    assert_eq!(seal.checkpoints.len(), 1);
    assert_eq!(seal.checkpoints[0].byte_offset, 3);
}

proptest! {
    #[test]
    fn checkpoints_are_the_multiples_of_the_interval(lines in 0u64..40_000) {
        let mut b = CheckpointBuilder::new();
        for line in 1..=lines {
            b.record(line, line * 3, &[0; 32]);
        }
        let (interval, list) = b.finish();
        let expected = checkpoint_interval(lines);
        prop_assert!(lines == 0 || interval == expected);
        prop_assert!(list.len() as u64 <= MAX_CHECKPOINTS);
        let want: Vec<u64> = (1..=lines / expected).map(|k| k * expected).collect();
        let got: Vec<u64> = list.iter().map(|c| c.line).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn interval_examples() {
    assert_eq!(checkpoint_interval(1), 1);
    assert_eq!(checkpoint_interval(4096), 1);
    assert_eq!(checkpoint_interval(4097), 2);
    assert_eq!(checkpoint_interval(8193), 2);
    assert_eq!(checkpoint_interval(8194), 4);
    assert_eq!(checkpoint_interval(1 << 30), 1 << 18);
}

fn numbered(lines: u64) -> Vec<u8> {
    let mut j = Vec::new();
    for i in 1..=lines {
        let kind = ["deploy", "heartbeat", "claim"][(i % 3) as usize];
        j.extend_from_slice(
            format!("{{\"type\":\"{kind}\",\"seq\":{i},\"idempotency_key\":\"k-{i}\"}}\n")
                .as_bytes(),
        );
    }
    j
}

fn sealed(journal: &[u8]) -> Verified<SealedJournal> {
    let (report, seal) = compute_seal(journal, "events.jsonl", &JournalOptions::default());
    let seal = seal.unwrap_or_else(|| panic!("{}", report.to_text(true)));
    Verified::new(SealedJournal {
        bundle_id: BundleId(Sha256Digest::of(b"test")),
        seal,
    })
}

fn check(seal: &Verified<SealedJournal>, journal: &[u8]) -> Report {
    check_append_reader(seal, journal, "events.jsonl", &JournalOptions::default())
}

/// The interval a failing append check reports, and its code.
fn divergence(report: &Report) -> (String, u64, u64) {
    let c = report
        .failures()
        .find(|c| c.is(JOURNAL_HISTORY_REWRITTEN) || c.is(JOURNAL_TRUNCATED))
        .unwrap_or_else(|| panic!("{}", report.to_text(true)));
    (
        c.code.to_string(),
        c.data["from_line"].as_u64().unwrap(),
        c.data["to_line"].as_u64().unwrap(),
    )
}

/// Byte range of 1-based line `n`.
fn line_range(journal: &[u8], n: usize) -> std::ops::Range<usize> {
    let mut start = 0;
    for _ in 1..n {
        start += journal[start..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    let end = start + journal[start..].iter().position(|&b| b == b'\n').unwrap() + 1;
    start..end
}

#[test]
fn seal_json_round_trips_and_is_strict() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    assert_eq!(s.seal.lines, 20_000);
    assert_eq!(s.seal.checkpoint_interval, 8);
    assert_eq!(s.seal.checkpoints.len(), 2500);
    let bytes = s.seal.to_canonical_bytes().unwrap();
    assert_eq!(Seal::parse(&bytes).unwrap(), s.seal);

    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    v["checkpoint_interval"] = 16.into();
    let edited = crate::canonical::to_canonical_vec(&v).unwrap();
    assert!(
        Seal::parse(&edited).is_err(),
        "the interval is determined by the line count"
    );
    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    v["checkpoints"].as_array_mut().unwrap().remove(3);
    assert!(Seal::parse(&crate::canonical::to_canonical_vec(&v).unwrap()).is_err());
    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    v["extra"] = 1.into();
    assert!(Seal::parse(&crate::canonical::to_canonical_vec(&v).unwrap()).is_err());
    let pretty = serde_json::to_vec_pretty(&s.seal).unwrap();
    assert!(
        Seal::parse(&pretty).is_err(),
        "only the canonical form is accepted"
    );
}

#[test]
fn an_unchanged_journal_passes() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    let r = check(&s, &journal);
    assert!(r.ok(), "{}", r.to_text(true));
    let intact = r.with_code(JOURNAL_PREFIX_INTACT).next().unwrap();
    assert_eq!(intact.data["compared"], 2500);
    let appended = r.with_code(JOURNAL_APPENDED).next().unwrap();
    assert_eq!(appended.data["appended_lines"], 0);
    assert!(appended.detail.contains("nothing was appended"));
}

#[test]
fn appended_lines_pass_and_are_reported() {
    let journal = numbered(100);
    let s = sealed(&journal);
    let mut longer = journal.clone();
    longer.extend_from_slice(b"{\"type\":\"late\"}\n{\"type\":\"later\"}\n");
    let r = check(&s, &longer);
    assert!(r.ok(), "{}", r.to_text(true));
    let a = r.with_code(JOURNAL_APPENDED).next().unwrap();
    assert_eq!(a.data["appended_lines"], 2);
    assert_eq!(a.data["appended_bytes"], 33);
    assert_eq!(a.data["appended_valid"], true);

    // A bad appended line fails, and is located after the sealed part.
    let mut bad = journal.clone();
    bad.extend_from_slice(b"{\"type\":\"late\"}\nnot json\n");
    let r = check(&s, &bad);
    assert!(!r.ok());
    assert_eq!(
        first_bad(&r),
        (
            "journal-line-not-json".into(),
            102,
            (journal.len() + 16) as u64
        )
    );
    let a = r.with_code(JOURNAL_APPENDED).next().unwrap();
    assert_eq!(a.data["appended_valid"], false);
    assert!(r.has(JOURNAL_PREFIX_INTACT));

    // A writer caught mid-line: the appended part ends with a truncated line.
    let mut partial = journal.clone();
    partial.extend_from_slice(b"{\"type\":");
    let r = check(&s, &partial);
    assert_eq!(first_bad(&r).0, "journal-line-truncated");
}

#[test]
fn a_changed_byte_in_an_early_line_is_located() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    let mut edited = journal.clone();
    let range = line_range(&journal, 1234);
    edited[range.start + 10] = b'X';
    let r = check(&s, &edited);
    assert!(!r.ok());
    assert_eq!(
        divergence(&r),
        ("journal-history-rewritten".into(), 1233, 1240)
    );
    let c = r.with_code(JOURNAL_HISTORY_REWRITTEN).next().unwrap();
    assert!(
        c.detail.contains("between lines 1233 and 1240"),
        "{}",
        c.detail
    );
    assert_eq!(c.line, Some(1233));
    assert_ne!(c.data["expected_chain"], c.data["actual_chain"]);
}

#[test]
fn a_deleted_line_is_located() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    let mut edited = journal.clone();
    edited.drain(line_range(&journal, 17));
    assert_eq!(
        divergence(&check(&s, &edited)),
        ("journal-history-rewritten".into(), 17, 24)
    );
}

#[test]
fn an_inserted_line_is_located() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    let mut edited = journal.clone();
    let at = line_range(&journal, 9001).start;
    edited.splice(at..at, b"{\"type\":\"forged\"}\n".iter().copied());
    assert_eq!(
        divergence(&check(&s, &edited)),
        ("journal-history-rewritten".into(), 9001, 9008)
    );
}

#[test]
fn a_reordered_pair_is_located() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    let (a, b) = (line_range(&journal, 19_998), line_range(&journal, 19_999));
    let mut edited = journal[..a.start].to_vec();
    edited.extend_from_slice(&journal[b.clone()]);
    edited.extend_from_slice(&journal[a]);
    edited.extend_from_slice(&journal[b.end..]);
    assert_eq!(edited.len(), journal.len());
    assert_eq!(
        divergence(&check(&s, &edited)),
        ("journal-history-rewritten".into(), 19_993, 20_000)
    );
}

#[test]
fn a_change_in_the_last_interval_is_located_by_the_head() {
    let journal = numbered(4100);
    let s = sealed(&journal);
    assert_eq!(s.seal.checkpoint_interval, 2);
    assert_eq!(s.seal.checkpoints.last().unwrap().line, 4100);
    let journal = numbered(4101);
    let s = sealed(&journal);
    let mut edited = journal.clone();
    let r = line_range(&journal, 4101);
    edited[r.start + 3] = b'T';
    assert_eq!(
        divergence(&check(&s, &edited)),
        ("journal-history-rewritten".into(), 4101, 4101)
    );
}

#[test]
fn a_truncated_journal_fails() {
    let journal = numbered(20_000);
    let s = sealed(&journal);
    let cut = line_range(&journal, 15_000).end;
    let r = check(&s, &journal[..cut]);
    assert_eq!(divergence(&r), ("journal-truncated".into(), 15_001, 15_001));
    let c = r.with_code(JOURNAL_TRUNCATED).next().unwrap();
    assert_eq!(c.data["lines"], 15_000);
    // Every line left matches and the whole journal was read: the detail says only that.
    assert!(
        c.detail.ends_with("sealed lines are missing"),
        "{}",
        c.detail
    );
    // Cut mid-line: the partial line is also reported.
    let r = check(&s, &journal[..cut + 5]);
    assert_eq!(divergence(&r), ("journal-truncated".into(), 15_001, 15_002));
    assert_eq!(first_bad(&r).0, "journal-line-truncated");
    // Emptied.
    let r = check(&s, b"");
    assert_eq!(divergence(&r), ("journal-truncated".into(), 1, 1));
}

#[test]
fn sealing_refuses_a_journal_that_does_not_verify() {
    let opts = JournalOptions::default();
    for bad in [&b"{}\n[]\n"[..], b"{}\n{}", b"", b"{}\n{\"a\":"] {
        let (report, seal) = compute_seal(bad, "j", &opts);
        assert!(seal.is_none());
        assert!(!report.ok(), "{}", report.to_text(true));
    }
    let (report, _) = compute_seal(&b"{}\n{}"[..], "j", &opts);
    let c = report
        .with_code(JOURNAL_FINAL_NEWLINE_MISSING)
        .next()
        .unwrap();
    assert_eq!(c.status, Status::Fail, "sealing needs the final newline");
    let (_, seal) = compute_seal(&b"{\"id\":1}\n{\"id\":1}\n"[..], "j", &unique(&["id"]));
    assert!(seal.is_none(), "unique keys apply when sealing");
}

fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_seed(&[seed; 32])
}

fn trust(key: &PrivateKey) -> TrustPolicy {
    TrustPolicy::single("operator", key.public())
}

fn seal_to(dir: &Path, name: &str, journal: &[u8], signer: &PrivateKey) -> (PathBuf, PathBuf) {
    let path = dir.join("events.jsonl");
    std::fs::write(&path, journal).unwrap();
    let out = dir.join(name);
    let mut opts = SealOptions::new(vec![signer]);
    opts.created_at = crate::timestamp::Timestamp::from_unix(1_700_000_000);
    let outcome = seal(&path, &out, &opts).unwrap();
    assert!(outcome.report.ok(), "{}", outcome.report.to_text(true));
    assert!(outcome.report.has(JOURNAL_SEALED));
    assert!(outcome.sealed.is_some());
    (path, out)
}

#[test]
fn seal_bundles_verify_in_both_forms() {
    let operator = key(1);
    for name in ["events.seal", "events.seal.tar.gz"] {
        let dir = tempfile::tempdir().unwrap();
        let journal = numbered(50);
        let (path, out) = seal_to(dir.path(), name, &journal, &operator);
        assert_eq!(out.is_file(), name.ends_with(".tar.gz"));
        let opts = JournalOptions::default();
        let append = AppendOptions {
            trust: &trust(&operator),
            journal: &opts,
            bundle: BundleLimits::default(),
        };
        let r = check_append(&out, &path, &append);
        assert!(r.ok(), "{}", r.to_text(true));
        assert!(r.has(crate::bundle::codes::BUNDLE_THRESHOLD_MET));
        assert_eq!(r.subject["seal_id"].as_str().unwrap().len(), 71);
        let mut more = journal.clone();
        more.extend_from_slice(b"{\"type\":\"late\"}\n");
        std::fs::write(&path, &more).unwrap();
        let r = check_append(&out, &path, &append);
        assert!(r.ok());
        assert_eq!(
            r.with_code(JOURNAL_APPENDED).next().unwrap().data["appended_lines"],
            1
        );
        // Never overwritten.
        let again = seal(&path, &out, &SealOptions::new(vec![&operator]));
        assert!(matches!(again, Err(super::seal::SealError::Exists(_))));
    }
}

#[test]
fn the_seal_subject_records_the_journal() {
    let operator = key(1);
    let dir = tempfile::tempdir().unwrap();
    let journal = numbered(10);
    let (_, out) = seal_to(dir.path(), "s", &journal, &operator);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], SEAL_KIND);
    assert_eq!(manifest["subject"]["journal"], "events.jsonl");
    assert_eq!(manifest["subject"]["lines"], "10");
    assert_eq!(manifest["subject"]["bytes"], journal.len().to_string());
    let seal_json = std::fs::read(out.join(SEAL_PAYLOAD_PATH)).unwrap();
    let seal = Seal::parse(&seal_json).unwrap();
    assert_eq!(manifest["subject"]["chain_head"], seal.head.to_string());
}

#[test]
fn a_seal_signed_by_a_stranger_fails_with_the_bundle_codes() {
    let (operator, stranger) = (key(1), key(2));
    let dir = tempfile::tempdir().unwrap();
    let (path, out) = seal_to(dir.path(), "s", &numbered(10), &stranger);
    let opts = JournalOptions::default();
    let r = check_append(
        &out,
        &path,
        &AppendOptions {
            trust: &trust(&operator),
            journal: &opts,
            bundle: BundleLimits::default(),
        },
    );
    assert!(!r.ok());
    assert!(
        r.failures()
            .any(|c| c.is(crate::bundle::codes::BUNDLE_SIGNER_UNTRUSTED))
    );
    assert!(
        !r.has(JOURNAL_PREFIX_INTACT),
        "the journal is not compared to an untrusted seal"
    );
}

#[test]
fn a_tampered_seal_fails_with_the_bundle_codes() {
    let operator = key(1);
    let dir = tempfile::tempdir().unwrap();
    let journal = numbered(10);
    let (path, out) = seal_to(dir.path(), "s", &journal, &operator);
    // Rewrite seal.json for an edited journal, as an attacker without the key would.
    let mut edited = journal.clone();
    edited[5] = b'X';
    let (_, forged) = compute_seal(&edited[..], "events.jsonl", &JournalOptions::default());
    let forged = forged.unwrap();
    std::fs::write(
        out.join(SEAL_PAYLOAD_PATH),
        forged.to_canonical_bytes().unwrap(),
    )
    .unwrap();
    std::fs::write(&path, &edited).unwrap();
    let opts = JournalOptions::default();
    let append = AppendOptions {
        trust: &trust(&operator),
        journal: &opts,
        bundle: BundleLimits::default(),
    };
    let r = check_append(&out, &path, &append);
    assert!(
        r.failures()
            .any(|c| c.is(crate::bundle::codes::BUNDLE_FILE_MISMATCH))
    );
    assert!(!r.has(JOURNAL_PREFIX_INTACT));
}

#[test]
fn a_bundle_that_is_not_a_journal_seal_is_refused() {
    use crate::bundle::build::{self, BuildOptions, Input};
    let operator = key(1);
    let dir = tempfile::tempdir().unwrap();
    let journal = numbered(10);
    let (_, seal) = compute_seal(&journal[..], "events.jsonl", &JournalOptions::default());
    let seal_bytes = seal.unwrap().to_canonical_bytes().unwrap();
    let build_one = |name: &str, kind: &str, inputs: Vec<Input>, subject: &[(&str, &str)]| {
        let out = dir.path().join(name);
        let mut o = BuildOptions::new(kind);
        o.sign = vec![&operator];
        o.subject = subject
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        build::create(&out, &inputs, &o).unwrap();
        out
    };
    let bytes_input = |at: &str, bytes: &[u8]| Input::Bytes {
        at: at.to_owned(),
        bytes: bytes.to_vec(),
    };
    let cases = [
        build_one(
            "kind",
            "deployment",
            vec![bytes_input("seal.json", &seal_bytes)],
            &[],
        ),
        build_one(
            "extra",
            SEAL_KIND,
            vec![
                bytes_input("seal.json", &seal_bytes),
                bytes_input("x", b"x"),
            ],
            &[],
        ),
        build_one(
            "subject",
            SEAL_KIND,
            vec![bytes_input("seal.json", &seal_bytes)],
            &[("lines", "9")],
        ),
        build_one(
            "garbage",
            SEAL_KIND,
            vec![bytes_input("seal.json", b"{}")],
            &[],
        ),
    ];
    for out in cases {
        let (report, opened) = open_seal(&out, &trust(&operator), &BundleLimits::default());
        assert!(opened.is_none(), "{}", out.display());
        assert!(
            report.failures().any(|c| c.is(JOURNAL_SEAL_INVALID)),
            "{}",
            report.to_text(true)
        );
    }
}

// ---- properties of seal and check-append ----

fn arb_line() -> impl Strategy<Value = Vec<u8>> {
    ("[a-z]{1,6}", "[ -~]{0,24}", any::<u32>()).prop_map(|(t, s, n)| {
        serde_json::to_vec(&serde_json::json!({"type": t, "s": s, "n": n}))
            .map(|mut v| {
                v.push(b'\n');
                v
            })
            .unwrap()
    })
}

fn arb_journal(max: usize) -> impl Strategy<Value = Vec<u8>> {
    (1..max, any::<u64>()).prop_flat_map(|(n, _)| {
        proptest::collection::vec(arb_line(), n).prop_map(|lines| lines.concat())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_random_append_passes(
        journal in arb_journal(9000),
        append in proptest::collection::vec(arb_line(), 0..20),
    ) {
        let s = sealed(&journal);
        let mut longer = journal.clone();
        longer.extend(append.concat());
        let r = check(&s, &longer);
        prop_assert!(r.ok(), "{}", r.to_text(true));
        let a = r.with_code(JOURNAL_APPENDED).next().unwrap();
        prop_assert_eq!(a.data["appended_lines"].as_u64(), Some(append.len() as u64));
    }

    #[test]
    fn a_random_byte_change_is_caught_in_its_interval(
        journal in arb_journal(9000),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        append in proptest::collection::vec(arb_line(), 0..3),
    ) {
        let s = sealed(&journal);
        let at = at.index(journal.len());
        let changed_line = 1 + journal[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        let mut edited = journal.clone();
        edited[at] ^= flip;
        edited.extend(append.concat());
        let r = check(&s, &edited);
        prop_assert!(!r.ok());
        let (_, from, to) = divergence(&r);
        prop_assert!(from <= changed_line && changed_line <= to,
            "line {} changed, reported {}..{}", changed_line, from, to);
        prop_assert!(to - from < s.seal.checkpoint_interval);
    }
}

#[test]
fn opening_a_seal_applies_the_callers_bundle_limits() {
    let operator = key(1);
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = seal_to(dir.path(), "seal", &numbered(10), &operator);
    let (report, opened) = open_seal(&out, &trust(&operator), &BundleLimits::default());
    assert!(opened.is_some(), "{}", report.to_text(true));
    // seal.json is kept to be read after verification: a caller's lower limit refuses it.
    let tight = BundleLimits {
        max_capture_bytes: 16,
        ..BundleLimits::default()
    };
    let (report, opened) = open_seal(&out, &trust(&operator), &tight);
    assert!(opened.is_none());
    assert!(
        report
            .failures()
            .any(|c| c.is(crate::bundle::codes::BUNDLE_ARCHIVE_LIMIT)),
        "{}",
        report.to_text(true)
    );
}
