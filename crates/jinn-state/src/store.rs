//! The state root: creating, opening, listing and removing container directories.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::dir::Type;
use nix::errno::Errno;
use nix::fcntl::Flock;
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};

use crate::container::Container;
use crate::fsat::{
    is_unlinked, lock_exclusive, open_dir_at, read_dir_at, read_file_at, remove_container_dir,
};
use crate::{validate_id, ListRow, Result, State, StateError, STATE_FILE};

/// The container state store rooted at the runtime's `--root`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    root_fd: Arc<OwnedFd>,
}

impl Store {
    /// Opens the store at `root`, creating it (and its parents) with mode
    /// 0700 if missing. A root that is itself a symlink is refused.
    pub fn open(root: &Path) -> Result<Store> {
        match std::fs::symlink_metadata(root) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(StateError::RootIsSymlink {
                    path: root.to_path_buf(),
                })
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(root)
                    .map_err(|e| StateError::io("mkdir", root, e))?;
            }
            Err(e) => return Err(StateError::io("lstat", root, e)),
        }
        // O_NOFOLLOW also closes the race with a symlink planted after lstat.
        let root_fd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(root)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    StateError::RootIsSymlink {
                        path: root.to_path_buf(),
                    }
                } else {
                    StateError::io("open", root, e)
                }
            })?;
        Ok(Store {
            root: root.to_path_buf(),
            root_fd: Arc::new(OwnedFd::from(root_fd)),
        })
    }

    /// The root path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory for a new container (mode 0700), locks it and
    /// writes an initial `state.json` (status `creating`, `created` = now).
    /// Fails with [`StateError::AlreadyExists`] if `<root>/<id>` exists in
    /// any form (including a symlink, which is left untouched).
    pub fn create(&self, id: &str) -> Result<Container> {
        validate_id(id)?;
        let path = self.root.join(id);
        match mkdirat(
            Some(self.root_fd.as_raw_fd()),
            id,
            Mode::from_bits_truncate(0o700),
        ) {
            Ok(()) => {}
            Err(Errno::EEXIST) => return Err(StateError::AlreadyExists { id: id.to_string() }),
            Err(e) => return Err(StateError::io("mkdir", &path, e)),
        }
        let fd = match open_dir_at(self.root_fd.as_fd(), id) {
            Ok(fd) => fd,
            Err(e) => return Err(StateError::io("open", &path, e)),
        };
        let lock = lock_exclusive(fd, &path)?;
        let container = Container {
            id: id.to_string(),
            dir: path,
            lock,
            root_fd: Arc::clone(&self.root_fd),
            state: State::new(id),
        };
        if let Err(e) = container.save() {
            let _ =
                remove_container_dir(self.root_fd.as_fd(), container.dir_fd(), id, &container.dir);
            return Err(e);
        }
        Ok(container)
    }

    /// Opens, locks (exclusive, blocking until any other holder drops its
    /// [`Container`]) and reads the state of container `id`.
    ///
    /// A missing directory or missing `state.json` (as left by an aborted
    /// create; see [`Store::remove`]) is [`StateError::NotExist`]. A symlink
    /// at `<root>/<id>` or at `state.json` is never followed and is an error.
    pub fn load(&self, id: &str) -> Result<Container> {
        let (path, lock) = self.open_locked(id)?;
        let file = path.join(STATE_FILE);
        let bytes = match read_file_at(lock.as_fd(), STATE_FILE, &file) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Err(StateError::NotExist { id: id.to_string() }),
            Err(e) => return Err(e),
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError::Parse {
            path: file,
            source: e,
        })?;
        Ok(Container {
            id: id.to_string(),
            dir: path,
            lock,
            root_fd: Arc::clone(&self.root_fd),
            state,
        })
    }

    /// Removes the directory of container `id` and everything in it, whether
    /// or not it has a valid `state.json` (for `delete` of a container whose
    /// creation was aborted, as runc does). Waits for the lock first.
    pub fn remove(&self, id: &str) -> Result<()> {
        let (path, lock) = self.open_locked(id)?;
        remove_container_dir(self.root_fd.as_fd(), lock.as_fd(), id, &path)
    }

    /// The directory of container `id`, opened without following symlinks and locked
    /// (exclusive, blocking); `NotExist` when it is missing or was removed while we
    /// waited for the lock.
    fn open_locked(&self, id: &str) -> Result<(PathBuf, Flock<OwnedFd>)> {
        validate_id(id)?;
        let path = self.root.join(id);
        let fd = match open_dir_at(self.root_fd.as_fd(), id) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Err(StateError::NotExist { id: id.to_string() }),
            Err(e) => return Err(StateError::io("open", &path, e)),
        };
        let lock = lock_exclusive(fd, &path)?;
        // The previous holder may have destroyed the container meanwhile.
        if is_unlinked(lock.as_fd(), &path)? {
            return Err(StateError::NotExist { id: id.to_string() });
        }
        Ok((path, lock))
    }

    /// Ids of the container directories in the root, sorted. Entries that
    /// are not directories (e.g. symlinks) or not valid ids are skipped.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for (name, ty) in read_dir_at(self.root_fd.as_fd(), &self.root)? {
            if validate_id(&name).is_err() {
                continue;
            }
            let is_dir = match ty {
                Some(t) => t == Type::Directory,
                None => fstatat(
                    Some(self.root_fd.as_raw_fd()),
                    name.as_str(),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
                .unwrap_or(false),
            };
            if is_dir {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Loads every container in [`Store::list`] order and returns its
    /// `jinn list` row. Containers that disappear meanwhile, or whose
    /// creation was aborted (no state.json), are skipped. Note that this
    /// blocks on containers locked by another jinn process.
    pub fn list_rows(&self) -> Result<Vec<ListRow>> {
        let mut rows = Vec::new();
        for id in self.list()? {
            match self.load(&id) {
                Ok(c) => rows.push(c.list_row()),
                Err(StateError::NotExist { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(rows)
    }
}
