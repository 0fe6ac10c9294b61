//! What `create` keeps in the container's state directory for later commands (hooks,
//! the process, the seccomp profile), so that a config.json changed since create does
//! not change the container.

use anyhow::Result;
use jinn_state::Container;

/// poststart and poststop hooks run from later processes (`start`, `delete`), and
/// config.json may have changed by then: keep them as they were at create.
pub fn save_late_hooks(container: &Container, plan: &jinn_config::Plan) -> Result<()> {
    if !plan.hooks.poststart.is_empty() || !plan.hooks.poststop.is_empty() {
        container.write_file(HOOKS_FILE, &serde_json::to_vec(&plan.hooks)?)?;
    }
    Ok(())
}

/// `exec` starts from the container's process as planned at create.
pub fn save_process(container: &Container, process: &jinn_config::ProcessPlan) -> Result<()> {
    Ok(container.write_file(PROCESS_FILE, &serde_json::to_vec(process)?)?)
}

/// The container's process as planned at create (the base of `exec`'s).
pub fn load_process(container: &Container) -> Result<jinn_config::ProcessPlan> {
    Ok(serde_json::from_slice(&container.read_file(PROCESS_FILE)?)?)
}

/// `exec` processes get the container's seccomp filter too.
pub fn save_seccomp(
    container: &Container,
    seccomp: Option<&oci_spec::runtime::LinuxSeccomp>,
) -> Result<()> {
    match seccomp {
        Some(s) => Ok(container.write_file(SECCOMP_FILE, &serde_json::to_vec(s)?)?),
        None => Ok(()),
    }
}

/// The container's seccomp filter, compiled again from what `create` kept.
pub fn load_seccomp(container: &Container) -> Result<Option<jinn_seccomp::Filter>> {
    match container.read_file(SECCOMP_FILE) {
        Ok(bytes) => {
            let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_slice(&bytes)?;
            Ok(Some(jinn_seccomp::compile(&s)?))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// For a NOTIFY filter, the connection to its agent at `listenerPath` (a host path, so
/// made here, before the clone).
pub fn seccomp_listener(
    filter: Option<&jinn_seccomp::Filter>,
) -> Result<Option<jinn_seccomp::ListenerConnection>> {
    match filter.and_then(|f| f.listener_path().filter(|_| f.uses_notify())) {
        Some(path) => Ok(Some(jinn_seccomp::ListenerConnection::connect(path)?)),
        None => Ok(None),
    }
}

const SECCOMP_FILE: &str = "seccomp.json";

/// Where `create` keeps the container's process, in the state directory.
const PROCESS_FILE: &str = "process.json";

/// The hooks as planned at create, if any are run after it.
pub fn load_hooks(container: &Container) -> Result<jinn_config::Hooks> {
    match container.read_file(HOOKS_FILE) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
        Err(e) if e.is_not_found() => Ok(jinn_config::Hooks::default()),
        Err(e) => Err(e.into()),
    }
}

/// Where `create` keeps the hooks, in the state directory.
const HOOKS_FILE: &str = "hooks.json";
