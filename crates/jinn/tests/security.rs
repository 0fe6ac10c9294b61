//! Container escapes: one test per known runc/crun escape class, named after its CVE.
//!
//! Every test attacks a real container and then checks that the host is untouched (marker
//! directories stay empty, the host's mount table gains nothing, host sysctls and
//! `core_pattern` keep their values, the runtime binary keeps its bytes) and that the
//! runtime either refuses the container or keeps it confined. docs/security.md describes
//! each class, jinn's defence and the test.
//!
//! Every test can fail: each names the unsafe behaviour it would catch, and where the
//! probe itself could be blind, a positive control in the same test shows that it sees
//! the unsafe state (a dumpable process *can* be ptraced, the symlink exchange *does*
//! send a host path lookup out of the rootfs, an inheritable capability *is* visible…).
//!
//! The attacker inside the container is a small static C program (`ATTACK_C`, built once
//! per test run with the host's `cc -static`): busybox has no ptrace or pidfd_getfd.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test security`.
//! runc 1.1.5 is vulnerable to some of the 2024/2025 classes; those assertions are
//! skipped for runc only, each with a comment naming the runc version that fixed it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// The in-container attacker
// ---------------------------------------------------------------------------

const ATTACK_C: &str = r####"/* jinn security tests: the attacker inside the container. Static, no libc surprises. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ETXTBSY: return "ETXTBSY";
    case EROFS: return "EROFS";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EISDIR: return "EISDIR";
    default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

static void wait_file(const char *p) {
    for (int i = 0; i < 3000 && access(p, F_OK) != 0; i++) usleep(10000);
}

static void touch(const char *p) { int fd = open(p, O_CREAT | O_WRONLY, 0644); if (fd >= 0) close(fd); }

static int skip_pid(int pid, int *skip, int n) {
    for (int i = 0; i < n; i++) if (skip[i] == pid) return 1;
    return 0;
}

/* The first pid that is not us, our parent, 1 or one of `skip`, or -1. */
static int find_victim(int *skip, int n) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = -1;
    while (d && (e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 1 || pid == getpid() || pid == getppid() || skip_pid(pid, skip, n)) continue;
        found = pid;
        break;
    }
    if (d) closedir(d);
    return found;
}

/* Write "PWNED" at offset 0 of fd; 1 when it worked. */
static int pwn(int fd) { return pwrite(fd, "PWNED", 5, 0) == 5; }

/* Open /proc/PID/exe: print what it is, try to write it; returns an O_RDONLY fd or -1. */
static int probe_exe(int pid) {
    char p[64], link[4096];
    snprintf(p, sizeof p, "/proc/%d/exe", pid);
    ssize_t n = readlink(p, link, sizeof link - 1);
    if (n >= 0) { link[n] = 0; printf("exe_link=%s\n", link); }
    else printf("exe_link_err=%s\n", en(errno));
    int ro = open(p, O_RDONLY | O_CLOEXEC);
    if (ro < 0) { printf("open_exe_ro=%s\n", en(errno)); }
    else {
        struct stat st;
        fstat(ro, &st);
        struct statvfs vfs;
        int ro_mount = fstatvfs(ro, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
        printf("open_exe_ro=OK\nexe_devino=%lu:%lu\nexe_mount_ro=%d\n", (unsigned long)st.st_dev,
               (unsigned long)st.st_ino, ro_mount);
    }
    int wr = open(p, O_WRONLY | O_CLOEXEC);
    if (wr < 0) printf("open_exe_wr=%s\n", en(errno));
    else { printf("open_exe_wr=OK\n"); if (pwn(wr)) printf("WROTE-WHILE-RUNNING\n"); else printf("write_while_running=%s\n", en(errno)); close(wr); }
    fflush(stdout);
    return ro;
}

/* ptrace, pidfd_getfd, /proc/PID/fd and /proc/PID/exe against one pid. */
static void scan(const char *label, int pid) {
    char p[64];
    printf("@@%s\npid=%d\n", label, pid);
    snprintf(p, sizeof p, "/proc/%d/comm", pid);
    FILE *f = fopen(p, "r");
    char comm[64] = "";
    if (f) { if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0; fclose(f); }
    printf("comm=%s\n", comm);
    int ro = probe_exe(pid);
    if (ro >= 0) close(ro);
    snprintf(p, sizeof p, "/proc/%d/fd", pid);
    DIR *d = opendir(p);
    if (!d) printf("fd_dir=%s\n", en(errno));
    else {
        /* Listing the numbers is allowed (the directory belongs to root); reading where
         * each fd leads needs ptrace access. */
        int c = 0, links = 0, err = 0;
        struct dirent *e;
        char l[128], t[4096];
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            c++;
            snprintf(l, sizeof l, "/proc/%d/fd/%s", pid, e->d_name);
            if (readlink(l, t, sizeof t) >= 0) links++; else err = errno;
        }
        closedir(d);
        printf("fd_dir=OK\nfd_count=%d\nfd_links=%d\nfd_link_err=%s\n", c, links, en(err));
    }
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
        int st;
        waitpid(pid, &st, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
        printf("ptrace=OK\n");
    } else printf("ptrace=%s\n", en(errno));
    int pfd = syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0) printf("pidfd_open=%s\n", en(errno));
    else {
        int got = 0, err = 0;
        for (int fd = 0; fd < 64; fd++) {
            int r = syscall(SYS_pidfd_getfd, pfd, fd, 0);
            if (r >= 0) { got++; close(r); } else if (errno != EBADF) err = errno;
        }
        printf("getfd_count=%d\ngetfd_err=%s\n", got, en(err));
        close(pfd);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "exe-probe")) {
        int ro = probe_exe(atoi(argv[2]));
        return ro < 0 ? 0 : 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "exe-hold")) {
        /* A process other than us: the victim the host told us about (or found). */
        int pid = -1;
        for (int i = 0; i < 1000 && pid < 0; i++) { pid = find_victim(NULL, 0); if (pid < 0) usleep(10000); }
        printf("victim=%d\n", pid);
        if (pid < 0) { touch("/held"); return 0; }
        int ro = probe_exe(pid);
        touch("/held");
        wait_file("/released");
        if (ro < 0) { printf("no fd held\n"); return 0; }
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", ro);
        int wr = open(p, O_WRONLY | O_CLOEXEC);
        if (wr < 0) printf("reopen_wr_after_exit=%s\n", en(errno));
        else { printf("reopen_wr_after_exit=OK\n"); if (pwn(wr)) printf("WROTE-AFTER-EXIT\n"); else printf("write_after_exit=%s\n", en(errno)); }
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "scan")) {
        /* argv[2]: a dumpable control process (positive control); then every other pid. */
        int control = atoi(argv[2]);
        scan("control", control);
        int skip[1] = {control};
        int seen = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 1 || pid == getpid() || pid == getppid() || skip_pid(pid, skip, 1)) continue;
            char label[32];
            snprintf(label, sizeof label, "victim%d", seen++);
            scan(label, pid);
        }
        if (d) closedir(d);
        return 0;
    }
    fprintf(stderr, "usage: attack exe-probe PID | exe-hold | scan CONTROL_PID\n");
    return 2;
}
"####;

/// The attacker binary, compiled once per test process.
fn attack_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("jinn-sec-attack-")
            .tempdir()
            .unwrap()
            .keep();
        let src = dir.join("attack.c");
        fs::write(&src, ATTACK_C).unwrap();
        let bin = dir.join("attack");
        let out = Command::new("cc")
            .args(["-static", "-O1", "-o"])
            .arg(&bin)
            .arg(&src)
            .output()
            .expect("run cc (the security tests need a C compiler and a static libc)");
        assert!(
            out.status.success(),
            "cc -static attack.c failed: {}",
            text(&out.stderr)
        );
        bin
    })
}

