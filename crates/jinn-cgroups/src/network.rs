//! `linux.resources.network`: v1 `net_cls.classid` and `net_prio.ifpriomap`.
//! cgroup v2 has neither controller: a value there is an error naming it.

use oci_spec::runtime::LinuxNetwork;

use crate::error::Result;
use crate::resources::Target;
use crate::{fs, Cgroup};

const CLASS_ID: &str = "linux.resources.network.classID";
const PRIORITIES: &str = "linux.resources.network.priorities";

pub(crate) fn apply(cg: &Cgroup, network: &LinuxNetwork) -> Result<()> {
    if let Some(id) = network.class_id() {
        let (Target::V1(dir) | Target::V2(dir)) = cg.target("net_cls", CLASS_ID)?;
        fs::write_field(dir, "net_cls.classid", &id.to_string(), CLASS_ID)?;
    }
    let priorities = network.priorities().as_deref().unwrap_or_default();
    if !priorities.is_empty() {
        let (Target::V1(dir) | Target::V2(dir)) = cg.target("net_prio", PRIORITIES)?;
        for (i, p) in priorities.iter().enumerate() {
            let line = format!("{} {}", p.name(), p.priority());
            fs::write_field(
                dir,
                "net_prio.ifpriomap",
                &line,
                &format!("{PRIORITIES}[{i}]"),
            )?;
        }
    }
    Ok(())
}
