//! Crash safety (issue 6, DESIGN 4 rule 11): `bundle create`, `bundle unpack`, `release seal`
//! and `deploy capture` are killed with SIGKILL at many points, and the destination must then
//! be either absent or complete and verifiable, never partial, with nothing else touched.
//!
//! Each command first runs once to completion to measure how long it takes; the kill delays
//! are then spread from 0 to a little past that time (in a fixed shuffled order), so early
//! kills land before anything is written, middle ones while files are written, and late ones
//! after the rename. The only strays allowed beside a destination are the writer's own
//! temporaries, `.NAME.tmp-PID-RANDOM` (FORMAT 5.7); a later run must succeed beside them.
//! Nothing here asserts speed: the measured time only places the kills.
//!
//! SIGINT and SIGTERM are different: the process removes what it was writing, says so and exits
//! 130 or 143. And a temporary that a SIGKILL left behind is named by the next run writing into
//! the same folder, and removed by `--clean-stale`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evidence_core::Sha256Digest;
use evidence_tests::fake_service::{FakeService, Reply};
use evidence_tests::fixtures::bundle as fx;
use evidence_tests::workspace_root;

/// Kills per command.
const ITERATIONS: usize = 24;

/// The tests run one at a time: each places its kills by the time a run takes, which other
/// tests writing and syncing gigabytes beside it would distort.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn evidence() -> Command {
    let program = evidence_tests::bin("evidence").get_program().to_owned();
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs `args` to completion (at most 60 s, as a hang guard); returns the exit code and the
/// time it took.
fn run_to_end(args: &[OsString]) -> (Option<i32>, Duration) {
    let started = Instant::now();
    let mut child = evidence().args(args).spawn().unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("evidence {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `args`, sends SIGKILL after `delay`, waits. True when the process had already ended.
fn kill_after(args: &[OsString], delay: Duration) -> bool {
    let mut child = evidence().args(args).spawn().unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    // `Child::kill` sends SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// `n` delays spread evenly over `[0, span]`, in a fixed shuffled order.
fn delays(n: usize, span: Duration) -> Vec<Duration> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
        .into_iter()
        .map(|k| span.mul_f64(k as f64 / (n.max(2) - 1) as f64))
        .collect()
}

/// The names in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// True for the writer's temporaries of `dest` (`.DEST.tmp-PID-RANDOM`).
fn is_temp_of(name: &str, dest: &str) -> bool {
    evidence_core::atomic::is_temp_name_for(name, dest)
}

/// Every file below `dir` (relative path -> SHA-256), links not followed.
fn digests(dir: &Path) -> BTreeMap<String, Sha256Digest> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, Sha256Digest::of(&fs::read(e.path()).unwrap()))
        })
        .collect()
}

/// Deterministic, incompressible-looking bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Keys and inputs shared by the tests.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fx::write_private_key(fx::SIGNER, &dir.path().join("signer.key")).unwrap();
        Self { dir }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("signer.key")
    }

    fn public(&self) -> PathBuf {
        workspace_root()
            .join("fixtures")
            .join(fx::KEYS_DIR)
            .join(format!("{}.pub", fx::SIGNER))
    }

    /// A folder of `files` files of `size` bytes each.
    fn inputs(&self, name: &str, files: usize, size: usize) -> PathBuf {
        let dir = self.dir.path().join(name);
        fs::create_dir_all(dir.join("nested")).unwrap();
        for i in 0..files {
            let at = if i % 2 == 0 {
                dir.join(format!("part-{i:02}.bin"))
            } else {
                dir.join(format!("nested/part-{i:02}.bin"))
            };
            fs::write(at, noise(i as u64 + 1, size)).unwrap();
        }
        dir
    }

    /// `evidence bundle verify DIR --trusted-key ...` exits 0.
    fn bundle_verifies(&self, bundle: &Path) -> bool {
        let args: Vec<OsString> = vec![
            "bundle".into(),
            "verify".into(),
            bundle.into(),
            "--trusted-key".into(),
            self.public().into(),
        ];
        run_to_end(&args).0 == Some(0)
    }
}

/// What the kills of one command observed.
#[derive(Debug, Default)]
struct Tally {
    absent: usize,
    complete: usize,
    temporaries_left: usize,
}

/// Checks the folder `parent`, which held nothing but the destination `dest` may have been
/// written into: only `dest` and its temporaries may be there, and `dest`, if present, must
/// pass `complete`.
fn judge(parent: &Path, dest: &str, tally: &mut Tally, complete: impl Fn(&Path) -> bool) {
    let mut temporaries = 0;
    for name in names(parent) {
        if name == dest {
            continue;
        }
        assert!(is_temp_of(&name, dest), "stray {name} beside {dest}");
        temporaries += 1;
    }
    tally.temporaries_left += temporaries;
    let path = parent.join(dest);
    if path.exists() {
        assert!(
            complete(&path),
            "{} exists but does not verify",
            path.display()
        );
        tally.complete += 1;
    } else {
        tally.absent += 1;
    }
}

