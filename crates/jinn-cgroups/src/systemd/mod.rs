//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup is a
//! transient unit systemd makes (a scope, or a slice), asked for over D-Bus.
//!
//! * `wire.rs`: the D-Bus wire format; `dbus.rs`: a small hand-written client;
//! * `scope.rs`: `linux.cgroupsPath` (`slice:prefix:name`) to the unit and its cgroup;
//! * `properties.rs`: `linux.resources` and `org.systemd.property.*` annotations as
//!   unit properties;
//! * this file: the calls (`StartTransientUnit`, `StopUnit`, `SetUnitProperties`) and
//!   the wait for their jobs.

mod cgroup;
pub mod dbus;
pub mod properties;
pub mod scope;
pub mod wire;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use dbus::{Connection, Value};
pub use properties::Property;
pub use scope::Unit;

use crate::error::{CgroupError, Result};
use crate::Layout;

/// systemd's own socket: peer-to-peer, root only, no bus needed.
pub const PRIVATE_SOCKET: &str = "/run/systemd/private";
/// The system bus, where systemd is `org.freedesktop.systemd1`.
pub const SYSTEM_BUS_SOCKET: &str = "/run/dbus/system_bus_socket";
const SYSTEMD_NAME: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a call, and a job, may take (runc waits 30 s for its jobs).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Whether this process talks to the user's systemd instance (`systemd --user`) rather
/// than the system's: rootless jinn does, as runc does.
static USER_MANAGER: AtomicBool = AtomicBool::new(false);

/// Talk to the user's systemd instance (rootless) instead of the system's; set once at
/// start, before the first connection.
pub fn use_user_manager(user: bool) {
    USER_MANAGER.store(user, Ordering::Relaxed);
}

/// Whether the user's systemd instance is the one used (see `use_user_manager`).
pub fn user_manager() -> bool {
    USER_MANAGER.load(Ordering::Relaxed)
}

/// The one connection of this process: every call of a jinn invocation (create, and
/// the cleanup of a failed create) goes through it, authenticated and subscribed once.
static SHARED: Mutex<Option<Systemd>> = Mutex::new(None);

/// Run `f` with this process's connection to systemd, connecting on first use.
pub fn with<T>(f: impl FnOnce(&mut Systemd) -> Result<T>) -> Result<T> {
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if shared.is_none() {
        *shared = Some(Systemd::connect()?);
    }
    f(shared.as_mut().expect("connected above"))
}

/// A connection to the system's systemd.
pub struct Systemd {
    conn: Connection,
    subscribed: bool,
}

impl Systemd {
    /// Connect to systemd's private socket, or else through the system bus; for the
    /// user's instance (`use_user_manager`), `connect_user`.
    pub fn connect() -> Result<Systemd> {
        if user_manager() {
            return Self::connect_user(
                std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
                std::env::var("DBUS_SESSION_BUS_ADDRESS").ok(),
            );
        }
        Self::connect_to(Path::new(PRIVATE_SOCKET), Path::new(SYSTEM_BUS_SOCKET))
    }

    /// Connect to the user's systemd instance: its private socket
    /// `$XDG_RUNTIME_DIR/systemd/private`, or else the session bus
    /// (`$DBUS_SESSION_BUS_ADDRESS` when it is a `unix:path=`, else
    /// `$XDG_RUNTIME_DIR/bus`).
    pub fn connect_user(xdg: Option<PathBuf>, bus_address: Option<String>) -> Result<Systemd> {
        let xdg = xdg.filter(|d| !d.as_os_str().is_empty());
        let bus = match bus_address.as_deref().filter(|a| !a.is_empty()) {
            Some(address) => Some(session_bus_path(address).ok_or_else(|| {
                CgroupError::SystemdConnect {
                    reason: format!(
                        "DBUS_SESSION_BUS_ADDRESS {address:?}: only a unix:path= address is supported"
                    ),
                }
            })?),
            None => xdg.as_ref().map(|d| d.join("bus")),
        };
        let (Some(xdg), Some(bus)) = (xdg, bus) else {
            return Err(CgroupError::SystemdConnect {
                reason: "the user's systemd instance: XDG_RUNTIME_DIR is not set".into(),
            });
        };
        Self::connect_to(&xdg.join("systemd/private"), &bus).map_err(|e| match e {
            CgroupError::SystemdConnect { reason } => CgroupError::SystemdConnect {
                reason: format!("the user's systemd instance: {reason}"),
            },
            other => other,
        })
    }

