//! Sending notifications: one outbox worker per channel, so a slow or failing channel
//! never delays another. Each worker claims its channel's due rows with a lease, sends,
//! and records the outcome once (fenced), with the provider's answer on the incident's
//! timeline. Failures are retried with backoff (never before a provider's `Retry-After`);
//! permanent refusals and attempts past the limit become dead letters.
//!
//! One row never holds back another: a row whose incident cannot be read, or whose
//! outcome cannot be recorded, is left to its lease while the rest of the claim is sent
//! and recorded. An outcome that cannot be recorded with the provider's answer is
//! recorded without it; every claim counts as an attempt, so a row claimed past the
//! limit (its last outcomes were lost) becomes a dead letter without being sent again.
//!
//! Longer than 600 lines because the outbox worker and every channel's sender share the
//! outcome classification, and the file ends with their tests.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::Timestamp;
use domain::mac::Mac;
use store::{Delivery, IncidentRecord, NotificationRecord, Store};
use tokio::sync::watch;

use crate::clock::Clock;

/// Why a send failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Worth trying again: a timeout, a 5xx, a rate limit (`after` is the provider's
    /// `Retry-After`).
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// Trying again will not help (a bad address, a refusal).
    Permanent { message: String },
}

/// A way of sending: email, webhook, Slack, SMS, voice, push.
#[async_trait]
pub trait Channel: Send + Sync {
    /// The contact type it serves (`email`).
    fn name(&self) -> &'static str;
    /// Whether it can send at all (a provider is configured).
    fn configured(&self) -> bool {
        true
    }
    /// Whether several pages to one address are better sent as one message (SMS, calls).
    fn bundles(&self) -> bool {
        false
    }
    /// Sends several pages to one address as one message. Only called when `bundles`.
    async fn send_bundle(
        &self,
        pages: &[(NotificationRecord, IncidentRecord)],
    ) -> Result<String, SendError> {
        let _ = pages;
        Err(SendError::Permanent {
            message: format!("the {} channel does not bundle", self.name()),
        })
    }
    /// Sends one notification about `incident`; the provider's answer on success.
    async fn send(
        &self,
        n: &NotificationRecord,
        incident: &IncidentRecord,
    ) -> Result<String, SendError>;
    /// The copy of what was sent for a notification, when the channel keeps copies (the
    /// demo's inbox does; real providers keep none).
    fn kept(&self, notification: i64) -> Option<KeptEmail> {
        let _ = notification;
        None
    }
}

/// Claims and sends one channel's due notifications.
#[derive(Clone)]
pub struct OutboxWorker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub channel: Arc<dyn Channel>,
    pub owner: String,
    /// How long a claim holds (longer than a send may take).
    pub lease: Duration,
    /// After this many attempts a notification is a dead letter.
    pub max_attempts: i64,
    /// The longest one send may take before it counts as failed.
    pub send_timeout: Duration,
}

/// Seconds to wait after the n-th failed attempt: 10 s doubling, at most 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    Duration::from_secs((10u64 << exp).min(600))
}

/// How many sends each channel has in flight at once unless settings say otherwise: as
/// many as the provider takes without refusing. An SMTP relay and webhook receivers take
/// many connections; ntfy a few; Twilio queues messages itself and accepts a handful of
/// concurrent API requests per account comfortably; Slack allows about one message a
/// second per conversation. A 429 with `Retry-After` still puts a row back until then.
pub const DEFAULT_CONCURRENCY: [(&str, usize); 6] = [
    ("email", 16),
    ("webhook", 16),
    ("push", 8),
    ("sms", 4),
    ("voice", 4),
    ("slack", 2),
];

/// The default concurrency of a channel (4 for one not listed).
pub fn default_concurrency(channel: &str) -> usize {
    DEFAULT_CONCURRENCY
        .iter()
        .find(|(c, _)| *c == channel)
        .map_or(4, |(_, n)| *n)
}

/// How many rows one claim takes with `concurrency` sends in flight: enough to keep
/// every sender busy, and 20 at the least.
fn claim_size(concurrency: usize) -> u32 {
    u32::try_from(concurrency.saturating_mul(4))
        .unwrap_or(u32::MAX)
        .max(20)
}

fn after(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(jiff::SignedDuration::try_from(d).unwrap_or_default())
        .unwrap_or(now)
}

impl OutboxWorker {
    /// One round: sends every due notification of the channel (up to a batch), one at a
    /// time; returns how many outcomes were recorded.
    pub async fn tick(&self) -> store::Result<usize> {
        Ok(self.round(1).await?.0)
    }

