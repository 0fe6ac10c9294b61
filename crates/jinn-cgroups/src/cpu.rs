//! `linux.resources.cpu` shares/quota/period: v1 `cpu.shares`,
//! `cpu.cfs_quota_us`, `cpu.cfs_period_us`; v2 `cpu.weight`, `cpu.max`.
//! (`cpus`/`mems` are in `cpuset.rs`.)

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::Result;
use crate::resources::Target;
use crate::{fs, Cgroup};

pub(crate) fn apply(cg: &Cgroup, cpu: &LinuxCpu) -> Result<()> {
    let unapplied = [
        ("realtimeRuntime", cpu.realtime_runtime().is_some()),
        ("realtimePeriod", cpu.realtime_period().is_some()),
        ("idle", cpu.idle().is_some()),
        ("burst", cpu.burst().is_some()),
    ];
    for (name, _) in unapplied.iter().filter(|(_, present)| *present) {
        tracing::warn!("linux.resources.cpu.{name} is not applied yet");
    }
    // 0 means "not set", as in runc.
    let shares = cpu.shares().unwrap_or(0);
    let quota = cpu.quota().unwrap_or(0);
    let period = cpu.period().unwrap_or(0);
    let field = if shares != 0 {
        "linux.resources.cpu.shares"
    } else if quota != 0 {
        "linux.resources.cpu.quota"
    } else if period != 0 {
        "linux.resources.cpu.period"
    } else {
        return Ok(());
    };
    match cg.target("cpu", field)? {
        Target::V1(dir) => apply_v1(dir, shares, quota, period),
        Target::V2(dir) => {
            if shares != 0 {
                fs::write_in(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
            }
            match cpu_max(quota, period) {
                Some(max) => fs::write_in(dir, "cpu.max", &max),
                None => Ok(()),
            }
        }
    }
}

fn apply_v1(dir: &Path, shares: u64, quota: i64, period: u64) -> Result<()> {
    if shares != 0 {
        fs::write_in(dir, "cpu.shares", &shares.to_string())?;
    }
    let mut period_pending = false;
    if period != 0 {
        match fs::write_in(dir, "cpu.cfs_period_us", &period.to_string()) {
            Ok(()) => {}
            // A shorter period can be refused (EINVAL) while the old quota
            // exceeds the parent's limit: retry once the quota is set (runc).
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && quota != 0 => {
                period_pending = true;
            }
            Err(e) => return Err(e),
        }
    }
    if quota != 0 {
        fs::write_in(dir, "cpu.cfs_quota_us", &quota.to_string())?;
        if period_pending {
            fs::write_in(dir, "cpu.cfs_period_us", &period.to_string())?;
        }
    }
    Ok(())
}

/// v1 `cpu.shares` [2, 262144] to v2 `cpu.weight` [1, 10000], runc's
/// formula `1 + ((shares - 2) * 9999) / 262142`; 0 = unset. Out-of-range
/// shares are clamped first, as the kernel does for v1.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The v2 `cpu.max` line ("quota period" or "max period"); `None` when
/// neither is set. The kernel's default period is 100000 µs.
pub(crate) fn cpu_max(quota: i64, period: u64) -> Option<String> {
    if quota <= 0 && period == 0 {
        return None;
    }
    let period = if period == 0 { 100_000 } else { period };
    Some(if quota <= 0 {
        format!("max {period}")
    } else {
        format!("{quota} {period}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_to_weight_matches_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1 << 40), 10_000);
    }

    #[test]
    fn cpu_max_matches_runc() {
        assert_eq!(cpu_max(0, 0), None);
        assert_eq!(cpu_max(-1, 0), None);
        assert_eq!(cpu_max(50_000, 0).as_deref(), Some("50000 100000"));
        assert_eq!(cpu_max(50_000, 200_000).as_deref(), Some("50000 200000"));
        assert_eq!(cpu_max(-1, 200_000).as_deref(), Some("max 200000"));
    }
}
