//! The new mount API (fsopen, fsconfig, fsmount, open_tree, mount_setattr, move_mount):
//! every mount is built detached and attached by fd, so no path is looked up twice.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

pub use libc::{
    MOUNT_ATTR_IDMAP, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR__ATIME,
};

fn cstr(s: &str) -> nix::Result<CString> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

fn owned(ret: libc::c_long) -> nix::Result<OwnedFd> {
    let fd = Errno::result(ret)?;
    // SAFETY: the syscall returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `fsopen(fstype, FSOPEN_CLOEXEC)`: a filesystem context for a new instance.
pub fn fsopen(fstype: &str) -> nix::Result<OwnedFd> {
    let t = cstr(fstype)?;
    // SAFETY: t is a valid NUL-terminated string for the duration of the call.
    owned(unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), libc::FSOPEN_CLOEXEC) })
}

fn fsconfig(
    fs: BorrowedFd<'_>,
    cmd: libc::c_uint,
    key: Option<&CString>,
    value: Option<&CString>,
) -> nix::Result<()> {
    let k = key.map_or(std::ptr::null(), |k| k.as_ptr());
    let v = value.map_or(std::ptr::null(), |v| v.as_ptr());
    // SAFETY: key and value are NULL or valid C strings that outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, k, v, 0) };
    Errno::result(ret).map(drop)
}

/// `fsconfig(FSCONFIG_SET_STRING, key, value)`.
pub fn fsconfig_set_string(fs: BorrowedFd<'_>, key: &str, value: &str) -> nix::Result<()> {
    let (k, v) = (cstr(key)?, cstr(value)?);
    fsconfig(fs, libc::FSCONFIG_SET_STRING, Some(&k), Some(&v))
}

/// `fsconfig(FSCONFIG_SET_FLAG, key)`.
pub fn fsconfig_set_flag(fs: BorrowedFd<'_>, key: &str) -> nix::Result<()> {
    let k = cstr(key)?;
    fsconfig(fs, libc::FSCONFIG_SET_FLAG, Some(&k), None)
}

/// `fsconfig(FSCONFIG_CMD_CREATE)`: make the superblock.
pub fn fsconfig_create(fs: BorrowedFd<'_>) -> nix::Result<()> {
    fsconfig(fs, libc::FSCONFIG_CMD_CREATE, None, None)
}

/// `fspick(fd, "", FSPICK_EMPTY_PATH)`: a filesystem context for reconfiguring the
/// superblock of the mount `fd` refers to.
pub fn fspick(fd: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    // SAFETY: an empty, NUL-terminated path and plain integer arguments.
    owned(unsafe {
        libc::syscall(
            libc::SYS_fspick,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::FSPICK_CLOEXEC | libc::FSPICK_EMPTY_PATH,
        )
    })
}

/// `fsconfig(FSCONFIG_CMD_RECONFIGURE)`: apply the options set on a picked context.
pub fn fsconfig_reconfigure(fs: BorrowedFd<'_>) -> nix::Result<()> {
    fsconfig(fs, libc::FSCONFIG_CMD_RECONFIGURE, None, None)
}

/// `fsmount(fs, FSMOUNT_CLOEXEC, attrs)`: a detached mount of the created superblock.
pub fn fsmount(fs: BorrowedFd<'_>, attrs: u64) -> nix::Result<OwnedFd> {
    // SAFETY: plain integer arguments.
    owned(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            libc::FSMOUNT_CLOEXEC,
            attrs as libc::c_uint,
        )
    })
}

/// `open_tree(dirfd, path, OPEN_TREE_CLONE [| AT_RECURSIVE])`: a detached copy of the
/// mount (or mount tree) at `path`, for a bind mount. An empty `path` means `dirfd` itself.
pub fn open_tree_clone(
    dirfd: BorrowedFd<'_>,
    path: &(impl AsRef<std::path::Path> + ?Sized),
    recursive: bool,
) -> nix::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = path.as_ref().as_os_str();
    let p = CString::new(path.as_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    if path.is_empty() {
        flags |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    // SAFETY: p is a valid C string that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, dirfd.as_raw_fd(), p.as_ptr(), flags) })
}

/// Attribute changes for [`mount_setattr`].
#[derive(Debug, Default, Clone, Copy)]
pub struct MountAttr {
    pub set: u64,
    pub clear: u64,
    /// `MS_PRIVATE`, `MS_SHARED`, `MS_SLAVE` or `MS_UNBINDABLE`, or 0.
    pub propagation: u64,
    /// A user namespace fd, with `MOUNT_ATTR_IDMAP` in `set`.
    pub userns_fd: Option<i32>,
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], attr)` on the mount `fd` refers to.
pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, attr: MountAttr) -> nix::Result<()> {
    let mut a = libc::mount_attr {
        attr_set: attr.set,
        attr_clr: attr.clear,
        propagation: attr.propagation,
        userns_fd: attr.userns_fd.map_or(0, |f| f as u64),
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: "" is a valid C string; `a` is a mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut a as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// `move_mount(from, "", to, "", F_EMPTY_PATH | T_EMPTY_PATH)`: attach the detached (or
/// existing) mount `from` on the directory or file `to` refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: both paths are the valid empty C string; descriptors are borrowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(ret).map(drop)
}

/// `pivot_root(".", ".")` in the current directory, the trick that needs no put-old
/// directory: the old root ends up stacked under the new one and is detached next.
pub fn pivot_root_here() -> nix::Result<()> {
    // SAFETY: "." is a valid C string.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) };
    Errno::result(ret).map(drop)
}

/// Whether `path` is the root of a mount (`STATX_ATTR_MOUNT_ROOT`).
pub fn is_mount_root(path: &std::path::Path) -> nix::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let p = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: statx is plain old data; all-zero is a valid value to be overwritten.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: p is a valid C string and stx a writable statx for the call.
    let ret = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            p.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_BASIC_STATS,
            &mut stx,
        )
    };
    Errno::result(ret)?;
    Ok(stx.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0)
}
