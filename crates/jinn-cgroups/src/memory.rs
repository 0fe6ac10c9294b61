//! `linux.resources.memory`: v1 `memory.limit_in_bytes`,
//! `memory.memsw.limit_in_bytes`, `memory.soft_limit_in_bytes`,
//! `memory.swappiness`, `memory.oom_control`; v2 `memory.max`,
//! `memory.swap.max`, `memory.low`. `kernelTCP` is v1's
//! `memory.kmem.tcp.limit_in_bytes` (no v2 equivalent: ignored there with a
//! warning); `kernel` (gone from the spec, refused by recent kernels) is
//! ignored; `checkBeforeUpdate` refuses a limit below the usage.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::error::{CgroupError, Result};
use crate::resources::Target;
use crate::{fs, Cgroup};

const LIMIT: &str = "linux.resources.memory.limit";
const SWAP: &str = "linux.resources.memory.swap";
const RESERVATION: &str = "linux.resources.memory.reservation";
const SWAPPINESS: &str = "linux.resources.memory.swappiness";
const OOM: &str = "linux.resources.memory.disableOOMKiller";
const HIERARCHY: &str = "linux.resources.memory.useHierarchy";
const KERNEL_TCP: &str = "linux.resources.memory.kernelTCP";

pub(crate) fn apply(cg: &Cgroup, memory: &LinuxMemory) -> Result<()> {
    // 0 means "not set", as in runc; -1 means unlimited.
    let limit = memory.limit().unwrap_or(0);
    let swap = memory.swap().unwrap_or(0);
    let reservation = memory.reservation().unwrap_or(0);
    for (field, value) in [(LIMIT, limit), (SWAP, swap), (RESERVATION, reservation)] {
        if value < -1 {
            return Err(CgroupError::InvalidResource {
                field,
                reason: format!("{value} is neither -1 (unlimited) nor a byte count"),
            });
        }
    }
    let swappiness = memory.swappiness();
    if let Some(s) = swappiness.filter(|s| *s > 100) {
        return Err(CgroupError::InvalidResource {
            field: SWAPPINESS,
            reason: format!("{s} is outside the range 0-100"),
        });
    }
    // Kernel memory limits are deprecated and ignored (runc 1.1 does the same;
    // recent kernels refuse them).
    if memory.kernel().is_some() {
        tracing::warn!("linux.resources.memory.kernel is deprecated and ignored");
    }
    let kernel_tcp = memory.kernel_tcp();
    if let Some(v) = kernel_tcp.filter(|v| *v < -1) {
        return Err(CgroupError::InvalidResource {
            field: KERNEL_TCP,
            reason: format!("{v} is neither -1 (unlimited) nor a byte count"),
        });
    }
    let oom_disable = memory.disable_oom_killer();
    let hierarchy = memory.use_hierarchy() == Some(true);
    let field = [
        (LIMIT, limit != 0),
        (SWAP, swap != 0),
        (RESERVATION, reservation != 0),
        (SWAPPINESS, swappiness.is_some()),
        (OOM, oom_disable.is_some()),
        (HIERARCHY, hierarchy),
        (KERNEL_TCP, kernel_tcp.is_some()),
    ]
    .into_iter()
    .find_map(|(field, set)| set.then_some(field));
    let Some(field) = field else {
        return Ok(());
    };
    let target = cg.target("memory", field)?;
    if memory.check_before_update() == Some(true) && limit > 0 {
        let usage_file = match target {
            Target::V1(dir) => dir.join("memory.usage_in_bytes"),
            Target::V2(dir) => dir.join("memory.current"),
        };
        let usage = fs::read_u64(&usage_file)?;
        if usage > limit as u64 {
            return Err(CgroupError::InvalidResource {
                field: LIMIT,
                reason: format!(
                    "{limit} is below the current usage {usage} (checkBeforeUpdate is set)"
                ),
            });
        }
    }
    match target {
        Target::V1(dir) => {
            if limit != 0 || swap != 0 {
                apply_v1(dir, limit, swap)?;
            }
            if reservation != 0 {
                fs::write_field(
                    dir,
                    "memory.soft_limit_in_bytes",
                    &reservation.to_string(),
                    RESERVATION,
                )?;
            }
            if let Some(s) = swappiness {
                fs::write_field(dir, "memory.swappiness", &s.to_string(), SWAPPINESS)?;
            }
            if let Some(off) = oom_disable {
                fs::write_field(dir, "memory.oom_control", if off { "1" } else { "0" }, OOM)?;
            }
            if hierarchy {
                fs::write_field(dir, "memory.use_hierarchy", "1", HIERARCHY)?;
            }
            if let Some(v) = kernel_tcp {
                fs::write_field(
                    dir,
                    "memory.kmem.tcp.limit_in_bytes",
                    &v.to_string(),
                    KERNEL_TCP,
                )?;
            }
            Ok(())
        }
        Target::V2(dir) => {
            if swappiness.is_some() {
                tracing::warn!("{SWAPPINESS} has no cgroup v2 equivalent; ignored");
            }
            if oom_disable == Some(true) {
                tracing::warn!("{OOM} has no cgroup v2 equivalent; ignored");
            }
            if kernel_tcp.is_some() {
                tracing::warn!("{KERNEL_TCP} has no cgroup v2 equivalent; ignored");
            }
            if limit != 0 || swap != 0 {
                apply_v2(dir, limit, swap)?;
            }
            match reservation {
                0 => Ok(()),
                -1 => fs::write_field(dir, "memory.low", "max", RESERVATION),
                n => fs::write_field(dir, "memory.low", &n.to_string(), RESERVATION),
            }
        }
    }
}

