//! The plan: the validated, translated form of a config.json.
//!
//! Everything after the interpreter (the CLI commands, the init, the cgroup code) reads
//! a [`Plan`], never raw JSON. Values are already checked and converted to what the
//! kernel takes: capability names to bit numbers, rlimit names to `RLIMIT_*` numbers,
//! mount options to mount attributes, propagation and filesystem options.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A validated container configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `ociVersion`, as written.
    pub oci_version: String,
    /// The bundle directory, absolute.
    pub bundle: PathBuf,
    /// `root.path` resolved against the bundle, absolute and canonical.
    pub rootfs: PathBuf,
    /// `root.readonly`.
    pub rootfs_readonly: bool,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// `mounts`, in order.
    pub mounts: Vec<MountPlan>,
    /// `process`; required by jinn at create time (as runc).
    pub process: ProcessPlan,
    /// `linux.namespaces`, in the order given, types unique.
    pub namespaces: Vec<NamespacePlan>,
    /// `linux.uidMappings` (only with a user namespace).
    pub uid_mappings: Vec<IdMapping>,
    /// `linux.gidMappings` (only with a user namespace).
    pub gid_mappings: Vec<IdMapping>,
    /// `linux.devices`.
    pub devices: Vec<DevicePlan>,
    /// `linux.maskedPaths`, absolute container paths.
    pub masked_paths: Vec<PathBuf>,
    /// `linux.readonlyPaths`, absolute container paths.
    pub readonly_paths: Vec<PathBuf>,
    /// `linux.rootfsPropagation`; `None` means runc's default (rslave mount namespace,
    /// private parent of the rootfs).
    pub rootfs_propagation: Option<Propagation>,
    /// `linux.sysctl`, key (dotted or slashed, as given) to value.
    pub sysctl: BTreeMap<String, String>,
    /// `linux.cgroupsPath`, as written.
    pub cgroups_path: Option<String>,
    /// `linux.resources`, kept typed for the cgroup crate.
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// `linux.seccomp`, kept typed for the seccomp crate.
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    /// `hooks`.
    pub hooks: Hooks,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `linux.personality`: the `personality(2)` persona (domain and flags).
    #[serde(default)]
    pub personality: Option<u64>,
    /// `linux.timeOffsets`, for the new time namespace.
    #[serde(default)]
    pub time_offsets: Vec<TimeOffset>,
    /// `linux.memoryPolicy`.
    #[serde(default)]
    pub memory_policy: Option<MemoryPolicyPlan>,
    /// `linux.netDevices`: host interface name → name in the container.
    #[serde(default)]
    pub net_devices: BTreeMap<String, String>,
}

/// `PER_LINUX` and `PER_LINUX32` of `linux/personality.h`.
pub const PER_LINUX: u64 = 0x0000;
pub const PER_LINUX32: u64 = 0x0008;

/// One `linux.timeOffsets` entry, as written to `/proc/PID/timens_offsets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOffset {
    /// `CLOCK_MONOTONIC` or `CLOCK_BOOTTIME`.
    pub clock: TimeClock,
    pub secs: i64,
    pub nanosecs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeClock {
    Monotonic,
    Boottime,
}

impl TimeClock {
    /// The name in `/proc/PID/timens_offsets` (and the key in config.json).
    pub fn name(self) -> &'static str {
        match self {
            TimeClock::Monotonic => "monotonic",
            TimeClock::Boottime => "boottime",
        }
    }
}

/// `linux.memoryPolicy`, as `set_mempolicy(2)` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPolicyPlan {
    /// `MPOL_*` mode number.
    pub mode: i32,
    /// `MPOL_F_*` flags, ORed.
    pub flags: i32,
    /// Node numbers of the nodemask.
    pub nodes: Vec<u32>,
}