    /// One round with up to `concurrency` sends in flight: how many outcomes were
    /// recorded, and whether the claim was full (more may be due).
    async fn round(&self, concurrency: usize) -> store::Result<(usize, bool)> {
        let now = self.clock.now();
        let limit = claim_size(concurrency);
        let claimed = self
            .store
            .claim_notifications(
                self.channel.name(),
                now,
                &self.owner,
                after(now, self.lease),
                limit,
            )
            .await?;
        let full = claimed.len() >= limit as usize;
        // Pages to one address claimed together are bundled when the channel can (SMS and
        // calls in an alert storm): one message, "7 incidents triggered".
        let mut groups: Vec<Vec<(NotificationRecord, Option<IncidentRecord>)>> = Vec::new();
        let mut recorded = 0;
        for n in claimed {
            if n.attempts > self.max_attempts {
                let error = format!(
                    "gave up after {} attempts (the outcome of the last could not be recorded)",
                    n.attempts - 1
                );
                self.count("dead");
                recorded += usize::from(self.record(&n, Delivery::Dead { error }).await);
                continue;
            }
            let incident = match self.store.get_incident(n.incident_id).await {
                Ok(found) => found.map(|d| d.incident),
                Err(e) => {
                    tracing::warn!(error = %e, notification = n.id, channel = self.channel.name(),
                        "cannot read the incident of a notification; it waits for its lease to end");
                    continue;
                }
            };
            let bundle = self.channel.bundles() && n.event == "triggered" && incident.is_some();
            match groups.iter_mut().find(|g| {
                bundle && g[0].0.address == n.address && g[0].0.event == n.event && g[0].1.is_some()
            }) {
                Some(g) => g.push((n, incident)),
                None => groups.push(vec![(n, incident)]),
            }
        }
        if concurrency <= 1 {
            for group in groups {
                recorded += self.send_group(group).await;
            }
        } else {
            // Each send in a task of its own, at most `concurrency` at once.
            let mut sending = tokio::task::JoinSet::new();
            for group in groups {
                while sending.len() >= concurrency {
                    recorded += sending.join_next().await.and_then(|r| r.ok()).unwrap_or(0);
                }
                let me = self.clone();
                sending.spawn(async move { me.send_group(group).await });
            }
            while let Some(r) = sending.join_next().await {
                recorded += r.unwrap_or(0);
            }
        }
        Ok((recorded, full))
    }

    /// Sends one group (one page, or pages bundled into one message) and records each
    /// row's outcome; returns how many were recorded.
    async fn send_group(&self, group: Vec<(NotificationRecord, Option<IncidentRecord>)>) -> usize {
        let mut recorded = 0;
        let sent = match &group[..] {
            [(_, None)] => Err(SendError::Permanent {
                message: "the incident is gone".into(),
            }),
            [(n, Some(i))] => self.timed(self.channel.send(n, i)).await,
            many => {
                let pairs: Vec<(NotificationRecord, IncidentRecord)> = many
                    .iter()
                    .filter_map(|(n, i)| Some((n.clone(), i.clone()?)))
                    .collect();
                self.timed(self.channel.send_bundle(&pairs)).await
            }
        };
        let now = self.clock.now();
        let bundled = group.len();
        for (n, _) in &group {
            let outcome = match &sent {
                Ok(answer) if bundled > 1 => Delivery::Sent {
                    answer: format!("{answer} (one message for {bundled} incidents)"),
                },
                Ok(answer) => Delivery::Sent {
                    answer: answer.clone(),
                },
                Err(SendError::Permanent { message }) => Delivery::Dead {
                    error: message.clone(),
                },
                Err(SendError::Retry { message, .. }) if n.attempts >= self.max_attempts => {
                    Delivery::Dead {
                        error: format!("gave up after {} attempts: {message}", n.attempts),
                    }
                }
                Err(SendError::Retry {
                    message,
                    after: wait,
                }) => Delivery::Retry {
                    error: message.clone(),
                    at: after(now, wait.unwrap_or_default().max(backoff(n.attempts))),
                },
            };
            self.count(match &outcome {
                Delivery::Sent { .. } => "sent",
                Delivery::Retry { .. } => "retry",
                Delivery::Dead { .. } => "dead",
            });
            recorded += usize::from(self.record(n, outcome).await);
        }
        recorded
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!("shinrai_notifications_total", "channel" => self.channel.name(), "outcome" => outcome)
            .increment(1);
    }

