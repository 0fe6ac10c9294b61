//! The systemd cgroup driver (`--systemd-cgroup`), with a real systemd: the unit is a
//! transient scope that holds the init; `linux.resources` read back both from the
//! scope's cgroup files and from systemd's unit properties; `update` changes both;
//! `delete` and a failed `create` leave no unit and no cgroup; pause/resume/kill --all
//! act on the scope; a cgroupsPath that is not `slice:prefix:name` is refused.
//!
//! These need systemd running (its private socket at /run/systemd/private) on a pure
//! cgroup v2 host, and this process in systemd's pid namespace (the pids handed to
//! systemd are ours). Elsewhere each test returns early after printing "skipped".
//! `scripts/test-systemd.sh` (`make test-systemd`) boots a throw-away VM, starts
//! systemd in it and runs them there with `JINN_SYSTEMD_VM=1`, which turns a missing
//! systemd into a failure. Against runc: `SD_RUNTIMES="jinn runc"`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::cgroupfs::*;
use common::*;
use serde_json::json;

const SD: &[&str] = &["--systemd-cgroup"];

fn systemd_runs() -> bool {
    let runs = Path::new("/run/systemd/private").exists()
        && nix::sys::statfs::statfs(&cgroup2_root())
            .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            .unwrap_or(false);
    if std::env::var("JINN_SYSTEMD_VM").as_deref() == Ok("1") {
        assert!(
            runs,
            "JINN_SYSTEMD_VM=1 but systemd does not run, or no cgroup2 tree at the test root"
        );
    }
    runs
}

macro_rules! require_systemd {
    () => {
        if !systemd_runs() {
            eprintln!("skipped: systemd does not run here (or not on pure cgroup v2)");
            return;
        }
    };
}

/// Stops and forgets the units a test used, after the runtime's own cleanup (declare
/// it before the `Runtime`), so a failed test leaves no unit behind.
struct Units(Vec<String>);

impl Drop for Units {
    fn drop(&mut self) {
        for u in &self.0 {
            let _ = Command::new("systemctl").args(["stop", u]).output();
            let _ = Command::new("systemctl").args(["reset-failed", u]).output();
        }
    }
}

/// `systemctl show UNIT -p NAME...` as a map.
fn show(unit: &str, names: &[&str]) -> BTreeMap<String, String> {
    let mut cmd = Command::new("systemctl");
    cmd.args(["show", unit]);
    for n in names {
        cmd.args(["-p", n]);
    }
    let out = cmd.output().expect("run systemctl");
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[track_caller]
fn prop(unit: &str, name: &str) -> String {
    show(unit, &[name]).remove(name).unwrap_or_default()
}

/// `/proc/PID/cgroup` text: the process is at `cgroup` in the cgroup2 tree (`0::`) and
/// in every other hierarchy listed (the `name=systemd` one of a hybrid layout).
#[track_caller]
fn assert_in_cgroup(proc_cgroup: &str, cgroup: &str) {
    let lines: Vec<&str> = proc_cgroup.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines.contains(&format!("0::{cgroup}").as_str()),
        "not at {cgroup} in the cgroup2 tree: {proc_cgroup:?}"
    );
    for l in lines {
        assert!(
            l.ends_with(&format!(":{cgroup}")),
            "{l:?}: not at {cgroup} in every hierarchy"
        );
    }
}

#[track_caller]
fn init_pid(rt: &Runtime, id: &str) -> i32 {
    let st = rt.state(id).unwrap_or_else(|| panic!("state {id} failed"));
    st["pid"].as_i64().unwrap() as i32
}

/// No unit left (systemd forgets a stopped transient unit; any slice name loads as an
/// implicit unit, so a slice must just be inactive) and no cgroup directory.
#[track_caller]
fn assert_unit_gone(unit: &str, dir: &Path) {
    wait_for(&format!("unit {unit} to be gone"), || {
        let p = show(unit, &["LoadState", "ActiveState"]);
        let gone = p.get("LoadState").map(String::as_str) == Some("not-found")
            || (unit.ends_with(".slice")
                && p.get("ActiveState").map(String::as_str) == Some("inactive"));
        gone && !dir.exists()
    });
}

fn create(rt: &Runtime, b: &Bundle, id: &str) -> std::process::Output {
    b.save();
    rt.track(id);
    rt.cmd_global(SD, &["create", "--bundle", b.path_str(), id])
}

