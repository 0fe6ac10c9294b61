//! `linux.resources.rdma`: `rdma.max` (same name in v1 and v2), one line
//! per device: `mlx4_0 hca_handle=2 hca_object=2000`.

use std::collections::HashMap;

use oci_spec::runtime::LinuxRdma;

use crate::error::Result;
use crate::resources::Target;
use crate::{fs, Cgroup};

const FIELD: &str = "linux.resources.rdma";

pub(crate) fn apply(cg: &Cgroup, rdma: &HashMap<String, LinuxRdma>) -> Result<()> {
    let mut lines: Vec<(String, String)> = rdma
        .iter()
        .filter_map(|(device, limits)| {
            let mut line = device.clone();
            if let Some(h) = limits.hca_handles() {
                line.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = limits.hca_objects() {
                line.push_str(&format!(" hca_object={o}"));
            }
            (line != *device).then(|| (device.clone(), line))
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    lines.sort();
    let (Target::V1(dir) | Target::V2(dir)) = cg.target("rdma", FIELD)?;
    for (device, line) in lines {
        fs::write_field(dir, "rdma.max", &line, &format!("{FIELD}.{device}"))?;
    }
    Ok(())
}
