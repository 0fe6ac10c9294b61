//! Signalling every process of the cgroup.

use std::collections::HashSet;
use std::io;

use crate::error::{CgroupError, Result};
use crate::{fs, Cgroup};

/// How many times to re-read the pid list for processes forked meanwhile.
const MAX_PASSES: usize = 16;

impl Cgroup {
    /// Send `signal` to every process. `SIGKILL` with a cgroup2 directory
    /// that has `cgroup.kill` (Linux 5.14+) kills atomically; otherwise each
    /// listed pid is signalled, re-reading the list for new pids, without
    /// freezing. Processes that already exited (`ESRCH`) are fine.
    ///
    /// A frozen (paused) cgroup is thawed after a `SIGKILL`, so the killed
    /// processes can exit instead of staying frozen.
    pub fn kill_all(&self, signal: i32) -> Result<()> {
        let result = self.signal_all(signal);
        if signal == libc::SIGKILL && self.is_frozen().unwrap_or(false) {
            self.thaw()?;
        }
        result
    }

    fn signal_all(&self, signal: i32) -> Result<()> {
        if signal == libc::SIGKILL {
            if let Some(kill_file) = self.v2_dir().map(|d| d.join("cgroup.kill")) {
                if kill_file.exists() {
                    return fs::write(&kill_file, "1");
                }
            }
        }
        let mut signalled = HashSet::new();
        for _ in 0..MAX_PASSES {
            let fresh: Vec<i32> = self
                .all_pids()?
                .into_iter()
                .filter(|pid| signalled.insert(*pid))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for pid in fresh {
                send_signal(pid, signal)?;
            }
        }
        Ok(())
    }
}

fn send_signal(pid: i32, signal: i32) -> Result<()> {
    if pid <= 0 {
        // 0 and negative pids would signal process groups, never ours to do.
        return Ok(());
    }
    // nix's `Signal` has no real-time signals (SIGRTMIN+3 stops systemd), so
    // call kill(2) directly.
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(CgroupError::Signal { pid, signal, error })
}
