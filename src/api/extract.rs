//! Request extractors shared by the handlers.
//!
//! `Caller` is who is making a request. Every handler that needs credentials takes
//! one, so the route cannot be reached without them once auth decides who may pass.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::AppState;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user's id; `None` for the local administrator (CLI on the box).
    pub user_id: Option<i64>,
    pub is_admin: bool,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        // Accounts are not implemented yet: every caller is the box's administrator.
        Ok(Caller { user_id: None, is_admin: true })
    }
}
