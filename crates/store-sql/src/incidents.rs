//! Alerts and incidents in SQL: ingest in one transaction per batch, the decisions taken
//! by `paging::decide`, and the one-open-alert rule held by a unique index.

use async_trait::async_trait;
use domain::{Name, Timestamp};
use paging::{AlertBody, AlertState, Decision, Status, Urgency};
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::rows::*;
use crate::timers::{delete_timer, release_timer, set_timer, wake_timer};
use crate::{SqlStore, built, push_in, push_param, query_with};

const INCIDENT_COLUMNS: &str = "id, service, status, urgency, summary, created_at, updated_at, \
     acknowledged_at, acknowledged_by, resolved_at, resolved_by, assignees, snoozed_until, escalation";
const ALERT_COLUMNS: &str = "id, incident_id, service, integration, dedup_key, status, body, \
     occurrences, first_seen, last_seen, resolved_at, held";

#[async_trait]
impl IncidentStore for SqlStore {
    async fn ingest(&self, events: Vec<IngestEvent>) -> Result<Vec<IngestOutcome>> {
        self.ingest_batch(events).await
    }

    async fn open_alerts_of_group(&self, service: &Name, group: &str) -> Result<Vec<String>> {
        self.open_alerts_of_group_impl(service, group).await
    }

    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentRecord>> {
        self.list_incidents_impl(query).await
    }

    async fn count_incidents(&self, query: &IncidentQuery) -> Result<u64> {
        self.count_incidents_impl(query).await
    }

    async fn record_change(&self, change: NewChange) -> Result<ChangeRecord> {
        self.record_change_impl(change).await
    }

    async fn changes_between(
        &self,
        service: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ChangeRecord>> {
        self.changes_between_impl(service, from, to).await
    }

    async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>> {
        self.list_alerts_impl(query).await
    }

    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        self.get_incident_impl(id).await
    }

    async fn act_on_incident(
        &self,
        id: i64,
        action: IncidentAction,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.act_on_incident_impl(id, action, ctx).await
    }

    async fn merge_incidents(
        &self,
        target: i64,
        sources: Vec<i64>,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.merge_incidents_impl(target, sources, ctx).await
    }
}

