//! Decoding with shards missing, byte-flipped or truncated: up to `parity` failures always give
//! the exact block back and name the bad shards; more give `TooFewShards`, never wrong bytes.

use bytes::Bytes;
use erasure::{ErasureCodec, ErasureError, BITROT_HASH_LEN};

const LAYOUTS: &[(usize, usize)] = &[(1, 1), (2, 2), (3, 1), (4, 2), (2, 0), (3, 3)];

#[derive(Clone, Copy, Debug)]
enum Damage {
    Missing,
    FlippedPayload,
    FlippedHash,
    Truncated,
    Extended,
}

const DAMAGES: [Damage; 5] = [
    Damage::Missing,
    Damage::FlippedPayload,
    Damage::FlippedHash,
    Damage::Truncated,
    Damage::Extended,
];

fn damage(frame: &Bytes, how: Damage, salt: usize) -> Option<Bytes> {
    let mut bytes = frame.to_vec();
    match how {
        Damage::Missing => return None,
        Damage::FlippedPayload => {
            let at = BITROT_HASH_LEN + salt % (bytes.len() - BITROT_HASH_LEN);
            bytes[at] ^= 1 << (salt % 8);
        }
        Damage::FlippedHash => bytes[salt % BITROT_HASH_LEN] ^= 0x80,
        Damage::Truncated => {
            bytes.pop();
        }
        Damage::Extended => bytes.push(0),
    }
    Some(Bytes::from(bytes))
}

fn block(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn failure_sets(total: usize, max: usize) -> impl Iterator<Item = Vec<usize>> {
    (0u32..1 << total)
        .filter(move |mask| mask.count_ones() as usize <= max)
        .map(move |mask| (0..total).filter(|i| mask & (1 << i) != 0).collect())
}

#[test]
fn every_failure_set_up_to_parity_decodes_exactly() {
    for &(data, parity) in LAYOUTS {
        let codec = ErasureCodec::new(data, parity, 64).unwrap();
        for len in [1, data + 1, 63, 64] {
            let original = block(len);
            let frames = codec.encode_block(&original).unwrap();
            for failed in failure_sets(data + parity, parity) {
                for (round, how) in DAMAGES.iter().enumerate() {
                    let mut framed: Vec<Option<Bytes>> = frames.iter().cloned().map(Some).collect();
                    for (n, &index) in failed.iter().enumerate() {
                        // Mix damage kinds inside one failure set.
                        let how = DAMAGES[(round + n) % DAMAGES.len()];
                        framed[index] = damage(&frames[index], how, index + len);
                    }
                    let decoded = codec.decode_block(&framed, len).unwrap_or_else(|e| {
                        panic!("{data}+{parity} len={len} {failed:?} {how:?}: {e}")
                    });
                    assert_eq!(&decoded.data[..], &original[..]);
                    // Failed data shards and absent shards are always named (present parity is
                    // only hashed when needed); nothing intact is ever named, and a scrub names
                    // every failure.
                    for &index in &failed {
                        if index < data || framed[index].is_none() {
                            assert!(
                                decoded.bad_shards.contains(&index),
                                "{failed:?} {decoded:?}"
                            );
                        }
                    }
                    assert_eq!(codec.scrub_block(&framed, len).unwrap(), failed);
                    assert!(decoded.bad_shards.iter().all(|i| failed.contains(i)));
                    assert!(decoded.bad_shards.windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
    }
}

#[test]
fn more_failures_than_parity_give_too_few_shards_never_wrong_bytes() {
    for &(data, parity) in LAYOUTS {
        let total = data + parity;
        let codec = ErasureCodec::new(data, parity, 64).unwrap();
        let original = block(50);
        let frames = codec.encode_block(&original).unwrap();
        for failed in failure_sets(total, total).filter(|set| set.len() > parity) {
            for how in DAMAGES {
                let mut framed: Vec<Option<Bytes>> = frames.iter().cloned().map(Some).collect();
                for &index in &failed {
                    framed[index] = damage(&frames[index], how, index);
                }
                match codec.decode_block(&framed, 50) {
                    Err(ErasureError::TooFewShards { have, need }) => {
                        assert_eq!(need, data);
                        assert!(have < data);
                    }
                    other => panic!("{data}+{parity} {failed:?} {how:?}: {other:?}"),
                }
                assert!(matches!(
                    codec.reconstruct_block(&framed, 50),
                    Err(ErasureError::TooFewShards { .. })
                ));
            }
        }
    }
}

#[test]
fn frames_of_a_different_block_length_count_as_missing() {
    let codec = ErasureCodec::new(2, 2, 64).unwrap();
    let original = block(40);
    let frames = codec.encode_block(&original).unwrap();
    let other = codec.encode_block(&block(42)).unwrap();
    let mut framed: Vec<Option<Bytes>> = frames.iter().cloned().map(Some).collect();
    framed[0] = Some(other[0].clone());
    let decoded = codec.decode_block(&framed, 40).unwrap();
    assert_eq!(&decoded.data[..], &original[..]);
    assert_eq!(decoded.bad_shards, vec![0]);
}

#[test]
fn intact_data_shards_skip_parity_but_report_absent_parity() {
    let codec = ErasureCodec::new(2, 2, 64).unwrap();
    let frames = codec.encode_block(&block(64)).unwrap();
    let framed = vec![
        Some(frames[0].clone()),
        Some(frames[1].clone()),
        damage(&frames[2], Damage::FlippedPayload, 3),
        None,
    ];
    let decoded = codec.decode_block(&framed, 64).unwrap();
    assert_eq!(decoded.bad_shards, vec![3]);
    assert_eq!(codec.scrub_block(&framed, 64).unwrap(), vec![2, 3]);
}

#[test]
fn heal_rebuilds_exactly_the_lost_frames_bit_for_bit() {
    for &(data, parity) in LAYOUTS {
        let codec = ErasureCodec::new(data, parity, 64).unwrap();
        for len in [1, 33, 64] {
            let frames = codec.encode_block(&block(len)).unwrap();
            for failed in failure_sets(data + parity, parity) {
                let mut framed: Vec<Option<Bytes>> = frames.iter().cloned().map(Some).collect();
                for &index in &failed {
                    framed[index] = damage(&frames[index], DAMAGES[index % 5], len);
                }
                let healed = codec.heal_block(&framed, len).unwrap();
                assert_eq!(healed.frames, frames, "{data}+{parity} {failed:?}");
                assert_eq!(healed.rebuilt, failed);
                assert_eq!(codec.reconstruct_block(&framed, len).unwrap(), frames);
            }
        }
    }
}

#[test]
fn verify_frame_returns_payload_and_rejects_torn_or_rotten_frames() {
    let codec = ErasureCodec::new(2, 1, 64).unwrap();
    let frames = codec.encode_block(b"0123456789").unwrap();
    let shard_len = codec.shard_len(10);
    assert_eq!(
        &codec.verify_frame(&frames[0], shard_len).unwrap()[..],
        b"01234"
    );
    assert_eq!(
        &codec.verify_frame(&frames[1], shard_len).unwrap()[..],
        b"56789"
    );
    assert!(codec.verify_frame(&frames[0], shard_len + 1).is_none());
    let rotten = damage(&frames[1], Damage::FlippedPayload, 2).unwrap();
    assert_eq!(
        codec.check_frame(&rotten, shard_len),
        Err(ErasureError::BitrotMismatch)
    );
    let torn = damage(&frames[1], Damage::Truncated, 0).unwrap();
    assert_eq!(
        codec.check_frame(&torn, shard_len),
        Err(ErasureError::ShardLength {
            expected: 37,
            actual: 36
        })
    );
}
