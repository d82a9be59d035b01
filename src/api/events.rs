//! `GET /api/events`: a Server-Sent Events stream of torrent state for live views.
//!
//! ```text
//! event: torrents  data: [torrent, …]        once, on connect: the full list
//! event: torrent   data: torrent             a row that changed since the last tick (~1 s)
//! event: removed   data: {"id": "…"}         a row that is gone
//! event: activity  data: {event, torrent_id, name, detail, time}   engine events, as they happen
//! event: resync    data: {}                  events were dropped; refetch the list
//! ```
//!
//! Comments (`: keep-alive`) are sent every 15 s so proxies and browsers keep the
//! connection open. The stream ends when the client goes away: dropping it drops the
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
use crate::app::AppState;
use crate::engine::{Engine, Event, TorrentView};

/// How often rows are compared and changed ones pushed.
pub const TICK: Duration = Duration::from_secs(1);

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
    /// The JSON each row had when last sent, by id.
    sent: HashMap<String, String>,
    queue: VecDeque<SseEvent>,
}

impl Feed {
    fn new(engine: std::sync::Arc<Engine>, rx: broadcast::Receiver<Event>) -> Self {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Self { engine, rx, tick, sent: HashMap::new(), queue: VecDeque::new() }
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
