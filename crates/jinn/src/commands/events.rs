//! `jinn events`: not implemented yet; fails with a clear error.

use anyhow::{bail, Result};
use jinn_state::Store;

pub fn run(_store: &Store, _id: &str, _interval: &str, _stats: bool) -> Result<i32> {
    bail!("jinn events: not supported yet")
}
