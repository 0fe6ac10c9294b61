//! cgroup v2 device control: `linux.resources.devices` compiled into an eBPF program of
//! type `BPF_PROG_TYPE_CGROUP_DEVICE` and attached to the container's cgroup, as runc
//! does. The kernel runs it on every open and mknod of a device node; it returns 1 to
//! allow, 0 to deny.
//!
//! Rules are checked last to first and the first match decides (so a later rule wins, as
//! with the v1 devices.allow/deny files written in order); nothing matched is denied.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// One device rule, resolved: `kind` None matches every type ('a').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// `BPF_DEVCG_DEV_BLOCK` (1) or `BPF_DEVCG_DEV_CHAR` (2); None = any.
    pub kind: Option<u32>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `BPF_DEVCG_ACC_MKNOD` (1) | `READ` (2) | `WRITE` (4).
    pub access: u32,
}

pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8, // dst in the low nibble, src in the high nibble
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// The program for `rules`.
pub fn compile(rules: &[DeviceRule]) -> Vec<Insn> {
    // r1 = struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),        // r2 = ctx->access_type
        insn(MOV32_X, 3, 2, 0, 0),      // r3 = r2
        insn(AND32_K, 3, 0, 0, 0xffff), // r3 &= 0xffff     (device type)
        insn(MOV32_X, 4, 2, 0, 0),      // r4 = r2
        insn(RSH32_K, 4, 0, 0, 16),     // r4 >>= 16         (access wanted)
        insn(LDX_W, 5, 1, 4, 0),        // r5 = ctx->major
        insn(LDX_W, 6, 1, 8, 0),        // r6 = ctx->minor
    ];
    for rule in rules.iter().rev() {
        let block = rule_block(rule);
        let matches_all = block.len() == 2; // no test: only `r0 = allow; exit`
        prog.extend(block);
        if matches_all {
            // Everything before it in the list is overridden, and the verifier refuses
            // unreachable instructions.
            return prog;
        }
    }
    prog.push(insn(MOV64_K, 0, 0, 0, 0)); // nothing matched: deny
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

