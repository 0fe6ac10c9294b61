//! The D-Bus client against a real peer: a private dbus-daemon (no systemd needed),
//! and the error when there is no systemd at all.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jinn_cgroups::systemd::dbus::{Connection, Value};
use jinn_cgroups::systemd::{Systemd, Unit};
use jinn_cgroups::CgroupError;

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A dbus-daemon with the session configuration on a socket of its own, if installed.
fn daemon(name: &str) -> Option<(Daemon, PathBuf)> {
    if Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no dbus-daemon");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("jinn-dbus-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("bus");
    let child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address=unix:path={}", sock.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, dir };
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dbus-daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((d, sock))
}

#[test]
fn hello_and_calls_on_a_real_bus() {
    let Some((_d, sock)) = daemon("calls") else {
        return;
    };
    let mut conn = Connection::open(&sock, Some("org.freedesktop.DBus")).unwrap();
    let names = conn
        .call(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "ListNames",
            &[],
            Duration::from_secs(10),
        )
        .unwrap()
        .unwrap();
    let Some(Value::Array(elem, names)) = names.first() else {
        panic!("{names:?}");
    };
    assert_eq!(elem, "s");
    assert!(
        names.contains(&Value::Str("org.freedesktop.DBus".into())),
        "{names:?}"
    );
    // An error reply: its name and message.
    let err = conn
        .call(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "GetNameOwner",
            &[Value::Str("org.example.Nobody".into())],
            Duration::from_secs(10),
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(err.name, "org.freedesktop.DBus.Error.NameHasNoOwner");
    assert!(
        err.message.contains("org.example.Nobody"),
        "{}",
        err.message
    );
}

/// With the private socket missing, the system bus is used; with no systemd on it, the
/// call fails with the bus's error, naming the call.
#[test]
fn fallback_to_the_bus_and_no_systemd_there() {
    let Some((d, sock)) = daemon("fallback") else {
        return;
    };
    let missing = d.dir.join("private");
    let mut sd = Systemd::connect_to(&missing, &sock).unwrap();
    let unit = Unit {
        name: "jinn-x.scope".into(),
        slice: "system.slice".into(),
        cgroup: "/system.slice/jinn-x.scope".into(),
    };
    let err = sd.start_unit(&unit, Some(1), &[]).unwrap_err();
    assert!(
        matches!(&err, CgroupError::SystemdCall { name, .. } if name == "org.freedesktop.DBus.Error.NameHasNoOwner"),
        "{err}"
    );
    assert!(err.to_string().starts_with("systemd Subscribe: "), "{err}");
}

#[test]
fn no_systemd_socket_is_a_clear_error() {
    let err = Systemd::connect_to(
        Path::new("/nonexistent/systemd/private"),
        Path::new("/nonexistent/dbus/system_bus_socket"),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "--systemd-cgroup: cannot connect to systemd: /nonexistent/systemd/private: \
         no such file or directory (os error 2); /nonexistent/dbus/system_bus_socket: \
         no such file or directory (os error 2)"
    );
}

/// A systemd-driven cgroup keeps its unit through the state (serde), and without systemd
/// its removal still succeeds (there is no unit to stop), so such a container can be
/// deleted.
#[test]
fn systemd_cgroup_round_trips_and_is_removable_without_systemd() {
    if Path::new(jinn_cgroups::systemd::PRIVATE_SOCKET).exists()
        || Path::new(jinn_cgroups::systemd::SYSTEM_BUS_SOCKET).exists()
    {
        eprintln!("skipped: systemd or a system bus runs here");
        return;
    }
    let cg = jinn_cgroups::Cgroup::new_systemd(Some("system.slice:jinn-test:x1"), "x1").unwrap();
    let unit = cg.systemd_unit().unwrap();
    assert_eq!(unit.name, "jinn-test-x1.scope");
    assert_eq!(cg.path(), "/system.slice/jinn-test-x1.scope");
    let back: jinn_cgroups::Cgroup =
        serde_json::from_str(&serde_json::to_string(&cg).unwrap()).unwrap();
    assert_eq!(back, cg);
    back.destroy().unwrap();
    // Bad input is refused before anything else.
    let err = jinn_cgroups::Cgroup::new_systemd(Some("/a/b"), "x1").unwrap_err();
    assert!(
        err.to_string().starts_with("linux.cgroupsPath \"/a/b\": "),
        "{err}"
    );
}
