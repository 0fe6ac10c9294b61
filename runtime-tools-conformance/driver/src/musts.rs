//! The third round: the spec MUSTs of config.md, config-linux.md, runtime.md
//! and runtime-linux.md that the first two rounds left out (docs/conformance.md,
//! "Spec MUSTs: covered"): invalid values that must be refused (ociVersion,
//! annotations, hook timeout and path, relative paths, seccomp fields, mount
//! idmappings, absent cgroup controllers, intelRdt without resctrl, net devices
//! that cannot be moved, ids), and the fields that must take effect (remount,
//! recursive mount options, idmapped mounts, netDevices name templates and
//! deletion, cpu realtime/idle/burst, memory checkBeforeUpdate, seccomp flags
//! and the seccomp listener, rootfsPropagation slave, joined user namespaces,
//! additionalGids in a user namespace, extra fds).

use crate::cases::{
    bad_config, kill_delete_cgroup, remove_cgroup_parent, sh_bundle, test_cgroup, CaseFn, Ctx,
};
use crate::harness::{host_facts, mkdir, recv_msg, Bundle, Case};
use crate::host::{host_has, netns_holder, root_block_device, v1_controller};
use crate::more::Veth;
use crate::steps::{
    check_files, create, create_ok_clean, create_saved, created_clean, delete_clean, first_line,
    force_delete_clean, kill_delete, kv, no_leftovers, owner, read_text, read_trim, require_ok,
    run_sh, start_ok, start_sh, start_sh_id, start_wait, state_pid, wait_output, CREATE,
    CREATE_FAILED_CLEAN, DELETE_CLEAN, ERROR_CLEAN,
};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn cases() -> Vec<(&'static str, CaseFn)> {
    vec![
        ("bad-config-ociversion", |c, x| {
            bad_config(
                c,
                x,
                "ociVersion: MUST be in SemVer v2.0.0 format; Runtimes MUST generate an error when invalid or unsupported values are encountered",
                |b| b.set("/ociVersion", json!("not-a-version")),
            )
        }),
        ("bad-config-annotation-empty-key", |c, x| {
            bad_config(c, x, "annotations: Keys MUST NOT be an empty string", |b| {
                b.set("/annotations", json!({"": "x"}))
            })
        }),
        ("bad-config-annotation-value", |c, x| {
            bad_config(
                c,
                x,
                "annotations: Values MUST be strings (a number)",
                |b| b.set("/annotations", json!({"org.example.n": 1})),
            )
        }),
        ("bad-config-annotations-not-map", |c, x| {
            bad_config(
                c,
                x,
                "annotations: Annotations MUST be a key-value map (an array)",
                |b| b.set("/annotations", json!(["org.example.k=v"])),
            )
        }),
        ("annotations-reserved", annotations_reserved),
        ("capabilities-unknown", capabilities_unknown),
        ("bad-config-hook-timeout-zero", |c, x| {
            bad_config(
                c,
                x,
                "hooks: timeout: If set, timeout MUST be greater than zero (timeout 0)",
                |b| {
                    b.set(
                        "/hooks/createRuntime",
                        json!([{"path": "/bin/true", "timeout": 0}]),
                    )
                },
            )
        }),
        ("bad-config-hook-path-relative", |c, x| {
            bad_config(
                c,
                x,
                "hooks: path: This specification extends the IEEE standard in that path MUST be absolute (bin/true)",
                |b| b.set("/hooks/createRuntime", json!([{"path": "bin/true"}])),
            )
        }),
        ("hooks-path-namespace", hooks_path_namespace),
        ("bad-config-terminal-no-console-socket", |c, x| {
            bad_config(
                c,
                x,
                "process.terminal: true, but no --console-socket to hand the pseudoterminal master to (create cannot set up the environment)",
                |b| b.set("/process/terminal", json!(true)),
            )
        }),
        ("bad-config-namespace-path-relative", ns_path_relative),
        ("bad-config-masked-path-relative", |c, x| {
            bad_config(
                c,
                x,
                "maskedPaths: The values MUST be absolute paths in the container namespace (etc/passwd)",
                |b| b.push("/linux/maskedPaths", json!("etc/passwd")),
            )
        }),
        ("bad-config-readonly-path-relative", |c, x| {
            bad_config(
                c,
                x,
                "readonlyPaths: The values MUST be absolute paths in the container namespace (etc)",
                |b| b.push("/linux/readonlyPaths", json!("etc")),
            )
        }),
        ("bad-config-seccomp-names-empty", |c, x| {
            bad_config(
                c,
                x,
                "seccomp: syscalls[].names MUST contain at least one entry",
                |b| {
                    b.set(
                        "/linux/seccomp",
                        json!({"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
                    )
                },
            )
        }),
        ("bad-config-seccomp-metadata-without-listener", |c, x| {
            bad_config(
                c,
                x,
                "seccomp: listenerMetadata: This field MUST NOT be set if listenerPath is not set",
                |b| {
                    b.set(
                        "/linux/seccomp",
                        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "conformance",
                               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
                    )
                },
            )
        }),
        ("bad-config-seccomp-flag-unknown", |c, x| {
            bad_config(
                c,
                x,
                "seccomp: flags: an unknown flag is an invalid value (Runtimes MUST generate an error when invalid or unsupported values are encountered)",
                |b| {
                    b.set(
                        "/linux/seccomp",
                        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_CONFORMANCE_NO_SUCH"],
                               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
                    )
                },
            )
        }),
        ("bad-config-seccomp-listener-unreachable", |c, x| {
            let sock = c.dir.join("no-agent.sock").display().to_string();
            bad_config(
                c,
                x,
                "seccomp: listenerPath: If sending to this socket fails, the runtime MUST generate an error (no listener at the path)",
                |b| {
                    b.set(
                        "/linux/seccomp",
                        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
                    )
                },
            )
        }),
        ("seccomp-flags", seccomp_flags),
        ("seccomp-listener", seccomp_listener),
        ("bad-config-personality-flag", |c, x| {
            bad_config(
                c,
                x,
                "personality: flags: Currently no flag values are supported (an unsupported value MUST be an error)",
                |b| {
                    b.set(
                        "/linux/personality",
                        json!({"domain": "LINUX", "flags": ["CONFORMANCE_NO_SUCH_FLAG"]}),
                    )
                },
            )
        }),
        ("mount-remount", mount_remount),
        ("mount-recursive-options", mount_recursive_options),
        ("mount-idmap", mount_idmap),
        ("bad-config-mount-idmap-no-mappings", |c, x| {
            let src = c.dir.display().to_string();
            bad_config(
                c,
                x,
                "mounts: idmap: If there are no uidMappings and gidMappings specified and the container isn't using user namespaces, an error MUST be returned",
                |b| {
                    b.push(
                        "/mounts",
                        json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["bind", "idmap"]}),
                    )
                },
            )
        }),
        ("bad-config-mount-uidmappings-only", |c, x| {
            let src = c.dir.display().to_string();
            bad_config(
                c,
                x,
                "mounts: uidMappings: If specified, it MUST be specified along with gidMappings",
                |b| {
                    b.push(
                        "/mounts",
                        json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["bind", "idmap"],
                               "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}),
                    )
                },
            )
        }),
        ("net-devices-template", net_devices_template),
        ("net-devices-delete", net_devices_delete),
        ("bad-config-net-device-absent", |c, x| {
            let name = format!("rtcnosuch{}", std::process::id() % 100000);
            bad_config(
                c,
                x,
                "netDevices: The runtime MUST check if moving the network interface to the container namespace is possible (no such host device)",
                |b| b.set("/linux/netDevices", json!({ name: {} })),
            )
        }),
        ("bad-config-net-device-unmovable", net_device_unmovable),
        ("bad-config-cgroup-rdma-absent", |c, x| {
            controller_absent(c, x, "rdma")
        }),
        ("bad-config-cgroup-network-absent", |c, x| {
            controller_absent(c, x, "network")
        }),
        ("bad-config-cgroup-unified-absent", |c, x| {
            controller_absent(c, x, "unified")
        }),
        ("bad-config-intelrdt-no-resctrl", intelrdt_no_resctrl),
        ("cgroups-cpu-realtime", cgroups_cpu_realtime),
        ("cgroups-cpu-idle-burst", cgroups_cpu_idle_burst),
        (
            "cgroups-memory-check-before-update",
            memory_check_before_update,
        ),
        ("cgroups-memory-swap", memory_swap),
        ("cgroups-blkio-throttle-more", blkio_throttle_more),
        ("cgroups-blkio-weight", blkio_weight),
        ("config-rootfs-propagation-slave", rootfs_propagation_slave),
        ("userns-join-path", userns_join_path),
        ("userns-additional-gids", userns_additional_gids),
        ("fds-preserve", fds_preserve),
        ("fds-listen", fds_listen),
        ("hooks-before-pivot", hooks_before_pivot),
        ("cgroups-unified", cgroups_unified),
        ("cgroups-hugetlb", cgroups_hugetlb),
        ("bad-config-blkio-weight-device-empty", |c, x| {
            bad_config(
                c,
                x,
                "blockIO.weightDevice: You MUST specify at least one of weight or leafWeight in a given entry",
                |b| {
                    b.set(
                        "/linux/resources/blockIO",
                        json!({"weightDevice": [{"major": 1, "minor": 3}]}),
                    )
                },
            )
        }),
        ("bad-id", bad_id),
    ]
}

