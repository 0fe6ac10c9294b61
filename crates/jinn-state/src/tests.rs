//! Store tests, each in its own temporary directory.

use super::*;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::stat::Mode;
use std::sync::mpsc;

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let s = Store::open(&tmp.path().join("root")).unwrap();
    (tmp, s)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn id_validation_table() {
    let good = [
        "a",
        "c1",
        "A-Z_0.9+x",
        "...",
        ".hidden",
        "a..b",
        "-x",
        "+",
        &"a".repeat(MAX_ID_LEN),
    ];
    for id in good {
        assert!(validate_id(id).is_ok(), "{id:?} should be valid");
    }
    let bad = [
        "",
        ".",
        "..",
        "a/b",
        "/abs",
        "../x",
        "a b",
        " a",
        "a\nb",
        "a\0b",
        "a,b",
        "a:b",
        "a*",
        "café",
        "容器",
        "tab\t",
        &"a".repeat(MAX_ID_LEN + 1),
    ];
    for id in bad {
        assert!(validate_id(id).is_err(), "{id:?} should be invalid");
    }
    assert_eq!(
        validate_id("").unwrap_err().to_string(),
        "container id cannot be empty"
    );
    assert_eq!(
        validate_id("a/b").unwrap_err().to_string(),
        r#"invalid container ID format "a/b": only [A-Za-z0-9_+.-] allowed"#
    );
    assert!(validate_id("..")
        .unwrap_err()
        .to_string()
        .starts_with(r#"invalid container ID format "..""#));
}

#[test]
fn store_rejects_bad_ids_everywhere() {
    let (_t, s) = store();
    assert!(matches!(
        s.create("../x"),
        Err(StateError::InvalidId { .. })
    ));
    assert!(matches!(s.load(".."), Err(StateError::InvalidId { .. })));
    assert!(matches!(s.remove("a/b"), Err(StateError::InvalidId { .. })));
    assert!(matches!(s.create(""), Err(StateError::EmptyId)));
}

#[test]
fn open_creates_root_0700_with_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a/b/root");
    let s = Store::open(&root).unwrap();
    assert_eq!(s.root(), root);
    let mode = std::fs::metadata(&root).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700 & !current_umask());
    // Opening an existing root works too.
    Store::open(&root).unwrap();
    assert_eq!(s.list().unwrap(), Vec::<String>::new());
}

fn current_umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn root_symlink_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = tmp.path().join("link");
    symlink(&real, &link).unwrap();
    let err = Store::open(&link).unwrap_err();
    assert!(matches!(err, StateError::RootIsSymlink { .. }), "{err}");
    assert!(
        err.to_string().contains(&link.display().to_string()),
        "{err}"
    );
    // Dangling symlink too: not created through.
    let dangling = tmp.path().join("dangling");
    symlink(tmp.path().join("nowhere"), &dangling).unwrap();
    assert!(matches!(
        Store::open(&dangling),
        Err(StateError::RootIsSymlink { .. })
    ));
    assert!(!tmp.path().join("nowhere").exists());
}

#[test]
fn root_that_is_a_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("file");
    std::fs::write(&f, b"x").unwrap();
    let err = Store::open(&f).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("open {}: ", f.display())),
        "{err}"
    );
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn create_makes_locked_0700_dir_with_state() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    assert_eq!(c.id(), "c1");
    assert_eq!(c.dir(), s.root().join("c1"));
    let meta = std::fs::symlink_metadata(c.dir()).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o077, 0);
    assert_eq!(names_in(c.dir()), vec![STATE_FILE]);
    let st = std::fs::metadata(c.dir().join(STATE_FILE)).unwrap();
    assert_eq!(st.permissions().mode() & 0o777, 0o600);
    assert_eq!(c.state().id, "c1");
    assert_eq!(c.state().status, Status::Creating);
    assert!(c.state().created.ends_with('Z'));
    // The descriptor is close-on-exec.
    let flags = nix::fcntl::fcntl(c.dir_fd().as_raw_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_ne!(flags & libc::FD_CLOEXEC, 0);
}

