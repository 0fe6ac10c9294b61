//! The architectures a filter can name, the ones this host's filters cover, and their
//! syscall tables.

use oci_spec::runtime::Arch;

use crate::tables;

/// `AUDIT_ARCH_X86_64`.
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`.
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`: x32 processes run as `AUDIT_ARCH_X86_64` with this bit set in
/// the syscall number.
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One ABI of this host: its audit arch and the part of the syscall number space
/// that is its own (`lo..hi`; x86_64 and x32 share one audit arch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Abi {
    pub name: &'static str,
    pub audit: u32,
    pub lo: u64,
    pub hi: u64,
    pub table: &'static [(&'static str, u32)],
}

pub(crate) const X86_64: Abi = Abi {
    name: "SCMP_ARCH_X86_64",
    audit: AUDIT_ARCH_X86_64,
    lo: 0,
    hi: X32_SYSCALL_BIT as u64,
    table: tables::X86_64,
};
pub(crate) const X32: Abi = Abi {
    name: "SCMP_ARCH_X32",
    audit: AUDIT_ARCH_X86_64,
    lo: X32_SYSCALL_BIT as u64,
    hi: 1 << 32,
    table: tables::X32,
};
pub(crate) const X86: Abi = Abi {
    name: "SCMP_ARCH_X86",
    audit: AUDIT_ARCH_I386,
    lo: 0,
    hi: 1 << 32,
    table: tables::I386,
};

impl Abi {
    pub(crate) fn lookup(&self, name: &str) -> Option<u32> {
        self.table
            .binary_search_by(|(n, _)| n.cmp(&name))
            .ok()
            .map(|i| self.table[i].1)
    }
}

/// The host's native ABI and the compat ABIs a filter may add, or `None` on a host
/// this crate has no syscall tables for.
pub(crate) fn host() -> Option<(Abi, &'static [Abi])> {
    if cfg!(target_arch = "x86_64") {
        Some((X86_64, &[X86, X32]))
    } else {
        None
    }
}

/// The ABI of this host an OCI architecture names: `Ok(None)` for an architecture
/// that cannot run here (accepted and ignored, as libseccomp filters for foreign
/// architectures never match).
pub(crate) fn abi_of(arch: Arch, native: Abi, compat: &[Abi]) -> Option<Abi> {
    let name = match arch {
        Arch::ScmpArchNative => return Some(native),
        Arch::ScmpArchX86_64 => "SCMP_ARCH_X86_64",
        Arch::ScmpArchX86 => "SCMP_ARCH_X86",
        Arch::ScmpArchX32 => "SCMP_ARCH_X32",
        _ => return None,
    };
    std::iter::once(native)
        .chain(compat.iter().copied())
        .find(|a| a.name == name)
}
