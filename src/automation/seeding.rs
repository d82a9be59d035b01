//! Seeding rules: a ratio limit and a seeding-time limit, global or per torrent, with
//! an action (pause, remove, remove with data), applied by a periodic maintenance task
//! and on demand (`POST /api/maintenance/run`, `swarmcast maintenance run`).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::engine::{Engine, EventKind};
use crate::system::clock::{Clock, SystemClock};

/// One rule that fired.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Applied {
    pub torrent_id: String,
    pub name: Option<String>,
    /// `pause`, `remove` or `remove_data`.
    pub action: String,
    /// Which limit was reached, in words.
    pub reason: String,
}

/// The limits in force for one torrent.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub ratio: Option<f64>,
    pub minutes: Option<u64>,
    pub action: String,
}

/// Decides whether a torrent that has seeded `seeded_minutes` at `ratio` is over its
/// limits; returns the reason.
pub fn over_limit(l: &Limits, ratio: f64, seeded_minutes: u64) -> Option<String> {
    if let Some(r) = l.ratio.filter(|r| *r > 0.0)
        && ratio >= r
    {
        return Some(format!("ratio {ratio:.2} reached the limit of {r:.2}"));
    }
    if let Some(m) = l.minutes.filter(|m| *m > 0)
        && seeded_minutes >= m
    {
        return Some(format!("seeded {seeded_minutes} min, the limit is {m} min"));
    }
    None
}

/// Applies the rules once, at `clock`'s time, to every seeding torrent; logs each
/// action in the activity log.
pub async fn run_once(engine: &Arc<Engine>, clock: &dyn Clock) -> anyhow::Result<Vec<Applied>> {
    let global = engine.live().get().seeding.clone();
    let now = clock.now_utc();
    let mut applied = Vec::new();
    for rec in engine.store().torrents()? {
        let id = rec.info_hash.as_str();
        let Some(done) = rec.completed_at.as_deref() else { continue };
        if rec.paused {
            continue;
        }
        let Some(h) = engine.handle(id) else { continue };
        let stats = h.stats();
        if !stats.finished {
            continue;
        }
        let Ok(done) = OffsetDateTime::parse(done, &time::format_description::well_known::Rfc3339) else {
            continue;
        };
        let size: u64 = h.with_metadata(|m| m.file_infos.iter().map(|f| f.len).sum()).unwrap_or(0);
        let ratio = if size > 0 { stats.uploaded_bytes as f64 / size as f64 } else { 0.0 };
        let minutes = (now - done).whole_minutes().max(0) as u64;
        let own = engine.store().torrent_settings(id)?;
        let limits = Limits {
            ratio: own.ratio_limit.or(Some(global.ratio_limit)),
            minutes: own.seed_time_limit_minutes.or(Some(global.time_limit_minutes)),
            action: own.seed_action.clone().unwrap_or(global.action.clone()),
        };
        let Some(reason) = over_limit(&limits, ratio, minutes) else { continue };
        let name = h.name().or(rec.name.clone());
        drop(h);
        let detail = format!("seeding limit: {reason}; action {}", limits.action);
        engine.emit(EventKind::SeedingLimit, id, name.as_deref(), Some(&detail));
        let result = match limits.action.as_str() {
            "remove" => engine.remove(id, false).await.map(|_| ()),
            "remove_data" => engine.remove(id, true).await.map(|_| ()),
            _ => engine.stop(id).await.map(|_| ()),
        };
        if let Err(e) = result {
            tracing::warn!(torrent_id = id, "seeding rule action failed: {e}");
            continue;
        }
        applied.push(Applied { torrent_id: id.to_string(), name, action: limits.action, reason });
    }
    Ok(applied)
}

/// Runs the rules every `seeding.interval_secs`.
pub fn spawn_maintenance(engine: &Arc<Engine>) {
    let weak = Arc::downgrade(engine);
    crate::system::spawn("maintenance", engine.shutdown_token(), async move {
        loop {
            let Some(engine) = weak.upgrade() else { return Ok(()) };
            let every = engine.live().get().seeding.interval_secs.max(1);
            if let Err(e) = run_once(&engine, &SystemClock).await {
                tracing::warn!("maintenance: {e:#}");
            }
            drop(engine);
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let l = Limits { ratio: Some(1.0), minutes: Some(60), action: "pause".into() };
        assert_eq!(over_limit(&l, 0.5, 10), None);
        assert!(over_limit(&l, 1.0, 10).unwrap().contains("ratio"));
        assert!(over_limit(&l, 0.1, 60).unwrap().contains("60 min"));
        let none = Limits { ratio: Some(0.0), minutes: Some(0), action: "pause".into() };
        assert_eq!(over_limit(&none, 99.0, 99999), None);
    }
}