#[test]
fn create_twice_fails() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    drop(c);
    let err = s.create("c1").unwrap_err();
    assert!(matches!(err, StateError::AlreadyExists { .. }));
    assert_eq!(err.to_string(), r#"container "c1" already exists"#);
}

#[test]
fn load_missing_names_the_id() {
    let (_t, s) = store();
    let err = s.load("nope").unwrap_err();
    assert!(matches!(err, StateError::NotExist { .. }));
    assert_eq!(err.to_string(), r#"container "nope" does not exist"#);
}

#[test]
fn load_dir_without_state_is_not_exist_and_remove_cleans_it() {
    let (_t, s) = store();
    std::fs::create_dir(s.root().join("half")).unwrap();
    std::fs::write(s.root().join("half/junk"), b"x").unwrap();
    assert!(matches!(s.load("half"), Err(StateError::NotExist { .. })));
    assert_eq!(s.list().unwrap(), vec!["half"]);
    assert_eq!(s.list_rows().unwrap(), vec![]);
    s.remove("half").unwrap();
    assert!(!s.root().join("half").exists());
    assert!(matches!(s.remove("half"), Err(StateError::NotExist { .. })));
}

#[test]
fn corrupt_state_is_a_parse_error_naming_the_file() {
    let (_t, s) = store();
    drop(s.create("c1").unwrap());
    std::fs::write(s.root().join("c1/state.json"), b"{nope").unwrap();
    let err = s.load("c1").unwrap_err();
    assert!(matches!(err, StateError::Parse { .. }));
    assert!(err.to_string().starts_with(&format!(
        "parse {}: ",
        s.root().join("c1/state.json").display()
    )));
}

fn sample_state(id: &str) -> State {
    let mut st = State::new(id);
    st.pid = 4242;
    st.pid_start_time = 987_654;
    st.bundle = "/b/bundle".into();
    st.rootfs = "/b/bundle/rootfs".into();
    st.annotations.insert("k".into(), "v".into());
    st.status = Status::Created;
    st.started = true;
    st.cgroup_paths = serde_json::json!({"unified": "/sys/fs/cgroup/jinn/c1"});
    st.config_oci_version = "1.2.0".into();
    st
}

#[test]
fn save_load_round_trip() {
    let (_t, s) = store();
    let mut c = s.create("c1").unwrap();
    *c.state_mut() = sample_state("c1");
    c.save().unwrap();
    let expected = c.state().clone();
    drop(c);
    let c = s.load("c1").unwrap();
    assert_eq!(c.state(), &expected);
    // camelCase on disk.
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.root().join("c1/state.json")).unwrap()).unwrap();
    assert_eq!(raw["pidStartTime"], 987_654);
    assert_eq!(raw["configOciVersion"], "1.2.0");
    assert_eq!(raw["status"], "created");
    assert_eq!(raw["cgroupPaths"]["unified"], "/sys/fs/cgroup/jinn/c1");
}

