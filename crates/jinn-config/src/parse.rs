//! config.json bytes → [`Spec`].

use oci_spec::runtime::{Process, Spec};
use serde_json::Value;

use crate::error::ConfigError;
use crate::tables::capability_number;

const CAPABILITY_SETS: [&str; 5] = [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// Parses config.json. Errors name the JSON path of the offending value.
///
/// Before the typed parse, two rules are checked on the raw document because the typed form
/// loses the information: capability names (a name not starting with `CAP_` is an error, a
/// `CAP_` name unknown to jinn is a warning and is dropped, as config.md asks) and the
/// presence of `major`/`minor` in `linux.devices` (oci-spec defaults them to 0).
///
/// `process.user` is optional in the schema (it is platform-specific) but oci-spec requires
/// it; a missing one is read as uid 0, gid 0, which is what runc does (Go zero values).
pub fn parse(json: &[u8]) -> Result<Spec, ConfigError> {
    let mut value: Value = serde_json::from_slice(json).map_err(|source| ConfigError::Parse {
        path: String::new(),
        source,
    })?;
    check_capabilities(&mut value)?;
    check_devices(&value)?;
    scheduler_flags(&mut value)?;
    empty_cpu_lists(&mut value);
    if let Some(process) = value.get_mut("process").and_then(Value::as_object_mut) {
        if !process.contains_key("user") {
            process.insert("user".into(), serde_json::json!({"uid": 0, "gid": 0}));
        }
    }
    // One way through serde for the whole Spec: from the (checked) value, tracking the
    // JSON path. A second one from the bytes would add line and column to type errors,
    // and ~700 KiB of code to every jinn invocation (its peak RSS). Syntax errors still
    // carry line and column (from the value's parse above).
    serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Parse {
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Checks `process.capabilities.*` names; removes unknown `CAP_*` names with a warning.
/// Returns whether anything was removed.
fn check_capabilities(value: &mut Value) -> Result<bool, ConfigError> {
    let Some(caps) = value
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    else {
        return Ok(false);
    };
    let mut dropped = false;
    for set in CAPABILITY_SETS {
        let Some(list) = caps.get_mut(set).and_then(Value::as_array_mut) else {
            continue;
        };
        let mut kept = Vec::with_capacity(list.len());
        for (index, item) in list.drain(..).enumerate() {
            let field = format!("process.capabilities.{set}[{index}]");
            let Some(name) = item.as_str() else {
                // Not a string: the typed parse reports it.
                kept.push(item);
                continue;
            };
            if !name.starts_with("CAP_") {
                return Err(ConfigError::invalid(
                    field,
                    format!("{name:?} is not a capability name (no CAP_ prefix)"),
                ));
            }
            if capability_number(name).is_none() {
                tracing::warn!("{field}: unknown capability {name:?} ignored");
                dropped = true;
                continue;
            }
            kept.push(item);
        }
        *list = kept;
    }
    Ok(dropped)
}

/// `process.scheduler.flags`: config.md names them `SCHED_FLAG_*`; oci-spec's enum reads
/// other spellings (`SCHED_RESET_ON_FORK`, `SCHED_FLAG_D_L_OVERRUN`, …). Rewrites the
/// config.md names to what oci-spec reads; anything else is an error naming the flag.
fn scheduler_flags(value: &mut Value) -> Result<(), ConfigError> {
    let Some(list) = value
        .pointer_mut("/process/scheduler/flags")
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    for (i, item) in list.iter_mut().enumerate() {
        let Some(name) = item.as_str() else {
            continue;
        };
        let Some((_, flag, _)) = crate::fields::SCHED_FLAGS
            .iter()
            .find(|(n, _, _)| *n == name)
        else {
            return Err(ConfigError::invalid(
                format!("process.scheduler.flags[{i}]"),
                format!("{name:?} is not a scheduler flag"),
            ));
        };
        *item = serde_json::to_value(flag).unwrap_or(Value::Null);
    }
    Ok(())
}

/// `process.execCPUAffinity.initial`/`final`: config.md allows an empty string (leave
/// the affinity alone), which oci-spec refuses; read it as absent.
fn empty_cpu_lists(value: &mut Value) {
    if let Some(a) = value
        .pointer_mut("/process/execCPUAffinity")
        .and_then(Value::as_object_mut)
    {
        a.retain(|_, v| v.as_str() != Some(""));
    }
}

/// `linux.devices[i].major`/`minor` are required except for fifos.
fn check_devices(value: &Value) -> Result<(), ConfigError> {
    let Some(devices) = value.pointer("/linux/devices").and_then(Value::as_array) else {
        return Ok(());
    };
    for (i, device) in devices.iter().enumerate() {
        let Some(device) = device.as_object() else {
            continue;
        };
        let Some(kind) = device.get("type").and_then(Value::as_str) else {
            continue;
        };
        if kind == "p" {
            continue;
        }
        for key in ["major", "minor"] {
            if !device.contains_key(key) {
                return Err(ConfigError::invalid(
                    format!("linux.devices[{i}].{key}"),
                    format!("required for a device of type {kind:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// Parses a lone `process` object (as `exec --process FILE` takes it). Errors name the
/// file and the JSON path inside it.
pub(crate) fn parse_process(json: &[u8], file: &str) -> Result<Process, ConfigError> {
    let bad = |path: String, reason: String| ConfigError::Invalid {
        field: if path.is_empty() || path == "." {
            file.to_string()
        } else {
            format!("{file}: {path}")
        },
        reason,
    };
    let value: Value =
        serde_json::from_slice(json).map_err(|e| bad(String::new(), e.to_string()))?;
    // Reuse the whole-document checks on a document holding only this process.
    let mut doc = serde_json::json!({ "process": value });
    check_capabilities(&mut doc)?;
    scheduler_flags(&mut doc)?;
    empty_cpu_lists(&mut doc);
    let process = doc
        .get_mut("process")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad(String::new(), "not a JSON object".into()))?;
    process
        .entry("user")
        .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
    serde_path_to_error::deserialize(doc["process"].take())
        .map_err(|e| bad(e.path().to_string(), e.into_inner().to_string()))
}
