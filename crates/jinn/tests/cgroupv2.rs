//! Cgroup v2 behaviour: where the container's cgroup lands for each form of
//! `linux.cgroupsPath`, the v2 interface files `linux.resources` writes
//! (`memory.max`, `memory.swap.max`, `pids.max`, `cpu.weight`, `cpu.max`), the
//! `cgroup` mount inside the container, `kill --all`, and the removal of the
//! cgroup by `delete`, `run` and a failed `create`.
//!
//! These tests need a pure cgroup v2 host (`/sys/fs/cgroup` is a cgroup2 mount).
//! Elsewhere each test returns early after printing "skipped: not a pure cgroup
//! v2 host". `scripts/test-cgroupv2.sh` (`make test-cgroupv2`) runs them in a
//! throw-away pure-v2 VM with `JINN_CGROUPV2_VM=1`, which makes a non-v2 host a
//! failure instead of a skip.
//!
//! Paths are computed the way runc's cgroupfs driver does: absolute
//! `cgroupsPath` below `/sys/fs/cgroup`; relative, and absent (the relative path
//! `<id>`), below the *parent* of the runtime's own cgroup (its own cgroup holds
//! processes, so it cannot enable controllers for a child). The runtime inherits
//! the test's cgroup, so the expected directory is computed from
//! `/proc/self/cgroup` of the test process.
//!
//! Against runc: `JINN_RUNTIME=/usr/sbin/runc scripts/test-cgroupv2.sh` (or
//! `V2_RUNTIMES="jinn runc"`).

mod common;

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::cgroupfs::*;
use common::*;
use serde_json::{json, Value};

/// True on a pure cgroup v2 host. With `JINN_CGROUPV2_VM=1` a host that is not
/// pure v2 is a test failure, so a broken VM setup cannot pass as "skipped".
fn pure_v2() -> bool {
    let is_v2 = nix::sys::statfs::statfs(CGROUP_ROOT)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false);
    if std::env::var("JINN_CGROUPV2_VM").as_deref() == Ok("1") {
        assert!(
            is_v2,
            "JINN_CGROUPV2_VM=1 but {CGROUP_ROOT} is not a cgroup2 mount (not a pure v2 host)"
        );
    }
    is_v2
}

macro_rules! require_v2 {
    () => {
        if !pure_v2() {
            eprintln!("skipped: not a pure cgroup v2 host");
            return;
        }
    };
}

/// This process's cgroup, `/` or `/a/b`, from the `0::` line of /proc/self/cgroup.
fn own_cgroup() -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("no 0:: line in /proc/self/cgroup: {text:?}"))
        .to_string()
}

/// Where a relative cgroups path `rel` lands: below the parent of the runtime's
/// own cgroup (runc's `_defaultDirPath`). Returns the cgroup path, `/…`.
fn relative_cgroup(rel: &str) -> String {
    let own = own_cgroup();
    let parent = match own.trim_end_matches('/').rsplit_once('/') {
        Some((p, _)) => p.to_string(),
        None => String::new(),
    };
    format!("{parent}/{rel}")
}

#[track_caller]
fn assert_gone(dir: &Path, what: &str) {
    // A runtime may return before the last process is reaped; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while dir.exists() && Instant::now() < deadline {
        sleep(Duration::from_millis(20));
    }
    assert!(
        !dir.exists(),
        "{what}: cgroup {} still exists (cgroup.procs: {:?})",
        dir.display(),
        procs(dir)
    );
}

/// A parent directory the runtime had to create for a nested cgroups path. jinn
/// removes the parents it made when they are empty; runc 1.1 leaves them. Either
/// way it is removed here so `assert_no_leftovers` (which looks for the id in
/// every cgroup name) sees only what matters.
#[track_caller]
fn check_and_remove_parent(rt: &Runtime, parent: &Path) {
    if rt.is_jinn() {
        assert!(
            !parent.exists(),
            "jinn made the parent cgroup {} and must remove it when it is empty",
            parent.display()
        );
    }
    let _ = fs::remove_dir(parent);
}

