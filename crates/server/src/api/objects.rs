//! Create, read, update, delete and list the configured kinds (teams, users, services).
//!
//! One set of handlers serves every kind: the kind comes from the route. Objects managed
//! by configuration files are read-only here; the error names the owning file.
//!
//! Longer than 600 lines because one set of handlers serves every configured kind, with the
//! scope checks they share; it splits when kinds are registered one module each.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::{Kind, Labels, Name, Role, Selector};
use runtime::apply::scope_of;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{Change, ListQuery, ObjectDraft, ObjectRecord, WriteContext};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{Access, Doc, Method, Routes};

/// An object as the API shows it: the same shape as a configuration document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ObjectView {
    pub kind: String,
    pub metadata: MetadataView,
    pub spec: Value,
    /// Values shinrai generates (integration keys, ids).
    pub status: Value,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MetadataView {
    pub name: String,
    pub labels: Labels,
    /// Raised on every change; send it back in `metadata.version` to update safely.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The configuration file that owns the object, if files manage it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

impl From<ObjectRecord> for ObjectView {
    fn from(o: ObjectRecord) -> Self {
        ObjectView {
            kind: o.kind.to_string(),
            metadata: MetadataView {
                name: o.name.to_string(),
                labels: o.labels,
                version: o.version,
                created_at: o.created_at.to_string(),
                updated_at: o.updated_at.to_string(),
                managed_by: o.source,
            },
            spec: o.spec,
            status: o.status,
        }
    }
}

impl ObjectView {
    /// The object as `caller` may see it: integration keys only for those who may manage
    /// it (whoever the API lets change it), since a key lets its holder act on the
    /// object's incidents through the integration endpoints.
    pub fn for_caller(caller: &Caller, mut o: ObjectRecord, target: &domain::AccessTarget) -> Self {
        if !may_manage(caller, target) {
            runtime::integrations::hide_keys(&mut o.spec, &mut o.status);
        }
        o.into()
    }
}

/// Whether `caller` may manage (change, and see the secrets of) an object in `target`.
pub(crate) fn may_manage(caller: &Caller, target: &domain::AccessTarget) -> bool {
    caller.may(Role::Admin, target)
}

/// The body of a create or update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectInput {
    /// Optional; when given it must match the collection.
    #[serde(default, rename = "apiVersion")]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub metadata: MetadataInput,
    #[serde(default = "empty_object")]
    pub spec: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataInput {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    /// For updates: fail with `version_conflict` unless the stored version is this one.
    #[serde(default)]
    pub version: Option<i64>,
}

/// One page of objects.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ObjectList {
    pub items: Vec<ObjectView>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub selector: Option<String>,
}

pub fn routes(mut r: Routes) -> Routes {
    for kind in Kind::ALL {
        let plural = kind.plural();
        let one = format!("/api/v1/{plural}/{{name}}");
        let all = format!("/api/v1/{plural}");
        let tag = plural;
        r = r
            .add(
                Method::Get,
                &all,
                Access::Role(Role::Viewer),
                Doc::new(tag, format!("List {plural} the caller may see"))
                    .response("ObjectList")
                    .query("limit", "At most this many (default 100, at most 1000)")
                    .query("after", "Continue after this name (from `next_after`)")
                    .query(
                        "selector",
                        "Label selector, e.g. `company=acme,product!=shop,tier`",
                    ),
                move |s: State<AppState>, c: Caller, q: ApiQuery<ListParams>| list(kind, s, c, q),
            )
            .add(
                Method::Post,
                &all,
                Access::Role(Role::Admin),
                Doc::new(tag, format!("Create a {}", kind.as_str()))
                    .request("ObjectInput")
                    .response("ObjectView")
                    .status(201),
                move |s: State<AppState>, c: Caller, b: ApiJson<ObjectInput>| create(kind, s, c, b),
            )
            .add(
                Method::Get,
                &one,
                Access::Role(Role::Viewer),
                Doc::new(tag, format!("Get a {}", kind.as_str())).response("ObjectView"),
                move |s: State<AppState>, c: Caller, p: Path<String>| get_one(kind, s, c, p),
            )
            .add(
                Method::Put,
                &one,
                Access::Role(Role::Admin),
                Doc::new(tag, format!("Replace a {}", kind.as_str()))
                    .request("ObjectInput")
                    .response("ObjectView"),
                move |s: State<AppState>, c: Caller, p: Path<String>, b: ApiJson<ObjectInput>| {
                    update(kind, s, c, p, b)
                },
            )
            .add(
                Method::Delete,
                &one,
                Access::Role(Role::Admin),
                Doc::new(tag, format!("Delete a {}", kind.as_str())).status(204),
                move |s: State<AppState>, c: Caller, p: Path<String>| remove(kind, s, c, p),
            );
    }
    for kind in [Kind::Service, Kind::Router] {
        let plural = kind.plural();
        r = r.add(
            Method::Post,
            &format!("/api/v1/{plural}/{{name}}/integrations/{{integration}}/rotate"),
            Access::Role(Role::Admin),
            Doc::new(
                plural,
                format!(
                    "Rotate the key of a {}'s integration: the new key works at once, the old one until the server's overlap ends (24 h unless set)",
                    kind.as_str()
                ),
            )
            .response("ObjectView"),
            move |s: State<AppState>, c: Caller, p: Path<(String, String)>| rotate_key(kind, s, c, p),
        );
    }
    r
}

