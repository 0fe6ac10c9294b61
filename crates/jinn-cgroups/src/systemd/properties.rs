//! What systemd is told about a container's unit: `linux.resources` as unit
//! properties (`man systemd.resource-control`), with runc's conversions, and the
//! `org.systemd.property.<Name>` annotations.
//!
//! systemd writes these limits into the unit's cgroup itself, and writes them *again*
//! whenever it re-applies the unit (a daemon-reload, a `SetUnitProperties`): a limit
//! jinn wrote only to the cgroup files would then be reset. So everything systemd has a
//! property for is given as a property; jinn then writes every resource to the files as
//! well, the same way as without systemd.

use std::collections::{BTreeMap, HashMap};

use oci_spec::runtime::LinuxResources;

use super::dbus::Value;
use crate::error::{CgroupError, Result};
use crate::{blkio, cpu, memory, Layout};

/// A unit property: its name and value.
pub type Property = (String, Value);

const ANNOTATION_PREFIX: &str = "org.systemd.property.";

fn prop(name: &str, value: Value) -> Property {
    (name.to_owned(), value)
}

/// `-1` means no limit: systemd's "infinity" is `u64::MAX`.
fn limit(value: i64) -> Value {
    Value::U64(if value < 0 { u64::MAX } else { value as u64 })
}

/// The properties for `resources` on a host with `layout`.
pub fn from_resources(r: &LinuxResources, layout: Layout) -> Result<Vec<Property>> {
    let mut props = Vec::new();
    if let Some(m) = r.memory() {
        let max = m.limit().unwrap_or(0);
        if max != 0 {
            props.push(prop("MemoryMax", limit(max)));
        }
        if let Some(low) = m.reservation().filter(|v| *v != 0) {
            props.push(prop("MemoryLow", limit(low)));
        }
        if layout == Layout::V2 {
            let swap = memory::swap_v2_value(m.swap().unwrap_or(0), max).map_err(|reason| {
                CgroupError::InvalidResource {
                    field: "linux.resources.memory.swap",
                    reason: reason.to_owned(),
                }
            })?;
            if let Some(swap) = swap {
                let value = swap.parse().unwrap_or(u64::MAX);
                props.push(prop("MemorySwapMax", Value::U64(value)));
            }
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s != 0) {
            props.push(match layout {
                Layout::V2 => prop("CPUWeight", Value::U64(cpu::shares_to_weight(shares))),
                _ => prop("CPUShares", Value::U64(shares)),
            });
        }
        let quota = c.quota().unwrap_or(0);
        let period = c.period().unwrap_or(0);
        if period != 0 {
            props.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
        }
        if quota != 0 || period != 0 {
            props.push(prop(
                "CPUQuotaPerSecUSec",
                Value::U64(quota_per_sec(quota, period)),
            ));
        }
        for (field, name, list) in [
            ("linux.resources.cpu.cpus", "AllowedCPUs", c.cpus()),
            ("linux.resources.cpu.mems", "AllowedMemoryNodes", c.mems()),
        ] {
            if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
                let bits = list_to_bitmask(list)
                    .map_err(|reason| CgroupError::InvalidResource { field, reason })?;
                props.push(prop(name, bits));
            }
        }
    }
    if let Some(p) = r.pids() {
        if p.limit() != 0 {
            props.push(prop("TasksMax", limit(p.limit())));
        }
    }
    if let Some(w) = r.block_io().as_ref().and_then(|io| io.weight()) {
        if w != 0 {
            props.push(match layout {
                Layout::V2 => prop("IOWeight", Value::U64(blkio::blkio_weight_to_io_weight(w))),
                _ => prop("BlockIOWeight", Value::U64(w.into())),
            });
        }
    }
    if let (Some(unified), Layout::V2) = (r.unified(), layout) {
        props.extend(from_unified(unified)?);
    }
    Ok(props)
}

