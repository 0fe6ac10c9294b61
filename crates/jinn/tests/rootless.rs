//! Rootless: jinn run by an unprivileged user (a uid with no passwd entry, so the host's
//! user database is untouched), with `jinn spec --rootless` unchanged but for the
//! command: a user namespace mapping that uid to root, no cgroup, state under
//! $XDG_RUNTIME_DIR/jinn, no root privileges on the host, and nothing left behind.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test rootless`.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

const UID: u32 = 54_321;

/// A rootless user's world: a bundle and an XDG_RUNTIME_DIR it owns, and the ids of the
/// containers it made (deleted with --force on drop, also when a test fails).
struct User {
    dir: tempfile::TempDir,
    ids: std::cell::RefCell<Vec<String>>,
    runtime: PathBuf,
}

impl User {
    fn new() -> User {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("xdg")).unwrap();
        make_busybox_rootfs(&dir.path().join("bundle/rootfs"));
        chown_tree(dir.path());
        User {
            dir,
            ids: Default::default(),
            runtime: PathBuf::new(),
        }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    fn xdg(&self) -> PathBuf {
        self.dir.path().join("xdg")
    }

    /// The runtime as the user (no --root: the rootless default). Output goes to files,
    /// not pipes: a created container keeps the stdio of `create`.
    fn rt(&self, rt: &Runtime, args: &[&str]) -> Output {
        if let Some(pos) = args.iter().position(|a| *a == "create" || *a == "run") {
            if let Some(id) = args.last().filter(|_| pos + 1 < args.len()) {
                self.ids.borrow_mut().push(id.to_string());
            }
        }
        let out_path = self.dir.path().join("out");
        let err_path = self.dir.path().join("err");
        let status = Command::new("setpriv")
            .args([
                &format!("--reuid={UID}"),
                &format!("--regid={UID}"),
                "--clear-groups",
                "--",
            ])
            .arg(rt.path())
            .args(args)
            .env("XDG_RUNTIME_DIR", self.xdg())
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("HOME", self.dir.path())
            .current_dir(self.bundle())
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&out_path).unwrap_or_default(),
            stderr: std::fs::read(&err_path).unwrap_or_default(),
        }
    }

    fn remember_runtime(mut self, rt: &Runtime) -> Self {
        self.runtime = rt.path().to_path_buf();
        self
    }
}

