//! jinn-cgroups: the container's control group on cgroup v1, hybrid and v2
//! hosts, with runc's cgroupfs behaviour as the reference.
//!
//! Where things live:
//! * layout detection and the [`Cgroup`] type: this file;
//! * `linux.cgroupsPath` rules: `path.rs`; `/proc` parsing: `mountinfo.rs`;
//! * one file per controller for `linux.resources`: `memory.rs`, `cpu.rs`,
//!   `cpuset.rs`, `pids.rs`, `blkio.rs`, `hugetlb.rs`, `network.rs`,
//!   `rdma.rs`, `devices.rs`, `unified.rs` (dispatch in `resources.rs`);
//! * pause/resume: `freezer.rs`; signalling every process: `kill.rs`;
//! * the systemd driver (`--systemd-cgroup`): `systemd/`;
//! * `events --stats` in runc's JSON layout: `stats.rs`; OOM notifications:
//!   `events.rs`.

mod blkio;
mod cpu;
mod cpuset;
mod devices;
pub mod ebpf;
mod error;
mod events;
mod freezer;
mod fs;
mod hugetlb;
mod kill;
mod memory;
mod mountinfo;
mod network;
mod path;
mod pids;
mod rdma;
mod resources;
pub mod stats;
pub mod systemd;
mod unified;

use std::cmp::Reverse;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::{CgroupError, Result};
pub use events::OomWatcher;
/// The spec types `apply` takes, for callers without their own dependency.
pub use oci_spec;
pub use stats::Stats;

use crate::mountinfo::CgroupMount;
use crate::path::CgroupDir;

const MOUNTINFO: &str = "/proc/self/mountinfo";
const PROC_CGROUP: &str = "/proc/self/cgroup";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// How the host mounts its cgroup hierarchies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Only v1 hierarchies (`/sys/fs/cgroup/<controller>`).
    V1,
    /// v1 hierarchies plus a cgroup2 tree (usually `/sys/fs/cgroup/unified`)
    /// that holds no or few controllers.
    Hybrid,
    /// Pure cgroup v2: `/sys/fs/cgroup` is itself a cgroup2 filesystem.
    V2,
}

/// Detect the cgroup layout of this host from `statfs(/sys/fs/cgroup)` and
/// `/proc/self/mountinfo`.
pub fn detect() -> Result<Layout> {
    let mounts = mountinfo::parse_mountinfo(&fs::read(Path::new(MOUNTINFO))?)?;
    layout_from(&mounts, root_is_cgroup2()?)
}

fn root_is_cgroup2() -> Result<bool> {
    match nix::sys::statfs::statfs(CGROUP_ROOT) {
        Ok(st) => Ok(st.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC),
        Err(nix::errno::Errno::ENOENT) => Ok(false),
        Err(errno) => Err(CgroupError::Statfs {
            path: CGROUP_ROOT.into(),
            error: io::Error::from(errno),
        }),
    }
}

fn layout_from(mounts: &[CgroupMount], root_is_cgroup2: bool) -> Result<Layout> {
    let has_v1 = mounts.iter().any(|m| !m.v2);
    let has_v2 = mounts.iter().any(|m| m.v2);
    match (root_is_cgroup2, has_v1, has_v2) {
        (true, _, _) | (false, false, true) => Ok(Layout::V2),
        (false, true, true) => Ok(Layout::Hybrid),
        (false, true, false) => Ok(Layout::V1),
        (false, false, false) => Err(CgroupError::NoCgroupFs),
    }
}

/// A container's control group: one directory per mounted v1 hierarchy
/// and/or one in the cgroup2 tree. Serialisable so the runtime can keep it
/// in the container state and act on it from a later process.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cgroup {
    layout: Layout,
    /// Normalised `linux.cgroupsPath`: `/a/b` (absolute) or `a/b` (relative).
    path: String,
    dirs: Vec<CgroupDir>,
    /// Every directory `create` made, parents included; `destroy` removes
    /// these parents again when they are empty and nothing else.
    #[serde(default)]
    created: Mutex<Vec<PathBuf>>,
    /// `--systemd-cgroup`: the systemd unit that owns the cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    systemd: Option<systemd::Unit>,
}

