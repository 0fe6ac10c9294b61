//! [`Spec`] → [`Plan`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, LinuxDeviceType, LinuxIdMapping, LinuxNamespaceType, Mount, Process, Spec,
};

use crate::error::ConfigError;
use crate::mount_options::{parse_options, parse_propagation};
use crate::plan::{
    CapabilitiesPlan, DeviceKind, DevicePlan, Hook, Hooks, IdMapping, MountKind, MountPlan,
    NamespaceKind, NamespacePlan, Plan, ProcessPlan, RlimitPlan, UserPlan,
};
use crate::tables::{capability_number, rlimit_number};
use crate::validate::is_bind;

/// Translates a (validated) spec into a [`Plan`]. `bundle` should be absolute; relative
/// paths of the config are resolved against it.
pub fn translate(spec: &Spec, bundle: &Path) -> Result<Plan, ConfigError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("root", "required"))?;
    let rootfs_path = bundle.join(root.path());
    let rootfs = rootfs_path
        .canonicalize()
        .map_err(|source| ConfigError::Path {
            field: "root.path".into(),
            path: rootfs_path,
            source,
        })?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("process", "required"))?;
    // Not `Linux::default()`: oci-spec's default lists namespaces and devices.
    let linux = spec.linux().as_ref();

    let uid_mappings = mappings(linux.and_then(|l| l.uid_mappings().as_deref()));
    let gid_mappings = mappings(linux.and_then(|l| l.gid_mappings().as_deref()));
    let mut mounts = Vec::new();
    for (i, mount) in spec.mounts().iter().flatten().enumerate() {
        mounts.push(translate_mount(
            i,
            mount,
            bundle,
            &uid_mappings,
            &gid_mappings,
        )?);
    }

    let namespaces = linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .map(|ns| NamespacePlan {
            kind: namespace_kind(ns.typ()),
            path: ns.path().clone(),
        })
        .collect();

    let devices = linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| {
            let kind = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
                LinuxDeviceType::B => DeviceKind::Block,
                LinuxDeviceType::P => DeviceKind::Fifo,
                LinuxDeviceType::A => {
                    return Err(ConfigError::invalid(
                        format!("linux.devices[{i}].type"),
                        "\"a\" is not a device type (one of c, b, u, p)",
                    ))
                }
            };
            Ok(DevicePlan {
                path: d.path().clone(),
                kind,
                major: d.major(),
                minor: d.minor(),
                file_mode: d.file_mode().unwrap_or(0o666) & 0o7777,
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let rootfs_propagation = match linux.and_then(|l| l.rootfs_propagation().as_ref()) {
        Some(p) => Some(parse_propagation(p).ok_or_else(|| {
            ConfigError::invalid(
                "linux.rootfsPropagation",
                format!("{p:?} is not a propagation mode"),
            )
        })?),
        None => None,
    };

    let cgroups_path = match linux.and_then(|l| l.cgroups_path().as_ref()) {
        Some(p) => Some(
            p.to_str()
                .ok_or_else(|| ConfigError::invalid("linux.cgroupsPath", "is not valid utf-8"))?
                .to_string(),
        ),
        None => None,
    };

    Ok(Plan {
        oci_version: spec.version().clone(),
        bundle: bundle.to_path_buf(),
        rootfs,
        rootfs_readonly: root.readonly().unwrap_or(false),
        hostname: spec.hostname().clone(),
        domainname: spec.domainname().clone(),
        mounts,
        process: translate_process(process)?,
        namespaces,
        uid_mappings,
        gid_mappings,
        devices,
        masked_paths: paths(linux.and_then(|l| l.masked_paths().as_deref())),
        readonly_paths: paths(linux.and_then(|l| l.readonly_paths().as_deref())),
        rootfs_propagation,
        sysctl: sorted(linux.and_then(|l| l.sysctl().as_ref())),
        cgroups_path,
        resources: Some(crate::device_rules::with_default_device_rules(
            linux.and_then(|l| l.resources().clone()),
        )),
        seccomp: linux.and_then(|l| l.seccomp().clone()),
        hooks: translate_hooks(spec)?,
        annotations: sorted(spec.annotations().as_ref()),
        personality: crate::fields::personality(linux.and_then(|l| l.personality().as_ref()))?,
        time_offsets: crate::fields::time_offsets(
            spec,
            linux.and_then(|l| l.time_offsets().as_ref()),
        )?,
        memory_policy: crate::fields::memory_policy(
            linux.and_then(|l| l.memory_policy().as_ref()),
        )?,
        net_devices: crate::fields::net_devices(
            spec,
            linux.and_then(|l| l.net_devices().as_ref()),
        )?,
    })
}

fn sorted(map: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn paths(list: Option<&[String]>) -> Vec<PathBuf> {
    list.unwrap_or_default().iter().map(PathBuf::from).collect()
}

fn mappings(list: Option<&[LinuxIdMapping]>) -> Vec<IdMapping> {
    list.unwrap_or_default()
        .iter()
        .map(|m| IdMapping {
            container_id: m.container_id(),
            host_id: m.host_id(),
            size: m.size(),
        })
        .collect()
}

pub(crate) fn namespace_kind(t: LinuxNamespaceType) -> NamespaceKind {
    match t {
        LinuxNamespaceType::Mount => NamespaceKind::Mount,
        LinuxNamespaceType::Cgroup => NamespaceKind::Cgroup,
        LinuxNamespaceType::Uts => NamespaceKind::Uts,
        LinuxNamespaceType::Ipc => NamespaceKind::Ipc,
        LinuxNamespaceType::User => NamespaceKind::User,
        LinuxNamespaceType::Pid => NamespaceKind::Pid,
        LinuxNamespaceType::Network => NamespaceKind::Network,
        LinuxNamespaceType::Time => NamespaceKind::Time,
    }
}

fn translate_mount(
    i: usize,
    mount: &Mount,
    bundle: &Path,
    container_uid: &[IdMapping],
    container_gid: &[IdMapping],
) -> Result<MountPlan, ConfigError> {
    let field = format!("mounts[{i}]");
    let options = parse_options(mount.options().as_deref().unwrap_or_default());
    let dest = mount.destination();
    let destination = if dest.is_absolute() {
        dest.clone()
    } else {
        // config.md: relative destinations are deprecated and relative to "/".
        tracing::warn!(
            "{field}.destination: {:?} is not absolute; using it relative to /",
            dest.display().to_string()
        );
        Path::new("/").join(dest)
    };
    let kind = if is_bind(mount) {
        let source = mount
            .source()
            .as_ref()
            .filter(|s| !s.as_os_str().is_empty())
            .ok_or_else(|| {
                ConfigError::invalid(format!("{field}.source"), "required for a bind mount")
            })?;
        MountKind::Bind {
            source: bundle.join(source),
            recursive: options.bind == Some(true),
        }
    } else {
        let fstype = mount
            .typ()
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ConfigError::invalid(
                    format!("{field}.type"),
                    "required for a mount that is not a bind mount",
                )
            })?;
        let source = match mount.source() {
            Some(s) if !s.as_os_str().is_empty() => s
                .to_str()
                .ok_or_else(|| {
                    ConfigError::invalid(format!("{field}.source"), "is not valid utf-8")
                })?
                .to_string(),
            _ => fstype.clone(),
        };
        MountKind::Filesystem { fstype, source }
    };
    if options.tmpcopyup {
        tracing::warn!("{field}.options: tmpcopyup is not supported by jinn; ignored");
    }
    let mut uid_mappings = mappings(mount.uid_mappings().as_deref());
    let mut gid_mappings = mappings(mount.gid_mappings().as_deref());
    let mut idmap = options.idmap;
    if uid_mappings.is_empty() && idmap.is_some() {
        // config.md: without mount mappings the runtime MAY use the container's.
        if container_uid.is_empty() {
            return Err(ConfigError::invalid(
                format!("{field}.options"),
                "idmap needs uidMappings and gidMappings, or a user namespace",
            ));
        }
        uid_mappings = container_uid.to_vec();
        gid_mappings = container_gid.to_vec();
    } else if !uid_mappings.is_empty() && idmap.is_none() {
        // Mappings without the option (allowed before runtime-spec 1.2): an idmapped mount.
        idmap = Some(false);
    }
    Ok(MountPlan {
        destination,
        kind,
        attr_set: options.attr_set,
        attr_clear: options.attr_clear,
        rec_attr_set: options.rec_attr_set,
        rec_attr_clear: options.rec_attr_clear,
        propagation: options.propagation,
        data: options.data,
        uid_mappings,
        gid_mappings,
        idmap,
        remount: options.remount,
    })
}

