//! Hostile inputs (issue 6): each case asserts a clean failure with its specific check code
//! (or error variant), reached in bounded memory and time.
//!
//! - Memory is bounded by a hard cap, not measured: CLI cases run the binary under
//!   `ulimit -v` (the address-space limit, [`CAP_KIB`] unless a case says otherwise), far below
//!   what reading the hostile input whole, or unpacking it, would need. A process that exceeds
//!   its cap dies (exit 101 or a signal), which fails the exit-code assertion. The runs set
//!   `MALLOC_ARENA_MAX=1`: glibc otherwise gives a thread that meets a busy allocator its own
//!   arena, reserving 64 MiB of address space (not memory) at once, and whether that happens
//!   depends on timing, so on a loaded machine the cap would measure luck, not the program.
//! - Time is only guarded against hangs: a process still running after [`HANG_GUARD`] is killed
//!   and the test fails. Nothing here measures speed (DESIGN section 6).
//! - Large inputs are generated into temporary folders at test time.
//!
//! Cases where the library API is the natural level (races, limits lowered through the
//! `*Limits` structs) call the library directly.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evidence_tests::fixtures::bundle as fx;
use evidence_tests::fixtures::tar::{self, Header, TarWriter, kind};
use evidence_tests::workspace_root;
use serde_json::{Value, json};

use evidence_core::Sha256Digest;

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
        .env("MALLOC_ARENA_MAX", "1")
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

