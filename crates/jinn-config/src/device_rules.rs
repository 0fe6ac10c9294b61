//! The device cgroup rules every container gets, appended after the config's own
//! `linux.resources.devices` as runc does: mknod of anything, and read/write of the
//! default devices, the ptys and the tun/tap device.

use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources,
};

/// (type, major, minor (-1 = any), access).
const DEFAULT_RULES: [(LinuxDeviceType, i64, i64, &str); 11] = [
    (LinuxDeviceType::C, -1, -1, "m"),
    (LinuxDeviceType::B, -1, -1, "m"),
    (LinuxDeviceType::C, 1, 3, "rwm"),    // /dev/null
    (LinuxDeviceType::C, 1, 8, "rwm"),    // /dev/random
    (LinuxDeviceType::C, 1, 7, "rwm"),    // /dev/full
    (LinuxDeviceType::C, 5, 0, "rwm"),    // /dev/tty
    (LinuxDeviceType::C, 1, 5, "rwm"),    // /dev/zero
    (LinuxDeviceType::C, 1, 9, "rwm"),    // /dev/urandom
    (LinuxDeviceType::C, 136, -1, "rwm"), // /dev/pts/*
    (LinuxDeviceType::C, 5, 2, "rwm"),    // /dev/ptmx
    (LinuxDeviceType::C, 10, 200, "rwm"), // /dev/net/tun
];

fn rule(typ: LinuxDeviceType, major: i64, minor: i64, access: &str) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .access(access.to_string());
    if major >= 0 {
        b = b.major(major);
    }
    if minor >= 0 {
        b = b.minor(minor);
    }
    b.build().expect("every field of a device rule is set")
}

/// `resources` with the default rules appended to its device list (a config without
/// resources gets resources holding only these rules).
pub fn with_default_device_rules(resources: Option<LinuxResources>) -> LinuxResources {
    let mut r = resources.unwrap_or_default();
    let mut rules = r.devices().clone().unwrap_or_default();
    rules.extend(
        DEFAULT_RULES
            .iter()
            .map(|&(t, maj, min, acc)| rule(t, maj, min, acc)),
    );
    r.set_devices(Some(rules));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_after_the_config_rules() {
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm".to_string())
            .build()
            .unwrap();
        let mut r = LinuxResources::default();
        r.set_devices(Some(vec![deny_all.clone()]));
        let out = with_default_device_rules(Some(r));
        let rules = out.devices().as_ref().unwrap();
        assert_eq!(rules.len(), 1 + DEFAULT_RULES.len());
        assert_eq!(rules[0], deny_all);
        assert_eq!(rules[3].major(), Some(1));
        assert_eq!(rules[3].minor(), Some(3));
        assert_eq!(rules[1].major(), None, "mknod rule is for any major");
    }

    #[test]
    fn no_resources_still_get_the_defaults() {
        let out = with_default_device_rules(None);
        assert_eq!(out.devices().as_ref().unwrap().len(), DEFAULT_RULES.len());
        assert!(out.memory().is_none());
    }
}
