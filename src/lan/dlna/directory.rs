//! ContentDirectory: the tree TVs browse, and its DIDL-Lite.
//!
//! ```text
//! 0 (root)
//! ├── downloading   video files of torrents still downloading (newest first)
//! ├── library       video files of complete torrents (by title)
//! └── recent        video files of torrents watched lately (last watched first)
//! ```
//!
//! Items are `<container>/<info-hash>/<file index>`; each has two resources: the raw
//! file (byte ranges, DLNA flags) and its HLS stream. A snapshot of the engine's
//! torrents is taken per request; the tree holds no state of its own.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use quick_xml::escape::escape;

use super::soap::Fault;
use crate::engine::Engine;
use crate::media::Media;

/// How many watched torrents' files "Recently watched" lists.
pub const RECENT_LIMIT: usize = 50;

const CONTAINERS: [(&str, &str); 3] =
    [("downloading", "Downloading"), ("library", "Library"), ("recent", "Recently watched")];

/// A playable video file, as the tree shows it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub torrent: String,
    pub index: usize,
    pub title: String,
    pub mime: &'static str,
    pub size: u64,
    pub added_at: String,
    pub watched_at: Option<String>,
    pub complete: bool,
    pub duration: Option<Duration>,
    /// A sidecar subtitle file of the same torrent (its index), for TVs that read one.
    pub subtitle: Option<usize>,
    /// Where the last viewer stopped (seconds), when not at the start.
    pub resume_s: Option<f64>,
    /// Whether it was watched past 90 %.
    pub watched: bool,
}

/// Every playable file at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub entries: Vec<Entry>,
}

/// Where an item's resources are: the raw file's URL and the HLS stream's URL.
pub trait Urls {
    fn urls(&self, e: &Entry) -> (String, String);
    /// The URL of another file of the entry's torrent (a sidecar subtitle).
    fn file_url(&self, e: &Entry, index: usize) -> String;
}

/// The sidecar subtitle a TV gets for `video` of torrent `t`: the first SubRip one
/// (the format Samsung and LG read), else the first text one.
pub fn sidecar_subtitle(t: &crate::engine::TorrentView, video: &str) -> Option<usize> {
    let videos = t.files.iter().filter(|f| f.is_video).count();
    let found = crate::media::tracks::sidecars(video, t.files.iter().map(|f| (f.index, f.name.as_str())), videos);
    found.iter().find(|s| s.1.to_ascii_lowercase().ends_with(".srt")).or(found.first()).map(|s| s.0)
}

impl Snapshot {
    /// The engine's torrents now, with what the store knows of their watching.
    pub fn take(engine: &Engine, media: &Media) -> Self {
        // Where anyone stopped last in each file: a TV has no user.
        let places: std::collections::HashMap<(String, usize), (f64, bool)> = engine
            .store()
            .watch_latest_all()
            .unwrap_or_default()
            .into_iter()
            .map(|w| ((w.torrent_id, w.file_index), (w.position_s, w.watched)))
            .collect();
        let watched: std::collections::HashMap<String, String> = engine
            .store()
            .torrents()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| Some((r.info_hash, r.last_watched_at?)))
            .collect();
        let mut entries = Vec::new();
        for t in engine.list().unwrap_or_default() {
            let complete = t.progress >= 100.0;
            for f in crate::engine::playable_files(&t) {
                let duration = media.get(&crate::media::StreamKey::new(&t.id, f.index)).map(|s| s.info.duration);
                entries.push(Entry {
                    torrent: t.id.clone(),
                    index: f.index,
                    title: f.title,
                    mime: crate::engine::mime_type(&f.name),
                    size: f.size,
                    added_at: t.added_at.clone(),
                    watched_at: watched.get(&t.id).cloned(),
                    complete,
                    duration: duration.filter(|d| !d.is_zero()),
                    subtitle: sidecar_subtitle(&t, &f.name),
                    resume_s: places.get(&(t.id.clone(), f.index)).map(|p| p.0).filter(|p| *p >= 1.0),
                    watched: places.get(&(t.id.clone(), f.index)).is_some_and(|p| p.1),
                });
            }
        }
        Self { entries }
    }

    /// Changes whenever what the tree shows changes (for `SystemUpdateID`).
    pub fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for e in &self.entries {
            (&e.torrent, e.index, &e.title, e.complete, &e.watched_at, e.duration).hash(&mut h);
            (e.resume_s.map(|p| p as u64), e.watched).hash(&mut h);
        }
        h.finish() | 1
    }

    /// The entries of a container, in its natural order.
    fn children(&self, container: &str) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = match container {
            "downloading" => self.entries.iter().filter(|e| !e.complete).collect(),
            "library" => self.entries.iter().filter(|e| e.complete).collect(),
            "recent" => self.entries.iter().filter(|e| e.watched_at.is_some()).collect(),
            _ => Vec::new(),
        };
        match container {
            "downloading" => v.sort_by(|a, b| b.added_at.cmp(&a.added_at).then(a.title.cmp(&b.title))),
            "library" => v.sort_by_key(|e| e.title.to_lowercase()),
            _ => {
                v.sort_by(|a, b| b.watched_at.cmp(&a.watched_at).then(a.title.cmp(&b.title)));
                let mut torrents = Vec::new();
                v.retain(|e| {
                    if !torrents.contains(&&e.torrent) {
                        torrents.push(&e.torrent);
                    }
                    torrents.len() <= RECENT_LIMIT
                });
            }
        }
        v
    }
}