/// The scope holds the init; every limit is in the scope's files and in systemd's
/// properties; `update` changes both; `delete` removes unit and cgroup.
#[test]
fn scope_holds_the_init_with_its_limits_and_update_and_delete_follow() {
    require_systemd!();
    let id = unique_id();
    let unit = format!("jinn-test-{id}.scope");
    let _units = Units(vec![unit.clone()]);
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["sleep", "1000"])
        .set(
            "/linux/cgroupsPath",
            json!(format!("system.slice:jinn-test:{id}")),
        )
        .set(
            "/linux/resources",
            json!({
                "devices": [{"allow": false, "access": "rwm"}],
                "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200},
                "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"},
                "pids": {"limit": 42},
                "blockIO": {"weight": 500},
                "unified": {"memory.high": "94371840"}
            }),
        );
    let out = create(&rt, &b, &id);
    assert_success(&out, "create --systemd-cgroup");

    assert_eq!(prop(&unit, "ActiveState"), "active");
    let cgroup = format!("/system.slice/{unit}");
    assert_eq!(prop(&unit, "ControlGroup"), cgroup);
    let dir = cg_dir(&cgroup);
    let pid = init_pid(&rt, &id);
    assert_eq!(procs(&dir), [pid], "cgroup.procs of {}", dir.display());
    assert_in_cgroup(
        &fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap(),
        &cgroup,
    );

    assert_eq!(read_cg(&dir, "memory.max"), "104857600");
    assert_eq!(read_cg(&dir, "memory.low"), "52428800");
    assert_eq!(read_cg(&dir, "memory.high"), "94371840");
    assert_eq!(read_cg(&dir, "memory.swap.max"), "104857600");
    assert_eq!(read_cg(&dir, "pids.max"), "42");
    assert_eq!(read_cg(&dir, "cpu.weight"), "39");
    assert_eq!(read_cg(&dir, "cpu.max"), "50000 100000");
    assert_eq!(read_cg(&dir, "cpuset.cpus"), "0");
    // On a hybrid layout a runtime gives systemd the v1 properties (as runc does):
    // CPUShares and BlockIOWeight, and none of the v2-only memory ones.
    let hybrid = cgroup2_root() != Path::new(CGROUP_ROOT);
    let mut want: BTreeMap<String, String> = [
        ("MemoryMax", "104857600"),
        ("MemoryLow", "52428800"),
        ("TasksMax", "42"),
        ("CPUQuotaPerSecUSec", "500ms"),
        ("CPUQuotaPeriodUSec", "100ms"),
        ("AllowedCPUs", "0"),
        ("Delegate", "yes"),
        ("Slice", "system.slice"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let per_layout: &[(&str, &str)] = if hybrid {
        &[("CPUShares", "1024"), ("BlockIOWeight", "500")]
    } else {
        &[
            ("MemoryHigh", "94371840"),
            ("MemorySwapMax", "104857600"),
            ("CPUWeight", "39"),
            ("IOWeight", "4950"),
        ]
    };
    want.extend(
        per_layout
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let names: Vec<&str> = want.keys().map(String::as_str).collect();
    let mut p = show(&unit, &names);
    if rt.is_runc() && !hybrid {
        // runc 1.1 does not give systemd blockIO.weight as IOWeight.
        p.insert("IOWeight".into(), "4950".into());
    }
    assert_eq!(p, want, "systemctl show {unit}");

    let out = rt.cmd_global(
        SD,
        &[
            "update",
            "--memory",
            "200M",
            "--memory-swap",
            "300M",
            "--pids-limit",
            "50",
            "--cpu-quota",
            "20000",
            &id,
        ],
    );
    assert_success(&out, "update");
    assert_eq!(read_cg(&dir, "memory.max"), "209715200");
    assert_eq!(read_cg(&dir, "memory.swap.max"), "104857600");
    // systemd re-applied the unit: what it owns but update did not name is kept.
    assert_eq!(read_cg(&dir, "memory.high"), "94371840");
    assert_eq!(read_cg(&dir, "memory.low"), "52428800");
    assert_eq!(read_cg(&dir, "pids.max"), "50");
    assert_eq!(read_cg(&dir, "cpu.max"), "20000 100000");
    assert_eq!(prop(&unit, "MemoryMax"), "209715200");
    assert_eq!(prop(&unit, "TasksMax"), "50");
    if !hybrid {
        assert_eq!(prop(&unit, "MemorySwapMax"), "104857600");
    }
    assert_eq!(prop(&unit, "CPUQuotaPerSecUSec"), "200ms");

    let out = rt.cmd_global(SD, &["delete", "--force", &id]);
    assert_success(&out, "delete --force");
    assert_unit_gone(&unit, &dir);
    assert_no_leftovers(&rt, &id, &b);
}

/// No cgroupsPath: `<runtime>-<id>.scope` in system.slice; `run` removes the unit.
#[test]
fn default_unit_is_a_scope_in_system_slice_and_run_removes_it() {
    require_systemd!();
    let rt = Runtime::new();
    let id = rt.new_id();
    let prefix = if rt.is_runc() { "runc" } else { "jinn" };
    let unit = format!("{prefix}-{id}.scope");
    let _units = Units(vec![unit.clone()]);
    let mut b = Bundle::new();
    b.sh("cat /proc/self/cgroup");
    if let Some(linux) = b
        .config
        .pointer_mut("/linux")
        .and_then(|l| l.as_object_mut())
    {
        linux.remove("cgroupsPath");
    }
    b.save();
    let out = rt.cmd_global(SD, &["run", "--bundle", b.path_str(), &id]);
    assert_success(&out, "run --systemd-cgroup");
    // No cgroup namespace in this config: the container sees the scope's path.
    assert_in_cgroup(&stdout(&out), &format!("/system.slice/{unit}"));
    assert_unit_gone(&unit, &cg_dir(&format!("/system.slice/{unit}")));
    assert_no_leftovers(&rt, &id, &b);
}

/// A create that fails in the init (no such program) leaves no unit, no cgroup and no
/// state.
#[test]
fn failed_create_leaves_no_unit() {
    require_systemd!();
    let id = unique_id();
    let unit = format!("jinn-test-{id}.scope");
    let _units = Units(vec![unit.clone()]);
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["/no/such/program"]).set(
        "/linux/cgroupsPath",
        json!(format!("system.slice:jinn-test:{id}")),
    );
    let out = create(&rt, &b, &id);
    assert_failure(&out, "create of a missing program");
    assert_unit_gone(&unit, &cg_dir(&format!("/system.slice/{unit}")));
    assert_no_leftovers(&rt, &id, &b);
}

/// A cgroupsPath that is not `slice:prefix:name` is one error line naming it; a bad
/// annotation value too (jinn); nothing is made.
#[test]
fn bad_cgroups_path_is_refused() {
    require_systemd!();
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = Bundle::new();
    b.set_args(&["true"])
        .set("/linux/cgroupsPath", json!("/not/systemd"));
    let out = create(&rt, &b, &id);
    assert_exit(&out, 1, "create with a cgroupfs path");
    assert_one_error_line(&out, &["cgroupsPath", "/not/systemd"]);
    assert_no_leftovers(&rt, &id, &b);
    if rt.is_jinn() {
        let id = rt.new_id();
        let mut b = Bundle::new();
        b.set_args(&["true"]).set(
            "/annotations",
            json!({"org.systemd.property.TimeoutStopSec": "'soon'"}),
        );
        let out = create(&rt, &b, &id);
        assert_exit(&out, 1, "create with a bad systemd property");
        assert_one_error_line(&out, &["org.systemd.property.TimeoutStopSec"]);
        assert_no_leftovers(&rt, &id, &b);
        assert_eq!(prop(&format!("jinn-{id}.scope"), "LoadState"), "not-found");
    }
}

/// pause/resume freeze the scope; ps lists its processes; kill --all empties it;
/// an `org.systemd.property.*` annotation reaches the unit.
#[test]
fn pause_resume_ps_kill_all_on_the_scope() {
    require_systemd!();
    let id = unique_id();
    let unit = format!("jinn-test-{id}.scope");
    let _units = Units(vec![unit.clone()]);
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.sh("sleep 1000 & exec sleep 1001")
        .set(
            "/linux/cgroupsPath",
            json!(format!("system.slice:jinn-test:{id}")),
        )
        .set(
            "/annotations",
            json!({"org.systemd.property.TimeoutStopSec": "7"}),
        );
    let out = create(&rt, &b, &id);
    assert_success(&out, "create");
    assert_eq!(prop(&unit, "TimeoutStopUSec"), "7s");
    assert_success(&rt.start(&id), "start");
    let dir = cg_dir(&format!("/system.slice/{unit}"));
    wait_for("two processes in the scope", || procs(&dir).len() == 2);
    let out = rt.cmd(&["exec", &id, "cat", "/proc/self/cgroup"]);
    assert_success(&out, "exec");
    assert_in_cgroup(&stdout(&out), &format!("/system.slice/{unit}"));

    assert_success(&rt.cmd(&["pause", &id]), "pause");
    assert_eq!(read_cg(&dir, "cgroup.freeze"), "1");
    assert_eq!(rt.status(&id).as_deref(), Some("paused"));
    assert_success(&rt.cmd(&["resume", &id]), "resume");
    assert_eq!(read_cg(&dir, "cgroup.freeze"), "0");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));

    let out = rt.cmd(&["ps", "--format", "json", &id]);
    assert_success(&out, "ps");
    let mut listed: Vec<i32> = serde_json::from_str(&stdout(&out)).unwrap();
    let mut inside = procs(&dir);
    listed.sort();
    inside.sort();
    assert_eq!(listed, inside);

    assert_success(&rt.cmd(&["kill", "--all", &id, "KILL"]), "kill --all");
    rt.wait_status(&id, "stopped", WAIT);
    wait_for("the scope to empty", || procs(&dir).is_empty());
    assert_success(&rt.delete(&id), "delete");
    assert_unit_gone(&unit, &dir);
    assert_no_leftovers(&rt, &id, &b);
}

