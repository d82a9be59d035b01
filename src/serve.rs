//! `swarmcast serve`: start the engine, restore torrents, serve the API, and shut
//! down cleanly on SIGTERM (flushing the engine's resume state).

use std::future::IntoFuture;
use std::time::Duration;

use anyhow::Context;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::AppState;
use crate::config::Config;
use crate::system;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let addr = config.listen_addr();
    tracing::info!(
        download_dir = %config.storage.download_dir.display(),
        state_dir = %config.storage.state_dir.display(),
        "starting swarmcast {}",
        env!("CARGO_PKG_VERSION")
    );
    let state = AppState::build(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let shown = if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    tracing::info!("listening on {addr}; open {shown}");
    eprintln!("swarmcast is running: open {shown}");
    system::notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
    spawn_watchdog(state.clone());
    system::disk::spawn_watch(
        state.engine.clone(),
        state.config.storage.download_dir.clone(),
        Duration::from_secs(2),
    );

    let stop = tokio_util::sync::CancellationToken::new();
    let discovery = start_discovery(&state, addr, stop.clone()).await;

    let app = crate::api::app(state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let mut server = tokio::spawn(
        axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned()).into_future(),
    );
    tokio::select! {
        r = &mut server => {
            r.context("HTTP server panicked")?.context("HTTP server failed")?;
        }
        () = shutdown_signal() => {}
    }
    // Tell systemd at once, then give open requests (players mid-segment) a moment
    // and close them, so the flush below always fits in TimeoutStopSec.
    system::notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    stop.cancel();
    discovery.stop().await;
    if tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err() {
        tracing::warn!("connections still open after 5 s; closing them");
        server.abort();
    }

    tracing::info!("shutting down: flushing engine state");
    if tokio::time::timeout(Duration::from_secs(20), state.engine.shutdown()).await.is_err() {
        tracing::warn!("engine did not stop within 20 s");
    }
    Ok(())
}

/// The LAN discovery services: SSDP for the DLNA server, and mDNS.
struct Discovery {
    ssdp: Option<tokio::task::JoinHandle<()>>,
    mdns: Option<crate::mdns::Advertiser>,
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

async fn start_discovery(
    state: &AppState,
    addr: std::net::SocketAddr,
    stop: tokio_util::sync::CancellationToken,
) -> Discovery {
    let c = &state.config;
    if addr.ip().is_loopback() && (c.dlna.enabled || c.mdns.enabled) {
        tracing::warn!(
            "server.listen is {}: TVs and other machines cannot reach what DLNA and mDNS advertise",
            addr.ip()
        );
    }
    let ssdp = c.dlna.enabled.then(|| {
        let (dlna, port) = (state.dlna.clone(), addr.port());
        system::spawn("ssdp", crate::dlna::ssdp::run(dlna, port, stop))
    });
    let mdns = crate::mdns::start(&c.mdns, addr.port()).await;
    Discovery { ssdp, mdns }
}

async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
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
    system::spawn("watchdog", async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let state = state.clone();
            let check = tokio::task::spawn_blocking(move || {
                state.store.integrity_check().is_ok()
                    && state.engine.list().is_ok()
                    && state.engine.session().with_torrents(|ts| ts.count()) < usize::MAX
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
