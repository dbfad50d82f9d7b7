//! The per-byte hashes of a PUT and a GET: MD5 (the ETag), CRC32 (the SDK's
//! default checksum), SHA-256 (signed payloads) and blake3 (bitrot frames).

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

criterion_group!(benches, hashing);
criterion_main!(benches);
