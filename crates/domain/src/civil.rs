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

/// A time as a person types it, read in their zone `tz` (the CLI's `TZ` or system zone,
/// the console's profile zone):
///
/// - `now`; `+2h`, `-15m`, `+1h30m`, `in 2h` (units `w`, `d` (24 hours), `h`, `m`, `s`),
///   counted from `now`;
/// - `today 17:00`, `tomorrow 09:00`, `yesterday 18:00` (`HH:MM` or `HH:MM:SS`), the
///   zone's days; a clock time alone (`17:30`) is today's, even when it has passed;
/// - `2026-12-24 09:00`, `2026-12-24T09:00[:SS]`, or a date alone (its midnight), local
///   to the zone;
/// - an RFC 3339 instant with its offset (`2026-12-24T09:00:00Z`, `…+09:00`), taken
///   exactly.
///
/// A local time the zone's clocks skip or repeat (a daylight-saving change) is refused,
/// never guessed: the message names both instants it could be, written with their
/// offsets, so the person can write the one they mean.
pub fn parse_when(
    text: &str,
    now: jiff::Timestamp,
    tz: &TimeZone,
) -> Result<jiff::Timestamp, String> {
    let typed = text.trim();
    let lower = typed.to_ascii_lowercase();
    let not_understood = || {
        format!(
            "{typed:?} is not a time I understand: write now, +2h, -15m, in 1h30m, 17:30, \
             tomorrow 09:00, 2026-12-24 09:00 (in {}), or an instant with its offset, \
             2026-12-24T09:00:00Z",
            zone_name(tz)
        )
    };
    let too_far = || format!("{typed:?} is too far from now");
    if lower == "now" {
        return Ok(now);
    }
    let relative = if let Some(rest) = lower.strip_prefix('+') {
        Some((1, rest))
    } else if let Some(rest) = lower.strip_prefix('-') {
        Some((-1, rest))
    } else {
        lower.strip_prefix("in ").map(|rest| (1, rest))
    };
    if let Some((sign, rest)) = relative {
        let secs = match seconds(rest) {
            Some(Some(secs)) => secs,
            Some(None) => return Err(too_far()),
            None => return Err(not_understood()),
        };
        return now
            .checked_add(jiff::SignedDuration::from_secs(sign * secs))
            .map_err(|_| too_far());
    }
    let today = now.to_zoned(tz.clone()).date();
    let local = if let Some((day, time)) = lower
        .split_once(' ')
        .filter(|(day, _)| matches!(*day, "today" | "tomorrow" | "yesterday"))
    {
        let date = match day {
            "tomorrow" => today.tomorrow(),
            "yesterday" => today.yesterday(),
            _ => Ok(today),
        }
        .map_err(|_| too_far())?;
        clock(time.trim()).map(|t| date.to_datetime(t))
    } else if let Some(t) = clock(&lower) {
        Some(today.to_datetime(t))
    } else if lower.len() == 10 {
        local_datetime(&format!("{typed}T00:00"))
    } else {
        // `2026-12-24 09:00` as people write it, `2026-12-24T09:00` as forms send it.
        let b = typed.as_bytes();
        if b.len() > 10 && b[10] == b' ' {
            local_datetime(&format!("{}T{}", &typed[..10], &typed[11..]))
        } else {
            local_datetime(typed)
        }
    };
    match local {
        Some(dt) => resolve(dt, tz, typed),
        None => typed
            .parse::<jiff::Timestamp>()
            .map_err(|_| not_understood()),
    }
}

/// `2h`, `1h30m`, `1h 30m`: whole seconds; `None` when it is not that shape,
/// `Some(None)` when it is too large.
fn seconds(text: &str) -> Option<Option<i64>> {
    let mut total: Option<i64> = Some(0);
    let mut digits = String::new();
    let mut parts = 0;
    for c in text.chars().filter(|c| *c != ' ') {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        if digits.is_empty() {
            return None;
        }
        let n = digits.parse::<i64>().ok();
        total = total.and_then(|t| n?.checked_mul(unit)?.checked_add(t));
        digits.clear();
        parts += 1;
    }
    (parts > 0 && digits.is_empty()).then_some(total)
}

