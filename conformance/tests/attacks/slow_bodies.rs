//! Slow bodies: an upload whose body stops arriving is answered 400 `RequestTimeout` once it
//! has made no progress for the body idle timeout (`MINNOW_BODY_IDLE_TIMEOUT`, shortened here),
//! its connection is closed, and nothing of it stays on the drives. Two hundred such uploads,
//! each holding a block of the write budget, do not stop other clients' uploads for longer than
//! that timeout.

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
    TestServer::spawn(ServerOptions {
        env: vec![(
            "MINNOW_BODY_IDLE_TIMEOUT".to_string(),
            format!("{}s", IDLE.as_secs()),
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
    let head = stalled_put_head(server, path);
    tcp_exchange(
        server.host_port(),
        &head,
        &vec![b's'; sent],
        false,
        IDLE + Duration::from_secs(90),
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
    let response = outcome.expect_response();
    response.assert_error(400, "RequestTimeout");
    assert_eq!(response.header("connection"), Some("close"));
    assert!(
        started.elapsed() >= IDLE,
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

    // Shard temp files of the aborted upload are removed (poll: removal may trail the answer).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: Vec<PathBuf> = files_under(&drives).difference(&before).cloned().collect();
        let left: Vec<PathBuf> = left
            .into_iter()
            // Only what an upload writes: its bucket's folder and the
            // staging area. Background workers (the lifecycle cursor, heal
            // markers) write system records meanwhile.
            .filter(|path| {
                let text = path.to_string_lossy();
                text.contains(&format!("/{bucket}/")) || text.contains("/.minnow.sys/tmp/")
            })
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "files left behind by the stalled upload: {left:?}"
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

#[tokio::test]
async fn two_hundred_stalled_uploads_time_out_and_do_not_stop_other_uploads() {
    let server = server_with_short_idle_timeout();
    let client = server.s3_client();
    let bucket = unique_bucket("atk-stall-many");
    create_bucket(&client, &bucket).await;

    let started = Instant::now();
    let stalled: Vec<_> = (0..200)
        .map(|i| {
            let server = &server;
            let path = format!("/{bucket}/stalled-{i}");
            async move { stall(server, &path, 1).await }
        })
        .collect();
    let stalled = futures::future::join_all(stalled);
    let probe = async {
        // Wait until the stalled uploads hold write buffers (each one byte in, one block
        // claimed), then time an ordinary 1 MiB upload.
        let deadline = Instant::now() + Duration::from_secs(60);
        while write_buffer_bytes(&server).await < (64u64 << 20) as f64 {
            assert!(
                Instant::now() < deadline,
                "the stalled uploads never held write buffers"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let data = pattern_bytes(1 << 20, 7);
        let put_started = Instant::now();
        client
            .put_object()
            .bucket(&bucket)
            .key("ordinary")
            .body(ByteStream::from(data))
            .send()
            .await
            .expect("an ordinary upload while 200 are stalled");
        put_started.elapsed()
    };
    let (outcomes, put_took) = tokio::join!(stalled, probe);
    eprintln!("1 MiB PUT beside 200 stalled uploads took {put_took:?} (idle timeout {IDLE:?})");
    // Bounded by the idle timeout, which frees the stalled uploads' buffers; generous margin
    // for a loaded machine.
    assert!(
        put_took < IDLE + Duration::from_secs(20),
        "the 1 MiB PUT took {put_took:?}"
    );
    for outcome in outcomes {
        assert_request_timeout(outcome, started);
    }
    assert!(object_exists(&client, &bucket, "ordinary").await);
    for i in [0, 99, 199] {
        assert!(!object_exists(&client, &bucket, &format!("stalled-{i}")).await);
    }
}
