//! Small, named, safe wrappers over the raw Linux system calls jinn needs and that
//! `nix` does not cover: clone3, the new mount API, openat2, close_range, capabilities.
//!
//! Every function returns `nix::Result`: the errno is the whole story at this level;
//! callers add the path or field that failed.

pub mod caps;
pub mod clone;
pub mod fd;
pub mod mount;
pub mod pidfd;
pub mod process;
pub mod pty;
pub mod resolve;
pub mod sched;

pub use nix::errno::Errno;
pub use nix::Result;

/// An errno as jinn prints it: the OS text in lower case and the number,
/// `permission denied (os error 13)`, like Rust's own io errors but lower-case.
pub fn errno_text(e: Errno) -> String {
    let s = std::io::Error::from_raw_os_error(e as i32).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}
