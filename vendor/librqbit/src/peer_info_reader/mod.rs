use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use bencode::from_bytes;
use buffers::{ByteBuf, ByteBufOwned};
use bytes::Bytes;
use librqbit_core::{
    constants::CHUNK_SIZE, hash_id::Id20, lengths::last_element_size,
    torrent_metainfo::TorrentMetaV1Info,
};
use peer_binary_protocol::{
    Handshake, MAX_MSG_LEN, Message,
    extended::{
        ExtendedMessage, PeerExtendedMessageIds,
        handshake::ExtendedHandshake,
        ut_metadata::{UtMetadata, UtMetadataData},
    },
};
use sha1w::{ISha1, Sha1};
use tokio::io::AsyncWriteExt;
use tracing::trace;

use crate::{
    peer_connection::{PeerConnectionOptions, with_timeout},
    read_buf::ReadBuf,
    session::CheckedIncomingConnection,
    stream_connect::StreamConnector,
    type_aliases::BoxAsyncWrite,
};

// PATCH(swarmcast handover): the metadata exchange runs on a connection of its own
// (no `PeerConnection`), so that once the info dictionary is verified the connection
// — with what the peer told us on it, replayed — can be handed to the live torrent
// instead of being dropped and made again (see `Session::hand_over`).
pub(crate) async fn read_metainfo_from_peer(
    addr: SocketAddr,
    peer_id: Id20,
    info_hash: Id20,
    peer_connection_options: Option<PeerConnectionOptions>,
    connector: Arc<StreamConnector>,
    client_name_and_version: String,
) -> anyhow::Result<(TorrentAndInfoBytes, CheckedIncomingConnection)> {
    let opts = peer_connection_options.unwrap_or_default();
    let rw = opts.read_write_timeout.unwrap_or(Duration::from_secs(10));
    let connect_timeout = opts.connect_timeout.unwrap_or(Duration::from_secs(10));
    let (kind, mut read, mut write) =
        with_timeout("connecting", connect_timeout, connector.connect(addr)).await?;
    let mut wbuf = vec![0u8; MAX_MSG_LEN];

    let len = Handshake::new(info_hash, peer_id).serialize_unchecked_len(&mut wbuf);
    send(&mut write, &wbuf[..len], rw).await?;
    let mut read_buf = ReadBuf::new();
    let handshake = read_buf.read_handshake(&mut read, rw).await?;
    if handshake.info_hash != info_hash {
        bail!("the peer answered for another torrent");
    }
    if handshake.peer_id == peer_id {
        bail!("connected to ourselves");
    }
    if !handshake.supports_extended() {
        bail!(
            "this peer does not support extended handshaking, which is a prerequisite to download metadata"
        )
    }

    let mut mine = ExtendedHandshake::new();
    mine.v = Some(ByteBuf(client_name_and_version.as_bytes()));
    mine.yourip = Some(addr.ip().into());
    let len = Message::Extended(ExtendedMessage::Handshake(mine))
        .serialize(&mut wbuf, &Default::default)?;
    send(&mut write, &wbuf[..len], rw).await?;

    // What the live torrent's handler must see of this connection so far: the peer's
    // extended handshake, bitfield, haves and choke state, in the order they came.
    let mut replay = Vec::new();
    let mut peer_ids = PeerExtendedMessageIds::default();
    let mut pieces: Option<HandlerLocked> = None;
    let info_buf = loop {
        let msg = read_buf.read_message(&mut read, rw).await?;
        trace!("{addr}: received message: {msg:?}");
        let keep = match &msg {
            Message::Extended(ExtendedMessage::Handshake(h)) => {
                replay_handshake(h, &mut replay)?;
                let size = h
                    .metadata_size
                    .context("peer does not have metadata_size")?;
                if h.m.ut_metadata.is_none() {
                    bail!("peer does not support ut_metadata");
                }
                peer_ids = h.m;
                let wanted = HandlerLocked::new(size)?;
                let mut out = Vec::new();
                for m in [Message::Unchoke, Message::Interested] {
                    let n = m.serialize(&mut wbuf, &|| peer_ids)?;
                    out.extend_from_slice(&wbuf[..n]);
                }
                for i in 0..wanted.total_pieces {
                    let m = Message::Extended(ExtendedMessage::UtMetadata(UtMetadata::Request(
                        i.try_into()?,
                    )));
                    let n = m.serialize(&mut wbuf, &|| peer_ids)?;
                    out.extend_from_slice(&wbuf[..n]);
                }
                pieces = Some(wanted);
                send(&mut write, &out, rw).await?;
                false
            }
            Message::Extended(ExtendedMessage::UtMetadata(UtMetadata::Data(d))) => {
                let got = pieces
                    .as_mut()
                    .context("metadata before the extended handshake")?;
                if got.record_piece(d, &info_hash)? {
                    break std::mem::take(&mut got.buffer);
                }
                false
            }
            Message::Extended(ExtendedMessage::UtMetadata(UtMetadata::Reject(piece))) => {
                bail!("the peer refused metadata piece {piece}")
            }
            Message::Bitfield(_)
            | Message::Have(_)
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested => true,
            _ => false,
        };
        if keep {
            let n = msg.serialize(&mut wbuf, &|| peer_ids)?;
            replay.extend_from_slice(&wbuf[..n]);
        }
    };

    let buf = Bytes::from(info_buf);
    let info = from_bytes::<TorrentMetaV1Info<ByteBuf>>(&buf)
        .map(|i| {
            use clone_to_owned::CloneToOwned;
            i.clone_to_owned(Some(&buf))
        })
        .map_err(|e| {
            trace!("error deserializing TorrentMetaV1Info: {e:#}");
            e.into_kind()
        })?;
    if !read_buf.unread(&replay) {
        bail!("the peer sent too much before the metadata to hand the connection over");
    }
    Ok((
        (info, ByteBufOwned(buf)),
        CheckedIncomingConnection {
            kind,
            addr,
            reader: read,
            writer: write,
            read_buf,
            handshake,
            handed_over: true,
        },
    ))
}

