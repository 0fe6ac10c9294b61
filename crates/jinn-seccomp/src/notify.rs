//! Handing the seccomp listener fd to the agent at `listenerPath`: the container
//! process state of runtime.md/config-linux.md, as JSON, with the fd in SCM_RIGHTS.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SeccompError;

/// The message a seccomp agent receives ("The Container Process State").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerProcessState {
    pub oci_version: String,
    /// Names of the fds in SCM_RIGHTS, in order: `["seccompFd"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fds: Vec<String>,
    /// The container process's pid, as the runtime sees it.
    pub pid: i32,
    /// `linux.seccomp.listenerMetadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The container's state (runtime.md "State").
    pub state: serde_json::Value,
}

impl ContainerProcessState {
    /// The message for the process `pid` of the container whose state document is
    /// `state` (its `ociVersion` is reused), naming one fd, `seccompFd`.
    pub fn new(pid: i32, metadata: Option<String>, state: serde_json::Value) -> Self {
        let oci_version = state
            .get("ociVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("1.2.1")
            .to_string();
        ContainerProcessState {
            oci_version,
            fds: vec!["seccompFd".into()],
            pid,
            metadata,
            state,
        }
    }
}

pub(crate) fn lower(e: &std::io::Error) -> String {
    let s = e.to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// A connection to the agent, opened and the message serialized before the filter is
/// installed, so that sending afterwards is a `sendmsg` and nothing else: no socket,
/// connect, allocation or other syscall the container's filter could deny.
///
/// The connection can be made by one process (`jinn create`, on the host, before the
/// clone: host mount namespace and credentials, like runc) and used by another that
/// inherited it (the init, after `prepare` with the pid it learns later).
#[derive(Debug)]
pub struct ListenerConnection {
    sock: UnixStream,
    path: PathBuf,
    payload: Vec<u8>,
}

impl ListenerConnection {
    /// Connect to the agent's unix socket (close-on-exec).
    pub fn connect(listener_path: &Path) -> Result<ListenerConnection, SeccompError> {
        let sock = UnixStream::connect(listener_path).map_err(|source| SeccompError::Listener {
            path: listener_path.to_path_buf(),
            what: "connect",
            source,
        })?;
        Ok(ListenerConnection {
            sock,
            path: listener_path.to_path_buf(),
            payload: Vec::new(),
        })
    }

    /// Serialize the container process state that [`ListenerConnection::send`] sends.
    pub fn prepare(&mut self, state: &ContainerProcessState) -> Result<(), SeccompError> {
        self.payload = serde_json::to_vec(state).map_err(|e| SeccompError::Listener {
            path: self.path.clone(),
            what: "encode the container process state",
            source: e.into(),
        })?;
        Ok(())
    }

    /// Send the prepared message with `fd` attached, then close the connection.
    pub fn send(self, fd: BorrowedFd<'_>) -> Result<(), SeccompError> {
        if self.payload.is_empty() {
            return Err(SeccompError::Listener {
                path: self.path,
                what: "send the seccomp fd",
                source: std::io::Error::other("no container process state prepared"),
            });
        }
        let mut sent = 0;
        while sent < self.payload.len() {
            let attach = if sent == 0 {
                Some(fd.as_raw_fd())
            } else {
                None
            };
            match send_with_fd(self.sock.as_raw_fd(), &self.payload[sent..], attach) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(SeccompError::Listener {
                        path: self.path,
                        what: "send the seccomp fd",
                        source,
                    })
                }
            }
        }
        Ok(())
    }
}

/// One `sendmsg` of `data`, with `fd` in SCM_RIGHTS when given. Uses only the stack.
fn send_with_fd(sock: i32, data: &[u8], fd: Option<i32>) -> std::io::Result<usize> {
    // Room for one cmsghdr carrying one int, aligned for cmsghdr.
    let mut cmsg_buf = [0u64; 4];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        let int = std::mem::size_of::<libc::c_int>() as libc::c_uint;
        // SAFETY: CMSG_SPACE/CMSG_LEN are arithmetic on a length.
        let (space, len) = unsafe { (libc::CMSG_SPACE(int), libc::CMSG_LEN(int)) };
        debug_assert!(space as usize <= std::mem::size_of_val(&cmsg_buf));
        msg.msg_control = cmsg_buf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points to `space` zeroed, aligned bytes of cmsg_buf,
        // enough for one header and one int, so CMSG_FIRSTHDR is non-null and
        // CMSG_DATA points inside the buffer.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = len as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut libc::c_int, fd);
        }
    }
    // SAFETY: msg points to iov and cmsg_buf, both alive for the call; sendmsg only
    // reads them.
    let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Connect to `listener_path`, send `state` with `fd` (the seccomp listener) in
/// SCM_RIGHTS, close: one container process state per connection, as runc does.
/// Where the filter is already installed, prefer [`ListenerConnection`] (connect
/// first, install, then send).
pub fn send_listener(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    state: &ContainerProcessState,
) -> Result<(), SeccompError> {
    let mut conn = ListenerConnection::connect(listener_path)?;
    conn.prepare(state)?;
    conn.send(fd)
}
