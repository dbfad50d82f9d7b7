//! Memory bound of the streaming path: a 1 GiB PUT through the default SDK (file body, so
//! aws-chunked with signed chunks and a CRC32 trailer) must not grow the server's RSS by
//! 256 MiB or more, and neither may reading it back; the content must come back intact.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use conformance::server::rss_of_pid;
use conformance::{unique_bucket, TestServer};
use md5::{Digest, Md5};
use rand::{RngCore, SeedableRng};

use crate::common::create_bucket;

const GIB: u64 = 1024 * 1024 * 1024;
const MAX_RSS_GROWTH: u64 = 256 * 1024 * 1024;
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Samples a process's RSS every 50 ms on a thread until dropped; keeps the peak.
struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(rss_of_pid(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let peak = peak.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_of_pid(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        RssSampler {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_streaming_upload_keeps_server_rss_growth_under_256_mib() {
    // Its own server: other modules' traffic must not count against this one's RSS.
    let server = TestServer::start().expect("starting server");
    let client = server.s3_client();
    let bucket = unique_bucket("memory");
    create_bucket(&client, &bucket).await;
    // Warm up the request path so one-time allocations are in the baseline.
    client
        .put_object()
        .bucket(&bucket)
        .key("warm-up")
        .body(vec![1u8; 200 * 1024].into())
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-gib.bin");
    let expected_md5 = {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut rng = rand::rngs::StdRng::seed_from_u64(91);
        let mut block = vec![0u8; 8 * 1024 * 1024];
        let mut hasher = Md5::new();
        for _ in 0..(GIB / block.len() as u64) {
            rng.fill_bytes(&mut block);
            hasher.update(&block);
            file.write_all(&block).unwrap();
        }
        file.flush().unwrap();
        hex::encode(hasher.finalize())
    };

    let pid = server.pid();
    let baseline = pid.and_then(rss_of_pid).unwrap_or(0);
    let sampler = pid.map(RssSampler::start);
    let started = Instant::now();
    let upload = client
        .put_object()
        .bucket(&bucket)
        .key("one-gib")
        .body(ByteStream::from_path(&path).await.unwrap())
        .send();
    let output = tokio::time::timeout(Duration::from_secs(240), upload)
        .await
        .expect("1 GiB upload timed out")
        .unwrap_or_else(|e| {
            panic!(
                "1 GiB upload failed: {e:?}\nserver log:\n{}",
                server.log_tail(3000)
            )
        });
    let upload_time = started.elapsed();
    let upload_peak = sampler.map(RssSampler::finish);
    assert_eq!(output.e_tag(), Some(format!("\"{expected_md5}\"").as_str()));
    drop(dir);

    let sampler = pid.map(RssSampler::start);
    let started = Instant::now();
    let download = async {
        let mut object = client
            .get_object()
            .bucket(&bucket)
            .key("one-gib")
            .send()
            .await
            .expect("GET 1 GiB");
        let mut hasher = Md5::new();
        let mut length = 0u64;
        while let Some(chunk) = object.body.try_next().await.expect("reading 1 GiB body") {
            length += chunk.len() as u64;
            hasher.update(&chunk);
        }
        (length, hex::encode(hasher.finalize()))
    };
    let (length, actual_md5) = tokio::time::timeout(Duration::from_secs(240), download)
        .await
        .expect("1 GiB download timed out");
    let download_time = started.elapsed();
    let download_peak = sampler.map(RssSampler::finish);
    assert_eq!(length, GIB);
    assert_eq!(actual_md5, expected_md5, "1 GiB content differs");

    match (upload_peak, download_peak) {
        (Some(upload_peak), Some(download_peak)) => {
            let upload_growth = upload_peak.saturating_sub(baseline);
            let download_growth = download_peak.saturating_sub(baseline);
            eprintln!(
                "1 GiB: baseline RSS {} MiB; upload {:?} peak +{} MiB; download {:?} peak +{} MiB",
                baseline >> 20,
                upload_time,
                upload_growth >> 20,
                download_time,
                download_growth >> 20
            );
            assert!(
                upload_growth < MAX_RSS_GROWTH,
                "server RSS grew by {} MiB during a 1 GiB upload (limit 256 MiB)",
                upload_growth >> 20
            );
            assert!(
                download_growth < MAX_RSS_GROWTH,
                "server RSS grew by {} MiB during a 1 GiB download (limit 256 MiB)",
                download_growth >> 20
            );
        }
        _ => eprintln!("external endpoint: RSS not measured (upload {upload_time:?}, download {download_time:?})"),
    }
    let _ = client
        .delete_object()
        .bucket(&bucket)
        .key("one-gib")
        .send()
        .await;
}
