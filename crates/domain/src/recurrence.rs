//! Maintenance windows, one-off or recurring: a local start, a duration and an optional
//! recurrence rule (the RFC 5545 RRULE subset shinrai supports), evaluated in the
//! window's IANA time zone with jiff's bundled time-zone database.
//!
//! Local start times become instants with jiff's compatible disambiguation: a start in a
//! spring-forward gap moves forward by the gap, one in a fall-back fold takes the earlier
//! instant. Durations are absolute, so an occurrence lasts as long on a DST day as on any
//! other.
//!
//! Longer than 600 lines because the RRULE subset is one parser and evaluator, and half the
//! file is its tests.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// How often a rule repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
}

/// The last start a rule allows (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// `YYYYMMDD`: occurrences starting on this local date or earlier.
    Date(Date),
    /// `YYYYMMDDTHHMMSS`: a local date-time, in the window's time zone.
    Local(DateTime),
    /// `YYYYMMDDTHHMMSSZ`: an instant.
    Utc(Timestamp),
}

/// A recurrence rule: the RFC 5545 RRULE subset shinrai supports.
///
/// Parsed from text like `FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;COUNT=10`; `Display` writes
/// the same form back. Days are kept sorted and without repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    freq: Freq,
    interval: u32,
    by_day: Vec<Weekday>,
    by_month_day: Vec<i8>,
    until: Option<Until>,
    count: Option<u32>,
}

impl Rule {
    pub fn freq(&self) -> Freq {
        self.freq
    }

    /// Periods between repeats; 1 when not given.
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// Weekdays, Monday first; empty when not given.
    pub fn by_day(&self) -> &[Weekday] {
        &self.by_day
    }

    /// Days of the month, negative counting from the end; empty when not given.
    pub fn by_month_day(&self) -> &[i8] {
        &self.by_month_day
    }

    pub fn until(&self) -> Option<Until> {
        self.until
    }

    /// Occurrences in all, the window's start included.
    pub fn count(&self) -> Option<u32> {
        self.count
    }
}

const DAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

const PARTS: &str = "FREQ, INTERVAL, BYDAY, BYMONTHDAY, UNTIL, COUNT";

fn once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), String> {
    if slot.replace(value).is_some() {
        return Err(format!("{key}: given more than once"));
    }
    Ok(())
}

fn parse_freq(value: &str) -> Result<Freq, String> {
    match value.to_ascii_uppercase().as_str() {
        "DAILY" => Ok(Freq::Daily),
        "WEEKLY" => Ok(Freq::Weekly),
        "MONTHLY" => Ok(Freq::Monthly),
        _ => Err(format!(
            "FREQ: {value:?} is not supported (use DAILY, WEEKLY or MONTHLY)"
        )),
    }
}

fn parse_positive(key: &str, value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!(
            "{key}: {value:?} is not a whole number of at least 1"
        )),
    }
}

fn parse_list<T>(
    key: &str,
    value: &str,
    item: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(|v| match v.trim() {
            "" => Err(format!("{key}: {value:?} has an empty item")),
            v => item(v),
        })
        .collect()
}

