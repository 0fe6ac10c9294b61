//! cgroups through the runc CLI, with real containers: every resource of
//! `linux.resources` read back from the container's cgroup files (host side)
//! and from inside the container, a memory limit that OOM-kills, a pids limit
//! that stops a fork bomb, the device cgroup, `update`, `pause`/`resume`,
//! `events --stats` / `--interval`, `ps`, and bad values (one clear error,
//! nothing left behind).
//!
//! The expectations are written for cgroup v1 and hybrid hosts (the pure v2
//! host is covered by `cgroupv2.rs` in a VM); the file names switch to the v2
//! ones where that is all it takes.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test cgroups`.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// True on a pure cgroup v2 host (`/sys/fs/cgroup` is the cgroup2 root).
fn pure_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's cgroup directory for `controller` (`memory`, `cpu`,
/// `unified` for the cgroup2 tree of a hybrid host); on pure v2 the one
/// directory.
#[track_caller]
fn cg_dir(id: &str, controller: &str) -> PathBuf {
    let dirs = cgroups_of(id);
    let found = dirs.iter().find(|d| {
        if d.file_name().map(|n| n.to_string_lossy() == id) != Some(true) {
            return false;
        }
        if pure_v2() {
            return true;
        }
        let Ok(rel) = d.strip_prefix("/sys/fs/cgroup") else {
            return false;
        };
        let hierarchy = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        hierarchy.split(',').any(|c| c == controller)
    });
    found
        .unwrap_or_else(|| panic!("no {controller} cgroup of {id} among {dirs:?}"))
        .clone()
}

