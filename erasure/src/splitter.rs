//! Cutting a request body, which arrives as chunks of any size, into blocks of exactly the block
//! size (the last one shorter) for the codec.

use bytes::{Bytes, BytesMut};

/// The smallest buffer a pending block starts with.
const MIN_PENDING: usize = 4 << 10;

/// Accumulates incoming body chunks into blocks of exactly `block_size` bytes (the last one
/// shorter, returned by [`BlockSplitter::finish`]).
///
/// A whole block that lies inside one incoming chunk is handed out as a zero-copy slice of it;
/// only blocks that straddle chunks are copied into a buffer. At most one partial block is held,
/// in a buffer that grows (fourfold, from what arrived) as bytes arrive, so a body that stalls
/// holds memory in proportion to what it sent, not a whole block.
#[derive(Debug)]
pub struct BlockSplitter {
    block_size: usize,
    /// The start of a block that straddles chunks; empty unless a partial block is pending.
    pending: BytesMut,
    bytes_pushed: u64,
    /// The body's declared length, if known: a pending block never
    /// reserves more than what is left of it.
    size_hint: Option<u64>,
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
            size_hint: None,
        }
    }

    /// Declares the body's total length, so that a small body does not
    /// reserve a whole block (a mistaken hint only costs reallocations).
    pub fn with_size_hint(mut self, total: Option<u64>) -> Self {
        self.size_hint = total;
        self
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
            let block_start = self.bytes_pushed - (chunk.len() + self.pending.len()) as u64;
            self.reserve(take, block_start);
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
            self.pending = BytesMut::new();
            self.reserve(chunk.len(), self.bytes_pushed - chunk.len() as u64);
            self.pending.extend_from_slice(&chunk);
        }
        blocks
    }

    /// Bytes of memory the pending partial block holds (its buffer's capacity).
    pub fn pending_capacity(&self) -> usize {
        self.pending.capacity()
    }

    /// Makes room for `more` bytes in the pending block: at least what arrived
    /// ([`MIN_PENDING`] at first), four times the previous buffer when that is
    /// more, never past the end of the block or of the declared body. Growth
    /// copies the block's start at most a few times (16 KiB chunks into a 1 MiB
    /// block: 3 copies, a third of the block in all).
    fn reserve(&mut self, more: usize, block_start: u64) {
        let needed = self.pending.len() + more;
        if needed <= self.pending.capacity() {
            return;
        }
        let limit = match self.size_hint {
            Some(total) => usize::try_from(total.saturating_sub(block_start))
                .unwrap_or(usize::MAX)
                .min(self.block_size),
            None => self.block_size,
        };
        let capacity = (self.pending.capacity() * 4)
            .max(MIN_PENDING)
            .min(limit)
            .max(needed);
        let mut grown = BytesMut::with_capacity(capacity);
        grown.extend_from_slice(&self.pending);
        self.pending = grown;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_declared_body_reserves_only_its_length() {
        let mut splitter = BlockSplitter::new(1 << 20).with_size_hint(Some(300));
        assert!(splitter.push(Bytes::from(vec![1u8; 100])).is_empty());
        assert!(splitter.pending.capacity() < 1 << 20);
        assert!(splitter.pending.capacity() >= 300);
        assert!(splitter.push(Bytes::from(vec![2u8; 200])).is_empty());
        let last = splitter.finish().unwrap();
        assert_eq!(last.len(), 300);
        assert_eq!(&last[..100], &[1u8; 100][..]);
    }

    /// A stalled body holds memory for what it sent, not a whole block: the
    /// write budget charges the pending buffer, so this is what keeps a
    /// one-byte upload from holding a block's share of it.
    #[test]
    fn the_pending_block_grows_with_what_arrived() {
        let mut splitter = BlockSplitter::new(1 << 20).with_size_hint(Some(8 << 20));
        assert!(splitter.push(Bytes::from_static(b"s")).is_empty());
        assert!(splitter.pending_capacity() <= 4 << 10);
        let mut sent = 1usize;
        for round in 0..60u8 {
            assert!(splitter.push(Bytes::from(vec![round; 16 << 10])).is_empty());
            sent += 16 << 10;
            assert!(splitter.pending_capacity() >= sent);
            assert!(
                splitter.pending_capacity() <= (sent * 4).clamp(4 << 10, 1 << 20),
                "{} bytes held for {sent}",
                splitter.pending_capacity()
            );
        }
        let block = splitter.push(Bytes::from(vec![9u8; (1 << 20) - sent + 5]));
        assert_eq!(block.len(), 1);
        assert_eq!(block[0].len(), 1 << 20);
        assert_eq!(block[0][0], b's');
        assert_eq!(block[0][1], 0);
        assert_eq!(splitter.pending_len(), 5);
    }

    #[test]
    fn a_wrong_hint_still_gives_exact_blocks() {
        let mut splitter = BlockSplitter::new(1000).with_size_hint(Some(10));
        let mut blocks = splitter.push(Bytes::from(vec![7u8; 2500]));
        assert_eq!(blocks.len(), 2);
        blocks.extend(splitter.push(Bytes::from(vec![8u8; 600])));
        assert_eq!(blocks.len(), 3);
        assert!(blocks.iter().all(|b| b.len() == 1000));
        assert_eq!(splitter.finish().unwrap().len(), 100);
    }
}