/// The pid of the container's init, from `state`.
#[track_caller]
fn init_pid(rt: &Runtime, id: &str) -> i32 {
    let st = rt.state(id).unwrap_or_else(|| panic!("state {id} failed"));
    st["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("state has no pid: {st}")) as i32
}

/// `0::/path` of a host process, from its /proc/<pid>/cgroup.
fn proc_cgroup(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------
// Where the cgroup is
// ---------------------------------------------------------------------------

/// No `cgroupsPath`: runc's default is the relative path `<id>`. While `run` runs,
/// the process is in that cgroup (seen from inside and from the host); `run`
/// returns the process's exit code and removes the cgroup.
#[test]
fn run_without_cgroups_path_uses_the_relative_path_id() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("cat /proc/self/cgroup > /tmp/cgroup; touch /tmp/ready; \
         while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 3");
    if let Some(Value::Object(linux)) = b.config.pointer_mut("/linux") {
        linux.remove("cgroupsPath");
    }
    let id = rt.new_id();
    b.save();
    rt.track(&id);
    let running = rt.spawn(&["run", "--bundle", b.path_str(), &id]);

    let tmp = b.rootfs().join("tmp");
    wait_for("the container to start", || tmp.join("ready").exists());
    let expected = relative_cgroup(&id);
    let inside = fs::read_to_string(tmp.join("cgroup")).unwrap();
    assert_eq!(
        inside,
        format!("0::{expected}\n"),
        "/proc/self/cgroup inside the container"
    );
    let dir = cg_dir(&expected);
    assert!(
        dir.is_dir(),
        "{} does not exist while the container runs",
        dir.display()
    );
    let pids = procs(&dir);
    assert!(!pids.is_empty(), "{}/cgroup.procs is empty", dir.display());
    for pid in &pids {
        assert_eq!(
            proc_cgroup(*pid),
            format!("0::{expected}"),
            "/proc/{pid}/cgroup"
        );
    }
    // Nothing else of the container is outside it: init (the pid `state` shows).
    let pid = init_pid(&rt, &id);
    assert!(pids.contains(&pid), "init {pid} is not in {pids:?}");

    fs::write(tmp.join("go"), "").unwrap();
    let out = running.wait(WAIT);
    assert_exit(&out, 3, "run (exit 3)");
    assert_gone(&dir, "after run");
    assert_no_leftovers(&rt, &id, &b);
}

/// An absolute `cgroupsPath` is below /sys/fs/cgroup, wherever the runtime is;
/// intermediate levels are created. Checked through create/start/delete.
#[test]
fn absolute_cgroups_path_create_start_delete() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("cat /proc/self/cgroup > /tmp/cgroup; touch /tmp/done");
    let id = rt.new_id();
    let parent = format!("/jinn-v2-{id}");
    let cgroup = format!("{parent}/abs");
    b.set("/linux/cgroupsPath", cgroup.as_str().into());
    assert_success(&rt.create(&b, &id), "create");

    let dir = cg_dir(&cgroup);
    assert!(
        dir.is_dir(),
        "{} does not exist after create",
        dir.display()
    );
    let pid = init_pid(&rt, &id);
    assert_eq!(procs(&dir), [pid], "cgroup.procs of a created container");
    assert_eq!(
        proc_cgroup(pid),
        format!("0::{cgroup}"),
        "/proc/<init>/cgroup"
    );

    assert_success(&rt.start(&id), "start");
    let tmp = b.rootfs().join("tmp");
    wait_for("the container's output", || tmp.join("done").exists());
    assert_eq!(
        fs::read_to_string(tmp.join("cgroup")).unwrap(),
        format!("0::{cgroup}\n"),
        "/proc/self/cgroup inside the container"
    );
    rt.wait_status(&id, "stopped", WAIT);
    assert!(
        dir.is_dir(),
        "the cgroup of a stopped container stays until delete"
    );
    assert_success(&rt.delete(&id), "delete");
    assert_gone(&dir, "after delete");
    check_and_remove_parent(&rt, &cg_dir(&parent));
    assert_no_leftovers(&rt, &id, &b);
}

