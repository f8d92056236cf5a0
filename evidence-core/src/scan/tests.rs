use std::io::Write as _;

use base64::Engine as _;

use std::path::PathBuf;

use super::*;
use crate::redact::tests::{FORBIDDEN, redactor, samples};
use crate::report::Status;

fn gh() -> String {
    samples()[0].text.clone()
}

/// (code, status, path, line, class) of every check, in order.
/// (code, status, path, line, class).
type Row = (String, Status, Option<String>, Option<u64>, Option<String>);

fn summary(report: &Report) -> Vec<Row> {
    report
        .checks
        .iter()
        .map(|c| {
            (
                c.code.to_string(),
                c.status,
                c.path.clone(),
                c.line,
                c.data
                    .get("class")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            )
        })
        .collect()
}

fn found(code: CheckCode, path: &str, line: u64, class: &str) -> Row {
    (
        code.code.to_owned(),
        Status::Fail,
        Some(path.to_owned()),
        Some(line),
        Some(class.to_owned()),
    )
}

fn problem(code: CheckCode, path: &str) -> Row {
    (
        code.code.to_owned(),
        Status::Fail,
        Some(path.to_owned()),
        None,
        None,
    )
}

use crate::report::CheckCode;

fn skipped(path: &str) -> Row {
    (
        SCAN_SKIPPED.code.to_owned(),
        Status::Warn,
        Some(path.to_owned()),
        None,
        None,
    )
}

/// The report never shows a secret.
fn assert_no_secret(report: &Report) {
    let text = report.to_json_pretty() + &report.to_text(true);
    for s in samples() {
        assert!(
            !text.contains(&s.secret),
            "{:?} leaked into the report",
            s.class
        );
    }
}

#[test]
fn scan_bytes_reports_lines_and_classes() {
    let r = redactor();
    let text = format!(
        "ok\nkey {}\n\n{{\"password\": \"x\"}}\r\nend {FORBIDDEN}",
        gh()
    );
    assert_eq!(
        scan_bytes(&r, "app.log", text.as_bytes()),
        vec![
            Finding {
                path: "app.log".into(),
                line: 2,
                class: SecretClass::GithubToken
            },
            Finding {
                path: "app.log".into(),
                line: 4,
                class: SecretClass::SecretKeyName
            },
            Finding {
                path: "app.log".into(),
                line: 5,
                class: SecretClass::ForbiddenToken
            },
        ]
    );
    // A pretty-printed JSON document: the key rule applies on parsed values.
    let doc = format!(
        "{{\n  \"a\": 1,\n  \"nested\": {{\n    \"api_key\": [\n      1,\n      2\n    ]\n  }},\n  \"b\": [\n    \"{FORBIDDEN}\"\n  ]\n}}\n"
    );
    assert_eq!(
        scan_bytes(&r, "x.json", doc.as_bytes()),
        vec![
            Finding {
                path: "x.json".into(),
                line: 4,
                class: SecretClass::SecretKeyName
            },
            Finding {
                path: "x.json".into(),
                line: 10,
                class: SecretClass::ForbiddenToken
            },
        ]
    );
    assert!(scan_bytes(&r, "e", b"").is_empty());
    assert!(scan_bytes(&r, "bin", b"\xff\xfe\x00plain").is_empty());
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn directory_tree_with_nested_files_links_and_binary() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("xx{FORBIDDEN}yy"));
    write(
        root,
        "a/config.json",
        b"{\n  \"user\": \"bob\",\n  \"password\": \"hunter22\",\n  \"token_count\": 3\n}\n",
    );
    write(
        root,
        "logs/app.log",
        format!("start\n{}\nmiddle\nmore\nblob={b64}\n", gh()).as_bytes(),
    );
    write(root, "clean.txt", b"nothing to see\n");
    write(
        root,
        "deep/er/events.jsonl",
        format!("{{\"a\":1}}\n{{\"auth\":\"{}\"}}\n", samples()[13].text).as_bytes(),
    );
    let mut binary = b"\xff\xfe\x00\x01\n\x80\x81 ".to_vec();
    binary.extend_from_slice(
        format!("Authorization: Bearer {}\n", "opaque.Tok3n-value_123").as_bytes(),
    );
    write(root, "bin/blob.dat", &binary);
    std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();

    let report = scan_path(root, &redactor(), &ScanOptions::default());
    let at = |rel: &str| format!("{}/{rel}", root.display());
    assert_eq!(
        summary(&report),
        vec![
            found(
                SCAN_SECRET_FOUND,
                &at("a/config.json"),
                3,
                "secret-key-name"
            ),
            found(SCAN_SECRET_FOUND, &at("bin/blob.dat"), 2, "bearer-token"),
            found(
                SCAN_SECRET_FOUND,
                &at("deep/er/events.jsonl"),
                2,
                "secret-key-name"
            ),
            found(SCAN_SECRET_FOUND, &at("logs/app.log"), 2, "github-token"),
            found(
                SCAN_FORBIDDEN_TOKEN_FOUND,
                &at("logs/app.log"),
                5,
                "forbidden-token"
            ),
            skipped(&at("link")),
        ]
    );
    assert!(!report.ok());
    assert_no_secret(&report);
    let link = report.with_code(SCAN_SKIPPED).next().unwrap();
    assert!(link.detail.contains("symbolic link"), "{}", link.detail);

    // The same tree without the findings and the link is clean.
    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "a/b.json", b"{\"token_count\": 5}");
    write(clean.path(), "c.txt", b"hello\n");
    write(clean.path(), "empty", b"");
    let report = scan_path(clean.path(), &redactor(), &ScanOptions::default());
    assert_eq!(
        summary(&report),
        vec![(SCAN_CLEAN.code.to_owned(), Status::Pass, None, None, None)]
    );
    assert!(report.ok());
    let check = &report.checks[0];
    assert_eq!(check.data["files"], 3);
}

