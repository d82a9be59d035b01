//! The built-in tracker with real clients: transmission-daemon seeds a torrent that
//! swarmcast created (announced only on swarmcast's own tracker), qbittorrent-nox finds
//! it through the tracker and downloads it, each through its user's passkey (the stats
//! credit both users; transmission without a passkey shows the tracker's refusal). Plus
//! announce edge cases over HTTP.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::fixture::*;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

fn transmission(conf: &Path, download: &Path, rpc: u16, peer: u16) -> Proc {
    std::fs::create_dir_all(conf).unwrap();
    let settings = json!({
        "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
        "port-forwarding-enabled": false, "rpc-authentication-required": false,
        "rpc-bind-address": "127.0.0.1", "rpc-whitelist": "127.0.0.1", "rpc-whitelist-enabled": true,
        "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
        "peer-port": peer, "rpc-port": rpc, "download-dir": download,
        "incomplete-dir-enabled": false, "ratio-limit-enabled": false, "idle-seeding-limit-enabled": false,
        "message-level": 2,
    });
    std::fs::write(conf.join("settings.json"), settings.to_string()).unwrap();
    let child = Command::new("transmission-daemon")
        .args(["-f", "-g"])
        .arg(conf)
        .args(["-p", &rpc.to_string(), "-P", &peer.to_string(), "-T", "-O", "-Y", "-M", "-w"])
        .arg(download)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("transmission-daemon is installed by scripts/setup.sh test");
    Proc(child)
}

