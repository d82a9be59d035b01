//! Reading a container's headers, shared by the engine's fast start (`container`) and
//! the media side's keyframe index (`media::keyframes`): positioned reads of a few
//! bytes, big-endian numbers, and Matroska's EBML elements.

use std::io::SeekFrom;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};

/// A reader of a file of `len` bytes, read at positions.
pub struct At<'a, R: ?Sized> {
    pub r: &'a mut R,
    pub len: u64,
}

impl<R: AsyncRead + AsyncSeek + Unpin + ?Sized> At<'_, R> {
    /// Up to `n` bytes at `pos` (fewer at the end of the file).
    pub async fn read(&mut self, pos: u64, n: u64) -> Option<Vec<u8>> {
        let n = n.min(self.len.saturating_sub(pos));
        self.r.seek(SeekFrom::Start(pos)).await.ok()?;
        let mut buf = vec![0; n as usize];
        self.r.read_exact(&mut buf).await.ok()?;
        Some(buf)
    }
}

/// A big-endian unsigned number.
pub fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |a, &x| (a << 8) | x as u64)
}

/// An EBML unsigned integer body (at most its first 8 bytes).
pub fn uint(b: &[u8]) -> u64 {
    be(&b[..b.len().min(8)])
}

/// An EBML variable-length integer at the start of `b`: `(value, length)`. IDs keep
/// their marker bit; sizes drop it, and all ones means "unknown" (`u64::MAX`).
pub fn vint(b: &[u8], id: bool) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let raw = be(&b[..len]);
    if id {
        return Some((raw, len));
    }
    let value = raw & ((1u64 << (7 * len)) - 1);
    Some((if value == (1u64 << (7 * len)) - 1 { u64::MAX } else { value }, len))
}

/// An element header at the start of `b`: `(id, body size, header length)`.
pub fn header(b: &[u8]) -> Option<(u64, u64, usize)> {
    let (id, a) = vint(b, true)?;
    let (size, c) = vint(b.get(a..)?, false)?;
    Some((id, size, a + c))
}

/// The child elements of a body held in memory: `(id, body)`.
pub fn elements(mut buf: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    std::iter::from_fn(move || {
        let (id, size, h) = header(buf)?;
        let end = h.checked_add(usize::try_from(size).ok()?)?;
        let body = buf.get(h..end)?;
        buf = &buf[end..];
        Some((id, body))
    })
}

/// Matroska element ids both readers look for.
pub const SEGMENT: u64 = 0x1853_8067;
pub const SEEK_HEAD: u64 = 0x114D_9B74;
pub const INFO: u64 = 0x1549_A966;
pub const TIMESTAMP_SCALE: u64 = 0x2A_D7B1;
pub const CUES: u64 = 0x1C53_BB6B;
pub const CLUSTER: u64 = 0x1F43_B675;
const SEEK: u64 = 0x4DBB;
const SEEK_ID: u64 = 0x53AB;
const SEEK_POSITION: u64 = 0x53AC;

/// Where a `SeekHead` says the `Cues` are, relative to the Segment's body.
pub fn cues_position(seek_head: &[u8]) -> Option<u64> {
    elements(seek_head).filter(|(id, _)| *id == SEEK).find_map(|(_, seek)| {
        let id = elements(seek).find(|(i, _)| *i == SEEK_ID).map(|(_, b)| uint(b))?;
        let pos = elements(seek).find(|(i, _)| *i == SEEK_POSITION).map(|(_, b)| uint(b))?;
        (id == CUES).then_some(pos)
    })
}
