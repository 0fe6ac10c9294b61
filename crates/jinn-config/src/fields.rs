//! The runtime-spec 1.2/1.3 process and linux fields that map onto single system calls:
//! `process.ioPriority`, `process.scheduler`, `process.execCPUAffinity`,
//! `linux.personality`, `linux.timeOffsets`, `linux.memoryPolicy` and `linux.netDevices`.
//! Each function checks its field and returns its translated form; `validate` calls them
//! for the checks, `translate` for the values.

use std::collections::BTreeMap;

use oci_spec::runtime::{
    IOPriorityClass, LinuxMemoryPolicy, LinuxNetDevice, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, LinuxTimeOffset, MemoryPolicyFlagType,
    MemoryPolicyModeType, Process, Spec,
};

use crate::error::ConfigError;
use crate::plan::*;

/// `process.ioPriority` → the `ioprio_set` value.
pub(crate) fn io_priority(p: &Process) -> Result<Option<u32>, ConfigError> {
    let Some(io) = p.io_priority() else {
        return Ok(None);
    };
    let level = io.priority();
    if !(0..=7).contains(&level) {
        return Err(ConfigError::invalid(
            "process.ioPriority.priority",
            format!("{level} is out of range (0 to 7)"),
        ));
    }
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => IOPRIO_CLASS_RT,
        IOPriorityClass::IoprioClassBe => IOPRIO_CLASS_BE,
        IOPriorityClass::IoprioClassIdle => IOPRIO_CLASS_IDLE,
    };
    Ok(Some(class << IOPRIO_CLASS_SHIFT | level as u32))
}

/// The `SCHED_FLAG_*` name of config.md and its bit, for each flag oci-spec knows.
pub(crate) const SCHED_FLAGS: [(&str, LinuxSchedulerFlag, u64); 7] = [
    (
        "SCHED_FLAG_RESET_ON_FORK",
        LinuxSchedulerFlag::SchedResetOnFork,
        0x01,
    ),
    (
        "SCHED_FLAG_RECLAIM",
        LinuxSchedulerFlag::SchedFlagReclaim,
        0x02,
    ),
    (
        "SCHED_FLAG_DL_OVERRUN",
        LinuxSchedulerFlag::SchedFlagDLOverrun,
        0x04,
    ),
    (
        "SCHED_FLAG_KEEP_POLICY",
        LinuxSchedulerFlag::SchedFlagKeepPolicy,
        0x08,
    ),
    (
        "SCHED_FLAG_KEEP_PARAMS",
        LinuxSchedulerFlag::SchedFlagKeepParams,
        0x10,
    ),
    (
        "SCHED_FLAG_UTIL_CLAMP_MIN",
        LinuxSchedulerFlag::SchedFlagUtilClampMin,
        0x20,
    ),
    (
        "SCHED_FLAG_UTIL_CLAMP_MAX",
        LinuxSchedulerFlag::SchedFlagUtilClampMax,
        0x40,
    ),
];

