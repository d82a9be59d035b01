//! Paging of list routes: `page` (from 1) and `limit` (1–100), the total before paging
//! in `X-Total-Count`; and the short-lived cache of the plain torrent list's pages.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::error::{ApiError, ApiJson, ApiResult};
use crate::engine::Engine;

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

/// How long a page of the plain torrent list is served from the cache when no event
/// came meanwhile. Rates and progress are sampled once a second anyway.
const LIST_CACHE_TTL: Duration = Duration::from_millis(250);

/// Pages of the plain torrent list as served, by (newest first, skip, take): a box
/// polled by several screens answers from here for `LIST_CACHE_TTL`, unless the
/// engine's generation moved on.
#[derive(Default)]
pub struct ListCache(Mutex<HashMap<(bool, usize, usize), CachedPage>>);

struct CachedPage {
    at: Instant,
    generation: u64,
    total: usize,
    json: Bytes,
}

impl ListCache {
    /// One page of the list in the order added, as JSON, and the total count.
    pub fn page(&self, engine: &Engine, desc: bool, skip: usize, take: usize) -> ApiResult<(usize, Bytes)> {
        let key = (desc, skip, take);
        let generation = engine.generation();
        if let Some(p) = self.0.lock().unwrap().get(&key)
            && p.generation == generation
            && p.at.elapsed() < LIST_CACHE_TTL
        {
            return Ok((p.total, p.json.clone()));
        }
        let (total, views) = engine.list_page(desc, skip, take)?;
        let json = Bytes::from(serde_json::to_vec(&views).map_err(ApiError::internal)?);
        let mut cache = self.0.lock().unwrap();
        if cache.len() >= 16 {
            cache.clear();
        }
        cache.insert(key, CachedPage { at: Instant::now(), generation, total, json: json.clone() });
        Ok((total, json))
    }
}
