//! RFC 3339 timestamps formatted the way runc (Go's `time.RFC3339Nano`) does.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `t` in UTC like Go's `time.RFC3339Nano`, which runc uses for the
/// `created` field: `2024-05-01T10:20:30.123456789Z`.
///
/// As in Go, trailing zeros of the fractional second are trimmed and the
/// fraction is omitted entirely when it is zero (`2024-05-01T10:20:30Z`).
/// Times before the Unix epoch are clamped to the epoch.
pub fn rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let (y, mo, da) = civil_from_days(days);
    let (h, mi, s) = (sod / 3600, (sod / 60) % 60, sod % 60);
    let mut out = format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}");
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The current time formatted by [`rfc3339_nano`].
pub fn now_rfc3339_nano() -> String {
    rfc3339_nano(SystemTime::now())
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> String {
        rfc3339_nano(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
        // date -u -d @1714558830 => Wed May  1 10:20:30 UTC 2024
        assert_eq!(
            at(1_714_558_830, 123_456_789),
            "2024-05-01T10:20:30.123456789Z"
        );
        assert_eq!(at(1_714_558_830, 120_000_000), "2024-05-01T10:20:30.12Z");
        assert_eq!(at(1_714_558_830, 1), "2024-05-01T10:20:30.000000001Z");
        // leap day and end of year
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_735_689_599, 0), "2024-12-31T23:59:59Z");
        // runc's observed value: 2026-11-29T13:00:13.919170351Z
        assert_eq!(
            at(1_795_957_213, 919_170_351),
            "2026-11-29T13:00:13.919170351Z"
        );
    }

    #[test]
    fn now_is_utc_and_well_formed() {
        let s = now_rfc3339_nano();
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(&s[4..5], "-");
        assert_eq!(&s[10..11], "T");
    }
}
