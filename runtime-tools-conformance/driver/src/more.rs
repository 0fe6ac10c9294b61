//! Cases added after the first round: createContainer/startContainer hooks
//! and the namespaces hooks run in, user namespaces, seccomp, the terminal
//! and `--console-socket`, cgroup v1 cpu/cpuset resources, the effect of
//! mount options, and functional default devices.

use crate::cases::{kill_delete_cgroup, sh_bundle, test_cgroup, CaseFn, Ctx};
use crate::harness::{host_facts, recv_msg, wait_file, Case};
use crate::host::{host_has, root_block_device, v1_controller};
use crate::steps::{
    check_files, create, create_ok, create_refused, delete_clean, delete_ok, exited, first_line,
    force_delete_clean, kill_delete, kill_stop, kv, no_leftovers, owner, read_json, read_lines,
    read_text, read_trim, require_ok, run_sh, run_to_exit, start_ok, start_refused, state_pid,
    wait_text, CREATE, DELETE_CLEAN, ERROR_CLEAN, STEP12_CLEAN,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn cases() -> Vec<(&'static str, CaseFn)> {
    vec![
        ("hooks-container", hooks_container),
        ("hooks-prestart-fails", |c, x| hook_fails(c, x, "prestart")),
        ("hooks-createcontainer-fails", |c, x| {
            hook_fails(c, x, "createContainer")
        }),
        ("hooks-startcontainer-fails", |c, x| {
            hook_fails(c, x, "startContainer")
        }),
        ("hooks-poststart-fails", |c, x| {
            hook_fails(c, x, "poststart")
        }),
        ("hooks-timeout", hooks_timeout),
        ("start-without-process", start_without_process),
        ("unknown-properties", unknown_properties),
        ("mount-relative-destination", mount_relative_destination),
        ("fds-only-stdio", fds_only_stdio),
        ("bad-config-device-path-conflict", device_path_conflict),
        ("config-mounts-more", config_mounts_more),
        ("mount-options-accepted", mount_options_accepted),
        ("cgroups-devices", cgroups_devices),
        ("cgroups-memory", cgroups_memory),
        ("cgroups-devices-order", cgroups_devices_order),
        ("cgroups-blkio", cgroups_blkio),
        ("userns-nonroot", userns_nonroot),
        ("time-namespace", time_namespace),
        ("personality", personality),
        ("net-devices", net_devices),
        ("bad-config-net-device-name-exists", net_device_name_exists),
        (
            "bad-config-seccomp-default-errno-unsupported",
            seccomp_default_errno_unsupported,
        ),
        ("cgroups-path-consistent", cgroups_path_consistent),
        (
            "bad-config-seccomp-errno-unsupported",
            seccomp_errno_unsupported,
        ),
        ("userns", userns),
        ("seccomp", seccomp),
        ("terminal-console-socket", terminal_console),
        ("cgroups-cpu", cgroups_cpu),
        ("mount-options-effective", mount_options_effective),
        ("dev-default-usable", dev_default_usable),
    ]
}

// ------------------------------------------------------------------ helpers

const NS_NAMES: &[&str] = &["mnt", "pid", "net", "ipc", "uts"];

/// A shell fragment that writes `name link` lines for the namespaces of the
/// shell itself to `file`.
fn ns_dump(file: &str) -> String {
    format!(
        "for n in {}; do echo \"$n $(readlink /proc/self/ns/$n)\"; done > {file}",
        NS_NAMES.join(" ")
    )
}

/// The namespaces of `/proc/PROC` (a pid or `self`).
fn ns_of(proc: &str) -> BTreeMap<String, String> {
    NS_NAMES
        .iter()
        .filter_map(|n| {
            fs::read_link(format!("/proc/{proc}/ns/{n}"))
                .ok()
                .map(|l| (n.to_string(), l.to_string_lossy().into_owned()))
        })
        .collect()
}

/// Differences between two namespace maps, restricted to `names`.
fn ns_diff(
    got: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    names: &[&str],
) -> Vec<String> {
    names
        .iter()
        .filter(|n| got.get(**n) != want.get(**n))
        .map(|n| format!("{n}: got {:?}, want {:?}", got.get(*n), want.get(*n)))
        .collect()
}

// ------------------------------------------------------------------ hooks

fn hooks_container(c: &mut Case, ctx: &Ctx) {
    let dir = c.dir.display().to_string();
    let log = c.dir.join("hooks.log");
    let logs = log.display().to_string();
    // Runtime-namespace hooks and createContainer (before pivot_root, so the
    // host's paths are still visible) log into the case dir; startContainer
    // runs after pivot_root and logs into the container's (writable) rootfs.
    let host_hook = |name: &str| {
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!(
            "cat > {dir}/hook-{name}.json; {}; echo {name} >> {logs}",
            ns_dump(&format!("{dir}/ns-{name}"))
        )]})
    };
    let mut b = sh_bundle(
        c,
        ctx,
        "if [ -e /hook-startContainer.json ]; then echo yes > /startContainer-before; fi; exec sleep 600",
    );
    b.set(
        "/hooks",
        json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", format!(
                "cat > /hook-startContainer.json; {}; echo startContainer >> /hooks.log",
                ns_dump("/ns-startContainer")
            )]}],
            "poststart": [host_hook("poststart")]
        }),
    );
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let pid = state_pid(c, &id);
    let cns = ns_of(&pid.to_string());
    let rns = ns_of("self");
    let l = read_lines(&log);
    c.check(
        l.starts_with(&[
            "prestart".to_string(),
            "createRuntime".to_string(),
            "createContainer".to_string(),
        ]),
        "hooks: The createContainer hooks MUST be called as part of the create operation; The createContainer hooks MUST be called after the createRuntime hooks",
        || format!("hook log after create: {l:?}"),
    );
    let hs = read_json(&c.dir.join("hook-createContainer.json"));
    c.check(
        hs["id"] == id.as_str() && hs["bundle"] == b.path().as_str(),
        "hooks: The state of the container MUST be passed to hooks over stdin (createContainer: id, bundle)",
        || format!("createContainer stdin: {hs}"),
    );
    c.check(
        hs["pid"].as_i64() == Some(1),
        "state.pid: For hooks executed in the container namespace, it is the pid as seen by the container (createContainer: 1 in a new pid namespace)",
        || format!("createContainer stdin: {hs} (host pid {pid})"),
    );
    let got = kv(&fs::read_to_string(c.dir.join("ns-createContainer")).unwrap_or_default());
    let d = ns_diff(&got, &cns, NS_NAMES);
    c.check(
        d.is_empty(),
        "hooks: The createContainer hooks MUST be executed in the container namespace",
        || format!("{} (container pid {pid})", d.join("; ")),
    );
    // The crun wrapper runs crun in its own mount namespace: the runtime
    // namespace of a hook is then that one, not the driver's.
    let runtime_names: &[&str] = if c.rt.crun_hybrid_workaround {
        &["pid", "net", "ipc", "uts"]
    } else {
        NS_NAMES
    };
    for kind in ["prestart", "createRuntime"] {
        let got = kv(&fs::read_to_string(c.dir.join(format!("ns-{kind}"))).unwrap_or_default());
        let d = ns_diff(&got, &rns, runtime_names);
        c.check(
            d.is_empty(),
            &format!("hooks: The {kind} hooks MUST be executed in the runtime namespace"),
            || d.join("; "),
        );
    }
    let started_hook = b.rootfs().join("hook-startContainer.json");
    c.check(
        !started_hook.exists(),
        "hooks: The startContainer hooks MUST be called as part of the start operation (not during create)",
        || "startContainer ran during create".into(),
    );
    start_ok(c, &id);
    let before = b.rootfs().join("startContainer-before");
    wait_file(&before, Duration::from_secs(3));
    let hs = read_json(&started_hook);
    c.check(
        hs["id"] == id.as_str() && hs["bundle"] == b.path().as_str(),
        "hooks: The state of the container MUST be passed to hooks over stdin (startContainer: id, bundle; path resolved in the container namespace)",
        || format!("startContainer stdin (in the container's /): {hs}"),
    );
    c.check(
        hs["pid"].as_i64() == Some(1),
        "state.pid: For hooks executed in the container namespace, it is the pid as seen by the container (startContainer: 1 in a new pid namespace)",
        || format!("startContainer stdin: {hs} (host pid {pid})"),
    );
    c.check(
        before.exists(),
        "hooks: The startContainer hooks MUST be called before the user-specified process is executed",
        || "the process did not see /hook-startContainer.json when it started".into(),
    );
    let got = kv(&fs::read_to_string(b.rootfs().join("ns-startContainer")).unwrap_or_default());
    let d = ns_diff(&got, &cns, NS_NAMES);
    c.check(
        d.is_empty(),
        "hooks: The startContainer hooks MUST be executed in the container namespace",
        || format!("{} (container pid {pid})", d.join("; ")),
    );
    let got = kv(&fs::read_to_string(c.dir.join("ns-poststart")).unwrap_or_default());
    let d = ns_diff(&got, &rns, runtime_names);
    c.check(
        d.is_empty(),
        "hooks: The poststart hooks MUST be executed in the runtime namespace",
        || d.join("; "),
    );
    kill_stop(c, &id);
    delete_ok(c, &id);
}

