//! `linux.resources.blockIO`: v1 `blkio.weight` (or `blkio.bfq.weight`),
//! `blkio.leaf_weight`, `blkio.weight_device`, `blkio.throttle.*_device`;
//! v2 `io.bfq.weight` (or `io.weight`, converted from the v1 range as runc
//! does), `io.bfq.weight_device`, `io.max`.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::error::{CgroupError, Result};
use crate::resources::Target;
use crate::Layout;
use crate::{fs, Cgroup};

const WEIGHT: &str = "linux.resources.blockIO.weight";
const LEAF_WEIGHT: &str = "linux.resources.blockIO.leafWeight";
const WEIGHT_DEVICE: &str = "linux.resources.blockIO.weightDevice";

/// (field, v1 file, v2 io.max key, devices)
type Throttle<'a> = (
    &'static str,
    &'static str,
    &'static str,
    &'a [LinuxThrottleDevice],
);

pub(crate) fn apply(cg: &Cgroup, io: &LinuxBlockIo) -> Result<()> {
    // 0 means "not set", as in runc; otherwise the spec's range is 10-1000.
    let weight = io.weight().unwrap_or(0);
    let leaf_weight = io.leaf_weight().unwrap_or(0);
    check_weight(WEIGHT.to_owned(), weight)?;
    check_weight(LEAF_WEIGHT.to_owned(), leaf_weight)?;
    let devices = io.weight_device().as_deref().unwrap_or_default();
    for (i, d) in devices.iter().enumerate() {
        check_device(&format!("{WEIGHT_DEVICE}[{i}]"), d.major(), d.minor())?;
        check_weight(
            format!("{WEIGHT_DEVICE}[{i}].weight"),
            d.weight().unwrap_or(0),
        )?;
        check_weight(
            format!("{WEIGHT_DEVICE}[{i}].leafWeight"),
            d.leaf_weight().unwrap_or(0),
        )?;
    }
    let throttles: [Throttle<'_>; 4] = [
        (
            "linux.resources.blockIO.throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            "rbps",
            io.throttle_read_bps_device().as_deref().unwrap_or_default(),
        ),
        (
            "linux.resources.blockIO.throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            "wbps",
            io.throttle_write_bps_device()
                .as_deref()
                .unwrap_or_default(),
        ),
        (
            "linux.resources.blockIO.throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            "riops",
            io.throttle_read_iops_device()
                .as_deref()
                .unwrap_or_default(),
        ),
        (
            "linux.resources.blockIO.throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            "wiops",
            io.throttle_write_iops_device()
                .as_deref()
                .unwrap_or_default(),
        ),
    ];
    for (field, _, _, devices) in &throttles {
        for (i, d) in devices.iter().enumerate() {
            check_device(&format!("{field}[{i}]"), d.major(), d.minor())?;
        }
    }
    let field = if weight != 0 {
        WEIGHT
    } else if leaf_weight != 0 {
        LEAF_WEIGHT
    } else if !devices.is_empty() {
        WEIGHT_DEVICE
    } else if let Some((field, ..)) = throttles.iter().find(|t| !t.3.is_empty()) {
        field
    } else {
        return Ok(());
    };
    // cgroup v1 calls the controller "blkio", cgroup2 "io".
    if let Some(dir) = cg.v1_dir("blkio").filter(|_| cg.layout() != Layout::V2) {
        return apply_v1(dir, io, weight, leaf_weight, &throttles);
    }
    match cg.target("io", field)? {
        Target::V2(dir) => apply_v2(dir, io, weight, leaf_weight, &throttles),
        Target::V1(_) => Err(CgroupError::ControllerMissing {
            field,
            controller: "blkio",
        }),
    }
}

fn check_weight(field: String, weight: u16) -> Result<()> {
    if weight != 0 && !(10..=1000).contains(&weight) {
        return Err(CgroupError::InvalidField {
            field,
            reason: format!("{weight} is outside the range 10-1000"),
        });
    }
    Ok(())
}

fn check_device(field: &str, major: i64, minor: i64) -> Result<()> {
    if major < 0 || minor < 0 {
        return Err(CgroupError::InvalidField {
            field: field.to_owned(),
            reason: format!("device {major}:{minor} has a negative number"),
        });
    }
    Ok(())
}

