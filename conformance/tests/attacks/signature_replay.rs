//! A signature authorises exactly the request it was made for: replaying it with another
//! method, bucket, key, query or host, or after the clock window, fails, and a presigned URL
//! cannot be turned into another operation. The target object is checked unchanged each time.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use conformance::raw_http::replace_header;
use conformance::{unique_bucket, PayloadSigning, TestServer};

use crate::common::{
    create_bucket, object_exists, presign, put_bytes, send_headers, send_url, shared_server,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

async fn object_bytes(server: &TestServer, bucket: &str, key: &str) -> Vec<u8> {
    server
        .s3_client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_signed_get_replayed_elsewhere_is_signature_does_not_match() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-replay");
    let other = unique_bucket("atk-replay-other");
    create_bucket(&client, &bucket).await;
    create_bucket(&client, &other).await;
    put_bytes(&client, &bucket, "public.txt", b"public").await;
    put_bytes(&client, &bucket, "secret.txt", b"secret").await;
    put_bytes(&client, &other, "public.txt", b"other").await;

    let path = format!("/{bucket}/public.txt");
    let signed = server.signer().sign_headers(
        "GET",
        &path,
        &[],
        &[],
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    let honest = send_headers(server, "GET", &path, &signed.headers, Vec::new()).await;
    assert_eq!(honest.status, 200, "{}", honest.text());
    // Replaying the very same request inside the clock window is what SigV4 allows (S3 too).
    let again = send_headers(server, "GET", &path, &signed.headers, Vec::new()).await;
    assert_eq!(again.status, 200);

    for (method, target) in [
        ("GET", format!("/{bucket}/secret.txt")),
        ("GET", format!("/{other}/public.txt")),
        ("GET", format!("/{bucket}/public.txt?versionId=null")),
        ("DELETE", format!("/{bucket}/public.txt")),
        ("PUT", format!("/{bucket}/public.txt")),
    ] {
        let replay = send_headers(server, method, &target, &signed.headers, Vec::new()).await;
        replay.assert_error(403, "SignatureDoesNotMatch");
    }
    let mut other_host = signed.clone();
    replace_header(&mut other_host, "host", "evil.example:9000");
    let replay = send_headers(server, "GET", &path, &other_host.headers, Vec::new()).await;
    replay.assert_error(403, "SignatureDoesNotMatch");
    assert_eq!(object_bytes(server, &bucket, "public.txt").await, b"public");
}

#[tokio::test]
async fn a_signature_from_outside_the_clock_window_is_request_time_too_skewed() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-skew");
    create_bucket(&client, &bucket).await;
    let path = format!("/{bucket}/late");
    for offset in [-1i64, 1] {
        let at = if offset < 0 {
            SystemTime::now() - Duration::from_secs(16 * 60)
        } else {
            SystemTime::now() + Duration::from_secs(16 * 60)
        };
        let signed =
            server
                .signer()
                .sign_headers("PUT", &path, &[], b"x", &PayloadSigning::Sha256, at);
        let response = send_headers(server, "PUT", &path, &signed.headers, b"x".to_vec()).await;
        response.assert_error(403, "RequestTimeTooSkewed");
    }
    assert!(!object_exists(&client, &bucket, "late").await);
}

#[tokio::test]
async fn a_presigned_url_cannot_change_method_bucket_or_key() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-swap");
    let other = unique_bucket("atk-swap-other");
    create_bucket(&client, &bucket).await;
    create_bucket(&client, &other).await;
    put_bytes(&client, &bucket, "shared.txt", b"shared").await;
    put_bytes(&client, &bucket, "private.txt", b"private").await;

    let get_url = presign(server, "GET", &format!("/{bucket}/shared.txt"));
    let honest = send_url(server, "GET", &get_url, &[], Vec::new()).await;
    assert_eq!(honest.status, 200);

    // Method swaps: a download link used to overwrite or delete.
    for method in ["PUT", "DELETE"] {
        let swapped = send_url(server, method, &get_url, &[], b"overwritten".to_vec()).await;
        swapped.assert_error(403, "SignatureDoesNotMatch");
    }
    // POST without a sub-resource is no operation at all: refused before any signature check.
    let swapped = send_url(server, "POST", &get_url, &[], b"overwritten".to_vec()).await;
    assert!(
        swapped.status == 403 || swapped.status == 405,
        "{}",
        swapped.text()
    );
    // Key and bucket swaps: the same query on another path.
    let query = get_url.split_once('?').unwrap().1;
    for path in [
        format!("/{bucket}/private.txt"),
        format!("/{other}/shared.txt"),
        format!("/{bucket}/shared.txt/"),
        format!("/{bucket}/SHARED.txt"),
    ] {
        let url = format!("{}{path}?{query}", server.endpoint());
        let swapped = send_url(server, "GET", &url, &[], Vec::new()).await;
        swapped.assert_error(403, "SignatureDoesNotMatch");
    }
    // An extra sub-resource turns GetObject into another operation: refused.
    let url = format!("{get_url}&tagging");
    let swapped = send_url(server, "PUT", &url, &[], b"<Tagging/>".to_vec()).await;
    assert_eq!(swapped.status, 403, "{}", swapped.text());

    // A presigned PUT cannot be aimed at another key either.
    let put_url = presign(server, "PUT", &format!("/{bucket}/upload.txt"));
    let query = put_url.split_once('?').unwrap().1;
    let url = format!("{}/{bucket}/private.txt?{query}", server.endpoint());
    let swapped = send_url(server, "PUT", &url, &[], b"overwritten".to_vec()).await;
    swapped.assert_error(403, "SignatureDoesNotMatch");

    assert_eq!(object_bytes(server, &bucket, "shared.txt").await, b"shared");
    assert_eq!(
        object_bytes(server, &bucket, "private.txt").await,
        b"private"
    );
    assert!(!object_exists(&client, &other, "shared.txt").await);
}