// ------------------------------------------------------------------ helpers

/// Mounts a tmpfs (source `rtc-shared`, which `leftovers` does not count as
/// the runtime's) at `p` in the driver's mount namespace, with `opts`.
fn driver_tmpfs(p: &Path, opts: &str) -> bool {
    mkdir(p);
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", opts, "rtc-shared"])
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

// ------------------------------------------------------------------ annotations, hooks

fn annotations_reserved(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let ann = json!({
        "org.opencontainers.image.os": "linux",
        "org.opencontainers.image.architecture": "amd64",
        "org.opencontainers.image.stopSignal": "SIGTERM",
        "org.example.conformance": "yes"
    });
    b.set("/annotations", ann.clone());
    let (id, out) = c.new_container();
    if !create_ok_clean(
        c,
        &b,
        &id,
        &out,
        "annotations: keys of the org.opencontainers namespace used as described (image.os, image.architecture, image.stopSignal) are accepted: create succeeds",
    ) {
        return;
    }
    let st = c.state(&id).unwrap_or(Value::Null);
    c.check(
        st["annotations"] == ann,
        "state: annotations contains the list of annotations associated with the container (org.opencontainers keys kept)",
        || format!("state annotations {}", st["annotations"]),
    );
    kill_delete(c, &id);
}

/// createContainer: "The value of path MUST resolve in the runtime
/// namespace" (a script only the host has); startContainer: "MUST resolve in
/// the container namespace" (a script only the rootfs has).
fn hooks_path_namespace(c: &mut Case, ctx: &Ctx) {
    let host_script = c.dir.join("hook-cc.sh");
    let marker = c.dir.join("cc-ran");
    fs::write(
        &host_script,
        format!("#!/bin/sh\necho yes > {}\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(&host_script, fs::Permissions::from_mode(0o755)).unwrap();
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let in_rootfs = "/conformance/hook-sc.sh";
    let p = b.rootfs().join(in_rootfs.trim_start_matches('/'));
    fs::write(&p, "#!/bin/sh\necho yes > /sc-ran\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let on_host = Path::new(in_rootfs).exists();
    b.set(
        "/hooks",
        json!({
            "createContainer": [{"path": host_script.display().to_string()}],
            "startContainer": [{"path": in_rootfs}]
        }),
    );
    let Some((id, _)) = start_sh(c, &b, "createContainer hook path on the host only") else {
        return;
    };
    c.check(
        marker.exists(),
        "hooks: createContainer: The value of path MUST resolve in the runtime namespace (a script present only on the host ran)",
        || format!("{} not written", marker.display()),
    );
    if on_host {
        c.skip(
            "hooks: startContainer: The value of path MUST resolve in the container namespace",
            &format!("{in_rootfs} exists on the host too"),
        );
    } else {
        let sc = b.rootfs().join("sc-ran");
        crate::harness::wait_file(&sc, Duration::from_secs(3));
        c.check(
            sc.exists(),
            "hooks: startContainer: The value of path MUST resolve in the container namespace (a script present only in the rootfs ran)",
            || "the container's /sc-ran was not written".into(),
        );
    }
    kill_delete(c, &id);
}

/// A relative namespace path that would name a valid network namespace if
/// resolved against the bundle (where runc-style runtimes chdir) or the
/// runtime's cwd.
fn ns_path_relative(c: &mut Case, ctx: &Ctx) {
    let Some(target) = netns_holder(c, "namespaces: path") else {
        return;
    };
    bad_config(
        c,
        ctx,
        "namespaces: path: This value MUST be an absolute path in the runtime mount namespace (netns-link, a relative symlink to a network namespace in the bundle)",
        |b| {
            let _ = std::os::unix::fs::symlink(&target, b.dir.join("netns-link"));
            for n in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
                if n["type"] == "network" {
                    n["path"] = json!("netns-link");
                }
            }
        },
    );
}

// ------------------------------------------------------------------ seccomp

fn seccomp_flags(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(
        c,
        ctx,
        "grep '^Seccomp:' /proc/self/status; mkdir /tmp/sc 2>&1; echo mkdir_rc $?; touch /tmp/t && echo touch_ok yes",
    );
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]
        }),
    );
    // The flags are valid constants but not MUST-support ones: a runtime
    // refusing them ("MUST generate an error when ... unsupported values are
    // encountered") is within the spec.
    let (id, out) = c.new_container();
    let o = create(c, &b, &id, &out);
    if !o.ok() {
        c.skip(
            "seccomp: flags",
            &format!(
                "the runtime refuses the flags (an error for unsupported values): {}",
                first_line(&o)
            ),
        );
        no_leftovers(c, &id, ERROR_CLEAN);
        return;
    }
    let text = start_wait(c, &id, &out);
    delete_clean(c, &id);
    let m = kv(&text);
    c.check_output(
        m.get("Seccomp:").map(String::as_str) == Some("2")
            && m.get("mkdir_rc").is_some_and(|v| v != "0")
            && text.to_lowercase().contains("not supported")
            && m.contains_key("touch_ok"),
        "seccomp: flags (SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW): the filter is installed with them and applies (mkdir fails with EOPNOTSUPP, other syscalls work)",
        &text,
    );
}

/// Reads a unix stream to EOF with recvmsg: the payload and every fd that
/// came with SCM_RIGHTS, with the index of the message that carried it.
fn recv_all(sock: &std::os::unix::net::UnixStream) -> (Vec<u8>, Vec<(usize, i32)>, String) {
    let mut data = Vec::new();
    let mut fds = Vec::new();
    let mut msg_n = 0;
    loop {
        let (d, f) = match recv_msg(sock, libc::MSG_CMSG_CLOEXEC) {
            Ok(m) => m,
            Err(e) => return (data, fds, e),
        };
        fds.extend(f.into_iter().map(|fd| (msg_n, fd)));
        if d.is_empty() {
            return (data, fds, "EOF".into());
        }
        data.extend_from_slice(&d);
        msg_n += 1;
    }
}

