//! The server's background workers against the real binary: SIGTERM
//! drains HTTP, then stops the lifecycle scanner and the store's workers
//! (heal queue, heal walk, drive monitor) and exits 0 within five seconds.

use std::time::{Duration, Instant};

use conformance::{unique_bucket, TestServer};

/// Every named worker of a running server.
const WORKERS: [&str; 4] = [
    "heal-queue",
    "heal-walk",
    "drive-monitor",
    "lifecycle-scanner",
];

#[tokio::test]
async fn sigterm_stops_every_worker_and_exits_zero_within_five_seconds() {
    let mut server = TestServer::spawn(Default::default()).expect("starting minnow");
    let s3 = server.s3_client();
    let bucket = unique_bucket("workers-stop");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("k")
        .body(b"payload".to_vec().into())
        .send()
        .await
        .unwrap();

    let started = Instant::now();
    let status = server.stop().expect("stopping minnow");
    let took = started.elapsed();
    let log = std::fs::read_to_string(server.log_path().unwrap()).unwrap();
    assert!(status.success(), "exit status {status}\n{log}");
    assert!(took < Duration::from_secs(5), "exit took {took:?}\n{log}");
    for worker in WORKERS {
        assert!(
            log.lines()
                .any(|l| l.contains("worker stopped") && l.contains(worker)),
            "no stop line for {worker}\n{log}"
        );
    }
    assert!(
        !log.contains("did not stop in time"),
        "a worker overran its grace\n{log}"
    );
}