impl Clone for Cgroup {
    fn clone(&self) -> Self {
        Cgroup {
            layout: self.layout,
            path: self.path.clone(),
            dirs: self.dirs.clone(),
            created: Mutex::new(self.created().clone()),
            systemd: self.systemd.clone(),
        }
    }
}

impl PartialEq for Cgroup {
    fn eq(&self, other: &Self) -> bool {
        self.layout == other.layout
            && self.path == other.path
            && self.dirs == other.dirs
            && *self.created() == *other.created()
            && self.systemd == other.systemd
    }
}

impl Cgroup {
    /// Resolve `linux.cgroupsPath` (absent: the relative path `<id>`, as
    /// runc) into directories on this host. Nothing is created yet.
    pub fn new(cgroups_path: Option<&str>, id: &str) -> Result<Cgroup> {
        Cgroup::at(path::normalize(cgroups_path, id)?)
    }

    /// The cgroup at the normalised `path`, on this host.
    fn at(path: String) -> Result<Cgroup> {
        let mounts = mountinfo::parse_mountinfo(&fs::read(Path::new(MOUNTINFO))?)?;
        let layout = layout_from(&mounts, root_is_cgroup2()?)?;
        let own = mountinfo::parse_proc_cgroup(&fs::read(Path::new(PROC_CGROUP))?)?;
        let found = mountinfo::hierarchies(&mounts, &own)?;
        let dirs = path::dirs(layout, &path, &found)?;
        Ok(Cgroup {
            layout,
            path,
            dirs,
            created: Mutex::new(Vec::new()),
            systemd: None,
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The normalised cgroups path (`/a/b` or `a/b`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Every directory of this cgroup (v1 hierarchies first, then cgroup2).
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|d| d.path.as_path())
    }

    /// The directory in the v1 hierarchy that carries `controller`
    /// (`memory`, `cpuacct`, `name=systemd`, ...).
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| !d.is_unified() && d.has_controller(controller))
            .map(|d| d.path.as_path())
    }

