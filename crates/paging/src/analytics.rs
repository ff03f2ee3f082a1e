//! Response analytics over a set of incidents: how many, how fast they were acknowledged
//! (MTTA) and resolved (MTTR), and how many pages they sent, out of hours or not.
//!
//! MTTA averages over acknowledged incidents only, as PagerDuty reports it; an incident
//! resolved without an acknowledgement counts for MTTR, not MTTA. Incidents still open
//! count in `incidents` and in neither mean. A page is out of hours when it was sent
//! outside its service's business hours; a service that declares none has no hours to be
//! outside of, so its pages never are.

use domain::Timestamp;
use domain::hours::BusinessHours;
use serde::Serialize;

/// The moments of one incident that the figures need, with the pages it sent (those to
/// the people a row counts, when rows are per person).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IncidentTimes {
    pub created: Timestamp,
    pub acknowledged: Option<Timestamp>,
    pub resolved: Option<Timestamp>,
    pub pages: u64,
    pub pages_out_of_hours: u64,
}

impl IncidentTimes {
    /// Counts a page sent at `at` by a service with `hours`.
    pub fn page(&mut self, at: Timestamp, hours: Option<&BusinessHours>) {
        self.pages += 1;
        if out_of_hours(hours, at) {
            self.pages_out_of_hours += 1;
        }
    }
}

/// Whether `at` is outside `hours` (never, without hours).
pub fn out_of_hours(hours: Option<&BusinessHours>, at: Timestamp) -> bool {
    hours.is_some_and(|h| !h.contains(at))
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub incidents: u64,
    pub acknowledged: u64,
    pub resolved: u64,
    /// Mean time to acknowledge, in seconds, over acknowledged incidents.
    pub mtta_seconds: Option<f64>,
    /// Mean time to resolve, in seconds, over resolved incidents.
    pub mttr_seconds: Option<f64>,
    /// Pages sent about the incidents.
    pub pages: u64,
    /// Of those, the ones sent outside their service's business hours.
    pub pages_out_of_hours: u64,
}

pub fn summarize<'a>(items: impl IntoIterator<Item = &'a IncidentTimes>) -> Summary {
    let mut s = Summary::default();
    let (mut ack_total, mut res_total) = (0.0, 0.0);
    for i in items {
        s.incidents += 1;
        s.pages += i.pages;
        s.pages_out_of_hours += i.pages_out_of_hours;
        if let Some(a) = i.acknowledged {
            s.acknowledged += 1;
            ack_total += seconds_between(i.created, a);
        }
        if let Some(r) = i.resolved {
            s.resolved += 1;
            res_total += seconds_between(i.created, r);
        }
    }
    s.mtta_seconds = (s.acknowledged > 0).then(|| ack_total / s.acknowledged as f64);
    s.mttr_seconds = (s.resolved > 0).then(|| res_total / s.resolved as f64);
    s
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    // Clocks across nodes may disagree by a little; a negative span counts as zero.
    (to.as_microsecond() - from.as_microsecond()).max(0) as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn means_count_only_the_incidents_that_reached_each_step() {
        let items = [
            IncidentTimes {
                created: t(0),
                acknowledged: Some(t(60)),
                resolved: Some(t(600)),
                ..IncidentTimes::default()
            },
            IncidentTimes {
                created: t(0),
                acknowledged: Some(t(180)),
                resolved: None,
                pages: 3,
                pages_out_of_hours: 1,
            },
            IncidentTimes {
                created: t(0),
                acknowledged: None,
                resolved: Some(t(1200)),
                ..IncidentTimes::default()
            },
            IncidentTimes {
                created: t(0),
                acknowledged: None,
                resolved: None,
                pages: 1,
                pages_out_of_hours: 0,
            },
        ];
        let s = summarize(&items);
        assert_eq!((s.incidents, s.acknowledged, s.resolved), (4, 2, 2));
        assert_eq!(s.mtta_seconds, Some(120.0));
        assert_eq!(s.mttr_seconds, Some(900.0));
        assert_eq!((s.pages, s.pages_out_of_hours), (4, 1));
        assert_eq!(summarize(&[]), Summary::default());
    }

    #[test]
    fn a_page_is_out_of_hours_outside_its_services_business_hours_only() {
        let hours = BusinessHours {
            time_zone: "Europe/Berlin".into(),
            days: vec![domain::hours::Day::Mon, domain::hours::Day::Tue],
            start: "09:00".into(),
            end: "18:00".into(),
        };
        // Tuesday 2026-12-01: 10:00 and 19:00 in Berlin (UTC+1).
        let ten: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        let seven: Timestamp = "2026-12-01T18:00:00Z".parse().unwrap();
        let mut i = IncidentTimes::default();
        i.page(ten, Some(&hours));
        i.page(seven, Some(&hours));
        i.page(seven, None);
        assert_eq!((i.pages, i.pages_out_of_hours), (3, 1));
    }
}
