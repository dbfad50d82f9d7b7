//! ListObjectsV2 parameters on a small bucket: a continuation token wins over `start-after`, an
//! empty `continuation-token` is no token, `encoding-type=url` encodes keys, prefix, delimiter,
//! start-after and common prefixes with a space as `%20` (never `+`); and ListBuckets paging
//! (`max-buckets`, `continuation-token`, `prefix`).

use std::sync::OnceLock;

use conformance::expect::xml_element;
use conformance::raw_http::send_signed;
use conformance::{expect_s3_error, unique_bucket, PayloadSigning, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const KEYS: [&str; 6] = ["a", "b", "c", "d e/f", "d e/g", "x y"];

async fn small_bucket(server: &TestServer, scenario: &str) -> String {
    let client = server.s3_client();
    let bucket = unique_bucket(scenario);
    create_bucket(&client, &bucket).await;
    for key in KEYS {
        put_bytes(&client, &bucket, key, key.as_bytes()).await;
    }
    bucket
}

async fn get(server: &TestServer, path_and_query: &str) -> String {
    let response = send_signed(
        server,
        "GET",
        path_and_query,
        &[],
        Vec::new(),
        PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert_eq!(
        response.status,
        200,
        "{path_and_query}: {}",
        response.text()
    );
    response.text()
}

/// Every `<Key>` of a listing body, in order.
fn keys_of(xml: &str) -> Vec<String> {
    xml.split("<Key>")
        .skip(1)
        .map(|rest| rest[..rest.find("</Key>").unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn continuation_token_wins_over_start_after_and_empty_token_is_none() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = small_bucket(server, "list-token").await;
    let first = client
        .list_objects_v2()
        .bucket(&bucket)
        .max_keys(1)
        .send()
        .await
        .unwrap();
    let token = first.next_continuation_token().expect("truncated page");
    // minio-py and others send start-after again with every token; the token decides.
    let second = client
        .list_objects_v2()
        .bucket(&bucket)
        .continuation_token(token)
        .start_after("c")
        .max_keys(2)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = second.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        vec!["b", "c"],
        "the page after the token, not after start-after"
    );
    assert_eq!(
        second.start_after(),
        Some("c"),
        "start-after is still echoed"
    );

    let body = get(
        server,
        &format!("/{bucket}?list-type=2&continuation-token=&max-keys=1000"),
    )
    .await;
    assert_eq!(
        keys_of(&body),
        KEYS.to_vec(),
        "an empty token starts at the beginning"
    );
    let body = get(
        server,
        &format!("/{bucket}?list-type=2&continuation-token=&start-after=c"),
    )
    .await;
    assert_eq!(
        keys_of(&body),
        vec!["d e/f", "d e/g", "x y"],
        "an empty token leaves start-after in force"
    );
}

#[tokio::test]
async fn encoding_type_url_encodes_every_name_with_percent_20_for_spaces() {
    let server = shared_server(&SERVER);
    let bucket = small_bucket(server, "list-encoding").await;
    let body = get(server, &format!("/{bucket}?list-type=2&encoding-type=url")).await;
    assert_eq!(
        keys_of(&body),
        vec!["a", "b", "c", "d%20e/f", "d%20e/g", "x%20y"]
    );
    assert!(!body.contains('+'), "a space is never +: {body}");
    assert_eq!(xml_element(&body, "EncodingType").as_deref(), Some("url"));

    let body = get(
        server,
        &format!(
            "/{bucket}?list-type=2&encoding-type=url&prefix=d%20&delimiter=%2F&start-after=d%20"
        ),
    )
    .await;
    assert_eq!(xml_element(&body, "Prefix").as_deref(), Some("d%20"));
    assert_eq!(xml_element(&body, "StartAfter").as_deref(), Some("d%20"));
    assert_eq!(xml_element(&body, "Delimiter").as_deref(), Some("/"));
    assert!(
        body.contains("<CommonPrefixes><Prefix>d%20e/</Prefix></CommonPrefixes>"),
        "{body}"
    );

    // A delimiter that itself needs encoding.
    let body = get(
        server,
        &format!("/{bucket}?list-type=2&encoding-type=url&delimiter=%20"),
    )
    .await;
    assert_eq!(xml_element(&body, "Delimiter").as_deref(), Some("%20"));
    assert!(
        body.contains("<CommonPrefixes><Prefix>d%20</Prefix></CommonPrefixes>")
            && body.contains("<CommonPrefixes><Prefix>x%20</Prefix></CommonPrefixes>"),
        "{body}"
    );
    assert_eq!(keys_of(&body), vec!["a", "b", "c"]);
    assert!(!body.contains('+'), "{body}");
}

#[tokio::test]
async fn list_buckets_pages_with_max_buckets_continuation_token_and_prefix() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let stem = unique_bucket("lb");
    let names: Vec<String> = (0..3).map(|i| format!("{stem}-{i}")).collect();
    for name in &names {
        create_bucket(&client, name).await;
    }
    let first = client
        .list_buckets()
        .prefix(&stem)
        .max_buckets(2)
        .send()
        .await
        .expect("ListBuckets with max-buckets");
    let got: Vec<&str> = first.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(got, vec![names[0].as_str(), names[1].as_str()]);
    assert_eq!(first.prefix(), Some(stem.as_str()));
    let token = first.continuation_token().expect("a token for the rest");
    let second = client
        .list_buckets()
        .prefix(&stem)
        .max_buckets(2)
        .continuation_token(token)
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = second.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(got, vec![names[2].as_str()]);
    assert_eq!(
        second.continuation_token(),
        None,
        "the last page has no token"
    );

    let all = client.list_buckets().prefix(&stem).send().await.unwrap();
    assert_eq!(all.buckets().len(), 3);
    assert_eq!(all.continuation_token(), None);

    expect_s3_error(
        client.list_buckets().max_buckets(0).send().await,
        400,
        "InvalidArgument",
    );
    expect_s3_error(
        client.list_buckets().max_buckets(10_001).send().await,
        400,
        "InvalidArgument",
    );
}
