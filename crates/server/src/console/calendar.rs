//! Week and month calendars of a schedule, laid out in the viewer's time zone.
//!
//! A schedule hands off in its own zone; the person reading it lives in theirs. The
//! calendar cuts every shift, override and gap at the reader's local midnights, so a day
//! is whatever that zone says it is: 23 or 25 hours on the days clocks change.

use domain::Timestamp;
use jiff::ToSpan;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use oncall::schedule::{Compiled, Rendered, ShiftSource};
use serde::Serialize;

/// Which calendar to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Seven days from Monday: a row per layer, one for overrides, one for the result.
    Week,
    /// The weeks that hold the month: who is on call each day.
    Month,
    /// Two weeks from the anchor day, as a list of shifts and gaps.
    List,
}

/// One local day.
#[derive(Clone, Debug, Serialize)]
pub struct Day {
    /// `2026-11-23`.
    pub date: String,
    /// `Mon 23 Nov`.
    pub label: String,
    /// In the month shown (month view); always true in a week.
    pub in_month: bool,
    pub today: bool,
    #[serde(skip)]
    start: Timestamp,
    #[serde(skip)]
    end: Timestamp,
}

/// A stretch of one day: who, and from when to when in local time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Piece {
    /// The person, or `nobody` in a gap.
    pub who: String,
    /// `shift`, `override` or `gap`.
    pub kind: &'static str,
    /// The layer a shift comes from (empty for overrides and gaps).
    pub layer: String,
    /// `HH:MM`, local.
    pub from: String,
    /// `HH:MM`, local; `24:00` when it runs to the end of the day.
    pub to: String,
}

/// A shift or gap of the list view, with its local start and end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub start: String,
    pub end: String,
    #[serde(flatten)]
    pub piece: Piece,
}

/// A row of the week view: a layer, the overrides, or the final schedule.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    /// A layer's own time zone, when it is not the schedule's (empty otherwise).
    pub zone: String,
    /// `layer`, `overrides` or `final`.
    pub kind: &'static str,
    /// One list of pieces per day.
    pub cells: Vec<Vec<Piece>>,
}

/// A calendar ready for the template.
#[derive(Clone, Debug, Serialize)]
pub struct Calendar {
    pub title: String,
    pub days: Vec<Day>,
    /// Week view: layers, then overrides, then the final schedule.
    pub rows: Vec<Row>,
    /// Month view: seven days each, with the final schedule's pieces.
    pub weeks: Vec<Vec<(Day, Vec<Piece>)>>,
    /// List view: every shift and gap, whole, in order.
    pub list: Vec<Entry>,
    /// The anchor dates of the previous and next calendars.
    pub prev: String,
    pub next: String,
}

/// The first instant of a local day (after a gap, if midnight does not exist there).
fn day_start(date: Date, tz: &TimeZone) -> Option<Timestamp> {
    date.to_datetime(Time::midnight())
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

fn monday_on_or_before(d: Date) -> Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(back.days()).unwrap_or(d)
}

/// The dates a view covers around `anchor`, and its title.
fn dates(view: View, anchor: Date) -> (Vec<Date>, String) {
    match view {
        View::List => {
            let days = (0..14)
                .filter_map(|i| anchor.checked_add(i.days()).ok())
                .collect();
            (
                days,
                format!("Two weeks from {}", anchor.strftime("%a %-d %b %Y")),
            )
        }
        View::Week => {
            let first = monday_on_or_before(anchor);
            let days: Vec<Date> = (0..7)
                .filter_map(|i| first.checked_add(i.days()).ok())
                .collect();
            (days, format!("Week of {}", first.strftime("%a %-d %b %Y")))
        }
        View::Month => {
            let first = anchor.first_of_month();
            let last = anchor.last_of_month();
            let mut d = monday_on_or_before(first);
            let mut days = Vec::new();
            while d <= last || d.weekday() != Weekday::Monday {
                days.push(d);
                match d.tomorrow() {
                    Ok(n) => d = n,
                    Err(_) => break,
                }
            }
            (days, anchor.strftime("%B %Y").to_string())
        }
    }
}

/// The instants a view covers around `anchor` in `tz`: from its first day's start to its
/// last day's end. `None` only at the edge of what time zones can express.
pub fn span(view: View, anchor: Date, tz: &TimeZone) -> Option<(Timestamp, Timestamp)> {
    let (dates, _) = dates(view, anchor);
    let first = day_start(*dates.first()?, tz)?;
    let end = day_start(dates.last()?.tomorrow().ok()?, tz)?;
    Some((first, end))
}

