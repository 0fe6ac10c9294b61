//! `linux.resources.cpu` shares/quota/period/burst/realtime/idle: v1
//! `cpu.shares`, `cpu.cfs_quota_us`, `cpu.cfs_period_us`, `cpu.cfs_burst_us`,
//! `cpu.rt_period_us`, `cpu.rt_runtime_us`, `cpu.idle`; v2 `cpu.weight`,
//! `cpu.max`, `cpu.max.burst`, `cpu.idle` (no realtime on v2).
//! (`cpus`/`mems` are in `cpuset.rs`.)

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::{CgroupError, Result};
use crate::resources::Target;
use crate::{fs, Cgroup};

const SHARES: &str = "linux.resources.cpu.shares";
const QUOTA: &str = "linux.resources.cpu.quota";
const PERIOD: &str = "linux.resources.cpu.period";
const BURST: &str = "linux.resources.cpu.burst";
const RT_RUNTIME: &str = "linux.resources.cpu.realtimeRuntime";
const RT_PERIOD: &str = "linux.resources.cpu.realtimePeriod";
const IDLE: &str = "linux.resources.cpu.idle";

pub(crate) fn apply(cg: &Cgroup, cpu: &LinuxCpu) -> Result<()> {
    // 0 means "not set", as in runc.
    let shares = cpu.shares().unwrap_or(0);
    let quota = cpu.quota().unwrap_or(0);
    let period = cpu.period().unwrap_or(0);
    let rt_runtime = cpu.realtime_runtime().unwrap_or(0);
    let rt_period = cpu.realtime_period().unwrap_or(0);
    // A negative quota is "unlimited" for the kernel (and runc passes it on).
    if rt_runtime < -1 {
        return Err(CgroupError::InvalidResource {
            field: RT_RUNTIME,
            reason: format!("{rt_runtime} is neither -1 (unlimited) nor a number of µs"),
        });
    }
    let field = [
        (SHARES, shares != 0),
        (QUOTA, quota != 0),
        (PERIOD, period != 0),
        (BURST, cpu.burst().is_some()),
        (RT_RUNTIME, rt_runtime != 0),
        (RT_PERIOD, rt_period != 0),
        (IDLE, cpu.idle().is_some()),
    ]
    .into_iter()
    .find_map(|(field, set)| set.then_some(field));
    let Some(field) = field else {
        return Ok(());
    };
    match cg.target("cpu", field)? {
        Target::V1(dir) => {
            apply_v1(dir, shares, quota, period)?;
            if let Some(burst) = cpu.burst() {
                fs::write_field(dir, "cpu.cfs_burst_us", &burst.to_string(), BURST)?;
            }
            // The period first: a runtime is checked against it (runc's order).
            if rt_period != 0 {
                fs::write_field(dir, "cpu.rt_period_us", &rt_period.to_string(), RT_PERIOD)?;
            }
            if rt_runtime != 0 {
                fs::write_field(
                    dir,
                    "cpu.rt_runtime_us",
                    &rt_runtime.to_string(),
                    RT_RUNTIME,
                )?;
            }
            if let Some(idle) = cpu.idle() {
                fs::write_field(dir, "cpu.idle", &idle.to_string(), IDLE)?;
            }
            Ok(())
        }
        Target::V2(dir) => {
            if rt_runtime != 0 || rt_period != 0 {
                return Err(CgroupError::InvalidResource {
                    field: if rt_runtime != 0 {
                        RT_RUNTIME
                    } else {
                        RT_PERIOD
                    },
                    reason: "realtime scheduling limits do not exist in cgroup v2".to_owned(),
                });
            }
            if shares != 0 {
                let weight = shares_to_weight(shares).to_string();
                fs::write_field(dir, "cpu.weight", &weight, SHARES)?;
            }
            if quota != 0 || period != 0 {
                // Keep what is not given (an update of the period alone).
                let current = fs::read_opt(&dir.join("cpu.max"))?.unwrap_or_default();
                let mut words = current.split_whitespace();
                let old_quota = words.next().unwrap_or("max").to_owned();
                let old_period = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                let max = cpu_max_line(quota, period, &old_quota, old_period);
                fs::write_field(
                    dir,
                    "cpu.max",
                    &max,
                    if quota != 0 { QUOTA } else { PERIOD },
                )?;
            }
            if let Some(burst) = cpu.burst() {
                fs::write_field(dir, "cpu.max.burst", &burst.to_string(), BURST)?;
            }
            if let Some(idle) = cpu.idle() {
                fs::write_field(dir, "cpu.idle", &idle.to_string(), IDLE)?;
            }
            Ok(())
        }
    }
}

fn apply_v1(dir: &Path, shares: u64, quota: i64, period: u64) -> Result<()> {
    if shares != 0 {
        fs::write_field(dir, "cpu.shares", &shares.to_string(), SHARES)?;
    }
    let mut period_pending = false;
    if period != 0 {
        match fs::write_field(dir, "cpu.cfs_period_us", &period.to_string(), PERIOD) {
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
        fs::write_field(dir, "cpu.cfs_quota_us", &quota.to_string(), QUOTA)?;
        if period_pending {
            fs::write_field(dir, "cpu.cfs_period_us", &period.to_string(), PERIOD)?;
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

/// The v2 `cpu.max` line ("quota period" or "max period") for a new quota
/// and/or period (0 = not given), keeping the current values
/// (`old_quota` "max" or µs, `old_period` µs, 0 = unknown) for what is not given.
pub(crate) fn cpu_max_line(quota: i64, period: u64, old_quota: &str, old_period: u64) -> String {
    let quota = match quota {
        0 => old_quota.to_owned(),
        q if q < 0 => "max".to_owned(),
        q => q.to_string(),
    };
    let period = if period != 0 { period } else { old_period };
    if period == 0 {
        quota
    } else {
        format!("{quota} {period}")
    }
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
    fn cpu_max_keeps_what_is_not_given() {
        assert_eq!(cpu_max_line(50_000, 0, "max", 100_000), "50000 100000");
        assert_eq!(
            cpu_max_line(50_000, 200_000, "max", 100_000),
            "50000 200000"
        );
        assert_eq!(cpu_max_line(-1, 200_000, "20000", 100_000), "max 200000");
        assert_eq!(cpu_max_line(0, 200_000, "20000", 100_000), "20000 200000");
        assert_eq!(cpu_max_line(-1, 0, "20000", 0), "max");
    }
}
