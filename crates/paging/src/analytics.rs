//! Response analytics over a set of incidents: how many, how fast they were acknowledged
//! (MTTA) and resolved (MTTR).
//!
//! MTTA averages over acknowledged incidents only, as PagerDuty reports it; an incident
//! resolved without an acknowledgement counts for MTTR, not MTTA. Incidents still open
//! count in `incidents` and in neither mean.

use domain::Timestamp;
use serde::Serialize;

/// The moments of one incident that the figures need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentTimes {
    pub created: Timestamp,
    pub acknowledged: Option<Timestamp>,
    pub resolved: Option<Timestamp>,
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
}

pub fn summarize<'a>(items: impl IntoIterator<Item = &'a IncidentTimes>) -> Summary {
    let mut s = Summary::default();
    let (mut ack_total, mut res_total) = (0.0, 0.0);
    for i in items {
        s.incidents += 1;
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
            },
            IncidentTimes {
                created: t(0),
                acknowledged: Some(t(180)),
                resolved: None,
            },
            IncidentTimes {
                created: t(0),
                acknowledged: None,
                resolved: Some(t(1200)),
            },
            IncidentTimes {
                created: t(0),
                acknowledged: None,
                resolved: None,
            },
        ];
        let s = summarize(&items);
        assert_eq!((s.incidents, s.acknowledged, s.resolved), (4, 2, 2));
        assert_eq!(s.mtta_seconds, Some(120.0));
        assert_eq!(s.mttr_seconds, Some(900.0));
        assert_eq!(summarize(&[]), Summary::default());
    }
}