/// The peer's extended handshake framed as it came, for the live torrent's handler.
/// Serialized anew from the fields that handler reads: the parsed form keeps the ids
/// the peer left out as `None`, which bencode cannot write.
fn replay_handshake(h: &ExtendedHandshake<ByteBuf>, out: &mut Vec<u8>) -> anyhow::Result<()> {
    // Keys in bencode's sorted order.
    #[derive(serde::Serialize)]
    struct Replayed<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        complete_ago: Option<i32>,
        m: std::collections::BTreeMap<&'static str, u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        metadata_size: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        p: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reqq: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        upload_only: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        v: Option<&'a ByteBuf<'a>>,
    }
    let m = [("ut_metadata", h.m.ut_metadata), ("ut_pex", h.m.ut_pex)]
        .into_iter()
        .filter_map(|(k, id)| Some((k, id?)))
        .collect();
    let replayed = Replayed {
        complete_ago: h.complete_ago,
        m,
        metadata_size: h.metadata_size,
        p: h.p,
        reqq: h.reqq,
        upload_only: h.upload_only,
        v: h.v.as_ref(),
    };
    let mut body = Vec::new();
    bencode::bencode_serialize_to_writer(&replayed, &mut body)?;
    // length, BEP 10's message id (20), the extended handshake's id (0), the dictionary
    out.extend_from_slice(&u32::try_from(body.len() + 2)?.to_be_bytes());
    out.extend_from_slice(&[20, 0]);
    out.extend_from_slice(&body);
    Ok(())
}

async fn send(write: &mut BoxAsyncWrite, bytes: &[u8], rw: Duration) -> crate::Result<()> {
    with_timeout("writing", rw, async {
        write.write_all(bytes).await.map_err(crate::Error::Write)
    })
    .await
}

#[derive(Default)]
struct HandlerLocked {
    metadata_size: u32,
    total_pieces: usize,
    buffer: Vec<u8>,
    received_pieces: Vec<bool>,
}

impl HandlerLocked {
    fn new(metadata_size: u32) -> anyhow::Result<Self> {
        if metadata_size > 32 * 1024 * 1024 {
            anyhow::bail!("metadata size {} is too big", metadata_size);
        }
        let buffer = vec![0u8; metadata_size as usize];
        let total_pieces: usize = (metadata_size as u64)
            .div_ceil(CHUNK_SIZE as u64)
            .try_into()?;
        let received_pieces = vec![false; total_pieces];
        Ok(Self {
            metadata_size,
            received_pieces,
            buffer,
            total_pieces,
        })
    }
    fn piece_size(&self, index: u32) -> usize {
        if index as usize == self.total_pieces - 1 {
            last_element_size(self.metadata_size as u64, CHUNK_SIZE as u64)
                .try_into()
                .unwrap()
        } else {
            CHUNK_SIZE as usize
        }
    }
    fn record_piece(
        &mut self,
        d: &UtMetadataData<ByteBuf>,
        info_hash: &Id20,
    ) -> anyhow::Result<bool> {
        let piece = d.piece();
        if piece as usize >= self.total_pieces {
            anyhow::bail!("wrong index");
        }
        let offset = (piece * CHUNK_SIZE) as usize;
        let size = self.piece_size(piece);
        if d.len() != size {
            anyhow::bail!(
                "expected length of piece {} to be {}, but got {}",
                piece,
                size,
                d.len()
            );
        }
        if self.received_pieces[piece as usize] {
            anyhow::bail!("already received piece {}", piece);
        }
        d.copy_to_slice(&mut self.buffer[offset..offset + d.len()]);
        self.received_pieces[piece as usize] = true;

        if self.received_pieces.iter().all(|p| *p) {
            // check metadata
            let mut hash = Sha1::new();
            hash.update(&self.buffer);
            if hash.finish() != info_hash.0 {
                anyhow::bail!("info checksum invalid");
            }
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

pub type TorrentAndInfoBytes = (TorrentMetaV1Info<ByteBufOwned>, ByteBufOwned);
