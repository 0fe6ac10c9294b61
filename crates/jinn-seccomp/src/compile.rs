//! `linux.seccomp` → one classic BPF program.
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

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use crate::arch::{self, Abi};
use crate::bpf::{self, Emitter, Label, JEQ_K, JGE_K, JGT_K};
use crate::{Filter, SeccompError};

pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_KILL_THREAD: u32 = 0x0000_0000;
pub(crate) const RET_TRAP: u32 = 0x0003_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;
pub(crate) const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub(crate) const RET_TRACE: u32 = 0x7ff0_0000;
pub(crate) const RET_LOG: u32 = 0x7ffc_0000;
pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;

pub(crate) const FLAG_TSYNC: u32 = 1;
pub(crate) const FLAG_LOG: u32 = 2;
pub(crate) const FLAG_SPEC_ALLOW: u32 = 4;
pub(crate) const FLAG_NEW_LISTENER: u32 = 8;
pub(crate) const FLAG_TSYNC_ESRCH: u32 = 16;
pub(crate) const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// Syscalls jinn itself makes after the filter is in place (sending the listener fd);
/// a notification on them could never be answered.
const NOT_NOTIFIABLE: &[&str] = &["write", "sendmsg"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Cond {
    index: u8,
    op: Op,
    value: u64,
    value_two: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Rule {
    conds: Vec<Cond>,
    action: u32,
}

/// The value a `SECCOMP_RET_*` action returns, its errno (or trace message) in the
/// low 16 bits.
fn action_value(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    field: &str,
) -> Result<u32, SeccompError> {
    use LinuxSeccompAction as A;
    let with_data = |base: u32| -> Result<u32, SeccompError> {
        let e = errno.unwrap_or(libc::EPERM as u32);
        if e > 0xffff {
            return Err(SeccompError::invalid(
                errno_field(field),
                format!("{e} does not fit the 16 bits of a seccomp return value"),
            ));
        }
        Ok(base | e)
    };
    if errno.is_some() && !matches!(action, A::ScmpActErrno | A::ScmpActTrace) {
        return Err(SeccompError::invalid(
            errno_field(field),
            format!("{} does not take an errno", action_name(action)),
        ));
    }
    Ok(match action {
        A::ScmpActKill | A::ScmpActKillThread => RET_KILL_THREAD,
        A::ScmpActKillProcess => RET_KILL_PROCESS,
        A::ScmpActTrap => RET_TRAP,
        A::ScmpActErrno => with_data(RET_ERRNO)?,
        A::ScmpActTrace => with_data(RET_TRACE)?,
        A::ScmpActNotify => RET_USER_NOTIF,
        A::ScmpActLog => RET_LOG,
        A::ScmpActAllow => RET_ALLOW,
    })
}

fn errno_field(action_field: &str) -> String {
    if action_field.ends_with("defaultAction") {
        "linux.seccomp.defaultErrnoRet".into()
    } else {
        action_field.replace(".action", ".errnoRet")
    }
}

pub(crate) fn action_name(a: LinuxSeccompAction) -> &'static str {
    use LinuxSeccompAction as A;
    match a {
        A::ScmpActKill => "SCMP_ACT_KILL",
        A::ScmpActKillThread => "SCMP_ACT_KILL_THREAD",
        A::ScmpActKillProcess => "SCMP_ACT_KILL_PROCESS",
        A::ScmpActTrap => "SCMP_ACT_TRAP",
        A::ScmpActErrno => "SCMP_ACT_ERRNO",
        A::ScmpActNotify => "SCMP_ACT_NOTIFY",
        A::ScmpActTrace => "SCMP_ACT_TRACE",
        A::ScmpActLog => "SCMP_ACT_LOG",
        A::ScmpActAllow => "SCMP_ACT_ALLOW",
    }
}

fn op_of(op: LinuxSeccompOperator) -> Op {
    use LinuxSeccompOperator as O;
    match op {
        O::ScmpCmpNe => Op::Ne,
        O::ScmpCmpLt => Op::Lt,
        O::ScmpCmpLe => Op::Le,
        O::ScmpCmpEq => Op::Eq,
        O::ScmpCmpGe => Op::Ge,
        O::ScmpCmpGt => Op::Gt,
        O::ScmpCmpMaskedEq => Op::MaskedEq,
    }
}

/// Rules of one ABI, by syscall number, with libseccomp's merging: the first
/// unconditional rule of a syscall replaces its conditional ones and makes every
/// later rule for it redundant.
#[derive(Default)]
struct AbiRules {
    by_nr: BTreeMap<u32, Vec<Rule>>,
    /// The highest number the profile names for this ABI (runc's ENOSYS stub).
    max_named: Option<u32>,
}

impl AbiRules {
    fn add(&mut self, nr: u32, rule: Rule) {
        let rules = self.by_nr.entry(nr).or_default();
        if rules.iter().any(|r| r.conds.is_empty()) {
            return;
        }
        if rule.conds.is_empty() {
            rules.clear();
        }
        rules.push(rule);
    }
}

pub(crate) fn compile(s: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let (native, compat) =
        arch::host().ok_or(SeccompError::UnsupportedHost(std::env::consts::ARCH))?;
    let default_action = s.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::invalid(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be used as the default action",
        ));
    }
    let default = action_value(
        default_action,
        s.default_errno_ret(),
        "linux.seccomp.defaultAction",
    )?;

    // The native ABI always, then the listed ones this host can run.
    let mut abis = vec![native];
    for a in s.architectures().iter().flatten() {
        if let Some(abi) = arch::abi_of(*a, native, compat) {
            if !abis.contains(&abi) {
                abis.push(abi);
            }
        }
    }

    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        use oci_spec::runtime::LinuxSeccompFilterFlag as F;
        flags |= match f {
            F::SeccompFilterFlagTsync => FLAG_TSYNC,
            F::SeccompFilterFlagLog => FLAG_LOG,
            F::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            F::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        };
    }

    let mut rules: Vec<AbiRules> = abis.iter().map(|_| AbiRules::default()).collect();
    let mut skipped = Vec::new();
    let mut notify = false;
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        if sc.names().is_empty() {
            return Err(SeccompError::invalid(
                format!("{field}.names"),
                "must name at least one syscall",
            ));
        }
        let action = action_value(sc.action(), sc.errno_ret(), &format!("{field}.action"))?;
        if sc.action() == LinuxSeccompAction::ScmpActNotify {
            notify = true;
            if let Some(n) = sc
                .names()
                .iter()
                .find(|n| NOT_NOTIFIABLE.contains(&n.as_str()))
            {
                return Err(SeccompError::invalid(
                    format!("{field}.names"),
                    format!("SCMP_ACT_NOTIFY cannot be used for the {n} syscall"),
                ));
            }
        }
        let mut conds = Vec::new();
        let mut seen = [0u8; 6];
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(SeccompError::invalid(
                    format!("{field}.args[{j}].index"),
                    format!("{} is not a syscall argument (0 to 5)", a.index()),
                ));
            }
            seen[a.index()] += 1;
            conds.push(Cond {
                index: a.index() as u8,
                op: op_of(a.op()),
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
            });
        }
        // runc's rule: with two conditions on one argument, each condition becomes
        // a rule of its own (ORed) instead of being ANDed.
        let variants: Vec<Vec<Cond>> = if seen.iter().any(|&n| n > 1) {
            conds.iter().map(|c| vec![*c]).collect()
        } else {
            vec![conds]
        };
        for name in sc.names() {
            let mut known = false;
            for (abi, r) in abis.iter().zip(rules.iter_mut()) {
                let Some(nr) = abi.lookup(name) else { continue };
                known = true;
                r.max_named = r.max_named.max(Some(nr));
                // libseccomp refuses a rule with the filter's default action; runc
                // leaves it out, and so does jinn.
                if action == default {
                    continue;
                }
                for conds in &variants {
                    r.add(
                        nr,
                        Rule {
                            conds: conds.clone(),
                            action,
                        },
                    );
                }
            }
            if !known && !skipped.contains(name) {
                skipped.push(name.clone());
            }
        }
    }

    if notify {
        match s.listener_path() {
            Some(p) if !p.as_os_str().is_empty() => {}
            _ => {
                return Err(SeccompError::invalid(
                    "linux.seccomp.listenerPath",
                    "must be set when SCMP_ACT_NOTIFY is used",
                ))
            }
        }
    }
    if s.listener_metadata().is_some() && s.listener_path().is_none() {
        return Err(SeccompError::invalid(
            "linux.seccomp.listenerMetadata",
            "must not be set without listenerPath",
        ));
    }

    // runc's ENOSYS stub: with a non-permissive default, a syscall newer than every
    // one the profile names gets ENOSYS, so that programs fall back to older calls
    // (clone3 → clone) instead of failing on EPERM.
    let permissive = matches!(
        default_action,
        LinuxSeccompAction::ScmpActAllow
            | LinuxSeccompAction::ScmpActLog
            | LinuxSeccompAction::ScmpActTrace
    );
    let enosys_stub = !permissive && default != (RET_ERRNO | libc::ENOSYS as u32);

    let program = generate(&abis, &rules, default, enosys_stub)?;
    Ok(Filter {
        program,
        flags,
        notify,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone(),
        skipped,
    })
}

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

fn generate(
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
