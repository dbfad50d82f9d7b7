//! The error type of every fallible operation of this crate.

/// What went wrong while building a codec or encoding/decoding a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErasureError {
    /// The `(data, parity, block_size)` triple cannot describe a valid layout.
    #[error("invalid erasure layout: {0}")]
    InvalidLayout(String),
    /// Fewer than `need` shards are present and intact, so the block cannot be rebuilt.
    #[error("too few intact shards to rebuild the block: have {have}, need {need}")]
    TooFewShards {
        /// Shards that were present and passed the bitrot check (or were not examined because
        /// enough others already failed).
        have: usize,
        /// Shards needed to rebuild a block: the number of data shards.
        need: usize,
    },
    /// A frame or a run of frames does not have the length the layout demands.
    #[error("framed shard has {actual} bytes, expected {expected}")]
    ShardLength {
        /// Length the layout demands.
        expected: usize,
        /// Length that was given.
        actual: usize,
    },
    /// A frame's payload does not hash to the bitrot hash stored in front of it.
    #[error("framed shard fails its bitrot hash check")]
    BitrotMismatch,
    /// The slice of frames handed to a decode does not have one entry per shard.
    #[error("expected one entry per shard ({expected}), got {actual}")]
    ShardCount {
        /// `data + parity` of the codec.
        expected: usize,
        /// Entries given.
        actual: usize,
    },
    /// A block is empty or longer than the codec's block size.
    #[error("block length {len} is outside 1..={block_size}")]
    BlockLength {
        /// Length that was given.
        len: usize,
        /// The codec's block size.
        block_size: usize,
    },
    /// The underlying Reed-Solomon library refused an operation; this indicates a bug here.
    #[error("reed-solomon codec failure: {0}")]
    Codec(String),
}

impl From<reed_solomon_erasure::Error> for ErasureError {
    fn from(error: reed_solomon_erasure::Error) -> Self {
        ErasureError::Codec(error.to_string())
    }
}
