//! The harness: the runtime under test, per-case temp dirs and bundles,
//! command execution with a timeout, TAP reporting and cleanup.

use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one runtime command may take before it is killed.
const CMD_TIMEOUT: Duration = Duration::from_secs(30);

/// The runtime under test.
pub struct Runtime {
    pub path: String,
    /// Wrap every call in a private mount namespace where the cgroup v2
    /// `cgroup.controllers` of the hybrid hierarchy reads empty (crun 1.8
    /// refuses hybrid hosts otherwise).
    pub crun_hybrid_workaround: bool,
}

impl Runtime {
    pub fn new(path: &str) -> Runtime {
        let base = Path::new(path)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let controllers = "/sys/fs/cgroup/unified/cgroup.controllers";
        let hybrid = fs::read_to_string(controllers)
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false);
        Runtime {
            path: path.to_string(),
            crun_hybrid_workaround: base.contains("crun") && hybrid,
        }
    }
}

/// Result of one runtime command.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    pub fn describe(&self) -> String {
        let mut s = if self.timed_out {
            "timed out".to_string()
        } else {
            format!("exit {:?}", self.code)
        };
        let tail = |x: &str| {
            let x = x.trim();
            if x.len() > 600 {
                x[x.len() - 600..].to_string()
            } else {
                x.to_string()
            }
        };
        if !self.stdout.trim().is_empty() {
            s += &format!("; stdout: {}", tail(&self.stdout));
        }
        if !self.stderr.trim().is_empty() {
            s += &format!("; stderr: {}", tail(&self.stderr));
        }
        s
    }
}

/// TAP output and counters over all cases.
#[derive(Default)]
pub struct Report {
    pub n: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Report {
    pub fn pass(&mut self, case: &str, rule: &str) {
        self.n += 1;
        self.passed += 1;
        println!("ok {} - {case}: {rule}", self.n);
    }
    pub fn fail(&mut self, case: &str, rule: &str, detail: &str) {
        self.n += 1;
        self.failed += 1;
        println!("not ok {} - {case}: {rule}", self.n);
        for l in detail.lines() {
            println!("#   {l}");
        }
    }
    pub fn skip(&mut self, case: &str, rule: &str, reason: &str) {
        self.n += 1;
        self.skipped += 1;
        println!("ok {} - {case}: {rule} # SKIP {reason}", self.n);
    }
    /// A rule every runc-compatible runtime breaks on purpose: TAP's `# TODO`, counted
    /// with the skipped ones, the reason printed.
    pub fn known_deviation(&mut self, case: &str, rule: &str, reason: &str, detail: &str) {
        self.n += 1;
        self.skipped += 1;
        println!("not ok {} - {case}: {rule} # TODO {reason}", self.n);
        for l in detail.lines() {
            println!("#   {l}");
        }
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test case: a private temp dir and `--root`, the ids it used, and
/// cleanup on drop (also when a check panics).
pub struct Case<'a> {
    pub name: String,
    pub rt: &'a Runtime,
    pub dir: PathBuf,
    pub root: PathBuf,
    pub ids: Vec<String>,
    pub pids_to_kill: Vec<i32>,
    /// Fds the next runtime command gets as 3, 4, … (`--preserve-fds`); taken by `rt`.
    pub pass_fds: Vec<i32>,
    /// Run the next runtime command with `LISTEN_FDS=N LISTEN_PID=<its pid>` (systemd
    /// socket activation of the runtime); taken by `rt`.
    pub listen_fds: Option<usize>,
    pub report: &'a mut Report,
    cmd_n: usize,
}

pub fn unique_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("rtc-{}-{:04}", std::process::id(), n)
}

pub fn mkdir(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).ok();
}

