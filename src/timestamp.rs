//! RFC 3339 timestamps, read and written through `humantime`.
//!
//! humantime's `parse_rfc3339` only takes UTC (`Z` or `+00:00`); Twitch writes `Z`, but RFC 3339
//! allows any offset and lower-case `t`/`z`, and a timestamp with an offset names a different
//! instant than the same digits in UTC. So [`parse_rfc3339`] takes the offset off, lets
//! humantime read the rest as UTC, and moves the result by the offset (never drops it).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The instant an RFC 3339 timestamp names: `2026-12-05T10:00:00Z`,
/// `2026-12-05T10:00:00.5+01:00`, `2026-12-05t09:00:00-00:00`. `None` when it is not one (or is
/// before 1970, which humantime does not read).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.to_ascii_uppercase();
    let (utc, offset) = split_offset(&text)?;
    let local = humantime::parse_rfc3339(&format!("{utc}Z")).ok()?;
    // `+01:00` means the clock read one hour ahead of UTC: the instant is an hour earlier.
    if offset >= 0 {
        local.checked_sub(Duration::from_secs(offset.unsigned_abs()))
    } else {
        local.checked_add(Duration::from_secs(offset.unsigned_abs()))
    }
}

/// Seconds since the epoch of an RFC 3339 timestamp, fractions dropped.
pub fn parse_unix_secs(text: &str) -> Option<u64> {
    Some(
        parse_rfc3339(text)?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs(),
    )
}

/// The last second humantime writes (`9999-12-31T23:59:59Z`); past it its `Display` fails.
const LAST_SECOND: u64 = 253_402_300_799;

/// `2026-11-24T13:30:41Z` (UTC, whole seconds). Times humantime cannot write (before 1970, after
/// 9999, e.g. from an edited state file) are clamped to that range rather than panicking.
pub fn format_rfc3339_secs(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t = UNIX_EPOCH + Duration::from_secs(secs.min(LAST_SECOND));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The date-time part without its zone (`2026-12-05T10:00:00.5`) and the offset in seconds east
/// of UTC (`Z` and `-00:00` are 0).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(utc) = text.strip_suffix('Z') {
        return Some((utc, 0));
    }
    // `±HH:MM` at the end, after the time (the date's own `-` come before `T`).
    let at = text.len().checked_sub(6)?;
    let (utc, zone) = (text.get(..at)?, text.get(at..)?);
    if !utc.contains('T') {
        return None;
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = zone[1..].split_once(':')?;
    let digits = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (hours, minutes) = (digits(hours)?, digits(minutes)?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((utc, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<u64>) {
        assert_eq!(parse_unix_secs(text), expected, "{text}");
    }

    #[test]
    fn utc_timestamps_parse_to_epoch_seconds() {
        check("1970-01-01T00:00:00Z", Some(0));
        check("2023-07-19T14:56:51.634234626Z", Some(1_689_778_611));
        check("2026-11-24T13:30:41.645800+00:00", Some(1_795_527_041));
        check("2026-11-24T13:30:41-00:00", Some(1_795_527_041));
        check("2026-11-24t13:30:41z", Some(1_795_527_041));
    }

    #[test]
    fn offsets_move_the_instant_instead_of_being_dropped() {
        let utc = parse_rfc3339("2026-12-05T09:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2026-12-05T10:00:00+01:00"), Some(utc));
        assert_eq!(parse_rfc3339("2026-12-05T04:30:00-04:30"), Some(utc));
        assert_eq!(
            parse_rfc3339("2026-12-05T10:00:00.250+01:00"),
            Some(utc + Duration::from_millis(250))
        );
        // Across midnight and the year.
        assert_eq!(
            parse_rfc3339("2027-01-01T01:00:00+02:00"),
            parse_rfc3339("2026-12-31T23:00:00Z")
        );
    }

    #[test]
    fn malformed_timestamps_and_offsets_are_refused() {
        for text in [
            "garbage",
            "",
            "2026-12-05",
            "2026-12-05T10:00:00",
            "2026-12-05T10:00:00+1:00",
            "2026-12-05T10:00:00+24:00",
            "2026-12-05T10:00:00+01:60",
            "2026-12-05T10:00:00*01:00",
            "2026-12-05T10:00:00+01:00Z",
            "2026-13-05T10:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "ÿÿÿÿ-12-05T10:00:00+01:00",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn formatting_and_parsing_agree() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_527_041);
        assert_eq!(format_rfc3339_secs(t), "2026-11-24T13:30:41Z");
        assert_eq!(parse_rfc3339(&format_rfc3339_secs(t)), Some(t));
    }

    #[test]
    fn times_outside_what_humantime_writes_are_clamped_not_a_panic() {
        let far = UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 100);
        assert_eq!(format_rfc3339_secs(far), "9999-12-31T23:59:59Z");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_rfc3339_secs(before), "1970-01-01T00:00:00Z");
    }
}
