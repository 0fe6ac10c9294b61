//! `jinn pause`: not implemented yet; fails with a clear error.

use anyhow::{bail, Result};
use jinn_state::Store;

pub fn run(_store: &Store, _id: &str) -> Result<i32> {
    bail!("jinn pause: not supported yet")
}
