//! `linux.resources.memory`: v1 `memory.limit_in_bytes` and
//! `memory.memsw.limit_in_bytes`; v2 `memory.max` and `memory.swap.max`.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::error::{CgroupError, Result};
use crate::resources::Target;
use crate::{fs, Cgroup};

const LIMIT: &str = "linux.resources.memory.limit";
const SWAP: &str = "linux.resources.memory.swap";

pub(crate) fn apply(cg: &Cgroup, memory: &LinuxMemory) -> Result<()> {
    warn_unapplied(memory);
    // 0 means "not set", as in runc.
    let limit = memory.limit().unwrap_or(0);
    let swap = memory.swap().unwrap_or(0);
    if limit == 0 && swap == 0 {
        return Ok(());
    }
    if limit < -1 {
        return Err(CgroupError::InvalidResource {
            field: LIMIT,
            reason: format!("{limit} is neither -1 (unlimited) nor a byte count"),
        });
    }
    let field = if limit != 0 { LIMIT } else { SWAP };
    match cg.target("memory", field)? {
        Target::V1(dir) => apply_v1(dir, limit, swap),
        Target::V2(dir) => apply_v2(dir, limit, swap),
    }
}

fn warn_unapplied(memory: &LinuxMemory) {
    let unapplied = [
        ("reservation", memory.reservation().is_some()),
        ("kernel", memory.kernel().is_some()),
        ("kernelTCP", memory.kernel_tcp().is_some()),
        ("swappiness", memory.swappiness().is_some()),
        ("disableOOMKiller", memory.disable_oom_killer().is_some()),
        ("useHierarchy", memory.use_hierarchy().is_some()),
        ("checkBeforeUpdate", memory.check_before_update().is_some()),
    ];
    for (name, _) in unapplied.iter().filter(|(_, present)| *present) {
        tracing::warn!("linux.resources.memory.{name} is not applied yet");
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
    let set_limit = || fs::write_in(dir, "memory.limit_in_bytes", &limit.to_string());
    let set_swap = || fs::write_in(dir, "memory.memsw.limit_in_bytes", &swap.to_string());
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
        match fs::write_in(dir, "memory.swap.max", &value) {
            // No swap on this host: unlimited or no swap is already the case.
            Err(CgroupError::Write { error, .. })
                if error.kind() == std::io::ErrorKind::NotFound
                    && (value == "max" || value == "0") => {}
            other => other?,
        }
    }
    match limit {
        0 => Ok(()),
        -1 => fs::write_in(dir, "memory.max", "max"),
        n => fs::write_in(dir, "memory.max", &n.to_string()),
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