/// A cgroup file of the container, trimmed.
#[track_caller]
fn cg_read(id: &str, controller: &str, file: &str) -> String {
    let path = cg_dir(id, controller).join(file);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// `run -d` (saves the bundle's config first).
#[track_caller]
fn run_detached(rt: &Runtime, bundle: &Bundle, id: &str) {
    bundle.save();
    rt.track(id);
    let out = rt.cmd(&["run", "-d", "--bundle", bundle.path_str(), id]);
    assert_success(&out, "run -d");
}

/// Waits until the container wrote `rel` in its rootfs, and returns it.
#[track_caller]
fn wait_rootfs_file(bundle: &Bundle, rel: &str) -> String {
    let path = bundle.rootfs().join(rel.trim_start_matches('/'));
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = fs::read_to_string(&path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        sleep(Duration::from_millis(10));
    }
}

/// A bundle whose root is writable, with `resources` merged into
/// `linux.resources` (next to the template's device rules).
fn bundle_with(resources: Value) -> Bundle {
    let mut bundle = Bundle::new();
    bundle.set_readonly_root(false);
    for (key, value) in resources.as_object().unwrap() {
        bundle.set(&format!("/linux/resources/{key}"), value.clone());
    }
    bundle
}

/// `key=value` lines into a map.
fn key_values(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Runs `<rt> --root <root> args…` with `input` on stdin.
fn cmd_with_stdin(rt: &Runtime, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(rt.path())
        .arg("--root")
        .arg(rt.root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Deletes the container and checks that nothing (cgroup included) is left.
#[track_caller]
fn delete_and_check(rt: &Runtime, id: &str, bundle: &Bundle) {
    assert_success(&rt.delete_force(id), "delete --force");
    assert_no_leftovers(rt, id, bundle);
}

// ---------------------------------------------------------------------------
// Resources set in config.json
// ---------------------------------------------------------------------------

#[test]
fn memory_cpu_pids_cpuset_in_cgroup_files_and_inside() {
    let rt = Runtime::new();
    let v2 = pure_v2();
    let mut memory = json!({
        "limit": 104857600,
        "reservation": 52428800,
        "swappiness": 10,
        "disableOOMKiller": true
    });
    if !v2 {
        memory["swap"] = json!(209715200);
    }
    let mut bundle = bundle_with(json!({
        "memory": memory,
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 50}
    }));
    let inside = if v2 {
        "for f in memory.max memory.low cpu.weight cpu.max pids.max cpuset.cpus cpuset.mems; do \
           echo $f=$(cat /sys/fs/cgroup/$f); done > /tmp/out.tmp"
    } else {
        "for f in memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes \
                  memory/memory.memsw.limit_in_bytes memory/memory.swappiness \
                  cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max \
                  cpuset/cpuset.cpus cpuset/cpuset.mems; do \
           echo ${f#*/}=$(cat /sys/fs/cgroup/$f); done > /tmp/out.tmp; \
         echo oom_kill_disable=$(grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control | cut -d' ' -f2) >> /tmp/out.tmp"
    };
    bundle.sh(&format!(
        "{inside}; mv /tmp/out.tmp /tmp/out; exec sleep 1000"
    ));
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let seen = key_values(&wait_rootfs_file(&bundle, "/tmp/out"));

    let expected: Vec<(&str, &str, &str)> = if v2 {
        vec![
            ("memory", "memory.max", "104857600"),
            ("memory", "memory.low", "52428800"),
            ("cpu", "cpu.weight", "20"),
            ("cpu", "cpu.max", "50000 100000"),
            ("pids", "pids.max", "50"),
            ("cpuset", "cpuset.cpus", "0"),
            ("cpuset", "cpuset.mems", "0"),
        ]
    } else {
        vec![
            ("memory", "memory.limit_in_bytes", "104857600"),
            ("memory", "memory.soft_limit_in_bytes", "52428800"),
            ("memory", "memory.memsw.limit_in_bytes", "209715200"),
            ("memory", "memory.swappiness", "10"),
            ("cpu", "cpu.shares", "512"),
            ("cpu", "cpu.cfs_quota_us", "50000"),
            ("cpu", "cpu.cfs_period_us", "100000"),
            ("pids", "pids.max", "50"),
            ("cpuset", "cpuset.cpus", "0"),
            ("cpuset", "cpuset.mems", "0"),
        ]
    };
    for (controller, file, want) in expected {
        assert_eq!(cg_read(&id, controller, file), want, "host side {file}");
        assert_eq!(
            seen.get(file).map(String::as_str),
            Some(want),
            "inside {file}: {seen:?}"
        );
    }
    if !v2 {
        let oom_control = cg_read(&id, "memory", "memory.oom_control");
        assert!(
            oom_control.contains("oom_kill_disable 1"),
            "host side memory.oom_control: {oom_control}"
        );
        assert_eq!(seen["oom_kill_disable"], "1");
    }
    delete_and_check(&rt, &id, &bundle);
}

#[test]
fn absent_and_empty_values_leave_the_defaults() {
    let rt = Runtime::new();
    let mut bundle =
        bundle_with(json!({"memory": {}, "cpu": {}, "blockIO": {}, "pids": {"limit": 0}}));
    bundle.set_args(&["sleep", "1000"]);
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    if pure_v2() {
        assert_eq!(cg_read(&id, "memory", "memory.max"), "max");
        assert_eq!(cg_read(&id, "pids", "pids.max"), "max");
    } else {
        let unlimited = fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes").unwrap();
        assert_eq!(
            cg_read(&id, "memory", "memory.limit_in_bytes"),
            unlimited.trim(),
            "the kernel's default (unlimited)"
        );
        assert_eq!(cg_read(&id, "pids", "pids.max"), "max");
        assert_eq!(cg_read(&id, "cpu", "cpu.shares"), "1024");
        assert_eq!(cg_read(&id, "cpu", "cpu.cfs_quota_us"), "-1");
    }
    delete_and_check(&rt, &id, &bundle);
}

/// cpu.realtimeRuntime/realtimePeriod (v1 only: cgroup v2 has none),
/// cpu.burst and cpu.idle.
#[test]
fn cpu_realtime_burst_idle() {
    if pure_v2() {
        eprintln!("skipped: realtime limits are v1 only");
        return;
    }
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({
        "cpu": {"quota": 50000, "period": 100000, "realtimePeriod": 1000000,
                "realtimeRuntime": 10000, "burst": 20000}
    }));
    bundle.sh(
        "echo rt_runtime=$(cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us) > /tmp/out.tmp; \
         echo burst=$(cat /sys/fs/cgroup/cpu/cpu.cfs_burst_us) >> /tmp/out.tmp; \
         mv /tmp/out.tmp /tmp/out; exec sleep 1000",
    );
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let seen = key_values(&wait_rootfs_file(&bundle, "/tmp/out"));
    assert_eq!(cg_read(&id, "cpu", "cpu.rt_period_us"), "1000000");
    assert_eq!(cg_read(&id, "cpu", "cpu.rt_runtime_us"), "10000");
    assert_eq!(seen["rt_runtime"], "10000");
    // runc 1.1 predates cpu.burst (runtime-spec 1.1).
    if !rt.is_runc() {
        assert_eq!(cg_read(&id, "cpu", "cpu.cfs_burst_us"), "20000");
        assert_eq!(seen["burst"], "20000");
    }
    delete_and_check(&rt, &id, &bundle);

    // cpu.idle on its own container (an idle cgroup has no shares to speak of).
    if !rt.is_runc() && Path::new("/sys/fs/cgroup/cpu/cpu.idle").exists() {
        let mut bundle = bundle_with(json!({"cpu": {"idle": 1}}));
        bundle.set_args(&["sleep", "1000"]);
        let id = rt.new_id();
        run_detached(&rt, &bundle, &id);
        assert_eq!(cg_read(&id, "cpu", "cpu.idle"), "1");
        delete_and_check(&rt, &id, &bundle);
    }
}

/// `linux.resources.unified` writes raw v2 files. runc 1.1 refuses unified on
/// v1/hybrid hosts; jinn writes them to the cgroup2 tree it has there.
#[test]
fn unified_key_is_written_to_the_cgroup2_directory() {
    let rt = Runtime::new();
    if rt.is_runc() && !pure_v2() {
        eprintln!("skipped: runc 1.1 refuses unified on a hybrid host");
        return;
    }
    let mut bundle = bundle_with(json!({"unified": {"cgroup.max.descendants": "7"}}));
    bundle.sh("cat /sys/fs/cgroup/unified/cgroup.max.descendants /sys/fs/cgroup/cgroup.max.descendants > /tmp/out 2>/dev/null; exec sleep 1000");
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let controller = if pure_v2() { "" } else { "unified" };
    assert_eq!(cg_read(&id, controller, "cgroup.max.descendants"), "7");
    assert_eq!(wait_rootfs_file(&bundle, "/tmp/out").trim(), "7");
    delete_and_check(&rt, &id, &bundle);
}

/// A unified key of a controller the cgroup2 tree has (hugetlb on a hybrid host whose
/// v1 hierarchies leave it to v2) works below a new intermediate level: config-linux.md
/// "The OCI runtime MUST ensure that the needed cgroup controllers are enabled for the
/// cgroup" (jinn used to enable them on pure v2 only).
#[test]
fn unified_controller_is_enabled_in_new_parent_levels() {
    let rt = Runtime::new();
    let root = if pure_v2() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/unified"
    };
    let controllers =
        std::fs::read_to_string(format!("{root}/cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "hugetlb")
        || !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
    {
        eprintln!("skipped: no hugetlb controller with 2 MB pages in the cgroup2 tree");
        return;
    }
    if rt.is_runc() && !pure_v2() {
        eprintln!("skipped: runc 1.1 refuses unified on a hybrid host");
        return;
    }
    let id = rt.new_id();
    let parent = format!("jinn-test-parent-{id}");
    let mut bundle = bundle_with(json!({"unified": {"hugetlb.2MB.max": "4194304"}}));
    bundle.set("/linux/cgroupsPath", json!(format!("/{parent}/{id}")));
    bundle.sh("exec sleep 1000");
    run_detached(&rt, &bundle, &id);
    let max = std::fs::read_to_string(format!("{root}/{parent}/{id}/hugetlb.2MB.max"));
    let subtree = std::fs::read_to_string(format!("{root}/{parent}/cgroup.subtree_control"));
    delete_and_check(&rt, &id, &bundle);
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(hierarchy.path().join(&parent));
    }
    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(&parent));
    assert_eq!(max.unwrap_or_default().trim(), "4194304");
    assert!(
        subtree
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| c == "hugetlb"),
        "hugetlb enabled in the new parent level"
    );
}

