//! `GET /api/search`: Torznab search over the configured indexers.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::extract::{ApiQuery, Caller};
use crate::api::AppState;
use crate::search;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    query: Option<String>,
    #[serde(rename = "imdbId")]
    imdb_id: Option<String>,
    /// `true` answers `{results, indexers}` with how each indexer did.
    report: Option<bool>,
}

/// Results as an array, sorted by seeders. Indexers that failed are named in
/// `X-Search-Failed` (and their errors are in the log, or in the body with
/// `report=true`); `SEARCH_FAILED` only when every indexer failed.
pub async fn search(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Response> {
    let text = q.query.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request("query is longer than 200 characters"));
    }
    let imdb_id = match q.imdb_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => {
            let digits = id.strip_prefix("tt").unwrap_or(id);
            if digits.len() < 5 || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::bad_request(format!(
                    "imdbId {:?} is not an IMDb id such as tt0133093",
                    id.chars().take(40).collect::<String>()
                )));
            }
            Some(format!("tt{digits}"))
        }
    };
    if text.is_none() && imdb_id.is_none() {
        return Err(ApiError::bad_request("give query or imdbId"));
    }
    let cfg = &state.config.search;
    if cfg.indexers.is_empty() {
        return Err(ApiError::new(
            Code::SearchFailed,
            "no search indexers are configured: add Torznab indexers under [search] indexers",
        ));
    }
    let query = search::Query { text, imdb_id };
    let (results, reports) = search::search(&cfg.indexers, Duration::from_secs(cfg.timeout_secs), &query).await;
    let failed: Vec<&search::IndexerReport> = reports.iter().filter(|r| !r.ok).collect();
    if failed.len() == reports.len() {
        let why: Vec<String> =
            failed.iter().map(|r| format!("{}: {}", r.name, r.error.as_deref().unwrap_or("failed"))).collect();
        return Err(ApiError::new(Code::SearchFailed, format!("every search indexer failed ({})", why.join("; "))));
    }
    let failed_names = failed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ");
    let mut resp = if q.report.unwrap_or(false) {
        ApiJson(json!({ "results": results, "indexers": reports })).into_response()
    } else {
        ApiJson(results).into_response()
    };
    if !failed_names.is_empty() {
        let value: String = failed_names.chars().filter(|c| c.is_ascii() && !c.is_ascii_control()).collect();
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert("x-search-failed", v);
        }
    }
    Ok(resp)
}
