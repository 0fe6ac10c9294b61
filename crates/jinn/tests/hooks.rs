//! OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): when each
//! hook runs, in which namespaces, with which state on its stdin, argv and env, and
//! what a failing or hanging hook does to the operation.
//!
//! Every hook is a small recorder script: it writes what it saw (its stdin, its
//! `/proc/self/ns/{mnt,pid,net,uts}`, its argv and environ, and an optional extra
//! check) to `<rootfs>/rec/<label>.out` and appends its label to `<rootfs>/rec/order`,
//! then exits with `$EXIT`. The host-side hooks are scripts in a host temp dir run by
//! the host's `/bin/sh`; the startContainer hook is the same script put in the
//! bundle's rootfs at `/hookbin/record` (no such path on the host), run by busybox,
//! and it writes to `/rec` in the container, which is `<rootfs>/rec` on the host.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test hooks`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(10);

/// The namespaces compared between a hook, the host and the container's init.
const NS: [&str; 4] = ["mnt", "pid", "net", "uts"];

/// Where the startContainer hook script lives inside the container.
const CONTAINER_SCRIPT: &str = "/hookbin/record";

/// The recorder: `record <label>` (argv[1] is the label, whatever argv[0] is).
const RECORDER: &str = r#"#!/bin/sh
label="$1"
{
  echo "@@state"
  cat
  echo
  echo "@@ns"
  for n in mnt pid net uts; do echo "$n $(readlink /proc/self/ns/$n)"; done
  # Opened by the shell itself: its $$ is a pid of its own pid namespace, which is
  # not the one of /proc in a createContainer hook.
  exec 3< /proc/self/cmdline 4< /proc/self/environ
  echo "@@cmdline"
  tr '\0' '\n' <&3
  echo "@@environ"
  tr '\0' '\n' <&4
  echo "@@extra"
  if [ -n "$EXTRA" ]; then eval "$EXTRA"; fi
} > "$REC/$label.out" 2>&1
echo "$label" >> "$REC/order"
exit "${EXIT:-0}"
"#;

/// What one hook recorded.
#[derive(Debug)]
struct Record {
    state: Value,
    ns: BTreeMap<String, String>,
    argv: Vec<String>,
    env: Vec<String>,
    extra: String,
}

/// `readlink /proc/<pid>/ns/<n>` for the namespaces of [`NS`].
fn namespaces_of(pid: &str) -> BTreeMap<String, String> {
    NS.iter()
        .map(|n| {
            let link = fs::read_link(format!("/proc/{pid}/ns/{n}"))
                .unwrap_or_else(|e| panic!("readlink /proc/{pid}/ns/{n}: {e}"));
            (n.to_string(), link.to_string_lossy().into_owned())
        })
        .collect()
}

/// A bundle whose config gets recorder hooks, a runtime, and a host dir for the scripts.
struct Setup {
    rt: Runtime,
    b: Bundle,
    host: TempDir,
    id: String,
}

