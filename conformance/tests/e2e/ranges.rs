//! Ranged GETs (`bytes=a-b`, `a-`, `-n`, clamped ends, unsatisfiable → 416 InvalidRange) on an
//! inline-sized object and on a 20 MiB object whose ranges cross erasure block boundaries.

use std::sync::OnceLock;

use conformance::{expect_s3_error, pattern_bytes, unique_bucket, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const MIB: usize = 1024 * 1024;

/// (range header, first byte, last byte) for an object of `size` bytes.
fn cases(size: usize) -> Vec<(String, usize, usize)> {
    let mut cases = vec![
        ("bytes=0-0".to_string(), 0, 0),
        (format!("bytes=0-{}", size - 1), 0, size - 1),
        (format!("bytes={}-", size / 3), size / 3, size - 1),
        ("bytes=-1".to_string(), size - 1, size - 1),
        (format!("bytes=-{}", size / 2), size - size / 2, size - 1),
        // An end past the object is clamped to the last byte.
        (
            format!("bytes={}-{}", size - 10, size + 1000),
            size - 10,
            size - 1,
        ),
        // A suffix longer than the object is the whole object.
        (format!("bytes=-{}", size + 5), 0, size - 1),
    ];
    if size > 3 * MIB {
        // Around erasure block (1 MiB) and stripe boundaries.
        cases.push((format!("bytes={}-{}", MIB - 7, MIB + 7), MIB - 7, MIB + 7));
        cases.push((
            format!("bytes={}-{}", 2 * MIB - 1, 2 * MIB),
            2 * MIB - 1,
            2 * MIB,
        ));
        cases.push((format!("bytes={}-{}", MIB, 3 * MIB - 1), MIB, 3 * MIB - 1));
        cases.push((
            format!("bytes={}-{}", 12345, 12345 + 5 * MIB),
            12345,
            12345 + 5 * MIB,
        ));
    }
    cases
}

async fn check_ranges(server: &TestServer, size: usize, seed: u64) {
    let client = server.s3_client();
    let bucket = unique_bucket("ranges");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(size, seed);
    put_bytes(&client, &bucket, "obj", &data).await;

    for (range, first, last) in cases(size) {
        let output = client
            .get_object()
            .bucket(&bucket)
            .key("obj")
            .range(&range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {range} of {size} bytes: {e:?}"));
        let expected_length = (last - first + 1) as i64;
        assert_eq!(
            output.content_length(),
            Some(expected_length),
            "{range}: Content-Length"
        );
        assert_eq!(
            output.content_range(),
            Some(format!("bytes {first}-{last}/{size}").as_str()),
            "{range}: Content-Range"
        );
        let body = output.body.collect().await.expect("body").into_bytes();
        assert!(
            body.as_ref() == &data[first..=last],
            "{range}: content differs (got {} bytes)",
            body.len()
        );
    }

    // Unsatisfiable: the first byte is at or past the end.
    for range in [
        format!("bytes={size}-"),
        format!("bytes={}-{}", size + 10, size + 20),
    ] {
        expect_s3_error(
            client
                .get_object()
                .bucket(&bucket)
                .key("obj")
                .range(&range)
                .send()
                .await,
            416,
            "InvalidRange",
        );
    }
}

#[tokio::test]
async fn ranges_on_small_inline_object() {
    check_ranges(shared_server(&SERVER), 100 * 1024 + 3, 11).await;
}

#[tokio::test]
async fn ranges_on_20_mib_object_cross_block_boundaries() {
    check_ranges(shared_server(&SERVER), 20 * MIB + 5, 12).await;
}

#[tokio::test]
async fn range_on_one_byte_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("range-one");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "one", b"z").await;
    let output = client
        .get_object()
        .bucket(&bucket)
        .key("one")
        .range("bytes=0-")
        .send()
        .await
        .expect("GET bytes=0-");
    assert_eq!(output.content_range(), Some("bytes 0-0/1"));
    assert_eq!(
        output.body.collect().await.unwrap().into_bytes().as_ref(),
        b"z"
    );
    expect_s3_error(
        client
            .get_object()
            .bucket(&bucket)
            .key("one")
            .range("bytes=1-")
            .send()
            .await,
        416,
        "InvalidRange",
    );
}