fn seccomp_listener(c: &mut Case, ctx: &Ctx) {
    use std::os::unix::net::UnixListener;
    let sock_path = c.dir.join("agent.sock");
    let Ok(listener) = UnixListener::bind(&sock_path) else {
        c.skip(
            "seccomp: listenerPath",
            &format!("cannot bind {}", sock_path.display()),
        );
        return;
    };
    let mut b = sh_bundle(
        c,
        ctx,
        "mkdir /tmp/notified 2>&1; echo mkdir_rc $?; echo after yes",
    );
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "listenerPath": sock_path.display().to_string(),
            "listenerMetadata": "conformance-metadata",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    // The agent: one connection, read to EOF (the runtime MUST close it),
    // then look for a second connection for a moment.
    listener.set_nonblocking(true).ok();
    let agent = std::thread::spawn(move || {
        let start = Instant::now();
        let mut conns = Vec::new();
        while start.elapsed() < Duration::from_secs(20) {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).ok();
                    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
                    conns.push(recv_all(&s));
                    // Give a second connection a moment to show up.
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_millis(300) {
                        if let Ok((s2, _)) = listener.accept() {
                            s2.set_nonblocking(false).ok();
                            s2.set_read_timeout(Some(Duration::from_secs(2))).ok();
                            conns.push(recv_all(&s2));
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        conns
    });
    let (id, out) = c.new_container();
    let o = create(c, &b, &id, &out);
    if !require_ok(
        c,
        &o,
        &format!("{CREATE} (seccomp SCMP_ACT_NOTIFY with listenerPath)"),
    ) {
        let _ = agent.join();
        no_leftovers(c, &id, CREATE_FAILED_CLEAN);
        return;
    }
    let pid = state_pid(c, &id);
    // The agent is answered by the runtime during create; if it sends later
    // (at start), start first.
    start_ok(c, &id);
    let conns = agent.join().unwrap_or_default();
    let Some((data, fds, end)) = conns.first() else {
        c.fail(
            "seccomp: listenerPath: the runtime sends the container process state to the socket",
            "no connection to the listener socket",
        );
        let _ = c.rt(&["delete", "--force", &id], None);
        return;
    };
    let text = String::from_utf8_lossy(data).into_owned();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let links: Vec<String> = fds
        .iter()
        .map(|(_, fd)| {
            fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    c.check(
        v.is_object(),
        "seccomp: The container runtime MUST send the container process state over the UNIX socket as regular payload serialized in JSON (exactly one state per connection)",
        || format!("payload {text:?}"),
    );
    c.check(
        fds.len() == 1 && links[0].contains("seccomp") && v["fds"] == json!(["seccompFd"]),
        "seccomp: file descriptors MUST be sent using SCM_RIGHTS; seccompFd named in fds",
        || format!("fds {fds:?} → {links:?}; fds field {}", v["fds"]),
    );
    c.check(
        fds.iter().all(|(n, _)| *n == 0),
        "seccomp: If more than one sendmsg(2) is used, the file descriptors MUST be sent only in the first call",
        || format!("fds by message index {fds:?}"),
    );
    c.check(
        end == "EOF" && conns.len() == 1,
        "seccomp: listenerPath: The connection MUST NOT be reused and it MUST be closed after sending a seccomp state",
        || format!("end of the first connection: {end}; {} connection(s)", conns.len()),
    );
    let st = &v["state"];
    c.check(
        v["ociVersion"].is_string()
            && v["pid"].as_i64() == Some(pid)
            && v["metadata"] == "conformance-metadata"
            && st["id"] == id.as_str()
            && st["bundle"] == b.path().as_str()
            && st["status"].is_string(),
        "seccomp: container process state: ociVersion, pid (as seen by the runtime), metadata (listenerMetadata), state (id, status, bundle)",
        || format!("payload {text} (container pid {pid})"),
    );
    // Closing the notify fd makes the pending and later notifications fail
    // (ENOSYS): the process goes on.
    for (_, fd) in fds {
        // SAFETY: closing fds we received.
        unsafe { libc::close(*fd) };
    }
    for (_, more, _) in conns.iter().skip(1) {
        for (_, fd) in more {
            // SAFETY: as above.
            unsafe { libc::close(*fd) };
        }
    }
    let st = c.wait_status(&id, "stopped", Duration::from_secs(10));
    let out_text = read_text(&out);
    c.check(
        st.as_deref() == Some("stopped")
            && kv(&out_text).get("mkdir_rc").is_some_and(|r| r != "0")
            && !b.rootfs().join("tmp/notified").exists(),
        "seccomp: SCMP_ACT_NOTIFY: the syscall went to the listener (it fails once the agent closes the fd), the process continues",
        || format!("status {st:?}; container output:\n{out_text}"),
    );
    force_delete_clean(c, &id, DELETE_CLEAN);
}

// ------------------------------------------------------------------ mounts

fn mount_remount(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(
        c,
        ctx,
        "awk '$5 == \"/mnt/rm\" {print \"m\", $6, $NF}' /proc/self/mountinfo; touch /mnt/rm/f 2>/dev/null; echo write $?",
    );
    mkdir(&b.rootfs().join("mnt/rm"));
    b.push(
        "/mounts",
        json!({"destination": "/mnt/rm", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "rw"]}),
    );
    b.push(
        "/mounts",
        json!({"destination": "/mnt/rm", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro", "nosuid"]}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let mounts: Vec<&str> = text.lines().filter(|l| l.starts_with("m ")).collect();
    let opts = mounts
        .first()
        .map(|l| l.split(' ').nth(1).unwrap_or(""))
        .unwrap_or("");
    let sb = mounts
        .first()
        .map(|l| l.split(' ').nth(2).unwrap_or(""))
        .unwrap_or("");
    let has = |o: &str| opts.split(',').any(|x| x == o);
    c.check_output(
        mounts.len() == 1
            && has("ro")
            && has("nosuid")
            && sb.split(',').any(|x| x == "size=1024k")
            && kv(&text).get("write").is_some_and(|w| w != "0"),
        "mounts: option remount (MUST): the tmpfs already at /mnt/rm is remounted ro,nosuid (one mount, its size=1m kept, not writable)",
        &text,
    );
}

/// (mount suffix, options of the host's tmpfs below the source, the
/// recursive options asked for, per-mount options that must show on both
/// levels, ones that must not).
type RecGroup = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

fn mount_recursive_options(c: &mut Case, ctx: &Ctx) {
    // Three sources, each with a tmpfs below it, rbind-mounted with the
    // recursive (SHOULD) options; the sub-mount must get them too.
    let mut specs = Vec::new();
    let groups: [RecGroup; 3] = [
        (
            "a",
            "size=1m",
            &[
                "rro",
                "rnosuid",
                "rnodev",
                "rnoexec",
                "rnoatime",
                "rnodiratime",
                "rnosymfollow",
            ],
            &[
                "ro",
                "nosuid",
                "nodev",
                "noexec",
                "noatime",
                "nodiratime",
                "nosymfollow",
            ],
            &[],
        ),
        (
            "b",
            "size=1m,ro,nosuid,nodev,noexec,noatime,nodiratime,nosymfollow",
            &[
                "rrw",
                "rsuid",
                "rdev",
                "rexec",
                "rstrictatime",
                "rdiratime",
                "rsymfollow",
            ],
            &["rw"],
            &[
                "ro",
                "nosuid",
                "nodev",
                "noexec",
                "noatime",
                "relatime",
                "nodiratime",
                "nosymfollow",
            ],
        ),
        (
            "c",
            "size=1m,noatime",
            &["rrelatime"],
            &["relatime"],
            &["noatime"],
        ),
    ];
    for (n, sub_opts, _, _, _) in &groups {
        let src = c.dir.join(format!("rec-src-{n}"));
        mkdir(&src);
        if !driver_tmpfs(&src.join("sub"), sub_opts) {
            c.skip(
                "mounts: recursive options",
                &format!("cannot mount a tmpfs with {sub_opts} on the host"),
            );
            return;
        }
        specs.push(src);
    }
    let mut b = sh_bundle(
        c,
        ctx,
        "awk '$5 ~ /^\\/mnt\\/rec/ {print \"m\" $5, $6}' /proc/self/mountinfo",
    );
    for ((n, _, opts, _, _), src) in groups.iter().zip(&specs) {
        mkdir(&b.rootfs().join(format!("mnt/rec{n}")));
        let mut o = vec!["rbind".to_string()];
        o.extend(opts.iter().map(|s| s.to_string()));
        b.push(
            "/mounts",
            json!({"destination": format!("/mnt/rec{n}"), "type": "bind", "source": src.display().to_string(), "options": o}),
        );
    }
    let (id, out) = c.new_container();
    let o = create(c, &b, &id, &out);
    if !o.ok() {
        c.skip(
            "mounts: recursive options (rro, rnosuid, …: SHOULD)",
            &format!("the runtime refuses them: {}", first_line(&o)),
        );
        force_delete_clean(c, &id, ERROR_CLEAN);
        return;
    }
    let text = start_wait(c, &id, &out);
    let m = kv(&text);
    for (n, _, opts, want, not) in groups {
        for mp in [format!("m/mnt/rec{n}"), format!("m/mnt/rec{n}/sub")] {
            let got = m.get(&mp).cloned().unwrap_or_default();
            let set: Vec<&str> = got.split(',').collect();
            let missing: Vec<&&str> = want.iter().filter(|w| !set.contains(w)).collect();
            let extra: Vec<&&str> = not.iter().filter(|w| set.contains(w)).collect();
            c.check(
                !got.is_empty() && missing.is_empty() && extra.is_empty(),
                &format!(
                    "mounts: recursive options {} (SHOULD) apply to {} (kernel 5.12+ mount_setattr AT_RECURSIVE)",
                    opts.join(","),
                    &mp[1..]
                ),
                || format!("{} options {got:?}: missing {missing:?}, still set {extra:?}\ncontainer output:\n{text}", &mp[1..]),
            );
        }
    }
    delete_clean(c, &id);
}

fn mount_idmap(c: &mut Case, ctx: &Ctx) {
    let src = c.dir.join("idmap-src");
    mkdir(&src);
    fs::write(src.join("root-file"), "x").unwrap();
    fs::write(src.join("user-file"), "x").unwrap();
    let chown = |p: &Path, u: u32, g: u32| std::os::unix::fs::chown(p, Some(u), Some(g)).is_ok();
    chown(&src.join("user-file"), 1000, 1000);
    let rsrc = c.dir.join("ridmap-src");
    mkdir(&rsrc);
    if !driver_tmpfs(&rsrc.join("sub"), "size=1m") {
        c.skip("mounts: ridmap", "cannot mount a tmpfs on the host");
        return;
    }
    fs::write(rsrc.join("sub/root-file"), "x").unwrap();
    let mut b = sh_bundle(
        c,
        ctx,
        "for f in /mnt/idmap/root-file /mnt/idmap/user-file /mnt/ridmap/sub/root-file; do echo $f $(stat -c '%u:%g' $f); done",
    );
    mkdir(&b.rootfs().join("mnt/idmap"));
    mkdir(&b.rootfs().join("mnt/ridmap"));
    let maps = |h: u32| json!([{"containerID": 0, "hostID": h, "size": 65536}]);
    b.push(
        "/mounts",
        json!({"destination": "/mnt/idmap", "type": "bind", "source": src.display().to_string(),
               "options": ["bind", "idmap"], "uidMappings": maps(100000), "gidMappings": maps(200000)}),
    );
    b.push(
        "/mounts",
        json!({"destination": "/mnt/ridmap", "type": "bind", "source": rsrc.display().to_string(),
               "options": ["rbind", "ridmap"], "uidMappings": maps(100000), "gidMappings": maps(200000)}),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let m = kv(&text);
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    c.check_output(
        get("/mnt/idmap/root-file") == "100000:200000" && get("/mnt/idmap/user-file") == "101000:201000",
        "mounts: idmap: the mount MUST have an idmapping applied; If uidMappings or gidMappings are specified for the mount, the runtime MUST use those values (0→100000/200000: on-disk 0:0 shows as 100000:200000, 1000:1000 as 101000:201000)",
        &text,
    );
    c.check_output(
        get("/mnt/ridmap/sub/root-file") == "100000:200000",
        "mounts: ridmap: the mount MUST have an idmapping applied, and the mapping is applied recursively (a tmpfs below the rbind source)",
        &text,
    );
    let host = owner(&src.join("root-file"));
    c.check(
        host == Some((0, 0)),
        "uidMappings: the runtime SHOULD NOT modify the ownership of referenced filesystems (the source file stays 0:0 on the host)",
        || format!("host owner {host:?}"),
    );
}

// ------------------------------------------------------------------ netDevices

fn net_devices_template(c: &mut Case, ctx: &Ctx) {
    let (Some(v1), Some(v2)) = (Veth::new("t1"), Veth::new("t2")) else {
        c.skip("netDevices", "cannot create veth pairs on the host");
        return;
    };
    let mut b = sh_bundle(
        c,
        ctx,
        "echo names $(ls /sys/class/net | grep '^rtcnet' | sort | tr '\\n' ' ')",
    );
    b.set(
        "/linux/netDevices",
        json!({ v1.0.clone(): {"name": "rtcnet%d"}, v2.0.clone(): {"name": "rtcnet%d"} }),
    );
    let Some(text) = run_sh(c, &b) else { return };
    let names = kv(&text).get("names").cloned().unwrap_or_default();
    c.check_output(
        names == "rtcnet0 rtcnet1",
        "netDevices: name: unless the user has provided a template by appending %d to the new name. In that case, the runtime MUST allow the move (two devices named rtcnet%d: rtcnet0 and rtcnet1)",
        &text,
    );
}

fn net_devices_delete(c: &mut Case, ctx: &Ctx) {
    let Some(veth) = Veth::or_skip(c, "d") else {
        return;
    };
    let b = {
        let mut b = sh_bundle(c, ctx, "exec sleep 600");
        b.set(
            "/linux/netDevices",
            json!({ veth.0.clone(): {"name": "rtcdel0"} }),
        );
        b
    };
    let Some((id, _)) = start_sh(c, &b, "netDevices") else {
        return;
    };
    if veth.on_host() {
        c.skip(
            "netDevices: The runtime MUST NOT attempt to move the interface out of the namespace before deletion",
            "the runtime did not move the device into the container",
        );
        kill_delete(c, &id);
        return;
    }
    kill_delete(c, &id);
    let net = Path::new("/sys/class/net");
    let start = Instant::now();
    let back = || net.join(&veth.0).exists() || net.join("rtcdel0").exists();
    while (back() || net.join(&veth.1).exists()) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    c.check(
        !back() && !net.join(&veth.1).exists(),
        "netDevices: The runtime MUST NOT attempt to move the interface out of the namespace before deletion (after delete the device is not back on the host: the kernel destroyed it, and its veth peer, with the namespace)",
        || format!(
            "on the host: {} {}, rtcdel0 {}, peer {} {}",
            veth.0,
            net.join(&veth.0).exists(),
            net.join("rtcdel0").exists(),
            veth.1,
            net.join(&veth.1).exists()
        ),
    );
}

fn net_device_unmovable(c: &mut Case, ctx: &Ctx) {
    bad_config(
        c,
        ctx,
        "netDevices: The runtime MUST check if moving the network interface to the container namespace is possible (the host's lo cannot change namespaces)",
        |b| b.set("/linux/netDevices", json!({"lo": {"name": "rtchostlo"}})),
    );
    c.check(
        Path::new("/sys/class/net/lo").exists(),
        "netDevices: the host's lo is still there",
        || "no /sys/class/net/lo".into(),
    );
}

// ------------------------------------------------------------------ cgroups

/// "The runtime MUST generate an error when the configuration refers to a
/// cgroup controller that is not present" (and runtime.md create: a property
/// that cannot be applied MUST be an error).
fn controller_absent(c: &mut Case, ctx: &Ctx, which: &str) {
    let mounted = |ctrl: &str| {
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| {
                l.contains(" - cgroup ")
                    && l.rsplit(' ')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .any(|o| o == ctrl)
            })
    };
    let v2_controllers = [
        "/sys/fs/cgroup/unified/cgroup.controllers",
        "/sys/fs/cgroup/cgroup.controllers",
    ]
    .iter()
    .find_map(|p| fs::read_to_string(p).ok());
    let v2_has = |ctrl: &str| {
        v2_controllers
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|x| x == ctrl))
    };
    let (what, edit): (String, Value) = match which {
        "rdma" => {
            if mounted("rdma") || v2_has("rdma") {
                c.skip("resources.rdma", "this host has an rdma cgroup controller");
                return;
            }
            (
                "resources.rdma: no rdma cgroup controller on this host".into(),
                json!({"rdma": {"mlx4_0": {"hcaHandles": 2, "hcaObjects": 2000}}}),
            )
        }
        "network" => {
            if mounted("net_cls") || mounted("net_prio") {
                c.skip(
                    "resources.network",
                    "this host has net_cls/net_prio mounted",
                );
                return;
            }
            (
                "resources.network: net_cls and net_prio are not mounted on this host".into(),
                json!({"network": {"classID": 1048577, "priorities": [{"name": "lo", "priority": 2}]}}),
            )
        }
        _ => {
            let Some(ctrl) = ["memory", "pids", "io", "cpu", "rdma"]
                .into_iter()
                .find(|x| !v2_has(x))
            else {
                c.skip(
                    "resources.unified",
                    "every probed controller is enabled in the cgroup v2 hierarchy",
                );
                return;
            };
            if v2_controllers.is_none() {
                c.skip("resources.unified", "no cgroup v2 hierarchy on this host");
                return;
            }
            let key = if ctrl == "rdma" {
                "rdma.max".to_string()
            } else {
                format!("{ctrl}.max")
            };
            (
                format!("resources.unified {key}: the {ctrl} controller is not in the cgroup v2 hierarchy's cgroup.controllers"),
                json!({"unified": { key: "max" }}),
            )
        }
    };
    let rule = format!(
        "cgroups: The runtime MUST generate an error when the configuration refers to a cgroup controller that is not present or that cannot be enabled ({what})"
    );
    // No cgroupsPath: the runtimes' default paths are named after the id,
    // which `bad_config`'s leftover check looks for.
    bad_config(c, ctx, &rule, move |b| {
        for (k, v) in edit.as_object().unwrap() {
            b.set(&format!("/linux/resources/{k}"), v.clone());
        }
    });
}

fn intelrdt_no_resctrl(c: &mut Case, ctx: &Ctx) {
    let mounted = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .contains(" - resctrl ");
    if mounted {
        c.skip("intelRdt", "a resctrl filesystem is mounted on this host");
        return;
    }
    bad_config(
        c,
        ctx,
        "intelRdt: If no mounted resctrl pseudo-filesystem is available in the runtime mount namespace, the runtime MUST generate an error",
        |b| b.set("/linux/intelRdt", json!({"closID": "rtc-conformance", "l3CacheSchema": "L3:0=ff"})),
    );
}

fn cgroups_cpu_realtime(c: &mut Case, ctx: &Ctx) {
    if !host_has(
        c,
        &["/sys/fs/cgroup/cpu/cpu.rt_runtime_us"],
        "resources.cpu.realtimeRuntime",
        "no cgroup v1 cpu.rt_runtime_us (CONFIG_RT_GROUP_SCHED) on this host",
    ) {
        return;
    }
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    // Directly below the root: a new intermediate level would have no
    // realtime budget to give.
    let cg = format!("/{id}");
    b.set("/linux/cgroupsPath", json!(cg));
    b.set(
        "/linux/resources/cpu",
        json!({"realtimeRuntime": 10000, "realtimePeriod": 200000}),
    );
    if !create_ok_clean(
        c,
        &b,
        &id,
        &out,
        &format!("{CREATE} (cpu realtimeRuntime/realtimePeriod)"),
    ) {
        return;
    }
    check_files(
        c,
        &format!("/sys/fs/cgroup/cpu{cg}"),
        &[
            ("cpu.rt_runtime_us", "10000", "resources.cpu.realtimeRuntime: specifies a period of time in microseconds for the longest continuous period in which the tasks in a cgroup have access to CPU resources (cpu.rt_runtime_us)"),
            ("cpu.rt_period_us", "200000", "resources.cpu.realtimePeriod: same as period but applies to realtime scheduler only (cpu.rt_period_us)"),
        ],
    );
    kill_delete(c, &id);
}

fn cgroups_cpu_idle_burst(c: &mut Case, ctx: &Ctx) {
    let base = "/sys/fs/cgroup/cpu";
    if !host_has(
        c,
        &[
            &format!("{base}/cpu.cfs_burst_us"),
            &format!("{base}/cpu.idle"),
        ],
        "resources.cpu.burst/idle",
        "no cgroup v1 cpu.cfs_burst_us and cpu.idle on this host",
    ) {
        return;
    }
    let Some((id, cg)) = cgroup_resources(
        c,
        ctx,
        "cpu burst, idle",
        json!({"cpu": {"quota": 50000, "period": 100000, "burst": 20000, "idle": 1}}),
    ) else {
        return;
    };
    check_files(
        c,
        &format!("{base}{cg}"),
        &[
            ("cpu.cfs_burst_us", "20000", "resources.cpu.burst: specifies the maximum amount of accumulated time in microseconds for which all tasks in a cgroup can run additionally for burst during one period (cpu.cfs_burst_us)"),
            ("cpu.idle", "1", "resources.cpu.idle: cgroups are configured with minimum weight, 0: default behavior, 1: SCHED_IDLE (cpu.idle)"),
        ],
    );
    kill_delete_cgroup(c, &id);
}

fn memory_check_before_update(c: &mut Case, ctx: &Ctx) {
    if !v1_controller(
        c,
        "memory",
        "memory.limit_in_bytes",
        "resources.memory.checkBeforeUpdate",
    ) {
        return;
    }
    // 16 MiB in the container's /dev/shm (tmpfs, charged to its cgroup, no
    // swap to push it to).
    let mut b = sh_bundle(
        c,
        ctx,
        "head -c 16777216 /dev/zero > /dev/shm/fill; echo filled $?; exec sleep 600",
    );
    let id = c.new_id();
    let cg = test_cgroup(&mut b, &id);
    b.set(
        "/linux/resources/memory",
        json!({"limit": 67108864, "checkBeforeUpdate": true}),
    );
    let Some((id2, out)) = start_sh_id(c, &b, "memory checkBeforeUpdate", id) else {
        remove_cgroup_parent();
        return;
    };
    let text = wait_output(&out, "filled");
    if kv(&text).get("filled").map(String::as_str) != Some("0") {
        c.fail(
            "resources.memory.checkBeforeUpdate: the container filled 16 MiB of /dev/shm",
            &format!("container output:\n{text}"),
        );
    }
    let o = c.rt(&["update", "--memory", "4194304", &id2], None);
    let lim = read_trim(&format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes"));
    let alive = c.status(&id2);
    c.check(
        !o.ok() && lim == "67108864" && alive.as_deref() == Some("running"),
        "resources.memory.checkBeforeUpdate: If enabled (true), runtime MAY check if a new memory limit is lower than the current usage, and MUST reject the new limit (update --memory 4 MiB with 16 MiB in use: an error, the limit stays 64 MiB, the container keeps running)",
        || format!("update: {}; memory.limit_in_bytes {lim:?}; status {alive:?}", o.describe()),
    );
    kill_delete_cgroup(c, &id2);
}

// ------------------------------------------------------------------ rootfsPropagation slave

fn rootfs_propagation_slave(c: &mut Case, ctx: &Ctx) {
    if c.rt.crun_hybrid_workaround {
        c.skip(
            "linux.rootfsPropagation: slave",
            "crun's unshare -m wrapper makes every mount private: the rootfs has no shared master to be a slave of",
        );
        return;
    }
    // The bundle lives on a tmpfs made shared in the driver's mount
    // namespace (this host's / is private), so the rootfs has a master.
    let shared = c.dir.join("shared");
    if !driver_tmpfs(&shared, "size=64m")
        || !Command::new("mount")
            .args(["--make-shared"])
            .arg(&shared)
            .status()
            .is_ok_and(|s| s.success())
    {
        c.skip(
            "linux.rootfsPropagation: slave",
            "cannot make a shared tmpfs in the driver's mount namespace",
        );
        return;
    }
    let mut b = Bundle::new(&shared, "bundle", &ctx.checker);
    b.set("/linux/rootfsPropagation", json!("slave"));
    crate::cases::run_checker(c, &b, &host_facts(&[]));
}

// ------------------------------------------------------------------ user namespaces

/// A `sleep` in a new user namespace with 0→100000 / 0→200000 (65536)
/// maps written from here. Returns its pid (killed when the case ends).
fn userns_holder(c: &mut Case) -> Option<i32> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("sleep");
    cmd.arg("600").stdin(std::process::Stdio::null());
    // SAFETY: unshare(2) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().ok()?;
    let pid = child.id() as i32;
    c.pids_to_kill.push(pid);
    let mine = fs::read_link("/proc/self/ns/user").ok();
    let start = Instant::now();
    while fs::read_link(format!("/proc/{pid}/ns/user")).ok() == mine {
        if start.elapsed() > Duration::from_secs(5) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    fs::write(format!("/proc/{pid}/uid_map"), "0 100000 65536\n").ok()?;
    fs::write(format!("/proc/{pid}/gid_map"), "0 200000 65536\n").ok()?;
    Some(pid)
}

fn userns_join_path(c: &mut Case, ctx: &Ctx) {
    let Some(holder) = userns_holder(c) else {
        c.skip(
            "namespaces: user path",
            "cannot make a user namespace with maps on this host",
        );
        return;
    };
    let ns = format!("/proc/{holder}/ns/user");
    let ns_link = fs::read_link(&ns)
        .map(|l| l.display().to_string())
        .unwrap_or_default();
    let mut b = sh_bundle(
        c,
        ctx,
        "echo uid_map $(cat /proc/self/uid_map); echo ids $(id -u) $(id -g); touch /tmp/owned; exec sleep 600",
    );
    b.push("/linux/namespaces", json!({"type": "user", "path": ns}));
    let Some((id, out)) = start_sh(
        c,
        &b,
        "joining the user namespace of another process by path",
    ) else {
        return;
    };
    let pid = state_pid(c, &id);
    let got = fs::read_link(format!("/proc/{pid}/ns/user"))
        .map(|l| l.display().to_string())
        .unwrap_or_default();
    c.check(
        got == ns_link,
        "namespaces: path: The runtime MUST place the container process in the namespace associated with that path (user)",
        || format!("container {got:?}, {ns} is {ns_link:?}"),
    );
    let text = wait_output(&out, "ids");
    let m = kv(&text);
    c.check_output(
        m.get("uid_map").map(String::as_str) == Some("0 100000 65536")
            && m.get("ids").map(String::as_str) == Some("0 0"),
        "namespaces: user path: the process runs as uid/gid 0 of the joined namespace, whose maps it sees",
        &text,
    );
    std::thread::sleep(Duration::from_millis(200));
    let owned = owner(&b.rootfs().join("tmp/owned"));
    c.check(
        owned == Some((100000, 200000)),
        "namespaces: user path: a file created by container root is owned by host 100000:200000 (the joined namespace's maps)",
        || format!("owner {owned:?}"),
    );
    kill_delete(c, &id);
}

fn userns_additional_gids(c: &mut Case, ctx: &Ctx) {
    let mut b = sh_bundle(c, ctx, "echo groups $(id -G); exec sleep 600");
    b.userns_mapped();
    b.set(
        "/process/user",
        json!({"uid": 0, "gid": 0, "additionalGids": [10, 20]}),
    );
    let Some((id, out)) = start_sh(c, &b, "user namespace, additionalGids") else {
        return;
    };
    let text = wait_output(&out, "groups");
    let pid = state_pid(c, &id);
    let mut inside: Vec<String> = kv(&text)
        .get("groups")
        .map(|g| g.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    inside.sort();
    c.check_output(
        inside == ["0", "10", "20"],
        "process.user.additionalGids: additional group IDs in the container namespace to be added to the process (user namespace: 10, 20)",
        &text,
    );
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mut host: Vec<String> = status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| g.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    host.retain(|g| g != "200000");
    host.sort();
    c.check(
        host == ["200010", "200020"],
        "process.user.additionalGids: container gids 10, 20 are host gids 200010, 200020 (gidMappings)",
        || format!("host /proc/{pid}/status Groups: {host:?}"),
    );
    kill_delete(c, &id);
}

// ------------------------------------------------------------------ fds, ids

/// Writes `text` to `path` and opens it as an fd numbered 50 or above
/// (close-on-exec; `Case::pass_fds` hands it to the runtime as 3).
fn high_fd(path: &Path, text: &str) -> i32 {
    use std::os::fd::IntoRawFd;
    fs::write(path, text).unwrap();
    let fd = fs::File::open(path).unwrap().into_raw_fd();
    // SAFETY: F_DUPFD_CLOEXEC on our own fd, to a number above the targets.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 50) };
    // SAFETY: closing our own fd.
    unsafe { libc::close(fd) };
    high
}

/// runtime-linux.md: "The runtime MAY pass additional file descriptors to the
/// application": `--preserve-fds 1` with fd 3 open on a file.
fn fds_preserve(c: &mut Case, ctx: &Ctx) {
    let high = high_fd(&c.dir.join("extra-fd"), "extra-fd-content\n");
    let mut b = sh_bundle(c, ctx, "true");
    b.set("/process/args", json!(["/conformance/checker", "--fds"]));
    b.save(&host_facts(&[]));
    let (id, out) = c.new_container();
    let bp = b.path();
    c.pass_fds = vec![high];
    let o = c.rt(
        &["create", "--preserve-fds", "1", "--bundle", &bp, &id],
        Some(&out),
    );
    // SAFETY: closing our own fd.
    unsafe { libc::close(high) };
    if !o.ok() {
        c.skip(
            "file descriptors: The runtime MAY pass additional file descriptors to the application",
            &format!("--preserve-fds refused: {}", first_line(&o)),
        );
        force_delete_clean(c, &id, ERROR_CLEAN);
        return;
    }
    let text = start_wait(c, &id, &out);
    let m = kv(&text);
    let fd3 = m.get("fd3").cloned().unwrap_or_default();
    c.check_output(
        m.get("fds").map(String::as_str) == Some("0 1 2 3") && fd3.ends_with("extra-fd"),
        "file descriptors: The runtime MAY pass additional file descriptors to the application (--preserve-fds 1: fd 3 is the caller's file, nothing else beyond stdio)",
        &text,
    );
    delete_clean(c, &id);
}

/// runtime.md create: "If the ID provided is ... not valid in any other way,
/// the implementation MUST generate an error and a new container MUST NOT be
/// created."
fn bad_id(c: &mut Case, ctx: &Ctx) {
    let b = sh_bundle(c, ctx, "exec sleep 600");
    b.save(&host_facts(&[]));
    let bp = b.path();
    let esc = format!("rtc-escape-{}", std::process::id());
    for bad in [format!("../{esc}"), format!("{esc}/x"), "..".to_string()] {
        if bad != ".." {
            c.ids.push(bad.clone());
        }
        let out = c.dir.join("container.out");
        let o = c.rt(&["create", "--bundle", &bp, &bad], Some(&out));
        let outside = c.dir.join(&esc).exists() || c.root.join(&esc).exists();
        c.check(
            !o.ok() && !outside,
            &format!("create: If the ID provided is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created (id {bad:?})"),
            || format!("create: {}; state outside the root: {outside}", o.describe()),
        );
    }
    let entries: Vec<String> = fs::read_dir(&c.root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    c.check(
        entries.is_empty(),
        "errors: generating an error MUST leave the state of the environment as if the operation were never attempted (nothing in --root)",
        || format!("--root holds {entries:?}"),
    );
}

/// runtime-linux.md: "The runtime MAY pass additional file descriptors to the
/// application to support features such as socket activation": the runtime
/// itself socket-activated (`LISTEN_FDS=1`, `LISTEN_PID` its pid, fd 3 open).
fn fds_listen(c: &mut Case, ctx: &Ctx) {
    let high = high_fd(&c.dir.join("listen-fd"), "listen-fd-content\n");
    let b = sh_bundle(
        c,
        ctx,
        "echo listen_env ${LISTEN_FDS:-none} ${LISTEN_PID:-none}; exec /conformance/checker --fds",
    );
    b.save(&host_facts(&[]));
    let (id, out) = c.new_container();
    c.pass_fds = vec![high];
    c.listen_fds = Some(1);
    let o = create_saved(c, &b, &id, &out);
    // SAFETY: closing our own fd.
    unsafe { libc::close(high) };
    if !created_clean(
        c,
        &o,
        &id,
        &format!("{CREATE} (runtime started with LISTEN_FDS=1)"),
    ) {
        return;
    }
    let text = start_wait(c, &id, &out);
    let m = kv(&text);
    let fds = m.get("fds").cloned().unwrap_or_default();
    let env = m.get("listen_env").cloned().unwrap_or_default();
    if fds == "0 1 2" && env == "none none" {
        c.skip(
            "file descriptors: The runtime MAY pass additional file descriptors to the application to support features such as socket activation",
            "the runtime does not pass its LISTEN_FDS on (a MAY)",
        );
    } else {
        c.check_output(
            fds == "0 1 2 3"
                && m.get("fd3").is_some_and(|l| l.ends_with("listen-fd"))
                && env == "1 1",
            "file descriptors: The runtime MAY pass additional file descriptors to the application to support features such as socket activation (LISTEN_FDS=1: fd 3 passed, LISTEN_FDS=1 LISTEN_PID=1 in the process)",
            &text,
        );
    }
    delete_clean(c, &id);
}

/// config.md: prestart, createRuntime and createContainer hooks are called
/// "after the runtime environment has been created ... but before the
/// pivot_root or any equivalent operation has been executed"; poststart
/// (after the process started) is the control.
fn hooks_before_pivot(c: &mut Case, ctx: &Ctx) {
    let dir = c.dir.display().to_string();
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let bundle = b.path();
    // Runtime-namespace hooks: the root of the container process (pid from
    // stdin) as seen from the host; createContainer: whether the host's tree
    // (the bundle's config.json) is still visible at its host path.
    let root_of = |name: &str| {
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!(
            "pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); stat -L -c %d:%i /proc/$pid/root/ > {dir}/root-{name}"
        )]})
    };
    b.set(
        "/hooks",
        json!({
            "prestart": [root_of("prestart")],
            "createRuntime": [root_of("createRuntime")],
            "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", format!(
                "if [ -e {bundle}/config.json ]; then echo host-tree > {dir}/root-createContainer; else echo pivoted > {dir}/root-createContainer; fi"
            )]}],
            "poststart": [root_of("poststart")]
        }),
    );
    let Some((id, _)) = start_sh(c, &b, "hooks") else {
        return;
    };
    let cdir = c.dir.clone();
    let read = |n: &str| {
        fs::read_to_string(cdir.join(format!("root-{n}")))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|e| format!("<{e}>"))
    };
    let dev_ino = |p: &Path| {
        fs::metadata(p)
            .map(|m| format!("{}:{}", m.dev(), m.ino()))
            .unwrap_or_default()
    };
    let (host_root, rootfs) = (dev_ino(Path::new("/")), dev_ino(&b.rootfs()));
    for kind in ["prestart", "createRuntime"] {
        let r = read(kind);
        c.check(
            r == host_root,
            &format!("hooks: The {kind} hooks MUST be called ... before the pivot_root or any equivalent operation has been executed (the container process's root is still the host's /)"),
            || format!("dev:ino of the container process's root seen by the {kind} hook: {r:?}; host / {host_root}, rootfs {rootfs}"),
        );
    }
    let r = read("createContainer");
    c.check(
        r == "host-tree",
        "hooks: The createContainer hooks MUST be called ... before the pivot_root or any equivalent operation has been executed (the host's paths are still visible)",
        || format!("createContainer hook saw: {r:?}"),
    );
    let r = read("poststart");
    c.check(
        r == rootfs,
        "hooks: poststart (after pivot_root, the control): the container process's root is the bundle's rootfs",
        || format!("dev:ino of the root seen by the poststart hook: {r:?}; rootfs {rootfs}, host / {host_root}"),
    );
    kill_delete(c, &id);
}

