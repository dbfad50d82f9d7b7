//! Where things are: how an object is cut into blocks, and where each block's frame sits inside a
//! shard stream. Pure arithmetic on the codec's `(data, block_size)`; no bytes are touched.

use std::ops::Range;

use bytes::Bytes;

use crate::{ErasureCodec, ErasureError, BITROT_HASH_LEN};

impl ErasureCodec {
    /// Bytes of one shard for a block of `block_len` bytes: `ceil(block_len / data)`, 0 for 0.
    pub fn shard_len(&self, block_len: usize) -> usize {
        block_len.div_ceil(self.data_shards())
    }

    /// Bytes of one frame (hash + shard) for a block of `block_len` bytes; 0 for an empty block,
    /// which has no frames.
    pub fn frame_len(&self, block_len: usize) -> usize {
        if block_len == 0 {
            0
        } else {
            BITROT_HASH_LEN + self.shard_len(block_len)
        }
    }

    /// Number of blocks of an object of `object_size` bytes; an empty object has none.
    pub fn block_count(&self, object_size: u64) -> u64 {
        object_size.div_ceil(self.block_size_u64())
    }

    /// Length of block `block_index` of an object of `object_size` bytes: the block size for all
    /// blocks but the last, the remainder for the last, and 0 past the end.
    pub fn block_len(&self, object_size: u64, block_index: u64) -> usize {
        let start = self.block_offset(block_index);
        if start >= object_size {
            return 0;
        }
        // Bounded by block_size, which is a usize.
        (object_size - start).min(self.block_size_u64()) as usize
    }

    /// Offset inside the object of the first byte of block `block_index`.
    pub fn block_offset(&self, block_index: u64) -> u64 {
        block_index.saturating_mul(self.block_size_u64())
    }

    /// Blocks that hold any byte of `byte_range` of an object of `object_size` bytes, clamped to
    /// the object; an empty range gives an empty block range.
    pub fn block_range(&self, object_size: u64, byte_range: Range<u64>) -> Range<u64> {
        let end = byte_range.end.min(object_size);
        if byte_range.start >= end {
            let at = self
                .block_count(object_size)
                .min(byte_range.start / self.block_size_u64());
            return at..at;
        }
        let block_size = self.block_size_u64();
        byte_range.start / block_size..end.div_ceil(block_size)
    }

    /// Bytes of one shard stream of an object of `object_size` bytes: the sum over its blocks of
    /// `BITROT_HASH_LEN + shard_len(block_len)`. Every shard stream of an object has this size.
    pub fn framed_shard_size(&self, object_size: u64) -> u64 {
        let full_blocks = object_size / self.block_size_u64();
        let tail = (object_size % self.block_size_u64()) as usize;
        full_blocks * self.full_frame_len() + self.frame_len(tail) as u64
    }

    /// Offset inside a shard stream of block `block_index`'s frame, so a range read can seek to
    /// it; for `block_index >= block_count` it is the end of the stream.
    pub fn frame_offset(&self, object_size: u64, block_index: u64) -> u64 {
        if block_index >= self.block_count(object_size) {
            return self.framed_shard_size(object_size);
        }
        // Every block before an existing block is full.
        block_index * self.full_frame_len()
    }

    /// Byte range inside a shard stream of the frames of `blocks` (clamped to the object).
    pub fn frame_range(&self, object_size: u64, blocks: Range<u64>) -> Range<u64> {
        let start = self.frame_offset(object_size, blocks.start);
        let end = self.frame_offset(object_size, blocks.end).max(start);
        start..end
    }

    /// Cuts `stream`, the bytes `frame_range(object_size, blocks)` of one shard stream, into one
    /// frame per block without copying. Fails with [`ErasureError::ShardLength`] when `stream` has
    /// the wrong length (a truncated shard file). Frames are not verified here; decoding does it.
    pub fn split_frames(
        &self,
        object_size: u64,
        blocks: Range<u64>,
        mut stream: Bytes,
    ) -> Result<Vec<Bytes>, ErasureError> {
        let range = self.frame_range(object_size, blocks.clone());
        let expected = (range.end - range.start) as usize;
        if stream.len() != expected {
            return Err(ErasureError::ShardLength {
                expected,
                actual: stream.len(),
            });
        }
        let last = blocks.end.min(self.block_count(object_size));
        let mut frames = Vec::with_capacity(last.saturating_sub(blocks.start) as usize);
        for block_index in blocks.start..last {
            let frame_len = self.frame_len(self.block_len(object_size, block_index));
            frames.push(stream.split_to(frame_len));
        }
        Ok(frames)
    }

    fn block_size_u64(&self) -> u64 {
        self.block_size() as u64
    }

    fn full_frame_len(&self) -> u64 {
        self.frame_len(self.block_size()) as u64
    }
}