impl Setup {
    /// A writable busybox bundle (the startContainer hook writes to `/rec`) whose
    /// process appends `process` to the order file, then runs `then`.
    fn new(then: &str) -> Setup {
        let rt = Runtime::new();
        let mut b = Bundle::new();
        b.set_readonly_root(false)
            .sh(&format!("echo process >> /rec/order; {then}"))
            .set("/annotations", json!({ "org.jinn.test": "hooks" }));
        let host = tempfile::Builder::new()
            .prefix("jinn-test-hooks-")
            .tempdir()
            .expect("create the hooks temp dir");
        let script = host.path().join("record");
        fs::write(&script, RECORDER).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        write_rootfs_file(&b, CONTAINER_SCRIPT, RECORDER);
        fs::set_permissions(
            b.rootfs().join(CONTAINER_SCRIPT.trim_start_matches('/')),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let rec = b.rootfs().join("rec");
        fs::create_dir(&rec).unwrap();
        fs::set_permissions(&rec, fs::Permissions::from_mode(0o777)).unwrap();
        let id = rt.new_id();
        Setup { rt, b, host, id }
    }

    /// The host path of the recorder script.
    fn host_script(&self) -> String {
        self.host
            .path()
            .join("record")
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The recorder's path as the hook of `kind` must name it.
    fn script_for(&self, kind: &str) -> String {
        if kind == "startContainer" {
            CONTAINER_SCRIPT.to_string()
        } else {
            self.host_script()
        }
    }

    /// The env a recorder hook of `kind` is given (all of it: hooks get exactly this).
    fn env_for(&self, kind: &str, exit: i32, extra: &str) -> Vec<String> {
        let rec = if kind == "startContainer" {
            "/rec".to_string()
        } else {
            self.rec_dir().to_str().unwrap().to_string()
        };
        vec![
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            format!("REC={rec}"),
            "HOOK_VALUE=a=b  c".to_string(),
            format!("EXIT={exit}"),
            format!("EXTRA={extra}"),
        ]
    }

    /// Appends a recorder hook of `kind` that records under `label`, then exits `exit`.
    fn add(&mut self, kind: &str, label: &str, exit: i32, extra: &str) -> &mut Self {
        let hook = json!({
            "path": self.script_for(kind),
            "args": ["record", label],
            "env": self.env_for(kind, exit, extra),
        });
        self.add_raw(kind, hook)
    }

    fn add_raw(&mut self, kind: &str, hook: Value) -> &mut Self {
        self.b.push(&format!("/hooks/{kind}"), hook);
        self
    }

    fn rec_dir(&self) -> PathBuf {
        self.b.rootfs().join("rec")
    }

    /// The labels in the order the hooks (and the process) ran.
    fn order(&self) -> Vec<String> {
        fs::read_to_string(self.rec_dir().join("order"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn ran(&self, label: &str) -> bool {
        self.order().iter().any(|l| l == label)
    }

    /// Waits until `label` is in the order file (the program may still be starting
    /// when `start` returns).
    #[track_caller]
    fn wait_ran(&self, label: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.ran(label) {
            assert!(
                Instant::now() < deadline,
                "{label} did not run: {:?}",
                self.order()
            );
            sleep(Duration::from_millis(5));
        }
    }

    /// What the hook `label` recorded (fails the test when it did not run).
    #[track_caller]
    fn record(&self, label: &str) -> Record {
        let path = self.rec_dir().join(format!("{label}.out"));
        let raw = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "hook {label} did not run ({}: {e}); order: {:?}",
                path.display(),
                self.order()
            )
        });
        let s = sections(&raw);
        let state = serde_json::from_str(s.get("state").map(String::as_str).unwrap_or(""))
            .unwrap_or_else(|e| panic!("hook {label}: stdin is not the state JSON ({e}): {raw}"));
        let ns = s["ns"]
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lines = |k: &str| s[k].lines().map(str::to_string).collect::<Vec<_>>();
        Record {
            state,
            ns,
            argv: lines("cmdline"),
            env: lines("environ"),
            extra: s["extra"].clone(),
        }
    }

    fn create(&self) -> std::process::Output {
        self.rt.create(&self.b, &self.id)
    }

    /// The host pid of the container's init, from `state`.
    fn init_pid(&self) -> String {
        let st = self
            .rt
            .state(&self.id)
            .expect("state of the created container");
        st["pid"].as_u64().expect("state has a pid").to_string()
    }

    /// Deletes the container if the runtime still knows it, then checks nothing is left.
    #[track_caller]
    fn cleanup(&self) {
        if self.rt.state(&self.id).is_some() {
            assert_success(&self.rt.delete_force(&self.id), "delete --force");
        }
        assert_no_leftovers(&self.rt, &self.id, &self.b);
    }
}

/// What a complete lifecycle with every hook recording showed.
struct Lifecycle {
    s: Setup,
    pid: String,
    host_ns: BTreeMap<String, String>,
    init_ns: BTreeMap<String, String>,
}

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// create, start, kill, delete a container with two recorder hooks of every kind
/// (`<kind>` then `<kind>-2`); `extra(setup, kind)` is the extra check of `<kind>`.
fn lifecycle(extra: impl Fn(&Setup, &str) -> String) -> Lifecycle {
    let mut s = Setup::new("exec sleep 30");
    for kind in KINDS {
        let e = extra(&s, kind);
        s.add(kind, kind, 0, &e);
        s.add(kind, &format!("{kind}-2"), 0, "");
    }
    let host_ns = namespaces_of("self");
    assert_success(&s.create(), "create");
    let pid = s.init_pid();
    let init_ns = namespaces_of(&pid);
    assert_success(&s.rt.start(&s.id), "start");
    s.wait_ran("process");
    assert_success(&s.rt.kill(&s.id, "KILL"), "kill");
    s.rt.wait_status(&s.id, "stopped", WAIT);
    assert_success(&s.rt.delete(&s.id), "delete");
    assert_no_leftovers(&s.rt, &s.id, &s.b);
    Lifecycle {
        s,
        pid,
        host_ns,
        init_ns,
    }
}

impl Lifecycle {
    /// Checks the common fields of the state a hook read.
    #[track_caller]
    fn assert_state(&self, r: &Record, kind: &str, status: &str) {
        assert_eq!(r.state["status"], status, "{kind}: {}", r.state);
        assert_eq!(r.state["id"], self.s.id.as_str(), "{kind}: {}", r.state);
        assert_eq!(
            r.state["bundle"],
            self.s.b.path_str(),
            "{kind}: {}",
            r.state
        );
        assert!(r.state["ociVersion"].is_string(), "{kind}: {}", r.state);
        assert_eq!(
            r.state["annotations"]["org.jinn.test"], "hooks",
            "{kind}: {}",
            r.state
        );
    }

    #[track_caller]
    fn assert_runtime_namespaces(&self, r: &Record, kind: &str) {
        assert_eq!(
            r.ns, self.host_ns,
            "{kind} must run in the runtime namespace (the host's)"
        );
    }

    #[track_caller]
    fn assert_container_namespaces(&self, r: &Record, kind: &str) {
        assert_eq!(
            r.ns, self.init_ns,
            "{kind} must run in the container namespace (the init's)"
        );
        assert_ne!(r.ns["mnt"], self.host_ns["mnt"]);
    }
}

// ---------------------------------------------------------------------------
// When and where each hook runs, and what it reads
// ---------------------------------------------------------------------------

#[test]
fn hooks_run_in_lifecycle_order() {
    let l = lifecycle(|_, _| String::new());
    let order = l.s.order();
    let pos = |label: &str| {
        order
            .iter()
            .position(|l| l == label)
            .unwrap_or_else(|| panic!("{label} did not run; order: {order:?}"))
    };
    // config.md: "Hooks MUST be called in the listed order": within a kind, config order.
    for kind in KINDS {
        assert!(
            pos(kind) < pos(&format!("{kind}-2")),
            "{kind} hooks out of config order: {order:?}"
        );
        assert_eq!(
            order.iter().filter(|l| l.starts_with(kind)).count(),
            2,
            "each {kind} hook runs once: {order:?}"
        );
    }
    let mut chain = vec![
        "prestart-2",
        "createRuntime",
        "createRuntime-2",
        "createContainer",
        "createContainer-2",
        "startContainer",
    ];
    if l.s.rt.is_runc() {
        // runc 1.1 runs poststart hooks in `create` (before startContainer), against
        // config.md "The poststart hooks MUST be called after the user-specified process
        // is executed but before the start operation returns".
        chain.push("poststop");
    } else {
        chain.extend(["poststart", "poststart-2", "poststop"]);
    }
    for w in chain.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{} before {}: {order:?}", w[0], w[1]);
    }
    // The program runs after startContainer (runtime.md lifecycle steps 7, 8) and
    // before the container is deleted.
    assert!(pos("startContainer-2") < pos("process"), "{order:?}");
    assert!(pos("process") < pos("poststop"), "{order:?}");
}

#[test]
fn prestart_hook_runs_in_the_runtime_namespace_while_creating() {
    let l = lifecycle(|_, _| String::new());
    let r = l.s.record("prestart");
    l.assert_state(&r, "prestart", "creating");
    assert_eq!(
        r.state["pid"].to_string(),
        l.pid,
        "pid as the runtime sees it"
    );
    l.assert_runtime_namespaces(&r, "prestart");
}

#[test]
fn create_runtime_hook_runs_in_the_runtime_namespace_while_creating() {
    let l = lifecycle(|_, _| String::new());
    let r = l.s.record("createRuntime");
    l.assert_state(&r, "createRuntime", "creating");
    assert_eq!(
        r.state["pid"].to_string(),
        l.pid,
        "pid as the runtime sees it"
    );
    l.assert_runtime_namespaces(&r, "createRuntime");
}

#[test]
fn create_container_hook_runs_in_the_container_namespaces_before_pivot_root() {
    let l = lifecycle(|_, kind| match kind {
        "createContainer" => "cat /proc/self/mountinfo".to_string(),
        _ => String::new(),
    });
    let r = l.s.record("createContainer");
    l.assert_state(&r, "createContainer", "creating");
    // runtime.md: "For hooks executed in the container namespace, it is the pid as seen
    // by the container": pid 1 of the container's own pid namespace.
    assert_eq!(r.state["pid"], 1, "{}", r.state);
    l.assert_container_namespaces(&r, "createContainer");
    // Before pivot_root, after the mounts: the host paths are still there (the hook's
    // host path resolved) and the container's /proc is mounted at <rootfs>/proc.
    let mounts = parse_mountinfo(&r.extra);
    let proc_at = l.s.b.rootfs().join("proc");
    assert!(
        mounts
            .iter()
            .any(|m| Path::new(&m.mount_point) == proc_at && m.fstype == "proc"),
        "no proc mount at {} in the hook's mountinfo:\n{}",
        proc_at.display(),
        r.extra
    );
}

#[test]
fn start_container_hook_runs_in_the_container_after_pivot_root_while_created() {
    // After pivot_root the host's paths are gone and / is the rootfs.
    let l = lifecycle(|s, kind| {
        match kind {
        "startContainer" => format!(
            "[ -e {} ] && echo host-path-visible; [ -x {CONTAINER_SCRIPT} ] && echo script-at-container-path",
            s.host_script()
        ),
        _ => String::new(),
    }
    });
    assert!(
        !Path::new(CONTAINER_SCRIPT).exists(),
        "{CONTAINER_SCRIPT} must not exist on the host for this test"
    );
    let r = l.s.record("startContainer");
    l.assert_state(&r, "startContainer", "created");
    assert_eq!(
        r.state["pid"], 1,
        "pid as seen by the container: {}",
        r.state
    );
    l.assert_container_namespaces(&r, "startContainer");
    assert_eq!(
        r.extra.trim(),
        "script-at-container-path",
        "after pivot_root / is the rootfs"
    );
}

#[test]
fn poststart_hook_runs_in_the_runtime_namespace_while_running() {
    let l = lifecycle(|_, _| String::new());
    let r = l.s.record("poststart");
    if l.s.rt.is_runc() {
        // runc 1.1 runs poststart hooks in `create`, so they see "created"; the spec
        // (config.md Poststart) calls them after the program is executed, in `start`.
        l.assert_state(&r, "poststart", "created");
    } else {
        l.assert_state(&r, "poststart", "running");
    }
    assert_eq!(
        r.state["pid"].to_string(),
        l.pid,
        "pid as the runtime sees it"
    );
    l.assert_runtime_namespaces(&r, "poststart");
}

#[test]
fn poststop_hook_runs_in_the_runtime_namespace_after_delete() {
    // config.md Poststop: "called after the container is deleted": its state is gone.
    let l = lifecycle(|s, kind| match kind {
        "poststop" => format!(
            "[ -e {} ] && echo state-dir-present || echo state-dir-gone",
            s.rt.root().join(&s.id).display()
        ),
        _ => String::new(),
    });
    let r = l.s.record("poststop");
    l.assert_state(&r, "poststop", "stopped");
    l.assert_runtime_namespaces(&r, "poststop");
    assert_eq!(r.extra.trim(), "state-dir-gone");
}

#[test]
fn hook_args_are_argv_and_env_is_exactly_as_given() {
    // args[0] is argv[0] (execv semantics): /bin/sh runs the recorder with a made-up
    // argv[0], which /proc/<pid>/cmdline shows. Busybox picks its applet by the base
    // name of argv[0], so the container one ends in "/sh".
    let mut s = Setup::new("exec sleep 30");
    for kind in KINDS {
        let script = s.script_for(kind);
        let hook = json!({
            "path": "/bin/sh",
            "args": [format!("/argv0/{kind}/sh"), script, kind, "two  words", ""],
            "env": s.env_for(kind, 0, ""),
        });
        s.add_raw(kind, hook);
    }
    assert_success(&s.create(), "create");
    assert_success(&s.rt.start(&s.id), "start");
    s.wait_ran("process");
    assert_success(&s.rt.kill(&s.id, "KILL"), "kill");
    s.rt.wait_status(&s.id, "stopped", WAIT);
    assert_success(&s.rt.delete(&s.id), "delete");
    for kind in KINDS {
        let r = s.record(kind);
        assert_eq!(
            r.argv,
            vec![
                format!("/argv0/{kind}/sh"),
                s.script_for(kind),
                kind.to_string(),
                "two  words".to_string(),
                String::new(),
            ],
            "{kind}: argv"
        );
        assert_eq!(r.env, s.env_for(kind, 0, ""), "{kind}: environ");
    }
    s.cleanup();
}

// ---------------------------------------------------------------------------
// Failing hooks
// ---------------------------------------------------------------------------

/// A failing create-time hook (`kind`): create fails, later hooks and the program do not
/// run, nothing is left, and the poststop hooks still run (runtime.md lifecycle steps
/// 3, 4, 5: "generate an error, stop the container, and continue the lifecycle at step
/// 12"; step 13 runs the poststop hooks).
fn failing_create_hook(kind: &str) {
    let mut s = Setup::new("exec sleep 30");
    for k in ["prestart", "createRuntime", "createContainer"] {
        s.add(k, k, if k == kind { 3 } else { 0 }, "");
        s.add(k, &format!("{k}-2"), 0, "");
    }
    s.add("startContainer", "startContainer", 0, "");
    s.add("poststart", "poststart", 0, "");
    s.add("poststop", "poststop", 0, "");
    let out = s.create();
    assert_failure(&out, &format!("create with a failing {kind} hook"));
    if s.rt.is_jinn() {
        assert_one_error_line(&out, &[kind, &s.host_script()]);
    }
    let order = s.order();
    let expect_before: Vec<String> = ["prestart", "createRuntime", "createContainer"]
        .iter()
        .take_while(|k| **k != kind)
        .flat_map(|k| [k.to_string(), format!("{k}-2")])
        .chain([kind.to_string()])
        .collect();
    assert_eq!(
        order[..expect_before.len().min(order.len())],
        expect_before[..],
        "hooks up to the failing one ran, in order: {order:?}"
    );
    for label in [
        &format!("{kind}-2")[..],
        "startContainer",
        "process",
        "poststart",
    ] {
        assert!(!s.ran(label), "{label} ran after {kind} failed: {order:?}");
    }
    assert!(
        s.ran("poststop"),
        "poststop hooks run after a failed {kind} hook (lifecycle step 13): {order:?}"
    );
    assert_eq!(s.record("poststop").state["status"], "stopped");
    assert!(
        s.rt.state(&s.id).is_none(),
        "the container must not exist after a failed create"
    );
    assert_no_leftovers(&s.rt, &s.id, &s.b);
}

#[test]
fn failing_prestart_hook_fails_create_and_leaves_nothing() {
    failing_create_hook("prestart");
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    failing_create_hook("createRuntime");
}

#[test]
fn failing_create_container_hook_fails_create_and_leaves_nothing() {
    failing_create_hook("createContainer");
}

#[test]
fn failing_start_container_hook_fails_start_and_the_program_never_runs() {
    let mut s = Setup::new("exec sleep 30");
    s.add("startContainer", "startContainer", 3, "");
    s.add("startContainer", "startContainer-2", 0, "");
    s.add("poststart", "poststart", 0, "");
    assert_success(&s.create(), "create");
    let out = s.rt.start(&s.id);
    if s.rt.is_runc() {
        // runc 1.1 `start` returns once the init was told to go, before the init runs
        // the startContainer hooks, so it exits 0; runtime.md lifecycle step 7: "If any
        // startContainer hook fails, the runtime MUST generate an error".
    } else {
        assert_failure(&out, "start with a failing startContainer hook");
    }
    if s.rt.is_jinn() {
        assert_one_error_line(&out, &["startContainer", CONTAINER_SCRIPT]);
    }
    // "stop the container": it is not running (stopped, or already destroyed).
    let deadline = Instant::now() + WAIT;
    loop {
        let st = s.rt.status(&s.id);
        if st.is_none() || st.as_deref() == Some("stopped") {
            break;
        }
        assert!(Instant::now() < deadline, "container still {st:?}");
        sleep(Duration::from_millis(10));
    }
    let order = s.order();
    assert!(s.ran("startContainer"), "{order:?}");
    for label in ["startContainer-2", "process"] {
        assert!(
            !s.ran(label),
            "{label} ran after startContainer failed: {order:?}"
        );
    }
    if !s.rt.is_runc() {
        // runc 1.1 ran poststart already in `create` (see hooks_run_in_lifecycle_order).
        assert!(!s.ran("poststart"), "{order:?}");
    }
    s.cleanup();
}

#[test]
fn failing_poststart_hook_fails_start_and_stops_the_container() {
    let mut s = Setup::new("exec sleep 30");
    s.add("poststart", "poststart", 3, "");
    s.add("poststart", "poststart-2", 0, "");
    s.add("poststop", "poststop", 0, "");
    let created = s.create();
    if s.rt.is_runc() {
        // runc 1.1 runs poststart in `create` and fails it there; the spec (runtime.md
        // lifecycle step 9) runs them in `start` and fails the start.
        assert_failure(&created, "runc create with a failing poststart hook");
        assert!(!s.ran("poststart-2"), "{:?}", s.order());
        s.cleanup();
        return;
    }
    assert_success(&created, "create");
    let out = s.rt.start(&s.id);
    assert_failure(&out, "start with a failing poststart hook");
    if s.rt.is_jinn() {
        assert_one_error_line(&out, &["poststart", &s.host_script()]);
    }
    assert!(
        s.ran("poststart") && !s.ran("poststart-2"),
        "{:?}",
        s.order()
    );
    // runtime.md lifecycle step 9: "stop the container".
    s.rt.wait_status(&s.id, "stopped", WAIT);
    s.cleanup();
}

#[test]
fn failing_poststop_hook_is_a_warning_and_the_next_poststop_hook_runs() {
    let mut s = Setup::new("exec sleep 30");
    s.add("poststop", "poststop", 3, "");
    s.add("poststop", "poststop-2", 0, "");
    assert_success(&s.create(), "create");
    assert_success(&s.rt.start(&s.id), "start");
    s.wait_ran("process");
    assert_success(&s.rt.kill(&s.id, "KILL"), "kill");
    s.rt.wait_status(&s.id, "stopped", WAIT);
    let out = s.rt.delete(&s.id);
    assert_success(&out, "delete with a failing poststop hook");
    assert!(s.ran("poststop"), "{:?}", s.order());
    assert!(s.rt.state(&s.id).is_none(), "deleted");
    assert_no_leftovers(&s.rt, &s.id, &s.b);
    if s.rt.is_runc() {
        // runc 1.1 logs the failure as an error and skips the remaining poststop hooks,
        // against runtime.md lifecycle step 13: "If any poststop hook fails, the runtime
        // MUST log a warning, but the remaining hooks and lifecycle continue as if the
        // hook had succeeded".
        return;
    }
    let err = stderr(&out);
    assert!(
        err.contains("level=warning") && err.contains(&s.host_script()),
        "a warning naming the hook: {err:?}"
    );
    assert!(s.ran("poststop-2"), "{:?}", s.order());
}

#[test]
fn hook_past_its_timeout_is_killed_and_create_fails() {
    let mut s = Setup::new("exec sleep 30");
    // A private copy of sleep, to find the hook's process by its executable.
    let sleeper = s.host.path().join("hook-sleep");
    fs::copy("/bin/sleep", &sleeper).expect("copy /bin/sleep");
    let sleeper = sleeper.to_str().unwrap().to_string();
    s.add_raw(
        "createRuntime",
        json!({ "path": sleeper, "args": ["sleep", "30"], "timeout": 1 }),
    );
    s.add("createContainer", "createContainer", 0, "");
    let t0 = Instant::now();
    let out = s.create();
    let took = t0.elapsed();
    assert_failure(&out, "create with a hook past its timeout");
    assert!(took < Duration::from_secs(10), "create took {took:?}");
    if s.rt.is_jinn() {
        assert_one_error_line(&out, &["createRuntime", &sleeper]);
    }
    assert!(!s.ran("createContainer"), "{:?}", s.order());
    // The hook was killed, not left behind.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let alive: Vec<_> = fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                fs::read_link(e.path().join("exe"))
                    .is_ok_and(|x| x.to_string_lossy().starts_with(&sleeper))
            })
            .map(|e| e.file_name())
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "hook still running: {alive:?}");
        sleep(Duration::from_millis(20));
    }
    assert_no_leftovers(&s.rt, &s.id, &s.b);
}

