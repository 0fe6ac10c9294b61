//! `jinn start`: run the program of a created container.

use anyhow::Result;
use jinn_state::Store;

pub fn run(store: &Store, id: &str) -> Result<i32> {
    let mut c = store.load(id)?;
    crate::container::start(&mut c)?;
    Ok(0)
}
