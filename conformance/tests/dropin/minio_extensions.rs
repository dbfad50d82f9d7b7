//! MinIO's S3 extensions that minio-js and `mc` use: `x-minio-force-delete`
//! on a prefix, ListObjectsV2 `metadata=true`, and listen requests
//! (`?events=`) that minnow does not serve answering 501 instead of being
//! routed to ListObjects or ListBuckets.

use aws_sdk_s3::primitives::ByteStream;
use conformance::raw_http::send_signed;
use conformance::{unique_bucket, PayloadSigning, TestServer};

async fn put(client: &aws_sdk_s3::Client, bucket: &str, key: &str) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("text/plain")
        .metadata("color", "blue")
        .metadata("owner-team", "storage")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

async fn keys(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn force_delete_removes_every_object_under_the_prefix() {
    let server = TestServer::start().unwrap();
    let client = server.s3_client();
    let bucket = unique_bucket("force-delete");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    for key in ["dir/a", "dir/sub/b", "dir/sub/c", "dirt", "other/d"] {
        put(&client, &bucket, key).await;
    }
    // Without the header a DELETE of a prefix deletes only that key.
    let plain = send_signed(
        &server,
        "DELETE",
        &format!("/{bucket}/dir/"),
        &[],
        vec![],
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert_eq!(plain.status, 204);
    assert_eq!(keys(&client, &bucket).await.len(), 5);

    let forced = send_signed(
        &server,
        "DELETE",
        &format!("/{bucket}/dir/"),
        &[("x-minio-force-delete", "true")],
        vec![],
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert_eq!(forced.status, 204, "{}", forced.text());
    assert_eq!(keys(&client, &bucket).await, vec!["dirt", "other/d"]);
}

#[tokio::test]
async fn list_objects_v2_with_metadata_carries_user_metadata() {
    let server = TestServer::start().unwrap();
    let client = server.s3_client();
    let bucket = unique_bucket("list-metadata");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    put(&client, &bucket, "m/one").await;

    let listed = send_signed(
        &server,
        "GET",
        &format!("/{bucket}?list-type=2&metadata=true&prefix=m%2F"),
        &[],
        vec![],
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert_eq!(listed.status, 200, "{}", listed.text());
    let xml = listed.text();
    assert!(
        xml.contains("<UserMetadata><X-Amz-Meta-Color>blue</X-Amz-Meta-Color><X-Amz-Meta-Owner-Team>storage</X-Amz-Meta-Owner-Team><content-type>text/plain</content-type></UserMetadata>"),
        "{xml}"
    );
    // Without `metadata=true` the listing is S3's.
    let plain = send_signed(
        &server,
        "GET",
        &format!("/{bucket}?list-type=2"),
        &[],
        vec![],
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert!(!plain.text().contains("UserMetadata"), "{}", plain.text());
}

#[tokio::test]
async fn listen_notification_answers_not_implemented() {
    let server = TestServer::start().unwrap();
    let client = server.s3_client();
    let bucket = unique_bucket("listen");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    for path in [
        format!("/{bucket}?events=s3%3AObjectCreated%3A%2A&prefix=&suffix="),
        "/?events=s3%3AObjectCreated%3A%2A".to_string(),
    ] {
        let response = send_signed(&server, "GET", &path, &[], vec![], PayloadSigning::Sha256)
            .await
            .unwrap();
        response.assert_error(501, "NotImplemented");
        assert!(!response.text().contains("ListBucketResult"), "{path}");
        assert!(
            !response.text().contains("ListAllMyBucketsResult"),
            "{path}"
        );
    }
}