#[test]
fn a_state_larger_than_a_pipe_is_read_whole_and_does_not_defeat_the_timeout() {
    // 256 KiB of annotations: more than a pipe holds, so the runtime must not block
    // writing it to a hook that does not read its stdin.
    let big = "x".repeat(256 * 1024);
    let mut s = Setup::new("exec sleep 30");
    s.b.set("/annotations/org.jinn.big", big.clone().into());
    s.add("createRuntime", "createRuntime", 0, "");
    assert_success(&s.create(), "create with a large state");
    let r = s.record("createRuntime");
    assert_eq!(r.state["annotations"]["org.jinn.big"], big.as_str());
    s.cleanup();

    let mut s = Setup::new("exec sleep 30");
    s.b.set("/annotations/org.jinn.big", big.into());
    let sleeper = s.host.path().join("hook-sleep");
    fs::copy("/bin/sleep", &sleeper).expect("copy /bin/sleep");
    s.add_raw(
        "createRuntime",
        json!({ "path": sleeper, "args": ["sleep", "30"], "timeout": 1 }),
    );
    let t0 = Instant::now();
    let out = s.create();
    let took = t0.elapsed();
    assert_failure(
        &out,
        "create with a hook that ignores its stdin past its timeout",
    );
    assert!(took < Duration::from_secs(10), "create took {took:?}");
    assert_no_leftovers(&s.rt, &s.id, &s.b);
}