/// What `Browse` returns.
#[derive(Debug, PartialEq, Eq)]
pub struct BrowseResult {
    pub didl: String,
    pub returned: usize,
    pub total: usize,
}

/// `Browse` on the snapshot. `start`/`count` page the children (count 0 = all);
/// `sort` is a SortCriteria (`+dc:title,-dc:date`); unknown properties are ignored.
pub fn browse(
    snap: &Snapshot,
    object_id: &str,
    flag: &str,
    start: usize,
    count: usize,
    sort: &str,
    urls: &dyn Urls,
) -> Result<BrowseResult, Fault> {
    let id = object_id.trim();
    let metadata = match flag {
        "BrowseMetadata" => true,
        "BrowseDirectChildren" => false,
        other => return Err(Fault::invalid_args(format!("BrowseFlag {other:?}"))),
    };
    let mut out = Vec::new();
    let total;
    if id == "0" {
        if metadata {
            out.push(container_xml("0", "-1", "swarmcast", CONTAINERS.len()));
            total = 1;
        } else {
            let all: Vec<String> = CONTAINERS
                .iter()
                .map(|(cid, title)| container_xml(cid, "0", title, snap.children(cid).len()))
                .collect();
            total = all.len();
            out.extend(all.into_iter().skip(start).take(if count == 0 { usize::MAX } else { count }));
        }
    } else if let Some((cid, title)) = CONTAINERS.iter().find(|(c, _)| *c == id) {
        let mut kids = snap.children(cid);
        if metadata {
            out.push(container_xml(cid, "0", title, kids.len()));
            total = 1;
        } else {
            sort_entries(&mut kids, sort);
            total = kids.len();
            let page = kids.into_iter().skip(start).take(if count == 0 { usize::MAX } else { count });
            out.extend(page.map(|e| item_xml(cid, e, urls)));
        }
    } else {
        // An item: `<container>/<hash>/<index>`, present in that container now.
        let mut parts = id.splitn(3, '/');
        let (Some(cid), Some(hash), Some(index)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Fault::no_such_object(id));
        };
        let e = snap
            .children(cid)
            .into_iter()
            .find(|e| e.torrent == hash && index.parse() == Ok(e.index))
            .ok_or_else(|| Fault::no_such_object(id))?;
        if !metadata {
            return Err(Fault::new(710, "No such container: an item has no children"));
        }
        out.push(item_xml(cid, e, urls));
        total = 1;
    }
    let returned = out.len();
    Ok(BrowseResult { didl: didl(&out.concat()), returned, total })
}

/// Applies a SortCriteria: `dc:title`, `dc:date` (when added) and `res@size`.
fn sort_entries(v: &mut [&Entry], criteria: &str) {
    for c in criteria.split(',').rev() {
        let c = c.trim();
        let (desc, prop) = match c.strip_prefix('-') {
            Some(p) => (true, p),
            None => (false, c.strip_prefix('+').unwrap_or(c)),
        };
        let key: fn(&Entry, &Entry) -> std::cmp::Ordering = match prop {
            "dc:title" => |a, b| a.title.to_lowercase().cmp(&b.title.to_lowercase()),
            "dc:date" => |a, b| a.added_at.cmp(&b.added_at),
            "res@size" => |a, b| a.size.cmp(&b.size),
            _ => continue,
        };
        v.sort_by(|a, b| if desc { key(b, a) } else { key(a, b) });
    }
}

