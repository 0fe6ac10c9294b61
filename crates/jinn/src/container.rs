//! Container lifecycle operations shared by the commands: create (used by `create` and
//! `run`), start, signal, and destroy (used by `delete` and `run`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Result};
use jinn_cgroups::{Cgroup, Layout};
use jinn_init::{CgroupMountSource, SpawnOptions, Spawned};
use jinn_state::{Container, Status, Store};

use crate::cli::CreateArgs;
use crate::saved::{load_hooks, save_late_hooks, save_process, save_seccomp, seccomp_listener};

/// Create the container `args.id` from its bundle: on any failure nothing is left behind
/// (no state directory, cgroup, mount or process).
/// `console` receives the pty master when `process.terminal` is set (the caller checked
/// the combination with `console::check`).
pub fn create(
    store: &Store,
    args: &CreateArgs,
    plan: &jinn_config::Plan,
    console: Option<&std::os::unix::net::UnixStream>,
) -> Result<(Container, Spawned)> {
    jinn_state::validate_id(&args.id)?;
    let seccomp = plan
        .seccomp
        .as_ref()
        .map(jinn_seccomp::compile)
        .transpose()?;
    let rootless = crate::rootless();
    let systemd = crate::systemd_cgroup();
    let mut cgroup = Some(if systemd {
        Cgroup::new_systemd(plan.cgroups_path.as_deref(), &args.id)?
    } else {
        Cgroup::new(plan.cgroups_path.as_deref(), &args.id)?
    });
    // --systemd-cgroup: the unit's properties (checked) and the connection to systemd,
    // before anything is made. The unit itself is started once the init exists.
    let unit_props = match &cgroup {
        Some(cg) if systemd => {
            let description = format!("jinn container {}", args.id);
            let props =
                cg.systemd_properties(&description, plan.resources.as_ref(), &plan.annotations)?;
            jinn_cgroups::systemd::with(|_| Ok(()))?;
            Some(props)
        }
        _ => None,
    };

    let container = store.create(&args.id)?;
    let mut undo = Undo {
        container: Some(container),
        cgroup: None,
    };
    let made_now = unit_props.is_none();
    if let Some(Err(e)) = cgroup.as_ref().filter(|_| made_now).map(Cgroup::create) {
        // create() may have made some levels already: remove them (destroy is idempotent).
        if let Some(cg) = &cgroup {
            let _ = cg.destroy();
        }
        if !(rootless && e.is_permission_denied()) {
            return Err(e.into());
        }
        // Rootless without a delegated cgroup: run without one, as runc does. Only worth
        // a warning when the config asks for limits (beyond the default device rules
        // every config gets).
        let limits = plan.resources.as_ref().is_some_and(|r| {
            let mut r = r.clone();
            r.set_devices(None);
            r != oci_spec::runtime::LinuxResources::default()
        });
        if limits {
            tracing::warn!("rootless: linux.resources not applied, no cgroup ({e})");
        } else {
            tracing::debug!("rootless: running without a cgroup ({e})");
        }
        cgroup = None;
    }
    undo.cgroup = cgroup.as_ref();
    if let (Some(cg), Some(resources), true) = (&cgroup, &plan.resources, made_now) {
        apply_resources(cg, resources, rootless)?;
    }
    let v2_fd = match &cgroup {
        Some(cg) if made_now => cgroup_v2_fd(cg)?,
        _ => None,
    };
    let mut join_cgroup = |pid: nix::unistd::Pid| -> Result<(), String> {
        match (&cgroup, &unit_props) {
            // systemd moves the init into the unit it makes; the resources then go to
            // the unit's cgroup files as without systemd.
            (Some(cg), Some(props)) => {
                jinn_cgroups::systemd::with(|sd| cg.start_systemd(sd, pid.as_raw(), props))
                    .and_then(|()| {
                        plan.resources
                            .as_ref()
                            .map_or(Ok(()), |r| apply_resources(cg, r, rootless))
                    })
                    .map_err(|e| e.to_string())
            }
            (Some(cg), None) if v2_fd.is_none() => {
                cg.add_pid(pid.as_raw()).map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    };
    let container = undo.container.as_ref().expect("container is set");
    let seccomp_listener = seccomp_listener(seccomp.as_ref())?;
    let spawned = match jinn_init::spawn(SpawnOptions {
        plan,
        id: &args.id,
        state_dir: container.dir_fd(),
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        console_socket: console,
        seccomp: seccomp.as_ref(),
        seccomp_listener,
        cgroup_dir: v2_fd.as_ref().map(|f| f.as_fd()),
        cgroup_mounts: cgroup
            .as_ref()
            .map(cgroup_mount_sources)
            .unwrap_or_default(),
        rootless,
        cgroup_made_at_join: !made_now,
        join_cgroup: &mut join_cgroup,
    }) {
        Ok(s) => s,
        Err(e) => {
            // Step 12 of the lifecycle: undo (the guard), then poststop hooks.
            drop(undo);
            run_poststop(&plan.hooks.poststop, &args.id, plan);
            return Err(e.into());
        }
    };

    let pid = spawned.pid.as_raw();
    // The start time tells the init from a later process with the same pid: without
    // it the container could not be told apart, so it is not created.
    let Some(start_time) = jinn_state::process_start_time(pid) else {
        kill_and_wait(spawned.pidfd.as_ref().map(|f| f.as_fd()), pid);
        bail!("read the start time of the container init (pid {pid}) from /proc/{pid}/stat");
    };
    let mut container = undo.container.take().expect("container is set");
    let st = container.state_mut();
    st.pid = pid;
    st.pid_start_time = start_time;
    st.bundle = plan.bundle.clone();
    st.rootfs = plan.rootfs.clone();
    st.annotations = plan.annotations.clone();
    st.status = Status::Created;
    st.cgroup_paths = match &cgroup {
        Some(cg) => serde_json::to_value(cg)?,
        None => serde_json::Value::Null,
    };
    st.config_oci_version = plan.oci_version.clone();
    if let Err(e) = save_late_hooks(&container, plan)
        .and_then(|()| save_process(&container, &plan.process))
        .and_then(|()| save_seccomp(&container, plan.seccomp.as_ref()))
        .and_then(|()| container.save().map_err(anyhow::Error::from))
        .and_then(|()| match &args.pid_file {
            Some(p) => write_pid_file(p, pid),
            None => Ok(()),
        })
    {
        undo.container = Some(container);
        kill_and_wait(spawned.pidfd.as_ref().map(|f| f.as_fd()), pid);
        return Err(e);
    }
    undo.cgroup = None;
    Ok((container, spawned))
}

/// Write `resources` to the container's cgroup files. Rootless, device rules are not
/// expected to work (loading a device eBPF program needs privileges in the host's user
/// namespace, and v1 `devices` files belong to root): as in runc, their error is only
/// logged, while an error of any other field still fails.
fn apply_resources(
    cg: &Cgroup,
    resources: &oci_spec::runtime::LinuxResources,
    rootless: bool,
) -> Result<(), jinn_cgroups::CgroupError> {
    let Some(devices) = resources.devices().as_ref().filter(|_| rootless) else {
        return cg.apply(resources);
    };
    let mut rest = resources.clone();
    rest.set_devices(None);
    cg.apply(&rest)?;
    let mut only = oci_spec::runtime::LinuxResources::default();
    only.set_devices(Some(devices.clone()));
    if let Err(e) = cg.apply(&only) {
        tracing::debug!("rootless: device rules not applied ({e})");
    }
    Ok(())
}

/// Run poststop hooks; a failure is a warning and the others still run (runtime.md).
fn run_poststop(hooks: &[jinn_config::Hook], id: &str, plan: &jinn_config::Plan) {
    let state = jinn_init::hooks::state_json(id, "stopped", 0, &plan.bundle, &plan.annotations);
    poststop_with_state(hooks, &state);
}

fn poststop_with_state(hooks: &[jinn_config::Hook], state: &str) {
    for h in hooks {
        if let Err(e) = jinn_init::hooks::run(h, state) {
            tracing::warn!("poststop hook {}: {e}", h.path.display());
        }
    }
}

/// On a pure cgroup v2 host, the container's cgroup directory, to clone processes
/// straight into it (`CLONE_INTO_CGROUP`); `None` elsewhere (they join by pid).
pub fn cgroup_v2_fd(cgroup: &Cgroup) -> Result<Option<OwnedFd>> {
    match (cgroup.layout(), cgroup.v2_dir()) {
        (Layout::V2, Some(dir)) => Ok(Some(
            jinn_sys::fd::open(
                dir,
                nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            )
            .map_err(|e| {
                anyhow::anyhow!("open cgroup {}: {}", dir.display(), jinn_sys::errno_text(e))
            })?,
        )),
        _ => Ok(None),
    }
}

/// Undo a half-made container when `create` fails.
struct Undo<'a> {
    container: Option<Container>,
    cgroup: Option<&'a Cgroup>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.destroy() {
                tracing::warn!("cleanup: {e}");
            }
        }
        if let Some(c) = self.container.take() {
            if let Err(e) = c.destroy() {
                tracing::warn!("cleanup: {e}");
            }
        }
    }
}

