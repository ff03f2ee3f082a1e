//! Escalation policies: who is paged for an incident, in which order, and how long each
//! level has to acknowledge before the next is paged.
//!
//! A policy is copied onto an incident when it opens, so editing a policy never changes a
//! running escalation. Walking it is pure: [`EscalationPolicySpec::step_after`] says what
//! comes next, [`resolve`] turns a level's targets into people at an instant, given a
//! [`Directory`] that knows schedules, teams and who can be reached.

use std::time::Duration;

use domain::Name;
use domain::catalog::FieldError;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An escalation policy: levels paged in turn until someone acknowledges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicySpec {
    /// The team that owns the policy; its admins are paged when the policy is exhausted.
    pub team: Name,
    /// What the policy is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Levels in order: each pages its targets, then waits `delay_minutes` for an
    /// acknowledgement before the next level is paged.
    pub levels: Vec<Level>,
    /// How many times to go through all the levels while nobody acknowledges (1 to 10;
    /// 1 when absent). After the last, the owning team's admins are paged.
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 10)]
    pub repeat: u32,
}

fn one() -> u32 {
    1
}

/// One level of a policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Who this level pages: users, whoever is on call on a schedule, or a team's members.
    pub targets: Vec<Target>,
    /// Minutes to wait for an acknowledgement before the next level (1 to 1440).
    #[schema(minimum = 1, maximum = 1440)]
    pub delay_minutes: u32,
    /// Page one of the targets' people at a time, taking turns from one incident to the
    /// next, instead of all of them at once.
    #[serde(default, skip_serializing_if = "is_false")]
    pub round_robin: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A target of a level: exactly one of `user`, `schedule` or `team`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A user, paged directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    /// A schedule: whoever is on call on it when the level is paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Name>,
    /// A team: each of its members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Name>,
}

/// Where an escalation stands: which pass through the levels, and which level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 0 for the first pass through the levels.
    pub round: u32,
    /// Index into `levels`.
    pub level: usize,
}

/// What comes after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Step(Step),
    /// Every level of every round has been paged: page the fallback.
    Exhausted,
}

impl EscalationPolicySpec {
    /// The schedules its levels page, each once.
    pub fn schedules(&self) -> Vec<Name> {
        let mut out: Vec<Name> = Vec::new();
        for s in self
            .levels
            .iter()
            .flat_map(|l| &l.targets)
            .filter_map(|t| t.schedule.as_ref())
        {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.levels.is_empty() {
            errors.push(FieldError::new("levels", "name at least one level"));
        }
        if !(1..=10).contains(&self.repeat) {
            errors.push(FieldError::new("repeat", "must be 1 to 10"));
        }
        for (i, level) in self.levels.iter().enumerate() {
            if level.targets.is_empty() {
                errors.push(FieldError::new(
                    format!("levels[{i}].targets"),
                    "name at least one user, schedule or team",
                ));
            }
            if !(1..=1440).contains(&level.delay_minutes) {
                errors.push(FieldError::new(
                    format!("levels[{i}].delay_minutes"),
                    "must be 1 to 1440",
                ));
            }
            for (j, t) in level.targets.iter().enumerate() {
                let set = [t.user.is_some(), t.schedule.is_some(), t.team.is_some()]
                    .into_iter()
                    .filter(|s| *s)
                    .count();
                if set != 1 {
                    errors.push(FieldError::new(
                        format!("levels[{i}].targets[{j}]"),
                        "name exactly one of user, schedule or team",
                    ));
                }
                if level.targets[..j].contains(t) {
                    errors.push(FieldError::new(
                        format!("levels[{i}].targets[{j}]"),
                        "is listed twice",
                    ));
                }
            }
        }
        errors
    }

    /// The first step of an escalation.
    pub fn first(&self) -> Step {
        Step { round: 0, level: 0 }
    }

    /// The step after `step`: the next level, the first level of the next round, or
    /// exhaustion.
    pub fn step_after(&self, step: Step) -> Next {
        if step.level + 1 < self.levels.len() {
            Next::Step(Step {
                round: step.round,
                level: step.level + 1,
            })
        } else if step.round + 1 < self.repeat {
            Next::Step(Step {
                round: step.round + 1,
                level: 0,
            })
        } else {
            Next::Exhausted
        }
    }

    /// How long a level waits for an acknowledgement before the next.
    pub fn delay(&self, step: Step) -> Duration {
        let minutes = self.levels.get(step.level).map_or(0, |l| l.delay_minutes);
        Duration::from_secs(u64::from(minutes) * 60)
    }

    /// Every object the policy names, with its field path, for reference checks.
    pub fn references(&self) -> Vec<(String, domain::Kind, Name)> {
        let mut refs = vec![("team".to_owned(), domain::Kind::Team, self.team.clone())];
        for (i, level) in self.levels.iter().enumerate() {
            for (j, t) in level.targets.iter().enumerate() {
                let path = format!("levels[{i}].targets[{j}]");
                if let Some(u) = &t.user {
                    refs.push((format!("{path}.user"), domain::Kind::User, u.clone()));
                }
                if let Some(s) = &t.schedule {
                    refs.push((
                        format!("{path}.schedule"),
                        domain::Kind::Schedule,
                        s.clone(),
                    ));
                }
                if let Some(team) = &t.team {
                    refs.push((format!("{path}.team"), domain::Kind::Team, team.clone()));
                }
            }
        }
        refs
    }
}

/// What resolving a level needs to know about the world at an instant.
pub trait Directory {
    /// Who is on call on a schedule at `at` (`None` in a gap, or for an unknown schedule).
    fn on_call(&self, schedule: &Name, at: Timestamp) -> Option<Name>;
    /// A team's members.
    fn members(&self, team: &Name) -> Vec<Name>;
    /// Whether a user has a way to be reached (a contact method).
    fn reachable(&self, user: &Name) -> bool;
}

/// Who a level pages at `at`, and why some targets page no one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The people to page, each once, in target order.
    pub people: Vec<Name>,
    /// Targets that gave nobody: `schedule primary has nobody on call`,
    /// `ann cannot be reached`.
    pub skipped: Vec<String>,
}

