//! The test cases. Runtime-level rules (runtime.md) are checked from outside
//! through the CLI; config rules are checked from inside by the checker,
//! whose TAP lines are relayed under the case's name.

use crate::harness::{cgroup_dirs, host_facts, pid_alive, wait_file, Bundle, Case};
use crate::host::{host_has, netns_holder};
use crate::steps::{
    create, create_ok, create_saved, created_clean, delete_clean, delete_ok, force_delete_clean,
    kill_delete, kill_stop, no_leftovers, read_lines, read_text, require_ok, run_to_exit, start_ok,
    state_pid, CREATE, DELETE_CLEAN, STEP12_CLEAN,
};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Ctx {
    pub checker: PathBuf,
}

pub type CaseFn = fn(&mut Case, &Ctx);

pub fn all() -> Vec<(&'static str, CaseFn)> {
    let mut v: Vec<(&'static str, CaseFn)> = vec![
        ("lifecycle", lifecycle),
        ("kill-created", kill_created),
        ("kill-signal", kill_signal),
        ("delete-created", delete_created),
        ("nonexistent-id", nonexistent_id),
        ("duplicate-id", duplicate_id),
        ("bad-config-json", bad_config_json),
        ("bad-config-rootfs", bad_config_rootfs),
        ("bad-config-cwd-relative", bad_config_cwd_relative),
        ("bad-config-rlimit-unknown", bad_config_rlimit_unknown),
        ("bad-config-rlimit-duplicate", bad_config_rlimit_duplicate),
        ("bad-config-namespace-duplicate", bad_config_ns_duplicate),
        ("bad-config-namespace-path-type", bad_config_ns_path_type),
        ("hooks", hooks),
        ("hooks-createruntime-fails", hooks_fail),
        ("hooks-poststop-fails", hooks_poststop_fail),
        ("cgroups", cgroups),
        ("config-default", config_default),
        ("config-process", config_process),
        ("config-caps-root", config_caps_root),
        ("config-mounts", config_mounts),
        ("config-devices", config_devices),
        ("config-masked-readonly", config_masked_readonly),
        ("config-sysctl", config_sysctl),
        ("config-uts", config_uts),
        ("config-namespaces", config_namespaces),
        ("config-namespace-join", config_namespace_join),
        ("config-rootfs-propagation", config_rootfs_propagation),
        ("config-rootfs-propagation-shared", |c, x| {
            rootfs_propagation(c, x, "shared")
        }),
        ("config-rootfs-propagation-unbindable", |c, x| {
            rootfs_propagation(c, x, "unbindable")
        }),
    ];
    v.extend(crate::more::cases());
    v.extend(crate::musts::cases());
    v
}

// ------------------------------------------------------------------ helpers