fn capability_mask(field: &str, set: Option<&Capabilities>) -> Result<u64, ConfigError> {
    let mut mask = 0u64;
    for cap in set.into_iter().flatten() {
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let number = capability_number(&name).ok_or_else(|| {
            ConfigError::invalid(field, format!("{name:?} is not a known capability"))
        })?;
        mask |= 1u64 << number;
    }
    Ok(mask)
}

pub(crate) fn translate_process(process: &Process) -> Result<ProcessPlan, ConfigError> {
    let terminal = process.terminal().unwrap_or(false);
    let console_size = match (terminal, process.console_size()) {
        (true, Some(size)) => {
            let height = u16::try_from(size.height()).map_err(|_| {
                ConfigError::invalid("process.consoleSize.height", "is out of range")
            })?;
            let width = u16::try_from(size.width()).map_err(|_| {
                ConfigError::invalid("process.consoleSize.width", "is out of range")
            })?;
            Some((height, width))
        }
        // config.md: consoleSize is ignored without a terminal.
        _ => None,
    };
    let capabilities = match process.capabilities() {
        Some(c) => Some(CapabilitiesPlan {
            bounding: capability_mask("process.capabilities.bounding", c.bounding().as_ref())?,
            effective: capability_mask("process.capabilities.effective", c.effective().as_ref())?,
            inheritable: capability_mask(
                "process.capabilities.inheritable",
                c.inheritable().as_ref(),
            )?,
            permitted: capability_mask("process.capabilities.permitted", c.permitted().as_ref())?,
            ambient: capability_mask("process.capabilities.ambient", c.ambient().as_ref())?,
        }),
        None => None,
    };
    let rlimits = process
        .rlimits()
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, r)| {
            let name = r.typ().to_string();
            let resource = rlimit_number(&name).ok_or_else(|| {
                ConfigError::invalid(
                    format!("process.rlimits[{i}].type"),
                    format!("{name:?} is not a known rlimit"),
                )
            })?;
            Ok(RlimitPlan {
                resource,
                soft: r.soft(),
                hard: r.hard(),
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let user = process.user();
    let (cpu_affinity_initial, cpu_affinity_final) = crate::fields::exec_cpu_affinity(process)?;
    Ok(ProcessPlan {
        terminal,
        console_size,
        args: process.args().clone().unwrap_or_default(),
        env: process.env().clone().unwrap_or_default(),
        cwd: process.cwd().clone(),
        user: UserPlan {
            uid: user.uid(),
            gid: user.gid(),
            umask: user.umask(),
            additional_gids: user.additional_gids().clone().unwrap_or_default(),
        },
        capabilities,
        rlimits,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        oom_score_adj: process.oom_score_adj(),
        io_priority: crate::fields::io_priority(process)?,
        scheduler: crate::fields::scheduler(process)?,
        cpu_affinity_initial,
        cpu_affinity_final,
    })
}

fn translate_hooks(spec: &Spec) -> Result<Hooks, ConfigError> {
    let Some(hooks) = spec.hooks() else {
        return Ok(Hooks::default());
    };
    let list = |name: &str, list: &Option<Vec<oci_spec::runtime::Hook>>| {
        list.iter()
            .flatten()
            .enumerate()
            .map(|(i, h)| {
                let timeout = match h.timeout() {
                    Some(t) => Some(u32::try_from(t).ok().filter(|&t| t > 0).ok_or_else(|| {
                        ConfigError::invalid(
                            format!("hooks.{name}[{i}].timeout"),
                            format!("{t} is not greater than zero"),
                        )
                    })?),
                    None => None,
                };
                Ok(Hook {
                    path: h.path().clone(),
                    args: h.args().clone().unwrap_or_default(),
                    env: h.env().clone().unwrap_or_default(),
                    timeout,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()
    };
    #[allow(deprecated)]
    let prestart = list("prestart", hooks.prestart())?;
    Ok(Hooks {
        prestart,
        create_runtime: list("createRuntime", hooks.create_runtime())?,
        create_container: list("createContainer", hooks.create_container())?,
        start_container: list("startContainer", hooks.start_container())?,
        poststart: list("poststart", hooks.poststart())?,
        poststop: list("poststop", hooks.poststop())?,
    })
}
