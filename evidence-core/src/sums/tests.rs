use super::codes::*;
use super::parse::PARSE_CHUNK;
use super::*;
use crate::hash::NoProgress;
use proptest::prelude::*;

/// A file of several parallel parsing chunks numbers lines, counts entries and applies
/// limits exactly as one sequential pass would.
#[test]
fn a_tagged_line_without_a_proper_algorithm_word_is_not_a_checksum_line() {
    let hex = "ab".repeat(32);
    for line in [
        format!("(app) = {hex}\n"),
        format!("SH@256 (app) = {hex}\n"),
    ] {
        let parsed = parse(line.as_bytes(), &SumsLimits::default()).unwrap();
        assert_eq!(
            parsed.bad_lines,
            vec![BadLine {
                line: 1,
                problem: LineProblem::Malformed("not a checksum line")
            }],
            "{line:?}"
        );
    }
}

#[test]
fn a_chunk_ends_at_the_first_line_end_past_the_chunk_size() {
    // Lines of 77 bytes after a first line padded so that a line ends one byte past the
    // chunk size: the cut must fall on that line end, not inside the line.
    let line = |n: usize, pad: usize| format!("{n:064x}  f{n:08}{}\n", "p".repeat(pad));
    let full = line(0, 0).len();
    let lines_before = (PARSE_CHUNK + 2 - full) / full;
    let pad = PARSE_CHUNK + 2 - full * (lines_before + 1);
    let mut text = line(0, pad);
    for n in 1..=lines_before + 10 {
        text.push_str(&line(n, 0));
    }
    assert_eq!(text.as_bytes()[PARSE_CHUNK + 1], b'\n');
    let parsed = parse(text.as_bytes(), &SumsLimits::default()).unwrap();
    assert!(parsed.bad_lines.is_empty());
    assert_eq!(parsed.entries.len(), lines_before + 11);
    for (n, e) in parsed.entries.iter().enumerate() {
        let pad = if n == 0 { pad } else { 0 };
        assert_eq!(e.name, format!("f{n:08}{}", "p".repeat(pad)));
        assert_eq!(e.line, n as u64 + 1);
    }
}

#[test]
fn large_files_parse_in_chunks_as_one_pass() {
    let lines = 25_000u64;
    let bad_at = 20_000u64;
    let mut text = String::new();
    for n in 1..=lines {
        if n == bad_at {
            text.push_str("not a checksum line\n");
        } else {
            text.push_str(&format!("{:064x}  file-{n:05}\n", n));
        }
    }
    assert!(text.len() > 3 * PARSE_CHUNK, "several chunks");
    let parsed = parse(text.as_bytes(), &SumsLimits::default()).unwrap();
    assert_eq!(parsed.entries.len() as u64, lines - 1);
    assert_eq!(parsed.bad_lines.len(), 1);
    assert_eq!(parsed.bad_lines[0].line, bad_at);
    for e in &parsed.entries {
        assert_eq!(
            e.name,
            format!("file-{:05}", e.line),
            "line numbers across chunks"
        );
    }
    assert_eq!(parsed.forms(), vec![LineForm::GnuText]);

    let len = text.len() as u64;
    let within = |max_bytes: u64, max_entries: usize| SumsLimits {
        max_bytes,
        max_entries,
        ..SumsLimits::default()
    };
    let entries = (lines - 1) as usize;
    assert!(parse(text.as_bytes(), &within(len, entries)).is_ok());
    assert_eq!(
        parse(text.as_bytes(), &within(len - 1, entries)),
        Err(SumsError::TooLarge { limit: len - 1 })
    );
    assert_eq!(
        parse(text.as_bytes(), &within(len, entries - 1)),
        Err(SumsError::TooManyEntries { limit: entries - 1 })
    );
}

#[test]
fn line_limit_is_inclusive_and_a_bare_dot_slash_is_kept() {
    let line = format!("{}  name", "b".repeat(64));
    let limits = |max_line_bytes: usize| SumsLimits {
        max_line_bytes,
        ..SumsLimits::default()
    };
    let at = parse(line.as_bytes(), &limits(line.len())).unwrap();
    assert_eq!(at.entries.len(), 1);
    let over = parse(line.as_bytes(), &limits(line.len() - 1)).unwrap();
    assert!(matches!(
        over.bad_lines[0].problem,
        LineProblem::TooLong { len, .. } if len == line.len()
    ));
    // `./` alone is not stripped to an empty name: it stays, for path checks to refuse.
    let dot = parse(
        format!("{}  ./\n", "b".repeat(64)).as_bytes(),
        &SumsLimits::default(),
    )
    .unwrap();
    assert_eq!(dot.entries[0].name, "./");
}