/// The teams, when the kind needs them to decide access (users belong to teams).
async fn teams_for(state: &AppState, kind: Kind) -> ApiResult<Vec<ObjectRecord>> {
    if kind == Kind::User {
        Ok(state.store.snapshot(&[Kind::Team]).await?)
    } else {
        Ok(Vec::new())
    }
}

fn visible(caller: &Caller, o: &ObjectRecord, teams: &[ObjectRecord]) -> bool {
    if o.kind == Kind::User && caller.user() == Some(&o.name) {
        return true; // Everyone may see themselves.
    }
    caller.may(
        Role::Viewer,
        &scope_of(o.kind, &o.name, &o.labels, &o.spec, teams),
    )
}

/// Parses a name from a request, as a validation error naming `field`.
pub(crate) fn parse_name(field: &str, s: &str) -> ApiResult<Name> {
    Name::new(s).map_err(|e| {
        ApiError::validation(vec![FieldProblem::new(
            field,
            format!("{s:?} is not a valid name: {e}"),
        )])
    })
}

/// An object the caller may see, with its access target; `not found` otherwise (objects
/// outside a caller's scope do not exist for them).
pub(crate) async fn find_visible(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    name: &str,
) -> ApiResult<(ObjectRecord, domain::AccessTarget)> {
    let n = Name::new(name).map_err(|_| hidden(kind, name))?;
    let teams = teams_for(state, kind).await?;
    match state.store.get_object(kind, &n).await? {
        Some(o) if visible(caller, &o, &teams) => {
            let target = scope_of(kind, &o.name, &o.labels, &o.spec, &teams);
            Ok((o, target))
        }
        _ => Err(hidden(kind, name)),
    }
}

/// The objects of a kind the caller may see.
pub(crate) async fn all_visible(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
) -> ApiResult<Vec<ObjectRecord>> {
    let teams = teams_for(state, kind).await?;
    Ok(state
        .store
        .snapshot(&[kind])
        .await?
        .into_iter()
        .filter(|o| visible(caller, o, &teams))
        .collect())
}

/// Resolves the names a request gives for other objects (a team's members, a service's
/// owner team and policy, a schedule's people, an override's or a reassignment's person,
/// a token's user): an object is found only when it exists and the caller may see it.
/// Objects outside a caller's scope do not exist for them, so a name in another company
/// answers exactly as an unknown name does and cannot be probed. Every reference a write
/// takes goes through here.
pub(crate) struct Referents<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    /// The teams, read once when a user is looked up (users belong to teams).
    teams: Option<Vec<ObjectRecord>>,
}

impl<'a> Referents<'a> {
    pub(crate) fn new(state: &'a AppState, caller: &'a Caller) -> Self {
        Referents {
            state,
            caller,
            teams: None,
        }
    }

