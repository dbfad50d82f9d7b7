//! Object tagging: Put/Get/DeleteObjectTagging, `x-amz-tagging` on PUT, CopyObject (tagging
//! directive COPY and REPLACE) and CreateMultipartUpload, `x-amz-tagging-count` on GET/HEAD,
//! and S3's limits with S3's codes (more than 10 tags `BadRequest`; key over 128, value over
//! 256 characters, or a key twice `InvalidTag`; a body that is not a Tagging document
//! `MalformedXML`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, MetadataDirective, Tag, Tagging, TaggingDirective,
};
use aws_sdk_s3::Client;
use conformance::raw_http::send_signed;
use conformance::{expect_s3_error, unique_bucket, PayloadSigning, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

fn tagging(tags: &[(&str, &str)]) -> Tagging {
    let mut builder = Tagging::builder();
    for (k, v) in tags {
        builder = builder.tag_set(tag(k, v));
    }
    builder.build().unwrap()
}

async fn tags_of(client: &Client, bucket: &str, key: &str) -> BTreeMap<String, String> {
    client
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObjectTagging {bucket}/{key}: {e:?}"))
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn put_get_delete_object_tagging_round_trip_and_count_on_get_and_head() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("tagging");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "doc", b"tag me").await;
    assert!(tags_of(&client, &bucket, "doc").await.is_empty());
    let before = client
        .head_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .unwrap();
    assert_eq!(before.tag_count(), None, "no tags, no x-amz-tagging-count");

    client
        .put_object_tagging()
        .bucket(&bucket)
        .key("doc")
        .tagging(tagging(&[("project", "minnow"), ("team", "a b&c=d")]))
        .send()
        .await
        .expect("PutObjectTagging");
    assert_eq!(
        tags_of(&client, &bucket, "doc").await,
        map(&[("project", "minnow"), ("team", "a b&c=d")])
    );
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .unwrap();
    assert_eq!(head.tag_count(), Some(2));
    assert_eq!(
        head.last_modified(),
        before.last_modified(),
        "tagging is not a new version of the object"
    );
    assert_eq!(head.e_tag(), before.e_tag());
    let get = client
        .get_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .unwrap();
    assert_eq!(get.tag_count(), Some(2));
    assert_eq!(
        get.body.collect().await.unwrap().into_bytes().as_ref(),
        b"tag me"
    );

    // A second PutObjectTagging replaces the whole set.
    client
        .put_object_tagging()
        .bucket(&bucket)
        .key("doc")
        .tagging(tagging(&[("only", "one")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&client, &bucket, "doc").await,
        map(&[("only", "one")])
    );

    client
        .delete_object_tagging()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .expect("DeleteObjectTagging");
    assert!(tags_of(&client, &bucket, "doc").await.is_empty());

    expect_s3_error(
        client
            .get_object_tagging()
            .bucket(&bucket)
            .key("missing")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    expect_s3_error(
        client
            .put_object_tagging()
            .bucket(&bucket)
            .key("missing")
            .tagging(tagging(&[("a", "1")]))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test]
async fn tagging_header_on_put_copy_and_multipart_upload() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("tagging-header");
    create_bucket(&client, &bucket).await;
    client
        .put_object()
        .bucket(&bucket)
        .key("src")
        .tagging("color=blue&note=a%20b")
        .body(b"source".to_vec().into())
        .send()
        .await
        .expect("PUT with x-amz-tagging");
    assert_eq!(
        tags_of(&client, &bucket, "src").await,
        map(&[("color", "blue"), ("note", "a b")])
    );

    // COPY (the default) keeps the source's tags.
    client
        .copy_object()
        .bucket(&bucket)
        .key("copied")
        .copy_source(format!("{bucket}/src"))
        .send()
        .await
        .expect("copy with the default tagging directive");
    assert_eq!(
        tags_of(&client, &bucket, "copied").await,
        map(&[("color", "blue"), ("note", "a b")])
    );
    client
        .copy_object()
        .bucket(&bucket)
        .key("copied-explicit")
        .copy_source(format!("{bucket}/src"))
        .tagging_directive(TaggingDirective::Copy)
        .tagging("ignored=yes")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&client, &bucket, "copied-explicit").await,
        map(&[("color", "blue"), ("note", "a b")])
    );
    // REPLACE takes the request's x-amz-tagging.
    client
        .copy_object()
        .bucket(&bucket)
        .key("replaced")
        .copy_source(format!("{bucket}/src"))
        .tagging_directive(TaggingDirective::Replace)
        .tagging("shape=round")
        .send()
        .await
        .expect("copy with REPLACE");
    assert_eq!(
        tags_of(&client, &bucket, "replaced").await,
        map(&[("shape", "round")])
    );
    // Copy to itself with REPLACE metadata and tags.
    client
        .copy_object()
        .bucket(&bucket)
        .key("src")
        .copy_source(format!("{bucket}/src"))
        .metadata_directive(MetadataDirective::Replace)
        .tagging_directive(TaggingDirective::Replace)
        .tagging("self=1")
        .send()
        .await
        .expect("copy to itself");
    assert_eq!(
        tags_of(&client, &bucket, "src").await,
        map(&[("self", "1")])
    );

    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("multi")
        .tagging("stage=upload")
        .send()
        .await
        .expect("CreateMultipartUpload with x-amz-tagging");
    let upload_id = upload.upload_id().unwrap();
    let part = client
        .upload_part()
        .bucket(&bucket)
        .key("multi")
        .upload_id(upload_id)
        .part_number(1)
        .body(b"one part".to_vec().into())
        .send()
        .await
        .unwrap();
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("multi")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&client, &bucket, "multi").await,
        map(&[("stage", "upload")])
    );
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("multi")
        .send()
        .await
        .unwrap();
    assert_eq!(head.tag_count(), Some(1));
}