/// The cgroup v2 hierarchy this host has (pure v2 at /sys/fs/cgroup, or the
/// hybrid one at /sys/fs/cgroup/unified), with its controllers.
fn v2_root() -> Option<(String, String)> {
    for p in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
        if let Ok(c) = fs::read_to_string(format!("{p}/cgroup.controllers")) {
            return Some((p.to_string(), c));
        }
    }
    None
}

/// config-linux.md unified: "The OCI runtime MUST ensure that the needed
/// cgroup controllers are enabled for the cgroup. Configuration unknown to the
/// runtime MUST still be written to the relevant file." (hugetlb, the one
/// controller of this host's v2 hierarchy)
fn cgroups_unified(c: &mut Case, ctx: &Ctx) {
    let Some((root, ctrls)) = v2_root() else {
        c.skip("resources.unified", "no cgroup v2 hierarchy on this host");
        return;
    };
    if !ctrls.split_whitespace().any(|x| x == "hugetlb")
        || !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
    {
        c.skip(
            "resources.unified",
            "no hugetlb controller with 2 MB pages in the cgroup v2 hierarchy",
        );
        return;
    }
    let Some((id, cg)) = cgroup_resources(
        c,
        ctx,
        "unified hugetlb.2MB.max, hugetlb.2MB.rsvd.max",
        json!({"unified": {"hugetlb.2MB.max": "4194304", "hugetlb.2MB.rsvd.max": "6291456"}}),
    ) else {
        return;
    };
    let max = read_trim(&format!("{root}{cg}/hugetlb.2MB.max"));
    let rsvd = read_trim(&format!("{root}{cg}/hugetlb.2MB.rsvd.max"));
    let parent = read_trim(&format!("{root}/rtc-conformance/cgroup.subtree_control"));
    c.check(
        parent.split_whitespace().any(|x| x == "hugetlb") && max == "4194304",
        "unified: The OCI runtime MUST ensure that the needed cgroup controllers are enabled for the cgroup (hugetlb in the parent's cgroup.subtree_control, hugetlb.2MB.max written)",
        || format!("{root}/rtc-conformance/cgroup.subtree_control {parent:?}; hugetlb.2MB.max {max:?}"),
    );
    c.check(
        rsvd == "6291456",
        "unified: Configuration unknown to the runtime MUST still be written to the relevant file (hugetlb.2MB.rsvd.max)",
        || format!("hugetlb.2MB.rsvd.max {rsvd:?}"),
    );
    kill_delete_cgroup(c, &id);
}