/// Every entry below `dir`, relative, sorted (links not followed).
fn entries_of(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

/// `bundle unpack ARCHIVE --out DIR/out` under the default cap; asserts nothing was written
/// beside `out` either.
fn unpack_archive(archive: &Path) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = run_capped(
        "evidence",
        &[
            os("bundle"),
            os("unpack"),
            archive.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--trusted-key"),
            signer_pub().as_os_str(),
            os("--json"),
        ],
        CAP_KIB,
    );
    (run, dir)
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
fn a_million_tiny_entries_stop_early_in_bounded_memory() {
    // 1,000,001 empty files after the sample's metadata: one more than the default entry limit,
    // though the stream stops long before, at the bytes the manifest declares (each planted
    // header is a block the manifest never announced; the entry limit is tested in the library).
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
            .contains("bytes decompressed (the manifest declares 460 bytes in 4 files)"),
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

/// Raw deflate of `input` into `out` with `flush`, however much output it takes.
fn deflate(
    c: &mut flate2::Compress,
    mut input: &[u8],
    flush: flate2::FlushCompress,
    out: &mut Vec<u8>,
) {
    loop {
        out.reserve(input.len() / 2 + (64 << 10));
        let before = c.total_in();
        c.compress_vec(input, out, flush).unwrap();
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            return;
        }
    }
}

/// One gzip member whose content is `prefix`, `zeros` zero bytes, then `suffix`, at deflate's
/// best ratio (about 1000:1). The zeros are compressed once per MiB with a full flush (which
/// resets the compressor), so every MiB after the first compresses to the same bytes and is
/// repeated rather than recompressed: a gigabyte of content costs a megabyte and no time.
fn gzip_with_zeros(prefix: &[u8], zeros: u64, suffix: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    const MIB: u64 = 1 << 20;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut c = Compress::new(Compression::best(), false);
    let mut crc = Crc::new();
    crc.update(prefix);
    let mut body = Vec::new();
    deflate(&mut c, prefix, FlushCompress::Full, &mut body);
    let zero_mib = vec![0u8; MIB as usize];
    let mut zero_crc = Crc::new();
    zero_crc.update(&zero_mib);
    let mut chunks = Vec::new();
    for _ in 0..(zeros / MIB).min(2) {
        let mut chunk = Vec::new();
        deflate(&mut c, &zero_mib, FlushCompress::Full, &mut chunk);
        chunks.push(chunk);
        crc.combine(&zero_crc);
    }
    for chunk in &chunks {
        body.extend_from_slice(chunk);
    }
    if zeros / MIB > 2 {
        assert_eq!(
            chunks[0], chunks[1],
            "a full flush makes every MiB of zeros compress alike"
        );
        for _ in 2..zeros / MIB {
            body.extend_from_slice(&chunks[1]);
            crc.combine(&zero_crc);
        }
    }
    let rest = vec![0u8; (zeros % MIB) as usize];
    crc.update(&rest);
    deflate(&mut c, &rest, FlushCompress::None, &mut body);
    crc.update(suffix);
    deflate(&mut c, suffix, FlushCompress::Finish, &mut body);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    let total = prefix.len() as u64 + zeros + suffix.len() as u64;
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out
}

const GIB: u64 = 1 << 30;

#[test]
fn the_bomb_generator_makes_valid_gzip() {
    let gz = gzip_with_zeros(b"head", 3 << 20, b"tail");
    let plain = tar::gunzip(&gz).unwrap();
    assert_eq!(plain.len(), 8 + (3 << 20));
    assert!(plain.starts_with(b"head") && plain.ends_with(b"tail"));
    assert!(gz.len() < 8 << 10, "{}", gz.len());
}

#[test]
fn a_gigabyte_gzip_bomb_is_stopped_at_what_the_manifest_declares() {
    // A payload entry of 1 GiB of zeros the manifest never declared: about 1 MiB compressed.
    // Verifying reads little more than the manifest declares (its files in tar blocks, their
    // headers, 1 MiB of end padding); unpacking writes nothing that stays, anywhere.
    let mut prefix = sample_metadata_tar().unfinished();
    prefix.extend_from_slice(&Header::file("payload/zeros", GIB, fx::created_at_unix()).to_block());
    let gz = gzip_with_zeros(&prefix, GIB, &[0u8; 1024]);
    assert!(gz.len() < 2 << 20, "{}", gz.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.gz");
    fs::write(&path, &gz).unwrap();
    let report = assert_fails_with(&verify_archive(&path), "bundle-archive-limit");
    assert!(report.to_string().contains("gzip bomb"), "{report:#}");
    let (run, out) = unpack_archive(&path);
    assert_fails_with(&run, "bundle-archive-limit");
    assert_eq!(entries_of(out.path()), Vec::<String>::new());
}

#[test]
fn a_small_gzip_bomb_meets_lowered_library_limits() {
    // About 1 KiB expanding to 1 MiB in manifest.json: the caller lowers the metadata limits,
    // and the stream stops at them, before any payload entry.
    use evidence_core::bundle::{self, VerifyOptions};
    let mut prefix = Header::file("manifest.json", 1 << 20, 0)
        .to_block()
        .to_vec();
    prefix.truncate(512);
    let gz = gzip_with_zeros(&prefix, 1 << 20, &[0u8; 1024]);
    assert!(gz.len() <= 1536, "{}", gz.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small-bomb.tar.gz");
    fs::write(&path, &gz).unwrap();
    let mut opts = VerifyOptions::default();
    opts.limits.manifest.max_bytes = 64 << 10;
    opts.limits.max_metadata_bytes = 64 << 10;
    let v = bundle::verify_path(&path, &opts);
    let limit: Vec<_> = v
        .report
        .with_code(bundle::codes::BUNDLE_ARCHIVE_LIMIT)
        .collect();
    assert_eq!(limit.len(), 1, "{}", v.report.to_text(true));
    // Or by the total: a caller that allows only 256 KiB of content.
    let mut prefix = sample_metadata_tar().unfinished();
    prefix.extend_from_slice(
        &Header::file("payload/zeros", 1 << 20, fx::created_at_unix()).to_block(),
    );
    fs::write(&path, gzip_with_zeros(&prefix, 1 << 20, &[0u8; 1024])).unwrap();
    let mut opts = VerifyOptions::default();
    opts.limits.archive.max_total_bytes = 256 << 10;
    let v = bundle::verify_path(&path, &opts);
    assert!(
        v.report
            .with_code(bundle::codes::BUNDLE_ARCHIVE_LIMIT)
            .any(|c| c.detail.contains("bytes of content in total")),
        "{}",
        v.report.to_text(true)
    );
}

#[test]
fn a_gigabyte_long_name_record_is_refused_unread() {
    // GNU long-name and PAX records are read by the tar crate whole into memory in its default
    // mode; a 1 GiB record of zeros (1 MiB compressed) must be refused from its header.
    let mtime = fx::created_at_unix();
    for (typeflag, code) in [
        (kind::GNU_LONG_NAME, "bundle-path-unsafe"),
        (kind::PAX, "bundle-archive-limit"),
    ] {
        let mut prefix = sample_metadata_tar().unfinished();
        let mut record = Header::file("././@LongLink", GIB, 0);
        record.typeflag = typeflag;
        prefix.extend_from_slice(&record.to_block());
        let mut suffix = Header::file("payload/x", 0, mtime).to_block().to_vec();
        suffix.extend_from_slice(&[0u8; 1024]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.tar.gz");
        fs::write(&path, gzip_with_zeros(&prefix, GIB, &suffix)).unwrap();
        assert_fails_with(&verify_archive(&path), code);
        // `bundle inspect` and `scan` read the same entries: a clean refusal, no crash.
        let inspect = run_capped(
            "evidence",
            &[os("bundle"), os("inspect"), path.as_os_str()],
            CAP_KIB,
        );
        assert!(
            matches!(inspect.code, Some(0..=2)),
            "{:?} {}",
            inspect.code,
            inspect.stderr
        );
        let scan = run_capped(
            "evidence",
            &[os("scan"), path.as_os_str(), os("--json")],
            CAP_KIB,
        );
        assert!(
            matches!(scan.code, Some(0..=2)),
            "{:?} {}",
            scan.code,
            scan.stderr
        );
    }
}

#[test]
fn a_pax_size_that_disagrees_with_the_header_is_refused() {
    let mut t = sample_metadata_tar();
    t.pax(&[("size", "1024")]);
    t.file("payload/status.json", b"{}\n", fx::created_at_unix());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pax.tar.gz");
    fs::write(&path, tar::gzip(&t.finish())).unwrap();
    assert_fails_with(&verify_archive(&path), "bundle-archive-invalid");
    let (run, out) = unpack_archive(&path);
    assert_fails_with(&run, "bundle-archive-invalid");
    assert_eq!(entries_of(out.path()), Vec::<String>::new());
}

#[test]
fn gnu_long_names_with_dotdot_write_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let unique = format!("hostile-longname-{}", std::process::id());
    let parent = dir.path().to_owned();
    let escape = format!("payload/{}{}{unique}", "d/".repeat(60), "../".repeat(64));
    assert!(escape.len() > 100);
    let mut t = sample_metadata_tar();
    t.entry(Header::file(&escape, 0, 0), &escape, b"escaped\n");
    let path = dir.path().join("longname.tar.gz");
    fs::write(&path, tar::gzip(&t.finish())).unwrap();
    assert_fails_with(&verify_archive(&path), "bundle-path-unsafe");
    let (run, out) = unpack_archive(&path);
    assert_fails_with(&run, "bundle-path-unsafe");
    assert_eq!(entries_of(out.path()), Vec::<String>::new());
    assert!(!parent.join(&unique).exists());
    assert!(!out.path().parent().unwrap().join(&unique).exists());
}

#[test]
fn archive_entry_names_that_are_not_utf8_or_ten_thousand_components_deep_are_refused() {
    let mtime = fx::created_at_unix();
    let deep = format!("payload/{}", vec!["a"; 9_999].join("/"));
    for name in [b"payload/bad\xff.txt".to_vec(), deep.into_bytes()] {
        let mut t = sample_metadata_tar();
        if name.len() > 100 {
            let mut long = Header::file("././@LongLink", name.len() as u64 + 1, 0);
            long.typeflag = kind::GNU_LONG_NAME;
            let mut data = name.clone();
            data.push(0);
            t.raw(&long, &data);
        }
        let mut h = Header::file("", 0, mtime);
        h.name = name.clone();
        t.raw(&h, &[]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.tar.gz");
        fs::write(&path, tar::gzip(&t.finish())).unwrap();
        assert_fails_with(&verify_archive(&path), "bundle-path-unsafe");
    }
}

// ---------------------------------------------------------------------------------------
// Releases and checksum files
// ---------------------------------------------------------------------------------------

/// A release folder with one asset and its SHA256SUMS.
fn small_release() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.tar.gz"), b"app").unwrap();
    let sums = evidence_core::sums::write(&BTreeMap::from([(
        "app.tar.gz".to_owned(),
        Sha256Digest::of(b"app"),
    )]));
    fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
    dir
}

fn release_verify(dir: &Path, extra: &[&OsStr]) -> Run {
    let mut args = vec![dir.as_os_str(), os("--json")];
    args.extend_from_slice(extra);
    run_capped("release-verify", &args, CAP_KIB)
}

#[test]
fn a_100_mb_single_line_checksum_file_fails_within_a_small_memory_cap() {
    let dir = small_release();
    let sums = dir.path().join("SHA256SUMS");
    let mut f = fs::File::create(&sums).unwrap();
    let line = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&line).unwrap();
    }
    drop(f);
    assert_fails_with(&release_verify(dir.path(), &[]), "input-too-large");
    // A caller that raises the byte limit gets the line refused, not buffered as a name.
    use evidence_core::sums::{self, LineProblem, SumsLimits};
    let mut limits = SumsLimits::default();
    limits.max_bytes = 128 << 20;
    let parsed = sums::parse(&fs::read(&sums).unwrap(), &limits).unwrap();
    assert!(parsed.entries.is_empty());
    assert!(matches!(
        parsed.bad_lines[..],
        [sums::BadLine {
            line: 1,
            problem: LineProblem::TooLong {
                len: 104_857_600,
                ..
            }
        }]
    ));
    let checks = sums::parse_checks(&parsed, "SHA256SUMS", true);
    assert!(checks.iter().any(|c| c.code == "sums-line-malformed"));
    assert!(checks.iter().any(|c| c.code == "sums-empty"));
}

/// `[[[[...]]]]`, `depth` levels.
fn deep_json(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

const DEEP: usize = 100_000;

#[test]
fn json_nested_100000_deep_is_refused_by_every_reader() {
    use evidence_core::json::{self, JsonError, JsonLimits};
    let deep = deep_json(DEEP);
    // The strict reader.
    assert!(matches!(
        json::parse_strict(&deep, &JsonLimits::default()),
        Err(JsonError::TooDeep { limit: 64, .. })
    ));
    // Deep inside an object too (a member whose value nests).
    let mut obj = b"{\"a\":".to_vec();
    obj.extend_from_slice(&deep);
    obj.push(b'}');
    assert!(matches!(
        json::parse_strict(&obj, &JsonLimits::default()),
        Err(JsonError::TooDeep { .. })
    ));

    // The manifest and the envelope of a bundle folder.
    for (file, code) in [
        ("manifest.json", "bundle-manifest-invalid"),
        ("manifest.dsse.json", "bundle-envelope-invalid"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("b");
        fx::copy_tree(&fixture(fx::SAMPLE_DIR), &bundle).unwrap();
        fs::write(bundle.join(file), &obj).unwrap();
        let run = run_capped(
            "evidence",
            &[os("bundle"), os("verify"), bundle.as_os_str(), os("--json")],
            CAP_KIB,
        );
        assert_fails_with(&run, code);
    }

    // A statement (a line of an .intoto.jsonl file) and an SBOM of each format in a release
    // (marked as its format, so that its reader, not recognition, refuses it).
    let marked = |marker: &str| {
        let mut doc = format!("{{{marker},\"a\":").into_bytes();
        doc.extend_from_slice(&deep);
        doc.push(b'}');
        doc
    };
    for (file, content, code) in [
        ("deep.intoto.jsonl", obj.clone(), "provenance-invalid"),
        (
            "SBOM.spdx.json",
            marked("\"spdxVersion\":\"SPDX-2.3\""),
            "input-too-large",
        ),
        (
            "bom.cdx.json",
            marked("\"bomFormat\":\"CycloneDX\""),
            "input-too-large",
        ),
    ] {
        let dir = small_release();
        let mut content = content;
        content.push(b'\n');
        fs::write(dir.path().join(file), &content).unwrap();
        if file != "deep.intoto.jsonl" {
            // The SBOM is an asset: listed like one, and only then read as an SBOM.
            let sums = evidence_core::sums::write(&BTreeMap::from([
                ("app.tar.gz".to_owned(), Sha256Digest::of(b"app")),
                (file.to_owned(), Sha256Digest::of(&content)),
            ]));
            fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        }
        assert_fails_with(&release_verify(dir.path(), &[]), code);
    }

    // A journal line.
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("events.jsonl");
    let mut lines = b"{\"type\":\"ok\"}\n".to_vec();
    lines.extend_from_slice(&obj);
    lines.push(b'\n');
    fs::write(&journal, &lines).unwrap();
    let run = run_capped(
        "evidence",
        &[
            os("journal"),
            os("verify"),
            journal.as_os_str(),
            os("--json"),
        ],
        CAP_KIB,
    );
    let report = assert_fails_with(&run, "journal-line-not-json");
    let bad = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "journal-line-not-json")
        .unwrap();
    assert_eq!(bad["line"], 2);
}

/// A DSSE envelope over `payload` carrying `n` (invalid) signatures.
fn envelope_with_signatures(payload_type: &str, payload: &[u8], n: usize) -> Vec<u8> {
    let sig = evidence_core::dsse::encode_base64(&[7u8; 64]);
    let sigs: Vec<Value> = (0..n).map(|_| json!({"keyid": "", "sig": sig})).collect();
    serde_json::to_vec(&json!({
        "payloadType": payload_type,
        "payload": evidence_core::dsse::encode_base64(payload),
        "signatures": sigs,
    }))
    .unwrap()
}

#[test]
fn an_envelope_with_100000_signatures_is_refused() {
    use evidence_core::dsse::{self, DsseError, Envelope};
    let manifest = fs::read(fixture(fx::SAMPLE_DIR).join("manifest.json")).unwrap();
    let bytes = envelope_with_signatures(dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST, &manifest, 100_000);
    // Refused while reading, before 100,000 signatures are built.
    assert!(matches!(
        Envelope::parse(&bytes, &Default::default()),
        Err(DsseError::TooManyValues { limit: 64 })
    ));
    // At the limit it reads; one over, it is refused.
    let at_limit = envelope_with_signatures(dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST, &manifest, 64);
    assert_eq!(
        Envelope::parse(&at_limit, &Default::default())
            .unwrap()
            .signatures
            .len(),
        64
    );
    let over = envelope_with_signatures(dsse::PAYLOAD_TYPE_BUNDLE_MANIFEST, &manifest, 65);
    assert!(Envelope::parse(&over, &Default::default()).is_err());
    // In a bundle, with and without trusted keys.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    fx::copy_tree(&fixture(fx::SAMPLE_DIR), &bundle).unwrap();
    fs::write(bundle.join("manifest.dsse.json"), &bytes).unwrap();
    for trusted in [false, true] {
        let mut args = vec![os("bundle"), os("verify"), bundle.as_os_str(), os("--json")];
        let key = signer_pub();
        if trusted {
            args.extend([os("--trusted-key"), key.as_os_str()]);
        }
        assert_fails_with(
            &run_capped("evidence", &args, CAP_KIB),
            "bundle-envelope-invalid",
        );
    }
    // Beside a release's checksum file.
    let dir = small_release();
    let sums = fs::read(dir.path().join("SHA256SUMS")).unwrap();
    fs::write(
        dir.path().join("SHA256SUMS.dsse.json"),
        envelope_with_signatures(dsse::PAYLOAD_TYPE_SHA256SUMS, &sums, 100_000),
    )
    .unwrap();
    let key = signer_pub();
    assert_fails_with(
        &release_verify(dir.path(), &[os("--trusted-key"), key.as_os_str()]),
        "release-sums-envelope-invalid",
    );
}

#[test]
fn a_statement_with_100000_subjects_is_refused() {
    let subjects: Vec<Value> = (0..100_000)
        .map(|i| json!({"name": format!("asset-{i}"), "digest": {"sha256": Sha256Digest::of(b"app").to_hex()}}))
        .collect();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    });
    let dir = small_release();
    // As a bare statement and inside a DSSE envelope.
    let bare = serde_json::to_vec(&statement).unwrap();
    let wrapped = envelope_with_signatures("application/vnd.in-toto+json", &bare, 1);
    for line in [bare, wrapped] {
        let mut content = line;
        content.push(b'\n');
        fs::write(dir.path().join("many.intoto.jsonl"), &content).unwrap();
        // Refused by the memory estimate after about 19,000 subjects, long before 100,000.
        let report = assert_fails_with(&release_verify(dir.path(), &[]), "provenance-invalid");
        assert!(report.to_string().contains("bytes of memory"), "{report:#}");
    }
}

