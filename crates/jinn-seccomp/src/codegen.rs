//! The classic BPF program for per-ABI rules.
//!
//! Layout of the program (first instruction first):
//!
//! ```text
//! ld [arch]
//! jeq AUDIT_ARCH_X86_64 → x86_64 ; jeq AUDIT_ARCH_I386 → i386 (if listed) …
//! ret <default>                      an architecture the filter does not list
//! x86_64: ld [nr]; binary search over ranges of syscall numbers
//!         (x32 numbers, with __X32_SYSCALL_BIT, are ranges of the same search;
//!          without SCMP_ARCH_X32 they all get the default action)
//! i386:   ld [nr]; binary search …
//! blocks: one per distinct list of argument-filtered rules, shared by every
//!         syscall and architecture that has the same list
//! ret …   one per action (copied next to a jump that could not reach it)
//! ```
//!
//! A leaf of a search is a `ret` (the syscall's action, the default action, or ENOSYS
//! for numbers above the highest the profile names) or a block. Inside a block, the
//! conditions of one entry are ANDed and the entries are tried in the profile's order.

use std::collections::{BTreeMap, HashMap};

use crate::arch::{self, Abi};
use crate::bpf::{self, Emitter, Label, JEQ_K, JGE_K, JGT_K};
use crate::compile::{AbiRules, Cond, Op, Rule, RET_ERRNO};
use crate::SeccompError;

/// Where a syscall number goes: a `ret` or a block.
struct Codegen {
    e: Emitter,
    rets: HashMap<u32, Label>,
    blocks: HashMap<Vec<Rule>, Label>,
}

impl Codegen {
    fn ret(&mut self, k: u32) -> Label {
        if let Some(l) = self.rets.get(&k) {
            return *l;
        }
        let l = self.e.ret(k);
        self.rets.insert(k, l);
        l
    }

    /// The offsets of an argument's low and high 32-bit words in seccomp_data.
    fn arg_words(index: u8) -> (u32, u32) {
        let base = 16 + 8 * index as u32;
        if cfg!(target_endian = "little") {
            (base, base + 4)
        } else {
            (base + 4, base)
        }
    }

    /// One 64-bit comparison of an argument: to `ok` when it holds, else to `fail`.
    fn cond(&mut self, c: &Cond, ok: Label, fail: Label) -> Label {
        let (lo_off, hi_off) = Self::arg_words(c.index);
        let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
        let e = &mut self.e;
        match c.op {
            Op::Eq | Op::Ne => {
                let (t, f) = if c.op == Op::Eq {
                    (ok, fail)
                } else {
                    (fail, ok)
                };
                e.jump(JEQ_K, vlo, t, f);
                let lo = e.load(lo_off);
                e.jump(JEQ_K, vhi, lo, f);
                e.load(hi_off)
            }
            Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                // GT/GE hold when hi > vhi, or hi == vhi and lo > (>=) vlo;
                // LT/LE are their negations (GE and GT).
                let (t, f) = match c.op {
                    Op::Gt | Op::Ge => (ok, fail),
                    _ => (fail, ok),
                };
                let lo_code = match c.op {
                    Op::Gt | Op::Le => JGT_K,
                    _ => JGE_K,
                };
                e.jump(lo_code, vlo, t, f);
                let lo = e.load(lo_off);
                let eq = e.jump(JEQ_K, vhi, lo, f);
                e.jump(JGT_K, vhi, t, eq);
                e.load(hi_off)
            }
            Op::MaskedEq => {
                // value is the mask, valueTwo the datum: (arg & mask) == datum.
                let (mhi, mlo) = ((c.value >> 32) as u32, c.value as u32);
                let (dhi, dlo) = ((c.value_two >> 32) as u32, c.value_two as u32);
                e.jump(JEQ_K, dlo, ok, fail);
                e.and(mlo);
                let lo = e.load(lo_off);
                e.jump(JEQ_K, dhi, lo, fail);
                e.and(mhi);
                e.load(hi_off)
            }
        }
    }

    /// The rules of one syscall: the first that matches decides, else `default`.
    fn block(&mut self, rules: &[Rule], default: Label) -> Label {
        if let [r] = rules {
            if r.conds.is_empty() {
                return self.ret(r.action);
            }
        }
        if let Some(l) = self.blocks.get(rules) {
            return *l;
        }
        let mut next = default;
        for r in rules.iter().rev() {
            let mut ok = self.ret(r.action);
            for c in r.conds.iter().rev() {
                ok = self.cond(c, ok, next);
            }
            next = ok;
        }
        self.blocks.insert(rules.to_vec(), next);
        next
    }

    /// A binary search over `ranges` (start, target), A holding the syscall number.
    fn search(&mut self, ranges: &[(u64, Label)]) -> Label {
        if ranges.len() == 1 {
            return ranges[0].1;
        }
        let mid = ranges.len() / 2;
        let right = self.search(&ranges[mid..]);
        let left = self.search(&ranges[..mid]);
        self.e.jump(JGE_K, ranges[mid].0 as u32, right, left)
    }
}

