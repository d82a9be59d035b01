//! The process's allocator policy (glibc malloc): few arenas, and what finished work
//! freed handed back to the kernel (`malloc_trim`), off the async runtime and at most
//! once a second.
//!
//! Why: a pipeline run allocates from many threads (GStreamer's streaming threads,
//! x264's and libav's workers), each of which glibc gives an arena of its own, up to 8
//! per core. What a run frees stays in those arenas, free but resident: after 50
//! start/stop rounds of a transcode the daemon held 268 MB in its arenas for 9 MB in
//! use, and kept climbing (x264's frame buffers, which it asks huge pages for, stay
//! whole inside the arenas). With the arenas capped and a trim after every run, a
//! stopped stream gives its memory back (README, "Memory"). A fixed mmap threshold
//! (frames mapped apart) was tried and left out: at 512 KiB it cost a transcode a fifth
//! more CPU in page faults.
//!
//! Other C libraries are untouched: this is glibc's own policy, the same one the
//! `MALLOC_ARENA_MAX` / `GLIBC_TUNABLES` environment sets, which still wins when given.

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Arenas glibc may create (its default is 8 per core).
const ARENA_MAX: i32 = 2;
/// The shortest time between two trims (one takes a few milliseconds).
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How long a requested trim waits, so that what is freed together is trimmed together
/// (a pipeline's elements finish their teardown a little apart).
const SETTLE: Duration = Duration::from_millis(200);

/// Sets the allocator policy. Call first thing in `main`, before threads start.
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let given = |env: &str, tunable: &str| std::env::var_os(env).is_some() || tunables.contains(tunable);
        // SAFETY: mallopt only changes malloc's parameters; it takes malloc's own lock.
        unsafe {
            if !given("MALLOC_ARENA_MAX", "arena_max") {
                nix::libc::mallopt(nix::libc::M_ARENA_MAX, ARENA_MAX);
            }
        }
    }
}

/// Hands the memory malloc holds free back to the kernel now, on the calling thread
/// (a few milliseconds; not on an async worker). Returns whether any was released.
pub fn trim() -> bool {
    // SAFETY: malloc_trim takes each arena's lock; it frees nothing in use.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let released = unsafe { nix::libc::malloc_trim(0) } == 1;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let released = false;
    released
}

/// What malloc holds: bytes in use by the program, and bytes taken from the kernel
/// (in use, free in its arenas, and mapped blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heap {
    pub in_use: u64,
    pub held: u64,
}

/// The allocator's figures now, summed over its arenas (`None` off glibc).
pub fn heap() -> Option<Heap> {
    // SAFETY: mallinfo2 only reads malloc's statistics under its locks.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let heap = {
        let m = unsafe { nix::libc::mallinfo2() };
        Some(Heap { in_use: (m.uordblks + m.hblkhd) as u64, held: (m.arena + m.hblkhd) as u64 })
    };
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let heap = None;
    heap
}

/// Asks for a trim soon: one thread does it, a moment after the last request and never
/// more often than every `MIN_INTERVAL`, so a burst of requests costs one trim. Safe
/// from any thread, async workers too (it only signals).
pub fn trim_soon() {
    let t = trimmer();
    *t.asked.lock().unwrap() = true;
    t.wake.notify_one();
}

/// How many trims the trimming thread has done (for logs and tests).
pub fn trims_done() -> u64 {
    TRIMMER.get().map_or(0, |t| *t.done.lock().unwrap())
}

struct Trimmer {
    asked: Mutex<bool>,
    wake: Condvar,
    done: Mutex<u64>,
}

static TRIMMER: OnceLock<&'static Trimmer> = OnceLock::new();

fn trimmer() -> &'static Trimmer {
    TRIMMER.get_or_init(|| {
        let t: &'static Trimmer =
            Box::leak(Box::new(Trimmer { asked: Mutex::new(false), wake: Condvar::new(), done: Mutex::new(0) }));
        let spawned = std::thread::Builder::new().name("malloc-trim".into()).spawn(move || {
            loop {
                let mut asked = t.asked.lock().unwrap();
                while !*asked {
                    asked = t.wake.wait(asked).unwrap();
                }
                drop(asked);
                std::thread::sleep(SETTLE);
                *t.asked.lock().unwrap() = false;
                let (began, before) = (Instant::now(), super::sysinfo::process_rss());
                trim();
                *t.done.lock().unwrap() += 1;
                let (after, heap) = (super::sysinfo::process_rss(), heap());
                tracing::debug!(
                    "malloc trim: RSS {:.1} → {:.1} MB in {:?}; malloc holds {:.1} MB for {:.1} MB in use",
                    before as f64 / 1e6,
                    after as f64 / 1e6,
                    began.elapsed(),
                    heap.map_or(0, |h| h.held) as f64 / 1e6,
                    heap.map_or(0, |h| h.in_use) as f64 / 1e6,
                );
                std::thread::sleep(MIN_INTERVAL.saturating_sub(SETTLE));
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the malloc-trim thread: {e}");
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_trim_happens_and_bursts_coalesce() {
        let before = trims_done();
        for _ in 0..50 {
            trim_soon();
        }
        let t = Instant::now();
        while trims_done() == before && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(trims_done() > before, "no trim within 10 s");
        // Fifty requests at once are one or two trims, not fifty.
        std::thread::sleep(SETTLE * 2);
        assert!(trims_done() - before <= 2, "{} trims", trims_done() - before);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn heap_figures_follow_what_is_allocated() {
        let a = heap().unwrap();
        assert!(a.held >= a.in_use && a.in_use > 0);
        // A large block is counted while alive (other tests allocate beside it: a margin).
        let mut block = vec![0u8; 64 << 20];
        block[4096] = 1;
        let b = heap().unwrap();
        assert!(b.in_use >= a.in_use + (48 << 20), "{a:?} then {b:?}");
        drop(block);
    }
}