/// Copies the attacker into the bundle's rootfs as `/attack`.
/// Copies what the dynamic loader needs to run `bin` (its ELF interpreter and shared
/// libraries, as `ldd` lists them) into the rootfs at the same paths, so that the runtime
/// binary can run inside the container when the kernel execs it as an interpreter. A
/// static binary needs nothing. Without this, a dynamically linked runtime (the debug
/// build) would fail with ENOENT inside a busybox rootfs, and the attack would be refused
/// for a reason that has nothing to do with the runtime's defence.
fn install_loader_of(b: &Bundle, bin: &Path) {
    let out = Command::new("ldd").arg(bin).output().expect("run ldd");
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if !word.starts_with('/') || !Path::new(word).exists() {
            continue;
        }
        let dst = b.rootfs().join(word.trim_start_matches('/'));
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::copy(word, &dst).unwrap_or_else(|e| panic!("copy {word} into the rootfs: {e}"));
    }
}

fn install_attack(b: &Bundle) {
    let dst = b.rootfs().join("attack");
    fs::copy(attack_binary(), &dst).unwrap();
    fs::set_permissions(&dst, fs::Permissions::from_mode(0o755)).unwrap();
}

/// `key=value` lines (the attacker's output); later keys win.
fn kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

// ---------------------------------------------------------------------------
// Host-side helpers
// ---------------------------------------------------------------------------

/// Polls `cond` every 10 ms for at most `timeout`.
fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(10));
    }
}

/// The host pid of the container's init, from `state`.
fn init_pid(rt: &Runtime, id: &str) -> u32 {
    let st = rt.state(id).expect("state of a created container");
    st["pid"].as_u64().expect("state.pid") as u32
}

/// A running container of `b` (created and started), its id and its init's host pid.
fn start_container(rt: &Runtime, b: &Bundle) -> (String, u32) {
    let id = rt.new_id();
    assert_success(&rt.create(b, &id), "create");
    assert_success(&rt.start(&id), "start");
    let pid = init_pid(rt, &id);
    (id, pid)
}

/// Every mount of the host (the test's mount namespace), as comparable strings.
fn host_mounts() -> BTreeSet<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    parse_mountinfo(&text)
        .into_iter()
        .map(|m| {
            format!(
                "{} root={} {} {}",
                m.mount_point, m.root, m.fstype, m.source
            )
        })
        .collect()
}

/// Fails the test when the host gained a mount since `before`.
#[track_caller]
fn assert_no_new_host_mounts(before: &BTreeSet<String>, what: &str) {
    let after = host_mounts();
    let new: Vec<&String> = after.difference(before).collect();
    assert!(
        new.is_empty(),
        "{what}: the host gained mounts (an escape out of the rootfs): {new:#?}"
    );
}

/// An empty directory on the host, outside every bundle: what a symlink in the rootfs
/// points at. Anything that appears in it was created outside the rootfs.
struct Marker {
    dir: tempfile::TempDir,
}

impl Marker {
    fn new() -> Self {
        Marker {
            dir: tempfile::Builder::new()
                .prefix("jinn-sec-marker-")
                .tempdir()
                .unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn path_str(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// What appeared in the marker directory.
    fn entries(&self) -> Vec<String> {
        fs::read_dir(self.path())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_else(|e| vec![format!("<cannot read the marker dir: {e}>")])
    }

    #[track_caller]
    fn assert_empty(&self, what: &str) {
        let e = self.entries();
        assert!(
            e.is_empty(),
            "{what}: the runtime created {e:?} in the host directory {} (outside the rootfs)",
            self.path().display()
        );
        let mounted: Vec<_> = host_mounts_mentioning(self.path_str());
        assert!(
            mounted.is_empty(),
            "{what}: host mounts on the marker directory: {mounted:#?}"
        );
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        for m in host_mounts_mentioning(self.path_str()) {
            let _ = Command::new("umount").args(["-l", &m.mount_point]).status();
        }
    }
}

/// A relative symlink target that climbs far above the rootfs, then names `host`.
fn climbing(host: &Path) -> String {
    format!(
        "{}{}",
        "../".repeat(24),
        host.to_str().unwrap().trim_start_matches('/')
    )
}

/// The host's `kernel.core_pattern`: one global value for every namespace, so a write
/// redirected into it from a container is a host change (and with `|prog`, code
/// execution on the host). Tests that could change it hold [`core_lock`]; the guard
/// restores the old value on drop so that a vulnerable runtime cannot leave the host
/// damaged.
const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

struct CorePattern {
    before: String,
    _lock: MutexGuard<'static, ()>,
}

fn core_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

impl CorePattern {
    fn take() -> Self {
        let lock = core_lock();
        CorePattern {
            before: fs::read_to_string(CORE_PATTERN).unwrap(),
            _lock: lock,
        }
    }

    /// True (and the value restored) when the host's core_pattern changed.
    fn changed(&self) -> Option<String> {
        let now = fs::read_to_string(CORE_PATTERN).unwrap();
        if now == self.before {
            return None;
        }
        let _ = fs::write(CORE_PATTERN, self.before.trim_end());
        Some(now)
    }

    #[track_caller]
    fn assert_unchanged(&self, what: &str) {
        if let Some(now) = self.changed() {
            panic!(
                "{what}: the host's core_pattern changed from {:?} to {now:?} (restored)",
                self.before
            );
        }
    }
}

impl Drop for CorePattern {
    fn drop(&mut self) {
        let _ = self.changed();
    }
}

/// A pipe whose buffer is full: a process that writes to it blocks until the test
/// drains it or kills the process, which keeps a runtime process alive on demand.
struct FullPipe {
    /// Kept open so that writers block instead of getting EPIPE.
    _read: OwnedFd,
    write: OwnedFd,
}

impl FullPipe {
    fn new() -> Self {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        FullPipe { _read: read, write }
    }

    /// Fills the buffer (the file status flags are shared by every copy of the write end,
    /// so O_NONBLOCK is set only while filling).
    fn fill(&self) {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let fd = self.write.as_raw_fd();
        fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let chunk = [b'.'; 4096];
        while nix::unistd::write(&self.write, &chunk).is_ok() {}
        fcntl(fd, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    }

    fn stdio(&self) -> Stdio {
        Stdio::from(self.write.try_clone().unwrap())
    }
}

/// `<rt> --root <root> ARGS…` in the background with stdout and stderr on `pipe`.
fn spawn_on_pipe(rt: &Runtime, args: &[&str], pipe: &FullPipe) -> std::process::Child {
    Command::new(rt.path())
        .arg("--root")
        .arg(rt.root())
        .args(args)
        .stdin(Stdio::null())
        .stdout(pipe.stdio())
        .stderr(pipe.stdio())
        .spawn()
        .unwrap()
}

/// `/proc/PID/ns/pid` of a host pid.
fn pid_ns(pid: u32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// Host pids of the processes in the pid namespace of `init` (init excluded) that sit
/// in write(2)/writev(2): a runtime binary blocked on a [`FullPipe`].
fn blocked_writers(init: u32) -> Vec<u32> {
    let Some(ns) = pid_ns(init) else {
        return vec![];
    };
    let mut found = vec![];
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == init || pid_ns(pid).as_ref() != Some(&ns) {
            continue;
        }
        if in_write(pid) {
            found.push(pid);
        }
    }
    found
}

/// True when a thread of `pid` sits in write(2)/writev(2) (runc is a Go program: the
/// write may happen on any thread).
fn in_write(pid: u32) -> bool {
    fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|t| {
            let sc = fs::read_to_string(t.path().join("syscall")).unwrap_or_default();
            matches!(sc.split_whitespace().next(), Some("1") | Some("20"))
        })
}

/// `dev:ino` of a host file, as the attacker prints it for what it opened.
fn dev_ino(path: &Path) -> String {
    let m = fs::metadata(path).unwrap();
    format!("{}:{}", m.dev(), m.ino())
}

fn sha256(path: &Path) -> String {
    Command::new("sha256sum")
        .arg(path)
        .output()
        .map(|o| {
            text(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
}

/// Waits for `rootfs/<name>` (a file the attacker creates).
fn wait_rootfs_file(b: &Bundle, name: &str) -> bool {
    let p = b.rootfs().join(name);
    wait_until(WAIT, || p.exists())
}

fn read_rootfs(b: &Bundle, name: &str) -> String {
    fs::read_to_string(b.rootfs().join(name)).unwrap_or_default()
}

/// A console socket like conmon's (see terminal.rs), with a timeout on accept.
struct ConsoleSocket {
    _dir: tempfile::TempDir,
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.sock");
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        ConsoleSocket {
            _dir: dir,
            path,
            listener,
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// The pty master the runtime sends, or None if it never connects.
    fn receive_master(&self, timeout: Duration) -> Option<fs::File> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let deadline = Instant::now() + timeout;
        let conn = loop {
            match self.listener.accept() {
                Ok((c, _)) => break c,
                Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(10)),
                Err(_) => return None,
            }
        };
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 256];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .ok()?;
        for c in msg.cmsgs().ok()? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: SCM_RIGHTS handed us this new descriptor.
                return Some(fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) }));
            }
        }
        None
    }
}

