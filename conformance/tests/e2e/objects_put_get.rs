//! Single-part PUT and GET through the default SDK: in-memory bodies (CRC32 header, real
//! SHA-256) and streaming file bodies (aws-chunked, signed chunks, signed CRC32 trailer), read
//! back byte-exact; HeadObject; full-object checksums on GET; unimplemented operations.

use std::sync::OnceLock;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use conformance::raw_http::send_signed;
use conformance::signing::crc32_base64;
use conformance::{expect_s3_error, pattern_bytes, unique_bucket, PayloadSigning, TestServer};

use crate::common::{
    create_bucket, get_bytes, put_bytes, shared_server, single_part_etag, WireHeaders,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const SIZES: [(&str, usize); 3] = [
    ("one-byte", 1),
    ("hundred-kib", 100 * 1024),
    ("twenty-mib", 20 * 1024 * 1024),
];

#[tokio::test]
async fn in_memory_bodies_of_1_b_100_kib_20_mib_round_trip() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("put-memory");
    create_bucket(&client, &bucket).await;
    for (index, (name, size)) in SIZES.iter().enumerate() {
        let data = pattern_bytes(*size, index as u64 + 1);
        let wire = WireHeaders::default();
        let etag = client
            .put_object()
            .bucket(&bucket)
            .key(*name)
            .body(data.clone().into())
            .customize()
            .config_override(aws_sdk_s3::Config::builder().interceptor(wire.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {name}: {e:?}"))
            .e_tag()
            .unwrap_or_default()
            .to_string();
        // Prove the path under test: an in-memory body carries a real SHA-256 and a CRC32 header.
        assert_eq!(
            wire.last_value("x-amz-checksum-crc32"),
            Some(crc32_base64(&data)),
            "{name}"
        );
        assert_eq!(wire.last_value("content-encoding"), None, "{name}");
        let sha = wire.last_value("x-amz-content-sha256").unwrap_or_default();
        assert!(
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}: {sha}"
        );
        assert_eq!(
            etag,
            single_part_etag(&data),
            "{name}: ETag must be the MD5"
        );
        let back = get_bytes(&client, &bucket, name).await;
        assert_eq!(back.len(), data.len(), "{name}: length");
        assert!(back == data, "{name}: content differs");
    }
}

#[tokio::test]
async fn streaming_file_bodies_go_aws_chunked_and_round_trip() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("put-stream");
    create_bucket(&client, &bucket).await;
    let dir = tempfile::tempdir().unwrap();
    for (index, (name, size)) in SIZES.iter().enumerate() {
        let data = pattern_bytes(*size, 100 + index as u64);
        let path = dir.path().join(name);
        std::fs::write(&path, &data).unwrap();
        let body = ByteStream::from_path(&path)
            .await
            .expect("ByteStream::from_path");
        let wire = WireHeaders::default();
        let output = client
            .put_object()
            .bucket(&bucket)
            .key(*name)
            .body(body)
            .customize()
            .config_override(aws_sdk_s3::Config::builder().interceptor(wire.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("streaming put {name}: {e:?}"));
        // Prove the path under test: what a default SDK sends for a file body over http://.
        assert_eq!(
            wire.last_value("content-encoding").as_deref(),
            Some("aws-chunked"),
            "{name}"
        );
        assert_eq!(
            wire.last_value("x-amz-content-sha256").as_deref(),
            Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
            "{name}"
        );
        assert_eq!(
            wire.last_value("x-amz-trailer").as_deref(),
            Some("x-amz-checksum-crc32"),
            "{name}"
        );
        assert_eq!(
            wire.last_value("x-amz-decoded-content-length"),
            Some(size.to_string()),
            "{name}"
        );
        assert_eq!(
            output.e_tag(),
            Some(single_part_etag(&data).as_str()),
            "{name}: ETag must be the MD5 of the decoded payload"
        );
        let back = get_bytes(&client, &bucket, name).await;
        assert_eq!(back.len(), data.len(), "{name}: length");
        assert!(back == data, "{name}: content differs");
    }
}

#[tokio::test]
async fn overwrite_replaces_the_whole_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("put-overwrite");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "k", &pattern_bytes(300 * 1024, 1)).await;
    let second = pattern_bytes(1000, 2);
    put_bytes(&client, &bucket, "k", &second).await;
    assert_eq!(get_bytes(&client, &bucket, "k").await, second);
    let empty: Vec<u8> = Vec::new();
    put_bytes(&client, &bucket, "k", &empty).await;
    assert_eq!(get_bytes(&client, &bucket, "k").await, empty);
}

