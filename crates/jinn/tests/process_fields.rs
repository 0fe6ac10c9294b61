//! The runtime-spec 1.2/1.3 fields that are one system call each, checked from inside
//! real containers: `linux.personality`, `process.ioPriority`, `process.scheduler`,
//! `process.execCPUAffinity`, `linux.timeOffsets`, `linux.memoryPolicy` and
//! `linux.netDevices`. Bad values must fail `create` naming the field and leave nothing
//! behind.
//!
//! runc 1.1.5 predates all of these fields and ignores them: for runc only the
//! assertions on their effect (and on the refusal of bad values) are skipped.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

/// `run`s `b` with a harmless process and expects jinn to refuse it naming `field`.
#[track_caller]
fn expect_refused(rt: &Runtime, b: &mut Bundle, field: &str) {
    b.set_args(&["true"]);
    let id = rt.new_id();
    let out = rt.run(b, &id);
    if rt.is_jinn() {
        assert_exit(&out, 1, &format!("run with a bad {field}"));
        assert_one_error_line(&out, &[field]);
    } else if out.status.success() {
        // runc 1.1 does not know the field and runs the container.
        let _ = rt.delete_force(&id);
    }
    assert_no_leftovers(rt, &id, b);
}

/// /proc/1/status of the container's shell, parsed (the trailing `:` keeps sh pid 1).
fn status_with(rt: &Runtime, b: &mut Bundle) -> BTreeMap<String, String> {
    parse_status(&run_script(rt, b, "cat /proc/1/status; :"))
}

/// The `policy` and `prio` lines of /proc/1/sched inside a container of `b`.
fn sched_of_pid1(rt: &Runtime, b: &mut Bundle) -> (String, String) {
    let out = run_script(rt, b, "cat /proc/1/sched; :");
    let field = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.rsplit(':').next())
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} line in /proc/1/sched: {out}"))
    };
    (field("policy"), field("prio"))
}

// ---- linux.personality ---------------------------------------------------------------

#[test]
fn personality_linux32_makes_uname_report_a_32_bit_machine() {
    if std::env::consts::ARCH != "x86_64" {
        return; // LINUX32 shows i686 on x86_64 hosts; other hosts have other names.
    }
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/linux/personality", json!({"domain": "LINUX32"}));
    let out = run_script(&rt, &mut b, "uname -m");
    // runc 1.1 ignores linux.personality.
    if !rt.is_runc() {
        assert_eq!(out.trim(), "i686");
    }
    let mut b = Bundle::new();
    b.set("/linux/personality", json!({"domain": "LINUX"}));
    assert_eq!(run_script(&rt, &mut b, "uname -m").trim(), "x86_64");
}

#[test]
fn bad_personality_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/linux/personality", json!({"domain": "LINUX64"}));
    expect_refused(&rt, &mut b, "linux.personality.domain");
    let mut b = Bundle::new();
    b.set(
        "/linux/personality",
        json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
    );
    expect_refused(&rt, &mut b, "linux.personality.flags");
}

// ---- process.ioPriority --------------------------------------------------------------

#[test]
fn io_priority_is_set_for_the_process() {
    let rt = Runtime::new();
    for (class, priority, want) in [
        ("IOPRIO_CLASS_BE", 5, "best-effort: prio 5"),
        ("IOPRIO_CLASS_IDLE", 0, "idle"),
        ("IOPRIO_CLASS_RT", 2, "realtime: prio 2"),
    ] {
        let mut b = Bundle::new();
        b.set(
            "/process/ioPriority",
            json!({"class": class, "priority": priority}),
        );
        let out = run_script(&rt, &mut b, "ionice -p 1; :");
        // runc 1.1 ignores process.ioPriority.
        if !rt.is_runc() {
            assert_eq!(out.trim(), want, "{class} {priority}");
        }
    }
}

#[test]
fn bad_io_priority_is_refused() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_BE", "priority": 8}),
    );
    expect_refused(&rt, &mut b, "process.ioPriority.priority");
    let mut b = Bundle::new();
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_NONE", "priority": 0}),
    );
    expect_refused(&rt, &mut b, "process.ioPriority.class");
}

// ---- process.scheduler ---------------------------------------------------------------

