//! Conditional GET and HEAD: If-Match / If-None-Match / If-Modified-Since /
//! If-Unmodified-Since, alone and in the combinations where S3 lets one win (RFC 7232 §6).

use std::sync::OnceLock;

use aws_smithy_types::DateTime;
use conformance::{expect_s3_error, unique_bucket, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server, status_of};

static SERVER: OnceLock<TestServer> = OnceLock::new();

struct Fixture {
    client: aws_sdk_s3::Client,
    bucket: String,
    etag: String,
    last_modified: DateTime,
}

async fn fixture() -> Fixture {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("conditional");
    create_bucket(&client, &bucket).await;
    let etag = put_bytes(&client, &bucket, "k", b"conditional content").await;
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    let last_modified = *head.last_modified().expect("Last-Modified");
    Fixture {
        client,
        bucket,
        etag,
        last_modified,
    }
}

fn shifted(time: &DateTime, seconds: i64) -> DateTime {
    DateTime::from_secs(time.secs() + seconds)
}

#[tokio::test]
async fn if_none_match_with_current_etag_is_304() {
    let f = fixture().await;
    let get = f.client.get_object().bucket(&f.bucket).key("k");
    let error = get
        .if_none_match(&f.etag)
        .send()
        .await
        .expect_err("should be 304");
    assert_eq!(status_of(&error), Some(304), "GET If-None-Match: {error:?}");
    let error = f
        .client
        .head_object()
        .bucket(&f.bucket)
        .key("k")
        .if_none_match(&f.etag)
        .send()
        .await
        .expect_err("should be 304");
    assert_eq!(
        status_of(&error),
        Some(304),
        "HEAD If-None-Match: {error:?}"
    );
    // Another ETag: the object is returned.
    f.client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_none_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect("If-None-Match with another ETag returns the object");
}

#[tokio::test]
async fn if_match_with_other_etag_is_412_precondition_failed() {
    let f = fixture().await;
    expect_s3_error(
        f.client
            .get_object()
            .bucket(&f.bucket)
            .key("k")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    let error = f
        .client
        .head_object()
        .bucket(&f.bucket)
        .key("k")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect_err("HEAD should be 412");
    assert_eq!(status_of(&error), Some(412), "HEAD If-Match: {error:?}");
    let output = f
        .client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_match(&f.etag)
        .send()
        .await
        .expect("If-Match with the current ETag");
    assert_eq!(
        output.body.collect().await.unwrap().into_bytes().as_ref(),
        b"conditional content"
    );
}

#[tokio::test]
async fn if_modified_since_not_modified_is_304_and_modified_is_200() {
    let f = fixture().await;
    let error = f
        .client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_modified_since(shifted(&f.last_modified, 0))
        .send()
        .await
        .expect_err("not modified since its own Last-Modified");
    assert_eq!(status_of(&error), Some(304), "{error:?}");
    f.client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_modified_since(shifted(&f.last_modified, -3600))
        .send()
        .await
        .expect("modified since an hour before");
}

#[tokio::test]
async fn if_unmodified_since_before_last_modified_is_412() {
    let f = fixture().await;
    expect_s3_error(
        f.client
            .get_object()
            .bucket(&f.bucket)
            .key("k")
            .if_unmodified_since(shifted(&f.last_modified, -3600))
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    f.client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_unmodified_since(shifted(&f.last_modified, 3600))
        .send()
        .await
        .expect("unmodified since an hour later");
}

#[tokio::test]
async fn etag_conditions_win_over_date_conditions() {
    let f = fixture().await;
    // S3: If-Match true + If-Unmodified-Since false → 200.
    f.client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_match(&f.etag)
        .if_unmodified_since(shifted(&f.last_modified, -3600))
        .send()
        .await
        .expect("If-Match wins");
    // S3: If-None-Match false + If-Modified-Since true → 304.
    let error = f
        .client
        .get_object()
        .bucket(&f.bucket)
        .key("k")
        .if_none_match(&f.etag)
        .if_modified_since(shifted(&f.last_modified, -3600))
        .send()
        .await
        .expect_err("If-None-Match wins");
    assert_eq!(status_of(&error), Some(304), "{error:?}");
}
