//! `seccomp(2)`: installing a filter, and probing what this kernel supports.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::compile::{
    FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW, FLAG_TSYNC, FLAG_TSYNC_ESRCH,
    FLAG_WAIT_KILLABLE_RECV,
};
use crate::{arch, Filter, SeccompError};

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;

pub(crate) const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

pub(crate) const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The spec's filter flags and their seccomp(2) bits.
pub(crate) const FLAGS: &[(&str, u32)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", FLAG_LOG),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", FLAG_SPEC_ALLOW),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        FLAG_WAIT_KILLABLE_RECV,
    ),
];

/// Every architecture name of the spec (those of another host are accepted and
/// never match).
pub(crate) const ALL_ARCHS: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

fn seccomp_set_filter(flags: u32, prog: *const libc::sock_fprog) -> libc::c_long {
    // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads `prog` (a valid sock_fprog whose
    // `filter` points to `len` instructions, or null for a probe, which the kernel
    // answers with EFAULT) and touches no memory of ours otherwise.
    unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog) }
}

pub(crate) fn install(f: &Filter) -> Result<Option<OwnedFd>, SeccompError> {
    let mut flags = f.flags;
    if f.notify {
        flags |= FLAG_NEW_LISTENER;
        // TSYNC and NEW_LISTENER together need TSYNC_ESRCH (a failed sync is then
        // reported as ESRCH instead of a thread id, which would look like an fd).
        if flags & FLAG_TSYNC != 0 {
            flags |= FLAG_TSYNC_ESRCH;
        }
    } else {
        // Only meaningful (and only accepted) with a listener.
        flags &= !FLAG_WAIT_KILLABLE_RECV;
    }
    let len = u16::try_from(f.program.len()).map_err(|_| SeccompError::TooLarge {
        len: f.program.len(),
    })?;
    let prog = libc::sock_fprog {
        len,
        filter: f.program.as_ptr() as *mut libc::sock_filter,
    };
    let ret = seccomp_set_filter(flags, &prog);
    if ret < 0 {
        let err = std::io::Error::last_os_error();
        let why = match err.raw_os_error() {
            Some(libc::EACCES) => "needs no_new_privs or CAP_SYS_ADMIN".to_string(),
            Some(libc::EINVAL) => format!(
                "the kernel refused the program or flags {flags:#x} ({})",
                crate::notify::lower(&err)
            ),
            _ => crate::notify::lower(&err),
        };
        return Err(SeccompError::Install(why));
    }
    if f.notify {
        // SAFETY: with NEW_LISTENER, seccomp returned a new fd that nothing else owns.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
    } else if ret > 0 {
        // TSYNC could not synchronize thread `ret`; the filter is not installed.
        Err(SeccompError::Install(format!(
            "SECCOMP_FILTER_FLAG_TSYNC: thread {ret} could not be synchronized"
        )))
    } else {
        Ok(None)
    }
}

/// Whether this kernel accepts a flag: seccomp(2) with a null program answers
/// EFAULT once the flags pass (runc's probe), EINVAL when they do not.
fn flag_supported(bit: u32) -> bool {
    let extra = if bit == FLAG_WAIT_KILLABLE_RECV {
        FLAG_NEW_LISTENER
    } else {
        0
    };
    seccomp_set_filter(bit | extra, std::ptr::null()) < 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// The `linux.seccomp` object of `jinn features`.
pub fn features() -> serde_json::Value {
    let Some((native, compat)) = arch::host() else {
        return serde_json::json!({ "enabled": false });
    };
    let archs: Vec<&str> = std::iter::once(native.name)
        .chain(compat.iter().map(|a| a.name))
        .collect();
    let mut archs = archs;
    archs.sort_unstable();
    let known: Vec<&str> = FLAGS.iter().map(|(name, _)| *name).collect();
    let supported: Vec<&str> = FLAGS
        .iter()
        .filter(|(_, bit)| flag_supported(*bit))
        .map(|(name, _)| *name)
        .collect();
    serde_json::json!({
        "enabled": true,
        "actions": ACTIONS,
        "operators": OPERATORS,
        "archs": archs,
        "knownFlags": known,
        "supportedFlags": supported,
    })
}
