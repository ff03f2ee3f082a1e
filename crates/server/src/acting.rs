//! A person acting on an incident from outside the API (Slack buttons, SMS replies, call
//! key presses): with their own roles, and the service's acknowledgement timeout.

use domain::{Kind, Name, Principal, Role, Subject, UserSpec};
use store::{IncidentAction, IncidentRecord, WriteContext};

use crate::AppState;

/// What a person asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Acknowledge,
    Resolve,
}

impl Act {
    pub fn done(self) -> &'static str {
        match self {
            Act::Acknowledge => "acknowledged",
            Act::Resolve => "resolved",
        }
    }
}

/// How long an acknowledgement of this service's incidents lasts (its
/// `acknowledgement_timeout_minutes`); `None` when it does not time out, or the service
/// cannot be read.
pub async fn ack_timeout(state: &AppState, service: &Name) -> Option<std::time::Duration> {
    let record = state.store.get_object(Kind::Service, service).await.ok()?;
    timeout_of(record.as_ref())
}

/// [`ack_timeout`] of a service already read.
fn timeout_of(service: Option<&store::ObjectRecord>) -> Option<std::time::Duration> {
    service
        .and_then(|s| serde_json::from_value::<domain::ServiceSpec>(s.spec.clone()).ok())
        .and_then(|s| s.acknowledgement_timeout())
}

/// Sends a test through each of a person's contact methods, now, through this server's
/// channels: for each method, whether it worked and the provider's answer or the error.
pub async fn send_tests(
    state: &AppState,
    user: &Name,
    spec: &UserSpec,
) -> Vec<(domain::contact::ContactMethod, bool, String)> {
    let now = state.clock.now();
    let mut results = Vec::new();
    for method in domain::contact::methods(&spec.email, &spec.contact_methods) {
        let (ok, detail) = match state.channel(method.kind.as_str()) {
            None => (
                false,
                format!(
                    "no {} provider is configured on this server",
                    method.kind.as_str()
                ),
            ),
            Some(channel) => {
                let (n, i) = runtime::notify::test_notification(user, &method, now);
                match channel.send(&n, &i).await {
                    Ok(answer) => (true, answer),
                    Err(runtime::notify::SendError::Retry { message, .. })
                    | Err(runtime::notify::SendError::Permanent { message }) => (false, message),
                }
            }
        };
        results.push((method, ok, detail));
    }
    results
}

/// The user of this name, with their spec.
pub async fn user(state: &AppState, name: &Name) -> store::Result<Option<UserSpec>> {
    Ok(state
        .store
        .get_object(Kind::User, name)
        .await?
        .and_then(|r| serde_json::from_value(r.spec).ok()))
}

/// The user one of whose contact methods of `kinds` has this address.
pub async fn user_by_contact(
    state: &AppState,
    kinds: &[domain::contact::ContactType],
    address: &str,
) -> store::Result<Option<(Name, UserSpec)>> {
    if address.is_empty() {
        return Ok(None);
    }
    for record in state.store.snapshot(&[Kind::User]).await? {
        let Ok(spec) = serde_json::from_value::<UserSpec>(record.spec.clone()) else {
            continue;
        };
        if spec
            .contact_methods
            .iter()
            .any(|m| kinds.contains(&m.kind) && m.address == address)
        {
            return Ok(Some((record.name, spec)));
        }
    }
    Ok(None)
}

/// Acts on an incident as `name`, if their roles allow it; the answer to show them
/// either way.
pub async fn act(
    state: &AppState,
    name: &Name,
    spec: &UserSpec,
    incident: i64,
    what: Act,
) -> Result<IncidentRecord, String> {
    let detail = match state.store.get_incident(incident).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(format!("incident #{incident} does not exist")),
        Err(e) => return Err(format!("shinrai cannot reach its store: {e}")),
    };
    let service = state
        .store
        .get_object(Kind::Service, &detail.incident.service)
        .await
        .ok()
        .flatten();
    let target = service
        .as_ref()
        .map(|s| runtime::apply::scope_of(s.kind, &s.name, &s.labels, &s.spec, &[]))
        .unwrap_or_default();
    let principal = Principal {
        subject: Subject::User(name.clone()),
        grants: spec.grants(),
    };
    if !principal.allows(Role::Responder, &target) {
        return Err(format!(
            "{name} may not act on incidents of {}: that needs the responder role",
            detail.incident.service
        ));
    }
    let action = match what {
        Act::Acknowledge => IncidentAction::Acknowledge {
            timeout: timeout_of(service.as_ref()),
        },
        Act::Resolve => IncidentAction::Resolve,
    };
    let ctx = WriteContext {
        actor: format!("user:{name}"),
        at: state.clock.now(),
    };
    state
        .store
        .act_on_incident(incident, action, &ctx)
        .await
        .map_err(|e| format!("#{incident}: {e}"))
}
