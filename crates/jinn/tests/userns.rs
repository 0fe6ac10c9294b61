//! User namespaces: the container's root is an unprivileged id on the host, devices are
//! bound from the host (mknod is not allowed there), /sys falls back to the host's when
//! no network namespace of its own allows a new sysfs, exec joins the user namespace, and
//! bad mappings are refused.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test userns`.

mod common;

use std::os::unix::fs::MetadataExt;

use common::*;
use serde_json::json;

const HOST_ID: u32 = 200_000;

fn userns_bundle() -> Bundle {
    let mut b = Bundle::new();
    b.push("/linux/namespaces", json!({"type": "user"}))
        .set(
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": HOST_ID, "size": 65536}]),
        )
        .set(
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": HOST_ID, "size": 65536}]),
        );
    b
}

#[test]
fn root_inside_is_the_mapped_id_outside() {
    let rt = Runtime::new();
    let mut b = userns_bundle();
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        shared.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    // Container root cannot create a mount target in a rootfs it does not own.
    std::fs::create_dir(b.rootfs().join("shared")).unwrap();
    b.add_mount(
        "/shared",
        "bind",
        shared.path().to_str().unwrap(),
        &["rbind", "rw"],
    );
    b.sh("id -u; cat /proc/self/uid_map; touch /shared/made-inside");
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run in a user namespace");
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"), "root inside: {text}");
    let map: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", &HOST_ID.to_string(), "65536"]);
    let made = std::fs::metadata(shared.path().join("made-inside")).unwrap();
    assert_eq!(
        (made.uid(), made.gid()),
        (HOST_ID, HOST_ID),
        "file made by container root"
    );
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn default_devices_are_the_hosts_bound_in() {
    let rt = Runtime::new();
    let mut b = userns_bundle();
    b.sh(
        "for d in null zero full random urandom tty; do stat -c '%n %t:%T %F' /dev/$d; done; \
          echo x > /dev/null && echo null-writable",
    );
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run");
    let text = stdout(&out);
    for want in [
        "/dev/null 1:3 character special file",
        "/dev/zero 1:5 character special file",
        "/dev/tty 5:0 character special file",
        "null-writable",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn sys_is_the_hosts_when_the_network_namespace_is_shared() {
    let rt = Runtime::new();
    let mut b = userns_bundle();
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    b.sh("ls /sys/kernel >/dev/null && echo sys-ok; touch /sys/x 2>/dev/null || echo sys-ro");
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    if rt.is_runc() {
        // runc 1.1.5 fails to mount sysfs here (its rootless mode handles it only
        // when it runs unprivileged).
        let _ = rt.delete_force(&id);
        return;
    }
    assert_success(
        &out,
        "run with a user namespace and the host's network namespace",
    );
    assert_eq!(stdout(&out), "sys-ok\nsys-ro\n");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn exec_joins_the_user_namespace() {
    let rt = Runtime::new();
    let mut b = userns_bundle();
    b.set_args(&["sleep", "100"]);
    b.save();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    let out = rt.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "[ \"$(readlink /proc/self/ns/user)\" = \"$(readlink /proc/1/ns/user)\" ] && id -u",
    ]);
    assert_success(&out, "exec into a user-namespaced container");
    assert_eq!(stdout(&out), "0\n");
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn bad_mappings_are_refused() {
    let rt = Runtime::new();
    let cases = [
        (
            "overlapping ranges",
            json!([{"containerID": 0, "hostID": HOST_ID, "size": 1000},
                   {"containerID": 500, "hostID": HOST_ID + 5000, "size": 1000}]),
        ),
        (
            "a size of 0",
            json!([{"containerID": 0, "hostID": HOST_ID, "size": 0}]),
        ),
    ];
    for (what, uid_map) in cases {
        let mut b = userns_bundle();
        b.set("/linux/uidMappings", uid_map).set_args(&["true"]);
        b.save();
        let id = rt.new_id();
        let out = rt.run(&b, &id);
        assert_failure(&out, what);
        if rt.is_jinn() {
            assert_one_error_line(&out, &["linux.uidMappings"]);
        }
        assert_no_leftovers(&rt, &id, &b);
    }
}

#[test]
fn idmapped_bind_mount_shows_host_files_as_the_containers() {
    let rt = Runtime::new();
    if rt.is_runc() {
        return; // runc 1.1.5 predates idmapped mounts (runc 1.2)
    }
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "x").unwrap(); // owned by host root
    std::fs::set_permissions(
        host.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let mut b = userns_bundle();
    for d in ["idmapped", "plain"] {
        std::fs::create_dir(b.rootfs().join(d)).unwrap();
    }
    let src = host.path().to_str().unwrap();
    b.add_mount("/idmapped", "bind", src, &["bind", "idmap"]);
    b.add_mount("/plain", "bind", src, &["bind"]);
    b.sh("stat -c '%u:%g' /idmapped/f /plain/f; touch /idmapped/made");
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run with an idmapped mount");
    assert_eq!(
        stdout(&out),
        "0:0\n65534:65534\n",
        "host root's file is container root's through the idmapped mount only"
    );
    let made = std::fs::metadata(host.path().join("made")).unwrap();
    assert_eq!(
        (made.uid(), made.gid()),
        (0, 0),
        "container root writes as host root through it"
    );
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn rro_makes_submounts_read_only_too() {
    let rt = Runtime::new();
    let src = tempfile::tempdir().unwrap();
    let sub = HostTmpfs::mount(&src.path().join("sub"));
    let mut b = Bundle::new();
    let s = src.path().to_str().unwrap();
    b.add_mount("/r", "bind", s, &["rbind", "rro"]);
    b.add_mount("/t", "bind", s, &["rbind", "ro"]);
    b.sh(
        "touch /r/sub/x 2>/dev/null && echo r-writable || echo r-ro; \
          touch /t/sub/y 2>/dev/null && echo t-writable || echo t-ro",
    );
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    if rt.is_runc() {
        drop(sub);
        return; // runc 1.1.5 predates the recursive options (runc 1.2)
    }
    assert_success(&out, "run with rro");
    assert_eq!(
        stdout(&out),
        "r-ro\nt-writable\n",
        "rro reaches the submount, ro does not"
    );
    drop(sub);
    assert_no_leftovers(&rt, &id, &b);
}

/// A `sleep` in a user namespace of its own with 0→HOST_ID maps (65536), written from
/// here; killed on drop.
struct UsernsHolder(std::process::Child);

impl UsernsHolder {
    fn new() -> UsernsHolder {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("600");
        // SAFETY: unshare(2) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let holder = UsernsHolder(cmd.spawn().expect("spawn the user namespace holder"));
        let pid = holder.0.id();
        let own = std::fs::read_link("/proc/self/ns/user").unwrap();
        let start = std::time::Instant::now();
        while std::fs::read_link(format!("/proc/{pid}/ns/user")).ok() == Some(own.clone()) {
            assert!(start.elapsed().as_secs() < 5, "the holder never unshared");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for f in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{f}"), format!("0 {HOST_ID} 65536\n")).unwrap();
        }
        holder
    }
}

impl Drop for UsernsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_user_namespace_joined_by_path_owns_the_new_namespaces() {
    let rt = Runtime::new();
    let holder = UsernsHolder::new();
    let ns = format!("/proc/{}/ns/user", holder.0.id());
    let mut b = Bundle::new();
    // No mappings: they are the joined namespace's.
    b.push("/linux/namespaces", json!({"type": "user", "path": ns}));
    b.set_readonly_root(false);
    b.sh("id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; touch /tmp/made-inside");
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    // runc 1.1 wants uidMappings even for a joined user namespace.
    if rt.is_runc() {
        return;
    }
    assert_success(&out, "run in a user namespace joined by path");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"0"), "root inside: {text}");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", &HOST_ID.to_string(), "65536"]);
    let want = std::fs::read_link(&ns).unwrap();
    assert_eq!(lines[2], want.to_str().unwrap(), "the joined namespace");
    let made = std::fs::metadata(b.rootfs().join("tmp/made-inside")).unwrap();
    assert_eq!((made.uid(), made.gid()), (HOST_ID, HOST_ID));
    assert_no_leftovers(&rt, &id, &b);
}
