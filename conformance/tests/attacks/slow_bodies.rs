//! Slow bodies: an upload whose body stops arriving is answered 400 `RequestTimeout` once it
//! has made no progress for the body idle timeout (`MINNOW_BODY_IDLE_TIMEOUT`, shortened here),
//! its connection is closed, and nothing of it stays on the drives. Two hundred such uploads
//! hold write budget only for the bytes they sent, so other clients' uploads (1 MiB, 16 MiB)
//! take at most a second longer than on an idle server, not until the stalled ones time out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use conformance::raw_http::{request_head, tcp_exchange, TcpOutcome};
use conformance::{pattern_bytes, unique_bucket, PayloadSigning, ServerOptions, TestServer};

use crate::common::{create_bucket, object_exists};

/// The idle timeout the servers here run with.
const IDLE: Duration = Duration::from_secs(3);
/// Declared size of a stalled upload: over the inline limit, so it streams through the
/// write budget like any large object.
const DECLARED: usize = 8 << 20;

fn server_with_short_idle_timeout() -> TestServer {
    server_with_idle_timeout(IDLE)
}

fn server_with_idle_timeout(idle: Duration) -> TestServer {
    TestServer::spawn(ServerOptions {
        env: vec![(
            "MINNOW_BODY_IDLE_TIMEOUT".to_string(),
            format!("{}s", idle.as_secs()),
        )],
        ..ServerOptions::default()
    })
    .expect("starting a server with a short body idle timeout")
}

/// The head of a signed PUT of `DECLARED` unsigned-payload bytes.
fn stalled_put_head(server: &TestServer, path: &str) -> Vec<u8> {
    let headers = vec![
        ("host".to_string(), server.host_port().to_string()),
        ("content-length".to_string(), DECLARED.to_string()),
    ];
    let signed = server.signer().sign_headers(
        "PUT",
        path,
        &headers,
        &[],
        &PayloadSigning::Unsigned,
        SystemTime::now(),
    );
    request_head("PUT", path, &signed.headers)
}

/// Sends the head and `sent` bytes of the body, then nothing; returns what the server answered.
async fn stall(server: &TestServer, path: &str, sent: usize) -> TcpOutcome {
    stall_for(server, path, sent, IDLE).await
}

async fn stall_for(server: &TestServer, path: &str, sent: usize, idle: Duration) -> TcpOutcome {
    let head = stalled_put_head(server, path);
    tcp_exchange(
        server.host_port(),
        &head,
        &vec![b's'; sent],
        false,
        idle + Duration::from_secs(90),
    )
    .await
    .expect("stalled exchange")
}

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path);
            }
        }
    }
    files
}

#[track_caller]
fn assert_request_timeout(outcome: TcpOutcome, started: Instant) {
    assert_request_timeout_after(outcome, started, IDLE);
}

#[track_caller]
fn assert_request_timeout_after(outcome: TcpOutcome, started: Instant, idle: Duration) {
    let response = outcome.expect_response();
    response.assert_error(400, "RequestTimeout");
    assert_eq!(response.header("connection"), Some("close"));
    assert!(
        started.elapsed() >= idle,
        "answered after {:?}, before the idle timeout",
        started.elapsed()
    );
}

#[tokio::test]
async fn stalled_upload_is_request_timeout_and_leaves_nothing_behind() {
    let server = server_with_short_idle_timeout();
    let client = server.s3_client();
    let bucket = unique_bucket("atk-stall");
    create_bucket(&client, &bucket).await;
    let drives = server.drive_root().expect("a spawned server").to_path_buf();
    let before = files_under(&drives);

    let started = Instant::now();
    let outcome = stall(&server, &format!("/{bucket}/stalled"), 100_000).await;
    assert_request_timeout(outcome, started);
    assert!(!object_exists(&client, &bucket, "stalled").await);

    assert_nothing_left_behind(&drives, &before, &bucket, &[]).await;
}

