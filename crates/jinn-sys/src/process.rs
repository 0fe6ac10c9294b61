//! Process-wide switches: rlimits, exit without unwinding, execve.

use std::ffi::CString;

use nix::errno::Errno;

/// `setrlimit(resource, {soft, hard})` with `resource` an `RLIMIT_*` number.
pub fn set_rlimit(resource: u32, soft: u64, hard: u64) -> nix::Result<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit64 for the call; a bad resource number gives EINVAL.
    let ret = unsafe { libc::prlimit64(0, resource as _, &lim, std::ptr::null_mut()) };
    Errno::result(ret).map(drop)
}

/// `_exit(code)`: leave now, without running atexit handlers or flushing stdio buffers
/// copied from the parent at clone time.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// `setdomainname(2)`.
pub fn set_domainname(name: &str) -> nix::Result<()> {
    // SAFETY: pointer and length describe the bytes of `name`.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(ret).map(drop)
}

/// `execve(path, argv, envp)`; returns only on failure.
pub fn execve(path: &CString, argv: &[CString], envp: &[CString]) -> Errno {
    match nix::unistd::execve(path, argv, envp) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: run the file `fd` refers to (an ELF
/// binary: a script would need a path the kernel can hand to its interpreter); returns
/// only on failure.
pub fn execveat_fd(fd: std::os::fd::BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> Errno {
    use std::os::fd::AsRawFd;
    match nix::unistd::execveat(
        Some(fd.as_raw_fd()),
        c"",
        argv,
        envp,
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    ) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)`: a new session keyring named `name`
/// (or the existing one of that name) becomes the process's session keyring.
pub fn join_session_keyring(name: &str) -> nix::Result<i64> {
    let n = CString::new(name).map_err(|_| Errno::EINVAL)?;
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING takes a valid C string, borrowed for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            libc::KEYCTL_JOIN_SESSION_KEYRING,
            n.as_ptr(),
        )
    };
    Errno::result(ret)
}

/// `keyctl(KEYCTL_SETPERM, key, perm)`.
pub fn set_key_permissions(key: i64, perm: u32) -> nix::Result<()> {
    // SAFETY: plain integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, libc::KEYCTL_SETPERM, key, perm) };
    Errno::result(ret).map(drop)
}
