//! WebTorrent announces on the tracker's WebSocket (`/announce` with `Upgrade:
//! websocket`): two npm `bittorrent-tracker` clients in Chromium find each other and
//! connect over WebRTC through the real daemon (tests/it/e2e/webtorrent.mjs); and, with
//! a WebSocket client from Rust against the in-process app, offers and answers are
//! relayed, WebRTC and BitTorrent peers share the counts, and a malformed message, an
//! oversize one, too many offers, a flood from one address, too many sockets from one
//! address and an idle socket are refused or closed while other clients keep working;
//! a private torrent wants a passkey, and a passkey's socket credits its user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};

use crate::fixture::*;

#[test]
fn webtorrent_clients_meet_in_chromium() {
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run `scripts/setup.sh test`");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // A short interval: the clients re-announce every 5 s (and stay well clear of the
    // idle close at twice that).
    let daemon =
        Daemon::start_with(&[("SWARMCAST_TRACKER_INTERVAL_SECS", "5"), ("SWARMCAST_TRACKER_MIN_INTERVAL_SECS", "1")]);
    let info_hash = hex::encode(rand::random::<[u8; 20]>());
    let mut node = Command::new("node")
        .arg(root.join("tests/it/e2e/webtorrent.mjs"))
        .env("SWARMCAST_URL", daemon.url(""))
        .env("TRACKER_URL", daemon.url("/announce").replacen("http://", "ws://", 1))
        .env("INFO_HASH", &info_hash)
        .spawn()
        .expect("run node (Node.js 20+)");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the WebTorrent browser test took more than 180 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "the WebTorrent browser test failed ({status}); see its output above");
    // The browser closed, and B's socket with it: B left, and the swarm is gone.
    wait_until("the swarm to go when the last socket closed", Duration::from_secs(10), || {
        let (code, list) = daemon.get("/api/tracker/torrents");
        assert_eq!(code, 200, "{list}");
        (!list.as_array().unwrap().iter().any(|s| s["info_hash"] == info_hash.as_str())).then_some(())
    });
}

type Ws = WebSocketStream<TcpStream>;

/// A WebSocket to the tracker's `path` from the local address `src` (127.0.0.x).
async fn connect_to(app: &TestApp, src: &str, path: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
    let tcp = sock.connect(app.addr).await.unwrap();
    client_async(format!("ws://{}{path}", app.addr), tcp).await.map(|(ws, _)| ws)
}

async fn connect_from(app: &TestApp, src: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    connect_to(app, src, "/announce").await
}

async fn connect(app: &TestApp, src: &str) -> Ws {
    connect_from(app, src).await.unwrap_or_else(|e| panic!("WebSocket from {src}: {e}"))
}

#[derive(Debug)]
enum Got {
    Json(Value),
    Closed(Option<u16>),
    Ended,
}

