//! The daemon (`swarmcast serve`): builds the state and starts every background task,
//! serves the API, pings the systemd watchdog, and shuts down cleanly on SIGTERM
//! (flushing the engine's resume state).

use std::sync::Arc;
use std::time::{Duration, Instant};

mod http;

use anyhow::Context;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::auth::Auth;
use crate::config::Config;
use crate::engine::Engine;
use crate::media::Media;
use crate::store::Store;
use crate::system;
use crate::system::clock::SystemClock;
use crate::tracker::Tracker;

/// Opens the store, starts the engine (restoring every torrent) and every background
/// task. They all end when `shutdown` is cancelled.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<AppState> {
    let store = Store::open(&config.storage.state_dir)?;
    // Settings changed through `PATCH /api/config` win over the file and env.
    let config = crate::config::live::apply_persisted(&store, config)?;
    crate::config::live::check_paths(&config)?;
    let engine = Engine::open(&config, store.clone(), shutdown.child_token()).await?;
    // Disk management: hooks first, so they see every later event.
    crate::automation::hooks::spawn(&engine);
    crate::engine::quota::spawn_guard(&engine);
    crate::engine::library::spawn_mover(&engine);
    crate::automation::seeding::spawn_maintenance(&engine);
    crate::automation::watch_folder::spawn(&engine);
    let auth = Arc::new(Auth::open(&config, store.clone(), Arc::new(SystemClock))?);
    let tracker = Arc::new(Tracker::new(&config.tracker, store.clone())?);
    tracker.spawn_sweeper(&shutdown);
    let media = Media::new(config.media.clone(), config.storage.cache_dir.join("hls"), shutdown.child_token());
    // The daemon's binary probes the encoders in a child process (not a test binary
    // that embeds the daemon): GStreamer then starts with the first stream.
    if let Ok(exe) = std::env::current_exe()
        && exe.file_name().is_some_and(|n| n == "swarmcast")
    {
        media.probe_in_child(exe);
    }
    media.start();
    media.follow_engine(engine.subscribe());
    let dlna = Arc::new(crate::lan::dlna::Dlna::open(config.dlna.clone(), &config.storage.state_dir)?);
    let renderers = Arc::new(crate::lan::renderers::Renderers::new(config.dlna.interfaces.clone()));
    Ok(AppState {
        config: Arc::new(config),
        store,
        engine,
        media,
        started: Instant::now(),
        auth,
        tracker,
        dlna,
        shutdown,
        list_cache: Default::default(),
        renderers,
        watch_follow: Default::default(),
    })
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let addr = config.listen_addr();
    tracing::info!(
        download_dir = %config.storage.download_dir.display(),
        state_dir = %config.storage.state_dir.display(),
        "starting swarmcast {}",
        env!("CARGO_PKG_VERSION")
    );
    // Caught from here on: a SIGTERM between READY and the server's start (systemd may
    // send one at any time) must stop the daemon in order, not kill it.
    let term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    // Ends every background task, after the engine has flushed its state.
    let root = CancellationToken::new();
    let state = build(config, root.clone()).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let shown =
        if addr.ip().is_unspecified() { format!("http://127.0.0.1:{}", addr.port()) } else { format!("http://{addr}") };
    tracing::info!("listening on {addr}; open {shown}");
    eprintln!("swarmcast is running: open {shown}");
    system::notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
    spawn_watchdog(state.clone());
    crate::engine::disk::spawn_watch(
        state.engine.clone(),
        state.config.storage.download_dir.clone(),
        Duration::from_secs(2),
    );

    // Ends the HTTP server and the discovery services first.
    let stop = CancellationToken::new();
    let discovery = start_discovery(&state, addr, stop.clone()).await;

    let app = crate::api::app(state.clone());
    let limits = http::Limits {
        header_read_timeout: Duration::from_secs(state.config.server.header_read_timeout_secs),
        max_connections: state.config.server.max_connections as usize,
        max_connections_per_address: state.config.server.max_connections_per_address as usize,
    };
    let mut server = tokio::spawn(http::serve(listener, app, limits, stop.clone()));
    tokio::select! {
        r = &mut server => {
            r.context("HTTP server panicked")?;
        }
        () = shutdown_signal(term, int) => {}
    }
    // Tell systemd at once, then give open requests (players mid-segment) a moment
    // and close them, so the flush below always fits in TimeoutStopSec.
    system::notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    stop.cancel();
    // The tracker's WebSockets are upgraded connections the server no longer waits for.
    state.tracker.websockets().close_all(Duration::from_secs(2)).await;
    discovery.stop().await;
    if tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err() {
        tracing::warn!("connections still open after 5 s; closing them");
        server.abort();
    }

    tracing::info!("shutting down: flushing engine state");
    if tokio::time::timeout(Duration::from_secs(20), state.engine.shutdown()).await.is_err() {
        tracing::warn!("engine did not stop within 20 s");
    }
    root.cancel();
    Ok(())
}

/// The LAN discovery services: SSDP for the DLNA server, and mDNS.
struct Discovery {
    ssdp: Option<tokio::task::JoinHandle<()>>,
    mdns: Option<crate::lan::mdns::Advertiser>,
}

impl Discovery {
    /// Says goodbye on both (the SSDP task sends its byebye once `stop` is cancelled).
    async fn stop(self) {
        if let Some(t) = self.ssdp {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        if let Some(m) = self.mdns {
            let _ = tokio::task::spawn_blocking(move || m.stop()).await;
        }
    }
}

async fn start_discovery(state: &AppState, addr: std::net::SocketAddr, stop: CancellationToken) -> Discovery {
    let c = &state.config;
    if addr.ip().is_loopback() && (c.dlna.enabled || c.mdns.enabled) {
        tracing::warn!(
            "server.listen is {}: TVs and other machines cannot reach what DLNA and mDNS advertise",
            addr.ip()
        );
    }
    let ssdp = c.dlna.enabled.then(|| {
        let (dlna, port) = (state.dlna.clone(), addr.port());
        // Under the daemon's token, not `stop`: the task says byebye once `stop` is cancelled.
        system::spawn("ssdp", &state.shutdown, crate::lan::dlna::ssdp::run(dlna, port, stop))
    });
    let mdns = crate::lan::mdns::start(&c.mdns, addr.port()).await;
    Discovery { ssdp, mdns }
}

async fn shutdown_signal(mut term: tokio::signal::unix::Signal, mut int: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("stop requested");
}

/// Pings the systemd watchdog only while the runtime schedules tasks, the blocking
/// pool runs, the store answers and the engine's session lock can be taken, so a
/// wedged daemon gets restarted (WatchdogSec= in swarmcast.service).
fn spawn_watchdog(state: AppState) {
    let Some(timeout) = sd_notify::watchdog_enabled() else { return };
    let every = timeout / 2;
    let shutdown = state.shutdown.clone();
    system::spawn("watchdog", &shutdown, async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let state = state.clone();
            let check = tokio::task::spawn_blocking(move || {
                state.store.integrity_check().is_ok() && state.engine.list().is_ok() && state.engine.responsive()
            });
            let healthy = tokio::time::timeout(every, check).await.is_ok_and(|r| r.unwrap_or(false));
            if healthy {
                system::notify(&[NotifyState::Watchdog]);
            } else {
                tracing::warn!("health check failed; not pinging the watchdog");
            }
        }
    });
}
