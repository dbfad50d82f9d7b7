//! Reed-Solomon codec and bitrot-framed shard streams for minnow.
