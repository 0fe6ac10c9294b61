//! `jinn resume ID`: thaw a paused container and record its status again.

use anyhow::{bail, Result};
use jinn_state::{Status, Store};

pub fn run(store: &Store, id: &str) -> Result<i32> {
    let mut c = store.load(id)?;
    if c.live_status() != Status::Paused {
        bail!("container not paused");
    }
    let cg = crate::container::load_cgroup(&c)?;
    cg.thaw()?;
    let st = c.state_mut();
    st.status = if st.started {
        Status::Running
    } else {
        Status::Created
    };
    c.save()?;
    Ok(0)
}