/// `memory.kernelTCP` (NOT RECOMMENDED, but a property to apply): v1's
/// `memory.kmem.tcp.limit_in_bytes` (jinn used to ignore it).
#[test]
fn memory_kernel_tcp_is_applied_on_v1() {
    let rt = Runtime::new();
    if pure_v2() || !Path::new("/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes").exists() {
        eprintln!("skipped: no cgroup v1 memory.kmem.tcp.limit_in_bytes");
        return;
    }
    if rt.is_runc() {
        eprintln!("skipped: runc 1.1 ignores kernelTCP");
        return;
    }
    let mut bundle = bundle_with(json!({"memory": {"kernelTCP": 16777216}}));
    bundle.sh("exec sleep 1000");
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    assert_eq!(
        cg_read(&id, "memory", "memory.kmem.tcp.limit_in_bytes"),
        "16777216"
    );
    delete_and_check(&rt, &id, &bundle);
}

// ---------------------------------------------------------------------------
// Limits that bite
// ---------------------------------------------------------------------------

/// A process that allocates past memory.limit is OOM-killed, and
/// `events` reports `{"type":"oom"}`.
#[test]
fn memory_limit_oom_kills_and_events_reports_it() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({"memory": {"limit": 16777216}}));
    bundle.sh(
        "sleep 2; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; \
         echo $? > /tmp/rc; exec sleep 1000",
    );
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let events = rt.spawn(&["events", "--interval", "500ms", &id]);
    let rc = wait_rootfs_file(&bundle, "/tmp/rc");
    assert_eq!(rc.trim(), "137", "dd should be killed by SIGKILL (OOM)");
    if pure_v2() {
        let ev = cg_read(&id, "memory", "memory.events");
        assert!(!ev.contains("oom_kill 0"), "memory.events: {ev}");
    } else {
        let oom = cg_read(&id, "memory", "memory.oom_control");
        assert!(!oom.contains("oom_kill 0"), "memory.oom_control: {oom}");
    }
    sleep(Duration::from_millis(1200));
    // runc streams forever: stop it.
    let _ = Command::new("kill").arg(events.id().to_string()).status();
    let out = events.wait(WAIT);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|e| e["type"] == "oom" && e["id"] == id.as_str()),
        "no oom event in {lines:?}\nstderr: {}",
        stderr(&out)
    );
    assert!(
        lines.iter().any(|e| e["type"] == "stats"),
        "no stats event in the stream"
    );
    let stats = rt.cmd(&["events", "--stats", &id]);
    assert_success(&stats, "events --stats");
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(
        stats["data"]["memory"]["usage"]["failcnt"]
            .as_u64()
            .unwrap()
            > 0
            || pure_v2()
    );
    delete_and_check(&rt, &id, &bundle);
}