/// A relative `cgroupsPath` is below the parent of the runtime's own cgroup.
#[test]
fn relative_cgroups_path_is_below_the_parent_of_the_runtime_cgroup() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let id = rt.new_id();
    let rel_parent = format!("jinn-v2-{id}");
    let rel = format!("{rel_parent}/rel");
    b.set("/linux/cgroupsPath", rel.as_str().into())
        .sh("cat /proc/self/cgroup");
    let out = rt.run(&b, &id);
    assert_success(&out, "run");
    let expected = relative_cgroup(&rel);
    assert_eq!(
        stdout(&out),
        format!("0::{expected}\n"),
        "/proc/self/cgroup inside the container"
    );
    assert_gone(&cg_dir(&expected), "after run");
    check_and_remove_parent(&rt, &cg_dir(&relative_cgroup(&rel_parent)));
    assert_no_leftovers(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// linux.resources in the v2 files
// ---------------------------------------------------------------------------

/// Creates a container with `resources` at the absolute path `/jinn-v2-<id>/c`
/// (a nested path: the runtime must enable the controllers in the level it
/// creates), calls `check` with the cgroup directory, then deletes it.
fn with_resources(resources: Value, check: impl FnOnce(&Path)) {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["sleep", "1000"]);
    let id = rt.new_id();
    let parent = format!("/jinn-v2-{id}");
    let cgroup = format!("{parent}/c");
    b.set("/linux/cgroupsPath", cgroup.as_str().into());
    for (k, v) in resources.as_object().unwrap() {
        b.set(&format!("/linux/resources/{k}"), v.clone());
    }
    assert_success(&rt.create(&b, &id), "create");
    let dir = cg_dir(&cgroup);
    check(&dir);
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_gone(&dir, "after delete");
    check_and_remove_parent(&rt, &cg_dir(&parent));
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn memory_limit_and_swap_in_memory_max_and_memory_swap_max() {
    require_v2!();
    let limit: i64 = 64 << 20;
    let swap: i64 = 96 << 20; // OCI swap is memory+swap
    with_resources(json!({"memory": {"limit": limit, "swap": swap}}), |dir| {
        assert_eq!(read_cg(dir, "memory.max"), limit.to_string(), "memory.max");
        // memory.swap.max exists when the kernel accounts swap.
        if dir.join("memory.swap.max").exists() {
            assert_eq!(
                read_cg(dir, "memory.swap.max"),
                (swap - limit).to_string(),
                "memory.swap.max is swap alone (OCI swap - limit)"
            );
        }
    });
}

#[test]
fn pids_limit_in_pids_max() {
    require_v2!();
    with_resources(json!({"pids": {"limit": 42}}), |dir| {
        assert_eq!(read_cg(dir, "pids.max"), "42", "pids.max");
    });
}

#[test]
fn cpu_shares_and_quota_in_cpu_weight_and_cpu_max() {
    require_v2!();
    with_resources(
        json!({"cpu": {"shares": 2048, "quota": 30000, "period": 200000}}),
        |dir| {
            // runc's conversion: 1 + ((shares - 2) * 9999) / 262142
            assert_eq!(
                read_cg(dir, "cpu.weight"),
                "79",
                "cpu.weight for shares 2048"
            );
            assert_eq!(read_cg(dir, "cpu.max"), "30000 200000", "cpu.max");
        },
    );
}

// ---------------------------------------------------------------------------
// The cgroup mount inside the container
// ---------------------------------------------------------------------------

const MOUNT_SCRIPT: &str = "echo @@self; cat /proc/self/cgroup; \
    echo @@mountinfo; cat /proc/self/mountinfo; \
    echo @@pids; cat /sys/fs/cgroup/pids.max; \
    echo @@procs; cat /sys/fs/cgroup/cgroup.procs; \
    echo @@mkdir; mkdir /sys/fs/cgroup/jinn-sub 2>&1; echo rc=$?";

fn mount_bundle(cgroupns: bool) -> Bundle {
    let mut b = Bundle::new();
    // The template's `cgroup` mount at /sys/fs/cgroup, read-only.
    b.set("/linux/resources/pids", json!({"limit": 77}));
    if cgroupns {
        b.add_namespace("cgroup");
    }
    b
}

#[track_caller]
fn assert_readonly_cgroup2(sec: &std::collections::BTreeMap<String, String>) -> MountInfo {
    let mounts = parse_mountinfo(&sec["mountinfo"]);
    let m = mount_at(&mounts, "/sys/fs/cgroup").clone();
    assert_eq!(m.fstype, "cgroup2", "the cgroup mount on a v2 host: {m:?}");
    assert!(m.has("ro"), "the cgroup mount is read-only: {m:?}");
    let mkdir = &sec["mkdir"];
    assert!(
        !mkdir.contains("rc=0"),
        "mkdir in the read-only cgroup mount succeeded: {mkdir}"
    );
    assert!(
        mkdir.contains("Read-only file system"),
        "mkdir in the cgroup mount: {mkdir}"
    );
    m
}

/// With a cgroup namespace the container's cgroup is its root: /proc/self/cgroup
/// shows `0::/`, and the cgroup2 mount shows the container's own cgroup.
#[test]
fn cgroup_mount_with_cgroup_namespace_shows_the_container_cgroup() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = mount_bundle(true);
    let sec = sections(&run_script(&rt, &mut b, MOUNT_SCRIPT));
    assert_eq!(
        sec["self"], "0::/\n",
        "/proc/self/cgroup in a cgroup namespace"
    );
    let m = assert_readonly_cgroup2(&sec);
    assert_eq!(
        m.root, "/",
        "mount root, relative to the cgroup namespace: {m:?}"
    );
    // Interface files of a non-root cgroup, with the container's values.
    assert_eq!(sec["pids"], "77\n", "pids.max seen through the mount");
    let procs: Vec<&str> = sec["procs"].split_whitespace().collect();
    assert!(
        procs.contains(&"1"),
        "cgroup.procs of the mount lists the container's init (pid 1): {procs:?}"
    );
}

