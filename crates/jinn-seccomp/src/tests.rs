//! The compiler, checked by running its programs in the BPF interpreter.

use serde_json::json;

use crate::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::compile::*;
use crate::{bpf, compile, parse, Filter, SeccompData};

const EPERM: u32 = RET_ERRNO | 1;
const ENOSYS: u32 = RET_ERRNO | 38;

fn filter(v: serde_json::Value) -> Filter {
    let s = parse(&v).unwrap();
    compile(&s).unwrap()
}

fn error(v: serde_json::Value) -> String {
    match parse(&v).and_then(|s| compile(&s)) {
        Ok(_) => panic!("compiled: {v}"),
        Err(e) => e.to_string(),
    }
}

fn nr64(name: &str) -> u32 {
    crate::arch::X86_64.lookup(name).unwrap()
}

fn call(f: &Filter, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let v = bpf::evaluate(
        f.program(),
        &SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        },
    );
    v.unwrap_or_else(|| panic!("invalid program:\n{}", bpf::disassemble(f.program())))
}

fn x64(f: &Filter, name: &str, args: [u64; 6]) -> u32 {
    call(f, AUDIT_ARCH_X86_64, nr64(name), args)
}

#[test]
fn deny_mkdir_with_eperm_and_another_errno() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
        ]
    }));
    assert_eq!(x64(&f, "mkdir", [0; 6]), EPERM);
    assert_eq!(x64(&f, "mkdirat", [0; 6]), RET_ERRNO | 18);
    assert_eq!(x64(&f, "getpid", [0; 6]), RET_ALLOW);
    assert!(!f.uses_notify());
}

#[test]
fn personality_allowed_for_one_value_only() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
        ]
    }));
    assert_eq!(x64(&f, "personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(
        x64(&f, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(x64(&f, "personality", [9, 0, 0, 0, 0, 0]), EPERM);
    // The high half counts: 8 + 2^32 is not 8.
    assert_eq!(x64(&f, "personality", [8 | 1 << 32, 0, 0, 0, 0, 0]), EPERM);
    // i386 is not listed: default action, whatever the number.
    assert_eq!(call(&f, AUDIT_ARCH_I386, 136, [8, 0, 0, 0, 0, 0]), EPERM);
}

#[test]
fn conditions_are_anded_and_entries_ored() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                      {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
        ]
    }));
    assert_eq!(x64(&f, "socket", [16, 3, 9, 0, 0, 0]), RET_ERRNO | 22);
    assert_eq!(x64(&f, "socket", [16, 3, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x64(&f, "socket", [2, 3, 9, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x64(&f, "socket", [10, 3, 9, 0, 0, 0]), RET_ERRNO | 97);
}

#[test]
fn masked_eq_compares_both_halves() {
    let mask = 0x0000_0001_7e02_0000u64; // spans both words
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": mask, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]
    }));
    assert_eq!(x64(&f, "clone", [0x11, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(x64(&f, "clone", [0x0002_0000, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x64(&f, "clone", [1 << 32, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x64(&f, "clone", [2 << 32, 0, 0, 0, 0, 0]), EPERM);
}

/// Every operator against a plain 64-bit comparison, on values around the
/// boundaries of both halves, on every argument index.
#[test]
fn operators_match_64_bit_semantics() {
    let interesting = [
        0u64,
        1,
        0x7fff_ffff,
        0xffff_ffff,
        1 << 32,
        (1 << 32) + 1,
        (5 << 32) + 7,
        (5 << 32) + 8,
        (5 << 32) + 6,
        (4 << 32) + 0xffff_ffff,
        (6 << 32),
        u64::MAX,
        u64::MAX - 1,
    ];
    let ops = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"];
    for op in ops {
        for &value in &interesting {
            for index in [0usize, 3, 5] {
                let two = (5u64 << 32) + 6;
                let f = filter(json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": index, "value": value, "valueTwo": two,
                                  "op": format!("SCMP_CMP_{op}")}]}]
                }));
                for &arg in &interesting {
                    let want = match op {
                        "NE" => arg != value,
                        "LT" => arg < value,
                        "LE" => arg <= value,
                        "EQ" => arg == value,
                        "GE" => arg >= value,
                        "GT" => arg > value,
                        _ => arg & value == two,
                    };
                    let mut args = [0; 6];
                    args[index] = arg;
                    let got = x64(&f, "read", args) == EPERM;
                    assert_eq!(got, want, "{arg:#x} {op} {value:#x} (arg {index})");
                }
            }
        }
    }
}

#[test]
fn arch_mismatch_gets_the_default_action() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_KILL_PROCESS",
        "syscalls": [{"names": ["getpid", "socketcall"], "action": "SCMP_ACT_ALLOW"}]
    }));
    assert_eq!(x64(&f, "getpid", [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_I386, 20, [0; 6]), RET_KILL_PROCESS);
    assert_eq!(call(&f, 0xc000_00b7, 172, [0; 6]), RET_KILL_PROCESS);
    // x32 not listed: its numbers get the default action too.
    assert_eq!(
        call(&f, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]),
        RET_KILL_PROCESS
    );
}

#[test]
fn compat_archs_use_their_own_numbers() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": [
            {"names": ["getpid", "socketcall", "rt_sigaction"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
        ]
    }));
    // getpid: 39 on x86_64, 20 on i386, 39|X32 on x32; socketcall only on i386;
    // rt_sigaction is 512|X32 on x32.
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 39, [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_I386, 20, [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_I386, 102, [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_I386, 39, [0; 6]), EPERM); // mkdir on i386
    assert_eq!(
        call(&f, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]),
        RET_ALLOW
    );
    assert_eq!(
        call(&f, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 512, [0; 6]),
        RET_ALLOW
    );
    assert_eq!(
        call(&f, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 13, [0; 6]),
        RET_ERRNO | 38
    );
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 13, [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 102, [0; 6]), RET_ERRNO | 38);
}