#[test]
fn scheduler_policy_and_nice_are_set() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set(
        "/process/scheduler",
        json!({"policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}),
    );
    let (policy, prio) = sched_of_pid1(&rt, &mut b);
    // runc 1.1 ignores process.scheduler.
    if !rt.is_runc() {
        assert_eq!(
            (policy.as_str(), prio.as_str()),
            ("3", "125"),
            "SCHED_BATCH, nice 5"
        );
    }
    let mut b = Bundle::new();
    b.set("/process/scheduler", json!({"policy": "SCHED_IDLE"}));
    let (policy, _) = sched_of_pid1(&rt, &mut b);
    if !rt.is_runc() {
        assert_eq!(policy, "5", "SCHED_IDLE");
    }
}

#[test]
fn bad_scheduler_is_refused() {
    let rt = Runtime::new();
    let cases: [(Value, &str); 6] = [
        (json!({"policy": "SCHED_FAST"}), "process.scheduler.policy"),
        (
            json!({"policy": "SCHED_OTHER", "nice": 20}),
            "process.scheduler.nice",
        ),
        (
            json!({"policy": "SCHED_BATCH", "priority": 10}),
            "process.scheduler.priority",
        ),
        (
            json!({"policy": "SCHED_FIFO", "priority": 100}),
            "process.scheduler.priority",
        ),
        (
            json!({"policy": "SCHED_OTHER", "runtime": 1000}),
            "process.scheduler",
        ),
        (
            json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_FAST"]}),
            "process.scheduler.flags[0]",
        ),
    ];
    for (value, field) in cases {
        let mut b = Bundle::new();
        b.set("/process/scheduler", value);
        expect_refused(&rt, &mut b, field);
    }
}

// ---- process.execCPUAffinity ---------------------------------------------------------

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn exec_cpu_affinity_final_is_the_affinity_of_the_process() {
    let rt = Runtime::new();
    let last = cpus() - 1;
    let mut b = Bundle::new();
    b.set(
        "/process/execCPUAffinity",
        json!({"initial": "0", "final": last.to_string()}),
    );
    let st = status_with(&rt, &mut b);
    // runc 1.1 ignores process.execCPUAffinity.
    if !rt.is_runc() {
        assert_eq!(st["Cpus_allowed_list"], last.to_string());
    }
    if last > 0 {
        let mut b = Bundle::new();
        b.set(
            "/process/execCPUAffinity",
            json!({"final": format!("0-{last}")}),
        );
        let st = status_with(&rt, &mut b);
        assert_eq!(st["Cpus_allowed_list"], format!("0-{last}"));
    }
}

#[test]
fn exec_cpu_affinity_applies_to_exec_processes() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["sleep", "30"]);
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    let process = b.path().join("process.json");
    let mut p = b.config["process"].clone();
    p["args"] = json!(["cat", "/proc/self/status"]);
    p["execCPUAffinity"] = json!({"initial": "0", "final": "0"});
    std::fs::write(&process, serde_json::to_vec(&p).unwrap()).unwrap();
    let out = rt.cmd(&["exec", "--process", process.to_str().unwrap(), &id]);
    assert_success(&out, "exec");
    if !rt.is_runc() {
        assert_eq!(parse_status(&stdout(&out))["Cpus_allowed_list"], "0");
    }
    assert_success(&rt.kill(&id, "KILL"), "kill");
    rt.wait_status(&id, "stopped", CMD_TIMEOUT);
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn bad_exec_cpu_affinity_is_refused() {
    let rt = Runtime::new();
    for (value, field) in [
        (json!({"final": "1-0"}), "process.execCPUAffinity.final"),
        (json!({"initial": "0,x"}), "process.execCPUAffinity.initial"),
        (json!({"final": "4095"}), "process.execCPUAffinity.final"),
    ] {
        let mut b = Bundle::new();
        b.set("/process/execCPUAffinity", value);
        expect_refused(&rt, &mut b, field);
    }
}

// ---- linux.timeOffsets ---------------------------------------------------------------

