//! Power cuts: the daemon is `kill -9`ed at random points while torrents are being
//! added and downloaded, in a bounded loop. After every restart the database is sound,
//! every accepted request is still there, and in the end every torrent completes with
//! the source's bytes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::fixture::{Daemon, Seeder, info_hash, make_torrent, sha256_file, wait_until};

/// A small deterministic generator, seeded from the clock and printed, so that a
/// failing sequence can be replayed with `POWERCUT_SEED`.
struct Rng(u64);
impl Rng {
    /// Seeded from `POWERCUT_SEED`, or the clock (printed, to replay a failure).
    fn seeded() -> Self {
        let seed = std::env::var("POWERCUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("POWERCUT_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn kill_9_at_random_points_loses_nothing() {
    const ROUNDS: usize = 20;
    let mut rng = Rng::seeded();

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

/// The same loop over everything else that writes state: finished torrents moving from
/// the incomplete dir into the library, accounts being created and the config being
/// changed at run time. A request that got its success answer must be in force after
/// the restart; a torrent whose move was cut must end up, whole, in the library.
#[test]
fn kill_9_during_library_moves_user_and_config_changes_loses_nothing() {
    const ROUNDS: usize = 20;
    let mut rng = Rng::seeded();

    // Three single files and one folder of three files (moved file by file).
    let src = tempfile::tempdir().unwrap();
    let data = src.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut torrents: Vec<(String, std::path::PathBuf, std::path::PathBuf)> = Vec::new();
    let random_file = |rng: &mut Rng, f: &std::path::Path, len: usize| {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next(256) as u8).collect();
        std::fs::write(f, bytes).unwrap();
    };
    for i in 0..3 {
        let f = data.join(format!("lib{i}.bin"));
        random_file(&mut rng, &f, 2 << 20);
        let t = make_torrent(&f, &src.path().join(format!("lib{i}.torrent")), &[]);
        torrents.push((info_hash(&t), f, t));
    }
    let folder = data.join("Series");
    std::fs::create_dir_all(&folder).unwrap();
    for e in 0..3 {
        random_file(&mut rng, &folder.join(format!("e{e}.mkv")), 1 << 20);
    }
    let t = make_torrent(&folder, &src.path().join("Series.torrent"), &[]);
    torrents.push((info_hash(&t), folder.clone(), t));
    // Fast enough that torrents finish (and move) inside the rounds.
    let seeder = Seeder::start(&torrents[0].2, &torrents[0].1, 4096);
    for (_, f, t) in &torrents[1..] {
        seeder.add(t, f);
    }

    // The library on another filesystem (tmpfs) where there is one, as a USB disk would
    // be: moves copy, fsync, then delete.
    let tmp = tempfile::tempdir().unwrap();
    let lib_tmp = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let (incomplete, library) = (tmp.path().join("incomplete"), lib_tmp.path().join("library"));
    let mut d = Daemon::start_with(&[
        ("SWARMCAST_STORAGE_INCOMPLETE_DIR", incomplete.to_str().unwrap()),
        ("SWARMCAST_STORAGE_LIBRARY_DIR", library.to_str().unwrap()),
    ]);
    let mut accepted: Vec<String> = Vec::new();
    let mut users: Vec<String> = Vec::new();
    let mut max_bytes: Option<u64> = None;
    let mut warm_minutes: Option<u64> = None;
    let mut cut_moves = 0;
    let started = Instant::now();
    for round in 0..ROUNDS {
        // One or two writes, then a random while, then the cut (sometimes right away).
        for _ in 0..1 + rng.next(2) {
            match rng.next(3) {
                0 if accepted.len() < torrents.len() => {
                    let (hash, _, _) = &torrents[accepted.len()];
                    let (status, body) = d.post("/api/torrents/", serde_json::json!({ "uri": seeder.magnet(hash) }));
                    assert_eq!(status, 201, "{body}");
                    accepted.push(hash.clone());
                }
                1 => {
                    let name = format!("user{round}x{}", rng.next(1000));
                    let (status, body) = d.post(
                        "/auth/register",
                        serde_json::json!({ "username": name, "password": "a long enough password" }),
                    );
                    assert_eq!(status, 201, "{body}");
                    users.push(name);
                }
                _ => {
                    let (mb, wm) = (1_000_000_000 + rng.next(1_000_000), 1 + rng.next(50));
                    let r = d
                        .client()
                        .patch(d.url("/api/config"))
                        .json(&serde_json::json!({ "quota": { "max_bytes": mb }, "media.warm_cache_minutes": wm }))
                        .send()
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200, "{}", r.text().unwrap_or_default());
                    (max_bytes, warm_minutes) = (Some(mb), Some(wm));
                }
            }
        }
        // Every other round, aim at a move: wait (bounded) for the next one to begin,
        // then cut within its first 40 ms; else cut after a random while.
        let db_path = d.dir.join("state/swarmcast.db");
        let moves_begun = || -> i64 {
            let Ok(db) = rusqlite::Connection::open(&db_path) else { return 0 };
            db.query_row("SELECT count(*) FROM activity WHERE event = 'transfer_started'", [], |r| r.get(0))
                .unwrap_or(0)
        };
        let before = moves_begun();
        if rng.next(2) == 0 && before < accepted.len() as i64 {
            let t0 = Instant::now();
            while moves_begun() == before && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(rng.next(40)));
        } else {
            std::thread::sleep(Duration::from_millis(rng.next(2000)));
        }
        d.kill9();

        let db = rusqlite::Connection::open(&db_path).unwrap();
        let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
        // How the cut fell, for the log: moves begun and not finished.
        let mut q =
            db.prepare("SELECT torrent_id, event FROM activity WHERE event LIKE 'transfer_%' ORDER BY id").unwrap();
        let mut open = std::collections::BTreeSet::new();
        for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
            let (id, ev) = row.unwrap();
            if ev == "transfer_started" {
                open.insert(id)
            } else {
                open.remove(&id)
            };
        }
        cut_moves += open.len();
        drop(q);
        drop(db);

        d.restart();
        let (_, list) = d.get("/api/torrents/?limit=100");
        let ids: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        for hash in &accepted {
            assert!(ids.contains(&hash.as_str()), "round {round}: accepted torrent {hash} lost");
        }
        assert_eq!(ids.len(), accepted.len(), "round {round}: unexpected torrents {ids:?}");
        let (s, list) = d.get("/api/users");
        assert_eq!(s, 200, "{list}");
        let names: Vec<&str> = list.as_array().unwrap().iter().filter_map(|u| u["username"].as_str()).collect();
        for u in &users {
            assert!(names.contains(&u.as_str()), "round {round}: created user {u} lost: {names:?}");
        }
        let (_, c) = d.get("/api/config");
        if let (Some(mb), Some(wm)) = (max_bytes, warm_minutes) {
            assert_eq!(c["quota"]["max_bytes"], mb, "round {round}: config change lost");
            assert_eq!(c["media"]["warm_cache_minutes"], wm, "round {round}: config change lost");
        }
        assert!(started.elapsed() < Duration::from_secs(240), "rounds took too long");
    }

