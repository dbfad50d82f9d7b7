//! Presigned URLs made by the SDK, used by a plain HTTP client: GET and PUT work while valid,
//! expire with 403 AccessDenied "Request has expired", and a tampered URL is rejected.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use conformance::{pattern_bytes, unique_bucket, RawResponse, TestServer};

use crate::common::{assert_object_absent, create_bucket, get_bytes, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

async fn send_presigned(
    server: &TestServer,
    presigned: &PresignedRequest,
    body: Option<Vec<u8>>,
) -> RawResponse {
    let method = reqwest::Method::from_bytes(presigned.method().as_bytes()).unwrap();
    let mut request = server.http_client().request(method, presigned.uri());
    for (name, value) in presigned.headers() {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    RawResponse::from_reqwest(request.send().await.expect("presigned request"))
        .await
        .unwrap()
}

fn valid_for(seconds: u64) -> PresigningConfig {
    PresigningConfig::expires_in(Duration::from_secs(seconds)).unwrap()
}

#[tokio::test]
async fn presigned_get_works_with_a_plain_http_client() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("presign-get");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(150 * 1024, 61);
    put_bytes(&client, &bucket, "dir/obj", &data).await;
    let presigned = client
        .get_object()
        .bucket(&bucket)
        .key("dir/obj")
        .presigned(valid_for(300))
        .await
        .unwrap();
    let response = send_presigned(server, &presigned, None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.body == data, "presigned GET content differs");
}

#[tokio::test]
async fn presigned_put_uploads_an_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("presign-put");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(70 * 1024, 62);
    let presigned = client
        .put_object()
        .bucket(&bucket)
        .key("uploaded")
        .presigned(valid_for(300))
        .await
        .unwrap();
    let response = send_presigned(server, &presigned, Some(data.clone())).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(get_bytes(&client, &bucket, "uploaded").await == data);
}

#[tokio::test]
async fn presigned_urls_expire_with_access_denied_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("presign-expired");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "obj", b"secret").await;
    let get = client
        .get_object()
        .bucket(&bucket)
        .key("obj")
        .presigned(valid_for(1))
        .await
        .unwrap();
    let put = client
        .put_object()
        .bucket(&bucket)
        .key("late-upload")
        .presigned(valid_for(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let response = send_presigned(server, &get, None).await;
    response.assert_error(403, "AccessDenied");
    assert_eq!(
        response.error_message().as_deref(),
        Some("Request has expired")
    );

    let response = send_presigned(server, &put, Some(b"too late".to_vec())).await;
    response.assert_error(403, "AccessDenied");
    assert_eq!(
        response.error_message().as_deref(),
        Some("Request has expired")
    );
    assert_object_absent(&client, &bucket, "late-upload").await;
}

#[tokio::test]
async fn tampered_presigned_url_is_signature_does_not_match_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("presign-tamper");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "obj-a", b"a").await;
    put_bytes(&client, &bucket, "obj-b", b"b").await;
    let presigned = client
        .get_object()
        .bucket(&bucket)
        .key("obj-a")
        .presigned(valid_for(300))
        .await
        .unwrap();
    let tampered_uri = presigned.uri().replace("/obj-a?", "/obj-b?");
    assert_ne!(tampered_uri, presigned.uri());
    let response =
        RawResponse::from_reqwest(server.http_client().get(tampered_uri).send().await.unwrap())
            .await
            .unwrap();
    response.assert_error(403, "SignatureDoesNotMatch");
}

/// Rule: X-Amz-Expires outside 1..=604800 is refused as S3 and MinIO refuse it — 0 is a URL
/// that has already expired (403 AccessDenied), a negative or over-a-week value a malformed
/// one (400 AuthorizationQueryParametersError) — and a URL past its lifetime is 403
/// AccessDenied "Request has expired" (see `presigned_urls_expire_with_access_denied_403`).
#[tokio::test]
async fn presigned_url_lifetimes_outside_one_second_to_a_week_are_refused() {
    use std::time::SystemTime;
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("presign-lifetime");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "obj", b"data").await;
    let signer = server.signer();
    let path = format!("/{bucket}/obj");
    let get = |url: String| async move {
        RawResponse::from_reqwest(server.http_client().get(url).send().await.unwrap())
            .await
            .unwrap()
    };
    let one_second = signer.presign_url("GET", &path, Duration::from_secs(1), SystemTime::now());
    let response = get(one_second).await;
    assert_eq!(response.status, 200, "{}", response.text());

    let zero = signer.presign_url("GET", &path, Duration::ZERO, SystemTime::now());
    assert!(zero.contains("X-Amz-Expires=0"), "{zero}");
    let response = get(zero).await;
    response.assert_error(403, "AccessDenied");
    assert_eq!(
        response.error_message().as_deref(),
        Some("Request has expired")
    );

    let week = signer.presign_url(
        "GET",
        &path,
        Duration::from_secs(7 * 24 * 3600),
        SystemTime::now(),
    );
    for bad in ["X-Amz-Expires=-1", "X-Amz-Expires=604801"] {
        let url = week.replace("X-Amz-Expires=604800", bad);
        assert_ne!(url, week);
        get(url)
            .await
            .assert_error(400, "AuthorizationQueryParametersError");
    }
}
