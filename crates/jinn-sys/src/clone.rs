//! `clone3(2)`: create the container's init directly, with its namespaces and,
//! on cgroup v2, straight into its cgroup.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// `CLONE_INTO_CGROUP` (linux/sched.h); libc's constant is an overflowing c_int.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of linux/sched.h (version 2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What to ask of `clone3`.
#[derive(Default)]
pub struct CloneRequest<'a> {
    /// `CLONE_NEW*` flags (and others that make sense without a new stack).
    pub flags: u64,
    /// Put the child in this cgroup v2 directory (`CLONE_INTO_CGROUP`).
    pub cgroup: Option<BorrowedFd<'a>>,
    /// Return a pidfd for the child (`CLONE_PIDFD`).
    pub pidfd: bool,
}

/// The number of threads of this process (field 20 of /proc/self/stat).
pub fn thread_count() -> nix::Result<u32> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or(Errno::EIO)?;
    rest.split_whitespace()
        .nth(17)
        .and_then(|n| n.parse().ok())
        .ok_or(Errno::EIO)
}

/// Who we are after the clone.
pub enum Cloned {
    Parent { child: Pid, pidfd: Option<OwnedFd> },
    Child,
}

/// `clone3` with SIGCHLD as exit signal and no new stack: fork-like semantics.
///
/// Fails with `EDEADLK` ("resource deadlock would occur") when the process has more than
/// one thread (counted in /proc/self/stat): the child would inherit locks that another
/// thread holds and never releases.
///
/// # Safety
/// As for `fork(2)`: no other thread may start while the call runs, so that the child's
/// copy of the address space holds no lock owned by another thread.
pub unsafe fn clone3(req: &CloneRequest<'_>) -> nix::Result<Cloned> {
    if thread_count()? != 1 {
        return Err(Errno::EDEADLK);
    }
    let mut pidfd: libc::c_int = -1;
    // With CLONE_PARENT the child inherits the caller's exit signal: clone3 wants 0 then.
    let exit_signal = if req.flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let mut args = CloneArgs {
        flags: req.flags,
        exit_signal,
        ..Default::default()
    };
    if let Some(cg) = req.cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cg.as_raw_fd() as u64;
    }
    if req.pidfd {
        args.flags |= libc::CLONE_PIDFD as u64;
        args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    }
    // SAFETY: args is a valid clone_args of the size passed; no stack is given, so the
    // child resumes on a copy of ours like fork(2); the caller guarantees single-threadedness.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(Errno::last()),
        0 => Ok(Cloned::Child),
        pid => Ok(Cloned::Parent {
            child: Pid::from_raw(pid as i32),
            // SAFETY: with CLONE_PIDFD the kernel stored a new, owned fd in pidfd.
            pidfd: req.pidfd.then(|| unsafe { OwnedFd::from_raw_fd(pidfd) }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_sees_a_second_thread() {
        let before = thread_count().unwrap();
        assert!(before >= 1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().ok());
        assert_eq!(thread_count().unwrap(), before + 1);
        // SAFETY: with two threads clone3 refuses before it clones anything.
        let refused = unsafe { clone3(&CloneRequest::default()) };
        assert!(matches!(refused, Err(Errno::EDEADLK)));
        tx.send(()).unwrap();
        t.join().unwrap();
    }
}