/// The host cgroup directories a `cgroup` mount shows: v1 hierarchies by name; on a
/// pure v2 host the one unified directory (unnamed).
fn cgroup_mount_sources(cg: &Cgroup) -> Vec<CgroupMountSource> {
    cg.mount_sources()
        .into_iter()
        .map(|(name, host_dir)| CgroupMountSource { name, host_dir })
        .collect()
}

/// `--pid-file`: written atomically, relative to the current directory as runc.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path)?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, pid.to_string())
        .map_err(|e| anyhow::anyhow!("write pid file {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("write pid file {}: {e}", path.display())
    })
}

/// Tell a created container to run its program.
pub fn start(container: &mut Container) -> Result<()> {
    match container.live_status() {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        Status::Running | Status::Paused => bail!("cannot start an already running container"),
        Status::Creating => bail!("cannot start a container that is still being created"),
    }
    let result = jinn_init::start::request_start(container.dir_fd());
    let _ = container.remove_file(jinn_init::start::EXEC_SOCKET);
    // A failed start leaves the init gone (the container is stopped): record nothing.
    result?;
    let st = container.state_mut();
    st.started = true;
    st.status = Status::Running;
    container.save()?;
    poststart(container)
}

/// poststart hooks, after the program runs and before `start` returns; a failure stops
/// the container (runtime.md step 9) and is an error.
fn poststart(container: &Container) -> Result<()> {
    let hooks = load_hooks(container)?.poststart;
    if hooks.is_empty() {
        return Ok(());
    }
    let state = container.oci_state_json().to_string();
    if let Err(e) = jinn_init::hooks::run_all(jinn_init::hooks::HookKind::Poststart, &hooks, &state)
    {
        let _ = kill_container(container);
        bail!(e);
    }
    Ok(())
}