fn parse_day(value: &str) -> Result<Weekday, String> {
    let upper = value.to_ascii_uppercase();
    if let Some(&(_, day)) = DAYS.iter().find(|(name, _)| *name == upper) {
        return Ok(day);
    }
    let plain =
        upper.trim_start_matches(['+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    if plain.len() < upper.len() && DAYS.iter().any(|(name, _)| *name == plain) {
        return Err(format!(
            "BYDAY: {value:?} has a position; only plain days are supported (MO, TU, WE, TH, FR, SA, SU)"
        ));
    }
    Err(format!(
        "BYDAY: {value:?} is not a day (use MO, TU, WE, TH, FR, SA, SU)"
    ))
}

fn parse_month_day(value: &str) -> Result<i8, String> {
    match value.parse::<i8>() {
        Ok(d) if (1..=31).contains(&d.abs()) => Ok(d),
        _ => Err(format!(
            "BYMONTHDAY: {value:?} is not a day of the month (1 to 31, or -31 to -1 from the end)"
        )),
    }
}

fn parse_until(value: &str) -> Result<Until, String> {
    let bad = || {
        format!(
            "UNTIL: {value:?} is not YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)"
        )
    };
    let upper = value.to_ascii_uppercase();
    let (local, utc) = match upper.strip_suffix('Z') {
        Some(rest) => (rest, true),
        None => (upper.as_str(), false),
    };
    let digits = |s: &str| -> Result<i16, String> {
        if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let date_of = |s: &str| -> Result<Date, String> {
        let (y, m, d) = (digits(&s[..4])?, digits(&s[4..6])?, digits(&s[6..8])?);
        Date::new(y, m as i8, d as i8).map_err(|_| bad())
    };
    match (local.len(), utc) {
        (8, false) if local.is_ascii() => Ok(Until::Date(date_of(local)?)),
        (15, _) if local.is_ascii() && &local[8..9] == "T" => {
            let date = date_of(&local[..8])?;
            let (h, mi, s) = (
                digits(&local[9..11])?,
                digits(&local[11..13])?,
                digits(&local[13..15])?,
            );
            let time = Time::new(h as i8, mi as i8, s as i8, 0).map_err(|_| bad())?;
            let dt = date.to_datetime(time);
            if utc {
                let ts = TimeZone::UTC.to_timestamp(dt).map_err(|_| bad())?;
                Ok(Until::Utc(ts))
            } else {
                Ok(Until::Local(dt))
            }
        }
        _ => Err(bad()),
    }
}

impl FromStr for Rule {
    type Err = String;

    /// Parses `FREQ=…;INTERVAL=…;BYDAY=…;BYMONTHDAY=…;UNTIL=…;COUNT=…`, optionally after
    /// `RRULE:`, in any case. Errors name the part at fault.
    fn from_str(s: &str) -> Result<Rule, String> {
        let s = s.trim();
        let s = match s.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &s[6..],
            _ => s,
        };
        let (mut freq, mut interval, mut by_day, mut by_month_day, mut until, mut count) =
            (None, None, None, None, None, None);
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=').filter(|(k, _)| !k.trim().is_empty())
            else {
                return Err(format!("{part:?} is not NAME=VALUE"));
            };
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim();
            match key.as_str() {
                "FREQ" => once(&mut freq, &key, parse_freq(value)?)?,
                "INTERVAL" => once(&mut interval, &key, parse_positive(&key, value)?)?,
                "BYDAY" => once(&mut by_day, &key, parse_list(&key, value, parse_day)?)?,
                "BYMONTHDAY" => once(
                    &mut by_month_day,
                    &key,
                    parse_list(&key, value, parse_month_day)?,
                )?,
                "UNTIL" => once(&mut until, &key, parse_until(value)?)?,
                "COUNT" => once(&mut count, &key, parse_positive(&key, value)?)?,
                _ => return Err(format!("{key}: not supported (use {PARTS})")),
            }
        }
        let freq = freq.ok_or("FREQ: required (DAILY, WEEKLY or MONTHLY)")?;
        if until.is_some() && count.is_some() {
            return Err("UNTIL and COUNT: give one or the other, not both".into());
        }
        let mut by_day: Vec<Weekday> = by_day.unwrap_or_default();
        by_day.sort_by_key(|d| d.to_monday_zero_offset());
        by_day.dedup();
        let mut by_month_day: Vec<i8> = by_month_day.unwrap_or_default();
        if !by_month_day.is_empty() && freq != Freq::Monthly {
            return Err("BYMONTHDAY: only with FREQ=MONTHLY".into());
        }
        by_month_day.sort_by_key(|&d| (d < 0, d.abs()));
        by_month_day.dedup();
        Ok(Rule {
            freq,
            interval: interval.unwrap_or(1),
            by_day,
            by_month_day,
            until,
            count,
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let freq = match self.freq {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
        };
        write!(f, "FREQ={freq}")?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self
                .by_day
                .iter()
                .filter_map(|d| DAYS.iter().find(|(_, w)| w == d).map(|(n, _)| *n))
                .collect();
            write!(f, ";BYDAY={}", days.join(","))?;
        }
        if !self.by_month_day.is_empty() {
            let days: Vec<String> = self.by_month_day.iter().map(i8::to_string).collect();
            write!(f, ";BYMONTHDAY={}", days.join(","))?;
        }
        let date = |d: Date| format!("{:04}{:02}{:02}", d.year(), d.month(), d.day());
        let time = |t: Time| format!("{:02}{:02}{:02}", t.hour(), t.minute(), t.second());
        match self.until {
            Some(Until::Date(d)) => write!(f, ";UNTIL={}", date(d))?,
            Some(Until::Local(dt)) => write!(f, ";UNTIL={}T{}", date(dt.date()), time(dt.time()))?,
            Some(Until::Utc(ts)) => {
                let dt = TimeZone::UTC.to_datetime(ts);
                write!(f, ";UNTIL={}T{}Z", date(dt.date()), time(dt.time()))?;
            }
            None => {}
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        Ok(())
    }
}

/// A window of time that may repeat: from `start` (local, in `time_zone`) for `duration`,
/// repeated by `rule`. The start is always the first occurrence (RFC 5545 DTSTART), even
/// when the rule would not produce it; every occurrence keeps its local time of day.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Local start of the first occurrence (DTSTART).
    pub start: DateTime,
    /// Absolute length of each occurrence; a window whose duration is not positive is
    /// never active.
    pub duration: SignedDuration,
    pub time_zone: TimeZone,
    /// How the window repeats; `None` for a one-off.
    pub rule: Option<Rule>,
}

impl Window {
    /// A window in the IANA time zone `time_zone`, checking the zone and that `duration`
    /// is positive.
    pub fn new(
        start: DateTime,
        duration: SignedDuration,
        time_zone: &str,
        rule: Option<Rule>,
    ) -> Result<Window, String> {
        let time_zone =
            crate::civil::time_zone(time_zone).map_err(|why| format!("time_zone: {why}"))?;
        if !duration.is_positive() {
            return Err("duration: must be positive".into());
        }
        Ok(Window {
            start,
            duration,
            time_zone,
            rule,
        })
    }

    /// The occurrence that contains `t` (start inclusive, end exclusive), as instants.
    /// When occurrences overlap, the latest-starting one.
    pub fn active_at(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let start = match &self.rule {
            None => self.instant(self.start)?,
            Some(rule) => {
                let series = Series::new(self, rule);
                match rule.count {
                    Some(count) => series
                        .forward(0)
                        .take(usize::try_from(count).unwrap_or(usize::MAX))
                        .take_while(|s| *s <= t)
                        .last()?,
                    None => series.latest_start(t)?,
                }
            }
        };
        let (start, end) = self.span(start)?;
        (start <= t && t < end).then_some((start, end))
    }

    /// The first occurrence that starts at or after `t`.
    pub fn next_start(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let start = match &self.rule {
            None => self.instant(self.start).filter(|s| *s >= t)?,
            Some(rule) => {
                let series = Series::new(self, rule);
                match rule.count {
                    Some(count) => series
                        .forward(0)
                        .take(usize::try_from(count).unwrap_or(usize::MAX))
                        .find(|s| *s >= t)?,
                    None => {
                        let from = series.local_date(t).checked_sub(slack()).ok()?;
                        series.forward(series.period_at(from)).find(|s| *s >= t)?
                    }
                }
            }
        };
        self.span(start)
    }

    fn instant(&self, local: DateTime) -> Option<Timestamp> {
        self.time_zone.to_timestamp(local).ok()
    }

    fn span(&self, start: Timestamp) -> Option<(Timestamp, Timestamp)> {
        Some((start, start.checked_add(self.duration).ok()?))
    }
}

/// Consecutive empty periods after which a rule will never match again: month lengths and
/// weekdays repeat every 400 years (4800 months), and every shorter pattern divides that.
const CYCLE: u32 = 4800;

/// Days of margin when mapping an instant to a local date: covers any UTC offset change,
/// including whole skipped days.
fn slack() -> Span {
    Span::new().days(2)
}

/// The last start `until` allows, resolved in the window's time zone.
enum Bound {
    Date(Date),
    Instant(Timestamp),
}

/// A rule applied to a window. Periods (days, weeks from Monday, or months) are numbered
/// from the one holding the window's start; only multiples of the interval produce
/// occurrences.
struct Series<'a> {
    window: &'a Window,
    rule: &'a Rule,
    interval: i64,
    until: Option<Bound>,
}

