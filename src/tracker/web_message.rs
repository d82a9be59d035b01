//! The WebTorrent tracker protocol's JSON messages: parsing what a browser sends over
//! the WebSocket, and writing the tracker's replies and relays. Info hashes, peer ids
//! and offer ids travel as "binary strings": one character (U+0000–U+00FF) per byte.

use serde_json::{Map, Value, json};

use super::request::Event;

/// Most offers one announce may carry (the reference client sends at most 5).
pub const MAX_OFFERS: usize = 10;
/// Most info hashes one scrape may ask for.
pub const MAX_SCRAPE: usize = 256;
/// Longest `offer_id` accepted (the clients send 20 characters).
const MAX_OFFER_ID: usize = 64;

/// One WebRTC offer, relayed as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub offer: Value,
    pub offer_id: String,
}

/// An announce: the peer joins, updates or leaves the swarm, with offers for others.
#[derive(Clone, Debug, PartialEq)]
pub struct WebAnnounce {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes still needed; `u64::MAX` when the client did not say (a leecher).
    pub left: u64,
    pub event: Event,
    pub offers: Vec<Offer>,
}

/// A peer's answer to an offer, for the peer that made the offer.
#[derive(Clone, Debug, PartialEq)]
pub struct WebAnswer {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub to_peer_id: [u8; 20],
    pub answer: Value,
    pub offer_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WebMessage {
    Announce(WebAnnounce),
    Answer(WebAnswer),
    /// The info hashes asked for; empty means every swarm.
    Scrape(Vec<[u8; 20]>),
}

/// A message that cannot be used, answered with a `failure reason` (with the
/// message's action and info hash when they could be read, so that the client
/// matches the failure to its torrent).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct MessageError {
    pub reason: String,
    pub action: Option<&'static str>,
    pub info_hash: Option<[u8; 20]>,
}

fn err(reason: impl Into<String>) -> MessageError {
    MessageError { reason: reason.into(), action: None, info_hash: None }
}

