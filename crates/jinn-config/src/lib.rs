//! The config.json interpreter: parse, validate, translate into a [`Plan`].
//!
//! [`load`] does all of it for a bundle directory; [`parse`], [`validate`] and [`translate`]
//! are the steps. [`default_spec`] writes the config.json of `jinn spec`.

mod device_rules;
mod error;
mod fields;
pub mod mount_options;
mod parse;
pub mod plan;
pub mod tables;
mod translate;
mod validate;

pub use validate::refuse_lsm;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::ConfigError;
pub use oci_spec::runtime::Spec;
pub use parse::parse;
pub use plan::*;
pub use translate::translate;
pub use validate::validate;

/// The name of the configuration file in a bundle.
pub const CONFIG_FILE: &str = "config.json";

/// Reads `<bundle>/config.json`, parses, validates and translates it. The bundle path is
/// made absolute (canonical) first.
pub fn load(bundle: &Path) -> Result<Plan, ConfigError> {
    let bundle = bundle
        .canonicalize()
        .map_err(|source| ConfigError::Bundle {
            path: bundle.to_path_buf(),
            source,
        })?;
    if bundle.to_str().is_none() {
        return Err(ConfigError::Bundle {
            path: bundle,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "path is not valid utf-8 (the state's bundle is a json string)",
            ),
        });
    }
    let path = bundle.join(CONFIG_FILE);
    let json = std::fs::read(&path).map_err(|source| ConfigError::Read { path, source })?;
    let spec = parse(&json)?;
    validate(&spec, &bundle)?;
    translate(&spec, &bundle)
}

/// The default config.json, as `runc spec` (or `runc spec --rootless`) writes it, with
/// `ociVersion` 1.3.0. The rootless variant maps container root to the caller's effective
/// uid and gid.
pub fn default_spec(rootless: bool) -> String {
    if rootless {
        // SAFETY: geteuid and getegid cannot fail and have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        include_str!("default_config_rootless.json")
            .trim_end()
            .replace("@UID@", &uid.to_string())
            .replace("@GID@", &gid.to_string())
    } else {
        include_str!("default_config.json").trim_end().to_string()
    }
}

/// Reads a `process` JSON file (`jinn exec --process FILE`), validates it by the rules of
/// config.json's `process` and translates it.
pub fn load_process(file: &Path) -> Result<ProcessPlan, ConfigError> {
    let json = std::fs::read(file).map_err(|source| ConfigError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let process = parse::parse_process(&json, &file.display().to_string())?;
    validate::validate_process(&process)?;
    translate::translate_process(&process)
}
