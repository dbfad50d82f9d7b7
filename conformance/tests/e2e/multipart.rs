//! Multipart uploads: three parts ≥ 15 MiB completed and read back, ListParts,
//! ListMultipartUploads, abort, and the completion errors (EntityTooSmall, InvalidPart).

use std::sync::OnceLock;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use conformance::{expect_s3_error, pattern_bytes, unique_bucket, TestServer};
use md5::{Digest, Md5};

use crate::common::{assert_object_absent, create_bucket, get_bytes, md5_hex, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const MIB: usize = 1024 * 1024;

async fn upload_part(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    data: &[u8],
) -> CompletedPart {
    let output = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .body(data.to_vec().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("UploadPart {number}: {e:?}"));
    assert_eq!(
        output.e_tag(),
        Some(format!("\"{}\"", md5_hex(data)).as_str()),
        "part {number} ETag must be its MD5"
    );
    CompletedPart::builder()
        .part_number(number)
        .set_e_tag(output.e_tag().map(str::to_string))
        .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
        .build()
}

async fn listed_upload_ids(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String)> {
    let output = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads");
    output
        .uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().to_string(),
                u.upload_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn three_part_upload_lists_completes_and_reads_back() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("multipart");
    create_bucket(&client, &bucket).await;
    let key = "big/object.bin";
    let parts_data = [
        pattern_bytes(5 * MIB, 31),
        pattern_bytes(5 * MIB, 32),
        pattern_bytes(5 * MIB + 123_457, 33),
    ];

    let created = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .content_type("application/x-multipart-test")
        .metadata("kind", "multipart")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = created.upload_id().expect("UploadId").to_string();

    let mut completed = Vec::new();
    for (index, data) in parts_data.iter().enumerate() {
        completed
            .push(upload_part(&client, &bucket, key, &upload_id, index as i32 + 1, data).await);
    }

    let listed = client
        .list_parts()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .expect("ListParts");
    let parts = listed.parts();
    assert_eq!(parts.len(), 3);
    for (index, part) in parts.iter().enumerate() {
        assert_eq!(part.part_number(), Some(index as i32 + 1));
        assert_eq!(part.size(), Some(parts_data[index].len() as i64));
        assert_eq!(part.e_tag(), completed[index].e_tag());
    }

    let uploads = listed_upload_ids(&client, &bucket).await;
    assert!(
        uploads.contains(&(key.to_string(), upload_id.clone())),
        "upload not listed: {uploads:?}"
    );

    let done = client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    // S3's multipart ETag: MD5 of the concatenated binary part MD5s, then "-<part count>".
    let mut part_digests = Vec::new();
    for data in &parts_data {
        part_digests.extend_from_slice(&Md5::digest(data));
    }
    let expected_etag = format!("\"{}-3\"", md5_hex(&part_digests));
    assert_eq!(done.e_tag(), Some(expected_etag.as_str()), "multipart ETag");

    let whole: Vec<u8> = parts_data.concat();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(whole.len() as i64));
    assert_eq!(head.content_type(), Some("application/x-multipart-test"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("kind"))
            .map(String::as_str),
        Some("multipart")
    );
    let back = get_bytes(&client, &bucket, key).await;
    assert!(back == whole, "multipart content differs");

    // A range across the part 1/part 2 boundary.
    let start = 5 * MIB - 100;
    let end = 5 * MIB + 100;
    let ranged = client
        .get_object()
        .bucket(&bucket)
        .key(key)
        .range(format!("bytes={start}-{end}"))
        .send()
        .await
        .expect("ranged GET");
    let body = ranged.body.collect().await.unwrap().into_bytes();
    assert!(
        body.as_ref() == &whole[start..=end],
        "range across parts differs"
    );

    assert!(
        !listed_upload_ids(&client, &bucket)
            .await
            .iter()
            .any(|(_, id)| *id == upload_id),
        "completed upload still listed"
    );
}

