//! The exec socket: how `jinn start` tells a created container to exec its program.
//!
//! The init listens on `exec.sock` in the container's state directory (a pathname unix
//! socket, reachable from the host whatever the init's namespaces). `jinn start` connects
//! and sends `start`; the init execs. The accepted connection is close-on-exec, so
//! `jinn start` reads end-of-file once the exec happened, or an error text if it failed.
//! The socket file exists exactly while the container is `created`.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use crate::error::InitError;

/// The socket's name in the state directory.
pub const EXEC_SOCKET: &str = "exec.sock";

/// The request `jinn start` sends.
const START: &[u8] = b"start";

fn socket_path(state_dir: BorrowedFd<'_>) -> String {
    // Through the directory fd: no path length limit, no symlink games on the way.
    format!("/proc/self/fd/{}/{}", state_dir.as_raw_fd(), EXEC_SOCKET)
}

/// The listening end, made by the parent and inherited by the init.
pub struct ExecSocket {
    listener: UnixListener,
}

impl ExecSocket {
    pub fn listen(state_dir: BorrowedFd<'_>) -> Result<ExecSocket, InitError> {
        let path = socket_path(state_dir);
        let listener = UnixListener::bind(&path).map_err(|e| InitError::Path {
            what: "bind exec socket",
            path: path.into(),
            source: crate::spawn::io_errno(e),
        })?;
        Ok(ExecSocket { listener })
    }

    /// Block until `jinn start` asks; return the connection to answer on.
    pub(crate) fn wait_for_start(&self) -> std::io::Result<UnixStream> {
        loop {
            let (mut conn, _) = self.listener.accept()?;
            let mut buf = [0u8; 16];
            let n = conn.read(&mut buf)?;
            if &buf[..n] == START {
                return Ok(conn);
            }
        }
    }

    pub(crate) fn raw_fd(&self) -> i32 {
        self.listener.as_raw_fd()
    }
}

/// Tell the created container to exec its program, and wait until it has (`Ok`) or
/// failed to (`Err` with the init's message).
pub fn request_start(state_dir: BorrowedFd<'_>) -> Result<(), InitError> {
    let path = socket_path(state_dir);
    let mut conn = UnixStream::connect(&path)
        .map_err(|e| InitError::Start(format!("connect to the container init: {e}")))?;
    conn.write_all(START)
        .map_err(|e| InitError::Start(format!("write to the container init: {e}")))?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)
        .map_err(|e| InitError::Start(format!("read from the container init: {e}")))?;
    if reply.is_empty() {
        Ok(())
    } else {
        Err(InitError::Start(reply))
    }
}

/// Answer a start request with an error text (the exec failed).
pub(crate) fn reply_error(conn: &mut UnixStream, message: &str) {
    let _ = conn.write_all(message.as_bytes());
}
