//! The one API error: a stable machine code, a clear message, and the HTTP status it maps to.
//! Bodies are `{"error": {"code": "…", "message": "…"}}`; 5xx bodies never carry internals.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::{Fault, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, wrong types, bad CSV, bad rule).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// 401: the login or the password is wrong (one message for both, so that which logins
    /// exist cannot be learnt by trying).
    #[error("wrong login or password")]
    BadCredentials,
    /// 403: signed in, but this role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (or not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with what is stored (already voted, wrong state, taken login).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 413: body or field over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: state changes need a JSON (or CSV where stated) body.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed, but a value is invalid.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 429: too many attempts; try again later.
    #[error("{0}")]
    TooManyRequests(String),
    /// 503: the durable write failed; nothing was recorded and the same request may be retried.
    #[error("the vote could not be stored; nothing was recorded — please try again")]
    Retry,
    /// 503: the disk is full (`storage_full`) or the data directory read-only (`read_only`):
    /// nothing was recorded; reading still works.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// 500: a fault on the server; details are logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Retry | ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Invalid { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests(_) => "too_many_requests",
            ApiError::Retry => "retry",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(
            self,
            ApiError::TooManyRequests(_) | ApiError::Retry | ApiError::Unavailable { .. }
        ) {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

impl ApiError {
    /// The answer to a request that met a storage failure: nothing was recorded.
    pub fn from_fault(fault: Fault) -> Self {
        match fault {
            Fault::Full => ApiError::Unavailable {
                code: "storage_full",
                message: "the server's disk is full, so nothing can be recorded now and nothing \
                          was; what is already recorded is safe and can be read. Try again later."
                    .into(),
            },
            Fault::ReadOnly => ApiError::Unavailable {
                code: "read_only",
                message: "the server's data directory is read-only, so nothing can be recorded \
                          now and nothing was; what is already recorded can be read."
                    .into(),
            },
            Fault::Failed => ApiError::Unavailable {
                code: "retry",
                message: "the server could not use its database just now, so nothing was \
                          recorded; please try again"
                    .into(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.fault() {
            Some(fault) => {
                tracing::warn!(error = %e, "storage failure");
                ApiError::from_fault(fault)
            }
            None => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            JsonRejection::JsonDataError(e) => ApiError::invalid("invalid_field", e.body_text()),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request("malformed_json", e.body_text())
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the request body is larger than this server accepts".into())
            }
            other => ApiError::bad_request("bad_body", other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::NotFound("resource")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("bad_query", rejection.body_text())
    }
}

/// `Json<T>` whose rejections are `ApiError`s with our codes.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// Checks a text field's length in characters.
pub fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if chars > max {
        return Err(ApiError::TooLarge(format!(
            "`{field}` has {chars} characters; at most {max} are allowed"
        )));
    }
    Ok(())
}

/// Checks a required text field: not blank, within its length.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(
            "missing_field",
            format!("`{field}` must not be empty"),
        ));
    }
    check_len(field, value, max)
}
