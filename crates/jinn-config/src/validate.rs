//! The runtime-spec (v1.3.0, Linux) rules that the typed parse does not enforce.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{
    Hook, LinuxDeviceType, LinuxIdMapping, LinuxNamespaceType, Mount, Process, Spec,
};

use crate::error::ConfigError;
use crate::mount_options::{parse_options, parse_propagation};

/// The newest runtime-spec minor version of major 1 that jinn implements.
const MAX_MINOR: u64 = 3;

/// Checks `spec` against the runtime spec; returns the first error found. Checks run in a
/// fixed order: ociVersion, root, process, hostname, mounts, hooks, annotations, linux.
pub fn validate(spec: &Spec, bundle: &Path) -> Result<(), ConfigError> {
    validate_version(spec.version())?;
    validate_root(spec, bundle)?;
    match spec.process() {
        Some(process) => validate_process(process)?,
        None => return Err(ConfigError::invalid("process", "required")),
    }
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if value.as_deref() == Some("") {
            return Err(ConfigError::invalid(field, "must not be empty"));
        }
    }
    let namespaces = namespace_types(spec);
    let has_userns = namespaces.contains(&LinuxNamespaceType::User);
    for (i, mount) in spec.mounts().iter().flatten().enumerate() {
        validate_mount(i, mount, has_userns)?;
    }
    if let Some(hooks) = spec.hooks() {
        #[allow(deprecated)]
        let lists = [
            ("prestart", hooks.prestart()),
            ("createRuntime", hooks.create_runtime()),
            ("createContainer", hooks.create_container()),
            ("startContainer", hooks.start_container()),
            ("poststart", hooks.poststart()),
            ("poststop", hooks.poststop()),
        ];
        for (name, list) in lists {
            for (i, hook) in list.iter().flatten().enumerate() {
                validate_hook(&format!("hooks.{name}[{i}]"), hook)?;
            }
        }
    }
    if let Some(annotations) = spec.annotations() {
        if annotations.contains_key("") {
            return Err(ConfigError::invalid(
                "annotations",
                "keys must not be empty",
            ));
        }
    }
    validate_linux(spec)?;
    validate_supported(spec)?;
    validate_fields(spec)
}

/// The linux fields that map onto single system calls (see `fields.rs`).
fn validate_fields(spec: &Spec) -> Result<(), ConfigError> {
    let Some(l) = spec.linux() else {
        return Ok(());
    };
    crate::fields::personality(l.personality().as_ref())?;
    crate::fields::time_offsets(spec, l.time_offsets().as_ref())?;
    crate::fields::memory_policy(l.memory_policy().as_ref())?;
    crate::fields::net_devices(spec, l.net_devices().as_ref())?;
    Ok(())
}

/// AppArmor and SELinux: jinn does not apply profiles or labels yet, so asking for one
/// (a non-empty value) is an error naming the field, never silently ignored.
pub fn refuse_lsm(field: &str, value: Option<&str>) -> Result<(), ConfigError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) => Err(ConfigError::invalid(
            field,
            format!("{v:?} cannot be applied: jinn does not support AppArmor or SELinux yet"),
        )),
        None => Ok(()),
    }
}

/// Fields of runtime-spec 1.3.0 that jinn does not apply yet: refused by name, never
/// silently ignored.
fn validate_supported(spec: &Spec) -> Result<(), ConfigError> {
    let not_yet = |field: &str| {
        Err(ConfigError::invalid(
            field,
            "is not supported by jinn yet (remove it to run without it)",
        ))
    };
    if let Some(l) = spec.linux() {
        if l.intel_rdt().is_some() {
            return not_yet("linux.intelRdt");
        }
        refuse_lsm("linux.mountLabel", l.mount_label().as_deref())?;
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let idmapped = m.uid_mappings().is_some()
            || m.gid_mappings().is_some()
            || m.options()
                .iter()
                .flatten()
                .any(|o| o == "idmap" || o == "ridmap");
        if idmapped && !is_bind(m) {
            return Err(ConfigError::invalid(
                format!("mounts[{i}]"),
                "idmapped mounts are supported for bind mounts only",
            ));
        }
    }
    Ok(())
}

