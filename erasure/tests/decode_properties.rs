//! Property test: for random sizes, layouts and damage, decode returns the exact block whenever at
//! least `data` frames are intact, and `TooFewShards` otherwise; heal restores every frame.

use bytes::Bytes;
use erasure::{ErasureCodec, ErasureError};
use proptest::prelude::*;

const LAYOUTS: &[(usize, usize)] = &[(1, 1), (2, 2), (3, 1), (4, 2), (2, 0)];

/// 0 = intact, 1 = missing, 2 = payload bit flip, 3 = truncated.
fn apply(frames: &[Bytes], damage: &[u8], salt: usize) -> Vec<Option<Bytes>> {
    frames
        .iter()
        .zip(damage)
        .map(|(frame, how)| {
            let mut bytes = frame.to_vec();
            match how {
                0 => return Some(frame.clone()),
                1 => return None,
                2 => {
                    let at = 32 + salt % (bytes.len() - 32);
                    bytes[at] ^= 0x10;
                }
                _ => {
                    bytes.truncate(salt % bytes.len());
                }
            }
            Some(Bytes::from(bytes))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_is_exact_or_refuses(
        layout in 0..LAYOUTS.len(),
        block_size in 1usize..300,
        len_seed in any::<usize>(),
        seed in any::<u8>(),
        damage in proptest::collection::vec(prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)], 6),
        salt in any::<usize>(),
    ) {
        let (data, parity) = LAYOUTS[layout];
        let codec = ErasureCodec::new(data, parity, block_size).unwrap();
        let len = 1 + len_seed % block_size;
        let block: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed | 1).wrapping_add(seed)).collect();
        let frames = codec.encode_block(&block).unwrap();
        let damage = &damage[..data + parity];
        let framed = apply(&frames, damage, salt);
        let intact = damage.iter().filter(|&&d| d == 0).count();
        match codec.decode_block(&framed, len) {
            Ok(decoded) => {
                prop_assert!(intact >= data);
                prop_assert_eq!(&decoded.data[..], &block[..]);
                for &bad in &decoded.bad_shards {
                    prop_assert!(damage[bad] != 0);
                }
                for (index, how) in damage.iter().enumerate().take(data) {
                    prop_assert_eq!(*how != 0, decoded.bad_shards.contains(&index));
                }
            }
            Err(ErasureError::TooFewShards { have, need }) => {
                prop_assert!(intact < data);
                prop_assert!(have < need);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
        match codec.decode_block_parts(&framed, len) {
            Ok(decoded) => prop_assert_eq!(decoded.parts.concat(), block.clone()),
            Err(error) => {
                let refused = matches!(error, ErasureError::TooFewShards { .. });
                prop_assert!(refused, "unexpected error {}", error);
            }
        }
        match codec.heal_block(&framed, len) {
            Ok(healed) => {
                prop_assert_eq!(&healed.frames, &frames);
                let expected: Vec<usize> = (0..damage.len()).filter(|&i| damage[i] != 0).collect();
                prop_assert_eq!(healed.rebuilt, expected);
            }
            Err(ErasureError::TooFewShards { .. }) => prop_assert!(intact < data),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}