#[test]
fn bundle_create_killed_anywhere_leaves_no_partial_bundle() {
    let _serial = one_at_a_time();
    let setup = Setup::new();
    let inputs = setup.inputs("create-inputs", 12, 2 << 20);
    let before = digests(&inputs);
    let args = |out: &Path| -> Vec<OsString> {
        vec![
            "bundle".into(),
            "create".into(),
            "--kind".into(),
            "deployment".into(),
            "--created-at".into(),
            "2026-11-22T09:30:00Z".into(),
            "--sign".into(),
            setup.key().into(),
            "--out".into(),
            out.into(),
            inputs.clone().into(),
        ]
    };
    let reference = tempfile::tempdir().unwrap();
    let (code, took) = run_to_end(&args(&reference.path().join("out")));
    assert_eq!(code, Some(0));
    let mut tally = Tally::default();
    for (i, delay) in delays(ITERATIONS, took.mul_f64(1.3))
        .into_iter()
        .enumerate()
    {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        kill_after(&args(&out), delay);
        judge(parent.path(), "out", &mut tally, |p| {
            setup.bundle_verifies(p) && digests(p) == digests(&reference.path().join("out"))
        });
        // A later run beside whatever was left succeeds (every third kill, to keep time).
        if !out.exists() && i % 3 == 0 {
            assert_eq!(run_to_end(&args(&out)).0, Some(0));
            assert!(setup.bundle_verifies(&out));
        }
    }
    assert_eq!(digests(&inputs), before, "the inputs were touched");
    eprintln!("bundle create: {tally:?}");
    assert!(
        tally.absent > 0,
        "{tally:?}: no kill landed before the rename"
    );
}

#[test]
fn bundle_unpack_killed_anywhere_leaves_no_partial_folder() {
    let _serial = one_at_a_time();
    let setup = Setup::new();
    let inputs = setup.inputs("unpack-inputs", 12, 2 << 20);
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    let archive = work.path().join("bundle.tar.gz");
    let created: Vec<OsString> = vec![
        "bundle".into(),
        "create".into(),
        "--kind".into(),
        "deployment".into(),
        "--sign".into(),
        setup.key().into(),
        "--out".into(),
        bundle.clone().into(),
        inputs.into(),
    ];
    assert_eq!(run_to_end(&created).0, Some(0));
    let pack: Vec<OsString> = vec![
        "bundle".into(),
        "pack".into(),
        bundle.clone().into(),
        "--out".into(),
        archive.clone().into(),
    ];
    assert_eq!(run_to_end(&pack).0, Some(0));
    let archive_digest = Sha256Digest::of(&fs::read(&archive).unwrap());
    let expected = digests(&bundle);
    let args = |out: &Path| -> Vec<OsString> {
        vec![
            "bundle".into(),
            "unpack".into(),
            archive.clone().into(),
            "--out".into(),
            out.into(),
            "--trusted-key".into(),
            setup.public().into(),
        ]
    };
    let reference = tempfile::tempdir().unwrap();
    let (code, took) = run_to_end(&args(&reference.path().join("out")));
    assert_eq!(code, Some(0));
    let mut tally = Tally::default();
    for (i, delay) in delays(ITERATIONS, took.mul_f64(1.3))
        .into_iter()
        .enumerate()
    {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        kill_after(&args(&out), delay);
        judge(parent.path(), "out", &mut tally, |p| {
            setup.bundle_verifies(p) && digests(p) == expected
        });
        if !out.exists() && i % 3 == 0 {
            assert_eq!(run_to_end(&args(&out)).0, Some(0));
            assert_eq!(digests(&out), expected);
        }
    }
    assert_eq!(
        Sha256Digest::of(&fs::read(&archive).unwrap()),
        archive_digest
    );
    eprintln!("bundle unpack: {tally:?}");
    assert!(
        tally.absent > 0,
        "{tally:?}: no kill landed before the rename"
    );
}

/// The three files a seal writes, in rename order; SHA256SUMS is the commit point.
const SEAL_OUTPUTS: [&str; 3] = ["release.intoto.jsonl", "SHA256SUMS.dsse.json", "SHA256SUMS"];

