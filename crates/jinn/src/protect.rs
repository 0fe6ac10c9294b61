//! Protection of the jinn binary against CVE-2019-5736.
//!
//! jinn does not re-exec itself to start a container: the init and the exec process are
//! clones of the `jinn` process, so until their final `execve` their `/proc/PID/exe` is
//! jinn's binary. They are not dumpable, so no container process can open that link.
//! But the init itself can be made to run the binary again *inside* the container: an
//! entrypoint (or an exec'd program) that is a script with the interpreter
//! `#!/proc/self/exe` makes the kernel resolve the interpreter from the init's own exe
//! link. That run of jinn is dumpable (a fresh execve), and a container process can
//! hold `/proc/PID/exe` open and reopen it for writing once it exited, overwriting the
//! host's jinn.
//!
//! So before `create`, `run` or `exec` clone anything into a container, jinn makes sure
//! the file it runs from cannot be written through that link: when the binary is
//! writable by the caller, jinn re-executes itself once from a **read-only clone of the
//! binary's own mount** (`open_tree(OPEN_TREE_CLONE)` of the file plus
//! `MOUNT_ATTR_RDONLY`: a detached mount no one else sees, nothing copied, nothing left
//! on the host), or, where jinn may not create mounts (rootless with a binary the user
//! owns), from a **sealed memfd copy**. A binary on a read-only mount, or one the caller
//! cannot write (rootless with a root-owned binary), needs nothing, and neither do the
//! commands that never enter a container.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::OFlag;

const SELF_EXE: &str = "/proc/self/exe";

/// Returns when the running binary is safe to be reachable from a container; otherwise
/// re-executes jinn (same argv, environment and fds) from a protected view of it, and
/// does not return. Opens nothing that survives: every fd here is close-on-exec and
/// dropped before returning, so the caller's fds keep their numbers.
pub fn ensure_protected_binary() -> anyhow::Result<()> {
    let exe = jinn_sys::fd::open(SELF_EXE, OFlag::O_PATH)
        .with_context(|| format!("protect the jinn binary: open {SELF_EXE}"))?;
    // Readable unless the binary is execute-only (and the caller is not root): needed to
    // see a memfd's seals and to make a memfd copy.
    let readable = jinn_sys::fd::open(SELF_EXE, OFlag::O_RDONLY);
    if !needs_protection(exe.as_fd(), readable.as_ref().ok().map(AsFd::as_fd)) {
        return Ok(());
    }
    let argv = to_cstrings(std::env::args_os());
    let envp = to_cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }));
    let bind_err = match readonly_clone(exe.as_fd()) {
        Ok(view) => jinn_sys::process::execveat_fd(view.as_fd(), &argv, &envp),
        Err(e) => e,
    };
    let copy = readable
        .and_then(|r| jinn_sys::fd::sealed_memfd_copy(r.as_fd(), c"jinn"))
        .with_context(|| {
            format!(
                "protect the jinn binary: read-only clone failed ({}), and so did a sealed memfd copy",
                jinn_sys::errno_text(bind_err)
            )
        })?;
    let e = jinn_sys::process::execveat_fd(copy.as_fd(), &argv, &envp);
    anyhow::bail!(
        "protect the jinn binary: execute the sealed memfd copy: {}",
        jinn_sys::errno_text(e)
    )
}

/// Whether a process that got hold of jinn's binary through `/proc/PID/exe` could write
/// it: not a sealed memfd (jinn after its re-exec), and writable by the caller's
/// effective ids (a read-only mount gives `EROFS`, a root-owned binary run by a user
/// `EACCES`).
fn needs_protection(exe: BorrowedFd<'_>, readable: Option<BorrowedFd<'_>>) -> bool {
    if readable
        .and_then(|fd| jinn_sys::fd::seals(fd).ok())
        .is_some_and(|s| s & libc::F_SEAL_WRITE != 0)
    {
        return false;
    }
    let writable = nix::unistd::faccessat(
        Some(exe.as_raw_fd()),
        "",
        nix::unistd::AccessFlags::W_OK,
        nix::fcntl::AtFlags::AT_EACCESS | nix::fcntl::AtFlags::AT_EMPTY_PATH,
    );
    match writable {
        Ok(()) => true,
        Err(Errno::EROFS | Errno::EACCES | Errno::EPERM) => false,
        // faccessat2 without AT_EMPTY_PATH support (older kernels): ask by path.
        Err(Errno::EINVAL | Errno::ENOSYS) => nix::unistd::faccessat(
            None,
            SELF_EXE,
            nix::unistd::AccessFlags::W_OK,
            nix::fcntl::AtFlags::AT_EACCESS,
        )
        .is_ok(),
        Err(_) => true,
    }
}

/// A detached, read-only bind mount of the binary `exe` refers to.
fn readonly_clone(exe: BorrowedFd<'_>) -> nix::Result<std::os::fd::OwnedFd> {
    let view = jinn_sys::mount::open_tree_clone(exe, "", false)?;
    jinn_sys::mount::mount_setattr(
        view.as_fd(),
        false,
        jinn_sys::mount::MountAttr {
            set: libc::MOUNT_ATTR_RDONLY,
            ..Default::default()
        },
    )?;
    Ok(view)
}

fn to_cstrings(items: impl Iterator<Item = OsString>) -> Vec<CString> {
    items
        // An argument or variable with a NUL byte cannot have come from execve.
        .filter_map(|s| CString::new(s.into_vec()).ok())
        .collect()
}
