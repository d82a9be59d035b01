//! Swapping the audio of an MPEG-TS segment: the video packets of a main segment with
//! the audio packets of an audio rendition's segment on the same grid (`audio=N` for
//! players that ignore renditions). Works on the 188-byte packets, so the video is
//! never decoded, encoded or even parsed: it is produced once, whatever the audio.
//!
//! The main segment's audio packets are dropped, the rendition's audio packets take
//! their PID (or a new one when the main segment had no audio), and the main
//! segment's PMT is rewritten to list the rendition's audio (stream type and
//! descriptors). Both segments carry PTS as media time plus the muxer's constant
//! offset, so the result plays in sync; the audio packets are spread evenly between
//! the video packets.

use anyhow::{Context, bail};

const PACKET: usize = 188;
/// The PID a segment without audio gives its new audio stream.
const NEW_AUDIO_PID: u16 = 0x0110;

/// One elementary stream entry of a PMT.
#[derive(Clone, Debug)]
struct Es {
    stream_type: u8,
    pid: u16,
    info: Vec<u8>,
}

/// A parsed PMT section.
#[derive(Clone, Debug)]
struct Pmt {
    pid: u16,
    program: u16,
    version: u8,
    pcr_pid: u16,
    program_info: Vec<u8>,
    streams: Vec<Es>,
}

fn pid_of(p: &[u8]) -> u16 {
    (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2])
}

/// The payload of a packet (after any adaptation field), or `None`.
fn payload(p: &[u8]) -> Option<&[u8]> {
    let afc = (p[3] >> 4) & 3;
    let start = match afc {
        1 => 4,
        3 => 5 + p[4] as usize,
        _ => return None,
    };
    (start < PACKET).then(|| &p[start..])
}

/// The section a packet starting one carries (after the pointer field).
fn section(p: &[u8]) -> Option<&[u8]> {
    if p[1] & 0x40 == 0 {
        return None;
    }
    let pl = payload(p)?;
    let ptr = *pl.first()? as usize;
    let s = pl.get(1 + ptr..)?;
    let len = ((usize::from(s.get(1)? & 0x0f)) << 8 | usize::from(*s.get(2)?)) + 3;
    s.get(..len)
}

fn packets(ts: &[u8]) -> anyhow::Result<std::slice::ChunksExact<'_, u8>> {
    if !ts.len().is_multiple_of(PACKET) || ts.first() != Some(&0x47) {
        bail!("not an MPEG-TS stream of 188-byte packets ({} bytes)", ts.len());
    }
    Ok(ts.chunks_exact(PACKET))
}

/// The PMT of the first program of `ts`.
fn find_pmt(ts: &[u8]) -> anyhow::Result<Pmt> {
    let mut pmt_pid = None;
    for p in packets(ts)? {
        let pid = pid_of(p);
        if pid == 0 && pmt_pid.is_none() {
            let s = section(p).context("a PAT without a section")?;
            // table_id, length(2), ts id(2), version, section, last; then 4-byte entries; CRC.
            let entries = s.get(8..s.len().saturating_sub(4)).unwrap_or_default();
            pmt_pid = entries
                .chunks_exact(4)
                .find(|e| u16::from_be_bytes([e[0], e[1]]) != 0)
                .map(|e| (u16::from(e[2] & 0x1f) << 8) | u16::from(e[3]));
        } else if Some(pid) == pmt_pid
            && let Some(s) = section(p)
        {
            return parse_pmt(pid, s);
        }
    }
    bail!("no PMT in the segment")
}

fn parse_pmt(pid: u16, s: &[u8]) -> anyhow::Result<Pmt> {
    if s.len() < 16 || s[0] != 0x02 {
        bail!("a PMT that is not one ({} bytes)", s.len());
    }
    let program = u16::from_be_bytes([s[3], s[4]]);
    let version = (s[5] >> 1) & 0x1f;
    let pcr_pid = (u16::from(s[8] & 0x1f) << 8) | u16::from(s[9]);
    let pil = (usize::from(s[10] & 0x0f) << 8) | usize::from(s[11]);
    let end = s.len() - 4;
    let program_info = s.get(12..12 + pil).context("a PMT cut short")?.to_vec();
    let mut streams = Vec::new();
    let mut i = 12 + pil;
    while i + 5 <= end {
        let stream_type = s[i];
        let pid = (u16::from(s[i + 1] & 0x1f) << 8) | u16::from(s[i + 2]);
        let il = (usize::from(s[i + 3] & 0x0f) << 8) | usize::from(s[i + 4]);
        let info = s.get(i + 5..i + 5 + il).context("a PMT entry cut short")?.to_vec();
        streams.push(Es { stream_type, pid, info });
        i += 5 + il;
    }
    Ok(Pmt { pid, program, version, pcr_pid, program_info, streams })
}

fn is_video(stream_type: u8) -> bool {
    matches!(stream_type, 0x01 | 0x02 | 0x10 | 0x1b | 0x24 | 0x27)
}

/// MPEG-2's CRC-32 (polynomial 0x04C11DB7, no reflection).
fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