impl<'a> Case<'a> {
    pub fn new(name: &str, rt: &'a Runtime, report: &'a mut Report) -> Case<'a> {
        let base = std::env::temp_dir().join(format!(
            "rtc-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            name
        ));
        mkdir(&base);
        let root = base.join("root");
        mkdir(&root);
        println!("# case {name}");
        Case {
            name: name.to_string(),
            rt,
            dir: base,
            root,
            ids: Vec::new(),
            pids_to_kill: Vec::new(),
            pass_fds: Vec::new(),
            listen_fds: None,
            report,
            cmd_n: 0,
        }
    }

    pub fn new_id(&mut self) -> String {
        let id = unique_id();
        self.ids.push(id.clone());
        id
    }

    /// A new id and the file its `create` sends the container's output to.
    pub fn new_container(&mut self) -> (String, PathBuf) {
        (self.new_id(), self.dir.join("container.out"))
    }

    pub fn pass(&mut self, rule: &str) {
        let n = self.name.clone();
        self.report.pass(&n, rule);
    }
    pub fn fail(&mut self, rule: &str, detail: &str) {
        let n = self.name.clone();
        self.report.fail(&n, rule, detail);
    }
    pub fn skip(&mut self, rule: &str, reason: &str) {
        let n = self.name.clone();
        self.report.skip(&n, rule, reason);
    }
    /// Like `check`, but a failure is a known, documented deviation (see
    /// docs/conformance.md), not counted as failed.
    pub fn check_deviation(
        &mut self,
        pass: bool,
        rule: &str,
        reason: &str,
        detail: impl FnOnce() -> String,
    ) {
        if pass {
            self.pass(rule);
        } else {
            let n = self.name.clone();
            let d = detail();
            self.report.known_deviation(&n, rule, reason, &d);
        }
    }

    /// Reports `rule` as passed iff `pass`; returns `pass`.
    pub fn check(&mut self, pass: bool, rule: &str, detail: impl FnOnce() -> String) -> bool {
        if pass {
            self.pass(rule);
        } else {
            let d = detail();
            self.fail(rule, &d);
        }
        pass
    }

    /// [`Case::check`] with the container's output `text` as the detail.
    pub fn check_output(&mut self, pass: bool, rule: &str, text: &str) -> bool {
        self.check(pass, rule, || format!("container output:\n{text}"))
    }

    /// Runs `<rt> --root <root> ARGS`. The command's stdout/stderr go to
    /// files (a detached container inherits them and would hold a pipe
    /// open); `container_out`, when given, receives both (used by `create`
    /// so the container's output lands there).
    pub fn rt(&mut self, args: &[&str], container_out: Option<&Path>) -> Out {
        self.cmd_n += 1;
        let (out_p, err_p) = match container_out {
            Some(p) => (p.to_path_buf(), p.to_path_buf()),
            None => (
                self.dir.join(format!("cmd-{}.out", self.cmd_n)),
                self.dir.join(format!("cmd-{}.err", self.cmd_n)),
            ),
        };
        let open = |p: &Path| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
        };
        let before_out = fs::metadata(&out_p).map(|m| m.len()).unwrap_or(0) as usize;
        let mut full: Vec<String> = vec!["--root".into(), self.root.to_string_lossy().into_owned()];
        full.extend(args.iter().map(|s| s.to_string()));
        let listen = self.listen_fds.take();
        let mut cmd = if let Some(n) = listen {
            // The pid stays through `exec` (and `unshare -m`, which does not fork).
            let mut c = Command::new("sh");
            c.args([
                "-c",
                &format!("LISTEN_FDS={n} LISTEN_PID=$$ exec \"$0\" \"$@\""),
            ]);
            if self.rt.crun_hybrid_workaround {
                c.args([
                    "unshare",
                    "-m",
                    "sh",
                    "-c",
                    "mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers && exec \"$0\" \"$@\"",
                ]);
            }
            c.arg(&self.rt.path);
            c
        } else if self.rt.crun_hybrid_workaround {
            let mut c = Command::new("unshare");
            c.args([
                "-m",
                "sh",
                "-c",
                "mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers && exec \"$0\" \"$@\"",
                &self.rt.path,
            ]);
            c
        } else {
            Command::new(&self.rt.path)
        };
        cmd.args(&full)
            .stdin(Stdio::null())
            .stdout(open(&out_p))
            .stderr(open(&err_p));
        let pass = std::mem::take(&mut self.pass_fds);
        if !pass.is_empty() {
            use std::os::unix::process::CommandExt;
            // SAFETY: only dup2(2) between fork and exec; the sources are
            // numbered above the targets (the case opens them at 50+).
            unsafe {
                cmd.pre_exec(move || {
                    for (i, &fd) in pass.iter().enumerate() {
                        if libc::dup2(fd, 3 + i as i32) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Out {
                    code: None,
                    stdout: String::new(),
                    stderr: format!("spawn {}: {e}", self.rt.path),
                    timed_out: false,
                }
            }
        };
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break Some(s);
            }
            if start.elapsed() > CMD_TIMEOUT {
                child.kill().ok();
                child.wait().ok();
                timed_out = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        let (stdout, stderr) = if container_out.is_some() {
            let all = read(&out_p);
            (
                String::new(),
                all.get(before_out..).unwrap_or("").to_string(),
            )
        } else {
            (read(&out_p), read(&err_p))
        };
        Out {
            code: status.and_then(|s| s.code()),
            stdout,
            stderr,
            timed_out,
        }
    }

    /// `state ID` parsed, or the error output.
    pub fn state(&mut self, id: &str) -> Result<Value, String> {
        let o = self.rt(&["state", id], None);
        if !o.ok() {
            return Err(o.describe());
        }
        serde_json::from_str(&o.stdout).map_err(|e| format!("state JSON: {e}: {}", o.stdout))
    }

    pub fn status(&mut self, id: &str) -> Option<String> {
        self.state(id)
            .ok()
            .and_then(|v| v["status"].as_str().map(String::from))
    }

    /// Polls `state` until the status is `want` (or the timeout).
    pub fn wait_status(&mut self, id: &str, want: &str, timeout: Duration) -> Option<String> {
        let start = Instant::now();
        loop {
            let s = self.status(id);
            if s.as_deref() == Some(want) || start.elapsed() > timeout {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the runtime may have left for `id`: state dir entries,
    /// cgroup dirs, host mounts below the case dir.
    pub fn leftovers(&self, id: &str) -> Vec<String> {
        let mut left = Vec::new();
        if let Ok(rd) = fs::read_dir(&self.root) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.contains(id) {
                    left.push(format!("state entry {}", e.path().display()));
                }
            }
        }
        for c in cgroup_dirs(id) {
            left.push(format!("cgroup {}", c.display()));
        }
        let dir = self.dir.to_string_lossy().into_owned();
        if let Ok(mi) = fs::read_to_string("/proc/self/mountinfo") {
            for l in mi.lines() {
                // " rtc-shared ": the driver's own shared tmpfs (config-mounts-more).
                if l.contains(&dir) && !l.contains(" tmpfs rtc-shared ") {
                    left.push(format!("host mount {l}"));
                }
            }
        }
        left
    }
}

impl Drop for Case<'_> {
    fn drop(&mut self) {
        for id in self.ids.clone() {
            let _ = self.rt(&["delete", "--force", &id], None);
            // Removing a cgroup only works once it is empty.
            let mut dirs = cgroup_dirs(&id);
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in dirs {
                let _ = fs::remove_dir(&d);
            }
        }
        for &pid in &self.pids_to_kill {
            // SAFETY: kill(2) on a pid we started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let mut st = 0;
            // SAFETY: reaping our own child; harmless if it is not ours.
            unsafe { libc::waitpid(pid, &mut st, 0) };
        }
        // Lazily unmount anything left below the case dir, then remove it.
        let dir = self.dir.to_string_lossy().into_owned();
        if let Ok(mi) = fs::read_to_string("/proc/self/mountinfo") {
            let mut points: Vec<String> = mi
                .lines()
                .filter_map(|l| l.split(' ').nth(4).map(String::from))
                .filter(|p| p.starts_with(&dir))
                .collect();
            points.sort_by_key(|p| std::cmp::Reverse(p.len()));
            for p in points {
                if let Ok(c) = std::ffi::CString::new(p) {
                    // SAFETY: valid C string.
                    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                }
            }
        }
        if std::env::var_os("RTC_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Cgroup directories (in any hierarchy, up to 4 levels deep) whose name
/// contains `id`.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    fn walk(p: &Path, id: &str, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let path = e.path();
            if e.file_name().to_string_lossy().contains(id) {
                out.push(path.clone());
            }
            if depth > 0 {
                walk(&path, id, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 4, &mut out);
    out
}

fn busybox_applets() -> &'static Vec<String> {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    APPLETS.get_or_init(|| {
        let o = Command::new("/bin/busybox")
            .arg("--list")
            .output()
            .expect("/bin/busybox --list (install busybox-static)");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.contains('/'))
            .collect()
    })
}