/// The first of `files` that exists in `dir` (the BFQ file before the CFQ one, as runc).
fn weight_file(dir: &Path, files: [&'static str; 2], field: &str) -> Result<&'static str> {
    files
        .into_iter()
        .find(|f| dir.join(f).exists())
        .ok_or_else(|| CgroupError::InvalidField {
            field: field.to_owned(),
            reason: format!(
                "neither {} nor {} exists in {} (no IO scheduler with weights on this host)",
                files[0],
                files[1],
                dir.display()
            ),
        })
}

fn apply_v1(
    dir: &Path,
    io: &LinuxBlockIo,
    weight: u16,
    leaf_weight: u16,
    throttles: &[Throttle<'_>],
) -> Result<()> {
    if weight != 0 {
        let file = weight_file(dir, ["blkio.bfq.weight", "blkio.weight"], WEIGHT)?;
        fs::write_field(dir, file, &weight.to_string(), WEIGHT)?;
    }
    if leaf_weight != 0 {
        fs::write_field(
            dir,
            "blkio.leaf_weight",
            &leaf_weight.to_string(),
            LEAF_WEIGHT,
        )?;
    }
    for (i, d) in io.weight_device().iter().flatten().enumerate() {
        let field = format!("{WEIGHT_DEVICE}[{i}]");
        if let Some(w) = d.weight().filter(|w| *w != 0) {
            let file = weight_file(
                dir,
                ["blkio.bfq.weight_device", "blkio.weight_device"],
                &field,
            )?;
            let line = format!("{}:{} {w}", d.major(), d.minor());
            fs::write_field(dir, file, &line, &field)?;
        }
        if let Some(w) = d.leaf_weight().filter(|w| *w != 0) {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            fs::write_field(dir, "blkio.leaf_weight_device", &line, &field)?;
        }
    }
    for (field, file, _, devices) in throttles {
        for (i, d) in devices.iter().enumerate() {
            let line = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            fs::write_field(dir, file, &line, &format!("{field}[{i}]"))?;
        }
    }
    Ok(())
}

/// v1 blkio weight [10, 1000] to v2 io.weight [1, 10000] (runc's
/// `ConvertBlkIOToIOWeightValue`); 0 = unset.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

fn apply_v2(
    dir: &Path,
    io: &LinuxBlockIo,
    weight: u16,
    leaf_weight: u16,
    throttles: &[Throttle<'_>],
) -> Result<()> {
    for (i, d) in io.weight_device().iter().flatten().enumerate() {
        if d.leaf_weight().is_some_and(|w| w != 0) {
            tracing::warn!("{WEIGHT_DEVICE}[{i}].leafWeight has no cgroup v2 equivalent; ignored");
        }
    }
    if leaf_weight != 0 {
        tracing::warn!("{LEAF_WEIGHT} has no cgroup v2 equivalent; ignored");
    }
    let bfq = dir.join("io.bfq.weight").exists();
    if weight != 0 {
        if bfq {
            fs::write_field(dir, "io.bfq.weight", &weight.to_string(), WEIGHT)?;
        } else {
            let w = blkio_weight_to_io_weight(weight).to_string();
            fs::write_field(dir, "io.weight", &w, WEIGHT)?;
        }
    }
    for (i, d) in io.weight_device().iter().flatten().enumerate() {
        let field = format!("{WEIGHT_DEVICE}[{i}]");
        if let Some(w) = d.weight().filter(|w| *w != 0) {
            let (file, value) = if bfq {
                ("io.bfq.weight", u64::from(w))
            } else {
                ("io.weight", blkio_weight_to_io_weight(w))
            };
            let line = format!("{}:{} {value}", d.major(), d.minor());
            fs::write_field(dir, file, &line, &field)?;
        }
    }
    for (field, _, key, devices) in throttles {
        for (i, d) in devices.iter().enumerate() {
            let line = format!("{}:{} {key}={}", d.major(), d.minor(), d.rate());
            fs::write_field(dir, "io.max", &line, &format!("{field}[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_conversion_matches_runc() {
        assert_eq!(blkio_weight_to_io_weight(0), 0);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10000);
    }

    #[test]
    fn weights_outside_the_spec_range_are_refused() {
        assert!(check_weight(WEIGHT.into(), 0).is_ok());
        assert!(check_weight(WEIGHT.into(), 10).is_ok());
        let err = check_weight(WEIGHT.into(), 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.resources.blockIO.weight: 5 is outside the range 10-1000"
        );
        assert!(check_weight(WEIGHT.into(), 1001).is_err());
    }
}