#[test]
fn release_seal_killed_anywhere_commits_with_sha256sums_or_not_at_all() {
    let _serial = one_at_a_time();
    let setup = Setup::new();
    let assets = setup.inputs("release-assets", 8, 4 << 20);
    let before = digests(&assets);
    let args = |dir: &Path| -> Vec<OsString> {
        vec![
            "release".into(),
            "seal".into(),
            dir.into(),
            "--key".into(),
            setup.key().into(),
            "--builder-id".into(),
            "https://ci.example/release@v1".into(),
        ]
    };
    let verifies = |dir: &Path| -> bool {
        let v: Vec<OsString> = vec![
            "release".into(),
            "verify".into(),
            dir.into(),
            "--trusted-key".into(),
            setup.public().into(),
        ];
        run_to_end(&v).0 == Some(0)
    };
    let copy = |to: &Path| {
        for rel in before.keys() {
            let dest = to.join(rel);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::copy(assets.join(rel), dest).unwrap();
        }
    };
    let reference = tempfile::tempdir().unwrap();
    copy(reference.path());
    let (code, took) = run_to_end(&args(reference.path()));
    assert_eq!(code, Some(0));
    let sealed = digests(reference.path());
    let mut tally = Tally::default();
    let mut partial_outputs = 0;
    for (i, delay) in delays(ITERATIONS, took.mul_f64(1.3))
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        copy(dir.path());
        kill_after(&args(dir.path()), delay);
        // Only the assets, the three outputs and their temporaries may be there.
        let mut temporaries = 0;
        for name in names(dir.path()) {
            let known = name == "nested"
                || before.contains_key(&name)
                || SEAL_OUTPUTS.contains(&name.as_str());
            let temp = SEAL_OUTPUTS.iter().any(|o| is_temp_of(&name, o));
            assert!(known || temp, "stray {name} in the release folder");
            temporaries += usize::from(temp);
        }
        tally.temporaries_left += temporaries;
        let now = digests(dir.path());
        for (rel, digest) in &before {
            assert_eq!(now.get(rel), Some(digest), "asset {rel} was touched");
        }
        // The commit point: SHA256SUMS present means all three, complete and verifiable.
        if dir.path().join("SHA256SUMS").exists() {
            for output in SEAL_OUTPUTS {
                assert!(dir.path().join(output).exists(), "{output} missing");
            }
            assert_eq!(now, sealed, "a committed seal differs from a complete one");
            assert!(verifies(dir.path()));
            tally.complete += 1;
        } else {
            tally.absent += 1;
            partial_outputs += SEAL_OUTPUTS
                .iter()
                .filter(|o| dir.path().join(o).exists())
                .count();
            // Sealing again beside the leftovers succeeds, seals only the assets and leaves
            // no temporary behind.
            if i % 2 == 0 {
                assert_eq!(run_to_end(&args(dir.path())).0, Some(0));
                assert_eq!(digests(dir.path()), sealed);
                assert!(verifies(dir.path()));
            }
        }
    }
    eprintln!("release seal: {tally:?}, outputs renamed before SHA256SUMS: {partial_outputs}");
    assert!(
        tally.absent > 0,
        "{tally:?}: no kill landed before the commit point"
    );
}

#[test]
fn deploy_capture_killed_anywhere_leaves_no_partial_pack() {
    let _serial = one_at_a_time();
    let setup = Setup::new();
    let big: String = (0..20_000)
        .map(|i| format!("{{\"event\":{i},\"msg\":\"line {i} of the log\"}},"))
        .collect();
    let big = format!("{{\"events\":[{}{{}}]}}", big);
    let service = FakeService::start(std::collections::HashMap::from([
        (
            "/health".to_owned(),
            Reply::json(serde_json::json!({"status": "ok"})),
        ),
        ("/slow".to_owned(), Reply::Slow(Duration::from_millis(150))),
        ("/big".to_owned(), Reply::raw(200, big.as_bytes())),
    ]));
    let profile = setup.dir.path().join("profile.json");
    let endpoint = |name: &str, path: &str| {
        serde_json::json!({"name": name, "path": path, "auth": false,
            "assert": [{"check": "status", "in": [200]}]})
    };
    fs::write(
        &profile,
        serde_json::to_vec(&serde_json::json!({
            "schema": "evidence.capture-profile/v1",
            "name": "crash-test",
            "endpoints": [
                endpoint("health", "/health"),
                endpoint("slow", "/slow"),
                endpoint("big", "/big"),
                endpoint("slow-again", "/slow"),
            ],
        }))
        .unwrap(),
    )
    .unwrap();
    let args = |out: &Path| -> Vec<OsString> {
        vec![
            "deploy".into(),
            "capture".into(),
            service.url.clone().into(),
            "--profile".into(),
            profile.clone().into(),
            "--sign".into(),
            setup.key().into(),
            "--created-at".into(),
            "2026-11-24T09:00:00Z".into(),
            "--out".into(),
            out.into(),
        ]
    };
    let reference = tempfile::tempdir().unwrap();
    let (code, took) = run_to_end(&args(&reference.path().join("out")));
    assert_eq!(code, Some(0));
    let mut tally = Tally::default();
    for delay in delays(ITERATIONS, took.mul_f64(1.3)) {
        let parent = tempfile::tempdir().unwrap();
        kill_after(&args(&parent.path().join("out")), delay);
        judge(parent.path(), "out", &mut tally, |p| {
            setup.bundle_verifies(p)
        });
    }
    eprintln!("deploy capture: {tally:?}");
    assert!(
        tally.absent > 0,
        "{tally:?}: no kill landed before the rename"
    );
}

