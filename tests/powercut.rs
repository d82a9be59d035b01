//! Power cuts: the daemon is `kill -9`ed at random points while torrents are being
//! added and downloaded, in a bounded loop. After every restart the database is sound,
//! every accepted request is still there, and in the end every torrent completes with
//! the source's bytes.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Daemon, Seeder, info_hash, make_torrent, sha256_file, wait_until};

/// A small deterministic generator, seeded from the clock and printed, so that a
/// failing sequence can be replayed with `POWERCUT_SEED`.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn kill_9_at_random_points_loses_nothing() {
    const ROUNDS: usize = 20;
    let seed = std::env::var("POWERCUT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("POWERCUT_SEED={seed}");
    let mut rng = Rng(seed);

    // Five files in one seeder's folder, each its own torrent.
    let src = tempfile::tempdir().unwrap();
    let data = src.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut torrents = Vec::new();
    for i in 0..5 {
        let f = data.join(format!("file{i}.bin"));
        let bytes: Vec<u8> = (0..(3 << 20)).map(|_| rng.next(256) as u8).collect();
        std::fs::write(&f, bytes).unwrap();
        let t = make_torrent(&f, &src.path().join(format!("file{i}.torrent")), &[]);
        torrents.push((info_hash(&t), f, t));
    }
    let first = &torrents[0];
    let seeder = Seeder::start(&first.2, &first.1, 1024);
    for (_, f, t) in &torrents[1..] {
        seeder.add(t, f);
    }

    let mut d = Daemon::start();
    let mut accepted: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    let started = Instant::now();
    for round in 0..ROUNDS {
        // Maybe add the next torrent, then let the daemon run for a random while.
        if accepted.len() < torrents.len() && rng.next(2) == 0 {
            let (hash, f, _) = &torrents[accepted.len()];
            let (status, body) = d.post("/api/torrents/", serde_json::json!({ "uri": seeder.magnet(hash) }));
            assert_eq!(status, 201, "{body}");
            accepted.insert(hash.clone(), f.clone());
        }
        std::thread::sleep(Duration::from_millis(rng.next(1500)));
        d.kill9();

        let db = rusqlite::Connection::open(d.dir.join("state/swarmcast.db")).unwrap();
        let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
        drop(db);

        d.restart();
        let (_, list) = d.get("/api/torrents/?limit=100");
        let ids: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        for hash in accepted.keys() {
            assert!(ids.contains(&hash.as_str()), "round {round}: accepted torrent {hash} lost");
        }
        assert_eq!(ids.len(), accepted.len(), "round {round}: unexpected torrents {ids:?}");
        assert!(started.elapsed() < Duration::from_secs(300), "rounds took too long");
    }

    // Add whatever was not added yet, then everything must finish with the right bytes.
    for (hash, f, _) in &torrents {
        if !accepted.contains_key(hash) {
            d.add(&seeder.magnet(hash));
            accepted.insert(hash.clone(), f.clone());
        }
    }
    seeder.set_upload_limit(0);
    for (hash, f) in &accepted {
        d.wait_status(hash, &["seeding"], Duration::from_secs(120));
        let name = f.file_name().unwrap();
        wait_until("the file on disk", Duration::from_secs(5), || d.download_dir().join(name).exists().then_some(()));
        assert_eq!(sha256_file(&d.download_dir().join(name)), sha256_file(f), "{hash}");
    }
}