/// hugepageLimits where hugetlb is only in the cgroup v2 hierarchy: "If a
/// controller is enabled on the cgroup v2 hierarchy but the configuration is
/// provided for the cgroup v1 equivalent controller, the runtime MAY attempt a
/// conversion. If the conversion is not possible the runtime MUST generate an
/// error." Either the limit shows in the v2 file or create fails.
fn cgroups_hugetlb(c: &mut Case, ctx: &Ctx) {
    if !host_has(
        c,
        &["/sys/kernel/mm/hugepages/hugepages-2048kB"],
        "resources.hugepageLimits",
        "no 2 MB huge pages on this host",
    ) {
        return;
    }
    let v1 = Path::new("/sys/fs/cgroup/hugetlb").exists();
    let v2 = v2_root().filter(|(_, ctrls)| ctrls.split_whitespace().any(|x| x == "hugetlb"));
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    let cg = test_cgroup(&mut b, &id);
    b.set(
        "/linux/resources/hugepageLimits",
        json!([{"pageSize": "2MB", "limit": 4194304}]),
    );
    let o = create(c, &b, &id, &out);
    let file = if v1 {
        format!("/sys/fs/cgroup/hugetlb{cg}/hugetlb.2MB.limit_in_bytes")
    } else if let Some((root, _)) = &v2 {
        format!("{root}{cg}/hugetlb.2MB.max")
    } else {
        String::new()
    };
    if o.ok() {
        let got = if file.is_empty() {
            "<no hugetlb controller on this host>".to_string()
        } else {
            read_trim(&file)
        };
        c.check(
            got == "4194304",
            "resources.hugepageLimits: the limit is applied (hugetlb 2MB limit 4 MiB), or, where only the cgroup v2 controller exists and no conversion is possible, the runtime MUST generate an error",
            || format!("create succeeded; {file}: {got:?}"),
        );
        kill_delete(c, &id);
    } else {
        if v1 {
            c.fail(
                "resources.hugepageLimits: with a cgroup v1 hugetlb controller the limit can be applied (create must not fail)",
                &o.describe(),
            );
        } else {
            // Only a refusal about the hugepage limit counts, not any failure of create.
            let text = o.describe();
            c.check(
                text.contains("hugepageLimits") || text.contains("hugetlb"),
                "resources.hugepageLimits: hugetlb is only in the cgroup v2 hierarchy: the runtime did not convert and generated an error",
                || format!("create failed for another reason: {text}"),
            );
        }
        no_leftovers(c, &id, ERROR_CLEAN);
    }
    remove_cgroup_parent();
}

