//! `mounts[].options` → mount attributes, propagation and filesystem data.
//!
//! The option names follow config.md's table and runc's `mountFlags`, `recAttrFlags` and
//! `mountPropagationMapping`. Per-mount flags become `MOUNT_ATTR_*` bits (for
//! `mount_setattr(2)`/`fsmount(2)`); the `r`-prefixed variants become the recursive set.
//! Superblock flags that the kernel's generic option parser understands by name (`sync`,
//! `async`, `dirsync`, `mand`, `nomand`, `lazytime`, `nolazytime`) go into `data`: fsconfig
//! and mount(2) both accept them there for a new filesystem (on a bind mount data has no
//! effect, as in the kernel a bind only changes per-mount flags).
//! `remount` makes the entry change the mount already at its destination instead of
//! mounting something new. Options runc accepts that change nothing (`defaults`, `loud`,
//! `silent`) are dropped. Everything else (`mode=755`, `size=65536k`, `newinstance`, `gid=5`, `acl`, …) is
//! filesystem data.

use crate::plan::{
    Propagation, PropagationKind, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME,
    MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY,
    MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
};

/// The translated options of one mount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// `bind` (Some(false)) or `rbind` (Some(true)) was given.
    pub bind: Option<bool>,
    pub attr_set: u64,
    pub attr_clear: u64,
    pub rec_attr_set: u64,
    pub rec_attr_clear: u64,
    pub propagation: Option<Propagation>,
    /// Filesystem data, in the given order.
    pub data: Vec<String>,
    /// `idmap` (Some(false)) or `ridmap` (Some(true)).
    pub idmap: Option<bool>,
    /// `tmpcopyup` was given.
    pub tmpcopyup: bool,
    /// `remount` was given: change the mount already at the destination.
    pub remount: bool,
}

/// Set/clear bookkeeping of one attribute set (per-mount or recursive).
#[derive(Default)]
struct Attrs {
    set: u64,
    clear: u64,
    /// Any atime option given; the mode is then computed as mount(2) does.
    atime_given: bool,
    noatime: bool,
    strictatime: bool,
}

impl Attrs {
    fn set(&mut self, bit: u64) {
        self.set |= bit;
        self.clear &= !bit;
    }

    fn clear(&mut self, bit: u64) {
        self.clear |= bit;
        self.set &= !bit;
    }

    /// Final (set, clear): an atime option sets exactly one atime mode, chosen as the kernel
    /// does for mount(2) (strictatime beats noatime beats the relatime default), and puts
    /// `MOUNT_ATTR__ATIME` in the clear mask as `mount_setattr(2)` requires.
    fn finish(self) -> (u64, u64) {
        let (mut set, mut clear) = (self.set, self.clear);
        if self.atime_given {
            let mode = if self.strictatime {
                MOUNT_ATTR_STRICTATIME
            } else if self.noatime {
                MOUNT_ATTR_NOATIME
            } else {
                MOUNT_ATTR_RELATIME
            };
            set = (set & !MOUNT_ATTR__ATIME) | mode;
            clear |= MOUNT_ATTR__ATIME;
        }
        (set, clear)
    }
}

/// Applies a flag option (without the `r` prefix) to `attrs`; false if `name` is not one.
fn apply_flag(attrs: &mut Attrs, name: &str) -> bool {
    match name {
        "ro" => attrs.set(MOUNT_ATTR_RDONLY),
        "rw" => attrs.clear(MOUNT_ATTR_RDONLY),
        "nosuid" => attrs.set(MOUNT_ATTR_NOSUID),
        "suid" => attrs.clear(MOUNT_ATTR_NOSUID),
        "nodev" => attrs.set(MOUNT_ATTR_NODEV),
        "dev" => attrs.clear(MOUNT_ATTR_NODEV),
        "noexec" => attrs.set(MOUNT_ATTR_NOEXEC),
        "exec" => attrs.clear(MOUNT_ATTR_NOEXEC),
        "nodiratime" => attrs.set(MOUNT_ATTR_NODIRATIME),
        "diratime" => attrs.clear(MOUNT_ATTR_NODIRATIME),
        "nosymfollow" => attrs.set(MOUNT_ATTR_NOSYMFOLLOW),
        "symfollow" => attrs.clear(MOUNT_ATTR_NOSYMFOLLOW),
        "noatime" => {
            attrs.atime_given = true;
            attrs.noatime = true;
        }
        "atime" => {
            attrs.atime_given = true;
            attrs.noatime = false;
        }
        "strictatime" => {
            attrs.atime_given = true;
            attrs.strictatime = true;
        }
        "nostrictatime" => {
            attrs.atime_given = true;
            attrs.strictatime = false;
        }
        // relatime is the default mode; norelatime alone leaves it (as mount(2) does).
        "relatime" | "norelatime" => attrs.atime_given = true,
        _ => return false,
    }
    true
}

fn propagation(name: &str) -> Option<Propagation> {
    let (recursive, base) = match name.strip_prefix('r') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, name),
    };
    let kind = match base {
        "private" => PropagationKind::Private,
        "shared" => PropagationKind::Shared,
        "slave" => PropagationKind::Slave,
        "unbindable" => PropagationKind::Unbindable,
        _ => return None,
    };
    Some(Propagation { kind, recursive })
}

/// A propagation name (`rprivate`, `shared`, …) as used by `linux.rootfsPropagation`.
pub fn parse_propagation(name: &str) -> Option<Propagation> {
    propagation(name)
}

/// Translates the options of one mount. Later options override earlier ones.
pub fn parse_options<S: AsRef<str>>(options: &[S]) -> MountOptions {
    let mut out = MountOptions::default();
    let mut attrs = Attrs::default();
    let mut rec = Attrs::default();
    for option in options {
        let option = option.as_ref();
        match option {
            "bind" => out.bind = Some(out.bind.unwrap_or(false)),
            "rbind" => out.bind = Some(true),
            "idmap" => out.idmap = Some(false),
            "ridmap" => out.idmap = Some(true),
            "tmpcopyup" => out.tmpcopyup = true,
            "remount" => out.remount = true,
            // iversion/noiversion are superblock flags mount(2) takes and most
            // filesystems ignore (those that care keep i_version on anyway); fsconfig has
            // no key for them: accepted, as runc does.
            "defaults" | "loud" | "silent" | "iversion" | "noiversion" => {}
            _ => {
                if let Some(p) = propagation(option) {
                    out.propagation = Some(p);
                } else if !apply_flag(&mut attrs, option)
                    && !option
                        .strip_prefix('r')
                        .is_some_and(|base| apply_flag(&mut rec, base))
                {
                    out.data.push(option.to_string());
                }
            }
        }
    }
    (out.attr_set, out.attr_clear) = attrs.finish();
    (out.rec_attr_set, out.rec_attr_clear) = rec.finish();
    out
}
