//! Media: probing files, the H.264 encoder registry, segmenting pipelines, and the HLS
//! session manager that produces segments on demand (engine → media → api).

pub mod burn;
pub mod cache;
pub mod cuts;
pub mod depth;
pub mod encoder;
pub mod encoder_probe;
mod gop;
pub mod keyframes;
pub mod language;
mod key;
pub mod metrics;
pub mod mkvflags;
pub mod movpcm;
pub mod pipeline;
pub mod playlist;
pub mod probe;
pub mod renditions;
mod runtime;
pub mod session;
pub mod source;
pub mod subextract;
pub mod subtitles;
pub mod tracks;
pub mod tsaudio;
mod streams;
pub mod waiting;
pub mod tonemap;

pub use encoder::{EncoderInfo, EncoderRegistry};
pub use key::StreamKey;
pub use probe::{MediaInfo, Mode};
pub use runtime::init;
pub use session::{MediaError, Stream, StreamPhase, StreamStatus};
pub use source::{ByteSource, LocalFile, TorrentSource};
pub use streams::Media;
pub use waiting::Waiting;
