//! A container process run in the foreground (`run`, `exec` without `-d`): jinn waits
//! for it, passes every signal it gets on to it, and exits with its code.

use anyhow::Result;
use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Signals that are about jinn's own faults, never forwarded.
const NOT_FORWARDED: [Signal; 5] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
];

/// Every signal jinn forwards (block them before the clone so none is lost).
pub fn forwarded_signals() -> SigSet {
    let mut signals = SigSet::all();
    for s in NOT_FORWARDED {
        signals.remove(s);
    }
    signals
}

/// Wait for `child`, forwarding every other signal to it; reap orphans on the way.
/// Returns its exit code, or 128+N when signal N killed it.
pub fn wait_and_forward(signals: &SigSet, child: Pid) -> Result<i32> {
    loop {
        let sig = signals.wait()?;
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        if let Some(code) = reap(child)? {
            return Ok(code);
        }
    }
}

/// Reap every child that has exited; `child`'s exit code (128+N when signal N killed it)
/// once it is among them.
pub fn reap(child: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == child => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(pid, s, _)) if pid == child => return Ok(Some(128 + s as i32)),
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(None),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
