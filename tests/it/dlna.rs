//! TVs and players find the box and play from it, with real clients:
//!
//! * M3U: `/api/playlist.m3u` lists every video; ffprobe opens every entry.
//! * DLNA: a UPnP control point on GUPnP (`tests/it/dlna/control_point.py`) discovers
//!   the server by SSDP, browses down to the films, and ffprobe plays the advertised
//!   resources; the DLNA headers, HEAD and exact Range answers; actions that would
//!   change something are refused; alive on start and byebye on stop.
//! * mDNS: python3-zeroconf (`tests/it/dlna/mdns_browse.py`) finds both services with
//!   the web port, the version TXT, and `swarmcast.local`'s address.
//!
//! The multicast tests run in a network namespace of their own (`unshare -rn`: the
//! test binary runs itself again inside it) with multicast routed on its loopback, so
//! nothing leaves the machine and parallel tests cannot hear each other.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::fixture::*;
use serde_json::Value;

const PYTHON: &str = "/usr/bin/python3";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/dlna").join(name)
}

/// The duration ffprobe reads from `url`, in seconds.
fn ffprobe_duration(url: &str) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "60000000", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(url)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe could not read {url}: {}{}", text, String::from_utf8_lossy(&out.stderr)))
}

/// A film made and made into a torrent: (data path, .torrent, info-hash).
fn film(dir: &Path, name: &str, secs: u32) -> (PathBuf, PathBuf, String) {
    let data = dir.join(name);
    if name.ends_with(".mkv") {
        media::h264_aac_mkv(&data, secs, 300);
    } else {
        media::h264_aac_mp4(&data, secs, 300);
    }
    let torrent = make_torrent(&data, &dir.join(format!("{name}.torrent")), &[]);
    let hash = info_hash(&torrent);
    (data, torrent, hash)
}

/// Re-runs the calling test inside a new network namespace with multicast routed on
/// its loopback, and a mount namespace with an empty `/run`: a host's Avahi or D-Bus
/// must not be reachable from the test (a daemon there would publish on the real LAN).
/// Returns `true` in that re-run, where the test does its work.
fn in_own_netns(test: &str) -> bool {
    // The test's full name in the `it` binary: this module's path without the crate.
    in_netns_of(module_path!().split_once("::").map_or("", |(_, m)| m), test)
}

/// `in_own_netns` for a test of another area (`area` = its module path in `it`).
pub(crate) fn in_netns_of(area: &str, test: &str) -> bool {
    if std::env::var_os("SWARMCAST_TEST_NETNS").is_some() {
        let st = Command::new("mount").args(["-t", "tmpfs", "tmpfs", "/run"]).status().expect("mount");
        assert!(st.success(), "mounting a tmpfs over /run");
        for args in [
            &["link", "set", "lo", "up"][..],
            &["link", "set", "lo", "multicast", "on"],
            &["route", "add", "224.0.0.0/4", "dev", "lo"],
        ] {
            let st = Command::new("ip").args(args).status().expect("ip (iproute2)");
            assert!(st.success(), "ip {args:?}");
        }
        return true;
    }
    // As root (CI) no user namespace: avahi-daemon wants its own user's uid mapped.
    let flags = if is_root() { "-nm" } else { "-rnm" };
    let status = Command::new("unshare")
        .args([flags, "--"])
        .arg(std::env::current_exe().unwrap())
        .arg(format!("{area}::{test}"))
        .args(["--exact", "--nocapture", "--test-threads=1"])
        .env("SWARMCAST_TEST_NETNS", "1")
        .status()
        .expect("unshare (util-linux)");
    assert!(status.success(), "{test} failed inside its network namespace");
    false
}

