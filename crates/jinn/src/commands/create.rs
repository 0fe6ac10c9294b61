//! `jinn create`: set the container up and leave it waiting for `start`.

use anyhow::Result;
use jinn_state::Store;

use crate::cli::CreateArgs;
use crate::console;

pub fn run(store: &Store, args: &CreateArgs) -> Result<i32> {
    let mut plan = jinn_config::load(&args.bundle)?;
    let args = &crate::passed_fds::socket_activation(args, &mut plan);
    console::check(plan.process.terminal, args.console_socket.is_some(), false)?;
    let socket = args
        .console_socket
        .as_deref()
        .map(console::connect)
        .transpose()?;
    crate::container::create(store, args, &plan, socket.as_ref())?;
    Ok(0)
}
