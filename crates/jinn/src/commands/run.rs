//! `jinn run`: create and start a container; in the foreground, wait for it while
//! forwarding signals, remove it, and exit with its exit code (128+N if killed by N).

use crate::cli::RunArgs;
use crate::{console, container, foreground};
use anyhow::Result;
use jinn_state::Store;

pub fn run(store: &Store, args: &RunArgs) -> Result<i32> {
    let signals = foreground::forwarded_signals();
    if !args.detach {
        // Blocked before the clone, so no signal is lost before the wait loop; the init
        // unblocks everything before it execs.
        signals.thread_block()?;
        if !args.no_subreaper {
            jinn_sys::caps::set_child_subreaper()?;
        }
    }
    let mut plan = jinn_config::load(&args.create.bundle)?;
    let create_args = crate::passed_fds::socket_activation(&args.create, &mut plan);
    let terminal = plan.process.terminal;
    console::check(terminal, args.create.console_socket.is_some(), !args.detach)?;
    let socket = args
        .create
        .console_socket
        .as_deref()
        .map(console::connect)
        .transpose()?;
    // In the foreground with a terminal and no console socket, jinn relays it itself.
    let own = (terminal && socket.is_none())
        .then(console::OwnConsole::new)
        .transpose()?;
    let socket = socket.as_ref().or(own.as_ref().map(|o| &o.theirs));
    let (mut c, spawned) = container::create(store, &create_args, &plan, socket)?;
    let master = match own
        .as_ref()
        .map(console::OwnConsole::receive_master)
        .transpose()
    {
        Ok(m) => m,
        Err(e) => return Err(remove_after(c, e)),
    };
    if let Err(e) = container::start(&mut c) {
        return Err(remove_after(c, e));
    }
    if args.detach {
        return Ok(0);
    }
    let id = c.id().to_string();
    drop(c); // release the container's lock while it runs
    let waited = match master {
        Some(m) => console::relay_and_wait(m, &signals, spawned.pid),
        None => foreground::wait_and_forward(&signals, spawned.pid),
    };
    if !args.keep || waited.is_err() {
        container::destroy(store.load(&id)?, true)?;
    }
    waited
}

/// A `run` that failed after the container was created removes it again; a failure of
/// that cleanup is logged, the first error is the one reported.
fn remove_after(c: jinn_state::Container, e: anyhow::Error) -> anyhow::Error {
    if let Err(cleanup) = container::destroy(c, true) {
        tracing::warn!("remove the container after the failure: {cleanup}");
    }
    e
}
