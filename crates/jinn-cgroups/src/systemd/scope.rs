//! `linux.cgroupsPath` under `--systemd-cgroup`: `slice:prefix:name` to a unit name
//! and the cgroup systemd gives it (runc's rules):
//!
//! * absent or empty: `system.slice:jinn:<id>`, so the unit is `jinn-<id>.scope`;
//! * `slice` empty: `system.slice`; `prefix` empty: the unit is `<name>.scope`;
//! * `name` ending in `.slice`: the unit is that slice itself (no scope), nested as its
//!   name says; otherwise the unit is `<prefix>-<name>.scope` in `slice`;
//! * a slice's cgroup is its name expanded the way systemd nests slices:
//!   `a-b.slice` is `/a.slice/a-b.slice`, `-.slice` the root.

use serde::{Deserialize, Serialize};

use crate::error::{CgroupError, Result};

/// The prefix of scopes when config.json names none (runc uses `runc`).
pub const DEFAULT_PREFIX: &str = "jinn";
pub const DEFAULT_SLICE: &str = "system.slice";
/// The default slice of a user's systemd instance (rootless), as in runc.
pub const DEFAULT_USER_SLICE: &str = "user.slice";

/// The systemd unit that holds a container, as kept in its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// `jinn-c1.scope`, or `name.slice` when the container is a slice of its own.
    pub name: String,
    /// The slice the scope is in (for a slice unit: its parent, as given).
    pub slice: String,
    /// The cgroup systemd makes for the unit, from the root of the hierarchy:
    /// `/system.slice/jinn-c1.scope`.
    pub cgroup: String,
}

impl Unit {
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }
}

/// Parse `linux.cgroupsPath` (absent: the default for `id`) into the unit.
pub fn parse(cgroups_path: Option<&str>, id: &str) -> Result<Unit> {
    parse_in(cgroups_path, id, DEFAULT_SLICE)
}

/// `parse`, with `default_slice` where the path names none.
pub fn parse_in(cgroups_path: Option<&str>, id: &str, default_slice: &str) -> Result<Unit> {
    let raw = match cgroups_path {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => format!("{default_slice}:{DEFAULT_PREFIX}:{id}"),
    };
    let invalid = |reason: String| CgroupError::InvalidPath {
        path: raw.clone(),
        reason,
    };
    let parts: Vec<&str> = raw.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(invalid(
            "--systemd-cgroup needs the form \"slice:prefix:name\"".into(),
        ));
    };
    let slice = if slice.is_empty() {
        default_slice
    } else {
        slice
    };
    if name.is_empty() {
        return Err(invalid("the name (after the second ':') is empty".into()));
    }
    let parent = expand_slice(slice).map_err(invalid)?;
    if name == "-.slice" {
        return Err(invalid(
            "the root slice cannot be a container's unit".into(),
        ));
    }
    let (unit, cgroup) = if name.ends_with(".slice") {
        let cgroup = expand_slice(name).map_err(invalid)?;
        (name.to_owned(), cgroup)
    } else {
        let unit = if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        check_unit_name(&unit).map_err(invalid)?;
        let cgroup = format!("{}/{unit}", parent.trim_end_matches('/'));
        (unit, cgroup)
    };
    Ok(Unit {
        name: unit,
        slice: slice.to_owned(),
        cgroup,
    })
}

/// The cgroup of a slice unit: `a-b.slice` → `/a.slice/a-b.slice`, `-.slice` → `/`.
pub fn expand_slice(slice: &str) -> Result<String, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("slice {slice:?} does not end in \".slice\""));
    };
    if slice == "-.slice" {
        return Ok("/".into());
    }
    check_unit_name(slice)?;
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return Err(format!("slice {slice:?} is not a valid slice name"));
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push('/');
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    Ok(path)
}

/// systemd's unit name rules: at most 255 bytes of `[A-Za-z0-9:_.\-@]`, no `/`.
fn check_unit_name(unit: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    if unit.len() > 255 {
        return Err(format!("unit name {unit:?} is longer than 255 bytes"));
    }
    if let Some(c) = unit.chars().find(|c| !ok(*c)) {
        return Err(format!(
            "unit name {unit:?} has the character {c:?}, which systemd does not allow"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_like_systemd() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in [
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            "a.scope",
            "a/b.slice",
            ".slice",
        ] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroups_paths_to_units() {
        let u = parse(Some("system.slice:docker:abc"), "c1").unwrap();
        assert_eq!(u.name, "docker-abc.scope");
        assert_eq!(u.cgroup, "/system.slice/docker-abc.scope");
        assert!(!u.is_slice());

        let u = parse(None, "c1").unwrap();
        assert_eq!(u.name, "jinn-c1.scope");
        assert_eq!(u.slice, "system.slice");
        assert_eq!(u.cgroup, "/system.slice/jinn-c1.scope");

        let u = parse(Some(":cri:x"), "c1").unwrap();
        assert_eq!(u.cgroup, "/system.slice/cri-x.scope");
        let u = parse(Some("k-pods.slice::x"), "c1").unwrap();
        assert_eq!(u.name, "x.scope");
        assert_eq!(u.cgroup, "/k.slice/k-pods.slice/x.scope");
        let u = parse(Some("-.slice:p:x"), "c1").unwrap();
        assert_eq!(u.cgroup, "/p-x.scope");

        let u = parse(Some("system.slice:p:k-pod1.slice"), "c1").unwrap();
        assert!(u.is_slice());
        assert_eq!(u.name, "k-pod1.slice");
        assert_eq!(u.cgroup, "/k.slice/k-pod1.slice");
    }

    #[test]
    fn bad_paths_name_the_field() {
        let err = parse(Some("/a/b"), "c1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.cgroupsPath \"/a/b\": --systemd-cgroup needs the form \"slice:prefix:name\""
        );
        for bad in [
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "foo:p:x",
            "a--b.slice:p:x",
            "system.slice:p:x/y",
            "s.slice:p:-.slice",
        ] {
            let err = parse(Some(bad), "c1").unwrap_err().to_string();
            assert!(err.starts_with("linux.cgroupsPath \""), "{bad}: {err}");
        }
    }
}
