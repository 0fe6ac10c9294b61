//! Test harness shared by the integration tests of the `jinn` binary.
//!
//! The tests are written against the runc command-line contract: they run
//! whatever binary `JINN_RUNTIME` names (e.g. `/usr/sbin/runc`) and default to
//! the `jinn` binary cargo built for this package.
//!
//! Every test gets its own `--root` directory, unique container ids and a
//! temporary busybox bundle, and cleans them up on drop, also when it panics.
//! `assert_no_leftovers` and `HostSnapshot` turn a runtime that leaks state,
//! cgroups, mounts or processes, or that changes the host, into a failed test.
#![allow(dead_code)]

pub mod cgroupfs;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// How long one runtime invocation may take before it is killed and the test fails.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(30);

/// `runc spec` (runc 1.1) with `"terminal": false`: the config every test bundle starts from.
pub const SPEC_TEMPLATE: &str = r#"
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": {
      "uid": 0,
      "gid": 0
    },
    "args": [
      "sh"
    ],
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],
    "cwd": "/",
    "capabilities": {
      "bounding": [
        "CAP_AUDIT_WRITE",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE"
      ],
      "effective": [
        "CAP_AUDIT_WRITE",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE"
      ],
      "permitted": [
        "CAP_AUDIT_WRITE",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE"
      ],
      "ambient": [
        "CAP_AUDIT_WRITE",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE"
      ]
    },
    "rlimits": [
      {
        "type": "RLIMIT_NOFILE",
        "hard": 1024,
        "soft": 1024
      }
    ],
    "noNewPrivileges": true
  },
  "root": {
    "path": "rootfs",
    "readonly": true
  },
  "hostname": "runc",
  "mounts": [
    {
      "destination": "/proc",
      "type": "proc",
      "source": "proc"
    },
    {
      "destination": "/dev",
      "type": "tmpfs",
      "source": "tmpfs",
      "options": [
        "nosuid",
        "strictatime",
        "mode=755",
        "size=65536k"
      ]
    },
    {
      "destination": "/dev/pts",
      "type": "devpts",
      "source": "devpts",
      "options": [
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5"
      ]
    },
    {
      "destination": "/dev/shm",
      "type": "tmpfs",
      "source": "shm",
      "options": [
        "nosuid",
        "noexec",
        "nodev",
        "mode=1777",
        "size=65536k"
      ]
    },
    {
      "destination": "/dev/mqueue",
      "type": "mqueue",
      "source": "mqueue",
      "options": [
        "nosuid",
        "noexec",
        "nodev"
      ]
    },
    {
      "destination": "/sys",
      "type": "sysfs",
      "source": "sysfs",
      "options": [
        "nosuid",
        "noexec",
        "nodev",
        "ro"
      ]
    },
    {
      "destination": "/sys/fs/cgroup",
      "type": "cgroup",
      "source": "cgroup",
      "options": [
        "nosuid",
        "noexec",
        "nodev",
        "relatime",
        "ro"
      ]
    }
  ],
  "linux": {
    "resources": {
      "devices": [
        {
          "allow": false,
          "access": "rwm"
        }
      ]
    },
    "namespaces": [
      {
        "type": "pid"
      },
      {
        "type": "network"
      },
      {
        "type": "ipc"
      },
      {
        "type": "uts"
      },
      {
        "type": "mount"
      }
    ],
    "maskedPaths": [
      "/proc/acpi",
      "/proc/asound",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/sys/firmware",
      "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus",
      "/proc/fs",
      "/proc/irq",
      "/proc/sys",
      "/proc/sysrq-trigger"
    ]
  }
}
"#;

// ---------------------------------------------------------------------------
// Runtime wrapper
// ---------------------------------------------------------------------------