    eprintln!("{cut_moves} library moves were cut; {} users, config changed: {}", users.len(), max_bytes.is_some());
    // Everything left is added; every torrent finishes and lands whole in the library.
    for (hash, _, _) in &torrents {
        if !accepted.contains(hash) {
            d.add(&seeder.magnet(hash));
            accepted.push(hash.clone());
        }
    }
    for (hash, src, _) in &torrents {
        d.wait_status(hash, &["seeding"], Duration::from_secs(120));
        let name = src.file_name().unwrap();
        let files: Vec<std::path::PathBuf> = if src.is_dir() {
            (0..3).map(|e| std::path::PathBuf::from(format!("e{e}.mkv"))).collect()
        } else {
            vec![std::path::PathBuf::new()]
        };
        for rel in files {
            let join = |p: std::path::PathBuf| if rel.as_os_str().is_empty() { p } else { p.join(&rel) };
            let (want, got) = (join(src.clone()), join(library.join(name)));
            wait_until(&format!("{} in the library", got.display()), Duration::from_secs(30), || {
                (got.exists() && sha256_file(&got) == sha256_file(&want)).then_some(())
            });
        }
        // It seeds on from there (once re-checked after the move).
        let t = d.wait_status(hash, &["seeding"], Duration::from_secs(60));
        assert_eq!(t["progress"], 100.0, "{t}");
    }
    let left: Vec<_> = walk(&incomplete);
    assert!(left.is_empty(), "files left in the incomplete dir: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}
