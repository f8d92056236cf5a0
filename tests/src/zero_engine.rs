//! The real ZERO paper engine (`zero-engine==0.1.6` from PyPI) as a test dependency, and the
//! predecessor's scripts that watch it (`../shared/predecessor/scripts/`), the oracle for every
//! deployment flow.
//!
//! Tests find the engine through `EVIDENCE_ZERO_PYTHON`: a Python interpreter that can import
//! `zero_engine` (`.ci/run` makes a virtual environment and sets it). Without it, a test that
//! needs the engine prints one skip line (see [`crate::skip`]); under `EVIDENCE_NO_SKIP=1` the
//! missing engine is a failure.
//!
//! [`ZeroEngine::start`] runs the engine on a free 127.0.0.1 port with a token and a journal in
//! a temporary folder, waits until it answers, and stops it by its PID when the value is
//! dropped (also when the test panics), so no engine is ever left running.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The variable naming a Python that can import `zero_engine`.
pub const PYTHON_VAR: &str = "EVIDENCE_ZERO_PYTHON";

/// The token the tests give the engine for its paid scope (`/v1/intelligence/history`).
pub const TOKEN: &str = "tok-evidence-test-7f3a";

/// The interpreter from `EVIDENCE_ZERO_PYTHON`, if it can import `zero_engine`; otherwise
/// `None` after one skip line.
#[track_caller]
pub fn need_python() -> Option<PathBuf> {
    let Some(python) = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) else {
        crate::skip_or_fail(&format!(
            "needs the real ZERO engine: set {PYTHON_VAR} to a python with zero-engine==0.1.6 \
             (python3 -m venv v && v/bin/pip install zero-engine==0.1.6)"
        ));
        return None;
    };
    let python = PathBuf::from(python);
    let imports = Command::new(&python)
        .args(["-c", "import zero_engine"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if imports {
        Some(python)
    } else {
        crate::skip_or_fail(&format!(
            "{PYTHON_VAR}={} cannot import zero_engine",
            python.display()
        ));
        None
    }
}

/// How to start the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The paid-scope token (`ZERO_INTELLIGENCE_API_TOKEN`); `None` starts it without one.
    pub token: Option<String>,
    /// Extra environment variables for the engine process.
    pub env: Vec<(String, String)>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            token: Some(TOKEN.to_owned()),
            env: Vec::new(),
        }
    }
}

/// A running engine, stopped when dropped.
#[derive(Debug)]
pub struct ZeroEngine {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The token it was started with.
    pub token: Option<String>,
    /// Its decision journal (`ZERO_JOURNAL_PATH`), inside [`ZeroEngine::dir`].
    pub journal: PathBuf,
    /// The interpreter that runs it (for running `zero_engine` modules in tests).
    pub python: PathBuf,
    dir: tempfile::TempDir,
}

impl ZeroEngine {
    /// Starts the engine with the default token, or returns `None` after one skip line when
    /// `EVIDENCE_ZERO_PYTHON` is not set. Panics if a configured engine does not come up.
    #[track_caller]
    pub fn start() -> Option<Self> {
        Self::start_with(EngineOptions::default())
    }

    /// Starts the engine with `options` (see [`ZeroEngine::start`]).
    #[track_caller]
    pub fn start_with(options: EngineOptions) -> Option<Self> {
        let python = need_python()?;
        let dir = tempfile::tempdir().expect("temporary folder for the engine");
        let journal = dir.path().join("decisions.jsonl");
        // Several attempts: a free port found by binding port 0 can be taken by another test
        // before the engine binds it.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("engine.log")).expect("engine log");
            let mut cmd = Command::new(&python);
            cmd.args(["-m", "zero_engine.api", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .env("ZERO_JOURNAL_PATH", &journal)
                .env_remove("ZERO_INTELLIGENCE_API_TOKEN")
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("engine log"))
                .stderr(log);
            if let Some(token) = &options.token {
                cmd.env("ZERO_INTELLIGENCE_API_TOKEN", token);
            }
            for (k, v) in &options.env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().expect("start the ZERO engine");
            match wait_until_ready(&mut child, port, Duration::from_secs(30)) {
                Ok(()) => {
                    return Some(ZeroEngine {
                        child,
                        url: format!("http://127.0.0.1:{port}"),
                        token: options.token.clone(),
                        journal,
                        python,
                        dir,
                    });
                }
                Err(e) => {
                    stop_child(&mut child);
                    let log = std::fs::read_to_string(dir.path().join("engine.log"));
                    last_error = format!("{e}; log: {}", log.unwrap_or_default());
                }
            }
        }
        panic!("the ZERO engine did not start: {last_error}");
    }

    /// The engine's port.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default()
    }

    /// A temporary folder that lives as long as the engine (for packs, keys, outputs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the engine printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("engine.log")).unwrap_or_default()
    }

    /// `GET path` against the engine: status and body.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        http_get(self.port(), path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Stops the engine (SIGTERM by PID, then SIGKILL after 5 s) and reaps it.
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for ZeroEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_until_ready(child: &mut Child, port: u16, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the engine exited with {status}"));
        }
        if let Ok((200, _)) = http_get(port, "/health") {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(format!("no answer from /health after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn free_port() -> u16 {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A minimal HTTP/1.0 GET on 127.0.0.1 (the tests crate has no HTTP client, on purpose: the
/// code under test brings its own).
pub fn http_get(port: u16, path: &str) -> Result<(u16, Vec<u8>), String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, raw[head_end + 4..].to_vec()))
}

/// `../shared/predecessor/scripts/<script>`, or `None` after one skip line.
#[track_caller]
pub fn predecessor_script(script: &str) -> Option<PathBuf> {
    crate::need_shared(&format!("predecessor/scripts/{script}"))
}

/// Runs a predecessor script with `python` (the scripts need only the standard library;
/// `deployment_identity_evidence.py` also calls the `openssl` program).
pub fn run_predecessor(
    python: &Path,
    script: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(python);
    cmd.arg(script).args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()))
}