/// The tracker's next message (pings skipped), within 15 s.
async fn next(ws: &mut Ws) -> Got {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("no message from the tracker within 15 s");
        return match m {
            None | Some(Err(_)) => Got::Ended,
            Some(Ok(Message::Text(t))) => Got::Json(serde_json::from_str(&t).expect("the tracker sent JSON")),
            Some(Ok(Message::Close(f))) => Got::Closed(f.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
        };
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    match next(ws).await {
        Got::Json(v) => v,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn next_json_after(ws: &mut Ws, v: Value) -> Value {
    send(ws, v).await;
    next_json(ws).await
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// A 20-byte binary string, as WebTorrent writes ids.
fn bin(b: &[u8; 20]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn announce(hash: &[u8; 20], peer: &[u8; 20], left: u64, offers: Value) -> Value {
    json!({"action": "announce", "info_hash": bin(hash), "peer_id": bin(peer), "numwant": 5,
           "uploaded": 0, "downloaded": 0, "left": left, "event": "started", "offers": offers})
}

fn failure_of(v: &Value) -> &str {
    v["failure reason"].as_str().unwrap_or_else(|| panic!("not a failure: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_relays_and_refusals() {
    let app = spawn_app(|c| {
        c.tracker.interval_secs = 3;
        c.tracker.min_interval_secs = 1;
    })
    .await;
    let h = [0xabu8; 20];
    let (px, py) = (*b"-WW0208-xxxxxxxxxxxx", *b"-WW0208-yyyyyyyyyyyy");

    // X (a leecher) joins; Y (a seeder) joins with two offers: X, the one other
    // WebRTC peer, gets the first.
    let mut x = connect(&app, "127.0.0.1").await;
    send(&mut x, announce(&h, &px, 100, json!([]))).await;
    let r = next_json(&mut x).await;
    assert_eq!((r["action"].as_str(), r["interval"].as_u64()), (Some("announce"), Some(3)), "{r}");
    assert_eq!(
        (r["complete"].as_u64(), r["incomplete"].as_u64(), r["info_hash"].as_str()),
        (Some(0), Some(1), Some(bin(&h).as_str()))
    );
    let mut y = connect(&app, "127.0.0.1").await;
    let offers = json!([{"offer": {"type": "offer", "sdp": "v=0 y1"}, "offer_id": "offer-y-1"},
                        {"offer": {"type": "offer", "sdp": "v=0 y2"}, "offer_id": "offer-y-2"}]);
    send(&mut y, announce(&h, &py, 0, offers)).await;
    let r = next_json(&mut y).await;
    assert_eq!((r["complete"].as_u64(), r["incomplete"].as_u64()), (Some(1), Some(1)), "{r}");
    let offer = next_json(&mut x).await;
    assert_eq!(offer["peer_id"], bin(&py), "{offer}");
    assert_eq!(
        (offer["offer"]["sdp"].as_str(), offer["offer_id"].as_str()),
        (Some("v=0 y1"), Some("offer-y-1")),
        "{offer}"
    );
    assert_eq!(offer["info_hash"], bin(&h));

    // X answers; Y gets the answer, from X.
    let answer = json!({"action": "announce", "info_hash": bin(&h), "peer_id": bin(&px), "to_peer_id": bin(&py),
                        "answer": {"type": "answer", "sdp": "v=0 x"}, "offer_id": "offer-y-1"});
    send(&mut x, answer.clone()).await;
    let a = next_json(&mut y).await;
    assert_eq!((a["peer_id"].as_str(), a["offer_id"].as_str()), (Some(bin(&px).as_str()), Some("offer-y-1")), "{a}");
    assert_eq!(a["answer"]["sdp"], "v=0 x");
    // An answer to nobody, or from a peer that did not announce on this socket.
    let mut to_nobody = answer.clone();
    to_nobody["to_peer_id"] = bin(&[9; 20]).into();
    send(&mut x, to_nobody).await;
    assert!(failure_of(&next_json(&mut x).await).contains("gone"));
    let mut forged = answer.clone();
    forged["peer_id"] = bin(&[8; 20]).into();
    send(&mut y, forged).await;
    assert!(failure_of(&next_json(&mut y).await).contains("before answering"));

    // A BitTorrent peer over HTTP: counted with the WebRTC peers, not given them.
    let q = format!("/announce?info_hash={}&peer_id=-TR4000-bbbbbbbbbbbb&port=51413&left=0", enc(&h));
    let body = app.http.get(app.url(&q)).send().await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("8:completei2e") && text.contains("10:incompletei1e"), "{text}");
    assert!(text.contains("5:peers0:"), "an HTTP peer was given WebRTC peers: {text}");
    // Scrape by message: every peer of both kinds.
    send(&mut x, json!({"action": "scrape", "info_hash": [bin(&h)]})).await;
    let s = next_json(&mut x).await;
    let f = &s["files"][bin(&h)];
    assert_eq!((f["complete"].as_u64(), f["incomplete"].as_u64()), (Some(2), Some(1)), "{s}");

    // Malformed messages get a failure reason; the socket goes on.
    send(&mut x, json!("not an object")).await;
    assert!(failure_of(&next_json(&mut x).await).contains("JSON object"));
    x.send(Message::Text("{\"action\": \"announce\", ".into())).await.unwrap();
    assert!(failure_of(&next_json(&mut x).await).contains("not JSON"));
    send(&mut x, json!({"action": "announce", "info_hash": "short", "peer_id": bin(&px)})).await;
    assert!(failure_of(&next_json(&mut x).await).contains("info_hash"));
    let many: Vec<Value> = (0..11).map(|i| json!({"offer": {"sdp": "v=0"}, "offer_id": format!("o{i}")})).collect();
    send(&mut x, announce(&h, &px, 100, json!(many))).await;
    let r = next_json(&mut x).await;
    assert!(failure_of(&r).contains("at most 10"), "{r}");
    assert_eq!((r["action"].as_str(), r["info_hash"].as_str()), (Some("announce"), Some(bin(&h).as_str())));
    send(&mut x, announce(&h, &px, 100, json!([]))).await;
    assert_eq!(next_json(&mut x).await["incomplete"], 1, "X's socket works after the refusals");

    // A message over 64 KiB: a failure reason, then the socket closes (1009).
    let mut big = connect(&app, "127.0.0.1").await;
    big.send(Message::Text("x".repeat(100_000).into())).await.unwrap();
    assert!(failure_of(&next_json(&mut big).await).contains("at most 65536"));
    assert!(matches!(next(&mut big).await, Got::Closed(Some(1009)) | Got::Ended));
    // Over the WebSocket layer's own limit: closed without being read.
    let mut huge = connect(&app, "127.0.0.1").await;
    let _ = huge.send(Message::Text("x".repeat(300_000).into())).await;
    let mut ended = false;
    for _ in 0..3 {
        if matches!(next(&mut huge).await, Got::Closed(_) | Got::Ended) {
            ended = true;
            break;
        }
    }
    assert!(ended, "a 300 kB message did not close the socket");

    // A flood from 127.0.0.2: refused within the address's 200 announces a minute
    // (the upgrade counted one), then closed; further sockets from there get 429.
    let mut flood = connect(&app, "127.0.0.2").await;
    let mut answered = 0;
    let mut refused = None;
    for _ in 0..300 {
        if flood.send(Message::Text(announce(&[7; 20], &[7; 20], 1, json!([])).to_string().into())).await.is_err() {
            break;
        }
        match next(&mut flood).await {
            Got::Json(v) if v.get("failure reason").is_some() => {
                refused = Some(v);
                break;
            }
            Got::Json(_) => answered += 1,
            other => panic!("the flood's socket ended without a reason after {answered}: {other:?}"),
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("300 announces from one address were all answered"));
    assert!(failure_of(&refused).contains("too many announces"), "{refused}");
    // 199 tokens left after the upgrade, plus what refills (3.3 a second) while the
    // flood runs.
    assert!((150..=260).contains(&answered), "{answered} announces answered before the refusal");
    assert!(matches!(next(&mut flood).await, Got::Closed(Some(1008)) | Got::Ended));
    match connect_from(&app, "127.0.0.2").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 429),
        other => panic!("a new socket from the flooding address was not refused with 429: {other:?}"),
    }
    // Others are unharmed.
    send(&mut x, announce(&h, &px, 100, json!([]))).await;
    assert_eq!(next_json(&mut x).await["incomplete"], 1, "X is answered during the flood");

    // One socket is in at most 64 swarms.
    let mut wide = connect(&app, "127.0.0.6").await;
    for i in 0..65u8 {
        send(&mut wide, announce(&[i; 20], &[6; 20], 1, json!([]))).await;
        let r = next_json(&mut wide).await;
        assert_eq!(r.get("failure reason").is_some(), i == 64, "swarm {i}: {r}");
    }
    assert!(
        failure_of(&next_json_after(&mut wide, announce(&[64; 20], &[6; 20], 1, json!([]))).await)
            .contains("at most 64")
    );

    // At most 16 sockets per address: the 17th gets a reason and is closed.
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(connect(&app, "127.0.0.3").await);
    }
    let mut extra = connect(&app, "127.0.0.3").await;
    assert!(failure_of(&next_json(&mut extra).await).contains("WebSockets open"));
    assert!(matches!(next(&mut extra).await, Got::Closed(Some(1013)) | Got::Ended));
    send(&mut held[15], announce(&h, &[3; 20], 100, json!([]))).await;
    assert_eq!(next_json(&mut held[15]).await["action"], "announce", "the 16th socket works");
    let mut last = held.pop().unwrap();
    last.close(None).await.unwrap();
    // Its peer leaves with it; and a socket from another address is unaffected.
    wait_for("the closed socket's peer to leave", Duration::from_secs(10), || async {
        let r = app.state.tracker.scrape_counts(&[h]);
        (r[0].2 == 1).then_some(())
    })
    .await;
    let mut other = connect(&app, "127.0.0.4").await;
    send(&mut other, json!({"action": "scrape", "info_hash": bin(&h)})).await;
    assert_eq!(next_json(&mut other).await["action"], "scrape");

    // `stopped` removes the peer at once (the seeder Y; the HTTP seeder stays).
    let mut stop = announce(&h, &py, 0, Value::Null);
    stop["event"] = "stopped".into();
    send(&mut y, stop).await;
    let r = next_json(&mut y).await;
    assert_eq!((r["complete"].as_u64(), r["incomplete"].as_u64()), (Some(1), Some(1)), "{r}");

    // A private torrent of this box: refused without a passkey, in words; through
    // `/announce/{passkey}` the socket's announces credit the passkey's user.
    let private = [0x5au8; 20];
    app.state.store.set_tracker_private(&hex::encode(private)).unwrap();
    let mut anon = connect(&app, "127.0.0.7").await;
    let r = next_json_after(&mut anon, announce(&private, &[1; 20], 100, json!([]))).await;
    assert!(failure_of(&r).contains("is private: announce with your passkey"), "{r}");
    let me: Value = app.http.get(app.url("/api/user/me")).send().await.unwrap().json().await.unwrap();
    let passkey = me["passkey"].as_str().unwrap();
    let r = connect_to(&app, "127.0.0.7", "/announce/not-a-passkey").await;
    assert!(matches!(r, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 403), "{r:?}");
    let mut keyed = connect_to(&app, "127.0.0.7", &format!("/announce/{passkey}")).await.unwrap();
    let mut a = announce(&private, &[1; 20], 100, json!([]));
    a["uploaded"] = 1000.into();
    assert_eq!(next_json_after(&mut keyed, a.clone()).await["incomplete"], 1);
    a["uploaded"] = 3000.into();
    a["downloaded"] = 500.into();
    a["event"] = "update".into();
    assert_eq!(next_json_after(&mut keyed, a).await["incomplete"], 1);
    let stats: Value =
        app.http.get(app.url(&format!("/api/user/{}/stats", me["id"]))).send().await.unwrap().json().await.unwrap();
    assert_eq!((stats["uploaded"].as_u64(), stats["downloaded"].as_u64()), (Some(3000), Some(500)), "{stats}");
    assert_eq!(stats["leeching"], 1, "{stats}");

    // A socket that says nothing is closed after twice the interval (2 × 3 s).
    let t0 = Instant::now();
    let mut idle = connect(&app, "127.0.0.5").await;
    let got = next(&mut idle).await;
    assert!(matches!(got, Got::Closed(Some(1000))), "{got:?}");
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs(5) && waited < Duration::from_secs(15), "idle close after {waited:?}");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_close_when_the_daemon_stops() {
    let mut daemon = tokio::task::spawn_blocking(Daemon::start).await.unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", daemon.port)).await.unwrap();
    let (mut ws, _) = client_async(daemon.url("/announce").replacen("http://", "ws://", 1), tcp).await.unwrap();
    send(&mut ws, json!({"action": "scrape"})).await;
    assert_eq!(next_json(&mut ws).await["action"], "scrape");
    // SIGTERM: the socket gets its close frame (1001) before the process ends.
    let stopper = tokio::task::spawn_blocking(move || {
        let status = daemon.terminate();
        (daemon, status)
    });
    let got = next(&mut ws).await;
    assert!(matches!(got, Got::Closed(Some(1001))), "{got:?}");
    let (_daemon, status) = stopper.await.unwrap();
    assert!(status.is_some_and(|s| s.success()), "the daemon's exit: {status:?}");
}
