//! Prints encode/decode throughput of the codec for 1 MiB blocks at a few layouts.
//! Run: `cargo run -p erasure --release --example throughput`. Numbers are indicative only.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use erasure::{BlockSplitter, ErasureCodec};

const BLOCK: usize = 1 << 20;
const BUDGET: Duration = Duration::from_millis(400);

/// Runs `work` repeatedly for about `BUDGET` and returns GiB/s of `bytes_per_run` input.
fn measure(bytes_per_run: usize, mut work: impl FnMut()) -> f64 {
    work();
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < BUDGET {
        work();
        runs += 1;
    }
    (runs as f64 * bytes_per_run as f64) / start.elapsed().as_secs_f64() / (1u64 << 30) as f64
}

fn main() {
    let block: Vec<u8> = (0..BLOCK).map(|i| (i * 131 + (i >> 9)) as u8).collect();
    let hash_rate = measure(BLOCK, || {
        black_box(blake3::hash(black_box(&block)));
    });
    println!("blake3 alone                          {hash_rate:6.2} GiB/s");
    for (data, parity) in [(2, 2), (4, 2), (3, 1), (2, 0), (1, 1)] {
        let codec = ErasureCodec::new(data, parity, BLOCK).unwrap();
        let frames = codec.encode_block(&block).unwrap();
        let all: Vec<Option<Bytes>> = frames.iter().cloned().map(Some).collect();
        let encode = measure(BLOCK, || {
            black_box(codec.encode_block(black_box(&block)).unwrap());
        });
        let fast = measure(BLOCK, || {
            black_box(codec.decode_block(&all, BLOCK).unwrap());
        });
        let mut line = format!(
            "{data}+{parity}  encode {encode:6.2} GiB/s  decode(all data) {fast:6.2} GiB/s"
        );
        if parity > 0 {
            let mut degraded = all.clone();
            for slot in degraded.iter_mut().take(parity.min(data)) {
                *slot = None;
            }
            let rebuild = measure(BLOCK, || {
                black_box(codec.decode_block(&degraded, BLOCK).unwrap());
            });
            let heal = measure(BLOCK, || {
                black_box(codec.heal_block(&degraded, BLOCK).unwrap());
            });
            line += &format!("  decode(lost data) {rebuild:6.2} GiB/s  heal {heal:6.2} GiB/s");
        }
        println!("{line}");
    }
    let body = Bytes::from(block.repeat(8));
    let split = measure(body.len(), || {
        let mut splitter = BlockSplitter::new(BLOCK);
        for chunk in body.chunks(64 << 10) {
            black_box(splitter.push(body.slice_ref(chunk)));
        }
        black_box(splitter.finish());
    });
    println!("BlockSplitter, 64 KiB chunks           {split:6.2} GiB/s");
}