    /// Records one row's outcome; `true` when it was recorded (`false` also when the
    /// claim was lost). A failure is never passed on: the other rows of the claim are
    /// still recorded. When the outcome cannot be recorded as it is, it is recorded
    /// without the provider's text; when even that fails, the row waits for its lease to
    /// end, and its next claim counts as another attempt.
    async fn record(&self, n: &NotificationRecord, outcome: Delivery) -> bool {
        let finish = |outcome| {
            self.store
                .finish_notification(n.id, n.fence, outcome, self.clock.now())
        };
        let first = match finish(outcome.clone()).await {
            Ok(done) => return done,
            Err(e) => e,
        };
        tracing::warn!(error = %first, notification = n.id, channel = self.channel.name(),
            "cannot record a notification's outcome; recording it without the provider's answer");
        let plain = "the provider's answer could not be recorded (see the server log)".to_owned();
        let plain = match outcome {
            Delivery::Sent { .. } => Delivery::Sent { answer: plain },
            Delivery::Retry { at, .. } => Delivery::Retry { error: plain, at },
            Delivery::Dead { .. } => Delivery::Dead { error: plain },
        };
        match finish(plain).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, notification = n.id, channel = self.channel.name(),
                    "cannot record a notification's outcome; it waits for its lease to end");
                false
            }
        }
    }

    /// A send, cut off after the send timeout.
    async fn timed(
        &self,
        send: impl std::future::Future<Output = Result<String, SendError>>,
    ) -> Result<String, SendError> {
        tokio::time::timeout(self.send_timeout, send)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Retry {
                    message: format!("no answer within {:?}", self.send_timeout),
                    after: None,
                })
            })
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, shutdown: watch::Receiver<bool>) {
        self.run_waking(every, 1, crate::wake::Wake::default(), shutdown)
            .await;
    }

    /// Sends due notifications every `every`, and at once when `wake` says a commit on
    /// this node queued some for this channel, with up to `concurrency` sends in flight,
    /// until `shutdown` turns true.
    pub async fn run_waking(
        self,
        every: Duration,
        concurrency: usize,
        wake: crate::wake::Wake,
        shutdown: watch::Receiver<bool>,
    ) {
        let what = format!("sending {} notifications", self.channel.name());
        let me = wake.channel(self.channel.name());
        crate::workers::repeat_or_woken(every, Some(me), shutdown, &what, || async {
            // Claims again while claims come back full: a storm is sent as fast as the
            // provider takes it, not a batch per poll.
            let mut recorded = 0;
            loop {
                let (n, full) = self.round(concurrency).await?;
                recorded += n;
                if !full {
                    return Ok::<_, store::StoreError>(recorded);
                }
            }
        })
        .await;
    }
}

/// The event of a test notification (`shinrai user test-notify`): no incident, no links.
pub const TEST_EVENT: &str = "test";

/// A test notification to `user` through `method`, and the stand-in incident it speaks
/// of.
pub fn test_notification(
    user: &domain::Name,
    method: &domain::contact::ContactMethod,
    now: Timestamp,
) -> (NotificationRecord, IncidentRecord) {
    let summary = format!(
        "Test notification from shinrai: if you read this, {} ({}) reaches {user}.",
        method.name,
        method.kind.as_str()
    );
    let n = NotificationRecord {
        id: 0,
        incident_id: 0,
        user: user.clone(),
        channel: method.kind.as_str().to_owned(),
        contact: method.name.to_string(),
        address: method.address.clone(),
        event: TEST_EVENT.into(),
        delivery_id: crate::entropy::secret("")[..32].to_owned(),
        status: "pending".into(),
        due_at: now,
        attempts: 1,
        fence: 0,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    let i = IncidentRecord {
        id: 0,
        service: domain::Name::new("shinrai").expect("a valid name"),
        status: paging::Status::Triggered,
        urgency: domain::Urgency::Low,
        summary,
        created_at: now,
        updated_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        assignees: Vec::new(),
        snoozed_until: None,
        escalation: None,
        dedup_keys: Vec::new(),
    };
    (n, i)
}

/// What a notification says, for every channel.
pub fn subject(n: &NotificationRecord, i: &IncidentRecord) -> String {
    format!(
        "[shinrai] #{} {} ({} urgency) on {}: {}",
        i.id,
        n.event,
        i.urgency.as_str(),
        i.service,
        i.summary
    )
}

/// A channel nobody configured: its notifications become dead letters that say what to
/// set, instead of waiting forever.
pub struct Unconfigured {
    pub channel: &'static str,
    pub hint: &'static str,
}

#[async_trait]
impl Channel for Unconfigured {
    fn name(&self) -> &'static str {
        self.channel
    }

    fn configured(&self) -> bool {
        false
    }

    async fn send(&self, _: &NotificationRecord, _: &IncidentRecord) -> Result<String, SendError> {
        Err(SendError::Permanent {
            message: format!("no {} provider is configured: {}", self.channel, self.hint),
        })
    }
}

