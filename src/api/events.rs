//! `GET /api/events`: a Server-Sent Events stream of torrent state for live views.
//!
//! ```text
//! event: torrents  data: [torrent, …]        once, on connect: the full list
//! event: torrent   data: torrent             a row that changed since the last tick (~1 s)
//! event: removed   data: {"id": "…"}         a row that is gone
//! event: activity  data: {event, torrent_id, name, detail, time}   engine events, as they happen
//! event: resync    data: {}                  events were dropped; refetch the list
//! event: heartbeat data: {"time": "…"}       every 5 s, whatever else happens
//! ```
//!
//! The heartbeat lets a client tell a quiet box from a stuck one: the web UI says "not
//! responding" when none came for 15 s. Comments (`: keep-alive`) are sent every 15 s
//! as well, for proxies. The stream ends when the client goes away: dropping it drops the
//! event subscription and the tick timer.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Interval, MissedTickBehavior};

use super::error::ApiResult;
use super::extract::Caller;
use crate::api::AppState;
use crate::engine::{Engine, Event, TorrentView};

/// How often rows are compared and changed ones pushed.
pub const TICK: Duration = Duration::from_secs(1);

/// How often a `heartbeat` event is sent.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// `GET /api/events`.
pub async fn events(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    // Subscribe before the snapshot so nothing between the two is lost.
    let rx = state.engine.subscribe();
    let list = state.engine.list()?;
    let mut feed = Feed::new(state.engine.clone(), rx);
    let snapshot = SseEvent::default().event("torrents").data(json_string(&list));
    feed.remember(list);
    feed.queue.push_back(snapshot);
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let ev = feed.next().await;
        Some((Ok(ev), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive")))
}

/// One client's position in the stream: what it was last sent, and what is due.
struct Feed {
    engine: std::sync::Arc<Engine>,
    rx: broadcast::Receiver<Event>,
    tick: Interval,
    heartbeat: Interval,
    /// The JSON each row had when last sent, by id.
    sent: HashMap<String, String>,
    queue: VecDeque<SseEvent>,
}

impl Feed {
    fn new(engine: std::sync::Arc<Engine>, rx: broadcast::Receiver<Event>) -> Self {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Self { engine, rx, tick, heartbeat, sent: HashMap::new(), queue: VecDeque::new() }
    }

    fn remember(&mut self, list: Vec<TorrentView>) {
        self.sent = list.iter().map(|t| (t.id.clone(), json_string(t))).collect();
    }

    /// The next event to send. Cancel-safe: it only waits on the timer and the channel.
    async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return ev;
            }
            tokio::select! {
                _ = self.tick.tick() => self.diff(),
                _ = self.heartbeat.tick() => {
                    let beat = json!({ "time": crate::store::now_rfc3339() });
                    self.queue.push_back(SseEvent::default().event("heartbeat").data(beat.to_string()));
                }
                msg = self.rx.recv() => match msg {
                    Ok(event) => {
                        self.queue.push_back(SseEvent::default().event("activity").data(json_string(&event)));
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.queue.push_back(SseEvent::default().event("resync").data("{}"));
                    }
                    // The engine is shutting down: keep sending rows until the client leaves.
                    Err(RecvError::Closed) => self.rx = self.engine.subscribe(),
                },
            }
        }
    }

    /// Queues every row that changed since it was last sent, and every row that is gone.
    fn diff(&mut self) {
        let list = match self.engine.list() {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!("events: cannot list torrents: {e:#}");
                return;
            }
        };
        let mut seen = HashMap::with_capacity(list.len());
        for t in &list {
            let body = json_string(t);
            if self.sent.get(&t.id) != Some(&body) {
                self.queue.push_back(SseEvent::default().event("torrent").data(body.clone()));
            }
            seen.insert(t.id.clone(), body);
        }
        for id in self.sent.keys().filter(|id| !seen.contains_key(*id)) {
            self.queue.push_back(SseEvent::default().event("removed").data(json!({ "id": id }).to_string()));
        }
        self.sent = seen;
    }
}

fn json_string<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::{AddOptions, Source};
    use axum::body::Body;
    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Reads SSE frames until one of `name` arrives (at most `limit`), returning its data.
    async fn next_event(body: &mut Body, buf: &mut String, name: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v;
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if event == name {
                    return data;
                }
            }
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .unwrap_or_else(|_| panic!("no `{name}` event within {limit:?}"))
                .expect("stream ended")
                .expect("body error");
            if let Ok(bytes) = frame.into_data() {
                buf.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pushes_snapshot_changed_rows_events_and_removals() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::offline(dir.path());
        // The box's own address needs no credentials: the request comes from loopback.
        config.auth.bypass_localhost = true;
        let state = crate::daemon::build(config, Default::default()).await.unwrap();
        let loopback: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let app = crate::api::app(state.clone()).layer(MockConnectInfo(loopback));

        let resp = app.oneshot(Request::get("/api/events").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
        let mut body = resp.into_body();
        let mut buf = String::new();
        let snapshot = next_event(&mut body, &mut buf, "torrents", Duration::from_secs(5)).await;
        assert_eq!(snapshot, "[]");

        // A paused magnet: no network needed, and it stays put.
        let hash = "0123456789abcdef0123456789abcdef01234567";
        let magnet = format!("magnet:?xt=urn:btih:{hash}&dn=sse-test");
        let source = crate::engine::parse_uri(&magnet).unwrap();
        assert!(matches!(source, Source::Magnet(_)));
        state.engine.add(source, AddOptions { paused: true, ..Default::default() }).await.unwrap();

        let added: serde_json::Value =
            serde_json::from_str(&next_event(&mut body, &mut buf, "activity", Duration::from_secs(5)).await).unwrap();
        assert_eq!(added["event"], "added");
        assert_eq!(added["torrent_id"], hash);
        let row: serde_json::Value =
            serde_json::from_str(&next_event(&mut body, &mut buf, "torrent", Duration::from_secs(5)).await).unwrap();
        assert_eq!(row["id"], hash);
        assert_eq!(row["status"], "paused");

        state.engine.remove(hash, false).await.unwrap();
        let gone: serde_json::Value =
            serde_json::from_str(&next_event(&mut body, &mut buf, "removed", Duration::from_secs(5)).await).unwrap();
        assert_eq!(gone["id"], hash);
        // The heartbeat comes on its own, with nothing else happening.
        let beat: serde_json::Value = serde_json::from_str(
            &next_event(&mut body, &mut buf, "heartbeat", HEARTBEAT + Duration::from_secs(2)).await,
        )
        .unwrap();
        assert!(beat["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{beat}");
        state.engine.shutdown().await;
    }
}
