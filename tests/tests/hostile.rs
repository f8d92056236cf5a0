//! Hostile inputs (issue 6): each case asserts a clean failure with its specific check code
//! (or error variant), reached in bounded memory and time.
//!
//! - Memory is bounded by a hard cap, not measured: CLI cases run the binary under
//!   `ulimit -v` (the address-space limit, [`CAP_KIB`] unless a case says otherwise), far below
//!   what reading the hostile input whole, or unpacking it, would need. A process that exceeds
//!   its cap dies (exit 101 or a signal), which fails the exit-code assertion.
//! - Time is only guarded against hangs: a process still running after [`HANG_GUARD`] is killed
//!   and the test fails. Nothing here measures speed (DESIGN section 6).
//! - Large inputs are generated into temporary folders at test time.
//!
//! Cases where the library API is the natural level (races, limits lowered through the
//! `*Limits` structs) call the library directly.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evidence_tests::fixtures::bundle as fx;
use evidence_tests::fixtures::tar::{self, Header, TarWriter};
use evidence_tests::workspace_root;
use serde_json::{Value, json};

/// The default address-space cap for a CLI run: enough for the binary, its threads and
/// bounded buffers, far below what any input here would need if read whole.
const CAP_KIB: u64 = 96 * 1024;
/// A process still running after this long has hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn report(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a report ({e}), exit {:?}: {}\n{}",
                self.code,
                String::from_utf8_lossy(&self.stdout[..self.stdout.len().min(2000)]),
                self.stderr
            )
        })
    }
}

/// Runs a workspace binary under an address-space cap of `cap_kib` KiB, killing it (and failing)
/// if it runs longer than [`HANG_GUARD`].
fn run_capped(binary: &str, args: &[&OsStr], cap_kib: u64) -> Run {
    let program = evidence_tests::bin(binary).get_program().to_owned();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {cap_kib} && exec \"$@\""))
        .arg("sh")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{binary} {args:?} still ran after {HANG_GUARD:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// The codes of the failing checks.
fn failing(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a clean failure: exit 1, a report that is not ok, and `code` among its failures.
fn assert_fails_with(run: &Run, code: &str) -> Value {
    let report = run.report();
    assert_eq!(run.code, Some(1), "{}\n{report:#}", run.stderr);
    assert_eq!(report["ok"], false);
    let failing = failing(&report);
    assert!(
        failing.iter().any(|c| c == code),
        "expected {code} among {failing:?}"
    );
    report
}

fn fixture(rel: &str) -> PathBuf {
    workspace_root().join("fixtures").join(rel)
}

fn signer_pub() -> PathBuf {
    fixture(&format!("{}/{}.pub", fx::KEYS_DIR, fx::SIGNER))
}

// ---------------------------------------------------------------------------------------
// Archives
// ---------------------------------------------------------------------------------------

/// The sample bundle's metadata entries (manifest, envelope, SHA256SUMS) and `payload/`, as a
/// tar stream without its end marker: hostile payload entries are appended to it.
fn sample_metadata_tar() -> TarWriter {
    let mtime = fx::created_at_unix();
    let entries = tar::tree_entries(&fixture(fx::SAMPLE_DIR)).unwrap();
    let mut t = TarWriter::new();
    let head: Vec<_> = entries
        .into_iter()
        .take_while(|e| e.path() == "payload" || tar::METADATA.contains(&e.path()))
        .collect();
    assert_eq!(head.len(), 4, "{head:?}");
    t.bytes(&tar::write_entries(&head, mtime).unfinished());
    t
}

/// `bundle verify ARCHIVE --trusted-key ... --json` under the default cap.
fn verify_archive(archive: &Path) -> Run {
    run_capped(
        "evidence",
        &[
            os("bundle"),
            os("verify"),
            archive.as_os_str(),
            os("--trusted-key"),
            signer_pub().as_os_str(),
            os("--json"),
        ],
        CAP_KIB,
    )
}

#[test]
fn a_million_tiny_entries_stop_at_the_entry_limit_in_bounded_memory() {
    // 1,000,001 empty files after the sample's metadata: one more than the default entry limit.
    // Headers are stamped from a template (name and checksum patched), and the stream is
    // compressed as it is made, so the 500 MB of tar never exist at once.
    const N: usize = 1_000_001;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.tar.gz");
    let file = fs::File::create(&path).unwrap();
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(std::io::BufWriter::new(file), flate2::Compression::fast());
    gz.write_all(&sample_metadata_tar().unfinished()).unwrap();
    let template = Header::file("payload/f0000000", 0, fx::created_at_unix()).to_block();
    let digits = 9..16; // "f" + 7 digits at 8..16
    let base: u64 = template
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                u64::from(b' ')
            } else if digits.contains(&i) {
                0
            } else {
                u64::from(*b)
            }
        })
        .sum();
    let mut block = template;
    let mut chunk = Vec::with_capacity(512 * 4096);
    for i in 0..N {
        let name = format!("{i:07}");
        block[9..16].copy_from_slice(name.as_bytes());
        let sum = base + name.bytes().map(u64::from).sum::<u64>();
        block[148..155].copy_from_slice(format!("{sum:07o}").as_bytes());
        block[155] = 0;
        chunk.extend_from_slice(&block);
        if chunk.len() >= 512 * 4096 {
            gz.write_all(&chunk).unwrap();
            chunk.clear();
        }
    }
    chunk.extend_from_slice(&[0u8; 1024]);
    gz.write_all(&chunk).unwrap();
    gz.finish().unwrap().flush().unwrap();

    let run = verify_archive(&path);
    let report = assert_fails_with(&run, "bundle-archive-limit");
    let limit = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "bundle-archive-limit")
        .unwrap();
    assert!(
        limit["detail"]
            .as_str()
            .unwrap()
            .contains("1000000 entries"),
        "{limit}"
    );
}

#[test]
fn planted_entries_beyond_the_shown_limit_are_counted_not_listed() {
    use evidence_core::bundle::{self, DEFAULT_MAX_UNEXPECTED_SHOWN, VerifyOptions};
    let extra = DEFAULT_MAX_UNEXPECTED_SHOWN + 500;
    let mtime = fx::created_at_unix();
    let mut t = sample_metadata_tar();
    for i in 0..extra {
        t.file(&format!("payload/planted-{i:05}"), b"", mtime);
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("planted.tar.gz");
    fs::write(&archive, tar::gzip(&t.finish())).unwrap();
    let v = bundle::verify_path(&archive, &VerifyOptions::default());
    assert!(!v.report.ok());
    let unlisted: Vec<_> = v
        .report
        .checks
        .iter()
        .filter(|c| c.code == "bundle-file-unlisted")
        .collect();
    assert_eq!(unlisted.len(), DEFAULT_MAX_UNEXPECTED_SHOWN + 1);
    let summary = unlisted.last().unwrap();
    assert_eq!(summary.data["count"], json!(500));
    assert!(summary.path.is_none());
    // The listed files were never reached as payload entries: each is missing.
    assert!(
        v.report
            .checks
            .iter()
            .any(|c| c.code == "bundle-file-missing")
    );
}