/// `MPOL_*` modes and flags of `linux/mempolicy.h`.
pub const MPOL_DEFAULT: i32 = 0;
pub const MPOL_PREFERRED: i32 = 1;
pub const MPOL_BIND: i32 = 2;
pub const MPOL_INTERLEAVE: i32 = 3;
pub const MPOL_LOCAL: i32 = 4;
pub const MPOL_PREFERRED_MANY: i32 = 5;
pub const MPOL_WEIGHTED_INTERLEAVE: i32 = 6;
pub const MPOL_F_NUMA_BALANCING: i32 = 1 << 13;
pub const MPOL_F_RELATIVE_NODES: i32 = 1 << 14;
pub const MPOL_F_STATIC_NODES: i32 = 1 << 15;

impl Plan {
    /// The namespace entry of `kind`, if the config lists it.
    pub fn namespace(&self, kind: NamespaceKind) -> Option<&NamespacePlan> {
        self.namespaces.iter().find(|n| n.kind == kind)
    }

    /// Whether the config asks for a new (not joined) namespace of `kind`.
    pub fn creates_namespace(&self, kind: NamespaceKind) -> bool {
        self.namespace(kind).is_some_and(|n| n.path.is_none())
    }
}

/// One `linux.namespaces` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespacePlan {
    pub kind: NamespaceKind,
    /// Join this namespace instead of creating one.
    pub path: Option<PathBuf>,
}

/// The namespace types of config-linux.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NamespaceKind {
    User,
    Pid,
    Network,
    Mount,
    Ipc,
    Uts,
    Cgroup,
    Time,
}

impl NamespaceKind {
    /// Every kind, in the order namespaces must be joined (user first).
    pub const ALL: [NamespaceKind; 8] = [
        NamespaceKind::User,
        NamespaceKind::Pid,
        NamespaceKind::Network,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::Cgroup,
        NamespaceKind::Time,
        NamespaceKind::Mount,
    ];

    /// The `CLONE_NEW*` flag of this kind.
    pub fn clone_flag(self) -> u64 {
        (match self {
            NamespaceKind::User => libc::CLONE_NEWUSER,
            NamespaceKind::Pid => libc::CLONE_NEWPID,
            NamespaceKind::Network => libc::CLONE_NEWNET,
            NamespaceKind::Mount => libc::CLONE_NEWNS,
            NamespaceKind::Ipc => libc::CLONE_NEWIPC,
            NamespaceKind::Uts => libc::CLONE_NEWUTS,
            NamespaceKind::Cgroup => libc::CLONE_NEWCGROUP,
            NamespaceKind::Time => libc::CLONE_NEWTIME,
        }) as u32 as u64
    }

    /// The file name under `/proc/PID/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::User => "user",
            NamespaceKind::Pid => "pid",
            NamespaceKind::Network => "net",
            NamespaceKind::Mount => "mnt",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Cgroup => "cgroup",
            NamespaceKind::Time => "time",
        }
    }
}

/// One line of a uid or gid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// Mount propagation of a mount (or of the rootfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Propagation {
    pub kind: PropagationKind,
    /// The `r`-prefixed variant: applies to the whole subtree.
    pub recursive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropagationKind {
    Private,
    Shared,
    Slave,
    Unbindable,
}

impl PropagationKind {
    /// The `MS_*` flag (as used by mount(2) and `mount_setattr`'s `propagation`).
    // `c_ulong` is u32 on 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    pub fn ms_flag(self) -> u64 {
        (match self {
            PropagationKind::Private => libc::MS_PRIVATE,
            PropagationKind::Shared => libc::MS_SHARED,
            PropagationKind::Slave => libc::MS_SLAVE,
            PropagationKind::Unbindable => libc::MS_UNBINDABLE,
        }) as u64
    }
}

