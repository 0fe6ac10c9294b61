//! One `mounts` entry: a bind (open_tree) or a new filesystem (fsopen/fsmount), made
//! detached, given its attributes, then attached by fd on a target resolved in the root.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use jinn_config::{MountKind, MountPlan, Propagation};
use jinn_sys::mount::{
    fsconfig_create, fsconfig_reconfigure, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen,
    fspick, mount_setattr, move_mount, open_tree_clone, MountAttr, MOUNT_ATTR_RDONLY,
};
use nix::sys::stat::Mode;

use crate::error::{InitError, Step};
use crate::fsutil::ensure_target;
use crate::spawn::CgroupMountSource;

/// Mount `m` inside the rootfs `root`.
/// `premade` is the detached mount the parent made for an idmapped bind.
pub(crate) fn mount_entry(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    cgroups: &[CgroupMountSource],
    premade: Option<&OwnedFd>,
) -> Result<(), InitError> {
    let dest = m.destination.display();
    if m.remount {
        return remount(root, m);
    }
    match &m.kind {
        MountKind::Bind { source, recursive } => {
            let is_dir = std::fs::metadata(source)
                .map_err(|e| {
                    InitError::Message(format!("bind mount source {}: {e}", source.display()))
                })?
                .is_dir();
            let target = ensure_target(root, &m.destination, is_dir)?;
            let made;
            let tree = match premade {
                Some(t) => t,
                None => {
                    made = open_tree_clone(jinn_sys::fd::at_cwd(), &source, *recursive)
                        .at("open bind source", source.display())?;
                    &made
                }
            };
            set_attrs(tree, m).at("set mount attributes of", &dest)?;
            move_mount(tree.as_fd(), target.as_fd())
                .at("bind mount", format!("{} on {dest}", source.display()))?;
            propagate(tree, m.propagation).at("set propagation of", &dest)
        }
        MountKind::Filesystem { fstype, .. } if fstype == "cgroup" => {
            cgroup_v1_tree(root, m, cgroups)
        }
        MountKind::Filesystem { fstype, source } => {
            let mnt = match new_fs(fstype, source, &m.data, m.attr_set) {
                Ok(mnt) => mnt,
                // A user namespace without a network namespace of its own may not mount
                // a new sysfs: show the host's, read-only, as runc's rootless mode does.
                Err((_, nix::errno::Errno::EPERM)) if fstype == "sysfs" => {
                    host_sysfs(m).at("bind the host's /sys on", &dest)?
                }
                Err(e) => return Err(mount_error(fstype, &dest, e)),
            };
            let target = ensure_target(root, &m.destination, true)?;
            move_mount(mnt.as_fd(), target.as_fd()).at("mount", format!("{fstype} on {dest}"))?;
            if m.rec_attr_set | m.rec_attr_clear != 0 {
                set_attrs(&mnt, m).at("set mount attributes of", &dest)?;
            }
            propagate(&mnt, m.propagation).at("set propagation of", &dest)
        }
    }
}

/// `remount`: the mount already at the destination gets the entry's attributes and
/// propagation, and its superblock the entry's filesystem options.
fn remount(root: BorrowedFd<'_>, m: &MountPlan) -> Result<(), InitError> {
    let dest = m.destination.display();
    let target = crate::fsutil::open_path(root, &m.destination).at("open remount target", &dest)?;
    if !m.data.is_empty() {
        let fs = fspick(target.as_fd()).at("open the filesystem to remount at", &dest)?;
        for opt in &m.data {
            match opt.split_once('=') {
                Some((k, v)) => fsconfig_set_string(fs.as_fd(), k, v),
                None => fsconfig_set_flag(fs.as_fd(), opt),
            }
            .at("set remount option", format!("{opt} of {dest}"))?;
        }
        fsconfig_reconfigure(fs.as_fd()).at("remount", &dest)?;
    }
    set_attrs(&target, m).at("set mount attributes of", &dest)?;
    propagate(&target, m.propagation).at("set propagation of", &dest)
}

/// A recursive bind of the host's /sys with the mount's attributes on every submount.
fn host_sysfs(m: &MountPlan) -> nix::Result<OwnedFd> {
    let tree = open_tree_clone(jinn_sys::fd::at_cwd(), "/sys", true)?;
    mount_setattr(
        tree.as_fd(),
        true,
        MountAttr {
            set: m.attr_set,
            ..Default::default()
        },
    )?;
    Ok(tree)
}

fn mount_error(fstype: &str, dest: &impl std::fmt::Display, e: (String, nix::Error)) -> InitError {
    let (what, errno) = e;
    InitError::Message(format!(
        "mount {fstype} on {dest}: {what}: {}",
        jinn_sys::errno_text(errno)
    ))
}

