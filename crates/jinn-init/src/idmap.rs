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
            return Err(InitError::Child(format!(
                "mounts {}: idmap is supported on bind mounts only",
                m.destination.display()
            )));
        };
        let userns = userns_with(&m.uid_mappings, &m.gid_mappings)?;
        let tree = open_tree_clone(
            jinn_sys::fd::at_cwd(),
            &source.to_string_lossy(),
            *recursive,
        )
        .map_err(|source_err| InitError::Path {
            what: "open bind source",
            path: source.clone(),
            source: source_err,
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
            InitError::Child(format!(
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
                for (file, map) in [("uid_map", uid), ("gid_map", gid)] {
                    let path = format!("/proc/{child}/{file}");
                    let text: String = map
                        .iter()
                        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
                        .collect();
                    std::fs::write(&path, text).map_err(|e| InitError::Path {
                        what: "write",
                        path: path.into(),
                        source: io_errno(e),
                    })?;
                }
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
