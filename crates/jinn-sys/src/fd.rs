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

/// A sealed, executable memfd copy of the file `src` refers to: `memfd_create(name,
/// MFD_CLOEXEC | MFD_ALLOW_SEALING [| MFD_EXEC])`, the bytes copied with `sendfile`, then
/// sealed against any write, shrink or grow, and against further seal changes.
pub fn sealed_memfd_copy(
    src: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::CStr,
) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    const MFD_EXEC: libc::c_uint = 0x10;
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is a valid C string borrowed for the call.
    let create = |flags| unsafe { libc::memfd_create(name.as_ptr(), flags) };
    // MFD_EXEC (6.3+) keeps the copy executable where vm.memfd_noexec defaults to
    // no-exec; older kernels reject the flag with EINVAL.
    let mut raw = create(base | MFD_EXEC);
    if raw < 0 && Errno::last() == Errno::EINVAL {
        raw = create(base);
    }
    let fd = Errno::result(raw)?;
    // SAFETY: memfd_create returned a new descriptor that nothing else owns.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let size = nix::sys::stat::fstat(src.as_raw_fd())?.st_size as usize;
    let mut offset: libc::off_t = 0;
    while (offset as usize) < size {
        // SAFETY: both descriptors are valid for the call; `offset` is ours.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                src.as_raw_fd(),
                &mut offset,
                size - offset as usize,
            )
        };
        match Errno::result(n)? {
            0 => return Err(Errno::EIO),
            _ => continue,
        }
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS on our own memfd.
    Errno::result(unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    Ok(memfd)
}

/// The seals of a memfd (`F_GET_SEALS`); `EINVAL` for a file that is not a memfd.
pub fn seals(fd: std::os::fd::BorrowedFd<'_>) -> nix::Result<i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GET_SEALS only reads the flags of the file `fd` refers to.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })
}
