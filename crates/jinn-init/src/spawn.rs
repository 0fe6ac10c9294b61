//! The parent side of container creation: clone the init and drive the sync protocol.

use std::fs::File;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;

use jinn_config::{NamespaceKind, Plan};
use jinn_sys::clone::{clone3, CloneRequest, Cloned};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::error::{InitError, Step};
use crate::hooks::{self, HookKind};
use crate::namespace;
use crate::start::ExecSocket;
use crate::sync::{Message, SyncPipe};

/// A cgroup hierarchy the container sees under a `cgroup` mount (v1: one per hierarchy).
#[derive(Debug, Clone)]
pub struct CgroupMountSource {
    /// The name under the mount point (`memory`, `cpu`, `systemd`, `unified`).
    pub name: String,
    /// The container's cgroup directory in that hierarchy, on the host.
    pub host_dir: PathBuf,
}

/// What `spawn` needs besides the plan.
pub struct SpawnOptions<'a> {
    pub plan: &'a Plan,
    /// The container id (for the state document hooks read).
    pub id: &'a str,
    /// The container's state directory: the exec socket is made there.
    pub state_dir: BorrowedFd<'a>,
    /// `--no-pivot`: MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// `--no-new-keyring`: keep jinn's session keyring instead of a new one.
    pub no_new_keyring: bool,
    /// jinn runs without root: id maps beyond the caller's own go through
    /// newuidmap/newgidmap, and setgroups is denied first.
    pub rootless: bool,
    /// `--preserve-fds N`: fds 3..3+N stay open in the container.
    pub preserve_fds: u32,
    /// Where to send the pty master when `process.terminal` is set.
    pub console_socket: Option<&'a std::os::unix::net::UnixStream>,
    /// `linux.seccomp` compiled, and for NOTIFY the connection to its agent (made here,
    /// in the host's namespaces, as `listenerPath` is a host path).
    pub seccomp: Option<&'a jinn_seccomp::Filter>,
    pub seccomp_listener: Option<jinn_seccomp::ListenerConnection>,
    /// cgroup v2 directory to clone into (`CLONE_INTO_CGROUP`).
    pub cgroup_dir: Option<BorrowedFd<'a>>,
    /// Sources for a `cgroup` mount.
    pub cgroup_mounts: Vec<CgroupMountSource>,
    /// `join_cgroup` makes the cgroup (the systemd driver starts the unit then): the
    /// init waits for it before its mounts instead of after.
    pub cgroup_made_at_join: bool,
    /// Places the init in its cgroups (cgroup v1 and hybrid hosts). Runs while the init
    /// already sets up its mounts: the first cgroup.procs write of a v1 host waits for an
    /// RCU grace period, time the init does not have to wait for.
    pub join_cgroup: &'a mut dyn FnMut(Pid) -> Result<(), String>,
}

/// A created container init, waiting for `start`.
pub struct Spawned {
    pub pid: Pid,
    pub pidfd: Option<OwnedFd>,
}

