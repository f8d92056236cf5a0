//! `--logs-command`: run a shell command beside the capture and keep its output, bounded in
//! time and size.
//!
//! The shell leads its own process group. When it exits, or when the time is up, the whole
//! group is killed: a background child (`sleep 1000 &`) would otherwise hold the output pipes
//! open and the capture would wait for it forever. The readers are then given
//! [`LOGS_DRAIN_GRACE`] to see the pipes close; a process that left the group and still holds
//! them is not waited for (its reader is abandoned, the output kept so far is used and the
//! check fails). A run therefore ends within the timeout plus that grace.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::LogsOptions;
use super::codes::CAPTURE_LOGS;
use crate::bundle::build::Input;
use crate::report::Check;

/// How long the output pipes may stay open once the logs command's process group was ended:
/// a process that left the group (`setsid`) and still holds them is not waited for.
pub(super) const LOGS_DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What a reader thread kept of one pipe; shared so that a reader still blocked when the wait
/// ends gives up what it has.
#[derive(Debug, Default)]
struct Drained {
    kept: Vec<u8>,
    cut: bool,
}

/// How the command ended, and what it wrote.
struct Ended {
    status: Option<ExitStatus>,
    timed_out: bool,
    /// Whether both readers saw their pipe close within the grace.
    closed: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    cut: bool,
}

/// Runs the logs command (`sh -c`): its check, and the files to store (`logs/stdout.txt`,
/// and `logs/stderr.txt` when it wrote errors).
pub(super) fn run_logs(command: &str, opts: &LogsOptions) -> (Vec<Check>, Vec<Input>) {
    let started = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return (
                vec![Check::fail(
                    CAPTURE_LOGS,
                    format!("cannot start the logs command: {e}"),
                )],
                Vec::new(),
            );
        }
    };
    let (done, finished) = std::sync::mpsc::channel();
    let out = Arc::new(Mutex::new(Drained::default()));
    let err = Arc::new(Mutex::new(Drained::default()));
    drain(
        child.stdout.take(),
        opts.max_bytes,
        out.clone(),
        done.clone(),
    );
    drain(child.stderr.take(), opts.max_bytes, err.clone(), done);
    let (status, timed_out) = wait(&mut child, started, opts.timeout);
    let closed = wait_for_readers(&finished);
    let take = |d: &Mutex<Drained>| {
        d.lock()
            .map(|mut d| (std::mem::take(&mut d.kept), d.cut))
            .unwrap_or_default()
    };
    let (stdout, out_cut) = take(&out);
    let (stderr, err_cut) = take(&err);
    let ended = Ended {
        status,
        timed_out,
        closed,
        stdout,
        stderr,
        cut: out_cut || err_cut,
    };
    (vec![logs_check(&ended, opts)], files(ended))
}

/// Reads `pipe` to its end into `sink` (at most `limit` bytes kept, the rest drained so the
/// command never blocks on a full pipe), then says so on `done`.
fn drain(
    pipe: Option<impl std::io::Read + Send + 'static>,
    limit: u64,
    sink: Arc<Mutex<Drained>>,
    done: Sender<()>,
) {
    std::thread::spawn(move || {
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let Ok(mut d) = sink.lock() else { break };
                let room = usize::try_from(limit.saturating_sub(d.kept.len() as u64))
                    .unwrap_or(usize::MAX)
                    .min(n);
                d.kept
                    .extend_from_slice(buf.get(..room).unwrap_or_default());
                if room < n {
                    d.cut = true;
                }
            }
        }
        let _ = done.send(());
    });
}

/// Waits for the shell to exit or the time to run out, then ends its process group: the
/// exit status (when known) and whether the time ran out.
fn wait(child: &mut Child, started: Instant, timeout: Duration) -> (Option<ExitStatus>, bool) {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // What the shell left running goes with it. (While the group has members its
                // id is not reused; without members there is nothing left to end.)
                kill_group(child.id());
                return (Some(status), false);
            }
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.kill();
                return (child.wait().ok(), true);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => {
                kill_group(child.id());
                return (None, false);
            }
        }
    }
}

/// Bounded: both readers report, or the grace runs out. True when both reported.
fn wait_for_readers(finished: &Receiver<()>) -> bool {
    let drain_deadline = Instant::now() + LOGS_DRAIN_GRACE;
    let mut closed = 0;
    while closed < 2 {
        let left = drain_deadline.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            break;
        }
        closed += 1;
    }
    closed == 2
}

/// Sends SIGKILL to the process group `pgid` (the shell's pid: it leads its own group).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The `capture-logs` check: pass with the output sizes, or fail naming every problem.
fn logs_check(ended: &Ended, opts: &LogsOptions) -> Check {
    let mut problems = Vec::new();
    if ended.timed_out {
        problems.push(format!("timed out after {} s", opts.timeout.as_secs()));
    }
    match ended.status {
        Some(s) if s.success() => {}
        Some(s) => problems.push(format!("exited with {s}")),
        None => problems.push("its exit status is unknown".to_owned()),
    }
    if ended.cut {
        problems.push(format!("output cut at {} bytes", opts.max_bytes));
    }
    if !ended.closed {
        problems.push(format!(
            "output was still held open {} s after its process group ended (a process that left the group?); the output read so far is kept",
            LOGS_DRAIN_GRACE.as_secs()
        ));
    }
    let check = if problems.is_empty() {
        Check::pass(
            CAPTURE_LOGS,
            format!(
                "{} bytes of output, {} bytes of errors",
                ended.stdout.len(),
                ended.stderr.len()
            ),
        )
    } else {
        Check::fail(
            CAPTURE_LOGS,
            format!("the logs command {}", problems.join("; ")),
        )
    };
    check.with(
        "command_status",
        ended.status.map(|s| s.to_string()).unwrap_or_default(),
    )
}

/// The files stored from the output: stdout always, stderr when not empty.
fn files(ended: Ended) -> Vec<Input> {
    let mut files = vec![Input::Bytes {
        at: "logs/stdout.txt".to_owned(),
        bytes: ended.stdout,
    }];
    if !ended.stderr.is_empty() {
        files.push(Input::Bytes {
            at: "logs/stderr.txt".to_owned(),
            bytes: ended.stderr,
        });
    }
    files
}