// ---------------------------------------------------------------------------------------
// Names on disk
// ---------------------------------------------------------------------------------------

#[test]
fn names_that_are_not_utf8_fail_in_a_release_and_in_a_bundle() {
    let dir = small_release();
    fs::write(
        dir.path().join(OsStr::from_bytes(b"caf\xe9.txt")),
        b"latin-1",
    )
    .unwrap();
    assert_fails_with(&release_verify(dir.path(), &[]), "sums-tree-incomplete");

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    fx::copy_tree(&fixture(fx::SAMPLE_DIR), &bundle).unwrap();
    fs::write(
        bundle.join(OsStr::from_bytes(b"payload/caf\xe9.txt")),
        b"latin-1",
    )
    .unwrap();
    let key = signer_pub();
    let run = run_capped(
        "evidence",
        &[
            os("bundle"),
            os("verify"),
            bundle.as_os_str(),
            os("--trusted-key"),
            key.as_os_str(),
            os("--json"),
        ],
        CAP_KIB,
    );
    assert_fails_with(&run, "bundle-path-unsafe");
}

/// Makes `top/a/a/.../a` (`depth` folders below `top`) with paths no longer than a few bytes:
/// the chain is grown at the top by renames, never addressed by its full path.
fn deep_chain(top: &Path, depth: usize) {
    let parent = top.parent().unwrap();
    let spare = parent.join("deep-chain-spare");
    fs::create_dir(top).unwrap();
    for _ in 0..depth {
        fs::create_dir(&spare).unwrap();
        fs::rename(top, spare.join("a")).unwrap();
        fs::rename(&spare, top).unwrap();
    }
}

