//! `linux.resources.cpu.cpus`/`mems`: `cpuset.cpus` and `cpuset.mems`
//! (same names in v1 and v2), plus the v1 rule that a new cpuset cgroup
//! starts empty and must inherit its parent's sets before it takes tasks.

use oci_spec::runtime::LinuxCpu;

use crate::error::Result;
use crate::path::CgroupDir;
use crate::resources::Target;
use crate::{fs, Cgroup};

pub(crate) fn apply(cg: &Cgroup, cpu: &LinuxCpu) -> Result<()> {
    let cpus = cpu.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = cpu.mems().as_deref().filter(|s| !s.is_empty());
    let field = match (cpus, mems) {
        (Some(_), _) => "linux.resources.cpu.cpus",
        (None, Some(_)) => "linux.resources.cpu.mems",
        (None, None) => return Ok(()),
    };
    let (Target::V1(dir) | Target::V2(dir)) = cg.target("cpuset", field)?;
    if let Some(cpus) = cpus {
        fs::write_field(dir, "cpuset.cpus", cpus, "linux.resources.cpu.cpus")?;
    }
    if let Some(mems) = mems {
        fs::write_field(dir, "cpuset.mems", mems, "linux.resources.cpu.mems")?;
    }
    Ok(())
}

/// v1: walk from the mount point down to the leaf and copy `cpuset.cpus`
/// and `cpuset.mems` from the parent into every level where they are empty.
pub(crate) fn init_v1_levels(dir: &CgroupDir) -> Result<()> {
    let rel = dir.path.strip_prefix(&dir.mountpoint).unwrap_or(&dir.path);
    let mut parent = dir.mountpoint.clone();
    for component in rel.components() {
        let level = parent.join(component);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if fs::read(&level.join(file))?.trim().is_empty() {
                let inherited = fs::read(&parent.join(file))?;
                fs::write(&level.join(file), inherited.trim())?;
            }
        }
        parent = level;
    }
    Ok(())
}