/// Shard temp files of aborted uploads are removed (polled: removal may trail the answer):
/// nothing new under the bucket's folder but the objects in `kept`, nothing in the staging area.
async fn assert_nothing_left_behind(
    drives: &Path,
    before: &BTreeSet<PathBuf>,
    bucket: &str,
    kept: &[&str],
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: Vec<PathBuf> = files_under(drives)
            .difference(before)
            // Only what an upload writes: its bucket's folder and the
            // staging area. Background workers (the lifecycle cursor, heal
            // markers) write system records meanwhile.
            .filter(|path| {
                let text = path.to_string_lossy();
                let in_bucket = text.contains(&format!("/{bucket}/"))
                    // A key's folder is its segment with the store's `_` prefix.
                    && !kept
                        .iter()
                        .any(|key| text.contains(&format!("/{bucket}/_{key}/")));
                in_bucket || text.contains("/.minnow.sys/tmp/")
            })
            .cloned()
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "files left behind by stalled uploads: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `minnow_write_buffer_bytes` from the metrics endpoint.
async fn write_buffer_bytes(server: &TestServer) -> f64 {
    let response = conformance::raw_http::send_signed(
        server,
        "GET",
        "/minio/v2/metrics/cluster",
        &[],
        Vec::new(),
        PayloadSigning::Sha256,
    )
    .await
    .expect("metrics");
    response
        .text()
        .lines()
        .find_map(|line| line.strip_prefix("minnow_write_buffer_bytes "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The peak resident memory (`VmHWM`) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Times one PUT of `data` under `key`.
async fn timed_put(client: &aws_sdk_s3::Client, bucket: &str, key: &str, data: &[u8]) -> Duration {
    let started = Instant::now();
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("PUT {key}: {err:?}"));
    started.elapsed()
}

#[tokio::test]
async fn two_hundred_stalled_uploads_time_out_and_do_not_slow_other_uploads() {
    // Long enough that 200 connections are open and stalled before the first times out, even
    // on a busy machine; short enough to keep the test quick.
    let idle = Duration::from_secs(10);
    let server = server_with_idle_timeout(idle);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-stall-many");
    create_bucket(&client, &bucket).await;
    let drives = server.drive_root().expect("a spawned server").to_path_buf();
    let before = files_under(&drives);

    let small = pattern_bytes(1 << 20, 7);
    let large = pattern_bytes(16 << 20, 8);
    // On the idle server (after one warm-up PUT): the figures to compare with.
    timed_put(&client, &bucket, "warm-up", &small).await;
    let idle_small = timed_put(&client, &bucket, "idle-1m", &small).await;
    let idle_large = timed_put(&client, &bucket, "idle-16m", &large).await;

    let started = Instant::now();
    let stalled: Vec<_> = (0..200)
        .map(|i| {
            let server = &server;
            let path = format!("/{bucket}/stalled-{i}");
            async move { stall_for(server, &path, 5, idle).await }
        })
        .collect();
    let stalled = futures::future::join_all(stalled);
    let probe = async {
        // Wait until all 200 stalled uploads are in the store: each holds budget for the
        // splitter's smallest buffer (4 KiB) — or, without the per-byte charge, a whole block.
        let deadline = Instant::now() + Duration::from_secs(60);
        while write_buffer_bytes(&server).await < (200u64 * 4096) as f64 {
            assert!(
                Instant::now() < deadline,
                "the stalled uploads never reached the store"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let held = write_buffer_bytes(&server).await;
        let small_took = timed_put(&client, &bucket, "beside-1m", &small).await;
        let large_took = timed_put(&client, &bucket, "beside-16m", &large).await;
        (held, small_took, large_took)
    };
    let (outcomes, (held, small_took, large_took)) = tokio::join!(stalled, probe);
    let peak_rss_kib = server.pid().and_then(peak_rss_kib);
    eprintln!(
        "200 stalled uploads held {held} bytes of write budget; 1 MiB PUT {idle_small:?} idle, \
         {small_took:?} beside them; 16 MiB PUT {idle_large:?} idle, {large_took:?} beside them; \
         server peak RSS {peak_rss_kib:?} KiB"
    );
    // Memory stays bounded: the stalled uploads hold kilobytes each, so the peak is the
    // ordinary uploads' (the bench's memory check allows 512 MiB for 32 uploads of 64 MiB).
    if let Some(peak) = peak_rss_kib {
        assert!(peak < 512 << 10, "server peak RSS {peak} KiB");
    }
    // The rule: stalled bodies hold budget only for what they sent, so other uploads do not
    // wait for them to time out. One second over the idle figure is generous for a loaded
    // machine and far below the idle timeout.
    assert!(
        small_took < idle_small + Duration::from_secs(1),
        "the 1 MiB PUT took {small_took:?} beside 200 stalled uploads, {idle_small:?} idle"
    );
    assert!(
        large_took < idle_large + Duration::from_secs(1),
        "the 16 MiB PUT took {large_took:?} beside 200 stalled uploads, {idle_large:?} idle"
    );
    for outcome in outcomes {
        assert_request_timeout_after(outcome, started, idle);
    }
    for key in ["beside-1m", "beside-16m"] {
        assert!(object_exists(&client, &bucket, key).await, "{key}");
    }
    for i in [0, 99, 199] {
        assert!(!object_exists(&client, &bucket, &format!("stalled-{i}")).await);
    }
    let kept = ["warm-up", "idle-1m", "idle-16m", "beside-1m", "beside-16m"];
    assert_nothing_left_behind(&drives, &before, &bucket, &kept).await;
    // Every claim is given back once the stalled uploads are answered.
    let deadline = Instant::now() + Duration::from_secs(60);
    while write_buffer_bytes(&server).await > 0.0 {
        assert!(Instant::now() < deadline, "write budget still held");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
