//! The notification outbox in SQL: rows queued in the transaction that pages someone,
//! claimed per channel with a lease and a fence, finished once with a timeline line, and
//! cancelled when the incident is acknowledged or resolved.

use async_trait::async_trait;
use domain::{Name, Timestamp};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::lease::Due;
use crate::rows::*;
use crate::{SqlStore, built, push_in, query_with};

const COLUMNS: &str = "id, incident_id, username, channel, contact, address, event, delivery_id, \
     status, due_at, attempts, fence, last_error, created_at, sent_at";

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>> {
        let due = Due {
            table: "notifications",
            columns: COLUMNS,
            filter: " AND channel = $5 AND status = 'pending'",
            binds: &[channel],
        };
        let rows = self.claim_due(due, now, owner, lease_until, limit).await?;
        let mut out = rows
            .iter()
            .map(notification_from_row)
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|n| (n.due_at, n.id));
        Ok(out)
    }

    async fn finish_notification(
        &self,
        id: i64,
        fence: i64,
        mut outcome: Delivery,
        now: Timestamp,
    ) -> Result<bool> {
        // A provider's answer is outside text: kept cleaned and cut, whatever the worker
        // passed on, so that no reply can make recording its outcome fail.
        let (Delivery::Sent { answer: text }
        | Delivery::Retry { error: text, .. }
        | Delivery::Dead { error: text }) = &mut outcome;
        domain::text::clean_in_place(text, domain::text::MAX_ANSWER);
        let mut tx = self.begin().await?;
        let row = sqlx::query(built(format!(
            "SELECT {COLUMNS} FROM notifications WHERE id = $1 AND fence = $2 AND status = 'pending'{}",
            self.dialect().for_update()
        )))
        .bind(id)
        .bind(fence)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let n = notification_from_row(&row)?;
        let at = micros(now);
        let (status, due, error, kind, detail) = match &outcome {
            Delivery::Sent { answer } => (
                "sent",
                micros(n.due_at),
                None,
                "notification.sent",
                json!({ "answer": answer }),
            ),
            Delivery::Retry { error, at: retry } => (
                "pending",
                micros(*retry),
                Some(error.clone()),
                "notification.failed",
                json!({ "error": error, "retry_at": retry.to_string() }),
            ),
            Delivery::Dead { error } => (
                "dead",
                micros(n.due_at),
                Some(error.clone()),
                "notification.dead",
                json!({ "error": error }),
            ),
        };
        sqlx::query(
            "UPDATE notifications SET status = $1, due_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL,
                    sent_at = $4, fence = fence + 1 WHERE id = $5",
        )
        .bind(status)
        .bind(due)
        .bind(error)
        .bind((status == "sent").then_some(at))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let mut data = json!({ "user": n.user, "channel": n.channel, "contact": n.contact, "address": n.address,
                               "event": n.event, "delivery_id": n.delivery_id, "attempt": n.attempts });
        if let (Some(d), Some(extra)) = (data.as_object_mut(), detail.as_object()) {
            d.extend(extra.clone());
        }
        crate::incidents::log_line(&mut tx, n.incident_id, at, kind, "shinrai", &data).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(true)
    }

    async fn list_notifications(&self, q: &NotificationQuery) -> Result<Vec<NotificationRecord>> {
        let mut sql = format!("SELECT {COLUMNS} FROM notifications WHERE 1 = 1");
        let mut params = Vec::new();
        if let Some(i) = q.incident {
            sql.push_str(&format!(" AND incident_id = {i}"));
        }
        if let Some(u) = &q.user {
            let p = crate::push_param(&mut params, u.as_str());
            sql.push_str(&format!(" AND username = {p}"));
        }
        if !q.statuses.is_empty() {
            push_in(
                &mut sql,
                &mut params,
                "status",
                q.statuses.iter().map(String::as_str),
            );
        }
        if let Some(services) = &q.services {
            if services.is_empty() {
                return Ok(Vec::new());
            }
            let placeholders: Vec<String> = services
                .iter()
                .map(|s| crate::push_param(&mut params, s.as_str()))
                .collect();
            sql.push_str(&format!(
                " AND incident_id IN (SELECT id FROM incidents WHERE service IN ({}))",
                placeholders.join(", ")
            ));
        }
        // Integers are formatted by this code, never taken from text.
        if let Some(ids) = &q.incidents {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            sql.push_str(&format!(" AND incident_id IN ({})", ids.join(", ")));
        }
        if let Some(b) = q.before_id {
            sql.push_str(&format!(" AND id < {b}"));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT {}",
            q.limit.clamp(1, 1000)
        ));
        query_with(sql, &params)
            .fetch_all(&self.readers())
            .await
            .map_err(unavailable)?
            .iter()
            .map(notification_from_row)
            .collect()
    }

    async fn outbox_backlog(&self, now: Timestamp) -> Result<Vec<(String, i64, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT channel, COUNT(*) AS n, MIN(due_at) AS oldest FROM notifications
             WHERE status = 'pending' AND due_at <= $1 GROUP BY channel ORDER BY channel",
        )
        .bind(micros(now))
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("channel").map_err(corrupt)?,
                    r.try_get("n").map_err(corrupt)?,
                    timestamp(r.try_get("oldest").map_err(corrupt)?)?,
                ))
            })
            .collect()
    }
}