/// The people a level pages at `at`. `turn` picks the person for a round-robin level
/// (the caller counts incidents); all reachable people otherwise. An empty result means
/// the level is skipped at once.
pub fn resolve(level: &Level, at: Timestamp, turn: u64, dir: &dyn Directory) -> Resolved {
    let mut out = Resolved::default();
    let mut candidates: Vec<Name> = Vec::new();
    for t in &level.targets {
        let found: Vec<Name> = if let Some(u) = &t.user {
            vec![u.clone()]
        } else if let Some(s) = &t.schedule {
            match dir.on_call(s, at) {
                Some(u) => vec![u],
                None => {
                    out.skipped.push(format!("schedule {s} has nobody on call"));
                    Vec::new()
                }
            }
        } else if let Some(team) = &t.team {
            let members = dir.members(team);
            if members.is_empty() {
                out.skipped.push(format!("team {team} has no members"));
            }
            members
        } else {
            Vec::new()
        };
        for person in found {
            if candidates.contains(&person) {
                continue;
            }
            if dir.reachable(&person) {
                candidates.push(person);
            } else {
                out.skipped.push(format!("{person} cannot be reached"));
            }
        }
    }
    if level.round_robin && !candidates.is_empty() {
        let i = (turn % candidates.len() as u64) as usize;
        out.people = vec![candidates.swap_remove(i)];
    } else {
        out.people = candidates;
    }
    out
}