static ID_COUNTER: AtomicUsize = AtomicUsize::new(0);
static IO_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A container id unique to this test process: `jt-<pid>-<counter>`.
///
/// The counter is zero-padded so that no id is a substring of another one,
/// which keeps the cgroup leftover search exact.
pub fn unique_id() -> String {
    format!(
        "jt-{}-{:05}",
        std::process::id(),
        ID_COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The runtime binary under test, with a private `--root` state directory.
///
/// Dropping it runs `delete --force` on every container it knows of (ids it
/// handed out, plus whatever `list -q` and the root directory show), so a
/// failing test does not leave containers behind.
pub struct Runtime {
    path: PathBuf,
    dir: TempDir,
    ids: Mutex<Vec<String>>,
}

/// A runtime invocation running in the background (see [`Runtime::spawn`]).
pub struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    what: String,
}

impl Running {
    /// Waits for the invocation, killing it after `timeout` (then the test fails).
    pub fn wait(mut self, timeout: Duration) -> Output {
        let status = wait_child(&mut self.child, timeout, &self.what);
        collect(status, &self.stdout, &self.stderr)
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_child(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) => {}
            Err(e) => panic!("waiting for `{what}`: {e}"),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not finish within {timeout:?}: killed it");
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn collect(status: ExitStatus, stdout: &Path, stderr: &Path) -> Output {
    let out = Output {
        status,
        stdout: fs::read(stdout).unwrap_or_default(),
        stderr: fs::read(stderr).unwrap_or_default(),
    };
    let _ = fs::remove_file(stdout);
    let _ = fs::remove_file(stderr);
    out
}

impl Runtime {
    /// The runtime named by `JINN_RUNTIME`, or the `jinn` binary of this package.
    pub fn new() -> Self {
        let path = match std::env::var_os("JINN_RUNTIME") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(env!("CARGO_BIN_EXE_jinn")),
        };
        assert!(
            path.is_file(),
            "runtime binary {} does not exist (set JINN_RUNTIME)",
            path.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("jinn-test-root-")
            .tempdir()
            .expect("create the runtime root temp dir");
        fs::create_dir(dir.path().join("root")).unwrap();
        fs::create_dir(dir.path().join("io")).unwrap();
        Runtime {
            path,
            dir,
            ids: Mutex::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Like [`new`](Self::new), but runs a private copy of the binary under test (same
    /// file name, in this runtime's temp dir): a test that attacks the runtime binary
    /// (CVE-2019-5736) can then only damage the copy, never the build.
    pub fn with_copied_binary() -> Self {
        let mut rt = Self::new();
        let bin = rt.dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let copy = bin.join(rt.path.file_name().expect("runtime file name"));
        fs::copy(&rt.path, &copy).expect("copy the runtime binary");
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        rt.path = copy;
        rt
    }

    /// The `--root` directory of this runtime instance.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// True when the binary under test is jinn (checks of jinn's own messages).
    pub fn is_jinn(&self) -> bool {
        self.name().starts_with("jinn")
    }

    /// True when the binary under test is runc (to skip checks where runc deviates from the spec).
    pub fn is_runc(&self) -> bool {
        self.name().starts_with("runc")
    }

    pub fn is_crun(&self) -> bool {
        self.name().starts_with("crun")
    }

    /// A fresh container id, remembered for cleanup.
    pub fn new_id(&self) -> String {
        let id = unique_id();
        self.track(&id);
        id
    }

    /// Remembers `id` so that the cleanup on drop deletes it.
    pub fn track(&self, id: &str) {
        self.ids.lock().unwrap().push(id.to_string());
    }

    fn io_paths(&self) -> (PathBuf, PathBuf) {
        let n = IO_COUNTER.fetch_add(1, Ordering::SeqCst);
        let io = self.dir.path().join("io");
        (io.join(format!("{n}.out")), io.join(format!("{n}.err")))
    }

    /// Starts `<rt> --root <root> <args…>` in the background.
    ///
    /// Output goes to files, not pipes: a detached container inherits the
    /// runtime's stdio and would keep a pipe open forever.
    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_global(&[], args)
    }

    /// Like [`spawn`](Self::spawn) with extra global flags (`--log`, `--log-format`…).
    pub fn spawn_global(&self, global: &[&str], args: &[&str]) -> Running {
        let (out, err) = self.io_paths();
        let what = format!(
            "{} {} {}",
            self.path.display(),
            global.join(" "),
            args.join(" ")
        );
        let child = Command::new(&self.path)
            .arg("--root")
            .arg(self.root())
            .args(global)
            .args(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        Running {
            child,
            stdout: out,
            stderr: err,
            what,
        }
    }

    /// Runs `<rt> --root <root> <args…>` and returns its output; fails the test after [`CMD_TIMEOUT`].
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.spawn(args).wait(CMD_TIMEOUT)
    }

    /// Runs with extra global flags placed before the subcommand.
    pub fn cmd_global(&self, global: &[&str], args: &[&str]) -> Output {
        self.spawn_global(global, args).wait(CMD_TIMEOUT)
    }

    /// `run --bundle <bundle> <id>` in the foreground (saves the bundle's config first).
    pub fn run(&self, bundle: &Bundle, id: &str) -> Output {
        bundle.save();
        self.track(id);
        self.cmd(&["run", "--bundle", bundle.path_str(), id])
    }

    /// `create --bundle <bundle> <id>` (saves the bundle's config first).
    pub fn create(&self, bundle: &Bundle, id: &str) -> Output {
        bundle.save();
        self.track(id);
        self.cmd(&["create", "--bundle", bundle.path_str(), id])
    }

    pub fn start(&self, id: &str) -> Output {
        self.cmd(&["start", id])
    }

    pub fn kill(&self, id: &str, signal: &str) -> Output {
        self.cmd(&["kill", id, signal])
    }

    pub fn delete(&self, id: &str) -> Output {
        self.cmd(&["delete", id])
    }

    pub fn delete_force(&self, id: &str) -> Output {
        self.cmd(&["delete", "--force", id])
    }

    /// The parsed `state` of `id`, or `None` when `state` fails.
    pub fn state(&self, id: &str) -> Option<Value> {
        let out = self.cmd(&["state", id]);
        if !out.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "state {id}: output is not JSON ({e}): {}",
                text(&out.stdout)
            )
        }))
    }

    /// The `status` field of `state`, or `None` when `state` fails.
    pub fn status(&self, id: &str) -> Option<String> {
        self.state(id)
            .and_then(|s| s["status"].as_str().map(str::to_string))
    }

    /// Polls `state` until the status is `want`; fails the test after `timeout`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.status(id);
            if got.as_deref() == Some(want) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("container {id}: status is {got:?}, expected {want:?} within {timeout:?}");
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// Names of the directories in the root (runc keeps one per container).
    pub fn ids_in_root(&self) -> Vec<String> {
        let mut ids = Vec::new();
        if let Ok(rd) = fs::read_dir(self.root()) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    ids.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        ids
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let mut ids: Vec<String> = self.ids.lock().map(|v| v.clone()).unwrap_or_default();
        ids.extend(self.ids_in_root());
        if let Ok(child) = Command::new(&self.path)
            .arg("--root")
            .arg(self.root())
            .args(["list", "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            // `list -q` never starts containers, so a pipe is safe here.
            if let Ok(out) = wait_output(child, Duration::from_secs(10)) {
                ids.extend(text(&out.stdout).lines().map(str::to_string));
            }
        }
        ids.sort();
        ids.dedup();
        for id in ids.iter().filter(|i| !i.is_empty()) {
            let _ = Command::new(&self.path)
                .arg("--root")
                .arg(self.root())
                .args(["delete", "--force", id])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map(|c| wait_output(c, Duration::from_secs(10)));
            remove_cgroups(id);
        }
    }
}

fn wait_output(mut child: Child, timeout: Duration) -> Result<Output, ()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().map_err(|_| ());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(());
        }
        sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------
// Output helpers
// ---------------------------------------------------------------------------

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// Fails the test, with both streams, unless the invocation exited 0.
#[track_caller]
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: expected success, got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Fails the test unless the invocation exited with exactly `code`.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Fails the test unless the invocation failed (non-zero exit, not killed by a signal).
#[track_caller]
pub fn assert_failure(out: &Output, what: &str) {
    assert!(
        matches!(out.status.code(), Some(c) if c != 0),
        "{what}: expected a non-zero exit, got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// For jinn: the error output is exactly one line and it mentions every one of `needles`.
#[track_caller]
pub fn assert_one_error_line(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err:?}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "error line {:?} does not mention {n:?}",
            lines[0]
        );
    }
}

