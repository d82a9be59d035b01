use std::path::PathBuf;

use anyhow::Context;
use bitvec::{boxed::BitBox, order::Msb0, slice::BitSlice, vec::BitVec};
use tracing::debug_span;

use crate::{spawn_utils::BlockingSpawner, storage::filesystem::OurFileExt};

pub trait BitV: Send + Sync {
    fn as_slice(&self) -> &BitSlice<u8, Msb0>;
    fn as_slice_mut(&mut self) -> &mut BitSlice<u8, Msb0>;
    fn into_dyn(self) -> Box<dyn BitV>;
    fn as_bytes(&self) -> &[u8];
    fn flush(&mut self, flush_async: bool) -> anyhow::Result<()>;
}

pub type BoxBitV = Box<dyn BitV>;

struct DiskFlushRequest {
    snapshot: BitBox<u8, Msb0>,
    seq: u64,
}

/// PATCH(swarmcast bitv-flush): the bitv file and the sequence number of the newest snapshot written to it. Both
/// the flusher task and synchronous flushes (pause, drop) write under this lock, and
/// an older snapshot never overwrites a newer one.
struct BitvFile {
    file: std::fs::File,
    written_seq: u64,
}

impl BitvFile {
    fn write(&mut self, seq: u64, bytes: &[u8]) -> anyhow::Result<()> {
        if seq <= self.written_seq {
            return Ok(());
        }
        self.file.pwrite_all(0, bytes)?;
        self.file.sync_all()?;
        self.written_seq = seq;
        Ok(())
    }
}

pub struct DiskBackedBitV {
    bv: BitBox<u8, Msb0>,
    seq: u64,
    file: std::sync::Arc<std::sync::Mutex<BitvFile>>,
    flush_tx: tokio::sync::mpsc::UnboundedSender<DiskFlushRequest>,
}

impl DiskBackedBitV {
    /// Writes the current bits now, on this thread (a few KiB): used on drop and for
    /// `flush(false)`, so a clean stop never depends on the flusher task still running
    /// (at runtime shutdown it is gone: "flusher task is dead").
    fn flush_sync(&mut self) -> anyhow::Result<()> {
        self.seq += 1;
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write(self.seq, self.bv.as_raw_slice())
    }
}

impl Drop for DiskBackedBitV {
    fn drop(&mut self) {
        if let Err(e) = self.flush_sync() {
            tracing::warn!("error flushing bitv on drop: {e:#}")
        }
    }
}

// NOTE on mmap. rqbit used it for a while, but it has issues on slow disks.
// We want writes to bitv to be instant in RAM. However when disk is slow, occasionally
// the writes stall which blocks the executor.
// Thus this separate "thread" of flushing was implemented.
impl DiskBackedBitV {
    pub async fn new(filename: PathBuf, spawner: BlockingSpawner) -> anyhow::Result<Self> {
        let buf = tokio::fs::read(&filename)
            .await
            .with_context(|| format!("error reading {filename:?}"))?;
        let bv = BitVec::from_vec(buf).into_boxed_bitslice();

        // blocking file to avoid double-buffering and double-memcpy
        let file = spawner
            .block_in_place_with_semaphore(|| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(false)
                    .open(&filename)
            })
            .await
            .with_context(|| format!("error opening {filename:?}"))?;

        let file = std::sync::Arc::new(std::sync::Mutex::new(BitvFile { file, written_seq: 0 }));
        let flusher_file = file.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DiskFlushRequest>();
        librqbit_core::spawn_utils::spawn(
            debug_span!("diskbitv-flusher", ?filename),
            format!("DiskBackedBitV::flusher {filename:?}"),
            async move {
                loop {
                    let Some(mut req) = rx.recv().await else {
                        break;
                    };
                    while let Ok(r) = rx.try_recv() {
                        req = r;
                    }

                    if let Err(e) = spawner
                        .block_in_place_with_semaphore(|| {
                            flusher_file
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .write(req.seq, req.snapshot.as_raw_slice())
                        })
                        .await
                    {
                        tracing::error!(?filename, "error writing to bitv: {e:#}");
                        if let Err(e) = tokio::fs::remove_file(&filename).await {
                            tracing::error!(?filename, "error removing bitv: {e:#}");
                        }
                        break;
                    }
                }

                Ok::<_, anyhow::Error>(())
            },
        );
        Ok(Self { bv, seq: 0, file, flush_tx: tx })
    }
}

#[async_trait::async_trait]
impl BitV for BitBox<u8, Msb0> {
    fn as_slice(&self) -> &BitSlice<u8, Msb0> {
        self.as_bitslice()
    }

    fn as_slice_mut(&mut self) -> &mut BitSlice<u8, Msb0> {
        self.as_mut_bitslice()
    }

    fn as_bytes(&self) -> &[u8] {
        self.as_raw_slice()
    }

    fn flush(&mut self, _flush_async: bool) -> anyhow::Result<()> {
        Ok(())
    }

    fn into_dyn(self) -> Box<dyn BitV> {
        Box::new(self)
    }
}

impl BitV for DiskBackedBitV {
    fn as_slice(&self) -> &BitSlice<u8, Msb0> {
        self.bv.as_bitslice()
    }

    fn as_slice_mut(&mut self) -> &mut BitSlice<u8, Msb0> {
        self.bv.as_mut_bitslice()
    }

    fn as_bytes(&self) -> &[u8] {
        self.bv.as_raw_slice()
    }

    fn flush(&mut self, flush_async: bool) -> anyhow::Result<()> {
        if !flush_async {
            return self.flush_sync();
        }
        self.seq += 1;
        let req = DiskFlushRequest {
            snapshot: self.bv.clone(),
            seq: self.seq,
        };
        if self.flush_tx.send(req).is_err() {
            // The flusher is gone (runtime shutting down): write here instead.
            return self.flush_sync();
        }
        Ok(())
    }

    fn into_dyn(self) -> Box<dyn BitV> {
        Box::new(self)
    }
}

impl BitV for Box<dyn BitV> {
    fn as_slice(&self) -> &BitSlice<u8, Msb0> {
        (**self).as_slice()
    }

    fn as_slice_mut(&mut self) -> &mut BitSlice<u8, Msb0> {
        (**self).as_slice_mut()
    }

    fn as_bytes(&self) -> &[u8] {
        (**self).as_bytes()
    }

    fn flush(&mut self, flush_async: bool) -> anyhow::Result<()> {
        (**self).flush(flush_async)
    }

    fn into_dyn(self) -> Box<dyn BitV> {
        self
    }
}