/// The `linux.resources.unified` keys systemd also owns, as their properties (after
/// the fields above, so they win as they do in the files). Other keys go to the files
/// only.
pub fn from_unified(unified: &HashMap<String, String>) -> Result<Vec<Property>> {
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    let mut props = Vec::new();
    for key in keys {
        let value = unified[key].trim();
        let invalid = |reason: String| CgroupError::InvalidField {
            field: format!("linux.resources.unified[{key:?}]"),
            reason,
        };
        let number = |v: &str| -> Result<u64> {
            match v {
                "max" => Ok(u64::MAX),
                _ => v
                    .parse()
                    .map_err(|_| invalid(format!("{v:?} is not a number or \"max\""))),
            }
        };
        let name = match key.as_str() {
            "memory.min" => "MemoryMin",
            "memory.low" => "MemoryLow",
            "memory.high" => "MemoryHigh",
            "memory.max" => "MemoryMax",
            "memory.swap.max" => "MemorySwapMax",
            "pids.max" => "TasksMax",
            "cpu.weight" => "CPUWeight",
            "cpuset.cpus" | "cpuset.mems" => {
                let bits = list_to_bitmask(value).map_err(invalid)?;
                let name = if key == "cpuset.cpus" {
                    "AllowedCPUs"
                } else {
                    "AllowedMemoryNodes"
                };
                props.push(prop(name, bits));
                continue;
            }
            "cpu.max" => {
                let mut words = value.split_whitespace();
                let quota = words.next().unwrap_or("max");
                let period = words.next().map(number).transpose()?;
                if let Some(period) = period {
                    props.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
                }
                let quota = match quota {
                    "max" => -1,
                    q => q
                        .parse()
                        .map_err(|_| invalid(format!("{value:?} is not \"QUOTA [PERIOD]\"")))?,
                };
                let per_sec = quota_per_sec(quota, period.unwrap_or(0));
                props.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
                continue;
            }
            _ => continue,
        };
        props.push(prop(name, Value::U64(number(value)?)));
    }
    Ok(props)
}

/// CFS quota and period to systemd's CPU time per second, rounded up to the 10 ms
/// systemd works in; no quota (`-1`, or a period alone) is "infinity".
pub fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota <= 0 {
        return u64::MAX;
    }
    let period = if period == 0 { 100_000 } else { period };
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// A cpu list (`0-2,4`) as systemd's `ay` bit mask: bit `n % 8` of byte `n / 8`.
pub fn list_to_bitmask(list: &str) -> Result<Value, String> {
    let mut bytes: Vec<u8> = Vec::new();
    for item in list.split(',').map(str::trim) {
        let bad = || format!("{list:?} is not a list like \"0-2,4\"");
        let (lo, hi) = match item.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (item.parse::<usize>(), item.parse::<usize>()),
        };
        let (lo, hi) = (lo.map_err(|_| bad())?, hi.map_err(|_| bad())?);
        if lo > hi || hi >= 8192 {
            return Err(bad());
        }
        for n in lo..=hi {
            if bytes.len() <= n / 8 {
                bytes.resize(n / 8 + 1, 0);
            }
            bytes[n / 8] |= 1 << (n % 8);
        }
    }
    Ok(Value::Array(
        "y".into(),
        bytes.into_iter().map(Value::Byte).collect(),
    ))
}

/// `org.systemd.property.<Name>` annotations as properties. The value is a GVariant
/// text of a simple type, as `systemctl` and runc take it: `true`/`false`, a number
/// (`42`, or typed: `uint64 42`, `@t 42`, `uint32`/`@u`, `int64`/`@x`, `int32`/`@i`,
/// `double`/`@d`), or a quoted string (`'text'`, `"text"`). A name ending in `Sec`
/// takes seconds and becomes the `USec` property (`TimeoutStopSec=5` →
/// `TimeoutStopUSec`, 5000000).
pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Result<Vec<Property>> {
    let mut props = Vec::new();
    for (key, text) in annotations {
        let Some(name) = key.strip_prefix(ANNOTATION_PREFIX) else {
            continue;
        };
        let invalid = |reason: String| CgroupError::InvalidField {
            field: format!("annotations[{key:?}]"),
            reason,
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid("not a systemd property name".into()));
        }
        let value = parse_variant(text).map_err(invalid)?;
        match name.strip_suffix("Sec").filter(|_| !name.ends_with("USec")) {
            Some(stem) => {
                let secs = match value {
                    Value::I32(n) if n >= 0 => n as f64,
                    Value::U32(n) => n.into(),
                    Value::I64(n) if n >= 0 => n as f64,
                    Value::U64(n) => n as f64,
                    Value::Double(d) if d >= 0.0 => d,
                    _ => return Err(invalid(format!("{text:?} is not a number of seconds"))),
                };
                props.push((
                    format!("{stem}USec"),
                    Value::U64((secs * 1_000_000.0) as u64),
                ));
            }
            None => props.push((name.to_owned(), value)),
        }
    }
    Ok(props)
}