/// Without a cgroup namespace the mount is still cgroup2 and read-only. jinn
/// bind-mounts the container's own cgroup directory there. runc 1.1 mounts a
/// new cgroup2 instance, which without a cgroup namespace shows the whole host
/// hierarchy, so the content check is jinn-only.
#[test]
fn cgroup_mount_without_cgroup_namespace_is_readonly_cgroup2() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = mount_bundle(false);
    let id_hint = own_cgroup();
    let sec = sections(&run_script(&rt, &mut b, MOUNT_SCRIPT));
    let line = sec["self"].trim().to_string();
    assert!(
        line.starts_with("0::/") && line.len() > 4,
        "/proc/self/cgroup without a cgroup namespace names the container's cgroup: {line:?} (runtime in {id_hint})"
    );
    let m = assert_readonly_cgroup2(&sec);
    if !rt.is_runc() {
        let path = line.strip_prefix("0::").unwrap();
        assert_eq!(
            m.root, path,
            "the mount shows the container's cgroup: {m:?}"
        );
        assert_eq!(sec["pids"], "77\n", "pids.max seen through the mount");
        let procs: Vec<&str> = sec["procs"].split_whitespace().collect();
        assert!(procs.contains(&"1"), "cgroup.procs lists pid 1: {procs:?}");
    }
}

// ---------------------------------------------------------------------------
// kill --all, delete
// ---------------------------------------------------------------------------

/// `kill --all` signals every process of the cgroup, not only init: SIGTERM
/// kills the two sleeps (pid 1 of the namespace, without a handler, ignores it;
/// a plain `kill` therefore changes nothing), the shell's `wait` returns and
/// the container stops. `delete` then removes the cgroup.
#[test]
fn kill_all_signals_every_process_in_the_cgroup() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("sleep 1000 & sleep 1000 & touch /tmp/ready; wait");
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    wait_for("the container to start", || {
        b.rootfs().join("tmp/ready").exists()
    });
    let dir = cg_dir(&relative_cgroup(&id));
    wait_for("three processes in the cgroup", || procs(&dir).len() == 3);

    assert_success(&rt.kill(&id, "TERM"), "kill TERM");
    sleep(Duration::from_millis(500));
    assert_eq!(
        procs(&dir).len(),
        3,
        "a plain kill TERM reaches only init, which ignores it"
    );
    assert_eq!(rt.status(&id).as_deref(), Some("running"));

    assert_success(&rt.cmd(&["kill", "--all", &id, "TERM"]), "kill --all TERM");
    rt.wait_status(&id, "stopped", WAIT);
    wait_for("an empty cgroup", || procs(&dir).is_empty());
    assert!(
        dir.is_dir(),
        "the cgroup of a stopped container stays until delete"
    );
    assert_success(&rt.delete(&id), "delete");
    assert_gone(&dir, "after delete");
    assert_no_leftovers(&rt, &id, &b);
}

