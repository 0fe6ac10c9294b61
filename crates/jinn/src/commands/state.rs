//! `jinn state`: the OCI state of a container, as runc prints it.

use anyhow::Result;
use jinn_state::Store;

pub fn run(store: &Store, id: &str) -> Result<i32> {
    let c = store.load(id)?;
    println!("{}", jinn_state::format_state(&c.oci_state_json()));
    Ok(0)
}
