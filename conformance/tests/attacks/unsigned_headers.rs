//! Headers the signature does not cover must not change what a request does: a presigned PUT
//! (the browser-upload pattern) plus an unsigned `x-amz-copy-source` must not become a copy of a
//! private object authorised as the URL's signer; the same for UploadPart → UploadPartCopy, a
//! header-signed PUT with a copy source added in transit, and unsigned metadata or tags. S3
//! answers 403 AccessDenied "There were headers present in the request which were not signed".

use std::sync::OnceLock;
use std::time::SystemTime;

use conformance::raw_http::replace_header;
use conformance::{unique_bucket, PayloadSigning, RawResponse, TestServer};

use crate::common::{
    create_bucket, object_exists, presign, put_bytes, send_headers, send_url, shared_server,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const SECRET: &[u8] = b"the private object's bytes";

#[track_caller]
fn assert_unsigned_refused(response: &RawResponse) {
    response.assert_error(403, "AccessDenied");
    assert_eq!(
        response.error_message().as_deref(),
        Some("There were headers present in the request which were not signed"),
        "{}",
        response.text()
    );
}

/// A bucket holding `private/secret`.
async fn bucket_with_secret(server: &TestServer, scenario: &str) -> String {
    let client = server.s3_client();
    let bucket = unique_bucket(scenario);
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "private/secret", SECRET).await;
    bucket
}

#[tokio::test]
async fn presigned_put_with_an_unsigned_copy_source_copies_nothing() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = bucket_with_secret(server, "atk-presign-copy").await;
    let url = presign(server, "PUT", &format!("/{bucket}/uploads/photo.jpg"));
    let source = format!("/{bucket}/private/secret");

    let attack = send_url(
        server,
        "PUT",
        &url,
        &[("x-amz-copy-source", &source)],
        Vec::new(),
    )
    .await;
    assert_unsigned_refused(&attack);
    assert!(!object_exists(&client, &bucket, "uploads/photo.jpg").await);

    // The URL itself is good: used as meant, it uploads.
    let upload = send_url(server, "PUT", &url, &[], b"a photo".to_vec()).await;
    assert_eq!(upload.status, 200, "{}", upload.text());
}

#[tokio::test]
async fn presigned_upload_part_with_an_unsigned_copy_source_copies_nothing() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = bucket_with_secret(server, "atk-presign-part").await;
    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("uploads/big")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let url = presign(
        server,
        "PUT",
        &format!("/{bucket}/uploads/big?partNumber=1&uploadId={upload_id}"),
    );
    let source = format!("/{bucket}/private/secret");

    let attack = send_url(
        server,
        "PUT",
        &url,
        &[("x-amz-copy-source", &source)],
        Vec::new(),
    )
    .await;
    assert_unsigned_refused(&attack);
    let parts = client
        .list_parts()
        .bucket(&bucket)
        .key("uploads/big")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "a part was stored: {parts:?}");

    let part = send_url(server, "PUT", &url, &[], b"part one".to_vec()).await;
    assert_eq!(part.status, 200, "{}", part.text());
}

#[tokio::test]
async fn header_signed_put_with_a_copy_source_added_in_transit_copies_nothing() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = bucket_with_secret(server, "atk-transit-copy").await;
    let path = format!("/{bucket}/uploads/doc.txt");
    let body = b"the document".to_vec();
    let signed = server.signer().sign_headers(
        "PUT",
        &path,
        &[],
        &body,
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    let mut tampered = signed.clone();
    replace_header(
        &mut tampered,
        "x-amz-copy-source",
        &format!("/{bucket}/private/secret"),
    );

    let attack = send_headers(server, "PUT", &path, &tampered.headers, body.clone()).await;
    assert_unsigned_refused(&attack);
    assert!(!object_exists(&client, &bucket, "uploads/doc.txt").await);

    let honest = send_headers(server, "PUT", &path, &signed.headers, body).await;
    assert_eq!(honest.status, 200, "{}", honest.text());
}

#[tokio::test]
async fn unsigned_metadata_and_tags_are_refused_and_nothing_is_stored() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-unsigned-meta");
    create_bucket(&client, &bucket).await;

    let url = presign(server, "PUT", &format!("/{bucket}/presigned"));
    for header in [("x-amz-meta-owner", "mallory"), ("x-amz-tagging", "a=b")] {
        let attack = send_url(server, "PUT", &url, &[header], b"data".to_vec()).await;
        assert_unsigned_refused(&attack);
        assert!(!object_exists(&client, &bucket, "presigned").await);
    }

    let path = format!("/{bucket}/signed");
    let signed = server.signer().sign_headers(
        "PUT",
        &path,
        &[],
        b"data",
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    for (name, value) in [("x-amz-meta-owner", "mallory"), ("x-amz-tagging", "a=b")] {
        let mut tampered = signed.clone();
        replace_header(&mut tampered, name, value);
        let attack = send_headers(server, "PUT", &path, &tampered.headers, b"data".to_vec()).await;
        assert_unsigned_refused(&attack);
        assert!(!object_exists(&client, &bucket, "signed").await);
    }
}

#[tokio::test]
async fn signed_metadata_is_stored() {
    // The other side of the rule: metadata the signer covered is kept.
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-signed-meta");
    create_bucket(&client, &bucket).await;
    let path = format!("/{bucket}/signed");
    let headers = vec![("x-amz-meta-owner".to_string(), "alice".to_string())];
    let signed = server.signer().sign_headers(
        "PUT",
        &path,
        &headers,
        b"data",
        &PayloadSigning::Sha256,
        SystemTime::now(),
    );
    let response = send_headers(server, "PUT", &path, &signed.headers, b"data".to_vec()).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("signed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("alice")
    );
}
