//! The container's root filesystem: propagation, the rootfs bind mount, masked and
//! read-only paths, and the switch with `pivot_root` (or MS_MOVE + chroot).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use jinn_config::{Plan, PropagationKind};
use jinn_sys::mount::{
    mount_setattr, move_mount, open_tree_clone, pivot_root_here, MountAttr, MOUNT_ATTR_NODEV,
    MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
};
use jinn_sys::resolve::open_in_root;
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, SFlag};

use crate::error::{InitError, Step};
use crate::fsutil::{open_host, rel};
use crate::mounts::new_fs;

/// Set the propagation of the whole mount namespace (runc's default: rslave, so nothing
/// done in the container propagates to the host), then bind the rootfs on itself.
/// Returns an fd of the rootfs mount.
pub(crate) fn prepare(plan: &Plan) -> Result<OwnedFd, InitError> {
    // An unbindable tree cannot be bound: the rootfs bind below would fail. Such a root
    // gets its propagation after the switch (finish_root), rslave until then.
    let prop = plan
        .rootfs_propagation
        .filter(|p| p.kind != PropagationKind::Unbindable)
        .map(|p| {
            let mut f = MsFlags::from_bits_retain(p.kind.ms_flag() as libc::c_ulong);
            // private and slave go over the whole tree here: a submount left shared (a
            // shared mount holding the bundle) would carry the container's mounts to
            // the host and make pivot_root fail. The root itself gets exactly the
            // configured propagation after the switch (finish_root).
            if p.recursive || matches!(p.kind, PropagationKind::Private | PropagationKind::Slave) {
                f |= MsFlags::MS_REC;
            }
            f
        })
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    mount(None::<&str>, "/", None::<&str>, prop, None::<&str>).at("set propagation of", "/")?;

    let rootfs = &plan.rootfs;
    let shared = plan
        .rootfs_propagation
        .is_some_and(|p| p.kind == PropagationKind::Shared);
    if shared {
        // pivot_root refuses a shared parent mount, and a bind under a shared mount would
        // show up on the host: make the mount holding the rootfs private first.
        let mut parent = rootfs.parent().unwrap_or(Path::new("/"));
        while !jinn_sys::mount::is_mount_root(parent).at("stat", parent.display())? {
            parent = parent.parent().unwrap_or(Path::new("/"));
        }
        let pfd = open_host(parent, nix::fcntl::OFlag::O_PATH).at("open", parent.display())?;
        mount_setattr(
            pfd.as_fd(),
            false,
            MountAttr {
                propagation: libc::MS_PRIVATE,
                ..Default::default()
            },
        )
        .at("make private", parent.display())?;
    }

    let target = open_host(
        rootfs,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
    )
    .at("open rootfs", rootfs.display())?;
    let tree =
        open_tree_clone(target.as_fd(), "", true).at("bind mount rootfs", rootfs.display())?;
    move_mount(tree.as_fd(), target.as_fd()).at("bind mount rootfs", rootfs.display())?;
    Ok(tree)
}

/// `linux.maskedPaths`: /dev/null over files, an empty read-only tmpfs over directories.
pub(crate) fn mask_paths(
    root: BorrowedFd<'_>,
    paths: &[std::path::PathBuf],
) -> Result<(), InitError> {
    if paths.is_empty() {
        return Ok(());
    }
    let null = host_dev_null()?;
    for p in paths {
        let target = match open_in_root(root, &rel(p), libc::O_PATH | libc::O_NOFOLLOW, 0) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e).at("open masked path", p.display()),
        };
        let st = fstat(target.as_raw_fd()).at("stat masked path", p.display())?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
            let tmpfs = new_fs("tmpfs", "tmpfs", &[], MOUNT_ATTR_RDONLY).map_err(|(w, e)| {
                InitError::Message(format!(
                    "mask {}: tmpfs {w}: {}",
                    p.display(),
                    jinn_sys::errno_text(e)
                ))
            })?;
            move_mount(tmpfs.as_fd(), target.as_fd()).at("mask", p.display())?;
        } else {
            let tree = open_tree_clone(null.as_fd(), "", false).at("open", "/dev/null")?;
            move_mount(tree.as_fd(), target.as_fd()).at("mask", p.display())?;
        }
    }
    Ok(())
}

