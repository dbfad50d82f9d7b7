//! CopyObject: metadata COPY and REPLACE directives, copy to self (illegal without a change,
//! allowed with REPLACE), keys needing URL encoding, and a missing source.

use std::sync::OnceLock;

use aws_sdk_s3::types::MetadataDirective;
use conformance::{expect_s3_error, pattern_bytes, unique_bucket, TestServer};

use crate::common::{create_bucket, encode_key, get_bytes, shared_server, single_part_etag};

static SERVER: OnceLock<TestServer> = OnceLock::new();

async fn put_with_metadata(client: &aws_sdk_s3::Client, bucket: &str, key: &str, data: &[u8]) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("text/x-original")
        .metadata("origin", "source")
        .body(data.to_vec().into())
        .send()
        .await
        .expect("put source");
}

#[tokio::test]
async fn copy_with_copy_directive_keeps_content_and_metadata() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let source_bucket = unique_bucket("copy-src");
    let target_bucket = unique_bucket("copy-dst");
    create_bucket(&client, &source_bucket).await;
    create_bucket(&client, &target_bucket).await;
    let data = pattern_bytes(300 * 1024, 21);
    put_with_metadata(&client, &source_bucket, "a/source", &data).await;

    let output = client
        .copy_object()
        .bucket(&target_bucket)
        .key("b/target")
        .copy_source(format!("{source_bucket}/a/source"))
        .metadata_directive(MetadataDirective::Copy)
        .send()
        .await
        .expect("CopyObject");
    let result = output.copy_object_result().expect("CopyObjectResult");
    assert_eq!(result.e_tag(), Some(single_part_etag(&data).as_str()));
    assert!(result.last_modified().is_some());

    assert!(get_bytes(&client, &target_bucket, "b/target").await == data);
    let head = client
        .head_object()
        .bucket(&target_bucket)
        .key("b/target")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/x-original"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("source")
    );
    // The source is untouched.
    assert!(get_bytes(&client, &source_bucket, "a/source").await == data);
}

#[tokio::test]
async fn copy_with_replace_directive_sets_new_metadata() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("copy-replace");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(5000, 22);
    put_with_metadata(&client, &bucket, "src", &data).await;

    client
        .copy_object()
        .bucket(&bucket)
        .key("dst")
        .copy_source(format!("{bucket}/src"))
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/x-replaced")
        .metadata("fresh", "yes")
        .send()
        .await
        .expect("CopyObject REPLACE");
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("dst")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/x-replaced"));
    let metadata = head.metadata().cloned().unwrap_or_default();
    assert_eq!(metadata.get("fresh").map(String::as_str), Some("yes"));
    assert!(
        !metadata.contains_key("origin"),
        "old metadata kept: {metadata:?}"
    );
    assert!(get_bytes(&client, &bucket, "dst").await == data);
}

#[tokio::test]
async fn copy_to_self_needs_replace_directive() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("copy-self");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(70 * 1024, 23);
    put_with_metadata(&client, &bucket, "self", &data).await;

    // S3: "This copy request is illegal because it is trying to copy an object to itself
    // without changing the object's metadata, storage class, website redirect location or
    // encryption attributes."
    expect_s3_error(
        client
            .copy_object()
            .bucket(&bucket)
            .key("self")
            .copy_source(format!("{bucket}/self"))
            .send()
            .await,
        400,
        "InvalidRequest",
    );

    client
        .copy_object()
        .bucket(&bucket)
        .key("self")
        .copy_source(format!("{bucket}/self"))
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/x-updated")
        .metadata("version", "2")
        .send()
        .await
        .expect("copy to self with REPLACE");
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("self")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/x-updated"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("version"))
            .map(String::as_str),
        Some("2")
    );
    assert!(
        get_bytes(&client, &bucket, "self").await == data,
        "content changed"
    );
}

#[tokio::test]
async fn copy_source_with_encoded_key_characters() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("copy-encoded");
    create_bucket(&client, &bucket).await;
    let key = "dir with space/ünïcødé+plus&amp=eq.txt";
    let data = b"encoded key content".to_vec();
    put_with_metadata(&client, &bucket, key, &data).await;
    client
        .copy_object()
        .bucket(&bucket)
        .key("plain-copy")
        .copy_source(format!("{bucket}/{}", encode_key(key)))
        .send()
        .await
        .expect("CopyObject with an encoded source key");
    assert_eq!(get_bytes(&client, &bucket, "plain-copy").await, data);
}

#[tokio::test]
async fn copy_from_missing_source_is_no_such_key_404() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("copy-missing");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(format!("{bucket}/does-not-exist"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    crate::common::assert_object_absent(&client, &bucket, "dst").await;
}

#[tokio::test]
async fn copy_of_multi_block_and_multipart_objects_is_byte_exact() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("copy-large");
    create_bucket(&client, &bucket).await;
    let large = pattern_bytes(9 * 1024 * 1024 + 3, 24);
    crate::common::put_bytes(&client, &bucket, "large", &large).await;

    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("multipart")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let parts = [pattern_bytes(5 * 1024 * 1024, 25), pattern_bytes(1000, 26)];
    let mut completed = Vec::new();
    for (index, data) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let output = client
            .upload_part()
            .bucket(&bucket)
            .key("multipart")
            .upload_id(&upload_id)
            .part_number(number)
            .body(data.clone().into())
            .send()
            .await
            .unwrap();
        completed.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("multipart")
        .upload_id(&upload_id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();

    for (source, content) in [("large", large.clone()), ("multipart", parts.concat())] {
        let target = format!("{source}-copy");
        client
            .copy_object()
            .bucket(&bucket)
            .key(&target)
            .copy_source(format!("{bucket}/{source}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {source}: {e:?}"));
        assert!(
            get_bytes(&client, &bucket, &target).await == content,
            "{target} differs"
        );
    }
}

#[tokio::test]
async fn copy_source_conditions_failing_are_412_precondition_failed() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("copy-conditional");
    create_bucket(&client, &bucket).await;
    let etag = crate::common::put_bytes(&client, &bucket, "src", b"conditional source").await;
    expect_s3_error(
        client
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(format!("{bucket}/src"))
            .copy_source_if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    expect_s3_error(
        client
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(format!("{bucket}/src"))
            .copy_source_if_none_match(&etag)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    crate::common::assert_object_absent(&client, &bucket, "dst").await;
    client
        .copy_object()
        .bucket(&bucket)
        .key("dst")
        .copy_source(format!("{bucket}/src"))
        .copy_source_if_match(&etag)
        .send()
        .await
        .expect("copy with a matching x-amz-copy-source-if-match");
    assert_eq!(
        get_bytes(&client, &bucket, "dst").await,
        b"conditional source"
    );
}
