//! Per-process scheduling knobs: personality, I/O priority, `sched_setattr`, CPU
//! affinity and the NUMA memory policy.

use nix::errno::Errno;

/// `personality(persona)`.
pub fn set_personality(persona: u64) -> nix::Result<()> {
    // SAFETY: plain integer argument; the call only changes this process's personality.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    Errno::result(ret).map(drop)
}

/// `IOPRIO_WHO_PROCESS` of `linux/ioprio.h`.
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// `ioprio_set(IOPRIO_WHO_PROCESS, pid, ioprio)`; pid 0 is the caller.
pub fn set_io_priority(pid: i32, ioprio: u32) -> nix::Result<()> {
    // SAFETY: plain integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, pid, ioprio) };
    Errno::result(ret).map(drop)
}

/// `struct sched_attr` of `linux/sched/types.h` (SCHED_ATTR_SIZE_VER1, 56 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

/// `sched_setattr(pid, attr, 0)`; pid 0 is the caller. `attr.size` is filled in.
pub fn set_sched_attr(pid: i32, attr: &SchedAttr) -> nix::Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `a` is a valid, fully initialised sched_attr whose size field says how
    // much of it the kernel may read; it lives across the call.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, pid, &a as *const SchedAttr, 0) };
    Errno::result(ret).map(drop)
}

/// `sched_setaffinity(0, …)` to the CPUs in `cpus` (numbers, any order).
pub fn set_cpu_affinity(cpus: &[u32]) -> nix::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for &cpu in cpus {
        set.set(cpu as usize)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}

/// `set_mempolicy(mode | flags, nodemask, maxnode)` with the nodes given by number.
pub fn set_mempolicy(mode: i32, flags: i32, nodes: &[u32]) -> nix::Result<()> {
    const BITS: usize = libc::c_ulong::BITS as usize;
    let max = nodes.iter().map(|&n| n as usize + 1).max().unwrap_or(0);
    let mut mask = vec![0 as libc::c_ulong; max.div_ceil(BITS).max(1)];
    for &n in nodes {
        mask[n as usize / BITS] |= 1 << (n as usize % BITS);
    }
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits (a historic off-by-one): pass one more.
        (mask.as_ptr(), mask.len() * BITS + 1)
    };
    // SAFETY: `mask` holds `maxnode - 1` readable bits (or the pointer is null with
    // maxnode 0) and lives across the call.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode | flags, ptr, maxnode) };
    Errno::result(ret).map(drop)
}