fn pmt_section(p: &Pmt) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&p.program.to_be_bytes());
    body.push(0xc1 | (p.version << 1));
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&(0xe000 | p.pcr_pid).to_be_bytes());
    body.extend_from_slice(&(0xf000 | p.program_info.len() as u16).to_be_bytes());
    body.extend_from_slice(&p.program_info);
    for e in &p.streams {
        body.push(e.stream_type);
        body.extend_from_slice(&(0xe000 | e.pid).to_be_bytes());
        body.extend_from_slice(&(0xf000 | e.info.len() as u16).to_be_bytes());
        body.extend_from_slice(&e.info);
    }
    let len = body.len() + 4;
    let mut s = vec![0x02, 0xb0 | ((len >> 8) as u8 & 0x0f), len as u8];
    s.extend_from_slice(&body);
    let crc = crc32_mpeg(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

/// A PMT packet like `orig` (its header and continuity counter) carrying `section`.
fn pmt_packet(orig: &[u8], section: &[u8]) -> anyhow::Result<[u8; PACKET]> {
    if section.len() + 5 > PACKET {
        bail!("the new PMT does not fit in one packet");
    }
    let mut p = [0xffu8; PACKET];
    p[..3].copy_from_slice(&orig[..3]);
    p[3] = (orig[3] & 0xcf) | 0x10; // payload only
    p[4] = 0; // pointer field
    p[5..5 + section.len()].copy_from_slice(section);
    Ok(p)
}

/// `main` (a segment with video) with its audio replaced by the audio of `audio` (an
/// audio-only segment of the same span).
pub fn replace_audio(main: &[u8], audio: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut pmt = find_pmt(main).context("the video segment")?;
    let apmt = find_pmt(audio).context("the audio segment")?;
    let src = apmt.streams.iter().find(|e| !is_video(e.stream_type)).context("the audio segment has no audio")?.clone();
    let old: Vec<u16> = pmt.streams.iter().filter(|e| !is_video(e.stream_type)).map(|e| e.pid).collect();
    let target = old.first().copied().unwrap_or(NEW_AUDIO_PID);
    pmt.streams.retain(|e| is_video(e.stream_type));
    pmt.streams.push(Es { stream_type: src.stream_type, pid: target, info: src.info.clone() });
    // The audio segment's PCR rides on its audio: keep it when the main one did too.
    if old.contains(&pmt.pcr_pid) || pmt.pcr_pid == 0x1fff {
        pmt.pcr_pid = if apmt.pcr_pid == src.pid { target } else { pmt.streams[0].pid };
    }
    let new_pmt = pmt_section(&pmt);
    let audio_packets: Vec<[u8; PACKET]> = packets(audio)?
        .filter(|p| pid_of(p) == src.pid)
        .map(|p| {
            let mut q = [0u8; PACKET];
            q.copy_from_slice(p);
            q[1] = (q[1] & 0xe0) | ((target >> 8) as u8 & 0x1f);
            q[2] = target as u8;
            q
        })
        .collect();
    let kept: Vec<&[u8]> = packets(main)?.filter(|p| !old.contains(&pid_of(p))).collect();
    let mut out = Vec::with_capacity((kept.len() + audio_packets.len()) * PACKET);
    let mut a = audio_packets.iter();
    let (nk, na) = (kept.len().max(1), audio_packets.len());
    let mut sent = 0;
    for (k, p) in kept.iter().enumerate() {
        if pid_of(p) == pmt.pid && p[1] & 0x40 != 0 {
            out.extend_from_slice(&pmt_packet(p, &new_pmt)?);
        } else {
            out.extend_from_slice(p);
        }
        // Audio after the first PAT/PMT, spread evenly over the video.
        if k >= 2 {
            let due = na * (k + 1) / nk;
            while sent < due {
                let Some(q) = a.next() else { break };
                out.extend_from_slice(q);
                sent += 1;
            }
        }
    }
    for q in a {
        out.extend_from_slice(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_known_pat() {
        // The PAT ffmpeg writes: program 1 on PID 0x1000.
        let s = [0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00];
        assert_eq!(crc32_mpeg(&s), 0x2ab1_04b2);
    }

    #[test]
    fn a_pmt_round_trips() {
        let p = Pmt {
            pid: 0x20,
            program: 1,
            version: 0,
            pcr_pid: 0x41,
            program_info: vec![],
            streams: vec![
                Es { stream_type: 0x1b, pid: 0x41, info: vec![] },
                Es { stream_type: 0x0f, pid: 0x42, info: vec![0x0a, 4, b'e', b'n', b'g', 0] },
            ],
        };
        let s = pmt_section(&p);
        assert_eq!(crc32_mpeg(&s), 0, "a section with its CRC checks to 0");
        let back = parse_pmt(0x20, &s).unwrap();
        assert_eq!(back.streams.len(), 2);
        assert_eq!((back.streams[1].stream_type, back.streams[1].pid, back.streams[1].info.len()), (0x0f, 0x42, 6));
        assert_eq!(back.pcr_pid, 0x41);
    }
}
