//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while managing a container's cgroup.
///
/// Variants that wrap an OS error put its text in the message
/// (`write /sys/fs/cgroup/memory/x/memory.limit_in_bytes: invalid argument (os error 22)`)
/// and keep the `io::Error` in the `error` field for callers that want to
/// match on it; it is deliberately not exposed as `source()`, so a chain printer
/// does not print the OS error twice.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("read {}: {}", path.display(), os_text(error))]
    Read { path: PathBuf, error: io::Error },

    #[error("write {}: {}", path.display(), os_text(error))]
    Write { path: PathBuf, error: io::Error },

    #[error("mkdir {}: {}", path.display(), os_text(error))]
    Mkdir { path: PathBuf, error: io::Error },

    #[error("rmdir {}: {}", path.display(), os_text(error))]
    Rmdir { path: PathBuf, error: io::Error },

    #[error("statfs {}: {}", path.display(), os_text(error))]
    Statfs { path: PathBuf, error: io::Error },

    #[error("send signal {signal} to pid {pid}: {}", os_text(error))]
    Signal {
        pid: i32,
        signal: i32,
        error: io::Error,
    },

    /// `/proc/self/mountinfo` or `/proc/self/cgroup` had a line we cannot parse.
    #[error("parse {file}: {reason}")]
    Parse { file: &'static str, reason: String },

    #[error("no cgroup filesystem is mounted (looked in /proc/self/mountinfo)")]
    NoCgroupFs,

    /// The runtime's own cgroup (from `/proc/self/cgroup`) is not visible
    /// under the hierarchy's mount point.
    #[error("own cgroup {own} of hierarchy {hierarchy} is outside the mount root {root}")]
    OwnCgroupOutsideMount {
        hierarchy: String,
        own: String,
        root: String,
    },

    /// `linux.cgroupsPath` is malformed or unsupported.
    #[error("linux.cgroupsPath {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// systemd-style `slice:prefix:name` cgroup paths without `--systemd-cgroup`.
    #[error("linux.cgroupsPath {path:?}: a systemd cgroup path (slice:prefix:name) needs --systemd-cgroup")]
    SystemdPath { path: String },

    /// Neither systemd's private socket nor the system bus answered.
    #[error("--systemd-cgroup: cannot connect to systemd: {reason}")]
    SystemdConnect { reason: String },

    /// The D-Bus connection to systemd failed.
    #[error("systemd d-bus {what}: {}", os_text(error))]
    DbusIo { what: String, error: io::Error },

    /// systemd sent something this client does not understand.
    #[error("systemd d-bus: {reason}")]
    DbusProtocol { reason: String },

    /// systemd refused a call: `what` names the call and the unit.
    #[error("systemd {what}: {message} ({name})")]
    SystemdCall {
        what: String,
        name: String,
        message: String,
    },

    /// A systemd job for the container's unit did not end with "done".
    #[error("systemd {what} {unit}: job finished with result {result:?}")]
    SystemdJob {
        what: &'static str,
        unit: String,
        result: String,
    },

    /// systemd made the unit's cgroup somewhere else than the cgroups path says.
    #[error("systemd put unit {unit} in cgroup {got:?}, not {want:?} (is systemd's own cgroup root not /?)")]
    SystemdCgroup {
        unit: String,
        got: String,
        want: String,
    },

    /// A systemd job for the container's unit did not finish in time.
    #[error("systemd {what} {unit}: no result within {secs} s")]
    SystemdTimeout {
        what: &'static str,
        unit: String,
        secs: u64,
    },

    /// A resource was requested but its controller is not mounted or not
    /// enabled for this cgroup.
    #[error("{field}: the {controller} cgroup controller is not available on this host")]
    ControllerMissing {
        field: &'static str,
        controller: &'static str,
    },

    /// A resource value that can never be applied.
    #[error("{field}: {reason}")]
    InvalidResource { field: &'static str, reason: String },

    /// A resource value that can never be applied, where the field name
    /// carries an index or a key (`linux.resources.hugepageLimits[0].pageSize`).
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },

    /// The kernel refused a resource value.
    #[error("{field}: write {value:?} to {}: {}", path.display(), os_text(error))]
    FieldWrite {
        field: String,
        value: String,
        path: PathBuf,
        error: io::Error,
    },

    /// The cgroup did not reach the requested freezer state in time.
    #[error("{}: cgroup did not become {state} within {timeout_ms} ms", path.display())]
    FreezeTimeout {
        path: PathBuf,
        state: &'static str,
        timeout_ms: u64,
    },
}

pub type Result<T, E = CgroupError> = std::result::Result<T, E>;

impl CgroupError {
    /// Whether the kernel refused for lack of permission (EACCES, EPERM, EROFS): what a
    /// rootless jinn meets where no cgroup was delegated to it.
    pub fn is_permission_denied(&self) -> bool {
        matches!(
            self.raw_os_error(),
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
        )
    }

    /// The raw OS error number, when the failure came from the kernel.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Read { error, .. }
            | Self::Write { error, .. }
            | Self::Mkdir { error, .. }
            | Self::Rmdir { error, .. }
            | Self::Statfs { error, .. }
            | Self::Signal { error, .. }
            | Self::FieldWrite { error, .. }
            | Self::DbusIo { error, .. } => error.raw_os_error(),
            _ => None,
        }
    }
}

/// `io::Error` text with a lower-case first letter: `invalid argument (os error 22)`.
fn os_text(error: &io::Error) -> String {
    let text = error.to_string();
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
    fn write_error_message_is_lower_case_with_path() {
        let e = CgroupError::Write {
            path: "/sys/fs/cgroup/memory/x/memory.limit_in_bytes".into(),
            error: io::Error::from_raw_os_error(libc::EINVAL),
        };
        assert_eq!(
            e.to_string(),
            "write /sys/fs/cgroup/memory/x/memory.limit_in_bytes: invalid argument (os error 22)"
        );
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }
}
