//! Authentication failures and their exact S3 codes: wrong secret, unknown key, skewed clock,
//! anonymous access to a private bucket, headers and aws-chunked signatures tampered after
//! signing. None of them may leave an object behind.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use conformance::raw_http::{replace_header, send_signed, send_with_headers};
use conformance::signing::crc32_base64;
use conformance::{
    expect_s3_error, pattern_bytes, unique_bucket, PayloadSigning, RawResponse, TestServer,
};

use crate::common::{
    assert_object_absent, create_bucket, get_bytes, put_bytes, send_aws_chunked_put, shared_server,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

#[tokio::test]
async fn wrong_secret_key_is_signature_does_not_match_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("auth-secret");
    create_bucket(&client, &bucket).await;
    let impostor =
        server.s3_client_with_credentials(server.access_key(), "not-the-secret-key-at-all");
    expect_s3_error(
        impostor
            .put_object()
            .bucket(&bucket)
            .key("forged")
            .body(b"forged".to_vec().into())
            .send()
            .await,
        403,
        "SignatureDoesNotMatch",
    );
    expect_s3_error(
        impostor.list_buckets().send().await,
        403,
        "SignatureDoesNotMatch",
    );
    assert_object_absent(&client, &bucket, "forged").await;
}

#[tokio::test]
async fn unknown_access_key_is_invalid_access_key_id_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("auth-unknown");
    create_bucket(&client, &bucket).await;
    let stranger = server.s3_client_with_credentials("AKIAUNKNOWNKEY000000", "whatever-secret");
    expect_s3_error(
        stranger
            .put_object()
            .bucket(&bucket)
            .key("forged")
            .body(b"forged".to_vec().into())
            .send()
            .await,
        403,
        "InvalidAccessKeyId",
    );
    expect_s3_error(
        stranger.list_objects_v2().bucket(&bucket).send().await,
        403,
        "InvalidAccessKeyId",
    );
    assert_object_absent(&client, &bucket, "forged").await;
}

#[tokio::test]
async fn request_signed_20_minutes_off_is_request_time_too_skewed_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("auth-skew");
    create_bucket(&client, &bucket).await;
    // Raw requests: the SDK corrects its clock from the server's Date header and retries.
    for skew_seconds in [-20 * 60i64, 20 * 60] {
        let time = if skew_seconds < 0 {
            SystemTime::now() - Duration::from_secs(skew_seconds.unsigned_abs())
        } else {
            SystemTime::now() + Duration::from_secs(skew_seconds as u64)
        };
        let body = b"skewed".to_vec();
        let path = format!("/{bucket}/skewed");
        let signed =
            server
                .signer()
                .sign_headers("PUT", &path, &[], &body, &PayloadSigning::Sha256, time);
        let response = send_with_headers(server, "PUT", &path, &signed.headers, body)
            .await
            .unwrap();
        response.assert_error(403, "RequestTimeTooSkewed");
    }
    assert_object_absent(&client, &bucket, "skewed").await;
}

#[tokio::test]
async fn anonymous_requests_to_a_private_bucket_are_access_denied_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("auth-anon");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "private", b"private data").await;
    let http = server.http_client();
    let endpoint = server.endpoint();

    let get = http
        .get(format!("{endpoint}/{bucket}/private"))
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(get)
        .await
        .unwrap()
        .assert_error(403, "AccessDenied");
    let list = http
        .get(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(list)
        .await
        .unwrap()
        .assert_error(403, "AccessDenied");
    let put = http
        .put(format!("{endpoint}/{bucket}/anonymous-upload"))
        .body("anonymous")
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(put)
        .await
        .unwrap()
        .assert_error(403, "AccessDenied");
    let delete = http
        .delete(format!("{endpoint}/{bucket}/private"))
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(delete)
        .await
        .unwrap()
        .assert_error(403, "AccessDenied");

    assert_object_absent(&client, &bucket, "anonymous-upload").await;
    assert_eq!(
        get_bytes(&client, &bucket, "private").await,
        b"private data"
    );
}

#[tokio::test]
async fn header_changed_after_signing_is_signature_does_not_match_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("auth-tamper");
    create_bucket(&client, &bucket).await;
    let path = format!("/{bucket}/tampered");
    let body = b"payload".to_vec();
    let mut signed = server.signer().sign_headers(
        "PUT",
        &path,
        &[("x-amz-meta-owner".to_string(), "alice".to_string())],
        &body,
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    replace_header(&mut signed, "x-amz-meta-owner", "mallory");
    let response = send_with_headers(server, "PUT", &path, &signed.headers, body)
        .await
        .unwrap();
    response.assert_error(403, "SignatureDoesNotMatch");
    assert_object_absent(&client, &bucket, "tampered").await;
}

#[tokio::test]
async fn raw_aws_chunked_signed_upload_is_accepted() {
    // Positive control for the tampering tests below: the hand-built encoding is right.
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("chunked-ok");
    create_bucket(&client, &bucket).await;
    let payload = pattern_bytes(200 * 1024 + 5, 71);
    let response = send_aws_chunked_put(
        server,
        &format!("/{bucket}/ok"),
        &payload,
        &crc32_base64(&payload),
        |_| {},
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(get_bytes(&client, &bucket, "ok").await == payload);
}

#[tokio::test]
async fn tampered_aws_chunk_is_signature_does_not_match_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("chunked-tamper");
    create_bucket(&client, &bucket).await;
    let payload = pattern_bytes(200 * 1024 + 5, 72);
    let response = send_aws_chunked_put(
        server,
        &format!("/{bucket}/tampered"),
        &payload,
        &crc32_base64(&payload),
        |body| {
            // A byte inside the second chunk's data (past the first header + 64 KiB).
            let index = 64 * 1024 + 200;
            body[index] ^= 0x01;
        },
    )
    .await;
    response.assert_error(403, "SignatureDoesNotMatch");
    assert_object_absent(&client, &bucket, "tampered").await;
}

#[tokio::test]
async fn tampered_trailer_signature_is_signature_does_not_match_403() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("trailer-tamper");
    create_bucket(&client, &bucket).await;
    let payload = pattern_bytes(100 * 1024, 73);
    let response = send_aws_chunked_put(
        server,
        &format!("/{bucket}/tampered"),
        &payload,
        &crc32_base64(&payload),
        |body| {
            let marker = b"x-amz-trailer-signature:";
            let at = body
                .windows(marker.len())
                .rposition(|w| w == marker)
                .expect("trailer signature")
                + marker.len();
            body[at] = if body[at] == b'0' { b'1' } else { b'0' };
        },
    )
    .await;
    response.assert_error(403, "SignatureDoesNotMatch");
    assert_object_absent(&client, &bucket, "tampered").await;
}

#[tokio::test]
async fn list_buckets_signed_with_raw_signer_succeeds() {
    // Positive control for the raw signer itself.
    let server = shared_server(&SERVER);
    let response = send_signed(server, "GET", "/", &[], Vec::new(), PayloadSigning::Sha256)
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.text().contains("ListAllMyBucketsResult"));
}
