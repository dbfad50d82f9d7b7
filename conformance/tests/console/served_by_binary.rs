//! `minnow server` serves the console itself: `--console-address` is where,
//! the banner prints its URL, and `MINIO_BROWSER=off` turns it off.

use std::time::{Duration, Instant};

use crate::common::{http, sign_in};
use conformance::{ServerOptions, TestServer, TEST_ROOT_PASSWORD, TEST_ROOT_USER};

/// The `Console:` line of the server's banner.
fn console_line(server: &TestServer) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = server.log_tail(64 * 1024);
        if let Some(line) = log.lines().find(|l| l.starts_with("Console: ")) {
            return line.trim_start_matches("Console: ").trim().to_string();
        }
        assert!(Instant::now() < deadline, "no Console line in:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn the_binary_serves_the_console_on_its_console_address() {
    let options = ServerOptions {
        args: vec!["--console-address".into(), "127.0.0.1:0".into()],
        ..ServerOptions::default()
    };
    let server = tokio::task::spawn_blocking(move || TestServer::spawn(options))
        .await
        .unwrap()
        .unwrap();
    let url = console_line(&server);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let page = http().get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("/app.js"));
    // The console signs in against this server's S3 API.
    let session = sign_in(&url, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let (status, body) = session
        .call(reqwest::Method::GET, "/api/health", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["drives"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn browser_off_serves_no_console() {
    let options = ServerOptions {
        env: vec![("MINIO_BROWSER".into(), "off".into())],
        args: vec!["--console-address".into(), "127.0.0.1:0".into()],
        ..ServerOptions::default()
    };
    let server = tokio::task::spawn_blocking(move || TestServer::spawn(options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(console_line(&server), "off (MINIO_BROWSER=off)");
}

/// Every sign-in to the console, refused or accepted, is a line in the
/// server's audit log (`MINNOW_AUDIT_LOG`), naming the access key and the
/// address but never the secret.
#[tokio::test]
async fn sign_in_attempts_are_audit_lines_without_the_secret() {
    let folder = tempfile::tempdir().unwrap();
    let log = folder.path().join("audit.log");
    let options = ServerOptions {
        env: vec![("MINNOW_AUDIT_LOG".into(), log.display().to_string())],
        args: vec!["--console-address".into(), "127.0.0.1:0".into()],
        ..ServerOptions::default()
    };
    let server = tokio::task::spawn_blocking(move || TestServer::spawn(options))
        .await
        .unwrap()
        .unwrap();
    let url = console_line(&server);
    const WRONG: &str = "not-the-secret-0123456789";
    let (status, _) = sign_in(&url, TEST_ROOT_USER, WRONG).await.err().unwrap();
    assert_eq!(status, 401);
    sign_in(&url, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();

    let sign_ins = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["event"] == "console_sign_in")
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if sign_ins(&text).len() >= 2 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no two sign-in lines in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let records = sign_ins(&text);
    assert_eq!(records[0]["status"], 401, "{}", records[0]);
    assert_eq!(records[0]["accessKey"], TEST_ROOT_USER);
    assert_eq!(records[0]["operation"], "ConsoleSignIn");
    assert!(records[0]["remoteAddress"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert_eq!(records[1]["status"], 200, "{}", records[1]);
    assert_eq!(records[1]["accessKey"], TEST_ROOT_USER);
    assert!(!text.contains(WRONG), "a secret reached the audit log");
    assert!(
        !text.contains(TEST_ROOT_PASSWORD),
        "a secret reached the audit log"
    );
}
