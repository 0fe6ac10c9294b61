//! `jinn update [flags] ID` / `jinn update --resources FILE|- ID`: change the
//! cgroup limits of a running (or paused, or created) container. As in runc,
//! `--resources` (JSON `LinuxResources`, what containerd's shim sends on
//! stdin) replaces the flags; values that are absent (or 0, where runc treats
//! 0 as "not set") are left alone, and device rules are not updated.

use std::io::Read;

use anyhow::{anyhow, bail, Result};
use jinn_cgroups::oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPidsBuilder, LinuxResources,
};
use jinn_state::{Status, Store};

use crate::cli::UpdateArgs;

pub fn run(store: &Store, args: &UpdateArgs) -> Result<i32> {
    let mut resources = match &args.resources {
        Some(path) => read_resources(path)?,
        None => from_flags(args)?,
    };
    // runc does not update device rules; containerd sends the container's
    // full list, which does not carry the default rules.
    resources.set_devices(None);
    let c = store.load(&args.id)?;
    match c.live_status() {
        Status::Running | Status::Created | Status::Paused => {}
        _ => bail!("container not running"),
    }
    // With a systemd unit, its properties change too.
    let cg = crate::container::load_cgroup(&c)?;
    cg.update(&resources)?;
    Ok(0)
}

fn read_resources(path: &std::path::Path) -> Result<LinuxResources> {
    let (name, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow!("read resources from stdin: {e}"))?;
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("read resources file {}: {e}", path.display()))?;
        (path.display().to_string(), text)
    };
    serde_json::from_str(&text).map_err(|e| anyhow!("--resources ({name}): {e}"))
}

fn from_flags(args: &UpdateArgs) -> Result<LinuxResources> {
    let mut r = LinuxResources::default();

    let mut memory = LinuxMemory::default();
    let mut memory_set = false;
    for (flag, value, setter) in [
        (
            "memory",
            &args.memory,
            LinuxMemory::set_limit as fn(&mut LinuxMemory, Option<i64>) -> &mut LinuxMemory,
        ),
        ("memory-swap", &args.memory_swap, LinuxMemory::set_swap),
        (
            "memory-reservation",
            &args.memory_reservation,
            LinuxMemory::set_reservation,
        ),
        (
            "kernel-memory",
            &args.kernel_memory,
            LinuxMemory::set_kernel,
        ),
        (
            "kernel-memory-tcp",
            &args.kernel_memory_tcp,
            LinuxMemory::set_kernel_tcp,
        ),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            let bytes = ram_in_bytes(v).map_err(|e| anyhow!("invalid value for {flag}: {e}"))?;
            setter(&mut memory, Some(bytes));
            memory_set = true;
        }
    }
    if memory_set {
        r.set_memory(Some(memory));
    }

    let mut cpu = LinuxCpu::default();
    cpu.set_shares(args.cpu_share)
        .set_quota(args.cpu_quota)
        .set_period(args.cpu_period)
        .set_burst(args.cpu_burst)
        .set_realtime_period(args.cpu_rt_period)
        .set_realtime_runtime(args.cpu_rt_runtime)
        .set_cpus(args.cpuset_cpus.clone().filter(|v| !v.is_empty()))
        .set_mems(args.cpuset_mems.clone().filter(|v| !v.is_empty()));
    if cpu != LinuxCpu::default() {
        r.set_cpu(Some(cpu));
    }

    if let Some(limit) = args.pids_limit.filter(|l| *l != 0) {
        r.set_pids(Some(LinuxPidsBuilder::default().limit(limit).build()?));
    }
    if let Some(w) = args.blkio_weight.filter(|w| *w != 0) {
        let mut io = LinuxBlockIo::default();
        io.set_weight(Some(w));
        r.set_block_io(Some(io));
    }
    if args.l3_cache_schema.is_some() || args.mem_bw_schema.is_some() {
        bail!("--l3-cache-schema, --mem-bw-schema: Intel RDT is not supported by jinn");
    }
    Ok(r)
}

/// A size as runc's flags take it (go-units `RAMInBytes`): `1024`, `100k`,
/// `64m`, `1.5g`, `2GiB`, binary multiples; `-1` is unlimited.
pub fn ram_in_bytes(text: &str) -> Result<i64, String> {
    if text == "-1" {
        return Ok(-1);
    }
    let invalid = || format!("invalid size: '{text}'");
    let lower = text.to_ascii_lowercase();
    let number_len = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_len);
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.trim_start_matches(' ');
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(invalid()),
    };
    Ok((value * (1u64 << shift) as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::ram_in_bytes;

    #[test]
    fn sizes_like_go_units() {
        assert_eq!(ram_in_bytes("1024"), Ok(1024));
        assert_eq!(ram_in_bytes("100k"), Ok(100 << 10));
        assert_eq!(ram_in_bytes("200M"), Ok(200 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(ram_in_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(ram_in_bytes("64mb"), Ok(64 << 20));
        assert_eq!(ram_in_bytes("-1"), Ok(-1));
        assert_eq!(ram_in_bytes("abc"), Err("invalid size: 'abc'".into()));
        assert!(ram_in_bytes("-2").is_err());
        assert!(ram_in_bytes("1x").is_err());
    }
}
