//! `jinn create`: set the container up and leave it waiting for `start`.

use anyhow::Result;
use jinn_state::Store;

use crate::cli::CreateArgs;

pub fn run(store: &Store, args: &CreateArgs) -> Result<i32> {
    crate::container::create(store, args)?;
    Ok(0)
}
