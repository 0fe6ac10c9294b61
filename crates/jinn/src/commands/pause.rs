//! `jinn pause ID`: freeze every process of the container (v1 freezer, v2
//! `cgroup.freeze`), then record the status `paused`.

use anyhow::{bail, Result};
use jinn_state::{Status, Store};

pub fn run(store: &Store, id: &str) -> Result<i32> {
    let mut c = store.load(id)?;
    match c.live_status() {
        Status::Running | Status::Created => {}
        _ => bail!("container not running"),
    }
    let cg = crate::container::load_cgroup(&c)?;
    cg.freeze()?;
    c.state_mut().status = Status::Paused;
    if let Err(e) = c.save() {
        let _ = cg.thaw();
        return Err(e.into());
    }
    Ok(0)
}
