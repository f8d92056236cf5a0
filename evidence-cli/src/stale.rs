//! `--clean-stale`: temporaries an earlier run left beside the destination when it was killed
//! and could not clean up (SIGKILL, power loss). Without the flag each is named on standard
//! error; with it, each is removed. A temporary counts as stale only when its name's pid is not
//! a running process (Linux: no `/proc/PID`); where that cannot be told (no `/proc`), it is
//! named as possibly stale and `--clean-stale` removes it too.

use std::io::Write as _;
use std::path::Path;

use evidence_core::atomic::{self, StaleTemporary, Writer};

use crate::exit::CliError;

/// Whether to remove what interrupted runs left beside the destination.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct StaleArgs {
    /// Remove what killed runs left beside the destination (.NAME.tmp-PID-RANDOM whose PID no
    /// longer runs); without it each is named on stderr.
    ///
    /// Ctrl-C or SIGTERM removes what this run is writing (exit 130 or 143); a run killed
    /// outright (SIGKILL, power loss) cannot, and leaves its temporary. Whether PID runs is read
    /// from /proc; where there is none it cannot be told, and this removes those too.
    #[arg(long)]
    pub clean_stale: bool,
}

impl StaleArgs {
    /// Names or removes the stale temporaries in the folder `out` is written into. A folder
    /// that cannot be read is left to the command, which says why when it writes there.
    pub fn check(&self, tool: &str, out: &Path) -> Result<(), CliError> {
        let Ok(found) = atomic::stale_temporaries_beside(out) else {
            return Ok(());
        };
        let mut stderr = std::io::stderr().lock();
        for stale in &found {
            let path = stale.path.display();
            if self.clean_stale {
                atomic::remove_stale(stale).map_err(|e| {
                    CliError::new(format!("cannot remove {path}: {e}"))
                        .hint("remove it by hand, or run again without --clean-stale")
                })?;
                let _ = writeln!(
                    stderr,
                    "{tool}: removed {path}, left from an interrupted run (pid {})",
                    stale.pid
                );
            } else {
                let _ = writeln!(stderr, "{tool}: warning: {}", warning(stale));
            }
        }
        Ok(())
    }
}

/// What the warning says about one stale temporary.
fn warning(stale: &StaleTemporary) -> String {
    let state = match stale.writer {
        Writer::NotRunning => "not running",
        _ => "cannot tell whether it runs",
    };
    format!(
        "{} is left from an interrupted run (pid {}, {state}); remove it or pass --clean-stale",
        stale.path.display(),
        stale.pid
    )
}