/// Clone the init, let it set the container up, and return once it waits for `start`.
/// On failure the init is killed and reaped; the caller removes cgroups and state.
pub fn spawn(opts: SpawnOptions<'_>) -> Result<Spawned, InitError> {
    let plan = opts.plan;
    let (parent_end, child_end) = SyncPipe::pair()?;
    let exec_socket = ExecSocket::listen(opts.state_dir)?;

    // Namespaces that apply to children only are joined here, before the clone, and left
    // again right after it (hooks jinn forks later run in the runtime's namespaces).
    let mut restore = Vec::new();
    for kind in [NamespaceKind::Pid, NamespaceKind::Time] {
        if let Some(path) = plan.namespace(kind).and_then(|n| n.path.as_ref()) {
            let own = format!("/proc/self/ns/{}", kind.proc_name());
            restore.push((kind, namespace::open(std::path::Path::new(&own))?));
            namespace::join(path, kind)?;
        }
    }

    // Not dumpable from before the clone: no process that shares a namespace with the
    // init can ptrace it or open its /proc/PID/exe (jinn's binary) before it execs.
    // Rootless, /proc/PID/uid_map of a non-dumpable child would belong to root, so the
    // init turns itself non-dumpable once its maps are written.
    if !opts.rootless {
        jinn_sys::caps::set_dumpable(false).map_err(|source| InitError::Sys {
            what: "prctl PR_SET_DUMPABLE",
            source,
        })?;
    }
    let idmapped = crate::idmap::prepare(plan)?;
    // With timeOffsets the time namespace is made here (see `time_namespace_with_offsets`),
    // and the init is born into it without CLONE_NEWTIME.
    let own_timens = time_namespace_with_offsets(plan)?;
    let mut flags = 0u64;
    for ns in &plan.namespaces {
        if ns.path.is_none()
            && !(ns.kind == NamespaceKind::Cgroup && opts.cgroup_dir.is_none())
            && !(ns.kind == NamespaceKind::Time && own_timens.is_some())
        {
            flags |= ns.kind.clone_flag();
        }
    }
    let req = CloneRequest {
        flags,
        cgroup: opts.cgroup_dir,
        pidfd: true,
    };
    // A user namespace joined by path must own the namespaces made for the init, or the
    // init has no privilege over them (mounts fail with EPERM): they are made by a
    // process already in it.
    let joined_user = plan
        .namespace(NamespaceKind::User)
        .and_then(|n| n.path.as_ref())
        .filter(|_| flags != 0);
    let cloned = match joined_user {
        Some(path) => clone_in_user_namespace(path, &req)?,
        // SAFETY: jinn is single-threaded (no runtime threads are ever started), so the
        // child's copy of the address space is consistent.
        None => unsafe { clone3(&req) }.map_err(InitError::Clone)?,
    };
    match cloned {
        Cloned::Child => {
            drop(parent_end);
            crate::child::main(
                crate::child::ChildContext {
                    plan,
                    id: opts.id,
                    sync: child_end,
                    exec_socket,
                    no_pivot: opts.no_pivot,
                    no_new_keyring: opts.no_new_keyring,
                    rootless: opts.rootless,
                    preserve_fds: opts.preserve_fds,
                    console_socket: opts.console_socket,
                    cgroup_mounts: &opts.cgroup_mounts,
                    idmapped: &idmapped,
                    cgroup_ns_after_join: plan.creates_namespace(NamespaceKind::Cgroup)
                        && opts.cgroup_dir.is_none(),
                    join_before_mounts: opts.cgroup_made_at_join,
                    seccomp: opts.seccomp,
                },
                opts.seccomp_listener,
            )
        }
        Cloned::Parent { child, pidfd } => {
            drop(child_end);
            let result = leave_joined_namespaces(restore, own_timens).and_then(|()| {
                drop(idmapped);
                drop(opts.seccomp_listener);
                drop(exec_socket);
                drive(
                    &parent_end,
                    child,
                    opts.id,
                    plan,
                    opts.rootless,
                    opts.join_cgroup,
                )
            });
            match result {
                Ok(()) => Ok(Spawned { pid: child, pidfd }),
                Err(e) => Err(kill_and_reap(child, e)),
            }
        }
    }
}

/// Back to jinn's own pid and time namespaces (joined by path for the clone only) and
/// its own time namespace (left for `linux.timeOffsets`), for the children still to
/// come (hooks).
fn leave_joined_namespaces(
    restore: Vec<(NamespaceKind, OwnedFd)>,
    own_timens: Option<OwnedFd>,
) -> Result<(), InitError> {
    for (kind, fd) in restore {
        namespace::enter(fd, kind).step("return to jinn's own namespaces")?;
    }
    if let Some(fd) = own_timens {
        namespace::enter(fd, NamespaceKind::Time).step("return to jinn's time namespace")?;
    }
    Ok(())
}

/// After a failure past the clone: the init (or exec process) is killed and reaped, so
/// nothing is left; an init that died on its own reports how.
pub(crate) fn kill_and_reap(child: Pid, e: InitError) -> InitError {
    let _ = kill(child, Signal::SIGKILL);
    let status = waitpid(child, None);
    match e {
        InitError::ChildDied(_) => InitError::ChildDied(format!("{status:?}")),
        e => e,
    }
}

/// `clone3(req)` from inside the user namespace at `path`: an intermediate process joins
/// it and clones the init with `CLONE_PARENT` (so the init is jinn's child, as without a
/// joined user namespace), sends its pid back and exits. The init returns `Child`, jinn
/// `Parent` (with a pidfd opened on the pid: an unreaped child of jinn cannot be reused).
fn clone_in_user_namespace(
    path: &std::path::Path,
    req: &CloneRequest<'_>,
) -> Result<Cloned, InitError> {
    use std::io::{Read, Write};
    let userns = namespace::open(path)?;
    let (rd, wr) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|source| InitError::Sys {
            what: "pipe",
            source,
        })?;
    let first = CloneRequest {
        flags: 0,
        cgroup: None,
        pidfd: false,
    };
    // SAFETY: jinn is single-threaded (see `spawn`).
    match unsafe { clone3(&first) }.map_err(InitError::Clone)? {
        Cloned::Child => {
            drop(rd);
            let res = namespace::enter(&userns, NamespaceKind::User).and_then(|()| {
                let inner = CloneRequest {
                    flags: req.flags | libc::CLONE_PARENT as u64,
                    cgroup: req.cgroup,
                    pidfd: false,
                };
                // SAFETY: the intermediate is single-threaded too.
                unsafe { clone3(&inner) }
            });
            let msg: i32 = match res {
                Ok(Cloned::Child) => return Ok(Cloned::Child),
                Ok(Cloned::Parent { child, .. }) => child.as_raw(),
                Err(e) => -(e as i32),
            };
            let _ = File::from(wr).write_all(&msg.to_ne_bytes());
            // The intermediate leaves without running jinn's exit paths.
            jinn_sys::process::exit_now(0)
        }
        Cloned::Parent { child: mid, .. } => {
            drop(wr);
            let mut buf = [0u8; 4];
            let read = File::from(rd).read_exact(&mut buf);
            let _ = waitpid(mid, None);
            let msg = i32::from_ne_bytes(buf);
            if read.is_err() || msg == 0 {
                return Err(InitError::Sys {
                    what: "clone the init in the joined user namespace",
                    source: nix::errno::Errno::EIO,
                });
            }
            if msg < 0 {
                return Err(InitError::Path {
                    what: "clone the init in the user namespace",
                    path: path.to_path_buf(),
                    source: nix::errno::Errno::from_raw(-msg),
                });
            }
            let child = Pid::from_raw(msg);
            let pidfd = if req.pidfd {
                match jinn_sys::pidfd::open(msg) {
                    Ok(fd) => Some(fd),
                    Err(source) => {
                        let e = InitError::Sys {
                            what: "pidfd_open of the init",
                            source,
                        };
                        return Err(kill_and_reap(child, e));
                    }
                }
            } else {
                None
            };
            Ok(Cloned::Parent { child, pidfd })
        }
    }
}

