//! Encoding then decoding gives back the exact bytes, for block and object sizes around every
//! boundary the layout has (shard boundaries, block boundaries, block_size ± 1, tiny and empty).

use bytes::Bytes;
use erasure::{BlockSplitter, ErasureCodec, ErasureError, BITROT_HASH_LEN};

const LAYOUTS: &[(usize, usize)] = &[(1, 1), (2, 2), (3, 1), (4, 2), (2, 0), (1, 0), (5, 3)];

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn interesting_block_lens(codec: &ErasureCodec) -> Vec<usize> {
    let data = codec.data_shards();
    let block_size = codec.block_size();
    let mut lens = vec![1, 2, data - 1, data, data + 1, 2 * data, 2 * data + 1];
    lens.extend([
        block_size - 1,
        block_size,
        block_size / 2,
        block_size / 3 + 1,
    ]);
    lens.retain(|&len| len >= 1 && len <= block_size);
    lens.sort_unstable();
    lens.dedup();
    lens
}

#[test]
fn single_blocks_round_trip_at_shard_and_block_boundaries() {
    for &(data, parity) in LAYOUTS {
        for block_size in [1, 7, 64, 1000] {
            let codec = ErasureCodec::new(data, parity, block_size).unwrap();
            for len in interesting_block_lens(&codec) {
                let block = pattern(len, len as u8);
                let frames = codec.encode_block(&block).unwrap();
                assert_eq!(frames.len(), data + parity);
                for frame in &frames {
                    assert_eq!(frame.len(), BITROT_HASH_LEN + codec.shard_len(len));
                    assert_eq!(frame.len(), codec.frame_len(len));
                }
                let present: Vec<Option<Bytes>> = frames.into_iter().map(Some).collect();
                let decoded = codec.decode_block(&present, len).unwrap();
                assert_eq!(
                    &decoded.data[..],
                    &block[..],
                    "{data}+{parity} bs={block_size} len={len}"
                );
                assert!(decoded.bad_shards.is_empty());
            }
        }
    }
}

#[test]
fn data_shards_hold_the_block_in_order_with_zero_padding() {
    let codec = ErasureCodec::new(3, 2, 100).unwrap();
    let block = pattern(10, 1);
    let frames = codec.encode_block(&block).unwrap();
    let shard_len = codec.shard_len(10);
    assert_eq!(shard_len, 4);
    let mut joined = Vec::new();
    for frame in &frames[..3] {
        joined.extend_from_slice(&codec.verify_frame(frame, shard_len).unwrap());
    }
    assert_eq!(&joined[..10], &block[..]);
    assert_eq!(&joined[10..], &[0, 0]);
}

#[test]
fn objects_round_trip_through_splitter_and_shard_streams() {
    for &(data, parity) in LAYOUTS {
        let block_size = 48;
        let codec = ErasureCodec::new(data, parity, block_size).unwrap();
        let sizes = [0, 1, 47, 48, 49, 95, 96, 97, 48 * 5 + 13];
        for size in sizes {
            let object = pattern(size, 7);
            // Write: split the body into blocks, append each block's frames to the shard streams.
            let mut streams = vec![Vec::new(); codec.total_shards()];
            let mut splitter = BlockSplitter::new(block_size);
            let mut blocks = Vec::new();
            for chunk in object.chunks(20) {
                blocks.extend(splitter.push(Bytes::copy_from_slice(chunk)));
            }
            blocks.extend(splitter.finish());
            assert_eq!(blocks.len() as u64, codec.block_count(size as u64));
            for (index, block) in blocks.iter().enumerate() {
                assert_eq!(block.len(), codec.block_len(size as u64, index as u64));
                for (stream, frame) in streams.iter_mut().zip(codec.encode_block(block).unwrap()) {
                    stream.extend_from_slice(&frame);
                }
            }
            for stream in &streams {
                assert_eq!(stream.len() as u64, codec.framed_shard_size(size as u64));
            }
            // Read back block by block, seeking with frame_range.
            let mut read = Vec::new();
            for block_index in 0..codec.block_count(size as u64) {
                let range = codec.frame_range(size as u64, block_index..block_index + 1);
                let frames: Vec<Option<Bytes>> = streams
                    .iter()
                    .map(|s| {
                        Some(Bytes::copy_from_slice(
                            &s[range.start as usize..range.end as usize],
                        ))
                    })
                    .collect();
                let block_len = codec.block_len(size as u64, block_index);
                read.extend_from_slice(&codec.decode_block(&frames, block_len).unwrap().data);
            }
            assert_eq!(read, object, "{data}+{parity} size={size}");
        }
    }
}