#[tokio::test]
async fn aborted_upload_disappears_with_its_parts() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("multipart-abort");
    create_bucket(&client, &bucket).await;
    let key = "aborted";
    let created = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap().to_string();
    upload_part(
        &client,
        &bucket,
        key,
        &upload_id,
        1,
        &pattern_bytes(MIB, 41),
    )
    .await;

    client
        .abort_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .expect("AbortMultipartUpload");
    assert!(listed_upload_ids(&client, &bucket).await.is_empty());
    expect_s3_error(
        client
            .list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    expect_s3_error(
        client
            .upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(2)
            .body(b"late part".to_vec().into())
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    assert_object_absent(&client, &bucket, key).await;
}

#[tokio::test]
async fn small_non_final_part_is_entity_too_small_on_complete() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("multipart-small");
    create_bucket(&client, &bucket).await;
    let key = "small-parts";
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let first = upload_part(
        &client,
        &bucket,
        key,
        &upload_id,
        1,
        &pattern_bytes(MIB, 51),
    )
    .await;
    let second = upload_part(
        &client,
        &bucket,
        key,
        &upload_id,
        2,
        &pattern_bytes(MIB, 52),
    )
    .await;
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(first)
                    .parts(second)
                    .build(),
            )
            .send()
            .await,
        400,
        "EntityTooSmall",
    );
    assert_object_absent(&client, &bucket, key).await;
}

#[tokio::test]
async fn wrong_part_etag_is_invalid_part_on_complete() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("multipart-badpart");
    create_bucket(&client, &bucket).await;
    let key = "bad-part";
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    upload_part(&client, &bucket, key, &upload_id, 1, b"only part").await;
    let forged = CompletedPart::builder()
        .part_number(1)
        .e_tag("\"0123456789abcdef0123456789abcdef\"")
        .build();
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().parts(forged).build())
            .send()
            .await,
        400,
        "InvalidPart",
    );
    assert_object_absent(&client, &bucket, key).await;
}

#[tokio::test]
async fn parts_streamed_from_files_go_aws_chunked() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("multipart-stream");
    create_bucket(&client, &bucket).await;
    let key = "streamed-parts";
    let parts_data = [pattern_bytes(5 * MIB, 61), pattern_bytes(700 * 1024, 62)];
    let dir = tempfile::tempdir().unwrap();
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let mut completed = Vec::new();
    for (index, data) in parts_data.iter().enumerate() {
        let path = dir.path().join(format!("part{index}"));
        std::fs::write(&path, data).unwrap();
        let number = index as i32 + 1;
        let output = client
            .upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(
                aws_sdk_s3::primitives::ByteStream::from_path(&path)
                    .await
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("streamed UploadPart {number}: {e:?}"));
        assert_eq!(
            output.e_tag(),
            Some(format!("\"{}\"", md5_hex(data)).as_str())
        );
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    assert!(get_bytes(&client, &bucket, key).await == parts_data.concat());
}

#[tokio::test]
async fn upload_part_copy_with_ranges_assembles_the_source() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("part-copy");
    create_bucket(&client, &bucket).await;
    let source = pattern_bytes(7 * MIB + 4321, 81);
    crate::common::put_bytes(&client, &bucket, "source", &source).await;
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("assembled")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let split = 5 * MIB;
    let ranges = [(0, split - 1), (split, source.len() - 1)];
    let mut completed = Vec::new();
    for (index, (first, last)) in ranges.iter().enumerate() {
        let number = index as i32 + 1;
        let output = client
            .upload_part_copy()
            .bucket(&bucket)
            .key("assembled")
            .upload_id(&upload_id)
            .part_number(number)
            .copy_source(format!("{bucket}/source"))
            .copy_source_range(format!("bytes={first}-{last}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("UploadPartCopy {number}: {e:?}"));
        let result = output.copy_part_result().expect("CopyPartResult");
        assert_eq!(
            result.e_tag(),
            Some(format!("\"{}\"", md5_hex(&source[*first..=*last])).as_str()),
            "part {number} ETag"
        );
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(result.e_tag().map(str::to_string))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("assembled")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    assert!(get_bytes(&client, &bucket, "assembled").await == source);
}
