//! The per-byte hashes of a PUT and a GET: MD5 (the ETag), CRC32 (the SDK's
//! default checksum), SHA-256 (signed payloads) and blake3 (bitrot frames);
//! and MD5 as the store runs it: `md5-many` on one stream, and on 8 and 16
//! streams side by side (`store::hashing::Md5Lanes`), throughput counted
//! over all streams' bytes.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use md5::Digest as _;
use rand::RngCore;

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    for len in [4usize << 10, 1 << 20] {
        let mut data = vec![0u8; len];
        rand::thread_rng().fill_bytes(&mut data);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("md5", len), &data, |b, d| {
            b.iter(|| md5::Md5::digest(d))
        });
        group.bench_with_input(BenchmarkId::new("crc32", len), &data, |b, d| {
            b.iter(|| crc32fast::hash(d))
        });
        group.bench_with_input(BenchmarkId::new("sha256", len), &data, |b, d| {
            b.iter(|| sha2::Sha256::digest(d))
        });
        group.bench_with_input(BenchmarkId::new("blake3", len), &data, |b, d| {
            b.iter(|| blake3::hash(d))
        });
    }
    group.finish();
}

fn md5_lanes(c: &mut Criterion) {
    let mut group = c.benchmark_group("md5_lanes");
    let engine = md5_many::Md5Many::new();
    let block = 1usize << 20;
    let mut one = vec![0u8; block];
    rand::thread_rng().fill_bytes(&mut one);
    group.throughput(Throughput::Bytes(block as u64));
    group.bench_function("single_stream_1MiB", |b| {
        b.iter(|| {
            let mut state = md5_many::Md5State::new();
            state.update(&one);
            state.finalize()
        })
    });
    for streams in [8usize, 16] {
        let blocks: Vec<Vec<u8>> = (0..streams)
            .map(|_| {
                let mut data = vec![0u8; block];
                rand::thread_rng().fill_bytes(&mut data);
                data
            })
            .collect();
        let inputs: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
        group.throughput(Throughput::Bytes((block * streams) as u64));
        group.bench_function(BenchmarkId::new("side_by_side_1MiB", streams), |b| {
            b.iter(|| {
                let mut states = vec![md5_many::Md5State::new(); streams];
                engine.update_many(&mut states, &inputs);
                states
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hashing, md5_lanes);
criterion_main!(benches);
