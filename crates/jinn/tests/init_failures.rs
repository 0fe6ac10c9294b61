//! Failures that only show inside the container's init (after the config was found
//! valid): each gives one error line naming the step and path, a non-zero exit, and
//! leaves nothing behind (state dir, cgroup, mount, process).
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test init_failures`.

mod common;

use common::*;
use serde_json::json;

/// `create` fails with exit 1; for jinn the one error line contains `needles`.
#[track_caller]
fn expect_create_fails(rt: &Runtime, b: &Bundle, needles: &[&str]) {
    let snapshot = HostSnapshot::take();
    let id = rt.new_id();
    let out = rt.create(b, &id);
    assert_exit(&out, 1, "create");
    if rt.is_jinn() {
        assert_one_error_line(&out, needles);
    }
    assert!(
        rt.state(&id).is_none(),
        "a failed create leaves no container"
    );
    assert_no_leftovers(rt, &id, b);
    snapshot.assert_unchanged();
}

#[test]
fn missing_bind_mount_source() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let missing = b.path().join("no-such-source");
    b.add_mount("/mnt/x", "bind", missing.to_str().unwrap(), &["bind"]);
    b.save();
    expect_create_fails(&rt, &b, &["no-such-source"]);
}

#[test]
fn bad_filesystem_option() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.add_mount("/mnt/t", "tmpfs", "tmpfs", &["size=not-a-size"]);
    b.save();
    expect_create_fails(&rt, &b, &["/mnt/t", "size"]);
}

#[test]
fn unknown_filesystem_type() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.add_mount("/mnt/t", "no-such-fs", "none", &[]);
    b.save();
    expect_create_fails(&rt, &b, &["/mnt/t", "no-such-fs"]);
}

#[test]
fn joining_a_namespace_path_that_does_not_exist() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    ns.push(json!({"type": "network", "path": "/proc/no-such-pid/ns/net"}));
    b.save();
    expect_create_fails(&rt, &b, &["/proc/no-such-pid/ns/net"]);
}

#[test]
fn id_already_in_use_leaves_the_first_container_alone() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["sleep", "30"]);
    b.save();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "first create");
    let out = rt.create(&b, &id);
    assert_exit(&out, 1, "second create with the same id");
    if rt.is_jinn() {
        assert_one_error_line(&out, &[id.as_str(), "exists"]);
    }
    assert_eq!(rt.status(&id).as_deref(), Some("created"));
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}
