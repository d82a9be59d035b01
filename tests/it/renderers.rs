//! Playing on a TV with a real UPnP MediaRenderer: Debian's `gmediarender`
//! (gmrender-resurrect, GStreamer inside, fake sinks) in a network namespace of the
//! test's own (`tests/it/dlna.rs`'s). The box finds it by SSDP, `play` makes it fetch
//! and play the HLS stream (its GetPositionInfo advances), `seek`, `pause`, `resume`
//! and `stop` act on it, `/api/renderers/{id}/status` shows its state, the TV is
//! followed from the segments it fetches, and the DLNA Browse result of the film then
//! carries the resume point (`sec:dcmInfo` BM=) and a playback count.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// The port is free: the namespace is the test's own (libupnp wants 49152–65535).
use crate::fixture::{Daemon, Seeder, http, info_hash, make_torrent, media, wait_until};
use serde_json::{Value, json};

struct Renderer(Child, std::path::PathBuf);

impl Drop for Renderer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if std::thread::panicking() {
            eprintln!("--- gmediarender log ---\n{}", std::fs::read_to_string(&self.1).unwrap_or_default());
        }
    }
}

fn start_renderer(name: &str, uuid: &str, log: &std::path::Path) -> Renderer {
    let path = log.to_path_buf();
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new("gmediarender")
        .args(["-I", "sc0", "-f", name, "-u", uuid, "-p", "49494"])
        // Fake sinks that keep the clock: plain fakesink plays as fast as it decodes.
        .args(["--gstout-videopipe", "fakesink sync=true", "--gstout-audiopipe", "fakesink sync=true"])
        .args(["--logfile", "stderr"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("gmediarender (scripts/setup.sh test installs it)");
    Renderer(child, path)
}

fn status(d: &Daemon, id: &str) -> Value {
    let (s, v) = d.get(&format!("/api/renderers/{id}/status"));
    assert_eq!(s, 200, "{v}");
    v
}

fn wait_state(d: &Daemon, id: &str, state: &str, limit: Duration) -> Value {
    wait_until(&format!("the renderer to say {state}"), limit, || {
        let v = status(d, id);
        (v["state"] == state).then_some(v)
    })
}

#[test]
fn a_real_renderer_is_found_and_played_on() {
    if !crate::dlna::in_netns_of("renderers", "a_real_renderer_is_found_and_played_on") {
        return;
    }
    // libupnp (inside gmediarender) refuses loopback: a veth pair is the LAN, sc0 the
    // box's and the TV's interface.
    for args in [
        &["link", "add", "sc0", "type", "veth", "peer", "name", "sc1"][..],
        &["addr", "add", "10.77.0.1/24", "dev", "sc0"],
        &["link", "set", "sc0", "multicast", "on"],
        &["link", "set", "sc0", "up"],
        &["link", "set", "sc1", "up"],
        &["route", "replace", "224.0.0.0/4", "dev", "sc0"],
    ] {
        let st = Command::new("ip").args(args).status().expect("ip (iproute2)");
        assert!(st.success(), "ip {args:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let film = tmp.path().join("Film.mp4");
    media::h264_aac_mp4(&film, 90, 400);
    let torrent = make_torrent(&film, &tmp.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &film, 0);
    let d = Daemon::start_with(&[
        ("SWARMCAST_DLNA_ENABLED", "true"),
        ("SWARMCAST_DLNA_INTERFACES", "sc0"),
        // The TV fetches the stream from the box's address on its LAN.
        ("SWARMCAST_SERVER_LISTEN", "0.0.0.0"),
        ("SWARMCAST_MEDIA_X264_PRESET", "ultrafast"),
    ]);
    d.add(&seeder.magnet(&hash));
    d.wait_status(&hash, &["seeding"], Duration::from_secs(90));

    let uuid = "5d0b6c1e-0000-4000-8000-00000000c0de";
    let _tv = start_renderer("Test TV", uuid, &tmp.path().join("gmediarender.log"));
    let found = wait_until("the box to find the renderer", Duration::from_secs(40), || {
        let (s, v) = d.get("/api/renderers?refresh=1");
        assert_eq!(s, 200, "{v}");
        v.as_array().unwrap().iter().find(|r| r["id"] == uuid).cloned()
    });
    assert_eq!(found["name"], "Test TV", "{found}");
    assert_eq!(found["address"], "10.77.0.1");
    assert!(found["state"].is_string(), "{found}");
    let id = uuid;

    // Play: the TV fetches the stream from the box and plays it.
    let (s, v) = d.post(&format!("/api/renderers/{id}/play"), json!({ "torrent": hash }));
    assert_eq!(s, 200, "{v}");
    assert!(
        v["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://10.77.0.1:{}/api/stream/{hash}/index.m3u8?file=0&token=", d.port)),
        "{v}"
    );
    let first = wait_state(&d, id, "PLAYING", Duration::from_secs(60));
    assert_eq!((first["torrent"].as_str(), first["file"].as_u64()), (Some(hash.as_str()), Some(0)), "{first}");
    // Its position advances.
    let t0 = Instant::now();
    let p0 =
        wait_until("a position from the renderer", Duration::from_secs(30), || status(&d, id)["position_s"].as_f64());
    let p1 = wait_until("the renderer's position to advance", Duration::from_secs(30), || {
        let p = status(&d, id)["position_s"].as_f64()?;
        (p >= p0 + 2.0).then_some(p)
    });
    eprintln!("position {p0} → {p1} in {:.1} s", t0.elapsed().as_secs_f64());
    let dur = status(&d, id)["duration_s"].as_f64();
    assert!(dur.is_none_or(|x| (x - 90.0).abs() < 2.0), "duration {dur:?}");

    // Seek to 25 s.
    let (s, v) = d.post(&format!("/api/renderers/{id}/seek"), json!({ "position_s": 25 }));
    assert_eq!(s, 200, "{v}");
    wait_until("the renderer to be past 24 s", Duration::from_secs(30), || {
        let v = status(&d, id);
        (v["position_s"].as_f64()? >= 24.0).then_some(())
    });

    // Pause: it says so and stays put.
    let (s, v) = d.post(&format!("/api/renderers/{id}/pause"), json!({}));
    assert_eq!(s, 200, "{v}");
    let paused = wait_state(&d, id, "PAUSED_PLAYBACK", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(2));
    let later = status(&d, id);
    assert_eq!(later["state"], "PAUSED_PLAYBACK");
    let (a, b) = (paused["position_s"].as_f64().unwrap(), later["position_s"].as_f64().unwrap());
    assert!((b - a).abs() < 1.1, "paused at {a}, then {b}");
    let (s, _) = d.post(&format!("/api/renderers/{id}/resume"), json!({}));
    assert_eq!(s, 200);
    wait_state(&d, id, "PLAYING", Duration::from_secs(15));

    // The TV cannot report; the box followed it from the segments it fetched.
    let (_, list) = d.get("/api/watch");
    let w = list.as_array().unwrap().iter().find(|w| w["torrent_id"] == hash).unwrap_or_else(|| panic!("{list}"));
    assert!(w["position_s"].as_f64().unwrap() > 0.0, "{list}");

    let (s, _) = d.post(&format!("/api/renderers/{id}/stop"), json!({}));
    assert_eq!(s, 200);
    let stopped = wait_state(&d, id, "STOPPED", Duration::from_secs(15));
    assert_eq!(stopped["torrent"], Value::Null, "{stopped}");

    // Errors in the contract's format.
    let (s, v) = d.post("/api/renderers/no-such-tv/pause", json!({}));
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    let (s, v) = d.post(&format!("/api/renderers/{id}/seek"), json!({ "position_s": -3 }));
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{v}");
    let (s, v) = d.post(&format!("/api/renderers/{id}/play"), json!({ "torrent": "0".repeat(40) }));
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    assert_eq!(http().get(d.url("/api/renderers")).send().unwrap().status(), 401);

    // The DLNA bookmark: a half-watched film's Browse result carries its resume point.
    let (s, v) = d
        .client()
        .put(d.url(&format!("/api/watch/{hash}/0")))
        .json(&json!({ "position_s": 12.5, "duration_s": 90 }))
        .send()
        .map(|r| (r.status().as_u16(), r.json::<Value>().unwrap()))
        .unwrap();
    assert_eq!(s, 200, "{v}");
    let browse = format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
<u:Browse xmlns:u=\"urn:schemas-upnp-org:service:ContentDirectory:1\"><ObjectID>library/{hash}/0</ObjectID>\
<BrowseFlag>BrowseMetadata</BrowseFlag><Filter>*</Filter><StartingIndex>0</StartingIndex>\
<RequestedCount>0</RequestedCount><SortCriteria></SortCriteria></u:Browse></s:Body></s:Envelope>"
    );
    let r = http()
        // From the served subnet: /dlna/ answers only the subnets DLNA serves.
        .post(format!("http://10.77.0.1:{}/dlna/control/ContentDirectory", d.port))
        .header("soapaction", "\"urn:schemas-upnp-org:service:ContentDirectory:1#Browse\"")
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .body(browse)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    // The DIDL-Lite is escaped inside the SOAP answer.
    assert!(text.contains("sec:dcmInfo&gt;CREATIONDATE=0,FOLDER=swarmcast,BM=12&lt;/sec:dcmInfo"), "{text}");
    assert!(text.contains("upnp:playbackCount&gt;0&lt;"), "{text}");
    assert!(text.contains("xmlns:sec=&quot;http://www.sec.co.kr/&quot;"), "{text}");
    drop(seeder);
}