#[test]
fn the_parsed_check_names_each_form_found() {
    let hex = "a".repeat(64);
    let cases = [
        (format!("{hex}  x\n"), "1 entry (GNU text)"),
        (
            format!("{hex} *x\r\n"),
            "1 entry (GNU binary, CRLF line ends)",
        ),
        (format!("SHA256 (x) = {hex}\n"), "1 entry (BSD tag)"),
        (format!("SHA256(x)= {hex}\n"), "1 entry (OpenSSL)"),
    ];
    for (text, detail) in cases {
        let parsed = parse(text.as_bytes(), &SumsLimits::default()).unwrap();
        let checks = parse_checks(&parsed, "SHA256SUMS", true);
        let c = checks.iter().find(|c| c.is(SUMS_PARSED)).unwrap();
        assert_eq!(c.detail, detail);
    }
}

const H1: &str = "656c10d88c33e9d74f9336f065573b6571ada223ea8e20d114b8f6d8e5f28461";
const H2: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn parse_ok(text: &str) -> ParsedSums {
    parse(text.as_bytes(), &SumsLimits::default()).unwrap()
}

/// Found by the `sums_lines` fuzz target: the line `HEX  ././p-1.4..tar.gz\\\` parses
/// to the name `./p-1.4..tar.gz\\\` (one `./` removed), which `write` wrote as it was,
/// so parsing the written file removed a second `./` and changed the name.
#[test]
fn write_keeps_a_name_that_starts_with_dot_slash() {
    let input: &[u8] = b"SApp-1\x1a\x00\xff\xf6r.g\x01\x00%\xbb\x94rm63.targz\n9ebfa2391635c75d68cacd947aa2338317306p\\\\\\_64.yar.gzr.gz\n9ebfa2391635c75d68cacd947aa23383173067f2420dea5e4e8729f18f66c3cd  ././p-1.4..tar.gz\\\\\\";
    let parsed = parse(input, &SumsLimits::default()).unwrap();
    let entries: BTreeMap<String, Sha256Digest> = parsed
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.digest))
        .collect();
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        ["./p-1.4..tar.gz\\\\\\"]
    );
    let written = write(&entries);
    let again = parse(&written, &SumsLimits::default()).unwrap();
    assert!(again.bad_lines.is_empty());
    let back: BTreeMap<String, Sha256Digest> = again
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.digest))
        .collect();
    assert_eq!(back, entries);
    assert_eq!(write(&back), written);
    // Names that are just `./`, or only start with a dot, are kept as they are.
    for name in ["./", ".x", "../x", "a/./b"] {
        let one = BTreeMap::from([(name.to_owned(), Sha256Digest::of(b""))]);
        let parsed = parse(&write(&one), &SumsLimits::default()).unwrap();
        assert_eq!(parsed.entries[0].name, name);
    }
}

#[test]
fn every_line_form_is_parsed() {
    let cases = [
        (format!("{H1}  plain.bin"), "plain.bin", LineForm::GnuText),
        (format!("{H1} *plain.bin"), "plain.bin", LineForm::GnuBinary),
        (
            format!("SHA256 (plain.bin) = {H1}"),
            "plain.bin",
            LineForm::BsdTag,
        ),
        (
            format!("SHA256(plain.bin)= {H1}"),
            "plain.bin",
            LineForm::OpenSsl,
        ),
        (
            format!("SHA2-256(plain.bin)= {H1}"),
            "plain.bin",
            LineForm::OpenSsl,
        ),
        (
            format!("{H1}  name with space.txt"),
            "name with space.txt",
            LineForm::GnuText,
        ),
        (
            format!("\\{H1}  back\\\\slash"),
            "back\\slash",
            LineForm::GnuText,
        ),
        (
            format!("\\{H1}  new\\nline\\r"),
            "new\nline\r",
            LineForm::GnuText,
        ),
        (
            format!("\\SHA256 (a\\\\b) = {H1}"),
            "a\\b",
            LineForm::BsdTag,
        ),
        (
            format!("SHA256 (odd) = (x)) = {H1}"),
            "odd) = (x)",
            LineForm::BsdTag,
        ),
        (
            format!("{}  ./sub/x", H1.to_uppercase()),
            "sub/x",
            LineForm::GnuText,
        ),
    ];
    for (line, name, form) in cases {
        let p = parse_ok(&line);
        assert_eq!(p.bad_lines, vec![], "{line}");
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].name, name, "{line}");
        assert_eq!(p.entries[0].form, form, "{line}");
        assert_eq!(p.entries[0].digest.to_hex(), H1);
    }
}

