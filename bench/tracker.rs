//! Tracker benchmark: swarmcast's `/announce` (through the whole API router, as served)
//! against Debian's opentracker, both on loopback, in the same run, driven by the same
//! HTTP client. Prints one markdown table row per tracker.
//!
//!   cargo bench --bench tracker                 # 200 swarms × 50 peers, 32 clients, 5 s
//!   SWARMS=1000 CLIENTS=64 SECS=10 cargo bench --bench tracker
//!
//! opentracker is skipped when it is not installed (`apt-get install opentracker`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn enc(b: &[u8]) -> String {
    b.iter().map(|c| format!("%{c:02X}")).collect()
}

fn id(kind: u8, n: usize) -> [u8; 20] {
    let mut out = [kind; 20];
    out[12..20].copy_from_slice(&(n as u64).to_be_bytes());
    out
}

fn query(swarm: usize, peer: usize, peers_per_swarm: usize) -> String {
    let left = if peer.is_multiple_of(2) { 0 } else { 1 << 20 };
    format!(
        "info_hash={}&peer_id={}&port={}&uploaded=0&downloaded=0&left={left}&compact=1&numwant=50",
        enc(&id(0xAB, swarm)),
        enc(&id(0xCD, swarm * peers_per_swarm + peer)),
        10_000 + (peer % 50_000)
    )
}

struct Run {
    requests: usize,
    failures: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

async fn drive(base: &str, swarms: usize, peers: usize, clients: usize, secs: u64) -> Run {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    // Fill every swarm first, so that the timed part answers with full peer lists.
    for s in 0..swarms {
        for p in 0..peers {
            let _ = http.get(format!("{base}/announce?{}", query(s, p, peers))).send().await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let http = http.clone();
            let base = base.to_string();
            tokio::spawn(async move {
                let (mut lat, mut fail, mut i) = (Vec::new(), 0, c);
                while Instant::now() < deadline {
                    i = i.wrapping_mul(2862933555777941757).wrapping_add(3037000493);
                    let q = query(i % swarms, (i >> 20) % peers, peers);
                    let t = Instant::now();
                    match http.get(format!("{base}/announce?{q}")).send().await {
                        Ok(r) if r.status().is_success() => match r.bytes().await {
                            Ok(b) if !b.starts_with(b"d14:failure") => lat.push(t.elapsed()),
                            _ => fail += 1,
                        },
                        _ => fail += 1,
                    }
                }
                (lat, fail)
            })
        })
        .collect();
    let mut run = Run { requests: 0, failures: 0, latencies: Vec::new(), elapsed: Duration::ZERO };
    for t in tasks {
        let (lat, fail) = t.await.unwrap();
        run.requests += lat.len();
        run.failures += fail;
        run.latencies.extend(lat);
    }
    run.elapsed = started.elapsed();
    run.latencies.sort();
    run
}

/// Prints a table row; returns (announces/s, p99 ms).
fn row(name: &str, r: &Run, rss_kb: Option<u64>) -> (f64, f64) {
    let pct =
        |p: f64| r.latencies.get(((r.latencies.len() as f64 * p) as usize).min(r.latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map(|d| format!("{:.2}", d.as_secs_f64() * 1000.0)).unwrap_or("-".into());
    println!(
        "| {name} | {:.0} | {} | {} | {} | {} |",
        r.requests as f64 / r.elapsed.as_secs_f64(),
        ms(pct(0.5)),
        ms(pct(0.99)),
        r.failures,
        rss_kb.map(|k| format!("{} MiB", k / 1024)).unwrap_or("-".into())
    );
    let p99 = pct(0.99).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    (r.requests as f64 / r.elapsed.as_secs_f64(), p99)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (swarms, peers, clients, secs) =
        (env("SWARMS", 200), env("PEERS", 50), env("CLIENTS", 32), env("SECS", 5) as u64);
    println!("{swarms} swarms × {peers} peers, {clients} clients, {secs} s each, numwant=50, compact\n");
    println!("| tracker | announces/s | p50 ms | p99 ms | failures | RSS |");
    println!("|---|---|---|---|---|---|");

    let tmp = tempfile::tempdir().unwrap();
    let mut config = swarmcast::config::Config::default();
    config.storage.state_dir = tmp.path().join("state");
    config.storage.download_dir = tmp.path().join("downloads");
    config.storage.cache_dir = tmp.path().join("cache");
    config.engine.dht = false;
    config.engine.lsd = false;
    config.engine.listen_port = free_port();
    // One address sends everything here: lift the per-address announce limit.
    config.auth.rate_limit.announces_per_min = 0;
    let state = swarmcast::daemon::build(config, Default::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = swarmcast::api::app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let run = drive(&format!("http://{addr}"), swarms, peers, clients, secs).await;
    let ours = row("swarmcast (in-process, whole router)", &run, rss_kb(std::process::id()));
    let mut peer = None;

    let port = free_port();
    let chroot = tmp.path().join("opentracker");
    std::fs::create_dir_all(&chroot).unwrap();
    // Debian builds opentracker with a whitelist: list every swarm of the run.
    let list: String = (0..swarms).map(|s| format!("{}\n", hex::encode(id(0xAB, s)))).collect();
    std::fs::write(chroot.join("whitelist"), list).unwrap();
    let child = std::process::Command::new("opentracker")
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-P", &port.to_string(), "-w", "whitelist", "-d"])
        .arg(&chroot)
        .current_dir(&chroot)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let run = drive(&format!("http://127.0.0.1:{port}"), swarms, peers, clients, secs).await;
            peer = Some(row("opentracker", &run, rss_kb(child.id())));
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(e) => println!("| opentracker | skipped: {e} | | | | |"),
    }
    // Machine-readable rows for bench/report.sh (`make bench`).
    let metric = format!("tracker announces/s ({swarms} swarms × {peers} peers, {clients} clients)");
    match peer {
        Some(p) => println!(
            "BENCH|{metric}|{:.0} (p99 {:.1} ms)|opentracker {:.0} (p99 {:.1} ms)|{:.2}|—",
            ours.0,
            ours.1,
            p.0,
            p.1,
            ours.0 / p.0
        ),
        None => println!("BENCH|{metric}|{:.0} (p99 {:.1} ms)|—|—|—", ours.0, ours.1),
    }
}
