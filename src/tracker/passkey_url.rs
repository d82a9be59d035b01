//! Puts a user's passkey into a .torrent's announce URLs of this box's tracker,
//! rewriting only the top-level `announce` and `announce-list` (the info dict, and so
//! the info-hash, stay byte for byte the same).

/// The length of the bencoded value at the start of `b`.
fn skip(b: &[u8]) -> Option<usize> {
    match *b.first()? {
        b'i' => Some(b.iter().position(|&c| c == b'e')? + 1),
        b'l' | b'd' => {
            let mut i = 1;
            while *b.get(i)? != b'e' {
                i += skip(&b[i..])?;
            }
            Some(i + 1)
        }
        b'0'..=b'9' => {
            let colon = b.iter().position(|&c| c == b':')?;
            let n: usize = std::str::from_utf8(&b[..colon]).ok()?.parse().ok()?;
            let end = colon.checked_add(1)?.checked_add(n)?;
            (end <= b.len()).then_some(end)
        }
        _ => None,
    }
}

fn string(b: &[u8]) -> Option<&[u8]> {
    let colon = b.iter().position(|&c| c == b':')?;
    Some(&b[colon + 1..skip(b)?])
}

fn enc(s: &[u8]) -> Vec<u8> {
    let mut v = format!("{}:", s.len()).into_bytes();
    v.extend_from_slice(s);
    v
}

/// `url` with the passkey when it is the box's tracker (`own`, or `own/<old key>`).
fn with_key(url: &[u8], own: &str, passkey: &str) -> Vec<u8> {
    let own = own.as_bytes();
    let mine = url == own
        || (url.starts_with(own) && url.get(own.len()) == Some(&b'/') && !url[own.len() + 1..].contains(&b'/'));
    if mine { format!("{}/{passkey}", String::from_utf8_lossy(own)).into_bytes() } else { url.to_vec() }
}

/// The .torrent `torrent` with the box's announce URL `own` (`…/announce`) turned
/// into `own/<passkey>`; `None` if the file is not a bencoded dict.
pub fn embed(torrent: &[u8], own: &str, passkey: &str) -> Option<Vec<u8>> {
    if torrent.first() != Some(&b'd') {
        return None;
    }
    let mut out = vec![b'd'];
    let mut i = 1;
    while *torrent.get(i)? != b'e' {
        let klen = skip(&torrent[i..])?;
        let key = string(&torrent[i..i + klen])?;
        let vstart = i + klen;
        let vlen = skip(&torrent[vstart..])?;
        let value = &torrent[vstart..vstart + vlen];
        out.extend_from_slice(&torrent[i..vstart]);
        match key {
            b"announce" => out.extend(enc(&with_key(string(value)?, own, passkey))),
            b"announce-list" if value[0] == b'l' => {
                out.push(b'l');
                let mut j = 1;
                while value[j] != b'e' {
                    let tier_len = skip(&value[j..])?;
                    let tier = &value[j..j + tier_len];
                    if tier[0] != b'l' {
                        return None;
                    }
                    out.push(b'l');
                    let mut k = 1;
                    while tier[k] != b'e' {
                        let ulen = skip(&tier[k..])?;
                        out.extend(enc(&with_key(string(&tier[k..k + ulen])?, own, passkey)));
                        k += ulen;
                    }
                    out.push(b'e');
                    j += tier_len;
                }
                out.push(b'e');
            }
            _ => out.extend_from_slice(value),
        }
        i = vstart + vlen;
    }
    out.push(b'e');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::embed;

    #[test]
    fn only_the_box_tracker_gets_the_key_and_info_is_untouched() {
        let t = b"d8:announce25:http://box:1/announce/old13:announce-listll25:http://box:1/announce/oldel13:udp://other:1ee4:infod4:name1:xee";
        let out = embed(t, "http://box:1/announce", "KEY").unwrap();
        assert_eq!(
            out,
            b"d8:announce25:http://box:1/announce/KEY13:announce-listll25:http://box:1/announce/KEYel13:udp://other:1ee4:infod4:name1:xee".to_vec()
        );
        assert!(embed(b"l1:ae", "http://box:1/announce", "K").is_none());
        assert!(embed(b"d8:announce99:short", "x", "K").is_none());
    }
}