/// Reads whatever the pty master has, without blocking for long (keeps the pty drained).
fn drain(master: &mut fs::File) {
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    let mut buf = [0u8; 4096];
    loop {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if nix::poll::poll(&mut fds, PollTimeout::from(10u16)).unwrap_or(0) == 0 {
            return;
        }
        match master.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Removes the mounts entry whose destination is `dest`.
fn remove_mount(b: &mut Bundle, dest: &str) {
    if let Some(Value::Array(a)) = b.config.pointer_mut("/mounts") {
        a.retain(|m| m["destination"] != dest);
    }
}

/// Runs `exec ID sh -c 'exit 0'` and holds the exec process inside the container *before
/// its execve* while `during` runs, then lets it go on and returns the exec's output.
///
/// The window is held open deterministically: the container's /etc/passwd (the rootfs
/// must be writable) is replaced by a FIFO, and both jinn (HOME lookup) and runc (user
/// lookup) read it before execve. The test opens the writer end once the exec process
/// waits on it, and writes only after `during`.
fn exec_held_before_execve(
    rt: &Runtime,
    b: &Bundle,
    id: &str,
    during: impl FnOnce(),
) -> std::process::Output {
    let passwd = b.rootfs().join("etc/passwd");
    let content = fs::read(&passwd).unwrap();
    fs::remove_file(&passwd).unwrap();
    nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let exec = rt.spawn(&["exec", id, "sh", "-c", "exit 0"]);
    let mut writer = None;
    let caught = wait_until(WAIT, || {
        writer = nix::fcntl::open(
            &passwd,
            nix::fcntl::OFlag::O_WRONLY
                | nix::fcntl::OFlag::O_NONBLOCK
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
        // SAFETY: open returned a new descriptor that nothing else owns.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
        writer.is_some()
    });
    assert!(
        caught,
        "the exec process never read /etc/passwd: the test cannot hold it before execve"
    );
    during();
    let mut w = fs::File::from(writer.take().unwrap());
    w.write_all(&content).unwrap();
    drop(w);
    let out = exec.wait(WAIT);
    fs::remove_file(&passwd).unwrap();
    fs::write(&passwd, content).unwrap();
    out
}

// ---------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime binary through /proc/self/exe
// ---------------------------------------------------------------------------

/// A script whose interpreter is `/proc/self/exe`: whatever process execs it runs *its
/// own current binary* again. Exec'd by a runtime that has not exec'd anything else yet,
/// that is the runtime binary, now running inside the container (CVE-2019-5736). While
/// it runs, any container process can open it through `/proc/PID/exe` (it is dumpable
/// again after the execve) and, once it exits, reopen that fd for writing and overwrite
/// the host's runtime binary.
///
/// The test runs a *copy* of the runtime binary (`Runtime::with_copied_binary`): a
/// successful attack damages the copy only. The runtime binary keeps writing its usage
/// error to a full pipe, which keeps it alive as long as the test wants.
///
/// Checks, for the entrypoint (`process.args = ["/evil"]`) and for `exec /evil`:
/// - the file a container process gets from `/proc/PID/exe` is not the host's runtime
///   binary on a writable mount (device and inode differ, as with a sealed memfd copy,
///   or the fd's mount is read-only, as runc 1.1's "bindfd" clone): the precondition of
///   the attack;
/// - opening it for writing fails while the process runs, and reopening the held fd for
///   writing after the process exited fails;
/// - the copy keeps its exact bytes (sha256 before/after).
///
/// Able to fail: a runtime that execs the script from its own binary (no sealed memfd
/// copy, no read-only overlay, exe link not replaced) fails the device/inode check and,
/// after exit, the overwrite succeeds and the hash changes. runc 1.1.5 runs itself from a
/// read-only bind mount of its binary (its fix), so it passes. The kernel (6.18 here)
/// does follow a `/proc/self/exe` interpreter to the runtime binary outside the root, so
/// the runtime binary's ELF interpreter and libraries are copied into the rootfs
/// (`install_loader_of`): a dynamically linked build would otherwise fail inside the
/// busybox rootfs with ENOENT, which would hide the attack.
#[test]
fn cve_2019_5736_runtime_binary_cannot_be_overwritten_through_proc_self_exe() {
    let rt = Runtime::with_copied_binary();
    let bin = rt.path().to_path_buf();
    let hash_before = sha256(&bin);
    let bytes_before = fs::read(&bin).unwrap();
    let host_exe = dev_ino(&bin);
    let mut problems: Vec<String> = vec![];
    // After each attack, before the runtime runs again: a damaged copy is recorded and
    // put back (from the bytes read before), so that the cleanup can still run it.
    let check_binary = |problems: &mut Vec<String>, stage: &str| {
        if fs::read(&bin).unwrap() != bytes_before {
            problems.push(format!(
                "{stage}: the runtime binary was modified from inside the container: sha256 {hash_before} -> {}",
                sha256(&bin)
            ));
            fs::write(&bin, &bytes_before).unwrap();
        }
    };

    // 1. The entrypoint is `#!/proc/self/exe`; an exec'd attacker probes /proc/1/exe.
    {
        let mut b = Bundle::new();
        b.set_readonly_root(false).set_args(&["/evil"]);
        write_rootfs_file(&b, "/evil", "#!/proc/self/exe\n");
        fs::set_permissions(b.rootfs().join("evil"), fs::Permissions::from_mode(0o755)).unwrap();
        install_attack(&b);
        install_loader_of(&b, &bin);
        b.save();
        let id = rt.new_id();
        let pipe = FullPipe::new();
        let mut create = spawn_on_pipe(&rt, &["create", "--bundle", b.path_str(), &id], &pipe);
        let status = create.wait().unwrap();
        assert!(
            status.success(),
            "create of the #!/proc/self/exe entrypoint failed"
        );
        let pid = init_pid(&rt, &id);
        pipe.fill();
        // A runtime may refuse to run the script at all (start fails): that is fine.
        let started = rt.start(&id);
        // The entrypoint now runs (whatever binary the runtime exec'd) and blocks writing.
        let blocked = started.status.success() && wait_until(WAIT, || in_write(pid));
        assert!(
            blocked || !started.status.success(),
            "the entrypoint started but never blocked writing to the full pipe"
        );
        if blocked {
            let out = rt.cmd(&["exec", &id, "/attack", "exe-probe", "1"]);
            assert_success(&out, "exec the attacker");
            let got = kv(&stdout(&out));
            eprintln!("entrypoint: /proc/1/exe as seen from the container: {got:?}");
            if stdout(&out).contains("WROTE-WHILE-RUNNING") {
                problems.push("entrypoint: wrote the running runtime binary".into());
            }
            if got.get("exe_devino") == Some(&host_exe)
                && got.get("exe_mount_ro").map(String::as_str) != Some("1")
            {
                problems.push(format!(
                    "entrypoint: the container's pid 1 runs the host's runtime binary {} \
                     (/proc/1/exe -> {:?}); a container process can hold it open and \
                     overwrite it once it exits",
                    bin.display(),
                    got.get("exe_link")
                ));
            }
        } else {
            eprintln!(
                "entrypoint: #!/proc/self/exe did not run (refused): {}",
                stderr(&started).trim()
            );
        }
        check_binary(&mut problems, "entrypoint");
        assert_success(&rt.delete_force(&id), "delete --force");
    }

    // 2. `exec /evil`; the container's init is the attacker: it opens /proc/PID/exe of the
    //    exec'd process while it runs, holds the fd, and after the process was killed tries
    //    to reopen the fd for writing (the original exploit).
    {
        let mut b = Bundle::new();
        b.set_readonly_root(false)
            .sh("while [ ! -e /trigger ]; do sleep 0.01; done; \
             /attack exe-hold > /result 2>&1; touch /done; exec sleep 1000");
        write_rootfs_file(&b, "/evil", "#!/proc/self/exe\n");
        fs::set_permissions(b.rootfs().join("evil"), fs::Permissions::from_mode(0o755)).unwrap();
        install_attack(&b);
        install_loader_of(&b, &bin);
        b.save();
        let (id, init) = start_container(&rt, &b);
        let pipe = FullPipe::new();
        pipe.fill();
        let mut exec = spawn_on_pipe(&rt, &["exec", &id, "/evil"], &pipe);
        let mut victim = vec![];
        // Either the exec'd process blocks writing, or `exec` itself fails (and blocks
        // writing its error message to the same pipe, on the host).
        let running = wait_until(WAIT, || {
            victim = blocked_writers(init);
            !victim.is_empty() || matches!(exec.try_wait(), Ok(Some(_))) || in_write(exec.id())
        });
        assert!(running, "exec /evil neither ran nor ended");
        if victim.is_empty() {
            eprintln!("exec: #!/proc/self/exe did not run (refused): fine");
        } else {
            fs::write(b.rootfs().join("trigger"), "").unwrap();
            assert!(wait_rootfs_file(&b, "held"), "the attacker never got going");
            // The exec'd process exits (killed: it would block forever on the pipe).
            for p in &victim {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*p as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = exec.wait();
            assert!(
                wait_until(WAIT, || victim
                    .iter()
                    .all(|p| !Path::new(&format!("/proc/{p}")).exists())),
                "the exec'd process did not go away"
            );
            fs::write(b.rootfs().join("released"), "").unwrap();
            assert!(wait_rootfs_file(&b, "done"), "the attacker did not finish");
            let result = read_rootfs(&b, "result");
            let got = kv(&result);
            eprintln!("exec: attacker says {got:?}");
            for bad in ["WROTE-WHILE-RUNNING", "WROTE-AFTER-EXIT"] {
                if result.contains(bad) {
                    problems.push(format!(
                        "exec: {bad}: the container overwrote the runtime binary"
                    ));
                }
            }
            if got.get("exe_devino") == Some(&host_exe)
                && got.get("exe_mount_ro").map(String::as_str) != Some("1")
            {
                problems.push(format!(
                    "exec: the exec'd process runs the host's runtime binary {} inside the \
                     container (/proc/PID/exe -> {:?})",
                    bin.display(),
                    got.get("exe_link")
                ));
            }
        }
        let _ = exec.kill();
        let _ = exec.wait();
        check_binary(&mut problems, "exec /evil");
        assert_success(&rt.delete_force(&id), "delete --force");
    }

    // 3. A plain `exec`, held inside the container before its execve (then it still is
    //    the runtime binary): the init opens /proc/PID/exe for writing, holds it
    //    read-only, and tries to reopen it for writing once the process exec'd and exited.
    {
        let mut b = Bundle::new();
        b.set_readonly_root(false)
            .sh("while [ ! -e /trigger ]; do sleep 0.01; done; \
             /attack exe-hold > /result 2>&1; touch /done; exec sleep 1000");
        install_attack(&b);
        b.save();
        let (id, _) = start_container(&rt, &b);
        let out = exec_held_before_execve(&rt, &b, &id, || {
            fs::write(b.rootfs().join("trigger"), "").unwrap();
            assert!(wait_rootfs_file(&b, "held"), "the attacker never got going");
        });
        assert_success(&out, "the held exec");
        fs::write(b.rootfs().join("released"), "").unwrap();
        assert!(wait_rootfs_file(&b, "done"), "the attacker did not finish");
        let result = read_rootfs(&b, "result");
        let got = kv(&result);
        eprintln!("exec before execve: attacker says {got:?}");
        assert!(
            got.get("victim").is_some_and(|v| v != "-1"),
            "no exec process seen: {result}"
        );
        for bad in ["WROTE-WHILE-RUNNING", "WROTE-AFTER-EXIT"] {
            if result.contains(bad) {
                problems.push(format!(
                    "exec before execve: {bad}: the container overwrote the runtime binary"
                ));
            }
        }
        if got.get("exe_devino") == Some(&host_exe)
            && got.get("exe_mount_ro").map(String::as_str) != Some("1")
        {
            problems.push(format!(
                "exec before execve: a container process opened the runtime binary {} through \
                 /proc/PID/exe of the exec process (it must not be dumpable)",
                bin.display()
            ));
        }
        check_binary(&mut problems, "exec before execve");
        assert_success(&rt.delete_force(&id), "delete --force");
    }

    check_binary(&mut problems, "at the end");
    assert!(
        problems.is_empty(),
        "CVE-2019-5736:\n  {}",
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// CVE-2016-9962: ptrace / fd theft of the exec process before it execs
// ---------------------------------------------------------------------------

/// Between its clone and its execve a `jinn exec` process is the jinn binary, holds
/// jinn's fds (sync socket, init pidfd, state dir…) and is already in the container's
/// namespaces. It must not be dumpable then: a container process must not ptrace it, take
/// its fds with pidfd_getfd, list /proc/PID/fd or open /proc/PID/exe (CVE-2016-9962, and
/// the "while it runs" half of CVE-2019-5736).
///
/// The window is held open with [`exec_held_before_execve`].
///
/// Positive control: the same probes against a dumpable container process (`sleep`) must
/// succeed, so a dumpable exec process would be caught. (Checked by hand too: with
/// jinn's `set_dumpable(false)` removed from exec.rs the victim section reports
/// ptrace=OK, getfd_count>0 and the test fails.)
#[test]
fn cve_2016_9962_exec_process_cannot_be_ptraced_before_it_execs() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("sleep 1000 & echo $! > /control; \
         while [ ! -e /trigger ]; do sleep 0.01; done; \
         /attack scan $(cat /control) > /result 2>&1; touch /done; exec sleep 1000");
    install_attack(&b);
    b.save();
    let (id, _init) = start_container(&rt, &b);
    assert!(
        wait_rootfs_file(&b, "control"),
        "the control process did not start"
    );

    let mut result = String::new();
    let out = exec_held_before_execve(&rt, &b, &id, || {
        fs::write(b.rootfs().join("trigger"), "").unwrap();
        assert!(wait_rootfs_file(&b, "done"), "the attacker did not finish");
        result = read_rootfs(&b, "result");
    });
    assert_success(&out, "the exec after the attack");

    let s = sections(&result);
    let control = kv(s.get("control").map(String::as_str).unwrap_or(""));
    assert_eq!(
        control.get("ptrace").map(String::as_str),
        Some("OK"),
        "positive control: a dumpable container process must be ptrace-able from the \
         container, else the probe proves nothing: {result}"
    );
    assert_eq!(
        control.get("open_exe_ro").map(String::as_str),
        Some("OK"),
        "{result}"
    );
    let victims: Vec<(&String, BTreeMap<String, String>)> = s
        .iter()
        .filter(|(k, _)| k.starts_with("victim"))
        .map(|(k, v)| (k, kv(v)))
        .collect();
    assert!(
        !victims.is_empty(),
        "the attacker saw no exec process: {result}"
    );
    for (name, v) in victims {
        let what = format!(
            "{name} ({:?}, the exec process before execve)",
            v.get("comm")
        );
        assert_ne!(
            v.get("ptrace").map(String::as_str),
            Some("OK"),
            "{what}: PTRACE_ATTACH worked\n{result}"
        );
        assert_eq!(
            v.get("getfd_count").map(String::as_str).unwrap_or("0"),
            "0",
            "{what}: pidfd_getfd took its fds\n{result}"
        );
        assert_eq!(
            v.get("fd_links").map(String::as_str).unwrap_or("0"),
            "0",
            "{what}: /proc/PID/fd/N can be followed\n{result}"
        );
        assert_ne!(
            v.get("open_exe_ro").map(String::as_str),
            Some("OK"),
            "{what}: /proc/PID/exe (the runtime binary) can be opened\n{result}"
        );
        assert!(
            !result.contains("WROTE"),
            "{what}: wrote its binary\n{result}"
        );
    }
    assert_success(&rt.delete_force(&id), "delete --force");
}

// ---------------------------------------------------------------------------
// CVE-2019-16884 / CVE-2023-27561 / CVE-2023-28642: /proc is a symlink
// ---------------------------------------------------------------------------

/// The image's /proc is a symlink: to a host path (absolute, and relative climbing out of
/// the rootfs), or to another directory of the rootfs. A runtime that follows it on the
/// host mounts procfs outside the rootfs; one that mounts procfs elsewhere and then writes
/// through `/proc/...` (LSM labels, sysctl, oom_score_adj) writes to the wrong files.
///
/// The runtime must refuse the container or mount /proc inside the rootfs; the host
/// marker directory stays empty, the host gains no mount, host sysctls keep their values,
/// and when the container runs, the sysctl and oom_score_adj reached the real procfs.
///
/// Able to fail: following the symlink on the host would mount procfs on the marker
/// directory (it is the symlink's target on the host), which `Marker::assert_empty` and
/// the mount-table comparison catch.
#[test]
fn cve_2019_16884_cve_2023_27561_cve_2023_28642_proc_symlink_stays_inside_the_rootfs() {
    let rt = Runtime::new();
    let marker = Marker::new();
    let host = HostSnapshot::take();
    let mounts = host_mounts();
    let targets = [
        ("absolute host path", marker.path_str().to_string()),
        ("relative path out of the rootfs", climbing(marker.path())),
        ("directory of the rootfs", "fakeproc".to_string()),
    ];
    for (what, target) in targets {
        let mut b = Bundle::new();
        fs::remove_dir(b.rootfs().join("proc")).unwrap();
        symlink(&target, b.rootfs().join("proc")).unwrap();
        fs::create_dir(b.rootfs().join("fakeproc")).unwrap();
        b.set_readonly_root(false)
            .set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}))
            .set("/process/oomScoreAdj", json!(123))
            .sh("stat -f -c %T /proc/; cat /proc/sys/net/ipv4/ip_forward /proc/1/oom_score_adj");
        let id = rt.new_id();
        let out = rt.run(&b, &id);
        let what = format!("/proc -> {target} ({what})");
        if out.status.success() {
            assert_eq!(
                stdout(&out).split_whitespace().collect::<Vec<_>>(),
                ["proc", "1", "123"],
                "{what}: /proc inside is not the real procfs, or the writes went elsewhere"
            );
        } else {
            eprintln!("{what}: refused: {}", stderr(&out).trim());
        }
        marker.assert_empty(&what);
        assert_no_new_host_mounts(&mounts, &what);
        assert_no_leftovers(&rt, &id, &b);
        host.assert_unchanged();
        assert!(
            fs::symlink_metadata(b.rootfs().join("proc"))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{what}: the image's /proc symlink was replaced"
        );
    }
}

// ---------------------------------------------------------------------------
// CVE-2019-19921 / CVE-2021-30465 / CVE-2024-45310: symlink-exchange races
// ---------------------------------------------------------------------------

/// A host thread swaps `rootfs/race` (a directory) with `rootfs/race-link` (a symlink to
/// a host marker directory) with renameat2(RENAME_EXCHANGE) in a tight loop, while the
/// test creates 50 containers whose mounts target `/race/...`: a tmpfs, a bind mount, and
/// a mount on a path that does not exist yet (the runtime must create it: CVE-2024-45310).
/// A runtime that checks the target and then mounts or mkdirs by path loses the race
/// sometimes and mounts or creates on the host.
///
/// Whatever each container does (it may fail when it sees the symlink), nothing may be
/// created in or mounted on the marker directory, and the host's mount table gains
/// nothing.
///
/// Positive control: during the loop the test resolves `rootfs/race` on the host path
/// the naive way (canonicalize) and counts how often it lands in the marker directory;
/// it must be > 0, so the race is live and a path-based runtime would be exposed.
#[test]
fn cve_2019_19921_cve_2021_30465_cve_2024_45310_symlink_exchange_race_on_mount_targets() {
    let rt = Runtime::new();
    let marker = Marker::new();
    let mounts = host_mounts();
    let mut b = Bundle::new();
    b.set_readonly_root(false).set_args(&["true"]);
    let race = b.rootfs().join("race");
    let link = b.rootfs().join("race-link");
    fs::create_dir(&race).unwrap();
    symlink(marker.path(), &link).unwrap();
    let src = b.path().join("bind-src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("file"), "bind source").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let a = std::ffi::CString::new(race.to_str().unwrap()).unwrap();
        let z = std::ffi::CString::new(link.to_str().unwrap()).unwrap();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: two valid C strings; renameat2 only touches those two names.
                let r = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        z.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                if r == 0 {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::yield_now();
            }
        })
    };

    let canonical_marker = marker.path().canonicalize().unwrap();
    let mut naive_escapes = 0;
    let mut ok_runs = 0;
    for i in 0..50 {
        b.config["mounts"] =
            serde_json::from_str::<Value>(SPEC_TEMPLATE).unwrap()["mounts"].clone();
        b.add_mount("/race/tmpfs", "tmpfs", "tmpfs", &["nosuid"]);
        b.add_mount("/race/bind", "bind", src.to_str().unwrap(), &["bind"]);
        b.add_mount(&format!("/race/new{i}/deep"), "tmpfs", "tmpfs", &[]);
        let id = rt.new_id();
        if rt.run(&b, &id).status.success() {
            ok_runs += 1;
        }
        for _ in 0..20 {
            if race
                .canonicalize()
                .is_ok_and(|p| p.starts_with(&canonical_marker))
            {
                naive_escapes += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    if fs::symlink_metadata(&race)
        .unwrap()
        .file_type()
        .is_symlink()
    {
        // SAFETY: as above.
        let a = std::ffi::CString::new(race.to_str().unwrap()).unwrap();
        let z = std::ffi::CString::new(link.to_str().unwrap()).unwrap();
        unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                z.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
    }
    eprintln!(
        "{} swaps, {ok_runs}/50 containers ran, a host-path lookup escaped {naive_escapes} times",
        swaps.load(Ordering::Relaxed)
    );
    assert!(
        naive_escapes > 0,
        "positive control: the swap never sent a host path lookup of rootfs/race out of the rootfs"
    );
    assert_no_new_host_mounts(&mounts, "mount targets raced with a symlink");
    let created = marker.entries();
    if rt.is_runc() && !created.is_empty() {
        // CVE-2024-45310 (runc creating empty files/directories on the host through this
        // race) is fixed in runc 1.1.14 / 1.2.0; runc 1.1.5 may lose the race.
        eprintln!("runc: CVE-2024-45310: created {created:?} on the host (fixed in runc 1.1.14)");
        for e in created {
            let _ = fs::remove_dir_all(marker.path().join(e));
        }
    }
    marker.assert_empty("mount targets raced with a symlink");
}

// ---------------------------------------------------------------------------
// CVE-2022-29162: inheritable capabilities
// ---------------------------------------------------------------------------

/// runc before 1.1.2 gave the process (and `exec` processes) a non-empty inheritable set,
/// so a program with inheritable file capabilities gained them on exec. The default
/// config (`spec`), the init and every exec process (plain, with `--cap`, with
/// `--process`) must have empty CapInh and CapAmb.
///
/// Positive control: a config that asks for an inheritable capability shows it in CapInh,
/// so the probe reads the right field.
#[test]
fn cve_2022_29162_no_inheritable_or_ambient_capabilities() {
    let rt = Runtime::new();
    let mut b = Bundle::from_runtime_spec(&rt);
    let caps = b.config["process"]["capabilities"].clone();
    let inheritable = caps.get("inheritable");
    assert!(
        inheritable.is_none_or(|v| v.as_array().is_some_and(|a| a.is_empty())),
        "`spec` writes a non-empty inheritable set: {caps}"
    );
    b.set_readonly_root(false).set_args(&["sleep", "1000"]);
    b.save();
    let (id, _) = start_container(&rt, &b);
    let cap = |status: &str, key: &str| parse_status(status).get(key).cloned().unwrap_or_default();
    let zero = "0000000000000000";

    let init = rt.cmd(&["exec", &id, "cat", "/proc/1/status"]);
    assert_success(&init, "exec cat /proc/1/status");
    let mut checks = vec![("init".to_string(), stdout(&init))];
    for extra in [
        vec![],
        vec!["--cap", "CAP_NET_RAW"],
        vec!["--cap", "CAP_SYS_ADMIN"],
    ] {
        let mut args = vec!["exec"];
        args.extend(&extra);
        args.extend([id.as_str(), "cat", "/proc/self/status"]);
        let out = rt.cmd(&args);
        assert_success(&out, &format!("exec {extra:?}"));
        checks.push((format!("exec {extra:?}"), stdout(&out)));
    }
    let process = json!({
        "terminal": false, "user": {"uid": 0, "gid": 0},
        "args": ["cat", "/proc/self/status"], "env": ["PATH=/bin"], "cwd": "/",
        "capabilities": caps,
    });
    let file = b.path().join("process.json");
    fs::write(&file, process.to_string()).unwrap();
    let out = rt.cmd(&["exec", "--process", file.to_str().unwrap(), &id]);
    assert_success(&out, "exec --process");
    checks.push(("exec --process".into(), stdout(&out)));
    for (what, status) in &checks {
        assert_eq!(cap(status, "CapInh"), zero, "{what}: CapInh is not empty");
        assert_eq!(cap(status, "CapAmb"), zero, "{what}: CapAmb is not empty");
    }
    assert_success(&rt.delete_force(&id), "delete --force");

    let mut c = Bundle::new();
    c.set("/process/capabilities/inheritable", json!(["CAP_KILL"]));
    let out = run_script(&rt, &mut c, "grep CapInh /proc/1/status");
    assert!(
        out.contains("0000000000000020"),
        "positive control: an explicit inheritable CAP_KILL must show in CapInh: {out}"
    );
}

// ---------------------------------------------------------------------------
// CVE-2023-25809: writable cgroupfs inside the container
// ---------------------------------------------------------------------------

const CGROUP_WRITES: &str = r#"
for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs \
         /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max \
         /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do
  [ -e "$f" ] || continue
  echo "tried $f"
  if (echo $$ > "$f") 2>/dev/null; then echo "WRITABLE $f"; fi
done
if [ -n "$MKDIR" ]; then
  for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
    mkdir "$d/jinn-sec-escape" 2>/dev/null && echo "WRITABLE mkdir $d"
  done
fi
true
"#;

/// runc before 1.1.5 mounted the host's /sys/fs/cgroup writable in rootless containers
/// without a cgroup namespace. The `cgroup` mount (read-only in the config) must be
/// read-only inside: writing `cgroup.procs`, memory or pids files and creating cgroups
/// fails, with and without a cgroup namespace, and with a user namespace.
///
/// Positive control: the same mount without `ro` lets the container write its own
/// cgroup.procs, so a writable mount is caught.
#[test]
fn cve_2023_25809_cgroupfs_is_read_only_inside() {
    let rt = Runtime::new();
    type Edit = fn(&mut Bundle);
    let variants: [(&str, Edit); 3] = [
        ("default", |_| {}),
        ("cgroup namespace", |b| {
            b.add_namespace("cgroup");
        }),
        ("user namespace", |b| {
            b.add_namespace("user");
            b.set(
                "/linux/uidMappings",
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
            );
            b.set(
                "/linux/gidMappings",
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
            );
        }),
    ];
    for (what, edit) in variants {
        let mut b = Bundle::new();
        edit(&mut b);
        b.set_env(&["PATH=/bin", "MKDIR=1"]).sh(CGROUP_WRITES);
        let id = rt.new_id();
        let out = rt.run(&b, &id);
        if !out.status.success() && what == "user namespace" {
            eprintln!("{what}: refused: {}", stderr(&out).trim());
            continue;
        }
        assert_success(&out, what);
        let o = stdout(&out);
        assert!(
            o.contains("cgroup.procs"),
            "{what}: no cgroup.procs to attack: {o}"
        );
        assert!(
            !o.contains("WRITABLE"),
            "{what}: cgroupfs is writable inside:\n{o}"
        );
        assert!(
            cgroups_of("jinn-sec-escape").is_empty(),
            "{what}: a cgroup was created"
        );
        assert_no_leftovers(&rt, &id, &b);
    }

    let mut c = Bundle::new();
    if let Some(Value::Array(m)) = c.config.pointer_mut("/mounts") {
        for e in m
            .iter_mut()
            .filter(|e| e["destination"] == "/sys/fs/cgroup")
        {
            e["options"] = json!(["nosuid", "noexec", "nodev", "relatime"]);
        }
    }
    let out = run_script(&rt, &mut c, CGROUP_WRITES);
    assert!(
        out.contains("WRITABLE"),
        "positive control: a cgroup mount without ro must be writable: {out}"
    );
}

// ---------------------------------------------------------------------------
// CVE-2024-21626: cwd through a leaked fd
// ---------------------------------------------------------------------------

/// runc before 1.1.12 leaked an fd of the host's /sys/fs/cgroup into the container's
/// init; `process.cwd: /proc/self/fd/N` (or `exec --cwd`) then gave the process a working
/// directory on the host, outside its root. For every N in 3..64:
/// - `create` with that cwd fails, or the init's cwd (read on the host through
///   /proc/PID/cwd) is inside the bundle's rootfs;
/// - `exec --cwd` fails, or the process's cwd is reachable from its root (`pwd -P`, which
///   is getcwd(2), succeeds and agrees with /proc/self/cwd).
///
/// And no fd of the runtime is open in the container: the init has exactly 0, 1, 2 and
/// an exec'd `ls` exactly 0-3 (its own directory fd).
///
/// Able to fail: a cwd on a host directory makes /proc/PID/cwd point outside the rootfs
/// (first check) and makes getcwd fail with "(unreachable)" (second check); checked by
/// hand with `exec --cwd /proc/<pid of a host shell>/cwd`-like paths on a runtime
/// without the check (the kernel part; jinn refuses them).
#[test]
fn cve_2024_21626_cwd_through_leaked_fds_stays_inside_the_rootfs() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false).set_args(&["sleep", "1000"]);
    let rootfs = b.rootfs().canonicalize().unwrap();
    let mut created = 0;
    for n in 3..64 {
        b.set_cwd(&format!("/proc/self/fd/{n}"));
        let id = rt.new_id();
        let out = rt.create(&b, &id);
        if out.status.success() {
            created += 1;
            let pid = init_pid(&rt, &id);
            let cwd = fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
            assert!(
                cwd.starts_with(&rootfs),
                "process.cwd /proc/self/fd/{n}: the init's cwd is {} on the host, outside the rootfs {}",
                cwd.display(),
                rootfs.display()
            );
            assert_success(&rt.delete_force(&id), "delete --force");
        }
        assert_no_leftovers(&rt, &id, &b);
    }
    eprintln!("process.cwd /proc/self/fd/N: {created} of 61 created (all inside the rootfs)");

    b.set_cwd("/");
    b.save();
    let (id, _) = start_container(&rt, &b);
    let mut ran = 0;
    for n in 3..64 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = rt.cmd(&[
            "exec",
            "--cwd",
            &cwd,
            &id,
            "sh",
            "-c",
            "p=$(pwd -P 2>/dev/null) || p=UNREACHABLE; echo \"$p\"; readlink /proc/self/cwd",
        ]);
        if !out.status.success() {
            continue;
        }
        ran += 1;
        let o = stdout(&out);
        let lines: Vec<&str> = o.lines().collect();
        assert!(
            lines.len() == 2 && lines[0] == lines[1] && !o.contains("nreachable"),
            "exec --cwd {cwd}: the process's cwd is outside its root: {o:?}"
        );
    }
    eprintln!("exec --cwd /proc/self/fd/N: {ran} of 61 ran (all inside the root)");

    let out = rt.cmd(&["exec", &id, "ls", "-l", "/proc/1/fd"]);
    assert_success(&out, "ls /proc/1/fd");
    let fds: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.contains(" -> "))
        .filter_map(|l| {
            l.split(" -> ")
                .next()?
                .split_whitespace()
                .last()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        fds,
        ["0", "1", "2"],
        "fds open in the init:\n{}",
        stdout(&out)
    );
    let out = rt.cmd(&["exec", &id, "ls", "/proc/self/fd"]);
    assert_success(&out, "ls /proc/self/fd");
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "fds open in an exec process"
    );
    assert_success(&rt.delete_force(&id), "delete --force");
}

