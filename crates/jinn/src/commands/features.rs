//! `jinn features`: not implemented yet; fails with a clear error.

use anyhow::{bail, Result};

pub fn run() -> Result<i32> {
    bail!("jinn features: not supported yet")
}