/// Removes what [`deep_chain`] made, the same way in reverse.
fn remove_deep_chain(top: &Path) {
    let spare = top.parent().unwrap().join("deep-chain-spare");
    while top.join("a").exists() {
        fs::rename(top.join("a"), &spare).unwrap();
        fs::remove_dir_all(top).unwrap();
        fs::rename(&spare, top).unwrap();
    }
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn paths_of_10000_components_are_refused_everywhere() {
    let deep_name = vec!["a"; 10_000].join("/");
    // A checksum line: longer than the line limit by default; with the limit raised, the path
    // rules refuse it before anything touches the disk.
    let dir = small_release();
    let digest = Sha256Digest::of(b"x").to_hex();
    let line = format!("{digest}  {deep_name}\n");
    fs::write(dir.path().join("SHA256SUMS"), &line).unwrap();
    assert_fails_with(&release_verify(dir.path(), &[]), "sums-line-malformed");
    {
        use evidence_core::hash::NoProgress;
        use evidence_core::sums::{self, SumsLimits, TreeOptions};
        let mut limits = SumsLimits::default();
        limits.max_line_bytes = 64 << 10;
        let parsed = sums::parse(line.as_bytes(), &limits).unwrap();
        assert_eq!(parsed.entries.len(), 1);
        let mut checks = Vec::new();
        sums::verify_tree(
            dir.path(),
            &parsed,
            &TreeOptions {
                ignore_missing: false,
                allow_unlisted: &[],
                is_metadata: &|n| n == "SHA256SUMS",
                limits,
                progress: &NoProgress,
            },
            &mut checks,
        )
        .unwrap();
        let unsafe_path: Vec<_> = checks
            .iter()
            .filter(|c| c.code == "sums-path-unsafe")
            .collect();
        assert_eq!(unsafe_path.len(), 1);
        assert!(
            unsafe_path[0].detail.contains("length limit"),
            "{}",
            unsafe_path[0].detail
        );
    }

    // A manifest path.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    fx::copy_tree(&fixture(fx::SAMPLE_DIR), &bundle).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    manifest["files"][3]["path"] = json!(format!("payload/{deep_name}"));
    fs::write(
        bundle.join("manifest.json"),
        evidence_core::canonical::to_canonical_vec(&manifest).unwrap(),
    )
    .unwrap();
    let run = run_capped(
        "evidence",
        &[os("bundle"), os("verify"), bundle.as_os_str(), os("--json")],
        CAP_KIB,
    );
    assert_fails_with(&run, "bundle-path-unsafe");

    // Folders deeper than the component limit on disk, in a release and in a bundle: listed to
    // the limit, reported, never descended further. (300 levels rather than 10,000: the
    // walk stops at 128 either way, and removing a folder costs milliseconds on some file
    // systems, which 10,000 of them would turn into a minute.)
    let dir = small_release();
    let top = dir.path().join("a");
    deep_chain(&top, 299);
    assert_fails_with(&release_verify(dir.path(), &[]), "sums-tree-incomplete");
    remove_deep_chain(&top);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    fx::copy_tree(&fixture(fx::SAMPLE_DIR), &bundle).unwrap();
    let top = bundle.join("payload/a");
    deep_chain(&top, 298);
    let run = run_capped(
        "evidence",
        &[os("bundle"), os("verify"), bundle.as_os_str(), os("--json")],
        CAP_KIB,
    );
    assert_fails_with(&run, "bundle-path-unsafe");
    remove_deep_chain(&top);
}

#[test]
fn names_that_collide_after_normalisation_or_case_folding_are_refused() {
    let nfc = "caf\u{e9}.txt";
    let nfd = "cafe\u{301}.txt";
    for (a, b) in [(nfc, nfd), ("README", "readme")] {
        // Both exist on disk (Linux compares bytes), both listed.
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(a), b"one").unwrap();
        fs::write(dir.path().join(b), b"two").unwrap();
        let sums = evidence_core::sums::write(&BTreeMap::from([
            (a.to_owned(), Sha256Digest::of(b"one")),
            (b.to_owned(), Sha256Digest::of(b"two")),
        ]));
        fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        assert_fails_with(&release_verify(dir.path(), &[]), "sums-entry-collision");

        // Sealing such a folder is refused and writes nothing.
        fs::remove_file(dir.path().join("SHA256SUMS")).unwrap();
        let key = dir.path().join("k.key");
        fx::write_private_key(fx::SIGNER, &key).unwrap();
        let keydir = tempfile::tempdir().unwrap();
        let key2 = keydir.path().join("k.key");
        fs::rename(&key, &key2).unwrap();
        let run = run_capped(
            "evidence",
            &[
                os("release"),
                os("seal"),
                dir.path().as_os_str(),
                os("--key"),
                key2.as_os_str(),
                os("--builder-id"),
                os("https://ci.example/b"),
            ],
            CAP_KIB,
        );
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        assert!(run.stderr.contains("collides"), "{}", run.stderr);
        let mut left = entries_of(dir.path());
        left.sort();
        let mut want = vec![a.to_owned(), b.to_owned()];
        want.sort();
        assert_eq!(left, want);

        // A manifest listing both.
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("b");
        fx::copy_tree(&fixture(fx::SAMPLE_DIR), &bundle).unwrap();
        let mut manifest: Value =
            serde_json::from_slice(&fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
        let files = manifest["files"].as_array_mut().unwrap();
        let mut first = files[3].clone();
        first["path"] = json!(format!("payload/{a}"));
        let mut second = files[3].clone();
        second["path"] = json!(format!("payload/{b}"));
        files.push(first);
        files.push(second);
        files.sort_by(|x, y| {
            x["path"]
                .as_str()
                .unwrap()
                .as_bytes()
                .cmp(y["path"].as_str().unwrap().as_bytes())
        });
        fs::write(
            bundle.join("manifest.json"),
            evidence_core::canonical::to_canonical_vec(&manifest).unwrap(),
        )
        .unwrap();
        let run = run_capped(
            "evidence",
            &[os("bundle"), os("verify"), bundle.as_os_str(), os("--json")],
            CAP_KIB,
        );
        assert_fails_with(&run, "bundle-path-collision");
    }
}

// ---------------------------------------------------------------------------------------
// Races, made deterministic through the library's hooks
// ---------------------------------------------------------------------------------------

/// A release of one 3 MiB asset `big.bin` (hashed in several reads) and its parsed checksums.
fn release_with_big_asset() -> (tempfile::TempDir, evidence_core::sums::ParsedSums) {
    let dir = tempfile::tempdir().unwrap();
    let data = vec![0x42u8; 3 << 20];
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/big.bin"), &data).unwrap();
    let sums = evidence_core::sums::write(&BTreeMap::from([(
        "sub/big.bin".to_owned(),
        Sha256Digest::of(&data),
    )]));
    fs::write(dir.path().join("SHA256SUMS"), &sums).unwrap();
    let parsed =
        evidence_core::sums::parse(&sums, &evidence_core::sums::SumsLimits::default()).unwrap();
    (dir, parsed)
}

fn verify_with(
    listing: evidence_core::tree::Tree,
    parsed: &evidence_core::sums::ParsedSums,
    progress: &dyn evidence_core::hash::Progress,
) -> Vec<evidence_core::Check> {
    use evidence_core::sums::{self, SumsLimits, TreeOptions};
    let mut checks = Vec::new();
    sums::verify_listing(
        listing,
        parsed,
        &TreeOptions {
            ignore_missing: false,
            allow_unlisted: &[],
            is_metadata: &|n| n == "SHA256SUMS",
            limits: SumsLimits::default(),
            progress,
        },
        &mut checks,
    );
    checks
}

/// Runs `change` once, at the first progress report (after the first chunk was hashed).
struct ChangeOnce<F: Fn() + Sync>(std::sync::Once, F);

impl<F: Fn() + Sync> evidence_core::hash::Progress for ChangeOnce<F> {
    fn advance(&self, _bytes: u64) {
        self.0.call_once(|| (self.1)());
    }
}

#[test]
fn a_file_that_changes_while_it_is_hashed_is_not_trusted() {
    use evidence_core::sums::{self, SumsLimits};
    // Appended to, and overwritten in place with its modification time put back: both seen.
    for restore_mtime in [false, true] {
        let (dir, parsed) = release_with_big_asset();
        let file = dir.path().join("sub/big.bin");
        let listing = sums::list_for_sums(dir.path(), &SumsLimits::default()).unwrap();
        let hook = ChangeOnce(std::sync::Once::new(), || {
            let before = fs::metadata(&file).unwrap().modified().unwrap();
            let mut f = fs::OpenOptions::new().write(true).open(&file).unwrap();
            if restore_mtime {
                // Same size, the tail replaced, the old time written back.
                use std::io::Seek as _;
                f.seek(std::io::SeekFrom::Start(2 << 20)).unwrap();
                f.write_all(&vec![0x43u8; 1 << 20]).unwrap();
                f.set_modified(before).unwrap();
            } else {
                use std::io::Seek as _;
                f.seek(std::io::SeekFrom::End(0)).unwrap();
                f.write_all(b"appended").unwrap();
            }
        });
        let checks = verify_with(listing, &parsed, &hook);
        let codes: Vec<&str> = checks
            .iter()
            .filter(|c| c.status == evidence_core::Status::Fail)
            .map(|c| c.code.as_ref())
            .collect();
        assert_eq!(
            codes,
            ["sums-entry-unreadable"],
            "restore_mtime={restore_mtime}"
        );
        assert!(
            checks
                .iter()
                .any(|c| c.detail.contains("changed while it was being hashed")),
            "{checks:?}"
        );
    }
}

#[test]
fn a_folder_replaced_by_a_symlink_between_listing_and_hashing_is_caught() {
    use evidence_core::hash::NoProgress;
    use evidence_core::sums::{self, SumsLimits};
    let (dir, parsed) = release_with_big_asset();
    let listing = sums::list_for_sums(dir.path(), &SumsLimits::default()).unwrap();
    // The folder moves away and a link to a look-alike takes its place: the same name now
    // reaches another file with the listed content.
    let elsewhere = tempfile::tempdir().unwrap();
    fs::create_dir(elsewhere.path().join("sub")).unwrap();
    fs::write(elsewhere.path().join("sub/big.bin"), vec![0x42u8; 3 << 20]).unwrap();
    fs::rename(dir.path().join("sub"), dir.path().join("sub-moved")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("sub"), dir.path().join("sub")).unwrap();
    let checks = verify_with(listing, &parsed, &NoProgress);
    let failing: Vec<_> = checks
        .iter()
        .filter(|c| c.status == evidence_core::Status::Fail)
        .collect();
    assert_eq!(failing.len(), 1, "{checks:?}");
    assert_eq!(failing[0].code, "sums-entry-unreadable");
    assert!(
        failing[0].detail.contains("replaced"),
        "{}",
        failing[0].detail
    );
    // Verified again from scratch, the link itself fails.
    let mut checks = Vec::new();
    let listing = sums::list_for_sums(dir.path(), &SumsLimits::default()).unwrap();
    checks.extend(verify_with(listing, &parsed, &NoProgress));
    assert!(checks.iter().any(|c| c.code == "sums-symlink"));
}
