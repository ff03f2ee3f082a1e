//! Longer than 600 lines because it holds the schedule renderer's table-driven and property
//! tests, one per rule.

use jiff::civil::{Weekday, date};
use proptest::prelude::*;

use super::*;

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn layer(layer_name: &str, users: &[&str], rotation: &str, start: &str) -> Layer {
    Layer {
        name: layer_name.into(),
        users: users.iter().map(|u| name(u)).collect(),
        time_zone: None,
        rotation: rotation.into(),
        start: start.into(),
        end: None,
        restrictions: vec![],
        restriction_mode: RestrictionMode::Calendar,
    }
}

fn spec(tz: &str, layers: Vec<Layer>) -> ScheduleSpec {
    ScheduleSpec {
        description: None,
        time_zone: tz.into(),
        layers,
        overrides: vec![],
    }
}

fn compile(s: &ScheduleSpec) -> Compiled {
    match s.compile() {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

fn weekdays(start: &str, end: &str) -> Restriction {
    Restriction {
        days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
        start: start.into(),
        end: end.into(),
    }
}

fn ov(user: &str, start: &str, end: &str) -> Override {
    Override {
        user: name(user),
        start: at(start),
        end: at(end),
    }
}

/// Shifts as (user, start, end) with instants in RFC 3339, for readable comparisons.
fn brief(r: &Rendered) -> Vec<(String, String, String)> {
    r.shifts
        .iter()
        .map(|s| (s.user.to_string(), s.start.to_string(), s.end.to_string()))
        .collect()
}

fn row(user: &str, start: &str, end: &str) -> (String, String, String) {
    (user.into(), at(start).to_string(), at(end).to_string())
}

fn layer_source(index: usize, layer_name: &str) -> ShiftSource {
    ShiftSource::Layer {
        index,
        name: layer_name.into(),
    }
}

/// Shifts and gaps tile [from, to) exactly: sorted, each piece ending where the next
/// begins, none empty, shifts of one user from one source never left touching unmerged.
fn tiles(r: &Rendered, from: Timestamp, to: Timestamp) -> Result<(), String> {
    if from >= to {
        return match r.shifts.is_empty() && r.gaps.is_empty() {
            true => Ok(()),
            false => Err("an empty range renders something".into()),
        };
    }
    for w in r.shifts.windows(2) {
        if w[0].end > w[1].start {
            return Err(format!("shifts overlap or are unsorted: {w:?}"));
        }
        if w[0].end == w[1].start && w[0].user == w[1].user && w[0].source == w[1].source {
            return Err(format!("touching pieces not merged: {w:?}"));
        }
    }
    for w in r.gaps.windows(2) {
        if w[0].1 >= w[1].0 {
            return Err(format!("gaps overlap, touch or are unsorted: {w:?}"));
        }
    }
    let mut pieces: Vec<(Timestamp, Timestamp)> = r
        .shifts
        .iter()
        .map(|s| (s.start, s.end))
        .chain(r.gaps.iter().copied())
        .collect();
    pieces.sort();
    if pieces.first().map(|p| p.0) != Some(from) {
        return Err(format!("does not start at {from}: {pieces:?}"));
    }
    if pieces.last().map(|p| p.1) != Some(to) {
        return Err(format!("does not end at {to}: {pieces:?}"));
    }
    for p in &pieces {
        if p.0 >= p.1 {
            return Err(format!("empty or backwards piece {p:?}"));
        }
    }
    for w in pieces.windows(2) {
        if w[0].1 != w[1].0 {
            return Err(format!("hole or overlap between {:?} and {:?}", w[0], w[1]));
        }
    }
    Ok(())
}

fn render(c: &Compiled, from: &str, to: &str) -> Rendered {
    let (from, to) = (at(from), at(to));
    let r = c.render(from, to);
    tiles(&r, from, to).unwrap();
    r
}

// ---------------------------------------------------------------------------------------
// DST facts (../shared/reference/incidents.md, "DST facts for tests").

fn new_york_weekly() -> ScheduleSpec {
    spec(
        "America/New_York",
        vec![layer(
            "primary",
            &["alice", "bob", "carol"],
            "1w",
            "2026-03-02T09:00",
        )],
    )
}

#[test]
fn weekly_handoff_in_new_york_keeps_09_00_across_dst() {
    let c = compile(&new_york_weekly());
    let r = render(&c, "2026-03-02T14:00:00Z", "2026-03-16T13:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z"),
            row("bob", "2026-03-09T13:00:00Z", "2026-03-16T13:00:00Z"),
        ]
    );
    assert_eq!(r.gaps, []);
    assert_eq!(
        r.shifts[0].end.duration_since(r.shifts[0].start),
        hours(167)
    );
    assert_eq!(r.shifts[0].source, layer_source(0, "primary"));

    // The shift spanning the return to standard time on 2026-11-01 lasts 169 hours. It is
    // turn 34 (34 weeks after 2026-03-02): bob's.
    let s = c.on_call_at(at("2026-11-01T12:00:00Z")).unwrap();
    assert_eq!(s.user, name("bob"));
    assert_eq!(s.start, at("2026-10-26T13:00:00Z"));
    assert_eq!(s.end, at("2026-11-02T14:00:00Z"));
    assert_eq!(s.end.duration_since(s.start), hours(169));

    // A year of handoffs: every one Monday 09:00 local, no gap, no overlap.
    let tz = c.time_zone().clone();
    let r = render(&c, "2026-03-02T14:00:00Z", "2027-03-01T14:00:00Z");
    assert_eq!(r.gaps, []);
    assert_eq!(r.shifts.len(), 52);
    for s in &r.shifts {
        let local = tz.to_datetime(s.start);
        assert_eq!(local.weekday(), Weekday::Monday, "{s:?}");
        assert_eq!(local.time(), jiff::civil::time(9, 0, 0, 0), "{s:?}");
        let length = s.end.duration_since(s.start);
        assert!([167, 168, 169].map(hours).contains(&length), "{s:?}");
    }
}

#[test]
fn weekly_handoff_in_tokyo_is_always_monday_00_00z() {
    let c = compile(&spec(
        "Asia/Tokyo",
        vec![layer(
            "primary",
            &["alice", "bob"],
            "1w",
            "2026-03-02T09:00",
        )],
    ));
    let r = render(&c, "2026-03-02T00:00:00Z", "2027-03-01T00:00:00Z");
    assert_eq!(r.gaps, []);
    assert_eq!(r.shifts.len(), 52);
    for (i, s) in r.shifts.iter().enumerate() {
        assert_eq!(s.end.duration_since(s.start), hours(168));
        let utc = TimeZone::UTC.to_datetime(s.start);
        assert_eq!(utc.weekday(), Weekday::Monday);
        assert_eq!(utc.time(), jiff::civil::time(0, 0, 0, 0));
        assert_eq!(s.user, name(["alice", "bob"][i % 2]));
    }
}

