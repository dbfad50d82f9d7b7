//! Conditional writes beyond PutObject's own test (objects_put_get): `If-Match` on a PutObject
//! to an absent key, and `If-Match` / `If-None-Match` on CompleteMultipartUpload — 412
//! `PreconditionFailed` on a mismatch, 404 `NoSuchKey` when the key is absent, and a refused
//! completion leaves the upload open and the object as it was.

use std::sync::OnceLock;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use conformance::{expect_s3_error, unique_bucket, TestServer};

use crate::common::{create_bucket, get_bytes, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// Starts an upload of `key` with one part; returns its id and the completion document.
async fn one_part_upload(
    client: &Client,
    bucket: &str,
    key: &str,
    data: &[u8],
) -> (String, CompletedMultipartUpload) {
    let upload_id = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let part = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(1)
        .body(data.to_vec().into())
        .send()
        .await
        .unwrap();
    let doc = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    (upload_id, doc)
}

#[tokio::test]
async fn if_match_put_to_an_absent_key_is_no_such_key() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("if-match-absent");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client
            .put_object()
            .bucket(&bucket)
            .key("absent")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .body(b"x".to_vec().into())
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    crate::common::assert_object_absent(&client, &bucket, "absent").await;
}

#[tokio::test]
async fn complete_multipart_upload_honours_if_match_and_if_none_match() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("if-match-complete");
    create_bucket(&client, &bucket).await;

    // If-Match on an absent key: 404, and the upload stays open.
    let (upload_id, doc) = one_part_upload(&client, &bucket, "new", b"multipart v1").await;
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("new")
            .upload_id(&upload_id)
            .multipart_upload(doc.clone())
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    crate::common::assert_object_absent(&client, &bucket, "new").await;
    // If-None-Match: * on a free key completes.
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("new")
        .upload_id(&upload_id)
        .multipart_upload(doc)
        .if_none_match("*")
        .send()
        .await
        .expect("If-None-Match: * on a free key");
    assert_eq!(get_bytes(&client, &bucket, "new").await, b"multipart v1");

    // If-None-Match: * on a taken key: 412, the object stays.
    let (upload_id, doc) = one_part_upload(&client, &bucket, "new", b"multipart v2").await;
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("new")
            .upload_id(&upload_id)
            .multipart_upload(doc.clone())
            .if_none_match("*")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(get_bytes(&client, &bucket, "new").await, b"multipart v1");

    // If-Match with another ETag: 412; with the current one: completes.
    let current = put_bytes(&client, &bucket, "new", b"single put").await;
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("new")
            .upload_id(&upload_id)
            .multipart_upload(doc.clone())
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(get_bytes(&client, &bucket, "new").await, b"single put");
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("new")
        .upload_id(&upload_id)
        .multipart_upload(doc)
        .if_match(&current)
        .send()
        .await
        .expect("If-Match with the current ETag");
    assert_eq!(get_bytes(&client, &bucket, "new").await, b"multipart v2");
}
