//! A hashing progress bar on stderr, shown only on a terminal and only once hashing has taken
//! longer than a moment.

use std::io::IsTerminal as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use evidence_core::hash::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long hashing runs before the bar appears.
const SHOW_AFTER: Duration = Duration::from_millis(800);

/// Byte-counting progress for `evidence_core` hashing.
#[derive(Debug)]
pub struct HashProgress {
    start: Instant,
    enabled: bool,
    bar: OnceLock<ProgressBar>,
    pending: std::sync::atomic::AtomicU64,
}

impl HashProgress {
    /// A bar that draws only when stderr is a terminal and `quiet` is false.
    pub fn new(quiet: bool) -> Self {
        Self {
            start: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
            pending: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for HashProgress {
    fn advance(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        if !self.enabled {
            return;
        }
        if let Some(bar) = self.bar.get() {
            bar.inc(bytes);
            return;
        }
        let seen = self.pending.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.start.elapsed() < SHOW_AFTER {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} hashing {binary_bytes} ({binary_bytes_per_sec}) {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_position(seen);
    }
}
