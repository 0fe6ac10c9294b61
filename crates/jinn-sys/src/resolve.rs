//! `openat2(2)` with `RESOLVE_IN_ROOT`: open a path of the container's rootfs so that
//! `..` and symlinks (absolute or relative) can never leave the rootfs.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// Open `path` below `root` as if `root` were `/`; magic links (`/proc/PID/fd/N`) are
/// refused too. `flags` are `O_*` flags; `O_CLOEXEC` is always added.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &str,
    flags: libc::c_int,
    mode: u32,
) -> nix::Result<OwnedFd> {
    openat2(
        root,
        path,
        flags,
        mode,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    )
}

/// Open `path` relative to `dir` without following any symlink and without leaving `dir`.
pub fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &str,
    flags: libc::c_int,
    mode: u32,
) -> nix::Result<OwnedFd> {
    openat2(
        dir,
        path,
        flags,
        mode,
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    )
}

fn openat2(
    dir: BorrowedFd<'_>,
    path: &str,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> nix::Result<OwnedFd> {
    let p = CString::new(path).map_err(|_| Errno::EINVAL)?;
    let mut how: libc::open_how = {
        // SAFETY: open_how is plain old data; all-zero is its documented default.
        unsafe { std::mem::zeroed() }
    };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = resolve;
    loop {
        // SAFETY: p is a valid C string and `how` a valid open_how of the size passed.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                p.as_ptr(),
                &mut how as *mut libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        match Errno::result(ret) {
            // EAGAIN: a rename raced with the lookup; the kernel asks us to retry.
            Err(Errno::EAGAIN) => continue,
            // SAFETY: openat2 returned a new descriptor that nothing else owns.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
            Err(e) => return Err(e),
        }
    }
}
