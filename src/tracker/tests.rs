//! Announce edge cases against the registry, on a manual clock.

use super::*;
use crate::system::clock::ManualClock;

fn tracker() -> (Tracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let t = Tracker::with_clock(&TrackerConfig::default(), Store::open_in_memory().unwrap(), clock.clone()).unwrap();
    (t, clock)
}

fn ann(hash: u8, peer: u8, port: u16, left: u64, event: Event) -> Announce {
    Announce {
        info_hash: [hash; 20],
        peer_id: [peer; 20],
        port,
        uploaded: 0,
        downloaded: 0,
        left,
        event,
        compact: true,
        no_peer_id: false,
        numwant: None,
    }
}

const LO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn never_returns_the_asker_and_counts() {
    let (t, _) = tracker();
    let r = t.announce(&ann(1, 1, 6001, 100, Event::Started), LO).unwrap();
    assert!(r.peers.is_empty());
    assert_eq!((r.complete, r.incomplete), (0, 1));
    let r = t.announce(&ann(1, 2, 6002, 0, Event::Started), LO).unwrap();
    assert_eq!(r.peers, vec![([1; 20], "127.0.0.1:6001".parse().unwrap())]);
    assert_eq!((r.complete, r.incomplete), (1, 1));
    let r = t.announce(&ann(1, 1, 6001, 100, Event::None), LO).unwrap();
    assert_eq!(r.peers, vec![([2; 20], "127.0.0.1:6002".parse().unwrap())]);
    assert_eq!(r.interval, 1800);
    assert_eq!(r.min_interval, 300);
}

#[test]
fn stopped_removes_and_completed_counts_once() {
    let (t, _) = tracker();
    t.announce(&ann(1, 1, 6001, 100, Event::Started), LO).unwrap();
    t.announce(&ann(1, 2, 6002, 100, Event::Started), LO).unwrap();
    let r = t.announce(&ann(1, 1, 6001, 0, Event::Completed), LO).unwrap();
    assert_eq!((r.complete, r.incomplete, r.downloaded), (1, 1, 1));
    let r = t.announce(&ann(1, 1, 6001, 0, Event::Completed), LO).unwrap();
    assert_eq!(r.downloaded, 1, "a repeated completed must not count twice");
    let r = t.announce(&ann(1, 2, 6002, 100, Event::Stopped), LO).unwrap();
    assert!(r.peers.is_empty());
    assert_eq!((r.complete, r.incomplete), (1, 0));
    let r = t.announce(&ann(1, 3, 6003, 100, Event::Started), LO).unwrap();
    assert_eq!(r.peers.len(), 1, "the stopped peer is gone: {:?}", r.peers);
    assert_eq!(r.peers[0].1.port(), 6001);
}

#[test]
fn numwant_default_and_cap() {
    let (t, _) = tracker();
    for i in 0..120u8 {
        t.announce(&ann(9, i, 7000 + i as u16, 5, Event::Started), LO).unwrap();
    }
    let mut a = ann(9, 200, 9999, 5, Event::None);
    assert_eq!(t.announce(&a, LO).unwrap().peers.len(), DEFAULT_NUMWANT as usize);
    a.numwant = Some(7);
    let r = t.announce(&a, LO).unwrap();
    assert_eq!(r.peers.len(), 7);
    assert!(r.peers.iter().all(|(id, _)| *id != [200; 20]));
    a.numwant = Some(0);
    assert!(t.announce(&a, LO).unwrap().peers.is_empty());
    a.numwant = Some(100_000);
    t.reconfigure(&TrackerConfig { max_numwant: 30, ..Default::default() });
    assert_eq!(t.announce(&a, LO).unwrap().peers.len(), 30);
}

#[test]
fn silent_peers_expire_after_two_intervals() {
    let (t, clock) = tracker();
    t.announce(&ann(1, 1, 6001, 100, Event::Started), LO).unwrap();
    clock.advance(Duration::from_secs(1800));
    t.announce(&ann(1, 2, 6002, 100, Event::Started), LO).unwrap();
    clock.advance(Duration::from_secs(1800));
    // Peer 1 was last seen 3600 s ago: still inside 2 × interval.
    assert_eq!(t.announce(&ann(1, 3, 6003, 1, Event::None), LO).unwrap().peers.len(), 2);
    clock.advance(Duration::from_secs(1));
    let r = t.announce(&ann(1, 3, 6003, 1, Event::None), LO).unwrap();
    assert_eq!(r.peers.len(), 1);
    assert_eq!(r.peers[0].1.port(), 6002);
    assert_eq!((r.complete, r.incomplete), (0, 2));
    assert_eq!(t.counts(), (1, 2));
    clock.advance(Duration::from_secs(3601));
    assert_eq!(t.counts(), (0, 0), "a swarm with no peers and no completions is swept");
}

