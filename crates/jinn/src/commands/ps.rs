//! `jinn ps`: not implemented yet; fails with a clear error.

use anyhow::{bail, Result};
use jinn_state::Store;

use crate::cli::ListFormat;

pub fn run(_store: &Store, _id: &str, _format: ListFormat, _ps_args: &[String]) -> Result<i32> {
    bail!("jinn ps: not supported yet")
}
