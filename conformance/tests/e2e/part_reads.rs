//! Part reads and object attributes: GET/HEAD `?partNumber=N` of a multipart object (the
//! part's bytes as a 206 with `x-amz-mp-parts-count`), of a single-part object (part 1 is the
//! whole object), out-of-range parts (416 `InvalidPartNumber`), and GetObjectAttributes
//! (ETag, ObjectSize, StorageClass, Checksum, ObjectParts).

use std::sync::OnceLock;

use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectAttributes,
};
use aws_sdk_s3::Client;
use conformance::raw_http::send_signed;
use conformance::{expect_s3_error, pattern_bytes, unique_bucket, PayloadSigning, TestServer};

use crate::common::{create_bucket, md5_hex, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const MIB: usize = 1024 * 1024;

/// Uploads `parts` as one multipart object with CRC32 part checksums; returns its ETag.
async fn multipart_object(client: &Client, bucket: &str, key: &str, parts: &[Vec<u8>]) -> String {
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let mut completed = Vec::new();
    for (index, data) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let output = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(data.clone().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("UploadPart {number}: {e:?}"));
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    let done = client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    done.e_tag().unwrap().to_string()
}

fn three_parts() -> Vec<Vec<u8>> {
    vec![
        pattern_bytes(5 * MIB, 91),
        pattern_bytes(5 * MIB + 17, 92),
        pattern_bytes(1000, 93),
    ]
}

#[tokio::test]
async fn get_and_head_part_number_of_a_multipart_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("part-reads");
    create_bucket(&client, &bucket).await;
    let parts = three_parts();
    let etag = multipart_object(&client, &bucket, "multi", &parts).await;
    let total: usize = parts.iter().map(Vec::len).sum();

    let mut first = 0usize;
    for (index, data) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let get = client
            .get_object()
            .bucket(&bucket)
            .key("multi")
            .part_number(number)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET ?partNumber={number}: {e:?}"));
        let last = first + data.len() - 1;
        assert_eq!(get.parts_count(), Some(3), "part {number}");
        assert_eq!(
            get.content_length(),
            Some(data.len() as i64),
            "part {number}"
        );
        assert_eq!(
            get.content_range(),
            Some(format!("bytes {first}-{last}/{total}").as_str()),
            "part {number}"
        );
        assert_eq!(get.e_tag(), Some(etag.as_str()), "the object's ETag");
        let body = get.body.collect().await.unwrap().into_bytes();
        assert!(body.as_ref() == data.as_slice(), "part {number} bytes");

        let head = client
            .head_object()
            .bucket(&bucket)
            .key("multi")
            .part_number(number)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HEAD ?partNumber={number}: {e:?}"));
        assert_eq!(head.parts_count(), Some(3));
        assert_eq!(head.content_length(), Some(data.len() as i64));
        assert_eq!(
            head.content_range(),
            Some(format!("bytes {first}-{last}/{total}").as_str())
        );
        first = last + 1;
    }

    expect_s3_error(
        client
            .get_object()
            .bucket(&bucket)
            .key("multi")
            .part_number(4)
            .send()
            .await,
        416,
        "InvalidPartNumber",
    );
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("multi")
        .part_number(4)
        .send()
        .await;
    assert_eq!(
        head.unwrap_err()
            .raw_response()
            .map(|r| r.status().as_u16()),
        Some(416)
    );
    // partNumber beside Range is refused; 0 is not a part number.
    let response = send_signed(
        server,
        "GET",
        &format!("/{bucket}/multi?partNumber=1"),
        &[("range", "bytes=0-1")],
        Vec::new(),
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    response.assert_error(400, "InvalidRequest");
    let response = send_signed(
        server,
        "GET",
        &format!("/{bucket}/multi?partNumber=0"),
        &[],
        Vec::new(),
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    response.assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn part_one_of_a_single_part_object_is_the_whole_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("part-single");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(70_000, 94);
    put_bytes(&client, &bucket, "single", &data).await;
    let get = client
        .get_object()
        .bucket(&bucket)
        .key("single")
        .part_number(1)
        .send()
        .await
        .expect("GET ?partNumber=1 of a single-part object");
    assert_eq!(get.content_length(), Some(data.len() as i64));
    assert_eq!(get.parts_count(), None, "not a multipart object");
    assert!(get.body.collect().await.unwrap().into_bytes().as_ref() == data.as_slice());
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("single")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    expect_s3_error(
        client
            .get_object()
            .bucket(&bucket)
            .key("single")
            .part_number(2)
            .send()
            .await,
        416,
        "InvalidPartNumber",
    );
    expect_s3_error(
        client
            .get_object()
            .bucket(&bucket)
            .key("absent")
            .part_number(1)
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test]
async fn get_object_attributes_of_multipart_and_single_part_objects() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("attributes");
    create_bucket(&client, &bucket).await;
    let parts = three_parts();
    let etag = multipart_object(&client, &bucket, "multi", &parts).await;
    let all = [
        ObjectAttributes::Etag,
        ObjectAttributes::ObjectSize,
        ObjectAttributes::StorageClass,
        ObjectAttributes::Checksum,
        ObjectAttributes::ObjectParts,
    ];
    let attrs = client
        .get_object_attributes()
        .bucket(&bucket)
        .key("multi")
        .set_object_attributes(Some(all.to_vec()))
        .send()
        .await
        .expect("GetObjectAttributes");
    assert_eq!(attrs.e_tag(), Some(etag.trim_matches('"')), "unquoted ETag");
    let total: usize = parts.iter().map(Vec::len).sum();
    assert_eq!(attrs.object_size(), Some(total as i64));
    assert_eq!(attrs.storage_class().map(|s| s.as_str()), Some("STANDARD"));
    assert!(attrs.last_modified().is_some());
    let checksum = attrs.checksum().expect("Checksum of a CRC32 upload");
    let crc = checksum.checksum_crc32().expect("ChecksumCRC32");
    assert!(crc.ends_with("-3"), "composite of 3 parts: {crc}");
    let object_parts = attrs.object_parts().expect("ObjectParts");
    assert_eq!(object_parts.total_parts_count(), Some(3));
    assert_eq!(object_parts.is_truncated(), Some(false));
    let listed: Vec<(Option<i32>, Option<i64>)> = object_parts
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.size()))
        .collect();
    let expected: Vec<(Option<i32>, Option<i64>)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (Some(i as i32 + 1), Some(p.len() as i64)))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        object_parts.parts()[2].checksum_crc32(),
        Some(conformance::signing::crc32_base64(&parts[2]).as_str())
    );

    // Only what was asked for.
    let only_size = client
        .get_object_attributes()
        .bucket(&bucket)
        .key("multi")
        .object_attributes(ObjectAttributes::ObjectSize)
        .send()
        .await
        .unwrap();
    assert_eq!(only_size.object_size(), Some(total as i64));
    assert_eq!(only_size.e_tag(), None);
    assert!(only_size.object_parts().is_none());

    // A single-part object: no ObjectParts; no Checksum unless one was stored.
    let data = b"plain single part";
    put_bytes(&client, &bucket, "single", data).await;
    let single = client
        .get_object_attributes()
        .bucket(&bucket)
        .key("single")
        .set_object_attributes(Some(all.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(single.e_tag(), Some(md5_hex(data).as_str()));
    assert_eq!(single.object_size(), Some(data.len() as i64));
    assert!(single.object_parts().is_none());

    expect_s3_error(
        client
            .get_object_attributes()
            .bucket(&bucket)
            .key("absent")
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    let response = send_signed(
        server,
        "GET",
        &format!("/{bucket}/single?attributes"),
        &[("x-amz-object-attributes", "ETag,Colour")],
        Vec::new(),
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    response.assert_error(400, "InvalidArgument");
}
