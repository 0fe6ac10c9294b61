//! Errors of the container's creation, on both sides of the sync pipe.

use std::path::PathBuf;

/// Why creating or starting the container failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A step inside the init failed; the message names the step and path.
    #[error("{0}")]
    Child(String),
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

/// A failed step inside the init: what was done, on which path, and the errno.
/// Its text is what travels back over the sync pipe.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{step} {path}: {}", jinn_sys::errno_text(*.source))]
    Path {
        step: &'static str,
        path: String,
        #[source]
        source: nix::Error,
    },
    #[error("{step}: {}", jinn_sys::errno_text(*.source))]
    Sys {
        step: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Attach a step name (and path) to a `nix::Result`.
pub(crate) trait Step<T> {
    fn step(self, step: &'static str) -> Result<T, StepError>;
    fn at(self, step: &'static str, path: impl std::fmt::Display) -> Result<T, StepError>;
}

impl<T> Step<T> for nix::Result<T> {
    fn step(self, step: &'static str) -> Result<T, StepError> {
        self.map_err(|source| StepError::Sys { step, source })
    }
    fn at(self, step: &'static str, path: impl std::fmt::Display) -> Result<T, StepError> {
        self.map_err(|source| StepError::Path {
            step,
            path: path.to_string(),
            source,
        })
    }
}
