//! The one table from error kind to HTTP status and stable error code.
//!
//! API boundary: every REST error is `{"code", "message", "field"}` (plus `errors` when
//! several fields are wrong). Codes are stable: clients may match on them. Integration
//! endpoints (later) answer in their sender's own format instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store::StoreError;

/// A field and what is wrong with it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
    /// `file:line`, when the problem is in a configuration file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            message: message.into(),
            location: None,
        }
    }
}

/// The body of every REST API error.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: see the error table in docs/api.md.
    pub code: &'static str,
    /// For people: what went wrong and what to do next.
    pub message: String,
    /// The field at fault, as a dotted path (`spec.email`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field at fault, when several are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// Every error the REST API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("{message}")]
    InvalidJson {
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Validation {
        message: String,
        errors: Vec<FieldProblem>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    CsrfFailed(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    VersionConflict(String),
    #[error("{0}")]
    Managed(String),
    #[error("{0}")]
    StillReferenced(String),
    #[error("{0}")]
    StateConflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many failed attempts (sign-in); answered with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// The error table: code, HTTP status, and what it means. docs/api.md lists the same
/// rows, and a test keeps the two in step.
pub const ERROR_TABLE: &[(&str, u16, &str)] = &[
    (
        "bad_request",
        400,
        "The request is malformed: a bad query parameter or path.",
    ),
    (
        "invalid_json",
        400,
        "The body is not valid JSON or does not have the expected shape.",
    ),
    (
        "unsupported_media_type",
        415,
        "The body must be sent as application/json.",
    ),
    (
        "validation_failed",
        422,
        "The object breaks one or more rules; `errors` lists each field.",
    ),
    (
        "unauthorized",
        401,
        "No valid token or session: send `Authorization: Bearer TOKEN`.",
    ),
    (
        "forbidden",
        403,
        "The caller's role or scope does not allow this.",
    ),
    (
        "csrf_failed",
        403,
        "A session-authenticated write without the session's CSRF token.",
    ),
    (
        "not_found",
        404,
        "No such object, or none the caller may see.",
    ),
    (
        "already_exists",
        409,
        "An object of that kind and name exists.",
    ),
    (
        "version_conflict",
        409,
        "The object changed since it was read; read it again and retry.",
    ),
    (
        "managed_object",
        409,
        "The object is managed by a configuration file; change the file and apply it.",
    ),
    (
        "still_referenced",
        409,
        "Other objects refer to this one; change them first.",
    ),
    (
        "state_conflict",
        409,
        "The object's state does not allow this (acknowledging a resolved incident).",
    ),
    (
        "payload_too_large",
        413,
        "The body is larger than the server's limit.",
    ),
    (
        "too_many_requests",
        429,
        "Too many failed attempts (sign-in); wait the seconds `Retry-After` says.",
    ),
    (
        "store_unavailable",
        503,
        "The store cannot be reached; retry later.",
    ),
    (
        "internal",
        500,
        "A bug in shinrai; the server log has details.",
    ),
];

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::InvalidJson { .. } => "invalid_json",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::CsrfFailed(_) => "csrf_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::AlreadyExists(_) => "already_exists",
            ApiError::VersionConflict(_) => "version_conflict",
            ApiError::Managed(_) => "managed_object",
            ApiError::StillReferenced(_) => "still_referenced",
            ApiError::StateConflict(_) => "state_conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "store_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = self.code();
        let status = ERROR_TABLE
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or(500, |(_, s, _)| *s);
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    pub fn validation(errors: Vec<FieldProblem>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!(
                "{} fields are invalid, first {}: {}",
                many.len(),
                many.first().map_or("", |e| e.field.as_str()),
                many.first().map_or("", |e| e.message.as_str())
            ),
        };
        ApiError::Validation { message, errors }
    }

    pub fn body(&self) -> ErrorBody {
        let (field, errors) = match self {
            ApiError::BadRequest { field, .. } | ApiError::InvalidJson { field, .. } => {
                (field.clone(), Vec::new())
            }
            ApiError::Validation { errors, .. } => {
                (errors.first().map(|e| e.field.clone()), errors.clone())
            }
            _ => (None, Vec::new()),
        };
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
            field,
            errors,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::AlreadyExists { .. } => ApiError::AlreadyExists(e.to_string()),
            StoreError::VersionConflict { .. } => ApiError::VersionConflict(e.to_string()),
            StoreError::StillReferenced { .. } => ApiError::StillReferenced(e.to_string()),
            StoreError::Conflict(_) => ApiError::StateConflict(e.to_string()),
            StoreError::Contention(_) => ApiError::Unavailable(e.to_string()),
            // The API checks references field by field first; this is the store's own
            // guard against a change that raced with that check.
            StoreError::KeyInUse { .. } => ApiError::validation(vec![FieldProblem::new(
                "spec.integrations",
                format!(
                    "an integration key is taken: {e}; choose another, or leave `key` out to have one generated"
                ),
            )]),
            // The API checks addresses first and names the other user to those who may
            // see them; this is the store's own guard against a write that raced it.
            StoreError::EmailInUse { email, .. } => ApiError::validation(vec![FieldProblem::new(
                "spec.email",
                format!(
                    "{email} is already the email of another user; each email address belongs to one user"
                ),
            )]),
            StoreError::MissingReference { .. } => {
                ApiError::validation(vec![FieldProblem::new("spec", e.to_string())])
            }
            StoreError::Invalid(t) => ApiError::bad_request(t.field(), t.to_string()),
            StoreError::Unavailable(_) => ApiError::Unavailable(e.to_string()),
            StoreError::Corrupt(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        }
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(retry_seconds(*retry_after)),
            _ => None,
        };
        let mut resp = (status, Json(self.body())).into_response();
        if let Some(seconds) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"shinrai\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Whole seconds for `Retry-After`, rounded up so that a client that waits them is let in.
pub fn retry_seconds(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