/// `HH:MM` or `HH:MM:SS`.
fn clock(text: &str) -> Option<Time> {
    match text.len() {
        5 => clock_time(text),
        8 if text.as_bytes()[5] == b':' => {
            let (hm, s) = (&text[..5], &text[6..]);
            let second: i8 = s
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse().ok())??;
            clock_time(hm)?.with().second(second).build().ok()
        }
        _ => None,
    }
}

/// A local date and time in `tz`, or the refusal that names both instants when the
/// clocks skip or repeat it.
fn resolve(dt: DateTime, tz: &TimeZone, typed: &str) -> Result<jiff::Timestamp, String> {
    use jiff::tz::AmbiguousOffset;
    let instant = |offset: jiff::tz::Offset| {
        offset
            .to_timestamp(dt)
            .map_err(|_| format!("{typed:?} is too far from now"))
    };
    let (what, before, after) = match tz.to_ambiguous_zoned(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => return instant(offset),
        AmbiguousOffset::Gap { before, after } => (
            format!("does not exist in {}: the clocks skip", zone_name(tz)),
            before,
            after,
        ),
        AmbiguousOffset::Fold { before, after } => (
            format!("happens twice in {}: the clocks go back", zone_name(tz)),
            before,
            after,
        ),
    };
    let mut candidates = [instant(before)?, instant(after)?];
    candidates.sort();
    let [first, second] = candidates.map(|t| {
        t.to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z (%Z)")
            .to_string()
    });
    let shown = if dt.second() == 0 {
        dt.strftime("%Y-%m-%d %H:%M")
    } else {
        dt.strftime("%Y-%m-%d %H:%M:%S")
    };
    Err(format!(
        "{shown} {what} from {} to {}. Write the one you mean with its offset: \
         {first} or {second}",
        offset(before),
        offset(after)
    ))
}

/// `+01:00`, `-05:00`, `+05:45`.
fn offset(o: jiff::tz::Offset) -> String {
    let s = o.seconds();
    let sign = if s < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", s.abs() / 3_600, s.abs() % 3_600 / 60)
}