#[test]
fn nothing_scanned_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let report = scan_path(dir.path(), &redactor(), &ScanOptions::default());
    assert_eq!(
        summary(&report),
        vec![(SCAN_EMPTY.code.to_owned(), Status::Fail, None, None, None)]
    );
    assert!(!report.ok());
    let report = scan_path(
        &dir.path().join("missing"),
        &redactor(),
        &ScanOptions::default(),
    );
    assert!(report.has(SCAN_UNREADABLE) && report.has(SCAN_EMPTY) && !report.ok());
}

#[test]
fn a_single_file_and_a_link_given_by_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, format!("a\nb {}\n", gh())).unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for path in [&file, &link] {
        let shown = path.display().to_string();
        let report = scan_path(path, &redactor(), &ScanOptions::default());
        assert_eq!(
            summary(&report),
            vec![found(SCAN_SECRET_FOUND, &shown, 2, "github-token")]
        );
    }
}

struct Entry<'a> {
    path: &'a str,
    kind: tar::EntryType,
    data: Vec<u8>,
}

fn tar_gz(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(e.kind);
        header.set_size(e.data.len() as u64);
        header.set_mode(0o644);
        if e.kind == tar::EntryType::Symlink {
            header.set_size(0);
            builder
                .append_link(&mut header, e.path, "/etc/passwd")
                .unwrap();
            continue;
        }
        builder
            .append_data(&mut header, e.path, e.data.as_slice())
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn tar_gz_archives_are_streamed_entry_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    let inner = tar_gz(&[Entry {
        path: "deep.log",
        kind: tar::EntryType::Regular,
        data: format!("x\ny\n{FORBIDDEN}\n").into_bytes(),
    }]);
    let archive = tar_gz(&[
        Entry {
            path: "manifest.json",
            kind: tar::EntryType::Regular,
            data: b"{\"kind\": \"x\"}".to_vec(),
        },
        Entry {
            path: "payload/",
            kind: tar::EntryType::Directory,
            data: Vec::new(),
        },
        Entry {
            path: "payload/app.log",
            kind: tar::EntryType::Regular,
            data: format!("one\ntwo\nthree {}\n", gh()).into_bytes(),
        },
        Entry {
            path: "payload/evil",
            kind: tar::EntryType::Symlink,
            data: Vec::new(),
        },
        Entry {
            path: "payload/inner.tgz",
            kind: tar::EntryType::Regular,
            data: inner,
        },
        Entry {
            path: "payload/bin",
            kind: tar::EntryType::Regular,
            data: b"\xff\xfe\x00".to_vec(),
        },
    ]);
    std::fs::write(dir.path().join("bundle.tar.gz"), &archive).unwrap();
    // Also inside a directory, next to a gzip'd log.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"l1\n{\"token\": \"abcdef12\"}\n").unwrap();
    std::fs::write(dir.path().join("old.jsonl.gz"), gz.finish().unwrap()).unwrap();

    let report = scan_path(
        &dir.path().join("bundle.tar.gz"),
        &redactor(),
        &ScanOptions::default(),
    );
    let top = dir.path().join("bundle.tar.gz").display().to_string();
    assert_eq!(
        summary(&report),
        vec![
            found(
                SCAN_SECRET_FOUND,
                &format!("{top}!/payload/app.log"),
                3,
                "github-token"
            ),
            found(
                SCAN_FORBIDDEN_TOKEN_FOUND,
                &format!("{top}!/payload/inner.tgz!/deep.log"),
                3,
                "forbidden-token"
            ),
            skipped(&format!("{top}!/payload/evil")),
        ]
    );
    assert_no_secret(&report);

    let report = scan_path(dir.path(), &redactor(), &ScanOptions::default());
    let d = dir.path().display();
    assert_eq!(
        summary(&report),
        vec![
            found(
                SCAN_SECRET_FOUND,
                &format!("{d}/bundle.tar.gz!/payload/app.log"),
                3,
                "github-token"
            ),
            found(
                SCAN_FORBIDDEN_TOKEN_FOUND,
                &format!("{d}/bundle.tar.gz!/payload/inner.tgz!/deep.log"),
                3,
                "forbidden-token"
            ),
            found(
                SCAN_SECRET_FOUND,
                &format!("{d}/old.jsonl.gz"),
                2,
                "secret-key-name"
            ),
            skipped(&format!("{d}/bundle.tar.gz!/payload/evil")),
        ]
    );

    // Nesting beyond the limit is reported, not opened.
    let mut opts = ScanOptions::default();
    opts.limits.max_archive_depth = 1;
    let report = scan_path(&dir.path().join("bundle.tar.gz"), &redactor(), &opts);
    assert!(
        report
            .with_code(SCAN_UNREADABLE)
            .any(|c| c.path.as_deref() == Some(&format!("{top}!/payload/inner.tgz")[..]))
    );
}

