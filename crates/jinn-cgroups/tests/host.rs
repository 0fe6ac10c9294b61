//! Tests against the real cgroup filesystems of this host (run as root).
//! Each test uses its own cgroup path and a guard that removes it even when
//! the test panics. Tests that need v1 files skip themselves on a pure v2
//! host; pure-logic v2 behaviour is covered by the unit tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jinn_cgroups::{detect, Cgroup, CgroupError, Layout};
use oci_spec::runtime::LinuxResources;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or test run) uses.
fn unique(tag: &str) -> String {
    format!(
        "jinn-test-{}-{}-{tag}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `None` (and a note on stderr) when this host cannot run the test.
fn v1_host() -> Option<Layout> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return None;
    }
    match detect().unwrap() {
        Layout::V2 => {
            eprintln!("skipped: needs cgroup v1 or hybrid");
            None
        }
        layout => Some(layout),
    }
}

/// Removes the cgroup when dropped, even on panic.
struct Guard(Cgroup);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.thaw();
        let _ = self.0.kill_all(libc::SIGKILL);
        if let Err(e) = self.0.destroy() {
            eprintln!("cleanup of {}: {e}", self.0.path());
        }
    }
}

impl std::ops::Deref for Guard {
    type Target = Cgroup;
    fn deref(&self) -> &Cgroup {
        &self.0
    }
}

fn created(path: &str) -> Guard {
    let cg = Cgroup::new(Some(path), "unused").unwrap();
    let guard = Guard(cg);
    guard.create().unwrap();
    guard
}

/// A `sleep` child that is killed and reaped when dropped.
struct Sleeper(Child);

