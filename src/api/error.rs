//! The one API error type: a contract code paired with an HTTP status, serialised as
//! `{"error": {"code", "message"}}`. A 5xx cause is logged and never sent.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::EngineError;

/// The error codes of API.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    RangeNotSatisfiable,
    QuotaExceeded,
    RateLimited,
    MetadataTimeout,
    NoVideoFile,
    NoSeeds,
    NotReady,
    ServiceUnavailable,
    StreamFailed,
    SearchFailed,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        match self {
            Code::BadRequest => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::Conflict => StatusCode::CONFLICT,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Code::QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::MetadataTimeout => StatusCode::GATEWAY_TIMEOUT,
            Code::NoVideoFile => StatusCode::UNPROCESSABLE_ENTITY,
            Code::NoSeeds => StatusCode::SERVICE_UNAVAILABLE,
            Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Code::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::StreamFailed => StatusCode::INTERNAL_SERVER_ERROR,
            Code::SearchFailed => StatusCode::BAD_GATEWAY,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "BAD_REQUEST",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Code::Conflict => "CONFLICT",
            Code::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Code::RangeNotSatisfiable => "RANGE_NOT_SATISFIABLE",
            Code::QuotaExceeded => "QUOTA_EXCEEDED",
            Code::RateLimited => "RATE_LIMITED",
            Code::MetadataTimeout => "METADATA_TIMEOUT",
            Code::NoVideoFile => "NO_VIDEO_FILE",
            Code::NoSeeds => "NO_SEEDS",
            Code::NotReady => "NOT_READY",
            Code::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Code::StreamFailed => "STREAM_FAILED",
            Code::SearchFailed => "SEARCH_FAILED",
            Code::Internal => "INTERNAL_ERROR",
        }
    }
}

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    /// The existing torrent's id, on `CONFLICT`.
    pub id: Option<String>,
    /// Seconds, on `RATE_LIMITED`, `NO_SEEDS` and `NOT_READY`.
    pub retry_after: Option<u64>,
    /// What a player's request waits for, on `NOT_READY` (the stream status's `waiting`);
    /// boxed, so that every `ApiResult` stays small.
    pub waiting: Option<Box<serde_json::Value>>,
    /// Extra headers, such as `Content-Range` on a 416.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), id: None, retry_after: None, waiting: None, headers: Vec::new() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Code::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }
    /// An internal error: the cause goes to the log, the client sees a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause:#}");
        Self::new(Code::Internal, "internal error; see the daemon's log")
    }
    /// Adds `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code.as_str(), "message": self.message } });
        if let Some(id) = &self.id {
            body["error"]["id"] = json!(id);
            body["id"] = json!(id);
        }
        if let Some(w) = self.waiting {
            body["error"]["waiting"] = *w;
        }
        let mut resp = (self.code.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        for (k, v) in self.headers {
            resp.headers_mut().insert(k, v);
        }
        resp
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::BadInput(_) => Code::BadRequest,
            EngineError::NotFound(_) | EngineError::FileNotFound { .. } => Code::NotFound,
            EngineError::AlreadyAdded(id) => {
                let mut err = ApiError::new(Code::Conflict, e.to_string());
                err.id = Some(id.clone());
                return err;
            }
            EngineError::NoMetadata(_) => Code::Conflict,
            EngineError::MetadataTimeout(_) => Code::MetadataTimeout,
            EngineError::NoVideoFile(_) => Code::NoVideoFile,
            EngineError::NoSeeds(_) => Code::NoSeeds,
            EngineError::QuotaExceeded(_) => Code::QuotaExceeded,
            EngineError::Stopped => Code::ServiceUnavailable,
            EngineError::Internal(cause) => return ApiError::internal(cause),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::bad_request(format!("malformed JSON body: {}", r.body_text()))
    }
}

/// `Json` whose rejections use the contract's error body.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
