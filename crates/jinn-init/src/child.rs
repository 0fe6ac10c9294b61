//! The init's side: every step from its birth in new namespaces to the exec of the
//! user's program. Runs in the cloned child; never returns.

use std::os::fd::AsFd;
use std::path::Path;

use jinn_config::{NamespaceKind, Plan};
use jinn_sys::process::exit_now;

use crate::error::{InitError, Step};
use crate::hooks::{self, HookKind};
use crate::namespace;
use crate::spawn::CgroupMountSource;
use crate::start::{reply_error, ExecSocket};
use crate::sync::{Message, SyncPipe};
use crate::{console, devices, fsutil, mounts, process, rootfs};

pub(crate) struct ChildContext<'a> {
    pub plan: &'a Plan,
    pub id: &'a str,
    pub sync: SyncPipe,
    pub exec_socket: ExecSocket,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub rootless: bool,
    pub preserve_fds: u32,
    pub console_socket: Option<&'a std::os::unix::net::UnixStream>,
    pub cgroup_mounts: &'a [CgroupMountSource],
    /// Idmapped mounts made by the parent, by `mounts` index.
    pub idmapped: &'a [Option<std::os::fd::OwnedFd>],
    /// The cgroup namespace is made here, once the parent has placed us in our cgroup.
    pub cgroup_ns_after_join: bool,
    /// The cgroup directories exist only once the parent has joined us (systemd makes
    /// them): wait for `CgroupJoined` before any mount, a `cgroup` mount binds them.
    pub join_before_mounts: bool,
    /// `linux.seccomp`, compiled by the parent.
    pub seccomp: Option<&'a jinn_seccomp::Filter>,
}

pub(crate) fn main(ctx: ChildContext<'_>, listener: Option<jinn_seccomp::ListenerConnection>) -> ! {
    match setup(&ctx, listener) {
        Ok(prepared) => {
            if ctx.sync.send(&Message::Ready).is_err() {
                exit_now(1);
            }
            drop(ctx.sync);
            run(&ctx.exec_socket, prepared)
        }
        Err(e) => {
            let _ = ctx.sync.send(&Message::Error {
                message: e.to_string(),
            });
            exit_now(1)
        }
    }
}

/// What is left to do once `start` comes.
struct Prepared<'a> {
    exec: process::ExecReady<'a>,
    start_hooks: &'a [jinn_config::Hook],
    start_state: String,
}

