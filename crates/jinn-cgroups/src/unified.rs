//! `linux.resources.unified`: raw cgroup v2 key/values, written last (they
//! override the typed fields, as in runc). Each key must be a
//! `controller.parameter` file name that exists in the container's cgroup2
//! directory.

use std::collections::HashMap;

use crate::error::{CgroupError, Result};
use crate::{fs, Cgroup};

const FIELD: &str = "linux.resources.unified";

pub(crate) fn apply(cg: &Cgroup, unified: &HashMap<String, String>) -> Result<()> {
    if unified.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    for key in &keys {
        validate_key(key)?;
    }
    let dir = cg.v2_dir().ok_or_else(|| CgroupError::InvalidResource {
        field: FIELD,
        reason: "no cgroup v2 hierarchy is mounted on this host".to_owned(),
    })?;
    let available = fs::read(&dir.join("cgroup.controllers"))?;
    for key in &keys {
        if !dir.join(key.as_str()).exists() {
            let controller = key.split('.').next().unwrap_or_default();
            let why = if controller != "cgroup"
                && !available.split_whitespace().any(|c| c == controller)
            {
                format!(
                    "the {controller} controller is not enabled in {}",
                    dir.display()
                )
            } else {
                format!("no such file in {}", dir.display())
            };
            return Err(CgroupError::InvalidField {
                field: format!("{FIELD}.{key}"),
                reason: format!("unknown cgroup v2 key: {why}"),
            });
        }
    }
    for key in keys {
        fs::write_field(dir, key, &unified[key], &format!("{FIELD}.{key}"))?;
    }
    Ok(())
}

/// `controller.parameter`, a plain file name.
fn validate_key(key: &str) -> Result<()> {
    let plain = !key.contains('/') && !key.contains('\0');
    let shaped = key
        .split_once('.')
        .is_some_and(|(c, p)| !c.is_empty() && !p.is_empty());
    if plain && shaped {
        Ok(())
    } else {
        Err(CgroupError::InvalidField {
            field: format!("{FIELD}.{key}"),
            reason: "a key must be a cgroup v2 file name of the form CONTROLLER.PARAMETER"
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_shapes() {
        assert!(super::validate_key("memory.max").is_ok());
        assert!(super::validate_key("cgroup.max.depth").is_ok());
        assert!(super::validate_key("memory").is_err());
        assert!(super::validate_key("../memory.max").is_err());
        assert!(super::validate_key(".max").is_err());
    }
}