fn python(args: &[&str]) -> Value {
    let out = Command::new(PYTHON).args(args).output().expect("python3");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn m3u_lists_every_video_and_ffprobe_opens_each() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_data, a_torrent, a) = film(tmp.path(), "Alpha.mp4", 8);
    // A folder with the film, a sample and subtitles: two videos, one .srt.
    let folder = tmp.path().join("Beta.2024");
    std::fs::create_dir_all(&folder).unwrap();
    media::h264_aac_mkv(&folder.join("Beta.2024.mkv"), 12, 300);
    media::h264_aac_mp4(&folder.join("sample.mp4"), 3, 300);
    std::fs::write(folder.join("Beta.2024.srt"), "1\n00:00:01,000 --> 00:00:02,000\nHi\n").unwrap();
    let b_torrent = make_torrent(&folder, &tmp.path().join("Beta.torrent"), &[]);
    let b = info_hash(&b_torrent);

    let seeder = Seeder::start(&a_torrent, &a_data, 0);
    seeder.add(&b_torrent, &folder);
    let d = Daemon::start();
    for id in [&a, &b] {
        d.add(&seeder.magnet(id));
        d.wait_status(id, &["seeding"], Duration::from_secs(90));
    }

    let r = d.client().get(d.url("/api/playlist.m3u")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("audio/x-mpegurl"));
    let text = r.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#EXTM3U", "{text}");
    let entries: Vec<(&str, &str)> = lines[1..].chunks(2).map(|c| (c[0], c[1])).collect();
    assert_eq!(entries.len(), 3, "two films and a sample: {text}");
    let mut durations = Vec::new();
    for (extinf, url) in &entries {
        assert!(extinf.starts_with("#EXTINF:-1,"), "{extinf}");
        assert!(url.starts_with(&format!("http://127.0.0.1:{}/api/torrents/", d.port)), "{url}");
        assert!(url.contains("?token="), "{url}");
        // ffprobe sends no credentials: the token is what lets it in.
        durations.push((extinf.trim_start_matches("#EXTINF:-1,").to_string(), ffprobe_duration(url)));
    }
    let find =
        |title: &str| durations.iter().find(|(t, _)| t == title).unwrap_or_else(|| panic!("{title}: {durations:?}")).1;
    assert!((find("Alpha.mp4") - 8.0).abs() < 0.5, "{durations:?}");
    assert!((find("Beta.2024 — Beta.2024.mkv") - 12.0).abs() < 0.5, "{durations:?}");
    assert!((find("Beta.2024 — sample.mp4") - 3.0).abs() < 0.5, "{durations:?}");

    // One torrent's videos.
    let text = d.client().get(d.url(&format!("/api/playlist.m3u?torrent={b}"))).send().unwrap().text().unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("http")).count(), 2, "{text}");
    assert!(text.lines().all(|l| !l.starts_with("http") || l.contains(&b)), "{text}");
    // Errors in the API's format; no credentials, no playlist.
    let (status, body) = d.get(&format!("/api/playlist.m3u?torrent={}", "0".repeat(40)));
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    let r = http().get(d.url("/api/playlist.m3u")).send().unwrap();
    assert_eq!(r.status(), 401);
}