#[test]
fn comments_blank_lines_and_crlf_are_handled() {
    let p = parse_ok(&format!("# generated\r\n\r\n{H1}  a\r\n  \n{H2}  b\r\n"));
    assert_eq!(p.entries.len(), 2);
    assert_eq!(p.ignored_lines, 3);
    assert!(p.crlf);
    assert_eq!(p.entries[1].line, 5);
    assert_eq!(p.entries[1].name, "b");
}

#[test]
fn malformed_lines_are_reported_with_their_numbers() {
    let text = format!(
        "{H1}  ok\n{H1} single-space\n{}  short\nSHA512 (x) = {H1}\nMD5 (x) = {}\n\\{H1}  bad\\tescape\n{H1}  \nSHA256 (x) = {}\ngarbage\n",
        &H1[..40],
        &H1[..32],
        &H1[..63]
    );
    let p = parse_ok(&text);
    assert_eq!(p.entries.len(), 1);
    let got: Vec<(u64, LineProblem)> = p
        .bad_lines
        .iter()
        .map(|b| (b.line, b.problem.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                2,
                LineProblem::Malformed(
                    "expected two spaces or \" *\" between digest and file name"
                )
            ),
            (3, LineProblem::DigestLength(40)),
            (
                4,
                LineProblem::Algorithm {
                    name: "SHA512".into(),
                    weak: false
                }
            ),
            (
                5,
                LineProblem::Algorithm {
                    name: "MD5".into(),
                    weak: true
                }
            ),
            (6, LineProblem::BadEscape),
            (7, LineProblem::Malformed("file name is empty")),
            (8, LineProblem::DigestLength(63)),
            (9, LineProblem::Malformed("not a checksum line")),
        ]
    );
    let checks = parse_checks(&p, "SHA256SUMS", true);
    assert!(
        checks
            .iter()
            .filter(|c| c.status == crate::report::Status::Fail)
            .count()
            == 8
    );
    assert!(
        checks
            .iter()
            .any(|c| c.is(SUMS_ALGORITHM_UNSUPPORTED) && c.line == Some(5))
    );
    let lenient = parse_checks(&p, "SHA256SUMS", false);
    assert!(
        lenient
            .iter()
            .all(|c| c.status != crate::report::Status::Fail)
    );
}

#[test]
fn limits_are_enforced() {
    let limits = SumsLimits {
        max_bytes: 10,
        ..SumsLimits::default()
    };
    assert_eq!(
        parse(&[b'a'; 11], &limits),
        Err(SumsError::TooLarge { limit: 10 })
    );
    let limits = SumsLimits {
        max_line_bytes: 70,
        ..SumsLimits::default()
    };
    let p = parse(format!("{H1}  {}\n", "x".repeat(10)).as_bytes(), &limits).unwrap();
    assert!(matches!(
        p.bad_lines[0].problem,
        LineProblem::TooLong { len: 76, limit: 70 }
    ));
    let limits = SumsLimits {
        max_entries: 1,
        ..SumsLimits::default()
    };
    assert_eq!(
        parse(format!("{H1}  a\n{H1}  b\n").as_bytes(), &limits),
        Err(SumsError::TooManyEntries { limit: 1 })
    );
}

#[test]
fn mixed_and_empty_files_fail() {
    let p = parse_ok(&format!("{H1}  a\nSHA256 (b) = {H2}\n"));
    assert_eq!(p.mixed_forms(), Some((1, 2)));
    let checks = parse_checks(&p, "S", true);
    assert!(checks.iter().any(|c| c.is(SUMS_MIXED_FORMAT)));
    let empty = parse_ok("# nothing here\n");
    let checks = parse_checks(&empty, "S", true);
    assert!(
        checks
            .iter()
            .any(|c| c.is(SUMS_EMPTY) && c.status == crate::report::Status::Fail)
    );
    assert!(parse_ok("").entries.is_empty());
}