fn setup<'a>(
    ctx: &ChildContext<'a>,
    listener: Option<jinn_seccomp::ListenerConnection>,
) -> Result<Prepared<'a>, InitError> {
    let plan = ctx.plan;
    crate::tuning::initial_affinity(&plan.process)?;
    // Die with `jinn create` while setting up; cleared once ready.
    jinn_sys::caps::set_parent_death_signal(libc::SIGKILL).step("prctl PR_SET_PDEATHSIG")?;
    // Hooks that run in the container's namespaces (createContainer, startContainer) get
    // the pid as the container sees it (runtime.md); the seccomp agent gets the host's.
    let own_pid = nix::unistd::getpid().as_raw();
    let (state, host_pid) = match ctx.sync.recv() {
        Ok(Some(Message::Go { pid })) => (
            hooks::state_json(ctx.id, "creating", own_pid, &plan.bundle, &plan.annotations),
            pid,
        ),
        other => {
            return Err(InitError::Message(format!(
                "sync: expected Go, got {other:?}"
            )))
        }
    };
    if ctx.rootless {
        // The parent has written our maps: now nothing may ptrace us (see spawn.rs).
        jinn_sys::caps::set_dumpable(false).step("prctl PR_SET_DUMPABLE")?;
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let last_cap = process::last_cap();

    join_namespaces(plan)?;
    if plan.namespace(NamespaceKind::User).is_some() {
        become_namespace_root()?;
    }
    if plan.namespace(NamespaceKind::Mount).is_none() {
        return Err(InitError::Message(
            "linux.namespaces: a mount namespace is required".into(),
        ));
    }

    if ctx.join_before_mounts {
        wait_for_cgroup(ctx)?;
    }
    // The rootfs, its mounts and /dev, all through the rootfs fd.
    let root = rootfs::prepare(plan)?;
    for (i, m) in plan.mounts.iter().enumerate() {
        let premade = ctx.idmapped.get(i).and_then(Option::as_ref);
        mounts::mount_entry(root.as_fd(), m, ctx.cgroup_mounts, premade)?;
    }
    let bind_devices = plan.namespace(NamespaceKind::User).is_some();
    if needs_dev_setup(plan) {
        devices::default_devices(root.as_fd(), bind_devices)?;
    }
    for d in &plan.devices {
        devices::create_device(root.as_fd(), d, bind_devices, false)?;
    }
    fsutil::mkdir_all(root.as_fd(), &plan.process.cwd)?;
    rootfs::mask_paths(root.as_fd(), &plan.masked_paths)?;
    rootfs::readonly_paths(root.as_fd(), &plan.readonly_paths)?;
    if !ctx.join_before_mounts {
        wait_for_cgroup(ctx)?;
    }
    create_hooks(ctx, &state)?;
    rootfs::switch_root(&root, ctx.no_pivot)?;
    drop(root);
    rootfs::finish_root(plan)?;
    if let (true, Some(socket)) = (plan.process.terminal, ctx.console_socket) {
        let peer = console::create(socket, plan.process.console_size)?;
        console::bind_console(peer.as_fd())?;
        console::make_stdio(peer)?;
    }

    // The process.
    if !ctx.no_new_keyring {
        session_keyring(ctx.id)?;
    }
    process::namespaced_settings(plan)?;
    crate::tuning::personality(plan.personality)?;
    crate::tuning::memory_policy(plan.memory_policy.as_ref())?;
    // startContainer hooks see the container as `created`; so does the seccomp agent.
    let created = hooks::state_json(ctx.id, "created", own_pid, &plan.bundle, &plan.annotations);
    let agent_state =
        hooks::state_json(ctx.id, "created", host_pid, &plan.bundle, &plan.annotations);
    let seccomp = seccomp_step(ctx.seccomp, listener, host_pid, &agent_state)?;
    let exec = process::prepare_exec(
        &plan.process,
        last_cap,
        ctx.preserve_fds,
        Some(ctx.exec_socket.raw_fd()),
        seccomp,
    )?;
    Ok(Prepared {
        exec,
        start_hooks: &plan.hooks.start_container,
        start_state: created,
    })
}

/// Wait for `jinn start`, then exec. Never returns.
fn run(exec_socket: &ExecSocket, p: Prepared<'_>) -> ! {
    let mut conn = match exec_socket.wait_for_start() {
        Ok(c) => c,
        Err(_) => exit_now(1),
    };
    if let Err(e) = hooks::run_all(HookKind::StartContainer, p.start_hooks, &p.start_state) {
        reply_error(&mut conn, &e);
        exit_now(1);
    }
    let err = p.exec.exec();
    reply_error(&mut conn, &err);
    exit_now(127)
}

/// The filter and, for NOTIFY, the agent's connection with the container state prepared
/// (nothing is left to serialise once the filter is in place).
pub(crate) fn seccomp_step<'a>(
    filter: Option<&'a jinn_seccomp::Filter>,
    listener: Option<jinn_seccomp::ListenerConnection>,
    host_pid: i32,
    state: &str,
) -> Result<Option<process::Seccomp<'a>>, InitError> {
    let Some(filter) = filter else {
        return Ok(None);
    };
    let listener = match listener {
        Some(mut conn) => {
            let state: serde_json::Value = serde_json::from_str(state)
                .map_err(|e| InitError::Message(format!("seccomp: container state: {e}")))?;
            let message = jinn_seccomp::ContainerProcessState::new(
                host_pid,
                filter.listener_metadata().map(str::to_string),
                state,
            );
            conn.prepare(&message)
                .map_err(|e| InitError::Message(format!("seccomp: {e}")))?;
            Some(conn)
        }
        None => None,
    };
    Ok(Some(process::Seccomp { filter, listener }))
}

