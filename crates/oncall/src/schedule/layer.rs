//! One layer's coverage in a range: its turns (handoffs computed from the start), cut to
//! its restriction windows, or in active-time mode laid over its restricted time.

use domain::Name;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// A rotation: calendar days (weeks included) and elapsed minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rotation {
    pub days: i64,
    pub minutes: i64,
}

impl Rotation {
    /// The length with every day counted as 24 hours. Exact for hours and minutes; for
    /// days, off by the DST changes in between.
    pub fn nominal(self) -> SignedDuration {
        SignedDuration::from_secs(self.days * 86_400 + self.minutes * 60)
    }
}

/// A restriction window, parsed: on the days marked (Monday first), from `start` to `end`
/// local time, past midnight when `end` is not after `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub days: [bool; 7],
    pub start: Time,
    pub end: Time,
}

/// A layer parsed.
#[derive(Clone, Debug)]
pub(super) struct LayerPlan {
    pub name: String,
    pub users: Vec<Name>,
    pub tz: TimeZone,
    pub rotation: Rotation,
    pub start_civil: DateTime,
    /// `start_civil` as an instant: handoff 0.
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub windows: Vec<Window>,
    pub active_time: bool,
}

/// A stretch of one source's coverage; `user` indexes the source's users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Piece {
    pub start: Timestamp,
    pub end: Timestamp,
    pub user: usize,
}

/// How much of the layer's history an active-time walk takes at once: a year before the
/// range (only counting), four weeks inside it.
const WALK_BEFORE: SignedDuration = SignedDuration::from_hours(366 * 24);
const WALK_INSIDE: SignedDuration = SignedDuration::from_hours(28 * 24);

fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

fn shift_date(d: Date, days: i64) -> Option<Date> {
    d.checked_add(Span::new().try_days(days).ok()?).ok()
}

/// Sorts intervals and merges those that overlap or touch.
fn union(mut spans: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    spans.sort_unstable();
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The parts of `pieces` inside `spans` (both sorted, not overlapping).
fn intersect(pieces: &[Piece], spans: &[(Timestamp, Timestamp)]) -> Vec<Piece> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(p), Some(&(a, b))) = (pieces.get(i), spans.get(j)) {
        let (start, end) = (p.start.max(a), p.end.min(b));
        if start < end {
            out.push(Piece {
                start,
                end,
                user: p.user,
            });
        }
        if p.end <= b {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

impl LayerPlan {
    /// The k-th handoff (k ≥ 0): the rotation's days added k times to the local start,
    /// converted (compatible disambiguation), plus k times its minutes. None when out of
    /// range.
    pub fn handoff(&self, k: i64) -> Option<Timestamp> {
        let days = self.rotation.days.checked_mul(k)?;
        let base = if days == 0 {
            self.start
        } else {
            let date = shift_date(self.start_civil.date(), days)?;
            self.tz
                .to_timestamp(date.to_datetime(self.start_civil.time()))
                .ok()?
        };
        let secs = self.rotation.minutes.checked_mul(k)?.checked_mul(60)?;
        base.checked_add(SignedDuration::from_secs(secs)).ok()
    }

    /// The turn containing `t`, for `t` at or after the start: estimated from the elapsed
    /// time, then corrected (by a step or two: the estimate is off only by the change in
    /// UTC offset since the start). Turns that are empty are passed over.
    pub fn turn_at(&self, t: Timestamp) -> i64 {
        let nominal = self.rotation.nominal().as_secs();
        let mut k = t.duration_since(self.start).as_secs().max(0) / nominal;
        while k > 0 && self.handoff(k).is_none_or(|h| h > t) {
            k -= 1;
        }
        while self.handoff(k + 1).is_some_and(|h| h <= t) {
            k += 1;
        }
        k
    }

    /// The layer's coverage in [from, to): sorted, not overlapping, not merged.
    pub fn pieces(&self, from: Timestamp, to: Timestamp) -> Vec<Piece> {
        let lo = from.max(self.start);
        let hi = self.end.map_or(to, |end| to.min(end));
        if lo >= hi {
            return Vec::new();
        }
        if self.windows.is_empty() {
            self.turns(lo, hi)
        } else if self.active_time {
            self.active(lo, hi)
        } else {
            intersect(&self.turns(lo, hi), &self.covered(lo, hi))
        }
    }

    /// The turns, clipped to [lo, hi), for `lo` at or after the start.
    fn turns(&self, lo: Timestamp, hi: Timestamp) -> Vec<Piece> {
        let n = self.users.len() as i64;
        let mut k = self.turn_at(lo);
        let mut a = self.handoff(k).unwrap_or(self.start);
        let mut out = Vec::new();
        while a < hi {
            let b = self.handoff(k + 1).unwrap_or(Timestamp::MAX);
            let (start, end) = (a.max(lo), b.min(hi));
            if start < end {
                out.push(Piece {
                    start,
                    end,
                    user: (k % n) as usize,
                });
            }
            a = b;
            k += 1;
        }
        out
    }

    /// Restricted time in [lo, hi): the union of the restriction windows as instants. Each
    /// day's windows are converted on their own, so they follow DST changes; a window
    /// belongs to the day it starts on.
    pub fn covered(&self, lo: Timestamp, hi: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        // Windows last at most a day (a little more across a DST change), so those starting
        // two days either side of the range cannot reach into it.
        let first = shift_date(self.tz.to_datetime(lo).date(), -2).unwrap_or(Date::MIN);
        let last = shift_date(self.tz.to_datetime(hi).date(), 2).unwrap_or(Date::MAX);
        let at = |d: Date, t: Time| self.tz.to_timestamp(d.to_datetime(t)).ok();
        let mut spans = Vec::new();
        let mut day = first;
        loop {
            let weekday = day.weekday().to_monday_zero_offset() as usize;
            let next = day.tomorrow().ok();
            for w in self.windows.iter().filter(|w| w.days[weekday]) {
                let end_day = if w.end > w.start { Some(day) } else { next };
                let (Some(s), Some(e)) = (at(day, w.start), end_day.and_then(|d| at(d, w.end)))
                else {
                    continue;
                };
                let (s, e) = (s.max(lo), e.min(hi));
                if s < e {
                    spans.push((s, e));
                }
            }
            match next {
                Some(n) if n <= last => day = n,
                _ => break,
            }
        }
        union(spans)
    }

    /// Active-time turns in [lo, hi): each turn is `rotation` worth of restricted time,
    /// counted from the start. Walks the restricted time from the start of the layer.
    fn active(&self, lo: Timestamp, hi: Timestamp) -> Vec<Piece> {
        let turn = self.rotation.nominal().as_nanos();
        let n = self.users.len() as i128;
        let mut consumed: i128 = 0;
        let mut cursor = self.start;
        let mut out = Vec::new();
        while cursor < hi {
            let step = if cursor < lo {
                WALK_BEFORE
            } else {
                WALK_INSIDE
            };
            let next = add(cursor, step).min(hi);
            for (a, b) in self.covered(cursor, next) {
                if b <= lo {
                    consumed += b.duration_since(a).as_nanos();
                    continue;
                }
                let mut c = a;
                if c < lo {
                    consumed += lo.duration_since(c).as_nanos();
                    c = lo;
                }
                while c < b {
                    let k = consumed / turn;
                    let left = SignedDuration::from_nanos_i128((k + 1) * turn - consumed);
                    let e = add(c, left).min(b);
                    out.push(Piece {
                        start: c,
                        end: e,
                        user: (k % n) as usize,
                    });
                    consumed += e.duration_since(c).as_nanos();
                    c = e;
                }
            }
            cursor = next;
        }
        out
    }
}
