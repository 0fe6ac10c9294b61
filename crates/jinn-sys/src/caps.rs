//! Capability sets (capget/capset, the bounding and ambient sets) and the other
//! per-process prctl switches the init flips.

use nix::errno::Errno;

const PR_CAP_AMBIENT: libc::c_int = 47;
const PR_CAP_AMBIENT_RAISE: libc::c_ulong = 2;
const PR_CAP_AMBIENT_CLEAR_ALL: libc::c_ulong = 4;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three per-thread sets, as bit masks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// `capset(2)` on the calling thread.
pub fn set(sets: CapSets) -> nix::Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: sets.effective as u32,
            permitted: sets.permitted as u32,
            inheritable: sets.inheritable as u32,
        },
        CapData {
            effective: (sets.effective >> 32) as u32,
            permitted: (sets.permitted >> 32) as u32,
            inheritable: (sets.inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and a two-element data array of the v3 layout, both valid for the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    Errno::result(ret).map(drop)
}

fn prctl(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> nix::Result<libc::c_int> {
    // SAFETY: the prctl operations used here take integer arguments only.
    let ret = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    Errno::result(ret)
}

/// Drop every capability from the bounding set that is not in `keep`, up to `last_cap`.
pub fn limit_bounding(keep: u64, last_cap: u32) -> nix::Result<()> {
    for cap in 0..=last_cap.min(63) {
        if keep & (1 << cap) == 0 {
            prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0)?;
        }
    }
    Ok(())
}

/// Empty the ambient set, then raise each capability of `ambient`.
pub fn set_ambient(ambient: u64) -> nix::Result<()> {
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0)?;
    for cap in 0..64u64 {
        if ambient & (1 << cap) != 0 {
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap as libc::c_ulong)?;
        }
    }
    Ok(())
}

/// `PR_SET_KEEPCAPS`: keep permitted capabilities across a change to non-zero uids.
pub fn set_keepcaps(on: bool) -> nix::Result<()> {
    prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong, 0).map(drop)
}

/// `PR_SET_NO_NEW_PRIVS`.
pub fn set_no_new_privs() -> nix::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map(drop)
}

/// `PR_SET_DUMPABLE`.
pub fn set_dumpable(on: bool) -> nix::Result<()> {
    prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0).map(drop)
}

/// `PR_SET_PDEATHSIG`.
pub fn set_parent_death_signal(sig: i32) -> nix::Result<()> {
    prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0).map(drop)
}

/// `PR_SET_CHILD_SUBREAPER`.
pub fn set_child_subreaper() -> nix::Result<()> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0).map(drop)
}
