//! Namespaces joined by path (`linux.namespaces[].path`), for `spawn` (pid and time,
//! before the clone) and the init (the rest).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use jinn_config::NamespaceKind;

use crate::error::{InitError, Step};

/// Opens the namespace file at `path` (a host path: `/proc/PID/ns/…` or a bind of one).
pub(crate) fn open(path: &Path) -> Result<OwnedFd, InitError> {
    jinn_sys::fd::open(path, nix::fcntl::OFlag::O_RDONLY).at("open namespace", path.display())
}

/// `setns(fd, CLONE_NEW<kind>)`.
pub(crate) fn enter(fd: impl AsFd, kind: NamespaceKind) -> nix::Result<()> {
    nix::sched::setns(
        fd,
        nix::sched::CloneFlags::from_bits_retain(kind.clone_flag() as i32),
    )
}

/// Joins the `kind` namespace at `path`.
pub(crate) fn join(path: &Path, kind: NamespaceKind) -> Result<(), InitError> {
    enter(open(path)?, kind).at("join namespace", path.display())
}
