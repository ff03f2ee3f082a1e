//! Local dates, times and time zones as configuration writes them, parsed one way for
//! every kind (schedules, maintenance windows, business hours).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// Parses `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, and nothing else (no offset, no
/// fraction, no date alone).
pub fn local_datetime(s: &str) -> Option<DateTime> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    let b = s.as_bytes();
    if !(b.len() == 16 || b.len() == 19) {
        return None;
    }
    let shaped = b.iter().zip(SHAPE).all(|(c, want)| match want {
        b'd' => c.is_ascii_digit(),
        _ => c == want,
    });
    if !shaped {
        return None;
    }
    let num = |from: usize, to: usize| s[from..to].parse::<i16>().ok();
    let second = if b.len() == 19 { num(17, 19)? } else { 0 };
    let date = Date::new(num(0, 4)?, num(5, 7)? as i8, num(8, 10)? as i8).ok()?;
    let time = Time::new(num(11, 13)? as i8, num(14, 16)? as i8, second as i8, 0).ok()?;
    Some(date.to_datetime(time))
}

/// Parses `HH:MM`: two digits each, nothing else.
pub fn clock_time(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

/// An IANA time zone from jiff's bundled database, or the message that says it is not
/// one.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name)
        .map_err(|_| format!("{name:?} is not an IANA time zone (for example Europe/Berlin)"))
}

/// How far `at` is from `now`, as a person says it: `just now`, `4 min ago`, `in 2 h`,
/// `3 days ago`. Whole units, rounded down, the largest unit that fits; used next to an
/// exact time, never instead of one.
pub fn ago(now: jiff::Timestamp, at: jiff::Timestamp) -> String {
    let secs = now.as_second() - at.as_second();
    let (n, past) = (secs.unsigned_abs(), secs >= 0);
    if n < 45 {
        return "just now".into();
    }
    let amount = match n {
        n if n < 3_600 => format!("{} min", (n / 60).max(1)),
        n if n < 86_400 => format!("{} h", n / 3_600),
        n if n < 2 * 86_400 => "1 day".into(),
        n if n < 60 * 86_400 => format!("{} days", n / 86_400),
        n if n < 730 * 86_400 => format!("{} months", n / (30 * 86_400)),
        n => format!("{} years", n / (365 * 86_400)),
    };
    if past {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// A length of time as a person reads it: `45 s`, `4 min 12 s`, `2 h 5 min`,
/// `3 days 4 h`. Whole seconds, the two largest units, a zero second unit left out.
pub fn duration(secs: u64) -> String {
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big} {big_unit}")
        } else {
            format!("{big} {big_unit} {small} {small_unit}")
        }
    };
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => two(s / 60, "min", s % 60, "s"),
        s if s < 86_400 => two(s / 3_600, "h", s % 3_600 / 60, "min"),
        s if s < 2 * 86_400 => two(1, "day", s % 86_400 / 3_600, "h"),
        s => two(s / 86_400, "days", s % 86_400 / 3_600, "h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_said_in_the_largest_whole_unit() {
        let now: jiff::Timestamp = "2026-12-04T12:00:00Z".parse().unwrap();
        let at = |s: i64| now.checked_add(jiff::SignedDuration::from_secs(s)).unwrap();
        for (offset, said) in [
            (0, "just now"),
            (-44, "just now"),
            (44, "just now"),
            (-45, "1 min ago"),
            (-4 * 60 - 59, "4 min ago"),
            (-3_599, "59 min ago"),
            (-3_600, "1 h ago"),
            (2 * 3_600 + 5, "in 2 h"),
            (-86_400, "1 day ago"),
            (-3 * 86_400, "3 days ago"),
            (-90 * 86_400, "3 months ago"),
            (-800 * 86_400, "2 years ago"),
        ] {
            assert_eq!(ago(now, at(offset)), said, "{offset} s");
        }
    }

    #[test]
    fn local_datetimes_take_one_shape() {
        assert_eq!(
            local_datetime("2026-03-29T02:30").map(|d| d.to_string()),
            Some("2026-03-29T02:30:00".into())
        );
        assert!(local_datetime("2026-03-29T02:30:15").is_some());
        for bad in [
            "2026-03-29",
            "2026-03-29T02:30Z",
            "2026-3-29T02:30",
            "2026-02-30T02:30",
            "2026-03-29T02:30:15.5",
        ] {
            assert_eq!(local_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn clock_times_are_two_digits_each() {
        assert_eq!(clock_time("09:05"), Some(Time::constant(9, 5, 0, 0)));
        for bad in ["9:05", "+9:05", "09:5", "24:00", "09-05"] {
            assert_eq!(clock_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_zones_come_from_the_bundled_database() {
        assert!(time_zone("Asia/Tokyo").is_ok());
        assert_eq!(
            time_zone("Mars/Olympus").unwrap_err(),
            "\"Mars/Olympus\" is not an IANA time zone (for example Europe/Berlin)"
        );
    }

    #[test]
    fn durations_are_said_in_their_two_largest_units() {
        for (secs, said) in [
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (252, "4 min 12 s"),
            (3_600, "1 h"),
            (7_500, "2 h 5 min"),
            (86_400 + 3_600, "1 day 1 h"),
            (3 * 86_400 + 4 * 3_600 + 59, "3 days 4 h"),
        ] {
            assert_eq!(duration(secs), said, "{secs} s");
        }
    }
}