/// pids.limit stops a fork bomb: forks fail once the limit is reached (ash
/// gives up on the first failed fork: the bomb runs in a subshell), the
/// processes that exist stay within the limit, and `pids.events` counts the
/// refusals.
#[test]
fn pids_limit_stops_a_fork_bomb() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({"pids": {"limit": 10}}));
    bundle.sh(
        "(exec 2>/tmp/bomb.err; i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done); \
         echo done > /tmp/bomb.done; exec sleep 1000",
    );
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    wait_rootfs_file(&bundle, "/tmp/bomb.done");
    let current: u32 = cg_read(&id, "pids", "pids.current").parse().unwrap();
    assert!((5..=10).contains(&current), "pids.current {current}");
    assert_eq!(cg_read(&id, "pids", "pids.max"), "10");
    let events = cg_read(&id, "pids", "pids.events");
    assert!(!events.contains("max 0"), "pids.events: {events}");
    let err = fs::read_to_string(bundle.rootfs().join("tmp/bomb.err")).unwrap();
    assert!(err.contains("fork"), "no failed fork reported: {err:?}");
    delete_and_check(&rt, &id, &bundle);
}

/// The device cgroup: a node that is not allowed cannot be opened (mknod
/// itself is allowed for every device by the default rules, as in runc); an
/// allowed one can.
#[test]
fn device_cgroup_denies_open_of_a_device_not_allowed() {
    if pure_v2() {
        eprintln!("skipped: v2 device rules are checked in the VM");
        return;
    }
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "rw"}
    ]}));
    for set in ["bounding", "effective", "permitted"] {
        bundle.push(&format!("/process/capabilities/{set}"), "CAP_MKNOD".into());
    }
    let out = run_script(
        &rt,
        &mut bundle,
        "mknod /dev/denied b 8 0 && echo mknod=ok; mknod /dev/allowed b 7 0; \
         head -c 1 /dev/denied > /dev/null 2>/tmp/e1; echo denied=$(cat /tmp/e1); \
         head -c 1 /dev/allowed > /dev/null 2>/tmp/e2; echo allowed=$(cat /tmp/e2); \
         echo list=$(cat /sys/fs/cgroup/devices/devices.list | tr '\\n' ',')",
    );
    let seen = key_values(&out);
    assert_eq!(seen.get("mknod").map(String::as_str), Some("ok"), "{out}");
    assert!(
        seen["denied"].contains("Operation not permitted"),
        "open of b 8:0: {out}"
    );
    assert!(
        !seen["allowed"].contains("Operation not permitted"),
        "open of the allowed b 7:0: {out}"
    );
    assert!(seen["list"].contains("b 7:0 rw"), "devices.list: {out}");
    assert!(!seen["list"].contains("a *:* rwm"), "devices.list: {out}");
}

