//! DeleteObjects (batch delete) in verbose and quiet mode, including keys that do not exist
//! (S3 reports them deleted), and single DeleteObject of a missing key (204).

use std::sync::OnceLock;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use conformance::{unique_bucket, TestServer};

use crate::common::{
    assert_object_absent, create_bucket, list_keys, put_bytes, shared_server, WireHeaders,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

fn delete_request(keys: &[&str], quiet: bool) -> Delete {
    let objects = keys
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
        .collect();
    Delete::builder()
        .set_objects(Some(objects))
        .quiet(quiet)
        .build()
        .unwrap()
}

#[tokio::test]
async fn verbose_batch_delete_reports_every_key() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("delete-verbose");
    create_bucket(&client, &bucket).await;
    for key in ["a", "b/c", "d e"] {
        put_bytes(&client, &bucket, key, key.as_bytes()).await;
    }
    put_bytes(&client, &bucket, "survivor", b"s").await;

    let wire = WireHeaders::default();
    let output = client
        .delete_objects()
        .bucket(&bucket)
        .delete(delete_request(&["a", "b/c", "d e", "never-existed"], false))
        .customize()
        .config_override(aws_sdk_s3::Config::builder().interceptor(wire.clone()))
        .send()
        .await
        .expect("DeleteObjects");
    // The default SDK protects DeleteObjects with a CRC32, not Content-MD5: servers that
    // insist on Content-MD5 fail here.
    assert!(
        wire.last_value("x-amz-checksum-crc32").is_some(),
        "{:?}",
        wire.last()
    );
    assert_eq!(wire.last_value("content-md5"), None);
    let mut deleted: Vec<&str> = output.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(deleted, vec!["a", "b/c", "d e", "never-existed"]);
    assert!(output.errors().is_empty(), "errors: {:?}", output.errors());
    for key in ["a", "b/c", "d e"] {
        assert_object_absent(&client, &bucket, key).await;
    }
    assert_eq!(list_keys(&client, &bucket, "").await, vec!["survivor"]);
}

#[tokio::test]
async fn quiet_batch_delete_reports_nothing_and_deletes() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("delete-quiet");
    create_bucket(&client, &bucket).await;
    let keys: Vec<String> = (0..50).map(|i| format!("k{i:03}")).collect();
    for key in &keys {
        put_bytes(&client, &bucket, key, b"x").await;
    }
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let output = client
        .delete_objects()
        .bucket(&bucket)
        .delete(delete_request(&key_refs, true))
        .send()
        .await
        .expect("DeleteObjects quiet");
    assert!(
        output.deleted().is_empty(),
        "quiet mode listed {:?}",
        output.deleted()
    );
    assert!(output.errors().is_empty(), "errors: {:?}", output.errors());
    assert!(list_keys(&client, &bucket, "").await.is_empty());
    client
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket is empty");
}

#[tokio::test]
async fn delete_missing_object_is_204() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("delete-missing");
    create_bucket(&client, &bucket).await;
    client
        .delete_object()
        .bucket(&bucket)
        .key("not-there")
        .send()
        .await
        .expect("DeleteObject of a missing key succeeds");
}
