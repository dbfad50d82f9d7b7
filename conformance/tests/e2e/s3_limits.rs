//! S3's documented limits, each refused with S3's exact code and status and leaving nothing
//! behind: user metadata over 2 KB, keys over 1024 bytes, part numbers outside 1..=10000,
//! presigned URLs valid for more than 7 days, more than 1000 keys per batch delete, and a PUT
//! without a Content-Length.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use conformance::{expect_s3_error, unique_bucket, PayloadSigning, RawResponse, TestServer};

use crate::common::{
    assert_object_absent, create_bucket, list_keys, put_bytes, shared_server, within,
    RESPONSE_DEADLINE,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

#[tokio::test]
async fn user_metadata_over_2_kb_is_metadata_too_large_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("limit-metadata");
    create_bucket(&client, &bucket).await;
    let put = client
        .put_object()
        .bucket(&bucket)
        .key("k")
        .metadata("big", "v".repeat(3 * 1024))
        .body(b"data".to_vec().into())
        .send();
    expect_s3_error(
        within(RESPONSE_DEADLINE, "PUT", put).await,
        400,
        "MetadataTooLarge",
    );
    assert_object_absent(&client, &bucket, "k").await;
}

#[tokio::test]
async fn key_over_1024_bytes_is_key_too_long_error_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("limit-key");
    create_bucket(&client, &bucket).await;
    // 1024 bytes is the limit, and allowed.
    let longest = "k".repeat(1024);
    put_bytes(&client, &bucket, &longest, b"fits").await;
    let too_long = "k".repeat(1025);
    let put = client
        .put_object()
        .bucket(&bucket)
        .key(&too_long)
        .body(b"data".to_vec().into())
        .send();
    expect_s3_error(
        within(RESPONSE_DEADLINE, "PUT", put).await,
        400,
        "KeyTooLongError",
    );
    assert_eq!(list_keys(&client, &bucket, "").await, vec![longest]);
}

#[tokio::test]
async fn part_number_outside_1_to_10000_is_invalid_argument_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("limit-part");
    create_bucket(&client, &bucket).await;
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    for number in [0, 10_001] {
        let put = client
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&upload_id)
            .part_number(number)
            .body(b"part".to_vec().into())
            .send();
        expect_s3_error(
            within(RESPONSE_DEADLINE, "UploadPart", put).await,
            400,
            "InvalidArgument",
        );
    }
    let parts = client
        .list_parts()
        .bucket(&bucket)
        .key("mp")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert!(
        parts.parts().is_empty(),
        "a refused part was stored: {:?}",
        parts.parts()
    );
}

#[tokio::test]
async fn presigned_url_valid_over_7_days_is_authorization_query_parameters_error_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("limit-presign");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "k", b"data").await;
    let signer = server.signer();
    let week = 7 * 24 * 3600;
    // Exactly 7 days is allowed; one second more is not.
    let ok_url = signer.presign_url(
        "GET",
        &format!("/{bucket}/k"),
        Duration::from_secs(week),
        SystemTime::now(),
    );
    let ok = RawResponse::from_reqwest(server.http_client().get(ok_url).send().await.unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "7-day presigned GET: {}", ok.text());
    let url = signer.presign_url(
        "GET",
        &format!("/{bucket}/k"),
        Duration::from_secs(week + 1),
        SystemTime::now(),
    );
    let response = RawResponse::from_reqwest(server.http_client().get(url).send().await.unwrap())
        .await
        .unwrap();
    response.assert_error(400, "AuthorizationQueryParametersError");
}

#[tokio::test]
async fn batch_delete_of_more_than_1000_keys_is_malformed_xml_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("limit-delete");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "key-0000", b"x").await;
    let objects: Vec<ObjectIdentifier> = (0..1001)
        .map(|i| {
            ObjectIdentifier::builder()
                .key(format!("key-{i:04}"))
                .build()
                .unwrap()
        })
        .collect();
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .build()
        .unwrap();
    let request = client
        .delete_objects()
        .bucket(&bucket)
        .delete(delete)
        .send();
    expect_s3_error(
        within(RESPONSE_DEADLINE, "DeleteObjects", request).await,
        400,
        "MalformedXML",
    );
    assert_eq!(
        list_keys(&client, &bucket, "").await,
        vec!["key-0000"],
        "nothing deleted"
    );
}

/// Rule: a PUT with plain HTTP chunked framing (`Transfer-Encoding: chunked`, no
/// Content-Length) streams in (as MinIO accepts it; S3 answers 411), small and large alike.
#[tokio::test]
async fn chunked_put_without_content_length_streams_in() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("limit-chunked");
    create_bucket(&client, &bucket).await;
    let large = conformance::pattern_bytes(3 * 1024 * 1024 + 17, 7);
    for (key, data) in [("small", b"hello world".to_vec()), ("large", large)] {
        // A streamed reqwest body goes out with Transfer-Encoding: chunked and no
        // Content-Length.
        let path = format!("/{bucket}/{key}");
        let signed = server.signer().sign_headers(
            "PUT",
            &path,
            &[],
            &[],
            &PayloadSigning::Unsigned,
            SystemTime::now(),
        );
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            data.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let mut request = server
            .http_client()
            .put(format!("{}{}", server.endpoint(), path))
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)));
        for (name, value) in &signed.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = within(RESPONSE_DEADLINE, "chunked PUT", request.send())
            .await
            .unwrap();
        let response = RawResponse::from_reqwest(response).await.unwrap();
        assert_eq!(response.status, 200, "{key}: {}", response.text());
        assert_eq!(
            response.header("etag"),
            Some(crate::common::single_part_etag(&data).as_str()),
            "{key}"
        );
        assert!(
            crate::common::get_bytes(&client, &bucket, key).await == data,
            "{key}"
        );
    }
}