impl SqlStore {
    pub(crate) async fn ingest_batch(
        &self,
        events: Vec<IngestEvent>,
    ) -> Result<Vec<IngestOutcome>> {
        let mut tx = self.begin().await?;
        let mut out = Vec::with_capacity(events.len());
        for ev in events {
            out.push(self.ingest_one(&mut tx, ev).await?);
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(out)
    }

    pub(crate) async fn ingest_one(
        &self,
        tx: &mut Transaction<'static, Any>,
        mut ev: IngestEvent,
    ) -> Result<IngestOutcome> {
        guard(&mut ev)?;
        let arm = ev.handling.arm.clone();
        let at = micros(ev.received_at);
        let outcome = self.apply_event(tx, ev).await?;
        if let Some(timer) = arm {
            set_timer(tx, &timer, at).await?;
        }
        Ok(outcome)
    }

    async fn apply_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        ev: IngestEvent,
    ) -> Result<IngestOutcome> {
        let latest = sqlx::query(built(format!(
            "SELECT id, incident_id, status, routing_key, held FROM alerts
             WHERE service = $1 AND dedup_key = $2 ORDER BY id DESC LIMIT 1{}",
            self.dialect().for_update()
        )))
        .bind(ev.service.as_str())
        .bind(ev.dedup_key.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
        let latest = match &latest {
            Some(row) => Some((
                row.try_get::<i64, _>("id").map_err(corrupt)?,
                row.try_get::<Option<i64>, _>("incident_id")
                    .map_err(corrupt)?,
                AlertState {
                    status: status(&row.try_get::<String, _>("status").map_err(corrupt)?)?,
                    routing_key: row.try_get("routing_key").map_err(corrupt)?,
                },
                row.try_get::<Option<String>, _>("held").map_err(corrupt)?,
            )),
            None => None,
        };
        let at = micros(ev.received_at);
        let actor = ev
            .actor
            .clone()
            .unwrap_or_else(|| format!("integration:{}/{}", ev.service, ev.integration));
        match paging::decide(ev.action, &ev.routing_key, latest.as_ref().map(|l| &l.2)) {
            Decision::Open => {
                let Some(body) = &ev.body else {
                    return Err(StoreError::Corrupt(
                        "a trigger reached the store without its payload".into(),
                    ));
                };
                let urgency = ev
                    .urgency
                    .unwrap_or_else(|| Urgency::from_severity(body.severity));
                if let Some(hold) = self.hold_for(tx, &ev, at).await? {
                    return self
                        .hold_alert(tx, &ev, body, hold, urgency, &latest, &actor)
                        .await;
                }
                let joined = match &ev.group {
                    Some(group) => self.joinable_incident(tx, &ev, group).await?,
                    None => None,
                };
                let incident = match joined {
                    Some(id) => {
                        if ev.retrigger_acknowledged {
                            let current = self.incident_for_update(tx, id).await?;
                            if current.status == Status::Acknowledged {
                                let data = json!({ "reason": "a new alert joined", "dedup_key": ev.dedup_key });
                                retrigger(tx, id, at, "incident.retriggered", &actor, &data)
                                    .await?;
                            }
                        }
                        // A more urgent alert raises the incident's urgency, never lowers it.
                        if urgency == Urgency::High {
                            sqlx::query("UPDATE incidents SET urgency = 'high', updated_at = $1 WHERE id = $2")
                                .bind(at)
                                .bind(id)
                                .execute(&mut **tx)
                                .await
                                .map_err(unavailable)?;
                        }
                        id
                    }
                    None => {
                        let res = sqlx::query(
                            "INSERT INTO incidents (service, status, urgency, summary, group_key, created_at, updated_at)
                             VALUES ($1, 'triggered', $2, $3, $4, $5, $5) RETURNING id",
                        )
                        .bind(ev.service.as_str())
                        .bind(urgency.as_str())
                        .bind(body.summary.as_str())
                        .bind(ev.group.clone())
                        .bind(at)
                        .fetch_one(&mut **tx)
                        .await;
                        let row =
                            res.map_err(|e| match unique_or_unavailable(e, "incident", "") {
                                StoreError::AlreadyExists { .. } => {
                                    StoreError::Contention(format!(
                                        "another writer opened the incident of group {:?} first",
                                        ev.group
                                    ))
                                }
                                other => other,
                            })?;
                        let id: i64 = row.try_get("id").map_err(corrupt)?;
                        opened(tx, id, &ev.service, at).await?;
                        id
                    }
                };
                let res = sqlx::query(
                    "INSERT INTO alerts (incident_id, service, integration, routing_key, dedup_key, status, severity,
                                         summary, body, occurrences, first_seen, last_seen)
                     VALUES ($1, $2, $3, $4, $5, 'triggered', $6, $7, $8, 1, $9, $9)",
                )
                .bind(incident)
                .bind(ev.service.as_str())
                .bind(ev.integration.as_str())
                .bind(ev.routing_key.as_str())
                .bind(ev.dedup_key.as_str())
                .bind(body.severity.as_str())
                .bind(body.summary.as_str())
                .bind(to_json(body)?)
                .bind(at)
                .execute(&mut **tx)
                .await;
                if let Err(e) = res {
                    // Only another writer's open alert with this key can collide here.
                    return Err(match unique_or_unavailable(e, "alert", &ev.dedup_key) {
                        StoreError::AlreadyExists { .. } => StoreError::Contention(format!(
                            "another writer opened the alert {} of {} first",
                            ev.dedup_key, ev.service
                        )),
                        other => other,
                    });
                }
                let data = json!({ "dedup_key": ev.dedup_key, "summary": body.summary, "severity": body.severity });
                log(tx, incident, at, "alert.triggered", &actor, &data).await?;
                Ok(if joined.is_some() {
                    IngestOutcome::Joined { incident }
                } else {
                    IngestOutcome::Opened { incident }
                })
            }
            Decision::Repeat => {
                let (alert, incident, _, held) =
                    latest.ok_or_else(|| StoreError::Corrupt("repeat without an alert".into()))?;
                sqlx::query(
                    "UPDATE alerts SET occurrences = occurrences + 1, last_seen = $1 WHERE id = $2",
                )
                .bind(at)
                .bind(alert)
                .execute(&mut **tx)
                .await
                .map_err(unavailable)?;
                let Some(incident) = incident else {
                    // A maintenance window that ended while the alert fired: the next
                    // trigger releases it. A flapping alert waits for its timer.
                    let ended = held
                        .as_deref()
                        .is_some_and(|h| h.starts_with("maintenance"))
                        && ev.handling.hold.is_none();
                    if ended {
                        let reason = "the maintenance window ended while it was firing";
                        if let Some(incident) =
                            self.release(tx, alert, at, reason, ev.urgency).await?
                        {
                            return Ok(IngestOutcome::Opened { incident });
                        }
                    }
                    return Ok(IngestOutcome::Held { alert });
                };
                let summary = ev.body.as_ref().map(|b| b.summary.clone());
                log(
                    tx,
                    incident,
                    at,
                    "alert.repeated",
                    &actor,
                    &json!({ "dedup_key": ev.dedup_key, "summary": summary }),
                )
                .await?;
                Ok(IngestOutcome::Repeated { incident })
            }
            Decision::Acknowledge => {
                let (alert, incident, _, _) =
                    latest.ok_or_else(|| StoreError::Corrupt("ack without an alert".into()))?;
                set_alert_status(tx, alert, Status::Acknowledged, at).await?;
                let Some(incident) = incident else {
                    return Ok(IngestOutcome::Held { alert });
                };
                log(
                    tx,
                    incident,
                    at,
                    "alert.acknowledged",
                    &actor,
                    &json!({ "dedup_key": ev.dedup_key }),
                )
                .await?;
                let current = self.incident_for_update(tx, incident).await?;
                if current.status == Status::Triggered {
                    acknowledge_incident(tx, incident, at, &actor, ev.handling.ack_timeout).await?;
                }
                Ok(IngestOutcome::Acknowledged { incident })
            }
            Decision::Resolve => {
                let (alert, incident, _, _) =
                    latest.ok_or_else(|| StoreError::Corrupt("resolve without an alert".into()))?;
                set_alert_status(tx, alert, Status::Resolved, at).await?;
                let Some(incident) = incident else {
                    delete_timer(tx, RELEASE, &format!("alert:{alert}")).await?;
                    return Ok(IngestOutcome::Held { alert });
                };
                log(
                    tx,
                    incident,
                    at,
                    "alert.resolved",
                    &actor,
                    &json!({ "dedup_key": ev.dedup_key }),
                )
                .await?;
                // Auto-resolve: the incident resolves with its last open alert.
                let open: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE incident_id = $1 AND status <> 'resolved'")
                    .bind(incident)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(unavailable)?
                    .try_get("n")
                    .map_err(corrupt)?;
                let current = self.incident_for_update(tx, incident).await?;
                if open == 0 && current.status != Status::Resolved {
                    resolve_incident(tx, incident, at, &actor).await?;
                }
                Ok(IngestOutcome::Resolved { incident })
            }
            Decision::Ignore(reason) => Ok(IngestOutcome::Ignored { reason }),
        }
    }