/// The demo's email: nothing leaves the machine. Each message is made as [`Email`] makes
/// it (signed acknowledge and resolve links included) and kept in memory, the latest
/// [`Inbox::KEEPS`], for the console's inbox page (`/inbox`) to open.
pub struct Inbox {
    public_url: String,
    link_secret: Vec<u8>,
    clock: Arc<dyn Clock>,
    kept: std::sync::Mutex<std::collections::VecDeque<KeptEmail>>,
}

/// An email as it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptEmail {
    pub notification: i64,
    pub incident: i64,
    /// Who it was for: its links act as them.
    pub user: domain::Name,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub sent_at: Timestamp,
}

impl Inbox {
    /// How many messages it keeps; older ones are forgotten.
    pub const KEEPS: usize = 500;

    pub fn new(public_url: &str, link_secret: Vec<u8>, clock: Arc<dyn Clock>) -> Inbox {
        Inbox {
            public_url: public_url.to_owned(),
            link_secret,
            clock,
            kept: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    fn kept_emails(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<KeptEmail>> {
        // A panic while holding the lock leaves whole entries behind: still usable.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Channel for Inbox {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        if n.event != TEST_EVENT {
            let now = self.clock.now();
            let email = KeptEmail {
                notification: n.id,
                incident: i.id,
                user: n.user.clone(),
                to: n.address.clone(),
                subject: subject(n, i),
                body: email_body(n, i, &self.public_url, &self.link_secret, now),
                sent_at: now,
            };
            let mut kept = self.kept_emails();
            kept.push_back(email);
            while kept.len() > Self::KEEPS {
                kept.pop_front();
            }
        }
        Ok("delivered to the console's inbox (demo)".into())
    }

    fn kept(&self, notification: i64) -> Option<KeptEmail> {
        // A retried notification is kept again; the latest copy is the one that counts.
        self.kept_emails()
            .iter()
            .rev()
            .find(|e| e.notification == notification)
            .cloned()
    }
}

/// Outbound webhooks: JSON, signed `X-Shinrai-Signature: v1=<hex HMAC-SHA256 of the
/// body>` (PagerDuty v3 style), with the delivery id in `X-Shinrai-Delivery`. Users choose
/// the URLs, so every request passes the notifications egress policy.
pub struct Webhook {
    pub egress: crate::egress::Client,
    /// The signing secret; unsigned without one.
    pub secret: Option<Vec<u8>>,
    pub public_url: String,
}

/// `v1=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = domain::mac::hmac::<sha2::Sha256>(secret);
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A provider's `Retry-After`, in seconds.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Maps an HTTP answer: 2xx sent, 429 and 5xx retried, others refused. What is recorded
/// (and shown on the timeline and in test notifications) is the status and a classified
/// reason, never the reply's body: a receiver's answer may hold anything, including what
/// an internal service says about itself.
pub fn http_outcome(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> Result<String, SendError> {
    let code = status.as_u16();
    if status.is_success() {
        Ok(format!("HTTP {code}"))
    } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Err(SendError::Retry {
            message: format!("HTTP {code}: rate limited"),
            after: retry_after(headers),
        })
    } else if status.is_server_error() {
        Err(SendError::Retry {
            message: format!("HTTP {code}: server error"),
            after: retry_after(headers),
        })
    } else if status.is_redirection() {
        Err(SendError::Permanent {
            message: format!("HTTP {code}: a redirect without a usable location"),
        })
    } else {
        Err(SendError::Permanent {
            message: format!("HTTP {code}: refused"),
        })
    }
}

/// A request that got no answer: refusals by the egress policy and unusable URLs are
/// permanent, the rest worth trying again.
fn transport(failure: crate::egress::Failure) -> SendError {
    if failure.permanent() {
        SendError::Permanent {
            message: failure.to_string(),
        }
    } else {
        SendError::Retry {
            message: format!("cannot reach the receiver: {failure}"),
            after: None,
        }
    }
}

/// Sends a request to a provider the operator configured (Slack, Twilio, ntfy) and reads
/// the answer up to the egress reply limit.
async fn provider(req: reqwest::RequestBuilder) -> Result<crate::egress::Reply, SendError> {
    let resp = req.send().await.map_err(|e| {
        tracing::debug!(error = %e, "a request to a provider failed");
        transport(crate::egress::Failure::of(&e))
    })?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = crate::egress::read_limited(resp, crate::egress::REPLY_LIMIT).await;
    Ok(crate::egress::Reply {
        status,
        headers,
        body,
    })
}

#[async_trait]
impl Channel for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        let body = serde_json::json!({
            "event": format!("incident.{}", n.event),
            "delivery_id": n.delivery_id,
            "user": n.user,
            "incident": {
                "id": i.id,
                "number": i.id,
                "status": i.status.as_str(),
                "urgency": i.urgency.as_str(),
                "summary": i.summary,
                "service": i.service,
                "created_at": i.created_at.to_string(),
                "url": format!("{}/api/v1/incidents/{}", self.public_url, i.id),
            },
        })
        .to_string();
        let mut req = self
            .egress
            .request(reqwest::Method::POST, &n.address)
            .map_err(transport)?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Shinrai-Delivery", &n.delivery_id);
        if let Some(secret) = &self.secret {
            req = req.header("X-Shinrai-Signature", signature(secret, body.as_bytes()));
        }
        let reply = self.egress.send(req.body(body)).await.map_err(transport)?;
        http_outcome(reply.status, &reply.headers)
    }
}

