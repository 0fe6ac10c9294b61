//! OCI hooks: run one program with the container state on its stdin, its own env, and
//! a timeout. Used by the parent (prestart, createRuntime, poststart, poststop, in the
//! runtime namespace) and by the init (createContainer, startContainer, in the
//! container's namespaces).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
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
    // argv and environ exactly as given (order and duplicates kept): `Command` would
    // sort and dedup the environment, so the child execs with these vectors itself.
    let exec = ExecVectors::new(hook)?;
    let mut cmd = Command::new(&hook.path);
    cmd.env_clear().stdin(Stdio::piped());
    // SAFETY: the closure runs between fork and exec; it only calls execve (which is
    // async-signal-safe) on vectors built before the fork, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || Err(exec.execve()));
    }
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let Some(stdin) = child.stdin.take() {
        feed(stdin, state);
    }
    wait(&mut child, hook.timeout)
}

/// Write the state to the hook's stdin without blocking past its timeout: a state that
/// fits in an empty pipe is written here; a larger one (big annotations) from a
/// detached thread, so a hook that does not read it can still be timed out. A hook
/// that does not read its stdin is fine: the write's EPIPE is ignored.
fn feed(mut stdin: std::process::ChildStdin, state: &str) {
    if state.len() <= libc::PIPE_BUF {
        let _ = stdin.write_all(state.as_bytes());
        return;
    }
    let spare = stdin.as_fd().try_clone_to_owned().ok();
    let bytes = state.as_bytes().to_vec();
    let spawned = std::thread::Builder::new()
        .name("hook-stdin".into())
        .spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    match (spawned, spare) {
        // The thread holds the only write end: the hook sees EOF once it is done.
        (Ok(_), spare) => drop(spare),
        // No thread (e.g. RLIMIT_NPROC): write here, as best we can.
        (Err(_), Some(fd)) => {
            let _ = std::fs::File::from(fd).write_all(state.as_bytes());
        }
        (Err(_), None) => {}
    }
}

/// Wait for the hook; past `timeout` seconds kill it.
fn wait(child: &mut std::process::Child, timeout: Option<u32>) -> Result<(), String> {
    let status = match timeout {
        None => child.wait().map_err(|e| e.to_string())?,
        Some(secs) => {
            let pidfd = jinn_sys::pidfd::open(child.id() as i32).map_err(jinn_sys::errno_text)?;
            let ms = i32::try_from(u64::from(secs) * 1000).unwrap_or(i32::MAX);
            let exited =
                jinn_sys::pidfd::wait_exit(pidfd.as_fd(), ms).map_err(jinn_sys::errno_text)?;
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

/// `execve`'s path, argv and envp for a hook, built before the fork.
struct ExecVectors {
    path: CString,
    // The pointer arrays point into these strings (heap buffers: they stay put).
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

// SAFETY: the raw pointers only point into the CStrings owned by the same value, which
// are never mutated.
unsafe impl Send for ExecVectors {}
unsafe impl Sync for ExecVectors {}

impl ExecVectors {
    /// `execve` these vectors; returns only on failure. Allocates nothing (for use
    /// between fork and exec).
    fn execve(&self) -> std::io::Error {
        // SAFETY: NUL-terminated strings and NULL-terminated pointer arrays that live
        // as long as `self`.
        unsafe {
            libc::execve(
                self.path.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
            )
        };
        std::io::Error::last_os_error()
    }

    fn new(hook: &Hook) -> Result<ExecVectors, String> {
        let c = |what: &str, s: &[u8]| {
            CString::new(s).map_err(|_| format!("{what} contains a NUL byte"))
        };
        let path = c("path", hook.path.as_os_str().as_bytes())?;
        // execv semantics: args[0] is argv[0]; without args, argv is just the path.
        let argv = if hook.args.is_empty() {
            vec![path.clone()]
        } else {
            hook.args
                .iter()
                .map(|a| c("args", a.as_bytes()))
                .collect::<Result<_, _>>()?
        };
        let envp: Vec<CString> = hook
            .env
            .iter()
            .map(|e| c("env", e.as_bytes()))
            .collect::<Result<_, _>>()?;
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        Ok(ExecVectors {
            argv_ptrs: ptrs(&argv),
            envp_ptrs: ptrs(&envp),
            path,
            _argv: argv,
            _envp: envp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn hook(path: &str, args: &[&str], env: &[&str], timeout: Option<u32>) -> Hook {
        Hook {
            path: path.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env.iter().map(|s| s.to_string()).collect(),
            timeout,
        }
    }

    #[test]
    fn argv_and_env_are_passed_as_given() {
        let dir = std::env::temp_dir().join(format!("jinn-hook-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let script = format!(
            "exec 3< /proc/self/cmdline 4< /proc/self/environ; \
             {{ tr '\\0' '\\n' <&3; echo --; tr '\\0' '\\n' <&4; echo --; cat; }} > {}",
            out.display()
        );
        let env = ["Z=1", "A=2", "Z=3", "PATH=/usr/bin:/bin"];
        run(
            &hook("/bin/sh", &["argv-zero", "-c", &script], &env, None),
            "the-state",
        )
        .unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got,
            format!(
                "argv-zero\n-c\n{script}\n--\nZ=1\nA=2\nZ=3\nPATH=/usr/bin:/bin\n--\nthe-state"
            )
        );
    }

    #[test]
    fn a_large_state_is_written_whole() {
        let dir = std::env::temp_dir().join(format!("jinn-hook-large-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let state = "s".repeat(1 << 20);
        let script = format!("wc -c > {}", out.display());
        run(
            &hook("/bin/sh", &["sh", "-c", &script], &[], Some(10)),
            &state,
        )
        .unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got.trim(), (1 << 20).to_string());
    }

    #[test]
    fn a_hook_that_ignores_a_large_state_still_times_out() {
        let state = "s".repeat(1 << 20);
        let t0 = Instant::now();
        let err = run(&hook("/bin/sleep", &["sleep", "30"], &[], Some(1)), &state).unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }

    #[test]
    fn failures_name_the_cause() {
        let e = run(&hook("/bin/sh", &["sh", "-c", "exit 3"], &[], None), "").unwrap_err();
        assert_eq!(e, "exit status 3");
        let e = run(&hook("/nonexistent/hook", &[], &[], None), "").unwrap_err();
        assert!(e.contains("No such file"), "{e}");
        let e = run_all(
            HookKind::Poststart,
            &[hook("/bin/false", &[], &[], None)],
            "",
        )
        .unwrap_err();
        assert_eq!(e, "poststart hook /bin/false: exit status 1");
    }
}
