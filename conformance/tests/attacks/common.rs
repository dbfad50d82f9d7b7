//! Helpers shared by the attack modules: the per-module server, SDK shortcuts and raw requests
//! signed by root.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use conformance::raw_http::send_with_headers;
use conformance::{RawResponse, TestServer};

/// The module's shared server, started on first use (its watchdog kills it when the test
/// process exits).
pub fn shared_server(cell: &'static OnceLock<TestServer>) -> &'static TestServer {
    cell.get_or_init(|| TestServer::start().expect("starting the shared test server"))
}

pub async fn create_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

pub async fn put_bytes(client: &Client, bucket: &str, key: &str, data: &[u8]) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

/// Whether `bucket/key` exists (HeadObject 200), panicking on anything but 200/404.
pub async fn object_exists(client: &Client, bucket: &str, key: &str) -> bool {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => true,
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(404), "HeadObject {bucket}/{key}: {error:?}");
            false
        }
    }
}

/// Sends `method url` (a full URL, e.g. presigned) with `headers` and `body`.
pub async fn send_url(
    server: &TestServer,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> RawResponse {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = server.http_client().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    RawResponse::from_reqwest(request.body(body).send().await.expect("request sent"))
        .await
        .unwrap()
}

/// A presigned URL (root's credentials, valid ten minutes) for `method path_and_query`.
pub fn presign(server: &TestServer, method: &str, path_and_query: &str) -> String {
    server.signer().presign_url(
        method,
        path_and_query,
        Duration::from_secs(600),
        SystemTime::now(),
    )
}

/// Sends exactly these (already signed, or deliberately not) headers.
pub async fn send_headers(
    server: &TestServer,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> RawResponse {
    send_with_headers(server, method, path_and_query, headers, body)
        .await
        .expect("request sent")
}

/// `(name, value)` pairs as owned strings.
pub fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A root-signed admin API call (`/minnow/admin/v1/<path>`) with a JSON body.
pub async fn admin(server: &TestServer, method: &str, path: &str, body: &str) -> RawResponse {
    let full = format!("/minnow/admin/v1/{path}");
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    let signed = server.signer().sign_headers(
        method,
        &full,
        &headers,
        body.as_bytes(),
        &conformance::PayloadSigning::Sha256,
        SystemTime::now(),
    );
    send_headers(
        server,
        method,
        &full,
        &signed.headers,
        body.as_bytes().to_vec(),
    )
    .await
}

/// Adds user `access_key` with a custom identity policy `policy_json`; returns its secret.
pub async fn add_user_with_policy(
    server: &TestServer,
    access_key: &str,
    policy_json: &str,
) -> String {
    let secret = format!("{access_key}-secret-key");
    let added = admin(
        server,
        "PUT",
        &format!("users/{access_key}"),
        &format!("{{\"secretKey\":\"{secret}\"}}"),
    )
    .await;
    assert_eq!(added.status, 200, "add user: {}", added.text());
    let policy = format!("{access_key}-policy");
    let created = admin(server, "PUT", &format!("policies/{policy}"), policy_json).await;
    assert!(
        created.status / 100 == 2,
        "create policy: {}",
        created.text()
    );
    let attached = admin(
        server,
        "PUT",
        &format!("users/{access_key}/policies/{policy}"),
        "",
    )
    .await;
    assert!(
        attached.status / 100 == 2,
        "attach policy: {}",
        attached.text()
    );
    secret
}
