//! Paging of list routes: `page` (from 1) and `limit` (1–100), the total before paging
//! in `X-Total-Count`.

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{ApiError, ApiJson, ApiResult};

/// Answers one page of `all` as a JSON array.
pub fn page<T: Serialize>(
    all: Vec<T>,
    page: Option<usize>,
    limit: Option<usize>,
    default_limit: usize,
) -> ApiResult<Response> {
    let limit = limit.unwrap_or(default_limit);
    if limit == 0 || limit > 100 {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::bad_request("page starts at 1"));
    }
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip((page - 1).saturating_mul(limit)).take(limit).collect();
    let mut resp = ApiJson(items).into_response();
    resp.headers_mut().insert("x-total-count", HeaderValue::from(total));
    Ok(resp)
}
