//! A well-formedness check of bencode (BEP 3) from outside, run before librqbit's
//! parser sees it. That parser reads lengths and integers with unchecked arithmetic
//! into the width of the field (a `u32` piece length, a `u8` flag): an out-of-range
//! number panics with overflow checks on, and wraps to a wrong value without.

/// Deepest nesting accepted (a real .torrent reaches about 6; librqbit stops at 128).
pub const MAX_DEPTH: usize = 64;

/// Integer keys that librqbit reads into types narrower than `i64`, with their bound.
const NARROW: &[(&[u8], i64)] = &[(b"piece length", u32::MAX as i64), (b"private", u8::MAX as i64)];

/// A container being read: a list, or a dict with the key of the value to come.
enum Open<'a> {
    List,
    /// `None` while a key is expected, else the key whose value is next.
    Dict(Option<&'a [u8]>),
}

/// Checks that `b` starts with one well-formed bencoded value and returns its length:
/// string lengths within the input, integers within `i64` (and the `NARROW` keys
/// within their type), dict keys strings, nesting at most `MAX_DEPTH`. Reads the
/// input once, without recursion.
pub fn check(b: &[u8]) -> Result<usize, String> {
    let mut open: Vec<Open> = Vec::new();
    let mut pos = 0;
    loop {
        let c = *b.get(pos).ok_or_else(|| format!("it ends inside a value at byte {pos}"))?;
        let key = match open.last() {
            Some(Open::Dict(Some(k))) => Some(*k),
            _ => None,
        };
        let expects_key = matches!(open.last(), Some(Open::Dict(None)));
        if c == b'e' && !open.is_empty() {
            if matches!(open.last(), Some(Open::Dict(Some(_)))) {
                return Err(format!("a dictionary key has no value at byte {pos}"));
            }
            open.pop();
            pos += 1;
        } else if expects_key && !c.is_ascii_digit() {
            return Err(format!("a dictionary key is not a string at byte {pos}"));
        } else {
            match c {
                b'0'..=b'9' => {
                    let colon = b[pos..].iter().position(|&x| x == b':').map(|i| pos + i);
                    let len = colon
                        .and_then(|c| std::str::from_utf8(&b[pos..c]).ok())
                        .filter(|d| d.len() <= 20 && d.bytes().all(|x| x.is_ascii_digit()))
                        .and_then(|d| d.parse::<usize>().ok())
                        .ok_or_else(|| format!("bad string length at byte {pos}"))?;
                    let start = colon.expect("parsed") + 1;
                    let end = start
                        .checked_add(len)
                        .filter(|&e| e <= b.len())
                        .ok_or_else(|| format!("a string at byte {pos} runs past the end"))?;
                    if let Some(Open::Dict(k @ None)) = open.last_mut() {
                        *k = Some(&b[start..end]);
                        pos = end;
                        continue;
                    }
                    pos = end;
                }
                b'i' => {
                    let e = b[pos..]
                        .iter()
                        .position(|&x| x == b'e')
                        .map(|i| pos + i)
                        .ok_or_else(|| format!("an integer at byte {pos} has no end"))?;
                    let digits = &b[pos + 1..e];
                    let unsigned = digits.strip_prefix(b"-").or(digits.strip_prefix(b"+")).unwrap_or(digits);
                    let n = (!unsigned.is_empty() && unsigned.iter().all(u8::is_ascii_digit))
                        .then(|| std::str::from_utf8(digits).ok()?.parse::<i64>().ok())
                        .flatten()
                        .ok_or_else(|| format!("bad or out-of-range integer at byte {pos}"))?;
                    if let Some((k, max)) = NARROW.iter().find(|(k, _)| Some(*k) == key)
                        && n > *max
                    {
                        return Err(format!("{} {n} is out of range", String::from_utf8_lossy(k)));
                    }
                    pos = e + 1;
                }
                b'l' | b'd' => {
                    if open.len() == MAX_DEPTH {
                        return Err(format!("nested deeper than {MAX_DEPTH} at byte {pos}"));
                    }
                    // The container is the value of the pending key; a nested one has none.
                    if let Some(Open::Dict(k)) = open.last_mut() {
                        *k = None;
                    }
                    open.push(if c == b'l' { Open::List } else { Open::Dict(None) });
                    pos += 1;
                    continue;
                }
                _ => return Err(format!("unexpected byte {c:#04x} at byte {pos}")),
            }
        }
        // A value (or a container) ended: a dict now expects its next key.
        match open.last_mut() {
            None => return Ok(pos),
            Some(Open::Dict(k)) => *k = None,
            Some(Open::List) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed() {
        assert_eq!(check(b"de"), Ok(2));
        assert_eq!(check(b"d3:abci-5e4:listl1:xi0eee"), Ok(25));
        assert_eq!(check(b"d12:piece lengthi4294967295e7:privatei1eeTRAILER"), Ok(41));
        assert_eq!(check(b"d1:ad1:bd1:cleeee"), Ok(17));
        assert_eq!(check(b"i9223372036854775807e"), Ok(21));
        assert_eq!(check(b"05:abcde"), Ok(8));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"d",
            b"di1ei2ee",
            b"d1:ae",
            b"d1:a",
            b"l",
            b"x",
            b"ie",
            b"i-e",
            b"i1.5e",
            b"i9223372036854775808e",
            b"5:abc",
            b"99999999999999999999999:x",
            b"18446744073709551615:x",
            b"d12:piece lengthi4294967296ee",
            b"d7:privatei256ee",
        ] {
            assert!(check(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(check(&[b'l'; MAX_DEPTH + 1]).is_err());
        let deep: Vec<u8> = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert_eq!(check(&deep), Ok(2 * MAX_DEPTH));
    }

    /// Found by the `torrent` fuzz target: a string length past `usize::MAX` (here as a
    /// dict key) made librqbit's parser overflow.
    #[test]
    fn overflowing_string_length() {
        let input =
            b"d8:announce30:httd4:infod5:222222222\x01\x00\x00\x00\x00\x00\x00\x082222222222222222222222222ngthi16384e";
        assert!(check(input).is_err());
        assert!(crate::engine::parse_torrent(bytes::Bytes::from_static(input)).is_err());
    }
}
