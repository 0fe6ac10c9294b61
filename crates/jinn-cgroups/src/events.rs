//! OOM notifications for `events`: v1 an eventfd registered on
//! `memory.oom_control` through `cgroup.event_control`; v2 the `oom_kill`
//! counter of `memory.events`, polled.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{CgroupError, Result};
use crate::{fs, Cgroup, Layout};

/// How often the v2 counter is read.
const V2_POLL: Duration = Duration::from_millis(50);

/// Watches one cgroup for OOM events.
pub struct OomWatcher {
    kind: Kind,
}

enum Kind {
    V1 {
        eventfd: File,
        /// Kept open: the registration lives as long as this fd.
        _oom_control: File,
        dir: PathBuf,
    },
    V2 {
        events: PathBuf,
        seen: u64,
    },
    /// No memory controller, or the cgroup is gone.
    Closed,
}

impl Cgroup {
    /// Start watching for OOM events (nothing to watch without a memory
    /// controller: the watcher then never reports any).
    pub fn oom_watcher(&self) -> Result<OomWatcher> {
        if self.layout() != Layout::V2 {
            if let Some(dir) = self.v1_dir("memory") {
                return v1_watcher(dir.to_owned());
            }
        }
        let kind = match self.v2_dir().map(|d| d.join("memory.events")) {
            Some(events) if events.exists() => {
                let seen = oom_kills(&events)?.unwrap_or(0);
                Kind::V2 { events, seen }
            }
            _ => Kind::Closed,
        };
        Ok(OomWatcher { kind })
    }
}

fn v1_watcher(dir: PathBuf) -> Result<OomWatcher> {
    let control_path = dir.join("memory.oom_control");
    let oom_control = File::open(&control_path).map_err(|error| CgroupError::Read {
        path: control_path.clone(),
        error,
    })?;
    // SAFETY: eventfd(2) takes two integers; the fd it returns is owned here.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(CgroupError::Read {
            path: control_path,
            error: io::Error::last_os_error(),
        });
    }
    // SAFETY: `raw` is a fresh fd nobody else owns.
    let eventfd = File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    let line = format!("{} {}", eventfd.as_raw_fd(), oom_control.as_raw_fd());
    fs::write(&dir.join("cgroup.event_control"), &line)?;
    Ok(OomWatcher {
        kind: Kind::V1 {
            eventfd,
            _oom_control: oom_control,
            dir,
        },
    })
}

/// The `oom_kill` count of a v2 `memory.events`; `None` when the file is gone.
fn oom_kills(events: &std::path::Path) -> Result<Option<u64>> {
    Ok(fs::read_opt(events)?.map(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }))
}

impl OomWatcher {
    /// Wait up to `timeout` and return how many OOM events happened
    /// (0 when none did, or when the cgroup went away: see
    /// [`OomWatcher::is_closed`]).
    pub fn wait(&mut self, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        match &mut self.kind {
            Kind::V1 { eventfd, dir, .. } => {
                let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
                let mut fds = [nix::poll::PollFd::new(
                    eventfd.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                let timeout =
                    nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX);
                match nix::poll::poll(&mut fds, timeout) {
                    Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(0),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(CgroupError::Read {
                            path: dir.join("cgroup.event_control"),
                            error: e.into(),
                        })
                    }
                }
                let mut buf = [0u8; 8];
                eventfd
                    .read_exact(&mut buf)
                    .map_err(|error| CgroupError::Read {
                        path: dir.join("cgroup.event_control"),
                        error,
                    })?;
                // The eventfd also fires when the cgroup is removed.
                if !dir.join("cgroup.event_control").exists() {
                    self.kind = Kind::Closed;
                    return Ok(0);
                }
                Ok(u64::from_ne_bytes(buf))
            }
            Kind::V2 { events, seen } => loop {
                match oom_kills(events)? {
                    None => {
                        self.kind = Kind::Closed;
                        return Ok(0);
                    }
                    Some(n) if n > *seen => {
                        let new = n - *seen;
                        *seen = n;
                        return Ok(new);
                    }
                    Some(_) => {}
                }
                let now = Instant::now();
                if now >= deadline {
                    return Ok(0);
                }
                std::thread::sleep(V2_POLL.min(deadline - now));
            },
            Kind::Closed => {
                std::thread::sleep(timeout);
                Ok(0)
            }
        }
    }

    /// True once the cgroup is gone (or had no memory controller).
    pub fn is_closed(&self) -> bool {
        matches!(self.kind, Kind::Closed)
    }
}