/// A failing `kind` hook (exit 3): the operation that runs it errors, the
/// container is stopped and destroyed (lifecycle step 12).
fn hook_fails(c: &mut Case, ctx: &Ctx, kind: &str) {
    let mut b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    b.set(
        &format!("/hooks/{kind}"),
        json!([{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]),
    );
    let (id, out) = c.new_container();
    let at_create = kind == "prestart" || kind == "createContainer";
    let o = create(c, &b, &id, &out);
    let failing = if at_create {
        o
    } else {
        if !require_ok(c, &o, CREATE) {
            return;
        }
        c.rt(&["start", &id], None)
    };
    let op = if at_create { "create" } else { "start" };
    c.check(
        !failing.ok(),
        &format!(
            "hooks: If any {kind} hook fails, the runtime MUST generate an error ({op} fails)"
        ),
        || failing.describe(),
    );
    let st = c.wait_status(&id, "stopped", Duration::from_secs(5));
    c.check(
        st.is_none() || st.as_deref() == Some("stopped"),
        &format!("hooks: If any {kind} hook fails, the runtime MUST stop the container and continue the lifecycle at step 12"),
        || format!("status {st:?}"),
    );
    if kind != "poststart" {
        c.check(
            !b.rootfs().join("started").exists(),
            &format!("hooks: the user process did not run after a failed {kind} hook"),
            || "/started exists".into(),
        );
    }
    force_delete_clean(c, &id, STEP12_CLEAN);
}

fn hooks_timeout(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    b.set(
        "/hooks/createRuntime",
        json!([{"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 25"], "timeout": 1}]),
    );
    let (id, out) = c.new_container();
    let start = Instant::now();
    let o = create(c, &b, &id, &out);
    let took = start.elapsed();
    c.check(
        !o.ok() && took < Duration::from_secs(15),
        "hooks: timeout is the number of seconds before aborting the hook (a createRuntime hook running past its 1 s timeout is aborted and create fails)",
        || format!("create took {took:?}: {}", o.describe()),
    );
    force_delete_clean(c, &id, STEP12_CLEAN);
}

fn start_without_process(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "true");
    b.config.as_object_mut().unwrap().remove("process");
    let (id, out) = c.new_container();
    let o = create(c, &b, &id, &out);
    if !o.ok() {
        let gone = c.state(&id).is_err();
        c.check(
            gone,
            "create: an error (no process) leaves no container behind",
            || "state succeeds".into(),
        );
        c.skip(
            "start: This operation MUST generate an error if process was not set",
            &format!(
                "create already refused a config without process ({})",
                first_line(&o)
            ),
        );
        no_leftovers(c, &id, ERROR_CLEAN);
        return;
    }
    let o = c.rt(&["start", &id], None);
    c.check(
        !o.ok(),
        "start: This operation MUST generate an error if process was not set",
        || o.describe(),
    );
    force_delete_clean(c, &id, DELETE_CLEAN);
}

fn unknown_properties(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "echo ran yes");
    b.set(
        "/org.example.conformance.unknown",
        json!({"a": [1, 2], "b": "c"}),
    );
    b.set("/process/org.example.unknown", json!(true));
    b.set("/linux/org.example.unknown", json!("x"));
    b.set("/annotations", json!({"org.example.unknown-key": "value"}));
    let Some(text) = run_sh(c, &b) else { return };
    c.check_output(
        kv(&text).get("ran").map(String::as_str) == Some("yes"),
        "extensibility: Runtimes MUST otherwise ignore unknown properties; That includes not generating errors if they encounter an unknown property",
        &text,
    );
}