/// Sends `signal` (INT, TERM) to process `pid` with kill(1).
fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Starts `args`, waits until a temporary of `dest` appears in `parent`, sends `signal`, and
/// returns the exit code, standard error and the temporary seen.
fn interrupt_once_writing(
    args: &[OsString],
    parent: &Path,
    dest: &str,
    signal: &str,
) -> (Option<i32>, String, PathBuf) {
    let mut child = evidence()
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let temp = loop {
        if let Some(name) = names(parent).into_iter().find(|n| is_temp_of(n, dest)) {
            break parent.join(name);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("evidence {args:?} ended ({status}) before its temporary appeared");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no temporary");
        std::thread::sleep(Duration::from_millis(2));
    };
    send_signal(child.id(), signal);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr, temp)
}

/// A folder holding one sparse file of `len` bytes: big to read, nothing on disk.
fn sparse_input(setup: &Setup, name: &str, len: u64) -> PathBuf {
    let dir = setup.dir.path().join(name);
    fs::create_dir(&dir).unwrap();
    fs::File::create(dir.join("disk.img"))
        .unwrap()
        .set_len(len)
        .unwrap();
    dir
}

fn create_args(setup: &Setup, out: &Path, input: &Path) -> Vec<OsString> {
    vec![
        "bundle".into(),
        "create".into(),
        "--kind".into(),
        "incident".into(),
        "--sign".into(),
        setup.key().into(),
        "--out".into(),
        out.into(),
        input.into(),
    ]
}

#[test]
fn bundle_create_interrupted_removes_its_temporary_and_exits_130() {
    let _serial = one_at_a_time();
    let setup = Setup::new();
    let input = sparse_input(&setup, "sparse", 2 << 30);
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    let args = create_args(&setup, &out, &input);
    let (code, stderr, temp) = interrupt_once_writing(&args, parent.path(), "out", "INT");
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr,
        format!("evidence: interrupted; removed {}\n", temp.display())
    );
    assert!(
        names(parent.path()).is_empty(),
        "{:?}",
        names(parent.path())
    );
}

#[test]
fn bundle_pack_terminated_removes_its_temporary_and_exits_143() {
    let _serial = one_at_a_time();
    let setup = Setup::new();
    let input = sparse_input(&setup, "sparse", 512 << 20);
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    assert_eq!(run_to_end(&create_args(&setup, &bundle, &input)).0, Some(0));
    let parent = tempfile::tempdir().unwrap();
    let args: Vec<OsString> = vec![
        "bundle".into(),
        "pack".into(),
        bundle.into(),
        "--out".into(),
        parent.path().join("b.tar.gz").into(),
    ];
    let (code, stderr, temp) = interrupt_once_writing(&args, parent.path(), "b.tar.gz", "TERM");
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(
        stderr,
        format!("evidence: interrupted; removed {}\n", temp.display())
    );
    assert!(
        names(parent.path()).is_empty(),
        "{:?}",
        names(parent.path())
    );
}

/// The pid of a process that has ended and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_temporary_left_by_a_killed_run_is_named_then_removed_with_clean_stale() {
    let setup = Setup::new();
    let input = setup.inputs("small", 2, 1024);
    let parent = tempfile::tempdir().unwrap();
    let pid = dead_pid();
    // What a `bundle create --out packs/old` killed with SIGKILL leaves.
    let stale = parent
        .path()
        .join(format!(".old.tmp-{pid}-0123456789abcdef"));
    fs::create_dir_all(stale.join("payload")).unwrap();
    fs::write(stale.join("payload/part"), b"partial").unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = create_args(&setup, &parent.path().join(out), &input);
        args.extend(extra.iter().map(OsString::from));
        let output = evidence()
            .args(&args)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let (code, stderr) = run("new", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "evidence: warning: {} is left from an interrupted run (pid {pid}, not running); \
             remove it or pass --clean-stale\n",
            stale.display()
        )
    );
    assert!(stale.exists(), "named, not removed");
    let (code, stderr) = run("newer", &["--clean-stale"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "evidence: removed {}, left from an interrupted run (pid {pid})\n",
            stale.display()
        )
    );
    assert_eq!(names(parent.path()), ["new", "newer"]);
    // Nothing stale left: nothing said.
    assert_eq!(run("newest", &[]).1, "");
}