fn semver_like(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// The state-schema.json rules plus runtime.md's field semantics.
fn check_state(c: &mut Case, st: &Value, step: &str, id: &str, bundle: &Bundle, want: &str) {
    let mut errs = Vec::new();
    for f in ["ociVersion", "id", "status", "bundle"] {
        if !st.get(f).is_some_and(Value::is_string) {
            errs.push(format!("{f} missing or not a string"));
        }
    }
    if let Some(v) = st["ociVersion"].as_str() {
        if !semver_like(v) {
            errs.push(format!("ociVersion {v:?} is not SemVer"));
        }
    }
    if let Some(s) = st["status"].as_str() {
        if !["creating", "created", "running", "stopped"].contains(&s) {
            errs.push(format!("status {s:?} not in the enum"));
        }
    }
    if let Some(p) = st.get("pid") {
        if !p.as_i64().is_some_and(|p| p >= 0) {
            errs.push(format!("pid {p} is not an integer >= 0"));
        }
    }
    if let Some(a) = st.get("annotations") {
        if !a
            .as_object()
            .is_some_and(|o| o.values().all(Value::is_string))
        {
            errs.push(format!("annotations {a} is not a map of strings"));
        }
    }
    c.check(
        errs.is_empty(),
        &format!("state ({step}): When serialized in JSON, the format MUST adhere to schema/state-schema.json"),
        || format!("{}\n{st}", errs.join("; ")),
    );
    c.check(
        st["id"] == id,
        &format!("state ({step}): id is the container's ID"),
        || format!("id {}", st["id"]),
    );
    c.check(
        st["status"] == want,
        &format!("state ({step}): status is the runtime state of the container ({want})"),
        || format!("status {}", st["status"]),
    );
    c.check(
        st["bundle"] == bundle.path().as_str(),
        &format!("state ({step}): bundle is the absolute path to the container's bundle directory"),
        || format!("bundle {}, want {}", st["bundle"], bundle.path()),
    );
    if want == "created" || want == "running" {
        let pid = st["pid"].as_i64().unwrap_or(0);
        c.check(
            pid > 0 && pid_alive(pid),
            &format!("state ({step}): pid (REQUIRED when status is created or running on Linux) is the ID of the container process"),
            || format!("pid {} (alive: {})", st["pid"], pid_alive(pid)),
        );
    }
}

/// Relays the checker's TAP under the case name; returns whether the
/// checker finished.
pub(crate) fn relay_checker(c: &mut Case, out: &str) -> bool {
    let mut pending: Option<(String, Vec<String>)> = None;
    let flush = |c: &mut Case, p: &mut Option<(String, Vec<String>)>| {
        if let Some((rule, det)) = p.take() {
            c.fail(&rule, &det.join("\n"));
        }
    };
    let strip_num = |rest: &str| -> String {
        let rest = rest.trim_start_matches(|ch: char| ch.is_ascii_digit());
        rest.trim_start_matches(" - ").trim().to_string()
    };
    let mut done = false;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("not ok ") {
            flush(c, &mut pending);
            pending = Some((strip_num(rest), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("ok ") {
            flush(c, &mut pending);
            let r = strip_num(rest);
            match r.split_once(" # SKIP ") {
                Some((rule, why)) => c.skip(rule, why),
                None => c.pass(&r),
            }
        } else if line == "# conformance-checker done" {
            done = true;
        } else if let Some(d) = line.strip_prefix("# ") {
            if let Some((_, det)) = pending.as_mut() {
                det.push(d.to_string());
            }
        }
    }
    flush(c, &mut pending);
    done
}

/// The common flow of a checker case.
pub(crate) fn run_checker(c: &mut Case, b: &Bundle, host: &Value) {
    let (id, out) = c.new_container();
    b.save(host);
    let o = create_saved(c, b, &id, &out);
    if !created_clean(c, &o, &id, CREATE) {
        return;
    }
    std::thread::sleep(Duration::from_millis(200));
    let early = read_text(&out);
    c.check(
        early.trim().is_empty(),
        "create: the user-specified program (from process) MUST NOT be run at this time",
        || format!("container output after create: {early}"),
    );
    let Some(text) = run_to_exit(c, &id, &out) else {
        return;
    };
    let done = relay_checker(c, &text);
    c.check_output(
        done,
        "checker ran to completion inside the container",
        &text,
    );
    delete_clean(c, &id);
}

pub(crate) fn new_bundle(c: &Case, ctx: &Ctx) -> Bundle {
    Bundle::new(&c.dir, "bundle", &ctx.checker)
}

/// A writable-rootfs bundle whose process is a shell script.
pub(crate) fn sh_bundle(c: &Case, ctx: &Ctx, script: &str) -> Bundle {
    let mut b = new_bundle(c, ctx);
    b.set("/root/readonly", json!(false));
    b.sh(script);
    b
}

// ------------------------------------------------------------------ runtime cases

fn lifecycle(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    b.set(
        "/annotations",
        json!({"org.example.conformance": "yes", "k": "v"}),
    );
    let started = b.rootfs().join("started");
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let st = c.state(&id);
    let Ok(st) = st else {
        c.fail(
            "state: This operation MUST return the state of a container",
            &st.unwrap_err(),
        );
        return;
    };
    check_state(c, &st, "after create", &id, &b, "created");
    let ann = st.get("annotations").cloned().unwrap_or(json!({}));
    c.check(
        ann == b.config["annotations"],
        "state: annotations contains the list of annotations associated with the container",
        || format!("annotations {ann}"),
    );
    let pid = st["pid"].as_i64().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(300));
    c.check(
        !started.exists(),
        "create: process.args MUST NOT be applied until triggered by the start operation",
        || "the process ran before start".into(),
    );

    // Any updates to config.json after create MUST NOT affect the container.
    let mut b2 = Bundle {
        dir: b.dir.clone(),
        config: b.config.clone(),
    };
    b2.sh("touch /changed; exec sleep 600");
    b2.save(&json!({}));

    let o = c.rt(&["start", &id], None);
    require_ok(
        c,
        &o,
        "start: This operation MUST run the user-specified program as specified by process",
    );
    c.check(
        wait_file(&started, Duration::from_secs(5)),
        "start: the user-specified program runs (it created /started)",
        || "no /started after 5 s".into(),
    );
    c.check(
        !b.rootfs().join("changed").exists(),
        "create: Any updates to config.json after this step MUST NOT affect the container",
        || "the process of the edited config.json ran".into(),
    );
    match c.state(&id) {
        Ok(st) => {
            check_state(c, &st, "after start", &id, &b, "running");
            c.check(
                st["pid"].as_i64() == Some(pid),
                "state: pid stays the container process after start",
                || format!("pid {} after start, {pid} after create", st["pid"]),
            );
        }
        Err(e) => c.fail(
            "state: This operation MUST return the state of a container",
            &e,
        ),
    }

    let o = c.rt(&["start", &id], None);
    let status = c.status(&id);
    c.check(
        !o.ok() && status.as_deref() == Some("running") && pid_alive(pid),
        "start: Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error (running)",
        || format!("second start: {}; status now {status:?}", o.describe()),
    );

    let o = c.rt(&["delete", &id], None);
    let status = c.status(&id);
    c.check(
        !o.ok() && status.as_deref() == Some("running") && pid_alive(pid),
        "delete: Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error (running)",
        || format!("delete: {}; status now {status:?}, pid alive {}", o.describe(), pid_alive(pid)),
    );

    let o = c.rt(&["kill", &id, "KILL"], None);
    require_ok(c, &o, "kill: This operation MUST send the specified signal to the container process (KILL accepted)");
    let s = c.wait_status(&id, "stopped", Duration::from_secs(10));
    c.check(
        s.as_deref() == Some("stopped") && !pid_alive(pid),
        "kill: SIGKILL delivered: the container process exited and the status is stopped",
        || format!("status {s:?}, pid alive {}", pid_alive(pid)),
    );
    if let Ok(st) = c.state(&id) {
        check_state(c, &st, "after exit", &id, &b, "stopped");
    }

    let o = c.rt(&["kill", &id, "KILL"], None);
    let status = c.status(&id);
    c.check(
        !o.ok() && status.as_deref() == Some("stopped"),
        "kill: Attempting to send a signal to a container that is neither created nor running MUST have no effect on the container and MUST generate an error",
        || format!("kill: {}; status {status:?}", o.describe()),
    );
    let o = c.rt(&["start", &id], None);
    let status = c.status(&id);
    c.check(
        !o.ok() && status.as_deref() == Some("stopped"),
        "start: Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error (stopped)",
        || format!("start: {}; status {status:?}", o.describe()),
    );

    delete_clean(c, &id);
    c.check(
        b.rootfs().join("bin/busybox").exists() && b.dir.join("config.json").exists(),
        "delete: resources associated with the container, but not created by this container, MUST NOT be deleted (bundle)",
        || "bundle files are gone".into(),
    );
    let st = c.state(&id);
    c.check(
        st.is_err(),
        "state: Attempting to query a container that does not exist MUST generate an error (after delete)",
        || format!("state succeeded: {st:?}"),
    );
}

fn kill_created(c: &mut Case, ctx: &Ctx) {
    let b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let o = c.rt(&["kill", &id, "KILL"], None);
    require_ok(c, &o, "kill: a signal can be sent to a created container");
    let s = c.wait_status(&id, "stopped", Duration::from_secs(10));
    c.check(
        s.as_deref() == Some("stopped"),
        "kill: SIGKILL to a created container stops it",
        || format!("status {s:?}"),
    );
    c.check(
        !b.rootfs().join("started").exists(),
        "create: the user-specified program MUST NOT be run (it never ran: killed before start)",
        || "/started exists".into(),
    );
    delete_clean(c, &id);
}

fn kill_signal(c: &mut Case, ctx: &Ctx) {
    let b = sh_bundle(
        c,
        ctx,
        "trap 'echo $$ > /got-term.tmp; mv /got-term.tmp /got-term; exit 0' TERM; touch /started; while :; do sleep 0.05; done",
    );
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    if !start_ok(c, &id) {
        return;
    }
    wait_file(&b.rootfs().join("started"), Duration::from_secs(5));
    let o = c.rt(&["kill", &id, "TERM"], None);
    require_ok(c, &o, "kill: TERM accepted for a running container");
    let got = wait_file(&b.rootfs().join("got-term"), Duration::from_secs(5));
    let pid1 = fs::read_to_string(b.rootfs().join("got-term")).unwrap_or_default();
    c.check(
        got && pid1.trim() == "1",
        "kill: This operation MUST send the specified signal to the container process (SIGTERM reached the trap of pid 1)",
        || format!("trap output {pid1:?}"),
    );
    let s = c.wait_status(&id, "stopped", Duration::from_secs(10));
    c.check(
        s.as_deref() == Some("stopped"),
        "state: status stopped after the process exited",
        || format!("status {s:?}"),
    );
}

fn delete_created(c: &mut Case, ctx: &Ctx) {
    let b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let o = c.rt(&["delete", &id], None);
    let status = c.status(&id);
    // runc deletes a created container without --force, and containerd's runc shim
    // relies on it (it deletes never-started tasks that way): jinn does the same.
    c.check_deviation(
        !o.ok() && status.as_deref() == Some("created"),
        "delete: Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error (created)",
        "runc compatibility: containerd deletes created tasks without --force",
        || format!("delete: {}; status now {status:?}", o.describe()),
    );
    if status.is_none() {
        c.skip(
            "delete --force removes a created container",
            "the plain delete already removed it",
        );
    } else {
        let o = c.rt(&["delete", "--force", &id], None);
        require_ok(c, &o, "delete --force removes a created container");
    }
    no_leftovers(c, &id, DELETE_CLEAN);
}

fn nonexistent_id(c: &mut Case, _ctx: &Ctx) {
    let id = c.new_id();
    for (op, rule) in [
        ("state", "state: Attempting to query a container that does not exist MUST generate an error"),
        ("start", "start: Attempting to start a container that is not created MUST generate an error (nonexistent)"),
        ("delete", "delete: Attempting to delete a container that is not stopped MUST generate an error (nonexistent)"),
    ] {
        let o = c.rt(&[op, &id], None);
        c.check(!o.ok() && !o.timed_out, rule, || o.describe());
    }
    for (args, rule) in [
        (&["kill", &id, "KILL"][..], "kill: Attempting to send a signal to a container that is neither created nor running MUST generate an error (nonexistent)"),
        (&["state"], "state: This operation MUST generate an error if it is not provided the ID of a container"),
        (&["start"], "start: This operation MUST generate an error if it is not provided the container ID"),
        (&["delete"], "delete: This operation MUST generate an error if it is not provided the container ID"),
        (&["kill"], "kill: This operation MUST generate an error if it is not provided the container ID"),
    ] {
        let o = c.rt(args, None);
        c.check(!o.ok(), rule, || o.describe());
    }
}

fn duplicate_id(c: &mut Case, ctx: &Ctx) {
    let b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let pid = state_pid(c, &id);
    let mut b2 = Bundle::new(&c.dir, "bundle2", &ctx.checker);
    b2.sh("exec sleep 600");
    b2.save(&json!({}));
    let bp2 = b2.path();
    let o = c.rt(
        &["create", "--bundle", &bp2, &id],
        Some(&c.dir.join("c2.out")),
    );
    let st = c.state(&id).unwrap_or(json!({}));
    c.check(
        !o.ok() && st["pid"].as_i64() == Some(pid) && st["bundle"] == b.path().as_str() && st["status"] == "created",
        "create: If the ID provided is not unique across all containers within the scope of the runtime, the implementation MUST generate an error and a new container MUST NOT be created",
        || format!("second create: {}; state now {st}", o.describe()),
    );
    let o = c.rt(&["create", "--bundle", &bp2], Some(&c.dir.join("c3.out")));
    c.check(
        !o.ok(),
        "create: This operation MUST generate an error if it is not provided a path to the bundle and the container ID",
        || o.describe(),
    );
}

/// A config the runtime must refuse: create fails and leaves nothing.
pub(crate) fn bad_config(c: &mut Case, ctx: &Ctx, what: &str, edit: impl FnOnce(&mut Bundle)) {
    let mut b = new_bundle(c, ctx);
    b.sh("touch /tmp/started; exec sleep 600");
    edit(&mut b);
    let (id, out) = c.new_container();
    // `edit` may have written config.json itself (malformed JSON).
    if b.config != Value::Null {
        b.save(&json!({}));
    }
    let o = create_saved(c, &b, &id, &out);
    c.check(
        !o.ok() && !o.timed_out,
        &format!("create: If the runtime cannot apply a property as specified in the configuration, it MUST generate an error ({what})"),
        || o.describe(),
    );
    let st = c.state(&id);
    c.check(
        st.is_err(),
        &format!("create: ... and a new container MUST NOT be created ({what}: state fails)"),
        || format!("state: {st:?}"),
    );
    no_leftovers(
        c,
        &id,
        &format!("errors: generating an error MUST leave the state of the environment as if the operation were never attempted ({what})"),
    );
}

fn bad_config_json(c: &mut Case, ctx: &Ctx) {
    bad_config(c, ctx, "malformed config.json", |b| {
        fs::write(
            b.dir.join("config.json"),
            "{\"ociVersion\": \"1.0.2\", \"process\": ",
        )
        .unwrap();
        b.config = Value::Null;
    });
}

fn bad_config_rootfs(c: &mut Case, ctx: &Ctx) {
    bad_config(
        c,
        ctx,
        "root.path: A directory MUST exist at the path declared by the field",
        |b| b.set("/root/path", json!("no-such-rootfs")),
    );
}

fn bad_config_cwd_relative(c: &mut Case, ctx: &Ctx) {
    bad_config(
        c,
        ctx,
        "process.cwd: This value MUST be an absolute path",
        |b| b.set("/process/cwd", json!("tmp")),
    );
}

fn bad_config_rlimit_unknown(c: &mut Case, ctx: &Ctx) {
    bad_config(
        c,
        ctx,
        "rlimits: The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface",
        |b| b.push("/process/rlimits", json!({"type": "RLIMIT_NO_SUCH", "soft": 1, "hard": 1})),
    );
}

fn bad_config_rlimit_duplicate(c: &mut Case, ctx: &Ctx) {
    bad_config(
        c,
        ctx,
        "rlimits: If rlimits contains duplicated entries with same type, the runtime MUST generate an error",
        |b| b.push("/process/rlimits", json!({"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512})),
    );
}

fn bad_config_ns_duplicate(c: &mut Case, ctx: &Ctx) {
    bad_config(
        c,
        ctx,
        "namespaces: If a namespaces field contains duplicated namespaces with same type, the runtime MUST generate an error",
        |b| b.push("/linux/namespaces", json!({"type": "ipc"})),
    );
}

fn bad_config_ns_path_type(c: &mut Case, ctx: &Ctx) {
    let p = format!("/proc/{}/ns/ipc", std::process::id());
    bad_config(
        c,
        ctx,
        "namespaces: The runtime MUST generate an error if path is not associated with a namespace of type type",
        |b| {
            let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
            for n in ns.iter_mut() {
                if n["type"] == "network" {
                    n["path"] = json!(p);
                }
            }
        },
    );
}

// ------------------------------------------------------------------ hooks

fn hook(log: &Path, name: &str) -> Value {
    let dir = log.parent().unwrap().display().to_string();
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat > {dir}/hook-{name}.json; echo {name} >> {}", log.display())]
    })
}

fn hooks(c: &mut Case, ctx: &Ctx) {
    let log = c.dir.join("hooks.log");
    let mut b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    b.set(
        "/hooks",
        json!({
            "prestart": [hook(&log, "prestart")],
            "createRuntime": [hook(&log, "createRuntime1"), hook(&log, "createRuntime2")],
            "poststart": [hook(&log, "poststart")],
            "poststop": [hook(&log, "poststop")]
        }),
    );
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let l = read_lines(&log);
    c.check(
        l.starts_with(&["prestart".into(), "createRuntime1".into(), "createRuntime2".into()]),
        "hooks: prestart and createRuntime hooks MUST be called as part of create; prestart MUST be called before createRuntime; Hooks MUST be called in the listed order",
        || format!("hook log after create: {l:?}"),
    );
    c.check(
        !l.contains(&"poststart".to_string()),
        "hooks: The poststart hooks MUST be called after the user-specified process is executed (not during create)",
        || format!("hook log after create: {l:?}"),
    );
    let hs: Value = fs::read_to_string(c.dir.join("hook-createRuntime1.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    c.check(
        hs["id"] == id.as_str()
            && hs["bundle"] == b.path().as_str()
            && hs["pid"].as_i64().unwrap_or(0) > 0,
        "hooks: The state of the container MUST be passed to hooks over stdin",
        || format!("createRuntime stdin: {hs}"),
    );
    start_ok(c, &id);
    let l = read_lines(&log);
    c.check(
        l.last().map(String::as_str) == Some("poststart"),
        "hooks: The poststart hooks MUST be called after the user-specified process is executed but before the start operation returns",
        || format!("hook log after start: {l:?}"),
    );
    kill_stop(c, &id);
    let before = read_lines(&log);
    delete_ok(c, &id);
    let l = read_lines(&log);
    c.check(
        !before.contains(&"poststop".to_string()) && l.last().map(String::as_str) == Some("poststop"),
        "hooks: The poststop hooks MUST be called after the container is deleted but before the delete operation returns",
        || format!("hook log before delete {before:?}, after {l:?}"),
    );
}

fn hooks_fail(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    b.set(
        "/hooks",
        json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}),
    );
    let (id, out) = c.new_container();
    let o = create(c, &b, &id, &out);
    c.check(
        !o.ok(),
        "hooks: If any createRuntime hook fails, the runtime MUST generate an error",
        || o.describe(),
    );
    let st = c.status(&id);
    c.check(
        st.is_none() || st.as_deref() == Some("stopped"),
        "hooks: If any createRuntime hook fails, the runtime MUST stop the container and continue the lifecycle at step 12",
        || format!("status {st:?}"),
    );
    force_delete_clean(c, &id, STEP12_CLEAN);
    c.check(
        !b.rootfs().join("started").exists(),
        "hooks: the user process never ran after a failed createRuntime hook",
        || "/started exists".into(),
    );
}

fn hooks_poststop_fail(c: &mut Case, ctx: &Ctx) {
    let log = c.dir.join("hooks.log");
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    b.set(
        "/hooks",
        json!({"poststop": [
            {"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]},
            hook(&log, "poststop2")
        ]}),
    );
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    c.rt(&["start", &id], None);
    kill_stop(c, &id);
    let o = c.rt(&["delete", &id], None);
    let l = read_text(&log);
    c.check(
        o.ok(),
        "hooks: If any poststop hook fails, the runtime MUST log a warning, but the lifecycle continues as if the hook had succeeded (delete succeeds)",
        || format!("delete: {}", o.describe()),
    );
    c.check(
        l.trim() == "poststop2",
        "hooks: If any poststop hook fails, the remaining hooks continue as if the hook had succeeded",
        || format!("delete: {}; later hook's log: {:?}", o.describe(), l.trim()),
    );
    no_leftovers(c, &id, DELETE_CLEAN);
}

// ------------------------------------------------------------------ cgroups

fn cgroups(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    let cg = test_cgroup(&mut b, &id);
    b.set("/linux/resources/pids", json!({"limit": 42}));
    b.set("/linux/resources/memory", json!({"limit": 67108864}));
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let pid = state_pid(c, &id);
    let pc = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    // v1 lines "N:ctrl[,ctrl]:/path"; v2 "0::/path".
    let path_of = |ctrl: &str| -> Option<String> {
        pc.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            ctrls
                .split(',')
                .any(|x| x == ctrl)
                .then(|| path.to_string())
        })
    };
    if !host_has(
        c,
        &["/sys/fs/cgroup/pids/cgroup.procs"],
        "cgroups",
        "only cgroup v1 hierarchies are checked so far",
    ) {
        return;
    }
    let pids_path = path_of("pids");
    c.check(
        pids_path.as_deref() == Some(cg.as_str()),
        "cgroupsPath: In the case of an absolute path, the runtime MUST take the path to be relative to the cgroups mount point",
        || format!("/proc/{pid}/cgroup:\n{pc}"),
    );
    let read = |p: String| {
        fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let pids_max = read(format!("/sys/fs/cgroup/pids{cg}/pids.max"));
    c.check(
        pids_max == "42",
        "resources.pids.limit: specifies the maximum number of tasks in the cgroup",
        || format!("pids.max {pids_max:?}"),
    );
    let mem = read(format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes"));
    c.check(
        mem == "67108864",
        "resources.memory.limit: sets limit of memory usage in bytes",
        || format!("memory.limit_in_bytes {mem:?}"),
    );
    kill_stop(c, &id);
    delete_ok(c, &id);
    let left = cgroup_dirs(&id);
    c.check(
        left.is_empty(),
        "delete: Deleting a container MUST delete the resources that were created during the create step (cgroups)",
        || format!("{left:?}"),
    );
    remove_cgroup_parent();
}

/// Puts the container in the cgroup `/rtc-conformance/ID` (the parent goes
/// with [`remove_cgroup_parent`]); returns that cgroupsPath.
pub(crate) fn test_cgroup(b: &mut Bundle, id: &str) -> String {
    let cg = format!("/rtc-conformance/{id}");
    b.set("/linux/cgroupsPath", json!(cg));
    cg
}

/// [`kill_delete`] for a container in a [`test_cgroup`], then the parent
/// cgroup goes too.
pub(crate) fn kill_delete_cgroup(c: &mut Case, id: &str) {
    kill_delete(c, id);
    remove_cgroup_parent();
}

/// Removes the parent cgroup the `cgroups` case asked for (the runtimes do
/// not remove intermediate directories). Also called at the end of the run:
/// cgroup v2 may refuse for a moment after the child went away.
pub fn remove_cgroup_parent() {
    for d in [
        "pids", "memory", "cpu", "devices", "freezer", "blkio", "cpuset", "cpuacct", "systemd",
        "unified",
    ] {
        let _ = fs::remove_dir(format!("/sys/fs/cgroup/{d}/rtc-conformance"));
    }
}

// ------------------------------------------------------------------ config cases (checker)

fn config_default(c: &mut Case, ctx: &Ctx) {
    let b = new_bundle(c, ctx);
    run_checker(c, &b, &host_facts(&[]));
}

fn config_process(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 23}),
    );
    b.set("/process/cwd", json!("/tmp"));
    b.set(
        "/process/args",
        json!(["/conformance/checker", "an arg", "x"]),
    );
    b.push("/process/env", json!("CONFORMANCE=yes it is"));
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_NPROC", "soft": 1000, "hard": 2000}
        ]),
    );
    b.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_KILL"],
            "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
        }),
    );
    b.set("/process/noNewPrivileges", json!(false));
    b.set("/process/oomScoreAdj", json!(123));
    run_checker(c, &b, &host_facts(&[]));
}