#[test]
fn corrupt_and_hostile_archives() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.tar.gz");
    std::fs::write(&p, b"\x1f\x8b\x08\x00garbage").unwrap();
    let report = scan_path(&p, &redactor(), &ScanOptions::default());
    assert_eq!(
        summary(&report),
        vec![
            problem(SCAN_UNREADABLE, &p.display().to_string()),
            (SCAN_EMPTY.code.to_owned(), Status::Fail, None, None, None),
        ]
    );
    // A compression bomb trips the ratio limit.
    let bomb = tar_gz(&[Entry {
        path: "zeros",
        kind: tar::EntryType::Regular,
        data: vec![0u8; 4 << 20],
    }]);
    let p = dir.path().join("bomb.tgz");
    std::fs::write(&p, bomb).unwrap();
    let mut opts = ScanOptions::default();
    opts.limits.ratio_grace_bytes = 1 << 20;
    opts.limits.max_compression_ratio = 20;
    let report = scan_path(&p, &redactor(), &opts);
    let too_large: Vec<_> = report.with_code(INPUT_TOO_LARGE).collect();
    assert_eq!(too_large.len(), 1, "{}", report.to_text(true));
    assert!(too_large[0].detail.contains("compression ratio"));
    // Entry count and entry size limits.
    let many = tar_gz(&[
        Entry {
            path: "a",
            kind: tar::EntryType::Regular,
            data: b"1".to_vec(),
        },
        Entry {
            path: "b",
            kind: tar::EntryType::Regular,
            data: b"22".to_vec(),
        },
        Entry {
            path: "c",
            kind: tar::EntryType::Regular,
            data: b"333".to_vec(),
        },
    ]);
    let p = dir.path().join("many.tar.gz");
    std::fs::write(&p, many).unwrap();
    let mut opts = ScanOptions::default();
    opts.limits.max_entries = 2;
    let report = scan_path(&p, &redactor(), &opts);
    assert_eq!(report.with_code(INPUT_TOO_LARGE).count(), 1);
    let mut opts = ScanOptions::default();
    opts.limits.max_file_bytes = 2;
    let report = scan_path(&p, &redactor(), &opts);
    let shown = format!("{}!/c", p.display());
    assert_eq!(
        summary(&report),
        vec![
            problem(INPUT_TOO_LARGE, &shown),
            (SCAN_CLEAN.code.to_owned(), Status::Pass, None, None, None),
        ]
    );
}

