//! What a user can hand us to add a torrent, parsed and checked before the engine
//! sees it: magnet URIs (with BEP 9 `x.pe` peer hints and `tr` trackers), bare
//! info-hashes in hex or base32, http(s) URLs of .torrent files, and .torrent bytes.

use std::net::{SocketAddr, ToSocketAddrs};

use super::EngineError;

/// A torrent source, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Magnet(MagnetLink),
    /// An http(s) URL of a .torrent file, still to be fetched.
    Url(String),
    /// The bytes of a .torrent file, already validated.
    Torrent(TorrentFile),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MagnetLink {
    /// Lower-case hex v1 info-hash.
    pub info_hash: String,
    pub name: Option<String>,
    pub trackers: Vec<String>,
    /// `x.pe` peer addresses (BEP 9), which librqbit's own parser drops.
    pub peers: Vec<SocketAddr>,
    /// `so` (BEP 53) file selection.
    pub select_only: Option<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TorrentFile {
    pub info_hash: String,
    pub name: Option<String>,
    pub file_count: usize,
    pub bytes: bytes::Bytes,
}

/// Turns an `x.pe` peer's host name and port into an address. `parse_uri` uses the
/// system resolver; a caller that must not touch the network passes its own.
pub type Resolve<'a> = &'a dyn Fn(&str, u16) -> Option<SocketAddr>;

/// The system resolver (on the box: /etc/hosts, then the LAN's DNS). Blocks.
pub fn system_resolve(host: &str, port: u16) -> Option<SocketAddr> {
    (host, port).to_socket_addrs().ok()?.next()
}

/// Parses a magnet URI, a bare info-hash or an http(s) URL.
pub fn parse_uri(input: &str) -> Result<Source, EngineError> {
    parse_uri_with(input, &system_resolve)
}

/// `parse_uri` for async code: the system resolver (for `x.pe` peer names) runs on
/// the blocking pool, and gives up after 10 s.
pub async fn parse_uri_async(input: &str) -> Result<Source, EngineError> {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
    let owned = input.to_string();
    match tokio::time::timeout(LIMIT, tokio::task::spawn_blocking(move || parse_uri(&owned))).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(EngineError::Internal(anyhow::anyhow!("resolving the magnet's peers failed: {e}"))),
        Err(_) => Err(EngineError::BadInput(format!("the magnet's x.pe peer names did not resolve within {LIMIT:?}"))),
    }
}

/// `parse_uri`, with `resolve` turning `x.pe` peer names into addresses.
pub fn parse_uri_with(input: &str, resolve: Resolve<'_>) -> Result<Source, EngineError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(EngineError::BadInput("empty torrent URI".into()));
    }
    if s.len() > 64 * 1024 {
        return Err(EngineError::BadInput("torrent URI is too long".into()));
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("magnet:") {
        return parse_magnet_with(s, resolve).map(Source::Magnet);
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let url = url::Url::parse(s).map_err(|e| EngineError::BadInput(format!("invalid URL {s:?}: {e}")))?;
        return Ok(Source::Url(url.to_string()));
    }
    if let Some(hash) = parse_info_hash(s) {
        return Ok(Source::Magnet(MagnetLink {
            info_hash: hash,
            name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
            select_only: None,
        }));
    }
    Err(EngineError::BadInput(format!(
        "{:?} is neither a magnet URI, an http(s) URL nor a 40-hex or 32-base32 info-hash",
        truncate(s, 80)
    )))
}

/// Parses a bare info-hash, 40 hex digits or 32 base32 characters, to lower-case hex.
pub fn parse_info_hash(s: &str) -> Option<String> {
    let s = s.trim();
    match s.len() {
        40 if s.bytes().all(|b| b.is_ascii_hexdigit()) => Some(s.to_ascii_lowercase()),
        32 => {
            let decoded = data_encoding::BASE32_NOPAD.decode(s.to_ascii_uppercase().as_bytes()).ok()?;
            (decoded.len() == 20).then(|| hex::encode(decoded))
        }
        _ => None,
    }
}

