//! `linux.resources`: dispatch to one module per controller, and the
//! lookup of the directory that carries a controller.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::error::{CgroupError, Result};
use crate::{
    blkio, cpu, cpuset, devices, fs, hugetlb, memory, network, pids, rdma, unified, Cgroup, Layout,
};

/// Where a controller's files are for this cgroup.
pub(crate) enum Target<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Cgroup {
    /// Write `resources` into the cgroup's files. Call after `create`, and
    /// for `update` with only the fields to change: an absent (or, where
    /// runc says so, zero) value leaves the file alone.
    pub fn apply(&self, resources: &LinuxResources) -> Result<()> {
        if let Some(m) = resources.memory() {
            memory::apply(self, m)?;
        }
        if let Some(c) = resources.cpu() {
            cpu::apply(self, c)?;
            cpuset::apply(self, c)?;
        }
        if let Some(p) = resources.pids() {
            pids::apply(self, p)?;
        }
        if let Some(io) = resources.block_io() {
            blkio::apply(self, io)?;
        }
        if let Some(limits) = resources.hugepage_limits() {
            hugetlb::apply(self, limits)?;
        }
        if let Some(n) = resources.network() {
            network::apply(self, n)?;
        }
        if let Some(r) = resources.rdma() {
            rdma::apply(self, r)?;
        }
        if let Some(d) = resources.devices() {
            devices::apply(self, d)?;
        }
        if let Some(u) = resources.unified() {
            unified::apply(self, u)?;
        }
        Ok(())
    }

    /// The directory holding `controller`'s files, or an error naming
    /// `field` when the host cannot apply it.
    pub(crate) fn target(
        &self,
        controller: &'static str,
        field: &'static str,
    ) -> Result<Target<'_>> {
        let missing = || CgroupError::ControllerMissing { field, controller };
        if self.layout() != Layout::V2 {
            if let Some(dir) = self.v1_dir(controller) {
                return Ok(Target::V1(dir));
            }
        }
        // Pure v2, or a controller a hybrid host moved to its cgroup2 tree.
        let dir = self.v2_dir().ok_or_else(missing)?;
        let available = fs::read(&dir.join("cgroup.controllers"))?;
        if available.split_whitespace().any(|c| c == controller) {
            Ok(Target::V2(dir))
        } else {
            Err(missing())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::{hierarchies, parse_mountinfo, parse_proc_cgroup};
    use crate::path;

    /// A v1 host where only the memory controller is mounted.
    fn memory_only() -> Cgroup {
        let mounts =
            parse_mountinfo("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
                .unwrap();
        let own = parse_proc_cgroup("4:memory:/\n8:pids:/\n").unwrap();
        let found = hierarchies(&mounts, &own).unwrap();
        Cgroup {
            layout: Layout::V1,
            path: "/c1".into(),
            dirs: path::dirs(Layout::V1, "/c1", &found).unwrap(),
            created: Default::default(),
            systemd: None,
        }
    }

    #[test]
    fn unmounted_controller_is_an_error_naming_field_and_controller() {
        let cg = memory_only();
        let resources: LinuxResources = serde_json::from_str(r#"{"pids": {"limit": 10}}"#).unwrap();
        let err = cg.apply(&resources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.resources.pids.limit: the pids cgroup controller is not available on this host"
        );
        let resources: LinuxResources =
            serde_json::from_str(r#"{"cpu": {"cpus": "0-1"}}"#).unwrap();
        let err = cg.apply(&resources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.resources.cpu.cpus: the cpuset cgroup controller is not available on this host"
        );
    }

    #[test]
    fn unset_values_touch_nothing() {
        // Empty objects need no controller and write no file.
        let resources: LinuxResources =
            serde_json::from_str(r#"{"cpu": {}, "memory": {}}"#).unwrap();
        memory_only().apply(&resources).unwrap();
    }
}
