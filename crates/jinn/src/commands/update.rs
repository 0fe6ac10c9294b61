//! `jinn update`: not implemented yet; fails with a clear error.

use anyhow::{bail, Result};
use jinn_state::Store;

use crate::cli::UpdateArgs;

pub fn run(_store: &Store, _args: &UpdateArgs) -> Result<i32> {
    bail!("jinn update: not supported yet")
}