#[test]
fn empty_block_is_rejected_because_an_empty_object_has_no_blocks() {
    let codec = ErasureCodec::new(2, 2, 16).unwrap();
    assert_eq!(codec.block_count(0), 0);
    assert_eq!(codec.framed_shard_size(0), 0);
    assert_eq!(codec.shard_len(0), 0);
    assert_eq!(
        codec.encode_block(&[]),
        Err(ErasureError::BlockLength {
            len: 0,
            block_size: 16
        })
    );
    let none: Vec<Option<Bytes>> = vec![None; 4];
    assert!(matches!(
        codec.decode_block(&none, 0),
        Err(ErasureError::BlockLength { .. })
    ));
}

#[test]
fn block_longer_than_block_size_is_rejected() {
    let codec = ErasureCodec::new(2, 1, 16).unwrap();
    assert_eq!(
        codec.encode_block(&[0; 17]),
        Err(ErasureError::BlockLength {
            len: 17,
            block_size: 16
        })
    );
}

#[test]
fn invalid_layouts_are_rejected() {
    assert!(matches!(
        ErasureCodec::new(0, 2, 16),
        Err(ErasureError::InvalidLayout(_))
    ));
    assert!(matches!(
        ErasureCodec::new(2, 255, 16),
        Err(ErasureError::InvalidLayout(_))
    ));
    assert!(matches!(
        ErasureCodec::new(2, 2, 0),
        Err(ErasureError::InvalidLayout(_))
    ));
    assert!(ErasureCodec::new(1, 255, 16).is_ok());
    assert!(ErasureCodec::new(1, 0, 1).is_ok());
}

#[test]
fn wrong_number_of_frames_is_rejected() {
    let codec = ErasureCodec::new(2, 2, 16).unwrap();
    let frames: Vec<Option<Bytes>> = codec
        .encode_block(b"abc")
        .unwrap()
        .into_iter()
        .map(Some)
        .collect();
    assert_eq!(
        codec.decode_block(&frames[..3], 3),
        Err(ErasureError::ShardCount {
            expected: 4,
            actual: 3
        })
    );
}

#[test]
fn single_data_shard_decode_does_not_copy() {
    let codec = ErasureCodec::new(1, 1, 64).unwrap();
    let frames: Vec<Option<Bytes>> = codec
        .encode_block(b"hello")
        .unwrap()
        .into_iter()
        .map(Some)
        .collect();
    let decoded = codec.decode_block(&frames, 5).unwrap();
    assert_eq!(&decoded.data[..], b"hello");
    let frame = frames[0].as_ref().unwrap();
    assert_eq!(decoded.data.as_ptr(), frame[BITROT_HASH_LEN..].as_ptr());
}

#[test]
fn codec_is_cheap_to_share_across_threads() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<ErasureCodec>();
    let codec = ErasureCodec::new(4, 2, 1024).unwrap();
    let block = pattern(1000, 3);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let codec = codec.clone();
            let block = &block;
            scope.spawn(move || {
                let mut frames: Vec<Option<Bytes>> = codec
                    .encode_block(block)
                    .unwrap()
                    .into_iter()
                    .map(Some)
                    .collect();
                frames[1] = None;
                assert_eq!(
                    &codec.decode_block(&frames, 1000).unwrap().data[..],
                    &block[..]
                );
            });
        }
    });
}

#[test]
fn decode_parts_are_uncopied_slices_of_intact_data_frames() {
    let codec = ErasureCodec::new(4, 2, 64).unwrap();
    for len in [1, 3, 5, 9, 63, 64] {
        let block = pattern(len, 9);
        let frames: Vec<Option<Bytes>> = codec
            .encode_block(&block)
            .unwrap()
            .into_iter()
            .map(Some)
            .collect();
        let decoded = codec.decode_block_parts(&frames, len).unwrap();
        assert_eq!(decoded.parts.concat(), block, "len={len}");
        assert!(decoded.parts.iter().all(|part| !part.is_empty()));
        for (part, frame) in decoded.parts.iter().zip(&frames) {
            let frame = frame.as_ref().unwrap();
            assert_eq!(part.as_ptr(), frame[BITROT_HASH_LEN..].as_ptr());
        }
        // With a data shard lost the block comes back as one rebuilt part.
        let mut degraded = frames.clone();
        degraded[0] = None;
        let rebuilt = codec.decode_block_parts(&degraded, len).unwrap();
        assert_eq!(rebuilt.parts.concat(), block);
        assert_eq!(rebuilt.bad_shards, vec![0]);
    }
}