/// A name ending in `.slice` makes the container a slice unit of its own, nested as its
/// name says; the init joins it through the cgroup files. (runc 1.1 looks for the
/// slice's cgroup below the parent slice given, /system.slice/<name>.slice, where
/// systemd does not put it, so this is jinn only.)
#[test]
fn slice_unit() {
    require_systemd!();
    if Runtime::new().is_runc() {
        return;
    }
    let id = unique_id();
    let plain: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    let unit = format!("jinntest-{plain}.slice");
    let _units = Units(vec![unit.clone(), "jinntest.slice".into()]);
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["sleep", "1000"])
        .set(
            "/linux/cgroupsPath",
            json!(format!("system.slice:p:{unit}")),
        )
        .set(
            "/linux/resources",
            json!({"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 7}}),
        );
    let out = create(&rt, &b, &id);
    assert_success(&out, "create with a slice unit");
    let cgroup = format!("/jinntest.slice/{unit}");
    assert_eq!(prop(&unit, "ControlGroup"), cgroup);
    assert_eq!(prop(&unit, "ActiveState"), "active");
    let dir = cg_dir(&cgroup);
    assert_eq!(procs(&dir), [init_pid(&rt, &id)]);
    assert_eq!(read_cg(&dir, "pids.max"), "7");
    assert_eq!(prop(&unit, "TasksMax"), "7");
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_unit_gone(&unit, &dir);
    assert_no_leftovers(&rt, &id, &b);
}

/// `systemctl daemon-reload` re-applies every unit's properties to its cgroup. The
/// limits the runtime gave systemd as properties must survive it, and the device rules
/// (jinn's own eBPF program, not a systemd `DeviceAllow` list) must still hold.
#[test]
fn daemon_reload_keeps_the_limits_and_the_device_rules() {
    require_systemd!();
    let id = unique_id();
    let unit = format!("jinn-test-{id}.scope");
    let _units = Units(vec![unit.clone()]);
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .set_args(&["sleep", "1000"])
        .set(
            "/linux/cgroupsPath",
            json!(format!("system.slice:jinn-test:{id}")),
        )
        .set("/linux/resources/memory", json!({"limit": 104857600}))
        .set("/linux/resources/pids", json!({"limit": 42}));
    for set in ["bounding", "effective", "permitted"] {
        b.push(&format!("/process/capabilities/{set}"), "CAP_MKNOD".into());
    }
    assert_success(&create(&rt, &b, &id), "create --systemd-cgroup");
    assert_success(&rt.start(&id), "start");
    let dir = cg_dir(&format!("/system.slice/{unit}"));
    assert_eq!(read_cg(&dir, "memory.max"), "104857600");

    let reload = Command::new("systemctl")
        .arg("daemon-reload")
        .output()
        .expect("run systemctl");
    assert!(reload.status.success(), "daemon-reload: {reload:?}");
    // Let systemd re-apply the units (daemon-reload returns once it has reloaded).
    wait_for("the unit to be active again", || {
        prop(&unit, "ActiveState") == "active"
    });
    assert_eq!(
        read_cg(&dir, "memory.max"),
        "104857600",
        "memory.max after reload"
    );
    assert_eq!(read_cg(&dir, "pids.max"), "42", "pids.max after reload");

    let out = rt.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "mknod /tmp/null c 1 3 && echo x > /tmp/null; echo null=$?; \
         mknod /tmp/kmsg c 1 11 2>&1; (echo jinn-device-test > /tmp/kmsg) 2>&1; echo kmsg=$?",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("null=0"),
        "an allowed device (1:3) still works after the reload: {text}"
    );
    assert!(
        text.contains("kmsg=") && !text.contains("kmsg=0"),
        "a denied device (1:11) was written after the reload: the device rules are gone: {text}"
    );
    assert_success(
        &rt.cmd_global(SD, &["delete", "--force", &id]),
        "delete --force",
    );
    assert_unit_gone(&unit, &dir);
}
