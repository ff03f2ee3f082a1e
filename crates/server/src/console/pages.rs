//! What the console's pages share: rendering a page for the signed-in person, what that
//! person may see (objects, people, mentions that link), and whom a service would page.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::{Kind, Name, Role};

use super::{Session, error_page, render};
use crate::AppState;

/// Whether the request comes from htmx refreshing part of a page.
pub(super) fn partial(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
}

/// Renders a page for the signed-in person: the layout's "signed in as" and sign-out
/// form come from the session.
pub(super) fn page(session: &Session, template: &str, mut ctx: serde_json::Value) -> Response {
    ctx["user"] = if session.name.trim().is_empty() {
        session.caller.actor()
    } else {
        session.name.clone()
    }
    .into();
    // Pages that need the admin role are linked only for those who hold it.
    ctx["admin"] = session.caller.require(Role::Admin).is_ok().into();
    ctx["csrf"] = session.csrf.clone().into();
    render(template, minijinja::Value::from_serialize(ctx))
}

/// Why nobody would be paged now for each of `services` that pages nobody (the others are
/// not in the map): a missing policy, or every level giving nobody reachable. One
/// directory is loaded for all of them, so a list page costs the same as one service.
pub(super) async fn pages_nobody(
    state: &AppState,
    services: &[&store::ObjectRecord],
) -> std::collections::HashMap<Name, String> {
    use oncall::escalation::EscalationPolicySpec;
    let mut out = std::collections::HashMap::new();
    let Ok(policies) = state.store.snapshot(&[Kind::EscalationPolicy]).await else {
        return out;
    };
    let mut chosen: Vec<(&Name, Option<EscalationPolicySpec>)> = Vec::new();
    for s in services {
        let Some(name) = s.spec["escalation_policy"].as_str() else {
            chosen.push((&s.name, None));
            continue;
        };
        match policies
            .iter()
            .find(|p| p.name.as_str() == name)
            .and_then(|p| serde_json::from_value::<EscalationPolicySpec>(p.spec.clone()).ok())
        {
            Some(spec) => chosen.push((&s.name, Some(spec))),
            None => {
                out.insert(
                    s.name.clone(),
                    format!("escalation policy {name} does not exist"),
                );
            }
        }
    }
    let mut schedules: Vec<Name> = Vec::new();
    for spec in chosen.iter().filter_map(|(_, p)| p.as_ref()) {
        for s in spec.schedules() {
            if !schedules.contains(&s) {
                schedules.push(s);
            }
        }
    }
    let now = state.clock.now();
    let Ok(dir) = runtime::oncall::StoreDirectory::load_for(&*state.store, now, &schedules).await
    else {
        return out;
    };
    for (name, spec) in chosen {
        if let Some(why) = oncall::escalation::pages_nobody(spec.as_ref(), now, &dir) {
            out.insert(name.clone(), why);
        }
    }
    out
}

/// The people the signed-in person may see, by name: the choices of person pickers.
pub(super) async fn people(state: &AppState, session: &Session) -> Vec<String> {
    crate::api::objects::all_visible(state, &session.caller, Kind::User)
        .await
        .unwrap_or_default()
        .iter()
        .map(|u| u.name.to_string())
        .collect()
}

/// An object the signed-in person may see, or the "not found" page (also for objects of
/// another company: they do not exist for them).
pub(super) async fn visible_object(
    state: &AppState,
    session: &Session,
    kind: Kind,
    what: &str,
    name: &str,
) -> Result<store::ObjectRecord, Response> {
    crate::api::objects::find_visible(state, &session.caller, kind, name)
        .await
        .map(|(r, _)| r)
        .map_err(|_| {
            error_page(
                StatusCode::NOT_FOUND,
                &format!("There is no {what} {name}."),
            )
        })
}

pub(super) fn scope(
    r: &store::ObjectRecord,
    teams: &[store::ObjectRecord],
) -> domain::AccessTarget {
    runtime::apply::scope_of(r.kind, &r.name, &r.labels, &r.spec, teams)
}

pub(super) fn labels_text(r: &store::ObjectRecord) -> String {
    r.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of the objects of a kind the signed-in person may see.
pub(super) async fn visible_names(
    state: &AppState,
    session: &Session,
    kind: Kind,
) -> Result<std::collections::BTreeSet<String>, Response> {
    list(state, session, kind)
        .await
        .map(|all| all.into_iter().map(|r| r.name.to_string()).collect())
}

/// The objects of a kind the signed-in person may see, by name.
pub(super) async fn list(
    state: &AppState,
    session: &Session,
    kind: Kind,
) -> Result<Vec<store::ObjectRecord>, Response> {
    let mut all = crate::api::objects::all_visible(state, &session.caller, kind)
        .await
        .map_err(|e| error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

/// The people, schedules and teams the signed-in person may see: what a mention of one
/// links to.
pub(super) struct Visible {
    pub(super) users: std::collections::BTreeSet<String>,
    pub(super) schedules: std::collections::BTreeSet<String>,
    pub(super) teams: std::collections::BTreeSet<String>,
}

impl Visible {
    pub(super) async fn load(state: &AppState, session: &Session) -> Result<Self, Response> {
        Ok(Self {
            users: visible_names(state, session, Kind::User).await?,
            schedules: visible_names(state, session, Kind::Schedule).await?,
            teams: visible_names(state, session, Kind::Team).await?,
        })
    }
}

/// A mention of an object for a template: its name, and the pages of its kind
/// (`users`) when the person may see it, so that it links to `/users/{name}`
/// (`templates/macros.html`'s `mention` shows either).
pub(super) fn mention(
    visible: &std::collections::BTreeSet<String>,
    pages: &str,
    name: &str,
) -> serde_json::Value {
    let pages = visible.contains(name).then_some(pages);
    serde_json::json!({"name": name, "pages": pages})
}

/// The strings of a JSON array (a team's members, a layer's users).
pub(super) fn names_in(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