/// A bundle under the case dir: busybox rootfs, the checker, and a config
/// (edited by the case, written by `save`).
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    pub fn new(case_dir: &Path, name: &str, checker: &Path) -> Bundle {
        let dir = case_dir.join(name);
        let rootfs = dir.join("rootfs");
        for d in [
            "bin",
            "proc",
            "sys",
            "dev",
            "tmp",
            "etc",
            "mnt",
            "root",
            "conformance",
        ] {
            mkdir(&rootfs.join(d));
        }
        fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).ok();
        fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy /bin/busybox");
        for a in busybox_applets() {
            if a != "busybox" {
                let _ = symlink("busybox", rootfs.join("bin").join(a));
            }
        }
        fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").ok();
        fs::write(rootfs.join("etc/group"), "root:x:0:\n").ok();
        let ck = rootfs.join("conformance/checker");
        fs::copy(checker, &ck).expect("copy the checker");
        fs::set_permissions(&ck, fs::Permissions::from_mode(0o755)).ok();
        Bundle {
            dir,
            config: base_config(),
        }
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Sets a JSON pointer, creating intermediate objects.
    pub fn set(&mut self, ptr: &str, v: Value) {
        let mut cur = &mut self.config;
        let parts: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
        for (i, p) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            if cur.is_array() {
                let idx: usize = p.parse().expect("array index");
                if last {
                    cur[idx] = v;
                    return;
                }
                cur = &mut cur[idx];
            } else {
                if !cur.is_object() {
                    *cur = json!({});
                }
                let obj = cur.as_object_mut().unwrap();
                if last {
                    obj.insert(p.to_string(), v);
                    return;
                }
                cur = obj.entry(p.to_string()).or_insert(json!({}));
            }
        }
    }

    pub fn push(&mut self, ptr: &str, v: Value) {
        match self.config.pointer_mut(ptr) {
            Some(Value::Array(a)) => a.push(v),
            _ => self.set(ptr, json!([v])),
        }
    }

    /// A new user namespace: container ids 0… are host uids 100000… and
    /// gids 200000… (65536 of each).
    pub fn userns_mapped(&mut self) {
        self.push("/linux/namespaces", json!({"type": "user"}));
        self.set(
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        );
        self.set(
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 200000, "size": 65536}]),
        );
    }

    pub fn sh(&mut self, script: &str) {
        self.set("/process/args", json!(["sh", "-c", script]));
    }

    /// Writes config.json (and its copy for the checker) plus host.json.
    pub fn save(&self, host: &Value) {
        let s = serde_json::to_string_pretty(&self.config).unwrap();
        fs::write(self.dir.join("config.json"), &s).expect("write config.json");
        let c = self.rootfs().join("conformance");
        fs::write(c.join("config.json"), &s).ok();
        fs::write(
            c.join("host.json"),
            serde_json::to_string_pretty(host).unwrap(),
        )
        .ok();
        for f in ["config.json", "host.json"] {
            fs::set_permissions(c.join(f), fs::Permissions::from_mode(0o644)).ok();
        }
    }

    pub fn path(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }
}