#[test]
fn a_daily_handoff_the_clock_skips_moves_forward() {
    // 02:30 on 2026-03-08 does not exist in New York: it is 03:30 EDT, 07:30Z.
    let c = compile(&spec(
        "America/New_York",
        vec![layer("daily", &["alice", "bob"], "1d", "2026-03-01T02:30")],
    ));
    let r = render(&c, "2026-03-07T07:30:00Z", "2026-03-10T06:30:00Z");
    assert_eq!(
        brief(&r),
        [
            // Turn 6: 02:30 EST to 02:30 that does not exist.
            row("alice", "2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z"),
            // Turn 7: to 02:30 EDT, 23 hours.
            row("bob", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"),
            row("alice", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"),
        ]
    );

    // A layer starting at that very time starts at 07:30Z, and its next handoff is back at
    // 02:30 local (06:30Z), not at the 03:30 the gap moved the first one to.
    let c = compile(&spec(
        "America/New_York",
        vec![layer("daily", &["alice", "bob"], "1d", "2026-03-08T02:30")],
    ));
    let r = c.render(at("2026-03-08T00:00:00Z"), at("2026-03-10T00:00:00Z"));
    assert_eq!(
        r.gaps[0],
        (at("2026-03-08T00:00:00Z"), at("2026-03-08T07:30:00Z"))
    );
    assert_eq!(r.shifts[0].start, at("2026-03-08T07:30:00Z"));
    assert_eq!(r.shifts[0].end, at("2026-03-09T06:30:00Z"));
}

#[test]
fn a_daily_handoff_the_clock_passes_twice_is_the_earlier() {
    // 01:30 on 2026-11-01 happens twice in New York; the earlier (EDT) is 05:30Z.
    let c = compile(&spec(
        "America/New_York",
        vec![layer("daily", &["alice", "bob"], "1d", "2026-10-25T01:30")],
    ));
    let r = render(&c, "2026-10-31T05:30:00Z", "2026-11-03T06:30:00Z");
    assert_eq!(
        brief(&r),
        [
            // Turn 6 (six days after 2026-10-25).
            row("alice", "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z"),
            // 25 hours: from 01:30 EDT to 01:30 EST the next day.
            row("bob", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"),
            row("alice", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"),
        ]
    );
    let c = compile(&spec(
        "America/New_York",
        vec![layer("daily", &["alice"], "1d", "2026-11-01T01:30")],
    ));
    assert_eq!(
        c.render(at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"))
            .shifts[0]
            .start,
        at("2026-11-01T05:30:00Z")
    );
}

#[test]
fn hour_rotations_are_elapsed_time() {
    // 12h from 09:00 EST: 09:00 and 21:00 until the change, then 10:00 and 22:00 EDT.
    let c = compile(&spec(
        "America/New_York",
        vec![layer(
            "halves",
            &["alice", "bob"],
            "12h",
            "2026-03-07T09:00",
        )],
    ));
    let r = render(&c, "2026-03-07T14:00:00Z", "2026-03-09T14:00:00Z");
    let starts: Vec<String> = r.shifts.iter().map(|s| s.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-07T14:00:00Z",
            "2026-03-08T02:00:00Z",
            "2026-03-08T14:00:00Z",
            "2026-03-09T02:00:00Z",
        ]
    );
    assert!(
        r.shifts
            .iter()
            .all(|s| s.end.duration_since(s.start) == hours(12))
    );
    // A mixed rotation: the day is calendar, the hours elapsed.
    let c = compile(&spec(
        "UTC",
        vec![layer("odd", &["alice", "bob"], "1d12h", "2026-03-07T00:00")],
    ));
    let r = render(&c, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-03-07T00:00:00Z", "2026-03-08T12:00:00Z"),
            row("bob", "2026-03-08T12:00:00Z", "2026-03-10T00:00:00Z"),
        ]
    );
}

#[test]
fn a_day_that_does_not_exist_skips_a_turn() {
    // Samoa skipped 2011-12-30: 2011-12-29T24:00-10:00 was followed by 2011-12-31T00:00+14:00.
    // The turn of 12-30 is empty, so its user (carol) is skipped.
    let c = compile(&spec(
        "Pacific/Apia",
        vec![layer(
            "daily",
            &["alice", "bob", "carol"],
            "1d",
            "2011-12-25T09:00",
        )],
    ));
    let r = render(&c, "2011-12-29T00:00:00Z", "2011-12-31T19:00:00Z");
    assert_eq!(
        brief(&r),
        [
            // Turn 3 from 12-28 09:00-10:00.
            row("alice", "2011-12-29T00:00:00Z", "2011-12-29T19:00:00Z"),
            // Turn 4 from 12-29 09:00-10:00 to 12-31 09:00+14:00: 24 hours.
            row("bob", "2011-12-29T19:00:00Z", "2011-12-30T19:00:00Z"),
            row("alice", "2011-12-30T19:00:00Z", "2011-12-31T19:00:00Z"),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Layers, overrides, gaps, merging.

#[test]
fn overrides_in_a_range_are_clipped_sorted_and_may_overlap() {
    let mut s = spec(
        "UTC",
        vec![layer("base", &["alice"], "1w", "2026-01-05T00:00")],
    );
    s.overrides = vec![
        ov("erin", "2026-01-07T00:00:00Z", "2026-01-07T06:00:00Z"),
        ov("dave", "2026-01-06T12:00:00Z", "2026-01-07T12:00:00Z"),
        ov("finn", "2026-01-09T00:00:00Z", "2026-01-10T00:00:00Z"),
    ];
    let c = compile(&s);
    assert_eq!(c.layer_name(0), Some("base"));
    assert_eq!(c.layer_name(1), None);
    let got: Vec<_> = c
        .overrides_in(at("2026-01-07T03:00:00Z"), at("2026-01-09T00:00:00Z"))
        .iter()
        .map(|o| (o.user.to_string(), o.start.to_string(), o.end.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            // Equal starts keep the list's order.
            row("erin", "2026-01-07T03:00:00Z", "2026-01-07T06:00:00Z"),
            row("dave", "2026-01-07T03:00:00Z", "2026-01-07T12:00:00Z"),
        ]
    );
}

#[test]
fn later_layers_win_and_overrides_win_over_all() {
    let mut upper = layer("upper", &["bob", "carol"], "1d", "2026-01-06T00:00");
    upper.end = Some("2026-01-08T00:00".into());
    let mut s = spec(
        "UTC",
        vec![layer("base", &["alice"], "1w", "2026-01-05T00:00"), upper],
    );
    s.overrides = vec![
        ov("dave", "2026-01-06T12:00:00Z", "2026-01-07T12:00:00Z"),
        // Later in the list: wins over dave where they overlap.
        ov("erin", "2026-01-07T00:00:00Z", "2026-01-07T06:00:00Z"),
    ];
    let c = compile(&s);
    let r = render(&c, "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"),
            row("bob", "2026-01-06T00:00:00Z", "2026-01-06T12:00:00Z"),
            row("dave", "2026-01-06T12:00:00Z", "2026-01-07T00:00:00Z"),
            row("erin", "2026-01-07T00:00:00Z", "2026-01-07T06:00:00Z"),
            row("dave", "2026-01-07T06:00:00Z", "2026-01-07T12:00:00Z"),
            row("carol", "2026-01-07T12:00:00Z", "2026-01-08T00:00:00Z"),
            row("alice", "2026-01-08T00:00:00Z", "2026-01-09T00:00:00Z"),
        ]
    );
    let sources: Vec<&ShiftSource> = r.shifts.iter().map(|s| &s.source).collect();
    assert_eq!(
        sources,
        [
            &layer_source(0, "base"),
            &layer_source(1, "upper"),
            &ShiftSource::Override,
            &ShiftSource::Override,
            &ShiftSource::Override,
            &layer_source(1, "upper"),
            &layer_source(0, "base"),
        ]
    );
    assert_eq!(r.gaps, []);

    // Each layer on its own.
    let base = c.render_layer(0, at("2026-01-05T00:00:00Z"), at("2026-01-09T00:00:00Z"));
    assert_eq!(
        brief(&base),
        [row("alice", "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z")]
    );
    let upper = c.render_layer(1, at("2026-01-05T00:00:00Z"), at("2026-01-09T00:00:00Z"));
    tiles(
        &upper,
        at("2026-01-05T00:00:00Z"),
        at("2026-01-09T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        brief(&upper),
        [
            row("bob", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z"),
            row("carol", "2026-01-07T00:00:00Z", "2026-01-08T00:00:00Z"),
        ]
    );
    assert_eq!(
        upper.gaps,
        [
            (at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z")),
            (at("2026-01-08T00:00:00Z"), at("2026-01-09T00:00:00Z")),
        ]
    );
    // No such layer: all gap.
    let none = c.render_layer(7, at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"));
    assert_eq!(none.shifts, []);
    assert_eq!(
        none.gaps,
        [(at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"))]
    );
    assert_eq!(c.layer_count(), 2);
}

#[test]
fn gaps_are_reported_and_overrides_fill_them() {
    let mut l = layer("only", &["alice", "bob"], "1d", "2026-01-05T00:00");
    l.end = Some("2026-01-07T00:00".into());
    let mut s = spec("UTC", vec![l]);
    let c = compile(&s);
    let r = render(&c, "2026-01-04T00:00:00Z", "2026-01-08T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"),
            row("bob", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z"),
        ]
    );
    assert_eq!(
        r.gaps,
        [
            (at("2026-01-04T00:00:00Z"), at("2026-01-05T00:00:00Z")),
            (at("2026-01-07T00:00:00Z"), at("2026-01-08T00:00:00Z")),
        ]
    );
    assert_eq!(c.on_call_at(at("2026-01-07T00:00:00Z")), None);
    assert_eq!(c.on_call_at(at("2026-01-04T23:59:59Z")), None);

    s.overrides = vec![ov("carol", "2026-01-07T06:00:00Z", "2026-01-07T18:00:00Z")];
    let c = compile(&s);
    let r = render(&c, "2026-01-06T00:00:00Z", "2026-01-08T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("bob", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z"),
            row("carol", "2026-01-07T06:00:00Z", "2026-01-07T18:00:00Z"),
        ]
    );
    assert_eq!(
        r.gaps,
        [
            (at("2026-01-07T00:00:00Z"), at("2026-01-07T06:00:00Z")),
            (at("2026-01-07T18:00:00Z"), at("2026-01-08T00:00:00Z")),
        ]
    );
    // An empty or backwards range renders nothing.
    let empty = c.render(at("2026-01-06T00:00:00Z"), at("2026-01-06T00:00:00Z"));
    assert_eq!(empty, Rendered::default());
    let backwards = c.render(at("2026-01-07T00:00:00Z"), at("2026-01-06T00:00:00Z"));
    assert_eq!(backwards, Rendered::default());
}

#[test]
fn adjacent_pieces_of_one_user_from_one_source_merge() {
    // One user: every turn is hers, one shift.
    let c = compile(&spec(
        "Europe/Berlin",
        vec![layer("solo", &["alice"], "1w", "2026-03-02T09:00")],
    ));
    let r = render(&c, "2026-03-02T08:00:00Z", "2026-04-06T07:00:00Z");
    assert_eq!(
        brief(&r),
        [row("alice", "2026-03-02T08:00:00Z", "2026-04-06T07:00:00Z")]
    );
    // The same name twice in a row: two turns, one shift.
    let c = compile(&spec(
        "UTC",
        vec![layer(
            "twice",
            &["alice", "alice", "bob"],
            "1d",
            "2026-01-05T00:00",
        )],
    ));
    let r = render(&c, "2026-01-05T00:00:00Z", "2026-01-08T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z"),
            row("bob", "2026-01-07T00:00:00Z", "2026-01-08T00:00:00Z"),
        ]
    );
    // Two overrides of one user back to back merge; an override of the user already on
    // call does not merge with her layer shift (another source).
    let mut s = spec(
        "UTC",
        vec![layer("base", &["alice"], "1w", "2026-01-05T00:00")],
    );
    s.overrides = vec![
        ov("alice", "2026-01-06T00:00:00Z", "2026-01-06T06:00:00Z"),
        ov("bob", "2026-01-06T06:00:00Z", "2026-01-06T12:00:00Z"),
        ov("bob", "2026-01-06T12:00:00Z", "2026-01-06T18:00:00Z"),
    ];
    let c = compile(&s);
    let r = render(&c, "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"),
            row("alice", "2026-01-06T00:00:00Z", "2026-01-06T06:00:00Z"),
            row("bob", "2026-01-06T06:00:00Z", "2026-01-06T18:00:00Z"),
            row("alice", "2026-01-06T18:00:00Z", "2026-01-07T00:00:00Z"),
        ]
    );
    assert_eq!(r.shifts[1].source, ShiftSource::Override);
}

#[test]
fn a_range_starting_mid_turn_is_clipped() {
    let c = compile(&new_york_weekly());
    // Wednesday 2026-03-11 noon to the Wednesday after: bob's turn, then carol's from
    // Monday 09:00 EDT.
    let r = render(&c, "2026-03-11T16:00:00Z", "2026-03-18T16:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("bob", "2026-03-11T16:00:00Z", "2026-03-16T13:00:00Z"),
            row("carol", "2026-03-16T13:00:00Z", "2026-03-18T16:00:00Z"),
        ]
    );
    // A range inside one turn.
    let r = render(&c, "2026-03-11T16:00:00Z", "2026-03-11T16:00:01Z");
    assert_eq!(
        brief(&r),
        [row("bob", "2026-03-11T16:00:00Z", "2026-03-11T16:00:01Z")]
    );
    // A range that ends exactly at a handoff.
    let r = render(&c, "2026-03-09T12:00:00Z", "2026-03-09T13:00:00Z");
    assert_eq!(
        brief(&r),
        [row("alice", "2026-03-09T12:00:00Z", "2026-03-09T13:00:00Z")]
    );
    // Before the start: a gap, then the first turn.
    let r = render(&c, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z");
    assert_eq!(
        r.gaps,
        [(at("2026-03-01T00:00:00Z"), at("2026-03-02T14:00:00Z"))]
    );
}

#[test]
fn a_range_starting_by_the_offset_change_finds_the_right_turn() {
    // From summer time into winter time every handoff is an hour later than whole weeks of
    // 168 hours would put it: 30 minutes after 17 × 168 hours is still turn 16.
    let c = compile(&spec(
        "America/New_York",
        vec![layer(
            "primary",
            &["alice", "bob"],
            "1w",
            "2026-07-06T09:00",
        )],
    ));
    let r = render(&c, "2026-11-02T13:30:00Z", "2026-11-02T15:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-11-02T13:30:00Z", "2026-11-02T14:00:00Z"),
            row("bob", "2026-11-02T14:00:00Z", "2026-11-02T15:00:00Z"),
        ]
    );
    // And the other way: from winter into summer time, an hour earlier.
    let c = compile(&spec(
        "America/New_York",
        vec![layer(
            "primary",
            &["alice", "bob"],
            "1w",
            "2026-01-05T09:00",
        )],
    ));
    let r = render(&c, "2026-03-09T13:30:00Z", "2026-03-09T15:00:00Z");
    assert_eq!(
        brief(&r),
        [row("bob", "2026-03-09T13:30:00Z", "2026-03-09T15:00:00Z")]
    );
}

#[test]
fn ten_years_on_jumps_straight_to_the_turn() {
    let c = compile(&new_york_weekly());
    let tz = c.time_zone().clone();
    let (from, to) = (at("2036-03-05T00:00:00Z"), at("2036-03-26T00:00:00Z"));
    let r = c.render(from, to);
    tiles(&r, from, to).unwrap();
    // Expected handoffs, computed independently: Mondays at 09:00 local, turn k on the
    // date 7k days after 2026-03-02.
    let first = date(2026, 3, 2);
    let users = ["alice", "bob", "carol"];
    let mut expected = Vec::new();
    let mut d = date(2036, 3, 3);
    while d <= date(2036, 3, 24) {
        let k = (d - first).get_days() / 7;
        let start = tz
            .to_timestamp(d.to_datetime(jiff::civil::time(9, 0, 0, 0)))
            .unwrap();
        expected.push((users[(k % 3) as usize], start));
        d = d.checked_add(Span::new().days(7)).unwrap();
    }
    // 2036-03-03 is before the range, so the first shift is clipped to `from`.
    assert_eq!(r.shifts.len(), 4);
    assert_eq!(r.shifts[0].user, name(expected[0].0));
    assert_eq!(r.shifts[0].start, from);
    for (s, (user, start)) in r.shifts[1..].iter().zip(&expected[1..]) {
        assert_eq!((s.user.as_str(), s.start), (*user, *start));
    }
    // 2036-03-10 is EDT already: 13:00Z.
    assert_eq!(r.shifts[1].start, at("2036-03-10T13:00:00Z"));
}

// ---------------------------------------------------------------------------------------
// Restrictions.

#[test]
fn calendar_restrictions_let_the_lower_layer_show_at_night_and_weekends() {
    let mut business = layer("business", &["alice", "bob"], "1w", "2026-03-02T09:00");
    business.restrictions = vec![weekdays("09:00", "17:00")];
    let c = compile(&spec(
        "America/New_York",
        vec![
            layer("around-the-clock", &["carol"], "1w", "2026-03-02T00:00"),
            business,
        ],
    ));
    // Monday 00:00 EST to Monday 00:00 EDT.
    let r = render(&c, "2026-03-02T05:00:00Z", "2026-03-09T04:00:00Z");
    assert_eq!(r.gaps, []);
    let mut expected = vec![row("carol", "2026-03-02T05:00:00Z", "2026-03-02T14:00:00Z")];
    for day in 2..=6 {
        let on = format!("2026-03-{day:02}T14:00:00Z");
        let off = format!("2026-03-{day:02}T22:00:00Z");
        let next = if day < 6 {
            format!("2026-03-{:02}T14:00:00Z", day + 1)
        } else {
            // Friday 17:00 to Monday 00:00, across the change on Sunday.
            "2026-03-09T04:00:00Z".to_owned()
        };
        expected.push(row("alice", &on, &off));
        expected.push(row("carol", &off, &next));
    }
    assert_eq!(brief(&r), expected);

    // The next week is bob's, 09:00 to 17:00 EDT.
    let s = c.on_call_at(at("2026-03-09T13:00:00Z")).unwrap();
    assert_eq!(s.user, name("bob"));
    assert_eq!(
        (s.start, s.end),
        (at("2026-03-09T13:00:00Z"), at("2026-03-09T21:00:00Z"))
    );
    assert_eq!(s.source, layer_source(1, "business"));

    // On its own the business layer has gaps at night.
    let alone = c.render_layer(1, at("2026-03-02T05:00:00Z"), at("2026-03-03T05:00:00Z"));
    assert_eq!(
        brief(&alone),
        [row("alice", "2026-03-02T14:00:00Z", "2026-03-02T22:00:00Z")]
    );
    assert_eq!(alone.gaps.len(), 2);
}

#[test]
fn a_restriction_past_midnight_belongs_to_the_day_it_starts() {
    // Saturday and Sunday nights 22:00 to 06:00 in Berlin; clocks go forward early on
    // Sunday 2026-03-29 (02:00 CET becomes 03:00 CEST). Weekly turns from Monday
    // 2026-03-02 00:00: the week of 03-23 is bob's, that of 03-30 alice's.
    let mut nights = layer("nights", &["alice", "bob"], "1w", "2026-03-02T00:00");
    nights.restrictions = vec![Restriction {
        days: vec![Day::Sat, Day::Sun],
        start: "22:00".into(),
        end: "06:00".into(),
    }];
    let c = compile(&spec("Europe/Berlin", vec![nights]));
    let r = render(&c, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        brief(&r),
        [
            // Saturday 22:00 CET to Sunday 06:00 CEST: 7 hours.
            row("bob", "2026-03-28T21:00:00Z", "2026-03-29T04:00:00Z"),
            // Sunday 22:00 CEST to the Monday 00:00 handoff...
            row("bob", "2026-03-29T20:00:00Z", "2026-03-29T22:00:00Z"),
            // ...then alice until 06:00.
            row("alice", "2026-03-29T22:00:00Z", "2026-03-30T04:00:00Z"),
        ]
    );
    // Friday night's early hours of Saturday are not covered: Friday is not listed.
    assert_eq!(
        r.gaps,
        [
            (at("2026-03-27T00:00:00Z"), at("2026-03-28T21:00:00Z")),
            (at("2026-03-29T04:00:00Z"), at("2026-03-29T20:00:00Z")),
            (at("2026-03-30T04:00:00Z"), at("2026-03-31T00:00:00Z")),
        ]
    );
    // An end equal to the start is a full day: Saturdays from 00:00 to 00:00.
    let mut saturdays = layer("saturdays", &["alice"], "1w", "2026-03-02T00:00");
    saturdays.restrictions = vec![Restriction {
        days: vec![Day::Sat],
        start: "00:00".into(),
        end: "00:00".into(),
    }];
    let c = compile(&spec("UTC", vec![saturdays]));
    let r = render(&c, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        brief(&r),
        [row("alice", "2026-03-28T00:00:00Z", "2026-03-29T00:00:00Z")]
    );
}

#[test]
fn overlapping_restrictions_are_one_window() {
    let mut l = layer("l", &["alice"], "1w", "2026-03-02T00:00");
    l.restrictions = vec![weekdays("09:00", "13:00"), weekdays("12:00", "17:00")];
    let c = compile(&spec("UTC", vec![l]));
    let r = render(&c, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    assert_eq!(
        brief(&r),
        [row("alice", "2026-03-02T09:00:00Z", "2026-03-02T17:00:00Z")]
    );
}

fn active_weekdays(rotation: &str) -> Compiled {
    let mut l = layer("active", &["alice", "bob"], rotation, "2026-03-02T00:00");
    l.restrictions = vec![weekdays("09:00", "17:00")];
    l.restriction_mode = RestrictionMode::ActiveTime;
    compile(&spec("America/New_York", vec![l]))
}

#[test]
fn active_time_gives_each_weekday_to_one_person_alternately() {
    let c = active_weekdays("8h");
    let r = render(&c, "2026-03-02T05:00:00Z", "2026-03-16T04:00:00Z");
    let mut expected = Vec::new();
    let mut alice = true;
    for day in [2, 3, 4, 5, 6, 9, 10, 11, 12, 13] {
        // EST (UTC-5) until 2026-03-08, EDT (UTC-4) after.
        let (on, off) = if day < 8 { (14, 22) } else { (13, 21) };
        expected.push(row(
            if alice { "alice" } else { "bob" },
            &format!("2026-03-{day:02}T{on}:00:00Z"),
            &format!("2026-03-{day:02}T{off}:00:00Z"),
        ));
        alice = !alice;
    }
    assert_eq!(brief(&r), expected);

    // Five years on (walked from the start): still one weekday each, alternately, by the
    // count of weekdays since the start.
    let tz = c.time_zone().clone();
    let first = date(2026, 3, 2);
    let weekdays_before = |d: jiff::civil::Date| {
        let mut n = 0;
        let mut day = first;
        while day < d {
            if day.weekday().to_monday_zero_offset() < 5 {
                n += 1;
            }
            day = day.tomorrow().unwrap();
        }
        n
    };
    let (from, to) = (at("2031-06-02T04:00:00Z"), at("2031-06-09T04:00:00Z"));
    let r = c.render(from, to);
    tiles(&r, from, to).unwrap();
    assert_eq!(r.shifts.len(), 5);
    for s in &r.shifts {
        let local = tz.to_datetime(s.start);
        assert_eq!(local.time(), jiff::civil::time(9, 0, 0, 0));
        assert_eq!(s.end.duration_since(s.start), hours(8));
        let n = weekdays_before(local.date());
        assert_eq!(s.user, name(["alice", "bob"][n % 2]), "{s:?}");
    }
}

#[test]
fn active_time_turns_can_end_inside_a_window() {
    // 12 hours of covered time each: alice Monday and half of Tuesday, bob the rest of
    // Tuesday and Wednesday.
    let c = active_weekdays("12h");
    let r = render(&c, "2026-03-02T05:00:00Z", "2026-03-05T05:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("alice", "2026-03-02T14:00:00Z", "2026-03-02T22:00:00Z"),
            row("alice", "2026-03-03T14:00:00Z", "2026-03-03T18:00:00Z"),
            row("bob", "2026-03-03T18:00:00Z", "2026-03-03T22:00:00Z"),
            row("bob", "2026-03-04T14:00:00Z", "2026-03-04T22:00:00Z"),
        ]
    );
    // A range that starts inside a turn inside a window.
    let r = render(&c, "2026-03-03T20:00:00Z", "2026-03-04T15:00:00Z");
    assert_eq!(
        brief(&r),
        [
            row("bob", "2026-03-03T20:00:00Z", "2026-03-03T22:00:00Z"),
            row("bob", "2026-03-04T14:00:00Z", "2026-03-04T15:00:00Z"),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Who is on call now, and next.

#[test]
fn on_call_at_and_next_after() {
    let c = compile(&new_york_weekly());
    let now = c.on_call_at(at("2026-03-05T12:00:00Z")).unwrap();
    assert_eq!(now.user, name("alice"));
    assert_eq!(
        (now.start, now.end),
        (at("2026-03-02T14:00:00Z"), at("2026-03-09T13:00:00Z"))
    );
    // The start is inclusive, the end exclusive.
    assert_eq!(
        c.on_call_at(at("2026-03-09T13:00:00Z")).unwrap().user,
        name("bob")
    );
    assert_eq!(
        c.on_call_at(at("2026-03-09T12:59:59Z")).unwrap().user,
        name("alice")
    );
    assert_eq!(
        c.on_call_at(at("2026-03-02T13:59:59Z")),
        None,
        "before the start"
    );

    let next = c.next_after(at("2026-03-05T12:00:00Z")).unwrap();
    assert_eq!(next.user, name("bob"));
    assert_eq!(
        (next.start, next.end),
        (at("2026-03-09T13:00:00Z"), at("2026-03-16T13:00:00Z"))
    );
    // At a handoff, the next is the one after.
    let next = c.next_after(at("2026-03-09T13:00:00Z")).unwrap();
    assert_eq!(next.user, name("carol"));
    // Before the start, the first shift.
    let next = c.next_after(at("2026-01-01T00:00:00Z")).unwrap();
    assert_eq!(
        (next.user.as_str(), next.start),
        ("alice", at("2026-03-02T14:00:00Z"))
    );

    // An override of alice herself into her own turn is no handover; one of dave is.
    let mut s = new_york_weekly();
    s.overrides = vec![
        ov("alice", "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"),
        ov("dave", "2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z"),
    ];
    let c = compile(&s);
    let next = c.next_after(at("2026-03-04T00:00:00Z")).unwrap();
    assert_eq!(next.user, name("dave"));
    assert_eq!(next.source, ShiftSource::Override);
    let next = c.next_after(at("2026-03-07T12:00:00Z")).unwrap();
    assert_eq!(
        (next.user.as_str(), next.start),
        ("alice", at("2026-03-08T00:00:00Z"))
    );
    assert_eq!(next.end, at("2026-03-09T13:00:00Z"));

    // After a gap the same user coming back is next; when the layer has ended, no one.
    let mut l = layer("weekdays", &["alice"], "1w", "2026-03-02T09:00");
    l.restrictions = vec![weekdays("09:00", "17:00")];
    l.end = Some("2026-03-07T00:00".into());
    let c = compile(&spec("UTC", vec![l]));
    let next = c.next_after(at("2026-03-02T12:00:00Z")).unwrap();
    assert_eq!(
        (next.user.as_str(), next.start, next.end),
        (
            "alice",
            at("2026-03-03T09:00:00Z"),
            at("2026-03-03T17:00:00Z")
        )
    );
    assert_eq!(c.next_after(at("2026-03-06T12:00:00Z")), None);
    // A single user forever: no one else ever takes over.
    let c = compile(&spec(
        "UTC",
        vec![layer("solo", &["alice"], "1w", "2026-03-02T09:00")],
    ));
    assert_eq!(c.next_after(at("2026-03-05T00:00:00Z")), None);
    // Its shift around an instant is cut 8 weeks either side.
    let s = c.on_call_at(at("2027-01-01T00:00:00Z")).unwrap();
    assert_eq!(
        s.start,
        at("2027-01-01T00:00:00Z").checked_sub(AROUND).unwrap()
    );
    assert_eq!(
        s.end,
        at("2027-01-01T00:00:00Z").checked_add(AROUND).unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// Follow the sun: a layer in its own time zone.

/// A London schedule: a weekly London layer around the clock, and over it a daily Tokyo
/// layer covering 09:00–18:00 Tokyo time.
fn london_with_tokyo_days() -> ScheduleSpec {
    serde_json::from_value(serde_json::json!({
        "time_zone": "Europe/London",
        "layers": [
            {"name": "london", "users": ["alice", "bob"], "rotation": "1w", "start": "2026-03-02T09:00"},
            {
                "name": "tokyo", "time_zone": "Asia/Tokyo", "users": ["kenji", "yui"],
                "rotation": "1d", "start": "2026-03-02T09:00",
                "restrictions": [{"start": "09:00", "end": "18:00"}],
            },
        ],
    }))
    .unwrap()
}

#[test]
fn a_tokyo_layer_on_a_london_schedule_keeps_to_tokyo_time_across_bst() {
    let c = compile(&london_with_tokyo_days());
    assert_eq!(
        c.layer_time_zone(1).and_then(TimeZone::iana_name),
        Some("Asia/Tokyo")
    );
    assert_eq!(
        c.layer_time_zone(0).and_then(TimeZone::iana_name),
        Some("Europe/London")
    );
    // British Summer Time runs from 2026-03-29 to 2026-10-25: a week across each change.
    // Tokyo has no DST, so its 09:00–18:00 is 00:00–09:00 UTC every day.
    for from in ["2026-03-25T00:00:00Z", "2026-10-21T00:00:00Z"] {
        let from = at(from);
        let to = from.checked_add(hours(8 * 24)).unwrap();
        let day = |d: i64| from.checked_add(hours(d * 24)).unwrap();
        let first = day(0).duration_since(at("2026-03-02T00:00:00Z")).as_hours() / 24;
        let expected: Vec<_> = (0..8)
            .map(|d| {
                let who = ["kenji", "yui"][((first + d) % 2) as usize];
                (name(who), day(d), day(d).checked_add(hours(9)).unwrap())
            })
            .collect();
        let alone = c.render_layer(1, from, to);
        let seen: Vec<_> = alone
            .shifts
            .iter()
            .map(|s| (s.user.clone(), s.start, s.end))
            .collect();
        assert_eq!(seen, expected);
        // In the final schedule, Tokyo has the same hours and London the rest.
        let r = c.render(from, to);
        tiles(&r, from, to).unwrap();
        let tokyo: Vec<_> = r
            .shifts
            .iter()
            .filter(|s| s.source == layer_source(1, "tokyo"))
            .map(|s| (s.user.clone(), s.start, s.end))
            .collect();
        assert_eq!(tokyo, expected);
        assert_eq!(r.gaps, []);
    }
    // The London layer still hands off at 09:00 London time: 09:00 UTC in winter, 08:00
    // in summer.
    let handoffs: Vec<_> = c
        .render_layer(0, at("2026-03-23T00:00:00Z"), at("2026-04-07T00:00:00Z"))
        .shifts
        .iter()
        .skip(1)
        .map(|s| s.start)
        .collect();
    assert_eq!(
        handoffs,
        [
            at("2026-03-23T09:00:00Z"),
            at("2026-03-30T08:00:00Z"),
            at("2026-04-06T08:00:00Z")
        ]
    );
}

#[test]
fn a_layers_time_zone_is_checked_and_its_local_times_are_read_in_it() {
    let mut s = london_with_tokyo_days();
    s.layers[1].time_zone = Some("Asia/Atlantis".into());
    let e = errors(&s);
    assert_eq!(
        e.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["layers[1].time_zone"]
    );
    assert!(e[0].1.contains("IANA"), "{}", e[0].1);
    // The end is read in the layer's zone too: noon in Tokyo is 03:00 UTC.
    let mut s = london_with_tokyo_days();
    s.layers[1].end = Some("2026-03-30T12:00".into());
    let c = compile(&s);
    let r = c.render_layer(1, at("2026-03-29T00:00:00Z"), at("2026-04-01T00:00:00Z"));
    assert_eq!(
        brief(&r),
        [
            row("yui", "2026-03-29T00:00:00Z", "2026-03-29T09:00:00Z"),
            row("kenji", "2026-03-30T00:00:00Z", "2026-03-30T03:00:00Z"),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Validation.

fn errors(s: &ScheduleSpec) -> Vec<(String, String)> {
    s.validate()
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect()
}

fn paths(s: &ScheduleSpec) -> Vec<String> {
    errors(s).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn a_good_spec_validates() {
    assert_eq!(errors(&new_york_weekly()), []);
    let mut l = layer("l", &["alice"], "P2W", "2026-03-02T09:00:30");
    l.restrictions = vec![weekdays("22:00", "06:00")];
    l.restriction_mode = RestrictionMode::ActiveTime;
    l.end = Some("2027-03-02T09:00".into());
    assert_eq!(errors(&spec("Europe/Berlin", vec![l])), []);
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let mut bad = layer(" ", &[], "1 month", "2026-03-02");
    bad.end = Some("yesterday".into());
    bad.restrictions = vec![Restriction {
        days: vec![],
        start: "9am".into(),
        end: "24:00".into(),
    }];
    let mut lazy = layer("lazy", &["alice"], "0h", "2026-03-02T09:00");
    lazy.restriction_mode = RestrictionMode::ActiveTime;
    let mut s = spec("Mars/Olympus", vec![bad, lazy]);
    s.overrides = vec![
        ov("bob", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
        ov("bob", "2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z"),
    ];
    assert_eq!(
        paths(&s),
        [
            "time_zone",
            "layers[0].name",
            "layers[0].users",
            "layers[0].rotation",
            "layers[0].start",
            "layers[0].end",
            "layers[0].restrictions[0].start",
            "layers[0].restrictions[0].end",
            "layers[1].rotation",
            "layers[1].restriction_mode",
            "overrides[1].end",
        ]
    );
    let e = errors(&s);
    assert!(e[0].1.contains("IANA"), "{}", e[0].1);
    assert!(e[3].1.contains("1w, 2w, 1d, 12h or 90m"), "{}", e[3].1);
    assert!(e[4].1.contains("YYYY-MM-DDTHH:MM"), "{}", e[4].1);
    assert!(e[6].1.contains("HH:MM"), "{}", e[6].1);
    assert_eq!(e[10].1, "must be after start");
    assert_eq!(s.compile().unwrap_err().len(), 11);

    assert_eq!(paths(&spec("UTC", vec![])), ["layers"]);
}

#[test]
fn rotations_are_weeks_days_hours_and_minutes_up_to_52_weeks() {
    for good in [
        "1w", "2w", "1d", "12h", "90m", "52w", "364d", "8736h", "1w 2d", "1d12h", "P1W",
    ] {
        let s = spec("UTC", vec![layer("l", &["a"], good, "2026-03-02T09:00")]);
        assert_eq!(errors(&s), [], "{good}");
    }
    for bad in [
        "53w", "365d", "8737h", "0h", "-1w", "30s", "1w30s", "1mo", "1y", "weekly", "", "1.5m",
    ] {
        let s = spec("UTC", vec![layer("l", &["a"], bad, "2026-03-02T09:00")]);
        let e = errors(&s);
        assert_eq!(e.len(), 1, "{bad:?}: {e:?}");
        assert_eq!(e[0].0, "layers[0].rotation");
        assert!(e[0].1.contains("1w, 2w, 1d, 12h or 90m"), "{}", e[0].1);
    }
}

#[test]
fn ends_must_follow_starts() {
    let mut l = layer("l", &["a"], "1d", "2026-03-02T09:00");
    l.end = Some("2026-03-02T09:00".into());
    assert_eq!(
        errors(&spec("UTC", vec![l.clone()])),
        [("layers[0].end".to_owned(), "must be after start".to_owned())]
    );
    // Compared as instants: 02:30 on 2026-03-08 does not exist in New York and moves to
    // 03:30, after 03:00.
    l.start = "2026-03-08T02:30".into();
    l.end = Some("2026-03-08T03:00".into());
    assert_eq!(
        paths(&spec("America/New_York", vec![l.clone()])),
        ["layers[0].end"]
    );
    assert_eq!(errors(&spec("UTC", vec![l])), []);
}

#[test]
fn overrides_are_limited() {
    let mut s = new_york_weekly();
    s.overrides = (0..=MAX_OVERRIDES)
        .map(|_| ov("bob", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"))
        .collect();
    assert_eq!(paths(&s), ["overrides"]);
    s.overrides.pop();
    assert_eq!(errors(&s), []);
}

#[test]
fn users_are_listed_once_layers_first() {
    let mut s = spec(
        "UTC",
        vec![
            layer("a", &["carol", "alice"], "1w", "2026-03-02T09:00"),
            layer("b", &["alice", "bob"], "1w", "2026-03-02T09:00"),
        ],
    );
    s.overrides = vec![
        ov("dave", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
        ov("bob", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
    ];
    assert_eq!(
        s.users(),
        ["carol", "alice", "bob", "dave"].map(name).to_vec()
    );
}

// ---------------------------------------------------------------------------------------
// Serde.

#[test]
fn serde_fills_defaults_round_trips_and_rejects_unknown_fields() {
    let minimal = serde_json::json!({
        "time_zone": "Europe/Berlin",
        "layers": [{
            "name": "primary",
            "users": ["alice", "bob"],
            "rotation": "1w",
            "start": "2026-03-02T09:00"
        }]
    });
    let s: ScheduleSpec = serde_json::from_value(minimal.clone()).unwrap();
    assert_eq!(s.description, None);
    assert_eq!(s.overrides, []);
    assert_eq!(s.layers[0].end, None);
    assert_eq!(s.layers[0].restrictions, []);
    assert_eq!(s.layers[0].restriction_mode, RestrictionMode::Calendar);
    assert_eq!(errors(&s), []);
    let mut written = minimal.clone();
    written["layers"][0]["restriction_mode"] = "calendar".into();
    assert_eq!(serde_json::to_value(&s).unwrap(), written);

    let full = serde_json::json!({
        "description": "payments primary",
        "time_zone": "America/New_York",
        "layers": [{
            "name": "business",
            "users": ["alice"],
            "rotation": "8h",
            "start": "2026-03-02T00:00",
            "end": "2027-03-01T00:00",
            "restrictions": [{"days": ["mon", "fri"], "start": "09:00", "end": "17:00"}],
            "restriction_mode": "active_time"
        }],
        "overrides": [
            {"user": "bob", "start": "2026-03-03T14:00:00Z", "end": "2026-03-03T22:00:00Z"}
        ]
    });
    let s: ScheduleSpec = serde_json::from_value(full.clone()).unwrap();
    assert_eq!(s.layers[0].restriction_mode, RestrictionMode::ActiveTime);
    assert_eq!(s.layers[0].restrictions[0].days, [Day::Mon, Day::Fri]);
    assert_eq!(s.overrides[0].start, at("2026-03-03T14:00:00Z"));
    assert_eq!(serde_json::to_value(&s).unwrap(), full);
    let back: ScheduleSpec = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    assert_eq!(errors(&s), []);

    // Unknown fields are refused at every level.
    let mut unknown = full.clone();
    unknown["timezone"] = "UTC".into();
    let mut in_layer = full.clone();
    in_layer["layers"][0]["rotate"] = "1w".into();
    let mut in_restriction = full.clone();
    in_restriction["layers"][0]["restrictions"][0]["weekdays"] = "mon".into();
    let mut in_override = full.clone();
    in_override["overrides"][0]["reason"] = "vacation".into();
    for value in [unknown, in_layer, in_restriction, in_override] {
        let e = serde_json::from_value::<ScheduleSpec>(value).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
    // Bad values: a user name, a day, a mode, an instant without an offset.
    for (pointer, value) in [
        ("/layers/0/users/0", "Alice"),
        ("/layers/0/restrictions/0/days/0", "monday"),
        ("/layers/0/restriction_mode", "active"),
        ("/overrides/0/start", "2026-03-03T14:00:00"),
    ] {
        let mut v = full.clone();
        *v.pointer_mut(pointer).unwrap() = value.into();
        assert!(
            serde_json::from_value::<ScheduleSpec>(v).is_err(),
            "{pointer}"
        );
    }
}

#[test]
fn shifts_serialize_with_their_source() {
    let c = compile(&new_york_weekly());
    let r = c.render(at("2026-03-02T00:00:00Z"), at("2026-03-03T00:00:00Z"));
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({
            "shifts": [{
                "user": "alice",
                "start": "2026-03-02T14:00:00Z",
                "end": "2026-03-03T00:00:00Z",
                "source": {"kind": "layer", "index": 0, "name": "primary"}
            }],
            "gaps": [["2026-03-02T00:00:00Z", "2026-03-02T14:00:00Z"]]
        })
    );
    assert_eq!(
        serde_json::to_value(ShiftSource::Override).unwrap(),
        serde_json::json!({"kind": "override"})
    );
}

// ---------------------------------------------------------------------------------------
// Properties, over every zone in the time-zone database.

fn zones() -> Vec<String> {
    jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .collect()
}

const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];

/// A rotation's length in calendar days (0 for hour rotations) and elapsed minutes.
fn rotation_parts(rotation: &str) -> (i64, i64) {
    match rotation {
        "1d" => (1, 0),
        "3d" => (3, 0),
        "1w" => (7, 0),
        "2w" => (14, 0),
        "12h" => (0, 720),
        "8h" => (0, 480),
        other => panic!("no such test rotation {other}"),
    }
}

/// Checks one layer of distinct users over [from, to): (a) shifts and gaps tile the range;
/// (b) no gaps from the layer start on; (c) every handoff where the user changes is on the
/// rotation's grid (day and week rotations: the start's wall-clock time on a date a whole
/// number of turns after the start's date, converted with compatible disambiguation;
/// hour rotations: a whole number of turns after the start instant), and every handoff on
/// the grid inside the range is a change of user (unless a neighbouring turn is empty).
fn check_layer_properties(
    zone: &str,
    start: DateTime,
    rotation: &str,
    users: usize,
    from: Timestamp,
    to: Timestamp,
) -> Result<(), String> {
    let s = spec(
        zone,
        vec![layer(
            "l",
            &USERS[..users],
            rotation,
            &start.strftime("%Y-%m-%dT%H:%M").to_string(),
        )],
    );
    let c = s.compile().map_err(|e| format!("{e:?}"))?;
    let tz = c.time_zone().clone();
    let start_ts = tz.to_timestamp(start).map_err(|e| e.to_string())?;
    let r = c.render(from, to);
    tiles(&r, from, to)?;
    if from >= start_ts && !r.gaps.is_empty() {
        return Err(format!("gaps after the start: {:?}", r.gaps));
    }
    let (days, minutes) = rotation_parts(rotation);
    let grid = |k: i64| -> Option<Timestamp> {
        if days > 0 {
            let d = start.date().checked_add(Span::new().days(k * days)).ok()?;
            tz.to_timestamp(d.to_datetime(start.time())).ok()
        } else {
            start_ts
                .checked_add(SignedDuration::from_mins(k * minutes))
                .ok()
        }
    };
    // (c) Every change of user is on the grid.
    let mut changes = Vec::new();
    for w in r.shifts.windows(2) {
        if w[0].user == w[1].user {
            continue;
        }
        let b = w[1].start;
        changes.push(b);
        let on_grid = if days > 0 {
            let local = tz.to_datetime(b).date();
            [local.yesterday().ok(), Some(local)]
                .into_iter()
                .flatten()
                .any(|d| {
                    let n = (d - start.date()).get_days() as i64;
                    n % days == 0 && tz.to_timestamp(d.to_datetime(start.time())).ok() == Some(b)
                })
        } else {
            b.duration_since(start_ts).as_secs() % (minutes * 60) == 0
        };
        if !on_grid {
            return Err(format!(
                "handoff at {b} ({}) is off the grid",
                tz.to_datetime(b)
            ));
        }
    }
    // ...and every grid handoff inside the range is a change of user.
    let turn = SignedDuration::from_mins(days * 1440 + minutes).as_secs();
    let k_of = |t: Timestamp| t.duration_since(start_ts).as_secs() / turn;
    let (k_lo, k_hi) = ((k_of(from) - 2).max(1), k_of(to) + 2);
    for k in k_lo..=k_hi {
        let Some(h) = grid(k) else { continue };
        if h <= from || h >= to {
            continue;
        }
        let empty_neighbour = grid(k - 1) == Some(h) || grid(k + 1) == Some(h);
        if !empty_neighbour && !changes.contains(&h) {
            return Err(format!("no handoff at {h} (turn {k}): {:?}", brief(&r)));
        }
    }
    // The grid is jiff's `Zoned::checked_add(k × rotation)` from the start, except that a
    // start in a gap keeps its configured wall-clock time for later days.
    let start_zoned = tz.to_zoned(start).map_err(|e| e.to_string())?;
    if days == 0 || start_zoned.datetime() == start {
        for k in k_lo..=k_hi {
            let span = Span::new().days(k * days).minutes(k * minutes);
            let zoned = start_zoned.checked_add(span).ok().map(|z| z.timestamp());
            if zoned != grid(k) {
                return Err(format!("turn {k}: {zoned:?} by Zoned, {:?} here", grid(k)));
            }
        }
    }
    Ok(())
}

/// A local time near the zone's first UTC-offset change after `around` (DST, or a change
/// of standard time), `delta` minutes of wall-clock time from the moment the new offset
/// starts: negative deltas land in the gap of a spring forward, small positive ones in the
/// repeated hour of a fall back. None when the zone has no change before 2045.
fn near_transition(tz: &TimeZone, around: DateTime, delta: i64) -> Option<DateTime> {
    let change = tz.following(tz.to_timestamp(around).ok()?).next()?;
    let local = tz
        .to_datetime(change.timestamp())
        .checked_add(Span::new().minutes(delta))
        .ok()?;
    let local = local
        .date()
        .to_datetime(jiff::civil::time(local.hour(), local.minute(), 0, 0));
    (local.year() < 2045).then_some(local)
}

type Case = (String, DateTime, Option<i64>, &'static str, usize, i64, i64);

fn arb_case() -> impl Strategy<Value = Case> {
    let start = (0i64..41 * 365, 0i64..1440).prop_map(|(day, minute)| {
        date(2000, 1, 1)
            .checked_add(Span::new().days(day))
            .unwrap()
            .to_datetime(jiff::civil::time(
                (minute / 60) as i8,
                (minute % 60) as i8,
                0,
                0,
            ))
    });
    (
        proptest::sample::select(zones()),
        start,
        // One case in three starts next to a change of offset instead.
        prop_oneof![2 => Just(None), 1 => (-150i64..150).prop_map(Some)],
        proptest::sample::select(vec!["1d", "1w", "2w", "12h", "8h", "3d"]),
        2usize..=4,
        // Where the range starts, in minutes from the layer start: mostly after it, often
        // within an hour and a half of a nominal handoff (a whole number of weeks on),
        // where a change of UTC offset since the start moves the real one.
        prop_oneof![
            1 => -20_160i64..20_160,
            2 => 0i64..20 * 366 * 1440,
            2 => (0i64..1000, -90i64..90).prop_map(|(weeks, d)| (weeks * 10_080 + d).max(0)),
        ],
        // How long it is, in minutes: up to 6 weeks.
        1i64..=6 * 7 * 1440,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn renders_tile_and_handoffs_keep_wall_clock_time(
        (zone, start, near, rotation, users, offset, length) in arb_case()
    ) {
        let tz = jiff::tz::db().get(&zone).unwrap();
        let start = near
            .and_then(|delta| near_transition(&tz, start, delta))
            .unwrap_or(start);
        let start_ts = tz.to_timestamp(start).unwrap();
        let from = start_ts.checked_add(SignedDuration::from_mins(offset)).unwrap();
        let to = from.checked_add(SignedDuration::from_mins(length)).unwrap();
        let checked = check_layer_properties(&zone, start, rotation, users, from, to);
        prop_assert!(checked.is_ok(), "{zone} {start} {rotation}: {}", checked.unwrap_err());
    }

    #[test]
    fn layers_restrictions_and_overrides_tile_and_agree_on_sub_ranges(
        zone in proptest::sample::select(zones()),
        offset in 0i64..10 * 366 * 1440,
        length in 1i64..=6 * 7 * 1440,
        restriction in (0i8..24, 0i8..24, 0usize..7),
        active in any::<bool>(),
        cover in (0i64..6 * 7 * 1440, 1i64..3 * 1440),
        split in 0.0f64..1.0,
    ) {
        let (start_hour, end_hour, day) = restriction;
        let days = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri, Day::Sat, Day::Sun];
        let mut upper = layer("upper", &["u2", "u3"], "1d", "2024-02-29T02:30");
        upper.restrictions = vec![
            Restriction {
                days: vec![days[day]],
                start: format!("{start_hour:02}:00"),
                end: format!("{end_hour:02}:30"),
            },
            weekdays("09:00", "17:00"),
        ];
        if active {
            upper.restriction_mode = RestrictionMode::ActiveTime;
        }
        let mut s = spec(
            &zone,
            vec![layer("base", &["u0", "u1"], "1w", "2024-01-01T09:00"), upper],
        );
        let minutes = SignedDuration::from_mins;
        let from = at("2024-01-01T00:00:00Z").checked_add(minutes(offset)).unwrap();
        let to = from.checked_add(minutes(length)).unwrap();
        let o_start = from.checked_add(minutes(cover.0)).unwrap();
        s.overrides = vec![Override {
            user: name("u4"),
            start: o_start,
            end: o_start.checked_add(minutes(cover.1)).unwrap(),
        }];
        let c = compile(&s);
        let r = c.render(from, to);
        let tiled = tiles(&r, from, to);
        prop_assert!(tiled.is_ok(), "{}", tiled.unwrap_err());
        // The base layer covers everything after its start.
        if from >= at("2024-01-02T00:00:00Z") {
            prop_assert!(r.gaps.is_empty(), "{:?}", r.gaps);
        }
        // Rendering the second part of the range on its own gives the same as cutting
        // the whole: where a render starts never changes whose turn it is.
        let mid = from.checked_add(minutes((length as f64 * split) as i64)).unwrap();
        let part = c.render(mid, to);
        prop_assert_eq!(&part, &clip(&r, mid, to));
        for layer in 0..2 {
            let alone = c.render_layer(layer, from, to);
            let tiled = tiles(&alone, from, to);
            prop_assert!(tiled.is_ok(), "layer {layer}: {}", tiled.unwrap_err());
            prop_assert_eq!(c.render_layer(layer, mid, to), clip(&alone, mid, to));
        }
        // Whoever is on call at a shift's start is that shift's user.
        for shift in r.shifts.iter().take(3) {
            let now = c.on_call_at(shift.start);
            prop_assert_eq!(now.map(|s| s.user), Some(shift.user.clone()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A layer naming its own zone renders exactly as it would in a schedule of that zone,
    /// whatever the schedule's zone is.
    #[test]
    fn a_layer_in_its_own_zone_renders_as_in_a_schedule_of_that_zone(
        (zone, start, near, rotation, users, offset, length) in arb_case(),
        schedule_zone in proptest::sample::select(zones()),
        restricted in any::<bool>(),
    ) {
        let tz = jiff::tz::db().get(&zone).unwrap();
        let start = near
            .and_then(|delta| near_transition(&tz, start, delta))
            .unwrap_or(start);
        let mut l = layer("l", &USERS[..users], rotation, &start.strftime("%Y-%m-%dT%H:%M").to_string());
        if restricted {
            l.restrictions = vec![weekdays("09:00", "18:00")];
        }
        let home = compile(&spec(&zone, vec![l.clone()]));
        l.time_zone = Some(zone.clone());
        let abroad = compile(&spec(&schedule_zone, vec![l]));
        let start_ts = tz.to_timestamp(start).unwrap();
        let from = start_ts.checked_add(SignedDuration::from_mins(offset)).unwrap();
        let to = from.checked_add(SignedDuration::from_mins(length)).unwrap();
        prop_assert_eq!(abroad.render(from, to), home.render(from, to));
    }
}

/// A rendering cut to [from, to).
fn clip(r: &Rendered, from: Timestamp, to: Timestamp) -> Rendered {
    let cut = |(a, b): (Timestamp, Timestamp)| {
        let (a, b) = (a.max(from), b.min(to));
        (a < b).then_some((a, b))
    };
    Rendered {
        shifts: r
            .shifts
            .iter()
            .filter_map(|s| {
                let (start, end) = cut((s.start, s.end))?;
                Some(Shift {
                    start,
                    end,
                    ..s.clone()
                })
            })
            .collect(),
        gaps: r.gaps.iter().filter_map(|g| cut(*g)).collect(),
    }
}

#[test]
fn every_zone_keeps_weekly_handoffs_for_a_year() {
    let (from, to) = (at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
    let all = zones();
    assert!(all.len() > 300, "only {} zones", all.len());
    for zone in &all {
        // Sundays, at times that DST changes skip or repeat in many zones.
        for start in [
            date(2026, 1, 4).at(2, 30, 0, 0),
            date(2026, 1, 4).at(0, 30, 0, 0),
        ] {
            check_layer_properties(zone, start, "1w", 2, from, to)
                .unwrap_or_else(|e| panic!("{zone} from {start}: {e}"));
            let c = compile(&spec(
                zone,
                vec![layer(
                    "l",
                    &["u0", "u1"],
                    "1w",
                    &start.strftime("%Y-%m-%dT%H:%M").to_string(),
                )],
            ));
            let r = c.render(from, to);
            // 52 handoffs after the first, one a week.
            assert_eq!(r.shifts.len(), 52, "{zone} from {start}: {:?}", brief(&r));
        }
    }
}