#[test]
fn large_files_are_streamed_with_the_same_findings() {
    let mut text = String::new();
    let mut want = Vec::new();
    for i in 1..=2000u64 {
        if i % 97 == 0 {
            text.push_str(&format!("line {i} {}\n", gh()));
            want.push(i);
        } else if i % 101 == 0 {
            text.push_str(&format!("{{\"n\": {i}, \"secret\": [1, 2]}}\n"));
            want.push(i);
        } else {
            text.push_str(&format!("line {i} nothing here at all\n"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.log");
    std::fs::write(&p, &text).unwrap();
    let whole = scan_path(&p, &redactor(), &ScanOptions::default());
    let mut opts = ScanOptions::default();
    opts.limits.max_whole_bytes = 1000;
    let streamed = scan_path(&p, &redactor(), &opts);
    assert_eq!(summary(&whole), summary(&streamed));
    let lines: Vec<u64> = streamed.checks.iter().filter_map(|c| c.line).collect();
    assert_eq!(lines, want);
    // Over the file limit: reported, never a pass.
    opts.limits.max_file_bytes = 5000;
    let report = scan_path(&p, &redactor(), &opts);
    assert!(report.has(INPUT_TOO_LARGE) && !report.ok());
}

#[test]
fn a_giant_single_line_is_scanned_in_overlapping_pieces() {
    // Secrets placed around the piece boundaries (CHUNK - OVERLAP is where the second piece
    // starts) are each reported once.
    let g = gh();
    let mut line = vec![b'a'; 3 * CHUNK];
    let mut positions = vec![
        10,
        CHUNK - OVERLAP - 20,
        CHUNK - 30,
        CHUNK + 5,
        2 * CHUNK - OVERLAP,
        3 * CHUNK - 100,
    ];
    positions.sort_unstable();
    for p in &positions {
        line[*p - 1] = b' ';
        line[*p..*p + g.len()].copy_from_slice(g.as_bytes());
        line[*p + g.len()] = b' ';
    }
    line.extend_from_slice(b"\nsecond line password=abc123\n");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("one-line.txt");
    std::fs::write(&p, &line).unwrap();
    let mut opts = ScanOptions::default();
    opts.limits.max_whole_bytes = 1 << 20;
    let report = scan_path(&p, &redactor(), &opts);
    let c = report.with_code(SCAN_SECRET_FOUND).collect::<Vec<_>>();
    assert_eq!(c.len(), 2, "{}", report.to_text(true));
    assert_eq!(
        (c[0].line, c[0].data["count"].as_u64()),
        (Some(1), Some(positions.len() as u64))
    );
    assert_eq!(c[1].line, Some(2));
}

#[test]
fn findings_are_capped() {
    let text: String = (0..50).map(|_| format!("{}\n", gh())).collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.txt");
    std::fs::write(&p, text).unwrap();
    let mut opts = ScanOptions::default();
    opts.limits.max_findings = 10;
    let report = scan_path(&p, &redactor(), &opts);
    assert_eq!(report.with_code(SCAN_SECRET_FOUND).count(), 11);
    let last = report.checks.last().unwrap();
    assert_eq!(last.data["omitted"], 40);
}

#[test]
fn special_files_are_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.txt", b"fine\n");
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return;
    }
    let report = scan_path(dir.path(), &redactor(), &ScanOptions::default());
    assert_eq!(
        summary(&report),
        vec![
            problem(SCAN_UNREADABLE, &format!("{}/pipe", dir.path().display())),
            (SCAN_CLEAN.code.to_owned(), Status::Pass, None, None, None),
        ]
    );
}

#[test]
fn secrets_in_names_are_findings_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let g = gh();
    write(dir.path(), &format!("keys/{g}.txt"), b"harmless\n");
    let report = scan_path(dir.path(), &redactor(), &ScanOptions::default());
    assert_eq!(
        summary(&report),
        vec![(
            SCAN_SECRET_FOUND.code.to_owned(),
            Status::Fail,
            Some(format!(
                "{}/keys/[REDACTED:github-token].txt",
                dir.path().display()
            )),
            None,
            Some("github-token".to_owned())
        )]
    );
    assert!(!report.to_json_pretty().contains(&g));
    // The file itself was examined: nothing else is reported for it.
    let named = dir.path().join("keys").join(format!("{g}.txt"));
    let report = scan_path(&named, &redactor(), &ScanOptions::default());
    assert!(
        !report.to_json_pretty().contains(&g),
        "{}",
        report.to_json_pretty()
    );
}

#[test]
fn paths_start_with_the_folder_as_given() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        write(
            dir.path(),
            &format!("{sub}/aws.txt"),
            format!("k {}\n", gh()).as_bytes(),
        );
    }
    let a = dir.path().join("a");
    let with_slash = format!("{}/", dir.path().join("b").display());
    let paths: Vec<Option<String>> = [a.clone(), PathBuf::from(&with_slash)]
        .iter()
        .flat_map(|p| scan_path(p, &redactor(), &ScanOptions::default()).checks)
        .map(|c| c.path)
        .collect();
    assert_eq!(
        paths,
        vec![
            Some(format!("{}/aws.txt", a.display())),
            Some(format!("{with_slash}aws.txt")),
        ]
    );
}