// ---------------------------------------------------------------------------
// Bundles
// ---------------------------------------------------------------------------

fn busybox_applets() -> &'static [String] {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    APPLETS.get_or_init(|| {
        let out = Command::new("/bin/busybox")
            .arg("--list")
            .output()
            .expect("run /bin/busybox --list (apt-get install busybox-static)");
        assert!(out.status.success(), "/bin/busybox --list failed");
        text(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
            .map(str::to_string)
            .collect()
    })
}

/// Fills `rootfs` with a static busybox, one symlink per applet and the usual empty dirs.
pub fn make_busybox_rootfs(rootfs: &Path) {
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy("/bin/busybox", bin.join("busybox")).expect("copy /bin/busybox into the rootfs");
    for applet in busybox_applets() {
        symlink("busybox", bin.join(applet)).unwrap();
    }
    for d in ["proc", "sys", "dev", "tmp", "etc", "root", "mnt", "run"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
}

/// A bundle in a temp dir: a busybox rootfs and a config that tests mutate before `save`.
///
/// On drop it kills processes still rooted in the bundle and lazily unmounts
/// host mounts below it (what a buggy runtime could leave), then removes it.
pub struct Bundle {
    dir: TempDir,
    path: String,
    pub config: Value,
}

impl Bundle {
    /// A busybox bundle with the built-in `runc spec` template as config.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("jinn-test-bundle-")
            .tempdir()
            .expect("create a bundle temp dir");
        let path = dir.path().to_str().expect("utf-8 temp path").to_string();
        make_busybox_rootfs(&dir.path().join("rootfs"));
        let config = serde_json::from_str(SPEC_TEMPLATE).expect("SPEC_TEMPLATE is JSON");
        Bundle { dir, path, config }
    }

    /// A busybox bundle whose config.json is what `<rt> spec --bundle <dir>` writes
    /// (with `terminal` set to false).
    pub fn from_runtime_spec(rt: &Runtime) -> Self {
        let mut b = Bundle::new();
        let out = Command::new(rt.path())
            .args(["spec", "--bundle", &b.path])
            .stdin(Stdio::null())
            .output()
            .expect("run `spec`");
        assert_success(&out, "spec --bundle");
        let raw = fs::read_to_string(b.config_path()).expect("spec wrote config.json");
        b.config = serde_json::from_str(&raw).expect("spec wrote valid JSON");
        b.set("/process/terminal", Value::Bool(false));
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_str(&self) -> &str {
        &self.path
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    /// Writes `config` to config.json.
    pub fn save(&self) {
        let s = serde_json::to_string_pretty(&self.config).unwrap();
        fs::write(self.config_path(), s).expect("write config.json");
    }

    /// Writes raw text as config.json (for malformed-config tests; `save` would overwrite it).
    pub fn write_raw_config(&self, raw: &str) {
        fs::write(self.config_path(), raw).expect("write config.json");
    }

    /// Sets the value at a JSON pointer (`/process/cwd`), creating missing objects on the way.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        let mut cur = &mut self.config;
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            if !cur.is_object() {
                *cur = Value::Object(Default::default());
            }
            let obj = cur.as_object_mut().unwrap();
            if i == parts.len() - 1 {
                obj.insert(part.to_string(), value);
                return self;
            }
            cur = obj.entry(part.to_string()).or_insert(Value::Null);
        }
        self
    }

    /// Removes the value at a JSON pointer, if present.
    pub fn remove(&mut self, pointer: &str) -> &mut Self {
        let (parent, last) = pointer.rsplit_once('/').expect("a JSON pointer");
        let target = if parent.is_empty() {
            Some(&mut self.config)
        } else {
            self.config.pointer_mut(parent)
        };
        if let Some(Value::Object(o)) = target {
            o.remove(last);
        }
        self
    }

    /// Appends `value` to the array at `pointer` (created when missing).
    pub fn push(&mut self, pointer: &str, value: Value) -> &mut Self {
        if !matches!(self.config.pointer(pointer), Some(Value::Array(_))) {
            self.set(pointer, Value::Array(vec![]));
        }
        self.config
            .pointer_mut(pointer)
            .unwrap()
            .as_array_mut()
            .unwrap()
            .push(value);
        self
    }

    pub fn set_args(&mut self, args: &[&str]) -> &mut Self {
        self.set(
            "/process/args",
            args.iter().map(|a| Value::from(*a)).collect(),
        )
    }

    /// Runs `script` with the container's `sh -c`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.set_args(&["sh", "-c", script])
    }

    pub fn set_env(&mut self, env: &[&str]) -> &mut Self {
        self.set(
            "/process/env",
            env.iter().map(|a| Value::from(*a)).collect(),
        )
    }

    pub fn set_cwd(&mut self, cwd: &str) -> &mut Self {
        self.set("/process/cwd", cwd.into())
    }

    pub fn set_hostname(&mut self, name: &str) -> &mut Self {
        self.set("/hostname", name.into())
    }

    pub fn set_readonly_root(&mut self, ro: bool) -> &mut Self {
        self.set("/root/readonly", ro.into())
    }

    pub fn set_user(&mut self, uid: u32, gid: u32, additional_gids: &[u32]) -> &mut Self {
        self.set("/process/user/uid", uid.into());
        self.set("/process/user/gid", gid.into());
        self.set(
            "/process/user/additionalGids",
            additional_gids.iter().map(|g| Value::from(*g)).collect(),
        )
    }

    /// Appends a `mounts` entry.
    pub fn add_mount(
        &mut self,
        dest: &str,
        typ: &str,
        source: &str,
        options: &[&str],
    ) -> &mut Self {
        let m = serde_json::json!({
            "destination": dest,
            "type": typ,
            "source": source,
            "options": options,
        });
        self.push("/mounts", m)
    }

    /// Appends a `linux.namespaces` entry.
    pub fn add_namespace(&mut self, typ: &str) -> &mut Self {
        self.push("/linux/namespaces", serde_json::json!({ "type": typ }))
    }

    /// Removes every `linux.namespaces` entry of type `typ`.
    pub fn remove_namespace(&mut self, typ: &str) -> &mut Self {
        if let Some(Value::Array(a)) = self.config.pointer_mut("/linux/namespaces") {
            a.retain(|n| n["type"] != typ);
        }
        self
    }
}

