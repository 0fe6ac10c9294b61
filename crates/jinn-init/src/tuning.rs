//! Per-process kernel settings of the config that are one system call each:
//! `process.ioPriority`, `process.scheduler`, `process.execCPUAffinity`,
//! `linux.personality` and `linux.memoryPolicy`.

use jinn_config::{MemoryPolicyPlan, ProcessPlan};

use crate::error::{InitError, Step};

/// `execCPUAffinity.initial`: the first thing a cloned init or exec process does.
pub(crate) fn initial_affinity(p: &ProcessPlan) -> Result<(), InitError> {
    match &p.cpu_affinity_initial {
        Some(cpus) => jinn_sys::sched::set_cpu_affinity(cpus)
            .step("sched_setaffinity (process.execCPUAffinity.initial)"),
        None => Ok(()),
    }
}

/// `execCPUAffinity.final`: right before exec, once the process is in its cgroup.
pub(crate) fn final_affinity(p: &ProcessPlan) -> Result<(), InitError> {
    match &p.cpu_affinity_final {
        Some(cpus) => jinn_sys::sched::set_cpu_affinity(cpus)
            .step("sched_setaffinity (process.execCPUAffinity.final)"),
        None => Ok(()),
    }
}

/// `ioPriority` and `scheduler`, while the process still has jinn's privileges (a real-time
/// class or a lower nice value needs CAP_SYS_NICE or CAP_SYS_ADMIN).
pub(crate) fn priorities(p: &ProcessPlan) -> Result<(), InitError> {
    if let Some(prio) = p.io_priority {
        jinn_sys::sched::set_io_priority(0, prio).step("ioprio_set (process.ioPriority)")?;
    }
    if let Some(s) = &p.scheduler {
        let attr = jinn_sys::sched::SchedAttr {
            policy: s.policy,
            flags: s.flags,
            nice: s.nice,
            priority: s.priority,
            runtime: s.runtime,
            deadline: s.deadline,
            period: s.period,
            ..Default::default()
        };
        jinn_sys::sched::set_sched_attr(0, &attr).step("sched_setattr (process.scheduler)")?;
    }
    Ok(())
}

/// `linux.personality`.
pub(crate) fn personality(persona: Option<u64>) -> Result<(), InitError> {
    match persona {
        Some(p) => jinn_sys::sched::set_personality(p).step("personality (linux.personality)"),
        None => Ok(()),
    }
}

/// `linux.memoryPolicy`.
pub(crate) fn memory_policy(m: Option<&MemoryPolicyPlan>) -> Result<(), InitError> {
    match m {
        Some(m) => jinn_sys::sched::set_mempolicy(m.mode, m.flags, &m.nodes)
            .step("set_mempolicy (linux.memoryPolicy)"),
        None => Ok(()),
    }
}
