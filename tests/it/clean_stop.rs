//! Issue 17 item 11: a clean stop (SIGTERM, as systemd stops the service) never loses
//! verified pieces. Ten rounds at random moments of a real download from a
//! transmission seeder; after each restart the torrent holds at least what it had
//! verified right before the stop. One round also stops and starts the torrent first
//! (the "flusher task is dead" case).

use std::time::{Duration, Instant};

use crate::fixture::{Daemon, Seeder, info_hash, make_torrent};

#[test]
fn sigterm_at_random_moments_keeps_every_verified_piece() {
    const ROUNDS: usize = 10;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("clean-stop seed {seed}");
    let mut state = seed | 1;
    let mut next = |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };

    let src = tempfile::tempdir().unwrap();
    let f = src.path().join("big.bin");
    let bytes: Vec<u8> = (0..(64u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&f, bytes).unwrap();
    let t = make_torrent(&f, &src.path().join("big.torrent"), &[]);
    let hash = info_hash(&t);
    let seeder = Seeder::start(&t, &f, 2000);

    let mut d = Daemon::start();
    d.add(&seeder.magnet(&hash));
    d.wait_status(&hash, &["downloading"], Duration::from_secs(60));
    crate::fixture::wait_until("the download to pass 3 %", Duration::from_secs(120), || {
        (d.torrent(&hash)["progress"].as_f64().unwrap_or(0.0) > 3.0).then_some(())
    });
    let started = Instant::now();
    let mut rounds = 0;
    let mut last = 0.0;
    for round in 0..ROUNDS {
        // Let the download move on after the restart, then stop at a random moment.
        crate::fixture::wait_until("the download to move on", Duration::from_secs(90), || {
            let t = d.torrent(&hash);
            (t["status"] == "seeding" || t["progress"].as_f64().unwrap_or(0.0) > last + 1.5).then_some(())
        });
        std::thread::sleep(Duration::from_millis(next(1500)));
        if round == ROUNDS / 2 {
            // Stop, start again, then SIGTERM.
            assert_eq!(d.post(&format!("/api/torrents/{hash}/stop"), serde_json::json!({})).0, 200);
            d.wait_status(&hash, &["paused"], Duration::from_secs(20));
            assert_eq!(d.post(&format!("/api/torrents/{hash}/start"), serde_json::json!({})).0, 200);
            std::thread::sleep(Duration::from_millis(500 + next(1000)));
        }
        let before = d.torrent(&hash);
        if before["status"] == "seeding" {
            break;
        }
        let had = before["progress"].as_f64().unwrap();
        let status = d.terminate().expect("the daemon exits on SIGTERM");
        assert!(status.success(), "round {round}: exit {status}\n{}", d.log_text());
        d.restart();
        let after = d.wait_status(&hash, &["downloading", "seeding", "paused"], Duration::from_secs(60));
        let has = after["progress"].as_f64().unwrap();
        eprintln!("round {round}: {had:.2} % before SIGTERM, {has:.2} % after the restart");
        assert!(
            has >= had,
            "round {round}: {had:.2} % verified before SIGTERM, {has:.2} % after the restart\n{}",
            d.log_text()
        );
        assert!(!d.log_text().contains("flusher task is dead"), "round {round}: {}", d.log_text());
        if had > 0.0 {
            rounds += 1;
        }
        last = has;
        assert!(started.elapsed() < Duration::from_secs(400), "rounds took too long");
    }
    assert!(rounds >= 5, "only {rounds} rounds stopped a download in progress; slow the seeder");
}