impl Default for Bundle {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let path = self.path.clone();
        for pid in processes_inside(&path) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let mut mounts: Vec<String> = host_mounts_mentioning(&path)
            .into_iter()
            .map(|m| m.mount_point)
            .filter(|mp| mp.starts_with(&path))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mp in mounts {
            let _ = Command::new("umount")
                .args(["-l", &mp])
                .stderr(Stdio::null())
                .status();
        }
    }
}

// ---------------------------------------------------------------------------
// Leftover checks
// ---------------------------------------------------------------------------

/// Pids of host processes whose root or cwd lies inside `dir`.
pub fn processes_inside(dir: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    let me = std::process::id();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        for link in ["root", "cwd"] {
            if let Ok(target) = fs::read_link(e.path().join(link)) {
                let t = target.to_string_lossy();
                if t == dir || t.starts_with(&format!("{dir}/")) {
                    pids.push(pid);
                    break;
                }
            }
        }
    }
    pids
}

/// Cgroup directories (in every hierarchy under /sys/fs/cgroup) whose name contains `id`.
pub fn cgroups_of(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, found: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if e.file_name().to_string_lossy().contains(id) {
                found.push(p.clone());
            }
            walk(&p, id, depth - 1, found);
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 7, &mut found);
    found
}

fn remove_cgroups(id: &str) {
    if id.len() < 6 {
        return;
    }
    let mut dirs = cgroups_of(id);
    dirs.sort_by_key(|d| std::cmp::Reverse(d.as_os_str().len()));
    for d in dirs {
        let _ = fs::remove_dir(d);
    }
}

