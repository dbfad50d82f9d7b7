//! Reed-Solomon codec and bitrot-framed shard streams for minnow.
//!
//! The crate turns one fixed-size block of an object into `data + parity` shards, each framed as
//! `blake3(shard) ++ shard`, and turns any `data` intact frames back into the block. It also owns
//! the arithmetic of a *shard stream* (the concatenation of one shard's frames over all blocks of
//! an object) so that a range read can seek straight to the frames it needs, and a
//! [`BlockSplitter`] that cuts an incoming body into blocks. It knows nothing of files or drives.
//!
//! Layout of an object of `object_size` bytes with block size `B`:
//! - it has `ceil(object_size / B)` blocks; every block but the last holds exactly `B` bytes and an
//!   empty object has no blocks at all (so [`ErasureCodec::encode_block`] never sees an empty block);
//! - block `i` is split into `data` shards of `ceil(len / data)` bytes (the last one zero-padded) and
//!   `parity` parity shards of the same length;
//! - shard stream `j` is `frame(block 0, shard j) ++ frame(block 1, shard j) ++ ...`.
//!
//! ```
//! use bytes::Bytes;
//! use erasure::{BlockSplitter, ErasureCodec};
//!
//! let codec = ErasureCodec::new(2, 2, 1 << 20)?;
//! let body = Bytes::from(vec![7u8; 3 << 19]); // 1.5 blocks
//!
//! // Write: cut the body into blocks and append block i's frame j to shard stream j.
//! let mut splitter = BlockSplitter::new(codec.block_size());
//! let mut blocks = splitter.push(body.clone());
//! blocks.extend(splitter.finish());
//! let mut streams = vec![Vec::new(); codec.total_shards()];
//! for block in &blocks {
//!     for (stream, frame) in streams.iter_mut().zip(codec.encode_block(block)?) {
//!         stream.extend_from_slice(&frame);
//!     }
//! }
//! let size = body.len() as u64;
//! assert_eq!(streams[0].len() as u64, codec.framed_shard_size(size));
//!
//! // Read block 1 with shard stream 0 lost: seek to its frames, decode, learn what to heal.
//! let range = codec.frame_range(size, 1..2);
//! let mut frames: Vec<Option<Bytes>> = streams
//!     .iter()
//!     .map(|s| Some(Bytes::copy_from_slice(&s[range.start as usize..range.end as usize])))
//!     .collect();
//! frames[0] = None;
//! let decoded = codec.decode_block(&frames, codec.block_len(size, 1))?;
//! assert_eq!(decoded.data, body.slice(1 << 20..));
//! assert_eq!(decoded.bad_shards, vec![0]);
//! # Ok::<(), erasure::ErasureError>(())
//! ```

#![deny(missing_docs)]

mod codec;
mod error;
mod frame;
mod layout;
mod splitter;

pub use codec::{DecodedBlock, DecodedParts, ErasureCodec, HealedBlock};
pub use error::ErasureError;
pub use frame::BITROT_HASH_LEN;
pub use splitter::BlockSplitter;
