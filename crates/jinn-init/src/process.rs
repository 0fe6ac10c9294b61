//! The process side of the init: hostname, sysctl, rlimits, oom score, user and
//! capabilities, and finding the program to exec.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use jinn_config::{Plan, ProcessPlan};
use jinn_sys::caps;
use jinn_sys::resolve::open_beneath;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::error::{Step, StepError};
use crate::mounts::new_fs;

/// A private procfs instance of the container's pid namespace, mounted nowhere: writes
/// to /proc go through it, so an overmounted /proc in the image cannot redirect them.
pub(crate) struct PrivateProc {
    fd: OwnedFd,
}

impl PrivateProc {
    pub(crate) fn open() -> Result<PrivateProc, StepError> {
        let fd = new_fs("proc", "proc", &[], 0).map_err(|(w, e)| {
            StepError::Other(format!("private procfs: {w}: {}", jinn_sys::errno_text(e)))
        })?;
        Ok(PrivateProc { fd })
    }

    pub(crate) fn write(&self, rel: &str, value: &str) -> Result<(), StepError> {
        let fd = open_beneath(self.fd.as_fd(), rel, libc::O_WRONLY | libc::O_TRUNC, 0)
            .at("open", format!("/proc/{rel}"))?;
        nix::unistd::write(&fd, value.as_bytes()).at("write", format!("/proc/{rel}"))?;
        Ok(())
    }
}

/// Hostname, domain name, sysctl and oom_score_adj: what is set through the kernel's
/// per-namespace knobs before the process is switched to its user.
pub(crate) fn namespaced_settings(plan: &Plan) -> Result<(), StepError> {
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
pub(crate) fn rlimits(p: &ProcessPlan) -> Result<(), StepError> {
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
pub(crate) fn user_and_caps(p: &ProcessPlan, last_cap: u32) -> Result<(), StepError> {
    let c = p.capabilities.unwrap_or_default();
    caps::limit_bounding(c.bounding, last_cap).step("drop bounding capabilities")?;
    caps::set_keepcaps(true).step("prctl PR_SET_KEEPCAPS")?;
    let gids: Vec<Gid> = p
        .user
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    setgroups(&gids).step("setgroups")?;
    let gid = Gid::from_raw(p.user.gid);
    setresgid(gid, gid, gid).at("setgid", p.user.gid)?;
    let uid = Uid::from_raw(p.user.uid);
    setresuid(uid, uid, uid).at("setuid", p.user.uid)?;
    caps::set_keepcaps(false).step("prctl PR_SET_KEEPCAPS")?;
    caps::set(caps::CapSets {
        effective: c.effective,
        permitted: c.permitted,
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
pub(crate) fn find_program(p: &ProcessPlan) -> Result<CString, StepError> {
    let arg0 = &p.args[0];
    let not_found = || {
        StepError::Other(format!(
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
            return Err(StepError::Other(format!(
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

/// argv and envp for execve.
pub(crate) fn exec_vectors(p: &ProcessPlan) -> Result<(Vec<CString>, Vec<CString>), StepError> {
    let to_c = |v: &[String], field: &str| {
        v.iter()
            .map(|s| CString::new(s.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| StepError::Other(format!("{field}: contains a NUL byte")))
    };
    Ok((to_c(&p.args, "process.args")?, to_c(&p.env, "process.env")?))
}