fn config_caps_root(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW"],
            "inheritable": ["CAP_KILL", "CAP_NET_RAW"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "ambient": ["CAP_KILL"]
        }),
    );
    b.set("/process/noNewPrivileges", json!(true));
    run_checker(c, &b, &host_facts(&[]));
}

/// stat (dev, ino) of a host path, for the checker's bind-source rule.
fn dev_ino(p: &Path) -> Value {
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(p).unwrap();
    json!([md.dev(), md.ino()])
}

fn config_mounts(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    let src = c.dir.join("bind-src");
    crate::harness::mkdir(&src);
    fs::write(src.join("file"), "x").unwrap();
    let src2 = c.dir.join("rbind-src");
    crate::harness::mkdir(&src2);
    for d in [
        "mnt/tmpfs",
        "mnt/bind",
        "mnt/rbind",
        "mnt/atime",
        "mnt/order",
    ] {
        crate::harness::mkdir(&b.rootfs().join(d));
    }
    let s = src.display().to_string();
    let s2 = src2.display().to_string();
    let extra = [
        json!({"destination": "/mnt/tmpfs", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "noexec", "mode=0710", "size=1m", "ro"]}),
        json!({"destination": "/mnt/bind", "type": "bind", "source": s,
               "options": ["bind", "ro", "nosuid", "private"]}),
        json!({"destination": "/mnt/rbind", "type": "none", "source": s2,
               "options": ["rbind", "rw", "nodev", "rprivate"]}),
        json!({"destination": "/mnt/atime", "type": "tmpfs", "source": "tmpfs",
               "options": ["noatime", "exec", "suid", "dev", "rw"]}),
        json!({"destination": "/mnt/order", "type": "tmpfs", "source": "first", "options": ["size=1m"]}),
        json!({"destination": "/mnt/order", "type": "tmpfs", "source": "second", "options": ["size=2m"]}),
    ];
    let base = b.config["mounts"].as_array().unwrap().len();
    for m in extra {
        b.push("/mounts", m);
    }
    let mut host = host_facts(&[]);
    host["bind_sources"] = json!({
        (base + 1).to_string(): dev_ino(&src),
        (base + 2).to_string(): dev_ino(&src2),
    });
    run_checker(c, &b, &host);
}