/// Email over SMTP (lettre), with a `Message-ID` made from the delivery id so that a
/// retried send is recognisably the same message.
pub struct Email {
    pub transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    pub from: lettre::message::Mailbox,
    pub public_url: String,
    /// Signs the acknowledge and resolve links (the store's `links` secret).
    pub link_secret: Vec<u8>,
    pub clock: Arc<dyn Clock>,
}

impl Email {
    /// A transport from a URL: `smtp://host:port` (plain, for a local relay),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`, with
    /// `user:password@` when the server asks.
    pub fn new(
        url: &str,
        from: &str,
        public_url: &str,
        link_secret: Vec<u8>,
        clock: Arc<dyn Clock>,
    ) -> Result<Email, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL {url:?} is not usable: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("the sender address {from:?} is not usable: {e}"))?;
        Ok(Email {
            transport,
            from,
            public_url: public_url.to_owned(),
            link_secret,
            clock,
        })
    }
}

#[async_trait]
impl Channel for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        use lettre::AsyncTransport;
        let to = n.address.parse().map_err(|e| SendError::Permanent {
            message: format!("{:?} is not an email address: {e}", n.address),
        })?;
        if n.event == TEST_EVENT {
            let message = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(format!("[shinrai] test notification for {}", n.user))
                .message_id(Some(format!("<{}@shinrai>", n.delivery_id)))
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(format!("{}\n", i.summary))
                .map_err(|e| SendError::Permanent {
                    message: format!("the message cannot be built: {e}"),
                })?;
            return match self.transport.send(message).await {
                Ok(resp) => Ok(format!("SMTP {}", resp.code())),
                Err(e) => Err(SendError::Permanent {
                    message: format!("the mail server did not take it: {e}"),
                }),
            };
        }
        let body = email_body(n, i, &self.public_url, &self.link_secret, self.clock.now());
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject(n, i))
            .message_id(Some(format!("<{}@shinrai>", n.delivery_id)))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError::Permanent {
                message: format!("the message cannot be built: {e}"),
            })?;
        match self.transport.send(message).await {
            Ok(resp) => Ok(format!(
                "SMTP {} {}",
                resp.code(),
                resp.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) if e.is_permanent() => Err(SendError::Permanent {
                message: format!("the mail server refused it: {e}"),
            }),
            Err(e) => Err(SendError::Retry {
                message: format!("the mail server did not take it: {e}"),
                after: None,
            }),
        }
    }
}