fn mount_relative_destination(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(
        c,
        ctx,
        "echo mp $(awk '$5 == \"/mnt/rel\" {print $5}' /proc/self/mountinfo) $(stat -f -c %T /mnt/rel); echo relsrc $(cat /mnt/relsrc/marker)",
    );
    crate::harness::mkdir(&b.rootfs().join("mnt/rel"));
    crate::harness::mkdir(&b.rootfs().join("mnt/relsrc"));
    crate::harness::mkdir(&b.dir.join("relsrc"));
    fs::write(b.dir.join("relsrc/marker"), "from-the-bundle\n").unwrap();
    b.push(
        "/mounts",
        json!({"destination": "/mnt/relsrc", "type": "bind", "source": "relsrc", "options": ["bind"]}),
    );
    b.push(
        "/mounts",
        json!({"destination": "mnt/rel", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    c.check_output(
        kv(&text).get("mp").map(String::as_str) == Some("/mnt/rel tmpfs"),
        "mounts: destination MAY be a relative path, in which case it MUST be interpreted as relative to \"/\"",
        &text,
    );
    c.check_output(
        kv(&text).get("relsrc").map(String::as_str) == Some("from-the-bundle"),
        "mounts: source: Path values for bind mounts are either absolute or relative to the bundle (relative source)",
        &text,
    );
}

fn fds_only_stdio(c: &mut Case, ctx: &Ctx) {
    // pid 1 is the shell (no exec), its open fds are what the runtime left.
    // The checker itself is the process (a shell keeps fds of its own).
    let mut b = sh_bundle(c, ctx, "true");
    b.set("/process/args", json!(["/conformance/checker", "--fds"]));
    // terminal is false: consoleSize must be ignored (no error, no terminal).
    b.set("/process/consoleSize", json!({"height": 33, "width": 101}));
    let Some(text) = run_sh(c, &b) else { return };
    let fd1 = kv(&text).get("fd1").cloned().unwrap_or_default();
    c.check_output(
        !fd1.is_empty() && !fd1.starts_with("/dev/pts/") && !fd1.contains("ptmx"),
        "process.consoleSize: Runtimes MUST ignore consoleSize if terminal is false or unset (create succeeds, stdout is not a terminal)",
        &text,
    );
    c.check_output(
        kv(&text).get("fds").map(String::as_str) == Some("0 1 2"),
        "file descriptors: By default, only the stdin, stdout and stderr file descriptors are kept open for the application by the runtime",
        &text,
    );
}

fn device_path_conflict(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    fs::write(b.rootfs().join("mnt/conf-dev"), "a regular file").unwrap();
    b.set(
        "/linux/devices",
        json!([{"path": "/mnt/conf-dev", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0, "gid": 0}]),
    );
    create_refused(
        c,
        &b,
        "devices: If a file already exists at path that does not match the requested device, the runtime MUST generate an error",
        "device path conflict",
    );
}

// ------------------------------------------------------------------ user namespace

fn userns(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(
        c,
        ctx,
        "echo uid_map $(cat /proc/self/uid_map); echo gid_map $(cat /proc/self/gid_map); echo ids $(id -u) $(id -g); touch /tmp/owned; echo done",
    );
    b.userns_mapped();
    let (id, out) = c.new_container();
    if !create_ok(
        c,
        &b,
        &id,
        &out,
        &format!("{CREATE} (user namespace with uidMappings/gidMappings)"),
    ) {
        return;
    }
    let pid = state_pid(c, &id);
    let host_userns = fs::read_link("/proc/self/ns/user").ok();
    let cont_userns = fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    c.check(
        cont_userns.is_some() && cont_userns != host_userns,
        "namespaces: user: If a namespace type is listed without path, the runtime MUST create a new container namespace of that type",
        || format!("container {cont_userns:?}, runtime {host_userns:?}"),
    );
    let norm = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let um = norm(fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap_or_default());
    let gm = norm(fs::read_to_string(format!("/proc/{pid}/gid_map")).unwrap_or_default());
    c.check(
        um == "0 100000 65536",
        "uidMappings: the runtime MUST map container user IDs to host user IDs as listed (host view of /proc/PID/uid_map)",
        || format!("uid_map {um:?}"),
    );
    c.check(
        gm == "0 200000 65536",
        "gidMappings: the runtime MUST map container group IDs to host group IDs as listed (host view of /proc/PID/gid_map)",
        || format!("gid_map {gm:?}"),
    );
    let Some(text) = run_to_exit(c, &id, &out) else {
        return;
    };
    let m = kv(&text);
    c.check_output(
        m.get("uid_map").map(String::as_str) == Some("0 100000 65536")
            && m.get("gid_map").map(String::as_str) == Some("0 200000 65536"),
        "uidMappings/gidMappings: /proc/self/uid_map and gid_map inside the container show the configured mappings",
        &text,
    );
    c.check_output(
        m.get("ids").map(String::as_str) == Some("0 0"),
        "process.user: uid/gid 0 in the container namespace",
        &text,
    );
    let owned = owner(&b.rootfs().join("tmp/owned"));
    c.check(
        owned == Some((100000, 200000)),
        "uidMappings/gidMappings: a file created by container uid/gid 0 is owned by host uid 100000 / gid 200000",
        || format!("owner {owned:?}; container output:\n{text}"),
    );
    delete_clean(c, &id);
}

// ------------------------------------------------------------------ seccomp

fn seccomp(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(
        c,
        ctx,
        "grep '^Seccomp:' /proc/self/status; mkdir /tmp/sc 2>&1; echo mkdir_rc $?; ln -s x /tmp/ln 2>&1; echo ln_rc $?; touch /tmp/t && echo touch_ok yes",
    );
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95},
                {"names": ["symlink", "symlinkat"], "action": "SCMP_ACT_ERRNO"}
            ]
        }),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let m = kv(&text);
    let r = b.rootfs();
    c.check_output(
        m.get("Seccomp:").map(String::as_str) == Some("2"),
        "seccomp: the seccomp filter is applied to the container process (Seccomp: 2 in /proc/self/status)",
        &text,
    );
    c.check_output(
        m.get("mkdir_rc").is_some_and(|v| v != "0")
            && !r.join("tmp/sc").exists()
            && text.to_lowercase().contains("not supported"),
        "seccomp: syscalls[].action SCMP_ACT_ERRNO with errnoRet 95: mkdir fails with EOPNOTSUPP",
        &text,
    );
    c.check_output(
        m.get("ln_rc").is_some_and(|v| v != "0")
            && fs::symlink_metadata(r.join("tmp/ln")).is_err()
            && text.contains("Operation not permitted"),
        "seccomp: errnoRet: When not set, the errno is EPERM (symlink fails with EPERM)",
        &text,
    );
    c.check_output(
        m.contains_key("touch_ok") && r.join("tmp/t").exists(),
        "seccomp: defaultAction SCMP_ACT_ALLOW: other syscalls still succeed",
        &text,
    );
}