fn config_devices(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set(
        "/linux/devices",
        json!([
            {"path": "/dev/conf-null", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 1000, "gid": 1001},
            {"path": "/dev/conf-loop", "type": "b", "major": 7, "minor": 200, "fileMode": 384, "uid": 0, "gid": 0},
            {"path": "/dev/conf-fifo", "type": "p", "fileMode": 420},
            {"path": "/dev/sub/conf-zero", "type": "u", "major": 1, "minor": 5, "fileMode": 438}
        ]),
    );
    run_checker(c, &b, &host_facts(&[]));
}

fn config_masked_readonly(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set("/root/readonly", json!(false));
    let r = b.rootfs();
    fs::write(r.join("etc/conf-secret"), "secret").unwrap();
    crate::harness::mkdir(&r.join("mnt/secret-dir"));
    fs::write(r.join("mnt/secret-dir/f"), "secret").unwrap();
    crate::harness::mkdir(&r.join("mnt/ro-dir"));
    b.push("/linux/maskedPaths", json!("/etc/conf-secret"));
    b.push("/linux/maskedPaths", json!("/mnt/secret-dir"));
    b.push("/linux/readonlyPaths", json!("/mnt/ro-dir"));
    b.push("/linux/readonlyPaths", json!("/etc/passwd"));
    run_checker(c, &b, &host_facts(&[]));
}