/// config.md capabilities: "Any value which cannot be mapped to a relevant
/// kernel interface, or cannot be granted otherwise MUST be logged as a
/// warning by the runtime. Runtimes SHOULD NOT fail if the container
/// configuration requests capabilities that cannot be granted".
fn capabilities_unknown(c: &mut Case, ctx: &Ctx) {
    let name = "CAP_CONFORMANCE_NO_SUCH";
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    for set in ["bounding", "effective", "permitted"] {
        b.push(&format!("/process/capabilities/{set}"), json!(name));
    }
    let (id, out) = c.new_container();
    let o = create(c, &b, &id, &out);
    let text = format!("{}{}", o.stdout, o.stderr);
    c.check(
        text.contains(name),
        "process.capabilities: Any value which cannot be mapped to a relevant kernel interface ... MUST be logged as a warning by the runtime (the create output names it)",
        || format!("create: {}", o.describe()),
    );
    if o.ok() {
        c.pass("process.capabilities: Runtimes SHOULD NOT fail if the container configuration requests capabilities that cannot be granted (create succeeds)");
        kill_delete(c, &id);
    } else {
        c.skip(
            "process.capabilities: Runtimes SHOULD NOT fail if the container configuration requests capabilities that cannot be granted",
            &format!(
                "the runtime refuses it (a SHOULD): {}",
                first_line(&o)
            ),
        );
        no_leftovers(c, &id, ERROR_CLEAN);
    }
}