fn qbittorrent(profile: &Path, save: &Path, webui: u16, peer: u16) -> Proc {
    let conf_dir = profile.join("qBittorrent/config");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let save = save.display();
    std::fs::write(
        conf_dir.join("qBittorrent.conf"),
        format!(
            "[LegalNotice]\nAccepted=true\n\n\
             [BitTorrent]\nSession\\DHTEnabled=false\nSession\\LSDEnabled=false\nSession\\PeXEnabled=false\n\
             Session\\Port={peer}\nSession\\Interface=lo\nSession\\InterfaceName=lo\nSession\\InterfaceAddress=127.0.0.1\n\
             Session\\DefaultSavePath={save}\nSession\\MultiConnectionsPerIp=true\n\
             Session\\QueueingSystemEnabled=false\n\n\
             [Preferences]\nConnection\\UPnP=false\nDownloads\\SavePath={save}\nWebUI\\Address=127.0.0.1\n\
             WebUI\\Port={webui}\nWebUI\\LocalHostAuth=false\nWebUI\\CSRFProtection=false\n\
             WebUI\\HostHeaderValidation=false\nWebUI\\UseUPnP=false\nGeneral\\Locale=en\n"
        ),
    )
    .unwrap();
    let child = Command::new("qbittorrent-nox")
        .arg(format!("--profile={}", profile.display()))
        .arg(format!("--webui-port={webui}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("qbittorrent-nox is installed by scripts/setup.sh test");
    Proc(child)
}

async fn scrape(app: &TestApp, hash: &[u8; 20]) -> Option<(u64, u64, u64)> {
    let body =
        app.http.get(app.url(&format!("/scrape?info_hash={}", enc(hash)))).send().await.ok()?.bytes().await.ok()?;
    scrape_counts(&body, hash)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_real_clients_meet_through_the_tracker() {
    let app = spawn_app(|_| {}).await;
    // The data, in swarmcast's download dir: a folder of two files.
    let share = app.download_dir().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let big = noise(3 << 20, 1);
    std::fs::write(share.join("clip.bin"), &big).unwrap();
    std::fs::write(share.join("notes.txt"), b"made by swarmcast\n").unwrap();

    // Create it private: swarmcast's tracker is its only tracker (taking passkeys only),
    // and it seeds at once.
    let resp = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&json!({"path": "share", "private": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let t: Value = resp.json().await.unwrap();
    let id = t["id"].as_str().unwrap().to_string();
    let own = format!("http://{}/announce", app.addr);
    assert!(t["magnet_uri"].as_str().unwrap().contains(&format!("tr={}", urlencode(&own))), "{t}");
    let hash: [u8; 20] = hex::decode(&id).unwrap().try_into().unwrap();
    wait_for("swarmcast to seed", Duration::from_secs(30), || async {
        let v: Value = app.http.get(app.url(&format!("/api/torrents/{id}"))).send().await.ok()?.json().await.ok()?;
        (v["status"] == "seeding").then_some(())
    })
    .await;
    let torrent =
        app.http.get(app.url(&format!("/api/torrents/{id}/torrent"))).send().await.unwrap().bytes().await.unwrap();
    let parsed = librqbit::torrent_from_bytes(&torrent).unwrap();
    let trackers: Vec<String> =
        parsed.iter_announce().map(|b| String::from_utf8_lossy(b.as_ref()).into_owned()).collect();
    // The box's tracker, with the caller's passkey.
    let me: Value = app.http.get(app.url("/api/user/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(trackers, vec![format!("{own}/{}", me["passkey"].as_str().unwrap())]);
    // A second user's copy carries that user's passkey: qBittorrent announces as them.
    let viewer = app.state.store.insert_user("viewer", None, "x", false, 0).unwrap();
    let viewer_http = client_with_key(&app.state.auth.create_api_key(viewer.id, "tests", None).unwrap().key);
    let viewer_torrent =
        viewer_http.get(app.url(&format!("/api/torrents/{id}/torrent"))).send().await.unwrap().bytes().await.unwrap();
    let viewer_key = app.state.store.passkey(viewer.id).unwrap().unwrap();
    assert!(contains(&viewer_torrent, format!("{own}/{viewer_key}").as_bytes()));
    // Without a passkey the private torrent's announce fails, in words.
    let (_, body) =
        announce(&app, &format!("info_hash={}&peer_id={}&port=7001&left=5", enc(&hash), enc(&[5; 20]))).await;
    assert!(contains(&body, b"is private: announce with your passkey"), "{}", String::from_utf8_lossy(&body));
    // swarmcast's own engine announced itself as the first seeder.
    wait_for("swarmcast's announce", Duration::from_secs(20), || async {
        (scrape(&app, &hash).await? == (1, 0, 0)).then_some(())
    })
    .await;

    // Hand the seeding over to transmission: swarmcast lets go of the torrent and its
    // tracker entry expires.
    let r = app.http.delete(app.url(&format!("/api/torrents/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.clock.advance(Duration::from_secs(2 * 1800 + 1));
    assert_eq!(scrape(&app, &hash).await, Some((0, 0, 0)));

    let work = app.tmp.path().join("peers");
    let seed_dir = work.join("seed-data");
    std::fs::create_dir_all(seed_dir.join("share")).unwrap();
    std::fs::copy(share.join("clip.bin"), seed_dir.join("share/clip.bin")).unwrap();
    std::fs::copy(share.join("notes.txt"), seed_dir.join("share/notes.txt")).unwrap();
    let torrent_path = work.join("share.torrent");
    std::fs::write(&torrent_path, &torrent).unwrap();
    let (rpc, tr_peer) = (free_port(), free_port());
    let _seeder = transmission(&work.join("tr-conf"), &seed_dir, rpc, tr_peer);
    // A real client without a passkey (a magnet naming the bare /announce): its
    // announce fails, and transmission shows the tracker's reason.
    let magnet = format!("magnet:?xt=urn:btih:{id}&dn=share&tr={}", urlencode(&own));
    wait_for("transmission's RPC", Duration::from_secs(20), || async {
        remote(rpc, &["-a", &magnet]).await.map(|_| ())
    })
    .await;
    wait_for("transmission to show the tracker's refusal", Duration::from_secs(60), || async {
        let info = remote(rpc, &["-t", &id, "-it"]).await?;
        info.contains("is private: announce with your passkey").then_some(())
    })
    .await;
    remote(rpc, &["-t", &id, "-r"]).await.expect("removing the magnet from transmission");
    wait_for("transmission to let go of the magnet", Duration::from_secs(20), || async {
        // Nothing between the header and the `Sum:` line.
        let list = remote(rpc, &["-l"]).await?;
        (list.lines().count() <= 2).then_some(())
    })
    .await;
    wait_for("transmission to take the .torrent", Duration::from_secs(20), || async {
        let ok = Command::new("transmission-remote")
            .arg(format!("127.0.0.1:{rpc}"))
            .arg("-a")
            .arg(&torrent_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .ok()?
            .success();
        ok.then_some(())
    })
    .await;
    wait_for("transmission to seed: 1 seeder", Duration::from_secs(60), || async {
        (scrape(&app, &hash).await? == (1, 0, 0)).then_some(())
    })
    .await;

    // qBittorrent learns of transmission only through swarmcast's tracker.
    let leech_dir = work.join("leech-data");
    std::fs::create_dir_all(&leech_dir).unwrap();
    let (webui, qb_peer) = (free_port(), free_port());
    let _leecher = qbittorrent(&work.join("qb-profile"), &leech_dir, webui, qb_peer);
    let qb = format!("http://127.0.0.1:{webui}");
    wait_for("qBittorrent's web API", Duration::from_secs(30), || async {
        app.http.get(format!("{qb}/api/v2/app/version")).send().await.ok()?.status().is_success().then_some(())
    })
    .await;
    let form = reqwest::multipart::Form::new()
        .part("torrents", reqwest::multipart::Part::bytes(viewer_torrent.to_vec()).file_name("share.torrent"))
        .text("savepath", leech_dir.display().to_string());
    let r = app.http.post(format!("{qb}/api/v2/torrents/add")).multipart(form).send().await.unwrap();
    assert!(r.status().is_success(), "qBittorrent refused the torrent: {}", r.status());

    wait_for("qBittorrent to finish: 2 seeders", Duration::from_secs(120), || async {
        let c = scrape(&app, &hash).await?;
        (c.0 == 2 && c.2 == 0).then_some(())
    })
    .await;
    assert_eq!(scrape(&app, &hash).await, Some((2, 1, 0)), "one completed download");
    assert_eq!(std::fs::read(leech_dir.join("share/clip.bin")).unwrap(), big);
    let swarms: Value =
        app.http.get(app.url("/api/tracker/torrents?sort=seeders")).send().await.unwrap().json().await.unwrap();
    assert_eq!(swarms[0]["info_hash"], id.as_str());
    assert_eq!(swarms[0]["seeders"], 2);
    assert_eq!(swarms[0]["completed"], 1);
    // The stats credit qBittorrent's download to the viewer, and its seeding.
    let stats: Value =
        app.http.get(app.url(&format!("/api/user/{}/stats", viewer.id))).send().await.unwrap().json().await.unwrap();
    assert!(stats["downloaded"].as_u64().unwrap() >= big.len() as u64, "{stats}");
    assert_eq!(stats["seeding"], 1, "{stats}");
    assert_eq!(stats["completed"], 1, "{stats}");
    // And transmission's upload to the admin, whose passkey its .torrent carries: its
    // `stopped` announce reports it.
    remote(rpc, &["-t", &id, "--stop"]).await.expect("stopping the torrent in transmission");
    let admin_stats = format!("/api/user/{}/stats", me["id"]);
    let s = wait_for("the admin to be credited transmission's upload", Duration::from_secs(30), || async {
        let s: Value = app.http.get(app.url(&admin_stats)).send().await.ok()?.json().await.ok()?;
        (s["uploaded"].as_u64()? >= big.len() as u64).then_some(s)
    })
    .await;
    // Neither seeder downloaded anything: not transmission, nor the box's own engine
    // (which announced what it made with the admin's passkey).
    assert_eq!(s["downloaded"], 0, "{s}");
}

/// `transmission-remote` against the daemon on `rpc`: its output when it succeeds.
async fn remote(rpc: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("transmission-remote").arg(format!("127.0.0.1:{rpc}")).args(args).output().await.ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn announce(app: &TestApp, query: &str) -> (u16, Vec<u8>) {
    let r = app.http.get(app.url(&format!("/announce?{query}"))).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn q(hash: u8, peer: u8, port: u16, left: u64, extra: &str) -> String {
    format!(
        "info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}{extra}",
        enc(&[hash; 20]),
        enc(&[peer; 20])
    )
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn announce_edge_cases_over_http() {
    let app = spawn_app(|c| c.tracker.max_numwant = 20).await;
    // Compact (the default): 6 bytes per peer, and never the asker itself.
    let (status, body) = announce(&app, &q(1, 1, 7001, 10, "&event=started")).await;
    assert_eq!(status, 200);
    assert!(contains(&body, b"5:peers0:"), "{}", String::from_utf8_lossy(&body));
    assert!(contains(&body, b"8:intervali1800e12:min intervali300e"));
    let (_, body) = announce(&app, &q(1, 2, 7002, 0, "&event=started&compact=1")).await;
    assert!(contains(&body, b"5:peers6:\x7f\x00\x00\x01\x1b\x59"), "{}", String::from_utf8_lossy(&body));
    assert!(contains(&body, b"8:completei1e") && contains(&body, b"10:incompletei1e"));
    // Dict form, with and without peer ids.
    let (_, body) = announce(&app, &q(1, 1, 7001, 10, "&compact=0")).await;
    let mut want = b"5:peersld2:ip9:127.0.0.17:peer id20:".to_vec();
    want.extend_from_slice(&[2; 20]);
    want.extend_from_slice(b"4:porti7002eee");
    assert!(contains(&body, &want), "{}", String::from_utf8_lossy(&body));
    let (_, body) = announce(&app, &q(1, 1, 7001, 10, "&compact=0&no_peer_id=1")).await;
    assert!(contains(&body, b"5:peersld2:ip9:127.0.0.14:porti7002eee"));
    // numwant: default 50, capped at max_numwant (20 here), 0 gives none.
    for p in 10..70u8 {
        announce(&app, &q(2, p, 8000 + p as u16, 5, "")).await;
    }
    let peers_len = |body: &[u8]| -> usize {
        let at = body.windows(7).position(|w| w == b"5:peers").map(|i| i + 7).unwrap();
        let end = at + body[at..].iter().position(|&b| b == b':').unwrap();
        std::str::from_utf8(&body[at..end]).unwrap().parse::<usize>().unwrap() / 6
    };
    let (_, body) = announce(&app, &q(2, 200, 9000, 5, "")).await;
    assert_eq!(peers_len(&body), 20);
    let (_, body) = announce(&app, &q(2, 200, 9000, 5, "&numwant=3")).await;
    assert_eq!(peers_len(&body), 3);
    let (_, body) = announce(&app, &q(2, 200, 9000, 5, "&numwant=0")).await;
    assert_eq!(peers_len(&body), 0);
    // stopped removes the peer from the swarm and from others' answers.
    let (_, body) = announce(&app, &q(1, 2, 7002, 0, "&event=stopped")).await;
    assert!(contains(&body, b"5:peers0:"));
    let (_, body) = announce(&app, &q(1, 1, 7001, 10, "")).await;
    assert!(contains(&body, b"5:peers0:") && contains(&body, b"8:completei0e"), "{}", String::from_utf8_lossy(&body));
    assert_eq!(scrape(&app, &[1; 20]).await, Some((0, 0, 1)));
    // Bad parameters: HTTP 200 with a bencoded failure reason.
    for (query, reason) in [
        ("".to_string(), "info_hash is missing"),
        (format!("info_hash=abc&peer_id={}&port=1", enc(&[1; 20])), "info_hash must be 20 bytes"),
        (q(1, 1, 0, 1, ""), "port 0"),
        (q(1, 1, 7001, 1, "&event=bogus"), "event"),
        (q(1, 1, 7001, 1, "&numwant=-5"), "numwant"),
        (q(1, 1, 7001, 1, "").replace("left=1", "left=x"), "left must be"),
    ] {
        let (status, body) = announce(&app, &query).await;
        assert_eq!(status, 200);
        assert!(body.starts_with(b"d14:failure reason"), "{}", String::from_utf8_lossy(&body));
        assert!(contains(&body, reason.as_bytes()), "{query}: {}", String::from_utf8_lossy(&body));
    }
    let r = app.http.get(app.url("/scrape?info_hash=short")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"d14:failure reason"));
    // Scrape of several at once.
    let body = app
        .http
        .get(app.url(&format!("/scrape?info_hash={}&info_hash={}", enc(&[1; 20]), enc(&[2; 20]))))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(scrape_counts(&body, &[1; 20]), Some((0, 0, 1)));
    assert_eq!(scrape_counts(&body, &[2; 20]), Some((0, 0, 61)));
    // Swarm list: paging, sorting, search, bad params.
    let r = app.http.get(app.url("/api/tracker/torrents?sort=leechers&order=desc&limit=1")).send().await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "2");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["info_hash"], hex::encode([2; 20]));
    assert_eq!(v[0]["leechers"], 61);
    let v: Value = app
        .http
        .get(app.url("/api/tracker/torrents?sort=leechers&order=desc&limit=1&page=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v[0]["info_hash"], hex::encode([1; 20]));
    let v: Value = app
        .http
        .get(app.url(&format!("/api/tracker/torrents?search={}", &hex::encode([1; 20])[..8])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    for bad in ["sort=name", "order=up", "limit=0", "limit=101", "page=0", "page=x"] {
        let r = app.http.get(app.url(&format!("/api/tracker/torrents?{bad}"))).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "BAD_REQUEST");
    }
}

#[tokio::test]
async fn tracker_off_and_only_known() {
    let app = spawn_app(|c| c.tracker.enabled = false).await;
    let (status, body) = announce(&app, &q(1, 1, 7001, 10, "")).await;
    assert_eq!(status, 200);
    assert!(contains(&body, b"turned off"), "{}", String::from_utf8_lossy(&body));
    let body = app.http.get(app.url("/scrape")).send().await.unwrap().bytes().await.unwrap();
    assert!(contains(&body, b"turned off"));

    let app = spawn_app(|c| c.tracker.only_known = true).await;
    let (_, body) = announce(&app, &q(1, 1, 7001, 10, "")).await;
    assert!(contains(&body, b"not tracked by this box"), "{}", String::from_utf8_lossy(&body));
    // A torrent the box has is tracked.
    std::fs::write(app.download_dir().join("a.bin"), noise(100_000, 3)).unwrap();
    let t: Value = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&json!({"path": "a.bin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash: Vec<u8> = hex::decode(t["id"].as_str().unwrap()).unwrap();
    let query = format!("info_hash={}&peer_id={}&port=7001&left=0", enc(&hash), enc(&[9; 20]));
    let (_, body) = announce(&app, &query).await;
    assert!(contains(&body, b"8:interval"), "{}", String::from_utf8_lossy(&body));
    let v: Value =
        app.http.get(app.url("/api/tracker/torrents?search=a.bin")).send().await.unwrap().json().await.unwrap();
    assert_eq!(v[0]["name"], "a.bin", "{v}");
    assert_eq!(v[0]["info_hash"], t["id"]);
}
