//! What a player whose segment is not ready yet is told: what that segment waits for.

use super::Stream;
use crate::media::waiting::Waiting;

impl Stream {
    /// What segment `idx` waits for now: its bytes from the swarm (`data`, with the
    /// peers, rate and time left) or the pipeline making it (`encoding`).
    pub fn waiting_for(&self, idx: usize) -> Waiting {
        self.meter.waiting_at(&self.grid, self.len, self.source.as_ref(), idx)
    }
}
