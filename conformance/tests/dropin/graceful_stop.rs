//! `docker stop` / compose: SIGTERM, then SIGKILL after 10 s. A request in
//! flight may finish for `--shutdown-timeout` (MinIO's flag, default 5 s),
//! after which the server closes it and exits 0 — before the kill, so the
//! stop is clean even when a client stalls.

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use conformance::raw_http::request_head;
use conformance::{unique_bucket, PayloadSigning, ServerOptions, TestServer};

/// What docker and compose wait after SIGTERM before SIGKILL.
const COMPOSE_STOP_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn sigterm_with_a_stalled_upload_in_flight_exits_zero_within_compose_stop_timeout() {
    let mut server = TestServer::spawn(ServerOptions::default()).unwrap();
    let bucket = unique_bucket("graceful-stop");
    server
        .s3_client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();

    // A signed PUT declaring 8 MiB that sends 1 KiB and then nothing: it
    // stays in flight for the body idle timeout (30 s), far past the
    // shutdown timeout.
    let path = format!("/{bucket}/stalled");
    let headers = vec![
        ("host".to_string(), server.host_port().to_string()),
        ("content-length".to_string(), (8 << 20).to_string()),
    ];
    let signed = server.signer().sign_headers(
        "PUT",
        &path,
        &headers,
        &[],
        &PayloadSigning::Unsigned,
        SystemTime::now(),
    );
    let mut stalled = TcpStream::connect(server.host_port()).unwrap();
    stalled
        .write_all(&request_head("PUT", &path, &signed.headers))
        .unwrap();
    stalled.write_all(&[b's'; 1024]).unwrap();
    // Not a timing the result depends on: if the signal came before the
    // server read the head, the connection would count as idle and the
    // test would prove less, never fail.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let status = server.stop().expect("minnow exits after SIGTERM");
    let took = started.elapsed();
    let log = server.log_tail(16 * 1024);
    assert!(status.success(), "exit status {status}\n{log}");
    assert!(
        took < COMPOSE_STOP_TIMEOUT,
        "stopping took {took:?}, docker would have killed it\n{log}"
    );
    assert!(
        log.contains("requests still running after the grace period"),
        "the stalled upload was in flight at the stop\n{log}"
    );
    drop(stalled);
}
