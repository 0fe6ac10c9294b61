//! Resource usage in runc's `events --stats` layout (runc 1.1's
//! `types/events.go`, which containerd's `runc/events` decodes): the same
//! field names and the same Go `omitempty` rules, so the JSON is
//! byte-for-byte comparable with runc's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::{fs, hugetlb, Cgroup, Layout};

fn zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    pub intel_rdt: IntelRdt,
    /// Interfaces of networks runc itself set up: never any for an OCI bundle.
    pub network_interfaces: Option<Vec<NetworkInterface>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    #[serde(default, skip_serializing_if = "zero")]
    pub total: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttling {
    #[serde(default, skip_serializing_if = "zero")]
    pub periods: u64,
    #[serde(default, rename = "throttledPeriods", skip_serializing_if = "zero")]
    pub throttled_periods: u64,
    #[serde(default, rename = "throttledTime", skip_serializing_if = "zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSet {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(default, skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(default, skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    #[serde(default, skip_serializing_if = "zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pids {
    #[serde(default, skip_serializing_if = "zero")]
    pub current: u64,
    #[serde(default, skip_serializing_if = "zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlkioEntry {
    #[serde(default, skip_serializing_if = "zero")]
    pub major: u64,
    #[serde(default, skip_serializing_if = "zero")]
    pub minor: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(default, skip_serializing_if = "zero")]
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Blkio {
    #[serde(
        default,
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "ioServicedRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "ioQueueRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_queued_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "ioServiceTimeRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "ioWaitTimeRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "ioMergedRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_merged_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "ioTimeRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_time_recursive: Vec<BlkioEntry>,
    #[serde(
        default,
        rename = "sectorsRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hugetlb {
    #[serde(default, skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(default, skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// Intel RDT is not supported: always `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntelRdt {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

impl Cgroup {
    /// Read the statistics of every controller this cgroup has. A missing
    /// controller leaves its part at zero, as in runc.
    pub fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        if self.layout() == Layout::V2 {
            if let Some(dir) = self.v2_dir() {
                v2_stats(dir, &mut stats)?;
            }
            return Ok(stats);
        }
        if let Some(dir) = self.v1_dir("cpuacct") {
            v1_cpuacct(dir, &mut stats.cpu.usage)?;
        }
        if let Some(dir) = self.v1_dir("cpu") {
            let kv = key_values(&fs::read_opt(&dir.join("cpu.stat"))?.unwrap_or_default());
            stats.cpu.throttling = Throttling {
                periods: kv.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: kv.get("nr_throttled").copied().unwrap_or(0),
                throttled_time: kv.get("throttled_time").copied().unwrap_or(0),
            };
        }
        if let Some(dir) = self.v1_dir("cpuset") {
            stats.cpuset = v1_cpuset(dir)?;
        }
        if let Some(dir) = self.v1_dir("memory") {
            stats.memory = v1_memory(dir)?;
        }
        if let Some(dir) = self.v1_dir("pids") {
            stats.pids = pids(dir)?;
        }
        if let Some(dir) = self.v1_dir("blkio") {
            stats.blkio = v1_blkio(dir)?;
        }
        if let Some(dir) = self.v1_dir("hugetlb") {
            for size in hugetlb::page_sizes() {
                let file = |f: &str| dir.join(format!("hugetlb.{size}.{f}"));
                let entry = Hugetlb {
                    usage: fs::read_u64(&file("usage_in_bytes"))?,
                    max: fs::read_u64(&file("max_usage_in_bytes"))?,
                    failcnt: fs::read_u64(&file("failcnt"))?,
                };
                stats.hugetlb.insert(size, entry);
            }
        }
        Ok(stats)
    }
}

/// `key value` lines (memory.stat, cpu.stat, memory.events).
fn key_values(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let key = words.next()?;
            let value = words.next()?.parse().ok()?;
            Some((key.to_owned(), value))
        })
        .collect()
}

