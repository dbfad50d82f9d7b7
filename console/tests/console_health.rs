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