    /// `connect`, with the two sockets given (tests).
    pub fn connect_to(private: &Path, bus: &Path) -> Result<Systemd> {
        let first = match Connection::open(private, None) {
            Ok(conn) => return Ok(Systemd::with(conn)),
            Err(e) => e,
        };
        match Connection::open(bus, Some(SYSTEMD_NAME)) {
            Ok(conn) => Ok(Systemd::with(conn)),
            Err(second) => Err(CgroupError::SystemdConnect {
                reason: format!(
                    "{}: {}; {}: {}",
                    private.display(),
                    lower(&first),
                    bus.display(),
                    lower(&second)
                ),
            }),
        }
    }

    fn with(conn: Connection) -> Systemd {
        Systemd {
            conn,
            subscribed: false,
        }
    }

    fn call(
        &mut self,
        what: impl FnOnce() -> String,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Value],
    ) -> Result<Vec<Value>> {
        self.conn
            .call(path, interface, member, args, TIMEOUT)?
            .map_err(|e| CgroupError::SystemdCall {
                what: what(),
                name: e.name,
                message: e.message,
            })
    }

    fn manager(&mut self, member: &str, unit: &str, args: &[Value]) -> Result<Vec<Value>> {
        self.call(
            || format!("{member} {unit}").trim_end().to_owned(),
            MANAGER_PATH,
            MANAGER,
            member,
            args,
        )
    }

    /// Ask for `JobRemoved` signals (on a bus, also have them routed to us).
    fn subscribe(&mut self) -> Result<()> {
        if self.subscribed {
            return Ok(());
        }
        if self.conn.is_bus() {
            let rule = format!(
                "type='signal',sender='{SYSTEMD_NAME}',path='{MANAGER_PATH}',\
                 interface='{MANAGER}',member='JobRemoved'"
            );
            self.conn
                .call_on(
                    Some("org.freedesktop.DBus"),
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus",
                    "AddMatch",
                    &[Value::Str(rule)],
                    TIMEOUT,
                )?
                .map_err(|e| CgroupError::SystemdCall {
                    what: "AddMatch".into(),
                    name: e.name,
                    message: e.message,
                })?;
        }
        self.manager("Subscribe", "", &[])?;
        self.subscribed = true;
        Ok(())
    }

    /// Wait for the job `job` (an object path) to end; its result must be "done". The
    /// `JobRemoved` signal says so; the unit's state is polled as well (every 200 ms), so
    /// the wait never hangs on one signal alone.
    fn wait_job(&mut self, job: &Value, what: &'static str, unit: &str) -> Result<()> {
        let job = job.as_str().unwrap_or_default().to_owned();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let slice = (Instant::now() + Duration::from_millis(200)).min(deadline);
            let signal = self.conn.wait_signal(
                |m| {
                    m.member.as_deref() == Some("JobRemoved")
                        && m.body.get(1).and_then(Value::as_str) == Some(job.as_str())
                },
                slice,
            )?;
            if let Some(signal) = signal {
                return match signal.body.get(3).and_then(Value::as_str) {
                    Some("done") => Ok(()),
                    other => Err(CgroupError::SystemdJob {
                        what,
                        unit: unit.to_owned(),
                        result: other.unwrap_or_default().to_owned(),
                    }),
                };
            }
            let state = self.active_state(unit)?;
            tracing::debug!("{unit}: {state:?} while waiting for job {job}");
            match (what, state.as_deref()) {
                ("start", Some("active")) | ("stop", None | Some("inactive")) => return Ok(()),
                ("start", Some("failed")) | ("stop", Some("failed")) => {
                    return Err(CgroupError::SystemdJob {
                        what,
                        unit: unit.to_owned(),
                        result: "failed".into(),
                    })
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(CgroupError::SystemdTimeout {
                    what,
                    unit: unit.to_owned(),
                    secs: TIMEOUT.as_secs(),
                });
            }
        }
    }

    /// The unit's `ActiveState`, `None` when systemd does not know it.
    fn active_state(&mut self, unit: &str) -> Result<Option<String>> {
        let path = match self.manager("GetUnit", unit, &[Value::Str(unit.into())]) {
            Ok(p) => p
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            Err(CgroupError::SystemdCall { name, .. })
                if name == "org.freedesktop.systemd1.NoSuchUnit" =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let reply = self.call(
            || format!("get ActiveState of {unit}"),
            &path,
            "org.freedesktop.DBus.Properties",
            "Get",
            &[
                Value::Str("org.freedesktop.systemd1.Unit".into()),
                Value::Str("ActiveState".into()),
            ],
        )?;
        Ok(match reply.first() {
            Some(Value::Variant(v)) => v.as_str().map(str::to_owned),
            _ => None,
        })
    }

    /// Start `unit` as a transient unit with `pid` in it (a scope; a slice takes no
    /// pid) and `props`, and wait until it is active. A unit of that name left failed
    /// or inactive by an earlier container is reset first; an active one is an error.
    pub fn start_unit(&mut self, unit: &Unit, pid: Option<i32>, props: &[Property]) -> Result<()> {
        self.subscribe()?;
        let mut all: Vec<Property> = Vec::new();
        if let Some(pid) = pid {
            all.push((
                "PIDs".into(),
                Value::Array("u".into(), vec![Value::U32(pid as u32)]),
            ));
        }
        all.extend(props.iter().cloned());
        let props = Value::Array(
            "(sv)".into(),
            all.into_iter()
                .map(|(name, v)| Value::Struct(vec![Value::Str(name), Value::Variant(v.into())]))
                .collect(),
        );
        let args = [
            Value::Str(unit.name.clone()),
            Value::Str("replace".into()),
            props,
            Value::Array("(sa(sv))".into(), Vec::new()),
        ];
        let job = match self.manager("StartTransientUnit", &unit.name, &args) {
            Err(CgroupError::SystemdCall { name, .. })
                if name == "org.freedesktop.systemd1.UnitExists" =>
            {
                let _ = self.manager(
                    "ResetFailedUnit",
                    &unit.name,
                    &[Value::Str(unit.name.clone())],
                );
                self.manager("StartTransientUnit", &unit.name, &args)?
            }
            other => other?,
        };
        let result = self.wait_job(
            job.first().unwrap_or(&Value::Path(String::new())),
            "start",
            &unit.name,
        );
        if result.is_err() {
            // A failed job leaves the unit loaded and failed: nothing may stay behind.
            let _ = self.stop_unit(&unit.name);
        }
        result
    }

    /// Stop `unit` (a unit that does not exist is fine) and forget it if it failed.
    pub fn stop_unit(&mut self, unit: &str) -> Result<()> {
        self.subscribe()?;
        let args = [Value::Str(unit.into()), Value::Str("replace".into())];
        let result = match self.manager("StopUnit", unit, &args) {
            Ok(job) => self.wait_job(
                job.first().unwrap_or(&Value::Path(String::new())),
                "stop",
                unit,
            ),
            Err(CgroupError::SystemdCall { name, .. })
                if name == "org.freedesktop.systemd1.NoSuchUnit" =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        };
        let _ = self.manager("ResetFailedUnit", unit, &[Value::Str(unit.into())]);
        result
    }

    /// Change properties of a running unit (`update`).
    pub fn set_properties(&mut self, unit: &str, props: Vec<Property>) -> Result<()> {
        let props = Value::Array(
            "(sv)".into(),
            props
                .into_iter()
                .map(|(name, v)| Value::Struct(vec![Value::Str(name), Value::Variant(v.into())]))
                .collect(),
        );
        let args = [Value::Str(unit.into()), Value::Bool(true), props];
        self.manager("SetUnitProperties", unit, &args).map(drop)
    }

    /// The cgroup of the manager itself: `/` for the system's systemd,
    /// `/user.slice/user-1000.slice/user@1000.service` for a user's, whose units are
    /// below it.
    pub fn manager_control_group(&mut self) -> Result<String> {
        let reply = self.call(
            || "get ControlGroup of the manager".into(),
            MANAGER_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
            &[
                Value::Str(MANAGER.into()),
                Value::Str("ControlGroup".into()),
            ],
        )?;
        match reply.first() {
            Some(Value::Variant(v)) => Ok(v.as_str().unwrap_or_default().to_owned()),
            _ => Err(CgroupError::DbusProtocol {
                reason: "ControlGroup of the manager is not a variant".into(),
            }),
        }
    }

    /// The cgroup systemd made for `unit` (`/system.slice/jinn-c1.scope`).
    pub fn control_group(&mut self, unit: &Unit) -> Result<String> {
        let path = self.manager("GetUnit", &unit.name, &[Value::Str(unit.name.clone())])?;
        let path = path
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let interface = if unit.is_slice() {
            "org.freedesktop.systemd1.Slice"
        } else {
            "org.freedesktop.systemd1.Scope"
        };
        let reply = self.call(
            || format!("get ControlGroup of {}", unit.name),
            &path,
            "org.freedesktop.DBus.Properties",
            "Get",
            &[
                Value::Str(interface.into()),
                Value::Str("ControlGroup".into()),
            ],
        )?;
        match reply.first() {
            Some(Value::Variant(v)) => Ok(v.as_str().unwrap_or_default().to_owned()),
            _ => Err(CgroupError::DbusProtocol {
                reason: format!("ControlGroup of {} is not a variant", unit.name),
            }),
        }
    }
}

