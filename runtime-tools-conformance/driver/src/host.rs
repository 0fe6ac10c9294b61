//! What the host offers a case: guards that skip a case on a host without
//! what it checks, and the host-side things cases set up (a network
//! namespace to join, the block device of /).

use crate::harness::Case;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether every one of `paths` exists on this host; when one does not,
/// `rule` is skipped with `reason`.
pub(crate) fn host_has(c: &mut Case, paths: &[&str], rule: &str, reason: &str) -> bool {
    if paths.iter().all(|p| Path::new(p).exists()) {
        return true;
    }
    c.skip(rule, reason);
    false
}

/// Whether the cgroup v1 `ctrl` hierarchy has `file`; when not, `rule` is
/// skipped: only the cgroup v1 controller is checked so far.
pub(crate) fn v1_controller(c: &mut Case, ctrl: &str, file: &str, rule: &str) -> bool {
    host_has(
        c,
        &[&format!("/sys/fs/cgroup/{ctrl}/{file}")],
        rule,
        &format!("only the cgroup v1 {ctrl} controller is checked so far"),
    )
}

/// A new network namespace held by a `sleep` (killed when the case ends):
/// its `/proc/PID/ns/net`. None (`rule` skipped) when `unshare` cannot run.
pub(crate) fn netns_holder(c: &mut Case, rule: &str) -> Option<String> {
    let child = Command::new("unshare")
        .args(["--net", "sleep", "600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        c.skip(rule, "cannot run unshare --net");
        return None;
    };
    let pid = child.id() as i32;
    c.pids_to_kill.push(pid);
    let path = format!("/proc/{pid}/ns/net");
    let host_net = fs::read_link("/proc/self/ns/net").ok();
    let start = Instant::now();
    while fs::read_link(&path).ok() == host_net && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(path)
}

/// (major, minor) of the block device the host's / is on, when /dev has a
/// node for it.
pub(crate) fn root_block_device() -> Option<(u32, u32)> {
    fs::metadata("/")
        .ok()
        .map(|m| (libc::major(m.dev()), libc::minor(m.dev())))
        .filter(|&(ma, mi)| {
            fs::read_dir("/dev").ok().is_some_and(|rd| {
                rd.flatten().any(|e| {
                    e.metadata().is_ok_and(|m| {
                        m.file_type().is_block_device() && m.rdev() == libc::makedev(ma, mi)
                    })
                })
            })
        })
}