pub(crate) fn generate(
    abis: &[Abi],
    rules: &[AbiRules],
    default: u32,
    enosys_stub: bool,
) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let mut g = Codegen {
        e: Emitter::default(),
        rets: HashMap::new(),
        blocks: HashMap::new(),
    };
    let default_l = g.ret(default);
    let enosys_l = if enosys_stub {
        g.ret(RET_ERRNO | libc::ENOSYS as u32)
    } else {
        default_l
    };

    // Every listed audit arch, in the order first seen, with its ABIs.
    let mut audits: Vec<u32> = Vec::new();
    for a in abis {
        if !audits.contains(&a.audit) {
            audits.push(a.audit);
        }
    }
    // Targets of every syscall with rules, blocks emitted now.
    let mut targets: Vec<BTreeMap<u32, Label>> = Vec::new();
    for r in rules {
        let mut t = BTreeMap::new();
        for (nr, rs) in &r.by_nr {
            if !rs.is_empty() {
                t.insert(*nr, g.block(rs, default_l));
            }
        }
        targets.push(t);
    }

    let mut entries = Vec::new();
    for audit in audits.iter().rev() {
        // The number space of this audit arch: each listed ABI's part has its rules,
        // the rest (x32 when not listed) gets the default action.
        let mut ranges: Vec<(u64, Label)> = Vec::new();
        let push = |start: u64, l: Label, ranges: &mut Vec<(u64, Label)>| {
            if ranges.last().map(|r| r.1) != Some(l) {
                ranges.push((start, l));
            }
        };
        let parts: Vec<usize> = (0..abis.len())
            .filter(|&i| abis[i].audit == *audit)
            .collect();
        let (space_lo, space_hi) = if *audit == arch::AUDIT_ARCH_X86_64 {
            (0u64, 1u64 << 32)
        } else {
            (abis[parts[0]].lo, abis[parts[0]].hi)
        };
        let mut at = space_lo;
        let mut covered: Vec<(u64, u64, usize)> =
            parts.iter().map(|&i| (abis[i].lo, abis[i].hi, i)).collect();
        covered.sort();
        for (lo, hi, i) in covered {
            if at < lo {
                push(at, default_l, &mut ranges);
            }
            let above = rules[i].max_named.map_or(lo, |m| m as u64 + 1);
            let mut next = lo;
            for (nr, l) in &targets[i] {
                let nr = *nr as u64;
                if next < nr {
                    push(next, default_l, &mut ranges);
                }
                push(nr, *l, &mut ranges);
                next = nr + 1;
            }
            if next < above {
                push(next, default_l, &mut ranges);
                next = above;
            }
            if next < hi {
                let beyond = if rules[i].max_named.is_some() {
                    enosys_l
                } else {
                    default_l
                };
                push(next, beyond, &mut ranges);
            }
            at = hi;
        }
        if at < space_hi {
            push(at, default_l, &mut ranges);
        }
        let tree = g.search(&ranges);
        // Load the number unless the whole arch is one verdict.
        let entry = if g.e.is_ret(tree) {
            tree
        } else {
            if tree + 1 != g.e.len() {
                g.e.ja(tree);
            }
            g.e.load(0)
        };
        entries.push((*audit, entry));
    }

    // The arch dispatch: jeq chain ending in the default action.
    let mut next = default_l;
    for (audit, entry) in entries {
        next = g.e.jump(JEQ_K, audit, entry, next);
    }
    g.e.load(4);
    let len = g.e.len();
    if len > bpf::MAX_INSNS {
        return Err(SeccompError::TooLarge { len });
    }
    Ok(g.e.finish())
}
