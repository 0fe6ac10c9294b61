//! Idmapped bind mounts (mount options `idmap`/`ridmap`, per-mount `uidMappings` and
//! `gidMappings`): made by the parent, which is privileged over the source filesystem,
//! before the clone. Each is a detached `open_tree` copy with `MOUNT_ATTR_IDMAP` set from
//! a user namespace holding the mount's mappings; the init inherits the fds and attaches
//! them like any other bind.

use std::os::fd::{AsFd, OwnedFd};

use jinn_config::{IdMapping, MountKind, Plan};
use jinn_sys::clone::{clone3, CloneRequest, Cloned};
use jinn_sys::mount::{mount_setattr, open_tree_clone, MountAttr, MOUNT_ATTR_IDMAP};
use jinn_sys::process::exit_now;
use nix::sys::wait::waitpid;

use crate::error::InitError;
use crate::spawn::io_errno;

/// One detached, idmapped mount per `mounts` entry that asks for it (by index).
pub(crate) fn prepare(plan: &Plan) -> Result<Vec<Option<OwnedFd>>, InitError> {
    let mut out = Vec::with_capacity(plan.mounts.len());
    for m in &plan.mounts {
        let Some(recursive_map) = m.idmap else {
            out.push(None);
            continue;
        };
        let MountKind::Bind { source, recursive } = &m.kind else {
            return Err(InitError::Message(format!(
                "mounts {}: idmap is supported on bind mounts only",
                m.destination.display()
            )));
        };
        let userns = userns_with(&m.uid_mappings, &m.gid_mappings)?;
        let tree =
            open_tree_clone(jinn_sys::fd::at_cwd(), &source, *recursive).map_err(|source_err| {
                InitError::Path {
                    what: "open bind source",
                    path: source.clone(),
                    source: source_err,
                }
            })?;
        mount_setattr(
            tree.as_fd(),
            recursive_map,
            MountAttr {
                set: MOUNT_ATTR_IDMAP,
                userns_fd: Some(std::os::fd::AsRawFd::as_raw_fd(&userns)),
                ..Default::default()
            },
        )
        .map_err(|e| {
            InitError::Message(format!(
                "idmap mount {} on {}: {} (the filesystem may not support idmapped mounts)",
                source.display(),
                m.destination.display(),
                jinn_sys::errno_text(e)
            ))
        })?;
        out.push(Some(tree));
    }
    Ok(out)
}

/// A user namespace with these mappings, kept by its fd: a child is cloned into a new
/// user namespace, the maps are written, the namespace is opened, and the child exits.
fn userns_with(uid: &[IdMapping], gid: &[IdMapping]) -> Result<OwnedFd, InitError> {
    let (hold_r, hold_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|source| InitError::Sys {
            what: "pipe",
            source,
        })?;
    let req = CloneRequest {
        flags: libc::CLONE_NEWUSER as u64,
        ..Default::default()
    };
    // SAFETY: jinn is single-threaded (see spawn.rs); the child only reads and exits.
    match unsafe { clone3(&req) }.map_err(InitError::Clone)? {
        Cloned::Child => {
            drop(hold_w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&hold_r), &mut b);
            exit_now(0)
        }
        Cloned::Parent { child, .. } => {
            drop(hold_r);
            let result = (|| {
                write_maps(child, uid, gid, false)?;
                let ns = format!("/proc/{child}/ns/user");
                jinn_sys::fd::open(ns.as_str(), nix::fcntl::OFlag::O_RDONLY).map_err(|source| {
                    InitError::Path {
                        what: "open",
                        path: ns.into(),
                        source,
                    }
                })
            })();
            drop(hold_w);
            let _ = waitpid(child, None);
            result
        }
    }
}

/// Write a child's uid_map and gid_map. As root, directly. Rootless, the kernel allows
/// only a single line mapping the caller's own id (after setgroups is denied); anything
/// else goes through the setuid helpers newuidmap/newgidmap (Debian's uidmap), which check
/// /etc/subuid and /etc/subgid.
pub(crate) fn write_maps(
    child: nix::unistd::Pid,
    uid: &[IdMapping],
    gid: &[IdMapping],
    rootless: bool,
) -> Result<(), InitError> {
    let own = |map: &[IdMapping], id: u32| matches!(map, [m] if m.size == 1 && m.host_id == id);
    let direct = !rootless
        || (own(uid, nix::unistd::geteuid().as_raw()) && own(gid, nix::unistd::getegid().as_raw()));
    if !direct {
        helper("newuidmap", child, uid)?;
        return helper("newgidmap", child, gid);
    }
    for (file, map) in [("uid_map", uid), ("gid_map", gid)] {
        if rootless && file == "gid_map" {
            write_proc(child, "setgroups", "deny")?;
        }
        let text: String = map
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect();
        write_proc(child, file, &text)?;
    }
    Ok(())
}

fn write_proc(child: nix::unistd::Pid, file: &str, text: &str) -> Result<(), InitError> {
    let path = format!("/proc/{child}/{file}");
    std::fs::write(&path, text).map_err(|e| InitError::Path {
        what: "write",
        path: path.into(),
        source: io_errno(e),
    })
}

/// `newuidmap PID ID HOSTID SIZE …` (or newgidmap).
fn helper(program: &str, child: nix::unistd::Pid, map: &[IdMapping]) -> Result<(), InitError> {
    let mut cmd = std::process::Command::new(program);
    cmd.arg(child.to_string());
    for m in map {
        cmd.args([
            m.container_id.to_string(),
            m.host_id.to_string(),
            m.size.to_string(),
        ]);
    }
    let out = cmd
        .output()
        .map_err(|e| InitError::Message(format!("{program} (from Debian's uidmap): {e}")))?;
    if !out.status.success() {
        return Err(InitError::Message(format!(
            "{program} {child}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