// ---------------------------------------------------------------------------
// CVE-2025-31133: /dev/null is a symlink when masking paths
// ---------------------------------------------------------------------------

/// The rootfs has no /dev mount and its /dev/null is a symlink to
/// /proc/sys/kernel/core_pattern. A runtime that bind-mounts the container's /dev/null
/// over maskedPaths binds core_pattern (a host-global file) instead, writable from the
/// container at e.g. /proc/timer_list.
///
/// Every masked file must be the null device 1:3 and read empty; a write to each masked
/// file must not reach the host's core_pattern (restored if it did).
///
/// Able to fail: with the masked files bound to core_pattern, `stat` shows a regular
/// file and `cat` shows the host's core_pattern.
#[test]
fn cve_2025_31133_masked_paths_are_the_null_device_not_a_symlink_target() {
    let core = CorePattern::take();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    for d in ["/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"] {
        remove_mount(&mut b, d);
    }
    symlink("/proc/sys/kernel/core_pattern", b.rootfs().join("dev/null")).unwrap();
    b.set_readonly_root(false).sh(
        "for f in /proc/timer_list /proc/sched_debug /proc/keys /proc/latency_stats /proc/timer_stats /proc/kcore; do \
           [ -e $f ] || continue; \
           echo \"$f|$(stat -c '%F %t:%T' $f)|$(head -c 64 $f 2>&1)\"; \
           echo jinn-sec-31133 > $f 2>/dev/null; \
         done; true",
    );
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    if rt.is_runc() {
        // runc 1.1.5 reopens the container's /dev/null (here core_pattern) for the stdio
        // it inherited as /dev/null and binds it over the masked paths: the host's
        // core_pattern receives the container's output. CVE-2025-31133, fixed in runc
        // 1.2.8, 1.3.3 and 1.4.0-rc.3. (The guard restores the value.)
        if let Some(v) = core.changed() {
            eprintln!("runc: CVE-2025-31133: host core_pattern was set to {v:?} (restored)");
            return;
        }
    }
    core.assert_unchanged("/dev/null -> core_pattern, writes to masked paths");
    if !out.status.success() {
        // A refusal is a defence too, but jinn's is to mask with the real null device:
        // a jinn failure here would skip every check below.
        assert!(
            !rt.is_jinn(),
            "jinn refused the container: {}",
            stderr(&out)
        );
        eprintln!("refused: {}", stderr(&out).trim());
        assert_no_leftovers(&rt, &id, &b);
        return;
    }
    let o = stdout(&out);
    assert!(!o.is_empty(), "no masked file to check");
    for line in o.lines() {
        let f: Vec<&str> = line.splitn(3, '|').collect();
        let ok = f.len() == 3 && f[1] == "character special file 1:3" && f[2].is_empty();
        if rt.is_runc() && !ok {
            // runc 1.1.5 binds the container's /dev/null by path: fixed in runc 1.2.8,
            // 1.3.3 and 1.4.0-rc.3 (CVE-2025-31133).
            eprintln!("runc: CVE-2025-31133: masked {line:?} (fixed in runc 1.2.8/1.3.3)");
            continue;
        }
        assert!(ok, "masked path is not the null device: {line:?}");
    }
    assert_no_leftovers(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// CVE-2025-52565: /dev/console from a swapped /dev/pts entry
// ---------------------------------------------------------------------------

/// With `terminal: true` the runtime bind-mounts the pty's peer on /dev/console. Here
/// /dev/pts is a bind of a directory of the image in which `ptmx` leads to a real devpts
/// (mounted at /dev/realpts) and every `N` is a symlink to
/// /proc/sys/kernel/core_pattern: a runtime that opens or binds `/dev/pts/N` by path
/// gives the container a writable core_pattern as its console.
///
/// /dev/console must be the process's own terminal (the same character device as its
/// stdin, a pty: major 136), and writing to it must not change the host's core_pattern.
///
/// Able to fail: a /dev/console bound to core_pattern is a regular file (first check)
/// and writing it changes the host's core_pattern (second).
#[test]
fn cve_2025_52565_dev_console_is_the_container_pty() {
    let core = CorePattern::take();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    remove_mount(&mut b, "/dev/pts");
    let fake = b.rootfs().join("fakepts");
    fs::create_dir(&fake).unwrap();
    symlink("/dev/realpts/ptmx", fake.join("ptmx")).unwrap();
    for n in 0..32 {
        symlink("/proc/sys/kernel/core_pattern", fake.join(n.to_string())).unwrap();
    }
    b.add_mount(
        "/dev/realpts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
        ],
    );
    b.add_mount("/dev/pts", "bind", fake.to_str().unwrap(), &["bind"]);
    b.set_readonly_root(false)
        .set("/process/terminal", json!(true))
        .sh("{ echo \"console=$(stat -c '%F %t' /dev/console)\"; \
               echo \"stdin=$(stat -L -c '%F %t' /proc/self/fd/0)\"; \
               echo \"same=$(stat -c %t:%T /dev/console) $(stat -L -c %t:%T /proc/self/fd/0)\"; \
               echo jinn-sec-52565 > /dev/console; echo done=1; } > /result 2>&1; sleep 0.2");
    b.save();
    let console = ConsoleSocket::new();
    let id = rt.new_id();
    rt.track(&id);
    let create = rt.spawn(&[
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        console.path(),
        &id,
    ]);
    let master = console.receive_master(WAIT);
    let out = create.wait(WAIT);
    if out.status.success() {
        assert_success(&rt.start(&id), "start");
        let mut master = master.expect("create succeeded without sending a pty master");
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline && !read_rootfs(&b, "result").contains("done=1") {
            drain(&mut master);
        }
        drain(&mut master);
    }
    core.assert_unchanged("/dev/pts/N -> core_pattern, write to /dev/console");
    let result = read_rootfs(&b, "result");
    if !out.status.success() {
        // jinn's defence is to bind the pty it got by fd: a jinn failure here would skip
        // every check below.
        assert!(
            !rt.is_jinn(),
            "jinn refused the container: {}",
            stderr(&out)
        );
        eprintln!("refused: {}", stderr(&out).trim());
        assert_no_leftovers(&rt, &id, &b);
        return;
    }
    let got = kv(&result);
    assert_eq!(
        got.get("console").map(String::as_str),
        Some("character special file 88"),
        "/dev/console is not a pty peer:\n{result}"
    );
    let same: Vec<&str> = got
        .get("same")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    assert!(
        same.len() == 2 && same[0] == same[1],
        "/dev/console is not the process's terminal:\n{result}"
    );
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// CVE-2025-52881: redirected procfs writes
// ---------------------------------------------------------------------------

/// The config overmounts /proc with a bind of a directory of the bundle: its
/// `sys/net/ipv4/ip_forward` and `self/oom_score_adj` are plain host files, and
/// `sys/kernel/domainname` is a symlink to the core_pattern of a real procfs mounted at
/// /realproc. A runtime that writes sysctl and oom_score_adj through the path /proc
/// writes the host files or the host's core_pattern.
///
/// The runtime must refuse the config or write through a procfs it made itself: the
/// bundle's fake files keep their bytes, the host's core_pattern and sysctls keep their
/// values, and (when the container runs) the real values are in the real procfs.
///
/// Able to fail: a write through /proc would change the fake files (compared byte for
/// byte) or core_pattern (compared, restored).
#[test]
fn cve_2025_52881_procfs_writes_are_not_redirected() {
    let core = CorePattern::take();
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let fake = b.path().join("fakeproc");
    fs::create_dir_all(fake.join("sys/net/ipv4")).unwrap();
    fs::create_dir_all(fake.join("sys/kernel")).unwrap();
    fs::create_dir_all(fake.join("self")).unwrap();
    fs::write(fake.join("sys/net/ipv4/ip_forward"), "fake\n").unwrap();
    fs::write(fake.join("self/oom_score_adj"), "fake\n").unwrap();
    symlink(
        "/realproc/sys/kernel/core_pattern",
        fake.join("sys/kernel/domainname"),
    )
    .unwrap();
    b.add_mount("/realproc", "proc", "proc", &[]);
    b.add_mount("/proc", "bind", fake.to_str().unwrap(), &["rbind"]);
    b.set("/linux/maskedPaths", json!([]))
        .set("/linux/readonlyPaths", json!([]))
        .set(
            "/linux/sysctl",
            json!({"kernel.domainname": "jinn-sec-52881", "net.ipv4.ip_forward": "1"}),
        )
        .set("/process/oomScoreAdj", json!(321))
        .set_readonly_root(false)
        .sh("cat /realproc/sys/kernel/domainname /realproc/sys/net/ipv4/ip_forward /realproc/1/oom_score_adj");
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    core.assert_unchanged("sysctl through an overmounted /proc");
    host.assert_unchanged();
    assert_eq!(
        fs::read_to_string(fake.join("sys/net/ipv4/ip_forward")).unwrap(),
        "fake\n"
    );
    assert_eq!(
        fs::read_to_string(fake.join("self/oom_score_adj")).unwrap(),
        "fake\n"
    );
    assert!(fs::symlink_metadata(fake.join("sys/kernel/domainname"))
        .unwrap()
        .file_type()
        .is_symlink());
    if out.status.success() {
        assert_eq!(
            stdout(&out).split_whitespace().collect::<Vec<_>>(),
            ["jinn-sec-52881", "1", "321"],
            "the sysctl and oom_score_adj did not reach the container's real procfs"
        );
    } else {
        eprintln!("refused: {}", stderr(&out).trim());
    }
    assert_no_leftovers(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// crun CVE-2026-47766: /dev is a symlink to a host path
// ---------------------------------------------------------------------------

/// The image's /dev is a symlink to a host directory (absolute, and relative climbing out
/// of the rootfs). A runtime that follows it on the host creates the default devices,
/// `linux.devices` nodes, the /dev/ptmx and /dev/fd links, or mounts the /dev tmpfs, on
/// the host. With and without a /dev mount in the config: the runtime refuses or stays
/// inside the rootfs; the marker directory stays empty and the host gains no mount.
#[test]
fn crun_cve_2026_47766_dev_symlink_creates_nothing_outside_the_rootfs() {
    let rt = Runtime::new();
    let marker = Marker::new();
    let host = HostSnapshot::take();
    let mounts = host_mounts();
    for (how, target) in [
        ("absolute", marker.path_str().to_string()),
        ("relative", climbing(marker.path())),
    ] {
        for with_dev_mount in [true, false] {
            let mut b = Bundle::new();
            fs::remove_dir(b.rootfs().join("dev")).unwrap();
            symlink(&target, b.rootfs().join("dev")).unwrap();
            if !with_dev_mount {
                for d in ["/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"] {
                    remove_mount(&mut b, d);
                }
            }
            b.set_readonly_root(false)
                .push(
                    "/linux/devices",
                    json!({"path": "/dev/jinn-sec-null", "type": "c", "major": 1, "minor": 3, "fileMode": 438}),
                )
                .set_args(&["true"]);
            let id = rt.new_id();
            let out = rt.run(&b, &id);
            let what = format!("/dev -> {how} host path, /dev mount: {with_dev_mount}");
            eprintln!(
                "{what}: {}",
                if out.status.success() {
                    "ran".to_string()
                } else {
                    format!("refused: {}", stderr(&out).trim())
                }
            );
            let created = marker.entries();
            if rt.is_runc() && !created.is_empty() {
                // runc 1.1.5 makes /dev/fd, /dev/std* and /dev/ptmx with os.Symlink on the
                // host path <rootfs>/dev/..., which follows the image's /dev symlink: it
                // creates them on the host. runc's 2025 security releases (1.2.8, 1.3.3,
                // 1.4.0-rc.3) moved these operations to fd-based path resolution.
                eprintln!("runc: created {created:?} in the host directory through /dev");
                for e in created {
                    let _ = fs::remove_file(marker.path().join(e));
                }
            }
            marker.assert_empty(&what);
            assert_no_new_host_mounts(&mounts, &what);
            assert_no_leftovers(&rt, &id, &b);
        }
    }
    host.assert_unchanged();
}
