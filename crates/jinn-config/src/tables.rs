//! Name tables: capabilities and rlimits.

/// Capability names and numbers (`linux/capability.h`), `CAP_CHOWN` = 0 to
/// `CAP_CHECKPOINT_RESTORE` = 40.
pub const CAPABILITIES: [(&str, u32); 41] = [
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_DAC_READ_SEARCH", 2),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_LINUX_IMMUTABLE", 9),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_BROADCAST", 11),
    ("CAP_NET_ADMIN", 12),
    ("CAP_NET_RAW", 13),
    ("CAP_IPC_LOCK", 14),
    ("CAP_IPC_OWNER", 15),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_PACCT", 20),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_TIME", 25),
    ("CAP_SYS_TTY_CONFIG", 26),
    ("CAP_MKNOD", 27),
    ("CAP_LEASE", 28),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_AUDIT_CONTROL", 30),
    ("CAP_SETFCAP", 31),
    ("CAP_MAC_OVERRIDE", 32),
    ("CAP_MAC_ADMIN", 33),
    ("CAP_SYSLOG", 34),
    ("CAP_WAKE_ALARM", 35),
    ("CAP_BLOCK_SUSPEND", 36),
    ("CAP_AUDIT_READ", 37),
    ("CAP_PERFMON", 38),
    ("CAP_BPF", 39),
    ("CAP_CHECKPOINT_RESTORE", 40),
];

/// The number of a capability name (`CAP_SYS_ADMIN` → 21), `None` if unknown.
pub fn capability_number(name: &str) -> Option<u32> {
    CAPABILITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, number)| number)
}

/// Rlimit names of config.md and their `RLIMIT_*` numbers.
// The casts matter on musl, where the constants are `c_int`.
#[allow(clippy::unnecessary_cast)]
pub const RLIMITS: [(&str, u32); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU as u32),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as u32),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as u32),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as u32),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as u32),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as u32),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as u32),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as u32),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as u32),
    ("RLIMIT_AS", libc::RLIMIT_AS as u32),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as u32),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as u32),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as u32),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as u32),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as u32),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as u32),
];

/// The `RLIMIT_*` number of an rlimit name, `None` if unknown.
pub fn rlimit_number(name: &str) -> Option<u32> {
    RLIMITS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, number)| number)
}
