//! File descriptor hygiene.

use nix::errno::Errno;

/// `close_range(first, u32::MAX, CLOSE_RANGE_CLOEXEC)`: mark every fd from `first` on
/// close-on-exec, so nothing of jinn's leaks into the container's program.
pub fn cloexec_from(first: u32) -> nix::Result<()> {
    // SAFETY: close_range only changes flags of this process's own descriptors.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(ret).map(drop)
}

/// Clear FD_CLOEXEC on `fd` (a descriptor that must survive exec, like a preserved fd).
pub fn clear_cloexec(fd: i32) -> nix::Result<()> {
    // SAFETY: F_SETFD on a descriptor number only changes that descriptor's flags; a
    // closed number gives EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    Errno::result(ret).map(drop)
}

/// `open(path, flags | O_CLOEXEC)` of a host path, as an owned fd.
pub fn open<P: ?Sized + nix::NixPath>(
    path: &P,
    flags: nix::fcntl::OFlag,
) -> nix::Result<std::os::fd::OwnedFd> {
    let fd = nix::fcntl::open(
        path,
        flags | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    // SAFETY: open returned a new descriptor that nothing else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// `AT_FDCWD` as a borrowed fd, for the `*at` calls that take a directory fd.
pub fn at_cwd() -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is a valid "descriptor" for every *at call and is never closed.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}
