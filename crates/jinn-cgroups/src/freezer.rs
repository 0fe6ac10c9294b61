//! Pause and resume: v1 `freezer.state`, v2 `cgroup.freeze`/`cgroup.events`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{CgroupError, Result};
use crate::{fs, Cgroup, Layout};

/// How long to wait for the kernel to report the requested state.
const TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(2);

enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Cgroup {
    fn freezer(&self) -> Result<Freezer<'_>> {
        if self.layout() != Layout::V2 {
            if let Some(dir) = self.v1_dir("freezer") {
                return Ok(Freezer::V1(dir));
            }
        }
        // Pure v2, or a hybrid host without a v1 freezer: the cgroup2
        // directory holds the same processes and has cgroup.freeze.
        match self.v2_dir() {
            Some(dir) if dir.join("cgroup.freeze").exists() => Ok(Freezer::V2(dir)),
            _ => Err(CgroupError::ControllerMissing {
                field: "pause",
                controller: "freezer",
            }),
        }
    }

    /// Freeze every process and wait until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(dir) => {
                let state = dir.join("freezer.state");
                fs::write(&state, "FROZEN")?;
                let mut polls = 0u32;
                let done = wait_until(&state, "FROZEN", || {
                    polls += 1;
                    // A freeze can stall in FREEZING; asking again restarts it (runc does the same).
                    if polls == 10 {
                        polls = 0;
                        fs::write(&state, "FROZEN")?;
                    }
                    Ok(fs::read(&state)?.trim() == "FROZEN")
                });
                if done.is_err() {
                    // Do not leave the container half frozen.
                    let _ = fs::write(&state, "THAWED");
                }
                done
            }
            Freezer::V2(dir) => {
                fs::write(&dir.join("cgroup.freeze"), "1")?;
                let events = dir.join("cgroup.events");
                let done = wait_until(&events, "frozen", || v2_frozen(&events));
                if done.is_err() {
                    let _ = fs::write(&dir.join("cgroup.freeze"), "0");
                }
                done
            }
        }
    }

    /// Thaw every process and wait until the kernel reports it thawed.
    pub fn thaw(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(dir) => {
                let state = dir.join("freezer.state");
                fs::write(&state, "THAWED")?;
                wait_until(
                    &state,
                    "THAWED",
                    || Ok(fs::read(&state)?.trim() == "THAWED"),
                )
            }
            Freezer::V2(dir) => {
                fs::write(&dir.join("cgroup.freeze"), "0")?;
                let events = dir.join("cgroup.events");
                wait_until(&events, "thawed", || Ok(!v2_frozen(&events)?))
            }
        }
    }

    /// Whether the cgroup is (completely) frozen.
    pub fn is_frozen(&self) -> Result<bool> {
        match self.freezer()? {
            Freezer::V1(dir) => Ok(fs::read(&dir.join("freezer.state"))?.trim() == "FROZEN"),
            Freezer::V2(dir) => v2_frozen(&dir.join("cgroup.events")),
        }
    }
}

/// `frozen 1` in a `cgroup.events` file.
fn v2_frozen(events: &Path) -> Result<bool> {
    Ok(fs::read(events)?
        .lines()
        .any(|line| line.split_whitespace().eq(["frozen", "1"])))
}

fn wait_until(
    path: &Path,
    state: &'static str,
    mut reached: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if reached()? {
            return Ok(());
        }
        if start.elapsed() > TIMEOUT {
            return Err(CgroupError::FreezeTimeout {
                path: path.to_owned(),
                state,
                timeout_ms: TIMEOUT.as_millis() as u64,
            });
        }
        std::thread::sleep(POLL);
    }
}