#[tokio::test]
async fn tag_limits_answer_s3_codes() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("tagging-limits");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "doc", b"limits").await;
    let put_tags = |tags: Vec<(String, String)>| {
        let client = client.clone();
        let bucket = bucket.clone();
        async move {
            let mut builder = Tagging::builder();
            for (k, v) in &tags {
                builder = builder.tag_set(tag(k, v));
            }
            client
                .put_object_tagging()
                .bucket(&bucket)
                .key("doc")
                .tagging(builder.build().unwrap())
                .send()
                .await
        }
    };
    let ten: Vec<(String, String)> = (0..10).map(|i| (format!("k{i}"), "v".into())).collect();
    put_tags(ten.clone()).await.expect("10 tags are allowed");
    assert_eq!(tags_of(&client, &bucket, "doc").await.len(), 10);

    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    expect_s3_error(put_tags(eleven).await, 400, "BadRequest");
    expect_s3_error(
        put_tags(vec![("dup".into(), "1".into()), ("dup".into(), "2".into())]).await,
        400,
        "InvalidTag",
    );
    expect_s3_error(
        put_tags(vec![("k".repeat(129), "v".into())]).await,
        400,
        "InvalidTag",
    );
    put_tags(vec![("k".repeat(128), "v".repeat(256))])
        .await
        .expect("a 128-character key with a 256-character value is allowed");
    expect_s3_error(
        put_tags(vec![("k".into(), "v".repeat(257))]).await,
        400,
        "InvalidTag",
    );
    // The refused requests changed nothing.
    assert_eq!(
        tags_of(&client, &bucket, "doc").await,
        map(&[(&"k".repeat(128), &"v".repeat(256))])
    );

    // The same limits on x-amz-tagging.
    let header_eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    expect_s3_error(
        client
            .put_object()
            .bucket(&bucket)
            .key("header")
            .tagging(header_eleven.join("&"))
            .body(b"x".to_vec().into())
            .send()
            .await,
        400,
        "BadRequest",
    );
    expect_s3_error(
        client
            .put_object()
            .bucket(&bucket)
            .key("header")
            .tagging("a=1&a=2")
            .body(b"x".to_vec().into())
            .send()
            .await,
        400,
        "InvalidTag",
    );

    // A body that is not a Tagging document.
    for body in [
        "<Tagging><TagSet><Tag><Key>a</Key>".to_string(),
        "<NotTagging><TagSet/></NotTagging>".to_string(),
        "<Tagging><TagSet><Tag><Value>no key</Value></Tag></TagSet></Tagging>".to_string(),
    ] {
        let response = send_signed(
            server,
            "PUT",
            &format!("/{bucket}/doc?tagging"),
            &[],
            body.clone().into_bytes(),
            PayloadSigning::Sha256,
        )
        .await
        .unwrap();
        response.assert_error(400, "MalformedXML");
    }
}
