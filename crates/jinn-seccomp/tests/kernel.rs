//! Filters installed in real processes: a forked child installs the filter (with
//! no_new_privs) and makes syscalls; the parent checks how it ended.

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Instant;

use jinn_seccomp::{agent, compile, parse, ContainerProcessState, Filter, ListenerConnection};
use serde_json::json;

fn filter(v: serde_json::Value) -> Filter {
    compile(&parse(&v).unwrap()).unwrap()
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

enum End {
    Exited(i32),
    Signaled(i32),
}

/// Fork; the child sets no_new_privs, installs `f`, runs `body` (no allocation: the
/// test harness has other threads) and exits with what it returns.
fn in_child(f: &Filter, body: impl FnOnce() -> i32) -> End {
    // SAFETY: the child only makes raw syscalls and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) has no memory arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        let code = match f.install() {
            Ok(_) => body(),
            Err(_) => 200,
        };
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    if libc::WIFSIGNALED(status) {
        End::Signaled(libc::WTERMSIG(status))
    } else {
        End::Exited(libc::WEXITSTATUS(status))
    }
}

fn exited(e: End) -> i32 {
    match e {
        End::Exited(c) => c,
        End::Signaled(s) => panic!("killed by signal {s}"),
    }
}

fn mkdir_errno() -> i32 {
    // SAFETY: a NUL-terminated literal path.
    let r = unsafe { libc::mkdir(c"/nonexistent-jinn/dir".as_ptr(), 0o755) };
    if r == 0 {
        0
    } else {
        errno()
    }
}

#[test]
fn mkdir_denied_with_eperm_and_another_errno() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
    assert_eq!(exited(in_child(&f, mkdir_errno)), libc::EPERM);
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV}]}));
    assert_eq!(exited(in_child(&f, mkdir_errno)), libc::EXDEV);
    // Without the filter: the parent directory does not exist.
    assert_eq!(mkdir_errno(), libc::ENOENT);
}

#[test]
fn personality_allowed_for_one_value() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV,
         "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_NE"}]}]}));
    let code = in_child(&f, || {
        // SAFETY: personality has no memory arguments.
        let query = unsafe { libc::personality(0xffff_ffff) };
        // SAFETY: as above.
        let set = unsafe { libc::personality(0x0008) };
        if query < 0 {
            return 1;
        }
        if set != -1 || errno() != libc::EXDEV {
            return 2;
        }
        0
    });
    assert_eq!(exited(code), 0);
}

#[test]
fn kill_process_kills() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}));
    // SAFETY: getppid has no arguments.
    match in_child(&f, || i32::from(unsafe { libc::getppid() } < 0)) {
        End::Signaled(s) => assert_eq!(s, libc::SIGSYS),
        End::Exited(c) => panic!("exited {c}"),
    }
}

#[test]
fn trap_sends_sigsys() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_TRAP"}]}));
    // SAFETY: getppid has no arguments.
    match in_child(&f, || i32::from(unsafe { libc::getppid() } < 0)) {
        End::Signaled(s) => assert_eq!(s, libc::SIGSYS),
        End::Exited(c) => panic!("exited {c}"),
    }
}

#[test]
fn log_lets_the_call_through() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_LOG"}]}));
    // SAFETY: getppid has no arguments.
    let code = in_child(&f, || i32::from(unsafe { libc::getppid() } <= 0));
    assert_eq!(exited(code), 0);
}

#[test]
fn unlisted_syscalls_get_the_default_action() {
    let f = filter(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": libc::EACCES,
        "syscalls": [{"names": ["exit", "exit_group", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]}),
    );
    assert_eq!(f.skipped_names(), ["no_such_call"]);
    let code = in_child(&f, || {
        // SAFETY: getppid has no arguments (glibc's wrapper never sets errno).
        let r = unsafe { libc::syscall(libc::SYS_getppid) };
        if r == -1 {
            errno()
        } else {
            0
        }
    });
    assert_eq!(exited(code), libc::EACCES);
}

#[test]
fn exec_keeps_the_filter() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}));
    let dir = std::env::temp_dir().join(format!("jinn-seccomp-exec-{}", std::process::id()));
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!(
        "grep '^Seccomp:' /proc/self/status; mkdir {}",
        dir.display()
    ));
    let child_filter = f.clone();
    // SAFETY: the closure only makes prctl and seccomp syscalls.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            child_filter
                .install()
                .map(drop)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("Seccomp:\t2"), "{stdout}");
    assert!(!out.status.success());
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(!dir.exists());
}