fn numbers(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn v1_cpuacct(dir: &Path, usage: &mut CpuUsage) -> Result<()> {
    usage.total = fs::read_u64(&dir.join("cpuacct.usage"))?;
    usage.percpu = numbers(&fs::read_opt(&dir.join("cpuacct.usage_percpu"))?.unwrap_or_default());
    // "cpu user system" then one line per cpu.
    if let Some(all) = fs::read_opt(&dir.join("cpuacct.usage_all"))? {
        for line in all.lines().skip(1) {
            let n = numbers(line);
            if n.len() == 3 {
                usage.percpu_user.push(n[1]);
                usage.percpu_kernel.push(n[2]);
            }
        }
    }
    // cpuacct.stat counts clock ticks.
    let ticks = key_values(&fs::read_opt(&dir.join("cpuacct.stat"))?.unwrap_or_default());
    let hz = clock_ticks();
    usage.user = ticks.get("user").copied().unwrap_or(0) * 1_000_000_000 / hz;
    usage.kernel = ticks.get("system").copied().unwrap_or(0) * 1_000_000_000 / hz;
    Ok(())
}

fn clock_ticks() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(n)) if n > 0 => n as u64,
        _ => 100,
    }
}

/// `0-2,4` → [0, 1, 2, 4].
pub(crate) fn parse_list(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u16>().ok()),
        }
    }
    out
}

fn v1_cpuset(dir: &Path) -> Result<CpuSet> {
    let n = |f: &str| fs::read_u64(&dir.join(f));
    let text = |f: &str| -> Result<String> { Ok(fs::read_opt(&dir.join(f))?.unwrap_or_default()) };
    Ok(CpuSet {
        cpus: parse_list(&text("cpuset.cpus")?),
        cpu_exclusive: n("cpuset.cpu_exclusive")?,
        mems: parse_list(&text("cpuset.mems")?),
        mem_hardwall: n("cpuset.mem_hardwall")?,
        mem_exclusive: n("cpuset.mem_exclusive")?,
        memory_migrate: n("cpuset.memory_migrate")?,
        memory_spread_page: n("cpuset.memory_spread_page")?,
        memory_spread_slab: n("cpuset.memory_spread_slab")?,
        memory_pressure: n("cpuset.memory_pressure")?,
        sched_load_balance: n("cpuset.sched_load_balance")?,
        sched_relax_domain_level: text("cpuset.sched_relax_domain_level")?
            .trim()
            .parse()
            .unwrap_or(0),
    })
}

fn v1_memory(dir: &Path) -> Result<Memory> {
    let raw = key_values(&fs::read_opt(&dir.join("memory.stat"))?.unwrap_or_default());
    let entry = |prefix: &str| -> Result<MemoryEntry> {
        let file = |f: &str| dir.join(format!("{prefix}{f}"));
        Ok(MemoryEntry {
            limit: fs::read_u64(&file("limit_in_bytes"))?,
            usage: fs::read_u64(&file("usage_in_bytes"))?,
            max: fs::read_u64(&file("max_usage_in_bytes"))?,
            failcnt: fs::read_u64(&file("failcnt"))?,
        })
    };
    Ok(Memory {
        cache: raw.get("cache").copied().unwrap_or(0),
        usage: entry("memory.")?,
        swap: entry("memory.memsw.")?,
        kernel: entry("memory.kmem.")?,
        kernel_tcp: entry("memory.kmem.tcp.")?,
        raw,
    })
}

fn pids(dir: &Path) -> Result<Pids> {
    let limit = fs::read_u64(&dir.join("pids.max"))?;
    Ok(Pids {
        current: fs::read_u64(&dir.join("pids.current"))?,
        limit: if limit == u64::MAX { 0 } else { limit },
    })
}