// ------------------------------------------------------------------ terminal

/// Receives one fd over SCM_RIGHTS from a connected unix stream.
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> Result<i32, String> {
    let (data, fds) = recv_msg(sock, 0)?;
    fds.first()
        .copied()
        .ok_or_else(|| format!("no SCM_RIGHTS in a {}-byte message", data.len()))
}

fn terminal_console(c: &mut Case, ctx: &Ctx) {
    use std::os::unix::net::UnixListener;
    let sock_path = c.dir.join("console.sock");
    let Ok(listener) = UnixListener::bind(&sock_path) else {
        c.skip("terminal", &format!("cannot bind {}", sock_path.display()));
        return;
    };
    let mut b = sh_bundle(
        c,
        ctx,
        "{ echo tty $(tty); echo console $(stat -c '%F %t:%T' /dev/console); echo stdin $(stat -L -c '%F %t:%T' /proc/self/fd/0); echo size $(stty size); } > /result 2>&1; echo pty-hello; sleep 1",
    );
    b.set("/process/terminal", json!(true));
    b.set("/process/consoleSize", json!({"height": 33, "width": 101}));
    let (id, out) = c.new_container();
    b.save(&host_facts(&[]));
    let bp = b.path();
    let sp = sock_path.display().to_string();
    let o = c.rt(
        &["create", "--bundle", &bp, "--console-socket", &sp, &id],
        Some(&out),
    );
    if !require_ok(
        c,
        &o,
        &format!("{CREATE} (terminal: true, --console-socket)"),
    ) {
        return;
    }
    listener.set_nonblocking(true).ok();
    let start = Instant::now();
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break Some(s),
            Err(_) if start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => break None,
        }
    };
    let master = match stream {
        Some(s) => {
            s.set_nonblocking(false).ok();
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            recv_fd(&s)
        }
        None => Err("nothing connected to the console socket".into()),
    };
    let link = master
        .as_ref()
        .ok()
        .and_then(|fd| fs::read_link(format!("/proc/self/fd/{fd}")).ok())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    c.check(
        link == "/dev/ptmx" || link == "/dev/pts/ptmx",
        "terminal: with terminal true the runtime sends the pseudoterminal master over --console-socket (runc CLI)",
        || format!("{master:?} → {link:?}"),
    );
    start_ok(c, &id);
    // Read the master until the marker or timeout.
    let mut got = Vec::new();
    if let Ok(fd) = master {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10)
            && !String::from_utf8_lossy(&got).contains("pty-hello")
        {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, 200) };
            if r <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            // SAFETY: reading into a local buffer.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            got.extend_from_slice(&buf[..n as usize]);
        }
    }
    let pty_out = String::from_utf8_lossy(&got).into_owned();
    c.check(
        pty_out.contains("pty-hello"),
        "terminal: the process's stdout is the terminal: its output arrives on the master",
        || format!("read from the master: {pty_out:?}"),
    );
    exited(c, &id);
    if let Ok(fd) = master {
        // SAFETY: closing the fd we received.
        unsafe { libc::close(fd) };
    }
    let res = fs::read_to_string(b.rootfs().join("result")).unwrap_or_default();
    let m = kv(&res);
    c.check(
        m.get("tty").is_some_and(|t| t.starts_with("/dev/pts/")),
        "terminal: If set to true, a pseudoterminal is allocated and the process's stdio is attached to it (tty)",
        || format!("in the container:\n{res}"),
    );
    let con = m.get("console").cloned().unwrap_or_default();
    c.check(
        con.starts_with("character special file 88:") && m.get("stdin") == Some(&con),
        "default devices: /dev/console is set up if terminal is enabled in the config by bind mounting the pseudoterminal pty to /dev/console",
        || format!("in the container:\n{res}"),
    );
    c.check(
        m.get("size").map(String::as_str) == Some("33 101"),
        "process.consoleSize: specifies the console size in characters of the terminal",
        || format!("in the container:\n{res}"),
    );
    delete_clean(c, &id);
}

// ------------------------------------------------------------------ cgroups

fn cgroups_cpu(c: &mut Case, ctx: &Ctx) {
    if !host_has(
        c,
        &[
            "/sys/fs/cgroup/cpu/cgroup.procs",
            "/sys/fs/cgroup/cpuset/cgroup.procs",
        ],
        "cgroups-cpu",
        "only cgroup v1 cpu and cpuset hierarchies are checked so far",
    ) {
        return;
    }
    let mut b = sh_bundle(
        c,
        ctx,
        "for f in cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpuset/cpuset.cpus cpuset/cpuset.mems; do echo $f $(cat /sys/fs/cgroup/$f); done; exec sleep 600",
    );
    let (id, out) = c.new_container();
    let cg = test_cgroup(&mut b, &id);
    b.set(
        "/linux/resources/cpu",
        json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}),
    );
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let want = [
        ("cpu/cpu.shares", "512", "resources.cpu.shares: specifies a relative share of CPU time"),
        ("cpu/cpu.cfs_quota_us", "50000", "resources.cpu.quota: specifies the total amount of time in microseconds for which all tasks in a cgroup can run during one period"),
        ("cpu/cpu.cfs_period_us", "100000", "resources.cpu.period: specifies a period of time in microseconds for how regularly a cgroup's access to CPU resources should be reallocated"),
        ("cpuset/cpuset.cpus", "0", "resources.cpu.cpus: list of CPUs the container will run in"),
        ("cpuset/cpuset.mems", "0", "resources.cpu.mems: list of Memory Nodes the container will run in"),
    ];
    for (f, v, rule) in want {
        let (ctrl, file) = f.split_once('/').unwrap();
        let got = read_trim(&format!("/sys/fs/cgroup/{ctrl}{cg}/{file}"));
        c.check(got == v, &format!("{rule} (host: {f})"), || {
            format!("{got:?}, want {v:?}")
        });
    }
    start_ok(c, &id);
    wait_text(&out, Duration::from_secs(5), |t| {
        t.lines().count() >= want.len()
    });
    let text = read_text(&out);
    let m = kv(&text);
    for (f, v, rule) in want {
        c.check_output(
            m.get(f).map(String::as_str) == Some(v),
            &format!("{rule} (inside: /sys/fs/cgroup/{f})"),
            &text,
        );
    }
    kill_delete_cgroup(c, &id);
}

