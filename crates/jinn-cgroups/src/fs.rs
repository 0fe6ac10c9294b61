//! Reading and writing cgroup files with errors that name the file.
//! `std::fs` opens every file with `O_CLOEXEC`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::error::{CgroupError, Result};

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|error| CgroupError::Read {
        path: path.to_owned(),
        error,
    })
}

/// Write `value` with a single `write(2)`, as cgroup files expect. Never
/// creates the file: a missing file means a missing controller.
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut file| file.write_all(value.as_bytes()))
        .map_err(|error| CgroupError::Write {
            path: path.to_owned(),
            error,
        })
}

/// Write `value` to `dir/file`, logging it at debug level.
pub(crate) fn write_in(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    tracing::debug!(path = %path.display(), value, "cgroup write");
    write(&path, value)
}

/// The pids listed in a `cgroup.procs` file.
pub(crate) fn read_pids(path: &Path) -> Result<Vec<i32>> {
    let text = read(path)?;
    text.split_whitespace()
        .map(|word| {
            word.parse().map_err(|_| CgroupError::Parse {
                file: "cgroup.procs",
                reason: format!("{word:?} in {} is not a pid", path.display()),
            })
        })
        .collect()
}

/// Write `value` to `dir/file` for the resource `field`: a refusal by the
/// kernel is an error naming the field, the value and the file.
pub(crate) fn write_field(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    write_in(dir, file, value).map_err(|e| match e {
        CgroupError::Write { path, error } => CgroupError::FieldWrite {
            field: field.to_owned(),
            value: value.to_owned(),
            path,
            error,
        },
        other => other,
    })
}

/// The contents of `path` when it exists; `None` when it does not.
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(CgroupError::Read {
            path: path.to_owned(),
            error,
        }),
    }
}

/// A number read from a one-value file; "max" is `u64::MAX`; a missing file is 0.
pub(crate) fn read_u64(path: &Path) -> Result<u64> {
    Ok(read_opt(path)?.map_or(0, |text| parse_u64(text.trim())))
}

/// A cgroup number: "max" is `u64::MAX`, anything unparsable 0.
pub(crate) fn parse_u64(word: &str) -> u64 {
    if word == "max" {
        u64::MAX
    } else {
        word.parse().unwrap_or(0)
    }
}