/// A container (sleeping) created in [`test_cgroup`] with `resources`: its
/// id and cgroupsPath; None (reported, a failed create leaving nothing) when
/// create fails.
fn cgroup_resources(
    c: &mut Case,
    ctx: &Ctx,
    what: &str,
    resources: Value,
) -> Option<(String, String)> {
    let mut b = sh_bundle(c, ctx, "exec sleep 600");
    let (id, out) = c.new_container();
    let cg = test_cgroup(&mut b, &id);
    for (k, v) in resources.as_object().unwrap() {
        b.set(&format!("/linux/resources/{k}"), v.clone());
    }
    if !create_ok_clean(c, &b, &id, &out, &format!("{CREATE} ({what})")) {
        remove_cgroup_parent();
        return None;
    }
    Some((id, cg))
}

fn memory_swap(c: &mut Case, ctx: &Ctx) {
    let m = "/sys/fs/cgroup/memory";
    if !host_has(
        c,
        &[&format!("{m}/memory.memsw.limit_in_bytes")],
        "resources.memory.swap",
        "no cgroup v1 memory.memsw.limit_in_bytes (swap accounting) on this host",
    ) {
        return;
    }
    let Some((id, cg)) = cgroup_resources(
        c,
        ctx,
        "memory limit, swap, kernelTCP",
        json!({"memory": {"limit": 67108864, "swap": 134217728, "kernelTCP": 16777216}}),
    ) else {
        return;
    };
    let dir = format!("{m}{cg}");
    check_files(
        c,
        &dir,
        &[(
            "memory.memsw.limit_in_bytes",
            "134217728",
            "resources.memory.swap: sets limit of memory+Swap usage (memory.memsw.limit_in_bytes)",
        )],
    );
    if Path::new(&dir)
        .join("memory.kmem.tcp.limit_in_bytes")
        .exists()
    {
        check_files(
            c,
            &dir,
            &[("memory.kmem.tcp.limit_in_bytes", "16777216", "resources.memory.kernelTCP (NOT RECOMMENDED, still a property: All of the properties configured in config.json except for process MUST be applied): sets hard limit for kernel TCP buffer memory (memory.kmem.tcp.limit_in_bytes)")],
        );
    } else {
        c.skip(
            "resources.memory.kernelTCP",
            "no cgroup v1 memory.kmem.tcp.limit_in_bytes on this host",
        );
    }
    kill_delete_cgroup(c, &id);
}

