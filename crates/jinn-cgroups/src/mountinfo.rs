//! Parsing `/proc/self/mountinfo` and `/proc/self/cgroup` into the cgroup
//! hierarchies this process can see. Pure text in, data out, so it is unit
//! tested with fixed input for every layout.

use std::path::PathBuf;

use crate::error::{CgroupError, Result};

/// One cgroup filesystem mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// Path inside the hierarchy that is mounted (field 4, usually `/`).
    pub root: String,
    /// Where it is mounted (field 5).
    pub mountpoint: PathBuf,
    /// `true` for `cgroup2`, `false` for v1 `cgroup`.
    pub v2: bool,
    /// v1 only: the super options naming controllers (`cpu`, `name=systemd`, ...).
    pub options: Vec<String>,
}

/// Every `cgroup`/`cgroup2` mount in a mountinfo text, in file order.
pub(crate) fn parse_mountinfo(text: &str) -> Result<Vec<CgroupMount>> {
    let mut mounts = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let bad = |reason: &str| CgroupError::Parse {
            file: "/proc/self/mountinfo",
            reason: format!("{reason} in line {line:?}"),
        };
        let (pre, post) = line
            .split_once(" - ")
            .ok_or_else(|| bad("no ' - ' separator"))?;
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 6 || post.len() < 3 {
            return Err(bad("too few fields"));
        }
        let v2 = match post[0] {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        mounts.push(CgroupMount {
            root: unescape(pre[3]),
            mountpoint: PathBuf::from(unescape(pre[4])),
            v2,
            options: post[2].split(',').map(str::to_owned).collect(),
        });
    }
    Ok(mounts)
}

/// Undo mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(digits, 8) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of `/proc/self/cgroup`: `hierarchy-id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcCgroup {
    pub id: u32,
    /// Empty for the unified (v2) hierarchy.
    pub controllers: Vec<String>,
    pub path: String,
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroup>> {
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let bad = || CgroupError::Parse {
            file: "/proc/self/cgroup",
            reason: format!("expected id:controllers:path in line {line:?}"),
        };
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        entries.push(ProcCgroup {
            id: id.parse().map_err(|_| bad())?,
            controllers: controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            path: path.to_owned(),
        });
    }
    Ok(entries)
}

/// A mounted cgroup hierarchy, joined with this process's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// v1: comma-joined controllers as in `/proc/self/cgroup`
    /// (`cpu`, `cpu,cpuacct`, `name=systemd`); v2: empty.
    pub controllers: String,
    pub mountpoint: PathBuf,
    /// This process's cgroup relative to the mount's root, without a leading
    /// `/` (empty when it is the mount root itself).
    pub own: String,
}

/// The mounted v1 hierarchies and the cgroup2 hierarchy, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hierarchies {
    pub v1: Vec<Hierarchy>,
    pub unified: Option<Hierarchy>,
}

/// Match mounts with `/proc/self/cgroup` lines. A hierarchy that appears in
/// `/proc/self/cgroup` but is not mounted is skipped; when a hierarchy is
/// mounted more than once the first mount that shows our own cgroup wins.
pub(crate) fn hierarchies(mounts: &[CgroupMount], own: &[ProcCgroup]) -> Result<Hierarchies> {
    let mut found = Hierarchies::default();
    for entry in own {
        let unified = entry.id == 0 && entry.controllers.is_empty();
        let candidates = mounts.iter().filter(|m| {
            if unified {
                m.v2
            } else {
                !m.v2
                    && !entry.controllers.is_empty()
                    && entry.controllers.iter().all(|c| m.options.contains(c))
            }
        });
        let mut chosen = None;
        let mut first_outside = None;
        for mount in candidates {
            match strip_root(&entry.path, &mount.root) {
                Some(rel) => {
                    chosen = Some((mount, rel));
                    break;
                }
                None => {
                    first_outside.get_or_insert(mount);
                }
            }
        }
        let (mount, own_rel) = match (chosen, first_outside) {
            (Some(c), _) => c,
            (None, Some(mount)) => {
                return Err(CgroupError::OwnCgroupOutsideMount {
                    hierarchy: hierarchy_name(&entry.controllers),
                    own: entry.path.clone(),
                    root: mount.root.clone(),
                })
            }
            (None, None) => continue,
        };
        let hierarchy = Hierarchy {
            controllers: entry.controllers.join(","),
            mountpoint: mount.mountpoint.clone(),
            own: own_rel,
        };
        if unified {
            found.unified = Some(hierarchy);
        } else {
            found.v1.push(hierarchy);
        }
    }
    Ok(found)
}

