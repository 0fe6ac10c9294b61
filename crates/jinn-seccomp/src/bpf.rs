//! Classic BPF: the few instructions a seccomp filter uses, a back-to-front emitter
//! that resolves jumps as it goes, and a small interpreter (the kernel's semantics for
//! what we emit) used by the tests and by [`crate::Filter::evaluate`].

use libc::sock_filter;

pub(crate) const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
pub(crate) const ALU_AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
pub(crate) const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
pub(crate) const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
pub(crate) const JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
pub(crate) const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
pub(crate) const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// A position in the program under construction, counted from its end: the emitter
/// builds the program back to front, so every jump target (always forward in BPF)
/// already has a label when the jump is emitted.
pub(crate) type Label = usize;

/// Builds a program from its last instruction to its first.
#[derive(Default)]
pub(crate) struct Emitter {
    /// The program reversed: `rev[0]` is the last instruction.
    rev: Vec<sock_filter>,
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

impl Emitter {
    fn push(&mut self, i: sock_filter) -> Label {
        self.rev.push(i);
        self.rev.len() - 1
    }

    pub(crate) fn ret(&mut self, k: u32) -> Label {
        self.push(insn(RET_K, 0, 0, k))
    }

    pub(crate) fn load(&mut self, offset: u32) -> Label {
        self.push(insn(LD_W_ABS, 0, 0, offset))
    }

    pub(crate) fn and(&mut self, k: u32) -> Label {
        self.push(insn(ALU_AND_K, 0, 0, k))
    }

    /// A label that `from` (the label the next instruction will get, or later) can
    /// reach with an 8-bit conditional offset: `target` itself, or a copy of the
    /// `ret` there, or a `ja` to it emitted now.
    fn reachable(&mut self, target: Label, extra: usize) -> Label {
        let from = self.rev.len() + extra;
        if from - target - 1 <= u8::MAX as usize {
            return target;
        }
        let t = self.rev[target];
        if t.code == RET_K {
            return self.push(t);
        }
        let at = self.rev.len();
        self.push(insn(JA, 0, 0, (at - target - 1) as u32))
    }

    /// A conditional jump `code k`: to `jt` when true, `jf` when false.
    pub(crate) fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) -> Label {
        // At most two trampolines go between the jump and its targets; counting them
        // in advance keeps a target that is reachable now reachable after them.
        let jt = self.reachable(jt, 2);
        let jf = self.reachable(jf, 1);
        let at = self.rev.len();
        self.push(insn(code, (at - jt - 1) as u8, (at - jf - 1) as u8, k))
    }

    /// An unconditional jump to `target`.
    pub(crate) fn ja(&mut self, target: Label) -> Label {
        let at = self.rev.len();
        self.push(insn(JA, 0, 0, (at - target - 1) as u32))
    }

    /// Whether the instruction at `l` is a `ret`.
    pub(crate) fn is_ret(&self, l: Label) -> bool {
        self.rev[l].code == RET_K
    }

    /// The finished program, first instruction first.
    pub(crate) fn finish(mut self) -> Vec<sock_filter> {
        self.rev.reverse();
        self.rev
    }

    pub(crate) fn len(&self) -> usize {
        self.rev.len()
    }
}

/// The input of a seccomp filter (`struct seccomp_data`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    fn word(&self, offset: u32) -> Option<u32> {
        let lo_hi = |v: u64, off: u32| -> u32 {
            let hi = if cfg!(target_endian = "little") {
                off == 4
            } else {
                off == 0
            };
            if hi {
                (v >> 32) as u32
            } else {
                v as u32
            }
        };
        match offset {
            0 => Some(self.nr),
            4 => Some(self.arch),
            8 | 12 => Some(lo_hi(self.instruction_pointer, offset - 8)),
            16..=63 if offset & 3 == 0 => {
                let i = ((offset - 16) / 8) as usize;
                Some(lo_hi(self.args[i], (offset - 16) % 8))
            }
            _ => None,
        }
    }
}

/// Run `program` on `data` as the kernel would and return the filter's verdict, or
/// `None` for a program the kernel would refuse (bad load, jump out of range, no
/// `ret` at the end, an instruction this crate never emits).
pub fn evaluate(program: &[sock_filter], data: &SeccompData) -> Option<u32> {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let i = program.get(pc)?;
        pc += 1;
        let skip = |cond: bool| -> usize {
            if cond {
                i.jt as usize
            } else {
                i.jf as usize
            }
        };
        match i.code {
            LD_W_ABS => a = data.word(i.k)?,
            ALU_AND_K => a &= i.k,
            JA => pc += i.k as usize,
            JEQ_K => pc += skip(a == i.k),
            JGT_K => pc += skip(a > i.k),
            JGE_K => pc += skip(a >= i.k),
            RET_K => return Some(i.k),
            _ => return None,
        }
    }
}

/// The program as text, one instruction a line (for debugging and test failures).
pub fn disassemble(program: &[sock_filter]) -> String {
    let mut out = String::new();
    for (n, i) in program.iter().enumerate() {
        let line = match i.code {
            LD_W_ABS => format!("ld [{}]", i.k),
            ALU_AND_K => format!("and #{:#x}", i.k),
            JA => format!("ja {}", n + 1 + i.k as usize),
            JEQ_K | JGT_K | JGE_K => {
                let op = match i.code {
                    JEQ_K => "jeq",
                    JGT_K => "jgt",
                    _ => "jge",
                };
                format!(
                    "{op} #{:#x} {} {}",
                    i.k,
                    n + 1 + i.jt as usize,
                    n + 1 + i.jf as usize
                )
            }
            RET_K => format!("ret #{:#x}", i.k),
            c => format!("unknown {c:#x}"),
        };
        out.push_str(&format!("{n:4}: {line}\n"));
    }
    out
}
