//! jinn-state: the on-disk container state store.
//!
//! One directory per container under the runtime root (default
//! [`DEFAULT_ROOT`]): `<root>/<id>/state.json` plus any extra files other
//! crates store through [`Container::write_file`] (e.g. `plan.json`).
//!
//! Safety properties:
//! * every descriptor is opened `O_CLOEXEC`;
//! * the root is opened once with `O_NOFOLLOW` and refused if it is a
//!   symlink; container directories are reached with `mkdirat`/`openat`
//!   relative to it, and every file inside a container directory through
//!   the directory descriptor with `O_NOFOLLOW`, so no symlink is followed;
//! * a [`Container`] holds an exclusive `flock` on its directory for as long
//!   as it lives, serialising all jinn processes operating on the container;
//! * files are written atomically (exclusive temp file + `renameat`).

mod error;
mod output;
mod proc;
mod time;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};
use serde::{Deserialize, Serialize};

pub use error::{Result, StateError};
pub use output::{format_state, list_json, list_quiet, list_table, ListRow, OciState, OCI_VERSION};
pub use proc::{process_is_alive, process_start_time};
pub use time::{now_rfc3339_nano, rfc3339_nano};

/// Default state root, the runtime's `--root`.
pub const DEFAULT_ROOT: &str = "/run/jinn";
/// Name of the state file inside a container directory.
pub const STATE_FILE: &str = "state.json";
/// Maximum container id length in bytes.
pub const MAX_ID_LEN: usize = 1024;

/// Validates a container id with runc's rule: non-empty, at most
/// [`MAX_ID_LEN`] bytes, only `[A-Za-z0-9_+.-]`, and not `.` or `..`.
///
/// (runc's regex `^[\w+-\.]+$` accidentally also admits `,` via the `+-.`
/// range; jinn does not.)
pub fn validate_id(id: &str) -> Result<()> {
    let invalid = |reason| {
        Err(StateError::InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return Err(StateError::EmptyId);
    }
    if id.len() > MAX_ID_LEN {
        return invalid("longer than 1024 bytes");
    }
    if id == "." || id == ".." {
        return invalid("\".\" and \"..\" are not allowed");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return invalid("only [A-Za-z0-9_+.-] allowed");
    }
    Ok(())
}

/// Checks that `name` is a plain file name (no `/`, not `.`/`..`, no NUL).
fn validate_file_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(StateError::InvalidFileName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Container status, serialized lower-case as in the OCI runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The container is being created.
    #[default]
    Creating,
    /// Created, init waiting for `start`.
    Created,
    /// The user process is running.
    Running,
    /// The init process has exited (or was never started).
    Stopped,
    /// Frozen (set by the cgroup code).
    Paused,
}

impl Status {
    /// The lower-case OCI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
            Status::Paused => "paused",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The persisted container state (`state.json`, camelCase keys). Missing
/// keys deserialize to their defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    /// Container id.
    pub id: String,
    /// Init process pid (0 = none).
    pub pid: i32,
    /// `starttime` (field 22 of `/proc/PID/stat`) of the init process.
    pub pid_start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds, UTC (see [`rfc3339_nano`]).
    pub created: String,
    /// Annotations from the bundle's config.
    pub annotations: BTreeMap<String, String>,
    /// Owner as reported by `state` ("" as runc).
    pub owner: String,
    /// Status as last recorded by the runtime; see [`Container::live_status`]
    /// for the effective one.
    pub status: Status,
    /// Set by `jinn start`.
    pub started: bool,
    /// Opaque data owned by the cgroup crate.
    pub cgroup_paths: serde_json::Value,
    /// `ociVersion` of the bundle's config.json.
    pub config_oci_version: String,
}

impl State {
    /// A fresh state for `id`: status `creating`, `created` = now.
    pub fn new(id: &str) -> State {
        State {
            id: id.to_string(),
            created: now_rfc3339_nano(),
            ..State::default()
        }
    }
}

/// `openat(dir, name, flags | O_CLOEXEC, mode)` returning an owned fd.
fn openat(dir: BorrowedFd<'_>, name: &str, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::openat(Some(dir.as_raw_fd()), name, flags | OFlag::O_CLOEXEC, mode)?;
    // SAFETY: `openat` just returned this freshly opened descriptor; nothing
    // else owns it, so transferring ownership to an `OwnedFd` is sound.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Opens the directory `name` inside `dir` without following symlinks.
fn open_dir_at(dir: BorrowedFd<'_>, name: &str) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
}

/// Takes an exclusive, blocking `flock`, retrying on `EINTR`.
fn lock_exclusive(mut fd: OwnedFd, path: &Path) -> Result<Flock<OwnedFd>> {
    loop {
        match Flock::lock(fd, FlockArg::LockExclusive) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EINTR)) => fd = f,
            Err((_, e)) => return Err(StateError::io("lock", path, e)),
        }
    }
}