#[test]
fn time_offsets_shift_the_clocks_of_the_new_time_namespace() {
    let rt = Runtime::new();
    if rt.is_runc() {
        return; // runc 1.1 knows no time namespace ("namespace time does not exist").
    }
    let mut b = Bundle::new();
    b.add_namespace("time").set(
        "/linux/timeOffsets",
        json!({
            "monotonic": {"secs": 86400, "nanosecs": 5},
            "boottime": {"secs": 1000000, "nanosecs": 0}
        }),
    );
    let out = run_script(
        &rt,
        &mut b,
        "cat /proc/self/timens_offsets; cat /proc/uptime",
    );
    let lines: Vec<&str> = out.lines().collect();
    let offsets: Vec<Vec<&str>> = lines[..2]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(offsets.contains(&vec!["monotonic", "86400", "5"]), "{out}");
    assert!(offsets.contains(&vec!["boottime", "1000000", "0"]), "{out}");
    let uptime: f64 = lines[2].split_whitespace().next().unwrap().parse().unwrap();
    assert!(uptime >= 1_000_000.0, "uptime inside: {uptime}");
    // The host (and jinn's own time namespace) keep their clocks.
    let host = std::fs::read_to_string("/proc/self/timens_offsets").unwrap();
    assert!(
        host.lines()
            .all(|l| l.split_whitespace().skip(1).all(|v| v == "0")),
        "{host}"
    );
}

#[test]
fn bad_time_offsets_are_refused() {
    let rt = Runtime::new();
    // No time namespace.
    let mut b = Bundle::new();
    b.set("/linux/timeOffsets", json!({"monotonic": {"secs": 10}}));
    expect_refused(&rt, &mut b, "linux.timeOffsets");
    let mut b = Bundle::new();
    b.add_namespace("time")
        .set("/linux/timeOffsets", json!({"realtime": {"secs": 10}}));
    expect_refused(&rt, &mut b, "linux.timeOffsets.realtime");
    let mut b = Bundle::new();
    b.add_namespace("time").set(
        "/linux/timeOffsets",
        json!({"boottime": {"secs": 1, "nanosecs": 1000000000u32}}),
    );
    expect_refused(&rt, &mut b, "linux.timeOffsets.boottime.nanosecs");
}

// ---- linux.memoryPolicy --------------------------------------------------------------

/// The policy column of the first line of /proc/self/numa_maps inside a container of `b`
/// (the task policy, for a mapping without its own); `None` without NUMA support.
fn numa_policy(rt: &Runtime, b: &mut Bundle) -> Option<String> {
    let out = run_script(rt, b, "head -1 /proc/self/numa_maps 2>/dev/null; :");
    out.split_whitespace().nth(1).map(str::to_string)
}

#[test]
fn memory_policy_is_the_policy_of_the_process() {
    if !std::path::Path::new("/proc/self/numa_maps").exists() {
        return; // a kernel without CONFIG_NUMA
    }
    let rt = Runtime::new();
    for (policy, want) in [
        (json!({"mode": "MPOL_BIND", "nodes": "0"}), "bind:0"),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "interleave=static:0",
        ),
        (json!({"mode": "MPOL_PREFERRED", "nodes": "0"}), "prefer:0"),
        (json!({"mode": "MPOL_LOCAL"}), "local"),
    ] {
        let mut b = Bundle::new();
        b.set("/linux/memoryPolicy", policy.clone());
        let got = numa_policy(&rt, &mut b);
        // runc 1.1 ignores linux.memoryPolicy.
        if !rt.is_runc() {
            assert_eq!(got.as_deref(), Some(want), "{policy}");
        }
    }
}

#[test]
fn bad_memory_policy_is_refused() {
    let rt = Runtime::new();
    for (value, field) in [
        (json!({"mode": "MPOL_FAST"}), "linux.memoryPolicy.mode"),
        (json!({"mode": "MPOL_BIND"}), "linux.memoryPolicy.nodes"),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "1000"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_DEFAULT", "nodes": "0"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0",
                   "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
            "linux.memoryPolicy.flags",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_FAST"]}),
            "linux.memoryPolicy.flags[0]",
        ),
    ] {
        let mut b = Bundle::new();
        b.set("/linux/memoryPolicy", value);
        expect_refused(&rt, &mut b, field);
    }
}

// ---- linux.netDevices ----------------------------------------------------------------

/// A veth pair made on the host for a test (`ip link add NAME type veth peer name
/// PEER`), removed on drop, also on panic (whichever end is still on the host).
struct HostVeth(&'static str, &'static str);

