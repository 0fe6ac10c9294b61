//! The container's `Cgroup` when systemd owns it: made by starting the unit, changed
//! through the unit's properties as well as its files, removed by stopping the unit.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxResources;

use super::{base_properties, properties, scope, Property, Systemd, Unit};
use crate::error::{CgroupError, Result};
use crate::Cgroup;

impl Cgroup {
    /// `--systemd-cgroup`: the unit `linux.cgroupsPath` names (absent: `jinn-<id>.scope`
    /// in `system.slice`) and the directories of the cgroup systemd will make for it.
    /// Nothing is asked of the system's systemd yet. The user's instance (rootless) is
    /// asked for its own cgroup, which holds its units (the default slice is then
    /// `user.slice`, as in runc).
    pub fn new_systemd(cgroups_path: Option<&str>, id: &str) -> Result<Cgroup> {
        let unit = if super::user_manager() {
            let mut unit = scope::parse_in(cgroups_path, id, scope::DEFAULT_USER_SLICE)?;
            let base = super::with(|sd| sd.manager_control_group())?;
            unit.cgroup = user_unit_cgroup(&base, &unit.cgroup);
            unit
        } else {
            scope::parse(cgroups_path, id)?
        };
        let mut cg = Cgroup::at(unit.cgroup.clone())?;
        cg.systemd = Some(unit);
        Ok(cg)
    }

    /// The systemd unit that owns this cgroup, if any.
    pub fn systemd_unit(&self) -> Option<&Unit> {
        self.systemd.as_ref()
    }

    /// Every property the unit starts with: the base ones, `resources`, then the
    /// `org.systemd.property.*` annotations (the last value of a name wins). Made before
    /// anything exists, so a bad value fails early.
    pub fn systemd_properties(
        &self,
        description: &str,
        resources: Option<&LinuxResources>,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<Property>> {
        let Some(unit) = &self.systemd else {
            return Ok(Vec::new());
        };
        let mut props = base_properties(unit, description, self.layout);
        if let Some(r) = resources {
            props.extend(properties::from_resources(r, self.layout)?);
        }
        props.extend(properties::from_annotations(annotations)?);
        Ok(props)
    }

    /// Start the unit with `pid` in it, check that systemd put it where expected, and
    /// make sure `pid` is in every hierarchy (a slice, and v1 hierarchies systemd does
    /// not manage, are joined through their files). `linux.resources` are then applied
    /// to the files by the caller, as without systemd.
    pub fn start_systemd(&self, sd: &mut Systemd, pid: i32, props: &[Property]) -> Result<()> {
        let Some(unit) = &self.systemd else {
            return Ok(());
        };
        let scope_pid = (!unit.is_slice()).then_some(pid);
        sd.start_unit(unit, scope_pid, props)?;
        let got = sd.control_group(unit)?;
        if got != unit.cgroup {
            return Err(CgroupError::SystemdCgroup {
                unit: unit.name.clone(),
                got,
                want: unit.cgroup.clone(),
            });
        }
        self.create()?;
        self.add_pid(pid)
    }

    /// `update`: the unit's properties first (systemd rewrites the files it owns from
    /// them), then every resource to the files.
    pub fn update(&self, resources: &LinuxResources) -> Result<()> {
        if let Some(unit) = &self.systemd {
            let props = properties::from_resources(resources, self.layout)?;
            if !props.is_empty() {
                super::with(|sd| sd.set_properties(&unit.name, props))?;
            }
        }
        self.apply(resources)
    }

    /// Stop the unit (when there is one): systemd removes its cgroup. With systemd gone
    /// there is no unit left to stop: a warning, so the container can still be deleted.
    pub(crate) fn stop_systemd_unit(&self) -> Result<()> {
        let Some(unit) = &self.systemd else {
            return Ok(());
        };
        match super::with(|sd| sd.stop_unit(&unit.name)) {
            Err(e @ CgroupError::SystemdConnect { .. }) => {
                tracing::warn!("stop unit {}: {e}", unit.name);
                Ok(())
            }
            other => other,
        }
    }
}

/// The cgroup of a user's unit: the manager's cgroup, then the unit's as the system's
/// systemd would place it.
fn user_unit_cgroup(manager: &str, unit: &str) -> String {
    let base = manager.trim_end_matches('/');
    if unit == "/" {
        return if base.is_empty() {
            "/".into()
        } else {
            base.into()
        };
    }
    format!("{base}{unit}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_units_are_below_the_manager() {
        let m = "/user.slice/user-1000.slice/user@1000.service";
        assert_eq!(
            super::user_unit_cgroup(m, "/user.slice/libpod-abc.scope"),
            format!("{m}/user.slice/libpod-abc.scope")
        );
        assert_eq!(super::user_unit_cgroup("/", "/a.slice"), "/a.slice");
        assert_eq!(super::user_unit_cgroup(m, "/"), m);
    }
}
