//! A minimal seccomp agent, for tests and tools: accept the container process state
//! and listener fd on a unix socket, receive notifications, answer them.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use crate::{ContainerProcessState, SeccompData};

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Notification {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Response {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp).
const SECCOMP_IOCTL_NOTIF_RECV: u64 = 0xc050_2100;
const SECCOMP_IOCTL_NOTIF_SEND: u64 = 0xc018_2101;

impl Notification {
    pub fn data(&self) -> SeccompData {
        SeccompData {
            nr: self.nr as u32,
            arch: self.arch,
            instruction_pointer: self.instruction_pointer,
            args: self.args,
        }
    }
}

/// Read one container process state and its fds from an accepted connection (until
/// the runtime closes it).
pub fn receive_state(conn: &UnixStream) -> std::io::Result<(ContainerProcessState, Vec<OwnedFd>)> {
    let mut fds = Vec::new();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let mut cmsg = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = std::mem::size_of_val(&cmsg) as _;
        // SAFETY: msg points to buf and cmsg, alive for the call.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel filled msg_control with valid cmsghdrs up to
        // msg_controllen; CMSG_FIRSTHDR/NXTHDR stay within it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                    let p = libc::CMSG_DATA(c) as *const libc::c_int;
                    for i in 0..count {
                        fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(p.add(i))));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n as usize]);
    }
    let state = serde_json::from_slice(&data)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok((state, fds))
}

/// Wait for the next notification on a listener fd.
pub fn receive(listener: &OwnedFd) -> std::io::Result<Notification> {
    let mut n = Notification::default();
    // SAFETY: NOTIF_RECV writes one struct seccomp_notif (80 bytes, our repr(C)
    // twin) into `n`, which it expects zeroed.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_RECV as _, &mut n) };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(n)
}

/// Answer notification `id`: the syscall returns `val`, or fails with `errno` when
/// it is non-zero.
pub fn respond(listener: &OwnedFd, id: u64, val: i64, errno: i32) -> std::io::Result<()> {
    let r = Response {
        id,
        val,
        error: -errno,
        flags: 0,
    };
    // SAFETY: NOTIF_SEND reads one struct seccomp_notif_resp (24 bytes) from `r`.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_SEND as _, &r) };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