impl Sleeper {
    fn spawn() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("1000")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
    /// The signal that ended it, waiting up to 5 s.
    fn wait_signal(&mut self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.signal();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("pid {} did not exit", self.pid());
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_owned()
}

fn resources(json: serde_json::Value) -> LinuxResources {
    serde_json::from_value(json).unwrap()
}

/// Mount points of every cgroup v1 hierarchy and of the cgroup2 tree.
fn cgroup_mounts() -> (Vec<PathBuf>, Option<PathBuf>) {
    let mut v1 = Vec::new();
    let mut v2 = None;
    for line in read("/proc/self/mountinfo").lines() {
        let (pre, post) = line.split_once(" - ").unwrap();
        let mountpoint = PathBuf::from(pre.split(' ').nth(4).unwrap());
        match post.split(' ').next() {
            Some("cgroup") => v1.push(mountpoint),
            Some("cgroup2") => v2 = Some(mountpoint),
            _ => {}
        }
    }
    (v1, v2)
}

/// The path of `pid` in each hierarchy, keyed by the controllers field.
fn proc_cgroup(pid: i32) -> Vec<(String, String)> {
    read(format!("/proc/{pid}/cgroup"))
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, ':').skip(1);
            (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn detect_matches_this_host() {
    let root_v2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false);
    let (v1, v2) = cgroup_mounts();
    let expected = if root_v2 {
        Layout::V2
    } else if v2.is_some() && !v1.is_empty() {
        Layout::Hybrid
    } else {
        Layout::V1
    };
    assert_eq!(detect().unwrap(), expected);
    // The development host this crate is built on is hybrid.
    if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() && !root_v2 {
        assert_eq!(detect().unwrap(), Layout::Hybrid);
    }
}

#[test]
fn create_makes_a_dir_in_every_hierarchy() {
    let Some(layout) = v1_host() else { return };
    let name = format!("/{}", unique("create"));
    let cg = created(&name);
    let (v1, v2) = cgroup_mounts();
    let dirs: Vec<&Path> = cg.dirs().collect();
    for mountpoint in &v1 {
        let dir = mountpoint.join(name.trim_start_matches('/'));
        assert!(dir.is_dir(), "{} missing", dir.display());
        assert!(dirs.contains(&dir.as_path()));
    }
    assert!(cg.v1_dir("name=systemd").is_some() || !Path::new("/sys/fs/cgroup/systemd").exists());
    if layout == Layout::Hybrid {
        let unified = v2.unwrap().join(name.trim_start_matches('/'));
        assert!(unified.is_dir());
        assert_eq!(cg.v2_dir(), Some(unified.as_path()));
        assert_eq!(dirs.len(), v1.len() + 1);
    }
    // The cpuset sets were inherited, so the cgroup can take tasks.
    let cpuset = cg.v1_dir("cpuset").unwrap();
    assert!(!read(cpuset.join("cpuset.cpus")).is_empty());
    assert!(!read(cpuset.join("cpuset.mems")).is_empty());
}

#[test]
fn add_pid_moves_a_child_into_every_hierarchy_and_pids_lists_it() {
    let Some(_) = v1_host() else { return };
    let name = format!("/{}", unique("addpid"));
    let cg = created(&name);
    let first = Sleeper::spawn();
    let second = Sleeper::spawn();
    cg.add_pid(first.pid()).unwrap();
    cg.add_pid(second.pid()).unwrap();
    let lines = proc_cgroup(first.pid());
    assert!(lines.len() >= cg.dirs().count());
    for (controllers, path) in &lines {
        let mounted =
            controllers.is_empty() || controllers.split(',').all(|c| cg.v1_dir(c).is_some());
        if mounted {
            assert_eq!(path, &name, "hierarchy {controllers:?}");
        }
    }
    let mut pids = cg.pids().unwrap();
    pids.sort();
    let mut expected = vec![first.pid(), second.pid()];
    expected.sort();
    assert_eq!(pids, expected);
}

#[test]
fn apply_memory_limit_and_swap() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("memory")));
    let dir = cg.v1_dir("memory").unwrap();
    cg.apply(&resources(serde_json::json!({
        "memory": { "limit": 64 << 20, "swap": 128 << 20 }
    })))
    .unwrap();
    assert_eq!(
        read(dir.join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    if memsw.exists() {
        assert_eq!(read(&memsw), (128u64 << 20).to_string());
        // Raising both needs memory+swap first: the order must adapt.
        cg.apply(&resources(serde_json::json!({
            "memory": { "limit": 512 << 20, "swap": 1024 << 20 }
        })))
        .unwrap();
        assert_eq!(
            read(dir.join("memory.limit_in_bytes")),
            (512u64 << 20).to_string()
        );
        assert_eq!(read(&memsw), (1024u64 << 20).to_string());
        // And lowering both needs memory first.
        cg.apply(&resources(serde_json::json!({
            "memory": { "limit": 32 << 20, "swap": 48 << 20 }
        })))
        .unwrap();
        assert_eq!(
            read(dir.join("memory.limit_in_bytes")),
            (32u64 << 20).to_string()
        );
        assert_eq!(read(&memsw), (48u64 << 20).to_string());
    }
}

#[test]
fn apply_cpu_shares_quota_period() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("cpu")));
    cg.apply(&resources(serde_json::json!({
        "cpu": { "shares": 512, "quota": 50000, "period": 200000 }
    })))
    .unwrap();
    let dir = cg.v1_dir("cpu").unwrap();
    assert_eq!(read(dir.join("cpu.shares")), "512");
    assert_eq!(read(dir.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(dir.join("cpu.cfs_period_us")), "200000");
}

#[test]
fn a_value_the_kernel_refuses_names_the_field_file_and_os_error() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("einval")));
    // The kernel's minimum CFS quota is 1000 µs.
    let err = cg
        .apply(&resources(serde_json::json!({ "cpu": { "quota": 10 } })))
        .unwrap_err();
    let file = cg.v1_dir("cpu").unwrap().join("cpu.cfs_quota_us");
    assert_eq!(
        err.to_string(),
        format!(
            "linux.resources.cpu.quota: write \"10\" to {}: invalid argument (os error 22)",
            file.display()
        )
    );
}

