//! The persisted state of one container (`state.json`) and its status.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::now_rfc3339_nano;

/// Container status, serialized lower-case as in the OCI runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The container is being created.
    #[default]
    Creating,
    /// Created, init waiting for `start`.
    Created,
    /// The user process is running.
    Running,
    /// The init process has exited (or was never started).
    Stopped,
    /// Frozen (set by the cgroup code).
    Paused,
}

impl Status {
    /// The lower-case OCI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
            Status::Paused => "paused",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The persisted container state (`state.json`, camelCase keys). Missing
/// keys deserialize to their defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    /// Container id.
    pub id: String,
    /// Init process pid (0 = none).
    pub pid: i32,
    /// `starttime` (field 22 of `/proc/PID/stat`) of the init process.
    pub pid_start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds, UTC (see [`rfc3339_nano`]).
    pub created: String,
    /// Annotations from the bundle's config.
    pub annotations: BTreeMap<String, String>,
    /// Owner as reported by `state` ("" as runc).
    pub owner: String,
    /// Status as last recorded by the runtime; see [`Container::live_status`]
    /// for the effective one.
    pub status: Status,
    /// Set by `jinn start`.
    pub started: bool,
    /// Opaque data owned by the cgroup crate.
    pub cgroup_paths: serde_json::Value,
    /// `ociVersion` of the bundle's config.json.
    pub config_oci_version: String,
}

impl State {
    /// A fresh state for `id`: status `creating`, `created` = now.
    pub fn new(id: &str) -> State {
        State {
            id: id.to_string(),
            created: now_rfc3339_nano(),
            ..State::default()
        }
    }
}
