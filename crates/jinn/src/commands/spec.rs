//! `jinn spec`: write a default config.json, as `runc spec` does.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Result};

pub fn run(bundle: &Path, rootless: bool) -> Result<i32> {
    let path = bundle.join("config.json");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow!("{}: file exists, remove it first", path.display())
            }
            _ => anyhow!("create {}: {e}", path.display()),
        })?;
    f.write_all(jinn_config::default_spec(rootless).as_bytes())
        .map_err(|e| anyhow!("write {}: {e}", path.display()))?;
    Ok(0)
}