    /// The object named `name`, when it exists and the caller may see it.
    pub(crate) async fn find(&mut self, kind: Kind, name: &str) -> ApiResult<Option<ObjectRecord>> {
        let Ok(n) = Name::new(name) else {
            return Ok(None);
        };
        let Some(o) = self.state.store.get_object(kind, &n).await? else {
            return Ok(None);
        };
        if kind == Kind::User && self.teams.is_none() {
            self.teams = Some(teams_for(self.state, kind).await?);
        }
        let teams = self.teams.as_deref().unwrap_or_default();
        Ok(visible(self.caller, &o, teams).then_some(o))
    }

    /// The object's access target, as [`find`](Self::find) saw it.
    pub(crate) fn target(&self, o: &ObjectRecord) -> domain::AccessTarget {
        scope_of(
            o.kind,
            &o.name,
            &o.labels,
            &o.spec,
            self.teams.as_deref().unwrap_or_default(),
        )
    }
}

fn hidden(kind: Kind, name: &str) -> ApiError {
    ApiError::NotFound(format!("{kind} {name} does not exist"))
}

async fn list(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ObjectList>> {
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request("limit", "limit must be 1 to 1000"));
    }
    let selector = Selector::parse(params.selector.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("selector", e.to_string()))?;
    let mut after = match params.after.as_deref() {
        Some(a) => {
            Some(Name::new(a).map_err(|e| ApiError::bad_request("after", format!("{a:?}: {e}")))?)
        }
        None => None,
    };
    let teams = teams_for(&state, kind).await?;
    let mut items = Vec::new();
    // Read pages until `limit` visible objects are found: scoping filters after the
    // store, so one store page may hold fewer.
    let exhausted = loop {
        let page = state
            .store
            .list_objects(
                kind,
                &ListQuery {
                    after: after.clone(),
                    limit,
                    selector: selector.clone(),
                },
            )
            .await?;
        let full = page.len() as u32 == limit;
        for o in page {
            after = Some(o.name.clone());
            if visible(&caller, &o, &teams) {
                items.push(o);
                if items.len() as u32 == limit {
                    break;
                }
            }
        }
        if items.len() as u32 == limit {
            break false;
        }
        if !full {
            break true;
        }
    };
    let next_after = if exhausted {
        None
    } else {
        items.last().map(|o| o.name.to_string())
    };
    Ok(Json(ObjectList {
        items: items
            .into_iter()
            .map(|o| {
                let target = scope_of(kind, &o.name, &o.labels, &o.spec, &teams);
                ObjectView::for_caller(&caller, o, &target)
            })
            .collect(),
        next_after,
    }))
}