/// Cuts pieces of a range at the days' boundaries.
fn split(items: &[(Timestamp, Timestamp, Piece)], days: &[Day], tz: &TimeZone) -> Vec<Vec<Piece>> {
    let hhmm = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%H:%M").to_string();
    days.iter()
        .map(|day| {
            items
                .iter()
                .filter(|(a, b, _)| *a < day.end && day.start < *b)
                .map(|(a, b, p)| Piece {
                    from: hhmm((*a).max(day.start)),
                    to: if *b >= day.end {
                        "24:00".into()
                    } else {
                        hhmm(*b)
                    },
                    ..p.clone()
                })
                .collect()
        })
        .collect()
}

fn pieces(r: &Rendered, with_gaps: bool) -> Vec<(Timestamp, Timestamp, Piece)> {
    let mut out: Vec<(Timestamp, Timestamp, Piece)> = r
        .shifts
        .iter()
        .map(|s| {
            let (kind, layer) = match &s.source {
                ShiftSource::Layer { name, .. } => ("shift", name.clone()),
                ShiftSource::Override => ("override", String::new()),
            };
            let p = Piece {
                who: s.user.to_string(),
                kind,
                layer,
                from: String::new(),
                to: String::new(),
            };
            (s.start, s.end, p)
        })
        .collect();
    if with_gaps {
        out.extend(r.gaps.iter().map(|(a, b)| {
            let p = Piece {
                who: "nobody".into(),
                kind: "gap",
                layer: String::new(),
                from: String::new(),
                to: String::new(),
            };
            (*a, *b, p)
        }));
    }
    out.sort_by_key(|(a, _, _)| *a);
    out
}