#[test]
fn non_utf8_line_is_malformed_not_fatal() {
    let mut bytes = format!("{H1}  a\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n");
    let p = parse(&bytes, &SumsLimits::default()).unwrap();
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.bad_lines[0].problem, LineProblem::NotUtf8);
}

#[test]
fn writer_sorts_by_bytes_and_escapes_like_coreutils() {
    let d = Sha256Digest::from_hex(H1).unwrap();
    let mut m = BTreeMap::new();
    m.insert("b".to_owned(), d);
    m.insert("a\\b".to_owned(), d);
    m.insert("Z".to_owned(), d);
    m.insert("new\nline".to_owned(), d);
    let text = String::from_utf8(write(&m)).unwrap();
    assert_eq!(
        text,
        format!("{H1}  Z\n\\{H1}  a\\\\b\n{H1}  b\n\\{H1}  new\\nline\n")
    );
}

fn opts<'a>(allow: &'a [String], meta: &'a (dyn Fn(&str) -> bool + Sync)) -> TreeOptions<'a> {
    TreeOptions {
        ignore_missing: false,
        allow_unlisted: allow,
        is_metadata: meta,
        limits: SumsLimits::default(),
        progress: &NoProgress,
    }
}

#[test]
fn tree_verification_covers_nested_files_links_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("a"), b"a").unwrap();
    std::fs::write(root.join("sub/hidden"), b"h").unwrap();
    std::fs::write(root.join("sub/b"), b"b").unwrap();
    std::fs::write(root.join("SHA256SUMS"), b"").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();
    let mut m = BTreeMap::new();
    m.insert("a".to_owned(), Sha256Digest::of(b"a"));
    m.insert("sub/b".to_owned(), Sha256Digest::of(b"tampered"));
    m.insert("gone".to_owned(), Sha256Digest::of(b""));
    let parsed = parse(&write(&m), &SumsLimits::default()).unwrap();
    let mut checks = Vec::new();
    let v = verify_tree(
        root,
        &parsed,
        &opts(&[], &|n| n == "SHA256SUMS"),
        &mut checks,
    )
    .unwrap();
    let codes: Vec<(&str, Option<&str>)> = checks
        .iter()
        .map(|c| (c.code.as_ref(), c.path.as_deref()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("sums-symlink", Some("link")),
            ("sums-entry-missing", Some("gone")),
            ("sums-entry-match", Some("a")),
            ("sums-entry-mismatch", Some("sub/b")),
            ("sums-metadata-file", Some("SHA256SUMS")),
            ("sums-file-unlisted", Some("sub/hidden")),
        ]
    );
    assert_eq!(v.matched.len(), 1);
    assert_eq!(v.metadata_found, vec!["SHA256SUMS".to_owned()]);
}

#[test]
fn listed_links_and_folders_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("folder")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();
    let mut m = BTreeMap::new();
    m.insert("folder".to_owned(), Sha256Digest::of(b""));
    m.insert("link".to_owned(), Sha256Digest::of(b""));
    let parsed = parse(&write(&m), &SumsLimits::default()).unwrap();
    for ignore_missing in [false, true] {
        let mut checks = Vec::new();
        let tree_opts = TreeOptions {
            ignore_missing,
            ..opts(&[], &|_| false)
        };
        verify_tree(root, &parsed, &tree_opts, &mut checks).unwrap();
        let listed: Vec<(&str, crate::Status, &str)> = checks
            .iter()
            .filter(|c| c.is(SUMS_ENTRY_MISSING))
            .map(|c| (c.path.as_deref().unwrap_or(""), c.status, &c.detail[..]))
            .collect();
        // A folder counts as missing (so --ignore-missing applies); a link never does.
        let folder = if ignore_missing {
            (
                crate::Status::Skip,
                "listed file is a directory, not a regular file (ignored: --ignore-missing)",
            )
        } else {
            (
                crate::Status::Fail,
                "listed file is a directory, not a regular file",
            )
        };
        assert_eq!(
            listed,
            vec![
                ("folder", folder.0, folder.1),
                (
                    "link",
                    crate::Status::Fail,
                    "listed file is a symbolic link, not a regular file"
                ),
            ]
        );
    }
}