/// One line of /proc/<pid>/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (`ro`, `nosuid`, `relatime`…).
    pub options: Vec<String>,
    /// Optional fields (`shared:N`, `master:N`…).
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Superblock options (`mode=755`, `size=…`…).
    pub super_options: Vec<String>,
}

impl MountInfo {
    pub fn has(&self, opt: &str) -> bool {
        self.options.iter().any(|o| o == opt)
    }

    pub fn has_super(&self, opt: &str) -> bool {
        self.super_options.iter().any(|o| o == opt)
    }

    pub fn is_shared(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("shared:"))
    }

    pub fn is_slave(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("master:"))
    }
}

/// Decodes the octal escapes (`\040`) of mountinfo paths.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the text of a mountinfo file.
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    let split = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if l.len() < 6 || r.len() < 3 {
                return None;
            }
            Some(MountInfo {
                root: unescape_mountinfo(l[3]),
                mount_point: unescape_mountinfo(l[4]),
                options: split(l[5]),
                optional: l[6..].iter().map(|s| s.to_string()).collect(),
                fstype: r[0].to_string(),
                source: unescape_mountinfo(r[1]),
                super_options: split(r[2]),
            })
        })
        .collect()
}

/// The topmost mount at `mount_point` in parsed mountinfo.
#[track_caller]
pub fn mount_at<'a>(mounts: &'a [MountInfo], mount_point: &str) -> &'a MountInfo {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == mount_point)
        .unwrap_or_else(|| panic!("no mount at {mount_point} in {mounts:#?}"))
}

