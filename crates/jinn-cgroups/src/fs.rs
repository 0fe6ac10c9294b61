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
