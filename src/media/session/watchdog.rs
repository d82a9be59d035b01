//! The stall watchdog: a run that goes past its bound without producing a segment
//! (not counting time paused or waiting for the source's bytes) is stopped and handed
//! to the next encoder, so no player waits on a pipeline that sleeps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ActiveRun, Stream, StreamState};
use crate::media::pipeline::RunEvent;
use crate::media::probe::Mode;

/// The longest a run may go without producing a segment.
pub(super) const STALL_MAX: Duration = Duration::from_secs(15);

impl ActiveRun {
    pub(super) fn mark_progress(&mut self) {
        self.progress_at = Instant::now();
        self.read_wait_at = self.handle.read_wait();
    }

    /// Time since its last progress not spent waiting for the source's bytes.
    pub(super) fn stalled_for(&self) -> Duration {
        let waited = self.handle.read_wait().saturating_sub(self.read_wait_at);
        self.progress_at.elapsed().saturating_sub(waited)
    }
}

impl Stream {
    /// The watchdog's bound for the current run: a start-up allowance plus two
    /// segments at the speed measured on this stream (real time before any), capped at
    /// `STALL_MAX`.
    pub(super) fn stall_bound(&self, st: &StreamState) -> Duration {
        let seg = self.grid.seg_ns as f64 / 1e9;
        let ratio = st.wall_per_media.unwrap_or(1.0).max(0.25);
        Duration::from_secs_f64((3.0 + 2.0 * seg * ratio).clamp(4.0, STALL_MAX.as_secs_f64()))
    }

    /// One watchdog look at run `id`: a run that has gone past its bound without a
    /// segment (not counting time paused or waiting for the source) is reported as
    /// stalled. Returns whether to keep watching.
    pub(super) async fn watch_run(self: &Arc<Self>, id: u64) -> bool {
        let stalled = {
            let mut st = self.state.lock().unwrap();
            let bound = self.stall_bound(&st);
            let Some(r) = st.run.as_mut().filter(|r| r.id == id) else {
                return false;
            };
            // Paused, or its reader waits for the swarm: not a stall of the pipeline (a
            // missing seeder is answered as NO_SEEDS by the segment requests).
            if r.handle.is_paused() || self.meter.blocked() {
                r.mark_progress();
                return true;
            }
            let stalled = r.stalled_for();
            if stalled <= bound {
                return true;
            }
            tracing::warn!(stream = %self.key, run = id, "run stalled: no segment for {stalled:?} (bound {bound:?}) from segment {}", r.next);
            format!("stalled: no segment in {} s", bound.as_secs())
        };
        let ev = match self.mode {
            Mode::Transcode => RunEvent::EncoderFailed { run_id: id, message: stalled },
            _ => RunEvent::Failed {
                run_id: id,
                message: format!(
                    "this film's video ({}) could not be read: the pipeline stopped producing ({stalled})",
                    self.info.video.describe()
                ),
            },
        };
        self.on_event(ev).await;
        false
    }
}