impl HostVeth {
    fn new(name: &'static str, peer: &'static str) -> Self {
        let v = HostVeth(name, peer);
        v.remove();
        ip(&["link", "add", name, "type", "veth", "peer", "name", peer]);
        v
    }

    fn remove(&self) {
        for dev in [self.0, self.1] {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", dev])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for HostVeth {
    fn drop(&mut self) {
        self.remove();
    }
}

#[track_caller]
fn ip(args: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn host_has(dev: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(dev).exists()
}

#[test]
fn net_device_is_moved_into_the_container_renamed_with_its_address() {
    let rt = Runtime::new();
    let veth = HostVeth::new("jinnt0", "jinnt0p");
    ip(&["addr", "add", "10.123.45.6/24", "dev", "jinnt0"]);
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"jinnt0": {"name": "ctr0"}}));
    b.sh("ip addr show ctr0; sleep 30");
    let id = rt.new_id();
    let out = rt.create(&b, &id);
    assert_success(&out, "create");
    // runc 1.1 ignores linux.netDevices: the device stays on the host.
    if !rt.is_runc() {
        assert!(!host_has("jinnt0"), "jinnt0 is still on the host");
    }
    let pid = rt.state(&id).unwrap()["pid"].as_i64().unwrap();
    let inside = std::process::Command::new("nsenter")
        .args([&format!("--net=/proc/{pid}/ns/net"), "ip", "addr", "show"])
        .output()
        .unwrap();
    let inside = text(&inside.stdout);
    if !rt.is_runc() {
        let line = inside
            .lines()
            .find(|l| l.contains(": ctr0@") || l.contains(": ctr0:"))
            .unwrap_or_else(|| panic!("no ctr0 in the container: {inside}"));
        assert!(
            line.contains(",UP") || line.contains("<UP"),
            "ctr0 is not up: {line}"
        );
        assert!(
            inside.contains("inet 10.123.45.6/24"),
            "address lost: {inside}"
        );
    }
    assert_success(&rt.kill(&id, "KILL"), "kill");
    rt.wait_status(&id, "stopped", CMD_TIMEOUT);
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
    // jinn does not move it back (config-linux.md forbids it): the namespace is gone and
    // the kernel destroyed the virtual device with it.
    if !rt.is_runc() {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while host_has("jinnt0p") && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(!host_has("jinnt0"), "jinnt0 came back");
        assert!(
            !host_has("jinnt0p"),
            "the veth pair was not destroyed with the namespace"
        );
    }
    drop(veth);
}

#[test]
fn net_device_template_name_is_filled_in_by_the_kernel() {
    let rt = Runtime::new();
    if rt.is_runc() {
        return; // runc 1.1 ignores linux.netDevices.
    }
    let _veth = HostVeth::new("jinnt1", "jinnt1p");
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"jinnt1": {"name": "vx%d"}}));
    let out = run_script(&rt, &mut b, "ip -o link show");
    assert!(out.contains(": vx0@"), "{out}");
}

#[test]
fn bad_net_devices_are_refused() {
    let rt = Runtime::new();
    let _veth = HostVeth::new("jinnt2", "jinnt2p");
    // No new network namespace.
    let mut b = Bundle::new();
    b.remove_namespace("network")
        .set("/linux/netDevices", json!({"jinnt2": {}}));
    expect_refused(&rt, &mut b, "linux.netDevices");
    // Bad names.
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"jinnt2": {"name": "a/b"}}));
    expect_refused(&rt, &mut b, "linux.netDevices.jinnt2.name");
    let mut b = Bundle::new();
    b.set(
        "/linux/netDevices",
        json!({"jinnt2": {"name": "averyveryverylongname"}}),
    );
    expect_refused(&rt, &mut b, "linux.netDevices.jinnt2.name");
    // A device that does not exist, and a name taken inside (lo): refused at create, the
    // host device left where it was.
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"jinnnone": {}}));
    expect_refused(&rt, &mut b, "linux.netDevices");
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"jinnt2": {"name": "lo"}}));
    expect_refused(&rt, &mut b, "linux.netDevices");
    assert!(host_has("jinnt2"), "jinnt2 was lost");
}