// ---------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------

#[test]
fn update_changes_the_limits_of_a_running_container() {
    let rt = Runtime::new();
    let v2 = pure_v2();
    let mut bundle = bundle_with(json!({
        "memory": {"limit": 104857600},
        "cpu": {"shares": 512},
        "pids": {"limit": 50}
    }));
    bundle.set_args(&["sleep", "1000"]);
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let (mem, low, shares, quota) = if v2 {
        ("memory.max", "memory.low", "cpu.weight", "cpu.max")
    } else {
        (
            "memory.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "cpu.shares",
            "cpu.cfs_quota_us",
        )
    };

    let out = rt.cmd(&[
        "update",
        "--memory",
        "200M",
        "--memory-reservation",
        "50m",
        "--cpu-share",
        "256",
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "100000",
        "--pids-limit",
        "20",
        "--cpuset-cpus",
        "0",
        &id,
    ]);
    assert_success(&out, "update with flags");
    assert_eq!(cg_read(&id, "memory", mem), "209715200");
    assert_eq!(cg_read(&id, "memory", low), "52428800");
    assert_eq!(cg_read(&id, "cpu", shares), if v2 { "10" } else { "256" });
    assert_eq!(
        cg_read(&id, "cpu", quota),
        if v2 { "20000 100000" } else { "20000" }
    );
    assert_eq!(cg_read(&id, "pids", "pids.max"), "20");
    assert_eq!(cg_read(&id, "cpuset", "cpuset.cpus"), "0");

    // What containerd's shim does: JSON LinuxResources on stdin.
    let out = cmd_with_stdin(
        &rt,
        &["update", "--resources", "-", &id],
        r#"{"memory":{"limit":314572800},"cpu":{"shares":128,"cpus":"","mems":""},"pids":{"limit":30}}"#,
    );
    assert_success(&out, "update --resources -");
    assert_eq!(cg_read(&id, "memory", mem), "314572800");
    assert_eq!(cg_read(&id, "pids", "pids.max"), "30");
    assert_eq!(cg_read(&id, "cpu", shares), if v2 { "5" } else { "128" });
    // Untouched by that update.
    assert_eq!(cg_read(&id, "memory", low), "52428800");

    let file = bundle.path().join("resources.json");
    fs::write(&file, r#"{"pids":{"limit":40}}"#).unwrap();
    let out = rt.cmd(&["update", "--resources", file.to_str().unwrap(), &id]);
    assert_success(&out, "update --resources FILE");
    assert_eq!(cg_read(&id, "pids", "pids.max"), "40");

    // Bad values: an error, the old values stay.
    let out = rt.cmd(&["update", "--memory", "abc", &id]);
    assert_failure(&out, "update --memory abc");
    assert!(
        stderr(&out).contains("invalid value for memory"),
        "{}",
        stderr(&out)
    );
    let out = rt.cmd(&["update", "--cpuset-cpus", "97", "--pids-limit", "45", &id]);
    assert_failure(&out, "update --cpuset-cpus 97");
    if rt.is_jinn() {
        assert_one_error_line(&out, &["linux.resources.cpu.cpus", "cpuset.cpus"]);
    }
    assert_eq!(cg_read(&id, "cpuset", "cpuset.cpus"), "0");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
    delete_and_check(&rt, &id, &bundle);
}

#[test]
fn update_of_a_stopped_container_fails() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({}));
    bundle.set_args(&["true"]);
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    rt.wait_status(&id, "stopped", WAIT);
    let out = rt.cmd(&["update", "--memory", "100M", &id]);
    assert_failure(&out, "update of a stopped container");
    if rt.is_jinn() {
        assert_one_error_line(&out, &["container not running"]);
    }
    delete_and_check(&rt, &id, &bundle);
}