/// Parses a magnet URI. Requires a v1 `urn:btih:` topic.
pub fn parse_magnet(s: &str) -> Result<MagnetLink, EngineError> {
    parse_magnet_with(s, &system_resolve)
}

/// `parse_magnet`, with `resolve` turning `x.pe` peer names into addresses.
pub fn parse_magnet_with(s: &str, resolve: Resolve<'_>) -> Result<MagnetLink, EngineError> {
    let bad = |why: String| EngineError::BadInput(format!("malformed magnet URI: {why}"));
    let query = s
        .get(..8)
        .filter(|prefix| prefix.eq_ignore_ascii_case("magnet:?"))
        .map(|_| &s[8..])
        .ok_or_else(|| bad("expected `magnet:?` followed by parameters".into()))?;
    let mut info_hash = None;
    let mut link =
        MagnetLink { info_hash: String::new(), name: None, trackers: Vec::new(), peers: Vec::new(), select_only: None };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        // Keys may carry a BEP 9 index suffix: `tr.1`, `xt.2`.
        let base = key.split('.').next().unwrap_or("");
        let base = if key.starts_with("x.pe") { "x.pe" } else { base };
        match base {
            "xt" => {
                let Some(h) = value.strip_prefix("urn:btih:") else {
                    // Other topics (btmh, v2-only) are allowed beside a btih one.
                    continue;
                };
                let hash = parse_info_hash(h)
                    .ok_or_else(|| bad(format!("{:?} is not a 40-hex or 32-base32 info-hash", truncate(h, 64))))?;
                info_hash = Some(hash);
            }
            "dn" => link.name = Some(value.into_owned()),
            "tr" => {
                let ok = url::Url::parse(&value)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "udp" | "ws" | "wss"));
                if ok {
                    link.trackers.push(value.into_owned());
                } else {
                    return Err(bad(format!("tracker {:?} is not a tracker URL", truncate(&value, 80))));
                }
            }
            "x.pe" => link.peers.push(parse_peer(&value, resolve).map_err(bad)?),
            "so" => link.select_only = Some(parse_select_only(&value).map_err(bad)?),
            _ => {}
        }
    }
    link.info_hash = info_hash.ok_or_else(|| bad("no `xt=urn:btih:` info-hash".into()))?;
    Ok(link)
}

fn parse_peer(s: &str, resolve: Resolve<'_>) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    // host:port with a name, for the resolver.
    let (host, port) = s.rsplit_once(':').ok_or_else(|| format!("peer {s:?} has no port"))?;
    let port: u16 = port.parse().map_err(|_| format!("peer {s:?} has a bad port"))?;
    if host.is_empty() || host.len() > 253 || host.contains(['/', '?', '#', '@']) {
        return Err(format!("peer {s:?} is not host:port"));
    }
    resolve(host, port).ok_or_else(|| format!("peer {s:?} does not resolve"))
}

/// `so=0,2,4-6`.
fn parse_select_only(s: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let err = || format!("bad file selection {s:?}");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().map_err(|_| err())?, b.parse().map_err(|_| err())?);
                if b < a || b - a > 100_000 {
                    return Err(err());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| err())?),
        }
    }
    Ok(out)
}

impl MagnetLink {
    /// A canonical magnet URI, as stored and handed to the engine.
    pub fn to_uri(&self) -> String {
        use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
        let mut s = format!("magnet:?xt=urn:btih:{}", self.info_hash);
        if let Some(name) = &self.name {
            s.push_str("&dn=");
            s.extend(utf8_percent_encode(name, NON_ALPHANUMERIC));
        }
        for t in &self.trackers {
            s.push_str("&tr=");
            s.extend(utf8_percent_encode(t, NON_ALPHANUMERIC));
        }
        for p in &self.peers {
            s.push_str("&x.pe=");
            s.extend(utf8_percent_encode(&p.to_string(), NON_ALPHANUMERIC));
        }
        s
    }
}