#[test]
fn state_defaults_for_missing_keys() {
    let st: State = serde_json::from_str(r#"{"id":"x","status":"running"}"#).unwrap();
    assert_eq!(st.id, "x");
    assert_eq!(st.status, Status::Running);
    assert_eq!(st.pid, 0);
    assert!(!st.started);
    assert_eq!(st.cgroup_paths, serde_json::Value::Null);
}

#[test]
fn status_serde_and_display() {
    for (s, name) in [
        (Status::Creating, "creating"),
        (Status::Created, "created"),
        (Status::Running, "running"),
        (Status::Stopped, "stopped"),
        (Status::Paused, "paused"),
    ] {
        assert_eq!(s.to_string(), name);
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
        assert_eq!(
            serde_json::from_str::<Status>(&format!("\"{name}\"")).unwrap(),
            s
        );
    }
}

#[test]
fn atomic_save_leaves_no_temp_files() {
    let (_t, s) = store();
    let mut c = s.create("c1").unwrap();
    for i in 0..20 {
        c.state_mut().pid = i;
        c.save().unwrap();
    }
    c.write_file("plan.json", b"{}").unwrap();
    c.write_file("plan.json", b"{\"v\":2}").unwrap();
    assert_eq!(names_in(c.dir()), vec!["plan.json", "state.json"]);
    assert_eq!(c.read_file("plan.json").unwrap(), b"{\"v\":2}");
    let mode = std::fs::metadata(c.dir().join("plan.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn file_helpers_validate_names_and_remove() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    for bad in ["", ".", "..", "a/b", "../x", "/etc/passwd", "a\0b"] {
        assert!(matches!(
            c.write_file(bad, b"x"),
            Err(StateError::InvalidFileName { .. })
        ));
        assert!(matches!(
            c.read_file(bad),
            Err(StateError::InvalidFileName { .. })
        ));
        assert!(matches!(
            c.remove_file(bad),
            Err(StateError::InvalidFileName { .. })
        ));
    }
    let err = c.read_file("missing").unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        format!(
            "open {}: no such file or directory (os error 2)",
            c.dir().join("missing").display()
        )
    );
    c.write_file("x", b"1").unwrap();
    c.remove_file("x").unwrap();
    c.remove_file("x").unwrap();
    assert_eq!(names_in(c.dir()), vec!["state.json"]);
}

#[test]
fn fifo_is_not_read() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    nix::unistd::mkfifo(&c.dir().join("exec.fifo"), Mode::from_bits_truncate(0o600)).unwrap();
    assert!(matches!(
        c.read_file("exec.fifo"),
        Err(StateError::NotRegularFile { .. })
    ));
}

#[test]
fn destroy_removes_the_dir() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    c.write_file("plan.json", b"{}").unwrap();
    nix::unistd::mkfifo(&c.dir().join("exec.fifo"), Mode::from_bits_truncate(0o600)).unwrap();
    std::fs::create_dir_all(c.dir().join("sub/deeper")).unwrap();
    std::fs::write(c.dir().join("sub/deeper/f"), b"x").unwrap();
    // A symlink inside is removed, its target is not.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep"), b"keep").unwrap();
    symlink(outside.path(), c.dir().join("link")).unwrap();
    let dir = c.dir().to_path_buf();
    c.destroy().unwrap();
    assert!(!dir.exists());
    assert_eq!(std::fs::read(outside.path().join("keep")).unwrap(), b"keep");
    assert_eq!(s.list().unwrap(), Vec::<String>::new());
    assert!(matches!(s.load("c1"), Err(StateError::NotExist { .. })));
    // The id can be reused.
    s.create("c1").unwrap();
}

