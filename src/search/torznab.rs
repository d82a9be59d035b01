//! Reading a Torznab feed: RSS 2.0 `<item>`s with `torznab:attr` name/value pairs
//! (seeders, peers, infohash, magneturl, size), or an `<error code description>`.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One `<item>` as the feed gave it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Item {
    pub title: String,
    pub size: Option<u64>,
    pub link: Option<String>,
    pub guid: Option<String>,
    pub enclosure_url: Option<String>,
    pub enclosure_length: Option<u64>,
    /// `torznab:attr` pairs, in order.
    pub attrs: Vec<(String, String)>,
}

impl Item {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why a feed could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FeedError {
    #[error("the indexer answered error {code}: {description}")]
    Indexer { code: String, description: String },
    #[error("not a Torznab feed: {0}")]
    Malformed(String),
}

fn attr_of(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    None,
    Title,
    Size,
    Link,
    Guid,
}

/// Parses a feed into its items.
pub fn parse(xml: &str) -> Result<Vec<Item>, FeedError> {
    let mut reader = Reader::from_str(xml);
    let mut items = Vec::new();
    let mut item: Option<Item> = None;
    let mut field = Field::None;
    let mut text = String::new();
    let mut saw_rss = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| FeedError::Malformed(format!("at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                match e.local_name().as_ref() {
                    b"rss" | b"channel" => saw_rss = true,
                    b"error" if item.is_none() => {
                        return Err(FeedError::Indexer {
                            code: attr_of(e, b"code").unwrap_or_default(),
                            description: attr_of(e, b"description").unwrap_or_default(),
                        });
                    }
                    b"item" if !empty => item = Some(Item::default()),
                    b"enclosure" => {
                        if let Some(it) = item.as_mut() {
                            it.enclosure_url = attr_of(e, b"url");
                            it.enclosure_length = attr_of(e, b"length").and_then(|l| l.trim().parse().ok());
                        }
                    }
                    b"attr" => {
                        if let (Some(it), Some(n), Some(v)) = (item.as_mut(), attr_of(e, b"name"), attr_of(e, b"value"))
                        {
                            it.attrs.push((n, v));
                        }
                    }
                    name if item.is_some() && !empty => {
                        field = match name {
                            b"title" => Field::Title,
                            b"size" => Field::Size,
                            b"link" => Field::Link,
                            b"guid" => Field::Guid,
                            _ => Field::None,
                        };
                        text.clear();
                    }
                    _ => {}
                }
            }
            Event::Text(t) if field != Field::None => {
                text.push_str(&t.decode().map_err(|e| FeedError::Malformed(e.to_string()))?);
            }
            Event::CData(t) if field != Field::None => {
                text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::GeneralRef(r) if field != Field::None => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = r.decode().ok().and_then(|n| quick_xml::escape::resolve_predefined_entity(&n)) {
                    text.push_str(s);
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"item" => {
                    if let Some(it) = item.take() {
                        items.push(it);
                    }
                    field = Field::None;
                }
                _ if field != Field::None => {
                    if let Some(it) = item.as_mut() {
                        let value = text.trim().to_string();
                        match field {
                            Field::Title => it.title = value,
                            Field::Size => it.size = value.parse().ok(),
                            Field::Link => it.link = Some(value),
                            Field::Guid => it.guid = Some(value),
                            Field::None => {}
                        }
                    }
                    field = Field::None;
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_rss {
        return Err(FeedError::Malformed("no <rss> or <channel> element".into()));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_items_attrs_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel><title>x</title>
<item><title>Big &amp; Buck &#66;unny</title><guid>g1</guid><size>1234</size>
<link>http://ix/dl/1?apikey=k</link>
<enclosure url="magnet:?xt=urn:btih:179b3b176a2df09e1d1deee9b52e78ad85ec270c" length="1234" type="application/x-bittorrent"/>
<torznab:attr name="seeders" value="10"/><torznab:attr name="peers" value="15"/>
<torznab:attr name="infohash" value="179B3B176A2DF09E1D1DEEE9B52E78AD85EC270C"/></item>
<item><title><![CDATA[Second <one>]]></title></item>
</channel></rss>"#;
        let items = parse(xml).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].title, "Big & Buck Bunny");
        assert_eq!(items[0].size, Some(1234));
        assert_eq!(items[0].attr("Seeders"), Some("10"));
        assert_eq!(items[0].attr("infohash"), Some("179B3B176A2DF09E1D1DEEE9B52E78AD85EC270C"));
        assert!(items[0].enclosure_url.as_deref().unwrap().starts_with("magnet:"));
        assert_eq!(items[1].title, "Second <one>");
    }

    #[test]
    fn errors_and_garbage() {
        let e = parse(r#"<?xml version="1.0"?><error code="100" description="Invalid API Key"/>"#).unwrap_err();
        assert_eq!(e, FeedError::Indexer { code: "100".into(), description: "Invalid API Key".into() });
        assert!(matches!(parse("<html><body>oops</body></html>"), Err(FeedError::Malformed(_))));
        assert!(matches!(parse("<rss><channel><item><title>x</item>"), Err(FeedError::Malformed(_))));
        assert_eq!(parse("<rss><channel></channel></rss>").unwrap(), vec![]);
    }
}
