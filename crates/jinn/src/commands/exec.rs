//! `jinn exec`: run a new process in a running container.

use std::os::fd::AsFd;

use anyhow::{anyhow, bail, Result};
use jinn_config::ProcessPlan;
use jinn_init::exec::{spawn_exec, ExecOptions};
use jinn_state::{Container, Status, Store};

use crate::cli::ExecArgs;
use crate::{console, container, foreground};

pub fn run(store: &Store, args: &ExecArgs) -> Result<i32> {
    let c = store.load(&args.id)?;
    match c.live_status() {
        Status::Stopped => bail!("cannot exec in a stopped container"),
        Status::Paused if !args.ignore_paused => {
            bail!("cannot exec in a paused container (use --ignore-paused to override)")
        }
        _ => {}
    }
    if !args.cgroup.is_empty() {
        bail!("--cgroup: exec into a sub-cgroup is not supported by jinn yet");
    }
    let process = exec_process(&c, args)?;
    console::check(
        process.terminal,
        args.console_socket.is_some(),
        !args.detach,
    )?;
    let socket = args
        .console_socket
        .as_deref()
        .map(console::connect)
        .transpose()?;
    let own = (process.terminal && socket.is_none())
        .then(console::OwnConsole::new)
        .transpose()?;
    let socket = socket.as_ref().or(own.as_ref().map(|o| &o.theirs));
    let seccomp = crate::saved::load_seccomp(&c)?;
    let seccomp_listener = crate::saved::seccomp_listener(seccomp.as_ref())?;
    let pidfd = container::pidfd_of(&c)?;
    // A rootless container may have no cgroup: the process then joins none either.
    let cgroup = container::cgroup_of(&c)?;
    let v2_fd = match &cgroup {
        Some(cg) => container::cgroup_v2_fd(cg)?,
        None => None,
    };
    let mut join_cgroup = |pid: nix::unistd::Pid| -> Result<(), String> {
        match &cgroup {
            Some(cg) => cg.add_pid(pid.as_raw()).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    };
    let signals = foreground::forwarded_signals();
    if !args.detach {
        signals.thread_block()?;
    }
    let spawned = spawn_exec(ExecOptions {
        init_pidfd: pidfd.as_fd(),
        init_pid: c.state().pid,
        process: &process,
        cgroup_dir: v2_fd.as_ref().map(|f| f.as_fd()),
        join_cgroup: &mut join_cgroup,
        preserve_fds: args.preserve_fds,
        console_socket: socket,
        seccomp: seccomp.as_ref(),
        seccomp_listener,
        state: c.oci_state_json().to_string(),
    })?;
    // The process runs already: if what is left fails, it does not stay behind.
    let finish = || -> Result<Option<std::os::fd::OwnedFd>> {
        let master = own
            .as_ref()
            .map(console::OwnConsole::receive_master)
            .transpose()?;
        if let Some(p) = &args.pid_file {
            container::write_pid_file(p, spawned.pid.as_raw())?;
        }
        Ok(master)
    };
    let master = match finish() {
        Ok(m) => m,
        Err(e) => {
            if let Some(fd) = &spawned.pidfd {
                let _ = jinn_sys::pidfd::send_signal(fd.as_fd(), libc::SIGKILL);
            }
            return Err(e);
        }
    };
    drop(c); // release the container's lock while the process runs
    if args.detach {
        return Ok(0);
    }
    match master {
        Some(m) => console::relay_and_wait(m, &signals, spawned.pid),
        None => foreground::wait_and_forward(&signals, spawned.pid),
    }
}

/// The process to run: `--process FILE` as it is, or the container's own process with
/// the command and the flags applied (as runc).
fn exec_process(c: &Container, args: &ExecArgs) -> Result<ProcessPlan> {
    if let Some(file) = &args.process {
        return Ok(jinn_config::load_process(file)?);
    }
    if args.command.is_empty() {
        bail!("exec: no command given (pass ARGS or --process FILE)");
    }
    let mut p = crate::saved::load_process(c)?;
    p.args = args.command.clone();
    p.terminal = args.tty;
    for e in &args.env {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        p.env
            .retain(|old| old.split_once('=').map_or(old.as_str(), |(k, _)| k) != key);
        p.env.push(e.clone());
    }
    if let Some(cwd) = &args.cwd {
        if !cwd.is_absolute() {
            bail!("--cwd: {} is not an absolute path", cwd.display());
        }
        p.cwd = cwd.clone();
    }
    if let Some(user) = &args.user {
        let (uid, gid) = parse_user(user)?;
        p.user.uid = uid;
        if let Some(gid) = gid {
            p.user.gid = gid;
        }
    }
    if !args.additional_gids.is_empty() {
        p.user.additional_gids = args.additional_gids.clone();
    }
    if !args.cap.is_empty() {
        let caps = p.capabilities.get_or_insert_with(Default::default);
        for name in &args.cap {
            let n = jinn_config::tables::capability_number(name)
                .ok_or_else(|| anyhow!("--cap: unknown capability {name:?}"))?;
            let bit = 1u64 << n;
            caps.bounding |= bit;
            caps.effective |= bit;
            caps.permitted |= bit;
            caps.ambient |= bit;
        }
    }
    if args.no_new_privs {
        p.no_new_privileges = true;
    }
    jinn_config::refuse_lsm("--apparmor", args.apparmor.as_deref())?;
    jinn_config::refuse_lsm("--process-label", args.process_label.as_deref())?;
    Ok(p)
}

/// `--user UID[:GID]`, numeric as runc takes it.
fn parse_user(s: &str) -> Result<(u32, Option<u32>)> {
    let bad = || anyhow!("--user: {s:?} is not UID[:GID] (numbers)");
    let (uid, gid) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::parse_user;

    #[test]
    fn user_flag() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:100").unwrap(), (1000, Some(100)));
        assert!(parse_user("root").is_err());
        assert!(parse_user("1:x").is_err());
        assert!(parse_user("").is_err());
    }
}
