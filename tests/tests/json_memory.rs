//! The strict JSON reader's memory limit (`JsonLimits::max_memory`) rests on an estimate that
//! must bound, from above, the memory a parsed document really takes. These tests parse
//! documents of the shapes that stress the estimate (one-member objects, wide objects, long
//! and short strings, nested arrays, SPDX and manifest-like documents) in a child process and
//! compare the growth of its resident memory with the smallest limit that admits the document.
//!
//! Resident memory is read from `/proc/self/status` (`VmRSS` before, `VmHWM` after), so each
//! document takes tens of megabytes and the comparison allows [`NOISE`]: resident memory moves
//! in pages, and where the estimate is exact (long strings) the pages that strings share with
//! their neighbours show up as a few kilobytes either way.

use std::fs;
use std::path::Path;
use std::process::Command;

use evidence_core::json::{JsonError, JsonLimits, parse_strict};

/// The environment variable that makes this test binary the measuring child.
const CHILD: &str = "EVIDENCE_JSON_MEMORY_CHILD";
/// Measurement noise allowed: 1 MiB, under 5% of the smallest document's footprint.
const NOISE: u64 = 1 << 20;

/// Limits that only the memory limit can trip.
fn limits(max_memory: u64) -> JsonLimits {
    let mut limits = JsonLimits::default();
    limits.max_bytes = u64::MAX;
    limits.max_values = usize::MAX;
    limits.max_memory = max_memory;
    limits
}

/// The smallest `max_memory` under which `bytes` parses.
fn estimate(bytes: &[u8]) -> u64 {
    let (mut low, mut high) = (0u64, 1 << 32);
    while low < high {
        let mid = low + (high - low) / 2;
        match parse_strict(bytes, &limits(mid)) {
            Ok(_) => high = mid,
            Err(JsonError::TooMuchMemory { .. }) => low = mid + 1,
            Err(e) => panic!("not JSON: {e}"),
        }
    }
    low
}

/// A `/proc/self/status` field, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().unwrap();
    kib * 1024
}

/// The child's half: parses the file named by [`CHILD`] and prints how much resident memory
/// the parsed value added.
#[test]
fn measure_in_child() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let bytes = fs::read(path).unwrap();
    let before = status_bytes("VmRSS:");
    let value = parse_strict(&bytes, &limits(u64::MAX)).unwrap();
    let peak = status_bytes("VmHWM:");
    std::hint::black_box(&value);
    println!("grew {}", peak.saturating_sub(before));
}

/// Parses `bytes` in a child process and returns how much its resident memory grew.
fn measured(bytes: &[u8]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    fs::write(&path, bytes).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "measure_in_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest prints the test's name on the same line, before the child's own output.
    stdout
        .split_once("grew ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the child printed no measurement: {stdout}"))
}

/// Asserts that the estimate bounds the measured growth, and is not wildly pessimistic.
fn assert_bounded(name: &str, bytes: &[u8]) {
    let estimate = estimate(bytes);
    let measured = measured(bytes);
    let ratio = estimate as f64 / measured as f64;
    eprintln!(
        "{name}: {} bytes, estimated {estimate}, measured {measured} ({ratio:.2}x)",
        bytes.len()
    );
    assert!(
        estimate + NOISE >= measured,
        "{name}: estimated {estimate} < measured {measured}"
    );
    assert!(ratio < 4.0, "{name}: estimated {ratio:.2}x what it takes");
}

fn repeat_joined(item: impl Fn(usize) -> String, n: usize, open: &str, close: &str) -> Vec<u8> {
    let items: Vec<String> = (0..n).map(item).collect();
    format!("{open}{}{close}", items.join(",")).into_bytes()
}

#[test]
fn the_estimate_bounds_what_parsed_documents_take() {
    let digest = "ab".repeat(32);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "one-member objects",
            repeat_joined(|_| r#"{"a":0}"#.to_owned(), 60_000, "[", "]"),
        ),
        (
            "one wide object",
            repeat_joined(|i| format!(r#""member-{i:06}":{i}"#), 200_000, "{", "}"),
        ),
        (
            "manifest-like entries",
            repeat_joined(
                |i| {
                    format!(
                        r#"{{"path":"payload/logs/node-{:03}/file-{i:07}.log","sha256":"{digest}","size":{i}}}"#,
                        i / 1000
                    )
                },
                60_000,
                r#"{"schema":"evidence.bundle/v1","files":["#,
                "]}",
            ),
        ),
        (
            "short strings",
            repeat_joined(|i| format!("\"{}\"", i % 10), 1_000_000, "[", "]"),
        ),
        (
            "long strings",
            repeat_joined(|i| format!("\"{}\"", "x".repeat(4000 + i)), 4_000, "[", "]"),
        ),
        (
            "nested arrays",
            repeat_joined(|_| "[[[1]]]".to_owned(), 150_000, "[", "]"),
        ),
    ];
    for (name, bytes) in &cases {
        assert_bounded(name, bytes);
    }
    // The official SPDX 2.3 example, its packages, files and relationships repeated.
    if let Some(example) = evidence_tests::need_interop("spdx/SPDXJSONExample-v2.3.spdx.json") {
        assert_bounded("SPDX example x 300", &spdx_repeated(&example, 300));
    }
}

/// The SPDX example with its element lists repeated `n` times (identifiers made unique).
fn spdx_repeated(path: &Path, n: usize) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    for list in ["packages", "files", "snippets", "relationships"] {
        let Some(items) = doc[list].as_array().cloned() else {
            continue;
        };
        let repeated: Vec<serde_json::Value> = (0..n)
            .flat_map(|i| {
                items.iter().cloned().map(move |mut item| {
                    if let Some(id) = item["SPDXID"].as_str() {
                        item["SPDXID"] = format!("{id}-{i}").into();
                    }
                    item
                })
            })
            .collect();
        doc[list] = repeated.into();
    }
    serde_json::to_vec_pretty(&doc).unwrap()
}