/// Collects the JSON lines of `control_point.py watch` in the background.
struct Watcher {
    child: std::process::Child,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Watcher {
    fn start(seconds: u32) -> Self {
        let mut child = Command::new(PYTHON)
            .arg(script("control_point.py"))
            .args(["watch", "lo", &seconds.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let events = Arc::new(Mutex::new(Vec::new()));
        let (out, ev) = (child.stdout.take().unwrap(), events.clone());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    ev.lock().unwrap().push(v);
                }
            }
        });
        let w = Self { child, events };
        wait_until("the SSDP watcher to listen", Duration::from_secs(20), || {
            w.events.lock().unwrap().iter().any(|e| e["event"] == "listening").then_some(())
        });
        w
    }

    fn saw(&self, event: &str, usn: &str) -> bool {
        self.events.lock().unwrap().iter().any(|e| e["event"] == event && e["usn"] == usn)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fault(v: &Value) -> i64 {
    v["fault"].as_i64().unwrap_or_else(|| panic!("expected a UPnP fault, got {v}"))
}

#[test]
fn dlna_control_point_finds_browses_and_plays() {
    if !in_own_netns("dlna_control_point_finds_browses_and_plays") {
        return;
    }
    let t0 = std::time::Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1} s] {what}", t0.elapsed().as_secs_f64());
    let tmp = tempfile::tempdir().unwrap();
    let (a_data, a_torrent, a) = film(tmp.path(), "Alpha.mp4", 10);
    let (b_data, b_torrent, b) = film(tmp.path(), "Beta.mkv", 6);
    let (c_data, c_torrent, c) = film(tmp.path(), "Gamma.mp4", 20);
    let seeder = Seeder::start(&a_torrent, &a_data, 0);
    seeder.add(&b_torrent, &b_data);
    // Gamma comes slowly, so it is still downloading while the TV browses.
    let slow = Seeder::start(&c_torrent, &c_data, 40);

    phase("films made, seeders seeding");
    let watcher = Watcher::start(110);
    let name = "swarmcast test";
    let mut d = Daemon::start_with(&[
        ("SWARMCAST_DLNA_ENABLED", "true"),
        ("SWARMCAST_DLNA_INTERFACES", "lo"),
        ("SWARMCAST_DLNA_FRIENDLY_NAME", name),
    ]);
    let udn = std::fs::read_to_string(d.dir.join("state/dlna-udn")).unwrap();
    // NOTIFY ssdp:alive for the root device, the UUID, the device and both services.
    let kinds = [
        format!("{udn}::upnp:rootdevice"),
        udn.clone(),
        format!("{udn}::urn:schemas-upnp-org:device:MediaServer:1"),
        format!("{udn}::urn:schemas-upnp-org:service:ContentDirectory:1"),
        format!("{udn}::urn:schemas-upnp-org:service:ConnectionManager:1"),
    ];
    wait_until("ssdp:alive for every target", Duration::from_secs(15), || {
        kinds.iter().all(|k| watcher.saw("alive", k)).then_some(())
    });

    phase("daemon up, alive heard");
    for id in [&a, &b] {
        d.add(&seeder.magnet(id));
        d.wait_status(id, &["seeding"], Duration::from_secs(90));
    }
    phase("two films downloaded");
    d.add(&slow.magnet(&c));
    d.wait_status(&c, &["downloading"], Duration::from_secs(60));

    // M-SEARCH answers: ssdp:all gets all five; each search target its own.
    let location = format!("http://127.0.0.1:{}/dlna/description.xml", d.port);
    let all = python(&[script("control_point.py").to_str().unwrap(), "search", "lo", "ssdp:all", "4"]);
    for k in &kinds {
        let hit = all.as_array().unwrap().iter().find(|r| r["usn"] == k.as_str());
        let hit = hit.unwrap_or_else(|| panic!("ssdp:all did not answer {k}: {all}"));
        assert_eq!(hit["locations"][0], location.as_str());
    }
    for (st, usn) in [
        ("upnp:rootdevice", &kinds[0]),
        ("urn:schemas-upnp-org:device:MediaServer:1", &kinds[2]),
        ("urn:schemas-upnp-org:service:ContentDirectory:1", &kinds[3]),
    ] {
        let got = python(&[script("control_point.py").to_str().unwrap(), "search", "lo", st, "3"]);
        assert!(got.as_array().unwrap().iter().any(|r| r["usn"] == usn.as_str()), "{st}: {got}");
    }

    phase("M-SEARCH answered");
    // The control point finds the server by name and walks it.
    let cp = script("control_point.py");
    let v = python(&[cp.to_str().unwrap(), "browse", "lo", name, "15"]);
    phase("browsed (23 actions)");
    assert_eq!(v["found"], true, "{v}");
    assert_eq!(v["udn"], udn.as_str());
    let titles = |r: &Value| -> Vec<String> {
        r["objects"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|o| o["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&v["root"]), ["Downloading", "Library", "Recently watched"], "{}", v["root"]);
    assert_eq!(v["root"]["TotalMatches"], 3);
    assert_eq!(v["root_meta"]["objects"][0]["id"], "0");
    assert_eq!(titles(&v["library"]), ["Alpha.mp4", "Beta.mkv"]);
    assert_eq!((v["library"]["NumberReturned"].as_u64(), v["library"]["TotalMatches"].as_u64()), (Some(2), Some(2)));
    assert_eq!(titles(&v["library_page"]), ["Beta.mkv"]);
    assert_eq!(
        (v["library_page"]["NumberReturned"].as_u64(), v["library_page"]["TotalMatches"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(titles(&v["downloading"]), ["Gamma.mp4"]);
    assert!(titles(&v["recent"]).is_empty(), "nothing watched yet: {}", v["recent"]);
    assert_eq!(v["item_meta"]["TotalMatches"], 1);
    assert_eq!(fault(&v["no_such_object"]), 701);
    assert_eq!(fault(&v["bad_flag"]), 402);
    // Read-only: whatever would change something is not an action here.
    for k in ["destroy", "create", "prepare"] {
        assert_eq!(fault(&v[k]), 401, "{k}: {}", v[k]);
    }
    assert!(v["sort_caps"]["SortCaps"].as_str().unwrap().contains("dc:title"));
    assert_eq!(v["search_caps"]["SearchCaps"], "");
    assert!(v["update_id"]["Id"].as_u64().unwrap() >= 1);
    assert!(
        v["protocol_info"]["Source"].as_str().unwrap().contains("http-get:*:video/mp4:DLNA.ORG_OP=01;DLNA.ORG_CI=0")
    );
    assert_eq!(v["connection_ids"]["ConnectionIDs"], "0");
    assert_eq!(v["connection_info"]["Direction"], "Output");

    // Alpha's two resources: the raw file with DLNA flags, and its HLS stream.
    let alpha = &v["library"]["objects"][0];
    assert_eq!(alpha["class"], "object.item.videoItem");
    let raw = &alpha["res"][0];
    let hls = &alpha["res"][1];
    assert_eq!((raw["protocol"].as_str(), raw["mime"].as_str()), (Some("http-get"), Some("video/mp4")));
    assert_eq!(raw["size"].as_u64(), Some(std::fs::metadata(&a_data).unwrap().len()));
    assert_ne!(raw["dlna_flags"].as_i64(), Some(0), "DLNA.ORG_FLAGS: {raw}");
    assert_eq!(hls["mime"], "application/vnd.apple.mpegurl");
    let raw_url = raw["uri"].as_str().unwrap();
    assert!(raw_url.starts_with(&format!("http://127.0.0.1:{}/api/torrents/{a}/files/0?token=", d.port)), "{raw_url}");
    let secs = ffprobe_duration(raw_url);
    assert!((secs - 10.0).abs() < 0.5, "ffprobe read {secs} s of the raw resource");
    let secs = ffprobe_duration(hls["uri"].as_str().unwrap());
    assert!((secs - 10.0).abs() < 1.0, "ffprobe read {secs} s of the HLS resource");
    // The film still downloading plays too.
    let gamma = &v["downloading"]["objects"][0]["res"][0]["uri"];
    let secs = ffprobe_duration(gamma.as_str().unwrap());
    assert!((secs - 20.0).abs() < 0.5, "ffprobe read {secs} s of the downloading film");

    phase("raw, HLS and downloading resources played by ffprobe");
    // What Samsung and LG TVs ask of the resource: HEAD, DLNA headers, exact ranges.
    let client = http();
    let r = client.head(raw_url).header("getcontentFeatures.dlna.org", "1").send().unwrap();
    assert_eq!(r.status(), 200);
    let size = std::fs::metadata(&a_data).unwrap().len();
    let h = r.headers();
    assert_eq!(h["content-length"].to_str().unwrap(), size.to_string());
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["transfermode.dlna.org"], "Streaming");
    assert!(
        h["contentfeatures.dlna.org"].to_str().unwrap().starts_with("DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=")
    );
    let r = client.get(raw_url).header("range", "bytes=1000-4999").send().unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes 1000-4999/{size}"));
    assert_eq!(r.headers()["transfermode.dlna.org"], "Streaming");
    let body = r.bytes().unwrap();
    assert_eq!(&body[..], &std::fs::read(&a_data).unwrap()[1000..5000]);

    // Playing it made Alpha "recently watched".
    let v = python(&[cp.to_str().unwrap(), "browse", "lo", name, "15"]);
    assert!(titles(&v["recent"]).contains(&"Alpha.mp4".to_string()), "{}", v["recent"]);

    // Bad SOAP gets a fault, never a crash.
    let control = d.url("/dlna/control/ContentDirectory");
    for body in
        ["", "not xml at all", "<s:Envelope xmlns:s='x'><s:Body><u:Browse xmlns:u='y'><ObjectID>0", "\u{0}\u{1}"]
    {
        let r = client
            .post(&control)
            .header("soapaction", "\"urn:schemas-upnp-org:service:ContentDirectory:1#Browse\"")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 500, "{body:?}");
        assert!(r.text().unwrap().contains("<errorCode>402</errorCode>"), "{body:?}");
    }
    let desc = client.get(&location).send().unwrap().text().unwrap();
    assert!(desc.contains(&format!("<friendlyName>{name}</friendlyName>")), "{desc}");
    assert!(client.get(d.url("/api/health")).send().unwrap().status().is_success());

    // A clean stop says byebye.
    let status = d.terminate().expect("daemon was running");
    assert!(status.success(), "{status}");
    wait_until("ssdp:byebye", Duration::from_secs(10), || kinds.iter().all(|k| watcher.saw("byebye", k)).then_some(()));
    phase("byebye heard");
}

#[test]
fn mdns_client_sees_the_services() {
    if !in_own_netns("mdns_client_sees_the_services") {
        return;
    }
    let d = Daemon::start_with(&[("SWARMCAST_MDNS_ENABLED", "true"), ("SWARMCAST_MDNS_INTERFACES", "lo")]);
    let v = python(&[
        script("mdns_browse.py").to_str().unwrap(),
        "127.0.0.1",
        "20",
        "_http._tcp.local.",
        "_swarmcast._tcp.local.",
    ]);
    let find = |ty: &str| -> Value {
        v.as_array().unwrap().iter().find(|s| s["type"] == ty).cloned().unwrap_or_else(|| panic!("no {ty}: {v}"))
    };
    for ty in ["_http._tcp.local.", "_swarmcast._tcp.local."] {
        let s = find(ty);
        assert_eq!(s["resolved"], true, "{s}");
        assert_eq!(s["name"], format!("swarmcast.{ty}"), "{s}");
        assert_eq!(s["port"].as_u64(), Some(d.port as u64), "{s}");
        // The host name resolves (its A record) to where the web UI answers.
        assert_eq!(s["server"], "swarmcast.local.", "{s}");
        let addr = s["addresses"][0].as_str().unwrap();
        let r = http().get(format!("http://{addr}:{}/api/health", s["port"])).send().unwrap();
        assert!(r.status().is_success());
    }
    assert_eq!(find("_swarmcast._tcp.local.")["txt"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(find("_http._tcp.local.")["txt"]["path"], "/");
}

/// A child process killed (and reaped) on drop.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const DBUS_CONF: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_type="method_call"/>
    <allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
  </policy>
</busconfig>
"#;

const AVAHI_CONF: &str = "[server]\nhost-name=avahibox\ndomain-name=local\nuse-ipv4=yes\nuse-ipv6=no\n\
allow-interfaces=veth0\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-workstation=no\n";

#[test]
fn mdns_goes_through_avahi_where_it_runs() {
    if !in_own_netns("mdns_goes_through_avahi_where_it_runs") {
        return;
    }
    assert!(is_root(), "avahi-daemon needs root (CI runs as root)");
    // A LAN of our own: a veth pair, 192.0.2.1 (TEST-NET-1) on veth0.
    for args in [
        &["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"][..],
        &["addr", "add", "192.0.2.1/24", "dev", "veth0"],
        &["link", "set", "veth0", "up", "multicast", "on"],
        &["link", "set", "veth1", "up"],
    ] {
        assert!(Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("dbus.conf"), DBUS_CONF).unwrap();
    std::fs::write(tmp.path().join("avahi.conf"), AVAHI_CONF).unwrap();
    std::fs::create_dir_all("/run/dbus").unwrap();
    std::fs::create_dir_all("/run/avahi-daemon").unwrap();
    let _bus = Killed(
        Command::new("dbus-daemon")
            .arg(format!("--config-file={}", tmp.path().join("dbus.conf").display()))
            .args(["--nofork", "--nopidfile"])
            .spawn()
            .expect("dbus-daemon (Debian dbus)"),
    );
    wait_until("the D-Bus socket", Duration::from_secs(10), || {
        Path::new("/run/dbus/system_bus_socket").exists().then_some(())
    });
    let _avahi = Killed(
        Command::new("avahi-daemon")
            .args(["--no-drop-root", "--no-chroot", "--no-rlimits", "-f"])
            .arg(tmp.path().join("avahi.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("avahi-daemon (Debian avahi-daemon)"),
    );
    let resolve = |name: &str| {
        let out = Command::new("avahi-resolve").args(["-4", "-n", name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_until("Avahi to serve avahibox.local", Duration::from_secs(20), || {
        resolve("avahibox.local").contains("192.0.2.1").then_some(())
    });

    let d = Daemon::start_with(&[("SWARMCAST_MDNS_ENABLED", "true")]);
    // avahi-browse: `=;iface;proto;name;type;domain;host;address;port;txt…` per service.
    let browse = |ty: &str| -> Option<Vec<String>> {
        let out = Command::new("avahi-browse").args(["-rptk", ty]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("=;") && l.contains(";swarmcast;"))
            .map(|l| l.split(';').map(str::to_string).collect())
    };
    for ty in ["_http._tcp", "_swarmcast._tcp"] {
        let f = wait_until(&format!("avahi-browse to see {ty}"), Duration::from_secs(20), || browse(ty));
        assert_eq!(f[4], ty, "{f:?}");
        // On Avahi's own host name, with the web UI's port.
        assert_eq!((f[6].as_str(), f[7].as_str()), ("avahibox.local", "192.0.2.1"), "{f:?}");
        assert_eq!(f[8], d.port.to_string(), "{f:?}");
        if ty == "_swarmcast._tcp" {
            assert!(f[9].contains(&format!("\"version={}\"", env!("CARGO_PKG_VERSION"))), "{f:?}");
        }
    }
    // swarmcast.local is an alias of the box's LAN address, registered through Avahi.
    wait_until("swarmcast.local through Avahi", Duration::from_secs(20), || {
        resolve("swarmcast.local").contains("192.0.2.1").then_some(())
    });
    let log = d.log_text();
    assert!(log.contains("registered through Avahi"), "{log}");
    assert!(!log.contains("answering for swarmcast.local"), "a second responder beside Avahi: {log}");
}
