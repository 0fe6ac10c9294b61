//! `linux.seccomp` → per-ABI rules (actions, argument conditions), handed to
//! [`crate::codegen`] for the BPF program.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use crate::arch::{self};
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
pub(crate) enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Cond {
    pub(crate) index: u8,
    pub(crate) op: Op,
    pub(crate) value: u64,
    pub(crate) value_two: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Rule {
    pub(crate) conds: Vec<Cond>,
    pub(crate) action: u32,
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
pub(crate) struct AbiRules {
    pub(crate) by_nr: BTreeMap<u32, Vec<Rule>>,
    /// The highest number the profile names for this ABI (runc's ENOSYS stub).
    pub(crate) max_named: Option<u32>,
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

    let program = crate::codegen::generate(&abis, &rules, default, enosys_stub)?;
    Ok(Filter {
        program,
        flags,
        notify,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone(),
        skipped,
    })
}