/// v1: swap is memory+swap (`memory.memsw.limit_in_bytes`). The kernel
/// requires memsw >= memory at every moment, so the write order depends on
/// the current limit (runc's order).
fn apply_v1(dir: &Path, limit: i64, mut swap: i64) -> Result<()> {
    let has_swap = dir.join("memory.memsw.limit_in_bytes").exists();
    if limit == -1 && swap == 0 && has_swap {
        // Unlimited memory with swap unset: unlimited swap too.
        swap = -1;
    }
    if swap != 0 && !has_swap {
        return Err(CgroupError::InvalidResource {
            field: SWAP,
            reason: format!(
                "swap accounting is off on this host (no {}/memory.memsw.limit_in_bytes)",
                dir.display()
            ),
        });
    }
    let set_limit = || fs::write_field(dir, "memory.limit_in_bytes", &limit.to_string(), LIMIT);
    let set_swap = || fs::write_field(dir, "memory.memsw.limit_in_bytes", &swap.to_string(), SWAP);
    if limit != 0 && swap != 0 {
        let current: u64 = fs::read(&dir.join("memory.limit_in_bytes"))?
            .trim()
            .parse()
            .unwrap_or(u64::MAX);
        if swap == -1 || current < swap as u64 {
            set_swap()?;
            return set_limit();
        }
    }
    if limit != 0 {
        set_limit()?;
    }
    if swap != 0 {
        set_swap()?;
    }
    Ok(())
}

/// v2: `memory.swap.max` is swap alone, so it is converted from OCI's
/// memory+swap value.
fn apply_v2(dir: &Path, limit: i64, swap: i64) -> Result<()> {
    let swap_max = swap_v2_value(swap, limit).map_err(|reason| CgroupError::InvalidResource {
        field: SWAP,
        reason: reason.to_owned(),
    })?;
    if let Some(value) = swap_max {
        match fs::write_field(dir, "memory.swap.max", &value, SWAP) {
            // No swap on this host: unlimited or no swap is already the case.
            Err(CgroupError::FieldWrite { error, .. })
                if error.kind() == std::io::ErrorKind::NotFound
                    && (value == "max" || value == "0") => {}
            other => other?,
        }
    }
    match limit {
        0 => Ok(()),
        -1 => fs::write_field(dir, "memory.max", "max", LIMIT),
        n => fs::write_field(dir, "memory.max", &n.to_string(), LIMIT),
    }
}

/// OCI `swap` (memory+swap) to a v2 `memory.swap.max` value (runc's
/// `ConvertMemorySwapToCgroupV2Value`); `None` = leave it alone.
pub(crate) fn swap_v2_value(swap: i64, limit: i64) -> Result<Option<String>, &'static str> {
    if limit == -1 && swap == 0 {
        return Ok(Some("max".to_owned()));
    }
    match swap {
        0 => return Ok(None),
        -1 => return Ok(Some("max".to_owned())),
        _ => {}
    }
    if limit == 0 || limit == -1 {
        return Err("unable to set a swap limit without a memory limit");
    }
    if swap < limit {
        return Err("memory+swap limit should be >= memory limit");
    }
    Ok(Some((swap - limit).to_string()))
}

#[cfg(test)]
mod tests {
    use super::swap_v2_value;

    #[test]
    fn swap_conversion_matches_runc() {
        assert_eq!(swap_v2_value(0, 0), Ok(None));
        assert_eq!(swap_v2_value(0, 1 << 20), Ok(None));
        assert_eq!(swap_v2_value(0, -1), Ok(Some("max".into())));
        assert_eq!(swap_v2_value(-1, 1 << 20), Ok(Some("max".into())));
        assert_eq!(
            swap_v2_value(3 << 20, 1 << 20),
            Ok(Some((2 << 20).to_string()))
        );
        // memory == memory+swap: no swap at all.
        assert_eq!(swap_v2_value(1 << 20, 1 << 20), Ok(Some("0".into())));
        assert!(swap_v2_value(1 << 20, 2 << 20).is_err());
        assert!(swap_v2_value(1 << 20, 0).is_err());
        assert!(swap_v2_value(1 << 20, -1).is_err());
    }
}
