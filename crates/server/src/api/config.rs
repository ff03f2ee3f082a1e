//! Configuration as code through the API: `shinrai plan|apply --server` sends the files,
//! the server plans them against its store and, for apply, commits the plan.
//!
//! Configuration describes the whole organisation and `--prune` may delete any managed
//! object, so both need a global admin.

use axum::Json;
use axum::extract::State;
use domain::Role;
use serde::{Deserialize, Serialize};
use store::WriteContext;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::extract::ApiJson;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Post,
        "/api/v1/config/plan",
        Access::Role(Role::Admin),
        Doc::new(
            "config",
            "Plan configuration files against the store; changes nothing",
        )
        .request("ConfigInput")
        .response("ConfigResult"),
        plan,
    )
    .add(
        Method::Post,
        "/api/v1/config/apply",
        Access::Role(Role::Admin),
        Doc::new(
            "config",
            "Make the store match configuration files, in one transaction",
        )
        .request("ConfigInput")
        .response("ConfigResult"),
        apply,
    )
}

/// One configuration file as the client read it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileInput {
    /// The file's path as the client names it; managed objects record it.
    pub path: String,
    pub content: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigInput {
    pub files: Vec<FileInput>,
    /// Also delete managed objects whose documents are gone.
    #[serde(default)]
    pub prune: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConfigResult {
    pub applied: bool,
    /// `changes`: one `{action, kind, name, source, diffs}` per object.
    #[schema(value_type = Object)]
    pub plan: config::Plan,
}

async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ConfigInput>,
) -> ApiResult<Json<ConfigResult>> {
    let prepared = prepare(&state, &caller, input).await?;
    Ok(Json(ConfigResult {
        applied: false,
        plan: prepared.plan,
    }))
}

async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ConfigInput>,
) -> ApiResult<Json<ConfigResult>> {
    let prepared = prepare(&state, &caller, input).await?;
    let ctx = WriteContext {
        actor: caller.actor(),
        at: state.clock.now(),
    };
    let plan = runtime::apply::commit(&state.store, prepared, &ctx)
        .await
        .map_err(apply_error)?;
    state.forget_cached();
    Ok(Json(ConfigResult {
        applied: true,
        plan,
    }))
}

async fn prepare(
    state: &AppState,
    caller: &Caller,
    input: ConfigInput,
) -> ApiResult<runtime::apply::Prepared> {
    if !caller.principal.is_global(Role::Admin) {
        return Err(ApiError::Forbidden(format!(
            "{} is not a global admin; configuration files describe the whole organisation",
            caller.actor()
        )));
    }
    if input.files.is_empty() {
        return Err(ApiError::bad_request("files", "send at least one file"));
    }
    let files: Vec<config::SourceFile> = input
        .files
        .into_iter()
        .map(|f| config::SourceFile {
            path: f.path,
            content: f.content,
        })
        .collect();
    runtime::apply::prepare(&state.store, &files, input.prune)
        .await
        .map_err(apply_error)
}

fn apply_error(e: runtime::apply::ApplyError) -> ApiError {
    match e {
        runtime::apply::ApplyError::Invalid(problems) => invalid(problems),
        runtime::apply::ApplyError::Store(e) => e.into(),
    }
}

/// Configuration problems as a validation error: each names its file and line.
fn invalid(problems: Vec<config::Problem>) -> ApiError {
    ApiError::validation(
        problems
            .into_iter()
            .map(|p| FieldProblem {
                field: p.path.clone(),
                message: p.message.clone(),
                location: Some(p.location.to_string()),
            })
            .collect(),
    )
}
