//! Maintenance windows (config kind `MaintenanceWindow`): while one is on, alerts of the
//! services it covers are kept but open no incident and page no one.
//!
//! A window is one-off or recurring (see [`crate::recurrence`] for the RRULE subset and how
//! DST changes are handled), in its own IANA time zone, computed with jiff's bundled
//! time-zone database. [`MaintenanceWindowSpec`] is the configured data; [`Compiled`] is
//! the parsed form the server checks every incoming alert against.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::catalog::FieldError;
use crate::labels::{Labels, Selector};
use crate::name::Name;
use crate::recurrence::{Rule, Window};

/// The longest occurrence: 31 days, in minutes.
pub const MAX_DURATION_MINUTES: u32 = 44_640;

/// A time when some services' alerts page no one: their alerts are kept, and shown as
/// held, but open no incident. One-off, or repeated by a recurrence rule, in the window's
/// time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindowSpec {
    /// Why: shown on held alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Services it covers, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Name>,
    /// Or every service whose labels match this selector (`company=acme,env=prod`).
    /// Covered are the services named and those the selector matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Local start, `YYYY-MM-DDTHH:MM` (seconds optional), in `time_zone`. With `rrule`,
    /// the first occurrence; every repeat starts at the same local time of day. A start
    /// that the clock skips (spring forward) moves forward by the gap; one it passes twice
    /// (fall back) is the earlier.
    pub start: String,
    /// How long each occurrence lasts, in minutes (at most 31 days). Real minutes: an
    /// occurrence lasts as long on a DST change day as on any other.
    #[schema(minimum = 1, maximum = 44640)]
    pub duration_minutes: u32,
    /// IANA time zone of `start` and of the recurrence (`Europe/Berlin`); UTC when absent.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Repeat by an RRULE subset: FREQ (DAILY, WEEKLY or MONTHLY), INTERVAL, BYDAY, BYMONTHDAY,
    /// UNTIL, COUNT (`FREQ=WEEKLY;BYDAY=SA`). A one-off window when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// A maintenance window parsed once: what it covers and when it is on. Built by
/// [`MaintenanceWindowSpec::compile`] from a spec that validates.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    services: Vec<Name>,
    selector: Option<Selector>,
    window: Window,
}

impl Compiled {
    /// Whether it covers a service with this name and these labels: the service is named,
    /// or the selector matches its labels.
    pub fn covers(&self, service: &Name, labels: &Labels) -> bool {
        self.services.contains(service) || self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// The occurrence on at `t`, as instants (start inclusive, end exclusive). When
    /// occurrences overlap, the latest-starting one.
    pub fn active_at(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        self.window.active_at(t)
    }

    /// The first occurrence that starts at or after `t`, as instants.
    pub fn next_start(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        self.window.next_start(t)
    }

    /// When it is on.
    pub fn window(&self) -> &Window {
        &self.window
    }
}

impl MaintenanceWindowSpec {
    /// Problems with the fields, paths relative to this object.
    pub fn validate(&self) -> Vec<FieldError> {
        self.check().0
    }