fn hierarchy_name(controllers: &[String]) -> String {
    if controllers.is_empty() {
        "unified".to_owned()
    } else {
        controllers.join(",")
    }
}

/// `path` relative to `root`, both absolute cgroup paths; `None` when `path`
/// is not under `root`.
fn strip_root(path: &str, root: &str) -> Option<String> {
    let path = path.trim_matches('/');
    let root = root.trim_matches('/');
    if root.is_empty() {
        return Some(path.to_owned());
    }
    if path == root {
        return Some(String::new());
    }
    path.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_owned)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// This development host: v1 controllers plus an almost empty cgroup2 tree.
    pub(crate) const HYBRID_MOUNTINFO: &str = "\
23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    pub(crate) const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/7af5
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    /// A pure cgroup v2 host (systemd), shell in a session scope.
    pub(crate) const V2_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    pub(crate) const V2_CGROUP: &str = "0::/user.slice/user-0.slice/session-1.scope\n";

    /// A v1 host with co-mounted controllers, as seen inside a container that
    /// got only its own sub-tree bind-mounted (mount root != /).
    pub(crate) const V1_MOUNTINFO: &str = "\
600 590 0:50 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct
601 590 0:51 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
602 590 0:52 /docker/abc /sys/fs/cgroup/systemd ro,nosuid - cgroup cgroup rw,xattr,name=systemd
603 590 0:53 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,name=weird
";
    pub(crate) const V1_CGROUP: &str = "\
12:name=weird:/
4:memory:/docker/abc/sub
3:cpu,cpuacct:/docker/abc
2:hugetlb:/docker/abc
1:name=systemd:/docker/abc
";

    #[test]
    fn parses_hybrid_host() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO).unwrap();
        assert_eq!(mounts.len(), 10);
        let own = parse_proc_cgroup(HYBRID_CGROUP).unwrap();
        let h = hierarchies(&mounts, &own).unwrap();
        assert_eq!(h.v1.len(), 9);
        let memory = h.v1.iter().find(|h| h.controllers == "memory").unwrap();
        assert_eq!(memory.mountpoint, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(memory.own, "process_api/7af5");
        let systemd =
            h.v1.iter()
                .find(|h| h.controllers == "name=systemd")
                .unwrap();
        assert_eq!(systemd.mountpoint, PathBuf::from("/sys/fs/cgroup/systemd"));
        assert_eq!(systemd.own, "");
        let unified = h.unified.unwrap();
        assert_eq!(unified.mountpoint, PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn parses_v2_host() {
        let mounts = parse_mountinfo(V2_MOUNTINFO).unwrap();
        let own = parse_proc_cgroup(V2_CGROUP).unwrap();
        let h = hierarchies(&mounts, &own).unwrap();
        assert!(h.v1.is_empty());
        let unified = h.unified.unwrap();
        assert_eq!(unified.mountpoint, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(unified.own, "user.slice/user-0.slice/session-1.scope");
    }

    #[test]
    fn accounts_for_mount_root_comounts_and_escapes() {
        let mounts = parse_mountinfo(V1_MOUNTINFO).unwrap();
        assert_eq!(mounts[3].mountpoint, PathBuf::from("/sys/fs/cgroup/my dir"));
        let own = parse_proc_cgroup(V1_CGROUP).unwrap();
        let h = hierarchies(&mounts, &own).unwrap();
        // hugetlb is listed but not mounted: skipped.
        let names: Vec<&str> = h.v1.iter().map(|h| h.controllers.as_str()).collect();
        assert_eq!(
            names,
            ["name=weird", "memory", "cpu,cpuacct", "name=systemd"]
        );
        assert_eq!(h.v1[1].own, "sub");
        assert_eq!(h.v1[2].own, "");
        assert!(h.unified.is_none());
    }

    #[test]
    fn own_cgroup_outside_mount_root_is_an_error() {
        let mounts = parse_mountinfo(V1_MOUNTINFO).unwrap();
        let own = parse_proc_cgroup("4:memory:/elsewhere\n").unwrap();
        let err = hierarchies(&mounts, &own).unwrap_err();
        assert_eq!(
            err.to_string(),
            "own cgroup /elsewhere of hierarchy memory is outside the mount root /docker/abc"
        );
    }

    #[test]
    fn bad_lines_are_reported() {
        assert!(parse_proc_cgroup("garbage\n").is_err());
        assert!(parse_mountinfo("1 2 3\n").is_err());
    }
}