/// The text of an email about an incident: what happened, and signed acknowledge and
/// resolve links that act as its recipient, made at `now`.
pub fn email_body(
    n: &NotificationRecord,
    i: &IncidentRecord,
    public_url: &str,
    link_secret: &[u8],
    now: Timestamp,
) -> String {
    let link = |action| action_link(public_url, link_secret, i.id, action, &n.user, now);
    format!(
        "{summary}\n\nService: {service}\nUrgency: {urgency}\nStatus: {status}\nOpened: {opened}\n\n\
         Acknowledge: {ack}\n\
         Resolve: {resolve}\n\
         (Each link asks you to confirm, works once and expires in 24 hours.)\n\n\
         Incident #{id}: {url}/api/v1/incidents/{id}\n",
        summary = i.summary,
        service = i.service,
        urgency = i.urgency.as_str(),
        status = i.status.as_str(),
        opened = i.created_at,
        ack = link(crate::links::LinkAction::Acknowledge),
        resolve = link(crate::links::LinkAction::Resolve),
        id = i.id,
        url = public_url,
    )
}

/// Slack: `chat.postMessage` to the person (their Slack user id opens a direct message),
/// a Block Kit message with Acknowledge and Resolve buttons. The API base URL is a
/// setting, so a test (or a proxy) can stand in for slack.com.
pub struct Slack {
    pub http: reqwest::Client,
    /// `https://slack.com/api`.
    pub api_url: String,
    /// The bot token (`xoxb-…`).
    pub token: String,
}

/// The message for an incident: text (Slack's notification fallback) and blocks with the
/// buttons, whose values name the incident.
pub fn slack_message(
    channel: &str,
    n: &NotificationRecord,
    i: &IncidentRecord,
) -> serde_json::Value {
    let text = subject(n, i);
    if n.event != "triggered" {
        // Announcements of an acknowledgement or resolution need no buttons.
        return serde_json::json!({
            "channel": channel,
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": format!(
                "*#{} {}* · {}\n{}", i.id, n.event, slack_escape(i.service.as_str()), slack_escape(&i.summary))}}],
        });
    }
    serde_json::json!({
        "channel": channel,
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!(
                "*#{} {}*\n{} · {} urgency · {}", i.id, slack_escape(&i.summary), slack_escape(i.service.as_str()),
                i.urgency.as_str(), i.status.as_str())}},
            {"type": "actions", "block_id": format!("incident-{}", i.id), "elements": [
                {"type": "button", "action_id": "shinrai_ack", "style": "primary",
                 "text": {"type": "plain_text", "text": "Acknowledge"}, "value": i.id.to_string()},
                {"type": "button", "action_id": "shinrai_resolve",
                 "text": {"type": "plain_text", "text": "Resolve"}, "value": i.id.to_string()}
            ]}
        ]
    })
}

/// Escapes the three characters Slack's mrkdwn gives meaning to.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Slack {
    /// A client for Slack's Web API at `api_url` with a bot token.
    pub fn new(api_url: &str, token: &str) -> Option<Slack> {
        Some(Slack {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .ok()?,
            api_url: api_url.to_owned(),
            token: token.to_owned(),
        })
    }

    /// Calls a Web API method; Slack answers HTTP 200 with `ok: false` for errors, and
    /// 429 with `Retry-After` when rate limited.
    pub async fn call(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, SendError> {
        let reply = provider(
            self.http
                .post(format!("{}/{method}", self.api_url.trim_end_matches('/')))
                .bearer_auth(&self.token)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(body.to_string()),
        )
        .await?;
        let headers = reply.headers;
        if !reply.status.is_success() {
            return http_outcome(reply.status, &headers).map(|_| serde_json::Value::Null);
        }
        let answer: serde_json::Value =
            serde_json::from_slice(&reply.body).map_err(|_| SendError::Retry {
                message: format!(
                    "HTTP {}: Slack answered something that is not JSON",
                    reply.status.as_u16()
                ),
                after: None,
            })?;
        if answer["ok"] == true {
            Ok(answer)
        } else {
            let error = answer["error"]
                .as_str()
                .unwrap_or("unknown_error")
                .to_owned();
            if error == "ratelimited" || error == "internal_error" || error == "fatal_error" {
                Err(SendError::Retry {
                    message: format!("Slack: {error}"),
                    after: retry_after(&headers),
                })
            } else {
                Err(SendError::Permanent {
                    message: format!("Slack: {error}"),
                })
            }
        }
    }
}

#[async_trait]
impl Channel for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        let answer = self
            .call("chat.postMessage", &slack_message(&n.address, n, i))
            .await?;
        Ok(format!(
            "ok channel={} ts={}",
            answer["channel"].as_str().unwrap_or(""),
            answer["ts"].as_str().unwrap_or("")
        ))
    }
}