/// Host mounts (in the test's mount namespace) whose mount point or root mentions `path`.
pub fn host_mounts_mentioning(path: &str) -> Vec<MountInfo> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mountinfo(&text)
        .into_iter()
        .filter(|m| {
            m.mount_point.contains(path) || m.root.contains(path) || m.source.contains(path)
        })
        .collect()
}

/// Fails the test if the container `id` of `bundle` left anything behind: a state
/// dir `<root>/<id>`, a cgroup, a host mount mentioning the bundle, or a process
/// rooted in the bundle. Process and cgroup checks are retried for a moment
/// because a killed process takes a while to disappear.
#[track_caller]
pub fn assert_no_leftovers(rt: &Runtime, id: &str, bundle: &Bundle) {
    let state_dir = rt.root().join(id);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut problems = Vec::new();
        if !id.is_empty() && id != "." && id != ".." && state_dir.exists() {
            problems.push(format!("state dir {} still exists", state_dir.display()));
        }
        if !id.is_empty() {
            for cg in cgroups_of(id) {
                problems.push(format!("cgroup {} still exists", cg.display()));
            }
        }
        for m in host_mounts_mentioning(bundle.path_str()) {
            problems.push(format!("host mount left: {m:?}"));
        }
        for pid in processes_inside(bundle.path_str()) {
            problems.push(format!("process {pid} is still rooted in the bundle"));
        }
        if problems.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "container {id:?} left things behind:\n  {}",
                problems.join("\n  ")
            );
        }
        sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Host safety
