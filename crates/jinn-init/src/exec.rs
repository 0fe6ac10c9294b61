//! `jinn exec`: a new process in a running container. Cloned by jinn like the init,
//! it joins the init's namespaces through the init's pidfd (one atomic `setns`, so a
//! reused pid can never be joined), its cgroup, and execs with the process settings.
//!
//! ```text
//!   jinn exec                                exec process
//!   setns(init pidfd, PID|TIME)   (pid and time namespaces apply to children)
//!   clone3 [CLONE_INTO_CGROUP] ─────────────▶ not dumpable
//!   [v1: write pid to cgroup.procs]
//!   Go { pid } ─────────────────────────────▶ setns(init pidfd, every other namespace)
//!                                             rlimits, user, caps, cwd, … execve
//!   ◀──────────────── Error { message }, or end-of-file once execve closed the pipe
//! ```

use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;

use jinn_config::{NamespaceKind, ProcessPlan};
use jinn_sys::clone::{clone3, CloneRequest, Cloned};
use jinn_sys::process::exit_now;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::error::{InitError, Step};
use crate::spawn::Spawned;
use crate::sync::{Message, SyncPipe};
use crate::{console, process};

/// What `spawn_exec` needs.
pub struct ExecOptions<'a> {
    /// The container's init, as a pidfd checked to be the recorded process.
    pub init_pidfd: BorrowedFd<'a>,
    pub init_pid: i32,
    pub process: &'a ProcessPlan,
    /// The container's cgroup v2 directory (`CLONE_INTO_CGROUP`).
    pub cgroup_dir: Option<BorrowedFd<'a>>,
    /// Places the process in the container's cgroups (v1 and hybrid hosts).
    pub join_cgroup: &'a mut dyn FnMut(Pid) -> Result<(), String>,
    pub preserve_fds: u32,
    /// Where to send the pty master when the process has a terminal.
    pub console_socket: Option<&'a std::os::unix::net::UnixStream>,
    /// The container's seccomp filter (exec processes get it too) and the agent's
    /// connection for NOTIFY.
    pub seccomp: Option<&'a jinn_seccomp::Filter>,
    pub seccomp_listener: Option<jinn_seccomp::ListenerConnection>,
    /// The container's state document, for the seccomp agent.
    pub state: String,
}

/// Start the process; returns once it has exec'd its program (or failed to).
pub fn spawn_exec(mut opts: ExecOptions<'_>) -> Result<Spawned, InitError> {
    let differ = namespaces_to_join(opts.init_pid)?;
    let for_children =
        differ & (CloneFlags::CLONE_NEWPID | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME));
    let for_self = differ - for_children;
    if !for_children.is_empty() {
        nix::sched::setns(opts.init_pidfd, for_children).map_err(|source| InitError::Sys {
            what: "join the container's pid namespace",
            source,
        })?;
    }
    // Not dumpable from before the clone (see spawn.rs): the container's processes must
    // not ptrace the exec process or open its /proc/PID/exe before it execs.
    jinn_sys::caps::set_dumpable(false).map_err(|source| InitError::Sys {
        what: "prctl PR_SET_DUMPABLE",
        source,
    })?;
    let (parent_end, child_end) = SyncPipe::pair()?;
    let req = CloneRequest {
        flags: 0,
        cgroup: opts.cgroup_dir,
        pidfd: true,
    };
    // SAFETY: jinn is single-threaded, so the child's copy of the address space is
    // consistent (see spawn.rs).
    match unsafe { clone3(&req) }.map_err(InitError::Clone)? {
        Cloned::Child => {
            drop(parent_end);
            let listener = opts.seccomp_listener.take();
            let err = match setup(&child_end, &opts, for_self, listener) {
                Ok(ready) => ready.exec(),
                Err(e) => e.to_string(),
            };
            let _ = child_end.send(&Message::Error { message: err });
            exit_now(127)
        }
        Cloned::Parent { child, pidfd } => {
            drop(child_end);
            drop(opts.seccomp_listener.take());
            let result = drive(
                &parent_end,
                child,
                opts.cgroup_dir.is_none(),
                opts.join_cgroup,
            );
            match result {
                Ok(()) => Ok(Spawned { pid: child, pidfd }),
                Err(e) => Err(crate::spawn::kill_and_reap(child, e)),
            }
        }
    }
}

fn drive(
    sync: &SyncPipe,
    child: Pid,
    v1: bool,
    join_cgroup: &mut dyn FnMut(Pid) -> Result<(), String>,
) -> Result<(), InitError> {
    if v1 {
        join_cgroup(child).map_err(InitError::Message)?;
    }
    if sync
        .send(&Message::Go {
            pid: child.as_raw(),
        })
        .is_err()
    {
        return Err(sync
            .pending_error()
            .unwrap_or(InitError::ChildDied(String::new())));
    }
    match sync.recv()? {
        None => Ok(()),
        Some(Message::Error { message }) => Err(InitError::Message(message)),
        Some(other) => Err(InitError::Protocol(format!("unexpected {other:?}"))),
    }
}

fn setup<'a>(
    sync: &SyncPipe,
    opts: &ExecOptions<'a>,
    namespaces: CloneFlags,
    listener: Option<jinn_seccomp::ListenerConnection>,
) -> Result<process::ExecReady<'a>, InitError> {
    let p = opts.process;
    crate::tuning::initial_affinity(p)?;
    jinn_sys::caps::set_parent_death_signal(libc::SIGKILL).step("prctl PR_SET_PDEATHSIG")?;
    let host_pid = match sync.recv() {
        Ok(Some(Message::Go { pid })) => pid,
        other => {
            return Err(InitError::Message(format!(
                "sync: expected Go, got {other:?}"
            )))
        }
    };
    let last_cap = process::last_cap();
    if !namespaces.is_empty() {
        nix::sched::setns(opts.init_pidfd, namespaces).step("join the container's namespaces")?;
    }
    if let (true, Some(socket)) = (p.terminal, opts.console_socket) {
        console::make_stdio(console::create(socket, p.console_size)?)?;
    }
    let seccomp = crate::child::seccomp_step(opts.seccomp, listener, host_pid, &opts.state)?;
    process::prepare_exec(p, last_cap, opts.preserve_fds, None, seccomp)
}

/// The namespaces of the init that are not ours (those to join).
fn namespaces_to_join(init_pid: i32) -> Result<CloneFlags, InitError> {
    let mut flags = CloneFlags::empty();
    for kind in NamespaceKind::ALL {
        let theirs = format!("/proc/{init_pid}/ns/{}", kind.proc_name());
        let ours = format!("/proc/self/ns/{}", kind.proc_name());
        let (Ok(t), Ok(o)) = (std::fs::metadata(&theirs), std::fs::metadata(&ours)) else {
            continue; // a namespace type this kernel lacks
        };
        if (t.dev(), t.ino()) != (o.dev(), o.ino()) {
            flags |= CloneFlags::from_bits_retain(kind.clone_flag() as i32);
        }
    }
    Ok(flags)
}
