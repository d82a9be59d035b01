//! Search over Torznab indexers (Jackett, Prowlarr): every configured indexer is
//! asked at once with a time limit, and the answers are merged, de-duplicated by
//! info-hash and sorted by seeders. An indexer that fails is reported, not fatal.

pub mod torznab;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::IndexerConfig;
use crate::engine::{MagnetLink, Source, parse_info_hash, parse_uri_with};

/// Largest feed read from one indexer.
const MAX_FEED_BYTES: usize = 8 << 20;

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: Option<String>,
    /// An IMDb id, `tt` followed by digits.
    pub imdb_id: Option<String>,
}

/// One result, as `/api/search` returns it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchResult {
    pub title: String,
    pub size: u64,
    pub seeders: u64,
    pub leechers: u64,
    pub magnet_uri: String,
    pub info_hash: String,
    /// The indexer whose entry was kept (the one with the most seeders).
    pub indexer: String,
    /// Every indexer that returned this torrent.
    pub indexers: Vec<String>,
}

/// How one indexer did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IndexerReport {
    pub name: String,
    pub ok: bool,
    pub results: usize,
    pub error: Option<String>,
    pub millis: u64,
}

/// The Torznab request URL for `query` on `ix`: `api` is appended to the feed's path
/// unless it already ends in `/api`.
pub fn request_url(ix: &IndexerConfig, query: &Query) -> anyhow::Result<url::Url> {
    let mut url = url::Url::parse(&ix.url)?;
    if !url.path().trim_end_matches('/').ends_with("/api") {
        let path = format!("{}/api", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    {
        let mut q = url.query_pairs_mut();
        match &query.imdb_id {
            Some(id) => q.append_pair("t", "movie").append_pair("imdbid", id),
            None => q.append_pair("t", "search"),
        };
        if let Some(text) = &query.text {
            q.append_pair("q", text);
        }
        if !ix.api_key.is_empty() {
            q.append_pair("apikey", ix.api_key.expose());
        }
    }
    Ok(url)
}

/// Turns a feed item into a result; items with neither an info-hash nor a magnet are
/// dropped (a bare .torrent link would hand out the indexer's key).
fn to_result(item: &torznab::Item, indexer: &str) -> Option<SearchResult> {
    let magnet = item
        .attr("magneturl")
        .map(str::to_string)
        .into_iter()
        .chain([item.enclosure_url.clone(), item.link.clone(), item.guid.clone()].into_iter().flatten())
        .find(|u| u.to_ascii_lowercase().starts_with("magnet:?"));
    // Only the info-hash is taken: x.pe peer names are not resolved (no DNS per result).
    let unresolved = |_: &str, port: u16| Some(std::net::SocketAddr::from(([0, 0, 0, 0], port)));
    let from_magnet = magnet.as_deref().and_then(|m| match parse_uri_with(m, &unresolved) {
        Ok(Source::Magnet(link)) => Some(link.info_hash),
        _ => None,
    });
    let info_hash = item.attr("infohash").and_then(parse_info_hash).or(from_magnet)?;
    let magnet_uri = magnet.unwrap_or_else(|| {
        MagnetLink {
            info_hash: info_hash.clone(),
            name: Some(item.title.clone()),
            trackers: Vec::new(),
            peers: Vec::new(),
            select_only: None,
        }
        .to_uri()
    });
    let num = |n: &str| item.attr(n).and_then(|v| v.trim().parse::<u64>().ok());
    let seeders = num("seeders").unwrap_or(0);
    let leechers = num("leechers").unwrap_or_else(|| num("peers").unwrap_or(0).saturating_sub(seeders));
    Some(SearchResult {
        title: item.title.clone(),
        size: item.size.or(num("size")).or(item.enclosure_length).unwrap_or(0),
        seeders,
        leechers,
        magnet_uri,
        info_hash,
        indexer: indexer.to_string(),
        indexers: vec![indexer.to_string()],
    })
}

async fn query_one(client: &reqwest::Client, ix: &IndexerConfig, query: &Query) -> anyhow::Result<Vec<SearchResult>> {
    let url = request_url(ix, query)?;
    let mut resp = client.get(url).send().await.map_err(|e| anyhow::anyhow!("{}", e.without_url()))?;
    if !resp.status().is_success() {
        anyhow::bail!("HTTP {}", resp.status());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| anyhow::anyhow!("{}", e.without_url()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_FEED_BYTES {
            anyhow::bail!("the feed is larger than {MAX_FEED_BYTES} bytes");
        }
    }
    let items = torznab::parse(&String::from_utf8_lossy(&body))?;
    Ok(items.iter().filter_map(|i| to_result(i, &ix.name)).collect())
}

/// Asks every indexer at once, each for at most `timeout`. Cancelling drops the
/// requests still in flight.
pub async fn search(
    indexers: &[IndexerConfig],
    timeout: Duration,
    query: &Query,
) -> (Vec<SearchResult>, Vec<IndexerReport>) {
    // The time limit is the `tokio::time::timeout` below, so that it reads as one.
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .user_agent(concat!("swarmcast/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a default HTTP client builds");
    let asks = indexers.iter().map(|ix| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, query_one(&client, ix, query)).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("no answer within {} s", timeout.as_secs_f32())),
            };
            (ix, result, started.elapsed())
        }
    });
    let answers = futures::future::join_all(asks).await;
    let mut merged: HashMap<String, SearchResult> = HashMap::new();
    let mut reports = Vec::new();
    for (ix, result, took) in answers {
        let millis = took.as_millis() as u64;
        match result {
            Ok(results) => {
                reports.push(IndexerReport {
                    name: ix.name.clone(),
                    ok: true,
                    results: results.len(),
                    error: None,
                    millis,
                });
                for r in results {
                    match merged.get_mut(&r.info_hash) {
                        Some(have) => {
                            let mut names = std::mem::take(&mut have.indexers);
                            if !names.contains(&r.indexer) {
                                names.push(r.indexer.clone());
                            }
                            if r.seeders > have.seeders {
                                *have = r;
                            }
                            have.indexers = names;
                        }
                        None => {
                            merged.insert(r.info_hash.clone(), r);
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(indexer = ix.name, "search failed: {e:#}");
                reports.push(IndexerReport {
                    name: ix.name.clone(),
                    ok: false,
                    results: 0,
                    error: Some(format!("{e:#}")),
                    millis,
                });
            }
        }
    }
    let mut results: Vec<SearchResult> = merged.into_values().collect();
    results.sort_by(|a, b| b.seeders.cmp(&a.seeders).then_with(|| a.title.cmp(&b.title)));
    (results, reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ix = |url: &str, key: &str| IndexerConfig { name: "x".into(), url: url.into(), api_key: key.into() };
        let q = Query { text: Some("big buck".into()), imdb_id: None };
        assert_eq!(
            request_url(&ix("http://j:9117/api/v2.0/indexers/all/results/torznab/", "k"), &q).unwrap().as_str(),
            "http://j:9117/api/v2.0/indexers/all/results/torznab/api?t=search&q=big+buck&apikey=k"
        );
        let q = Query { text: None, imdb_id: Some("tt0133093".into()) };
        assert_eq!(
            request_url(&ix("http://p:9696/1/api", ""), &q).unwrap().as_str(),
            "http://p:9696/1/api?t=movie&imdbid=tt0133093"
        );
    }
}
