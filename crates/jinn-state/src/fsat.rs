//! File operations relative to a directory fd that never follow symlinks.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::{fstat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::{Result, StateError};

/// `openat(dir, name, flags | O_CLOEXEC, mode)` returning an owned fd.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &str,
    flags: OFlag,
    mode: Mode,
) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::openat(Some(dir.as_raw_fd()), name, flags | OFlag::O_CLOEXEC, mode)?;
    // SAFETY: `openat` just returned this freshly opened descriptor; nothing
    // else owns it, so transferring ownership to an `OwnedFd` is sound.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Opens the directory `name` inside `dir` without following symlinks.
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &str) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
}

/// Takes an exclusive, blocking `flock`, retrying on `EINTR`.
pub(crate) fn lock_exclusive(mut fd: OwnedFd, path: &Path) -> Result<Flock<OwnedFd>> {
    loop {
        match Flock::lock(fd, FlockArg::LockExclusive) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EINTR)) => fd = f,
            Err((_, e)) => return Err(StateError::io("lock", path, e)),
        }
    }
}

/// Names in directory `dir` (except `.` and `..`) with their type if known.
pub(crate) fn read_dir_at(dir: BorrowedFd<'_>, path: &Path) -> Result<Vec<(String, Option<Type>)>> {
    let fd = open_dir_at(dir, ".").map_err(|e| StateError::io("open", path, e))?;
    let mut d = Dir::from(fd).map_err(|e| StateError::io("open", path, e))?;
    let mut out = Vec::new();
    for entry in d.iter() {
        let entry = entry.map_err(|e| StateError::io("readdir", path, e))?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        match std::str::from_utf8(name) {
            Ok(n) => out.push((n.to_string(), entry.file_type())),
            // Not a name jinn creates; leave it alone.
            Err(_) => continue,
        }
    }
    Ok(out)
}

/// Removes everything inside `dir` (not `dir` itself), never following
/// symlinks. Missing entries are ignored.
pub(crate) fn remove_contents_at(dir: BorrowedFd<'_>, path: &Path) -> Result<()> {
    for (name, _) in read_dir_at(dir, path)? {
        let p = path.join(&name);
        match unlinkat(
            Some(dir.as_raw_fd()),
            name.as_str(),
            UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(Errno::EISDIR) => {
                let sub = match open_dir_at(dir, &name) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT) => continue,
                    Err(e) => return Err(StateError::io("open", &p, e)),
                };
                remove_contents_at(sub.as_fd(), &p)?;
                match unlinkat(
                    Some(dir.as_raw_fd()),
                    name.as_str(),
                    UnlinkatFlags::RemoveDir,
                ) {
                    Ok(()) | Err(Errno::ENOENT) => {}
                    Err(e) => return Err(StateError::io("remove", &p, e)),
                }
            }
            Err(e) => return Err(StateError::io("remove", &p, e)),
        }
    }
    Ok(())
}

/// Removes the container directory `id` (already locked through `dir`) and
/// everything in it.
pub(crate) fn remove_container_dir(
    root: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    id: &str,
    path: &Path,
) -> Result<()> {
    remove_contents_at(dir, path)?;
    match unlinkat(Some(root.as_raw_fd()), id, UnlinkatFlags::RemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(StateError::io("remove", path, e)),
    }
}

/// Whether the directory behind `fd` has been removed (link count 0).
pub(crate) fn is_unlinked(fd: BorrowedFd<'_>, path: &Path) -> Result<bool> {
    let st = fstat(fd.as_raw_fd()).map_err(|e| StateError::io("stat", path, e))?;
    Ok(st.st_nlink == 0)
}

/// Reads the regular file `name` inside `dir` without following symlinks.
pub(crate) fn read_file_at(dir: BorrowedFd<'_>, name: &str, path: &Path) -> Result<Vec<u8>> {
    // O_NONBLOCK so that a planted FIFO cannot make us hang; it has no
    // effect on regular files.
    let fd = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| StateError::io("open", path, e))?;
    let mut file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| StateError::io("stat", path, e))?;
    if !meta.file_type().is_file() {
        return Err(StateError::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut buf)
        .map_err(|e| StateError::io("read", path, e))?;
    Ok(buf)
}
