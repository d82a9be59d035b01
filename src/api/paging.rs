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
    let (skip, take) = bounds(page, limit, default_limit)?;
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip(skip).take(take).collect();
    Ok(respond(items, total))
}

/// How many items a page skips and takes, or the contract's error for bad values.
pub fn bounds(page: Option<usize>, limit: Option<usize>, default_limit: usize) -> ApiResult<(usize, usize)> {
    let limit = limit.unwrap_or(default_limit);
    if limit == 0 || limit > 100 {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::bad_request("page starts at 1"));
    }
    Ok(((page - 1).saturating_mul(limit), limit))
}

/// One page already cut, with the total before paging.
pub fn respond<T: Serialize>(items: Vec<T>, total: usize) -> Response {
    let mut resp = ApiJson(items).into_response();
    resp.headers_mut().insert("x-total-count", HeaderValue::from(total));
    resp
}
