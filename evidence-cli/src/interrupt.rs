//! SIGINT and SIGTERM: remove what the run was writing, say so, exit 130 or 143.
//!
//! The library lists every temporary it is writing ([`evidence_core::atomic`]); a thread
//! started here waits for either signal, removes those temporaries (which also stops any new
//! one from being created or renamed into place), prints one line on standard error and ends
//! the process with 128 + the signal number, as a shell reports a command a signal ended.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use evidence_core::atomic;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Set once a signal arrived: the command's own result no longer decides the exit code.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Starts the thread that handles SIGINT and SIGTERM for `tool`. If the handlers cannot be
/// installed the signals keep their default action (the process ends, leaving its
/// temporaries for the next run to name), so that is no reason to refuse to run.
pub fn install(tool: &'static str) {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                let cleanup = atomic::remove_live_temporaries();
                report(tool, &cleanup);
                std::process::exit(128 + signal);
            }
        });
    drop(spawned);
}

/// The line (or lines, when a removal failed) saying what the interrupt removed.
fn report(tool: &str, cleanup: &atomic::Cleanup) {
    let mut stderr = std::io::stderr().lock();
    let removed: Vec<String> = cleanup
        .removed
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let _ = if removed.is_empty() {
        writeln!(stderr, "{tool}: interrupted")
    } else {
        writeln!(
            stderr,
            "{tool}: interrupted; removed {}",
            removed.join(", ")
        )
    };
    for (path, e) in &cleanup.failed {
        let _ = writeln!(
            stderr,
            "{tool}: interrupted; could not remove {}: {e}",
            path.display()
        );
    }
}

/// Called when the command returns: if a signal arrived meanwhile (the command may have failed
/// only because its temporary was removed under it), waits for the signal thread to exit with
/// the signal's code instead of reporting that failure.
pub fn settle() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::park();
    }
}