fn config_sysctl(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set(
        "/linux/sysctl",
        json!({"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1", "net.ipv4.ping_group_range": "0 1000"}),
    );
    run_checker(c, &b, &host_facts(&[]));
}

fn config_uts(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set("/hostname", json!("conformance-host"));
    b.set("/domainname", json!("conformance.test"));
    run_checker(c, &b, &host_facts(&[]));
}

fn config_namespaces(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.push("/linux/namespaces", json!({"type": "cgroup"}));
    run_checker(c, &b, &host_facts(&[]));
}

fn config_namespace_join(c: &mut Case, ctx: &Ctx) {
    let Some(path) = netns_holder(c, "namespace join") else {
        return;
    };
    let mut b = new_bundle(c, ctx);
    for n in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "network" {
            n["path"] = json!(path);
        }
    }
    run_checker(c, &b, &host_facts(&[&path]));
}

fn config_rootfs_propagation(c: &mut Case, ctx: &Ctx) {
    let mut b = new_bundle(c, ctx);
    b.set("/linux/rootfsPropagation", json!("private"));
    run_checker(c, &b, &host_facts(&[]));
}

fn rootfs_propagation(c: &mut Case, ctx: &Ctx, prop: &str) {
    let mut b = new_bundle(c, ctx);
    b.set("/linux/rootfsPropagation", json!(prop));
    run_checker(c, &b, &host_facts(&[]));
}
