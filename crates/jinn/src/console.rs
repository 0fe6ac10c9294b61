//! The caller's side of a container terminal: connecting to `--console-socket`, or, for
//! `run -t`/`exec -t` in the foreground, receiving the pty master ourselves and relaying
//! the terminal like runc (raw mode, window size, restored on exit).

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::Pid;

/// Connect to the `--console-socket` the caller listens on.
pub fn connect(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path).map_err(|e| anyhow!("--console-socket {}: {e}", path.display()))
}

/// Check a terminal request against the console socket, as runc does.
pub fn check(terminal: bool, has_socket: bool, foreground: bool) -> Result<()> {
    match (terminal, has_socket) {
        (true, false) if !foreground => {
            bail!("process.terminal: a terminal needs --console-socket when jinn does not stay in the foreground")
        }
        (false, true) => {
            bail!("--console-socket: the process has no terminal (process.terminal is false)")
        }
        _ => Ok(()),
    }
}

/// A socket pair standing in for `--console-socket` when jinn relays the terminal.
pub struct OwnConsole {
    ours: UnixStream,
    pub theirs: UnixStream,
}

impl OwnConsole {
    pub fn new() -> Result<OwnConsole> {
        let (ours, theirs) = UnixStream::pair()?;
        Ok(OwnConsole { ours, theirs })
    }

    /// The pty master the container's process sent.
    pub fn receive_master(&self) -> Result<OwnedFd> {
        let mut buf = [0u8; 256];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            self.ours.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| anyhow!("receive the pty master: {}", jinn_sys::errno_text(e)))?;
        for c in msg
            .cmsgs()
            .map_err(|e| anyhow!("receive the pty master: {e}"))?
        {
            if let ControlMessageOwned::ScmRights(fds) = c {
                if let Some(&fd) = fds.first() {
                    // SAFETY: SCM_RIGHTS gave us a new descriptor that nothing else owns.
                    return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        bail!("receive the pty master: no fd in the message")
    }
}

/// Puts our stdin in raw mode while relaying; restores it when dropped.
struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Relay stdin → master and master → stdout until `child` exits; forward signals, copy
/// window size changes. Returns the exit code (128+N when killed by N).
pub fn relay_and_wait(master: OwnedFd, signals: &SigSet, child: Pid) -> Result<i32> {
    let _raw = RawMode::enter();
    copy_size(master.as_fd());
    let sfd = SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = [0u8; 8192];
    loop {
        // A closed side leaves the poll set: it would report POLLHUP at once, forever.
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let master_at = master_open.then(|| {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let stdin_at = stdin_open.then(|| {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            r => r?,
        };
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, master_ready, stdin_ready) = (
            ready(0),
            master_at.is_some_and(ready),
            stdin_at.is_some_and(ready),
        );
        drop(fds);
        if stdin_ready && !copy(stdin.as_fd(), master.as_fd(), &mut buf) {
            stdin_open = false;
        }
        if master_ready && master_open && !copy(master.as_fd(), std::io::stdout().as_fd(), &mut buf)
        {
            master_open = false;
        }
        if sig_ready {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = Signal::try_from(info.ssi_signo as i32).ok();
                match sig {
                    Some(Signal::SIGCHLD) => {
                        if let Some(code) = crate::foreground::reap(child)? {
                            // Drain what the process wrote last, without waiting for
                            // processes that still hold the pty.
                            let _ = nix::fcntl::fcntl(
                                master.as_raw_fd(),
                                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
                            );
                            while master_open
                                && copy(master.as_fd(), std::io::stdout().as_fd(), &mut buf)
                            {
                            }
                            return Ok(code);
                        }
                    }
                    Some(Signal::SIGWINCH) => copy_size(master.as_fd()),
                    Some(s) => {
                        let _ = kill(child, s);
                    }
                    None => {}
                }
            }
        }
    }
}

/// Copy one read's worth from `from` to `to`; false at end-of-file or error.
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    let n = match nix::unistd::read(from.as_raw_fd(), buf) {
        Ok(0) | Err(_) => return false,
        Ok(n) => n,
    };
    let mut done = 0;
    while done < n {
        match nix::unistd::write(to, &buf[done..n]) {
            Ok(w) => done += w,
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
    true
}

/// Our terminal's window size onto the container's pty.
fn copy_size(master: BorrowedFd<'_>) {
    match jinn_sys::pty::get_size(std::io::stdin().as_fd()) {
        Ok((rows, cols)) if rows > 0 && cols > 0 => {
            let _ = jinn_sys::pty::set_size(master, rows, cols);
        }
        _ => {}
    }
}
