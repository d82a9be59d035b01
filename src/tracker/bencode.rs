//! A small bencode encoder (BEP 3) for the tracker's answers. Dictionary keys are
//! written sorted, as the format requires.

use std::collections::BTreeMap;

/// A bencoded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Dict(BTreeMap<Vec<u8>, Value>),
}

impl Value {
    /// A dictionary from `(key, value)` pairs.
    pub fn dict<K: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Dict(pairs.into_iter().map(|(k, v)| (k.as_ref().to_vec(), v)).collect())
    }

    pub fn str(s: &str) -> Self {
        Value::Bytes(s.as_bytes().to_vec())
    }

    pub fn int(n: impl TryInto<i64>) -> Self {
        Value::Int(n.try_into().unwrap_or(i64::MAX))
    }

    /// The encoded bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(n) => {
                out.push(b'i');
                out.extend_from_slice(n.to_string().as_bytes());
                out.push(b'e');
            }
            Value::Bytes(b) => write_bytes(b, out),
            Value::List(items) => {
                out.push(b'l');
                for v in items {
                    v.write(out);
                }
                out.push(b'e');
            }
            Value::Dict(map) => {
                out.push(b'd');
                for (k, v) in map {
                    write_bytes(k, out);
                    v.write(out);
                }
                out.push(b'e');
            }
        }
    }
}

fn write_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// The body of a failed announce or scrape: `d14:failure reason<len>:<msg>e`.
pub fn failure(reason: &str) -> Vec<u8> {
    Value::dict([("failure reason", Value::str(reason))]).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_sorted_and_binary_safe() {
        let v = Value::dict([
            ("peers", Value::Bytes(vec![127, 0, 0, 1, 0x1a, 0xe1])),
            ("interval", Value::int(1800)),
            ("complete", Value::int(-1)),
            ("list", Value::List(vec![Value::str("a"), Value::int(0)])),
        ]);
        assert_eq!(
            v.encode(),
            b"d8:completei-1e8:intervali1800e4:listl1:ai0ee5:peers6:\x7f\x00\x00\x01\x1a\xe1e".to_vec()
        );
        assert_eq!(failure("bad"), b"d14:failure reason3:bade".to_vec());
        assert_eq!(Value::dict::<&str>([]).encode(), b"de".to_vec());
    }
}