/// A binary string's bytes: every character must be at most U+00FF.
pub fn binary(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Bytes as a binary string.
pub fn to_binary(b: &[u8]) -> String {
    b.iter().map(|&b| char::from(b)).collect()
}

fn id20(v: Option<&Value>, name: &str) -> Result<[u8; 20], MessageError> {
    let s = v.and_then(Value::as_str).ok_or_else(|| err(format!("{name} is missing or not a string")))?;
    binary(s)
        .and_then(|b| <[u8; 20]>::try_from(b).ok())
        .ok_or_else(|| err(format!("{name} must be a binary string of 20 bytes (characters U+0000 to U+00FF)")))
}

/// A byte count: a non-negative number, or a string of digits. `None` when absent or
/// null (JavaScript writes `Infinity` as null).
fn count(v: Option<&Value>, name: &str) -> Result<Option<u64>, MessageError> {
    let bad = || err(format!("{name} must be a non-negative number"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Ok(Some(u)),
            (None, Some(f)) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
            _ => Err(bad()),
        },
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map(Some).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

fn offer_id(v: Option<&Value>) -> Result<String, MessageError> {
    match v.and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.chars().count() <= MAX_OFFER_ID => Ok(s.to_string()),
        _ => Err(err(format!("offer_id must be a string of 1 to {MAX_OFFER_ID} characters"))),
    }
}

fn event(v: Option<&Value>) -> Result<Event, MessageError> {
    Ok(match v {
        None | Some(Value::Null) => Event::None,
        Some(Value::String(s)) => match s.as_str() {
            "" | "update" | "empty" => Event::None,
            "started" => Event::Started,
            "completed" => Event::Completed,
            "stopped" => Event::Stopped,
            "paused" => Event::Paused,
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(err(format!("event {shown:?} is not started, completed, stopped, paused or update")));
            }
        },
        Some(_) => return Err(err("event must be a string")),
    })
}

/// Parses one text message.
pub fn parse(text: &str) -> Result<WebMessage, MessageError> {
    let v: Value = serde_json::from_str(text).map_err(|e| err(format!("the message is not JSON: {e}")))?;
    let Value::Object(m) = v else {
        return Err(err("the message must be a JSON object"));
    };
    match m.get("action").and_then(Value::as_str) {
        Some("announce") => {
            let info_hash =
                id20(m.get("info_hash"), "info_hash").map_err(|e| MessageError { action: Some("announce"), ..e })?;
            let tag = |e: MessageError| MessageError { action: Some("announce"), info_hash: Some(info_hash), ..e };
            announce(&m, info_hash).map_err(tag)
        }
        Some("scrape") => scrape(&m).map_err(|e| MessageError { action: Some("scrape"), ..e }),
        Some(other) => {
            let shown: String = other.chars().take(40).collect();
            Err(err(format!("action {shown:?} is not announce or scrape")))
        }
        None => Err(err("action is missing: announce or scrape")),
    }
}

fn announce(m: &Map<String, Value>, info_hash: [u8; 20]) -> Result<WebMessage, MessageError> {
    let peer_id = id20(m.get("peer_id"), "peer_id")?;
    if let Some(answer) = m.get("answer").filter(|a| !a.is_null()) {
        if !answer.is_object() {
            return Err(err("answer must be an object (a WebRTC session description)"));
        }
        let to_peer_id =
            id20(m.get("to_peer_id"), "to_peer_id").map_err(|e| err(format!("{} (required with answer)", e.reason)))?;
        return Ok(WebMessage::Answer(WebAnswer {
            info_hash,
            peer_id,
            to_peer_id,
            answer: answer.clone(),
            offer_id: offer_id(m.get("offer_id"))?,
        }));
    }
    let offers = match m.get("offers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_OFFERS {
                return Err(err(format!("{} offers in one announce; at most {MAX_OFFERS}", list.len())));
            }
            list.iter()
                .map(|o| {
                    let offer = o
                        .get("offer")
                        .filter(|x| x.is_object())
                        .ok_or_else(|| err("each offer must be {offer: <session description object>, offer_id}"))?;
                    Ok(Offer { offer: offer.clone(), offer_id: offer_id(o.get("offer_id"))? })
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err(err("offers must be an array")),
    };
    Ok(WebMessage::Announce(WebAnnounce {
        info_hash,
        peer_id,
        uploaded: count(m.get("uploaded"), "uploaded")?.unwrap_or(0),
        downloaded: count(m.get("downloaded"), "downloaded")?.unwrap_or(0),
        left: count(m.get("left"), "left")?.unwrap_or(u64::MAX),
        event: event(m.get("event"))?,
        offers,
    }))
}

fn scrape(m: &Map<String, Value>) -> Result<WebMessage, MessageError> {
    let list: Vec<&Value> = match m.get("info_hash") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
    };
    if list.len() > MAX_SCRAPE {
        return Err(err(format!("at most {MAX_SCRAPE} info hashes per scrape")));
    }
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let h = id20(Some(v), "info_hash")?;
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(WebMessage::Scrape(out))
}

/// The reply to an announce.
pub fn announce_reply(info_hash: &[u8; 20], interval: u64, complete: u64, incomplete: u64) -> String {
    json!({
        "action": "announce",
        "info_hash": to_binary(info_hash),
        "interval": interval,
        "complete": complete,
        "incomplete": incomplete,
    })
    .to_string()
}

/// An offer relayed to another peer of the swarm.
pub fn offer(info_hash: &[u8; 20], from: &[u8; 20], offer: &Offer) -> String {
    json!({
        "action": "announce",
        "info_hash": to_binary(info_hash),
        "peer_id": to_binary(from),
        "offer": offer.offer,
        "offer_id": offer.offer_id,
    })
    .to_string()
}

/// An answer relayed to the peer that made the offer.
pub fn answer(a: &WebAnswer) -> String {
    json!({
        "action": "announce",
        "info_hash": to_binary(&a.info_hash),
        "peer_id": to_binary(&a.peer_id),
        "answer": a.answer,
        "offer_id": a.offer_id,
    })
    .to_string()
}

/// The reply to a scrape: `(info_hash, complete, incomplete, downloaded)` per swarm.
pub fn scrape_reply(files: &[([u8; 20], u64, u64, u64)], min_interval: u64) -> String {
    let files: Map<String, Value> = files
        .iter()
        .map(|(h, complete, incomplete, downloaded)| {
            (to_binary(h), json!({"complete": complete, "incomplete": incomplete, "downloaded": downloaded}))
        })
        .collect();
    json!({"action": "scrape", "files": files, "flags": {"min_request_interval": min_interval}}).to_string()
}

/// A `failure reason`, with the action and info hash when known.
pub fn failure(reason: &str, action: Option<&str>, info_hash: Option<&[u8; 20]>) -> String {
    let mut m = Map::new();
    if let Some(a) = action {
        m.insert("action".into(), a.into());
    }
    m.insert("failure reason".into(), reason.into());
    if let Some(h) = info_hash {
        m.insert("info_hash".into(), to_binary(h).into());
    }
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: u8) -> String {
        to_binary(&[b; 20])
    }

    #[test]
    fn binary_strings_round_trip() {
        let all: Vec<u8> = (0u8..=255).collect();
        assert_eq!(binary(&to_binary(&all)).unwrap(), all);
        assert_eq!(binary("\u{100}"), None);
    }

    #[test]
    fn announce_with_offers() {
        let text = json!({
            "action": "announce", "info_hash": hash(0xfe), "peer_id": "-WW0208-abcdefghijkl",
            "numwant": 50, "uploaded": 5, "downloaded": 1.0, "event": "started",
            "offers": [{"offer": {"type": "offer", "sdp": "v=0"}, "offer_id": hash(1)}],
        })
        .to_string();
        let WebMessage::Announce(a) = parse(&text).unwrap() else { panic!("not an announce") };
        assert_eq!(a.info_hash, [0xfe; 20]);
        assert_eq!(&a.peer_id, b"-WW0208-abcdefghijkl");
        assert_eq!((a.uploaded, a.downloaded, a.left), (5, 1, u64::MAX));
        assert_eq!(a.event, Event::Started);
        assert_eq!(a.offers.len(), 1);
        assert_eq!(a.offers[0].offer_id, hash(1));
    }

    #[test]
    fn answer_and_scrape() {
        let text = json!({
            "action": "announce", "info_hash": hash(2), "peer_id": hash(3), "to_peer_id": hash(4),
            "answer": {"type": "answer", "sdp": "v=0"}, "offer_id": hash(5),
        })
        .to_string();
        let WebMessage::Answer(a) = parse(&text).unwrap() else { panic!("not an answer") };
        assert_eq!((a.peer_id, a.to_peer_id), ([3; 20], [4; 20]));
        let relayed: Value = serde_json::from_str(&answer(&a)).unwrap();
        assert_eq!(relayed["peer_id"], hash(3));
        assert_eq!(relayed["answer"]["type"], "answer");

        let one = json!({"action": "scrape", "info_hash": hash(6)}).to_string();
        assert_eq!(parse(&one).unwrap(), WebMessage::Scrape(vec![[6; 20]]));
        let many = json!({"action": "scrape", "info_hash": [hash(6), hash(7), hash(6)]}).to_string();
        assert_eq!(parse(&many).unwrap(), WebMessage::Scrape(vec![[6; 20], [7; 20]]));
        assert_eq!(parse(r#"{"action":"scrape"}"#).unwrap(), WebMessage::Scrape(vec![]));
    }

    #[test]
    fn refusals_name_the_problem() {
        let offers: Vec<Value> = (0..11).map(|i| json!({"offer": {"sdp": "x"}, "offer_id": hash(i)})).collect();
        for (text, needle) in [
            ("nope".to_string(), "not JSON"),
            ("[1]".to_string(), "JSON object"),
            (json!({"action": "fly"}).to_string(), "not announce or scrape"),
            (json!({"action": "announce", "info_hash": "short", "peer_id": hash(1)}).to_string(), "info_hash"),
            (json!({"action": "announce", "info_hash": hash(1)}).to_string(), "peer_id is missing"),
            (json!({"action": "announce", "info_hash": "\u{4e00}".repeat(20), "peer_id": hash(1)}).to_string(), "U+00FF"),
            (json!({"action": "announce", "info_hash": hash(1), "peer_id": hash(1), "left": -1}).to_string(), "left"),
            (json!({"action": "announce", "info_hash": hash(1), "peer_id": hash(1), "event": "boom"}).to_string(), "event"),
            (json!({"action": "announce", "info_hash": hash(1), "peer_id": hash(1), "offers": offers}).to_string(), "at most 10"),
            (json!({"action": "announce", "info_hash": hash(1), "peer_id": hash(1), "offers": [{"offer_id": "x"}]}).to_string(), "each offer"),
            (json!({"action": "announce", "info_hash": hash(1), "peer_id": hash(1), "answer": {"sdp": "x"}, "offer_id": "x"}).to_string(), "to_peer_id"),
            (json!({"action": "scrape", "info_hash": [1]}).to_string(), "info_hash"),
        ] {
            let e = parse(&text).unwrap_err();
            assert!(e.reason.contains(needle), "{text}: {e}");
        }
        let e = parse(&json!({"action": "announce", "info_hash": hash(9), "peer_id": 3}).to_string()).unwrap_err();
        assert_eq!((e.action, e.info_hash), (Some("announce"), Some([9; 20])));
        let f: Value = serde_json::from_str(&failure(&e.reason, e.action, e.info_hash.as_ref())).unwrap();
        assert_eq!(f["info_hash"], hash(9));
        assert!(f["failure reason"].as_str().unwrap().contains("peer_id"));
    }
}