impl<'a> Series<'a> {
    fn new(window: &'a Window, rule: &'a Rule) -> Series<'a> {
        let until = rule.until.map(|u| match u {
            Until::Date(d) => Bound::Date(d),
            Until::Local(dt) => Bound::Instant(window.instant(dt).unwrap_or(Timestamp::MAX)),
            Until::Utc(ts) => Bound::Instant(ts),
        });
        Series {
            window,
            rule,
            interval: i64::from(rule.interval.max(1)),
            until,
        }
    }

    fn first_date(&self) -> Date {
        self.window.start.date()
    }

    fn local_date(&self, t: Timestamp) -> Date {
        self.window.time_zone.to_datetime(t).date()
    }

    /// The first day of period 0.
    fn anchor(&self) -> Option<Date> {
        let date = self.first_date();
        match self.rule.freq {
            Freq::Daily => Some(date),
            Freq::Weekly => date
                .checked_sub(Span::new().days(date.weekday().to_monday_zero_offset()))
                .ok(),
            Freq::Monthly => Some(date.first_of_month()),
        }
    }

    /// The producing period at or before the one holding `date`, never before period 0.
    fn period_at(&self, date: Date) -> i64 {
        let Some(anchor) = self.anchor() else {
            return 0;
        };
        let days = date.duration_since(anchor).as_secs() / 86_400;
        let raw = match self.rule.freq {
            Freq::Daily => days,
            Freq::Weekly => days.div_euclid(7),
            Freq::Monthly => {
                let month = |d: Date| i64::from(d.year()) * 12 + i64::from(d.month());
                month(date) - month(anchor)
            }
        };
        (raw.div_euclid(self.interval) * self.interval).max(0)
    }

    /// The first day of period `k`.
    fn period_start(&self, k: i64) -> Option<Date> {
        let anchor = self.anchor()?;
        match self.rule.freq {
            Freq::Daily => anchor.checked_add(Span::new().try_days(k).ok()?).ok(),
            Freq::Weekly => {
                let days = Span::new().try_days(k.checked_mul(7)?).ok()?;
                anchor.checked_add(days).ok()
            }
            Freq::Monthly => {
                let month = i64::from(anchor.year()) * 12 + i64::from(anchor.month()) - 1 + k;
                let year = i16::try_from(month.div_euclid(12)).ok()?;
                Date::new(year, (month.rem_euclid(12) + 1) as i8, 1).ok()
            }
        }
    }

    /// The dates period `k` produces, in order, strictly after the window's start date.
    /// `None` past the end of representable time.
    fn candidates(&self, k: i64) -> Option<Vec<Date>> {
        let first = self.period_start(k)?;
        let rule = self.rule;
        let day_ok = |d: Date| rule.by_day.is_empty() || rule.by_day.contains(&d.weekday());
        let mut dates = Vec::new();
        match rule.freq {
            Freq::Daily => {
                if day_ok(first) {
                    dates.push(first);
                }
            }
            Freq::Weekly => {
                let own = [self.first_date().weekday()];
                let days = if rule.by_day.is_empty() {
                    &own[..]
                } else {
                    &rule.by_day[..]
                };
                for day in days {
                    let offset = Span::new().days(day.to_monday_zero_offset());
                    dates.push(first.checked_add(offset).ok()?);
                }
            }
            Freq::Monthly => {
                let len = first.days_in_month();
                let own = self.first_date().day();
                for day in 1..=len {
                    let matches = if !rule.by_month_day.is_empty() {
                        rule.by_month_day.contains(&day)
                            || rule.by_month_day.contains(&(day - len - 1))
                    } else {
                        !rule.by_day.is_empty() || day == own
                    };
                    let date = first.with().day(day).build().ok()?;
                    if matches && day_ok(date) {
                        dates.push(date);
                    }
                }
            }
        }
        let after = self.first_date();
        dates.retain(|d| *d > after);
        Some(dates)
    }

    /// The start instant of the occurrence on `date`.
    fn instant(&self, date: Date) -> Option<Timestamp> {
        self.window
            .instant(date.to_datetime(self.window.start.time()))
    }

    fn allowed(&self, date: Date, start: Timestamp) -> bool {
        match self.until {
            None => true,
            Some(Bound::Date(until)) => date <= until,
            Some(Bound::Instant(until)) => start <= until,
        }
    }

    /// Occurrence starts from period `k` on, in order; with the window's start first when
    /// `k` is 0.
    fn forward(&self, k: i64) -> Forward<'_, 'a> {
        Forward {
            series: self,
            k,
            queue: Vec::new(),
            first_pending: k == 0,
            empty_run: 0,
            last: None,
            done: false,
        }
    }

    /// The latest start at or before `t`, scanning back from `t` (or UNTIL, if earlier)
    /// and giving up once no earlier occurrence could still contain `t`.
    fn latest_start(&self, t: Timestamp) -> Option<Timestamp> {
        let mut top = self.local_date(t);
        match self.until {
            Some(Bound::Date(until)) => top = top.min(until),
            Some(Bound::Instant(until)) => top = top.min(self.local_date(until)),
            None => {}
        }
        let mut k = self.period_at(top.checked_add(slack()).unwrap_or(top));
        let mut empty_run = 0;
        loop {
            let dates = self.candidates(k)?;
            empty_run = if dates.is_empty() { empty_run + 1 } else { 0 };
            for &date in dates.iter().rev() {
                if let Some(start) = self.instant(date)
                    && start <= t
                    && self.allowed(date, start)
                {
                    return Some(start);
                }
            }
            if k == 0 {
                return self.window.instant(self.window.start).filter(|s| *s <= t);
            }
            // Earlier periods start before this one's first day (plus slack for offsets).
            let bound = self
                .period_start(k)
                .and_then(|d| d.checked_add(slack()).ok())
                .and_then(|d| self.window.instant(d.to_datetime(Time::midnight())))
                .and_then(|s| s.checked_add(self.window.duration).ok());
            if bound.is_some_and(|b| b <= t) {
                return None;
            }
            k = if empty_run >= CYCLE {
                0
            } else {
                k - self.interval
            };
        }
    }
}