/// Accepts SemVer 2.0.0 versions `1.0.0` to `1.3.x`, with pre-release (`-rc.1`, `-dev`) and
/// build suffixes.
fn validate_version(version: &str) -> Result<(), ConfigError> {
    const FIELD: &str = "ociVersion";
    if version.is_empty() {
        return Err(ConfigError::invalid(FIELD, "required"));
    }
    let bad = || ConfigError::invalid(FIELD, format!("{version:?} is not a semantic version"));
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let ident_ok =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    for suffix in [pre, build].into_iter().flatten() {
        if !suffix.split('.').all(ident_ok) {
            return Err(bad());
        }
    }
    let mut numbers = [0u64; 3];
    let mut parts = core.split('.');
    for n in &mut numbers {
        let part = parts.next().ok_or_else(bad)?;
        let leading_zero = part.len() > 1 && part.starts_with('0');
        if part.is_empty() || leading_zero || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        *n = part.parse().map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    if numbers[0] != 1 || numbers[1] > MAX_MINOR {
        return Err(ConfigError::invalid(
            FIELD,
            format!("{version:?} is not supported (jinn supports 1.0.0 to 1.{MAX_MINOR}.x)"),
        ));
    }
    Ok(())
}

fn validate_root(spec: &Spec, bundle: &Path) -> Result<(), ConfigError> {
    let Some(root) = spec.root() else {
        return Err(ConfigError::invalid("root", "required"));
    };
    if root.path().as_os_str().is_empty() {
        return Err(ConfigError::invalid("root.path", "required"));
    }
    let path = bundle.join(root.path());
    let meta = std::fs::metadata(&path).map_err(|source| ConfigError::Path {
        field: "root.path".into(),
        path: path.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ConfigError::Path {
            field: "root.path".into(),
            path,
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    Ok(())
}

pub(crate) fn validate_process(process: &Process) -> Result<(), ConfigError> {
    let lsm = [
        ("process.apparmorProfile", process.apparmor_profile()),
        ("process.selinuxLabel", process.selinux_label()),
    ];
    for (field, value) in lsm {
        refuse_lsm(field, value.as_deref())?;
    }
    if process.args().as_ref().is_none_or(|args| args.is_empty()) {
        return Err(ConfigError::invalid("process.args", "must not be empty"));
    }
    let cwd = process.cwd();
    if !cwd.is_absolute() {
        return Err(ConfigError::invalid(
            "process.cwd",
            format!("{:?} is not an absolute path", cwd.display().to_string()),
        ));
    }
    if let (Some(true), Some(size)) = (process.terminal(), process.console_size()) {
        for (name, value) in [("height", size.height()), ("width", size.width())] {
            if value > u64::from(u16::MAX) {
                return Err(ConfigError::invalid(
                    format!("process.consoleSize.{name}"),
                    format!("{value} is out of range (at most {})", u16::MAX),
                ));
            }
        }
    }
    crate::fields::io_priority(process)?;
    crate::fields::scheduler(process)?;
    crate::fields::exec_cpu_affinity(process)?;
    let mut seen = HashSet::new();
    for (i, rlimit) in process.rlimits().iter().flatten().enumerate() {
        let name = rlimit.typ().to_string();
        if !seen.insert(name.clone()) {
            return Err(ConfigError::invalid(
                format!("process.rlimits[{i}].type"),
                format!("{name:?} appears twice"),
            ));
        }
        if rlimit.soft() > rlimit.hard() {
            return Err(ConfigError::invalid(
                format!("process.rlimits[{i}].soft"),
                format!(
                    "{} is greater than hard limit {}",
                    rlimit.soft(),
                    rlimit.hard()
                ),
            ));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(ConfigError::invalid(
                "process.oomScoreAdj",
                format!("{adj} is out of range (-1000 to 1000)"),
            ));
        }
    }
    Ok(())
}

/// Whether `mount` is a bind mount (type `bind`, or a `bind`/`rbind` option).
pub(crate) fn is_bind(mount: &Mount) -> bool {
    mount.typ().as_deref() == Some("bind")
        || mount
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

fn validate_mount(i: usize, mount: &Mount, has_userns: bool) -> Result<(), ConfigError> {
    let field = format!("mounts[{i}]");
    if mount.destination().as_os_str().is_empty() {
        return Err(ConfigError::invalid(
            format!("{field}.destination"),
            "must not be empty",
        ));
    }
    let bind = is_bind(mount);
    if bind {
        if mount
            .source()
            .as_ref()
            .is_none_or(|s| s.as_os_str().is_empty())
        {
            return Err(ConfigError::invalid(
                format!("{field}.source"),
                "required for a bind mount",
            ));
        }
    } else if mount.typ().as_ref().is_none_or(|t| t.is_empty()) {
        return Err(ConfigError::invalid(
            format!("{field}.type"),
            "required for a mount that is not a bind mount",
        ));
    }
    let uid = mount.uid_mappings().as_deref().unwrap_or_default();
    let gid = mount.gid_mappings().as_deref().unwrap_or_default();
    if uid.is_empty() != gid.is_empty() {
        let missing = if uid.is_empty() {
            "uidMappings"
        } else {
            "gidMappings"
        };
        return Err(ConfigError::invalid(
            format!("{field}.{missing}"),
            "required: uidMappings and gidMappings go together",
        ));
    }
    validate_mappings(&format!("{field}.uidMappings"), uid)?;
    validate_mappings(&format!("{field}.gidMappings"), gid)?;
    let options = parse_options(mount.options().as_deref().unwrap_or_default());
    if options.idmap.is_some() && uid.is_empty() && !has_userns {
        return Err(ConfigError::invalid(
            format!("{field}.options"),
            "idmap needs uidMappings and gidMappings, or a user namespace",
        ));
    }
    Ok(())
}

fn validate_mappings(field: &str, mappings: &[LinuxIdMapping]) -> Result<(), ConfigError> {
    for (i, m) in mappings.iter().enumerate() {
        if m.size() == 0 {
            return Err(ConfigError::invalid(
                format!("{field}[{i}].size"),
                "must be greater than 0",
            ));
        }
        for (name, start) in [("containerID", m.container_id()), ("hostID", m.host_id())] {
            if u64::from(start) + u64::from(m.size()) > u64::from(u32::MAX) + 1 {
                return Err(ConfigError::invalid(
                    format!("{field}[{i}].{name}"),
                    format!("{start} + size {} overflows the id range", m.size()),
                ));
            }
        }
        // The kernel refuses overlapping lines in a uid_map or gid_map, on either side.
        for (j, earlier) in mappings[..i].iter().enumerate() {
            let overlaps = |a: u32, b: u32| {
                let (a, b, n, k) = (
                    u64::from(a),
                    u64::from(b),
                    u64::from(m.size()),
                    u64::from(earlier.size()),
                );
                a < b + k && b < a + n
            };
            if overlaps(m.container_id(), earlier.container_id())
                || overlaps(m.host_id(), earlier.host_id())
            {
                return Err(ConfigError::invalid(
                    format!("{field}[{i}]"),
                    format!("overlaps {field}[{j}]"),
                ));
            }
        }
    }
    Ok(())
}

fn validate_hook(field: &str, hook: &Hook) -> Result<(), ConfigError> {
    if !hook.path().is_absolute() {
        return Err(ConfigError::invalid(
            format!("{field}.path"),
            format!(
                "{:?} is not an absolute path",
                hook.path().display().to_string()
            ),
        ));
    }
    if let Some(timeout) = hook.timeout() {
        if timeout <= 0 {
            return Err(ConfigError::invalid(
                format!("{field}.timeout"),
                format!("{timeout} is not greater than zero"),
            ));
        }
        if timeout > i64::from(u32::MAX) {
            return Err(ConfigError::invalid(
                format!("{field}.timeout"),
                format!("{timeout} is out of range"),
            ));
        }
    }
    Ok(())
}

fn namespace_types(spec: &Spec) -> Vec<LinuxNamespaceType> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(|ns| ns.iter().map(|n| n.typ()).collect())
        .unwrap_or_default()
}

/// The config.json name of a namespace type.
pub(crate) fn namespace_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

fn absolute_paths(field: &str, paths: Option<&Vec<String>>) -> Result<(), ConfigError> {
    for (i, p) in paths.into_iter().flatten().enumerate() {
        if !p.starts_with('/') {
            return Err(ConfigError::invalid(
                format!("{field}[{i}]"),
                format!("{p:?} is not an absolute path"),
            ));
        }
    }
    Ok(())
}

/// The namespace a sysctl key belongs to (runc's rules), `None` if it is not namespaced.
fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC_KEYS: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC_KEYS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

fn validate_linux(spec: &Spec) -> Result<(), ConfigError> {
    let namespaces = namespace_types(spec);
    if spec.hostname().is_some() && !namespaces.contains(&LinuxNamespaceType::Uts) {
        return Err(ConfigError::invalid(
            "hostname",
            "needs a uts namespace (linux.namespaces has none)",
        ));
    }
    if spec.domainname().is_some() && !namespaces.contains(&LinuxNamespaceType::Uts) {
        return Err(ConfigError::invalid(
            "domainname",
            "needs a uts namespace (linux.namespaces has none)",
        ));
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    let mut new_userns = false;
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let name = namespace_name(ns.typ());
        if !seen.insert(ns.typ()) {
            return Err(ConfigError::invalid(
                format!("linux.namespaces[{i}].type"),
                format!("{name:?} appears twice"),
            ));
        }
        match ns.path() {
            Some(path) if !path.is_absolute() => {
                return Err(ConfigError::invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{:?} is not an absolute path", path.display().to_string()),
                ));
            }
            Some(_) => {}
            None => new_userns |= ns.typ() == LinuxNamespaceType::User,
        }
    }
    let uid = linux.uid_mappings().as_deref().unwrap_or_default();
    let gid = linux.gid_mappings().as_deref().unwrap_or_default();
    let has_userns = seen.contains(&LinuxNamespaceType::User);
    for (name, list) in [("uidMappings", uid), ("gidMappings", gid)] {
        let field = format!("linux.{name}");
        if !list.is_empty() && !has_userns {
            return Err(ConfigError::invalid(
                field,
                "needs a user namespace (linux.namespaces has none)",
            ));
        }
        if list.is_empty() && new_userns {
            return Err(ConfigError::invalid(
                field,
                "required when creating a user namespace",
            ));
        }
        validate_mappings(&field, list)?;
    }
    for (i, device) in linux.devices().iter().flatten().enumerate() {
        let path = device.path();
        if !path.is_absolute() {
            return Err(ConfigError::invalid(
                format!("linux.devices[{i}].path"),
                format!("{:?} is not an absolute path", path.display().to_string()),
            ));
        }
        if device.typ() == LinuxDeviceType::A {
            return Err(ConfigError::invalid(
                format!("linux.devices[{i}].type"),
                "\"a\" is not a device type (one of c, b, u, p)",
            ));
        }
    }
    absolute_paths("linux.maskedPaths", linux.masked_paths().as_ref())?;
    absolute_paths("linux.readonlyPaths", linux.readonly_paths().as_ref())?;
    if let Some(sysctl) = linux.sysctl() {
        let mut keys: Vec<&String> = sysctl.keys().collect();
        keys.sort();
        for key in keys {
            let field = format!("linux.sysctl[{key:?}]");
            if key.is_empty() {
                return Err(ConfigError::invalid(
                    "linux.sysctl",
                    "keys must not be empty",
                ));
            }
            let dotted = key.replace('/', ".");
            match sysctl_namespace(&dotted) {
                Some(t) if namespaces.contains(&t) => {}
                Some(t) => {
                    return Err(ConfigError::invalid(
                        field,
                        format!(
                            "needs a {} namespace (linux.namespaces has none)",
                            namespace_name(t)
                        ),
                    ));
                }
                None => {
                    return Err(ConfigError::invalid(
                        field,
                        "is not in a separate kernel namespace",
                    ));
                }
            }
        }
    }
    if let Some(p) = linux.rootfs_propagation() {
        if parse_propagation(p).is_none() {
            return Err(ConfigError::invalid(
                "linux.rootfsPropagation",
                format!("{p:?} is not one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable"),
            ));
        }
    }
    if let Some(resources) = linux.resources() {
        // config-linux.md: "You MUST specify at least one of weight or leafWeight in a
        // given entry" (blockIO.weightDevice), "at least one of the hcaHandles or
        // hcaObjects" (rdma).
        let weight_devices = resources
            .block_io()
            .as_ref()
            .and_then(|b| b.weight_device().clone());
        for (i, d) in weight_devices.iter().flatten().enumerate() {
            if d.weight().is_none() && d.leaf_weight().is_none() {
                return Err(ConfigError::invalid(
                    format!("linux.resources.blockIO.weightDevice[{i}]"),
                    "needs weight or leafWeight",
                ));
            }
        }
        let rdma = resources.rdma().clone().unwrap_or_default();
        let mut devices: Vec<&String> = rdma.keys().collect();
        devices.sort();
        for dev in devices {
            let r = &rdma[dev];
            if r.hca_handles().is_none() && r.hca_objects().is_none() {
                return Err(ConfigError::invalid(
                    format!("linux.resources.rdma.{dev}"),
                    "needs hcaHandles or hcaObjects",
                ));
            }
        }
        for (i, limit) in resources.hugepage_limits().iter().flatten().enumerate() {
            if !valid_page_size(limit.page_size()) {
                return Err(ConfigError::invalid(
                    format!("linux.resources.hugepageLimits[{i}].pageSize"),
                    format!(
                        "{:?} is not a page size like 2MB (pattern ^[1-9][0-9]*[KMG]B$)",
                        limit.page_size()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// config-linux.md's `pageSize` format: `^[1-9][0-9]*[KMG]B$`.
fn valid_page_size(s: &str) -> bool {
    let Some(number) = s
        .strip_suffix("KB")
        .or_else(|| s.strip_suffix("MB"))
        .or_else(|| s.strip_suffix("GB"))
    else {
        return false;
    };
    !number.is_empty() && !number.starts_with('0') && number.bytes().all(|b| b.is_ascii_digit())
}