#[test]
fn apply_cpuset_and_pids_limit() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("pids")));
    cg.apply(&resources(serde_json::json!({
        "cpu": { "cpus": "0", "mems": "0" },
        "pids": { "limit": 42 }
    })))
    .unwrap();
    assert_eq!(read(cg.v1_dir("pids").unwrap().join("pids.max")), "42");
    assert_eq!(read(cg.v1_dir("cpuset").unwrap().join("cpuset.cpus")), "0");
    assert_eq!(read(cg.v1_dir("cpuset").unwrap().join("cpuset.mems")), "0");
    cg.apply(&resources(serde_json::json!({ "pids": { "limit": -1 } })))
        .unwrap();
    assert_eq!(read(cg.v1_dir("pids").unwrap().join("pids.max")), "max");
}

#[test]
fn apply_v1_device_rules_in_order() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("devices")));
    cg.apply(&resources(serde_json::json!({
        "devices": [
            { "allow": false, "access": "rwm" },
            { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm" },
            { "allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm" },
            { "allow": false, "type": "c", "major": 1, "minor": 5, "access": "w" },
            { "allow": true, "type": "c", "major": 136, "access": "rwm" }
        ]
    })))
    .unwrap();
    let list = read(cg.v1_dir("devices").unwrap().join("devices.list"));
    let mut lines: Vec<&str> = list.lines().collect();
    lines.sort();
    assert_eq!(lines, ["c 136:* rwm", "c 1:3 rwm", "c 1:5 rm"]);
}

#[test]
fn freeze_and_thaw_a_child() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("freezer")));
    let child = Sleeper::spawn();
    cg.add_pid(child.pid()).unwrap();
    let state = || {
        let stat = read(format!("/proc/{}/stat", child.pid()));
        // The state follows "(comm) ".
        stat.rsplit_once(") ").unwrap().1.chars().next().unwrap()
    };
    assert!(!cg.is_frozen().unwrap());
    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    assert_eq!(
        read(cg.v1_dir("freezer").unwrap().join("freezer.state")),
        "FROZEN"
    );
    // A frozen task sleeps uninterruptibly.
    assert_eq!(state(), 'D');
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());
    // Thawed, it runs briefly and goes back to sleep.
    let start = Instant::now();
    while state() != 'S' && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(state(), 'S');
}

#[test]
fn kill_all_with_sigkill_and_with_sigterm() {
    let Some(_) = v1_host() else { return };
    let cg = created(&format!("/{}", unique("kill")));
    let mut a = Sleeper::spawn();
    let mut b = Sleeper::spawn();
    cg.add_pid(a.pid()).unwrap();
    cg.add_pid(b.pid()).unwrap();
    cg.kill_all(libc::SIGKILL).unwrap();
    assert_eq!(a.wait_signal(), Some(libc::SIGKILL));
    assert_eq!(b.wait_signal(), Some(libc::SIGKILL));

    // Other signals go pid by pid (and so does SIGKILL without cgroup.kill).
    let mut c = Sleeper::spawn();
    cg.add_pid(c.pid()).unwrap();
    cg.kill_all(libc::SIGTERM).unwrap();
    assert_eq!(c.wait_signal(), Some(libc::SIGTERM));
    // Nothing left: killing an empty cgroup is fine.
    cg.kill_all(libc::SIGTERM).unwrap();
}

