//! The CDN host name is an anonymous read-only front: write methods are 405 whether or not they
//! carry a valid root signature, and nothing is written; a read of a private object is a 403
//! that the audit log records as a denial.

use std::time::{Duration, SystemTime};

use conformance::raw_http::{request_head, tcp_exchange};
use conformance::{unique_bucket, PayloadSigning, ServerOptions, TestServer};

use crate::common::{create_bucket, object_exists, put_bytes};

const CDN_HOST: &str = "cdn.attack.test";

#[tokio::test]
async fn write_methods_on_the_cdn_host_are_refused_signed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let audit_log = dir.path().join("audit.log");
    let server = TestServer::spawn(ServerOptions {
        env: vec![
            ("MINNOW_CDN_HOSTS".to_string(), CDN_HOST.to_string()),
            (
                "MINNOW_AUDIT_LOG".to_string(),
                audit_log.display().to_string(),
            ),
        ],
        ..ServerOptions::default()
    })
    .expect("starting a server with a CDN host");
    let client = server.s3_client();
    let bucket = unique_bucket("atk-cdn");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "existing.txt", b"original").await;

    for (method, key) in [
        ("PUT", "new.txt"),
        ("PUT", "existing.txt"),
        ("DELETE", "existing.txt"),
        ("POST", "existing.txt"),
        ("PATCH", "existing.txt"),
    ] {
        let path = format!("/{bucket}/{key}");
        let body = b"written through the cdn".to_vec();
        let base = vec![
            ("host".to_string(), CDN_HOST.to_string()),
            ("content-length".to_string(), body.len().to_string()),
        ];
        let signed = server.signer().sign_headers(
            method,
            &path,
            &base,
            &body,
            &PayloadSigning::Sha256,
            SystemTime::now(),
        );
        for headers in [&base, &signed.headers] {
            let response = tcp_exchange(
                server.host_port(),
                &request_head(method, &path, headers),
                &body,
                false,
                Duration::from_secs(60),
            )
            .await
            .unwrap()
            .expect_response();
            assert_eq!(response.status, 405, "{method} {path}: {}", response.text());
        }
    }
    assert!(!object_exists(&client, &bucket, "new.txt").await);
    let existing = client
        .get_object()
        .bucket(&bucket)
        .key("existing.txt")
        .send()
        .await
        .expect("the object survives")
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(existing, b"original");

    let read = tcp_exchange(
        server.host_port(),
        &request_head(
            "GET",
            &format!("/{bucket}/existing.txt"),
            &[("host".to_string(), CDN_HOST.to_string())],
        ),
        &[],
        false,
        Duration::from_secs(60),
    )
    .await
    .unwrap()
    .expect_response();
    assert_eq!(read.status, 403, "{}", read.text());
    let log = std::fs::read_to_string(&audit_log).unwrap();
    assert!(
        log.lines()
            .any(|line| line.contains("\"event\":\"authorization_denied\"")
                && line.contains(&format!("\"bucket\":\"{bucket}\""))
                && line.contains("\"key\":\"existing.txt\"")),
        "no audited CDN denial in:\n{log}"
    );
}
