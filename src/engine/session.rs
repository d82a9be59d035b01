//! Builds the librqbit session from the config: listener, DHT, persistence with fast
//! resume in the state dir, rate limits, and the blocking-thread permits.

use std::num::NonZeroU32;
use std::sync::Arc;

use anyhow::Context;
use librqbit::{ListenerMode, ListenerOptions, Session, SessionOptions, SessionPersistenceConfig};

use crate::config::Config;

/// Starts a session. Its resume state (JSON + fast resume) and DHT table live in
/// `<state_dir>/engine`.
pub async fn start(config: &Config) -> anyhow::Result<Arc<Session>> {
    let e = &config.engine;
    let engine_state = config.storage.state_dir.join("engine");
    std::fs::create_dir_all(&engine_state).with_context(|| format!("creating {}", engine_state.display()))?;
    let dht = e.dht.then(|| librqbit::DhtSessionConfig {
        bootstrap_addrs: None,
        port: None,
        persistence: Some(librqbit::dht::DhtPersistenceConfig {
            dump_interval: None,
            config_filename: Some(engine_state.join("dht.json")),
        }),
    });
    let opts = SessionOptions {
        dht,
        fastresume: true,
        persistence: Some(SessionPersistenceConfig::Json { folder: Some(engine_state) }),
        listen: Some(ListenerOptions {
            mode: ListenerMode::TcpAndUtp,
            listen_addr: (std::net::Ipv4Addr::UNSPECIFIED, e.listen_port).into(),
            enable_upnp_port_forwarding: e.upnp_port_forward,
            ipv4_only: true,
            ..Default::default()
        }),
        // Readers hold one permit each while they wait for pieces; `disk_threads` more
        // are always left for writes and hashing.
        runtime_worker_threads: Some((e.max_streams + e.disk_threads) as usize),
        ratelimits: librqbit::limits::LimitsConfig {
            download_bps: NonZeroU32::new(e.download_limit.min(u32::MAX as u64) as u32),
            upload_bps: NonZeroU32::new(e.upload_limit.min(u32::MAX as u64) as u32),
        },
        trackers: e.trackers.iter().filter_map(|t| url::Url::parse(t).ok()).collect(),
        peer_limit: Some(e.peer_limit as usize),
        disable_local_service_discovery: !e.lsd,
        ipv4_only: true,
        client_name_and_version: Some(format!("swarmcast {}", env!("CARGO_PKG_VERSION"))),
        ..Default::default()
    };
    Session::new_with_opts(config.storage.download_dir.clone(), opts).await.context("starting the BitTorrent session")
}
