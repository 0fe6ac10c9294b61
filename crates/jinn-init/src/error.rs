//! Errors of the container's creation, on both sides of the sync pipe.

use std::path::PathBuf;

/// Why creating or starting the container failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A failure told in words: a step inside the init (its text travels back over the
    /// sync pipe, naming the step and path), or a check without an errno.
    #[error("{0}")]
    Message(String),
    /// The init died or closed the sync pipe without a word.
    #[error("container init exited before it was ready: {0}")]
    ChildDied(String),
    #[error("sync pipe: {}", jinn_sys::errno_text(*.0))]
    Sync(#[source] nix::Error),
    #[error("sync pipe: bad message: {0}")]
    Protocol(String),
    #[error("clone3 of the container init: {}", jinn_sys::errno_text(*.0))]
    Clone(#[source] nix::Error),
    #[error("{what} {path}: {}", jinn_sys::errno_text(*.source))]
    Path {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("{what}: {}", jinn_sys::errno_text(*.source))]
    Sys {
        what: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("start: {0}")]
    Start(String),
}

/// Attach a step name (and path) to a `nix::Result`.
pub(crate) trait Step<T> {
    fn step(self, step: &'static str) -> Result<T, InitError>;
    fn at(self, step: &'static str, path: impl std::fmt::Display) -> Result<T, InitError>;
}

impl<T> Step<T> for nix::Result<T> {
    fn step(self, what: &'static str) -> Result<T, InitError> {
        self.map_err(|source| InitError::Sys { what, source })
    }
    fn at(self, what: &'static str, path: impl std::fmt::Display) -> Result<T, InitError> {
        self.map_err(|source| InitError::Path {
            what,
            path: PathBuf::from(path.to_string()),
            source,
        })
    }
}