#[tokio::test]
async fn head_object_reports_length_etag_type_and_last_modified() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("head-object");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(12345, 7);
    put_bytes(&client, &bucket, "dir/file.bin", &data).await;
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("dir/file.bin")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_length(), Some(12345));
    assert_eq!(head.e_tag(), Some(single_part_etag(&data).as_str()));
    assert!(head.last_modified().is_some(), "Last-Modified missing");
    assert!(head.content_type().is_some(), "Content-Type missing");
}

#[tokio::test]
async fn missing_key_is_no_such_key_404_and_head_not_found() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("missing-key");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client.get_object().bucket(&bucket).key("nope").send().await,
        404,
        "NoSuchKey",
    );
    expect_s3_error(
        client
            .head_object()
            .bucket(&bucket)
            .key("nope")
            .send()
            .await,
        404,
        "NotFound",
    );
}

#[tokio::test]
async fn checksum_mode_get_returns_crc32_of_whole_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("checksum-mode");
    create_bucket(&client, &bucket).await;

    // In-memory PUT: CRC32 in a header.
    let data = pattern_bytes(200 * 1024, 3);
    put_bytes(&client, &bucket, "memory", &data).await;
    // Streaming PUT: CRC32 in the signed trailer.
    let dir = tempfile::tempdir().unwrap();
    let streamed = pattern_bytes(3 * 1024 * 1024 + 17, 4);
    std::fs::write(dir.path().join("f"), &streamed).unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key("streamed")
        .body(ByteStream::from_path(dir.path().join("f")).await.unwrap())
        .send()
        .await
        .expect("streaming put");

    for (key, content) in [("memory", &data), ("streamed", &streamed)] {
        let output = client
            .get_object()
            .bucket(&bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("GetObject with checksum mode");
        assert_eq!(
            output.checksum_crc32(),
            Some(crc32_base64(content).as_str()),
            "{key}: x-amz-checksum-crc32 on GET"
        );
        let body = output.body.collect().await.expect("body").into_bytes();
        assert!(
            body.as_ref() == content.as_slice(),
            "{key}: content differs"
        );

        let head = client
            .head_object()
            .bucket(&bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("HeadObject with checksum mode");
        assert_eq!(
            head.checksum_crc32(),
            Some(crc32_base64(content).as_str()),
            "{key}: x-amz-checksum-crc32 on HEAD"
        );
    }
}

#[tokio::test]
async fn unimplemented_operation_is_not_implemented_501() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("not-implemented");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "k", b"data").await;
    // GetObjectTorrent and ListBucketInventoryConfigurations: real S3 operations minnow does
    // not implement; S3-compatible servers answer 501 NotImplemented for them.
    for path in [
        format!("/{bucket}/k?torrent"),
        format!("/{bucket}?inventory"),
    ] {
        let response = send_signed(
            server,
            "GET",
            &path,
            &[],
            Vec::new(),
            PayloadSigning::Sha256,
        )
        .await
        .expect("raw request");
        assert_eq!(
            (response.status, response.error_code().as_deref()),
            (501, Some("NotImplemented")),
            "GET {path}: got {} {:?}",
            response.status,
            response.text()
        );
    }
}

#[tokio::test]
async fn empty_file_streams_as_zero_length_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("put-empty-stream");
    create_bucket(&client, &bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty");
    std::fs::write(&path, b"").unwrap();
    let output = client
        .put_object()
        .bucket(&bucket)
        .key("empty")
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .expect("streaming PUT of an empty file");
    assert_eq!(output.e_tag(), Some(single_part_etag(b"").as_str()));
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("empty")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(0));
    assert!(get_bytes(&client, &bucket, "empty").await.is_empty());
}