/// One `mounts` entry, translated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPlan {
    /// Absolute path inside the container.
    pub destination: PathBuf,
    pub kind: MountKind,
    /// `MOUNT_ATTR_*` bits to set on the new mount (ro, nosuid, nodev, noexec, atime modes,
    /// nosymfollow).
    pub attr_set: u64,
    /// `MOUNT_ATTR_*` bits to clear (rw, suid, dev, exec, atime, …).
    pub attr_clear: u64,
    /// Recursive variants (`rro`, `rnosuid`, …): applied to the whole subtree.
    pub rec_attr_set: u64,
    pub rec_attr_clear: u64,
    /// Propagation option, if any was given.
    pub propagation: Option<Propagation>,
    /// Filesystem options, one per element (`mode=755`, `newinstance`), as passed to fsconfig
    /// or joined with commas for mount(2).
    pub data: Vec<String>,
    /// `uidMappings`/`gidMappings` of an idmapped mount.
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
    /// `idmap` or `ridmap` was given (ridmap: recursive).
    pub idmap: Option<bool>,
    /// `remount`: the entry changes the attributes (and filesystem options) of the mount
    /// already at `destination` instead of mounting something new there.
    #[serde(default)]
    pub remount: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountKind {
    /// `bind` or `rbind` (recursive). The source is a host path, absolute (relative sources
    /// are resolved against the bundle by the interpreter).
    Bind { source: PathBuf, recursive: bool },
    /// A new filesystem instance of `fstype` (proc, sysfs, tmpfs, devpts, mqueue, cgroup, …).
    Filesystem { fstype: String, source: String },
}

/// One `linux.devices` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePlan {
    /// Absolute path inside the container.
    pub path: PathBuf,
    pub kind: DeviceKind,
    pub major: i64,
    pub minor: i64,
    /// Permission bits (default 0o666 as runc).
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceKind {
    Char,
    Block,
    Fifo,
}

impl DeviceKind {
    /// The `S_IF*` bits for mknod.
    pub fn mode_bits(self) -> u32 {
        match self {
            DeviceKind::Char => libc::S_IFCHR,
            DeviceKind::Block => libc::S_IFBLK,
            DeviceKind::Fifo => libc::S_IFIFO,
        }
    }
}

/// `process`, translated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessPlan {
    pub terminal: bool,
    /// `consoleSize` (height, width).
    pub console_size: Option<(u16, u16)>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Absolute path inside the container.
    pub cwd: PathBuf,
    pub user: UserPlan,
    /// `capabilities`; `None` when absent (the process then keeps none, as runc).
    pub capabilities: Option<CapabilitiesPlan>,
    pub rlimits: Vec<RlimitPlan>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// `ioPriority`, as the `ioprio_set(2)` value (class << 13 | level).
    #[serde(default)]
    pub io_priority: Option<u32>,
    /// `scheduler`, as `sched_setattr(2)` takes it.
    #[serde(default)]
    pub scheduler: Option<SchedulerPlan>,
    /// `execCPUAffinity`: CPU numbers; `None` (or an empty list in the config) leaves the
    /// affinity alone.
    #[serde(default)]
    pub cpu_affinity_initial: Option<Vec<u32>>,
    #[serde(default)]
    pub cpu_affinity_final: Option<Vec<u32>>,
}

/// `process.scheduler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerPlan {
    /// `SCHED_*` policy number.
    pub policy: u32,
    /// `SCHED_FLAG_*` bits, ORed.
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// `IOPRIO_CLASS_*` of `linux/ioprio.h`, and the shift of the class in an ioprio value.
pub const IOPRIO_CLASS_RT: u32 = 1;
pub const IOPRIO_CLASS_BE: u32 = 2;
pub const IOPRIO_CLASS_IDLE: u32 = 3;
pub const IOPRIO_CLASS_SHIFT: u32 = 13;

/// `process.user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPlan {
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Vec<u32>,
}

/// Capability sets as bit masks (bit N = capability number N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilitiesPlan {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

/// One `process.rlimits` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RlimitPlan {
    /// The `RLIMIT_*` number.
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// `hooks`, each list in config order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds; must be > 0 when given.
    pub timeout: Option<u32>,
}

/// `mount_setattr(2)` attribute bits (`linux/mount.h`).
pub const MOUNT_ATTR_RDONLY: u64 = 0x0000_0001;
pub const MOUNT_ATTR_NOSUID: u64 = 0x0000_0002;
pub const MOUNT_ATTR_NODEV: u64 = 0x0000_0004;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x0000_0008;
/// Mask of the atime mode; must be in `attr_clear` whenever an atime mode is set.
pub const MOUNT_ATTR__ATIME: u64 = 0x0000_0070;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0000_0000;
pub const MOUNT_ATTR_NOATIME: u64 = 0x0000_0010;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x0000_0020;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x0000_0080;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