// ---------------------------------------------------------------------------
// pause / resume
// ---------------------------------------------------------------------------

fn read_count(bundle: &Bundle) -> u64 {
    fs::read_to_string(bundle.rootfs().join("tmp/count"))
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn pause_freezes_and_resume_continues() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({}));
    bundle.sh("i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done");
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let deadline = Instant::now() + WAIT;
    while read_count(&bundle) < 3 {
        assert!(Instant::now() < deadline, "the counter does not run");
        sleep(Duration::from_millis(10));
    }

    assert_success(&rt.cmd(&["pause", &id]), "pause");
    assert_eq!(rt.status(&id).as_deref(), Some("paused"));
    if pure_v2() {
        assert!(cg_read(&id, "", "cgroup.events").contains("frozen 1"));
    } else {
        assert_eq!(cg_read(&id, "freezer", "freezer.state"), "FROZEN");
    }
    let list = rt.cmd(&["list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["status"], "paused", "{list}");
    let before = read_count(&bundle);
    sleep(Duration::from_millis(300));
    assert_eq!(read_count(&bundle), before, "the counter ran while paused");

    let again = rt.cmd(&["pause", &id]);
    assert_failure(&again, "pause of a paused container");
    if rt.is_jinn() {
        assert_one_error_line(&again, &["container not running"]);
    }

    assert_success(&rt.cmd(&["resume", &id]), "resume");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
    let deadline = Instant::now() + WAIT;
    while read_count(&bundle) <= before {
        assert!(Instant::now() < deadline, "the counter did not resume");
        sleep(Duration::from_millis(10));
    }
    let again = rt.cmd(&["resume", &id]);
    assert_failure(&again, "resume of a running container");
    if rt.is_jinn() {
        assert_one_error_line(&again, &["container not paused"]);
    }
    delete_and_check(&rt, &id, &bundle);
}

#[test]
fn delete_force_of_a_paused_container_leaves_nothing() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({}));
    bundle.sh("sleep 1000 & exec sleep 1000");
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    assert_success(&rt.cmd(&["pause", &id]), "pause");
    delete_and_check(&rt, &id, &bundle);
}

#[test]
fn pause_of_a_stopped_container_fails() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({}));
    bundle.set_args(&["true"]);
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    rt.wait_status(&id, "stopped", WAIT);
    let out = rt.cmd(&["pause", &id]);
    assert_failure(&out, "pause of a stopped container");
    let out = rt.cmd(&["resume", &id]);
    assert_failure(&out, "resume of a stopped container");
    delete_and_check(&rt, &id, &bundle);
}

// ---------------------------------------------------------------------------
// events, ps
// ---------------------------------------------------------------------------

