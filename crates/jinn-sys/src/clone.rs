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

/// Who we are after the clone.
pub enum Cloned {
    Parent { child: Pid, pidfd: Option<OwnedFd> },
    Child,
}

/// `clone3` with SIGCHLD as exit signal and no new stack: fork-like semantics.
///
/// # Safety
/// As for `fork(2)`: the calling process must be single-threaded, so that the child's
/// copy of the address space holds no lock owned by another thread.
pub unsafe fn clone3(req: &CloneRequest<'_>) -> nix::Result<Cloned> {
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
