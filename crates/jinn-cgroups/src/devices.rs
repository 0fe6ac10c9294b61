//! `linux.resources.devices`: v1 `devices.deny`/`devices.allow`; on cgroup v2 an eBPF
//! program attached to the cgroup (ebpf.rs).

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{CgroupError, Result};
use crate::resources::Target;
use crate::{ebpf, fs, Cgroup};

const FIELD: &str = "linux.resources.devices";

/// Deny everything, then write each rule in order. The caller includes the
/// devices every container gets (/dev/null, /dev/zero, ...) in `rules`, as
/// runc's spec conversion does.
pub(crate) fn apply(cg: &Cgroup, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    if cg.v1_dir("devices").is_none() {
        if let Some(dir) = cg.v2_dir() {
            return apply_v2(dir, rules);
        }
    }
    match cg.target("devices", FIELD)? {
        Target::V1(dir) => apply_v1(dir, rules),
        Target::V2(_) => unreachable!("cgroup2 has no devices interface files"),
    }
}

/// cgroup v2 has no device files: the rules become an eBPF program attached to the
/// cgroup directory (see ebpf.rs).
fn apply_v2(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let rules = rules.iter().map(bpf_rule).collect::<Result<Vec<_>>>()?;
    let prog =
        ebpf::load(&ebpf::compile(&rules)).map_err(|reason| CgroupError::InvalidResource {
            field: FIELD,
            reason: format!("load the device eBPF program: {reason}"),
        })?;
    let cgroup = std::fs::File::open(dir).map_err(|error| CgroupError::Read {
        path: dir.to_path_buf(),
        error,
    })?;
    ebpf::attach(prog.as_fd(), cgroup.as_fd()).map_err(|e| CgroupError::Write {
        path: dir.to_path_buf(),
        error: std::io::Error::from_raw_os_error(e as i32),
    })
}

/// A rule for the eBPF program: `a` matches every type; no number matches every number.
fn bpf_rule(rule: &LinuxDeviceCgroup) -> Result<ebpf::DeviceRule> {
    rule_line(rule)?; // the same checks as for v1
    let kind = match rule.typ().unwrap_or_default() {
        LinuxDeviceType::A => None,
        LinuxDeviceType::B => Some(ebpf::DEV_BLOCK),
        _ => Some(ebpf::DEV_CHAR),
    };
    let number = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as u32);
    let access = rule
        .access()
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("rwm");
    let mut bits = 0;
    for c in access.chars() {
        bits |= match c {
            'r' => ebpf::ACC_READ,
            'w' => ebpf::ACC_WRITE,
            _ => ebpf::ACC_MKNOD,
        };
    }
    Ok(ebpf::DeviceRule {
        allow: rule.allow(),
        kind,
        major: number(rule.major()),
        minor: number(rule.minor()),
        access: bits,
    })
}

fn apply_v1(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let lines = rules
        .iter()
        .map(|r| Ok((r.allow(), rule_line(r)?)))
        .collect::<Result<Vec<_>>>()?;
    fs::write_in(dir, "devices.deny", "a")?;
    for (allow, line) in lines {
        let file = if allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        fs::write_in(dir, file, &line)?;
    }
    Ok(())
}

/// A rule in the devices cgroup syntax: `c 1:3 rwm`, `a *:* rwm`.
pub(crate) fn rule_line(rule: &LinuxDeviceCgroup) -> Result<String> {
    let invalid = |reason: String| CgroupError::InvalidResource {
        field: FIELD,
        reason,
    };
    let typ = match rule.typ().unwrap_or_default() {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => {
            return Err(invalid(
                "type \"p\" (fifo) cannot be expressed in the devices cgroup".to_owned(),
            ))
        }
    };
    let number = |n: Option<i64>| match n {
        None | Some(-1) => Ok("*".to_owned()),
        Some(n) if n >= 0 => Ok(n.to_string()),
        Some(n) => Err(invalid(format!("device number {n} is negative"))),
    };
    let access = rule.access().as_deref().unwrap_or("rwm");
    let access = if access.is_empty() { "rwm" } else { access };
    if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(invalid(format!(
            "access {access:?} is not made of r, w and m"
        )));
    }
    Ok(format!(
        "{typ} {}:{} {access}",
        number(rule.major())?,
        number(rule.minor())?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn rule(
        typ: Option<LinuxDeviceType>,
        major: Option<i64>,
        minor: Option<i64>,
        access: Option<&str>,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(true);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        if let Some(a) = access {
            b = b.access(a);
        }
        b.build().unwrap()
    }

    #[test]
    fn rule_lines() {
        assert_eq!(
            rule_line(&rule(None, None, None, None)).unwrap(),
            "a *:* rwm"
        );
        assert_eq!(
            rule_line(&rule(
                Some(LinuxDeviceType::C),
                Some(1),
                Some(3),
                Some("rw")
            ))
            .unwrap(),
            "c 1:3 rw"
        );
        assert_eq!(
            rule_line(&rule(Some(LinuxDeviceType::B), Some(8), None, Some("m"))).unwrap(),
            "b 8:* m"
        );
        assert_eq!(
            rule_line(&rule(Some(LinuxDeviceType::U), Some(5), Some(-1), None)).unwrap(),
            "c 5:* rwm"
        );
        assert!(rule_line(&rule(Some(LinuxDeviceType::P), None, None, None)).is_err());
        let err = rule_line(&rule(None, None, None, Some("rx"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.resources.devices: access \"rx\" is not made of r, w and m"
        );
    }
}
