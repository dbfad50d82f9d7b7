//! `BlockSplitter` cuts a body arriving in chunks of any size into exact blocks, reproducing the
//! input, and does not copy blocks that lie inside one chunk.

use bytes::Bytes;
use erasure::BlockSplitter;
use proptest::prelude::*;

fn split(block_size: usize, body: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut splitter = BlockSplitter::new(block_size);
    let mut blocks = Vec::new();
    let mut rest = body;
    for &cut in cuts {
        let (chunk, tail) = rest.split_at(cut.min(rest.len()));
        rest = tail;
        blocks.extend(splitter.push(Bytes::copy_from_slice(chunk)));
    }
    blocks.extend(splitter.push(Bytes::copy_from_slice(rest)));
    assert_eq!(splitter.bytes_pushed(), body.len() as u64);
    blocks.extend(splitter.finish());
    blocks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_chunkings_reproduce_the_input(
        block_size in 1usize..64,
        body in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(0usize..150, 0..12),
    ) {
        let blocks = split(block_size, &body, &cuts);
        let (last, full) = match blocks.split_last() {
            Some((last, full)) => (Some(last), full),
            None => (None, &[][..]),
        };
        for block in full {
            prop_assert_eq!(block.len(), block_size);
        }
        if let Some(last) = last {
            prop_assert!(!last.is_empty() && last.len() <= block_size);
        }
        prop_assert_eq!(blocks.len(), body.len().div_ceil(block_size));
        prop_assert_eq!(blocks.concat(), body);
    }
}

#[test]
fn whole_blocks_inside_one_chunk_are_not_copied() {
    let mut splitter = BlockSplitter::new(4);
    let chunk = Bytes::from_static(b"abcdefghij");
    let blocks = splitter.push(chunk.clone());
    assert_eq!(
        blocks,
        vec![Bytes::from_static(b"abcd"), Bytes::from_static(b"efgh")]
    );
    assert_eq!(blocks[0].as_ptr(), chunk.as_ptr());
    assert_eq!(blocks[1].as_ptr(), chunk[4..].as_ptr());
    assert_eq!(splitter.pending_len(), 2);
    // The straddling block is assembled; the following whole block is again a slice.
    let next = Bytes::from_static(b"klmnopqr");
    let blocks = splitter.push(next.clone());
    assert_eq!(
        blocks,
        vec![Bytes::from_static(b"ijkl"), Bytes::from_static(b"mnop")]
    );
    assert_eq!(blocks[1].as_ptr(), next[2..].as_ptr());
    assert_eq!(splitter.finish(), Some(Bytes::from_static(b"qr")));
}

#[test]
fn empty_body_and_exact_multiples_leave_no_tail() {
    assert_eq!(BlockSplitter::new(3).finish(), None);
    let mut splitter = BlockSplitter::new(3);
    assert!(splitter.push(Bytes::new()).is_empty());
    assert_eq!(splitter.push(Bytes::from_static(b"abcdef")).len(), 2);
    assert_eq!(splitter.finish(), None);
}

#[test]
#[should_panic(expected = "block size")]
fn zero_block_size_is_a_bug() {
    BlockSplitter::new(0);
}
