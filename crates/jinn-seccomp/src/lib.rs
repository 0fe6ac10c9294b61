//! `linux.seccomp` for jinn: the OCI seccomp model compiled to a classic BPF program,
//! installed with `seccomp(2)`, with user notification (`SCMP_ACT_NOTIFY`) and the
//! container process state sent to a seccomp agent.
//!
//! # Why a generator of our own, and not `seccompiler` or libseccomp
//!
//! `seccompiler` builds a filter for one architecture only (`x86_64`, `aarch64` or
//! `riscv64`), with no compat architectures (i386 and x32 on an x86_64 host), no
//! `SECCOMP_RET_USER_NOTIF` and no `SECCOMP_RET_LOG`; making it fit would mean
//! stitching several of its programs together and patching its output, which is
//! the generator itself. libseccomp would mean a C library at build and run time.
//! The program a seccomp profile needs is small and regular, so this crate emits it
//! directly (`compile.rs`, ~500 lines with the emitter):
//!
//! * the audit arch is checked first; architectures the profile does not list get
//!   the default action; x32 (x86_64 audit arch, numbers with `__X32_SYSCALL_BIT`)
//!   gets its own number range, or the default action when not listed;
//! * the syscall number is found by a binary search over ranges of numbers that
//!   share a verdict (Podman's default profile: a handful of comparisons per
//!   syscall instead of libseccomp's linear list of several hundred);
//! * argument conditions are 64-bit comparisons on the two 32-bit halves, ANDed
//!   within an entry; entries for one syscall are tried in the profile's order;
//! * syscall numbers come from tables generated from the kernel's uapi headers
//!   (`scripts/gen-tables.py` → `src/tables.rs`) for x86_64, x32 and i386, so the
//!   names a compat architecture knows are resolved with its own numbers.
//!
//! Semantics follow runc (libseccomp + its patches): the native architecture is
//! always in the filter; syscall names unknown to every architecture of the filter
//! are skipped; rules whose action equals the default action are left out; the first
//! unconditional rule for a syscall overrides its conditional ones; several
//! conditions on the same argument make one rule each (ORed); with a non-permissive
//! default action, syscall numbers above the highest one the profile names get
//! `ENOSYS` (runc's "-ENOSYS stub"), so new syscalls fall back the way libc expects.
//!
//! # Use
//!
//! [`compile`] is pure and runs before anything is created; [`Filter::install`]
//! runs in the container process right before `execve`; with `SCMP_ACT_NOTIFY` the
//! listener fd it returns goes to the agent with [`ListenerConnection`] (connect and
//! prepare before installing, send after: one `sendmsg`, nothing else) or
//! [`send_listener`].

mod arch;
pub mod bpf;
mod codegen;
mod compile;
mod install;
mod notify;
#[allow(clippy::all)]
mod tables;

use std::path::{Path, PathBuf};

pub use bpf::SeccompData;
pub use install::features;
pub use notify::{send_listener, ContainerProcessState, ListenerConnection};