// ---------------------------------------------------------------------------

const HOST_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
];

const HOST_SYSCTLS: &[&str] = &[
    "/proc/sys/kernel/hostname",
    "/proc/sys/kernel/domainname",
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv4/ping_group_range",
];

/// What a runtime bug could change on the host: owner, mode and device number of
/// the host's device nodes, and a few sysctls tests set inside containers.
#[derive(Debug, PartialEq, Eq)]
pub struct HostSnapshot {
    devices: BTreeMap<String, Option<(u32, u32, u32, u64)>>,
    sysctls: BTreeMap<String, Option<String>>,
}

impl HostSnapshot {
    pub fn take() -> Self {
        let devices = HOST_DEVICES
            .iter()
            .map(|p| {
                let st = fs::metadata(p)
                    .ok()
                    .map(|m| (m.mode(), m.uid(), m.gid(), m.rdev()));
                (p.to_string(), st)
            })
            .collect();
        let sysctls = HOST_SYSCTLS
            .iter()
            .map(|p| (p.to_string(), fs::read_to_string(p).ok()))
            .collect();
        HostSnapshot { devices, sysctls }
    }

    /// Fails the test if the host changed since `take`.
    #[track_caller]
    pub fn assert_unchanged(&self) {
        let now = HostSnapshot::take();
        for (k, before) in &self.devices {
            assert_eq!(
                &now.devices[k], before,
                "host {k} changed (mode, uid, gid, rdev)"
            );
        }
        for (k, before) in &self.sysctls {
            assert_eq!(&now.sysctls[k], before, "host sysctl {k} changed");
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers for checks from inside containers
// ---------------------------------------------------------------------------

/// Capability names in kernel bit order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40).
pub const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The bit mask of capability names (panics on an unknown name).
pub fn cap_mask<S: AsRef<str>>(names: &[S]) -> u64 {
    names.iter().fold(0, |m, n| {
        let i = CAPS
            .iter()
            .position(|c| *c == n.as_ref())
            .unwrap_or_else(|| panic!("unknown capability {}", n.as_ref()));
        m | (1u64 << i)
    })
}

/// The `key:\tvalue` lines of a /proc/<pid>/status text.
pub fn parse_status(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Splits script output made of `@@section` header lines into sections.
pub fn sections(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            cur = Some(name.trim().to_string());
            map.entry(name.trim().to_string())
                .or_insert_with(String::new);
        } else if let Some(c) = &cur {
            let s = map.get_mut(c).unwrap();
            s.push_str(line);
            s.push('\n');
        }
    }
    map
}

/// Runs `script` in a fresh container of `bundle` (foreground `run`), asserts it
/// succeeded, checks no leftovers, and returns its stdout.
#[track_caller]
pub fn run_script(rt: &Runtime, bundle: &mut Bundle, script: &str) -> String {
    bundle.sh(script);
    let id = rt.new_id();
    let out = rt.run(bundle, &id);
    assert_success(&out, &format!("run {script:?}"));
    assert_no_leftovers(rt, &id, bundle);
    stdout(&out)
}

/// Makes a file in the bundle's rootfs (parents created).
pub fn write_rootfs_file(bundle: &Bundle, rel: &str, content: &str) {
    let p = bundle.rootfs().join(rel.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut f = fs::File::create(&p).unwrap();
    f.write_all(content.as_bytes()).unwrap();
}

/// True when `path` is a character device.
pub fn is_char_device(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false)
}

/// A tmpfs mounted on the host for a test, unmounted on drop (also on panic).
pub struct HostTmpfs(pub PathBuf);

impl HostTmpfs {
    pub fn mount(at: &Path) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                "size=1m",
                "jinn-test",
                at.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs on {}", at.display());
        HostTmpfs(at.to_path_buf())
    }
}

impl Drop for HostTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-l", self.0.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}
