//! The REST API under `/api/v1`.

pub mod analytics;
pub mod audit;
pub mod config;
pub mod incidents;
pub mod objects;
pub mod oncall;
pub mod session;
pub mod tokens;

use axum::Json;
use domain::Role;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    let r = r.add(
        Method::Get,
        "/api/v1/whoami",
        Access::Role(Role::Viewer),
        Doc::new("identity", "Who the caller is and what they hold").response("WhoAmI"),
        whoami,
    );
    let r = objects::routes(r);
    let r = tokens::routes(r);
    let r = audit::routes(r);
    let r = session::routes(r);
    let r = config::routes(r);
    let r = incidents::routes(r);
    let r = oncall::routes(r);
    analytics::routes(r)
}

/// The caller and their grants.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// `user:NAME`, `token:NAME` or `system`.
    pub subject: String,
    pub grants: Vec<domain::Grant>,
}

async fn whoami(caller: Caller) -> ApiResult<Json<WhoAmI>> {
    // Anyone with a valid credential may ask who they are, even with no grants.
    Ok(Json(WhoAmI {
        subject: caller.actor(),
        grants: caller.principal.grants,
    }))
}

/// Unknown paths answer in the API's error format.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no route for {}; the API is described at /api/v1/openapi.json",
        uri.path()
    ))
}
