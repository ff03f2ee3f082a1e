//! On-call lookups against the store: schedules rendered with the overrides people made
//! through the API, team members, fallbacks; and the escalation step a due timer takes.

use std::collections::HashMap;

use domain::{Kind, Name, Role, Timestamp, UserSpec};
use oncall::escalation::{Directory, EscalationPolicySpec, Next, Step, resolve};
use oncall::schedule::{Compiled, Override, ScheduleSpec};
use store::{EscalationStep, ObjectRecord, Store};

/// A schedule's spec with the overrides stored for it that overlap `[from, to)` added
/// after its own (later overrides win).
pub async fn schedule_with_overrides(
    store: &dyn Store,
    record: &ObjectRecord,
    from: Timestamp,
    to: Timestamp,
) -> store::Result<Option<Compiled>> {
    let Ok(mut spec) = serde_json::from_value::<ScheduleSpec>(record.spec.clone()) else {
        return Ok(None);
    };
    for o in store.list_overrides(&record.name, from, to).await? {
        spec.overrides.push(Override {
            user: o.user,
            start: o.start,
            end: o.end,
        });
    }
    Ok(spec.compile().ok())
}

/// What escalation needs to know, loaded from the store for one instant or a range of
/// them.
pub struct StoreDirectory {
    /// The instants it answers for, both included.
    from: Timestamp,
    to: Timestamp,
    schedules: HashMap<Name, Compiled>,
    teams: HashMap<Name, ObjectRecord>,
    users: HashMap<Name, UserSpec>,
}

impl StoreDirectory {
    /// Loads users, teams and every schedule (with its overrides around `at`).
    pub async fn load(store: &dyn Store, at: Timestamp) -> store::Result<StoreDirectory> {
        StoreDirectory::load_between(store, at, at).await
    }

    /// Loads users, teams and every schedule with its overrides from `from` to `to`: the
    /// directory then answers for any instant between them.
    pub async fn load_between(
        store: &dyn Store,
        from: Timestamp,
        to: Timestamp,
    ) -> store::Result<StoreDirectory> {
        StoreDirectory::load_with(store, from, to, None).await
    }

    /// Loads users, teams and only the schedules named (with their overrides around
    /// `at`): what one escalation step needs, without reading every other schedule's
    /// overrides.
    pub async fn load_for(
        store: &dyn Store,
        at: Timestamp,
        schedules: &[Name],
    ) -> store::Result<StoreDirectory> {
        StoreDirectory::load_with(store, at, at, Some(schedules)).await
    }

    async fn load_with(
        store: &dyn Store,
        from: Timestamp,
        to: Timestamp,
        only: Option<&[Name]>,
    ) -> store::Result<StoreDirectory> {
        let records = store
            .snapshot(&[Kind::User, Kind::Team, Kind::Schedule])
            .await?;
        let mut dir = StoreDirectory {
            from,
            to,
            schedules: HashMap::new(),
            teams: HashMap::new(),
            users: HashMap::new(),
        };
        let after = to
            .checked_add(jiff::SignedDuration::from_micros(1))
            .unwrap_or(to);
        for r in records {
            match r.kind {
                Kind::User => {
                    if let Ok(spec) = serde_json::from_value(r.spec.clone()) {
                        dir.users.insert(r.name.clone(), spec);
                    }
                }
                Kind::Team => {
                    dir.teams.insert(r.name.clone(), r);
                }
                Kind::Schedule if only.is_none_or(|names| names.contains(&r.name)) => {
                    if let Some(c) = schedule_with_overrides(store, &r, from, after).await? {
                        dir.schedules.insert(r.name.clone(), c);
                    }
                }
                _ => {}
            }
        }
        Ok(dir)
    }

    /// Whether the directory answers for `at`.
    pub fn covers(&self, at: Timestamp) -> bool {
        self.from <= at && at <= self.to
    }

    /// A schedule, compiled with its overrides for the directory's range.
    pub fn schedule(&self, name: &Name) -> Option<&Compiled> {
        self.schedules.get(name)
    }

    /// Who is paged when a team's policy runs out: the team's admins, else its
    /// company's admins, else global admins.
    pub fn fallback(&self, team: &Name) -> Vec<Name> {
        let company = self
            .teams
            .get(team)
            .and_then(|t| t.labels.get(domain::COMPANY_LABEL).map(str::to_owned));
        let admins = |wanted: &dyn Fn(&domain::Grant) -> bool| -> Vec<Name> {
            let mut names: Vec<Name> = self
                .users
                .iter()
                .filter(|(_, u)| u.roles.iter().any(|g| g.role == Role::Admin && wanted(g)))
                .map(|(n, _)| n.clone())
                .collect();
            names.sort();
            names
        };
        let of_team = admins(&|g| g.team.as_ref() == Some(team));
        if !of_team.is_empty() {
            return of_team;
        }
        if let Some(c) = &company {
            let of_company = admins(&|g| g.company.as_deref() == Some(c) && g.team.is_none());
            if !of_company.is_empty() {
                return of_company;
            }
        }
        admins(&|g| g.company.is_none() && g.team.is_none())
    }
}

impl Directory for StoreDirectory {
    fn on_call(&self, schedule: &Name, at: Timestamp) -> Option<Name> {
        debug_assert!(
            self.covers(at),
            "a directory answers for the instants it was loaded for"
        );
        self.schedules
            .get(schedule)?
            .on_call_at(at)
            .map(|shift| shift.user)
    }

