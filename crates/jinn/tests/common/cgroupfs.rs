//! Reading a cgroup v2 hierarchy, for the tests that run in the v2 VM (cgroupv2.rs,
//! systemd.rs): /sys/fs/cgroup, or the tree `JINN_TEST_CGROUP2_ROOT` names (the
//! unified tree of a hybrid layout).

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// How long a wait may take: the VM is emulated and slow.
pub const WAIT: Duration = Duration::from_secs(60);

/// Where the cgroup2 tree is mounted: `JINN_TEST_CGROUP2_ROOT`, else [`CGROUP_ROOT`].
pub fn cgroup2_root() -> PathBuf {
    std::env::var_os("JINN_TEST_CGROUP2_ROOT")
        .filter(|r| !r.is_empty())
        .map_or_else(|| PathBuf::from(CGROUP_ROOT), PathBuf::from)
}

/// The host directory of the cgroup path `/a/b` in the cgroup2 tree.
pub fn cg_dir(cgroup: &str) -> PathBuf {
    cgroup2_root().join(cgroup.trim_start_matches('/'))
}

/// A cgroup interface file, trimmed.
#[track_caller]
pub fn read_cg(dir: &Path, file: &str) -> String {
    let p = dir.join(file);
    fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The pids in `<dir>/cgroup.procs` (none when the directory is gone).
pub fn procs(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Polls `cond` until it holds; fails the test with `what` after [`WAIT`].
#[track_caller]
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(20));
    }
}