/// Send `sig` to the container's init (or, with `all`, every process of its cgroup).
pub fn signal(container: &Container, sig: i32, all: bool) -> Result<()> {
    if container.live_status() == Status::Stopped {
        bail!("container not running");
    }
    if all {
        return Ok(load_cgroup(container)?.kill_all(sig)?);
    }
    let pid = container.state().pid;
    let pidfd = pidfd_of(container)?;
    jinn_sys::pidfd::send_signal(pidfd.as_fd(), sig)
        .map_err(|e| anyhow::anyhow!("kill container init (pid {pid}): {e}"))
}

/// A pidfd of the container's init, verified to be the same process (start time).
pub fn pidfd_of(container: &Container) -> Result<OwnedFd> {
    let st = container.state();
    let fd = jinn_sys::pidfd::open(st.pid)
        .map_err(|e| anyhow::anyhow!("pidfd_open of container init (pid {}): {e}", st.pid))?;
    if !jinn_state::process_is_alive(st.pid, st.pid_start_time) {
        bail!("container not running");
    }
    Ok(fd)
}

/// SIGKILL the init and wait until it is gone (best effort).
fn kill_and_wait(pidfd: Option<std::os::fd::BorrowedFd<'_>>, pid: i32) {
    match pidfd {
        Some(fd) => {
            let _ = jinn_sys::pidfd::send_signal(fd, libc::SIGKILL);
            let _ = jinn_sys::pidfd::wait_exit(fd, 10_000);
        }
        None => {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
        }
    }
}

/// Remove a container: kill what is left of it (when `force`, or when it was only
/// created), its cgroup, and its state directory.
pub fn destroy(container: Container, force: bool) -> Result<()> {
    let must_kill = match container.live_status() {
        Status::Stopped => false,
        Status::Created => true,
        _ if force => true,
        s => bail!(
            "cannot delete container {} that is not stopped: {s}",
            container.id()
        ),
    };
    let cgroup = cgroup_of(&container)?;
    if must_kill || force {
        // Every process of the cgroup first (kill_all thaws a paused one, so the kill can
        // land), then wait for the init itself.
        if let Some(cg) = &cgroup {
            let _ = cg.kill_all(libc::SIGKILL);
        }
        kill_container(&container)?;
    }
    // The hooks are read before anything is removed; an unreadable hooks file must not
    // make the container undeletable.
    let poststop = load_hooks(&container)
        .map(|h| h.poststop)
        .unwrap_or_else(|e| {
            tracing::warn!("poststop hooks of {}: {e}", container.id());
            Vec::new()
        });
    if let Some(cg) = &cgroup {
        cg.destroy()?;
    }
    let mut state = container.oci_state_json();
    state["status"] = "stopped".into();
    container.destroy()?;
    poststop_with_state(&poststop, &state.to_string());
    Ok(())
}

fn kill_container(container: &Container) -> Result<()> {
    if let Ok(fd) = pidfd_of(container) {
        kill_and_wait(Some(fd.as_fd()), container.state().pid);
    }
    Ok(())
}

/// The container's cgroup; `None` for a rootless container without a delegated one.
pub fn cgroup_of(container: &Container) -> Result<Option<Cgroup>> {
    let paths = &container.state().cgroup_paths;
    if paths.is_null() {
        return Ok(None);
    }
    Ok(Some(serde_json::from_value(paths.clone())?))
}

/// The container's cgroup, for the commands that need one.
pub fn load_cgroup(container: &Container) -> Result<Cgroup> {
    cgroup_of(container)?.ok_or_else(|| {
        anyhow::anyhow!(
            "container {} has no cgroup (rootless without a delegated cgroup)",
            container.id()
        )
    })
}
