//! End-to-end tests of `evidence scan`: every finding is named by the path as typed on the
//! command line (two folders holding the same file name give two distinct findings, in text and
//! in JSON), and link entries of an archive are skipped with a warning, not a failure.

use std::path::Path;
use std::process::{Command, Output};

use evidence_tests::fixtures::tar::{Header, TarWriter, gzip, kind};
use evidence_tests::{codes_with, failing_codes};

/// An AWS access key id, assembled at run time so the source does not hold one.
fn aws_key() -> String {
    format!("{}{}", "AKIA", "IOSFODNN7EXAMPLE")
}

/// `evidence scan ARGS...` run in `dir`.
fn scan(dir: &Path, args: &[&str]) -> Output {
    let mut cmd: Command = evidence_tests::bin("evidence");
    cmd.current_dir(dir).arg("scan").args(args);
    cmd.output().unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// (code, path) of every check of a JSON report that has a path.
fn paths_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            Some((
                c["code"].as_str()?.to_owned(),
                c["path"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn two_folders_with_the_same_file_name_give_two_paths() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("aws.txt"),
            format!("key = {}\n", aws_key()),
        )
        .unwrap();
    }
    let out = scan(dir.path(), &["a", "b"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["a/aws.txt:1", "b/aws.txt:1"] {
        assert!(
            text.lines().any(
                |l| l.starts_with("FAIL scan-secret-found") && l.contains(&format!(" {want}:"))
            ),
            "{want} missing from:\n{text}"
        );
    }
    assert!(!text.contains(&aws_key()), "{text}");

    let out = scan(dir.path(), &["a", "b", "--json"]);
    let report = json_of(&out);
    let found: Vec<(String, String)> = paths_of(&report);
    let want = |p: &str| ("scan-secret-found".to_owned(), p.to_owned());
    assert_eq!(found, vec![want("a/aws.txt"), want("b/aws.txt")]);
    let lines: Vec<u64> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["line"].as_u64())
        .collect();
    assert_eq!(lines, vec![1, 1]);
}

#[test]
fn dot_slash_absolute_file_and_archive_arguments_keep_their_form() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("x")).unwrap();
    std::fs::write(dir.path().join("x/y"), format!("{}\n", aws_key())).unwrap();
    let archive = {
        let mut tar = TarWriter::new();
        tar.file("inner/aws.txt", format!("{}\n", aws_key()).as_bytes(), 0);
        gzip(&tar.finish())
    };
    std::fs::write(dir.path().join("pack.tar.gz"), archive).unwrap();
    let abs = dir.path().join("x").display().to_string();
    let out = scan(dir.path(), &["./x", &abs, "x/y", "pack.tar.gz", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let found: Vec<String> = paths_of(&json_of(&out))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        found,
        vec![
            "./x/y".to_owned(),
            format!("{abs}/y"),
            "x/y".to_owned(),
            "pack.tar.gz!/inner/aws.txt".to_owned(),
        ]
    );
}

/// A `.tar.gz` holding one clean file and a symbolic link and hard link to it.
fn archive_with_links() -> Vec<u8> {
    let mut tar = TarWriter::new();
    tar.file("data/readme.txt", b"nothing secret here\n", 0);
    for (name, flag) in [("data/sym", kind::SYMLINK), ("data/hard", kind::HARD_LINK)] {
        let header = Header {
            typeflag: flag,
            linkname: b"data/readme.txt".to_vec(),
            ..Header::file(name, 0, 0)
        };
        tar.entry(header, name, b"");
    }
    gzip(&tar.finish())
}

#[test]
fn links_in_archives_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("links.tar.gz"), archive_with_links()).unwrap();
    let out = scan(dir.path(), &["links.tar.gz", "--json"]);
    let report = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert!(failing_codes(&report).is_empty(), "{report:#}");
    assert_eq!(
        codes_with(&report, "warn"),
        vec!["scan-skipped", "scan-skipped"]
    );
    assert_eq!(codes_with(&report, "pass"), vec!["scan-clean"]);
    let skipped: Vec<String> = paths_of(&report).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        skipped,
        vec!["links.tar.gz!/data/sym", "links.tar.gz!/data/hard"]
    );
}