async fn get_one(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<ObjectView>> {
    let (o, target) = find_visible(&state, &caller, kind, &name).await?;
    Ok(Json(ObjectView::for_caller(&caller, o, &target)))
}

/// Checks an input against the kind's rules and returns the normalised draft.
async fn checked_draft(
    state: &AppState,
    kind: Kind,
    input: ObjectInput,
    caller: &Caller,
    before: Option<&ObjectRecord>,
) -> ApiResult<ObjectDraft> {
    let mut problems = Vec::new();
    if let Some(v) = &input.api_version
        && v != "shinrai/v1"
    {
        problems.push(FieldProblem::new(
            "apiVersion",
            format!("must be shinrai/v1, not {v:?}"),
        ));
    }
    if let Some(k) = &input.kind
        && k != kind.as_str()
    {
        problems.push(FieldProblem::new(
            "kind",
            format!("this collection holds {kind} objects, not {k:?}"),
        ));
    }
    let name = match Name::new(input.metadata.name.as_str()) {
        Ok(n) => Some(n),
        Err(e) => {
            problems.push(FieldProblem::new(
                "metadata.name",
                format!("{:?} is not a valid name: {e}", input.metadata.name),
            ));
            None
        }
    };
    for (key, e) in input.metadata.labels.validate() {
        problems.push(FieldProblem::new(
            format!("metadata.labels.{key}"),
            e.to_string(),
        ));
    }
    let spec = match config::Spec::from_value(kind, input.spec) {
        Ok(spec) => {
            for e in spec.validate() {
                problems.push(FieldProblem::new(format!("spec.{}", e.path), e.message));
            }
            // A reference the object already holds stays (whoever set it may see more
            // than this caller; naming it again reveals nothing). A new one must name an
            // object the caller may see.
            let held: Vec<(Kind, Name)> = before
                .and_then(|b| config::Spec::from_value(kind, b.spec.clone()).ok())
                .map(|b| {
                    b.references()
                        .into_iter()
                        .map(|r| (r.kind, r.name))
                        .collect()
                })
                .unwrap_or_default();
            let mut referents = Referents::new(state, caller);
            for r in spec.references() {
                if held.contains(&(r.kind, r.name.clone())) {
                    continue;
                }
                if referents.find(r.kind, r.name.as_str()).await?.is_none() {
                    problems.push(FieldProblem::new(
                        format!("spec.{}", r.path),
                        format!("no {} named {} exists", r.kind, r.name),
                    ));
                }
            }
            if let config::Spec::User(user) = &spec {
                // The store refuses a shared address too; this says it first, by field.
                // The other user is named only to callers who may see them.
                if let Some((other, _)) = state.store.user_by_email(&user.email).await?
                    && name.as_ref() != Some(&other.name)
                {
                    let teams = state.store.snapshot(&[Kind::Team]).await?;
                    let scope = runtime::apply::scope_of(
                        Kind::User,
                        &other.name,
                        &other.labels,
                        &other.spec,
                        &teams,
                    );
                    let whose = if caller.may(Role::Viewer, &scope) {
                        format!("User {}", other.name)
                    } else {
                        "another user".to_owned()
                    };
                    problems.push(FieldProblem::new(
                        "spec.email",
                        format!(
                            "{} is already the email of {whose}; each email address belongs to one user",
                            user.email
                        ),
                    ));
                }
                for (i, g) in user.roles.iter().enumerate() {
                    if !caller.principal.may_delegate(g) {
                        return Err(ApiError::Forbidden(format!(
                            "spec.roles[{i}]: {} cannot grant {g}: nobody hands out more than they hold",
                            caller.principal.subject
                        )));
                    }
                }
            }
            Some(spec)
        }
        Err(errors) => {
            for e in errors {
                problems.push(FieldProblem::new(
                    format!("spec.{}", e.path).trim_end_matches('.').to_owned(),
                    e.message,
                ));
            }
            None
        }
    };
    match (name, spec) {
        (Some(name), Some(spec)) if problems.is_empty() => Ok(ObjectDraft {
            kind,
            name,
            labels: input.metadata.labels,
            references: spec.targets(),
            spec: spec.to_value(),
            source: None,
            status: None,
            lookup_keys: Vec::new(),
        }),
        _ => Err(ApiError::validation(problems)),
    }
}

fn managed(o: &ObjectRecord) -> ApiResult<()> {
    match &o.source {
        Some(file) => Err(ApiError::Managed(format!(
            "{} {} is managed by {file}; change that file and run `shinrai apply`",
            o.kind, o.name
        ))),
        None => Ok(()),
    }
}

fn ctx(state: &AppState, caller: &Caller) -> WriteContext {
    WriteContext {
        actor: caller.actor(),
        at: state.clock.now(),
    }
}

async fn create(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ObjectInput>,
) -> ApiResult<(StatusCode, Json<ObjectView>)> {
    let mut draft = checked_draft(&state, kind, input, &caller, None).await?;
    runtime::integrations::complete(&mut draft, None);
    let teams = teams_for(&state, kind).await?;
    let target = scope_of(kind, &draft.name, &draft.labels, &draft.spec, &teams);
    if !caller.may(Role::Admin, &target) {
        return Err(ApiError::Forbidden(format!(
            "{} may not create {kind} {} in this company or team",
            caller.principal.subject, draft.name
        )));
    }
    let stored = state
        .commit_objects(
            vec![Change::Create {
                draft,
                scope: target,
            }],
            &ctx(&state, &caller),
        )
        .await?;
    let view = stored
        .into_iter()
        .next()
        .map(ObjectView::from)
        .ok_or_else(|| ApiError::Internal("empty commit".into()))?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn update(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<ObjectInput>,
) -> ApiResult<Json<ObjectView>> {
    let n = Name::new(name.as_str()).map_err(|_| hidden(kind, &name))?;
    let teams = teams_for(&state, kind).await?;
    let Some(before) = state
        .store
        .get_object(kind, &n)
        .await?
        .filter(|o| visible(&caller, o, &teams))
    else {
        return Err(hidden(kind, &name));
    };
    if input.metadata.name != name {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "metadata.name",
            format!("must match the path ({name}); objects cannot be renamed"),
        )]));
    }
    managed(&before)?;
    let expected_version = input.metadata.version;
    let mut draft = checked_draft(&state, kind, input, &caller, Some(&before)).await?;
    runtime::integrations::complete(&mut draft, Some(&before.status));
    let target_before = scope_of(kind, &n, &before.labels, &before.spec, &teams);
    let target_after = scope_of(kind, &n, &draft.labels, &draft.spec, &teams);
    if !caller.may(Role::Admin, &target_before) || !caller.may(Role::Admin, &target_after) {
        return Err(ApiError::Forbidden(format!(
            "{} may not change {kind} {name}",
            caller.principal.subject
        )));
    }
    let stored = state
        .commit_objects(
            vec![Change::Update {
                draft,
                expected_version,
                scope: target_after,
            }],
            &ctx(&state, &caller),
        )
        .await?;
    stored
        .into_iter()
        .next()
        .map(|o| Json(o.into()))
        .ok_or_else(|| ApiError::Internal("empty commit".into()))
}