/// `process.scheduler` → `sched_setattr` arguments. The rules are runc's: nice in
/// -20..=19, a priority only for SCHED_FIFO and SCHED_RR (and 1..=99 there, as the kernel
/// wants), runtime/deadline/period only for SCHED_DEADLINE.
pub(crate) fn scheduler(p: &Process) -> Result<Option<SchedulerPlan>, ConfigError> {
    let Some(s) = p.scheduler() else {
        return Ok(None);
    };
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => libc::SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => libc::SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => libc::SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => libc::SCHED_BATCH,
        LinuxSchedulerPolicy::SchedIdle => libc::SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => 6,
        LinuxSchedulerPolicy::SchedIso => {
            return Err(ConfigError::invalid(
                "process.scheduler.policy",
                "SCHED_ISO is reserved and not implemented by Linux",
            ))
        }
    } as u32;
    let realtime = matches!(
        s.policy(),
        LinuxSchedulerPolicy::SchedFifo | LinuxSchedulerPolicy::SchedRr
    );
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(ConfigError::invalid(
            "process.scheduler.nice",
            format!("{nice} is out of range (-20 to 19)"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    if realtime && !(1..=99).contains(&priority) {
        return Err(ConfigError::invalid(
            "process.scheduler.priority",
            format!("{priority} is out of range for SCHED_FIFO and SCHED_RR (1 to 99)"),
        ));
    }
    if !realtime && priority != 0 {
        return Err(ConfigError::invalid(
            "process.scheduler.priority",
            "can only be set for SCHED_FIFO or SCHED_RR",
        ));
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if *s.policy() != LinuxSchedulerPolicy::SchedDeadline
        && (runtime != 0 || deadline != 0 || period != 0)
    {
        return Err(ConfigError::invalid(
            "process.scheduler",
            "runtime, deadline and period can only be set for SCHED_DEADLINE",
        ));
    }
    if *s.policy() == LinuxSchedulerPolicy::SchedDeadline
        && !(runtime > 0 && runtime <= deadline && (period == 0 || deadline <= period))
    {
        return Err(ConfigError::invalid(
            "process.scheduler",
            "SCHED_DEADLINE needs 0 < runtime <= deadline <= period (period 0: the deadline)",
        ));
    }
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        let bit = SCHED_FLAGS
            .iter()
            .find(|(_, v, _)| v == f)
            .map(|(_, _, b)| *b)
            .unwrap_or(0);
        flags |= bit;
    }
    Ok(Some(SchedulerPlan {
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
    }))
}

/// Parses a CPU or node list (`0-3,7`); `None` for an empty string.
pub(crate) fn parse_list(field: &str, list: &str) -> Result<Option<Vec<u32>>, ConfigError> {
    if list.trim().is_empty() {
        return Ok(None);
    }
    let bad = |why: String| ConfigError::invalid(field, format!("{list:?}: {why}"));
    let mut out = Vec::new();
    for part in list.split(',') {
        let part = part.trim();
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| bad(format!("{s:?} is not a number")))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(bad(format!("{part:?} is a decreasing range")));
        }
        if hi >= 8192 {
            return Err(bad(format!("{hi} is too large")));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

/// The numbers in a sysfs list file (`/sys/devices/system/cpu/possible`); `None` when
/// it cannot be read (nothing is checked then).
fn host_list(path: &str) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_list(path, text.trim()).ok().flatten()
}

fn check_exist(field: &str, items: &[u32], what: &str, host_file: &str) -> Result<(), ConfigError> {
    let Some(host) = host_list(host_file) else {
        return Ok(());
    };
    match items.iter().find(|i| !host.contains(i)) {
        Some(i) => Err(ConfigError::invalid(
            field,
            format!("{what} {i} does not exist on this host ({host_file}: {host:?})"),
        )),
        None => Ok(()),
    }
}

/// `process.execCPUAffinity` → (initial, final) CPU lists.
pub(crate) type CpuLists = (Option<Vec<u32>>, Option<Vec<u32>>);
pub(crate) fn exec_cpu_affinity(p: &Process) -> Result<CpuLists, ConfigError> {
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok((None, None));
    };
    let mut lists = [None, None];
    for (slot, (name, value)) in lists
        .iter_mut()
        .zip([("initial", a.initial()), ("final", a.cpu_affinity_final())])
    {
        let field = format!("process.execCPUAffinity.{name}");
        if let Some(v) = value {
            let cpus = parse_list(&field, v)?;
            if let Some(c) = &cpus {
                check_exist(&field, c, "CPU", "/sys/devices/system/cpu/possible")?;
            }
            *slot = cpus;
        }
    }
    let [initial, fin] = lists;
    Ok((initial, fin))
}

/// `linux.personality` → the persona. config-linux.md supports no flags yet.
pub(crate) fn personality(p: Option<&LinuxPersonality>) -> Result<Option<u64>, ConfigError> {
    let Some(p) = p else {
        return Ok(None);
    };
    if let Some(flag) = p.flags().iter().flatten().next() {
        return Err(ConfigError::invalid(
            "linux.personality.flags",
            format!("{flag:?} is not supported (runtime-spec defines no personality flags)"),
        ));
    }
    Ok(Some(match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    }))
}

/// `linux.timeOffsets` → offsets; needs a new time namespace.
pub(crate) fn time_offsets(
    spec: &Spec,
    offsets: Option<&std::collections::HashMap<String, LinuxTimeOffset>>,
) -> Result<Vec<TimeOffset>, ConfigError> {
    let Some(offsets) = offsets else {
        return Ok(Vec::new());
    };
    let new_timens = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Time && n.path().is_none());
    if !offsets.is_empty() && !new_timens {
        return Err(ConfigError::invalid(
            "linux.timeOffsets",
            "needs a new time namespace (linux.namespaces has no \"time\" entry without a path)",
        ));
    }
    let mut out = Vec::new();
    let mut keys: Vec<_> = offsets.keys().collect();
    keys.sort();
    for key in keys {
        let o = &offsets[key];
        let clock = match key.as_str() {
            "monotonic" => TimeClock::Monotonic,
            "boottime" => TimeClock::Boottime,
            other => {
                return Err(ConfigError::invalid(
                    format!("linux.timeOffsets.{other}"),
                    "is not a clock of a time namespace (monotonic or boottime)",
                ))
            }
        };
        let nanosecs = o.nanosecs().unwrap_or(0);
        if nanosecs >= 1_000_000_000 {
            return Err(ConfigError::invalid(
                format!("linux.timeOffsets.{key}.nanosecs"),
                format!("{nanosecs} is not less than 1000000000"),
            ));
        }
        out.push(TimeOffset {
            clock,
            secs: o.secs().unwrap_or(0),
            nanosecs,
        });
    }
    Ok(out)
}

