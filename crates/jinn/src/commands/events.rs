//! `jinn events [--stats] [--interval D] ID`: runc's event stream. `--stats`
//! prints one `{"type":"stats","id":…,"data":{…}}` line (runc's stats layout,
//! see `jinn_cgroups::stats`); otherwise a stats event every interval and an
//! `{"type":"oom","id":…}` event for every OOM, until the container stops.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use jinn_state::{Status, Store};
use serde::Serialize;

/// runc's `types.Event`.
#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    typ: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

fn emit<T: Serialize>(typ: &'static str, id: &str, data: Option<T>) -> Result<()> {
    let line = serde_json::to_string(&Event { typ, id, data })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

pub fn run(store: &Store, id: &str, interval: &str, stats: bool) -> Result<i32> {
    let interval = parse_duration(interval)
        .map_err(|e| anyhow!("invalid value {interval:?} for flag --interval: {e}"))?;
    if interval.is_zero() {
        bail!("duration interval must be greater than 0");
    }
    let c = store.load(id)?;
    if c.live_status() == Status::Stopped {
        bail!("container with id {id} is not running");
    }
    let cg = crate::container::load_cgroup(&c)?;
    let (pid, start_time) = (c.state().pid, c.state().pid_start_time);
    // Do not hold the container's lock while streaming.
    drop(c);
    if stats {
        emit("stats", id, Some(cg.stats()?))?;
        return Ok(0);
    }
    let mut oom = cg.oom_watcher()?;
    let mut next = Instant::now() + interval;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        for _ in 0..oom.wait(wait)? {
            emit::<()>("oom", id, None)?;
        }
        if !jinn_state::process_is_alive(pid, start_time) {
            // Report an OOM that killed the init, then stop.
            for _ in 0..oom.wait(Duration::ZERO)? {
                emit::<()>("oom", id, None)?;
            }
            return Ok(0);
        }
        if Instant::now() >= next {
            match cg.stats() {
                Ok(s) => emit("stats", id, Some(s))?,
                Err(e) => tracing::error!("{e}"),
            }
            next += interval;
        }
    }
}

/// A Go duration (`5s`, `1m30s`, `500ms`, `1.5h`), as runc's flag takes it.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("time: invalid duration {text:?}"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {text:?}")),
        };
        total += value * scale;
        rest = after;
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn oom_event_has_no_data() {
        let e = Event::<()> {
            typ: "oom",
            id: "c1",
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"oom","id":"c1"}"#
        );
    }
}
