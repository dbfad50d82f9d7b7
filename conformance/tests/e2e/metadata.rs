//! Object metadata round trip: x-amz-meta-* and the standard headers S3 stores with an object
//! (Content-Type/Encoding/Disposition/Language, Cache-Control, Expires), on GET and HEAD, and
//! the response-* overrides of a signed GET.

use std::sync::OnceLock;

use aws_smithy_types::DateTime;
use conformance::{unique_bucket, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const EXPIRES_2030: i64 = 1_893_456_000; // Tue, 01 Jan 2030 00:00:00 GMT

#[tokio::test]
async fn user_metadata_and_standard_headers_round_trip() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("metadata");
    create_bucket(&client, &bucket).await;
    client
        .put_object()
        .bucket(&bucket)
        .key("doc")
        .metadata("color", "blue")
        .metadata("Mixed-Case-Name", "Value with spaces, commas")
        .metadata("empty-ish", "-")
        .content_type("text/plain; charset=utf-8")
        .content_encoding("gzip")
        .content_disposition("attachment; filename=\"report 2030.txt\"")
        .content_language("de-CH")
        .cache_control("max-age=3600, must-revalidate")
        .expires(DateTime::from_secs(EXPIRES_2030))
        .body(b"not really gzip".to_vec().into())
        .send()
        .await
        .expect("PUT with metadata");

    let get = client
        .get_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .unwrap();
    type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>);
    let rows: Vec<Row> = vec![
        ("Content-Type", get.content_type(), head.content_type()),
        (
            "Content-Encoding",
            get.content_encoding(),
            head.content_encoding(),
        ),
        (
            "Content-Disposition",
            get.content_disposition(),
            head.content_disposition(),
        ),
        (
            "Content-Language",
            get.content_language(),
            head.content_language(),
        ),
        ("Cache-Control", get.cache_control(), head.cache_control()),
        ("Expires", get.expires_string(), head.expires_string()),
    ];
    let expected = [
        "text/plain; charset=utf-8",
        "gzip",
        "attachment; filename=\"report 2030.txt\"",
        "de-CH",
        "max-age=3600, must-revalidate",
        "Tue, 01 Jan 2030 00:00:00 GMT",
    ];
    for ((name, from_get, from_head), want) in rows.into_iter().zip(expected) {
        assert_eq!(from_get, Some(want), "GET {name}");
        assert_eq!(from_head, Some(want), "HEAD {name}");
    }
    for metadata in [get.metadata(), head.metadata()] {
        let metadata = metadata.cloned().unwrap_or_default();
        // S3 stores user metadata names in lowercase.
        assert_eq!(metadata.get("color").map(String::as_str), Some("blue"));
        assert_eq!(
            metadata.get("mixed-case-name").map(String::as_str),
            Some("Value with spaces, commas")
        );
        assert_eq!(metadata.get("empty-ish").map(String::as_str), Some("-"));
        assert_eq!(metadata.len(), 3, "unexpected metadata {metadata:?}");
    }
    let body = get.body.collect().await.unwrap().into_bytes();
    assert_eq!(
        body.as_ref(),
        b"not really gzip",
        "Content-Encoding must not transform the body"
    );
}

#[tokio::test]
async fn response_overrides_on_get_replace_stored_headers() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("overrides");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "doc", b"override me").await;
    let get = client
        .get_object()
        .bucket(&bucket)
        .key("doc")
        .response_content_type("application/x-override")
        .response_content_disposition("inline")
        .response_cache_control("no-store")
        .response_content_language("fr")
        .send()
        .await
        .expect("GET with response overrides");
    assert_eq!(get.content_type(), Some("application/x-override"));
    assert_eq!(get.content_disposition(), Some("inline"));
    assert_eq!(get.cache_control(), Some("no-store"));
    assert_eq!(get.content_language(), Some("fr"));
}