/// `linux.timeOffsets` (time_namespaces(7)): offsets can only be written before any
/// process is in the namespace, so a `clone3(CLONE_NEWTIME)` child would come too late.
/// jinn `unshare(CLONE_NEWTIME)`s instead — the new namespace is only jinn's
/// namespace for children, jinn itself stays in its own — writes the offsets to
/// /proc/self/timens_offsets (which sets those of the namespace for children), and the
/// init, cloned next without CLONE_NEWTIME, is the first process in it. Returns jinn's
/// own time namespace, to go back to once the init is cloned.
fn time_namespace_with_offsets(plan: &Plan) -> Result<Option<OwnedFd>, InitError> {
    if plan.time_offsets.is_empty() || !plan.creates_namespace(NamespaceKind::Time) {
        return Ok(None);
    }
    let own = namespace::open(std::path::Path::new("/proc/self/ns/time"))?;
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
        libc::CLONE_NEWTIME,
    ))
    .map_err(|source| InitError::Sys {
        what: "unshare time namespace (linux.timeOffsets)",
        source,
    })?;
    let mut text = String::new();
    for o in &plan.time_offsets {
        text.push_str(&format!("{} {} {}\n", o.clock.name(), o.secs, o.nanosecs));
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/timens_offsets")
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = written {
        let _ = namespace::enter(&own, NamespaceKind::Time);
        return Err(InitError::Path {
            what: "write linux.timeOffsets to",
            path: "/proc/self/timens_offsets".into(),
            source: io_errno(e),
        });
    }
    Ok(Some(own))
}

fn drive(
    sync: &SyncPipe,
    child: Pid,
    id: &str,
    plan: &Plan,
    rootless: bool,
    join_cgroup: &mut dyn FnMut(Pid) -> Result<(), String>,
) -> Result<(), InitError> {
    if plan.creates_namespace(NamespaceKind::User) {
        crate::idmap::write_maps(child, &plan.uid_mappings, &plan.gid_mappings, rootless)?;
    }
    if !plan.net_devices.is_empty() {
        crate::netdev::move_devices(child.as_raw(), &plan.net_devices)?;
    }
    let state = hooks::state_json(
        id,
        "creating",
        child.as_raw(),
        &plan.bundle,
        &plan.annotations,
    );
    // A send fails only when the init is gone: then its last word (an Error message,
    // already queued) is what to report, so fall through to the receiving loop.
    if sync
        .send(&Message::Go {
            pid: child.as_raw(),
        })
        .is_ok()
    {
        if let Err(e) = join_cgroup(child) {
            return Err(sync.pending_error().unwrap_or(InitError::Message(e)));
        }
        let _ = sync.send(&Message::CgroupJoined);
    }
    loop {
        match sync.recv()? {
            Some(Message::RunCreateRuntimeHooks) => {
                hooks::run_all(HookKind::Prestart, &plan.hooks.prestart, &state)
                    .and_then(|()| {
                        hooks::run_all(HookKind::CreateRuntime, &plan.hooks.create_runtime, &state)
                    })
                    .map_err(InitError::Message)?;
                sync.send(&Message::HooksDone).map_err(InitError::Sync)?;
            }
            Some(Message::Ready) => return Ok(()),
            Some(Message::Error { message }) => return Err(InitError::Message(message)),
            Some(other) => return Err(InitError::Protocol(format!("unexpected {other:?}"))),
            None => return Err(InitError::ChildDied(String::new())),
        }
    }
}

pub(crate) fn io_errno(e: std::io::Error) -> nix::Error {
    nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
