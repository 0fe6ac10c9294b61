//! `linux.cgroupsPath` semantics: validation, the default, and where the
//! path lands in each mounted hierarchy. Behaviour follows runc's cgroupfs
//! driver (checked against runc 1.1 on a hybrid host):
//!
//! * absent (or empty): the relative path `<id>`;
//! * absolute `/a/b`: `<mountpoint>/a/b` in every hierarchy;
//! * relative `a/b`:
//!   - v1 hierarchies: `<mountpoint>/<own cgroup>/a/b`, own cgroup taken per
//!     hierarchy from `/proc/self/cgroup` (minus the mount root);
//!   - the cgroup2 tree of a hybrid host: `<mountpoint>/a/b` (runc does not
//!     look at its own v2 cgroup there);
//!   - pure v2: `<mountpoint>/<parent of own cgroup>/a/b`, because the
//!     runtime's own cgroup usually holds processes and so cannot enable
//!     controllers for a child (no-internal-processes rule).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{CgroupError, Result};
use crate::mountinfo::Hierarchies;
use crate::Layout;

/// One directory a `Cgroup` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CgroupDir {
    /// v1: comma-joined controllers of the hierarchy (`cpu`, `name=systemd`);
    /// empty for the cgroup2 tree.
    pub controllers: String,
    /// Mount point of the hierarchy: never created or removed by us.
    pub mountpoint: PathBuf,
    /// The container's cgroup directory.
    pub path: PathBuf,
}

impl CgroupDir {
    pub fn is_unified(&self) -> bool {
        self.controllers.is_empty()
    }

