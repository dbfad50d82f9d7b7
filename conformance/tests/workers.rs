//! The server's background workers against the real binary: SIGTERM
//! drains HTTP, then stops the lifecycle scanner and the store's workers
//! (heal queue, heal walk, drive monitor, list index) and exits 0 within five seconds;
//! `minnow admin info` shows the workers and the heal status; after two
//! drive folders are wiped, `minnow heal --wait` returns once redundancy is
//! full again and `/minio/health/cluster` carries `x-minio-healing` only
//! while it is not; the metrics say the same (`minnow_redundancy_full`,
//! heal progress gauges).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use conformance::{minnow_binary, pattern_bytes, unique_bucket, TestServer};

/// Every named worker of a running server.
const WORKERS: [&str; 5] = [
    "heal-queue",
    "heal-walk",
    "drive-monitor",
    "list-index",
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

/// Runs the `minnow` CLI against `server` as root.
fn cli(server: &TestServer, args: &[&str]) -> Output {
    Command::new(minnow_binary())
        .env("MINNOW_ENDPOINT", server.endpoint())
        .env("MINNOW_ROOT_USER", server.access_key())
        .env("MINNOW_ROOT_PASSWORD", server.secret_key())
        .env_remove("MINIO_ROOT_USER")
        .env_remove("MINIO_ROOT_PASSWORD")
        .args(args)
        .output()
        .expect("running minnow")
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn admin_info_lists_workers_and_heal_status() {
    let server = TestServer::spawn(Default::default()).expect("starting minnow");
    let plain = cli(&server, &["admin", "info"]);
    assert!(plain.status.success(), "{}", text(&plain));
    let stdout = String::from_utf8_lossy(&plain.stdout);
    for worker in ["heal-queue", "heal-walk", "drive-monitor"] {
        assert!(stdout.contains(worker), "{worker} missing\n{stdout}");
    }
    assert!(stdout.contains("redundancy full"), "{stdout}");

    let json = cli(&server, &["admin", "info", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    let info: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    // The fields older clients read are still there.
    assert_eq!(info["layout"], "EC 2+2");
    assert_eq!(info["drives"].as_array().unwrap().len(), 4);
    let workers = info["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 4, "{info}");
    for worker in workers {
        assert!(
            matches!(worker["state"].as_str(), Some("idle" | "active")),
            "{worker}"
        );
    }
    assert_eq!(info["heal"]["redundancyFull"], true, "{info}");
    assert_eq!(info["heal"]["objectsLeft"], 0, "{info}");

    let status = cli(&server, &["heal", "--status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("redundancy full"),
        "{}",
        text(&status)
    );
}

/// One gauge's value from the server's (signed) Prometheus scrape.
async fn gauge(server: &TestServer, name: &str) -> f64 {
    let scrape = conformance::raw_http::send_signed(
        server,
        "GET",
        "/minio/v2/metrics/cluster",
        &[],
        Vec::new(),
        conformance::PayloadSigning::Sha256,
    )
    .await
    .expect("metrics scrape");
    assert_eq!(scrape.status, 200, "{}", scrape.text());
    let text = scrape.text();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no gauge {name} in:\n{text}"))
}

/// Whether the cluster health check answers 200 and says it is healing.
async fn cluster_health(server: &TestServer) -> (u16, bool) {
    let response = server
        .http_client()
        .get(format!("{}/minio/health/cluster", server.endpoint()))
        .send()
        .await
        .expect("health probe");
    let healing = response
        .headers()
        .get("x-minio-healing")
        .is_some_and(|v| v == "true");
    (response.status().as_u16(), healing)
}

#[tokio::test(flavor = "multi_thread")]
async fn heal_wait_returns_once_wiped_drives_are_whole_again() {
    const OBJECTS: usize = 300;
    let mut server = TestServer::spawn(Default::default()).expect("starting minnow");
    let bucket = unique_bucket("workers-heal");
    let s3 = server.s3_client();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let body = |i: usize| pattern_bytes(1000 + i * 37, i as u64);
    for i in 0..OBJECTS {
        s3.put_object()
            .bucket(&bucket)
            .key(format!("k{i:04}"))
            .body(body(i).into())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(cluster_health(&server).await, (200, false));

    server.stop().expect("stopping minnow");
    for drive in &server.drives()[..2] {
        std::fs::remove_dir_all(drive).unwrap();
        std::fs::create_dir_all(drive).unwrap();
    }
    server.restart().expect("restarting minnow");

    // Two fresh drives of four: reads and writes still have quorum, so the
    // check stays 200, but another loss now would lose data.
    assert_eq!(cluster_health(&server).await, (200, true));
    let status = cli(&server, &["heal", "--status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let heal: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(heal["redundancyFull"], false, "{heal}");
    assert_eq!(gauge(&server, "minnow_redundancy_full").await, 0.0);

    let wait = cli(&server, &["heal", "--wait", "--timeout", "120"]);
    assert!(wait.status.success(), "{}", text(&wait));
    assert!(
        String::from_utf8_lossy(&wait.stdout).contains("redundancy full"),
        "{}",
        text(&wait)
    );
    assert_eq!(cluster_health(&server).await, (200, false));
    assert_eq!(gauge(&server, "minnow_redundancy_full").await, 1.0);
    assert_eq!(gauge(&server, "minnow_heal_objects_left").await, 0.0);
    assert_eq!(gauge(&server, "minnow_heal_drives_healing").await, 0.0);
    assert!(gauge(&server, "minnow_heal_objects_done").await >= OBJECTS as f64);

    // Every object reads back even with the two surviving drives gone: the
    // wiped ones were filled again.
    server.stop().expect("stopping minnow");
    for drive in &server.drives()[2..] {
        std::fs::remove_dir_all(drive).unwrap();
        std::fs::create_dir_all(drive).unwrap();
    }
    server.restart().expect("restarting minnow");
    let s3 = server.s3_client();
    for i in 0..OBJECTS {
        let got = s3
            .get_object()
            .bucket(&bucket)
            .key(format!("k{i:04}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("k{i:04}: {e:?}"))
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(&got[..], &body(i)[..], "k{i:04}");
    }
}
