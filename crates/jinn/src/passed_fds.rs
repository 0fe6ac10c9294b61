//! The fds a container gets beyond stdio: `--preserve-fds` and systemd socket activation.

use anyhow::{bail, Result};

use crate::cli::CreateArgs;

/// systemd socket activation, as runc: when jinn itself was given `LISTEN_FDS` fds
/// (with `LISTEN_PID` = our pid), they are passed on after stdio, before the
/// `--preserve-fds` ones, and the process gets `LISTEN_FDS` (and its own `LISTEN_PID`).
pub fn socket_activation(args: &CreateArgs, plan: &mut jinn_config::Plan) -> CreateArgs {
    let n = listen_fds();
    if n == 0 {
        return args.clone();
    }
    plan.process.env.retain(|e| !e.starts_with("LISTEN_FDS="));
    plan.process.env.push(format!("LISTEN_FDS={n}"));
    CreateArgs {
        preserve_fds: args.preserve_fds + n,
        ..args.clone()
    }
}

/// How many fds systemd socket activation passed jinn (`LISTEN_FDS`, when `LISTEN_PID`
/// is jinn's own pid).
pub fn listen_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID").ok() == Some(std::process::id().to_string());
    match std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) if ours => n,
        _ => 0,
    }
}

/// The fds to pass on (3 .. 3+n) must be open before jinn opens anything itself:
/// otherwise jinn's own fds (the state directory, sockets) would take those numbers and
/// reach the container (the CVE-2024-21626 class).
pub fn check_passed_fds(n: u32) -> Result<()> {
    for fd in 3..3 + n as i32 {
        if nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            bail!("--preserve-fds: fd {fd} is not open, so it cannot be passed to the container");
        }
    }
    Ok(())
}
