//! One locked container directory: its state and the files stored beside it.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{Flock, OFlag};
use nix::sys::stat::{fstat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::fsat::{openat, read_file_at, remove_container_dir};
use crate::{
    process_is_alive, validate_file_name, ListRow, OciState, Result, State, StateError, Status,
    OCI_VERSION, STATE_FILE,
};

/// A locked container directory and its state. The exclusive lock is held
/// until this value is dropped (or [`Container::destroy`]ed).
#[derive(Debug)]
pub struct Container {
    pub(crate) id: String,
    pub(crate) dir: PathBuf,
    pub(crate) lock: Flock<OwnedFd>,
    pub(crate) root_fd: Arc<OwnedFd>,
    pub(crate) state: State,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

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
