//! `jinn kill [--all] ID [SIGNAL]`.

use anyhow::{anyhow, Result};
use jinn_state::Store;

pub fn run(store: &Store, id: &str, signal: Option<&str>, all: bool) -> Result<i32> {
    let sig = crate::signal::parse(signal.unwrap_or("SIGTERM")).map_err(|e| anyhow!(e))?;
    let c = store.load(id)?;
    crate::container::signal(&c, sig, all)?;
    Ok(0)
}
