//! `linux.resources.pids`: `pids.max` (same name in v1 and v2).

use oci_spec::runtime::LinuxPids;

use crate::error::Result;
use crate::resources::Target;
use crate::{fs, Cgroup};

const LIMIT: &str = "linux.resources.pids.limit";

/// A limit of 0 is "not set" (runc); a negative one is no limit.
pub(crate) fn apply(cg: &Cgroup, pids: &LinuxPids) -> Result<()> {
    if pids.limit() == 0 {
        return Ok(());
    }
    let (Target::V1(dir) | Target::V2(dir)) = cg.target("pids", LIMIT)?;
    fs::write_field(dir, "pids.max", &pids_max(pids.limit()), LIMIT)
}

/// `-1` (and `0`) mean no limit, as runc treats them.
pub(crate) fn pids_max(limit: i64) -> String {
    if limit <= 0 {
        "max".to_owned()
    } else {
        limit.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pids_max_values() {
        assert_eq!(super::pids_max(-1), "max");
        assert_eq!(super::pids_max(0), "max");
        assert_eq!(super::pids_max(42), "42");
    }
}