// ------------------------------------------------------------------ mount options

fn mknod_null(p: &Path) -> bool {
    let Ok(cp) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: valid C string; makedev(1, 3) is /dev/null.
    let r = unsafe { libc::mknod(cp.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    r == 0 && fs::set_permissions(p, fs::Permissions::from_mode(0o666)).is_ok()
}

fn mount_options_effective(c: &mut Case, ctx: &Ctx) {
    let src = c.dir.join("opts-src");
    crate::harness::mkdir(&src);
    fs::set_permissions(&src, fs::Permissions::from_mode(0o777)).ok();
    fs::copy("/bin/busybox", src.join("busybox")).expect("copy busybox");
    fs::set_permissions(src.join("busybox"), fs::Permissions::from_mode(0o755)).ok();
    fs::copy(&ctx.checker, src.join("suid")).expect("copy the checker");
    fs::set_permissions(src.join("suid"), fs::Permissions::from_mode(0o4755)).ok();
    if !mknod_null(&src.join("null")) {
        c.skip(
            "mount options",
            &format!(
                "mknod in {}: {}",
                src.display(),
                std::io::Error::last_os_error()
            ),
        );
        return;
    }
    let script = "for m in open restricted noexec; do d=/mnt/$m; \
        $d/suid --ids > /tmp/ids 2>&1; echo ${m}_suid $(cat /tmp/ids); \
        head -c 1 $d/null > /dev/null 2>&1; echo ${m}_dev $?; \
        $d/busybox true > /dev/null 2>&1; echo ${m}_exec $?; \
        touch $d/w-$m > /dev/null 2>&1; echo ${m}_write $?; done";
    let mut b = sh_bundle(c, ctx, script);
    for d in ["mnt/open", "mnt/restricted", "mnt/noexec"] {
        crate::harness::mkdir(&b.rootfs().join(d));
    }
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    b.set("/process/noNewPrivileges", json!(false));
    let s = src.display().to_string();
    b.push(
        "/mounts",
        json!({"destination": "/mnt/open", "type": "bind", "source": s,
               "options": ["bind", "suid", "dev", "exec", "rw"]}),
    );
    b.push(
        "/mounts",
        json!({"destination": "/mnt/restricted", "type": "bind", "source": s,
               "options": ["bind", "nosuid", "nodev", "ro"]}),
    );
    b.push(
        "/mounts",
        json!({"destination": "/mnt/noexec", "type": "bind", "source": s,
               "options": ["bind", "noexec", "ro"]}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let m = kv(&text);
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    // The "open" mount is the control: it shows the test can see the effect.
    let pairs = [
        ("suid", "restricted", "uid=1000 euid=0", "uid=1000 euid=1000", "mounts: nosuid: a set-user-ID file on the mount does not change the effective uid (suid: it does)"),
        ("dev", "restricted", "0", "1", "mounts: nodev: a device node on the mount cannot be opened (dev: it can)"),
        ("exec", "noexec", "0", "126", "mounts: noexec: a file on the mount cannot be executed (exec: it can)"),
        ("write", "restricted", "0", "1", "mounts: ro: the mount is read-only (rw: writable)"),
    ];
    for (what, mnt, open_want, restricted_want, rule) in pairs {
        let (o, r) = (get(&format!("open_{what}")), get(&format!("{mnt}_{what}")));
        c.check(
            o == open_want && r == restricted_want,
            rule,
            || format!("open: {o:?} (want {open_want:?}), {mnt}: {r:?} (want {restricted_want:?})\ncontainer output:\n{text}"),
        );
    }
}

// ------------------------------------------------------------------ default devices

fn dev_default_usable(c: &mut Case, ctx: &Ctx) {
    let script = "for d in null zero full random urandom tty ptmx; do echo $d $(stat -c '%a' /dev/$d) $(stat -L -c '%F %t:%T' /dev/$d); done; \
        echo x > /dev/null; echo write_null $?; \
        echo read_zero $(head -c 4 /dev/zero | od -An -tx1 | tr -d ' '); \
        echo x > /dev/full 2>/dev/null; echo write_full $?; \
        echo read_urandom $(head -c 16 /dev/urandom | wc -c); \
        echo read_random $(head -c 16 /dev/random | wc -c)";
    let mut b = sh_bundle(c, ctx, script);
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    let Some(text) = run_sh(c, &b) else { return };
    let m = kv(&text);
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    for (d, maj_min) in [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
        ("ptmx", "5:2"),
    ] {
        let v = get(d);
        c.check(
            v.ends_with(&format!("character special file {maj_min}")),
            &format!(
                "default devices: the runtime MUST supply /dev/{d} (character device {maj_min})"
            ),
            || format!("/dev/{d}: {v:?}"),
        );
    }
    c.check_output(
        get("write_null") == "0",
        "default devices: /dev/null is writable by a non-root process",
        &text,
    );
    c.check_output(
        get("read_zero") == "00000000",
        "default devices: /dev/zero reads zeros for a non-root process",
        &text,
    );
    c.check_output(
        get("write_full") == "1",
        "default devices: /dev/full fails writes (ENOSPC) for a non-root process",
        &text,
    );
    c.check_output(
        get("read_urandom") == "16" && get("read_random") == "16",
        "default devices: /dev/random and /dev/urandom are readable by a non-root process",
        &text,
    );
}

// ------------------------------------------------------------------ more mount options (checker)

fn config_mounts_more(c: &mut Case, ctx: &Ctx) {
    let mut b = crate::cases::new_bundle(c, ctx);
    // slave/rslave need a shared source (this host's / is private): a
    // tmpfs made shared in the driver's mount namespace. crun's wrapper
    // (`unshare -m`) makes every mount private, so crun gets no slave mounts.
    let src = c.dir.join("slave-src");
    crate::harness::mkdir(&src);
    let s = src.display().to_string();
    let shared_src = !c.rt.crun_hybrid_workaround
        && std::process::Command::new("sh")
            .args([
                "-c",
                "mount -t tmpfs -o size=1m rtc-shared \"$0\" && mount --make-shared \"$0\"",
                &s,
            ])
            .status()
            .is_ok_and(|st| st.success());
    for d in ["a", "b", "c", "d", "e", "f", "g"] {
        crate::harness::mkdir(&b.rootfs().join("mnt").join(d));
    }
    let extra = [
        json!({"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs",
               "options": ["nodiratime", "sync", "dirsync", "lazytime", "shared"]}),
        json!({"destination": "/mnt/b", "type": "tmpfs", "source": "tmpfs",
               "options": ["unbindable"]}),
        json!({"destination": "/mnt/c", "type": "tmpfs", "source": "tmpfs",
               "options": ["rshared"]}),
        json!({"destination": "/mnt/d", "type": "tmpfs", "source": "tmpfs",
               "options": ["runbindable"]}),
        json!({"destination": "/mnt/g", "type": "tmpfs", "source": "tmpfs", "options": ["relatime"]}),
    ];
    for m in extra {
        b.push("/mounts", m);
    }
    if shared_src {
        b.push(
            "/mounts",
            json!({"destination": "/mnt/e", "type": "bind", "source": s, "options": ["rbind", "rslave"]}),
        );
        b.push(
            "/mounts",
            json!({"destination": "/mnt/f", "type": "bind", "source": s, "options": ["bind", "slave"]}),
        );
    } else {
        c.skip(
            "mounts: options slave, rslave",
            if c.rt.crun_hybrid_workaround {
                "crun's unshare -m wrapper makes every mount private, no shared source for a slave mount"
            } else {
                "cannot make a shared tmpfs in the driver's mount namespace"
            },
        );
    }
    crate::cases::run_checker(c, &b, &host_facts(&[]));
}

// ------------------------------------------------------------------ devices cgroup

fn cgroups_devices(c: &mut Case, ctx: &Ctx) {
    if !v1_controller(c, "devices", "devices.list", "cgroups-devices") {
        return;
    }
    // fuse (10:229) allowed for reading only; kmsg (1:11) not allowed. (runc
    // allows tun, 10:200, by default: not usable here.)
    let mut b = sh_bundle(
        c,
        ctx,
        "head -c 0 < /dev/conf-fuse; echo fuse_read $?; (: > /dev/conf-fuse) 2>/dev/null; echo fuse_write $?; \
         head -c 0 < /dev/conf-kmsg 2>/dev/null; echo kmsg_read $?; echo null_write $(echo x > /dev/null; echo $?)",
    );
    b.set(
        "/linux/devices",
        json!([
            {"path": "/dev/conf-fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
            {"path": "/dev/conf-kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 438, "uid": 0, "gid": 0}
        ]),
    );
    b.push(
        "/linux/resources/devices",
        json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let m = kv(&text);
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    c.check_output(
        get("fuse_read") == "0",
        "resources.devices: an allow entry (c 10:229 access r) lets the container open the device for reading",
        &text,
    );
    c.check_output(
        get("fuse_write") != "0" && !get("fuse_write").is_empty(),
        "resources.devices: access not in the allow entry (w) is denied",
        &text,
    );
    c.check_output(
        get("kmsg_read") != "0" && !get("kmsg_read").is_empty(),
        "resources.devices: a device not allowed (after the deny-all entry) cannot be opened",
        &text,
    );
}

// ------------------------------------------------------------------ memory cgroup details

fn cgroups_memory(c: &mut Case, ctx: &Ctx) {
    if !v1_controller(c, "memory", "memory.soft_limit_in_bytes", "cgroups-memory") {
        return;
    }
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    let cg = test_cgroup(&mut b, &id);
    b.set(
        "/linux/resources/memory",
        json!({"limit": 134217728, "reservation": 67108864, "swappiness": 10, "disableOOMKiller": true}),
    );
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let dir = format!("/sys/fs/cgroup/memory{cg}");
    check_files(
        c,
        &dir,
        &[
            (
                "memory.soft_limit_in_bytes",
                "67108864",
                "resources.memory.reservation: sets soft limit of memory usage in bytes",
            ),
            (
                "memory.swappiness",
                "10",
                "resources.memory.swappiness: sets swappiness parameter of vmscan",
            ),
        ],
    );
    let oom = read_trim(&format!("{dir}/memory.oom_control"));
    c.check(
        oom.lines().any(|l| l == "oom_kill_disable 1"),
        "resources.memory.disableOOMKiller: disables the OOM killer for out of memory conditions",
        || format!("memory.oom_control {oom:?}"),
    );
    kill_delete_cgroup(c, &id);
}

/// config.md's MUST-support option strings not covered by a checker case:
/// one tmpfs mount per option, create must accept it and the effect, where
/// mountinfo shows one, must be there.
fn mount_options_accepted(c: &mut Case, ctx: &Ctx) {
    // (option, awk test on the mount's per-mount options $6 and superblock
    // options $NF, or "" when mountinfo does not show the effect)
    let opts = [
        ("defaults", ""),
        ("async", "$NF !~ /(^|,)sync(,|$)/"),
        ("atime", "$6 !~ /noatime/"),
        ("diratime", "$6 !~ /nodiratime/"),
        ("norelatime", "$6 !~ /strictatime/"),
        ("nostrictatime", "$6 !~ /strictatime/"),
        ("nolazytime", "$NF !~ /lazytime/"),
        ("silent", ""),
        ("loud", ""),
        ("iversion", ""),
        ("noiversion", ""),
    ];
    for (o, test) in opts {
        let mut b = sh_bundle(
            c,
            ctx,
            &format!(
                "awk '$5 == \"/mnt/o\" {{ print ({}) ? \"effect yes\" : \"effect no\" }}' /proc/self/mountinfo; echo ran yes",
                if test.is_empty() { "1" } else { test }
            ),
        );
        crate::harness::mkdir(&b.rootfs().join("mnt/o"));
        b.push(
            "/mounts",
            json!({"destination": "/mnt/o", "type": "tmpfs", "source": "tmpfs", "options": [o]}),
        );
        let id = c.new_id();
        let out = c.dir.join(format!("container-{o}.out"));
        let cr = create(c, &b, &id, &out);
        let started = cr.ok() && c.rt(&["start", &id], None).ok();
        if started {
            c.wait_status(&id, "stopped", Duration::from_secs(10));
        }
        let text = read_text(&out);
        let m = kv(&text);
        c.check(
            started && m.contains_key("ran"),
            &format!("mounts: option {o}: the runtime MUST support this option string (a tmpfs mount with it works)"),
            || format!("create: {}; container output:\n{text}", cr.describe()),
        );
        if started && !test.is_empty() {
            c.check_output(
                m.get("effect").map(String::as_str) == Some("yes"),
                &format!("mounts: option {o}: effect in /proc/self/mountinfo ({test})"),
                &text,
            );
        }
        let _ = c.rt(&["delete", "--force", &id], None);
        let _ = fs::remove_dir_all(&b.dir);
    }
}

/// "The runtime MUST apply entries in the listed order": allow fuse read,
/// then deny it again: the later entry wins.
fn cgroups_devices_order(c: &mut Case, ctx: &Ctx) {
    if !v1_controller(c, "devices", "devices.list", "cgroups-devices-order") {
        return;
    }
    let mut b = sh_bundle(
        c,
        ctx,
        "head -c 0 < /dev/conf-fuse 2>/dev/null; echo fuse_read $?",
    );
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/conf-fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]),
    );
    b.push(
        "/linux/resources/devices",
        json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}),
    );
    b.push(
        "/linux/resources/devices",
        json!({"allow": false, "type": "c", "major": 10, "minor": 229, "access": "r"}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let r = kv(&text).get("fuse_read").cloned().unwrap_or_default();
    c.check_output(
        r != "0" && !r.is_empty(),
        "resources.devices: The runtime MUST apply entries in the listed order (allow c 10:229 rwm, then deny r: reading is denied)",
        &text,
    );
}

/// "the runtime MUST consistently attach to the same place in the cgroups
/// hierarchy given the same value of cgroupsPath": two containers, one after
/// the other, with the same relative cgroupsPath.
fn cgroups_path_consistent(c: &mut Case, ctx: &Ctx) {
    let rel = format!("rtc-conformance-rel-{}", std::process::id());
    let mut paths = Vec::new();
    for _ in 0..2 {
        let mut b = sh_bundle(c, ctx, "exec sleep 600");
        b.set("/linux/cgroupsPath", json!(rel));
        let (id, out) = c.new_container();
        if !create_ok(
            c,
            &b,
            &id,
            &out,
            &format!("{CREATE} (relative cgroupsPath)"),
        ) {
            return;
        }
        let pid = state_pid(c, &id);
        let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let mut lines: Vec<String> = cg
            .lines()
            .filter(|l| !l.contains(":name=systemd:") && !l.starts_with("0::"))
            .map(String::from)
            .collect();
        lines.sort();
        paths.push(lines.join("\n"));
        let _ = c.rt(&["delete", "--force", &id], None);
        let _ = fs::remove_dir_all(&b.dir);
    }
    c.check(
        paths[0] == paths[1] && paths[0].contains(&rel),
        "cgroupsPath: If the value is specified, the runtime MUST consistently attach to the same place in the cgroups hierarchy given the same value of cgroupsPath (relative path, two containers)",
        || format!("first:\n{}\nsecond:\n{}", paths[0], paths[1]),
    );
    // Remove what a relative path created (below the driver's own cgroup).
    for d in crate::harness::cgroup_dirs(&rel) {
        let _ = fs::remove_dir(d);
    }
}

fn seccomp_errno_unsupported(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL", "errnoRet": 95}]
        }),
    );
    start_refused(
        c,
        &b,
        "seccomp: errnoRet: When the action doesn't support an errno, the runtime MUST print and error and fail (SCMP_ACT_KILL with errnoRet)",
    );
}

fn cgroups_blkio(c: &mut Case, ctx: &Ctx) {
    let file = "blkio.throttle.read_bps_device";
    if !v1_controller(c, "blkio", file, "cgroups-blkio") {
        return;
    }
    // A block device of this host: the one / is on.
    let Some((maj, min)) = root_block_device()
        .filter(|&(ma, mi)| fs::metadata(format!("/sys/dev/block/{ma}:{mi}")).is_ok())
    else {
        c.skip(
            "cgroups-blkio",
            "the root filesystem is not on a block device",
        );
        return;
    };
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    let cg = test_cgroup(&mut b, &id);
    b.set(
        "/linux/resources/blockIO",
        json!({
            "throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": maj, "minor": min, "rate": 300}]
        }),
    );
    if !create_ok(c, &b, &id, &out, CREATE) {
        return;
    }
    let read = |f: &str| read_trim(&format!("/sys/fs/cgroup/blkio{cg}/{f}"));
    let r = read(file);
    c.check(
        r.lines().any(|l| l == format!("{maj}:{min} 1048576")),
        "resources.blockIO.throttleReadBpsDevice: specifies the list of devices which will be bandwidth rate limited",
        || format!("{file}: {r:?}"),
    );
    let w = read("blkio.throttle.write_iops_device");
    c.check(
        w.lines().any(|l| l == format!("{maj}:{min} 300")),
        "resources.blockIO.throttleWriteIOPSDevice: specifies the list of devices which will be IO rate limited",
        || format!("blkio.throttle.write_iops_device: {w:?}"),
    );
    kill_delete_cgroup(c, &id);
}

