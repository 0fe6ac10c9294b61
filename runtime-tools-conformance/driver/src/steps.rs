//! The lifecycle steps the cases share: create, start, wait, kill and delete
//! through the runtime's CLI, each reporting the runtime.md rule it stands
//! for, and the readers of what the container wrote.

use crate::harness::{host_facts, Bundle, Case, Out};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The rule a successful `create` stands for.
pub(crate) const CREATE: &str = "create: This operation MUST create a new container";
/// The rule a successful `start` stands for.
pub(crate) const START: &str = "start: This operation MUST run the user-specified program";
/// The rule a successful `delete` of a stopped container stands for.
pub(crate) const DELETE: &str = "delete: deleting a stopped container succeeds";
/// Nothing left behind after `delete`.
pub(crate) const DELETE_CLEAN: &str = "delete: Deleting a container MUST delete the resources that were created during the create step";
/// Nothing left behind after a `create` that failed although it should not have.
pub(crate) const CREATE_FAILED_CLEAN: &str = "create: a failed create MUST leave the state of the environment as if the operation were never attempted";
/// Nothing left behind after an operation that failed as it should.
pub(crate) const ERROR_CLEAN: &str = "errors: generating an error MUST leave the state of the environment as if the operation were never attempted";
/// Nothing left behind after a failing hook stopped the container.
pub(crate) const STEP12_CLEAN: &str = "lifecycle step 12: The container MUST be destroyed by undoing the steps performed during create phase";

/// Saves the bundle's config (with the runtime's host facts) and runs
/// `create --bundle B ID`; the container's output goes to `out`.
pub(crate) fn create(c: &mut Case, b: &Bundle, id: &str, out: &Path) -> Out {
    b.save(&host_facts(&[]));
    create_saved(c, b, id, out)
}

/// `create --bundle B ID` with the config.json already in the bundle.
pub(crate) fn create_saved(c: &mut Case, b: &Bundle, id: &str, out: &Path) -> Out {
    let bp = b.path();
    c.rt(&["create", "--bundle", &bp, id], Some(out))
}

pub(crate) fn require_ok(c: &mut Case, o: &Out, rule: &str) -> bool {
    c.check(o.ok(), rule, || o.describe())
}

pub(crate) fn no_leftovers(c: &mut Case, id: &str, rule: &str) {
    let left = c.leftovers(id);
    c.check(left.is_empty(), rule, || left.join("\n"));
}

/// `create`, reported as `rule`; whether it succeeded.
pub(crate) fn create_ok(c: &mut Case, b: &Bundle, id: &str, out: &Path, rule: &str) -> bool {
    let o = create(c, b, id, out);
    require_ok(c, &o, rule)
}

/// `o` (a create) reported as `rule`; when it failed, it must have left
/// nothing behind. Whether it succeeded.
pub(crate) fn created_clean(c: &mut Case, o: &Out, id: &str, rule: &str) -> bool {
    if !require_ok(c, o, rule) {
        no_leftovers(c, id, CREATE_FAILED_CLEAN);
        return false;
    }
    true
}

/// `create`, reported as `rule`; a failed one must leave nothing behind.
/// Whether it succeeded.
pub(crate) fn create_ok_clean(c: &mut Case, b: &Bundle, id: &str, out: &Path, rule: &str) -> bool {
    let o = create(c, b, id, out);
    created_clean(c, &o, id, rule)
}

/// `start`, reported as [`START`]; whether it succeeded.
pub(crate) fn start_ok(c: &mut Case, id: &str) -> bool {
    let o = c.rt(&["start", id], None);
    require_ok(c, &o, START)
}

/// Waits (20 s) for the container process to exit, reported as a rule.
pub(crate) fn exited(c: &mut Case, id: &str) {
    let st = c.wait_status(id, "stopped", Duration::from_secs(20));
    c.check(
        st.as_deref() == Some("stopped"),
        "state: the container process exited: status stopped",
        || format!("status {st:?}"),
    );
}

/// `start` a created container and wait until it exited (see [`exited`]);
/// its output, or None (reported) when start fails.
pub(crate) fn run_to_exit(c: &mut Case, id: &str, out: &Path) -> Option<String> {
    if !start_ok(c, id) {
        return None;
    }
    exited(c, id);
    Some(read_text(out))
}

/// `start` a created container (reported), wait up to 10 s for it to stop
/// (not reported) and return its output.
pub(crate) fn start_wait(c: &mut Case, id: &str, out: &Path) -> String {
    start_ok(c, id);
    c.wait_status(id, "stopped", Duration::from_secs(10));
    read_text(out)
}

/// SIGKILL to the container and wait (10 s) until it is stopped.
pub(crate) fn kill_stop(c: &mut Case, id: &str) {
    c.rt(&["kill", id, "KILL"], None);
    c.wait_status(id, "stopped", Duration::from_secs(10));
}

/// `delete` a stopped container, reported as [`DELETE`].
pub(crate) fn delete_ok(c: &mut Case, id: &str) {
    let o = c.rt(&["delete", id], None);
    require_ok(c, &o, DELETE);
}

