//! Seeding rules on a real engine with real torrents (complete on disk, so they check
//! and seed at once), with an injected clock standing in for the hours of seeding.

use std::sync::Arc;
use std::time::Duration;

use crate::fixture::*;
use swarmcast::automation::seeding::run_once;
use swarmcast::config::Config;
use swarmcast::engine::{AddOptions, Engine, EngineError, Source, Status, parse_torrent};
use swarmcast::store::{Store, TorrentSettings};
use swarmcast::system::clock::ManualClock;

async fn wait_seeding(engine: &Engine, id: &str) {
    for _ in 0..300 {
        if engine.view(id).unwrap().status == Status::Seeding && engine.view(id).unwrap().completed_at.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} did not start seeding: {:?}", engine.view(id).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_seeding_action_runs_at_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path());
    config.quota.min_free_bytes = 0;
    std::fs::create_dir_all(&config.storage.download_dir).unwrap();
    let store = Store::open(&config.storage.state_dir).unwrap();
    let engine: Arc<Engine> = Engine::open(&config, store.clone(), Default::default()).await.unwrap();

    let mut ids = Vec::new();
    for name in ["pause.bin", "remove.bin", "data.bin", "global.bin"] {
        let data = config.storage.download_dir.join(name);
        std::fs::write(&data, vec![name.len() as u8; 300 << 10]).unwrap();
        let t = make_torrent(&data, &dir.path().join(format!("{name}.torrent")), &[]);
        let tf = parse_torrent(std::fs::read(&t).unwrap().into()).unwrap();
        let v = engine.add(Source::Torrent(tf), AddOptions::default()).await.unwrap();
        wait_seeding(&engine, &v.id).await;
        ids.push(v.id);
    }
    for (id, action) in ids.iter().zip(["pause", "remove", "remove_data"]) {
        let s = TorrentSettings {
            seed_time_limit_minutes: Some(60),
            seed_action: Some(action.into()),
            ..Default::default()
        };
        store.set_torrent_settings(id, &s).unwrap();
    }
    let now = time::OffsetDateTime::now_utc();
    let applied = run_once(&engine, &ManualClock::at(now + time::Duration::minutes(30))).await.unwrap();
    assert!(applied.is_empty(), "nothing is due after 30 min: {applied:?}");

    let applied = run_once(&engine, &ManualClock::at(now + time::Duration::minutes(61))).await.unwrap();
    let actions: Vec<_> = applied.iter().map(|a| (a.torrent_id.clone(), a.action.clone())).collect();
    assert_eq!(
        actions,
        vec![
            (ids[0].clone(), "pause".to_string()),
            (ids[1].clone(), "remove".to_string()),
            (ids[2].clone(), "remove_data".to_string()),
        ]
    );
    assert!(applied[0].reason.contains("limit is 60 min"), "{:?}", applied[0]);
    let dl = &config.storage.download_dir;
    assert_eq!(engine.view(&ids[0]).unwrap().status, Status::Paused);
    assert!(matches!(engine.view(&ids[1]), Err(EngineError::NotFound(_))));
    assert!(dl.join("remove.bin").exists(), "remove keeps the data");
    assert!(matches!(engine.view(&ids[2]), Err(EngineError::NotFound(_))));
    assert!(!dl.join("data.bin").exists(), "remove_data deletes it");
    assert_eq!(engine.view(&ids[3]).unwrap().status, Status::Seeding, "no global limit yet");

    // The global rule, changed at run time, reaches the last one.
    engine.live().patch(&serde_json::json!({"seeding": {"time_limit_minutes": 120, "action": "pause"}})).unwrap();
    let applied = run_once(&engine, &ManualClock::at(now + time::Duration::minutes(119))).await.unwrap();
    assert!(applied.is_empty(), "{applied:?}");
    let applied = run_once(&engine, &ManualClock::at(now + time::Duration::minutes(121))).await.unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].torrent_id, ids[3]);
    assert_eq!(engine.view(&ids[3]).unwrap().status, Status::Paused);
    let log = store.activity(100, None).unwrap();
    assert_eq!(log.iter().filter(|a| a.event == "seeding_limit").count(), 4);
    engine.shutdown().await;
}
