//! A minimal D-Bus client: just what the systemd driver needs. A unix socket,
//! `AUTH EXTERNAL` with the caller's uid, no fd passing; method calls out; method
//! returns, errors and signals in (signals are kept until asked for, so a `JobRemoved`
//! that arrives before the reply of the call that made the job is not lost). The
//! marshalling is in `wire.rs`.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::wire::{decode, encode_call, message_len, ERROR, METHOD_RETURN, SIGNAL};
pub use super::wire::{Message, Value};
use crate::error::{CgroupError, Result};

/// An error reply: its name and its message (the first string of the body).
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub name: String,
    pub message: String,
}

/// A connection to systemd: peer-to-peer on its private socket, or through a bus.
pub struct Connection {
    sock: UnixStream,
    serial: u32,
    /// The well-known name of the peer on a bus; `None` peer-to-peer.
    destination: Option<String>,
    rbuf: Vec<u8>,
    signals: VecDeque<Message>,
}

impl Connection {
    /// Connect to `path` and authenticate; on a bus (`destination` given), say `Hello`.
    pub fn open(path: &Path, destination: Option<&str>) -> io::Result<Connection> {
        // std opens unix sockets with SOCK_CLOEXEC.
        let sock = UnixStream::connect(path)?;
        let mut conn = Connection {
            sock,
            serial: 0,
            destination: destination.map(str::to_owned),
            rbuf: Vec::new(),
            signals: VecDeque::new(),
        };
        conn.sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.auth()?;
        if destination.is_some() {
            conn.call_on(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                &[],
                Duration::from_secs(10),
            )
            .map_err(|e| io::Error::other(e.to_string()))?
            .map_err(|e| io::Error::other(format!("Hello: {}: {}", e.name, e.message)))?;
        }
        Ok(conn)
    }

    pub fn is_bus(&self) -> bool {
        self.destination.is_some()
    }

    /// `AUTH EXTERNAL` and `BEGIN` in one write, as sd-bus clients send them, then the
    /// server's `OK`. Sending `BEGIN` only after `OK` races with the first call: when
    /// systemd reads `BEGIN` and that call in one read, sd-bus leaves the call in its
    /// buffer until more data arrives, and both sides wait for each other (seen under
    /// load in the test VM).
    fn auth(&mut self) -> io::Result<()> {
        let uid = nix::unistd::geteuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        self.sock
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes())?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(io::Error::other(format!(
                "authentication refused: {}",
                line.trim_end()
            )));
        }
        Ok(())
    }

    fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.rbuf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.rbuf.drain(..end + 2).collect();
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.rbuf.len() > 4096 {
                return Err(io::Error::other("authentication line too long"));
            }
            self.fill(None)?;
        }
    }

    /// Read more bytes into `rbuf`, waiting at most until `deadline`.
    fn fill(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.sock.set_read_timeout(Some(left))?;
        }
        let mut chunk = [0u8; 8192];
        let n = match self.sock.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::ErrorKind::TimedOut.into())
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by systemd",
            ));
        }
        self.rbuf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn io_error(what: &str, error: io::Error) -> CgroupError {
        CgroupError::DbusIo {
            what: what.to_owned(),
            error,
        }
    }

    /// The next message, waiting at most until `deadline`.
    fn recv(&mut self, deadline: Instant) -> Result<Message> {
        loop {
            if self.rbuf.len() >= 16 {
                let head: [u8; 16] = self.rbuf[..16].try_into().expect("16 bytes");
                let len = message_len(&head)?;
                if self.rbuf.len() >= len {
                    let bytes: Vec<u8> = self.rbuf.drain(..len).collect();
                    return decode(&bytes);
                }
            }
            self.fill(Some(deadline))
                .map_err(|e| Self::io_error("read", e))?;
        }
    }

    /// Call a method of systemd's manager or of one of its objects.
    pub fn call(
        &mut self,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<std::result::Result<Vec<Value>, CallError>> {
        let dest = self.destination.clone();
        self.call_on(dest.as_deref(), path, interface, member, args, timeout)
    }

    /// `call`, to another peer of the bus (`org.freedesktop.DBus` itself).
    pub fn call_on(
        &mut self,
        destination: Option<&str>,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<std::result::Result<Vec<Value>, CallError>> {
        self.serial += 1;
        let serial = self.serial;
        let msg = encode_call(serial, destination, path, interface, member, args);
        tracing::debug!("d-bus call {serial} {path} {member}");
        self.sock
            .write_all(&msg)
            .map_err(|e| Self::io_error("write", e))?;
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.recv(deadline).map_err(|e| match e {
                CgroupError::DbusIo { error, .. } if error.kind() == io::ErrorKind::TimedOut => {
                    CgroupError::DbusIo {
                        what: format!("wait for the reply to {member}"),
                        error,
                    }
                }
                e => e,
            })?;
            tracing::debug!(
                "d-bus message {} {:?} {:?} {:?}",
                m.kind,
                m.reply_serial,
                m.member,
                m.body
            );
            match m.kind {
                SIGNAL => self.signals.push_back(m),
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(Ok(m.body)),
                ERROR if m.reply_serial == Some(serial) => {
                    return Ok(Err(CallError {
                        name: m.error_name.unwrap_or_default(),
                        message: m
                            .body
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    }))
                }
                // Replies to earlier calls that timed out, or calls to us: dropped.
                _ => {}
            }
        }
    }

    /// The first signal `wanted` accepts (earlier ones kept aside are looked at first),
    /// or `None` once `deadline` has passed.
    pub fn wait_signal(
        &mut self,
        wanted: impl Fn(&Message) -> bool,
        deadline: Instant,
    ) -> Result<Option<Message>> {
        if let Some(i) = self.signals.iter().position(&wanted) {
            return Ok(self.signals.remove(i));
        }
        loop {
            let m = match self.recv(deadline) {
                Ok(m) => m,
                Err(CgroupError::DbusIo { error, .. })
                    if error.kind() == io::ErrorKind::TimedOut =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            };
            tracing::debug!("d-bus signal {:?} {:?}", m.member, m.body);
            if m.kind == SIGNAL && wanted(&m) {
                return Ok(Some(m));
            }
        }
    }
}