#[test]
fn an_archive_of_files_and_links_passes_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "a.txt", &b"hello"[..])
        .unwrap();
    for (name, kind) in [
        ("sym", tar::EntryType::Symlink),
        ("hard", tar::EntryType::Link),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(0);
        builder.append_link(&mut header, name, "a.txt").unwrap();
    }
    let p = dir.path().join("links.tar");
    std::fs::write(&p, builder.into_inner().unwrap()).unwrap();
    let report = scan_path(&p, &redactor(), &ScanOptions::default());
    let top = p.display();
    assert_eq!(
        summary(&report),
        vec![
            skipped(&format!("{top}!/sym")),
            skipped(&format!("{top}!/hard")),
            (SCAN_CLEAN.code.to_owned(), Status::Pass, None, None, None),
        ]
    );
    assert!(report.ok());
}

proptest::proptest! {
    /// A quoted literal of 8 or more characters under a secret-named key is found, in text,
    /// YAML-like and JSON shapes alike.
    #[test]
    fn quoted_literals_under_secret_names_are_found(
        literal in "[A-Za-z0-9_.!@#%^*+=:/-]{8,40}",
        key in proptest::sample::select(vec![
            "password", "token", "api_key", "client_secret", "id-token", "GITHUB_TOKEN",
            "accessToken",
        ]),
        shape in 0usize..4,
    ) {
        let text = match shape {
            0 => format!("{key} = \"{literal}\"\n"),
            1 => format!("  {key}: '{literal}'\n"),
            2 => format!("const {key} = \"{literal}\";\n"),
            _ => format!("{{\"{key}\": \"{literal}\"}}\n"),
        };
        let findings = scan_bytes(&redactor(), "config.txt", text.as_bytes());
        proptest::prop_assert!(
            findings.iter().any(|f| f.line == 1),
            "{text:?}: {findings:?}"
        );
    }
}
