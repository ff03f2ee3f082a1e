//! iCalendar feeds (RFC 5545) of on-call shifts: one `VEVENT` per shift, times in UTC (so
//! no `VTIMEZONE` is needed), lines ending in CRLF and folded at 75 octets without ever
//! splitting a UTF-8 character.
//!
//! A feed is fetched again and again with a window that moves with the clock (by default
//! from a week ago to 90 days ahead). Calendar clients match events by UID, so an event
//! must not change with the window: the window only picks which shifts appear, and each
//! appears whole, with the UID derived from its true start. [`shifts`] says which.

use jiff::{SignedDuration, Timestamp};

use crate::schedule::{Compiled, Shift};

/// The longest event. A longer shift (a one-person layer runs on forever) is cut into
/// events at every multiple of this since the Unix epoch (Thursdays, 00:00 UTC, 13 weeks
/// apart): instants that do not move with the window.
pub const LONGEST_EVENT: SignedDuration = SignedDuration::from_hours(13 * 7 * 24);

/// What to render, and load overrides for, to list the events meeting [from, to) with
/// [`shifts`]: the window and [`LONGEST_EVENT`] either side, where any shift reaching
/// into the window either ends or is cut at a fixed instant.
pub fn render_range(from: Timestamp, to: Timestamp) -> (Timestamp, Timestamp) {
    (
        from.checked_sub(LONGEST_EVENT).unwrap_or(Timestamp::MIN),
        to.checked_add(LONGEST_EVENT).unwrap_or(Timestamp::MAX),
    )
}

/// The events of a feed for the window [from, to): the final shifts meeting it, whole
/// (not cut at the window), a shift longer than [`LONGEST_EVENT`] as one event per stretch
/// between fixed instants. `schedule` must hold its overrides for
/// [`render_range`]`(from, to)`.
pub fn shifts(schedule: &Compiled, from: Timestamp, to: Timestamp) -> Vec<Shift> {
    let (lo, hi) = render_range(from, to);
    let step = LONGEST_EVENT.as_secs();
    let mut out = Vec::new();
    for shift in schedule.render(lo, hi).shifts {
        if shift.end.duration_since(shift.start) <= LONGEST_EVENT {
            out.push(shift);
            continue;
        }
        // The first multiple of the step after the start, then every step until the end.
        // A shift cut at `lo` or `hi` is longer than the step, so it is cut here too, at
        // instants no later than `from` and no earlier than `to`: its piece beyond them
        // falls outside the window below.
        let mut start = shift.start;
        let mut cut = Timestamp::from_second((start.as_second().div_euclid(step) + 1) * step)
            .unwrap_or(Timestamp::MAX);
        while cut < shift.end {
            out.push(Shift {
                start,
                end: cut,
                ..shift.clone()
            });
            start = cut;
            cut = cut.checked_add(LONGEST_EVENT).unwrap_or(Timestamp::MAX);
        }
        out.push(Shift { start, ..shift });
    }
    out.retain(|s| s.start < to && from < s.end);
    out
}

/// One event of a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Stable across refreshes, so calendar clients update events instead of duplicating
    /// them: derived from the shift alone, never from the range asked for
    /// (`primary-ann-20260302T140000Z-weekly@shinrai`).
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub description: Option<String>,
}

