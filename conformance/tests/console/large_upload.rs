//! Uploads past the multipart threshold reach the S3 API as a multipart
//! upload cut while the body streams: the object reads back byte for byte,
//! its ETag names the parts, and a refused upload leaves no parts behind.

use crate::common::{sign_in, start};
use conformance::{ServerOptions, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
use reqwest::Method;
use serde_json::json;

const MIB: usize = 1024 * 1024;

fn body(len: usize) -> Vec<u8> {
    // Not a repeating pattern of the part size, so misplaced parts show.
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn large_upload_goes_multipart_and_reads_back_whole() {
    let stack = start(ServerOptions::default(), |c| {
        c.multipart_threshold = 5 * MIB as u64;
        c.part_size = 5 * MIB as u64;
    })
    .await
    .unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let bucket = conformance::unique_bucket("large");
    let (status, _) = root
        .call(
            Method::POST,
            "/api/buckets",
            Some(json!({ "name": bucket })),
        )
        .await;
    assert_eq!(status, 200);

    let data = body(12 * MIB + 123);
    let response = root
        .request(
            Method::PUT,
            &format!("/api/buckets/{bucket}/object?key=big/file.bin"),
            true,
        )
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["parts"], 3, "{answer}");
    assert!(answer["etag"].as_str().unwrap().ends_with("-3"), "{answer}");

    let s3 = stack.server.s3_client();
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("big/file.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("application/octet-stream"));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert!(bytes.as_ref() == data.as_slice(), "the object differs");

    // A readonly user's large upload is refused and leaves no upload behind.
    let (status, user) = root
        .call(
            Method::POST,
            "/api/users",
            Some(json!({ "accessKey": "bigviewer", "policy": "readonly" })),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    let viewer = sign_in(
        &stack.console,
        "bigviewer",
        user["secretKey"].as_str().unwrap(),
    )
    .await
    .unwrap();
    let refused = viewer
        .request(
            Method::PUT,
            &format!("/api/buckets/{bucket}/object?key=big/refused.bin"),
            true,
        )
        .body(body(6 * MIB))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let uploads = s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
}
