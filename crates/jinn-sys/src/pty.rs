//! Pseudo-terminals: the pty a container with `terminal: true` gets.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// Open the peer (slave) of the pty master `master` without a path lookup
/// (`TIOCGPTPEER`), so a swapped /dev/pts entry cannot hand out another file.
pub fn open_peer(master: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let fd = Errno::result(fd)?;
    // SAFETY: the ioctl returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Unlock the pty master (`TIOCSPTLCK` 0), so its peer can be opened.
pub fn unlock(master: BorrowedFd<'_>) -> nix::Result<()> {
    let zero: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer, valid for the call.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &zero) };
    Errno::result(ret).map(drop)
}

/// Make `tty` the controlling terminal of the calling session (`TIOCSCTTY`).
pub fn set_controlling(tty: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal).
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(ret).map(drop)
}

/// Window size in rows and columns (`TIOCSWINSZ`).
pub fn set_size(tty: BorrowedFd<'_>, rows: u16, cols: u16) -> nix::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer, valid for the call.
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    Errno::result(ret).map(drop)
}

/// The window size of `tty` (`TIOCGWINSZ`), as (rows, cols).
pub fn get_size(tty: BorrowedFd<'_>) -> nix::Result<(u16, u16)> {
    // SAFETY: winsize is plain old data.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize through the pointer, valid for the call.
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    Errno::result(ret)?;
    Ok((ws.ws_row, ws.ws_col))
}
