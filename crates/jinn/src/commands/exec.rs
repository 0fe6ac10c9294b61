//! `jinn exec`: not implemented yet; fails with a clear error.

use anyhow::{bail, Result};
use jinn_state::Store;

use crate::cli::ExecArgs;

pub fn run(_store: &Store, _args: &ExecArgs) -> Result<i32> {
    bail!("jinn exec: not supported yet")
}
