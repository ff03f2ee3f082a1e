//! Request extractors that fail with the API's own errors: a JSON body whose every
//! problem names the field, and query strings that say which parameter is wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Wrong content type, oversized bodies, malformed JSON and wrong shapes each
/// get their own error code; shape errors name the field (`spec.tier`).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.split(';').next().unwrap_or("").trim();
                ct == "application/json" || ct.ends_with("+json")
            });
        if !json_type {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "the body is larger than the server's limit: {}",
                    rejection.body_text()
                ))
            } else {
                ApiError::InvalidJson {
                    message: format!("cannot read the body: {}", rejection.body_text()),
                    field: None,
                }
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON, naming the field where the shape is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = (path != ".").then_some(path);
        let message = match (&field, inner.classify()) {
            (_, serde_json::error::Category::Syntax | serde_json::error::Category::Eof) => {
                format!("the body is not valid JSON: {inner}")
            }
            (Some(f), _) => format!("{f}: {inner}"),
            (None, _) => inner.to_string(),
        };
        ApiError::InvalidJson { message, field }
    })
}

/// A query string; a bad parameter is a `bad_request` that says what is wrong.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::BadRequest {
                message: format!("bad query string: {}", e.body_text()),
                field: None,
            })
    }
}