/// Validates .torrent bytes and finds their info-hash.
pub fn parse_torrent(bytes: bytes::Bytes) -> Result<TorrentFile, EngineError> {
    let bad = |why: String| EngineError::BadInput(format!("not a valid .torrent file: {why}"));
    if bytes.first() != Some(&b'd') {
        return Err(bad("it is not a bencoded dictionary".into()));
    }
    super::bencode::check(&bytes).map_err(bad)?;
    let parsed = librqbit::torrent_from_bytes(&bytes).map_err(|e| bad(format!("{e:#}")))?;
    let info_hash = parsed.info_hash.as_string();
    check_pieces(&parsed.info.data).map_err(bad)?;
    let info = parsed.info.data.clone().validate().map_err(|e| bad(format!("{e:#}")))?;
    let name = info.name().map(|n| n.into_owned());
    let file_count = info.iter_file_lengths().count();
    Ok(TorrentFile { info_hash, name, file_count, bytes })
}

/// Checks what librqbit's `validate` takes on trust: it divides by the piece length,
/// adds up file lengths and counts pieces in a `u32` unchecked, and never compares the
/// piece count with the hashes given.
fn check_pieces<B: AsRef<[u8]>>(info: &librqbit::TorrentMetaV1Info<B>) -> Result<(), String> {
    if info.piece_length == 0 {
        return Err("its piece length is 0".into());
    }
    let lengths: Vec<u64> = match (&info.files, info.length) {
        (Some(files), _) => files.iter().map(|f| f.length).collect(),
        (None, Some(len)) => vec![len],
        (None, None) => return Ok(()), // validate() names this one
    };
    let total = lengths
        .iter()
        .try_fold(0u64, |sum, &len| sum.checked_add(len))
        .ok_or("its files add up to more than 2^64 bytes")?;
    let pieces = total.div_ceil(u64::from(info.piece_length));
    if pieces > u64::from(u32::MAX) {
        return Err(format!("it has {pieces} pieces, more than 2^32"));
    }
    let hashes = info.pieces.as_ref().len();
    if hashes as u64 != pieces * 20 {
        return Err(format!("it has {hashes} bytes of piece hashes for {pieces} pieces of 20"));
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "179b3b176a2df09e1d1deee9b52e78ad85ec270c";

    #[test]
    fn bare_hashes() {
        let Source::Magnet(m) = parse_uri(&HASH.to_uppercase()).unwrap() else { panic!() };
        assert_eq!(m.info_hash, HASH);
        let b32 = data_encoding::BASE32_NOPAD.encode(&hex::decode(HASH).unwrap());
        let Source::Magnet(m) = parse_uri(&b32.to_lowercase()).unwrap() else { panic!() };
        assert_eq!(m.info_hash, HASH);
        assert!(parse_uri("179b3b176a2df09e1d1deee9b52e78ad85ec270").is_err());
        assert!(parse_uri("zz9b3b176a2df09e1d1deee9b52e78ad85ec270c").is_err());
    }

    #[test]
    fn magnet_with_peers_and_trackers() {
        let m = parse_magnet(&format!(
            "magnet:?xt=urn:btih:{HASH}&dn=Big%20Film&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce\
             &x.pe=127.0.0.1:51413&x.pe=%5B%3A%3A1%5D%3A6881&so=0,2-3"
        ))
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("Big Film"));
        assert_eq!(m.trackers, vec!["http://127.0.0.1:6969/announce"]);
        assert_eq!(m.peers.len(), 2);
        assert_eq!(m.peers[0].port(), 51413);
        assert_eq!(m.select_only, Some(vec![0, 2, 3]));
        let again = parse_magnet(&m.to_uri()).unwrap();
        assert_eq!(again.peers, m.peers);
        assert_eq!(again.trackers, m.trackers);
    }

    #[test]
    fn malformed_magnets() {
        for bad in [
            "magnet:",
            "magnet:?",
            "magnet:?dn=x",
            "magnet:?xt=urn:btih:nothex",
            "magnet:?xt=urn:btih:179b3b176a2df09e1d1deee9b52e78ad85ec270c&x.pe=nope",
            "magnet:?xt=urn:btih:179b3b176a2df09e1d1deee9b52e78ad85ec270c&tr=javascript:x",
            "magnet:?xt=urn:btih:179b3b176a2df09e1d1deee9b52e78ad85ec270c&so=5-1",
            "magnet:xt=urn:btih:179b3b176a2df09e1d1deee9b52e78ad85ec270c",
            "ftp://example/x.torrent",
        ] {
            assert!(matches!(parse_uri(bad), Err(EngineError::BadInput(_))), "{bad}");
        }
    }

    /// Found by the `magnet` fuzz target: a multi-byte character across byte 7 made
    /// the prefix check slice inside it and panic.
    #[test]
    fn prefix_check_respects_char_boundaries() {
        for s in [
            "magnet\u{1ba}xt=urn:btih:179b3b176a2df09e1d1deee9b52e78ad85ec270c",
            "magnet\u{e9}",
            "\u{e9}\u{e9}\u{e9}\u{e9}x",
        ] {
            assert!(matches!(parse_magnet(s), Err(EngineError::BadInput(_))), "{s}");
        }
        assert!(parse_magnet(&format!("MAGNET:?xt=urn:btih:{HASH}")).is_ok());
    }

    #[test]
    fn garbage_torrents() {
        for bad in [&b""[..], b"hello", b"d4:infod", b"de", b"d4:infode"] {
            assert!(parse_torrent(bytes::Bytes::copy_from_slice(bad)).is_err());
        }
    }

    fn torrent(info: &str) -> Result<TorrentFile, EngineError> {
        parse_torrent(bytes::Bytes::from(format!("d4:info{info}e")))
    }

    /// Found by the `torrent` fuzz target: a piece length of 0 made librqbit divide by
    /// zero (a panic in release builds too).
    #[test]
    fn piece_lengths_and_counts() {
        let hashes = |n: usize| format!("6:pieces{}:{}", n * 20, "h".repeat(n * 20));
        let ok = torrent(&format!("d6:lengthi40000e4:name1:x12:piece lengthi16384e{}e", hashes(3))).unwrap();
        assert_eq!(ok.file_count, 1);
        for (info, why) in [
            (format!("d6:lengthi1e4:name1:x12:piece lengthi0e{}e", hashes(1)), "piece length is 0"),
            (
                format!(
                    "d5:filesld6:lengthi9223372036854775807e4:pathl1:aeed6:lengthi9223372036854775807e4:pathl1:bee\
                     d6:lengthi9e4:pathl1:ceee4:name1:x12:piece lengthi16384e{}e",
                    hashes(1)
                ),
                "more than 2^64",
            ),
            (format!("d6:lengthi4398046511104e4:name1:x12:piece lengthi1e{}e", hashes(1)), "more than 2^32"),
            (format!("d6:lengthi40000e4:name1:x12:piece lengthi16384e{}e", hashes(2)), "for 3 pieces"),
        ] {
            let e = torrent(&info).unwrap_err().to_string();
            assert!(e.contains(why), "{info}: {e}");
        }
        // The fuzzer's input as it found it.
        let found = hex::decode(
            "64343a696e666f64353a66696c65736c64363a6c656e677468693165343a706174686c323ad72e33313a786536\
             3a706965636573313a78979a9c9adf933a7d7698363a630900840064656565343a6e616d65313a7831323a7069\
             656365206c656e677468693065363a70696563657332303ab65899c6ab0dc82cf12099d1c2d40ab994e8410c6565",
        )
        .unwrap();
        let e = parse_torrent(found.into()).unwrap_err().to_string();
        assert!(e.contains("piece length is 0"), "{e}");
    }
}
