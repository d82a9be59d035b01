//! Process plumbing: named background tasks, logging (journald or stderr), and the
//! systemd notify protocol.

pub mod clock;
pub mod disk;
mod journal;
pub mod memory;
pub mod outbound;
pub mod sysinfo;

use std::future::Future;

use tokio_util::sync::CancellationToken;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Spawns a named background task that ends when `shutdown` is cancelled (the future is
/// dropped at its next await point). Its error is logged with the task's name; a panic
/// is reported by tokio's join handle, which the caller may keep or drop.
pub fn spawn<F>(name: &'static str, shutdown: &CancellationToken, fut: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let span = tracing::info_span!("task", name);
    let shutdown = shutdown.clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            tokio::select! {
                r = fut => if let Err(e) = r {
                    tracing::error!("task {name} failed: {e:#}");
                },
                () = shutdown.cancelled() => tracing::debug!("task {name} stopped: shutting down"),
            }
        },
        span,
    ))
}

/// Whether stderr is connected to the journal (the process runs under systemd):
/// `JOURNAL_STREAM` is set and names the device and inode stderr really is.
pub fn under_journald() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() && systemd_journal_logger::connected_to_journal()
}

/// Sets up logging: to the journal under systemd (native protocol, with each event's
/// fields as journal fields: `torrent_id` → `TORRENT_ID`), to stderr otherwise.
/// `level` is a tracing filter (config `log.level`); `RUST_LOG` overrides it.
pub fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<EnvFilter>().ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    if under_journald() {
        match journal::JournalLayer::new() {
            Ok(layer) => {
                let _ = tracing_subscriber::registry().with(filter).with(layer).try_init();
                return;
            }
            Err(e) => eprintln!("swarmcast: cannot reach the journal ({e}); logging to stderr"),
        }
    }
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = tracing_subscriber::registry().with(filter).with(fmt).try_init();
}

/// Tells systemd something (READY=1, STOPPING=1, WATCHDOG=1, STATUS=…), when run by it.
pub fn notify(state: &[sd_notify::NotifyState]) {
    let _ = sd_notify::notify(state);
}
