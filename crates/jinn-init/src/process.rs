//! The process side of the init: hostname, sysctl, rlimits, oom score, user and
//! capabilities, and finding the program to exec.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use jinn_config::{Plan, ProcessPlan};
use jinn_sys::caps;
use jinn_sys::resolve::open_beneath;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::error::{InitError, Step};
use crate::mounts::new_fs;

/// A private procfs instance of the container's pid namespace, mounted nowhere: writes
/// to /proc go through it, so an overmounted /proc in the image cannot redirect them.
pub(crate) struct PrivateProc {
    fd: OwnedFd,
}

impl PrivateProc {
    pub(crate) fn open() -> Result<PrivateProc, InitError> {
        let fd = new_fs("proc", "proc", &[], 0).map_err(|(w, e)| {
            InitError::Message(format!("private procfs: {w}: {}", jinn_sys::errno_text(e)))
        })?;
        Ok(PrivateProc { fd })
    }

    pub(crate) fn write(&self, rel: &str, value: &str) -> Result<(), InitError> {
        let fd = open_beneath(self.fd.as_fd(), rel, libc::O_WRONLY | libc::O_TRUNC, 0)
            .at("open", format!("/proc/{rel}"))?;
        nix::unistd::write(&fd, value.as_bytes()).at("write", format!("/proc/{rel}"))?;
        Ok(())
    }
}

/// Hostname, domain name, sysctl and oom_score_adj: what is set through the kernel's
/// per-namespace knobs before the process is switched to its user.
pub(crate) fn namespaced_settings(plan: &Plan) -> Result<(), InitError> {
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).at("sethostname", h)?;
    }
    if let Some(d) = &plan.domainname {
        jinn_sys::process::set_domainname(d).at("setdomainname", d)?;
    }
    if plan.sysctl.is_empty() && plan.process.oom_score_adj.is_none() {
        return Ok(());
    }
    let proc = PrivateProc::open()?;
    for (key, value) in &plan.sysctl {
        let rel = format!("sys/{}", key.replace('.', "/"));
        proc.write(&rel, value)?;
    }
    if let Some(adj) = plan.process.oom_score_adj {
        let me = nix::unistd::getpid();
        proc.write(&format!("{me}/oom_score_adj"), &adj.to_string())?;
    }
    Ok(())
}

/// `process.rlimits`.
fn rlimits(p: &ProcessPlan) -> Result<(), InitError> {
    for r in &p.rlimits {
        jinn_sys::process::set_rlimit(r.resource, r.soft, r.hard)
            .at("setrlimit", rlimit_name(r.resource))?;
    }
    Ok(())
}

fn rlimit_name(resource: u32) -> String {
    format!("resource {resource}")
}

/// Switch to the process's user and capability sets, in the order the kernel needs:
/// bounding set (needs CAP_SETPCAP), keep-caps across setuid, ids, then the sets.
/// `CAP_SYS_ADMIN`: what installing a seccomp filter without no_new_privs needs.
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// With `keep_sys_admin` CAP_SYS_ADMIN stays effective until the exec, for a seccomp
/// filter installed without no_new_privs; execve then computes the program's sets from
/// the bounding, inheritable and ambient sets alone, so it does not carry over.
fn user_and_caps(p: &ProcessPlan, last_cap: u32, keep_sys_admin: bool) -> Result<(), InitError> {
    let c = p.capabilities.unwrap_or_default();
    let extra = if keep_sys_admin { CAP_SYS_ADMIN } else { 0 };
    caps::limit_bounding(c.bounding, last_cap).step("drop bounding capabilities")?;
    caps::set_keepcaps(true).step("prctl PR_SET_KEEPCAPS")?;
    let gids: Vec<Gid> = p
        .user
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // setgroups fails with EPERM only where it is denied (a user namespace made without
    // root): there is nothing to drop then, and additional groups cannot be had.
    match setgroups(&gids) {
        Ok(()) => {}
        Err(nix::errno::Errno::EPERM) if gids.is_empty() => {}
        Err(nix::errno::Errno::EPERM) => return Err(InitError::Message(
            "process.user.additionalGids: setgroups is denied in this user namespace (rootless)"
                .into(),
        )),
        Err(e) => return Err(e).step("setgroups"),
    }
    let gid = Gid::from_raw(p.user.gid);
    setresgid(gid, gid, gid).at("setgid", p.user.gid)?;
    let uid = Uid::from_raw(p.user.uid);
    setresuid(uid, uid, uid).at("setuid", p.user.uid)?;
    caps::set_keepcaps(false).step("prctl PR_SET_KEEPCAPS")?;
    caps::set(caps::CapSets {
        effective: c.effective | extra,
        permitted: c.permitted | extra,
        inheritable: c.inheritable,
    })
    .step("capset")?;
    // The kernel only lets a capability into the ambient set when it is both permitted
    // and inheritable; runc skips the others (its default config lists ambient
    // capabilities but no inheritable ones), and so does jinn.
    caps::set_ambient(c.ambient & c.permitted & c.inheritable).step("set ambient capabilities")?;
    Ok(())
}