#[tokio::test]
async fn keys_with_special_characters_round_trip_and_list() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("special-keys");
    create_bucket(&client, &bucket).await;
    let long_key = format!("long/{}", "k".repeat(1019));
    let keys = [
        "with space",
        "plus+sign",
        "percent%20literal",
        "ünïcødé/日本語/😀",
        "question?mark&amp=eq#hash",
        "trailing-slash/",
        "a//double//slash",
        "tilde~star*paren(s)'quote\"",
        "semi;colon:colon,comma",
        long_key.as_str(),
    ];
    for (index, key) in keys.iter().enumerate() {
        let data = format!("content of key {index}").into_bytes();
        put_bytes(&client, &bucket, key, &data).await;
        assert_eq!(get_bytes(&client, &bucket, key).await, data, "key {key:?}");
    }
    let mut listed = crate::common::list_keys(&client, &bucket, "").await;
    listed.sort();
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn concurrent_overwrites_leave_one_whole_version() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("overwrite-race");
    create_bucket(&client, &bucket).await;
    // Above the inline limit, so every version is erasure-coded and streamed.
    let versions: Vec<Vec<u8>> = (0..6)
        .map(|i| pattern_bytes(2 * 1024 * 1024 + i, 500 + i as u64))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for data in versions.clone() {
        let client = client.clone();
        let bucket = bucket.clone();
        tasks.spawn(async move { put_bytes(&client, &bucket, "contended", &data).await });
    }
    // Readers racing the writers: each GET is a whole version or NoSuchKey, never a mix.
    for _ in 0..12 {
        match client
            .get_object()
            .bucket(&bucket)
            .key("contended")
            .send()
            .await
        {
            Ok(output) => {
                let body = output.body.collect().await.expect("body").into_bytes();
                assert!(
                    versions.iter().any(|v| v.as_slice() == body.as_ref()),
                    "GET during overwrites returned {} bytes matching no version",
                    body.len()
                );
            }
            Err(error) => assert_eq!(crate::common::status_of(&error), Some(404), "{error:?}"),
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("put task");
    }
    let last = get_bytes(&client, &bucket, "contended").await;
    assert!(
        versions.contains(&last),
        "after concurrent overwrites the object ({} bytes) matches no version",
        last.len()
    );
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("contended")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.e_tag(),
        Some(single_part_etag(&last).as_str()),
        "ETag of another version"
    );
}

#[tokio::test]
async fn keys_that_prefix_each_other_coexist() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("nested-keys");
    create_bucket(&client, &bucket).await;
    // Written in both orders: file-then-"directory" and "directory"-then-file.
    let keys = ["a", "a/b", "a/b/c", "z/y/x", "z/y", "z"];
    for key in keys {
        put_bytes(&client, &bucket, key, key.as_bytes()).await;
    }
    for key in keys {
        assert_eq!(
            get_bytes(&client, &bucket, key).await,
            key.as_bytes(),
            "{key}"
        );
    }
    let listed = client
        .list_objects_v2()
        .bucket(&bucket)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let top_keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let top_prefixes: Vec<&str> = listed
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(top_keys, vec!["a", "z"]);
    assert_eq!(top_prefixes, vec!["a/", "z/"]);

    // Deleting the middle object leaves its "parent" and "child" alone.
    client
        .delete_object()
        .bucket(&bucket)
        .key("a/b")
        .send()
        .await
        .unwrap();
    crate::common::assert_object_absent(&client, &bucket, "a/b").await;
    assert_eq!(get_bytes(&client, &bucket, "a").await, b"a");
    assert_eq!(get_bytes(&client, &bucket, "a/b/c").await, b"a/b/c");
    let mut all = crate::common::list_keys(&client, &bucket, "").await;
    all.sort();
    assert_eq!(all, vec!["a", "a/b/c", "z", "z/y", "z/y/x"]);
}

#[tokio::test]
async fn conditional_put_if_none_match_and_if_match() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("conditional-put");
    create_bucket(&client, &bucket).await;
    // If-None-Match: * creates only when the key is free.
    let first = client
        .put_object()
        .bucket(&bucket)
        .key("once")
        .if_none_match("*")
        .body(b"first".to_vec().into())
        .send()
        .await
        .expect("If-None-Match: * on a free key");
    expect_s3_error(
        client
            .put_object()
            .bucket(&bucket)
            .key("once")
            .if_none_match("*")
            .body(b"second".to_vec().into())
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(get_bytes(&client, &bucket, "once").await, b"first");

    // If-Match overwrites only the version the client saw.
    expect_s3_error(
        client
            .put_object()
            .bucket(&bucket)
            .key("once")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .body(b"stale writer".to_vec().into())
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    client
        .put_object()
        .bucket(&bucket)
        .key("once")
        .if_match(first.e_tag().unwrap())
        .body(b"third".to_vec().into())
        .send()
        .await
        .expect("If-Match with the current ETag");
    assert_eq!(get_bytes(&client, &bucket, "once").await, b"third");
}
