//! OCI hooks: run one program with the container state on its stdin, its own env, and
//! a timeout. Used by the parent (prestart, createRuntime, poststart, poststop, in the
//! runtime namespace) and by the init (createContainer, startContainer, in the
//! container's namespaces).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use jinn_config::Hook;

/// The hook points of config.md, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }
}

/// The state document a hook reads on stdin (runtime.md "State").
pub fn state_json(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &Path,
    annotations: &BTreeMap<String, String>,
) -> String {
    let mut v = serde_json::json!({
        "ociVersion": "1.3.0",
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = serde_json::json!(annotations);
    }
    v.to_string()
}

/// Run `hooks` in order; the first failure stops the rest and is returned as
/// `<kind> hook <path>: <why>`.
pub fn run_all(kind: HookKind, hooks: &[Hook], state: &str) -> Result<(), String> {
    for h in hooks {
        run(h, state).map_err(|why| format!("{} hook {}: {why}", kind.name(), h.path.display()))?;
    }
    Ok(())
}

/// Run one hook to completion (or until its timeout, when it is killed).
pub fn run(hook: &Hook, state: &str) -> Result<(), String> {
    let mut cmd = Command::new(&hook.path);
    if let Some((arg0, rest)) = hook.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear()
        .envs(hook.env.iter().filter_map(|e| e.split_once('=')))
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state.as_bytes());
    }
    let status = match hook.timeout {
        None => child.wait().map_err(|e| e.to_string())?,
        Some(secs) => {
            let pidfd = jinn_sys::pidfd::open(child.id() as i32).map_err(jinn_sys::errno_text)?;
            let exited =
                jinn_sys::pidfd::wait_exit(pidfd.as_fd(), secs.saturating_mul(1000) as i32)
                    .map_err(jinn_sys::errno_text)?;
            if !exited {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {secs}s and was killed"));
            }
            child.wait().map_err(|e| e.to_string())?
        }
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(format!("exit status {code}")),
        (None, Some(sig)) => Err(format!("killed by signal {sig}")),
        _ => Err(format!("{status}")),
    }
}
