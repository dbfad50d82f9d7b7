//! The Health page's data follows the drives: a drive folder taken away
//! while the console is open shows offline within the probe interval, and
//! online again once it is back (the store probes offline drives every 5 s).

mod common;

use std::time::{Duration, Instant};

use common::{sign_in, start};
use conformance::{ServerOptions, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
use reqwest::Method;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

async fn wait_for_drive(session: &common::ConsoleSession, index: usize, want: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, info) = session.call(Method::GET, "/api/health", None).await;
        assert_eq!(status, 200, "{info}");
        let drive = info["drives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["index"] == index)
            .cloned()
            .unwrap();
        if drive["state"] == want {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "drive {index} did not become {want}: {info}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn health_shows_a_removed_drive_offline_and_its_return() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let (_, info) = root.call(Method::GET, "/api/health", None).await;
    assert_eq!(info["state"], "online", "{info}");
    assert_eq!(info["layout"], "EC 2+2");

    let drive = stack.server.drives()[2].clone();
    let away = drive.with_extension("away");
    let index = info["drives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"].as_str() == Some(drive.to_str().unwrap()))
        .map(|d| d["index"].as_u64().unwrap() as usize)
        .expect("the drive is listed by path");
    std::fs::rename(&drive, &away).unwrap();
    let info = wait_for_drive(&root, index, "offline").await;
    assert_eq!(info["state"], "degraded", "{info}");

    std::fs::rename(&away, &drive).unwrap();
    let info = wait_for_drive(&root, index, "online").await;
    assert_eq!(info["state"], "online", "{info}");
}

/// The Health page's lifecycle scanner status: a rule added through the
/// console expires objects, and the console's metrics show the scanner's
/// completed cycles and the objects it expired.
#[tokio::test]
async fn scanner_status_counts_cycles_and_expired_objects() {
    let options = ServerOptions {
        env: vec![("MINNOW_LIFECYCLE_DAY_SECONDS".into(), "1".into())],
        ..ServerOptions::default()
    };
    let stack = start(options, |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let bucket = "scanner-status";
    let (status, body) = root
        .call(
            Method::POST,
            "/api/buckets",
            Some(serde_json::json!({ "name": bucket })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = root
        .call(
            Method::POST,
            &format!("/api/buckets/{bucket}/lifecycle"),
            Some(serde_json::json!({ "prefix": "tmp/", "days": 1 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let s3 = stack.server.s3_client();
    for i in 0..3 {
        s3.put_object()
            .bucket(bucket)
            .key(format!("tmp/{i}"))
            .body(b"short-lived".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, metrics) = root.call(Method::GET, "/api/metrics", None).await;
        assert_eq!(status, 200, "{metrics}");
        let scanner = &metrics["lifecycle"];
        // The cycle that expires them completes after it expired them.
        if scanner["objectsExpired"].as_f64() >= Some(3.0)
            && scanner["cycles"].as_f64() >= Some(1.0)
        {
            assert!(scanner["objectsScanned"].as_f64() >= Some(3.0), "{scanner}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scanner status never showed a cycle and 3 expired objects: {scanner}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