/// What every unit of a container gets (runc's choice): accounting on, no default
/// dependencies, the slice, and for a scope the delegation of its cgroup subtree.
pub fn base_properties(unit: &Unit, description: &str, layout: Layout) -> Vec<Property> {
    let b = |name: &str, v: bool| (name.to_owned(), Value::Bool(v));
    let mut props = vec![
        ("Description".to_owned(), Value::Str(description.into())),
        b("DefaultDependencies", false),
        b("MemoryAccounting", true),
        b("CPUAccounting", true),
        b("TasksAccounting", true),
        if layout == Layout::V2 {
            b("IOAccounting", true)
        } else {
            b("BlockIOAccounting", true)
        },
    ];
    if unit.is_slice() {
        if unit.slice != "-.slice" {
            props.push((
                "Wants".into(),
                Value::Array("s".into(), vec![Value::Str(unit.slice.clone())]),
            ));
        }
    } else {
        props.push(("Slice".into(), Value::Str(unit.slice.clone())));
        props.push(b("Delegate", true));
    }
    props
}

/// The socket of a `unix:path=/run/user/1000/bus` session bus address (the first
/// address of a `;` list that is one; `,guid=…` and other keys are ignored).
fn session_bus_path(address: &str) -> Option<PathBuf> {
    address.split(';').find_map(|one| {
        let rest = one.strip_prefix("unix:")?;
        rest.split(',')
            .find_map(|kv| kv.strip_prefix("path="))
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    })
}

/// An `io::Error` as text with a lower-case first letter.
fn lower(e: &std::io::Error) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_bus_addresses() {
        assert_eq!(
            session_bus_path("unix:path=/run/user/1000/bus"),
            Some("/run/user/1000/bus".into())
        );
        assert_eq!(
            session_bus_path("unix:abstract=/tmp/x;unix:path=/b,guid=12"),
            Some("/b".into())
        );
        assert_eq!(session_bus_path("unix:abstract=/tmp/x"), None);
        assert_eq!(session_bus_path("tcp:host=h,port=1"), None);
    }

    #[test]
    fn the_user_instance_needs_a_runtime_dir() {
        let e = Systemd::connect_user(None, None).err().unwrap().to_string();
        assert!(e.contains("XDG_RUNTIME_DIR is not set"), "{e}");
        let e = Systemd::connect_user(Some("/nonexistent-x".into()), None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("/nonexistent-x/systemd/private: no such file")
                && e.contains("/nonexistent-x/bus: no such file"),
            "{e}"
        );
        let e = Systemd::connect_user(Some("/x".into()), Some("unix:abstract=/y".into()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("DBUS_SESSION_BUS_ADDRESS \"unix:abstract=/y\""),
            "{e}"
        );
    }
}