fn blkio_throttle_more(c: &mut Case, ctx: &Ctx) {
    let base = "/sys/fs/cgroup/blkio";
    if !v1_controller(
        c,
        "blkio",
        "blkio.throttle.write_bps_device",
        "resources.blockIO",
    ) {
        return;
    }
    // A block device of this host: the one / is on.
    let Some((maj, min)) = root_block_device() else {
        c.skip(
            "resources.blockIO",
            "the root filesystem is not on a block device",
        );
        return;
    };
    let Some((id, cg)) = cgroup_resources(
        c,
        ctx,
        "blockIO throttleWriteBpsDevice, throttleReadIOPSDevice",
        json!({"blockIO": {
            "throttleWriteBpsDevice": [{"major": maj, "minor": min, "rate": 2097152}],
            "throttleReadIOPSDevice": [{"major": maj, "minor": min, "rate": 400}]
        }}),
    ) else {
        return;
    };
    for (file, rate, rule) in [
        ("blkio.throttle.write_bps_device", 2097152, "resources.blockIO.throttleWriteBpsDevice: specifies the list of devices which will be bandwidth rate limited"),
        ("blkio.throttle.read_iops_device", 400, "resources.blockIO.throttleReadIOPSDevice: specifies the list of devices which will be IO rate limited"),
    ] {
        let got = read_trim(&format!("{base}{cg}/{file}"));
        c.check(
            got.lines().any(|l| l == format!("{maj}:{min} {rate}")),
            &format!("{rule} ({file})"),
            || format!("{file}: {got:?}"),
        );
    }
    kill_delete_cgroup(c, &id);
}

/// blockIO.weight: v1 `blkio.weight` (CFQ) or `blkio.bfq.weight` (BFQ, the
/// only one on this kind of kernel).
fn blkio_weight(c: &mut Case, ctx: &Ctx) {
    let base = "/sys/fs/cgroup/blkio";
    if !v1_controller(c, "blkio", "cgroup.procs", "resources.blockIO.weight") {
        return;
    }
    let Some((id, cg)) = cgroup_resources(
        c,
        ctx,
        "blockIO weight",
        json!({"blockIO": {"weight": 500}}),
    ) else {
        return;
    };
    let files: Vec<String> = ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .map(|f| format!("{base}{cg}/{f}"))
        .filter(|p| Path::new(p).exists())
        .collect();
    if files.is_empty() {
        c.skip(
            "resources.blockIO.weight",
            "neither blkio.weight nor blkio.bfq.weight in the container's blkio cgroup",
        );
    } else {
        let got: Vec<String> = files.iter().map(|f| read_trim(f)).collect();
        c.check(
            got.iter().any(|g| g == "500" || g == "default 500"),
            "resources.blockIO.weight: specifies per-cgroup weight (blkio.weight or blkio.bfq.weight)",
            || format!("{files:?}: {got:?}"),
        );
    }
    kill_delete_cgroup(c, &id);
}