    /// Whether this v1 hierarchy carries `controller` (`memory`, `name=systemd`).
    pub fn has_controller(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

/// Validate `linux.cgroupsPath` (or the default for `id`) and normalise it:
/// `/a/b` for absolute paths, `a/b` for relative ones.
pub(crate) fn normalize(cgroups_path: Option<&str>, id: &str) -> Result<String> {
    let raw = match cgroups_path {
        Some(p) if !p.is_empty() => p,
        _ => id,
    };
    let invalid = |reason: &str| CgroupError::InvalidPath {
        path: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let absolute = raw.starts_with('/');
    if !absolute && raw.split(':').count() == 3 {
        return Err(CgroupError::SystemdPath {
            path: raw.to_owned(),
        });
    }
    if raw.contains('\0') {
        return Err(invalid("contains a NUL byte"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(invalid(if absolute {
                        "\"..\" escapes the cgroup hierarchy root"
                    } else {
                        "\"..\" escapes the runtime's own cgroup"
                    }));
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(invalid(
            "names the hierarchy root or the runtime's own cgroup, not a new cgroup",
        ));
    }
    let joined = parts.join("/");
    Ok(if absolute {
        format!("/{joined}")
    } else {
        joined
    })
}

/// The directories a cgroup at the normalised `path` uses for `layout`.
pub(crate) fn dirs(layout: Layout, path: &str, found: &Hierarchies) -> Result<Vec<CgroupDir>> {
    let relative = !path.starts_with('/');
    let inner = path.trim_start_matches('/');
    let mut dirs = Vec::new();
    if matches!(layout, Layout::V1 | Layout::Hybrid) {
        for h in &found.v1 {
            let mut dir = h.mountpoint.clone();
            if relative && !h.own.is_empty() {
                dir.push(&h.own);
            }
            dir.push(inner);
            dirs.push(CgroupDir {
                controllers: h.controllers.clone(),
                mountpoint: h.mountpoint.clone(),
                path: dir,
            });
        }
    }
    if matches!(layout, Layout::V2 | Layout::Hybrid) {
        if let Some(h) = &found.unified {
            let mut dir = h.mountpoint.clone();
            if relative && layout == Layout::V2 {
                if let Some((parent, _)) = h.own.rsplit_once('/') {
                    dir.push(parent);
                }
            }
            dir.push(inner);
            dirs.push(CgroupDir {
                controllers: String::new(),
                mountpoint: h.mountpoint.clone(),
                path: dir,
            });
        }
    }
    if dirs.is_empty() {
        return Err(CgroupError::NoCgroupFs);
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::tests::*;
    use crate::mountinfo::{hierarchies, parse_mountinfo, parse_proc_cgroup};

    fn found(mountinfo: &str, cgroup: &str) -> Hierarchies {
        hierarchies(
            &parse_mountinfo(mountinfo).unwrap(),
            &parse_proc_cgroup(cgroup).unwrap(),
        )
        .unwrap()
    }

    fn paths(dirs: &[CgroupDir]) -> Vec<String> {
        dirs.iter()
            .map(|d| d.path.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn normalize_follows_the_spec() {
        assert_eq!(normalize(None, "c1").unwrap(), "c1");
        assert_eq!(normalize(Some(""), "c1").unwrap(), "c1");
        assert_eq!(normalize(Some("/a//b/./c/"), "c1").unwrap(), "/a/b/c");
        assert_eq!(normalize(Some("/a/x/../b"), "c1").unwrap(), "/a/b");
        assert_eq!(normalize(Some("a/b"), "c1").unwrap(), "a/b");
        // A colon alone is a legal cgroupfs name.
        assert_eq!(normalize(Some("/a:b:c"), "c1").unwrap(), "/a:b:c");
        assert_eq!(normalize(Some("x:y"), "c1").unwrap(), "x:y");
    }

    #[test]
    fn normalize_rejects_escapes_and_roots() {
        let err = normalize(Some("/a/../../etc"), "c1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.cgroupsPath \"/a/../../etc\": \"..\" escapes the cgroup hierarchy root"
        );
        let err = normalize(Some("../x"), "c1").unwrap_err();
        assert!(err.to_string().starts_with("linux.cgroupsPath \"../x\""));
        assert!(normalize(Some("/"), "c1").is_err());
        assert!(normalize(Some("."), "c1").is_err());
        assert!(normalize(None, "..").is_err());
    }

    #[test]
    fn systemd_paths_need_the_systemd_driver() {
        let err = normalize(Some("system.slice:jinn:c1"), "c1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.cgroupsPath \"system.slice:jinn:c1\": a systemd cgroup path (slice:prefix:name) needs --systemd-cgroup"
        );
    }

    #[test]
    fn hybrid_absolute_path() {
        let h = found(HYBRID_MOUNTINFO, HYBRID_CGROUP);
        let d = dirs(Layout::Hybrid, "/jinn/c1", &h).unwrap();
        assert_eq!(d.len(), 10);
        assert!(paths(&d).contains(&"/sys/fs/cgroup/memory/jinn/c1".to_owned()));
        assert!(paths(&d).contains(&"/sys/fs/cgroup/systemd/jinn/c1".to_owned()));
        assert_eq!(d[9].path, PathBuf::from("/sys/fs/cgroup/unified/jinn/c1"));
        assert!(d[9].is_unified());
    }

    #[test]
    fn hybrid_relative_path_is_per_hierarchy_like_runc() {
        let h = found(HYBRID_MOUNTINFO, HYBRID_CGROUP);
        let d = dirs(Layout::Hybrid, "c1", &h).unwrap();
        let p = paths(&d);
        assert!(p.contains(&"/sys/fs/cgroup/memory/process_api/7af5/c1".to_owned()));
        assert!(p.contains(&"/sys/fs/cgroup/cpu/c1".to_owned()));
        assert!(p.contains(&"/sys/fs/cgroup/unified/c1".to_owned()));
    }

    #[test]
    fn v1_layout_ignores_cgroup2_and_accounts_for_mount_root() {
        let h = found(V1_MOUNTINFO, V1_CGROUP);
        let d = dirs(Layout::V1, "c1", &h).unwrap();
        assert_eq!(
            paths(&d),
            [
                "/sys/fs/cgroup/my dir/c1",
                "/sys/fs/cgroup/memory/sub/c1",
                "/sys/fs/cgroup/cpu,cpuacct/c1",
                "/sys/fs/cgroup/systemd/c1",
            ]
        );
        let d = dirs(Layout::V1, "/x/c1", &h).unwrap();
        assert_eq!(d[1].path, PathBuf::from("/sys/fs/cgroup/memory/x/c1"));
        assert!(d[2].has_controller("cpuacct"));
        assert!(!d[2].has_controller("cpuset"));
    }

    #[test]
    fn v2_paths() {
        let h = found(V2_MOUNTINFO, V2_CGROUP);
        let d = dirs(Layout::V2, "/jinn/c1", &h).unwrap();
        assert_eq!(paths(&d), ["/sys/fs/cgroup/jinn/c1"]);
        // Relative: next to the runtime's own (populated) cgroup, as runc does.
        let d = dirs(Layout::V2, "c1", &h).unwrap();
        assert_eq!(paths(&d), ["/sys/fs/cgroup/user.slice/user-0.slice/c1"]);
        // Own cgroup at the root: relative is under the root.
        let h = found(V2_MOUNTINFO, "0::/\n");
        let d = dirs(Layout::V2, "a/c1", &h).unwrap();
        assert_eq!(paths(&d), ["/sys/fs/cgroup/a/c1"]);
    }

    #[test]
    fn nothing_mounted_is_an_error() {
        let h = found(V2_MOUNTINFO, V2_CGROUP);
        assert!(matches!(
            dirs(Layout::V1, "/c1", &h),
            Err(CgroupError::NoCgroupFs)
        ));
    }
}