/// A whole calendar. `stamp` is the feed's `DTSTAMP` (when it was generated).
pub fn calendar(name: &str, events: &[Event], stamp: Timestamp) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//shinrai//on-call//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    for e in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", text(&e.uid)));
        line(&mut out, &format!("DTSTAMP:{}", utc(stamp)));
        line(&mut out, &format!("DTSTART:{}", utc(e.start)));
        line(&mut out, &format!("DTEND:{}", utc(e.end)));
        line(&mut out, &format!("SUMMARY:{}", text(&e.summary)));
        if let Some(d) = &e.description {
            line(&mut out, &format!("DESCRIPTION:{}", text(d)));
        }
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// `20260302T140000Z`.
pub fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded: at most 75 octets per physical line (the
/// continuation's leading space included), never inside a UTF-8 sequence, CRLF after each.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_at_75_octets_without_splitting_a_character() {
        let summary = "当番".repeat(34); // 204 octets of three-byte characters
        let cal = calendar(
            "primary",
            &[Event {
                uid: "u1@shinrai".into(),
                start: "2026-03-02T14:00:00Z".parse().unwrap(),
                end: "2026-03-09T13:00:00Z".parse().unwrap(),
                summary: summary.clone(),
                description: None,
            }],
            "2026-03-01T00:00:00Z".parse().unwrap(),
        );
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        for physical in cal.split("\r\n") {
            assert!(
                physical.len() <= 75,
                "{} octets: {physical}",
                physical.len()
            );
        }
        // Unfolding gives the summary back whole.
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}\r\n")));
        assert!(unfolded.contains("DTSTART:20260302T140000Z\r\nDTEND:20260309T130000Z"));
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn compile(spec: serde_json::Value) -> Compiled {
        serde_json::from_value::<crate::schedule::ScheduleSpec>(spec)
            .unwrap()
            .compile()
            .unwrap()
    }

    fn window(c: &Compiled, from: Timestamp, days: i64) -> Vec<Shift> {
        let to = from
            .checked_add(SignedDuration::from_hours(days * 24))
            .unwrap();
        shifts(c, from, to)
    }

    #[test]
    fn a_feeds_shifts_are_whole_and_do_not_move_with_its_window() {
        // Weekly turns from Monday 09:00 UTC; carol covers Tuesday to Wednesday noon of the
        // first week, so ann's turn resumes then.
        let c = compile(serde_json::json!({
            "time_zone": "UTC",
            "layers": [{"name": "weekly", "users": ["ann", "bob"], "rotation": "1w", "start": "2026-03-02T09:00"}],
            "overrides": [{"user": "carol", "start": "2026-03-03T12:00:00Z", "end": "2026-03-04T12:00:00Z"}],
        }));
        let from = at("2026-03-05T17:21:07Z");
        let first = window(&c, from, 90);
        assert_eq!(first[0].user.as_str(), "ann");
        assert_eq!(first[0].start, at("2026-03-04T12:00:00Z"));
        assert_eq!(first[0].end, at("2026-03-09T09:00:00Z"));
        let last = first.last().unwrap();
        assert!(
            last.end
                > from
                    .checked_add(SignedDuration::from_hours(90 * 24))
                    .unwrap()
        );
        assert_eq!(last.end, at("2026-06-08T09:00:00Z"));
        for secs in [1, 59, 3600, 4 * 3600] {
            let later = from.checked_add(SignedDuration::from_secs(secs)).unwrap();
            assert_eq!(window(&c, later, 90), first, "{secs}s later");
        }
        // Once the window has passed a shift, it is gone and the rest are unchanged.
        let next_week = window(&c, at("2026-03-12T00:00:00Z"), 90);
        assert_eq!(next_week[..next_week.len() - 1], first[1..]);
    }

    #[test]
    fn a_shift_longer_than_the_longest_event_is_cut_at_fixed_instants() {
        let c = compile(serde_json::json!({
            "time_zone": "Europe/Berlin",
            "layers": [{"name": "solo", "users": ["ann"], "rotation": "1w", "start": "2020-01-06T09:00"}],
        }));
        let from = at("2026-03-05T17:21:07Z");
        let first = window(&c, from, 90);
        let step = LONGEST_EVENT.as_secs();
        let to = from
            .checked_add(SignedDuration::from_hours(90 * 24))
            .unwrap();
        assert!(first[0].start <= from && first.last().unwrap().end >= to);
        for w in first.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        for s in &first {
            assert!(s.end.duration_since(s.start) <= LONGEST_EVENT, "{s:?}");
            assert_eq!(s.start.as_second() % step, 0, "{s:?}");
        }
        for days in [1, 17, 40] {
            let later = window(
                &c,
                from.checked_add(SignedDuration::from_hours(days * 24))
                    .unwrap(),
                90,
            );
            for s in &later {
                if let Some(same) = first.iter().find(|f| f.start == s.start) {
                    assert_eq!(same, s);
                }
            }
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
