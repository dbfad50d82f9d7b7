//! The audit log (`MINNOW_AUDIT_LOG`): an authorization denial, a failed signature and an admin
//! action each leave one JSON line naming who (access key, address), what (operation, bucket,
//! key) and the outcome (status, error code); no secret ever appears in it; SIGHUP reopens the
//! file after a rotation moved it away.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use conformance::{unique_bucket, PayloadSigning, ServerOptions, TestServer};

use crate::common::{create_bucket, put_bytes, send_headers, send_url};

const USER_SECRET: &str = "audited-user-secret-never-logged";

fn server_logging_to(path: &Path) -> TestServer {
    TestServer::spawn(ServerOptions {
        env: vec![("MINNOW_AUDIT_LOG".to_string(), path.display().to_string())],
        ..ServerOptions::default()
    })
    .expect("starting a server with an audit log")
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The one line holding every fragment; panics (showing the log) unless exactly one does.
#[track_caller]
fn one_line_with<'a>(lines: &'a [String], fragments: &[&str]) -> &'a str {
    let matching: Vec<&String> = lines
        .iter()
        .filter(|line| fragments.iter().all(|f| line.contains(f)))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "lines with {fragments:?} in the audit log:\n{}",
        lines.join("\n")
    );
    matching[0]
}

#[tokio::test]
async fn denial_failed_signature_and_admin_action_are_audited_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = server_logging_to(&log);
    let client = server.s3_client();
    let bucket = unique_bucket("audit");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "private.txt", b"private").await;
    // Successful S3 requests are not security events: nothing is recorded for them.
    assert!(lines_of(&log).is_empty(), "{:?}", lines_of(&log));

    // 1. An authorization denial: an anonymous read of a private object.
    let denied = send_url(
        &server,
        "GET",
        &format!("{}/{bucket}/private.txt", server.endpoint()),
        &[],
        Vec::new(),
    )
    .await;
    denied.assert_error(403, "AccessDenied");

    // 2. A failed signature: root's access key, a wrong secret.
    let forger = server
        .signer()
        .with_credentials(server.access_key(), "not-the-root-password");
    let path = format!("/{bucket}/forged.txt");
    let signed = forger.sign_headers(
        "PUT",
        &path,
        &[],
        b"x",
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    let forged = send_headers(&server, "PUT", &path, &signed.headers, b"x".to_vec()).await;
    forged.assert_error(403, "SignatureDoesNotMatch");

    // 3. An admin action: root adds a user (the body carries the user's secret).
    let admin_path = "/minnow/admin/v1/users/audited-user";
    let body = format!("{{\"secretKey\":\"{USER_SECRET}\"}}").into_bytes();
    let signed = server.signer().sign_headers(
        "PUT",
        admin_path,
        &[("content-type".to_string(), "application/json".to_string())],
        &body,
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    let added = send_headers(&server, "PUT", admin_path, &signed.headers, body).await;
    assert_eq!(added.status, 200, "{}", added.text());

    let lines = lines_of(&log);
    assert_eq!(lines.len(), 3, "audit log:\n{}", lines.join("\n"));
    let bucket_field = format!("\"bucket\":\"{bucket}\"");
    let line = one_line_with(
        &lines,
        &[
            "\"event\":\"authorization_denied\"",
            "\"operation\":\"GetObject\"",
            &bucket_field,
            "\"key\":\"private.txt\"",
            "\"status\":403",
            "\"errorCode\":\"AccessDenied\"",
            "\"accessKey\":null",
        ],
    );
    assert!(line.contains("\"remoteAddress\":\"127.0.0.1:"), "{line}");
    let root_key = format!("\"accessKey\":\"{}\"", server.access_key());
    one_line_with(
        &lines,
        &[
            "\"event\":\"authentication_failure\"",
            "\"operation\":\"PutObject\"",
            &bucket_field,
            "\"key\":\"forged.txt\"",
            "\"status\":403",
            "\"errorCode\":\"SignatureDoesNotMatch\"",
            &root_key,
        ],
    );
    one_line_with(
        &lines,
        &[
            "\"event\":\"admin\"",
            "\"operation\":\"AdminChangeUser\"",
            "\"status\":200",
            &root_key,
        ],
    );
    for line in &lines {
        assert!(line.contains("\"time\":\"20"), "{line}");
        assert!(line.contains("\"requestId\":\""), "{line}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [USER_SECRET, server.secret_key(), "not-the-root-password"] {
        assert!(
            !text.contains(secret),
            "a secret is in the audit log:\n{text}"
        );
    }
    assert!(
        !text.contains(&signed.signature),
        "a signature is in the audit log"
    );
}

#[tokio::test]
async fn sighup_reopens_the_audit_log_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = server_logging_to(&log);
    let url = format!("{}/no-such-bucket/key", server.endpoint());
    send_url(&server, "GET", &url, &[], Vec::new()).await;
    assert_eq!(lines_of(&log).len(), 1, "{:?}", lines_of(&log));

    let rotated = dir.path().join("audit.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    let pid = server.pid().expect("a spawned server") as i32;
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    // The signal is handled asynchronously: poll until a new request lands in a new file.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        send_url(&server, "GET", &url, &[], Vec::new()).await;
        if !lines_of(&log).is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new audit log after SIGHUP; rotated file has {} lines",
            lines_of(&rotated).len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The rotated file keeps what was written before the signal.
    assert!(!lines_of(&rotated).is_empty());
}

#[tokio::test]
async fn audit_log_all_records_ordinary_requests_too() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = TestServer::spawn(ServerOptions {
        env: vec![
            ("MINNOW_AUDIT_LOG".to_string(), log.display().to_string()),
            ("MINNOW_AUDIT_LOG_ALL".to_string(), "on".to_string()),
        ],
        ..ServerOptions::default()
    })
    .expect("starting a server auditing every request");
    let client = server.s3_client();
    let bucket = unique_bucket("audit-all");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "ordinary.txt", b"ordinary").await;
    let lines = lines_of(&log);
    let bucket_field = format!("\"bucket\":\"{bucket}\"");
    let root_key = format!("\"accessKey\":\"{}\"", server.access_key());
    one_line_with(
        &lines,
        &[
            "\"event\":\"request\"",
            "\"operation\":\"PutObject\"",
            &bucket_field,
            "\"key\":\"ordinary.txt\"",
            "\"status\":200",
            "\"errorCode\":null",
            &root_key,
        ],
    );
}