struct Forward<'s, 'a> {
    series: &'s Series<'a>,
    k: i64,
    /// Dates of the current period still to yield, last first.
    queue: Vec<Date>,
    first_pending: bool,
    empty_run: u32,
    last: Option<Timestamp>,
    done: bool,
}

impl Iterator for Forward<'_, '_> {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        if self.done {
            return None;
        }
        if self.first_pending {
            self.first_pending = false;
            let window = self.series.window;
            self.last = window.instant(window.start);
            self.done = self.last.is_none();
            return self.last;
        }
        loop {
            if let Some(date) = self.queue.pop() {
                let start = self.series.instant(date);
                let Some(start) = start.filter(|s| self.series.allowed(date, *s)) else {
                    self.done = true;
                    return None;
                };
                // Two local dates can meet at one instant where a zone skipped a day.
                if self.last.is_some_and(|l| start <= l) {
                    continue;
                }
                self.last = Some(start);
                return Some(start);
            }
            let dates = match self.series.candidates(self.k) {
                Some(dates) if self.empty_run < CYCLE => dates,
                _ => {
                    self.done = true;
                    return None;
                }
            };
            self.k += self.series.interval;
            if dates.is_empty() {
                self.empty_run += 1;
            } else {
                self.empty_run = 0;
                self.queue = dates.into_iter().rev().collect();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn rule(s: &str) -> Rule {
        s.parse().unwrap()
    }

    fn err(s: &str) -> String {
        s.parse::<Rule>().unwrap_err()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window(start: DateTime, hours: i64, tz: &str, r: Option<&str>) -> Window {
        Window::new(start, SignedDuration::from_hours(hours), tz, r.map(rule)).unwrap()
    }

    fn span(a: &str, b: &str) -> Option<(Timestamp, Timestamp)> {
        Some((at(a), at(b)))
    }

    /// The next `n` starts from `t`, as instants.
    fn starts(w: &Window, t: &str, n: usize) -> Vec<String> {
        let mut t = at(t);
        let mut out = Vec::new();
        while out.len() < n {
            let Some((s, _)) = w.next_start(t) else { break };
            out.push(s.to_string());
            t = s + SignedDuration::from_secs(1);
        }
        out
    }

    #[test]
    fn parses_every_part() {
        let r = rule("RRULE:freq=weekly;INTERVAL=2;BYDAY=su,SA,SU;UNTIL=20270101T000000Z");
        assert_eq!(r.freq(), Freq::Weekly);
        assert_eq!(r.interval(), 2);
        assert_eq!(r.by_day(), [Weekday::Saturday, Weekday::Sunday]);
        assert_eq!(r.until(), Some(Until::Utc(at("2027-01-01T00:00:00Z"))));
        assert_eq!(r.count(), None);
        assert_eq!(
            r.to_string(),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;UNTIL=20270101T000000Z"
        );

        let r = rule("FREQ=MONTHLY;BYMONTHDAY=-1,15,1;COUNT=10;");
        assert_eq!(r.freq(), Freq::Monthly);
        assert_eq!(r.interval(), 1);
        assert_eq!(r.by_month_day(), [1, 15, -1]);
        assert_eq!(r.count(), Some(10));
        assert_eq!(r.to_string(), "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;COUNT=10");

        let r = rule("FREQ=DAILY;UNTIL=20260110");
        assert_eq!(r.freq(), Freq::Daily);
        assert_eq!(r.until(), Some(Until::Date(date(2026, 1, 10))));
        assert_eq!(r.to_string(), "FREQ=DAILY;UNTIL=20260110");

        let r = rule("FREQ=DAILY;UNTIL=20260110T093000");
        assert_eq!(
            r.until(),
            Some(Until::Local(date(2026, 1, 10).at(9, 30, 0, 0)))
        );
        assert_eq!(r.to_string(), "FREQ=DAILY;UNTIL=20260110T093000");
        assert_eq!(rule(&r.to_string()), r);
    }

    #[test]
    fn parse_errors_name_the_part() {
        let cases = [
            ("", "FREQ: required (DAILY, WEEKLY or MONTHLY)"),
            ("INTERVAL=2", "FREQ: required (DAILY, WEEKLY or MONTHLY)"),
            (
                "FREQ=YEARLY",
                "FREQ: \"YEARLY\" is not supported (use DAILY, WEEKLY or MONTHLY)",
            ),
            ("FREQ=DAILY;FREQ=WEEKLY", "FREQ: given more than once"),
            (
                "FREQ=DAILY;BYHOUR=9",
                &format!("BYHOUR: not supported (use {PARTS})"),
            ),
            (
                "FREQ=DAILY;BYSETPOS=1",
                &format!("BYSETPOS: not supported (use {PARTS})"),
            ),
            ("FREQ=DAILY;WEEKLY", "\"WEEKLY\" is not NAME=VALUE"),
            ("FREQ=DAILY;=2", "\"=2\" is not NAME=VALUE"),
            (
                "FREQ=DAILY;INTERVAL=0",
                "INTERVAL: \"0\" is not a whole number of at least 1",
            ),
            (
                "FREQ=DAILY;INTERVAL=+2",
                "INTERVAL: \"+2\" is not a whole number of at least 1",
            ),
            (
                "FREQ=DAILY;COUNT=x",
                "COUNT: \"x\" is not a whole number of at least 1",
            ),
            (
                "FREQ=WEEKLY;BYDAY=MO,XX",
                "BYDAY: \"XX\" is not a day (use MO, TU, WE, TH, FR, SA, SU)",
            ),
            (
                "FREQ=MONTHLY;BYDAY=1MO",
                "BYDAY: \"1MO\" has a position; only plain days are supported (MO, TU, WE, TH, FR, SA, SU)",
            ),
            (
                "FREQ=MONTHLY;BYDAY=-1FR",
                "BYDAY: \"-1FR\" has a position; only plain days are supported (MO, TU, WE, TH, FR, SA, SU)",
            ),
            ("FREQ=WEEKLY;BYDAY=MO,", "BYDAY: \"MO,\" has an empty item"),
            (
                "FREQ=MONTHLY;BYMONTHDAY=0",
                "BYMONTHDAY: \"0\" is not a day of the month (1 to 31, or -31 to -1 from the end)",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=32",
                "BYMONTHDAY: \"32\" is not a day of the month (1 to 31, or -31 to -1 from the end)",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=-32",
                "BYMONTHDAY: \"-32\" is not a day of the month (1 to 31, or -31 to -1 from the end)",
            ),
            (
                "FREQ=WEEKLY;BYMONTHDAY=1",
                "BYMONTHDAY: only with FREQ=MONTHLY",
            ),
            (
                "FREQ=DAILY;UNTIL=2026-01-10",
                "UNTIL: \"2026-01-10\" is not YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)",
            ),
            (
                "FREQ=DAILY;UNTIL=20260230",
                "UNTIL: \"20260230\" is not YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)",
            ),
            (
                "FREQ=DAILY;UNTIL=20260110T250000Z",
                "UNTIL: \"20260110T250000Z\" is not YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)",
            ),
            (
                "FREQ=DAILY;UNTIL=20260110Z",
                "UNTIL: \"20260110Z\" is not YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)",
            ),
            (
                "FREQ=DAILY;UNTIL=20260110T0900",
                "UNTIL: \"20260110T0900\" is not YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)",
            ),
            (
                "FREQ=DAILY;UNTIL=20260110;COUNT=3",
                "UNTIL and COUNT: give one or the other, not both",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(err(input), message, "{input}");
        }
    }

    #[test]
    fn new_checks_zone_and_duration() {
        let start = date(2026, 1, 1).at(9, 0, 0, 0);
        let hour = SignedDuration::from_hours(1);
        assert_eq!(
            Window::new(start, hour, "Nowhere/City", None).unwrap_err(),
            "time_zone: \"Nowhere/City\" is not an IANA time zone (for example Europe/Berlin)"
        );
        for d in [SignedDuration::ZERO, -hour] {
            assert_eq!(
                Window::new(start, d, "UTC", None).unwrap_err(),
                "duration: must be positive"
            );
        }
    }

    #[test]
    fn one_off_window() {
        // 2026-06-01 22:00 in Berlin is CEST (UTC+2): 20:00Z, for three hours.
        let w = window(date(2026, 6, 1).at(22, 0, 0, 0), 3, "Europe/Berlin", None);
        let occurrence = span("2026-06-01T20:00:00Z", "2026-06-01T23:00:00Z");
        assert_eq!(w.active_at(at("2026-06-01T19:59:59Z")), None);
        assert_eq!(w.active_at(at("2026-06-01T20:00:00Z")), occurrence);
        assert_eq!(w.active_at(at("2026-06-01T22:59:59Z")), occurrence);
        assert_eq!(
            w.active_at(at("2026-06-01T23:00:00Z")),
            None,
            "end is exclusive"
        );
        assert_eq!(w.next_start(at("2026-01-01T00:00:00Z")), occurrence);
        assert_eq!(w.next_start(at("2026-06-01T20:00:00Z")), occurrence);
        assert_eq!(w.next_start(at("2026-06-01T20:00:01Z")), None);
    }

    #[test]
    fn weekends_every_other_week() {
        // Saturday 2026-01-03; its week (from Monday 2025-12-29) holds Sunday 2026-01-04.
        let w = window(
            date(2026, 1, 3).at(10, 0, 0, 0),
            2,
            "UTC",
            Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU"),
        );
        assert_eq!(
            starts(&w, "2026-01-01T00:00:00Z", 6),
            [
                "2026-01-03T10:00:00Z",
                "2026-01-04T10:00:00Z",
                "2026-01-17T10:00:00Z",
                "2026-01-18T10:00:00Z",
                "2026-01-31T10:00:00Z",
                "2026-02-01T10:00:00Z",
            ]
        );
        assert_eq!(
            w.active_at(at("2026-01-18T11:59:59Z")),
            span("2026-01-18T10:00:00Z", "2026-01-18T12:00:00Z")
        );
        assert_eq!(w.active_at(at("2026-01-18T12:00:00Z")), None);
        assert_eq!(w.active_at(at("2026-01-10T10:30:00Z")), None, "off week");
        assert_eq!(
            w.next_start(at("2026-01-05T00:00:00Z")),
            span("2026-01-17T10:00:00Z", "2026-01-17T12:00:00Z")
        );
    }

    #[test]
    fn weekly_without_days_uses_the_start_weekday() {
        // Wednesday 2026-01-07.
        let w = window(
            date(2026, 1, 7).at(8, 0, 0, 0),
            1,
            "UTC",
            Some("FREQ=WEEKLY"),
        );
        assert_eq!(
            starts(&w, "2026-01-08T00:00:00Z", 2),
            ["2026-01-14T08:00:00Z", "2026-01-21T08:00:00Z"]
        );
    }

    #[test]
    fn month_day_31_skips_short_months() {
        let w = window(
            date(2026, 1, 31).at(10, 0, 0, 0),
            1,
            "UTC",
            Some("FREQ=MONTHLY;BYMONTHDAY=31"),
        );
        let expected = [
            "2026-01-31T10:00:00Z",
            "2026-03-31T10:00:00Z",
            "2026-05-31T10:00:00Z",
            "2026-07-31T10:00:00Z",
            "2026-08-31T10:00:00Z",
        ];
        assert_eq!(starts(&w, "2026-01-01T00:00:00Z", 5), expected);
        assert_eq!(w.active_at(at("2026-04-30T10:30:00Z")), None);
        assert_eq!(
            w.active_at(at("2026-05-31T10:30:00Z")),
            span("2026-05-31T10:00:00Z", "2026-05-31T11:00:00Z")
        );
        // Without BYMONTHDAY the start's day of month is used, with the same skips.
        let plain = window(w.start, 1, "UTC", Some("FREQ=MONTHLY"));
        assert_eq!(starts(&plain, "2026-01-01T00:00:00Z", 5), expected);
    }

    #[test]
    fn month_day_minus_one_is_the_last_day() {
        let w = window(
            date(2027, 12, 31).at(23, 0, 0, 0),
            1,
            "UTC",
            Some("FREQ=MONTHLY;BYMONTHDAY=-1"),
        );
        assert_eq!(
            starts(&w, "2028-01-01T00:00:00Z", 4),
            [
                "2028-01-31T23:00:00Z",
                "2028-02-29T23:00:00Z",
                "2028-03-31T23:00:00Z",
                "2028-04-30T23:00:00Z",
            ]
        );
        assert_eq!(
            w.active_at(at("2028-02-29T23:59:59Z")),
            span("2028-02-29T23:00:00Z", "2028-03-01T00:00:00Z")
        );
    }

    #[test]
    fn monthly_weekdays_and_their_intersection_with_month_days() {
        // Every Monday of the month.
        let mondays = window(
            date(2026, 2, 1).at(9, 0, 0, 0),
            1,
            "UTC",
            Some("FREQ=MONTHLY;BYDAY=MO"),
        );
        assert_eq!(
            starts(&mondays, "2026-02-01T09:00:01Z", 3),
            [
                "2026-02-02T09:00:00Z",
                "2026-02-09T09:00:00Z",
                "2026-02-16T09:00:00Z"
            ]
        );
        // The first Monday of the month; 2026-02-01 (a Sunday) is the start, so it counts.
        let first_monday = window(
            mondays.start,
            1,
            "UTC",
            Some("FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1,2,3,4,5,6,7"),
        );
        assert_eq!(
            starts(&first_monday, "2026-01-01T00:00:00Z", 4),
            [
                "2026-02-01T09:00:00Z",
                "2026-02-02T09:00:00Z",
                "2026-03-02T09:00:00Z",
                "2026-04-06T09:00:00Z",
            ]
        );
    }

    #[test]
    fn daily_days_limit_the_weekdays() {
        // Friday 2026-01-09, weekdays only.
        let w = window(
            date(2026, 1, 9).at(22, 0, 0, 0),
            4,
            "UTC",
            Some("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"),
        );
        assert_eq!(
            starts(&w, "2026-01-09T00:00:00Z", 3),
            [
                "2026-01-09T22:00:00Z",
                "2026-01-12T22:00:00Z",
                "2026-01-13T22:00:00Z"
            ]
        );
        // Friday's occurrence runs into Saturday.
        assert_eq!(
            w.active_at(at("2026-01-10T01:00:00Z")),
            span("2026-01-09T22:00:00Z", "2026-01-10T02:00:00Z")
        );
        assert_eq!(w.active_at(at("2026-01-10T22:30:00Z")), None);
    }

    #[test]
    fn count_includes_the_start_and_ends_the_series() {
        // Wednesday 2026-01-07 is not a Monday, yet it is the first of three.
        let w = window(
            date(2026, 1, 7).at(10, 0, 0, 0),
            1,
            "UTC",
            Some("FREQ=WEEKLY;BYDAY=MO;COUNT=3"),
        );
        assert_eq!(
            starts(&w, "2026-01-01T00:00:00Z", 10),
            [
                "2026-01-07T10:00:00Z",
                "2026-01-12T10:00:00Z",
                "2026-01-19T10:00:00Z"
            ]
        );
        assert_eq!(
            w.active_at(at("2026-01-07T10:30:00Z")),
            span("2026-01-07T10:00:00Z", "2026-01-07T11:00:00Z")
        );
        assert_eq!(
            w.active_at(at("2026-01-19T10:59:59Z")),
            span("2026-01-19T10:00:00Z", "2026-01-19T11:00:00Z")
        );
        assert_eq!(w.active_at(at("2026-01-26T10:30:00Z")), None);
        assert_eq!(w.next_start(at("2026-01-19T10:00:01Z")), None);
    }

    #[test]
    fn until_is_inclusive_in_every_form() {
        let start = date(2026, 1, 5).at(9, 0, 0, 0);
        // New York in January is EST (UTC-5): 09:00 local is 14:00Z.
        for until in ["20260110", "20260110T090000", "20260110T140000Z"] {
            let w = window(
                start,
                1,
                "America/New_York",
                Some(&format!("FREQ=DAILY;UNTIL={until}")),
            );
            assert_eq!(
                w.next_start(at("2026-01-10T00:00:00Z")),
                span("2026-01-10T14:00:00Z", "2026-01-10T15:00:00Z"),
                "{until}"
            );
            assert_eq!(
                w.active_at(at("2026-01-10T14:30:00Z")),
                span("2026-01-10T14:00:00Z", "2026-01-10T15:00:00Z"),
                "{until}"
            );
            assert_eq!(w.next_start(at("2026-01-10T14:00:01Z")), None, "{until}");
            assert_eq!(w.active_at(at("2026-01-11T14:30:00Z")), None, "{until}");
            assert_eq!(w.active_at(at("2030-01-11T14:30:00Z")), None, "{until}");
        }
        // One second earlier and the 10th is out.
        let w = window(
            start,
            1,
            "America/New_York",
            Some("FREQ=DAILY;UNTIL=20260110T135959Z"),
        );
        assert_eq!(w.active_at(at("2026-01-10T14:30:00Z")), None);
        assert_eq!(
            w.active_at(at("2026-01-09T14:30:00Z")),
            span("2026-01-09T14:00:00Z", "2026-01-09T15:00:00Z")
        );
    }

    #[test]
    fn local_time_holds_across_dst() {
        let nine = window(
            date(2026, 1, 1).at(9, 0, 0, 0),
            1,
            "America/New_York",
            Some("FREQ=DAILY"),
        );
        // Winter, EST (UTC-5).
        assert_eq!(
            nine.active_at(at("2026-01-15T14:00:00Z")),
            span("2026-01-15T14:00:00Z", "2026-01-15T15:00:00Z")
        );
        assert_eq!(nine.active_at(at("2026-01-15T13:30:00Z")), None);
        // Summer, EDT (UTC-4).
        assert_eq!(
            nine.active_at(at("2026-07-15T13:00:00Z")),
            span("2026-07-15T13:00:00Z", "2026-07-15T14:00:00Z")
        );
        assert_eq!(nine.active_at(at("2026-07-15T14:00:00Z")), None);
        assert_eq!(
            starts(&nine, "2026-03-07T00:00:00Z", 3),
            [
                "2026-03-07T14:00:00Z",
                "2026-03-08T13:00:00Z",
                "2026-03-09T13:00:00Z"
            ]
        );

        // 02:30 does not exist on 2026-03-08: it moves forward to 03:30 EDT, 07:30Z,
        // and the window still lasts two hours.
        let gap = window(
            date(2026, 3, 1).at(2, 30, 0, 0),
            2,
            "America/New_York",
            Some("FREQ=DAILY"),
        );
        assert_eq!(
            starts(&gap, "2026-03-07T00:00:00Z", 3),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
        assert_eq!(
            gap.active_at(at("2026-03-08T09:29:59Z")),
            span("2026-03-08T07:30:00Z", "2026-03-08T09:30:00Z")
        );

        // 01:30 happens twice on 2026-11-01: the first, EDT, is 05:30Z.
        let fold = window(
            date(2026, 10, 31).at(1, 30, 0, 0),
            1,
            "America/New_York",
            Some("FREQ=DAILY"),
        );
        assert_eq!(
            starts(&fold, "2026-10-31T00:00:00Z", 3),
            [
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z"
            ]
        );
        assert_eq!(fold.active_at(at("2026-11-01T06:30:00Z")), None);
    }

    #[test]
    fn tokyo_keeps_one_utc_hour() {
        // Japan has no DST: 09:00 JST is always 00:00Z.
        let w = window(
            date(2026, 1, 1).at(9, 0, 0, 0),
            1,
            "Asia/Tokyo",
            Some("FREQ=DAILY"),
        );
        for day in ["2026-01-15", "2026-03-08", "2026-07-15", "2026-11-01"] {
            assert_eq!(
                w.active_at(at(&format!("{day}T00:30:00Z"))),
                span(&format!("{day}T00:00:00Z"), &format!("{day}T01:00:00Z")),
            );
        }
    }

    #[test]
    fn far_future_jumps_to_the_period() {
        // A 02:00-04:00 window every third day in New York; summer 2100 is EDT (UTC-4).
        let w = window(
            date(2026, 1, 1).at(2, 0, 0, 0),
            2,
            "America/New_York",
            Some("FREQ=DAILY;INTERVAL=3"),
        );
        // 2100-06-29 is 27207 days after 2026-01-01, a multiple of 3.
        assert_eq!(
            w.active_at(at("2100-06-29T06:30:00Z")),
            span("2100-06-29T06:00:00Z", "2100-06-29T08:00:00Z")
        );
        assert_eq!(w.active_at(at("2100-06-29T08:00:00Z")), None);
        assert_eq!(w.active_at(at("2100-06-30T06:30:00Z")), None);
        assert_eq!(
            w.next_start(at("2100-06-29T06:00:01Z")),
            span("2100-07-02T06:00:00Z", "2100-07-02T08:00:00Z")
        );
        let late = window(w.start, 2, "UTC", Some("FREQ=DAILY"));
        assert_eq!(
            late.active_at(at("9000-01-01T03:00:00Z")),
            span("9000-01-01T02:00:00Z", "9000-01-01T04:00:00Z")
        );
    }

    #[test]
    fn overlapping_occurrences_return_the_latest() {
        // 36 hours, every day: from noon each day both yesterday's and today's are open.
        let w = window(
            date(2026, 1, 1).at(12, 0, 0, 0),
            36,
            "UTC",
            Some("FREQ=DAILY"),
        );
        assert_eq!(
            w.active_at(at("2026-01-03T13:00:00Z")),
            span("2026-01-03T12:00:00Z", "2026-01-05T00:00:00Z")
        );
        assert_eq!(
            w.active_at(at("2026-01-03T11:00:00Z")),
            span("2026-01-02T12:00:00Z", "2026-01-04T00:00:00Z")
        );
        assert_eq!(w.active_at(at("2026-01-01T11:59:59Z")), None);
    }

    #[test]
    fn rules_that_never_match_end() {
        // Every 12 months from February, on the 30th: never, after the start itself.
        let w = window(
            date(2026, 2, 1).at(9, 0, 0, 0),
            1,
            "UTC",
            Some("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30"),
        );
        assert_eq!(
            starts(&w, "2026-01-01T00:00:00Z", 3),
            ["2026-02-01T09:00:00Z"]
        );
        assert_eq!(w.active_at(at("2300-02-01T09:30:00Z")), None);
        // Every 7 days from a Wednesday, limited to Mondays.
        let w = window(
            date(2026, 1, 7).at(9, 0, 0, 0),
            24 * 400,
            "UTC",
            Some("FREQ=DAILY;INTERVAL=7;BYDAY=MO"),
        );
        assert_eq!(w.next_start(at("2026-01-08T00:00:00Z")), None);
        assert_eq!(
            w.active_at(at("2026-12-01T00:00:00Z")),
            span("2026-01-07T09:00:00Z", "2027-02-11T09:00:00Z")
        );
    }

    #[test]
    fn jumps_agree_with_enumerating_from_the_start() {
        let rules = [
            "FREQ=DAILY",
            "FREQ=DAILY;INTERVAL=3;BYDAY=MO,FR",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;UNTIL=20270301",
            "FREQ=WEEKLY;INTERVAL=3",
            "FREQ=MONTHLY;BYMONTHDAY=31,-1,1",
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU",
            "FREQ=MONTHLY;UNTIL=20270615T020000",
        ];
        for text in rules {
            for hours in [1, 30, 24 * 9] {
                let w = window(
                    date(2026, 1, 31).at(2, 30, 0, 0),
                    hours,
                    "America/New_York",
                    Some(text),
                );
                let series = Series::new(&w, w.rule.as_ref().unwrap());
                let all: Vec<Timestamp> = series
                    .forward(0)
                    .take_while(|s| *s < at("2028-06-01T00:00:00Z"))
                    .collect();
                let mut t = at("2025-12-25T00:00:00Z");
                while t < at("2027-12-01T00:00:00Z") {
                    let active = all.iter().rev().find(|s| **s <= t).copied();
                    let active = active.and_then(|s| w.span(s)).filter(|(_, e)| t < *e);
                    assert_eq!(w.active_at(t), active, "{text} {hours}h at {t}");
                    let next = all.iter().find(|s| **s >= t).and_then(|s| w.span(*s));
                    assert_eq!(w.next_start(t), next, "{text} {hours}h from {t}");
                    t += SignedDuration::from_mins(13 * 60 + 7);
                }
            }
        }
    }
}
