//! What a stream reports: its phase and its status for `GET /api/stream/{id}/status`.

use serde::Serialize;

use super::super::probe::Mode;
use super::super::waiting::Waiting;

/// Where a stream's pipeline is.
///
/// ```text
/// Idle ──request──▶ Starting ──pipeline up──▶ Running ⇄ Paused (far enough ahead)
///   ▲                                           │
///   └──────────── idle timeout, run ended ──────┘
/// any ──every encoder failed / unproducible──▶ Failed
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamPhase {
    Idle,
    Starting,
    Running,
    Paused,
    Failed,
}

/// A stream's status, as `GET /api/stream/{id}/status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct StreamStatus {
    pub state: StreamPhase,
    pub mode: Mode,
    pub encoder: Option<String>,
    pub encoder_runs: u32,
    pub failed_encoders: Vec<String>,
    pub segments_ready: usize,
    pub segments_total: usize,
    pub buffered_seconds: f64,
    pub clients: usize,
    pub last_access: Option<String>,
    pub duration: f64,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
}
