//! The layout arithmetic agrees with what encoding actually produces, so the store can size shard
//! files and seek to a block's frame for a range read.

use bytes::Bytes;
use erasure::{ErasureCodec, ErasureError, BITROT_HASH_LEN};

fn layouts() -> Vec<ErasureCodec> {
    [
        (1, 1, 10),
        (2, 2, 16),
        (3, 1, 7),
        (4, 2, 1 << 20),
        (2, 0, 5),
    ]
    .into_iter()
    .map(|(d, p, b)| ErasureCodec::new(d, p, b).unwrap())
    .collect()
}

fn sizes(codec: &ErasureCodec) -> Vec<u64> {
    let b = codec.block_size() as u64;
    vec![
        0,
        1,
        b - 1,
        b,
        b + 1,
        2 * b - 1,
        2 * b,
        2 * b + 1,
        5 * b + 3,
    ]
}

#[test]
fn frame_offsets_and_stream_size_match_encoded_frames() {
    for codec in layouts().into_iter().filter(|c| c.block_size() < 100) {
        for size in sizes(&codec) {
            let object: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let mut stream = Vec::new();
            for block_index in 0..codec.block_count(size) {
                assert_eq!(codec.frame_offset(size, block_index), stream.len() as u64);
                let start = codec.block_offset(block_index) as usize;
                let len = codec.block_len(size, block_index);
                let frames = codec.encode_block(&object[start..start + len]).unwrap();
                assert_eq!(frames[0].len(), codec.frame_len(len));
                stream.extend_from_slice(&frames[codec.total_shards() - 1]);
            }
            assert_eq!(codec.framed_shard_size(size), stream.len() as u64);
            let end = codec.block_count(size);
            assert_eq!(codec.frame_offset(size, end), stream.len() as u64);
            assert_eq!(codec.frame_offset(size, end + 3), stream.len() as u64);
        }
    }
}

#[test]
fn block_lengths_add_up_to_the_object_size() {
    for codec in layouts() {
        for size in sizes(&codec) {
            let count = codec.block_count(size);
            let total: u64 = (0..count).map(|i| codec.block_len(size, i) as u64).sum();
            assert_eq!(total, size);
            for i in 0..count.saturating_sub(1) {
                assert_eq!(codec.block_len(size, i), codec.block_size());
            }
            assert_eq!(codec.block_len(size, count), 0);
            assert_eq!(codec.block_len(size, u64::MAX), 0);
            let expected_stream: u64 = (0..count)
                .map(|i| (BITROT_HASH_LEN + codec.shard_len(codec.block_len(size, i))) as u64)
                .sum();
            assert_eq!(codec.framed_shard_size(size), expected_stream);
        }
    }
}

#[test]
fn shard_len_rounds_up_per_data_shard() {
    let codec = ErasureCodec::new(4, 2, 1 << 20).unwrap();
    assert_eq!(codec.shard_len(0), 0);
    assert_eq!(codec.shard_len(1), 1);
    assert_eq!(codec.shard_len(4), 1);
    assert_eq!(codec.shard_len(5), 2);
    assert_eq!(codec.shard_len(1 << 20), 1 << 18);
    assert_eq!(codec.framed_shard_size(1 << 20), (32 + (1 << 18)) as u64);
    assert_eq!(
        codec.framed_shard_size(5 << 30),
        5 * 1024 * (32 + (1 << 18)) as u64
    );
}

#[test]
fn block_range_covers_exactly_the_blocks_of_a_byte_range() {
    let codec = ErasureCodec::new(2, 2, 10).unwrap();
    assert_eq!(codec.block_range(35, 0..35), 0..4);
    assert_eq!(codec.block_range(35, 0..1), 0..1);
    assert_eq!(codec.block_range(35, 9..11), 0..2);
    assert_eq!(codec.block_range(35, 10..20), 1..2);
    assert_eq!(codec.block_range(35, 34..100), 3..4);
    assert_eq!(codec.block_range(35, 12..12), 1..1);
    assert_eq!(codec.block_range(35, 40..50), 4..4);
    assert_eq!(codec.block_range(0, 0..10), 0..0);
}

#[test]
fn split_frames_cuts_a_stream_range_into_per_block_frames() {
    let codec = ErasureCodec::new(2, 1, 8).unwrap();
    let size = 8 * 3 + 5;
    let object: Vec<u8> = (0..size as u8).collect();
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for chunk in object.chunks(8) {
        let frame = codec.encode_block(chunk).unwrap().swap_remove(1);
        stream.extend_from_slice(&frame);
        expected.push(frame);
    }
    let stream = Bytes::from(stream);
    for first in 0..4u64 {
        for last in first..=5u64 {
            let range = codec.frame_range(size, first..last);
            let part = stream.slice(range.start as usize..range.end as usize);
            let frames = codec.split_frames(size, first..last, part).unwrap();
            let upto = (last as usize).min(4);
            assert_eq!(frames, expected[first as usize..upto.max(first as usize)]);
        }
    }
    let truncated = stream.slice(..stream.len() - 1);
    assert_eq!(
        codec.split_frames(size, 0..4, truncated),
        Err(ErasureError::ShardLength {
            expected: stream.len(),
            actual: stream.len() - 1
        })
    );
}
