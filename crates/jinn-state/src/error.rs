//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Errors from the state store. Messages are lower-case, without a trailing
/// period, and (Go/runc style) already include the text of the underlying
/// OS or JSON error, e.g.
/// `open /run/jinn/c1/state.json: permission denied (os error 13)`.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The container id is the empty string (runc's wording).
    #[error("container id cannot be empty")]
    EmptyId,
    /// The container id violates runc's id rule.
    #[error("invalid container ID format {id:?}: {reason}")]
    InvalidId {
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A file name passed to the per-container file helpers is not a plain
    /// file name.
    #[error("invalid file name {name:?}: must be a plain file name")]
    InvalidFileName {
        /// The rejected name.
        name: String,
    },
    /// `<root>/<id>` already exists (runc: "container with given ID already exists").
    #[error("container {id:?} already exists")]
    AlreadyExists {
        /// The container id.
        id: String,
    },
    /// No such container (runc: "container does not exist").
    #[error("container {id:?} does not exist")]
    NotExist {
        /// The container id.
        id: String,
    },
    /// The state root itself is a symbolic link.
    #[error("state root {} is a symlink, refusing to use it", path.display())]
    RootIsSymlink {
        /// The root path as given.
        path: PathBuf,
    },
    /// A file in the store is not of the expected type (e.g. a FIFO where a
    /// regular file was expected).
    #[error("{}: not a regular file", path.display())]
    NotRegularFile {
        /// The offending path.
        path: PathBuf,
    },
    /// A system call on `path` failed.
    #[error("{op} {}: {}", path.display(), os_message(source))]
    Io {
        /// The operation, Go style: `open`, `mkdir`, `lock`, `read`, ...
        op: &'static str,
        /// The path the operation was applied to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A state file could not be parsed.
    #[error("parse {}: {source}", path.display())]
    Parse {
        /// The state file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The state could not be serialized.
    #[error("serialize state of container {id:?}: {source}")]
    Serialize {
        /// The container id.
        id: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<io::Error>,
    ) -> Self {
        StateError::Io {
            op,
            path: path.into(),
            source: source.into(),
        }
    }

    /// The `io::ErrorKind` of an [`StateError::Io`] error, if it is one.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            StateError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// `std::io::Error`'s message with the first letter lower-cased
/// ("Permission denied (os error 13)" -> "permission denied (os error 13)").
fn os_message(e: &io::Error) -> String {
    let s = e.to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => s,
    }
}

/// Result alias for this crate.
pub type Result<T, E = StateError> = std::result::Result<T, E>;

impl StateError {
    /// Whether this is an I/O error with kind `NotFound` (e.g. a missing
    /// file in [`Container::read_file`]).
    pub fn is_not_found(&self) -> bool {
        self.io_kind() == Some(std::io::ErrorKind::NotFound)
    }
}