/// Everything that can go wrong, each message lower-case and naming the field or step.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// A profile the runtime must refuse.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The compiled program is longer than the kernel accepts.
    #[error("linux.seccomp: the compiled filter has {len} instructions, more than the kernel's limit of 4096")]
    TooLarge { len: usize },
    /// No syscall tables for this host.
    #[error("linux.seccomp: seccomp filters are not supported on {0} hosts")]
    UnsupportedHost(&'static str),
    /// `seccomp(2)` refused the filter.
    #[error("seccomp: install the filter: {0}")]
    Install(String),
    /// Talking to the seccomp agent at `listenerPath` failed.
    #[error("linux.seccomp.listenerPath: {path}: {what}: {source}")]
    Listener {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
}

impl SeccompError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        SeccompError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A compiled `linux.seccomp`: the BPF program, the `seccomp(2)` flags, whether it
/// uses `SCMP_ACT_NOTIFY`, and where the listener fd goes.
#[derive(Clone)]
pub struct Filter {
    program: Vec<libc::sock_filter>,
    flags: u32,
    notify: bool,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
    skipped: Vec<String>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &self.flags)
            .field("notify", &self.notify)
            .field("listener_path", &self.listener_path)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Compile `linux.seccomp` for this host. Pure: no syscall, so it runs in `jinn
/// create` before anything exists, and every error names the field.
pub fn compile(seccomp: &oci_spec::runtime::LinuxSeccomp) -> Result<Filter, SeccompError> {
    compile::compile(seccomp)
}

impl Filter {
    /// The program, first instruction first.
    pub fn program(&self) -> &[libc::sock_filter] {
        &self.program
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits from `linux.seccomp.flags` (install adds
    /// `NEW_LISTENER` when the program notifies).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether some rule is `SCMP_ACT_NOTIFY` (then [`Filter::install`] returns the
    /// listener fd, and `listener_path` is set).
    pub fn uses_notify(&self) -> bool {
        self.notify
    }

    /// `linux.seccomp.listenerPath`.
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref()
    }

    /// `linux.seccomp.listenerMetadata`.
    pub fn listener_metadata(&self) -> Option<&str> {
        self.listener_metadata.as_deref()
    }

    /// Syscall names no architecture of the filter knows (skipped, as runc does).
    pub fn skipped_names(&self) -> &[String] {
        &self.skipped
    }

    /// The verdict (`SECCOMP_RET_*` value) the program gives for `data`, computed by
    /// a BPF interpreter: for tests and debugging.
    pub fn evaluate(&self, data: &SeccompData) -> u32 {
        bpf::evaluate(&self.program, data).unwrap_or(0)
    }

    /// Install the filter on the calling process (all threads with TSYNC) with
    /// `seccomp(SECCOMP_SET_MODE_FILTER)`. The caller has set no_new_privs or holds
    /// CAP_SYS_ADMIN. Returns the listener fd (close-on-exec) when the program
    /// notifies. Makes no syscall but seccomp(2), and allocates nothing once the
    /// filter is in place.
    pub fn install(&self) -> Result<Option<std::os::fd::OwnedFd>, SeccompError> {
        install::install(self)
    }
}

/// Check the strings of a raw `linux.seccomp` object against the names the spec
/// allows, with errors naming the field (`linux.seccomp.syscalls[3].action: unknown
/// action "SCMP_ACT_FOO"`), then deserialize it. For config parsers that want these
/// messages rather than serde's.
pub fn parse(value: &serde_json::Value) -> Result<oci_spec::runtime::LinuxSeccomp, SeccompError> {
    use serde_json::Value;
    let base = "linux.seccomp";
    let check = |field: String, v: Option<&Value>, kind: &str, known: &[&str]| match v {
        Some(Value::String(s)) if known.contains(&s.as_str()) => Ok(()),
        Some(Value::String(s)) => Err(SeccompError::invalid(
            field,
            format!("unknown {kind} {s:?}"),
        )),
        None => Err(SeccompError::invalid(field, "is required")),
        Some(other) => Err(SeccompError::invalid(
            field,
            format!("must be a string, not {other}"),
        )),
    };
    check(
        format!("{base}.defaultAction"),
        value.get("defaultAction"),
        "action",
        install::ACTIONS,
    )?;
    if let Some(Value::Array(a)) = value.get("architectures") {
        for (i, v) in a.iter().enumerate() {
            check(
                format!("{base}.architectures[{i}]"),
                Some(v),
                "architecture",
                install::ALL_ARCHS,
            )?;
        }
    }
    if let Some(Value::Array(a)) = value.get("flags") {
        let names: Vec<&str> = install::FLAGS.iter().map(|(name, _)| *name).collect();
        for (i, v) in a.iter().enumerate() {
            check(format!("{base}.flags[{i}]"), Some(v), "flag", &names)?;
        }
    }
    if let Some(Value::Array(a)) = value.get("syscalls") {
        for (i, sc) in a.iter().enumerate() {
            let f = format!("{base}.syscalls[{i}]");
            check(
                format!("{f}.action"),
                sc.get("action"),
                "action",
                install::ACTIONS,
            )?;
            if let Some(Value::Array(args)) = sc.get("args") {
                for (j, arg) in args.iter().enumerate() {
                    check(
                        format!("{f}.args[{j}].op"),
                        arg.get("op"),
                        "operator",
                        install::OPERATORS,
                    )?;
                }
            }
        }
    }
    serde_json::from_value(value.clone()).map_err(|e| SeccompError::invalid(base, e.to_string()))
}

pub mod agent;

#[cfg(test)]
mod tests;