/// Names in directory `dir` (except `.` and `..`) with their type if known.
fn read_dir_at(dir: BorrowedFd<'_>, path: &Path) -> Result<Vec<(String, Option<Type>)>> {
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
fn remove_contents_at(dir: BorrowedFd<'_>, path: &Path) -> Result<()> {
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
fn remove_container_dir(
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
fn is_unlinked(fd: BorrowedFd<'_>, path: &Path) -> Result<bool> {
    let st = fstat(fd.as_raw_fd()).map_err(|e| StateError::io("stat", path, e))?;
    Ok(st.st_nlink == 0)
}

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

/// A locked container directory and its state. The exclusive lock is held
/// until this value is dropped (or [`Container::destroy`]ed).
#[derive(Debug)]
pub struct Container {
    id: String,
    dir: PathBuf,
    lock: Flock<OwnedFd>,
    root_fd: Arc<OwnedFd>,
    state: State,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Reads the regular file `name` inside `dir` without following symlinks.
fn read_file_at(dir: BorrowedFd<'_>, name: &str, path: &Path) -> Result<Vec<u8>> {
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

impl Container {
    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The container directory, `<root>/<id>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The locked directory descriptor (use it with `*at` calls).
    pub fn dir_fd(&self) -> BorrowedFd<'_> {
        self.lock.as_fd()
    }

    /// The state as loaded or last modified.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Mutable access to the state; call [`Container::save`] to persist.
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// Atomically writes the state to `state.json`.
    pub fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec(&self.state).map_err(|e| StateError::Serialize {
            id: self.id.clone(),
            source: e,
        })?;
        self.write_file(STATE_FILE, &bytes)
    }

    /// Atomically replaces the file `name` (a plain file name) in the
    /// container directory with `bytes`: the data is written to a fresh
    /// temporary file (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600) which is then
    /// renamed over `name`. A symlink at `name` is replaced, not followed.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        validate_file_name(name)?;
        let path = self.dir.join(name);
        let (tmp, fd) = loop {
            let tmp = format!(
                ".{name}.tmp-{}-{}",
                std::process::id(),
                TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            match openat(
                self.dir_fd(),
                &tmp,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(0o600),
            ) {
                Ok(fd) => break (tmp, fd),
                // A stale temp file from a crashed process with our pid.
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(StateError::io("open", self.dir.join(&tmp), e)),
            }
        };
        let cleanup = |e: StateError| {
            let _ = unlinkat(
                Some(self.dir_fd().as_raw_fd()),
                tmp.as_str(),
                UnlinkatFlags::NoRemoveDir,
            );
            e
        };
        let mut file = File::from(fd);
        file.write_all(bytes)
            .map_err(|e| cleanup(StateError::io("write", self.dir.join(&tmp), e)))?;
        drop(file);
        let dirfd = Some(self.dir_fd().as_raw_fd());
        nix::fcntl::renameat(dirfd, tmp.as_str(), dirfd, name)
            .map_err(|e| cleanup(StateError::io("rename", &path, e)))?;
        Ok(())
    }

    /// Reads the regular file `name` (a plain file name) from the container
    /// directory, never following a symlink. A missing file is an
    /// [`StateError::Io`] error for which [`StateError::is_not_found`] holds.
    pub fn read_file(&self, name: &str) -> Result<Vec<u8>> {
        validate_file_name(name)?;
        read_file_at(self.dir_fd(), name, &self.dir.join(name))
    }

    /// Removes the file `name` (a plain file name) from the container
    /// directory. Removing a missing file succeeds.
    pub fn remove_file(&self, name: &str) -> Result<()> {
        validate_file_name(name)?;
        match unlinkat(
            Some(self.dir_fd().as_raw_fd()),
            name,
            UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(StateError::io("remove", self.dir.join(name), e)),
        }
    }

    /// Removes every file in the container directory and the directory
    /// itself; the lock is released when `self` is dropped at the end.
    pub fn destroy(self) -> Result<()> {
        remove_container_dir(self.root_fd.as_fd(), self.dir_fd(), &self.id, &self.dir)
    }

    /// The effective status:
    /// * `stopped` if `pid` is 0 or the init process is gone, a zombie, or a
    ///   different process reusing the pid (start time mismatch);
    /// * `paused` if the runtime recorded `paused` (hook for the cgroup code,
    ///   which sets/clears it on pause/resume) and init is alive;
    /// * otherwise `running` if `jinn start` ran (`started`), else `created`.
    pub fn live_status(&self) -> Status {
        let s = &self.state;
        if s.pid <= 0 || !process_is_alive(s.pid, s.pid_start_time) {
            return Status::Stopped;
        }
        if s.status == Status::Paused {
            return Status::Paused;
        }
        if s.started {
            Status::Running
        } else {
            Status::Created
        }
    }

    /// The OCI state object (what `runc state` prints); `pid` is 0 when the
    /// container is stopped, `owner` is the recorded owner ("" normally).
    pub fn oci_state(&self) -> OciState {
        let status = self.live_status();
        let s = &self.state;
        OciState {
            oci_version: OCI_VERSION.to_string(),
            id: self.id.clone(),
            pid: if status == Status::Stopped { 0 } else { s.pid },
            status,
            bundle: s.bundle.clone(),
            rootfs: s.rootfs.clone(),
            created: s.created.clone(),
            annotations: s.annotations.clone(),
            owner: s.owner.clone(),
        }
    }

    /// [`Container::oci_state`] as JSON; print it with [`format_state`] to
    /// get runc's key order and layout.
    pub fn oci_state_json(&self) -> serde_json::Value {
        serde_json::to_value(self.oci_state()).expect("serializing OciState cannot fail")
    }

    /// The name of the user owning the container directory, or `#UID` if
    /// it has no passwd entry (as runc's `list`).
    pub fn owner_name(&self) -> String {
        let uid = match fstat(self.dir_fd().as_raw_fd()) {
            Ok(st) => st.st_uid,
            Err(_) => return String::new(),
        };
        user_name(uid).unwrap_or_else(|| format!("#{uid}"))
    }

    /// The `jinn list` row: [`Container::oci_state`] with `owner` set to
    /// [`Container::owner_name`].
    pub fn list_row(&self) -> ListRow {
        let mut row = self.oci_state();
        row.owner = self.owner_name();
        row
    }
}

impl StateError {
    /// Whether this is an I/O error with kind `NotFound` (e.g. a missing
    /// file in [`Container::read_file`]).
    pub fn is_not_found(&self) -> bool {
        self.io_kind() == Some(std::io::ErrorKind::NotFound)
    }
}

#[cfg(test)]
mod tests;

/// The name of `uid` from /etc/passwd (no NSS: jinn's release binary is static).
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}