/// Without a pid namespace, killing init does not take the other processes
/// with it: `kill --all KILL` must empty the cgroup (cgroup.kill on v2).
#[test]
fn kill_all_kill_without_pid_namespace_empties_the_cgroup() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .remove_namespace("pid")
        .sh("sleep 1000 & sleep 1000 & touch /tmp/ready; wait");
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    wait_for("the container to start", || {
        b.rootfs().join("tmp/ready").exists()
    });
    let dir = cg_dir(&relative_cgroup(&id));
    wait_for("three processes in the cgroup", || procs(&dir).len() == 3);
    let pids = procs(&dir);

    assert_success(&rt.cmd(&["kill", "--all", &id, "KILL"]), "kill --all KILL");
    wait_for("an empty cgroup", || procs(&dir).is_empty());
    for pid in pids {
        wait_for(&format!("pid {pid} to be gone"), || {
            !Path::new(&format!("/proc/{pid}")).exists()
                || fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
        });
    }
    rt.wait_status(&id, "stopped", WAIT);
    assert_success(&rt.delete(&id), "delete");
    assert_gone(&dir, "after delete");
    assert_no_leftovers(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// A failed create
// ---------------------------------------------------------------------------

/// A change to a bundle.
type EditBundle = fn(&mut Bundle);

/// A create that fails after the cgroup exists leaves no cgroup behind: once
/// when writing a resource (cpu.max refuses a quota under 1 ms), once after the
/// process is in the cgroup (a bind mount of a missing source).
#[test]
fn failed_create_leaves_no_cgroup_directory() {
    require_v2!();
    let rt = Runtime::new();
    let cases: [(&str, EditBundle); 2] = [
        ("cpu.max refuses the quota", |b| {
            b.set(
                "/linux/resources/cpu",
                json!({"quota": 500, "period": 100000}),
            );
        }),
        ("bind mount of a missing source", |b| {
            b.add_mount("/mnt", "bind", "/no/such/source-dir", &["rbind"]);
        }),
    ];
    for (what, edit) in cases {
        let mut b = Bundle::new();
        b.set_args(&["true"]);
        let id = rt.new_id();
        let parent = format!("/jinn-v2-{id}");
        let cgroup = format!("{parent}/c");
        b.set("/linux/cgroupsPath", cgroup.as_str().into());
        edit(&mut b);
        let out = rt.create(&b, &id);
        assert_failure(&out, &format!("create with {what}"));
        assert!(
            rt.state(&id).is_none(),
            "{what}: a failed create leaves no container"
        );
        assert_gone(&cg_dir(&cgroup), what);
        check_and_remove_parent(&rt, &cg_dir(&parent));
        assert_no_leftovers(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------
// What v2 does differently from v1: devices (eBPF), unified
// ---------------------------------------------------------------------------

/// cgroup2 has no devices files: the device rules of `linux.resources.devices`
/// must be enforced another way (runc attaches an eBPF program). The template
/// denies every device except the defaults (null, zero, full, tty, random,
/// urandom, ptmx, pts, and mknod of any node, as runc allows), so with
/// CAP_MKNOD the container can make and write a 1:3 (/dev/null) node, but cannot
/// open a 1:11 (/dev/kmsg) node it made.
#[test]
fn device_rules_are_enforced() {
    require_v2!();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false);
    for set in ["bounding", "effective", "permitted"] {
        b.push(&format!("/process/capabilities/{set}"), "CAP_MKNOD".into());
    }
    let out = run_script(
        &rt,
        &mut b,
        "mknod /tmp/null c 1 3 && echo x > /tmp/null; echo null=$?; \
         mknod /tmp/kmsg c 1 11 2>&1; echo mknod=$?; \
         (echo jinn-device-test > /tmp/kmsg) 2>&1; echo kmsg=$?",
    );
    assert!(
        out.contains("null=0"),
        "mknod and write of an allowed device (1:3) must work: {out}"
    );
    assert!(
        !out.contains("kmsg=0"),
        "the container wrote to a denied device (1:11): the device rules are not enforced: {out}"
    );
    // mknod itself is allowed by the default rules (`c *:* m`, `b *:* m`): the open is
    // what the device program refuses.
    assert!(out.contains("mknod=0"), "mknod of 1:11: {out}");
    assert!(
        out.contains("Operation not permitted"),
        "opening the denied device fails with EPERM: {out}"
    );
}

/// `linux.resources.unified` writes its keys as cgroup2 interface files.
#[test]
fn unified_keys_are_written_to_their_files() {
    require_v2!();
    with_resources(
        json!({"unified": {"memory.high": "50331648", "pids.max": "33"}}),
        |dir| {
            assert_eq!(read_cg(dir, "memory.high"), "50331648", "memory.high");
            assert_eq!(read_cg(dir, "pids.max"), "33", "pids.max");
        },
    );
}