/// `runc spec` (1.1) with `terminal: false`, the checker as the process and
/// a hostname: the base of every case.
pub fn base_config() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/conformance/checker"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "conformance",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// Host facts for the checker: the runtime's namespaces, umask and
/// oom_score_adj (inherited from this process).
pub fn host_facts(extra_ns_paths: &[&str]) -> Value {
    let mut ns = serde_json::Map::new();
    for n in ["pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"] {
        if let Ok(l) = fs::read_link(format!("/proc/self/ns/{n}")) {
            ns.insert(n.into(), json!(l.to_string_lossy()));
        }
    }
    let mut paths = serde_json::Map::new();
    for p in extra_ns_paths {
        if let Ok(l) = fs::read_link(p) {
            paths.insert(p.to_string(), json!(l.to_string_lossy()));
        }
    }
    // SAFETY: umask(2) read-and-restore.
    let um = unsafe {
        let u = libc::umask(0o022);
        libc::umask(u);
        u
    };
    let oom: i64 = fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    json!({"ns": ns, "ns_paths": paths, "umask": um, "oom_score_adj": oom})
}

pub fn pid_alive(pid: i64) -> bool {
    // A zombie (exited, not yet reaped by whoever inherited it) is dead.
    let zombie = fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .unwrap_or(false);
    // SAFETY: signal 0 only checks existence.
    pid > 0 && !zombie && unsafe { libc::kill(pid as i32, 0) } == 0
}

/// One recvmsg(2) with `flags` on a unix stream: the bytes read (none at
/// EOF) and the fds that came with them (SCM_RIGHTS).
pub fn recv_msg(
    sock: &std::os::unix::net::UnixStream,
    flags: i32,
) -> Result<(Vec<u8>, Vec<i32>), String> {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 8192];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 32];
    // SAFETY: zeroed msghdr, filled below with valid pointers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: msg points at live buffers.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, flags) };
    if n < 0 {
        return Err(format!("recvmsg: {}", std::io::Error::last_os_error()));
    }
    let mut fds = Vec::new();
    // SAFETY: walking the control buffer the kernel filled.
    unsafe {
        let mut cm = libc::CMSG_FIRSTHDR(&msg);
        while !cm.is_null() {
            if (*cm).cmsg_level == libc::SOL_SOCKET && (*cm).cmsg_type == libc::SCM_RIGHTS {
                let len = (*cm).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let p = libc::CMSG_DATA(cm) as *const i32;
                for i in 0..len / 4 {
                    fds.push(std::ptr::read_unaligned(p.add(i)));
                }
            }
            cm = libc::CMSG_NXTHDR(&msg, cm);
        }
    }
    Ok((buf[..n as usize].to_vec(), fds))
}

/// Waits until `path` exists.
pub fn wait_file(path: &Path, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    path.exists()
}