/// `delete` a stopped container ([`delete_ok`]), then nothing may be left.
pub(crate) fn delete_clean(c: &mut Case, id: &str) {
    delete_ok(c, id);
    no_leftovers(c, id, DELETE_CLEAN);
}

/// [`kill_stop`], then [`delete_clean`].
pub(crate) fn kill_delete(c: &mut Case, id: &str) {
    kill_stop(c, id);
    delete_clean(c, id);
}

/// `delete --force` (whatever state the container is in, if any), then
/// nothing may be left (`rule`).
pub(crate) fn force_delete_clean(c: &mut Case, id: &str, rule: &str) {
    let _ = c.rt(&["delete", "--force", id], None);
    no_leftovers(c, id, rule);
}

/// create + start a shell-script container, wait for it to stop, return
/// its output (stdout+stderr) and delete it. None (after reporting) when
/// create or start fails.
pub(crate) fn run_sh(c: &mut Case, b: &Bundle) -> Option<String> {
    let (id, out) = c.new_container();
    if !create_ok_clean(c, b, &id, &out, CREATE) {
        return None;
    }
    let text = run_to_exit(c, &id, &out)?;
    delete_clean(c, &id);
    Some(text)
}

/// create + start; returns the id and the output file, or None (reported).
pub(crate) fn start_sh(c: &mut Case, b: &Bundle, what: &str) -> Option<(String, PathBuf)> {
    let id = c.new_id();
    start_sh_id(c, b, what, id)
}

pub(crate) fn start_sh_id(
    c: &mut Case,
    b: &Bundle,
    what: &str,
    id: String,
) -> Option<(String, PathBuf)> {
    let out = c.dir.join("container.out");
    if !create_ok_clean(c, b, &id, &out, &format!("{CREATE} ({what})")) || !start_ok(c, &id) {
        return None;
    }
    Some((id, out))
}

/// A config the runtime must refuse at create (`rule`), where no container
/// may exist afterwards (`what` names it in that rule) and, after a
/// `delete --force`, nothing may be left.
pub(crate) fn create_refused(c: &mut Case, b: &Bundle, rule: &str, what: &str) {
    let (id, out) = c.new_container();
    let o = create(c, b, &id, &out);
    c.check(!o.ok(), rule, || o.describe());
    let gone = c.state(&id).is_err();
    c.check(
        gone,
        &format!("create: ... and a new container MUST NOT be created ({what}: state fails)"),
        || "state succeeds".into(),
    );
    force_delete_clean(c, &id, ERROR_CLEAN);
}

/// A config the runtime must refuse at create or at the latest at start
/// (`rule`); nothing may be left after a `delete --force`.
pub(crate) fn start_refused(c: &mut Case, b: &Bundle, rule: &str) {
    let (id, out) = c.new_container();
    let o = create(c, b, &id, &out);
    let started = o.ok() && c.rt(&["start", &id], None).ok();
    c.check(!started, rule, || {
        format!("create: {}; start succeeded", o.describe())
    });
    force_delete_clean(c, &id, ERROR_CLEAN);
}

/// The first line of what a failed command said (for a skip reason).
pub(crate) fn first_line(o: &Out) -> String {
    o.describe().lines().next().unwrap_or("").to_string()
}

/// A file's text, empty when it cannot be read.
pub(crate) fn read_text(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// For each `(file, want, rule)`: the file below `dir` (a cgroup) reads
/// `want`.
pub(crate) fn check_files(c: &mut Case, dir: &str, files: &[(&str, &str, &str)]) {
    for (file, want, rule) in files {
        let got = read_trim(&format!("{dir}/{file}"));
        c.check(got == *want, rule, || format!("{file} {got:?}"));
    }
}

/// The host uid and gid that own a file.
pub(crate) fn owner(p: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).map(|md| (md.uid(), md.gid())).ok()
}

/// A file's lines, none when it cannot be read.
pub(crate) fn read_lines(p: &Path) -> Vec<String> {
    read_text(p).lines().map(String::from).collect()
}

/// A file's trimmed text, `<error>` when it cannot be read.
pub(crate) fn read_trim(p: &str) -> String {
    fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("<{e}>"))
}

pub(crate) fn read_json(p: &Path) -> Value {
    fs::read_to_string(p)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// Polls the output file until `done` holds for its text (or `timeout`);
/// returns the text last read.
pub(crate) fn wait_text(out: &Path, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let t = read_text(out);
        if done(&t) || start.elapsed() > timeout {
            return t;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (10 s) until the output file has a line starting with `key`.
pub(crate) fn wait_output(out: &Path, key: &str) -> String {
    wait_text(out, Duration::from_secs(10), |t| {
        t.lines().any(|l| l.starts_with(key))
    })
}

/// `key value` lines → map (first word → rest).
pub(crate) fn kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_end_matches('\r');
            let (k, v) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

pub(crate) fn state_pid(c: &mut Case, id: &str) -> i64 {
    c.state(id)
        .ok()
        .and_then(|s| s["pid"].as_i64())
        .unwrap_or(0)
}
