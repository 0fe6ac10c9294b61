//! /dev inside the container: the default devices, `linux.devices`, and the usual links.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use jinn_config::{DeviceKind, DevicePlan};
use nix::errno::Errno;
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};

use crate::error::{InitError, Step};
use crate::fsutil::mkdir_all;

/// The devices every container gets (runtime-linux.md "Default Devices").
const DEFAULT_DEVICES: [(&str, i64, i64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Links runc makes in /dev.
const DEV_LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Create the default devices and links in the container's /dev.
pub(crate) fn default_devices(root: BorrowedFd<'_>, bind: bool) -> Result<(), InitError> {
    for (name, major, minor) in DEFAULT_DEVICES {
        let dev = DevicePlan {
            path: Path::new("/dev").join(name),
            kind: DeviceKind::Char,
            major,
            minor,
            file_mode: 0o666,
            uid: 0,
            gid: 0,
        };
        create_device(root, &dev, bind, true)?;
    }
    let dev = mkdir_all(root, Path::new("/dev"))?;
    for (name, target) in DEV_LINKS {
        if name == "ptmx" {
            // /dev/ptmx always points into the container's own devpts.
            match nix::unistd::unlinkat(
                Some(dev.as_raw_fd()),
                name,
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            ) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(e).at("remove", "/dev/ptmx"),
            }
        }
        match nix::unistd::symlinkat(target, Some(dev.as_raw_fd()), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).at("symlink", format!("/dev/{name}")),
        }
    }
    Ok(())
}

/// Make one device (a `linux.devices` entry or a default one): `mknod` and chown, or,
/// with `bind` (in a user namespace, where mknod is not allowed), a bind mount of the
/// host's device node of the same path on an empty file.
/// `replace_other`: whether a different file already at the path is replaced (default
/// devices) or an error (`linux.devices`).
pub(crate) fn create_device(
    root: BorrowedFd<'_>,
    d: &DevicePlan,
    bind: bool,
    replace_other: bool,
) -> Result<(), InitError> {
    if bind {
        return bind_device(root, d);
    }
    let parent = d.path.parent().unwrap_or(Path::new("/"));
    let name = d
        .path
        .file_name()
        .ok_or_else(|| InitError::Message(format!("device {}: no file name", d.path.display())))?;
    let pfd = mkdir_all(root, parent)?;
    let kind = match d.kind {
        DeviceKind::Char => SFlag::S_IFCHR,
        DeviceKind::Block => SFlag::S_IFBLK,
        DeviceKind::Fifo => SFlag::S_IFIFO,
    };
    let dev = makedev(d.major as u64, d.minor as u64);
    match mknodat(
        Some(pfd.as_raw_fd()),
        name,
        kind,
        Mode::from_bits_truncate(d.file_mode & 0o7777),
        dev,
    ) {
        Ok(()) => {}
        // Something is there already: the same device is kept; anything else is an
        // error for `linux.devices` (config-linux.md: "If a file already exists at path
        // that does not match the requested device, the runtime MUST generate an error");
        // a default device replaces what the image has there, as runc does.
        Err(Errno::EEXIST) => {
            let st = nix::sys::stat::fstatat(
                Some(pfd.as_raw_fd()),
                name,
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .at("stat", d.path.display())?;
            let same = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
                && (d.kind == DeviceKind::Fifo || st.st_rdev == dev);
            if !same {
                if !replace_other {
                    return Err(InitError::Message(format!(
                        "linux.devices: {} already exists and is not the requested device",
                        d.path.display()
                    )));
                }
                nix::unistd::unlinkat(
                    Some(pfd.as_raw_fd()),
                    name,
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                )
                .at("remove", d.path.display())?;
                mknodat(
                    Some(pfd.as_raw_fd()),
                    name,
                    kind,
                    Mode::from_bits_truncate(d.file_mode & 0o7777),
                    dev,
                )
                .at("mknod", d.path.display())?;
            }
        }
        Err(e) => return Err(e).at("mknod", d.path.display()),
    }
    fchownat(
        Some(pfd.as_raw_fd()),
        name,
        Some(Uid::from_raw(d.uid)),
        Some(Gid::from_raw(d.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .at("chown", d.path.display())
}

fn bind_device(root: BorrowedFd<'_>, d: &DevicePlan) -> Result<(), InitError> {
    let host = jinn_sys::fd::open(
        &d.path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_NOFOLLOW,
    )
    .at("open host device", d.path.display())?;
    let st = nix::sys::stat::fstat(host.as_raw_fd()).at("stat host device", d.path.display())?;
    let want = makedev(d.major as u64, d.minor as u64);
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if kind != SFlag::from_bits_truncate(d.kind.mode_bits())
        || (d.kind != DeviceKind::Fifo && st.st_rdev != want)
    {
        return Err(InitError::Message(format!(
            "device {}: the host's node is not a {:?} device {}:{}",
            d.path.display(),
            d.kind,
            d.major,
            d.minor
        )));
    }
    let target = crate::fsutil::ensure_target(root, &d.path, false)?;
    let tree = jinn_sys::mount::open_tree_clone(host.as_fd(), "", false)
        .at("bind host device", d.path.display())?;
    jinn_sys::mount::move_mount(tree.as_fd(), target.as_fd())
        .at("bind host device", d.path.display())
}