/// `linux.memoryPolicy` → `set_mempolicy` arguments, with the rules of set_mempolicy(2):
/// MPOL_DEFAULT and MPOL_LOCAL take no nodes and no flags, the others but MPOL_PREFERRED
/// need nodes; the static and relative flags exclude each other. What else the kernel
/// refuses (MPOL_F_NUMA_BALANCING with a mode it does not support it for) fails `create`
/// with set_mempolicy's error.
pub(crate) fn memory_policy(
    m: Option<&LinuxMemoryPolicy>,
) -> Result<Option<MemoryPolicyPlan>, ConfigError> {
    let Some(m) = m else {
        return Ok(None);
    };
    let mode = match m.mode() {
        MemoryPolicyModeType::MpolDefault => MPOL_DEFAULT,
        MemoryPolicyModeType::MpolBind => MPOL_BIND,
        MemoryPolicyModeType::MpolInterleave => MPOL_INTERLEAVE,
        MemoryPolicyModeType::MpolWeightedInterleave => MPOL_WEIGHTED_INTERLEAVE,
        MemoryPolicyModeType::MpolPreferred => MPOL_PREFERRED,
        MemoryPolicyModeType::MpolPreferredMany => MPOL_PREFERRED_MANY,
        MemoryPolicyModeType::MpolLocal => MPOL_LOCAL,
    };
    let nodes = match m.nodes() {
        Some(n) => parse_list("linux.memoryPolicy.nodes", n)?.unwrap_or_default(),
        None => Vec::new(),
    };
    check_exist(
        "linux.memoryPolicy.nodes",
        &nodes,
        "NUMA node",
        "/sys/devices/system/node/possible",
    )?;
    let mut flags = 0;
    for f in m.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => MPOL_F_NUMA_BALANCING,
            MemoryPolicyFlagType::MpolFRelativeNodes => MPOL_F_RELATIVE_NODES,
            MemoryPolicyFlagType::MpolFStaticNodes => MPOL_F_STATIC_NODES,
        };
    }
    let mode_name = m.mode().to_string();
    match mode {
        MPOL_DEFAULT | MPOL_LOCAL if !nodes.is_empty() => {
            return Err(ConfigError::invalid(
                "linux.memoryPolicy.nodes",
                format!("must be empty for {mode_name}"),
            ))
        }
        MPOL_DEFAULT | MPOL_LOCAL if flags != 0 => {
            return Err(ConfigError::invalid(
                "linux.memoryPolicy.flags",
                format!("must be empty for {mode_name}"),
            ))
        }
        MPOL_DEFAULT | MPOL_LOCAL | MPOL_PREFERRED => {}
        _ if nodes.is_empty() => {
            return Err(ConfigError::invalid(
                "linux.memoryPolicy.nodes",
                format!("required for {mode_name}"),
            ))
        }
        _ => {}
    }
    if flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0 {
        return Err(ConfigError::invalid(
            "linux.memoryPolicy.flags",
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
        ));
    }
    Ok(Some(MemoryPolicyPlan { mode, flags, nodes }))
}

/// `linux.netDevices` → host name → container name (the host name when `name` is absent).
/// Names follow the kernel's rules for interface names (dev_valid_name); moving a device
/// needs a new network namespace.
pub(crate) fn net_devices(
    spec: &Spec,
    devices: Option<&std::collections::HashMap<String, LinuxNetDevice>>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    let Some(devices) = devices.filter(|d| !d.is_empty()) else {
        return Ok(out);
    };
    let new_netns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network && n.path().is_none());
    if !new_netns {
        return Err(ConfigError::invalid(
            "linux.netDevices",
            "needs a new network namespace (linux.namespaces has no \"network\" entry without a path)",
        ));
    }
    let valid = |n: &str| {
        !n.is_empty()
            && n.len() < 16
            && n != "."
            && n != ".."
            && !n
                .bytes()
                .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    };
    let mut names = std::collections::HashSet::new();
    let mut sorted: Vec<_> = devices.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (host, dev) in sorted {
        if !valid(host) {
            return Err(ConfigError::invalid(
                "linux.netDevices",
                format!("{host:?} is not a valid interface name"),
            ));
        }
        let name = dev
            .name()
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| host.clone());
        if !valid(&name) {
            return Err(ConfigError::invalid(
                format!("linux.netDevices.{host}.name"),
                format!("{name:?} is not a valid interface name"),
            ));
        }
        if !name.contains("%d") && !names.insert(name.clone()) {
            return Err(ConfigError::invalid(
                format!("linux.netDevices.{host}.name"),
                format!("{name:?} is given to two devices"),
            ));
        }
        out.insert(host.clone(), name);
    }
    Ok(out)
}
