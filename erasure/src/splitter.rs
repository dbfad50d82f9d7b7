//! Cutting a request body, which arrives as chunks of any size, into blocks of exactly the block
//! size (the last one shorter) for the codec.

use bytes::{Bytes, BytesMut};

/// Accumulates incoming body chunks into blocks of exactly `block_size` bytes (the last one
/// shorter, returned by [`BlockSplitter::finish`]).
///
/// A whole block that lies inside one incoming chunk is handed out as a zero-copy slice of it;
/// only blocks that straddle chunks are copied, once, into a fresh buffer. At most one partial
/// block is held.
#[derive(Debug)]
pub struct BlockSplitter {
    block_size: usize,
    /// The start of a block that straddles chunks; empty unless a partial block is pending.
    pending: BytesMut,
    bytes_pushed: u64,
}

impl BlockSplitter {
    /// A splitter for blocks of `block_size` bytes.
    ///
    /// # Panics
    /// When `block_size` is 0.
    pub fn new(block_size: usize) -> Self {
        assert!(block_size > 0, "block size must be at least one byte");
        BlockSplitter {
            block_size,
            pending: BytesMut::new(),
            bytes_pushed: 0,
        }
    }

    /// The block size this splitter cuts to.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Total bytes pushed so far.
    pub fn bytes_pushed(&self) -> u64 {
        self.bytes_pushed
    }

    /// Bytes held in the pending partial block.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Feeds one chunk and returns the blocks it completes, in order, each exactly `block_size`
    /// bytes long (no allocation when it completes none).
    pub fn push(&mut self, mut chunk: Bytes) -> Vec<Bytes> {
        self.bytes_pushed += chunk.len() as u64;
        let mut blocks = Vec::new();
        if !self.pending.is_empty() {
            let take = chunk.len().min(self.block_size - self.pending.len());
            self.pending.extend_from_slice(&chunk.split_to(take));
            if self.pending.len() < self.block_size {
                return blocks;
            }
            blocks.push(self.take_pending());
        }
        while chunk.len() >= self.block_size {
            blocks.push(chunk.split_to(self.block_size));
        }
        if !chunk.is_empty() {
            // Reserve the whole block once so that later chunks never reallocate it.
            self.pending = BytesMut::with_capacity(self.block_size);
            self.pending.extend_from_slice(&chunk);
        }
        blocks
    }

    /// Ends the body: the last, shorter block, or `None` when the body length is a multiple of
    /// the block size (including an empty body).
    pub fn finish(self) -> Option<Bytes> {
        if self.pending.is_empty() {
            None
        } else {
            Some(self.pending.freeze())
        }
    }

    fn take_pending(&mut self) -> Bytes {
        std::mem::take(&mut self.pending).freeze()
    }
}
