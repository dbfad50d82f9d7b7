//! Multipart corner cases clients run into: a completion retried with the same part list (its
//! first answer was lost) answers 200 with the same ETag; a part uploaded twice counts once (the
//! last); UploadPartCopy with a range outside the source is 416 `InvalidRange`.

use std::sync::OnceLock;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use conformance::{expect_s3_error, pattern_bytes, unique_bucket, TestServer};

use crate::common::{create_bucket, get_bytes, md5_hex, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const MIB: usize = 1024 * 1024;

async fn start(client: &Client, bucket: &str, key: &str) -> String {
    client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string()
}

async fn part(
    client: &Client,
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
    CompletedPart::builder()
        .part_number(number)
        .set_e_tag(output.e_tag().map(str::to_string))
        .build()
}

fn doc(parts: &[CompletedPart]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts.to_vec()))
        .build()
}

#[tokio::test]
async fn a_retried_completion_with_the_same_parts_answers_the_same_etag() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("complete-retry");
    create_bucket(&client, &bucket).await;
    let data = [pattern_bytes(5 * MIB, 101), pattern_bytes(4321, 102)];
    let upload_id = start(&client, &bucket, "obj").await;
    let mut parts = Vec::new();
    for (i, d) in data.iter().enumerate() {
        parts.push(part(&client, &bucket, "obj", &upload_id, i as i32 + 1, d).await);
    }
    let first = client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&upload_id)
        .multipart_upload(doc(&parts))
        .if_none_match("*")
        .send()
        .await
        .expect("first completion");
    let etag = first.e_tag().unwrap().to_string();
    assert!(etag.ends_with("-2\""), "{etag}");

    // The same request again, If-None-Match included: the object it made is the answer.
    for _ in 0..2 {
        let again = client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("obj")
            .upload_id(&upload_id)
            .multipart_upload(doc(&parts))
            .if_none_match("*")
            .send()
            .await
            .expect("a retried completion");
        assert_eq!(again.e_tag(), Some(etag.as_str()));
        assert_eq!(again.key(), Some("obj"));
    }
    let mut whole = data[0].clone();
    whole.extend_from_slice(&data[1]);
    assert!(get_bytes(&client, &bucket, "obj").await == whole);

    // Another part list is not a retry of that completion.
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("obj")
            .upload_id(&upload_id)
            .multipart_upload(doc(&parts[..1]))
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    // Nor is the same list once the object was replaced.
    put_bytes(&client, &bucket, "obj", b"replaced").await;
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("obj")
            .upload_id(&upload_id)
            .multipart_upload(doc(&parts))
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    assert_eq!(get_bytes(&client, &bucket, "obj").await, b"replaced");
}

#[tokio::test]
async fn a_part_uploaded_twice_counts_once_the_last() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("part-twice");
    create_bucket(&client, &bucket).await;
    let upload_id = start(&client, &bucket, "obj").await;
    let old = part(
        &client,
        &bucket,
        "obj",
        &upload_id,
        1,
        b"first version of part 1",
    )
    .await;
    let new = part(
        &client,
        &bucket,
        "obj",
        &upload_id,
        1,
        b"second, longer version of part 1",
    )
    .await;
    let listed = client
        .list_parts()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 1, "{:?}", listed.parts());
    assert_eq!(listed.parts()[0].e_tag(), new.e_tag());
    assert_eq!(
        listed.parts()[0].size(),
        Some(b"second, longer version of part 1".len() as i64)
    );
    expect_s3_error(
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("obj")
            .upload_id(&upload_id)
            .multipart_upload(doc(&[old]))
            .send()
            .await,
        400,
        "InvalidPart",
    );
    let done = client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&upload_id)
        .multipart_upload(doc(&[new]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.e_tag().unwrap(),
        format!(
            "\"{}-1\"",
            md5_hex(&hex::decode(md5_hex(b"second, longer version of part 1")).unwrap())
        )
    );
    assert_eq!(
        get_bytes(&client, &bucket, "obj").await,
        b"second, longer version of part 1"
    );
}

#[tokio::test]
async fn upload_part_copy_outside_the_source_is_invalid_range() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("part-copy-range");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "source", &pattern_bytes(1000, 103)).await;
    let upload_id = start(&client, &bucket, "dest").await;
    for range in ["bytes=0-1000", "bytes=2000-3000"] {
        expect_s3_error(
            client
                .upload_part_copy()
                .bucket(&bucket)
                .key("dest")
                .upload_id(&upload_id)
                .part_number(1)
                .copy_source(format!("{bucket}/source"))
                .copy_source_range(range)
                .send()
                .await,
            416,
            "InvalidRange",
        );
    }
    // A range inside the source copies.
    let copied = client
        .upload_part_copy()
        .bucket(&bucket)
        .key("dest")
        .upload_id(&upload_id)
        .part_number(1)
        .copy_source(format!("{bucket}/source"))
        .copy_source_range("bytes=0-999")
        .send()
        .await
        .expect("a range inside the source");
    assert!(copied.copy_part_result().is_some());
}