/// What `GetSortCapabilities` answers.
pub const SORT_CAPS: &str = "dc:title,dc:date,res@size";

fn didl(inner: &str) -> String {
    format!(
        "<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:upnp=\"urn:schemas-upnp-org:metadata-1-0/upnp/\" \
xmlns:dlna=\"urn:schemas-dlna-org:metadata-1-0/\" xmlns:sec=\"http://www.sec.co.kr/\">{inner}</DIDL-Lite>"
    )
}

fn container_xml(id: &str, parent: &str, title: &str, children: usize) -> String {
    format!(
        "<container id=\"{id}\" parentID=\"{parent}\" restricted=\"1\" searchable=\"0\" childCount=\"{children}\">\
<dc:title>{}</dc:title><upnp:class>object.container.storageFolder</upnp:class></container>",
        escape(title)
    )
}

/// `H:MM:SS.mmm`, the `duration` attribute of a `<res>`.
pub fn duration_attr(d: Duration) -> String {
    let ms = d.as_millis();
    format!("{}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

fn item_xml(container: &str, e: &Entry, urls: &dyn Urls) -> String {
    let (raw, hls) = urls.urls(e);
    let duration = e.duration.map(|d| format!(" duration=\"{}\"", duration_attr(d))).unwrap_or_default();
    let date = e.added_at.get(..19).unwrap_or(&e.added_at);
    // Samsung reads `sec:CaptionInfoEx`, LG a `<res>` of type text/srt.
    let subtitle = e.subtitle.map(|i| escape(urls.file_url(e, i).as_str()).into_owned()).map(|u| {
        format!("<sec:CaptionInfoEx sec:type=\"srt\">{u}</sec:CaptionInfoEx><res protocolInfo=\"http-get:*:text/srt:*\">{u}</res>")
    }).unwrap_or_default();
    format!(
        "<item id=\"{container}/{hash}/{index}\" parentID=\"{container}\" restricted=\"1\">\
<dc:title>{title}</dc:title><upnp:class>object.item.videoItem</upnp:class><dc:date>{date}</dc:date>\
<res protocolInfo=\"{raw_pi}\" size=\"{size}\"{duration}>{raw}</res>\
<res protocolInfo=\"{hls_pi}\"{duration}>{hls}</res>{subtitle}{watching}</item>",
        hash = e.torrent,
        index = e.index,
        title = escape(e.title.as_str()),
        date = escape(date),
        raw_pi = escape(super::protocol_info(e.mime)),
        size = e.size,
        raw = escape(raw.as_str()),
        hls_pi = escape(super::HLS_PROTOCOL_INFO),
        hls = escape(hls.as_str()),
        watching = watching_xml(e),
    )
}

/// The resume point and watched flag: `sec:dcmInfo` with `BM=` (seconds) is the
/// bookmark Samsung TVs read; `upnp:lastPlaybackPosition` (UPnP AV 4) the standard
/// one; `upnp:playbackCount` says whether it was watched.
fn watching_xml(e: &Entry) -> String {
    let mut out = String::new();
    if let Some(p) = e.resume_s.filter(|_| !e.watched) {
        let secs = p.floor() as u64;
        out.push_str(&format!(
            "<sec:dcmInfo>CREATIONDATE=0,FOLDER=swarmcast,BM={secs}</sec:dcmInfo>\
<upnp:lastPlaybackPosition>{}</upnp:lastPlaybackPosition>",
            duration_attr(Duration::from_secs(secs))
        ));
    }
    if e.watched || e.resume_s.is_some() {
        out.push_str(&format!("<upnp:playbackCount>{}</upnp:playbackCount>", u8::from(e.watched)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct U;
    impl Urls for U {
        fn urls(&self, e: &Entry) -> (String, String) {
            (format!("http://h/f/{}?a=1&token=t", e.index), format!("http://h/s/{}", e.index))
        }
        fn file_url(&self, _: &Entry, i: usize) -> String {
            format!("http://h/f/{i}?token=t")
        }
    }

    fn entry(i: usize, title: &str, complete: bool, watched: Option<&str>) -> Entry {
        Entry {
            torrent: format!("{i:040}"),
            index: i,
            title: title.into(),
            mime: "video/mp4",
            size: 1000 + i as u64,
            added_at: format!("2026-01-0{i}T00:00:00.000Z"),
            watched_at: watched.map(str::to_string),
            complete,
            duration: (i == 1).then(|| Duration::from_millis(3_723_004)),
            subtitle: (i == 2).then_some(7),
            resume_s: (i == 2).then_some(2530.4),
            watched: i == 3,
        }
    }

    fn snap() -> Snapshot {
        Snapshot {
            entries: vec![
                entry(1, "Alpha & Co", true, Some("2026-02-01")),
                entry(2, "beta", true, None),
                entry(3, "Gamma", false, Some("2026-02-03")),
            ],
        }
    }

    #[test]
    fn root_containers_and_paging() {
        let s = snap();
        let r = browse(&s, "0", "BrowseDirectChildren", 0, 0, "", &U).unwrap();
        assert_eq!((r.returned, r.total), (3, 3));
        assert!(r.didl.contains("id=\"library\" parentID=\"0\"") && r.didl.contains("childCount=\"2\""));
        let r = browse(&s, "0", "BrowseDirectChildren", 1, 1, "", &U).unwrap();
        assert_eq!((r.returned, r.total), (1, 3));
        assert!(r.didl.contains("id=\"library\"") && !r.didl.contains("id=\"recent\""));
        let r = browse(&s, "0", "BrowseMetadata", 0, 0, "*", &U).unwrap();
        assert!(r.didl.contains("id=\"0\" parentID=\"-1\""));
        let r = browse(&s, "library", "BrowseDirectChildren", 5, 10, "", &U).unwrap();
        assert_eq!((r.returned, r.total), (0, 2));
    }

    #[test]
    fn items_sorting_and_escaping() {
        let s = snap();
        let r = browse(&s, "library", "BrowseDirectChildren", 0, 0, "-dc:title", &U).unwrap();
        let (a, b) = (r.didl.find("beta").unwrap(), r.didl.find("Alpha &amp; Co").unwrap());
        assert!(a < b, "{}", r.didl);
        assert!(r.didl.contains("?a=1&amp;token=t"));
        assert!(r.didl.contains("duration=\"1:02:03.004\""));
        assert!(r.didl.contains("DLNA.ORG_FLAGS=01700000000000000000000000000000"));
        let r = browse(&s, "recent", "BrowseDirectChildren", 0, 0, "", &U).unwrap();
        assert!(r.didl.find("Gamma").unwrap() < r.didl.find("Alpha").unwrap());
        let id = format!("downloading/{:040}/3", 3);
        let r = browse(&s, &id, "BrowseMetadata", 0, 0, "*", &U).unwrap();
        assert_eq!(r.total, 1);
        assert!(r.didl.contains("object.item.videoItem"));
        for bad in ["library/x/1", "nope", &format!("library/{:040}/3", 3)] {
            assert_eq!(browse(&s, bad, "BrowseMetadata", 0, 0, "", &U).unwrap_err().code, 701, "{bad}");
        }
        assert_eq!(browse(&s, "0", "Bogus", 0, 0, "", &U).unwrap_err().code, 402);
        assert_ne!(s.fingerprint(), Snapshot::default().fingerprint());
        // The half-watched film carries its bookmark; the watched one its count.
        let r = browse(&s, &format!("library/{:040}/2", 2), "BrowseMetadata", 0, 0, "*", &U).unwrap();
        assert!(r.didl.contains("<sec:dcmInfo>CREATIONDATE=0,FOLDER=swarmcast,BM=2530</sec:dcmInfo>"), "{}", r.didl);
        assert!(r.didl.contains("<upnp:playbackCount>0</upnp:playbackCount>"));
        let r = browse(&s, &format!("downloading/{:040}/3", 3), "BrowseMetadata", 0, 0, "*", &U).unwrap();
        assert!(r.didl.contains("<upnp:playbackCount>1</upnp:playbackCount>") && !r.didl.contains("BM="), "{}", r.didl);
    }
}
