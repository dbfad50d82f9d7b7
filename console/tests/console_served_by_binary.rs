//! `minnow server` serves the console itself: `--console-address` is where,
//! the banner prints its URL, and `MINIO_BROWSER=off` turns it off.

mod common;

use std::time::{Duration, Instant};

use common::{http, sign_in};
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
