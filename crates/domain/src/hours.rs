//! Business hours in a time zone, and whether an instant falls inside them. Computed with
//! jiff's bundled time-zone database, so DST changes move the hours with the clock.

use jiff::Timestamp;
use jiff::civil::Weekday;
use serde::{Deserialize, Serialize};

use crate::catalog::FieldError;

/// A day of the week, as written in configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Monday,
            Day::Tue => Weekday::Tuesday,
            Day::Wed => Weekday::Wednesday,
            Day::Thu => Weekday::Thursday,
            Day::Fri => Weekday::Friday,
            Day::Sat => Weekday::Saturday,
            Day::Sun => Weekday::Sunday,
        }
    }
}

fn weekdays() -> Vec<Day> {
    vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri]
}

/// When people are at work: local days and times in an IANA time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone the hours are in (`Europe/Berlin`).
    pub time_zone: String,
    /// Working days; Monday to Friday when absent.
    #[serde(default = "weekdays")]
    pub days: Vec<Day>,
    /// Local start time, `HH:MM`.
    pub start: String,
    /// Local end time, `HH:MM`, after `start`.
    pub end: String,
}

impl BusinessHours {
    /// Problems with the fields, paths relative to this object.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(why) = crate::civil::time_zone(&self.time_zone) {
            errors.push(FieldError::new("time_zone", why));
        }
        let start = crate::civil::clock_time(&self.start);
        let end = crate::civil::clock_time(&self.end);
        if start.is_none() {
            errors.push(FieldError::new(
                "start",
                format!("{:?} is not a time of day like 09:00", self.start),
            ));
        }
        if end.is_none() {
            errors.push(FieldError::new(
                "end",
                format!("{:?} is not a time of day like 18:00", self.end),
            ));
        }
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            errors.push(FieldError::new("end", "must be after start"));
        }
        if self.days.is_empty() {
            errors.push(FieldError::new("days", "name at least one day"));
        }
        errors
    }

    /// True when `at` falls on a working day between start (inclusive) and end (exclusive),
    /// local time. Hours that do not validate contain nothing.
    pub fn contains(&self, at: Timestamp) -> bool {
        let (Ok(tz), Some(start), Some(end)) = (
            jiff::tz::db().get(&self.time_zone),
            crate::civil::clock_time(&self.start),
            crate::civil::clock_time(&self.end),
        ) else {
            return false;
        };
        let local = at.to_zoned(tz);
        let time = local.time();
        self.days.iter().any(|d| d.weekday() == local.weekday()) && time >= start && time < end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> BusinessHours {
        BusinessHours {
            time_zone: "America/New_York".into(),
            days: weekdays(),
            start: "09:00".into(),
            end: "18:00".into(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn hours_follow_local_time_across_dst() {
        let h = hours();
        // Friday 2026-03-06 is EST (UTC-5): 09:00 local is 14:00Z.
        assert!(!h.contains(at("2026-03-06T13:59:00Z")));
        assert!(h.contains(at("2026-03-06T14:00:00Z")));
        // Monday 2026-03-09 is EDT (UTC-4): 09:00 local is 13:00Z.
        assert!(h.contains(at("2026-03-09T13:00:00Z")));
        assert!(
            !h.contains(at("2026-03-09T22:00:00Z")),
            "18:00 local is the end"
        );
        // Saturday is not a working day.
        assert!(!h.contains(at("2026-03-07T15:00:00Z")));
    }

    #[test]
    fn bad_hours_name_each_field() {
        let bad = BusinessHours {
            time_zone: "Nowhere/City".into(),
            days: vec![],
            start: "9am".into(),
            end: "08:00".into(),
        };
        let paths: Vec<_> = bad.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["time_zone", "start", "days"]);
        let backwards = BusinessHours {
            start: "18:00".into(),
            end: "09:00".into(),
            ..hours()
        };
        assert_eq!(backwards.validate()[0].message, "must be after start");
        assert!(!bad.contains(at("2026-03-09T15:00:00Z")));
    }
}