#[test]
fn duplicates_collisions_and_escapes_fail_and_are_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    let text = format!(
        "{h}  a\n{h}  a\n{h}  A\n{h}  ../outside\n{h}  /etc/passwd\n",
        h = Sha256Digest::of(b"a").to_hex()
    );
    let parsed = parse_ok(&text);
    let mut checks = Vec::new();
    verify_tree(dir.path(), &parsed, &opts(&[], &|_| false), &mut checks).unwrap();
    let codes: Vec<&str> = checks.iter().map(|c| c.code.as_ref()).collect();
    assert_eq!(
        codes,
        vec![
            "sums-entry-duplicate",
            "sums-entry-collision",
            "sums-path-unsafe",
            "sums-path-unsafe",
            "sums-entry-match"
        ]
    );
}

#[test]
fn hard_links_and_fifos_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    std::fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("fifo"))
        .status()
        .unwrap();
    assert!(status.success());
    let text = format!(
        "{h}  a\n{h}  b\n{h}  fifo\n",
        h = Sha256Digest::of(b"a").to_hex()
    );
    let mut checks = Vec::new();
    verify_tree(
        dir.path(),
        &parse_ok(&text),
        &opts(&[], &|_| false),
        &mut checks,
    )
    .unwrap();
    let failing: Vec<(&str, &str)> = checks
        .iter()
        .filter(|c| c.status == crate::report::Status::Fail)
        .map(|c| (c.code.as_ref(), c.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        failing,
        vec![
            ("sums-special-file", "fifo"),
            ("sums-entry-missing", "fifo"),
            ("sums-hardlink", "a"),
            ("sums-hardlink", "b"),
        ]
    );
}

#[test]
fn relaxations_are_explicit_and_reported_as_skips() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    std::fs::write(dir.path().join("extra"), b"x").unwrap();
    let text = format!("{}  a\n{}  gone\n", Sha256Digest::of(b"a").to_hex(), H2);
    let allow = vec!["extra".to_owned()];
    let mut o = opts(&allow, &|_| false);
    o.ignore_missing = true;
    let mut checks = Vec::new();
    verify_tree(dir.path(), &parse_ok(&text), &o, &mut checks).unwrap();
    assert!(
        checks
            .iter()
            .all(|c| c.status != crate::report::Status::Fail)
    );
    assert!(
        checks
            .iter()
            .any(|c| c.is(SUMS_ENTRY_MISSING) && c.status == crate::report::Status::Skip)
    );
    assert!(
        checks
            .iter()
            .any(|c| c.is(SUMS_FILE_UNLISTED) && c.status == crate::report::Status::Skip)
    );
}

proptest! {
    #[test]
    fn write_then_parse_round_trips(names in proptest::collection::btree_set("[a-z\\\\\n\r ./()=*-]{1,12}", 1..8)) {
        let mut m = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            if n.starts_with("./") || n.trim().is_empty() || n.trim_start().starts_with('#') {
                continue;
            }
            m.insert(n.clone(), Sha256Digest::from_bytes([i as u8; 32]));
        }
        let parsed = parse(&write(&m), &SumsLimits::default()).unwrap();
        prop_assert_eq!(parsed.bad_lines.clone(), vec![]);
        let back: BTreeMap<String, Sha256Digest> =
            parsed.entries.iter().map(|e| (e.name.clone(), e.digest)).collect();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes, &SumsLimits::default());
    }
}

#[test]
fn a_file_of_garbage_costs_a_count_not_a_check_per_line() {
    let garbage = "x\n".repeat(10_000);
    let parsed = parse(garbage.as_bytes(), &SumsLimits::default()).unwrap();
    assert_eq!(parsed.bad_lines.len(), DEFAULT_MAX_BAD_LINES_SHOWN);
    assert_eq!(parsed.bad_lines_omitted, 9_000);
    let checks = parse_checks(&parsed, "SHA256SUMS", true);
    assert_eq!(
        checks.len(),
        DEFAULT_MAX_BAD_LINES_SHOWN + 2,
        "lines, the rest, empty"
    );
    let rest = checks
        .iter()
        .find(|c| c.data.get("omitted").is_some())
        .unwrap();
    assert!(rest.is(codes::SUMS_LINE_MALFORMED));
    assert_eq!(rest.status, crate::report::Status::Fail);
    assert!(checks.iter().any(|c| c.is(codes::SUMS_EMPTY)));
}
