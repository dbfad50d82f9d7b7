//! Bitrot framing: a frame is `blake3(shard) ++ shard`, so a reader detects a rotten or torn shard
//! before it is used as data.

/// Length of the bitrot hash (blake3) in front of every shard.
pub const BITROT_HASH_LEN: usize = 32;

/// Fills the first [`BITROT_HASH_LEN`] bytes of `frame` with the hash of the rest.
pub(crate) fn seal(frame: &mut [u8]) {
    let (hash, payload) = frame.split_at_mut(BITROT_HASH_LEN);
    hash.copy_from_slice(blake3::hash(payload).as_bytes());
}

/// Whether `frame` carries exactly `shard_len` payload bytes that match its hash.
pub(crate) fn is_intact(frame: &[u8], shard_len: usize) -> bool {
    frame.len() == BITROT_HASH_LEN + shard_len
        && blake3::hash(&frame[BITROT_HASH_LEN..]).as_bytes()[..] == frame[..BITROT_HASH_LEN]
}