/// Push through ntfy (self-hostable, no vendor cloud): `POST {base}/{topic}` with the
/// message as the body, a title, a priority by urgency, a click-through, and
/// Acknowledge and Resolve actions that POST the signed links.
pub struct Push {
    pub http: reqwest::Client,
    /// `https://ntfy.sh`, or a self-hosted server.
    pub base_url: String,
    /// An access token (`tk_…`) for protected topics.
    pub token: Option<String>,
    pub public_url: String,
    pub link_secret: Vec<u8>,
    pub clock: Arc<dyn Clock>,
}

/// A signed link for `user` to act on `incident`.
pub fn action_link(
    public_url: &str,
    secret: &[u8],
    incident: i64,
    action: crate::links::LinkAction,
    user: &domain::Name,
    now: Timestamp,
) -> String {
    let l = crate::links::new_link(incident, action, user, now);
    format!(
        "{public_url}/l/{}/{}",
        action.as_str(),
        crate::links::token(secret, &l)
    )
}

#[async_trait]
impl Channel for Push {
    fn name(&self) -> &'static str {
        "push"
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        let now = self.clock.now();
        let link = |a| action_link(&self.public_url, &self.link_secret, i.id, a, &n.user, now);
        let actions = format!(
            "http, Acknowledge, {}, method=POST, clear=true; http, Resolve, {}, method=POST, clear=true",
            link(crate::links::LinkAction::Acknowledge),
            link(crate::links::LinkAction::Resolve)
        );
        let priority = match i.urgency {
            domain::Urgency::High => "urgent",
            domain::Urgency::Low => "default",
        };
        let mut req = self
            .http
            .post(format!(
                "{}/{}",
                self.base_url.trim_end_matches('/'),
                n.address
            ))
            .header("Title", format!("#{} {} on {}", i.id, n.event, i.service))
            .header("Priority", priority)
            .header("Tags", "rotating_light")
            .header(
                "Click",
                format!("{}/api/v1/incidents/{}", self.public_url, i.id),
            )
            .header("Actions", actions)
            .header("X-Shinrai-Delivery", &n.delivery_id)
            .body(i.summary.clone());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let reply = provider(req).await?;
        http_outcome(reply.status, &reply.headers)
    }
}

/// SMS and voice through a Twilio-compatible API (`POST
/// {base}/2010-04-01/Accounts/{sid}/Messages.json` and `…/Calls.json`, HTTP Basic auth).
/// The person acknowledges by replying to the SMS (`ACK 12`) or pressing 1 in the call,
/// through the inbound webhooks under `/integrations/twilio/`.
pub struct Twilio {
    pub http: reqwest::Client,
    /// `https://api.twilio.com`.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The number messages and calls come from (E.164).
    pub from: String,
    pub public_url: String,
    pub link_secret: Vec<u8>,
    pub clock: Arc<dyn Clock>,
}

impl Twilio {
    /// Sends a text message to `to`.
    async fn message(&self, to: &str, body: String) -> Result<String, SendError> {
        self.post(
            "Messages",
            &[
                ("To", to.to_owned()),
                ("From", self.from.clone()),
                ("Body", body),
            ],
        )
        .await
    }

    /// Calls `to` and plays `twiml`.
    async fn call(&self, to: &str, twiml: String) -> Result<String, SendError> {
        self.post(
            "Calls",
            &[
                ("To", to.to_owned()),
                ("From", self.from.clone()),
                ("Twiml", twiml),
            ],
        )
        .await
    }

    async fn post(&self, resource: &str, form: &[(&str, String)]) -> Result<String, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        );
        let reply = provider(
            self.http
                .post(url)
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .form(form),
        )
        .await?;
        // Twilio's answer is JSON; only the fields that identify the message or the
        // error are kept, never the text around them.
        let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        if reply.status.is_success() {
            return Ok(format!(
                "HTTP {} sid={} status={}",
                reply.status.as_u16(),
                answer["sid"].as_str().unwrap_or("?"),
                answer["status"].as_str().unwrap_or("?")
            ));
        }
        http_outcome(reply.status, &reply.headers).map_err(|e| match (e, answer["code"].as_i64()) {
            (SendError::Permanent { message }, Some(code)) => SendError::Permanent {
                message: format!("{message} (Twilio error {code})"),
            },
            (SendError::Retry { message, after }, Some(code)) => SendError::Retry {
                message: format!("{message} (Twilio error {code})"),
                after,
            },
            (e, None) => e,
        })
    }
}

/// Escapes text for XML (TwiML).
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// SMS through Twilio.
pub struct Sms(pub Arc<Twilio>);