/// Why nobody would be paged at `at` under `policy` (`None`: no policy at all), or `None`
/// when some level pages someone: `no escalation policy`, or each level with why it gives
/// nobody (`level 1: schedule primary has nobody on call; level 2: ann cannot be
/// reached`).
pub fn pages_nobody(
    policy: Option<&EscalationPolicySpec>,
    at: Timestamp,
    dir: &dyn Directory,
) -> Option<String> {
    let Some(policy) = policy else {
        return Some("no escalation policy".to_owned());
    };
    let mut reasons = Vec::new();
    for (i, level) in policy.levels.iter().enumerate() {
        let resolved = resolve(level, at, 0, dir);
        if !resolved.people.is_empty() {
            return None;
        }
        let why = if resolved.skipped.is_empty() {
            "names nobody".to_owned()
        } else {
            resolved.skipped.join(", ")
        };
        reasons.push(format!("level {}: {why}", i + 1));
    }
    if reasons.is_empty() {
        return Some("the escalation policy has no levels".to_owned());
    }
    Some(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn user(s: &str) -> Target {
        Target {
            user: Some(name(s)),
            schedule: None,
            team: None,
        }
    }

    fn schedule(s: &str) -> Target {
        Target {
            user: None,
            schedule: Some(name(s)),
            team: None,
        }
    }

    fn team(s: &str) -> Target {
        Target {
            user: None,
            schedule: None,
            team: Some(name(s)),
        }
    }

    fn policy(levels: Vec<Vec<Target>>, repeat: u32) -> EscalationPolicySpec {
        EscalationPolicySpec {
            team: name("shop"),
            description: None,
            levels: levels
                .into_iter()
                .map(|targets| Level {
                    targets,
                    delay_minutes: 15,
                    round_robin: false,
                })
                .collect(),
            repeat,
        }
    }

    #[test]
    fn a_policy_names_each_schedule_it_pages_once() {
        let p = policy(
            vec![
                vec![schedule("primary"), team("shop")],
                vec![schedule("secondary"), schedule("primary")],
            ],
            1,
        );
        assert_eq!(p.schedules(), [name("primary"), name("secondary")]);
    }

    #[derive(Default)]
    struct World {
        on_call: HashMap<String, String>,
        teams: HashMap<String, Vec<String>>,
        unreachable: Vec<String>,
    }

    impl Directory for World {
        fn on_call(&self, schedule: &Name, _at: Timestamp) -> Option<Name> {
            self.on_call.get(schedule.as_str()).map(|u| name(u))
        }
        fn members(&self, team: &Name) -> Vec<Name> {
            self.teams
                .get(team.as_str())
                .map(|m| m.iter().map(|u| name(u)).collect())
                .unwrap_or_default()
        }
        fn reachable(&self, user: &Name) -> bool {
            !self.unreachable.iter().any(|u| u == user.as_str())
        }
    }

    #[test]
    fn steps_walk_the_levels_then_repeat_then_exhaust() {
        let p = policy(vec![vec![user("ann")], vec![user("bob")]], 2);
        let mut step = p.first();
        let mut seen = vec![(step.round, step.level)];
        while let Next::Step(s) = p.step_after(step) {
            step = s;
            seen.push((s.round, s.level));
        }
        assert_eq!(seen, [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(p.delay(p.first()), Duration::from_secs(900));
        assert_eq!(p.step_after(Step { round: 1, level: 1 }), Next::Exhausted);
    }

    #[test]
    fn a_policy_pages_nobody_when_every_level_gives_nobody_and_says_why() {
        let world = World {
            on_call: HashMap::from([("primary".into(), "bob".into())]),
            unreachable: vec!["ann".into()],
            ..World::default()
        };
        let at = Timestamp::UNIX_EPOCH;
        assert_eq!(
            pages_nobody(None, at, &world).as_deref(),
            Some("no escalation policy")
        );
        let silent = policy(vec![vec![schedule("empty")], vec![user("ann")]], 1);
        assert_eq!(
            pages_nobody(Some(&silent), at, &world).as_deref(),
            Some("level 1: schedule empty has nobody on call; level 2: ann cannot be reached")
        );
        let one_works = policy(vec![vec![user("ann")], vec![schedule("primary")]], 1);
        assert_eq!(pages_nobody(Some(&one_works), at, &world), None);
    }

    #[test]
    fn levels_resolve_to_reachable_people_once_each() {
        let world = World {
            on_call: HashMap::from([("primary".into(), "bob".into())]),
            teams: HashMap::from([("db".into(), vec!["bob".into(), "cho".into(), "dan".into()])]),
            unreachable: vec!["dan".into()],
        };
        let level = Level {
            targets: vec![
                user("ann"),
                schedule("primary"),
                team("db"),
                schedule("empty"),
            ],
            delay_minutes: 5,
            round_robin: false,
        };
        let r = resolve(&level, Timestamp::UNIX_EPOCH, 0, &world);
        assert_eq!(r.people, [name("ann"), name("bob"), name("cho")]);
        assert_eq!(
            r.skipped,
            ["dan cannot be reached", "schedule empty has nobody on call"]
        );
    }

    #[test]
    fn a_round_robin_level_takes_turns() {
        let world = World {
            teams: HashMap::from([("db".into(), vec!["bob".into(), "cho".into()])]),
            ..World::default()
        };
        let level = Level {
            targets: vec![team("db")],
            delay_minutes: 5,
            round_robin: true,
        };
        let who: Vec<Name> = (0..4)
            .flat_map(|turn| resolve(&level, Timestamp::UNIX_EPOCH, turn, &world).people)
            .collect();
        assert_eq!(who, [name("bob"), name("cho"), name("bob"), name("cho")]);
    }

    #[test]
    fn a_level_with_nobody_resolves_empty() {
        let world = World::default();
        let level = Level {
            targets: vec![schedule("primary")],
            delay_minutes: 5,
            round_robin: false,
        };
        let r = resolve(&level, Timestamp::UNIX_EPOCH, 0, &world);
        assert!(r.people.is_empty());
        assert_eq!(r.skipped, ["schedule primary has nobody on call"]);
    }

    #[test]
    fn validation_names_each_field() {
        let mut p = policy(vec![vec![], vec![user("ann"), user("ann")]], 11);
        p.levels[1].delay_minutes = 0;
        p.levels[1].targets.push(Target {
            user: Some(name("bob")),
            schedule: Some(name("primary")),
            team: None,
        });
        let paths: Vec<String> = p.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            [
                "repeat",
                "levels[0].targets",
                "levels[1].delay_minutes",
                "levels[1].targets[1]",
                "levels[1].targets[2]"
            ]
        );
    }

    #[test]
    fn specs_round_trip_and_refuse_unknown_fields() {
        let json = serde_json::json!({"team": "shop", "levels": [
            {"targets": [{"schedule": "primary"}], "delay_minutes": 10},
            {"targets": [{"team": "shop"}], "delay_minutes": 30, "round_robin": true}
        ]});
        let p: EscalationPolicySpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(p.repeat, 1);
        let mut again = serde_json::to_value(&p).unwrap();
        again.as_object_mut().unwrap().remove("repeat");
        assert_eq!(again, json);
        let bad = serde_json::json!({"team": "shop", "levels": [], "escalate": true});
        assert!(serde_json::from_value::<EscalationPolicySpec>(bad).is_err());
    }
}