#[test]
fn seeders_get_only_leechers() {
    let (t, _) = tracker();
    t.announce(&ann(1, 1, 6001, 0, Event::Started), LO).unwrap();
    t.announce(&ann(1, 2, 6002, 10, Event::Started), LO).unwrap();
    let r = t.announce(&ann(1, 3, 6003, 0, Event::Started), LO).unwrap();
    assert_eq!(r.peers.iter().map(|p| p.1.port()).collect::<Vec<_>>(), vec![6002]);
}

#[test]
fn compact_and_dict_encodings() {
    let r = AnnounceReply {
        interval: 1800,
        min_interval: 300,
        complete: 1,
        incomplete: 2,
        downloaded: 3,
        peers: vec![([b'a'; 20], "10.0.0.2:6881".parse().unwrap()), ([b'b'; 20], "[::1]:6882".parse().unwrap())],
    };
    let compact = r.encode(true, false);
    let needle = b"5:peers6:\x0a\x00\x00\x02\x1a\xe1";
    assert!(compact.windows(needle.len()).any(|w| w == needle));
    assert!(compact.windows(10).any(|w| w == b"6:peers618"));
    let dict = r.encode(false, false);
    let text = String::from_utf8_lossy(&dict);
    assert!(text.contains("5:peersld2:ip8:10.0.0.27:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee"), "{text}");
    assert!(text.contains("2:ip3:::1"), "{text}");
    assert!(!String::from_utf8_lossy(&r.encode(false, true)).contains("peer id"));
    assert!(text.starts_with("d8:completei1e10:downloadedi3e10:incompletei2e8:intervali1800e12:min intervali300e"));
}

#[test]
fn only_known_and_persisted_counts() {
    let store = Store::open_in_memory().unwrap();
    let mut c = TrackerConfig { only_known: true, ..Default::default() };
    let t = Tracker::new(&c, store.clone()).unwrap();
    let e = t.announce(&ann(4, 1, 6001, 0, Event::Started), LO).unwrap_err();
    assert!(e.0.contains("not tracked"), "{e}");
    c.only_known = false;
    t.reconfigure(&c);
    t.announce(&ann(4, 1, 6001, 5, Event::Started), LO).unwrap();
    t.announce(&ann(4, 1, 6001, 0, Event::Completed), LO).unwrap();
    drop(t);
    let t = Tracker::new(&c, store).unwrap();
    let s = t.swarms();
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].completed, s[0].seeders), (1, 0));
    let scrape = t.scrape(&[[4; 20]]);
    assert!(scrape.windows(13).any(|w| w == b"downloadedi1e"));
}

#[test]
fn config_errors_name_the_key() {
    use crate::config::Config;
    let env = Default::default();
    for (file, key) in [
        ("[tracker]\ninterval_secs = 0\n", "tracker.interval_secs"),
        ("[tracker]\ninterval_secs = 60\nmin_interval_secs = 120\n", "tracker.interval_secs"),
        ("[tracker]\nannounce_url = \"ftp://x/announce\"\n", "tracker.announce_url"),
        ("[tracker]\nbogus = 1\n", "bogus"),
        ("[[search.indexers]]\nname = \"a\"\nurl = \"not a url\"\n", "search.indexers[0].url"),
        ("[[search.indexers]]\nname = \" \"\nurl = \"http://127.0.0.1:9117/\"\n", "search.indexers[0].name"),
        ("[search]\ntimeout_secs = 0\n", "search.timeout_secs"),
    ] {
        let e = Config::from_layers(Some(file), &env).unwrap_err();
        assert!(format!("{e:#}").contains(key), "{file}: {e:#}");
    }
    let c = Config::from_layers(
        Some("[[search.indexers]]\nname = \"j\"\nurl = \"http://127.0.0.1:9117/torznab/\"\napi_key = \"hunter2\"\n"),
        &env,
    )
    .unwrap();
    assert_eq!(c.search.indexers[0].api_key.expose(), "hunter2");
    assert!(!format!("{c:?}").contains("hunter2"), "the API key is redacted in Debug");
}

