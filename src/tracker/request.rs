//! Parsing announce and scrape requests from the raw query string. `info_hash` and
//! `peer_id` are 20 raw bytes, percent-encoded byte by byte, so they are decoded here
//! as bytes rather than as UTF-8 form fields.

/// What a client may tell the tracker about itself (BEP 3, BEP 21 `paused`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A regular announce (no `event`, or an empty one).
    None,
    Started,
    Completed,
    Stopped,
    Paused,
}

/// A parsed `/announce` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announce {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes the client still needs; 0 makes it a seeder.
    pub left: u64,
    pub event: Event,
    /// BEP 23: the 6-byte peer form. Defaults to true; `compact=0` asks for dicts.
    pub compact: bool,
    /// Dict form without `peer id` (BEP 3 `no_peer_id`).
    pub no_peer_id: bool,
    /// Peers wanted; `None` means the default.
    pub numwant: Option<u32>,
}

/// A malformed request, answered with a bencoded `failure reason`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// Splits a raw query string into `(key, value)` pairs of decoded bytes. `+` is left
/// as is: clients percent-encode every byte of the binary fields.
pub fn pairs(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_encoding::percent_decode_str(k).collect(), percent_encoding::percent_decode_str(v).collect())
    })
}

fn hash20(name: &str, v: &[u8]) -> Result<[u8; 20], BadRequest> {
    v.try_into().map_err(|_| BadRequest(format!("{name} must be 20 bytes, percent-encoded; got {} bytes", v.len())))
}

fn number<T: std::str::FromStr>(name: &str, v: &[u8]) -> Result<T, BadRequest> {
    std::str::from_utf8(v)
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| BadRequest(format!("{name} must be a non-negative integer; got {:?}", lossy(v))))
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(&v[..v.len().min(40)]).into_owned()
}

impl Announce {
    /// Parses the raw query of an announce.
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        let mut info_hash = None;
        let mut peer_id = None;
        let mut port = None;
        let (mut uploaded, mut downloaded, mut left) = (0, 0, 0);
        let mut event = Event::None;
        let mut compact = true;
        let mut no_peer_id = false;
        let mut numwant = None;
        for (k, v) in pairs(query) {
            match k.as_slice() {
                b"info_hash" => info_hash = Some(hash20("info_hash", &v)?),
                b"peer_id" => peer_id = Some(hash20("peer_id", &v)?),
                b"port" => {
                    let p: u32 = number("port", &v)?;
                    if p == 0 || p > 65535 {
                        return Err(BadRequest(format!("port {p} is not between 1 and 65535")));
                    }
                    port = Some(p as u16);
                }
                b"uploaded" => uploaded = number("uploaded", &v)?,
                b"downloaded" => downloaded = number("downloaded", &v)?,
                b"left" => left = number("left", &v)?,
                b"compact" => compact = v.as_slice() != b"0",
                b"no_peer_id" => no_peer_id = v.as_slice() == b"1",
                b"numwant" => numwant = Some(number("numwant", &v)?),
                b"event" => {
                    event = match v.as_slice() {
                        b"" | b"empty" => Event::None,
                        b"started" => Event::Started,
                        b"completed" => Event::Completed,
                        b"stopped" => Event::Stopped,
                        b"paused" => Event::Paused,
                        other => {
                            return Err(BadRequest(format!(
                                "event {:?} is not started, completed, stopped or paused",
                                lossy(other)
                            )));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Announce {
            info_hash: info_hash.ok_or_else(|| BadRequest("info_hash is missing".into()))?,
            peer_id: peer_id.ok_or_else(|| BadRequest("peer_id is missing".into()))?,
            port: port.ok_or_else(|| BadRequest("port is missing".into()))?,
            uploaded,
            downloaded,
            left,
            event,
            compact,
            no_peer_id,
            numwant,
        })
    }
}

/// The info-hashes of a `/scrape` request; empty means every swarm.
pub fn parse_scrape(query: &str) -> Result<Vec<[u8; 20]>, BadRequest> {
    let mut out = Vec::new();
    for (k, v) in pairs(query) {
        if k == b"info_hash" {
            let h = hash20("info_hash", &v)?;
            if !out.contains(&h) {
                out.push(h);
            }
            if out.len() > 256 {
                return Err(BadRequest("at most 256 info_hash values per scrape".into()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(b: &[u8]) -> String {
        percent_encoding::percent_encode(b, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    #[test]
    fn parses_binary_fields_and_defaults() {
        let hash: Vec<u8> = (0u8..20).map(|i| i.wrapping_mul(37).wrapping_add(b'+')).collect();
        let q = format!(
            "info_hash={}&peer_id=-TR3000-abcdefghijkl&port=51413&uploaded=1&downloaded=2&left=3&event=started&numwant=7",
            enc(&hash)
        );
        let a = Announce::parse(&q).unwrap();
        assert_eq!(a.info_hash.to_vec(), hash);
        assert_eq!(&a.peer_id, b"-TR3000-abcdefghijkl");
        assert_eq!((a.port, a.uploaded, a.downloaded, a.left), (51413, 1, 2, 3));
        assert_eq!(a.event, Event::Started);
        assert!(a.compact);
        assert_eq!(a.numwant, Some(7));
    }

    #[test]
    fn rejects_bad_params() {
        let h = enc(&[7u8; 20]);
        let p = "-TR3000-abcdefghijkl";
        for (q, needle) in [
            (format!("peer_id={p}&port=1"), "info_hash is missing"),
            (format!("info_hash=abc&peer_id={p}&port=1"), "info_hash must be 20 bytes"),
            (format!("info_hash={h}&port=1"), "peer_id is missing"),
            (format!("info_hash={h}&peer_id={p}"), "port is missing"),
            (format!("info_hash={h}&peer_id={p}&port=0"), "port 0"),
            (format!("info_hash={h}&peer_id={p}&port=70000"), "port 70000"),
            (format!("info_hash={h}&peer_id={p}&port=x"), "port must be"),
            (format!("info_hash={h}&peer_id={p}&port=1&left=-1"), "left must be"),
            (format!("info_hash={h}&peer_id={p}&port=1&event=exploded"), "event"),
            (format!("info_hash={h}&peer_id={p}&port=1&numwant=lots"), "numwant"),
        ] {
            let e = Announce::parse(&q).unwrap_err();
            assert!(e.0.contains(needle), "{q}: {e}");
        }
    }

    #[test]
    fn scrape_many() {
        let q = format!("info_hash={}&info_hash={}&info_hash={}", enc(&[1; 20]), enc(&[2; 20]), enc(&[1; 20]));
        assert_eq!(parse_scrape(&q).unwrap(), vec![[1; 20], [2; 20]]);
        assert!(parse_scrape("info_hash=short").is_err());
        assert!(parse_scrape("").unwrap().is_empty());
    }
}
