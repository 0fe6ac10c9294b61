//! `jinn run`: create and start a container; in the foreground, wait for it while
//! forwarding signals, remove it, and exit with its exit code (128+N if killed by N).

use anyhow::Result;
use jinn_state::Store;
use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::cli::RunArgs;
use crate::container;

/// Signals that are about jinn's own faults, never forwarded.
const NOT_FORWARDED: [Signal; 5] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
];

pub fn run(store: &Store, args: &RunArgs) -> Result<i32> {
    let mut signals = SigSet::all();
    for s in NOT_FORWARDED {
        signals.remove(s);
    }
    if !args.detach {
        // Blocked before the clone, so no signal is lost before the wait loop; the init
        // unblocks everything before it execs.
        signals.thread_block()?;
        if !args.no_subreaper {
            jinn_sys::caps::set_child_subreaper()?;
        }
    }
    let (mut c, spawned) = container::create(store, &args.create)?;
    if let Err(e) = container::start(&mut c) {
        let _ = container::destroy(c, true);
        return Err(e);
    }
    if args.detach {
        return Ok(0);
    }
    let id = c.id().to_string();
    drop(c); // release the container's lock while it runs
    let code = wait_and_forward(&signals, spawned.pid)?;
    if !args.keep {
        container::destroy(store.load(&id)?, true)?;
    }
    Ok(code)
}

/// Wait for the init, forwarding every other signal to it; reap orphans on the way.
fn wait_and_forward(signals: &SigSet, init: Pid) -> Result<i32> {
    loop {
        let sig = signals.wait()?;
        if sig != Signal::SIGCHLD {
            let _ = kill(init, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(code),
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == init => return Ok(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