/// Queues notifications inside a transaction.
pub(crate) async fn queue(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    list: &[NewNotification],
    at: i64,
) -> Result<()> {
    for n in list {
        // Addresses come from people's specs; one the checks let through with a NUL
        // becomes a dead letter when sent, instead of failing the escalation step.
        let address = domain::text::clean(&n.address, usize::MAX);
        let contact = domain::text::clean(&n.contact, usize::MAX);
        sqlx::query(
            "INSERT INTO notifications (incident_id, username, channel, contact, address, event, delivery_id,
                                        status, due_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9)",
        )
        .bind(incident)
        .bind(n.user.as_str())
        .bind(n.channel.as_str())
        .bind(contact.as_ref())
        .bind(address.as_ref())
        .bind(n.event.as_str())
        .bind(n.delivery_id.as_str())
        .bind(micros(n.due_at))
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(|e| unique_or_unavailable(e, "notification", &n.delivery_id))?;
    }
    Ok(())
}

/// Pages not yet sent stop once someone acknowledges or resolves; the timeline keeps what
/// was sent.
pub(crate) async fn cancel_pages(tx: &mut Transaction<'static, Any>, incident: i64) -> Result<()> {
    sqlx::query(
        "UPDATE notifications SET status = 'cancelled'
         WHERE incident_id = $1 AND status = 'pending' AND event = 'triggered' AND contact <> 'announce'",
    )
    .bind(incident)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}

fn notification_from_row(row: &AnyRow) -> Result<NotificationRecord> {
    let user: String = row.try_get("username").map_err(corrupt)?;
    Ok(NotificationRecord {
        id: row.try_get("id").map_err(corrupt)?,
        incident_id: row.try_get("incident_id").map_err(corrupt)?,
        user: Name::new(user.clone())
            .map_err(|e| StoreError::Corrupt(format!("user {user:?}: {e}")))?,
        channel: row.try_get("channel").map_err(corrupt)?,
        contact: row.try_get("contact").map_err(corrupt)?,
        address: row.try_get("address").map_err(corrupt)?,
        event: row.try_get("event").map_err(corrupt)?,
        delivery_id: row.try_get("delivery_id").map_err(corrupt)?,
        status: row.try_get("status").map_err(corrupt)?,
        due_at: timestamp(row.try_get("due_at").map_err(corrupt)?)?,
        attempts: row.try_get("attempts").map_err(corrupt)?,
        fence: row.try_get("fence").map_err(corrupt)?,
        last_error: row.try_get("last_error").map_err(corrupt)?,
        created_at: timestamp(row.try_get("created_at").map_err(corrupt)?)?,
        sent_at: row
            .try_get::<Option<i64>, _>("sent_at")
            .map_err(corrupt)?
            .map(timestamp)
            .transpose()?,
    })
}

/// Queues an incident's event (`triggered`, `acknowledged`, `resolved`) for its service's
/// channels (`announce` in the service's spec). The delivery id is made from the
/// incident, the event and the instant, so it is the same on every retry.
pub(crate) async fn announce(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    event: &str,
    at: i64,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT o.spec AS spec, i.service AS service FROM incidents i JOIN objects o ON o.kind = 'Service' AND o.name = i.service
         WHERE i.id = $1",
    )
    .bind(incident)
    .fetch_optional(&mut **tx)
    .await
    .map_err(unavailable)?;
    let Some(row) = row else { return Ok(()) };
    let spec: serde_json::Value =
        from_json("spec", &row.try_get::<String, _>("spec").map_err(corrupt)?)?;
    let service: String = row.try_get("service").map_err(corrupt)?;
    let service = Name::new(service).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    announce_for(tx, incident, &service, &spec, event, at).await
}

/// [`announce`], with the service's spec already read.
pub(crate) async fn announce_for(
    tx: &mut Transaction<'static, Any>,
    incident: i64,
    service: &Name,
    spec: &serde_json::Value,
    event: &str,
    at: i64,
) -> Result<()> {
    let announce = &spec["announce"];
    let mut list = Vec::new();
    if let Some(channel) = announce["slack_channel"].as_str() {
        list.push(("slack", channel.to_owned()));
    }
    for url in announce["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str())
    {
        list.push(("webhook", url.to_owned()));
    }
    let notes: Vec<NewNotification> = list
        .into_iter()
        .enumerate()
        .map(|(k, (channel, address))| -> Result<NewNotification> {
            Ok(NewNotification {
                user: service.clone(),
                channel: channel.into(),
                contact: "announce".into(),
                address,
                event: event.into(),
                delivery_id: format!("announce-{incident}-{event}-{at}-{k}"),
                due_at: timestamp(at)?,
            })
        })
        .collect::<Result<_>>()?;
    queue(tx, incident, &notes, at).await
}
