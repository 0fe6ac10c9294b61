//! Signal names as `kill` takes them: `KILL`, `SIGKILL`, `kill` or `9`.

use std::str::FromStr;

use nix::sys::signal::Signal;

/// Parse a signal like runc: a number, or a name with or without the SIG prefix.
pub fn parse(raw: &str) -> Result<i32, String> {
    if let Ok(n) = raw.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(format!("unknown signal {raw:?}"));
    }
    let upper = raw.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some(rt) = realtime(&name) {
        return Ok(rt);
    }
    Signal::from_str(&name)
        .map(|s| s as i32)
        .map_err(|_| format!("unknown signal {raw:?}"))
}

/// `SIGRTMIN`, `SIGRTMIN+n`, `SIGRTMAX-n`, `SIGRTMAX`.
fn realtime(name: &str) -> Option<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if let Some(rest) = name.strip_prefix("SIGRTMIN") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')?.parse().ok()?
        };
        return (min + off <= max).then_some(min + off);
    }
    if let Some(rest) = name.strip_prefix("SIGRTMAX") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('-')?.parse().ok()?
        };
        return (max - off >= min).then_some(max - off);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_numbers_and_prefixes() {
        assert_eq!(parse("KILL"), Ok(9));
        assert_eq!(parse("SIGKILL"), Ok(9));
        assert_eq!(parse("kill"), Ok(9));
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("TERM"), Ok(15));
        assert_eq!(parse("SIGRTMIN+1"), Ok(libc::SIGRTMIN() + 1));
        assert!(parse("FOO").is_err());
        assert!(parse("0").is_err());
        assert!(parse("65").is_err());
        assert!(parse("").is_err());
    }
}
