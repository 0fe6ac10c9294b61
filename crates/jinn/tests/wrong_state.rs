//! Operations refused in the wrong state: each must fail with exit code 1 and
//! leave the container as it was (runtime.md: "MUST generate an error" and
//! "MUST have no effect on the container").

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(10);

fn sleeper() -> Bundle {
    let mut b = Bundle::new();
    b.set_args(&["sleep", "1000"]);
    b
}

/// A running container from `create` + `start`.
fn start_sleeper(rt: &Runtime, b: &Bundle) -> String {
    let id = rt.new_id();
    assert_success(&rt.create(b, &id), "create");
    assert_success(&rt.start(&id), "start");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));
    id
}

#[test]
fn start_twice_fails() {
    let rt = Runtime::new();
    let b = sleeper();
    let id = start_sleeper(&rt, &b);
    let pid = rt.state(&id).unwrap()["pid"].clone();
    assert_exit(&rt.start(&id), 1, "second start");
    let st = rt.state(&id).unwrap();
    assert_eq!(st["status"], "running", "a refused start changes nothing");
    assert_eq!(st["pid"], pid);
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn start_of_a_stopped_container_fails() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["true"]);
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    rt.wait_status(&id, "stopped", WAIT);
    assert_exit(&rt.start(&id), 1, "start of a stopped container");
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn delete_of_a_running_container_fails_without_force() {
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let b = sleeper();
    let id = start_sleeper(&rt, &b);
    assert_exit(&rt.delete(&id), 1, "delete of a running container");
    assert_eq!(
        rt.status(&id).as_deref(),
        Some("running"),
        "refused delete changes nothing"
    );
    assert_success(
        &rt.delete_force(&id),
        "delete --force of a running container",
    );
    assert!(rt.state(&id).is_none());
    assert_no_leftovers(&rt, &id, &b);
    host.assert_unchanged();
}

#[test]
fn delete_force_of_a_created_container_removes_it() {
    let rt = Runtime::new();
    let b = sleeper();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(
        &rt.delete_force(&id),
        "delete --force of a created container",
    );
    assert!(rt.state(&id).is_none());
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn kill_of_a_stopped_container_fails() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["true"]);
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    rt.wait_status(&id, "stopped", WAIT);
    assert_exit(&rt.kill(&id, "KILL"), 1, "kill KILL of a stopped container");
    assert_exit(
        &rt.cmd(&["kill", &id]),
        1,
        "kill (TERM) of a stopped container",
    );
    assert_eq!(rt.status(&id).as_deref(), Some("stopped"));
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn operations_on_a_nonexistent_container_fail() {
    let rt = Runtime::new();
    let id = unique_id();
    for args in [
        vec!["state", &id],
        vec!["start", &id],
        vec!["kill", &id, "KILL"],
        vec!["delete", &id],
    ] {
        let out = rt.cmd(&args);
        assert_exit(&out, 1, &format!("{} of a nonexistent container", args[0]));
        if rt.is_jinn() {
            assert_one_error_line(&out, &[&id]);
        }
    }
    assert!(
        !rt.root().join(&id).exists(),
        "no state dir appears for {id}"
    );
}

#[test]
fn delete_force_of_a_nonexistent_container_succeeds() {
    // runc's behaviour, which Podman's cleanup and containerd's shim rely on: they call
    // `delete --force` after the container may already be gone.
    let rt = Runtime::new();
    let id = unique_id();
    assert_success(
        &rt.delete_force(&id),
        "delete --force of a nonexistent container",
    );
    assert!(
        !rt.root().join(&id).exists(),
        "no state dir appears for {id}"
    );
}

#[test]
fn delete_twice_fails() {
    let rt = Runtime::new();
    let b = sleeper();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_exit(&rt.delete(&id), 1, "second delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn create_with_a_used_id_fails_and_keeps_the_first_container() {
    let rt = Runtime::new();
    let b = sleeper();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "first create");
    let before = rt.state(&id).unwrap();

    let other = sleeper();
    assert_exit(&rt.create(&other, &id), 1, "create with a used id");
    assert_exit(&rt.run(&other, &id), 1, "run with a used id");
    let after = rt.state(&id).expect("the first container still exists");
    assert_eq!(after["status"], "created");
    assert_eq!(after["pid"], before["pid"]);
    assert_eq!(
        after["bundle"],
        b.path_str(),
        "state still points at the first bundle"
    );
    assert!(
        processes_inside(other.path_str()).is_empty(),
        "nothing runs from the second bundle"
    );

    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
    assert_no_leftovers(&rt, &id, &other);
}
