//! jinn-state: the on-disk container state store.
//!
//! One directory per container under the runtime root (default
//! [`DEFAULT_ROOT`]): `<root>/<id>/state.json` plus any extra files other
//! crates store through [`Container::write_file`] (e.g. `plan.json`).
//!
//! Safety properties:
//! * every descriptor is opened `O_CLOEXEC`;
//! * the root is opened once with `O_NOFOLLOW` and refused if it is a
//!   symlink; container directories are reached with `mkdirat`/`openat`
//!   relative to it, and every file inside a container directory through
//!   the directory descriptor with `O_NOFOLLOW`, so no symlink is followed;
//! * a [`Container`] holds an exclusive `flock` on its directory for as long
//!   as it lives, serialising all jinn processes operating on the container;
//! * files are written atomically (exclusive temp file + `renameat`).

mod container;
mod error;
mod fsat;
mod output;
mod proc;
mod state;
mod store;
mod time;

pub use container::Container;
pub use error::{Result, StateError};
pub use output::{format_state, list_json, list_quiet, list_table, ListRow, OciState, OCI_VERSION};
pub use proc::{process_is_alive, process_start_time};
pub use state::{State, Status};
pub use store::Store;
pub use time::{now_rfc3339_nano, rfc3339_nano};

/// Default state root, the runtime's `--root`.
pub const DEFAULT_ROOT: &str = "/run/jinn";
/// Name of the state file inside a container directory.
pub const STATE_FILE: &str = "state.json";
/// Maximum container id length in bytes.
pub const MAX_ID_LEN: usize = 1024;

/// Validates a container id with runc's rule: non-empty, at most
/// [`MAX_ID_LEN`] bytes, only `[A-Za-z0-9_+.-]`, and not `.` or `..`.
///
/// (runc's regex `^[\w+-\.]+$` accidentally also admits `,` via the `+-.`
/// range; jinn does not.)
pub fn validate_id(id: &str) -> Result<()> {
    let invalid = |reason| {
        Err(StateError::InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return Err(StateError::EmptyId);
    }
    if id.len() > MAX_ID_LEN {
        return invalid("longer than 1024 bytes");
    }
    if id == "." || id == ".." {
        return invalid("\".\" and \"..\" are not allowed");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return invalid("only [A-Za-z0-9_+.-] allowed");
    }
    Ok(())
}

/// Checks that `name` is a plain file name (no `/`, not `.`/`..`, no NUL).
fn validate_file_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(StateError::InvalidFileName {
            name: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