/// One `stats` event whose fields are the ones containerd's `runc/events`
/// types decode.
#[test]
fn events_stats_has_runc_layout() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({
        "memory": {"limit": 104857600},
        "pids": {"limit": 50}
    }));
    bundle.sh("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 1000");
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    sleep(Duration::from_millis(300));
    let out = rt.cmd(&["events", "--stats", &id]);
    assert_success(&out, "events --stats");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let ev: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    let d = &ev["data"];
    for key in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
        "network_interfaces",
    ] {
        assert!(d.get(key).is_some(), "data.{key} missing: {d}");
    }
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0, "{d}");
    assert!(d["cpu"]["usage"]["kernel"].is_u64());
    assert!(d["cpu"]["usage"]["user"].is_u64());
    assert!(d["cpu"]["throttling"].is_object());
    let mem = &d["memory"];
    assert_eq!(mem["usage"]["limit"], 104857600, "{mem}");
    assert!(mem["usage"]["usage"].as_u64().unwrap() > 0);
    assert!(mem["usage"]["failcnt"].is_u64());
    for entry in ["swap", "kernel", "kernelTCP"] {
        assert!(mem[entry]["limit"].is_u64(), "memory.{entry}: {mem}");
        assert!(mem[entry]["failcnt"].is_u64(), "memory.{entry}: {mem}");
    }
    let raw = mem["raw"].as_object().unwrap();
    assert!(
        raw.contains_key(if pure_v2() { "file" } else { "cache" }),
        "{raw:?}"
    );
    assert!(d["pids"]["current"].as_u64().unwrap() >= 1);
    assert_eq!(d["pids"]["limit"], 50);
    assert!(d["blkio"].is_object());
    assert!(d["hugetlb"].is_object());
    if !pure_v2() {
        assert_eq!(d["cpuset"]["cpus"].as_array().unwrap().len() as u64, {
            let n = fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.effective_cpus")
                .or_else(|_| fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus"))
                .unwrap();
            count_list(&n)
        });
    }
    delete_and_check(&rt, &id, &bundle);
}

/// Number of entries in a cpu list like `0-3,5`.
fn count_list(text: &str) -> u64 {
    text.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<u64>().unwrap() - a.parse::<u64>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

#[test]
fn events_interval_streams_stats_and_bad_intervals_fail() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({}));
    bundle.set_args(&["sleep", "1000"]);
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let events = rt.spawn(&["events", "--interval", "200ms", &id]);
    sleep(Duration::from_millis(1100));
    let _ = Command::new("kill").arg(events.id().to_string()).status();
    let out = events.wait(WAIT);
    let stats: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(stats.len() >= 2, "{stats:?}");
    assert!(stats
        .iter()
        .all(|e| e["type"] == "stats" && e["id"] == id.as_str()));

    let out = rt.cmd(&["events", "--interval", "0s", &id]);
    assert_failure(&out, "events --interval 0s");
    if rt.is_jinn() {
        assert_one_error_line(&out, &["interval must be greater than 0"]);
    }
    delete_and_check(&rt, &id, &bundle);

    let out = rt.cmd(&["events", "--stats", &id]);
    assert_failure(&out, "events of a deleted container");
}