/// SCMP_ACT_NOTIFY: the agent gets the state and the fd over the listener socket
/// and answers; the process sees the answer. The profile also denies getcwd and
/// close_range: sending the fd needs neither.
#[test]
fn notify_reaches_the_agent_and_its_answer_the_process() {
    let dir = tempdir();
    let sock = dir.join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock, "listenerMetadata": "hello agent",
        "syscalls": [
            {"names": ["getcwd", "close_range"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}));
    assert!(f.uses_notify());

    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let (state, fds) = agent::receive_state(&conn).unwrap();
        assert_eq!(fds.len(), 1);
        let n = agent::receive(&fds[0]).unwrap();
        assert_eq!(n.nr as i64, libc::SYS_mkdir);
        agent::respond(&fds[0], n.id, 0, libc::EXDEV).unwrap();
        let n = agent::receive(&fds[0]).unwrap();
        agent::respond(&fds[0], n.id, 0, 0).unwrap();
        state
    });

    let state = ContainerProcessState::new(
        4242,
        f.listener_metadata().map(String::from),
        json!({"ociVersion": "1.2.1", "id": "c1", "status": "created", "pid": 4242,
               "bundle": "/b"}),
    );
    let mut conn = ListenerConnection::connect(f.listener_path().unwrap()).unwrap();
    conn.prepare(&state).unwrap();
    // SAFETY: see in_child; the child uses the pre-made connection only.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: no memory arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        let code = match f.install() {
            Ok(Some(fd)) => match conn.send(fd.as_fd()) {
                Ok(()) => {
                    drop(fd);
                    let first = mkdir_errno(); // the agent says EXDEV
                    let second = mkdir_errno(); // the agent says success
                    let mut buf = [0u8; 64];
                    // SAFETY: buf is 64 writable bytes.
                    let cwd = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
                    if first != libc::EXDEV {
                        1
                    } else if second != 0 {
                        2
                    } else if !cwd.is_null() {
                        3
                    } else {
                        0
                    }
                }
                Err(_) => 4,
            },
            _ => 5,
        };
        // SAFETY: ends the child.
        unsafe { libc::_exit(code) }
    }
    drop(conn);
    let mut status = 0;
    // SAFETY: our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let got = agent.join().unwrap();
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), 0);
    assert_eq!(got, state);
    assert_eq!(got.fds, ["seccompFd"]);
    assert_eq!(got.metadata.as_deref(), Some("hello agent"));
    assert_eq!(got.state["id"], "c1");
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "jinn-seccomp-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A containers-common / moby profile (with archMap, includes, excludes) as the OCI
/// `linux.seccomp` Podman and Docker would pass for x86_64 and `caps`.
pub fn oci_profile(profile: &serde_json::Value, caps: &[&str]) -> serde_json::Value {
    let arches_ok = |a: &serde_json::Value| {
        a.as_array()
            .map(|v| {
                v.iter()
                    .any(|x| matches!(x.as_str(), Some("amd64" | "x86_64" | "x32" | "x86" | "386")))
            })
            .unwrap_or(true)
    };
    let caps_have = |c: &serde_json::Value| {
        c.as_array()
            .map(|v| v.iter().all(|x| caps.contains(&x.as_str().unwrap_or(""))))
    };
    let mut syscalls = Vec::new();
    for s in profile["syscalls"].as_array().unwrap() {
        let inc = &s["includes"];
        let exc = &s["excludes"];
        if !arches_ok(&inc["arches"])
            || inc["caps"].is_array() && caps_have(&inc["caps"]) != Some(true)
        {
            continue;
        }
        if exc["caps"].is_array() && caps_have(&exc["caps"]) == Some(true) {
            continue;
        }
        let mut e = json!({"names": s["names"], "action": s["action"]});
        if let Some(a) = s.get("args").filter(|a| a.is_array()) {
            e["args"] = a.clone();
        }
        if let Some(r) = s.get("errnoRet") {
            e["errnoRet"] = r.clone();
        }
        syscalls.push(e);
    }
    let mut out = json!({
        "defaultAction": profile["defaultAction"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    });
    if let Some(r) = profile.get("defaultErrnoRet") {
        out["defaultErrnoRet"] = r.clone();
    }
    out
}

const PODMAN_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Podman's default profile (Debian's containers-common) with a busybox workload.
#[test]
fn podman_default_profile_runs_busybox() {
    let path = "/usr/share/containers/seccomp.json";
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: no {path}");
        return;
    };
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(busybox) = busybox else {
        eprintln!("skipped: no busybox");
        return;
    };
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let oci = oci_profile(&raw, PODMAN_CAPS);
    let t = Instant::now();
    let spec = parse(&oci).unwrap();
    let parsed = t.elapsed();
    let f = compile(&spec).unwrap();
    let compiled = t.elapsed();
    eprintln!(
        "podman profile: parse {parsed:?}, parse+compile {compiled:?}, {} instructions, skipped {:?}",
        f.program().len(),
        f.skipped_names()
    );
    let dir = tempdir();
    let script = format!(
        "set -e; echo hello; uname -a >/dev/null; ls / >/dev/null; mkdir {d}/x; echo data > {d}/x/f; \
         cat {d}/x/f; rm -r {d}/x; sleep 0.01; ps >/dev/null 2>&1 || true; \
         wget --help >/dev/null 2>&1 || true; grep '^Seccomp:' /proc/self/status",
        d = dir.display()
    );
    let mut cmd = Command::new(busybox);
    cmd.args(["sh", "-c", &script]);
    let child_filter = f.clone();
    // SAFETY: the closure only makes prctl and seccomp syscalls.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            child_filter
                .install()
                .map(drop)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("hello\ndata\n"), "{stdout}");
    assert!(stdout.contains("Seccomp:\t2"), "{stdout}");

    // Denied by the profile without CAP_SYS_ADMIN: bpf (EINVAL without a filter).
    let code = in_child(&f, || {
        // SAFETY: an invalid bpf command with a null attribute pointer.
        let r = unsafe { libc::syscall(libc::SYS_bpf, 1000, 0, 0) };
        if r == -1 {
            errno()
        } else {
            0
        }
    });
    assert_eq!(exited(code), libc::EPERM);

    // A syscall newer than any the profile names: ENOSYS, as with runc.
    let code = in_child(&f, || {
        // SAFETY: an unused syscall number, no arguments.
        let r = unsafe { libc::syscall(1000) };
        if r == -1 {
            errno()
        } else {
            0
        }
    });
    assert_eq!(exited(code), libc::ENOSYS);
}