/// The host's /dev/null, checked to be the real character device 1:3.
fn host_dev_null() -> Result<OwnedFd, InitError> {
    let fd = open_host(
        "/dev/null",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NOFOLLOW,
    )
    .at("open", "/dev/null")?;
    let st = fstat(fd.as_raw_fd()).at("stat", "/dev/null")?;
    let is_chr = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
    if !is_chr || st.st_rdev != nix::sys::stat::makedev(1, 3) {
        return Err(InitError::Message(
            "/dev/null is not the null device (1:3)".into(),
        ));
    }
    Ok(fd)
}

/// `linux.readonlyPaths`: bind each path on itself, read-only (submounts too).
pub(crate) fn readonly_paths(
    root: BorrowedFd<'_>,
    paths: &[std::path::PathBuf],
) -> Result<(), InitError> {
    for p in paths {
        let target = match open_in_root(root, &rel(p), libc::O_PATH | libc::O_NOFOLLOW, 0) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e).at("open readonly path", p.display()),
        };
        let tree =
            open_tree_clone(target.as_fd(), "", true).at("bind readonly path", p.display())?;
        mount_setattr(
            tree.as_fd(),
            true,
            MountAttr {
                set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                ..Default::default()
            },
        )
        .at("make read-only", p.display())?;
        move_mount(tree.as_fd(), target.as_fd()).at("bind readonly path", p.display())?;
    }
    Ok(())
}

/// Make `root` the process's root directory and detach the host's mounts.
pub(crate) fn switch_root(root: &OwnedFd, no_pivot: bool) -> Result<(), InitError> {
    // The host's root, to detach it without propagating anything to the host.
    let old_root = open_host(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
    )
    .at("open", "/")?;
    nix::unistd::fchdir(root.as_raw_fd()).step("chdir to rootfs")?;
    if no_pivot {
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .step("move rootfs to /")?;
        nix::unistd::chroot(".").step("chroot to rootfs")?;
    } else {
        pivot_root_here().step("pivot_root")?;
        // The old root is now stacked on "." (the new root). Make its tree rslave by fd,
        // so its unmount cannot propagate to the host: the path "." would name the new
        // root and turn the container's own shared mounts private.
        mount_setattr(
            old_root.as_fd(),
            true,
            MountAttr {
                propagation: libc::MS_SLAVE,
                ..Default::default()
            },
        )
        .step("make old root rslave")?;
        umount2(".", MntFlags::MNT_DETACH).step("detach old root")?;
    }
    nix::unistd::chdir("/").step("chdir to /")
}

/// After the switch: `root.readonly` makes the root mount itself read-only (not its
/// submounts, as runc), and an explicit `rootfsPropagation` is set on the new root.
pub(crate) fn finish_root(plan: &Plan) -> Result<(), InitError> {
    if !plan.rootfs_readonly && plan.rootfs_propagation.is_none() {
        return Ok(());
    }
    let root = open_host(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
    )
    .at("open", "/")?;
    if plan.rootfs_readonly {
        mount_setattr(
            root.as_fd(),
            false,
            MountAttr {
                set: MOUNT_ATTR_RDONLY,
                ..Default::default()
            },
        )
        .at("make read-only", "/")?;
    }
    if let Some(p) = plan.rootfs_propagation {
        mount_setattr(
            root.as_fd(),
            p.recursive,
            MountAttr {
                propagation: p.kind.ms_flag(),
                ..Default::default()
            },
        )
        .at("set propagation of", "/")?;
    }
    Ok(())
}