#[test]
fn destroy_removes_the_leaf_and_keeps_an_existing_parent() {
    let Some(_) = v1_host() else { return };
    let parent_name = format!("/{}", unique("parent"));
    let parent = created(&parent_name);
    let leaf = Cgroup::new(Some(&format!("{parent_name}/leaf")), "x").unwrap();
    let leaf = Guard(leaf);
    leaf.create().unwrap();
    let child = Sleeper::spawn();
    leaf.add_pid(child.pid()).unwrap();
    drop(child); // killed and reaped: destroy may still see it exiting
    leaf.destroy().unwrap();
    for dir in leaf.dirs() {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
    for dir in parent.dirs() {
        assert!(dir.is_dir(), "{} was removed", dir.display());
    }
    // Idempotent.
    leaf.destroy().unwrap();
}

#[test]
fn destroy_from_saved_state_removes_the_parents_create_made() {
    let Some(_) = v1_host() else { return };
    let top = unique("nested");
    let cg = created(&format!("/{top}/a/b"));
    // The runtime stores the cgroup in its state and deletes from a later process.
    let json = serde_json::to_string(&cg.0).unwrap();
    let restored: Cgroup = serde_json::from_str(&json).unwrap();
    restored.destroy().unwrap();
    let (v1, _) = cgroup_mounts();
    for mountpoint in v1 {
        assert!(
            !mountpoint.join(&top).exists(),
            "{}/{top} left behind",
            mountpoint.display()
        );
    }
}

#[test]
fn relative_and_default_paths_follow_the_runtime_cgroup_like_runc() {
    let Some(layout) = v1_host() else { return };
    let own = proc_cgroup(std::process::id() as i32);
    let own_memory = &own
        .iter()
        .find(|(c, _)| c.split(',').any(|c| c == "memory"))
        .unwrap()
        .1;

    let rel = unique("rel");
    let cg = Cgroup::new(Some(&format!("{rel}/inner")), "x").unwrap();
    assert_eq!(cg.path(), format!("{rel}/inner"));
    let expected = Path::new("/sys/fs/cgroup/memory")
        .join(own_memory.trim_start_matches('/'))
        .join(&rel)
        .join("inner");
    assert_eq!(cg.v1_dir("memory").unwrap(), expected);
    if layout == Layout::Hybrid {
        // runc puts the hybrid cgroup2 directory at <mount>/<path>.
        assert_eq!(
            cg.v2_dir().unwrap(),
            Path::new("/sys/fs/cgroup/unified").join(&rel).join("inner")
        );
    }
    let cg = Guard(cg);
    cg.create().unwrap();
    let child = Sleeper::spawn();
    cg.add_pid(child.pid()).unwrap();
    let memory_line = proc_cgroup(child.pid())
        .into_iter()
        .find(|(c, _)| c == "memory")
        .unwrap();
    let own_memory = own_memory.trim_end_matches('/');
    assert_eq!(memory_line.1, format!("{own_memory}/{rel}/inner"));
    drop(child);

    // No cgroupsPath: the relative path <id>, as runc does.
    let id = unique("default");
    let cg = Cgroup::new(None, &id).unwrap();
    assert_eq!(cg.path(), id);
    assert!(cg.v1_dir("memory").unwrap().ends_with(&id));
    assert_eq!(
        cg.v1_dir("cpu").unwrap(),
        Path::new("/sys/fs/cgroup/cpu")
            .join(own_path(&own, "cpu"))
            .join(&id)
    );

    // Absolute: under each mount point, whatever our own cgroup is.
    let abs = unique("abs");
    let cg = Cgroup::new(Some(&format!("/{abs}")), "x").unwrap();
    assert_eq!(
        cg.v1_dir("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory").join(&abs)
    );
}

fn own_path(own: &[(String, String)], controller: &str) -> String {
    own.iter()
        .find(|(c, _)| c.split(',').any(|c| c == controller))
        .map(|(_, p)| p.trim_start_matches('/').to_owned())
        .unwrap()
}

#[test]
fn dotdot_escapes_and_systemd_paths_are_rejected() {
    for bad in ["/../etc", "/a/../../b", "../x", "a/../../x"] {
        let err = Cgroup::new(Some(bad), "x").unwrap_err();
        assert!(
            matches!(err, CgroupError::InvalidPath { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().starts_with("linux.cgroupsPath"), "{err}");
    }
    let err = Cgroup::new(Some("system.slice:jinn:x"), "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "linux.cgroupsPath \"system.slice:jinn:x\": a systemd cgroup path (slice:prefix:name) needs --systemd-cgroup"
    );
    // Harmless `..` inside the path is resolved, not rejected.
    let cg = Cgroup::new(Some("/a/x/../b"), "x").unwrap();
    assert_eq!(cg.path(), "/a/b");
}
