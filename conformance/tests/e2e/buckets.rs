//! Bucket lifecycle: create, head, location, list, delete; and the errors S3 gives for a
//! non-empty delete, a duplicate create, a missing bucket and invalid names.

use std::sync::OnceLock;

use conformance::raw_http::send_signed;
use conformance::{expect_s3_error, unique_bucket, PayloadSigning, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

#[tokio::test]
async fn bucket_create_head_location_list_and_delete() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("bucket-life");
    create_bucket(&client, &bucket).await;

    client
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("HeadBucket");

    let location = client
        .get_bucket_location()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketLocation");
    // S3 reports us-east-1 as an empty LocationConstraint; MinIO may name it.
    let constraint = location
        .location_constraint()
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    assert!(
        constraint.is_empty() || constraint == "us-east-1",
        "unexpected LocationConstraint {constraint:?}"
    );

    let listed = client.list_buckets().send().await.expect("ListBuckets");
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&bucket.as_str()),
        "{bucket} not in {names:?}"
    );
    let entry = listed
        .buckets()
        .iter()
        .find(|b| b.name() == Some(bucket.as_str()))
        .expect("listed bucket");
    assert!(
        entry.creation_date().is_some(),
        "bucket without CreationDate"
    );

    client
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucket");
    expect_s3_error(
        client.head_bucket().bucket(&bucket).send().await,
        404,
        "NotFound",
    );
    let listed = client.list_buckets().send().await.expect("ListBuckets");
    assert!(
        !listed
            .buckets()
            .iter()
            .any(|b| b.name() == Some(bucket.as_str())),
        "deleted bucket still listed"
    );
}

#[tokio::test]
async fn delete_non_empty_bucket_is_bucket_not_empty_409() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("bucket-nonempty");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "keep-me", b"x").await;

    expect_s3_error(
        client.delete_bucket().bucket(&bucket).send().await,
        409,
        "BucketNotEmpty",
    );
    client
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket survives");
    assert_eq!(
        crate::common::get_bytes(&client, &bucket, "keep-me").await,
        b"x"
    );

    client
        .delete_object()
        .bucket(&bucket)
        .key("keep-me")
        .send()
        .await
        .unwrap();
    client
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("empty now");
}

#[tokio::test]
async fn create_existing_bucket_is_bucket_already_owned_by_you_409() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("bucket-twice");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client.create_bucket().bucket(&bucket).send().await,
        409,
        "BucketAlreadyOwnedByYou",
    );
    client.delete_bucket().bucket(&bucket).send().await.unwrap();
}

#[tokio::test]
async fn missing_bucket_is_404_for_head_list_get_put_and_delete() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("bucket-missing");
    expect_s3_error(
        client.head_bucket().bucket(&bucket).send().await,
        404,
        "NotFound",
    );
    expect_s3_error(
        client.list_objects_v2().bucket(&bucket).send().await,
        404,
        "NoSuchBucket",
    );
    expect_s3_error(
        client.get_object().bucket(&bucket).key("k").send().await,
        404,
        "NoSuchBucket",
    );
    expect_s3_error(
        client
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(b"data".to_vec().into())
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
    expect_s3_error(
        client.delete_bucket().bucket(&bucket).send().await,
        404,
        "NoSuchBucket",
    );
}

#[tokio::test]
async fn invalid_bucket_names_are_invalid_bucket_name_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    // Sent raw: the SDK might refuse some of these names before sending.
    for name in [
        "ab",
        "UpperCase-bucket",
        "under_score",
        "-leading-dash",
        "trailing-dash-",
        "double..dots",
        "192.168.10.20",
        "a-name-that-is-far-too-long-for-s3-because-it-has-more-than-63-chars",
    ] {
        let response = send_signed(
            server,
            "PUT",
            &format!("/{name}"),
            &[],
            Vec::new(),
            PayloadSigning::Sha256,
        )
        .await
        .expect("raw CreateBucket");
        assert_eq!(
            (response.status, response.error_code().as_deref()),
            (400, Some("InvalidBucketName")),
            "CreateBucket {name:?}: got {} {:?}",
            response.status,
            response.text()
        );
        let listed = client.list_buckets().send().await.expect("ListBuckets");
        assert!(
            !listed.buckets().iter().any(|b| b.name() == Some(name)),
            "invalid bucket {name:?} was created"
        );
    }
}
