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
