//! s3-api internals on the request path (feature `api`): SigV4 header
//! verification, aws-chunked (unsigned, CRC32 trailer, 16 KiB socket frames)
//! body decoding, and
//! ListObjectsV2 XML serialisation of a full 1000-key page.
//!
//! `cargo bench -p minnow-benches --features api --bench s3_api`

use std::convert::Infallible;
use std::time::SystemTime;

use aws_sigv4::http_request::SignableBody;
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use minnow_benches::s3client::S3Config;
use rand::RngCore;
use s3_api::auth::{authenticate, verified_body, SecretLookup};
use s3_api::xml::response::{ListBucketResultV2, ListEntry};

const ACCESS: &str = "benchaccess";
const SECRET: &str = "benchsecret";

struct OneKey;
impl SecretLookup for OneKey {
    fn secret_key(&self, access_key: &str) -> Option<String> {
        (access_key == ACCESS).then(|| SECRET.to_string())
    }
}

fn config() -> S3Config {
    S3Config::new("http://127.0.0.1:9000", ACCESS, SECRET, "us-east-1").expect("endpoint")
}

fn sigv4(c: &mut Criterion) {
    let cfg = config();
    let mut req = http::Request::builder()
        .method("GET")
        .uri("/bucket/some/object/key-000123")
        .header("host", "127.0.0.1:9000")
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .body(())
        .expect("request");
    cfg.sign_request(&mut req).expect("sign");
    let (parts, _) = req.into_parts();
    c.bench_function("sigv4_verify_get", |b| {
        b.iter(|| authenticate(&parts, &OneKey, SystemTime::now()).expect("valid"))
    });
}

/// An aws-chunked body of `data` in 64 KiB chunks with a CRC32 trailer.
fn aws_chunked(data: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    for chunk in data.chunks(64 << 10) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    let crc = crc32fast::hash(data).to_be_bytes();
    let b64 = base64_encode(&crc);
    out.extend_from_slice(format!("0\r\nx-amz-checksum-crc32:{b64}\r\n\r\n").as_bytes());
    out.freeze()
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn chunked(c: &mut Criterion) {
    let cfg = config();
    let mut data = vec![0u8; 1 << 20];
    rand::thread_rng().fill_bytes(&mut data);
    let body = aws_chunked(&data);
    let mut req = http::Request::builder()
        .method("PUT")
        .uri("/bucket/object")
        .header("host", "127.0.0.1:9000")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", data.len())
        .header("x-amz-trailer", "x-amz-checksum-crc32")
        .header("content-length", body.len())
        .body(())
        .expect("request");
    cfg.sign_request_as(&mut req, SignableBody::StreamingUnsignedPayloadTrailer)
        .expect("sign");
    let (parts, _) = req.into_parts();
    let auth = authenticate(&parts, &OneKey, SystemTime::now()).expect("valid");
    let mut group = c.benchmark_group("aws_chunked");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("decode_1MiB_unsigned_trailer", |b| {
        b.iter(|| {
            // Bodies arrive from the socket in frames of about 16 KiB.
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = (0..body.len())
                .step_by(16 << 10)
                .map(|i| Ok(Frame::data(body.slice(i..(i + (16 << 10)).min(body.len())))))
                .collect();
            let framed = StreamBody::new(futures::stream::iter(frames));
            let verified = verified_body(framed, &auth, &parts.headers).expect("framing");
            let mut stream = verified.stream;
            futures::executor::block_on(async {
                let mut n = 0usize;
                while let Some(chunk) = stream.next().await {
                    n += chunk.expect("chunk").len();
                }
                assert_eq!(n, 1 << 20);
            })
        })
    });
    group.finish();
}

fn list_xml(c: &mut Criterion) {
    let page = ListBucketResultV2 {
        xmlns: (),
        name: "bucket".into(),
        prefix: "photos/".into(),
        key_count: 1000,
        max_keys: 1000,
        delimiter: None,
        is_truncated: true,
        continuation_token: None,
        next_continuation_token: Some("cGhvdG9zLzAwMDk5OS5qcGc=".into()),
        start_after: None,
        encoding_type: None,
        contents: (0..1000)
            .map(|i| ListEntry {
                key: format!("photos/{i:06}.jpg"),
                last_modified: "2026-11-23T00:00:00.000Z".into(),
                etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
                size: 1 << 20,
                owner: None,
                storage_class: "STANDARD",
            })
            .collect(),
        common_prefixes: Vec::new(),
    };
    c.bench_function("list_objects_v2_xml_1000_keys", |b| {
        b.iter(|| s3_api::xml::to_xml("ListBucketResult", &page).expect("xml"))
    });
}

criterion_group!(benches, sigv4, chunked, list_xml);
criterion_main!(benches);