    /// The cgroup2 directory (pure v2, or the unified tree of a hybrid
    /// host), e.g. to open for `clone3(CLONE_INTO_CGROUP)`.
    pub fn v2_dir(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.is_unified())
            .map(|d| d.path.as_path())
    }

    /// What a `cgroup` mount inside the container shows, as (name under the mount
    /// point, host directory): on v1 and hybrid hosts one entry per hierarchy, named
    /// after its mount point (`cpu`, `memory`, `systemd`, `unified`); on a pure v2
    /// host the one directory, unnamed.
    pub fn mount_sources(&self) -> Vec<(String, PathBuf)> {
        if self.layout == Layout::V2 {
            return self
                .v2_dir()
                .map(|d| vec![(String::new(), d.to_path_buf())])
                .unwrap_or_default();
        }
        self.dirs
            .iter()
            .filter_map(|d| {
                let name = d.mountpoint.file_name()?.to_string_lossy().into_owned();
                Some((name, d.path.clone()))
            })
            .collect()
    }

    fn created(&self) -> MutexGuard<'_, Vec<PathBuf>> {
        self.created.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Create every directory (`mkdir -p`). On v1 `cpuset`, empty
    /// `cpuset.cpus`/`cpuset.mems` are copied from the parent level; in the
    /// cgroup2 tree (pure v2 or hybrid), the parents' available controllers are
    /// enabled for their children.
    pub fn create(&self) -> Result<()> {
        for dir in &self.dirs {
            self.mkdir_levels(dir)?;
            if !dir.is_unified() && dir.has_controller("cpuset") {
                cpuset::init_v1_levels(dir)?;
            }
            // config-linux.md unified: "The OCI runtime MUST ensure that the needed
            // cgroup controllers are enabled for the cgroup", on a hybrid host's
            // cgroup2 tree too (its controllers are the ones not bound to v1).
            if dir.is_unified() {
                enable_v2_controllers(dir)?;
            }
        }
        Ok(())
    }

    fn mkdir_levels(&self, dir: &CgroupDir) -> Result<()> {
        let rel = dir.path.strip_prefix(&dir.mountpoint).unwrap_or(&dir.path);
        let mut level = dir.mountpoint.clone();
        for component in rel.components() {
            level.push(component);
            match std::fs::create_dir(&level) {
                Ok(()) => self.created().push(level.clone()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(CgroupError::Mkdir { path: level, error }),
            }
        }
        Ok(())
    }

    /// Move `pid` into this cgroup in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        let pid = pid.to_string();
        for dir in &self.dirs {
            fs::write(&dir.path.join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// The processes in this cgroup, from `cgroup.procs` of the v2 directory
    /// (pure v2) or of the v1 pids/memory/freezer hierarchy.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let dir = self.procs_dir().ok_or(CgroupError::NoCgroupFs)?;
        fs::read_pids(&dir.join("cgroup.procs"))
    }

    /// The processes in this cgroup and in any cgroup the container made
    /// below it (runc's `GetAllPids`), in the order the kernel lists them.
    pub fn all_pids(&self) -> Result<Vec<i32>> {
        fn walk(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
            match fs::read_pids(&dir.join("cgroup.procs")) {
                Ok(pids) => out.extend(pids),
                // Removed meanwhile.
                Err(CgroupError::Read { error, .. }) if error.kind() == io::ErrorKind::NotFound => {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&entry.path(), out)?;
                }
            }
            Ok(())
        }
        let dir = self.procs_dir().ok_or(CgroupError::NoCgroupFs)?;
        let mut pids = Vec::new();
        walk(dir, &mut pids)?;
        Ok(pids)
    }

    fn procs_dir(&self) -> Option<&Path> {
        let preferred = match self.layout {
            Layout::V2 => self.v2_dir(),
            Layout::V1 | Layout::Hybrid => ["pids", "memory", "freezer", "devices"]
                .iter()
                .find_map(|c| self.v1_dir(c)),
        };
        preferred.or_else(|| self.dirs().next())
    }

    /// Remove the cgroup: every leaf directory (with any sub-cgroups the
    /// container made, deepest first), retrying while exiting processes keep
    /// it busy, then the parents `create` made if they are now empty. A
    /// missing directory is fine, so this is idempotent.
    pub fn destroy(&self) -> Result<()> {
        // Killed processes of a paused container exit only once thawed.
        if self.is_frozen().unwrap_or(false) {
            let _ = self.thaw();
        }
        let mut first_error = None;
        if let Err(e) = self.stop_systemd_unit() {
            first_error = Some(e);
        }
        for dir in &self.dirs {
            if let Err(e) = remove_tree(&dir.path) {
                first_error.get_or_insert(e);
            }
        }
        let mut parents: Vec<PathBuf> = self
            .created()
            .iter()
            .filter(|p| !self.dirs.iter().any(|d| d.path == **p))
            .cloned()
            .collect();
        parents.sort_by_key(|p| Reverse(p.components().count()));
        for parent in parents {
            // Busy or not empty: shared with another container; leave it.
            if let Err(e) = std::fs::remove_dir(&parent) {
                tracing::debug!(path = %parent.display(), error = %e, "cgroup parent kept");
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Enable, in each level from the mount point down to the leaf's parent,
/// every controller that level has, so the leaf gets its interface files.
/// A level that refuses (it holds processes, or a controller is threaded)
/// is skipped: `apply` then reports the missing controller by field.
fn enable_v2_controllers(dir: &CgroupDir) -> Result<()> {
    let Some(parent) = dir.path.parent() else {
        return Ok(());
    };
    let rel = parent
        .strip_prefix(&dir.mountpoint)
        .unwrap_or(Path::new(""));
    let mut level = dir.mountpoint.clone();
    let mut levels = vec![level.clone()];
    for component in rel.components() {
        level.push(component);
        levels.push(level.clone());
    }
    for level in levels {
        let available = fs::read(&level.join("cgroup.controllers"))?;
        let enabled = fs::read(&level.join("cgroup.subtree_control"))?;
        let enabled: Vec<&str> = enabled.split_whitespace().collect();
        for controller in available.split_whitespace() {
            if enabled.contains(&controller) {
                continue;
            }
            let subtree = level.join("cgroup.subtree_control");
            if let Err(e) = fs::write(&subtree, &format!("+{controller}")) {
                tracing::debug!(error = %e, "cgroup controller not enabled");
            }
        }
    }
    Ok(())
}

/// Remove `dir` and any cgroups below it, deepest first.
fn remove_tree(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(CgroupError::Read {
                path: dir.to_owned(),
                error,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    rmdir_retry(dir)
}

/// `rmdir`, retried on EBUSY for about 0.6 s while the last processes exit.
fn rmdir_retry(dir: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(5);
    for attempt in 0.. {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 7 => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(error) => {
                return Err(CgroupError::Rmdir {
                    path: dir.to_owned(),
                    error,
                })
            }
        }
    }
    unreachable!("the retry loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::tests::*;
    use crate::mountinfo::{hierarchies, parse_mountinfo, parse_proc_cgroup};

    #[test]
    fn layout_from_mounts() {
        let hybrid = parse_mountinfo(HYBRID_MOUNTINFO).unwrap();
        assert_eq!(layout_from(&hybrid, false).unwrap(), Layout::Hybrid);
        let v2 = parse_mountinfo(V2_MOUNTINFO).unwrap();
        assert_eq!(layout_from(&v2, true).unwrap(), Layout::V2);
        let v1 = parse_mountinfo(V1_MOUNTINFO).unwrap();
        assert_eq!(layout_from(&v1, false).unwrap(), Layout::V1);
        assert!(matches!(
            layout_from(&[], false),
            Err(CgroupError::NoCgroupFs)
        ));
    }

    #[test]
    fn serde_round_trip_keeps_dirs_and_created() {
        let found = hierarchies(
            &parse_mountinfo(V2_MOUNTINFO).unwrap(),
            &parse_proc_cgroup(V2_CGROUP).unwrap(),
        )
        .unwrap();
        let cg = Cgroup {
            layout: Layout::V2,
            path: "/jinn/c1".into(),
            dirs: path::dirs(Layout::V2, "/jinn/c1", &found).unwrap(),
            created: Mutex::new(vec!["/sys/fs/cgroup/jinn".into()]),
            systemd: None,
        };
        let json = serde_json::to_string(&cg).unwrap();
        assert!(json.contains("\"layout\":\"v2\""), "{json}");
        let back: Cgroup = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cg);
        assert_eq!(back.v2_dir(), Some(Path::new("/sys/fs/cgroup/jinn/c1")));
        assert_eq!(back.procs_dir(), Some(Path::new("/sys/fs/cgroup/jinn/c1")));
        assert_eq!(back.clone(), cg);
    }

    /// The v2 code paths (cgroup.freeze, cgroup.events, cgroup.kill, pids
    /// from the v2 directory, controllers from cgroup.controllers) run for
    /// real against the cgroup2 tree of a hybrid host, seen as if pure v2.
    #[test]
    fn v2_code_paths_on_the_hybrid_cgroup2_tree() {
        if !nix::unistd::geteuid().is_root() || detect().ok() != Some(Layout::Hybrid) {
            eprintln!("skipped: needs root on a hybrid host");
            return;
        }
        let name = format!("/jinn-test-{}-v2-paths", std::process::id());
        let hybrid = Cgroup::new(Some(&name), "x").unwrap();
        let unified = hybrid.dirs.iter().find(|d| d.is_unified()).unwrap().clone();
        let cg = Cgroup {
            layout: Layout::V2,
            path: name,
            dirs: vec![unified],
            created: Mutex::new(Vec::new()),
            systemd: None,
        };
        struct Cleanup<'a>(&'a Cgroup);
        impl Drop for Cleanup<'_> {
            fn drop(&mut self) {
                let _ = self.0.thaw();
                let _ = self.0.kill_all(libc::SIGKILL);
                let _ = self.0.destroy();
            }
        }
        let _cleanup = Cleanup(&cg);
        cg.create().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        cg.add_pid(pid).unwrap();
        assert_eq!(cg.pids().unwrap(), [pid]);

        assert!(!cg.is_frozen().unwrap());
        cg.freeze().unwrap();
        assert!(cg.is_frozen().unwrap());
        cg.thaw().unwrap();
        assert!(!cg.is_frozen().unwrap());

        // This tree has no memory controller: the field is named.
        let resources: oci_spec::runtime::LinuxResources =
            serde_json::from_str(r#"{"memory": {"limit": 1048576}}"#).unwrap();
        let err = cg.apply(&resources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.resources.memory.limit: the memory cgroup controller is not available on this host"
        );

        cg.kill_all(libc::SIGKILL).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        cg.destroy().unwrap();
        assert!(!cg.dirs[0].path.exists());
    }
}