/// `if rule matches { return rule.allow }`, falling through to the next block otherwise.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    // Each test is a list of instructions whose last one jumps past the block on mismatch.
    let mut tests: Vec<Vec<Insn>> = Vec::new();
    if let Some(kind) = rule.kind {
        tests.push(vec![insn(JNE_K, 3, 0, 0, kind as i32)]);
    }
    if rule.access & ACC_ALL != ACC_ALL {
        // Wanted access must be a subset of the rule's: (r4 & ~access) == 0.
        tests.push(vec![
            insn(MOV32_X, 7, 4, 0, 0),
            insn(AND32_K, 7, 0, 0, !(rule.access as i32)),
            insn(JNE_K, 7, 0, 0, 0),
        ]);
    }
    if let Some(major) = rule.major {
        tests.push(vec![insn(JNE_K, 5, 0, 0, major as i32)]);
    }
    if let Some(minor) = rule.minor {
        tests.push(vec![insn(JNE_K, 6, 0, 0, minor as i32)]);
    }
    let tail = [
        insn(MOV64_K, 0, 0, 0, rule.allow as i32),
        insn(EXIT, 0, 0, 0, 0),
    ];
    let len: usize = tests.iter().map(Vec::len).sum::<usize>() + tail.len();
    let mut block = Vec::with_capacity(len);
    for t in tests {
        for i in t {
            block.push(i);
        }
        // Fix the jump of this test: skip the rest of the block.
        let at = block.len() - 1;
        block[at].off = (len - at - 1) as i16;
    }
    block.extend(tail);
    block
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `union bpf_attr` as BPF_PROG_LOAD reads it (up to expected_attach_type).
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` as BPF_PROG_ATTACH reads it.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// Load `prog` into the kernel; the verifier's log is returned on failure.
pub fn load(prog: &[Insn]) -> Result<OwnedFd, String> {
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"jinn_device");
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: BPF_CGROUP_DEVICE,
    };
    // SAFETY: attr is a valid bpf_attr prefix of the size passed; the instruction,
    // license and log buffers it points to outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>(),
        )
    };
    match Errno::result(ret) {
        // SAFETY: BPF_PROG_LOAD returned a new descriptor that nothing else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(0);
            let verifier = String::from_utf8_lossy(&log[..end]);
            Err(if verifier.is_empty() {
                e.desc().to_lowercase()
            } else {
                format!("{}: {}", e.desc().to_lowercase(), verifier.trim())
            })
        }
    }
}

/// Attach a loaded device program to the cgroup directory `cgroup`.
pub fn attach(prog: BorrowedFd<'_>, cgroup: BorrowedFd<'_>) -> nix::Result<()> {
    let attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is a valid bpf_attr prefix of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const ProgAttachAttr,
            std::mem::size_of::<ProgAttachAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run the program on one access, by interpreting it (the subset of eBPF it uses).
    fn eval(prog: &[Insn], kind: u32, major: u32, minor: u32, access: u32) -> i64 {
        let mut r = [0i64; 11];
        let ctx = [(access << 16) | kind, major, minor];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = ctx[(i.off / 4) as usize] as i64,
                MOV32_X => r[dst] = (r[src] as u32) as i64,
                AND32_K => r[dst] = ((r[dst] as u32) & (i.imm as u32)) as i64,
                RSH32_K => r[dst] = ((r[dst] as u32) >> i.imm) as i64,
                MOV64_K => r[dst] = i.imm as i64,
                JNE_K => {
                    if r[dst] != (i.imm as u32) as i64 {
                        pc += i.off as usize;
                    }
                }
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn rule(
        allow: bool,
        kind: Option<u32>,
        major: Option<u32>,
        minor: Option<u32>,
        access: u32,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn deny_all_then_allow_null_read_write() {
        let prog = compile(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DEV_CHAR), Some(1), Some(3), ACC_READ | ACC_WRITE),
        ]);
        assert_eq!(eval(&prog, DEV_CHAR, 1, 3, ACC_READ), 1);
        assert_eq!(eval(&prog, DEV_CHAR, 1, 3, ACC_READ | ACC_WRITE), 1);
        assert_eq!(
            eval(&prog, DEV_CHAR, 1, 3, ACC_MKNOD),
            0,
            "mknod was not allowed"
        );
        assert_eq!(eval(&prog, DEV_CHAR, 1, 5, ACC_READ), 0);
        assert_eq!(eval(&prog, DEV_BLOCK, 1, 3, ACC_READ), 0);
    }

    #[test]
    fn wildcards_and_last_rule_wins() {
        let prog = compile(&[
            rule(true, Some(DEV_CHAR), None, None, ACC_MKNOD),
            rule(true, Some(DEV_CHAR), Some(136), None, ACC_ALL),
            rule(false, Some(DEV_CHAR), Some(136), Some(7), ACC_ALL),
        ]);
        assert_eq!(eval(&prog, DEV_CHAR, 99, 1, ACC_MKNOD), 1);
        assert_eq!(eval(&prog, DEV_CHAR, 99, 1, ACC_READ), 0);
        assert_eq!(eval(&prog, DEV_CHAR, 136, 4, ACC_READ | ACC_WRITE), 1);
        assert_eq!(
            eval(&prog, DEV_CHAR, 136, 7, ACC_READ),
            0,
            "the later deny wins"
        );
    }

    #[test]
    fn no_rules_denies_everything() {
        let prog = compile(&[]);
        assert_eq!(eval(&prog, DEV_CHAR, 1, 3, ACC_READ), 0);
    }

    #[test]
    fn the_kernel_accepts_the_program() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let prog = compile(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DEV_CHAR), Some(1), Some(3), ACC_ALL),
            rule(true, Some(DEV_CHAR), Some(136), None, ACC_READ | ACC_WRITE),
        ]);
        load(&prog).expect("verifier accepts the device program");
    }

    /// The program attached to a real cgroup2 directory decides opens of device nodes
    /// (this host's cgroup2 tree is /sys/fs/cgroup/unified; on pure v2, /sys/fs/cgroup).
    #[test]
    fn attached_program_allows_null_and_denies_zero() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let base = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .find(|b| {
                std::path::Path::new(b).join("cgroup.procs").exists()
                    && std::fs::read_to_string("/proc/self/mountinfo")
                        .unwrap()
                        .contains(&format!(" {b} "))
            })
            .expect("a cgroup2 mount");
        let dir = std::path::PathBuf::from(format!("{base}/jinn-ebpf-test-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        struct Rmdir(std::path::PathBuf);
        impl Drop for Rmdir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let _guard = Rmdir(dir.clone());
        let prog = load(&compile(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DEV_CHAR), Some(1), Some(3), ACC_ALL),
        ]))
        .unwrap();
        let cg = std::fs::File::open(&dir).unwrap();
        attach(
            std::os::fd::AsFd::as_fd(&prog),
            std::os::fd::AsFd::as_fd(&cg),
        )
        .unwrap();
        let script = format!(
            "echo $$ > {}/cgroup.procs; cat /dev/null && echo null-ok; \
             head -c1 /dev/zero >/dev/null 2>&1 && echo zero-ok || echo zero-denied",
            dir.display()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "null-ok\nzero-denied\n"
        );
    }
}