#[test]
fn a_flood_from_one_address_is_bounded_and_idle_swarms_go() {
    let (t, clock) = tracker();
    let cap = TrackerConfig::default().max_swarms_per_address as usize;
    let flood: IpAddr = "192.168.1.66".parse().unwrap();
    let mut refused = 0;
    for i in 0..(cap + 50) {
        let mut a = ann(0, 1, 6001, 0, Event::Completed);
        a.info_hash[..8].copy_from_slice(&(i as u64).to_be_bytes());
        match t.announce(&a, flood) {
            Ok(_) => {}
            Err(e) => {
                assert!(e.0.contains("max_swarms_per_address"), "{}", e.0);
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 50);
    assert_eq!(t.counts().0, cap, "one address holds at most its cap");
    // Another address is still served.
    t.announce(&ann(9, 9, 6009, 0, Event::Completed), LO).unwrap();
    assert_eq!(t.store.tracker_swarms().unwrap().len(), cap + 1, "completed swarms have rows");
    // With history (downloaded > 0) but no announce for swarm_idle_secs: forgotten, rows too.
    clock.advance_secs(TrackerConfig::default().swarm_idle_secs as i64 + 1);
    t.sweep();
    assert_eq!(t.counts().0, 0);
    assert!(t.store.tracker_swarms().unwrap().is_empty(), "the rows of forgotten swarms are deleted");
    // The flood's address may start swarms again.
    t.announce(&ann(3, 1, 6001, 10, Event::Started), flood).unwrap();
}

#[test]
fn web_and_http_peers_share_counts_but_not_peers() {
    let (t, _) = tracker();
    // Two WebRTC peers on one socket (one page's clients share it).
    t.announce_web(&ann(5, 1, 40000, 100, Event::Started), LO, None).unwrap();
    let r = t.announce_web(&ann(5, 2, 40000, 100, Event::Started), LO, None).unwrap();
    assert_eq!(r.peers.iter().map(|p| p.0).collect::<Vec<_>>(), vec![[1; 20]], "same socket, both stay");
    // A BitTorrent peer: counted with them, but never given them nor given to them.
    let r = t.announce(&ann(5, 3, 6881, 0, Event::Started), LO).unwrap();
    assert!(r.peers.is_empty(), "an HTTP peer got WebRTC peers: {:?}", r.peers);
    assert_eq!((r.complete, r.incomplete), (1, 2));
    let r = t.announce_web(&ann(5, 1, 40000, 100, Event::None), LO, None).unwrap();
    assert_eq!(r.peers.iter().map(|p| p.0).collect::<Vec<_>>(), vec![[2; 20]]);
    let r = t.announce(&ann(5, 4, 6882, 100, Event::Started), LO).unwrap();
    assert_eq!(r.peers.iter().map(|p| p.0).collect::<Vec<_>>(), vec![[3; 20]]);
    // A closed socket's peers leave; an HTTP peer with the same id is not touched.
    t.leave_web(&[5; 20], &[1; 20]);
    t.leave_web(&[5; 20], &[3; 20]);
    let (_, c, i, _) = t.scrape_counts(&[[5; 20]])[0];
    assert_eq!((c, i), (1, 2));
}

#[test]
fn a_peer_first_seen_complete_is_credited_its_upload_only() {
    let (t, _) = tracker();
    let u = t.store.insert_user("maker", None, "x", false, 0).unwrap().id;
    // The box's own engine seeding what it made: librqbit reports the bytes it has as
    // `downloaded`. Nothing was downloaded here.
    let mut seed = ann(6, 1, 6001, 0, Event::Started);
    seed.downloaded = 3_000_000;
    seed.uploaded = 10;
    t.announce_as(&seed, LO, Some(u)).unwrap();
    assert_eq!(t.store.credited(u).unwrap(), Some((10, 0)));
    // Later announces are credited their deltas, both ways.
    seed.event = Event::None;
    seed.uploaded = 2_010;
    seed.downloaded = 3_000_500;
    t.announce_as(&seed, LO, Some(u)).unwrap();
    assert_eq!(t.store.credited(u).unwrap(), Some((2_010, 500)));
    // A leecher's first announce is credited in full.
    let mut leech = ann(6, 2, 6002, 100, Event::Started);
    leech.downloaded = 7;
    t.announce_as(&leech, LO, Some(u)).unwrap();
    assert_eq!(t.store.credited(u).unwrap(), Some((2_010, 507)));
}
