//! Reed-Solomon 2+2 with bitrot framing (crate `erasure`): encode one 1 MiB
//! block, decode it with every data shard intact, and rebuild it with both
//! data shards lost (the worst case a 2+2 read survives).

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use erasure::ErasureCodec;
use rand::RngCore;

fn codec(c: &mut Criterion) {
    let codec = ErasureCodec::new(2, 2, 1 << 20).expect("2+2 codec");
    let mut group = c.benchmark_group("erasure_2+2");
    for len in [4 << 10, 1 << 20] {
        let mut block = vec![0u8; len];
        rand::thread_rng().fill_bytes(&mut block);
        let frames = codec.encode_block(&block).expect("encode");
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("encode_block", len), &block, |b, block| {
            b.iter(|| codec.encode_block(block).expect("encode"))
        });
        let intact: Vec<Option<Bytes>> = frames.iter().cloned().map(Some).collect();
        group.bench_with_input(BenchmarkId::new("decode_intact", len), &intact, |b, f| {
            b.iter(|| codec.decode_block(f, len).expect("decode"))
        });
        let mut lost: Vec<Option<Bytes>> = intact.clone();
        lost[0] = None;
        lost[1] = None;
        group.bench_with_input(
            BenchmarkId::new("decode_both_data_lost", len),
            &lost,
            |b, f| b.iter(|| codec.decode_block(f, len).expect("rebuild")),
        );
        group.bench_with_input(BenchmarkId::new("reconstruct_block", len), &lost, |b, f| {
            b.iter(|| codec.reconstruct_block(f, len).expect("heal"))
        });
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