fn zone_name(tz: &TimeZone) -> &str {
    tz.iana_name().unwrap_or("the time zone")
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

#[cfg(test)]
mod when_tests {
    use super::*;
    use jiff::Timestamp;

    /// Friday 2026-12-04 17:00:04.478653396 UTC: 18:00 in Berlin, 02:00 Saturday in Tokyo.
    fn now() -> Timestamp {
        "2026-12-04T17:00:04.478653396Z".parse().unwrap()
    }

    fn berlin() -> TimeZone {
        time_zone("Europe/Berlin").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn now_and_relative_times_count_from_now() {
        let tz = berlin();
        let plus = |secs: i64| {
            now()
                .checked_add(jiff::SignedDuration::from_secs(secs))
                .unwrap()
        };
        for (typed, want) in [
            ("now", now()),
            (" NOW ", now()),
            ("+2h", plus(2 * 3_600)),
            ("+30m", plus(30 * 60)),
            ("+1d", plus(86_400)),
            ("+1w", plus(7 * 86_400)),
            ("-15m", plus(-15 * 60)),
            ("+1h30m", plus(5_400)),
            ("+90s", plus(90)),
            ("in 2h", plus(2 * 3_600)),
            ("in 1h 30m", plus(5_400)),
        ] {
            assert_eq!(parse_when(typed, now(), &tz), Ok(want), "{typed:?}");
        }
    }

    #[test]
    fn days_and_clock_times_are_in_the_zone() {
        let tz = berlin();
        for (typed, want) in [
            ("today 17:00", "2026-12-04T16:00:00Z"),
            ("tomorrow 09:00", "2026-12-05T08:00:00Z"),
            ("Tomorrow 09:00:30", "2026-12-05T08:00:30Z"),
            ("yesterday 18:00", "2026-12-03T17:00:00Z"),
            // A clock time alone is today's, even when it has passed.
            ("09:00", "2026-12-04T08:00:00Z"),
            ("23:15", "2026-12-04T22:15:00Z"),
            ("2026-12-24 09:00", "2026-12-24T08:00:00Z"),
            ("2026-12-24T09:00", "2026-12-24T08:00:00Z"),
            ("2026-12-24T09:00:15", "2026-12-24T08:00:15Z"),
            ("2026-07-01 09:00", "2026-07-01T07:00:00Z"),
            ("2026-12-24", "2026-12-23T23:00:00Z"),
        ] {
            assert_eq!(parse_when(typed, now(), &tz), Ok(at(want)), "{typed:?}");
        }
        // "Tomorrow" is the zone's tomorrow: in Tokyo it is already Saturday.
        let tokyo = time_zone("Asia/Tokyo").unwrap();
        assert_eq!(
            parse_when("tomorrow 09:00", now(), &tokyo),
            Ok(at("2026-12-06T00:00:00Z"))
        );
    }

    #[test]
    fn instants_with_an_offset_are_kept_exactly() {
        let tz = berlin();
        for typed in [
            "2026-12-24T09:00:00Z",
            "2026-12-24T09:00:00.123456789Z",
            "2026-12-24T09:00:00+09:00",
            "2026-12-24T09:00:00-05:00",
        ] {
            assert_eq!(parse_when(typed, now(), &tz), Ok(at(typed)), "{typed:?}");
        }
    }

    #[test]
    fn a_local_time_the_clocks_skip_is_refused_naming_both_candidates() {
        let err = parse_when("2026-03-29 02:30", now(), &berlin()).unwrap_err();
        assert_eq!(
            err,
            "2026-03-29 02:30 does not exist in Europe/Berlin: the clocks skip from +01:00 to \
             +02:00. Write the one you mean with its offset: 2026-03-29T01:30:00+01:00 (CET) or \
             2026-03-29T03:30:00+02:00 (CEST)"
        );
        let err = parse_when(
            "2026-03-08T02:30",
            now(),
            &time_zone("America/New_York").unwrap(),
        )
        .unwrap_err();
        assert!(
            err.contains("2026-03-08T01:30:00-05:00 (EST)")
                && err.contains("2026-03-08T03:30:00-04:00 (EDT)"),
            "{err}"
        );
        // Both candidates, written as told, are taken exactly.
        for typed in ["2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"] {
            assert_eq!(parse_when(typed, now(), &berlin()), Ok(at(typed)));
        }
    }

    #[test]
    fn a_local_time_the_clocks_repeat_is_refused_naming_both_candidates() {
        let err = parse_when("2026-10-25 02:30", now(), &berlin()).unwrap_err();
        assert_eq!(
            err,
            "2026-10-25 02:30 happens twice in Europe/Berlin: the clocks go back from +02:00 to \
             +01:00. Write the one you mean with its offset: 2026-10-25T02:30:00+02:00 (CEST) or \
             2026-10-25T02:30:00+01:00 (CET)"
        );
        let err = parse_when(
            "2026-11-01 01:30",
            now(),
            &time_zone("America/New_York").unwrap(),
        )
        .unwrap_err();
        assert!(
            err.contains("2026-11-01T01:30:00-04:00 (EDT)")
                && err.contains("2026-11-01T01:30:00-05:00 (EST)"),
            "{err}"
        );
        // Relative days land on a repeated hour too: "tomorrow 02:30" the day before.
        let day_before: Timestamp = "2026-10-24T12:00:00Z".parse().unwrap();
        assert!(
            parse_when("tomorrow 02:30", day_before, &berlin())
                .unwrap_err()
                .contains("happens twice")
        );
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_understood() {
        let tz = berlin();
        for bad in [
            "",
            "soon",
            "+2",
            "+h",
            "+2x",
            "+2h-3m",
            "in",
            "tomorrow",
            "tomorrow 9",
            "today 25:00",
            "2026-02-30 09:00",
            "2026-12-24 9:00",
            "24:00",
            "2026-12-24T09:00:00+0x:00",
            "2026-12-24T09:00:00 CET",
        ] {
            let err = parse_when(bad, now(), &tz).expect_err(bad);
            assert!(
                err.starts_with(&format!("{:?} is not a time I understand", bad.trim()))
                    && err.contains("tomorrow 09:00")
                    && err.contains("in Europe/Berlin"),
                "{bad:?}: {err}"
            );
        }
        let err = parse_when("+99999999999d", now(), &tz).unwrap_err();
        assert!(err.contains("too far"), "{err}");
    }
}
