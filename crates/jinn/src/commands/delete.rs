//! `jinn delete [--force] ID`.

use anyhow::Result;
use jinn_state::Store;

pub fn run(store: &Store, id: &str, force: bool) -> Result<i32> {
    match store.load(id) {
        Ok(c) => crate::container::destroy(c, force)?,
        Err(e @ jinn_state::StateError::NotExist { .. }) => {
            // An aborted create may leave a directory without state.json: remove it, and
            // with --force a missing container is not an error (as runc).
            jinn_state::validate_id(id)?;
            let _ = store.remove(id);
            if !force {
                return Err(e.into());
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(0)
}