#[test]
fn planted_container_symlink_is_refused_and_target_untouched() {
    let (_t, s) = store();
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(
        victim.path().join(STATE_FILE),
        serde_json::to_vec(&sample_state("evil")).unwrap(),
    )
    .unwrap();
    symlink(victim.path(), s.root().join("evil")).unwrap();

    assert!(matches!(
        s.create("evil"),
        Err(StateError::AlreadyExists { .. })
    ));
    let err = s.load("evil").unwrap_err();
    assert!(matches!(err, StateError::Io { op: "open", .. }), "{err}");
    assert!(err
        .to_string()
        .contains(&s.root().join("evil").display().to_string()));
    assert!(s.remove("evil").is_err());
    // Not listed as a container.
    assert_eq!(s.list().unwrap(), Vec::<String>::new());
    // Target untouched.
    assert_eq!(names_in(victim.path()), vec![STATE_FILE]);
    assert!(std::fs::symlink_metadata(s.root().join("evil"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn symlinked_state_json_is_not_followed() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    let dir = c.dir().to_path_buf();
    drop(c);
    let victim = tempfile::tempdir().unwrap();
    let target = victim.path().join("secret.json");
    let original = serde_json::to_vec(&sample_state("c1")).unwrap();
    std::fs::write(&target, &original).unwrap();
    std::fs::remove_file(dir.join(STATE_FILE)).unwrap();
    symlink(&target, dir.join(STATE_FILE)).unwrap();

    // Loading refuses to read through the link.
    let err = s.load("c1").unwrap_err();
    assert!(matches!(err, StateError::Io { op: "open", .. }), "{err}");
    assert!(err.to_string().contains("state.json"), "{err}");

    // Writing through the helpers replaces a link, not its target: restore a
    // real state.json, load, then plant links again under the holder.
    std::fs::remove_file(dir.join(STATE_FILE)).unwrap();
    std::fs::write(dir.join(STATE_FILE), &original).unwrap();
    let c = s.load("c1").unwrap();
    symlink(&target, dir.join("plan.json")).unwrap();
    std::fs::remove_file(dir.join(STATE_FILE)).unwrap();
    symlink(&target, dir.join(STATE_FILE)).unwrap();
    c.save().unwrap();
    c.write_file("plan.json", b"new").unwrap();
    assert_eq!(c.read_file("plan.json").unwrap(), b"new");
    assert!(!std::fs::symlink_metadata(dir.join(STATE_FILE))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), original);
    // A symlink passed to read_file is refused.
    symlink(&target, dir.join("other")).unwrap();
    assert!(c.read_file("other").is_err());
    // remove_file removes the link only.
    c.remove_file("other").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), original);
}

#[test]
fn list_is_sorted_and_skips_non_containers() {
    let (_t, s) = store();
    for id in ["zeta", "alpha", "m1", "B"] {
        s.create(id).unwrap();
    }
    std::fs::write(s.root().join("afile"), b"x").unwrap();
    std::fs::create_dir(s.root().join("bad name")).unwrap();
    symlink("/tmp", s.root().join("alink")).unwrap();
    assert_eq!(s.list().unwrap(), vec!["B", "alpha", "m1", "zeta"]);
    let rows = s.list_rows().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .all(|r| r.status == Status::Stopped && r.pid == 0));
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("#{}", nix::unistd::geteuid()));
    assert!(rows.iter().all(|r| r.owner == me));
}

#[test]
fn second_load_blocks_until_first_holder_drops() {
    let (_t, s) = store();
    drop(s.create("c1").unwrap());
    let first = s.load("c1").unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let s2 = s.clone();
    let released2 = Arc::clone(&released);
    let t = std::thread::spawn(move || {
        started_tx.send(()).unwrap();
        let c = s2.load("c1").unwrap();
        // Must only get here after the first holder released the lock.
        let was_released = released2.load(Ordering::SeqCst);
        done_tx.send(was_released).unwrap();
        drop(c);
    });
    started_rx.recv().unwrap();
    // Give the thread a chance to block in flock (not needed for
    // correctness: the check below is ordering-based).
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(done_rx.try_recv().is_err(), "second load did not block");
    released.store(true, Ordering::SeqCst);
    drop(first);
    assert!(
        done_rx.recv().unwrap(),
        "second load acquired the lock early"
    );
    t.join().unwrap();
}

#[test]
fn waiter_sees_not_exist_after_destroy() {
    let (_t, s) = store();
    let first = s.create("c1").unwrap();
    let s2 = s.clone();
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        tx.send(()).unwrap();
        s2.load("c1").map(|_| ())
    });
    rx.recv().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    first.destroy().unwrap();
    let res = t.join().unwrap();
    assert!(matches!(res, Err(StateError::NotExist { .. })), "{res:?}");
}