    /// Whether a new alert is held: the event says so (a maintenance window), or its
    /// dedup key has changed state more often than the service's flapping rule allows.
    async fn hold_for(
        &self,
        tx: &mut Transaction<'static, Any>,
        ev: &IngestEvent,
        at: i64,
    ) -> Result<Option<Hold>> {
        if let Some(hold) = &ev.handling.hold {
            return Ok(Some(hold.clone()));
        }
        let Some(rule) = ev.handling.flapping else {
            return Ok(None);
        };
        let window = i64::try_from(rule.window.as_micros()).unwrap_or(i64::MAX);
        let since = at.saturating_sub(window);
        let n: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM alerts WHERE service = $1 AND dedup_key = $2 AND first_seen >= $3)
                  + (SELECT COUNT(*) FROM alerts WHERE service = $1 AND dedup_key = $2 AND resolved_at >= $3) AS n",
        )
        .bind(ev.service.as_str())
        .bind(ev.dedup_key.as_str())
        .bind(since)
        .fetch_one(&mut **tx)
        .await
        .map_err(unavailable)?
        .try_get("n")
        .map_err(corrupt)?;
        // This trigger is a change too.
        let changes = n + 1;
        if changes <= i64::from(rule.changes) {
            return Ok(None);
        }
        let minutes = rule.window.as_secs() / 60;
        Ok(Some(Hold {
            reason: format!("flapping: {changes} changes in {minutes} minutes"),
            until: Some(timestamp(at.saturating_add(window))?),
        }))
    }

    /// Keeps a new alert without an incident. When its hold ends while it still fires, a
    /// timer opens its incident. The incident of the key's previous alert, if any, says
    /// why later ones are held.
    #[allow(clippy::too_many_arguments)]
    async fn hold_alert(
        &self,
        tx: &mut Transaction<'static, Any>,
        ev: &IngestEvent,
        body: &AlertBody,
        hold: Hold,
        urgency: Urgency,
        latest: &Option<(i64, Option<i64>, AlertState, Option<String>)>,
        actor: &str,
    ) -> Result<IngestOutcome> {
        let at = micros(ev.received_at);
        let res = sqlx::query(
            "INSERT INTO alerts (incident_id, service, integration, routing_key, dedup_key, status, severity,
                                 summary, body, occurrences, first_seen, last_seen, held)
             VALUES (NULL, $1, $2, $3, $4, 'triggered', $5, $6, $7, 1, $8, $8, $9) RETURNING id",
        )
        .bind(ev.service.as_str())
        .bind(ev.integration.as_str())
        .bind(ev.routing_key.as_str())
        .bind(ev.dedup_key.as_str())
        .bind(body.severity.as_str())
        .bind(body.summary.as_str())
        .bind(to_json(body)?)
        .bind(at)
        .bind(hold.reason.as_str())
        .fetch_one(&mut **tx)
        .await;
        let alert: i64 = match res {
            Ok(row) => row.try_get("id").map_err(corrupt)?,
            Err(e) => {
                return Err(match unique_or_unavailable(e, "alert", &ev.dedup_key) {
                    StoreError::AlreadyExists { .. } => StoreError::Contention(format!(
                        "another writer opened the alert {} of {} first",
                        ev.dedup_key, ev.service
                    )),
                    other => other,
                });
            }
        };
        if let Some(until) = hold.until {
            let timer = release_timer(alert, until, &hold.reason, urgency);
            set_timer(tx, &timer, at).await?;
        }
        if let Some((_, Some(previous), _, None)) = latest {
            let data = json!({ "dedup_key": ev.dedup_key, "reason": hold.reason });
            log(tx, *previous, at, "alert.held", actor, &data).await?;
        }
        Ok(IngestOutcome::Held { alert })
    }

    /// Opens the incident of a held alert that still fires; `None` when it resolved or
    /// was released already.
    pub(crate) async fn release(
        &self,
        tx: &mut Transaction<'static, Any>,
        alert: i64,
        at: i64,
        reason: &str,
        urgency: Option<Urgency>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(built(format!(
            "SELECT service, status, held, summary, severity, dedup_key FROM alerts WHERE id = $1{}",
            self.dialect().for_update()
        )))
        .bind(alert)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let held: Option<String> = row.try_get("held").map_err(corrupt)?;
        let alert_status = status(&row.try_get::<String, _>("status").map_err(corrupt)?)?;
        let Some(held) = held else { return Ok(None) };
        if alert_status == Status::Resolved {
            return Ok(None);
        }
        let severity: String = row.try_get("severity").map_err(corrupt)?;
        let severity = domain::Severity::parse(&severity)
            .ok_or_else(|| StoreError::Corrupt(format!("severity {severity:?}")))?;
        let urgency = urgency.unwrap_or_else(|| Urgency::from_severity(severity));
        let summary: String = row.try_get("summary").map_err(corrupt)?;
        let dedup_key: String = row.try_get("dedup_key").map_err(corrupt)?;
        let incident: i64 = sqlx::query(
            "INSERT INTO incidents (service, status, urgency, summary, created_at, updated_at)
             VALUES ($1, 'triggered', $2, $3, $4, $4) RETURNING id",
        )
        .bind(row.try_get::<String, _>("service").map_err(corrupt)?)
        .bind(urgency.as_str())
        .bind(summary.as_str())
        .bind(at)
        .fetch_one(&mut **tx)
        .await
        .map_err(unavailable)?
        .try_get("id")
        .map_err(corrupt)?;
        let service = Name::new(row.try_get::<String, _>("service").map_err(corrupt)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        opened(tx, incident, &service, at).await?;
        sqlx::query("UPDATE alerts SET incident_id = $1, held = NULL WHERE id = $2")
            .bind(incident)
            .bind(alert)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
        let data = json!({ "dedup_key": dedup_key, "summary": summary, "severity": severity });
        log(tx, incident, at, "alert.triggered", "shinrai", &data).await?;
        let data = json!({ "dedup_key": dedup_key, "reason": reason, "held": held });
        log(tx, incident, at, "alert.released", "shinrai", &data).await?;
        Ok(Some(incident))
    }

    /// Records an escalation step on a triggered incident: who is paged (now its
    /// assignees), who was skipped and why, and the next step's timer.
    pub(crate) async fn escalation_step(
        &self,
        tx: &mut Transaction<'static, Any>,
        step: EscalationStep,
        at: i64,
    ) -> Result<()> {
        let current = self.incident_for_update(tx, step.incident).await?;
        if current.status != Status::Triggered {
            return Ok(());
        }
        let Some(mut escalation) = current.escalation else {
            if step.reassigned {
                // No policy: page the people it was given to, and that is all.
                let people: Vec<&str> = step.people.iter().map(Name::as_str).collect();
                let data = json!({ "people": people });
                log(
                    tx,
                    step.incident,
                    at,
                    "escalation.reassigned",
                    "shinrai",
                    &data,
                )
                .await?;
                crate::notify::queue(tx, step.incident, &step.notifications, at).await?;
            }
            return Ok(());
        };
        escalation.round = step.round;
        escalation.level = step.level;
        // Paging someone by hand does not undo a policy that ran out.
        escalation.exhausted = step.fallback || (step.reassigned && escalation.exhausted);
        let snapshot = json!({ "policy": escalation.policy, "spec": escalation.spec, "round": step.round,
                               "level": step.level, "exhausted": escalation.exhausted });
        let people: Vec<&str> = step.people.iter().map(Name::as_str).collect();
        let assignees = if people.is_empty() {
            current.assignees.clone()
        } else {
            people.iter().map(|p| (*p).to_owned()).collect()
        };
        sqlx::query(
            "UPDATE incidents SET escalation = $1, assignees = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(snapshot.to_string())
        .bind(to_json(&assignees)?)
        .bind(at)
        .bind(step.incident)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
        let (kind, data) = if step.reassigned {
            (
                "escalation.reassigned",
                json!({ "policy": escalation.policy, "people": people }),
            )
        } else if step.fallback {
            (
                "escalation.exhausted",
                json!({ "policy": escalation.policy, "people": people, "skipped": step.skipped }),
            )
        } else {
            (
                "escalation.level",
                json!({ "policy": escalation.policy, "round": step.round + 1,
                                          "level": step.level + 1, "people": people, "skipped": step.skipped }),
            )
        };
        log(tx, step.incident, at, kind, "shinrai", &data).await?;
        crate::notify::queue(tx, step.incident, &step.notifications, at).await?;
        if let Some((round, level, due)) = step.next {
            let mut timer = escalate_timer(step.incident, round, level, false, at)?;
            timer.due_at = due;
            set_timer(tx, &timer, at).await?;
        }
        Ok(())
    }

    /// An acknowledged incident goes back to triggered (its acknowledgement timed out, or
    /// its snooze ended).
    pub(crate) async fn wake(
        &self,
        tx: &mut Transaction<'static, Any>,
        incident: i64,
        at: i64,
        reason: &str,
    ) -> Result<()> {
        let current = self.incident_for_update(tx, incident).await?;
        if current.status == Status::Acknowledged {
            let data = json!({ "reason": reason });
            retrigger(
                tx,
                incident,
                at,
                "incident.unacknowledged",
                "shinrai",
                &data,
            )
            .await?;
        }
        Ok(())
    }

    /// The open incident a new alert of `group` joins: the group's, unless it opened
    /// longer than the event's window ago. Such an incident stops taking the group's
    /// alerts (its group is cleared), so the alert opens a new one.
    async fn joinable_incident(
        &self,
        tx: &mut Transaction<'static, Any>,
        ev: &IngestEvent,
        group: &str,
    ) -> Result<Option<i64>> {
        let Some((id, opened)) = self.open_incident_of_group(tx, &ev.service, group).await? else {
            return Ok(None);
        };
        let window = ev
            .group_window
            .map(|w| i64::try_from(w.as_micros()).unwrap_or(i64::MAX));
        let expired =
            window.is_some_and(|w| micros(opened) < micros(ev.received_at).saturating_sub(w));
        if !expired {
            return Ok(Some(id));
        }
        sqlx::query("UPDATE incidents SET group_key = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
        Ok(None)
    }

    async fn open_incident_of_group(
        &self,
        tx: &mut Transaction<'static, Any>,
        service: &Name,
        group: &str,
    ) -> Result<Option<(i64, Timestamp)>> {
        let row = sqlx::query(built(format!(
            "SELECT id, created_at FROM incidents WHERE service = $1 AND group_key = $2 AND status <> 'resolved'
             ORDER BY id DESC LIMIT 1{}",
            self.dialect().for_update()
        )))
        .bind(service.as_str())
        .bind(group)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
        row.map(|r| -> Result<(i64, Timestamp)> {
            Ok((
                r.try_get("id").map_err(corrupt)?,
                timestamp(r.try_get("created_at").map_err(corrupt)?)?,
            ))
        })
        .transpose()
    }

    pub(crate) async fn open_alerts_of_group_impl(
        &self,
        service: &Name,
        group: &str,
    ) -> Result<Vec<String>> {
        // No group is kept with a NUL; PostgreSQL could not even be asked for one.
        if domain::text::check_key("group", group).is_err() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT a.dedup_key FROM alerts a JOIN incidents i ON i.id = a.incident_id
             WHERE i.service = $1 AND i.group_key = $2 AND i.status <> 'resolved' AND a.status <> 'resolved'
             ORDER BY a.id",
        )
        .bind(service.as_str())
        .bind(group)
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|r| r.try_get("dedup_key").map_err(corrupt))
            .collect()
    }

    async fn incident_for_update(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
    ) -> Result<IncidentRecord> {
        let row = sqlx::query(built(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1{}",
            self.dialect().for_update()
        )))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
        match row {
            Some(row) => incident_from_row(&row, Vec::new()),
            None => Err(StoreError::NotFound {
                kind: "incident".into(),
                name: format!("#{id}"),
            }),
        }
    }

    /// The `WHERE` clause of `q` with its parameters; `None` when nothing can match.
    fn incident_filter(&self, q: &IncidentQuery) -> Option<(String, Vec<String>)> {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        if !q.statuses.is_empty() {
            push_in(
                &mut sql,
                &mut texts,
                "status",
                q.statuses.iter().map(|s| s.as_str()),
            );
        }
        if !q.urgencies.is_empty() {
            push_in(
                &mut sql,
                &mut texts,
                "urgency",
                q.urgencies.iter().map(|u| u.as_str()),
            );
        }
        if let Some(services) = &q.services {
            if services.is_empty() {
                return None;
            }
            push_in(
                &mut sql,
                &mut texts,
                "service",
                services.iter().map(|s| s.as_str()),
            );
        }
        let fold = |expr: &str| self.dialect().ascii_lower(expr);
        for term in SearchTerm::parse(q.search.as_deref().unwrap_or("")) {
            let in_alerts = |cond: String| {
                format!(
                    "EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = incidents.id AND ({cond}))"
                )
            };
            match term {
                SearchTerm::Label { key, value } => {
                    // Labels and details are kept as compact JSON: `"key":"value"` is
                    // one member whose value is exactly `value`.
                    let member = format!("{}:{}", json_string(&key), json_string(&value));
                    let p = push_param(&mut texts, &like_pattern(&member));
                    sql.push_str(&format!(
                        " AND {}",
                        in_alerts(format!("{} LIKE {p} ESCAPE '\\'", fold("a.body")))
                    ));
                }
                SearchTerm::Text(text) => {
                    let plain = like_pattern(&text);
                    let p1 = push_param(&mut texts, &plain);
                    let p2 = push_param(&mut texts, &plain);
                    let p3 = push_param(&mut texts, &plain);
                    // In the alert's JSON the text is escaped as JSON strings are.
                    let quoted = json_string(&text);
                    let p4 = push_param(&mut texts, &like_pattern(&quoted[1..quoted.len() - 1]));
                    sql.push_str(&format!(
                        " AND ({} LIKE {p1} ESCAPE '\\' OR {} LIKE {p2} ESCAPE '\\' OR {})",
                        fold("summary"),
                        fold("service"),
                        in_alerts(format!(
                            "{} LIKE {p3} ESCAPE '\\' OR {} LIKE {p4} ESCAPE '\\'",
                            fold("a.dedup_key"),
                            fold("a.body")
                        ))
                    ));
                }
            }
        }
        // Integers are formatted by this code, never taken from text.
        if let Some(t) = q.since {
            sql.push_str(&format!(" AND created_at >= {}", micros(t)));
        }
        if let Some(t) = q.until {
            sql.push_str(&format!(" AND created_at < {}", micros(t)));
        }
        Some((sql, texts))
    }

    pub(crate) async fn list_incidents_impl(
        &self,
        q: &IncidentQuery,
    ) -> Result<Vec<IncidentRecord>> {
        let Some((filter, texts)) = self.incident_filter(q) else {
            return Ok(Vec::new());
        };
        let mut sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents{filter}");
        if let Some(b) = q.before_id {
            sql.push_str(&format!(" AND id < {b}"));
        }
        let order = match q.sort {
            IncidentSort::Newest => "id DESC",
            IncidentSort::Oldest => "id ASC",
            IncidentSort::Urgency => "CASE urgency WHEN 'high' THEN 0 ELSE 1 END, id DESC",
            IncidentSort::Status => {
                "CASE status WHEN 'triggered' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, id DESC"
            }
            IncidentSort::Updated => "updated_at DESC, id DESC",
        };
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT {} OFFSET {}",
            q.limit.clamp(1, 1000),
            q.offset
        ));
        let rows = query_with(sql, &texts)
            .fetch_all(&self.readers())
            .await
            .map_err(unavailable)?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id").map_err(corrupt))
            .collect::<Result<_>>()?;
        let mut keys = self.dedup_keys(&ids).await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id").map_err(corrupt)?;
                incident_from_row(r, keys.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    pub(crate) async fn count_incidents_impl(&self, q: &IncidentQuery) -> Result<u64> {
        let Some((filter, texts)) = self.incident_filter(q) else {
            return Ok(0);
        };
        let row = query_with(
            format!("SELECT COUNT(*) AS n FROM incidents{filter}"),
            &texts,
        )
        .fetch_one(&self.readers())
        .await
        .map_err(unavailable)?;
        let n: i64 = row.try_get("n").map_err(corrupt)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) async fn record_change_impl(&self, mut c: NewChange) -> Result<ChangeRecord> {
        domain::text::clean_in_place(&mut c.summary, domain::text::MAX_SUMMARY);
        domain::text::clean_json(&mut c.body, domain::text::MAX_DETAIL);
        let row = sqlx::query(
            "INSERT INTO change_events (service, integration, at, summary, body) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(c.service.as_str())
        .bind(c.integration.as_str())
        .bind(micros(c.at))
        .bind(c.summary.as_str())
        .bind(c.body.to_string())
        .fetch_one(&self.writer_pool().clone())
        .await
        .map_err(unavailable)?;
        Ok(ChangeRecord {
            id: row.try_get("id").map_err(corrupt)?,
            service: c.service,
            integration: c.integration,
            at: c.at,
            summary: c.summary,
            body: c.body,
        })
    }

    pub(crate) async fn changes_between_impl(
        &self,
        service: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ChangeRecord>> {
        let rows = sqlx::query(
            "SELECT id, service, integration, at, summary, body FROM change_events
             WHERE service = $1 AND at >= $2 AND at < $3 ORDER BY at, id",
        )
        .bind(service.as_str())
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|r| {
                Ok(ChangeRecord {
                    id: r.try_get("id").map_err(corrupt)?,
                    service: name_col(r, "service")?,
                    integration: name_col(r, "integration")?,
                    at: timestamp(r.try_get("at").map_err(corrupt)?)?,
                    summary: r.try_get("summary").map_err(corrupt)?,
                    body: from_json("body", &r.try_get::<String, _>("body").map_err(corrupt)?)?,
                })
            })
            .collect()
    }

    pub(crate) async fn merge_incidents_impl(
        &self,
        target: i64,
        sources: Vec<i64>,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        let mut tx = self.begin().await?;
        let at = micros(ctx.at);
        // Lock in id order, so that two merges of the same incidents cannot deadlock.
        let mut all: Vec<i64> = sources.iter().copied().chain([target]).collect();
        all.sort_unstable();
        all.dedup();
        if all.len() != sources.len() + 1 {
            return Err(StoreError::Conflict(format!(
                "merge needs distinct incidents other than #{target}"
            )));
        }
        for id in &all {
            let incident = self.incident_for_update(&mut tx, *id).await?;
            if incident.status == Status::Resolved {
                return Err(StoreError::Conflict(format!(
                    "incident #{id} is resolved; only open incidents merge"
                )));
            }
        }
        for source in &sources {
            sqlx::query("UPDATE alerts SET incident_id = $1 WHERE incident_id = $2")
                .bind(target)
                .bind(*source)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            log(
                &mut tx,
                target,
                at,
                "incident.merged",
                &ctx.actor,
                &json!({ "from": source }),
            )
            .await?;
            log(
                &mut tx,
                *source,
                at,
                "incident.merged_into",
                &ctx.actor,
                &json!({ "into": target }),
            )
            .await?;
            resolve_incident(&mut tx, *source, at, &ctx.actor).await?;
        }
        sqlx::query("UPDATE incidents SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let merged = self.incident_for_update(&mut tx, target).await?;
        tx.commit().await.map_err(unavailable)?;
        self.with_dedup_keys(merged).await
    }

    /// An incident record with its alerts' dedup keys filled in.
    async fn with_dedup_keys(&self, incident: IncidentRecord) -> Result<IncidentRecord> {
        let keys = self
            .dedup_keys(&[incident.id])
            .await?
            .remove(&incident.id)
            .unwrap_or_default();
        Ok(IncidentRecord {
            dedup_keys: keys,
            ..incident
        })
    }

    pub(crate) async fn list_alerts_impl(&self, q: &AlertQuery) -> Result<Vec<AlertRecord>> {
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        if !q.statuses.is_empty() {
            push_in(
                &mut sql,
                &mut texts,
                "status",
                q.statuses.iter().map(|s| s.as_str()),
            );
        }
        if let Some(services) = &q.services {
            if services.is_empty() {
                return Ok(Vec::new());
            }
            push_in(
                &mut sql,
                &mut texts,
                "service",
                services.iter().map(|s| s.as_str()),
            );
        }
        if let Some(key) = &q.dedup_key {
            // No alert is kept with a NUL in its key.
            if domain::text::check_key("dedup_key", key).is_err() {
                return Ok(Vec::new());
            }
            let p = crate::push_param(&mut texts, key);
            sql.push_str(&format!(" AND dedup_key = {p}"));
        }
        if q.held_only {
            sql.push_str(" AND held IS NOT NULL");
        }
        if let Some(b) = q.before_id {
            sql.push_str(&format!(" AND id < {b}"));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT {}",
            q.limit.clamp(1, 1000)
        ));
        let rows = query_with(sql, &texts)
            .fetch_all(&self.readers())
            .await
            .map_err(unavailable)?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn dedup_keys(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, Vec<String>>> {
        let mut out: std::collections::HashMap<i64, Vec<String>> = Default::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let rows = sqlx::query(built(format!(
            "SELECT incident_id, dedup_key FROM alerts WHERE incident_id IN ({}) ORDER BY id",
            list.join(", ")
        )))
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?;
        for r in rows {
            out.entry(r.try_get("incident_id").map_err(corrupt)?)
                .or_default()
                .push(r.try_get("dedup_key").map_err(corrupt)?);
        }
        Ok(out)
    }

    pub(crate) async fn get_incident_impl(&self, id: i64) -> Result<Option<IncidentDetail>> {
        let Some(row) = sqlx::query(built(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.readers())
        .await
        .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let alerts = sqlx::query(built(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE incident_id = $1 ORDER BY id"
        )))
        .bind(id)
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?
        .iter()
        .map(alert_from_row)
        .collect::<Result<Vec<_>>>()?;
        let log = sqlx::query(
            "SELECT id, at, kind, actor, data FROM incident_log WHERE incident_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?
        .iter()
        .map(|r| {
            Ok(LogEntry {
                id: r.try_get("id").map_err(corrupt)?,
                at: timestamp(r.try_get("at").map_err(corrupt)?)?,
                kind: r.try_get("kind").map_err(corrupt)?,
                actor: r.try_get("actor").map_err(corrupt)?,
                data: from_json("data", &r.try_get::<String, _>("data").map_err(corrupt)?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let keys = alerts.iter().map(|a| a.dedup_key.clone()).collect();
        Ok(Some(IncidentDetail {
            incident: incident_from_row(&row, keys)?,
            alerts,
            log,
        }))
    }

    pub(crate) async fn act_on_incident_impl(
        &self,
        id: i64,
        action: IncidentAction,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        let mut tx = self.begin().await?;
        let current = self.incident_for_update(&mut tx, id).await?;
        let at = micros(ctx.at);
        match action {
            IncidentAction::Acknowledge { timeout } => match current.status {
                Status::Resolved => {
                    return Err(StoreError::Conflict(format!(
                        "incident #{id} is resolved; it cannot be acknowledged"
                    )));
                }
                // Acknowledging twice changes nothing: the first acknowledgement stands.
                Status::Acknowledged => {}
                Status::Triggered => {
                    acknowledge_incident(&mut tx, id, at, &ctx.actor, timeout).await?;
                    sqlx::query("UPDATE alerts SET status = 'acknowledged' WHERE incident_id = $1 AND status = 'triggered'")
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(unavailable)?;
                }
            },
            IncidentAction::Resolve => {
                if current.status != Status::Resolved {
                    resolve_incident(&mut tx, id, at, &ctx.actor).await?;
                    sqlx::query("UPDATE alerts SET status = 'resolved', resolved_at = $1 WHERE incident_id = $2 AND status <> 'resolved'")
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(unavailable)?;
                }
            }
            IncidentAction::Note(text) => {
                let text = domain::text::clean_owned(text, domain::text::MAX_NOTE);
                log(
                    &mut tx,
                    id,
                    at,
                    "note",
                    &ctx.actor,
                    &json!({ "text": text }),
                )
                .await?;
                sqlx::query("UPDATE incidents SET updated_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            }
            IncidentAction::Snooze { until } => {
                if current.status != Status::Acknowledged {
                    return Err(StoreError::Conflict(format!(
                        "incident #{id} is {}; only an acknowledged incident can be snoozed (acknowledge it first)",
                        current.status.as_str()
                    )));
                }
                if until <= ctx.at {
                    return Err(StoreError::Conflict(
                        "a snooze must end in the future".into(),
                    ));
                }
                sqlx::query(
                    "UPDATE incidents SET snoozed_until = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(micros(until))
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                set_timer(&mut tx, &wake_timer(id, until, "the snooze ended"), at).await?;
                let data = json!({ "until": until.to_string() });
                log(&mut tx, id, at, "incident.snoozed", &ctx.actor, &data).await?;
            }
            IncidentAction::Escalate => {
                if current.status == Status::Resolved {
                    return Err(StoreError::Conflict(format!(
                        "incident #{id} is resolved; it cannot be escalated"
                    )));
                }
                let data = json!({});
                log(&mut tx, id, at, "incident.escalated", &ctx.actor, &data).await?;
                if current.status == Status::Acknowledged {
                    let data = json!({ "reason": "escalated by hand" });
                    retrigger(&mut tx, id, at, "incident.retriggered", &ctx.actor, &data).await?;
                }
                // The next level is paged now.
                resume_escalation(&mut tx, id, at, true).await?;
            }
            IncidentAction::Reassign { to } => {
                if current.status == Status::Resolved {
                    return Err(StoreError::Conflict(format!(
                        "incident #{id} is resolved; it cannot be reassigned"
                    )));
                }
                let names: Vec<&str> = to.iter().map(Name::as_str).collect();
                sqlx::query("UPDATE incidents SET assignees = $1, updated_at = $2 WHERE id = $3")
                    .bind(to_json(&names)?)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                let data = json!({ "from": current.assignees, "to": names });
                log(&mut tx, id, at, "incident.reassigned", &ctx.actor, &data).await?;
                if current.status == Status::Acknowledged {
                    let data = json!({ "reason": "reassigned" });
                    retrigger_only(&mut tx, id, at, "incident.retriggered", &ctx.actor, &data)
                        .await?;
                }
                // The new people are paged now, at the level where the escalation
                // stands; this replaces the step that was waiting.
                crate::notify::cancel_pages(&mut tx, id).await?;
                let (round, level) = current
                    .escalation
                    .as_ref()
                    .map_or((0, 0), |e| (e.round, e.level));
                let mut timer = escalate_timer(id, round, level, false, at)?;
                timer.data["page"] = json!(names);
                set_timer(&mut tx, &timer, at).await?;
            }
        }
        let updated = self.incident_for_update(&mut tx, id).await?;
        tx.commit().await.map_err(unavailable)?;
        self.with_dedup_keys(updated).await
    }
}

async fn set_alert_status(
    tx: &mut Transaction<'static, Any>,
    alert: i64,
    to: Status,
    at: i64,
) -> Result<()> {
    let resolved_at = (to == Status::Resolved).then_some(at);
    sqlx::query("UPDATE alerts SET status = $1, resolved_at = $2, last_seen = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(resolved_at)
        .bind(at)
        .bind(alert)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

async fn acknowledge_incident(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    at: i64,
    actor: &str,
    timeout: Option<std::time::Duration>,
) -> Result<()> {
    // An acknowledgement stops escalation, and pages not yet sent.
    delete_timer(tx, ESCALATE, &format!("incident:{id}")).await?;
    crate::notify::cancel_pages(tx, id).await?;
    if let Some(timeout) = timeout {
        let after = i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX);
        let due = timestamp(at.saturating_add(after))?;
        let reason = format!("the acknowledgement timed out after {}", minutes(timeout));
        set_timer(tx, &wake_timer(id, due, &reason), at).await?;
    }
    sqlx::query(
        "UPDATE incidents SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1 WHERE id = $3",
    )
    .bind(at)
    .bind(actor)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    crate::notify::announce(tx, id, "acknowledged", at).await?;
    let data = match timeout {
        Some(t) => json!({ "timeout": minutes(t) }),
        None => json!({}),
    };
    log(tx, id, at, "incident.acknowledged", actor, &data).await
}

/// `90 minutes`, for the timeline.
fn minutes(d: std::time::Duration) -> String {
    let m = d.as_secs() / 60;
    if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

/// Puts an acknowledged incident back to triggered, ending any snooze or acknowledgement
/// timeout, and pages again where its escalation stood.
async fn retrigger(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    at: i64,
    kind: &str,
    actor: &str,
    data: &Value,
) -> Result<()> {
    retrigger_only(tx, id, at, kind, actor, data).await?;
    resume_escalation(tx, id, at, false).await
}

/// Puts an acknowledged incident back to triggered without paging anyone: the caller
/// decides who is paged.
async fn retrigger_only(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    at: i64,
    kind: &str,
    actor: &str,
    data: &Value,
) -> Result<()> {
    sqlx::query(
        "UPDATE incidents SET status = 'triggered', acknowledged_at = NULL, acknowledged_by = NULL,
                snoozed_until = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(at)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    sqlx::query(
        "UPDATE alerts SET status = 'triggered' WHERE incident_id = $1 AND status = 'acknowledged'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    delete_timer(tx, WAKE, &format!("incident:{id}")).await?;
    log(tx, id, at, kind, actor, data).await
}

/// What a new incident sets going, from one read of its service's spec: the escalation
/// its policy starts, and the announcement on its channels.
async fn opened(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    service: &Name,
    at: i64,
) -> Result<()> {
    let Some(service_spec) = object_spec(tx, "Service", service.as_str()).await? else {
        return Ok(());
    };
    start_escalation(tx, incident, &service_spec, at).await?;
    crate::notify::announce_for(tx, incident, service, &service_spec, "triggered", at).await
}

/// Copies the service's escalation policy onto a new incident and makes its first step
/// due now. A service without a policy (or whose policy is gone) pages no one.
async fn start_escalation(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    service_spec: &Value,
    at: i64,
) -> Result<()> {
    let Some(policy) = service_spec["escalation_policy"]
        .as_str()
        .map(str::to_owned)
    else {
        return Ok(());
    };
    let Some(policy_spec) = object_spec(tx, "EscalationPolicy", &policy).await? else {
        return Ok(());
    };
    let snapshot = json!({ "policy": policy, "spec": policy_spec, "round": 0, "level": 0, "exhausted": false });
    sqlx::query("UPDATE incidents SET escalation = $1 WHERE id = $2")
        .bind(snapshot.to_string())
        .bind(incident)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    set_timer(tx, &escalate_timer(incident, 0, 0, false, at)?, at).await
}

async fn object_spec(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    name: &str,
) -> Result<Option<Value>> {
    let row = sqlx::query("SELECT spec FROM objects WHERE kind = $1 AND name = $2")
        .bind(kind)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
    row.map(|r| from_json::<Value>("spec", &r.try_get::<String, _>("spec").map_err(corrupt)?))
        .transpose()
}

/// Makes an incident's escalation due now: at the level where it stands, or (with
/// `advance`) the one after it. Does nothing for an incident without one, or whose policy
/// ran out.
pub(crate) async fn resume_escalation(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    at: i64,
    advance: bool,
) -> Result<()> {
    let row = sqlx::query("SELECT escalation FROM incidents WHERE id = $1")
        .bind(incident)
        .fetch_one(&mut **tx)
        .await
        .map_err(unavailable)?;
    let Some(text) = row
        .try_get::<Option<String>, _>("escalation")
        .map_err(corrupt)?
    else {
        return Ok(());
    };
    let e: Value = from_json("escalation", &text)?;
    if e["exhausted"].as_bool() == Some(true) && !advance {
        return Ok(());
    }
    let round = e["round"].as_u64().unwrap_or(0) as u32;
    let level = e["level"].as_u64().unwrap_or(0) as usize;
    set_timer(
        tx,
        &escalate_timer(incident, round, level, advance, at)?,
        at,
    )
    .await
}

fn escalate_timer(
    incident: i64,
    round: u32,
    level: usize,
    advance: bool,
    at: i64,
) -> Result<NewTimer> {
    Ok(NewTimer {
        kind: ESCALATE.into(),
        subject: format!("incident:{incident}"),
        due_at: timestamp(at)?,
        data: json!({ "incident": incident, "round": round, "level": level, "advance": advance }),
    })
}

async fn resolve_incident(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    at: i64,
    actor: &str,
) -> Result<()> {
    delete_timer(tx, WAKE, &format!("incident:{id}")).await?;
    delete_timer(tx, ESCALATE, &format!("incident:{id}")).await?;
    crate::notify::cancel_pages(tx, id).await?;
    crate::notify::announce(tx, id, "resolved", at).await?;
    sqlx::query("UPDATE incidents SET status = 'resolved', resolved_at = $1, resolved_by = $2, snoozed_until = NULL, updated_at = $1 WHERE id = $3")
        .bind(at)
        .bind(actor)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    log(tx, id, at, "incident.resolved", actor, &json!({})).await
}

/// A timeline line, for the other SQL modules.
pub(crate) async fn log_line(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    at: i64,
    kind: &str,
    actor: &str,
    data: &Value,
) -> Result<()> {
    log(tx, incident, at, kind, actor, data).await
}

async fn log(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    at: i64,
    kind: &str,
    actor: &str,
    data: &Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incident_log (incident_id, at, kind, actor, data) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(incident)
    .bind(at)
    .bind(kind)
    .bind(actor)
    .bind(data.to_string())
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}

fn status(s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown status {s:?}")))
}

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(col)
        .map_err(corrupt)?
        .map(timestamp)
        .transpose()
}

fn name_col(row: &AnyRow, col: &str) -> Result<Name> {
    let s: String = row.try_get(col).map_err(corrupt)?;
    Name::new(s.clone()).map_err(|e| StoreError::Corrupt(format!("{col} {s:?}: {e}")))
}

fn incident_from_row(row: &AnyRow, dedup_keys: Vec<String>) -> Result<IncidentRecord> {
    let urgency: String = row.try_get("urgency").map_err(corrupt)?;
    Ok(IncidentRecord {
        id: row.try_get("id").map_err(corrupt)?,
        service: name_col(row, "service")?,
        status: status(&row.try_get::<String, _>("status").map_err(corrupt)?)?,
        urgency: Urgency::parse(&urgency)
            .ok_or_else(|| StoreError::Corrupt(format!("urgency {urgency:?}")))?,
        summary: row.try_get("summary").map_err(corrupt)?,
        created_at: timestamp(row.try_get("created_at").map_err(corrupt)?)?,
        updated_at: timestamp(row.try_get("updated_at").map_err(corrupt)?)?,
        acknowledged_at: opt_ts(row, "acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by").map_err(corrupt)?,
        resolved_at: opt_ts(row, "resolved_at")?,
        resolved_by: row.try_get("resolved_by").map_err(corrupt)?,
        assignees: from_json(
            "assignees",
            &row.try_get::<String, _>("assignees").map_err(corrupt)?,
        )?,
        snoozed_until: opt_ts(row, "snoozed_until")?,
        escalation: row
            .try_get::<Option<String>, _>("escalation")
            .map_err(corrupt)?
            .map(|text| escalation_from_json(&text))
            .transpose()?,
        dedup_keys,
    })
}

fn alert_from_row(row: &AnyRow) -> Result<AlertRecord> {
    let body: AlertBody = from_json("body", &row.try_get::<String, _>("body").map_err(corrupt)?)?;
    Ok(AlertRecord {
        id: row.try_get("id").map_err(corrupt)?,
        incident_id: row.try_get("incident_id").map_err(corrupt)?,
        service: name_col(row, "service")?,
        integration: name_col(row, "integration")?,
        dedup_key: row.try_get("dedup_key").map_err(corrupt)?,
        status: status(&row.try_get::<String, _>("status").map_err(corrupt)?)?,
        body,
        occurrences: row.try_get("occurrences").map_err(corrupt)?,
        first_seen: timestamp(row.try_get("first_seen").map_err(corrupt)?)?,
        last_seen: timestamp(row.try_get("last_seen").map_err(corrupt)?)?,
        resolved_at: opt_ts(row, "resolved_at")?,
        held: row.try_get("held").map_err(corrupt)?,
    })
}

fn escalation_from_json(text: &str) -> Result<Escalation> {
    let v: Value = from_json("escalation", text)?;
    let policy = v["policy"].as_str().unwrap_or_default();
    Ok(Escalation {
        policy: Name::new(policy)
            .map_err(|e| StoreError::Corrupt(format!("escalation policy {policy:?}: {e}")))?,
        spec: v["spec"].clone(),
        round: v["round"].as_u64().unwrap_or(0) as u32,
        level: v["level"].as_u64().unwrap_or(0) as usize,
        exhausted: v["exhausted"].as_bool().unwrap_or(false),
    })
}

/// Outside text in an event, made safe to keep whatever the boundary did (defence in
/// depth, the same on every backend): keys with a NUL are refused naming the field, free
/// text is cleaned by `domain::text`.
fn guard(ev: &mut IngestEvent) -> Result<()> {
    domain::text::check_key("dedup_key", &ev.dedup_key)?;
    domain::text::check_key("routing_key", &ev.routing_key)?;
    if let Some(g) = &ev.group {
        domain::text::check_key("group", g)?;
    }
    if let Some(body) = &mut ev.body {
        body.clean();
    }
    if let Some(actor) = &mut ev.actor {
        domain::text::clean_in_place(actor, domain::text::MAX_FIELD);
    }
    if let Some(hold) = &mut ev.handling.hold {
        domain::text::clean_in_place(&mut hold.reason, domain::text::MAX_FIELD);
    }
    Ok(())
}

/// `text` as a JSON string, quotes included, as serde_json writes it into stored JSON.
fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A `LIKE … ESCAPE '\'` pattern finding `text` anywhere, in ASCII lower case (the column
/// is folded the same way): `%`, `_` and `\` in it are plain characters.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c.to_ascii_lowercase());
    }
    out.push('%');
    out
}