#[test]
fn enosys_above_the_highest_named_syscall() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["getpid", "close_range"], "action": "SCMP_ACT_ALLOW"}]
    }));
    let close_range = nr64("close_range");
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, close_range, [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, close_range - 1, [0; 6]), EPERM);
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, close_range + 1, [0; 6]), ENOSYS);
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 1000, [0; 6]), ENOSYS);
    // A permissive default has no stub.
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 1000, [0; 6]), RET_ALLOW);
}

#[test]
fn unconditional_rule_overrides_conditional_ones() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
             "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_LOG"},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO"},
        ]
    }));
    assert_eq!(x64(&f, "kill", [1, 9, 0, 0, 0, 0]), RET_LOG);
    assert_eq!(x64(&f, "kill", [1, 2, 0, 0, 0, 0]), RET_LOG);
}

#[test]
fn two_conditions_on_one_argument_are_ored_as_runc_does() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
                     {"index": 1, "value": 15, "op": "SCMP_CMP_EQ"}]}]
    }));
    assert_eq!(x64(&f, "kill", [1, 9, 0, 0, 0, 0]), EPERM);
    assert_eq!(x64(&f, "kill", [1, 15, 0, 0, 0, 0]), EPERM);
    assert_eq!(x64(&f, "kill", [1, 2, 0, 0, 0, 0]), RET_ALLOW);
}

#[test]
fn every_action() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_KILL"},
            {"names": ["open"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["close"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["stat"], "action": "SCMP_ACT_TRAP"},
            {"names": ["fstat"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["lstat"], "action": "SCMP_ACT_LOG"},
            {"names": ["poll"], "action": "SCMP_ACT_NOTIFY"},
        ]
    }));
    assert_eq!(x64(&f, "read", [0; 6]), RET_KILL_THREAD);
    assert_eq!(x64(&f, "open", [0; 6]), RET_KILL_THREAD);
    assert_eq!(x64(&f, "close", [0; 6]), RET_KILL_PROCESS);
    assert_eq!(x64(&f, "stat", [0; 6]), RET_TRAP);
    assert_eq!(x64(&f, "fstat", [0; 6]), RET_TRACE | 7);
    assert_eq!(x64(&f, "lstat", [0; 6]), RET_LOG);
    assert_eq!(x64(&f, "poll", [0; 6]), RET_USER_NOTIF);
    assert!(f.uses_notify());
    assert_eq!(f.flags(), FLAG_LOG | FLAG_SPEC_ALLOW);
}

#[test]
fn unknown_names_are_skipped() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_syscall", "mkdir", "socketcall"], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert_eq!(f.skipped_names(), ["no_such_syscall", "socketcall"]);
    assert_eq!(x64(&f, "mkdir", [0; 6]), EPERM);
}

#[test]
fn bad_profiles_name_the_field() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["a"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["a"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["a"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]}),
            r#"linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SORT_OF"}]}]}),
            r#"linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_SORT_OF""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}),
            r#"linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOPE"}),
            r#"linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}),
            r#"linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_FAST""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}),
            "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW does not take an errno",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}),
            "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL does not take an errno",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x", "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0].names: SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath: must be set when SCMP_ACT_NOTIFY is used",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
            "linux.seccomp.listenerMetadata: must not be set without listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index: 6 is not a syscall argument (0 to 5)",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": [], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names: must name at least one syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
            "linux.seccomp.defaultErrnoRet: 70000 does not fit the 16 bits of a seccomp return value",
        ),
    ];
    for (profile, want) in cases {
        assert_eq!(error(profile), want);
    }
}

/// Long programs need jumps past 255 instructions: trampolines and copied rets.
#[test]
fn far_jumps_stay_correct() {
    let mut syscalls = Vec::new();
    let names: Vec<&str> = crate::arch::X86_64
        .table
        .iter()
        .step_by(2)
        .map(|(n, _)| *n)
        .collect();
    for (i, name) in names.iter().enumerate() {
        syscalls.push(
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": i % 50 + 1,
            "args": [{"index": i % 6, "value": i, "op": "SCMP_CMP_EQ"}]}),
        );
    }
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    }));
    assert!(f.program().len() > 1000, "{}", f.program().len());
    for (i, name) in names.iter().enumerate() {
        let mut args = [0; 6];
        args[i % 6] = i as u64;
        assert_eq!(
            x64(&f, name, args),
            RET_ERRNO | (i % 50 + 1) as u32,
            "{name}"
        );
        args[i % 6] = i as u64 + 1;
        assert_eq!(x64(&f, name, args), RET_ALLOW, "{name}");
    }
}

#[test]
fn too_large_is_an_error() {
    let mut syscalls = Vec::new();
    for i in 0..2000u64 {
        syscalls.push(json!({"names": ["read"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": i, "op": "SCMP_CMP_EQ"}]}));
    }
    let e = error(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls}));
    assert!(e.contains("more than the kernel's limit of 4096"), "{e}");
}

#[test]
fn features_lists_the_model() {
    let f = crate::features();
    assert_eq!(f["enabled"], true);
    assert_eq!(f["actions"].as_array().unwrap().len(), 9);
    assert_eq!(f["operators"].as_array().unwrap().len(), 7);
    assert_eq!(
        f["archs"],
        json!(["SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"])
    );
    assert_eq!(f["knownFlags"].as_array().unwrap().len(), 4);
    let supported = f["supportedFlags"].as_array().unwrap();
    assert!(
        supported.contains(&json!("SECCOMP_FILTER_FLAG_TSYNC")),
        "{f}"
    );
}