impl Drop for User {
    fn drop(&mut self) {
        // Whatever a failed test left: delete its containers (as the user).
        for id in self.ids.borrow().iter() {
            let _ = Command::new("setpriv")
                .args([
                    &format!("--reuid={UID}"),
                    &format!("--regid={UID}"),
                    "--clear-groups",
                    "--",
                ])
                .arg(&self.runtime)
                .args(["delete", "--force", id])
                .env("XDG_RUNTIME_DIR", self.xdg())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn chown_tree(p: &Path) {
    let ok = Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(p)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// `spec --rootless` as the user, with `args` as the process.
fn spec(u: &User, rt: &Runtime, args: &[&str]) {
    assert_success(&u.rt(rt, &["spec", "--rootless"]), "spec --rootless");
    let path = u.bundle().join("config.json");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    c["process"]["terminal"] = false.into();
    c["process"]["args"] = serde_json::json!(args);
    std::fs::write(&path, c.to_string()).unwrap();
}

#[test]
fn a_rootless_container_runs_as_the_users_id() {
    let rt = Runtime::new();
    let u = User::new().remember_runtime(&rt);
    spec(&u, &rt, &["sh", "-c", "id -u; cat /proc/self/uid_map"]);
    let out = u.rt(&rt, &["run", "rl-run"]);
    assert_success(&out, "rootless run");
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"));
    let map: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", &UID.to_string(), "1"]);
    let state_dir = u.xdg().join(if rt.is_runc() { "runc" } else { "jinn" });
    assert!(
        std::fs::read_dir(&state_dir)
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no container left in {}",
        state_dir.display()
    );
}

#[test]
fn a_rootless_lifecycle_leaves_nothing_and_runs_unprivileged_on_the_host() {
    let rt = Runtime::new();
    let u = User::new().remember_runtime(&rt);
    spec(&u, &rt, &["sleep", "100"]);
    let id = "rl-life";
    assert_success(&u.rt(&rt, &["create", id]), "rootless create");
    assert_success(&u.rt(&rt, &["start", id]), "rootless start");
    let state: serde_json::Value =
        serde_json::from_slice(&u.rt(&rt, &["state", id]).stdout).unwrap();
    assert_eq!(state["status"], "running");
    let pid = state["pid"].as_i64().unwrap();
    let meta = std::fs::metadata(format!("/proc/{pid}")).unwrap();
    assert_eq!(
        meta.uid(),
        UID,
        "the container's process belongs to the user on the host"
    );
    // Real, effective, saved and filesystem uid are all the user's on the host (its
    // capabilities count only inside its own user namespace).
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids: Vec<&str> = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    let user = UID.to_string();
    assert_eq!(uids, vec![user.as_str(); 4], "{status}");
    assert_success(&u.rt(&rt, &["kill", id, "KILL"]), "rootless kill");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s: serde_json::Value =
            serde_json::from_slice(&u.rt(&rt, &["state", id]).stdout).unwrap();
        if s["status"] == "stopped" {
            break;
        }
        assert!(Instant::now() < deadline, "still {}", s["status"]);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_success(&u.rt(&rt, &["delete", id]), "rootless delete");
    assert!(
        !u.rt(&rt, &["state", id]).status.success(),
        "state after delete fails"
    );
    assert!(
        !cgroup_dir_exists(id),
        "a rootless container without a delegated cgroup leaves no cgroup"
    );
}

/// Rootless `--systemd-cgroup` talks to the user's systemd instance; where none runs (no
/// socket under the user's XDG_RUNTIME_DIR, as here), one line naming what was tried,
/// and nothing left behind. (With a user manager: tests/systemd_user.rs, in the VM.)
#[test]
fn rootless_systemd_cgroup_without_a_user_manager_is_a_clear_error() {
    let rt = Runtime::new();
    let u = User::new().remember_runtime(&rt);
    spec(&u, &rt, &["true"]);
    let out = u.rt(&rt, &["--systemd-cgroup", "run", "rl-sd"]);
    assert_failure(&out, "rootless run --systemd-cgroup without a user manager");
    if rt.is_jinn() {
        let xdg = u.xdg();
        let private = format!("{}/systemd/private: no such file", xdg.display());
        let bus = format!("{}/bus: no such file", xdg.display());
        assert_one_error_line(
            &out,
            &[
                "--systemd-cgroup: cannot connect to systemd: the user's systemd instance: ",
                &private,
                &bus,
            ],
        );
    }
    let state_dir = u.xdg().join(if rt.is_runc() { "runc" } else { "jinn" });
    assert!(
        std::fs::read_dir(&state_dir)
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no container left in {}",
        state_dir.display()
    );
}

fn cgroup_dir_exists(id: &str) -> bool {
    [
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup",
    ]
    .iter()
    .any(|base| Path::new(base).join(id).exists())
}

/// CVE-2019-5736 for a rootless user who owns the runtime binary (say ~/bin/jinn): the
/// container's root is that user on the host, so a container process that got hold of
/// the binary through `/proc/PID/exe` of the container's init before its execve could
/// overwrite it, and the user's next run of the runtime would run the attacker's code
/// outside the container.
///
/// The test holds `/proc/PID/exe` of the created (not started) container's init, which
/// is still the runtime binary, deletes the container, and then, as the user, opens the
/// held file for writing and writes to it. The runtime binary must keep its bytes: the
/// held file is a sealed copy or a read-only view, not the binary. Able to fail: an init
/// run straight from the user's binary gets the binary overwritten.
#[test]
fn cve_2019_5736_a_user_owned_runtime_binary_cannot_be_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let rt = Runtime::with_copied_binary();
    let bin = rt.path().to_path_buf();
    for dir in bin.ancestors().skip(1).take(2) {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let ok = Command::new("chown")
        .arg(format!("{UID}:{UID}"))
        .arg(&bin)
        .status()
        .unwrap();
    assert!(ok.success());
    let before = std::fs::read(&bin).unwrap();
    let u = User::new().remember_runtime(&rt);
    spec(&u, &rt, &["sleep", "100"]);
    let id = "rl-5736";
    assert_success(&u.rt(&rt, &["create", id]), "rootless create");
    let state: serde_json::Value =
        serde_json::from_slice(&u.rt(&rt, &["state", id]).stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap();
    let held = nix::fcntl::open(
        format!("/proc/{pid}/exe").as_str(),
        nix::fcntl::OFlag::O_PATH,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open /proc/PID/exe of the created container's init");
    eprintln!(
        "the created container's init runs from {:?}",
        std::fs::read_link(format!("/proc/{pid}/exe"))
    );
    assert_success(&u.rt(&rt, &["delete", "--force", id]), "delete --force");
    // As the user (the container's root on the host): write through the held file.
    let attack = Command::new("setpriv")
        .args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
            "--",
            "sh",
            "-c",
            &format!("printf EVIL 1<> /proc/self/fd/{held}"),
        ])
        .output()
        .unwrap();
    eprintln!("the write through the held exe: {:?}", attack.status);
    let _ = nix::unistd::close(held);
    let after = std::fs::read(&bin).unwrap();
    if after != before {
        std::fs::write(&bin, &before).unwrap();
        panic!("a write through /proc/PID/exe of the rootless init changed the runtime binary");
    }
}