async fn remove(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let n = Name::new(name.as_str()).map_err(|_| hidden(kind, &name))?;
    let teams = teams_for(&state, kind).await?;
    let Some(before) = state
        .store
        .get_object(kind, &n)
        .await?
        .filter(|o| visible(&caller, o, &teams))
    else {
        return Err(hidden(kind, &name));
    };
    let target = scope_of(kind, &n, &before.labels, &before.spec, &teams);
    if !caller.may(Role::Admin, &target) {
        return Err(ApiError::Forbidden(format!(
            "{} may not delete {kind} {name}",
            caller.principal.subject
        )));
    }
    managed(&before)?;
    // The store refuses a delete that would leave references dangling.
    let deleted = state
        .commit_objects(
            vec![Change::Delete {
                kind,
                name: n,
                expected_version: None,
                scope: target,
            }],
            &ctx(&state, &caller),
        )
        .await;
    match deleted {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        // The object that still names it is named only to those who may see it.
        Err(store::StoreError::StillReferenced {
            by_kind, by_name, ..
        }) if !referrer_visible(&state, &caller, &by_kind, &by_name).await? => {
            Err(ApiError::StillReferenced(format!(
                "{kind} {name} is still named by an object outside your scope; someone who may see it must change it first"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

async fn rotate_key(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path((name, integration)): Path<(String, String)>,
) -> ApiResult<Json<ObjectView>> {
    let (before, target) = find_visible(&state, &caller, kind, &name).await?;
    if !may_manage(&caller, &target) {
        return Err(ApiError::Forbidden(format!(
            "{} may not rotate the keys of {kind} {name}: that needs the admin role over it",
            caller.principal.subject
        )));
    }
    let draft = runtime::integrations::rotate(&before, &integration, state.clock.now()).map_err(
        |e| match e {
            runtime::integrations::RotateError::NoSuchIntegration { .. } => {
                ApiError::NotFound(e.to_string())
            }
            runtime::integrations::RotateError::Declared { .. } => {
                ApiError::StateConflict(e.to_string())
            }
        },
    )?;
    // The generated status is the object's own: files that manage the object do not
    // declare it, so a managed object's key rotates too.
    let stored = state
        .commit_objects(
            vec![Change::Update {
                draft,
                expected_version: Some(before.version),
                scope: target.clone(),
            }],
            &ctx(&state, &caller),
        )
        .await?;
    stored
        .into_iter()
        .next()
        .map(|o| Json(ObjectView::for_caller(&caller, o, &target)))
        .ok_or_else(|| ApiError::Internal("empty commit".into()))
}

/// Whether the caller may see the object (by its kind's name, as the store reports it)
/// that refers to one they are changing.
async fn referrer_visible(
    state: &AppState,
    caller: &Caller,
    kind: &str,
    name: &str,
) -> ApiResult<bool> {
    let Ok(kind) = kind.parse::<Kind>() else {
        return Ok(false);
    };
    Ok(Referents::new(state, caller)
        .find(kind, name)
        .await?
        .is_some())
}