fn spawn_sleep() -> (std::process::Child, i32, u64) {
    let child = Command::new("sleep")
        .arg("100")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    let start = process_start_time(pid).expect("start time");
    (child, pid, start)
}

#[test]
fn live_status_transitions_with_real_child() {
    let (_t, s) = store();
    let mut c = s.create("c1").unwrap();
    assert_eq!(c.live_status(), Status::Stopped); // pid 0
    let (mut child, pid, start) = spawn_sleep();
    {
        let st = c.state_mut();
        st.pid = pid;
        st.pid_start_time = start;
        st.status = Status::Created;
    }
    assert_eq!(c.live_status(), Status::Created);
    c.state_mut().started = true;
    c.state_mut().status = Status::Running;
    assert_eq!(c.live_status(), Status::Running);
    c.state_mut().status = Status::Paused;
    assert_eq!(c.live_status(), Status::Paused);
    c.state_mut().status = Status::Running;
    // A different start time means a reused pid: stopped.
    c.state_mut().pid_start_time = start + 1;
    assert_eq!(c.live_status(), Status::Stopped);
    c.state_mut().pid_start_time = start;
    assert_eq!(c.live_status(), Status::Running);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(c.live_status(), Status::Stopped);
    assert!(!process_is_alive(pid, start));
    // Paused but dead is stopped.
    c.state_mut().status = Status::Paused;
    assert_eq!(c.live_status(), Status::Stopped);
}

#[test]
fn oci_state_json_order_and_pid_zero_when_stopped() {
    let (_t, s) = store();
    let mut c = s.create("c1").unwrap();
    let (mut child, pid, start) = spawn_sleep();
    {
        let st = c.state_mut();
        st.pid = pid;
        st.pid_start_time = start;
        st.bundle = "/tmp/rt/b".into();
        st.rootfs = "/tmp/rt/b/rootfs".into();
        st.created = "2026-11-29T13:00:13.919170351Z".into();
        st.started = true;
    }
    let v = c.oci_state_json();
    assert_eq!(v["pid"], pid);
    assert_eq!(v["status"], "running");
    // No annotations key when empty; runc's key order.
    assert_eq!(
        format_state(&v),
        format!(
            r#"{{
  "ociVersion": "{OCI_VERSION}",
  "id": "c1",
  "pid": {pid},
  "status": "running",
  "bundle": "/tmp/rt/b",
  "rootfs": "/tmp/rt/b/rootfs",
  "created": "2026-11-29T13:00:13.919170351Z",
  "owner": ""
}}"#
        )
    );
    child.kill().unwrap();
    child.wait().unwrap();
    c.state_mut().annotations.insert("org.x".into(), "1".into());
    let v = c.oci_state_json();
    assert_eq!(v["pid"], 0);
    assert_eq!(v["status"], "stopped");
    let out = format_state(&v);
    let keys: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  \""))
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "ociVersion",
            "id",
            "pid",
            "status",
            "bundle",
            "rootfs",
            "created",
            "annotations",
            "owner"
        ]
    );
    // list row: owner resolved from the directory owner.
    let row = c.list_row();
    assert_eq!(row.pid, 0);
    assert!(!row.owner.is_empty());
}

#[test]
fn io_error_message_is_lower_case_go_style() {
    let (_t, s) = store();
    let c = s.create("c1").unwrap();
    std::fs::create_dir(c.dir().join("adir")).unwrap();
    let err = c.read_file("adir").unwrap_err();
    // Opening a directory O_RDONLY succeeds; it is then not a regular file.
    assert!(matches!(err, StateError::NotRegularFile { .. }), "{err}");
    let e = StateError::io(
        "open",
        "/run/jinn/c1/state.json",
        std::io::Error::from_raw_os_error(libc::EACCES),
    );
    assert_eq!(
        e.to_string(),
        "open /run/jinn/c1/state.json: permission denied (os error 13)"
    );
    assert!(std::error::Error::source(&e).is_some());
}
