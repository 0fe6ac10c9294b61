//! Liveness checks based on `/proc/PID/stat`.

/// The parts of `/proc/PID/stat` the state store cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    /// Field 3, `state` (`R`, `S`, `D`, `Z`, `X`, ...).
    state: char,
    /// Field 22, `starttime`, in clock ticks since boot.
    start_time: u64,
}

/// Parses the contents of `/proc/PID/stat`.
///
/// `comm` (field 2) is enclosed in parentheses but may itself contain spaces
/// and `)`, so parsing starts after the *last* `)`.
fn parse_stat(content: &str) -> Option<ProcStat> {
    let rest = &content[content.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // First field after comm is field 3 (state).
    let state = fields.next()?.chars().next()?;
    // Fields 4..=21 are skipped; field 22 is the 19th after state.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

fn read_stat(pid: i32) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    let content = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&content)
}

/// The start time (field 22 of `/proc/PID/stat`, `starttime`) of `pid`, or
/// `None` if the process does not exist or its stat file cannot be parsed.
pub fn process_start_time(pid: i32) -> Option<u64> {
    read_stat(pid).map(|s| s.start_time)
}

/// Whether `pid` is a live process that is the same process as the one
/// recorded with `start_time` (so a reused pid is never mistaken for it).
/// Zombies (`Z`) and dead (`X`/`x`) processes count as not alive.
pub fn process_is_alive(pid: i32, start_time: u64) -> bool {
    match read_stat(pid) {
        Some(s) => s.start_time == start_time && !matches!(s.state, 'Z' | 'X' | 'x'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    const SAMPLE: &str = "1234 (sleep) S 1 1234 1234 0 -1 4194560 101 0 0 0 0 0 0 0 20 0 1 0 27796 2527232 128 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn parses_plain_stat() {
        assert_eq!(
            parse_stat(SAMPLE),
            Some(ProcStat {
                state: 'S',
                start_time: 27796
            })
        );
    }

    #[test]
    fn parses_hostile_comm() {
        let s = SAMPLE.replace("(sleep)", "(a) Z 1 2 (b c))");
        assert_eq!(
            parse_stat(&s),
            Some(ProcStat {
                state: 'S',
                start_time: 27796
            })
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        assert_eq!(
            parse_stat("1 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"),
            None
        );
        let bad = SAMPLE.replace(" 27796 ", " notanumber ");
        assert_eq!(parse_stat(&bad), None);
    }

    #[test]
    fn own_start_time_is_some_and_stable() {
        let me = std::process::id() as i32;
        let a = process_start_time(me).expect("own start time");
        let b = process_start_time(me).expect("own start time");
        assert_eq!(a, b);
        assert!(process_is_alive(me, a));
        assert!(!process_is_alive(me, a + 1));
        assert!(!process_is_alive(0, a));
        assert!(!process_is_alive(-1, a));
        assert_eq!(process_start_time(0), None);
        assert_eq!(process_start_time(-5), None);
    }

    #[test]
    fn zombie_and_reaped_child_are_not_alive() {
        let mut child = Command::new("sleep")
            .arg("100")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        let st = process_start_time(pid).expect("child start time");
        assert!(process_is_alive(pid, st));
        assert!(!process_is_alive(pid, st.wrapping_add(1)));
        child.kill().expect("kill");
        // Until reaped the child is a zombie: still has a stat file, but dead.
        let mut saw_zombie = false;
        for _ in 0..500 {
            match read_stat(pid) {
                Some(s) if s.state == 'Z' => {
                    saw_zombie = true;
                    break;
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(2)),
            }
        }
        assert!(saw_zombie, "child never became a zombie");
        assert!(!process_is_alive(pid, st));
        child.wait().expect("wait");
        assert!(!process_is_alive(pid, st));
    }
}
