//! runc-style logging: `--log FILE` (default stderr), `--log-format text|json`.
//!
//! json: `{"level":"error","msg":"…","time":"2024-01-01T00:00:00Z"}` per line, as
//! containerd's shim and conmon read it; text: logrus' `time="…" level=error msg="…"`.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::cli::LogFormat;

struct RuncLayer {
    out: Mutex<Box<dyn Write + Send>>,
    format: LogFormat,
    max: Level,
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
}

fn level_name(l: &Level) -> &'static str {
    match *l {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// One log line in the chosen format (without the newline).
pub fn format_line(format: LogFormat, level: &str, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => {
            serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
        }
        LogFormat::Text => format!(
            "time={} level={level} msg={}",
            serde_json::Value::from(time),
            serde_json::Value::from(msg)
        ),
    }
}

/// RFC 3339 time to the second, as logrus prints it.
fn now() -> String {
    let t = jinn_state::now_rfc3339_nano();
    match t.split_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => t,
    }
}

impl<S: Subscriber> Layer<S> for RuncLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = event.metadata().level();
        if *level > self.max {
            return;
        }
        let mut msg = Message::default();
        event.record(&mut msg);
        let line = format_line(self.format, level_name(level), &msg.0, &now());
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// Install the subscriber; returns whether logs go to a file (not stderr).
pub fn init(
    file: Option<&std::path::Path>,
    format: LogFormat,
    debug: bool,
) -> std::io::Result<bool> {
    let (out, to_file): (Box<dyn Write + Send>, bool) = match file {
        Some(p) => (
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            true,
        ),
        None => (Box::new(std::io::stderr()), false),
    };
    let layer = RuncLayer {
        out: Mutex::new(out),
        format,
        max: if debug { Level::DEBUG } else { Level::WARN },
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok(to_file)
}
