//! The sync protocol between `jinn create` (the parent) and the container's init.
//!
//! One `SOCK_SEQPACKET` socketpair; each message is one packet of JSON. The order:
//!
//! ```text
//!   parent                                init
//!   clone3 ───────────────────────────────▶ (born in its new namespaces; on cgroup v2
//!                                            born in its cgroup: CLONE_INTO_CGROUP)
//!   [userns: write uid_map/gid_map]
//!   Go { pid } ───────────────────────────▶ joins namespaces by path, mounts,
//!   [cgroup v1: write pid to cgroup.procs]  devices, masked/readonly paths
//!   CgroupJoined ─────────────────────────▶ [unshare cgroup namespace]
//!   [hooks: ◀──────────────────── RunCreateRuntimeHooks
//!    runs prestart, createRuntime
//!    HooksDone ──────────────────────────▶ runs createContainer hooks]
//!                                           pivot_root, process setup
//!   ◀─────────────────────────────────── Ready              (or Error { message })
//!   writes state.json, returns              waits on the exec socket for `start`
//! ```

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};

use crate::error::InitError;

/// Every message of the protocol, both directions.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum Message {
    /// Parent → init: the id maps are in place; go on. `pid` is the init's pid as the
    /// host sees it, for the state document hooks read.
    Go { pid: i32 },
    /// Parent → init: the init is in its cgroups.
    CgroupJoined,
    /// Init → parent: mounts are done, pivot_root is next: run the prestart and
    /// createRuntime hooks now.
    RunCreateRuntimeHooks,
    /// Parent → init: those hooks succeeded.
    HooksDone,
    /// Init → parent: set up and waiting for `start`.
    Ready,
    /// Init → parent: a step failed; the text names the step and the path.
    Error { message: String },
}

/// One end of the sync socketpair.
pub struct SyncPipe {
    fd: OwnedFd,
}

impl SyncPipe {
    /// A connected pair: (parent end, init end). Both close-on-exec.
    pub fn pair() -> Result<(SyncPipe, SyncPipe), InitError> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(InitError::Sync)?;
        Ok((SyncPipe { fd: a }, SyncPipe { fd: b }))
    }

    pub fn send(&self, msg: &Message) -> nix::Result<()> {
        let buf = serde_json::to_vec(msg).map_err(|_| nix::errno::Errno::EINVAL)?;
        send(self.fd.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL).map(drop)
    }

    /// The next message; `Ok(None)` when the other end is closed.
    pub fn recv(&self) -> Result<Option<Message>, InitError> {
        self.recv_flags(MsgFlags::empty())
    }

    /// An `Error` message the init already sent, if there is one (does not block).
    pub fn pending_error(&self) -> Option<InitError> {
        match self.recv_flags(MsgFlags::MSG_DONTWAIT) {
            Ok(Some(Message::Error { message })) => Some(InitError::Message(message)),
            _ => None,
        }
    }

    fn recv_flags(&self, flags: MsgFlags) -> Result<Option<Message>, InitError> {
        // The packet's size first (MSG_TRUNC reports it whole), then the packet.
        let fd = self.fd.as_fd().as_raw_fd();
        let size = loop {
            match recv(
                fd,
                &mut [0u8; 1],
                flags | MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(InitError::Sync)?,
            }
        };
        let mut buf = vec![0u8; size.max(1)];
        let n = loop {
            match recv(fd, &mut buf, flags) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(InitError::Sync)?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| InitError::Protocol(e.to_string()))
    }
}