/// One line per incident of a bundle, for a text or a call.
fn bundle_lines(pages: &[(NotificationRecord, IncidentRecord)]) -> String {
    pages
        .iter()
        .map(|(_, i)| {
            let summary: String = i.summary.chars().take(60).collect();
            format!("#{} {}: {summary}", i.id, i.service)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[async_trait]
impl Channel for Sms {
    fn name(&self) -> &'static str {
        "sms"
    }

    fn bundles(&self) -> bool {
        true
    }

    async fn send_bundle(
        &self,
        pages: &[(NotificationRecord, IncidentRecord)],
    ) -> Result<String, SendError> {
        let t = &self.0;
        let Some((first, _)) = pages.first() else {
            return Ok("nothing to send".into());
        };
        let body = format!(
            "[shinrai] {} incidents triggered: {}. Reply ACK N or RESOLVE N for each.",
            pages.len(),
            bundle_lines(pages)
        );
        t.message(&first.address, body).await
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        let t = &self.0;
        let ack = action_link(
            &t.public_url,
            &t.link_secret,
            i.id,
            crate::links::LinkAction::Acknowledge,
            &n.user,
            t.clock.now(),
        );
        let summary: String = i.summary.chars().take(160).collect();
        let body = format!(
            "[shinrai] #{} {} urgency on {}: {summary}\nReply ACK {} or RESOLVE {}, or open {ack}",
            i.id,
            i.urgency.as_str(),
            i.service,
            i.id,
            i.id
        );
        t.message(&n.address, body).await
    }
}

/// Voice calls through Twilio: the call reads the incident and gathers one digit (1
/// acknowledges, 2 resolves), posted to `/integrations/twilio/voice`.
pub struct Voice(pub Arc<Twilio>);

#[async_trait]
impl Channel for Voice {
    fn name(&self) -> &'static str {
        "voice"
    }

    fn bundles(&self) -> bool {
        true
    }

    async fn send_bundle(
        &self,
        pages: &[(NotificationRecord, IncidentRecord)],
    ) -> Result<String, SendError> {
        let t = &self.0;
        let Some((first, _)) = pages.first() else {
            return Ok("nothing to send".into());
        };
        let twiml = format!(
            "<Response><Say>This is shinrai. {} incidents were triggered for you: {}. \
             Open shinrai or reply to the text messages to acknowledge them.</Say></Response>",
            pages.len(),
            xml_escape(&bundle_lines(pages))
        );
        t.call(&first.address, twiml).await
    }

    async fn send(&self, n: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        let t = &self.0;
        let action = format!(
            "{}/integrations/twilio/voice?incident={}&user={}",
            t.public_url, i.id, n.user
        );
        let twiml = format!(
            "<Response><Gather numDigits=\"1\" method=\"POST\" action=\"{action}\">\
             <Say>This is shinrai. Incident {id}, {urgency} urgency, on {service}: {summary}. \
             Press 1 to acknowledge. Press 2 to resolve.</Say></Gather>\
             <Say>No key was pressed. Goodbye.</Say></Response>",
            action = xml_escape(&action),
            id = i.id,
            urgency = i.urgency.as_str(),
            service = xml_escape(i.service.as_str()),
            summary = xml_escape(&i.summary),
        );
        t.call(&n.address, twiml).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_up_to_ten_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 600, 600]);
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_with_a_version() {
        // RFC 4231-style known value: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            signature(b"key", b"The quick brown fox jumps over the lazy dog"),
            "v1=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn http_answers_map_to_sent_retry_or_dead_letters() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(
            http_outcome(reqwest::StatusCode::OK, &headers),
            Ok("HTTP 200".into())
        );
        headers.insert(reqwest::header::RETRY_AFTER, "30".parse().unwrap());
        assert_eq!(
            http_outcome(reqwest::StatusCode::TOO_MANY_REQUESTS, &headers),
            Err(SendError::Retry {
                message: "HTTP 429: rate limited".into(),
                after: Some(Duration::from_secs(30))
            })
        );
        assert_eq!(
            http_outcome(
                reqwest::StatusCode::BAD_GATEWAY,
                &reqwest::header::HeaderMap::new(),
            ),
            Err(SendError::Retry {
                message: "HTTP 502: server error".into(),
                after: None
            })
        );
        assert_eq!(
            http_outcome(reqwest::StatusCode::NOT_FOUND, &headers),
            Err(SendError::Permanent {
                message: "HTTP 404: refused".into()
            })
        );
    }
}
