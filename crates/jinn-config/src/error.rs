//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading a config.json.
///
/// Messages are lower-case, without a trailing period, and name the file or the JSON field
/// they are about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The bundle directory cannot be resolved.
    #[error("bundle {}: {}", .path.display(), lower(.source))]
    Bundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `config.json` cannot be read.
    #[error("{}: {}", .path.display(), lower(.source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON or does not match the runtime-spec types. `path` is the
    /// JSON path of the offending value (`process.args`), empty for syntax errors at the top.
    #[error("config.json: {}{source}", path_prefix(.path))]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// A field breaks a rule of the runtime spec (or of runc, where jinn follows runc).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A field names a host path that cannot be used.
    #[error("{field}: {}: {}", .path.display(), lower(.source))]
    Path {
        field: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The message of an I/O error, starting lower-case ("no such file or directory (os error 2)").
fn lower(error: &std::io::Error) -> String {
    let message = error.to_string();
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => message,
    }
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() || path == "." || path == "?" {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] for `field`.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The JSON field the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } | ConfigError::Path { field, .. } => Some(field),
            ConfigError::Parse { path, .. } => Some(path),
            ConfigError::Bundle { .. } | ConfigError::Read { .. } => None,
        }
    }
}
