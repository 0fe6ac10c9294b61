//! The container's terminal (`process.terminal: true`): a pty from the container's own
//! devpts, its master sent over the `--console-socket` (SCM_RIGHTS, as runc does: conmon
//! and containerd's shim receive it there), its peer the process's stdio and
//! controlling terminal, and, for the init, `/dev/console`.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use jinn_sys::mount::{move_mount, open_tree_clone};
use jinn_sys::pty;
use jinn_sys::resolve::open_in_root;
use nix::fcntl::OFlag;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use nix::sys::stat::{fstat, makedev, SFlag};

use crate::error::{InitError, Step};

/// Open a pty in the container (after pivot_root or setns), send its master to
/// `socket`, and return its peer.
pub(crate) fn create(socket: &UnixStream, size: Option<(u16, u16)>) -> Result<OwnedFd, InitError> {
    let master =
        jinn_sys::fd::open("/dev/ptmx", OFlag::O_RDWR | OFlag::O_NOCTTY).at("open", "/dev/ptmx")?;
    let st = fstat(master.as_raw_fd()).at("stat", "/dev/ptmx")?;
    let is_chr = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
    if !is_chr || st.st_rdev != makedev(5, 2) {
        return Err(InitError::Message(
            "/dev/ptmx is not the pty multiplexer (5:2)".into(),
        ));
    }
    pty::unlock(master.as_fd()).at("unlock pty", "/dev/ptmx")?;
    let peer = pty::open_peer(master.as_fd()).at("open pty peer of", "/dev/ptmx")?;
    if let Some((rows, cols)) = size {
        pty::set_size(peer.as_fd(), rows, cols).step("set console size")?;
    }
    let fds = [master.as_raw_fd()];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"/dev/ptmx")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .step("send the pty master to the console socket")?;
    Ok(peer)
}

/// Bind the pty peer on `/dev/console` (made as an empty file if missing).
pub(crate) fn bind_console(peer: BorrowedFd<'_>) -> Result<(), InitError> {
    let root = jinn_sys::fd::open("/", OFlag::O_PATH | OFlag::O_DIRECTORY).at("open", "/")?;
    // What the image has there is only looked at (O_PATH: a FIFO or a device is never
    // opened); a missing file is made empty, exclusively and without blocking.
    let target = match open_in_root(
        root.as_fd(),
        "dev/console",
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => {
            let made = open_in_root(
                root.as_fd(),
                "dev/console",
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW,
                0o666,
            )
            .at("create", "/dev/console")?;
            drop(made);
            open_in_root(
                root.as_fd(),
                "dev/console",
                libc::O_PATH | libc::O_NOFOLLOW,
                0,
            )
            .at("open", "/dev/console")?
        }
        Err(e) => return Err(e).at("open", "/dev/console"),
    };
    let tree = open_tree_clone(peer, "", false).at("bind pty on", "/dev/console")?;
    move_mount(tree.as_fd(), target.as_fd()).at("bind pty on", "/dev/console")
}

/// Make the pty peer the controlling terminal of a new session and stdin, stdout and
/// stderr.
pub(crate) fn make_stdio(peer: OwnedFd) -> Result<(), InitError> {
    nix::unistd::setsid().step("setsid")?;
    pty::set_controlling(peer.as_fd()).step("set the controlling terminal")?;
    for fd in 0..3 {
        nix::unistd::dup2(peer.as_raw_fd(), fd).at("dup2 pty to fd", fd)?;
    }
    Ok(())
}
