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
            timeout: service
                .and_then(|s| serde_json::from_value::<domain::ServiceSpec>(s.spec).ok())
                .and_then(|s| s.acknowledgement_timeout()),
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