    /// The window as a [`Window`]. Errors are those of [`validate`](Self::validate) for
    /// `start`, `duration_minutes`, `time_zone` and `rrule`, each as `path: message`,
    /// joined by `; `.
    pub fn window(&self) -> Result<Window, String> {
        self.check_window().map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The parsed form, or every problem [`validate`](Self::validate) finds.
    pub fn compile(&self) -> Result<Compiled, Vec<FieldError>> {
        match self.check() {
            (errors, Some(compiled)) if errors.is_empty() => Ok(compiled),
            (errors, _) => Err(errors),
        }
    }

    /// Whether it covers a service with this name and these labels. A selector that does
    /// not parse, or is empty, matches nothing.
    pub fn covers(&self, service: &Name, labels: &Labels) -> bool {
        self.services.contains(service) || self.parsed_selector().is_some_and(|s| s.matches(labels))
    }

    /// The occurrence on at `t`, as instants (start inclusive, end exclusive). A window
    /// that does not validate is never on. Parses the spec on each call: keep a
    /// [`Compiled`] to check many alerts.
    pub fn active_at(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        self.window().ok()?.active_at(t)
    }

    fn parsed_selector(&self) -> Option<Selector> {
        let selector = Selector::parse(self.selector.as_deref()?).ok()?;
        (!selector.is_empty()).then_some(selector)
    }

    /// Every problem, in field order, and the compiled form when the fields it needs hold.
    fn check(&self) -> (Vec<FieldError>, Option<Compiled>) {
        let mut errors = Vec::new();
        if self.services.is_empty() && self.selector.is_none() {
            errors.push(FieldError::new("", "name `services` or a `selector`"));
        }
        for (i, s) in self.services.iter().enumerate() {
            if self.services[..i].contains(s) {
                errors.push(FieldError::new(
                    format!("services[{i}]"),
                    format!("service {s} is listed twice"),
                ));
            }
        }
        let mut selector = None;
        if let Some(text) = &self.selector {
            match Selector::parse(text) {
                Ok(s) if s.is_empty() => errors.push(FieldError::new(
                    "selector",
                    "is empty and would cover every service; name a label (`company=acme`)",
                )),
                Ok(s) => selector = Some(s),
                Err(e) => errors.push(FieldError::new("selector", e.to_string())),
            }
        }
        let window = match self.check_window() {
            Ok(w) => Some(w),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        let compiled = window.map(|window| Compiled {
            services: self.services.clone(),
            selector,
            window,
        });
        (errors, compiled)
    }

    fn check_window(&self) -> Result<Window, Vec<FieldError>> {
        let mut errors = Vec::new();
        let start = crate::civil::local_datetime(&self.start);
        if start.is_none() {
            errors.push(FieldError::new(
                "start",
                format!(
                    "{:?} is not a local date and time like 2026-03-28T02:00 (YYYY-MM-DDTHH:MM, seconds optional, no offset)",
                    self.start
                ),
            ));
        }
        if !(1..=MAX_DURATION_MINUTES).contains(&self.duration_minutes) {
            errors.push(FieldError::new(
                "duration_minutes",
                format!(
                    "must be 1 to {MAX_DURATION_MINUTES} minutes (31 days), not {}",
                    self.duration_minutes
                ),
            ));
        }
        if let Err(why) = crate::civil::time_zone(&self.time_zone) {
            errors.push(FieldError::new("time_zone", why));
        }
        let rule = match self.rrule.as_deref().map(str::parse::<Rule>) {
            None => None,
            Some(Ok(rule)) => Some(rule),
            Some(Err(why)) => {
                errors.push(FieldError::new("rrule", why));
                None
            }
        };
        match start {
            Some(start) if errors.is_empty() => Window::new(
                start,
                SignedDuration::from_mins(i64::from(self.duration_minutes)),
                &self.time_zone,
                rule,
            )
            .map_err(|why| vec![FieldError::new("", why)]),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn span(a: &str, b: &str) -> Option<(Timestamp, Timestamp)> {
        Some((at(a), at(b)))
    }

    fn spec(start: &str, minutes: u32, tz: &str, rrule: Option<&str>) -> MaintenanceWindowSpec {
        MaintenanceWindowSpec {
            description: Some("database upgrade".into()),
            services: vec![name("payments-api")],
            selector: None,
            start: start.into(),
            duration_minutes: minutes,
            time_zone: tz.into(),
            rrule: rrule.map(Into::into),
        }
    }

    fn errors(s: &MaintenanceWindowSpec) -> Vec<(String, String)> {
        s.validate()
            .into_iter()
            .map(|e| (e.path, e.message))
            .collect()
    }

    fn paths(s: &MaintenanceWindowSpec) -> Vec<String> {
        errors(s).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn a_good_spec_validates_and_compiles() {
        let s = spec(
            "2026-03-07T02:00",
            120,
            "Europe/Berlin",
            Some("FREQ=WEEKLY;BYDAY=SA"),
        );
        assert_eq!(errors(&s), []);
        assert!(s.compile().is_ok());
        assert!(s.window().is_ok());
        let seconds = spec("2026-03-07T02:00:30", 1, "UTC", None);
        assert_eq!(errors(&seconds), []);
        assert_eq!(
            seconds.window().unwrap().start,
            jiff::civil::date(2026, 3, 7).at(2, 0, 30, 0)
        );
    }

    #[test]
    fn it_must_cover_something() {
        let s = MaintenanceWindowSpec {
            services: vec![],
            ..spec("2026-03-07T02:00", 60, "UTC", None)
        };
        assert_eq!(
            errors(&s),
            [("".to_owned(), "name `services` or a `selector`".to_owned())]
        );
        assert!(s.compile().is_err());
        // The window itself is fine.
        assert!(s.window().is_ok());
    }

    #[test]
    fn services_are_listed_once() {
        let s = MaintenanceWindowSpec {
            services: vec![name("a"), name("b"), name("a")],
            ..spec("2026-03-07T02:00", 60, "UTC", None)
        };
        assert_eq!(
            errors(&s),
            [(
                "services[2]".to_owned(),
                "service a is listed twice".to_owned()
            )]
        );
    }

    #[test]
    fn the_selector_parses_and_is_not_empty() {
        let bad = MaintenanceWindowSpec {
            services: vec![],
            selector: Some("bad key=1".into()),
            ..spec("2026-03-07T02:00", 60, "UTC", None)
        };
        let e = errors(&bad);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "selector");
        assert!(e[0].1.contains("bad key"), "{}", e[0].1);
        let empty = MaintenanceWindowSpec {
            selector: Some(" ".into()),
            ..bad.clone()
        };
        assert_eq!(paths(&empty), ["selector"]);
        assert!(!empty.covers(&name("x"), &Labels::new()));
    }

    #[test]
    fn start_is_a_local_date_and_time() {
        for bad in [
            "2026-03-07",
            "2026-03-07 02:00",
            "2026-03-07T2:00",
            "2026-03-07T02:00Z",
            "2026-03-07T02:00+01:00",
            "2026-03-07T02:00:00.5",
            "2026-02-30T02:00",
            "2026-03-07T24:00",
            "tomorrow",
            "",
        ] {
            let s = spec(bad, 60, "UTC", None);
            let e = errors(&s);
            assert_eq!(e.len(), 1, "{bad:?}");
            assert_eq!(e[0].0, "start");
            assert!(e[0].1.contains("YYYY-MM-DDTHH:MM"), "{}", e[0].1);
            assert!(s.window().unwrap_err().starts_with("start: "));
        }
    }

    #[test]
    fn time_zone_rrule_and_duration_are_checked() {
        let s = spec("2026-03-07T02:00", 60, "Mars/Olympus", None);
        assert_eq!(paths(&s), ["time_zone"]);
        assert!(errors(&s)[0].1.contains("IANA"));

        let s = spec("2026-03-07T02:00", 60, "UTC", Some("FREQ=YEARLY"));
        let e = errors(&s);
        assert_eq!(paths(&s), ["rrule"]);
        assert_eq!(
            e[0].1,
            "FREQ: \"YEARLY\" is not supported (use DAILY, WEEKLY or MONTHLY)"
        );

        for minutes in [0, MAX_DURATION_MINUTES + 1] {
            let s = spec("2026-03-07T02:00", minutes, "UTC", None);
            assert_eq!(paths(&s), ["duration_minutes"]);
        }
        assert_eq!(
            errors(&spec("2026-03-07T02:00", MAX_DURATION_MINUTES, "UTC", None)),
            []
        );

        // Every problem at once, in field order; window() reports the window's.
        let s = MaintenanceWindowSpec {
            services: vec![],
            ..spec("soon", 0, "Nowhere", Some("FREQ=DAILY;COUNT=0"))
        };
        assert_eq!(
            paths(&s),
            ["", "start", "duration_minutes", "time_zone", "rrule"]
        );
        let why = s.window().unwrap_err();
        assert!(why.starts_with("start: "), "{why}");
        assert!(why.contains("; rrule: COUNT"), "{why}");
        assert_eq!(s.compile().unwrap_err().len(), 5);
    }

    #[test]
    fn one_off_window_is_on_from_start_to_end() {
        // 22:00 in New York in June is EDT (UTC-4): 02:00Z.
        let s = spec("2026-06-01T22:00", 90, "America/New_York", None);
        let c = s.compile().unwrap();
        let on = span("2026-06-02T02:00:00Z", "2026-06-02T03:30:00Z");
        for w in [
            s.active_at(at("2026-06-02T02:00:00Z")),
            c.active_at(at("2026-06-02T02:00:00Z")),
        ] {
            assert_eq!(w, on);
        }
        assert_eq!(c.active_at(at("2026-06-02T03:29:59Z")), on);
        assert_eq!(c.active_at(at("2026-06-02T01:59:59Z")), None, "before");
        assert_eq!(
            c.active_at(at("2026-06-02T03:30:00Z")),
            None,
            "end is exclusive"
        );
        assert_eq!(s.active_at(at("2026-06-02T03:30:00Z")), None);
        assert_eq!(c.active_at(at("2027-06-02T02:30:00Z")), None, "one-off");
        assert_eq!(c.next_start(at("2026-01-01T00:00:00Z")), on);
        assert_eq!(c.next_start(at("2026-06-02T02:00:01Z")), None);
        // A spec that does not validate is never on.
        let bad = spec("2026-06-01T22:00", 90, "Nowhere", None);
        assert_eq!(bad.active_at(at("2026-06-02T02:30:00Z")), None);
    }

    #[test]
    fn weekly_saturday_night_in_berlin_across_dst() {
        // Saturdays 02:00-04:00 Berlin time, from Saturday 2026-03-07. Berlin is CET
        // (UTC+1) in winter and CEST (UTC+2) in summer; clocks change on Sundays
        // 2026-03-29 and 2026-10-25.
        let s = spec(
            "2026-03-07T02:00",
            120,
            "Europe/Berlin",
            Some("FREQ=WEEKLY;BYDAY=SA"),
        );
        let c = s.compile().unwrap();
        let cases = [
            // The last Saturday of winter time.
            ("2026-03-28T01:00:00Z", "2026-03-28T03:00:00Z"),
            // The first of summer time.
            ("2026-04-04T00:00:00Z", "2026-04-04T02:00:00Z"),
            // The last of summer time.
            ("2026-10-24T00:00:00Z", "2026-10-24T02:00:00Z"),
            // Winter time again.
            ("2026-10-31T01:00:00Z", "2026-10-31T03:00:00Z"),
        ];
        for (start, end) in cases {
            let (start, end) = (at(start), at(end));
            assert_eq!(c.active_at(start), Some((start, end)));
            assert_eq!(s.active_at(start), Some((start, end)));
            assert_eq!(
                c.active_at(end - SignedDuration::from_secs(1)),
                Some((start, end))
            );
            assert_eq!(c.active_at(start - SignedDuration::from_secs(1)), None);
            assert_eq!(c.active_at(end), None);
            assert_eq!(
                c.next_start(start - SignedDuration::from_hours(30)),
                Some((start, end))
            );
        }
        // Not on the Sundays the clocks change, nor on a weekday.
        assert_eq!(c.active_at(at("2026-03-29T01:30:00Z")), None);
        assert_eq!(c.active_at(at("2026-10-25T01:30:00Z")), None);
        assert_eq!(c.active_at(at("2026-04-08T00:30:00Z")), None);
    }

    #[test]
    fn sunday_night_in_berlin_on_the_change_days() {
        // Sundays 02:00 for two real hours. On 2026-03-29 02:00 does not exist and the
        // start moves to 03:00 CEST (01:00Z); on 2026-10-25 it happens twice and the
        // first, 02:00 CEST, is 00:00Z.
        let c = spec(
            "2026-03-01T02:00",
            120,
            "Europe/Berlin",
            Some("FREQ=WEEKLY;BYDAY=SU"),
        )
        .compile()
        .unwrap();
        assert_eq!(
            c.active_at(at("2026-03-22T02:59:59Z")),
            span("2026-03-22T01:00:00Z", "2026-03-22T03:00:00Z")
        );
        assert_eq!(
            c.active_at(at("2026-03-29T01:00:00Z")),
            span("2026-03-29T01:00:00Z", "2026-03-29T03:00:00Z")
        );
        assert_eq!(c.active_at(at("2026-03-29T00:59:59Z")), None);
        assert_eq!(
            c.active_at(at("2026-10-25T00:00:00Z")),
            span("2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z")
        );
        assert_eq!(c.active_at(at("2026-10-25T02:00:00Z")), None);
        assert_eq!(
            c.active_at(at("2026-11-01T01:00:00Z")),
            span("2026-11-01T01:00:00Z", "2026-11-01T03:00:00Z")
        );
    }

    #[test]
    fn covers_by_name_and_by_selector() {
        let acme_prod = Labels::from([("company", "acme"), ("env", "prod")]);
        let acme_dev = Labels::from([("company", "acme"), ("env", "dev")]);
        let by_name = spec("2026-03-07T02:00", 60, "UTC", None);
        let c = by_name.compile().unwrap();
        for covers in [
            by_name.covers(&name("payments-api"), &Labels::new()),
            c.covers(&name("payments-api"), &Labels::new()),
        ] {
            assert!(covers);
        }
        assert!(!by_name.covers(&name("search"), &acme_prod));
        assert!(!c.covers(&name("search"), &acme_prod));

        let by_selector = MaintenanceWindowSpec {
            services: vec![],
            selector: Some("company=acme,env=prod".into()),
            ..by_name.clone()
        };
        let c = by_selector.compile().unwrap();
        assert!(by_selector.covers(&name("search"), &acme_prod));
        assert!(c.covers(&name("search"), &acme_prod));
        assert!(!by_selector.covers(&name("search"), &acme_dev));
        assert!(!c.covers(&name("search"), &acme_dev));
        assert!(!c.covers(&name("payments-api"), &Labels::new()));

        // Both: the services named and those the selector matches.
        let both = MaintenanceWindowSpec {
            services: vec![name("payments-api")],
            ..by_selector
        };
        let c = both.compile().unwrap();
        assert!(c.covers(&name("payments-api"), &acme_dev));
        assert!(c.covers(&name("search"), &acme_prod));
        assert!(!c.covers(&name("search"), &acme_dev));
    }

    #[test]
    fn serde_fills_defaults_and_rejects_unknown_fields() {
        let s: MaintenanceWindowSpec = serde_json::from_value(serde_json::json!({
            "services": ["payments-api"],
            "start": "2026-03-07T02:00",
            "duration_minutes": 60
        }))
        .unwrap();
        assert_eq!(s.time_zone, "UTC");
        assert_eq!(s.description, None);
        assert_eq!(s.selector, None);
        assert_eq!(s.rrule, None);
        assert_eq!(errors(&s), []);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({
                "services": ["payments-api"],
                "start": "2026-03-07T02:00",
                "duration_minutes": 60,
                "time_zone": "UTC"
            })
        );

        let full = spec(
            "2026-03-07T02:00",
            120,
            "Europe/Berlin",
            Some("FREQ=WEEKLY;BYDAY=SA"),
        );
        let back: MaintenanceWindowSpec =
            serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(back, full);

        let unknown = serde_json::from_value::<MaintenanceWindowSpec>(serde_json::json!({
            "services": ["payments-api"],
            "start": "2026-03-07T02:00",
            "duration_minutes": 60,
            "timezone": "Europe/Berlin"
        }));
        assert!(unknown.unwrap_err().to_string().contains("unknown field"));
        let missing = serde_json::from_value::<MaintenanceWindowSpec>(serde_json::json!({
            "services": ["payments-api"],
            "start": "2026-03-07T02:00"
        }));
        assert!(missing.is_err());
    }
}