fn userns_nonroot(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "echo ids $(id -u) $(id -g); exec sleep 600");
    b.userns_mapped();
    b.set("/process/user", json!({"uid": 1000, "gid": 1001}));
    let (id, out) = c.new_container();
    if !create_ok(
        c,
        &b,
        &id,
        &out,
        &format!("{CREATE} (user namespace, process uid 1000)"),
    ) {
        return;
    }
    start_ok(c, &id);
    wait_text(&out, Duration::from_secs(5), |t| t.contains("ids"));
    let pid = state_pid(c, &id);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |n: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(n))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let text = read_text(&out);
    c.check_output(
        kv(&text).get("ids").map(String::as_str) == Some("1000 1001"),
        "process.user: uid/gid in the container namespace (1000/1001 inside a user namespace)",
        &text,
    );
    let (u, g) = (field("Uid:"), field("Gid:"));
    c.check(
        u == "101000" && g == "201001",
        "uidMappings/gidMappings: container uid 1000 / gid 1001 are host uid 101000 / gid 201001",
        || format!("host /proc/{pid}/status Uid {u:?} Gid {g:?}"),
    );
    kill_delete(c, &id);
}

fn time_namespace(c: &mut Case, ctx: &Ctx) {
    if !host_has(
        c,
        &["/proc/self/ns/time"],
        "time namespace",
        "the kernel has no time namespaces",
    ) {
        return;
    }
    let mut b = sh_bundle(
        c,
        ctx,
        "echo ns $(readlink /proc/self/ns/time); awk '{print $1, $2, $3}' /proc/self/timens_offsets",
    );
    b.push("/linux/namespaces", json!({"type": "time"}));
    b.set(
        "/linux/timeOffsets",
        json!({"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 0}}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let m = kv(&text);
    let host = fs::read_link("/proc/self/ns/time")
        .map(|l| l.display().to_string())
        .unwrap_or_default();
    c.check(
        m.get("ns").is_some_and(|n| n.starts_with("time:") && *n != host),
        "namespaces: time: If path is not specified, the runtime MUST create a new container namespace of type type",
        || format!("host {host}; container output:\n{text}"),
    );
    c.check_output(
        m.get("monotonic").map(String::as_str) == Some("86400 0")
            && m.get("boottime").map(String::as_str) == Some("172800 0"),
        "timeOffsets: sets the offset for Time Namespace (monotonic 86400 s, boottime 172800 s)",
        &text,
    );
}

fn personality(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "echo arch $(uname -m)");
    b.set("/linux/personality", json!({"domain": "LINUX32"}));
    let Some(text) = run_sh(c, &b) else { return };
    let arch = kv(&text).get("arch").cloned().unwrap_or_default();
    c.check_output(
        arch == "i686",
        "personality: sets the Linux execution personality (LINUX32: uname -m is i686)",
        &text,
    );
}

/// A veth pair on the host, one end to be moved into the container. Removed
/// again on drop (if the runtime left it on the host).
pub(crate) struct Veth(pub(crate) String, pub(crate) String);

impl Veth {
    /// [`Veth::new`], or None with the netDevices rule skipped.
    pub(crate) fn or_skip(c: &mut Case, tag: &str) -> Option<Veth> {
        let v = Veth::new(tag);
        if v.is_none() {
            c.skip("netDevices", "cannot create a veth pair on the host");
        }
        v
    }
    pub(crate) fn new(tag: &str) -> Option<Veth> {
        let n = std::process::id() % 100000;
        let (a, b) = (format!("rtc{n}{tag}a"), format!("rtc{n}{tag}b"));
        let ok = std::process::Command::new("ip")
            .args(["link", "add", &a, "type", "veth", "peer", "name", &b])
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Veth(a, b))
    }
    pub(crate) fn on_host(&self) -> bool {
        Path::new("/sys/class/net").join(&self.0).exists()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in [&self.0, &self.1] {
            if Path::new("/sys/class/net").join(n).exists() {
                let _ = std::process::Command::new("ip")
                    .args(["link", "del", n])
                    .status();
            }
        }
    }
}

fn net_devices(c: &mut Case, ctx: &Ctx) {
    let Some(veth) = Veth::or_skip(c, "n") else {
        return;
    };
    let a = veth.0.clone();
    let setup = std::process::Command::new("sh")
        .args([
            "-c",
            "ip link set \"$0\" mtu 1400 && ip addr add 198.51.100.7/24 dev \"$0\"",
            &a,
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !setup {
        c.skip("netDevices", "cannot configure the veth end");
        return;
    }
    let mut b = sh_bundle(
        c,
        ctx,
        "echo flags $(cat /sys/class/net/rtceth0/flags); echo mtu $(cat /sys/class/net/rtceth0/mtu); \
         echo addr $(ip -o -4 addr show dev rtceth0 | awk '{print $4}'); exec sleep 600",
    );
    b.set(
        "/linux/netDevices",
        json!({ a.clone(): {"name": "rtceth0"} }),
    );
    let (id, out) = c.new_container();
    if !create_ok(c, &b, &id, &out, &format!("{CREATE} (netDevices)")) {
        return;
    }
    c.check(
        !veth.on_host(),
        "netDevices: A set of network devices that MUST be made available in the container (moved out of the host namespace)",
        || format!("{a} is still in the host's network namespace"),
    );
    start_ok(c, &id);
    wait_text(&out, Duration::from_secs(5), |t| t.contains("addr"));
    let text = read_text(&out);
    let m = kv(&text);
    let flags = m
        .get("flags")
        .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
    c.check_output(
        flags.is_some_and(|f| f & 1 != 0),
        "netDevices: name: the device appears under its name inside the container, and The runtime MUST set the network device state to \"up\" after moving it",
        &text,
    );
    c.check_output(
        m.get("mtu").map(String::as_str) == Some("1400")
            && m.get("addr").map(String::as_str) == Some("198.51.100.7/24"),
        "netDevices: The runtime MUST preserve existing network interface attributes, including all permanent IP addresses of any family with global scope (mtu 1400, 198.51.100.7/24)",
        &text,
    );
    kill_stop(c, &id);
    delete_ok(c, &id);
}

fn net_device_name_exists(c: &mut Case, ctx: &Ctx) {
    let Some(veth) = Veth::or_skip(c, "x") else {
        return;
    };
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    // Every new network namespace has a "lo".
    b.set(
        "/linux/netDevices",
        json!({ veth.0.clone(): {"name": "lo"} }),
    );
    create_refused(
        c,
        &b,
        "netDevices: If a network device with the specified name already exists in the container namespace, the runtime MUST generate an error",
        "netDevices name exists",
    );
}

fn seccomp_default_errno_unsupported(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "touch /started; exec sleep 600");
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "defaultErrnoRet": 95,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    start_refused(
        c,
        &b,
        "seccomp: defaultErrnoRet: When the action doesn't support an errno, the runtime MUST print and error and fail (SCMP_ACT_ALLOW with defaultErrnoRet)",
    );
}
