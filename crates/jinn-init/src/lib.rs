//! The container's init: created by `jinn create` with `clone3` (no re-exec), it sets up
//! namespaces, mounts, devices, `pivot_root` and the process, reports over the sync pipe,
//! then waits on the exec socket for `jinn start` and execs the user's program.
//!
//! The parent side is [`spawn`]; the init side starts in [`child::main`]; `jinn start`
//! uses [`start::request_start`].

mod child;
mod console;
mod devices;
pub mod error;
pub mod exec;
mod fsutil;
pub mod hooks;
mod idmap;
mod mounts;
mod namespace;
mod netdev;
mod process;
mod rootfs;
mod spawn;
pub mod start;
pub mod sync;
mod tuning;

pub use error::InitError;
pub use spawn::{spawn, CgroupMountSource, SpawnOptions, Spawned};