/// A new, detached filesystem instance with `data` options and mount attributes.
pub(crate) fn new_fs(
    fstype: &str,
    source: &str,
    data: &[String],
    attrs: u64,
) -> Result<OwnedFd, (String, nix::Error)> {
    let fs = fsopen(fstype).map_err(|e| ("fsopen".to_string(), e))?;
    if !source.is_empty() {
        // Not every filesystem takes a source; the kernel ignores it for most.
        let _ = fsconfig_set_string(fs.as_fd(), "source", source);
    }
    for opt in data {
        let r = match opt.split_once('=') {
            Some((k, v)) => fsconfig_set_string(fs.as_fd(), k, v),
            None => fsconfig_set_flag(fs.as_fd(), opt),
        };
        r.map_err(|e| (format!("option {opt}"), e))?;
    }
    fsconfig_create(fs.as_fd()).map_err(|e| ("create".to_string(), e))?;
    fsmount(fs.as_fd(), attrs).map_err(|e| ("fsmount".to_string(), e))
}

fn set_attrs(mnt: &OwnedFd, m: &MountPlan) -> nix::Result<()> {
    if m.attr_set | m.attr_clear != 0 {
        mount_setattr(
            mnt.as_fd(),
            false,
            MountAttr {
                set: m.attr_set,
                clear: m.attr_clear,
                ..Default::default()
            },
        )?;
    }
    if m.rec_attr_set | m.rec_attr_clear != 0 {
        mount_setattr(
            mnt.as_fd(),
            true,
            MountAttr {
                set: m.rec_attr_set,
                clear: m.rec_attr_clear,
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

fn propagate(mnt: &OwnedFd, p: Option<Propagation>) -> nix::Result<()> {
    match p {
        None => Ok(()),
        Some(p) => mount_setattr(
            mnt.as_fd(),
            p.recursive,
            MountAttr {
                propagation: p.kind.ms_flag(),
                ..Default::default()
            },
        ),
    }
}

/// A `cgroup` mount on a v1 or hybrid host, as runc makes it: a tmpfs holding one bind
/// mount of the container's own cgroup directory per hierarchy, all read-only when asked.
fn cgroup_v1_tree(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    cgroups: &[CgroupMountSource],
) -> Result<(), InitError> {
    let dest = m.destination.display();
    let base_attrs = m.attr_set & !MOUNT_ATTR_RDONLY;
    // A single unnamed source is a cgroup2 directory: bind it directly.
    if let [only] = cgroups {
        if only.name.is_empty() {
            let target = ensure_target(root, &m.destination, true)?;
            let tree = open_tree_clone(jinn_sys::fd::at_cwd(), &only.host_dir, false)
                .at("open cgroup", only.host_dir.display())?;
            set_attrs(&tree, m).at("set mount attributes of", &dest)?;
            return move_mount(tree.as_fd(), target.as_fd()).at("mount cgroup on", &dest);
        }
    }
    let tmpfs = new_fs("tmpfs", "cgroup", &["mode=755".to_string()], base_attrs)
        .map_err(|e| mount_error("tmpfs", &dest, e))?;
    let target = ensure_target(root, &m.destination, true)?;
    move_mount(tmpfs.as_fd(), target.as_fd()).at("mount tmpfs on", &dest)?;
    for src in cgroups {
        let sub = Path::new(&src.name);
        match nix::sys::stat::mkdirat(
            Some(tmpfs.as_raw_fd()),
            sub,
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e).at("mkdir", format!("{dest}/{}", src.name)),
        }
        let sub_fd = jinn_sys::resolve::open_beneath(tmpfs.as_fd(), &src.name, libc::O_PATH, 0)
            .at("open", format!("{dest}/{}", src.name))?;
        let tree = open_tree_clone(jinn_sys::fd::at_cwd(), &src.host_dir, false)
            .at("open cgroup", src.host_dir.display())?;
        set_attrs(&tree, m).at("set mount attributes of", format!("{dest}/{}", src.name))?;
        move_mount(tree.as_fd(), sub_fd.as_fd()).at(
            "bind mount",
            format!("{} on {dest}/{}", src.host_dir.display(), src.name),
        )?;
    }
    if m.attr_set & MOUNT_ATTR_RDONLY != 0 {
        mount_setattr(
            tmpfs.as_fd(),
            false,
            MountAttr {
                set: MOUNT_ATTR_RDONLY,
                ..Default::default()
            },
        )
        .at("make read-only", &dest)?;
    }
    Ok(())
}
