//! Small, named, safe wrappers over the raw Linux system calls jinn needs and that
//! `nix` does not cover: clone3, the new mount API, openat2, close_range, capabilities.
//!
//! Every function returns `nix::Result`: the errno is the whole story at this level;
//! callers add the path or field that failed.

pub mod caps;
pub mod clone;
pub mod fd;
pub mod mount;
pub mod process;
pub mod resolve;

pub use nix::errno::Errno;
pub use nix::Result;