/// Lays a schedule out around `anchor` in `tz`. `None` only for dates at the edge of
/// what time zones can express.
pub fn build(
    c: &Compiled,
    view: View,
    anchor: Date,
    today: Date,
    tz: &TimeZone,
) -> Option<Calendar> {
    let (dates, title) = dates(view, anchor);
    let mut days = Vec::with_capacity(dates.len());
    for d in &dates {
        let start = day_start(*d, tz)?;
        let end = day_start(d.tomorrow().ok()?, tz)?;
        days.push(Day {
            date: d.to_string(),
            label: d.strftime("%a %-d %b").to_string(),
            in_month: view == View::Week
                || (d.year(), d.month()) == (anchor.year(), anchor.month()),
            today: *d == today,
            start,
            end,
        });
    }
    let (from, to) = (days.first()?.start, days.last()?.end);
    let rendered = pieces(&c.render(from, to), true);
    let (prev, next) = match view {
        View::Week => (
            anchor.checked_sub(7.days()).ok()?,
            anchor.checked_add(7.days()).ok()?,
        ),
        View::List => (
            anchor.checked_sub(14.days()).ok()?,
            anchor.checked_add(14.days()).ok()?,
        ),
        View::Month => {
            let first = anchor.first_of_month();
            (
                first.checked_sub(1.month()).ok()?,
                first.checked_add(1.month()).ok()?,
            )
        }
    };
    let mut cal = Calendar {
        title,
        days: Vec::new(),
        rows: Vec::new(),
        weeks: Vec::new(),
        list: Vec::new(),
        prev: prev.to_string(),
        next: next.to_string(),
    };
    match view {
        View::Week => {
            let schedule_zone = c.time_zone().iana_name();
            for i in 0..c.layer_count() {
                let zone = c.layer_time_zone(i).and_then(TimeZone::iana_name);
                cal.rows.push(Row {
                    name: c.layer_name(i).unwrap_or_default().to_owned(),
                    zone: match zone {
                        Some(z) if zone != schedule_zone => z.to_owned(),
                        _ => String::new(),
                    },
                    kind: "layer",
                    cells: split(&pieces(&c.render_layer(i, from, to), false), &days, tz),
                });
            }
            let overrides = Rendered {
                shifts: c.overrides_in(from, to),
                gaps: Vec::new(),
            };
            cal.rows.push(Row {
                name: "Overrides".into(),
                zone: String::new(),
                kind: "overrides",
                cells: split(&pieces(&overrides, false), &days, tz),
            });
            cal.rows.push(Row {
                name: "On call".into(),
                zone: String::new(),
                kind: "final",
                cells: split(&rendered, &days, tz),
            });
            cal.days = days;
        }
        View::Month => {
            let cells = split(&rendered, &days, tz);
            let cells: Vec<(Day, Vec<Piece>)> = days.into_iter().zip(cells).collect();
            cal.weeks = cells.chunks(7).map(<[_]>::to_vec).collect();
        }
        View::List => {
            cal.list = rendered
                .into_iter()
                .map(|(a, b, piece)| Entry {
                    start: super::local(a, tz),
                    end: super::local(b, tz),
                    piece,
                })
                .collect();
        }
    }
    Some(cal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oncall::schedule::ScheduleSpec;

    fn spec(json: serde_json::Value) -> ScheduleSpec {
        serde_json::from_value(json).unwrap()
    }

    fn daily_utc() -> ScheduleSpec {
        spec(serde_json::json!({
            "time_zone": "UTC",
            "layers": [{
                "name": "base", "users": ["ann", "bob"], "rotation": "1d",
                "start": "2026-01-05T00:00",
                "restrictions": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "00:00", "end": "12:00"}],
            }],
        }))
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn brief(cell: &[Piece]) -> Vec<String> {
        cell.iter()
            .map(|p| format!("{} {}-{} {}", p.who, p.from, p.to, p.kind))
            .collect()
    }

    #[test]
    fn a_week_starts_on_monday_and_shows_layers_overrides_and_gaps() {
        let mut c = daily_utc();
        c.overrides.push(oncall::schedule::Override {
            user: domain::Name::new("cat").unwrap(),
            start: "2026-01-07T06:00:00Z".parse().unwrap(),
            end: "2026-01-07T09:00:00Z".parse().unwrap(),
        });
        let c = c.compile().unwrap();
        let utc = TimeZone::UTC;
        let cal = build(&c, View::Week, date("2026-01-08"), date("2026-01-08"), &utc).unwrap();
        assert_eq!(cal.title, "Week of Mon 5 Jan 2026");
        assert_eq!(cal.days[0].label, "Mon 5 Jan");
        assert!(cal.days[3].today);
        assert_eq!(
            (cal.prev.as_str(), cal.next.as_str()),
            ("2026-01-01", "2026-01-15")
        );
        let names: Vec<&str> = cal.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["base", "Overrides", "On call"]);
        // Wednesday: ann's morning, cat covering part of it, then nobody.
        assert_eq!(brief(&cal.rows[0].cells[2]), ["ann 00:00-12:00 shift"]);
        assert_eq!(brief(&cal.rows[1].cells[2]), ["cat 06:00-09:00 override"]);
        assert_eq!(
            brief(&cal.rows[2].cells[2]),
            [
                "ann 00:00-06:00 shift",
                "cat 06:00-09:00 override",
                "ann 09:00-12:00 shift",
                "nobody 12:00-24:00 gap",
            ]
        );
        // Saturday: nobody all day.
        assert_eq!(brief(&cal.rows[2].cells[5]), ["nobody 00:00-24:00 gap"]);
    }

    #[test]
    fn a_layer_in_its_own_zone_is_labelled_with_it_and_keeps_its_hours() {
        let c = spec(serde_json::json!({
            "time_zone": "Europe/London",
            "layers": [
                {"name": "london", "users": ["ann"], "rotation": "1w", "start": "2026-03-02T09:00"},
                {
                    "name": "tokyo", "time_zone": "Asia/Tokyo", "users": ["kenji"],
                    "rotation": "1d", "start": "2026-03-02T09:00",
                    "restrictions": [{"start": "09:00", "end": "18:00"}],
                },
            ],
        }))
        .compile()
        .unwrap();
        let london = TimeZone::get("Europe/London").unwrap();
        let cal = build(
            &c,
            View::Week,
            date("2026-03-25"),
            date("2026-03-25"),
            &london,
        )
        .unwrap();
        let zones: Vec<&str> = cal.rows.iter().map(|r| r.zone.as_str()).collect();
        assert_eq!(zones, ["", "Asia/Tokyo", "", ""]);
        // Tokyo's 09:00 to 18:00 is 00:00 to 09:00 in London until British Summer Time
        // starts on Sunday 29 March at 01:00 UTC, and an hour later from then on.
        assert_eq!(brief(&cal.rows[1].cells[0]), ["kenji 00:00-09:00 shift"]);
        assert_eq!(brief(&cal.rows[1].cells[6]), ["kenji 00:00-10:00 shift"]);
    }

    #[test]
    fn the_viewers_zone_cuts_the_days_and_keeps_dst_days_whole() {
        // A weekly rotation handing off Mondays 09:00 in New York, read from Berlin in
        // the week Europe's clocks go back (Sunday 25 October 2026 has 25 hours there)
        // while New York's stay put.
        let c = spec(serde_json::json!({
            "time_zone": "America/New_York",
            "layers": [{"name": "weekly", "users": ["ann", "bob"], "rotation": "1w", "start": "2026-10-05T09:00"}],
        }))
        .compile()
        .unwrap();
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let cal = build(
            &c,
            View::Week,
            date("2026-10-21"),
            date("2026-10-21"),
            &berlin,
        )
        .unwrap();
        let final_row = &cal.rows.last().unwrap().cells;
        // 09:00 in New York (EDT, UTC-4) on Monday 19 October is 15:00 in Berlin (CEST).
        assert_eq!(
            brief(&final_row[0]),
            ["bob 00:00-15:00 shift", "ann 15:00-24:00 shift"]
        );
        // The 25-hour Sunday is one day, from midnight to midnight.
        assert_eq!(cal.days[6].label, "Sun 25 Oct");
        assert_eq!(brief(&final_row[6]), ["ann 00:00-24:00 shift"]);
        let sunday = &cal.days[6];
        assert_eq!(sunday.end.duration_since(sunday.start).as_hours(), 25);
        // The next Monday's handover is at 14:00 in Berlin: Berlin is on CET now and
        // New York still on EDT.
        let next = build(
            &c,
            View::Week,
            date("2026-10-26"),
            date("2026-10-21"),
            &berlin,
        )
        .unwrap();
        assert_eq!(
            brief(&next.rows.last().unwrap().cells[0]),
            ["ann 00:00-14:00 shift", "bob 14:00-24:00 shift"]
        );
    }

    #[test]
    fn a_list_holds_two_weeks_of_whole_shifts_and_gaps() {
        let c = daily_utc().compile().unwrap();
        let utc = TimeZone::UTC;
        let anchor = date("2026-01-05");
        let (from, to) = span(View::List, anchor, &utc).unwrap();
        assert_eq!(to.duration_since(from).as_hours(), 14 * 24);
        let cal = build(&c, View::List, anchor, anchor, &utc).unwrap();
        assert_eq!(cal.title, "Two weeks from Mon 5 Jan 2026");
        assert_eq!(
            (cal.prev.as_str(), cal.next.as_str()),
            ("2025-12-22", "2026-01-19")
        );
        let first: Vec<String> = cal.list[..3]
            .iter()
            .map(|e| format!("{} {} {}-{}", e.piece.who, e.piece.kind, e.start, e.end))
            .collect();
        assert_eq!(
            first,
            [
                "ann shift 2026-01-05 00:00 UTC-2026-01-05 12:00 UTC",
                "nobody gap 2026-01-05 12:00 UTC-2026-01-06 00:00 UTC",
                "bob shift 2026-01-06 00:00 UTC-2026-01-06 12:00 UTC",
            ]
        );
        // The weekend is one gap, from Friday noon to Monday.
        assert!(cal.list.iter().any(|e| e.piece.kind == "gap"
            && e.start == "2026-01-09 12:00 UTC"
            && e.end == "2026-01-12 00:00 UTC"));
    }

    #[test]
    fn a_month_covers_whole_weeks_around_it() {
        let c = daily_utc().compile().unwrap();
        let utc = TimeZone::UTC;
        let cal = build(
            &c,
            View::Month,
            date("2026-02-14"),
            date("2026-02-14"),
            &utc,
        )
        .unwrap();
        assert_eq!(cal.title, "February 2026");
        // February 2026 starts on a Sunday and ends on a Saturday: 26 Jan to 1 Mar.
        assert_eq!(cal.weeks.len(), 5);
        assert_eq!(cal.weeks[0][0].0.date, "2026-01-26");
        assert!(!cal.weeks[0][0].0.in_month);
        assert_eq!(cal.weeks[4][6].0.date, "2026-03-01");
        assert!(cal.weeks.iter().all(|w| w.len() == 7));
        assert_eq!(
            (cal.prev.as_str(), cal.next.as_str()),
            ("2026-01-01", "2026-03-01")
        );
        let (monday, cell) = &cal.weeks[1][0];
        assert_eq!(monday.date, "2026-02-02");
        assert_eq!(
            brief(cell),
            ["ann 00:00-12:00 shift", "nobody 12:00-24:00 gap"]
        );
    }
}
