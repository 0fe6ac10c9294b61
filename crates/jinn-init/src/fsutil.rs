//! Paths inside the container's rootfs, touched only through fds: every lookup is
//! `openat2(RESOLVE_IN_ROOT)` from the rootfs fd, every creation is `*at` on a parent fd
//! found that way, so a symlink in the rootfs can never lead outside it.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path};

use jinn_sys::resolve::open_in_root;
use nix::errno::Errno;
use nix::sys::stat::Mode;

use crate::error::{InitError, Step};

/// Split an absolute container path into its normal components (`.` and `/` dropped;
/// `..` kept, RESOLVE_IN_ROOT clamps it at the root).
fn components(path: &Path) -> Vec<&str> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            Component::ParentDir => Some(".."),
            _ => None,
        })
        .collect()
}

/// Open `path` (absolute inside the container) as an `O_PATH` fd.
pub(crate) fn open_path(root: BorrowedFd<'_>, path: &Path) -> nix::Result<OwnedFd> {
    open_in_root(root, &rel(path), libc::O_PATH, 0)
}

/// `path` without its leading `/`, for openat2 relative to the rootfs fd.
pub(crate) fn rel(path: &Path) -> String {
    let s = components(path).join("/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// `mkdir -p path` inside the root; returns an `O_PATH` fd of the directory.
pub(crate) fn mkdir_all(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd, InitError> {
    let comps = components(path);
    let mut dir = open_in_root(root, ".", libc::O_PATH | libc::O_DIRECTORY, 0)
        .at("open rootfs", path.display())?;
    for (i, name) in comps.iter().enumerate() {
        let prefix = comps[..=i].join("/");
        dir = match open_in_root(root, &prefix, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(
                    Some(dir.as_raw_fd()),
                    *name,
                    Mode::from_bits_truncate(0o755),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e).at("mkdir", format!("/{prefix}")),
                }
                open_in_root(root, &prefix, libc::O_PATH | libc::O_DIRECTORY, 0)
                    .at("open", format!("/{prefix}"))?
            }
            Err(e) => return Err(e).at("open", format!("/{prefix}")),
        };
    }
    Ok(dir)
}

/// Make sure the mount target `path` exists, as a directory or (for a file source) an
/// empty file, and return an `O_PATH` fd of it.
pub(crate) fn ensure_target(
    root: BorrowedFd<'_>,
    path: &Path,
    is_dir: bool,
) -> Result<OwnedFd, InitError> {
    match open_path(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e).at("open mount target", path.display()),
    }
    if is_dir {
        return mkdir_all(root, path);
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| {
        InitError::Message(format!("mount target {}: no file name", path.display()))
    })?;
    let pfd = mkdir_all(root, parent)?;
    match nix::fcntl::openat(
        Some(pfd.as_raw_fd()),
        name,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_WRONLY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(fd) => {
            let _ = nix::unistd::close(fd);
        }
        Err(Errno::EEXIST) => {}
        Err(e) => return Err(e).at("create mount target", path.display()),
    }
    open_path(root, path).at("open mount target", path.display())
}

pub(crate) use jinn_sys::fd::open as open_host;