/// Wait until the parent has placed us in our cgroups, then make the cgroup namespace.
fn wait_for_cgroup(ctx: &ChildContext<'_>) -> Result<(), InitError> {
    match ctx.sync.recv() {
        Ok(Some(Message::CgroupJoined)) => {}
        other => {
            return Err(InitError::Message(format!(
                "sync: expected CgroupJoined, got {other:?}"
            )))
        }
    }
    if ctx.cgroup_ns_after_join {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .step("unshare cgroup namespace")?;
    }
    Ok(())
}

/// prestart and createRuntime hooks (run by the parent, in the runtime namespace), then
/// createContainer hooks (run here, in the container's namespaces, before pivot_root).
fn create_hooks(ctx: &ChildContext<'_>, state: &str) -> Result<(), InitError> {
    let h = &ctx.plan.hooks;
    if !h.prestart.is_empty() || !h.create_runtime.is_empty() {
        ctx.sync
            .send(&Message::RunCreateRuntimeHooks)
            .step("sync: request createRuntime hooks")?;
        match ctx.sync.recv() {
            Ok(Some(Message::HooksDone)) => {}
            other => {
                return Err(InitError::Message(format!(
                    "sync: expected HooksDone, got {other:?}"
                )))
            }
        }
    }
    hooks::run_all(HookKind::CreateContainer, &h.create_container, state)
        .map_err(InitError::Message)
}

/// In a user namespace, take the ids that are root there (the parent has written the
/// maps): until then jinn's host ids are unmapped inside, and the files the init makes
/// would belong to no one. Supplementary groups of the host are dropped too.
fn become_namespace_root() -> Result<(), InitError> {
    let root_gid = nix::unistd::Gid::from_raw(0);
    let root_uid = nix::unistd::Uid::from_raw(0);
    match nix::unistd::setgroups(&[]) {
        // Denied when /proc/PID/setgroups says so (rootless): nothing to drop then.
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(e) => return Err(e).step("setgroups in the user namespace"),
    }
    nix::unistd::setresgid(root_gid, root_gid, root_gid).step("setgid 0 in the user namespace")?;
    nix::unistd::setresuid(root_uid, root_uid, root_uid).step("setuid 0 in the user namespace")
}

/// A session keyring of the container's own (keys are not namespaced), named and
/// permitted as runc makes it: `_ses.<id>`, the possessor's default rights plus
/// search for the owner.
fn session_keyring(id: &str) -> Result<(), InitError> {
    let name = format!("_ses.{id}");
    let key = match jinn_sys::process::join_session_keyring(&name) {
        Ok(key) => key,
        Err(nix::errno::Errno::ENOSYS) => return Ok(()),
        Err(e) => return Err(e).at("join session keyring", &name),
    };
    jinn_sys::process::set_key_permissions(key, 0x3f1b_0000).at("set permissions of keyring", &name)
}

/// Join the namespaces given by path, user first and mount last (pid and time were
/// joined by the parent: they apply to children only).
fn join_namespaces(plan: &Plan) -> Result<(), InitError> {
    let mut fds = Vec::new();
    for kind in NamespaceKind::ALL {
        if matches!(kind, NamespaceKind::Pid | NamespaceKind::Time) {
            continue;
        }
        if let Some(path) = plan.namespace(kind).and_then(|n| n.path.as_ref()) {
            if kind == NamespaceKind::User && same_namespace(path, "user") {
                // Already in it: spawn cloned the init from inside (see
                // `clone_in_user_namespace`), and setns into one's own user namespace fails.
                continue;
            }
            fds.push((kind, path, namespace::open(path)?));
        }
    }
    for (kind, path, fd) in fds {
        namespace::enter(fd, kind).at("join namespace", path.display())?;
    }
    Ok(())
}

/// Whether the namespace file `path` is the process's own namespace of that kind.
fn same_namespace(path: &Path, proc_name: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let own = Path::new("/proc/self/ns").join(proc_name);
    id(path).is_some() && id(path) == id(&own)
}

/// runc's rule: /dev is set up unless the config bind-mounts it.
fn needs_dev_setup(plan: &Plan) -> bool {
    !plan.mounts.iter().any(|m| {
        m.destination == Path::new("/dev") && matches!(m.kind, jinn_config::MountKind::Bind { .. })
    })
}