/// Find `args[0]` as execve will run it: a path, or a name looked up in the process's
/// own `PATH` (not jinn's), inside the container. Runs after pivot_root.
fn find_program(p: &ProcessPlan) -> Result<CString, InitError> {
    let arg0 = &p.args[0];
    let not_found = || {
        InitError::Message(format!(
            "exec: \"{arg0}\": executable file not found in $PATH"
        ))
    };
    if arg0.contains('/') {
        let path = if Path::new(arg0).is_absolute() {
            PathBuf::from(arg0)
        } else {
            p.cwd.join(arg0)
        };
        if let Err(e) = nix::unistd::access(&path, nix::unistd::AccessFlags::X_OK) {
            return Err(InitError::Message(format!(
                "exec: \"{arg0}\": {}",
                jinn_sys::errno_text(e)
            )));
        }
        return CString::new(path.into_os_string().into_encoded_bytes()).map_err(|_| not_found());
    }
    let search = p
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in search.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(arg0);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file()
                && nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
            {
                return CString::new(candidate.into_os_string().into_encoded_bytes())
                    .map_err(|_| not_found());
            }
        }
    }
    Err(not_found())
}

/// argv and envp for execve. The environment gets `HOME` from the container's
/// /etc/passwd (or `/`) when the config does not set it, and `LISTEN_PID` (the process's
/// own pid) when socket activation passed `LISTEN_FDS`, as runc does.
fn exec_vectors(p: &ProcessPlan) -> Result<(Vec<CString>, Vec<CString>), InitError> {
    let to_c = |v: &[String], field: &str| {
        v.iter()
            .map(|s| CString::new(s.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| InitError::Message(format!("{field}: contains a NUL byte")))
    };
    let mut env = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.user.uid)));
    }
    if env.iter().any(|e| e.starts_with("LISTEN_FDS=")) {
        env.retain(|e| !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_PID={}", nix::unistd::getpid()));
    }
    Ok((to_c(&p.args, "process.args")?, to_c(&env, "process.env")?))
}

/// The home directory of `uid` in the container's /etc/passwd, or `/`.
fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 5 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
        })
        .unwrap_or_else(|| "/".into())
}

/// The highest capability number this kernel knows.
pub(crate) fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// The container's seccomp filter, installed as the last step before execve, and the
/// connection its listener fd goes to (`listenerPath`, with the state already prepared).
pub(crate) struct Seccomp<'a> {
    pub filter: &'a jinn_seccomp::Filter,
    pub listener: Option<jinn_seccomp::ListenerConnection>,
}

/// A process ready to exec: everything checked, nothing left but the seccomp filter and
/// execve.
pub(crate) struct ExecReady<'a> {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    seccomp: Option<Seccomp<'a>>,
}

impl ExecReady<'_> {
    /// Unblock every signal, install the seccomp filter (from here on jinn makes no system
    /// call but sendmsg of the listener fd, close and execve, so a profile that denies
    /// anything else cannot break it), and exec. Returns the error text if that failed.
    pub(crate) fn exec(self) -> String {
        let _ = nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        );
        if let Some(s) = self.seccomp {
            match s.filter.install() {
                Ok(listener_fd) => {
                    if let (Some(conn), Some(fd)) = (s.listener, listener_fd) {
                        if let Err(e) = conn.send(fd.as_fd()) {
                            return format!("seccomp: send the listener fd: {e}");
                        }
                    }
                }
                Err(e) => return format!("seccomp: {e}"),
            }
        }
        let errno = jinn_sys::process::execve(&self.program, &self.argv, &self.envp);
        format!(
            "exec {}: {}",
            self.program.to_string_lossy(),
            jinn_sys::errno_text(errno)
        )
    }
}

/// The last steps of every container process (the init and `exec`'s), inside the
/// container's root: rlimits, user and capabilities, umask, cwd, no_new_privs, the
/// program, and every fd but stdio and the preserved ones marked close-on-exec.
pub(crate) fn prepare_exec<'a>(
    p: &ProcessPlan,
    last_cap: u32,
    preserve_fds: u32,
    not_preserved: Option<i32>,
    seccomp: Option<Seccomp<'a>>,
) -> Result<ExecReady<'a>, InitError> {
    rlimits(p)?;
    crate::tuning::priorities(p)?;
    let keep_sys_admin = seccomp.is_some() && !p.no_new_privileges;
    user_and_caps(p, last_cap, keep_sys_admin)?;
    let umask = p.user.umask.unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        umask as libc::mode_t,
    ));
    nix::unistd::chdir(&p.cwd).at("chdir to cwd", p.cwd.display())?;
    check_cwd_inside_root()?;
    if p.no_new_privileges {
        caps::set_no_new_privs().step("prctl PR_SET_NO_NEW_PRIVS")?;
    }
    let program = find_program(p)?;
    let (argv, envp) = exec_vectors(p)?;
    let first_closed = 3 + preserve_fds;
    jinn_sys::fd::cloexec_from(first_closed).step("close_range")?;
    for fd in 3..first_closed as i32 {
        if Some(fd) != not_preserved {
            jinn_sys::fd::clear_cloexec(fd).at("keep fd", fd)?;
        }
    }
    crate::tuning::final_affinity(p)?;
    caps::set_parent_death_signal(0).step("prctl PR_SET_PDEATHSIG")?;
    Ok(ExecReady {
        program,
        argv,
        envp,
        seccomp,
    })
}

/// After chdir, the cwd must be inside the new root (a cwd reached through a leaked fd of
/// the host would read "(unreachable)"): CVE-2024-21626.
fn check_cwd_inside_root() -> Result<(), InitError> {
    let cwd = nix::unistd::getcwd().step("getcwd")?;
    if !cwd.is_absolute() {
        return Err(InitError::Message(format!(
            "process.cwd: {} is outside the container root",
            cwd.display()
        )));
    }
    Ok(())
}