    fn members(&self, team: &Name) -> Vec<Name> {
        self.teams
            .get(team)
            .and_then(|t| serde_json::from_value::<domain::TeamSpec>(t.spec.clone()).ok())
            .map(|t| t.members)
            .unwrap_or_default()
    }

    fn reachable(&self, user: &Name) -> bool {
        self.users.get(user).is_some_and(|u| {
            [domain::Urgency::High, domain::Urgency::Low]
                .into_iter()
                .any(|urgency| !plan_for(u, urgency).is_empty())
        })
    }
}

fn plan_for(
    u: &UserSpec,
    urgency: domain::Urgency,
) -> Vec<(domain::contact::ContactMethod, std::time::Duration)> {
    domain::contact::plan(
        &u.email,
        &u.contact_methods,
        u.notification_rules.as_ref(),
        urgency,
    )
}

impl StoreDirectory {
    /// What to send to each person paged, by their notification rules for the urgency.
    pub fn notifications(
        &self,
        people: &[Name],
        urgency: domain::Urgency,
        now: Timestamp,
    ) -> Vec<store::NewNotification> {
        let mut out = Vec::new();
        for person in people {
            let Some(u) = self.users.get(person) else {
                continue;
            };
            for (method, after) in plan_for(u, urgency) {
                out.push(store::NewNotification {
                    user: person.clone(),
                    channel: method.kind.as_str().to_owned(),
                    contact: method.name.to_string(),
                    address: method.address,
                    event: "triggered".into(),
                    delivery_id: crate::entropy::secret("")[..32].to_owned(),
                    due_at: now
                        .checked_add(jiff::SignedDuration::try_from(after).unwrap_or_default())
                        .unwrap_or(now),
                });
            }
        }
        out
    }
}

/// The escalation step a due timer takes for a triggered incident: the level it stands
/// at (or, with `advance`, the one after), skipping at once every level that has nobody
/// to page, and paging the fallback when the policy runs out. `None` when the incident's
/// policy does not parse.
pub fn escalation_step(
    incident: i64,
    urgency: domain::Urgency,
    policy: &serde_json::Value,
    from: Step,
    advance: bool,
    now: Timestamp,
    dir: &StoreDirectory,
) -> Option<EscalationStep> {
    let spec: EscalationPolicySpec = serde_json::from_value(policy.clone()).ok()?;
    let mut skipped = Vec::new();
    let mut step = if advance {
        spec.step_after(from)
    } else if from.level < spec.levels.len() {
        Next::Step(from)
    } else {
        Next::Exhausted
    };
    let turn = u64::try_from(incident).unwrap_or(0);
    while let Next::Step(s) = step {
        let level = &spec.levels[s.level];
        let resolved = resolve(level, now, turn, dir);
        let number = s.level + 1;
        skipped.extend(
            resolved
                .skipped
                .into_iter()
                .map(|why| format!("level {number}: {why}")),
        );
        if resolved.people.is_empty() {
            skipped.push(format!("level {number}: nobody to page; escalated at once"));
            step = spec.step_after(s);
            continue;
        }
        let next = following(&spec, s, now);
        return Some(EscalationStep {
            incident,
            round: s.round,
            level: s.level,
            notifications: dir.notifications(&resolved.people, urgency, now),
            people: resolved.people,
            skipped,
            fallback: false,
            reassigned: false,
            next: Some(next),
        });
    }
    let people = dir.fallback(&spec.team);
    if people.is_empty() {
        skipped.push(format!("team {} has no admin to fall back to", spec.team));
    }
    Some(EscalationStep {
        incident,
        round: from.round,
        level: from.level,
        notifications: dir.notifications(&people, urgency, now),
        people,
        skipped,
        fallback: true,
        reassigned: false,
        next: None,
    })
}

/// The step after `s` and when it is due: after `s`'s delay, the next level, or the
/// fallback (`level` past the last) when `s` was the policy's last.
fn following(spec: &EscalationPolicySpec, s: Step, now: Timestamp) -> (u32, usize, Timestamp) {
    let due = now
        .checked_add(jiff::SignedDuration::try_from(spec.delay(s)).unwrap_or_default())
        .unwrap_or(now);
    match spec.step_after(s) {
        Next::Step(n) => (n.round, n.level, due),
        Next::Exhausted => (s.round, spec.levels.len(), due),
    }
}

/// The step that pages the people an incident was reassigned to, at `at` (where its
/// escalation stands). With a policy, the level after `at` follows after `at`'s delay,
/// unless the policy had already run out; without one, nothing follows.
pub fn reassigned_step(
    incident: i64,
    urgency: domain::Urgency,
    policy: Option<&serde_json::Value>,
    at: Step,
    people: Vec<Name>,
    now: Timestamp,
    dir: &StoreDirectory,
) -> EscalationStep {
    let next = policy
        .and_then(|p| serde_json::from_value::<EscalationPolicySpec>(p.clone()).ok())
        .filter(|spec| at.level < spec.levels.len())
        .map(|spec| following(&spec, at, now));
    EscalationStep {
        incident,
        round: at.round,
        level: at.level,
        notifications: dir.notifications(&people, urgency, now),
        people,
        skipped: Vec::new(),
        fallback: false,
        reassigned: true,
        next,
    }
}
