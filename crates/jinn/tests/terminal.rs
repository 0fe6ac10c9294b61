//! Terminals: the pty master sent over `--console-socket` (as conmon and containerd's
//! shim receive it), typing through it, `consoleSize`, `exec -t`, and `run -t` relaying
//! the terminal itself in the foreground.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test terminal`.

mod common;

use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::*;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::json;

/// A console socket the runtime connects to, like conmon's.
struct ConsoleSocket {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.sock");
        let listener = UnixListener::bind(&path).unwrap();
        ConsoleSocket {
            _dir: dir,
            path,
            listener,
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Accept the runtime's connection and take the pty master it sends.
    fn receive_master(&self) -> std::fs::File {
        let (conn, _) = self.listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .unwrap();
        for c in msg.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: SCM_RIGHTS handed us this new descriptor.
                return std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) });
            }
        }
        panic!("no fd received on the console socket");
    }
}

/// Read from the pty master until `needle` shows up (or fail after a while).
fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{needle:?} never came; got {seen:?}"
        );
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if nix::poll::poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) == 0 {
            continue;
        }
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    seen
}

fn terminal_bundle(script: &str) -> Bundle {
    let mut b = Bundle::new();
    b.set("/process/terminal", json!(true))
        .set("/process/consoleSize", json!({"height": 37, "width": 111}))
        .sh(script);
    b.save();
    b
}

/// `create --console-socket` (the pty master arrives on the socket), then `start`;
/// returns the master.
#[track_caller]
fn create_and_start_on_a_console(rt: &Runtime, b: &Bundle, id: &str) -> std::fs::File {
    let console = ConsoleSocket::new();
    let create = rt.spawn(&[
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        console.path(),
        id,
    ]);
    let master = console.receive_master();
    assert_success(
        &create.wait(Duration::from_secs(10)),
        "create --console-socket",
    );
    assert_success(&rt.start(id), "start");
    master
}

#[test]
fn create_sends_the_pty_master_and_typing_reaches_the_process() {
    let rt = Runtime::new();
    let b = terminal_bundle("stty size; read line; echo got:$line; exit 3");
    let id = rt.new_id();
    let mut master = create_and_start_on_a_console(&rt, &b, &id);
    let seen = read_until(&mut master, "37 111");
    assert!(seen.contains("37 111"), "consoleSize: {seen:?}");
    master.write_all(b"hello\n").unwrap();
    let seen = read_until(&mut master, "got:hello");
    assert!(
        seen.contains("got:hello"),
        "typing reached the process: {seen:?}"
    );
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn the_process_has_a_controlling_terminal_and_dev_console() {
    let rt = Runtime::new();
    let b = terminal_bundle("tty; [ -c /dev/console ] && echo console-ok; sleep 0.2");
    let id = rt.new_id();
    let mut master = create_and_start_on_a_console(&rt, &b, &id);
    let seen = read_until(&mut master, "console-ok");
    assert!(seen.contains("/dev/pts/"), "tty names a pts: {seen:?}");
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_success(&rt.delete(&id), "delete");
}

#[test]
fn exec_tty_with_a_console_socket() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["sleep", "100"]);
    b.save();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    let console = ConsoleSocket::new();
    let exec = rt.spawn(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        console.path(),
        &id,
        "sh",
        "-c",
        "tty; sleep 0.2",
    ]);
    let mut master = console.receive_master();
    assert_success(&exec.wait(Duration::from_secs(10)), "exec -t -d");
    let seen = read_until(&mut master, "/dev/pts/");
    assert!(seen.contains("/dev/pts/"), "{seen:?}");
    assert_success(&rt.delete_force(&id), "delete --force");
}

#[test]
fn run_with_a_terminal_relays_it_in_the_foreground() {
    let rt = Runtime::new();
    let b = terminal_bundle("echo relayed; exit 5");
    let id = rt.new_id();
    // Under script(1), as a user at a terminal would run it (runc needs a controlling
    // terminal of its own for this).
    let cmd = format!(
        "{} --root {} run --bundle {} {id}",
        rt.path().display(),
        rt.root().display(),
        b.path_str()
    );
    rt.track(&id);
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_exit(&out, 5, "run with terminal: true in the foreground");
    assert!(stdout(&out).contains("relayed"), "{out:?}");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn terminal_without_console_socket_in_create_fails_cleanly() {
    let rt = Runtime::new();
    let b = terminal_bundle("true");
    let id = rt.new_id();
    let out = rt.create(&b, &id);
    assert_exit(&out, 1, "create with terminal and no console socket");
    if rt.is_jinn() {
        assert_one_error_line(&out, &["terminal", "--console-socket"]);
    }
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn console_socket_without_terminal_fails_cleanly() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["true"]);
    b.save();
    let console = ConsoleSocket::new();
    let id = rt.new_id();
    let out = rt.cmd(&[
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        console.path(),
        &id,
    ]);
    if rt.is_jinn() {
        assert_exit(&out, 1, "create --console-socket with terminal false");
        assert_one_error_line(&out, &["--console-socket"]);
    }
    let _ = rt.delete_force(&id);
    assert_no_leftovers(&rt, &id, &b);
}