fn parse_variant(text: &str) -> Result<Value, String> {
    let t = text.trim();
    match t {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    for quote in ['\'', '"'] {
        if let Some(inner) = t.strip_prefix(quote).and_then(|s| s.strip_suffix(quote)) {
            if t.len() >= 2 && !inner.contains(quote) && !inner.contains('\\') {
                return Ok(Value::Str(inner.to_owned()));
            }
        }
    }
    let (ty, number) = match t.split_once(' ') {
        Some((ty, n)) => (ty, n.trim()),
        None => ("", t),
    };
    let bad = || format!("{text:?}: only booleans, numbers and quoted strings are supported");
    Ok(match ty {
        "uint64" | "@t" => Value::U64(number.parse().map_err(|_| bad())?),
        "uint32" | "@u" => Value::U32(number.parse().map_err(|_| bad())?),
        "int64" | "@x" => Value::I64(number.parse().map_err(|_| bad())?),
        "int32" | "@i" => Value::I32(number.parse().map_err(|_| bad())?),
        "double" | "@d" => Value::Double(number.parse().map_err(|_| bad())?),
        "" if number.contains('.') => Value::Double(number.parse().map_err(|_| bad())?),
        "" => Value::I32(number.parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn names(props: &[Property]) -> Vec<&str> {
        props.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn resources_to_properties_on_v2() {
        let r = res(
            r#"{"memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
            "pids": {"limit": 42}, "blockIO": {"weight": 500}}"#,
        );
        let props = from_resources(&r, Layout::V2).unwrap();
        assert_eq!(
            props,
            vec![
                prop("MemoryMax", Value::U64(104857600)),
                prop("MemoryLow", Value::U64(52428800)),
                prop("MemorySwapMax", Value::U64(104857600)),
                prop("CPUWeight", Value::U64(39)),
                prop("CPUQuotaPeriodUSec", Value::U64(100000)),
                prop("CPUQuotaPerSecUSec", Value::U64(500000)),
                prop(
                    "AllowedCPUs",
                    Value::Array("y".into(), vec![Value::Byte(3)])
                ),
                prop(
                    "AllowedMemoryNodes",
                    Value::Array("y".into(), vec![Value::Byte(1)])
                ),
                prop("TasksMax", Value::U64(42)),
                prop("IOWeight", Value::U64(4950)),
            ]
        );
        let v1 = from_resources(&r, Layout::Hybrid).unwrap();
        assert!(names(&v1).contains(&"CPUShares"));
        assert!(names(&v1).contains(&"BlockIOWeight"));
        assert!(!names(&v1).contains(&"MemorySwapMax"));
    }

    #[test]
    fn unlimited_and_unset_values() {
        let r = res(r#"{"memory": {"limit": -1}, "cpu": {"quota": -1}, "pids": {"limit": -1}}"#);
        let props = from_resources(&r, Layout::V2).unwrap();
        assert_eq!(
            props,
            vec![
                prop("MemoryMax", Value::U64(u64::MAX)),
                prop("MemorySwapMax", Value::U64(u64::MAX)),
                prop("CPUQuotaPerSecUSec", Value::U64(u64::MAX)),
                prop("TasksMax", Value::U64(u64::MAX)),
            ]
        );
        assert!(
            from_resources(&res(r#"{"pids": {"limit": 0}}"#), Layout::V2)
                .unwrap()
                .is_empty()
        );
        let err = from_resources(&res(r#"{"memory": {"swap": 1000}}"#), Layout::V2).unwrap_err();
        assert!(
            err.to_string().starts_with("linux.resources.memory.swap: "),
            "{err}"
        );
        let err = from_resources(&res(r#"{"cpu": {"cpus": "1-x"}}"#), Layout::V2).unwrap_err();
        assert!(
            err.to_string().starts_with("linux.resources.cpu.cpus: "),
            "{err}"
        );
    }

    #[test]
    fn unified_keys_systemd_owns() {
        let r = res(r#"{"memory": {"limit": 1048576},
            "unified": {"memory.high": "524288", "pids.max": "max", "cpu.max": "25000 50000",
                        "cpuset.cpus": "1", "io.max": "8:0 rbps=1", "memory.max": "2097152"}}"#);
        let props = from_resources(&r, Layout::V2).unwrap();
        assert_eq!(
            props,
            vec![
                prop("MemoryMax", Value::U64(1048576)),
                prop("CPUQuotaPeriodUSec", Value::U64(50000)),
                prop("CPUQuotaPerSecUSec", Value::U64(500000)),
                prop(
                    "AllowedCPUs",
                    Value::Array("y".into(), vec![Value::Byte(2)])
                ),
                prop("MemoryHigh", Value::U64(524288)),
                prop("MemoryMax", Value::U64(2097152)),
                prop("TasksMax", Value::U64(u64::MAX)),
            ]
        );
        // Not on v1, where systemd has none of these.
        assert_eq!(
            from_resources(&r, Layout::Hybrid).unwrap(),
            vec![prop("MemoryMax", Value::U64(1048576))]
        );
        let err = from_resources(&res(r#"{"unified": {"memory.high": "lots"}}"#), Layout::V2)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("linux.resources.unified[\"memory.high\"]: "),
            "{err}"
        );
        let bad = res(r#"{"unified": {"cpu.max": "x 100000"}}"#);
        assert!(from_resources(&bad, Layout::V2).is_err());
    }

    #[test]
    fn conversions() {
        // 10 ms granularity, rounded up.
        assert_eq!(quota_per_sec(12_345, 100_000), 130_000);
        assert_eq!(quota_per_sec(200_000, 100_000), 2_000_000);
        assert_eq!(quota_per_sec(5_000, 0), 50_000);
        assert_eq!(
            list_to_bitmask("0,2-3,9").unwrap(),
            Value::Array("y".into(), vec![Value::Byte(0b1101), Value::Byte(0b10)])
        );
        assert!(list_to_bitmask("3-1").is_err());
        assert!(list_to_bitmask("").is_err());
    }

    #[test]
    fn annotations_to_properties() {
        let a: BTreeMap<String, String> = [
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("org.systemd.property.TimeoutStopSec", "5"),
            ("org.systemd.property.RuntimeMaxSec", "@t 2"),
            ("org.systemd.property.CPUAccounting", "false"),
            ("org.systemd.property.MemoryHigh", "uint64 1073741824"),
            ("org.systemd.property.Nice", "-5"),
            ("other.annotation", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let props = from_annotations(&a).unwrap();
        assert_eq!(
            props,
            vec![
                prop("CPUAccounting", Value::Bool(false)),
                prop("CollectMode", Value::Str("inactive-or-failed".into())),
                prop("MemoryHigh", Value::U64(1 << 30)),
                prop("Nice", Value::I32(-5)),
                prop("RuntimeMaxUSec", Value::U64(2_000_000)),
                prop("TimeoutStopUSec", Value::U64(5_000_000)),
            ]
        );
        for (k, v) in [
            ("org.systemd.property.X", "[1, 2]"),
            ("org.systemd.property.TimeoutStopSec", "'5'"),
            ("org.systemd.property.A-B", "1"),
        ] {
            let a = BTreeMap::from([(k.to_owned(), v.to_owned())]);
            let err = from_annotations(&a).unwrap_err().to_string();
            assert!(err.starts_with(&format!("annotations[{k:?}]: ")), "{err}");
        }
    }
}