#[test]
fn ps_lists_the_container_processes() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(json!({}));
    bundle.sh("sleep 1000 & exec sleep 1001");
    let id = rt.new_id();
    run_detached(&rt, &bundle, &id);
    let pid = rt.state(&id).unwrap()["pid"].as_i64().unwrap();
    let deadline = Instant::now() + WAIT;
    let pids = loop {
        let out = rt.cmd(&["ps", "--format", "json", &id]);
        assert_success(&out, "ps --format json");
        let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap();
        if pids.len() == 2 || Instant::now() > deadline {
            break pids;
        }
        sleep(Duration::from_millis(20));
    };
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&pid), "{pids:?} lacks the init {pid}");

    let out = rt.cmd(&["ps", &id]);
    assert_success(&out, "ps");
    let table = stdout(&out);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("PID"), "{table}");
    assert_eq!(lines.count(), 2, "{table}");
    assert!(table.contains("sleep 1001"), "{table}");

    let out = rt.cmd(&["ps", &id, "-o", "pid,comm"]);
    assert_success(&out, "ps -o pid,comm");
    let table = stdout(&out);
    assert_eq!(
        table
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["PID", "COMMAND"]
    );
    assert!(
        table.lines().any(|l| l.trim() == format!("{pid} sleep")),
        "{table}"
    );

    assert_success(&rt.kill(&id, "KILL"), "kill");
    rt.wait_status(&id, "stopped", WAIT);
    // Until delete, ps of a stopped container is empty (runc: header / null).
    let out = rt.cmd(&["ps", "--format", "json", &id]);
    assert_success(&out, "ps of a stopped container");
    assert_eq!(stdout(&out).trim(), "null");
    delete_and_check(&rt, &id, &bundle);
}

// ---------------------------------------------------------------------------
// Bad values
// ---------------------------------------------------------------------------

/// Values the spec or the host forbid: `create` fails with one error naming
/// the field, and leaves no state, cgroup or process behind.
#[test]
fn bad_resource_values_fail_cleanly() {
    let rt = Runtime::new();
    let ncpus = count_list(
        &fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_else(|_| "0".into()),
    );
    let outside = (ncpus + 8).to_string();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"memory": {"limit": -5}}),
            "linux.resources.memory.limit",
        ),
        (
            json!({"memory": {"swappiness": 200}}),
            "linux.resources.memory.swappiness",
        ),
        (
            json!({"cpu": {"cpus": outside}}),
            "linux.resources.cpu.cpus",
        ),
        (
            json!({"blockIO": {"weight": 5}}),
            "linux.resources.blockIO.weight",
        ),
        (
            json!({"hugepageLimits": [{"pageSize": "2MB", "limit": -1}]}),
            "linux.resources.hugepageLimits[0].limit",
        ),
        (
            json!({"unified": {"nosuch.file": "1"}}),
            "linux.resources.unified.nosuch.file",
        ),
    ];
    for (resources, field) in cases {
        if rt.is_runc() && resources.get("blockIO").is_some() {
            // runc 1.1 skips blkio.weight (any value) when the host has no
            // weight file; the spec's range is 10-1000.
            continue;
        }
        let mut bundle = bundle_with(resources.clone());
        bundle.set_args(&["true"]);
        let id = rt.new_id();
        let out = rt.create(&bundle, &id);
        assert_failure(&out, &format!("create with {resources}"));
        if rt.is_jinn() {
            assert_one_error_line(&out, &[field]);
        }
        assert_no_leftovers(&rt, &id, &bundle);
    }
}

/// A value for a controller the host does not have is an error naming the
/// field and the controller (runc 1.1 silently skips unmounted v1 controllers).
#[test]
fn resource_of_a_missing_controller_is_an_error() {
    let rt = Runtime::new();
    if !rt.is_jinn() {
        eprintln!("skipped: runc ignores resources of unmounted controllers");
        return;
    }
    let mut cases: Vec<(Value, &str, &str)> = Vec::new();
    if !Path::new("/sys/fs/cgroup/net_cls").exists()
        && !Path::new("/sys/fs/cgroup/net_cls,net_prio").exists()
    {
        cases.push((
            json!({"network": {"classID": 1048577}}),
            "linux.resources.network.classID",
            "net_cls",
        ));
    }
    if !Path::new("/sys/fs/cgroup/rdma").exists() {
        cases.push((
            json!({"rdma": {"mlx5_0": {"hcaHandles": 3}}}),
            "linux.resources.rdma",
            "rdma",
        ));
    }
    for (resources, field, controller) in cases {
        let mut bundle = bundle_with(resources.clone());
        bundle.set_args(&["true"]);
        let id = rt.new_id();
        let out = rt.create(&bundle, &id);
        assert_failure(&out, &format!("create with {resources}"));
        assert_one_error_line(&out, &[field, controller]);
        assert_no_leftovers(&rt, &id, &bundle);
    }
}