/// `8:0 Read 4096` lines; `Total N` lines are skipped.
fn blkio_entries(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (dev, op, value) = match words[..] {
                [dev, op, value] => (dev, op, value),
                [dev, value] if dev != "Total" => (dev, "", value),
                _ => return None,
            };
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_owned(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// runc's order: CFQ files when they have data, else BFQ, else the
/// throttling counters.
fn v1_blkio(dir: &Path) -> Result<Blkio> {
    let read = |f: &str| -> Result<Vec<BlkioEntry>> {
        Ok(blkio_entries(
            &fs::read_opt(&dir.join(f))?.unwrap_or_default(),
        ))
    };
    let mut blkio = Blkio::default();
    let cfq = read("blkio.io_serviced_recursive")?;
    if !cfq.is_empty() {
        blkio.io_serviced_recursive = cfq;
        blkio.io_service_bytes_recursive = read("blkio.io_service_bytes_recursive")?;
        blkio.io_queued_recursive = read("blkio.io_queued_recursive")?;
        blkio.io_service_time_recursive = read("blkio.io_service_time_recursive")?;
        blkio.io_wait_time_recursive = read("blkio.io_wait_time_recursive")?;
        blkio.io_merged_recursive = read("blkio.io_merged_recursive")?;
        blkio.io_time_recursive = read("blkio.time_recursive")?;
        blkio.sectors_recursive = read("blkio.sectors_recursive")?;
        return Ok(blkio);
    }
    let bfq = read("blkio.bfq.io_serviced_recursive")?;
    if !bfq.is_empty() {
        blkio.io_serviced_recursive = bfq;
        blkio.io_service_bytes_recursive = read("blkio.bfq.io_service_bytes_recursive")?;
        return Ok(blkio);
    }
    blkio.io_serviced_recursive = read("blkio.throttle.io_serviced_recursive")?;
    blkio.io_service_bytes_recursive = read("blkio.throttle.io_service_bytes_recursive")?;
    Ok(blkio)
}

fn v2_stats(dir: &Path, stats: &mut Stats) -> Result<()> {
    let read = |f: &str| -> Result<String> { Ok(fs::read_opt(&dir.join(f))?.unwrap_or_default()) };

    let cpu = key_values(&read("cpu.stat")?);
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
    stats.cpu.usage.total = us("usage_usec");
    stats.cpu.usage.user = us("user_usec");
    stats.cpu.usage.kernel = us("system_usec");
    stats.cpu.throttling = Throttling {
        periods: cpu.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };

    let raw = key_values(&read("memory.stat")?);
    let events = key_values(&read("memory.events")?);
    let mut usage = MemoryEntry {
        limit: fs::read_u64(&dir.join("memory.max"))?,
        usage: fs::read_u64(&dir.join("memory.current"))?,
        max: fs::read_u64(&dir.join("memory.peak"))?,
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    // Like runc: swap as memory+swap, the v1 meaning.
    let mut swap = MemoryEntry {
        limit: fs::read_u64(&dir.join("memory.swap.max"))?,
        usage: fs::read_u64(&dir.join("memory.swap.current"))?,
        ..MemoryEntry::default()
    };
    swap.usage += usage.usage;
    if swap.limit != u64::MAX {
        swap.limit = swap.limit.saturating_add(usage.limit);
    }
    if !dir.join("memory.max").exists() {
        usage.limit = 0;
    }
    stats.memory = Memory {
        cache: raw.get("file").copied().unwrap_or(0),
        usage,
        swap,
        raw,
        ..Memory::default()
    };

    stats.pids = pids(dir)?;

    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
    for line in read("io.stat")?.lines() {
        let mut words = line.split_whitespace();
        let Some((major, minor)) = words.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            let value = value.parse().unwrap_or(0);
            let (list, op) = match key {
                "rbytes" => (&mut stats.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut stats.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut stats.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut stats.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_owned(),
                value,
            });
        }
    }

    if read("cgroup.controllers")?
        .split_whitespace()
        .any(|c| c == "hugetlb")
    {
        for size in hugetlb::page_sizes() {
            let file = |f: &str| dir.join(format!("hugetlb.{size}.{f}"));
            let events = key_values(&fs::read_opt(&file("events"))?.unwrap_or_default());
            let entry = Hugetlb {
                usage: fs::read_u64(&file("current"))?,
                max: 0,
                failcnt: events.get("max").copied().unwrap_or(0),
            };
            stats.hugetlb.insert(size, entry);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_stats_serialise_like_runc() {
        let json = serde_json::to_string(&Stats::default()).unwrap();
        assert_eq!(
            json,
            r#"{"cpu":{"usage":{"kernel":0,"user":0},"throttling":{}},"cpuset":{"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":0,"sched_relax_domain_level":0},"memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0}},"pids":{},"blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}"#
        );
    }

    #[test]
    fn lists_and_blkio_lines() {
        assert_eq!(parse_list("0-2,4\n"), [0, 1, 2, 4]);
        assert_eq!(parse_list(""), Vec::<u16>::new());
        let entries = blkio_entries("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].op, "Read");
        assert_eq!(entries[0].value, 4096);
    }
}
