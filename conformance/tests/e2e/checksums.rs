//! S3 checksums as AWS does them: every `x-amz-checksum-*` algorithm on PutObject (header or
//! aws-chunked trailer), verified while streaming and returned by GET/HEAD with checksum mode
//! and by GetObjectAttributes; multipart uploads with COMPOSITE and FULL_OBJECT checksums
//! (part checksums listed in CompleteMultipartUpload and a whole-object checksum verified);
//! wrong values (`BadDigest`) and malformed ones (`InvalidRequest`) leaving the old version;
//! `Content-Encoding: aws-chunked,gzip` stored as `gzip`.

use std::sync::OnceLock;
use std::time::SystemTime;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm as SdkAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload,
    CompletedPart, ObjectAttributes,
};
use aws_sdk_s3::Client;
use base64::Engine as _;
use conformance::raw_http::{send_signed, send_with_headers};
use conformance::{expect_s3_error, pattern_bytes, unique_bucket, PayloadSigning, TestServer};
use sha2::Digest as _;

use crate::common::{
    assert_object_absent, create_bucket, get_bytes, put_bytes, shared_server, within, WireHeaders,
    RESPONSE_DEADLINE,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

const MIB: usize = 1024 * 1024;

const ALGORITHMS: [SdkAlgorithm; 5] = [
    SdkAlgorithm::Crc32,
    SdkAlgorithm::Crc32C,
    SdkAlgorithm::Crc64Nvme,
    SdkAlgorithm::Sha1,
    SdkAlgorithm::Sha256,
];

/// The raw big-endian digest, computed here independently of the server.
fn raw_digest(algorithm: &SdkAlgorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        SdkAlgorithm::Crc32 => crc32fast::hash(data).to_be_bytes().to_vec(),
        SdkAlgorithm::Crc32C => (crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data)
            as u32)
            .to_be_bytes()
            .to_vec(),
        SdkAlgorithm::Crc64Nvme => crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, data)
            .to_be_bytes()
            .to_vec(),
        SdkAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        SdkAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        other => panic!("no test digest for {other:?}"),
    }
}

fn b64(raw: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn header_name(algorithm: &SdkAlgorithm) -> String {
    format!("x-amz-checksum-{}", algorithm.as_str().to_ascii_lowercase())
}

/// The value of `algorithm`'s field in any output with the five checksum getters.
macro_rules! checksum_of {
    ($output:expr, $algorithm:expr) => {
        match $algorithm {
            SdkAlgorithm::Crc32 => $output.checksum_crc32(),
            SdkAlgorithm::Crc32C => $output.checksum_crc32_c(),
            SdkAlgorithm::Crc64Nvme => $output.checksum_crc64_nvme(),
            SdkAlgorithm::Sha1 => $output.checksum_sha1(),
            SdkAlgorithm::Sha256 => $output.checksum_sha256(),
            _ => None,
        }
        .map(str::to_string)
    };
}

/// GET and HEAD with checksum mode and GetObjectAttributes all report `expected` of `algorithm`
/// with `checksum_type`, and the body reads back whole.
async fn assert_checksum_reported(
    client: &Client,
    bucket: &str,
    key: &str,
    algorithm: &SdkAlgorithm,
    expected: &str,
    checksum_type: ChecksumType,
    data: &[u8],
) {
    let get = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: GET: {e:?}"));
    assert_eq!(
        checksum_of!(get, algorithm).as_deref(),
        Some(expected),
        "{key}: GET"
    );
    assert_eq!(get.checksum_type(), Some(&checksum_type), "{key}: GET type");
    let body = get.body.collect().await.expect("body").into_bytes();
    assert!(body.as_ref() == data, "{key}: content differs");
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: HEAD: {e:?}"));
    assert_eq!(
        checksum_of!(head, algorithm).as_deref(),
        Some(expected),
        "{key}: HEAD"
    );
    assert_eq!(
        head.checksum_type(),
        Some(&checksum_type),
        "{key}: HEAD type"
    );
    let attributes = client
        .get_object_attributes()
        .bucket(bucket)
        .key(key)
        .object_attributes(ObjectAttributes::Checksum)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: GetObjectAttributes: {e:?}"));
    let checksum = attributes.checksum().expect("Checksum attribute");
    // GetObjectAttributes shows a composite value without its `-N` suffix, as S3 does.
    let bare = expected.split('-').next().unwrap();
    assert_eq!(
        checksum_of!(checksum, algorithm).as_deref().map(|v| v
            .split('-')
            .next()
            .unwrap()
            .to_string()),
        Some(bare.to_string()),
        "{key}: GetObjectAttributes"
    );
    assert_eq!(
        checksum.checksum_type(),
        Some(&checksum_type),
        "{key}: attributes type"
    );
}

#[tokio::test]
async fn put_object_with_each_algorithm_is_verified_stored_and_returned() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-put");
    create_bucket(&client, &bucket).await;
    let dir = tempfile::tempdir().unwrap();
    for (index, algorithm) in ALGORITHMS.iter().enumerate() {
        // In memory (the SDK sends a header) and from a file (an aws-chunked trailer).
        let data = pattern_bytes(300 * 1024 + index, index as u64 + 40);
        let expected = b64(&raw_digest(algorithm, &data));
        let path = dir.path().join(format!("f{index}"));
        std::fs::write(&path, &data).unwrap();
        for (how, body) in [
            ("memory", ByteStream::from(data.clone())),
            ("file", ByteStream::from_path(&path).await.unwrap()),
        ] {
            let key = format!("{}-{how}", algorithm.as_str());
            let wire = WireHeaders::default();
            let put = client
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .checksum_algorithm(algorithm.clone())
                .body(body)
                .customize()
                .config_override(aws_sdk_s3::Config::builder().interceptor(wire.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}: {e:?}"));
            let sent_as_header = wire.last_value(&header_name(algorithm)).is_some();
            let sent_as_trailer = wire.last_value("x-amz-trailer") == Some(header_name(algorithm));
            assert!(
                sent_as_header || sent_as_trailer,
                "{key}: the SDK sent no checksum"
            );
            assert_eq!(
                checksum_of!(put, algorithm).as_deref(),
                Some(expected.as_str()),
                "{key}: PUT echo"
            );
            assert_checksum_reported(
                &client,
                &bucket,
                &key,
                algorithm,
                &expected,
                ChecksumType::FullObject,
                &data,
            )
            .await;
        }
    }
}

#[tokio::test]
async fn default_sdk_put_sends_a_crc_that_reads_back() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-default");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(MIB + 3, 50);
    put_bytes(&client, &bucket, "k", &data).await;
    assert_checksum_reported(
        &client,
        &bucket,
        "k",
        &SdkAlgorithm::Crc32,
        &b64(&raw_digest(&SdkAlgorithm::Crc32, &data)),
        ChecksumType::FullObject,
        &data,
    )
    .await;
}

#[tokio::test]
async fn wrong_checksum_is_bad_digest_and_malformed_is_invalid_request_keeping_the_old_version() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-wrong");
    create_bucket(&client, &bucket).await;
    let old = b"the old version".to_vec();
    put_bytes(&client, &bucket, "k", &old).await;
    let data = pattern_bytes(70 * 1024, 51);
    for algorithm in &ALGORITHMS {
        let name = header_name(algorithm);
        let wrong = b64(&raw_digest(algorithm, b"another body"));
        let too_long = b64(&[0u8; 33]);
        for (value, status, code, message) in [
            (
                wrong.as_str(),
                400,
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    algorithm.as_str()
                ),
            ),
            (
                "not base64!",
                400,
                "InvalidRequest",
                format!("Value for {name} header is invalid."),
            ),
            (
                too_long.as_str(),
                400,
                "InvalidRequest",
                format!("Value for {name} header is invalid."),
            ),
        ] {
            let response = within(
                RESPONSE_DEADLINE,
                &name,
                send_signed(
                    server,
                    "PUT",
                    &format!("/{bucket}/k"),
                    &[(name.as_str(), value)],
                    data.clone(),
                    PayloadSigning::Sha256,
                ),
            )
            .await
            .unwrap();
            response.assert_error(status, code);
            assert_eq!(
                response.error_message().as_deref(),
                Some(message.as_str()),
                "{name}: {value}"
            );
            assert_eq!(
                get_bytes(&client, &bucket, "k").await,
                old,
                "{name}: old version"
            );
        }
    }
    assert_object_absent(&client, &bucket, "never").await;
}

/// Signs and sends an aws-chunked PUT whose Content-Encoding is `content_encoding`.
async fn aws_chunked_put_with_encoding(
    server: &TestServer,
    path: &str,
    payload: &[u8],
    content_encoding: &str,
) -> conformance::RawResponse {
    let signer = server.signer();
    let time = SystemTime::now();
    let crc = b64(&raw_digest(&SdkAlgorithm::Crc32, payload));
    let headers = vec![
        ("content-encoding".to_string(), content_encoding.to_string()),
        (
            "x-amz-decoded-content-length".to_string(),
            payload.len().to_string(),
        ),
        (
            "x-amz-trailer".to_string(),
            "x-amz-checksum-crc32".to_string(),
        ),
    ];
    let signed = signer.sign_headers(
        "PUT",
        path,
        &headers,
        &[],
        &PayloadSigning::StreamingSignedTrailer,
        time,
    );
    let body = signer.aws_chunked_signed_body(
        payload,
        64 * 1024,
        &signed.signature,
        time,
        Some(("x-amz-checksum-crc32", &crc)),
    );
    within(
        RESPONSE_DEADLINE,
        path,
        send_with_headers(server, "PUT", path, &signed.headers, body),
    )
    .await
    .expect("sending aws-chunked PUT")
}

#[tokio::test]
async fn aws_chunked_is_stripped_from_content_encoding_and_gzip_kept() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-encoding");
    create_bucket(&client, &bucket).await;
    let data = pattern_bytes(100 * 1024, 52);
    for (key, encoding) in [
        ("a", "aws-chunked,gzip"),
        ("b", "gzip,aws-chunked"),
        ("c", "aws-chunked"),
    ] {
        let response =
            aws_chunked_put_with_encoding(server, &format!("/{bucket}/{key}"), &data, encoding)
                .await;
        assert_eq!(response.status, 200, "{encoding}: {}", response.text());
        let head = client
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let expected = (encoding != "aws-chunked").then_some("gzip");
        assert_eq!(head.content_encoding(), expected, "{encoding}");
        assert_eq!(get_bytes(&client, &bucket, key).await, data, "{encoding}");
    }
    // The SDK adds `aws-chunked` itself to a streamed body with Content-Encoding gzip.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), &data).unwrap();
    let wire = WireHeaders::default();
    client
        .put_object()
        .bucket(&bucket)
        .key("sdk")
        .content_encoding("gzip")
        .body(ByteStream::from_path(dir.path().join("f")).await.unwrap())
        .customize()
        .config_override(aws_sdk_s3::Config::builder().interceptor(wire.clone()))
        .send()
        .await
        .expect("SDK streamed PUT");
    let sent: Vec<String> = wire
        .last()
        .into_iter()
        .filter(|(k, _)| k == "content-encoding")
        .map(|(_, v)| v)
        .collect();
    assert!(sent.join(",").contains("aws-chunked"), "{sent:?}");
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("sdk")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_encoding(), Some("gzip"));
}

/// Uploads `parts` with `algorithm`/`checksum_type`; returns the upload id and completed parts.
async fn upload_parts(
    client: &Client,
    bucket: &str,
    key: &str,
    algorithm: &SdkAlgorithm,
    checksum_type: &ChecksumType,
    parts: &[Vec<u8>],
) -> (String, Vec<CompletedPart>) {
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(algorithm.clone())
        .checksum_type(checksum_type.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: create: {e:?}"));
    assert_eq!(created.checksum_algorithm(), Some(algorithm), "{key}");
    assert_eq!(created.checksum_type(), Some(checksum_type), "{key}");
    let upload_id = created.upload_id().unwrap().to_string();
    let mut completed = Vec::new();
    for (index, data) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let output = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number)
            .checksum_algorithm(algorithm.clone())
            .body(data.clone().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: part {number}: {e:?}"));
        let value = checksum_of!(output, algorithm).expect("part checksum echoed");
        assert_eq!(
            value,
            b64(&raw_digest(algorithm, data)),
            "{key}: part {number}"
        );
        let part = CompletedPart::builder()
            .part_number(number)
            .e_tag(output.e_tag().unwrap());
        let part = match algorithm {
            SdkAlgorithm::Crc32 => part.checksum_crc32(value),
            SdkAlgorithm::Crc32C => part.checksum_crc32_c(value),
            SdkAlgorithm::Crc64Nvme => part.checksum_crc64_nvme(value),
            SdkAlgorithm::Sha1 => part.checksum_sha1(value),
            _ => part.checksum_sha256(value),
        };
        completed.push(part.build());
    }
    (upload_id, completed)
}

#[tokio::test]
async fn multipart_composite_and_full_object_checksums_as_aws_tabulates() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-multipart");
    create_bucket(&client, &bucket).await;
    let parts = vec![pattern_bytes(5 * MIB, 60), pattern_bytes(MIB + 7, 61)];
    let whole: Vec<u8> = parts.concat();
    let cases = [
        (SdkAlgorithm::Crc32, ChecksumType::Composite),
        (SdkAlgorithm::Crc32, ChecksumType::FullObject),
        (SdkAlgorithm::Crc32C, ChecksumType::Composite),
        (SdkAlgorithm::Crc32C, ChecksumType::FullObject),
        (SdkAlgorithm::Crc64Nvme, ChecksumType::FullObject),
        (SdkAlgorithm::Sha1, ChecksumType::Composite),
        (SdkAlgorithm::Sha256, ChecksumType::Composite),
    ];
    for (algorithm, checksum_type) in cases {
        let key = format!("{}-{}", algorithm.as_str(), checksum_type.as_str());
        let (upload_id, completed) =
            upload_parts(&client, &bucket, &key, &algorithm, &checksum_type, &parts).await;
        let expected = match checksum_type {
            ChecksumType::FullObject => b64(&raw_digest(&algorithm, &whole)),
            _ => {
                let concatenated: Vec<u8> = parts
                    .iter()
                    .flat_map(|p| raw_digest(&algorithm, p))
                    .collect();
                format!(
                    "{}-{}",
                    b64(&raw_digest(&algorithm, &concatenated)),
                    parts.len()
                )
            }
        };
        // A part checksum listed wrong is InvalidPart; nothing is committed.
        let mut wrong_parts = completed.clone();
        let bad = b64(&raw_digest(&algorithm, b"not this part"));
        let first = wrong_parts[0].clone();
        let builder = CompletedPart::builder()
            .part_number(1)
            .e_tag(first.e_tag().unwrap());
        wrong_parts[0] = match algorithm {
            SdkAlgorithm::Crc32 => builder.checksum_crc32(bad),
            SdkAlgorithm::Crc32C => builder.checksum_crc32_c(bad),
            SdkAlgorithm::Crc64Nvme => builder.checksum_crc64_nvme(bad),
            SdkAlgorithm::Sha1 => builder.checksum_sha1(bad),
            _ => builder.checksum_sha256(bad),
        }
        .build();
        let complete = client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(&key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(wrong_parts))
                    .build(),
            )
            .send()
            .await;
        expect_s3_error(complete, 400, "InvalidPart");
        assert_object_absent(&client, &bucket, &key).await;

        let complete = |object_checksum: Option<String>| {
            let request = client
                .complete_multipart_upload()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(completed.clone()))
                        .build(),
                );
            match (object_checksum, &algorithm) {
                (None, _) => request,
                (Some(v), SdkAlgorithm::Crc32) => request.checksum_crc32(v),
                (Some(v), SdkAlgorithm::Crc32C) => request.checksum_crc32_c(v),
                (Some(v), SdkAlgorithm::Crc64Nvme) => request.checksum_crc64_nvme(v),
                (Some(v), SdkAlgorithm::Sha1) => request.checksum_sha1(v),
                (Some(v), _) => request.checksum_sha256(v),
            }
            .send()
        };
        if checksum_type == ChecksumType::FullObject {
            // A whole-object checksum the client computed is verified.
            let wrong = b64(&raw_digest(&algorithm, b"another object"));
            expect_s3_error(complete(Some(wrong)).await, 400, "BadDigest");
            assert_object_absent(&client, &bucket, &key).await;
        }
        let supplied = (checksum_type == ChecksumType::FullObject).then(|| expected.clone());
        let done = complete(supplied)
            .await
            .unwrap_or_else(|e| panic!("{key}: complete: {e:?}"));
        assert_eq!(
            checksum_of!(done, &algorithm).as_deref(),
            Some(expected.as_str()),
            "{key}: complete"
        );
        assert_eq!(
            done.checksum_type(),
            Some(&checksum_type),
            "{key}: complete type"
        );
        assert_checksum_reported(
            &client,
            &bucket,
            &key,
            &algorithm,
            &expected,
            checksum_type,
            &whole,
        )
        .await;
    }
}

#[tokio::test]
async fn checksum_types_aws_forbids_are_invalid_request() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-table");
    create_bucket(&client, &bucket).await;
    for (algorithm, checksum_type) in [
        (SdkAlgorithm::Crc64Nvme, ChecksumType::Composite),
        (SdkAlgorithm::Sha1, ChecksumType::FullObject),
        (SdkAlgorithm::Sha256, ChecksumType::FullObject),
    ] {
        let created = client
            .create_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .checksum_algorithm(algorithm.clone())
            .checksum_type(checksum_type.clone())
            .send()
            .await;
        expect_s3_error(created, 400, "InvalidRequest");
    }
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "no upload was started");
}

/// Whether `python3` can import boto3, installing it from PyPI once if needed.
/// False only when python3 itself is missing.
fn boto3_available() -> bool {
    let import = || {
        std::process::Command::new("python3")
            .args(["-c", "import boto3"])
            .status()
    };
    match import() {
        Err(_) => return false,
        Ok(status) if status.success() => return true,
        Ok(_) => {}
    }
    let installed = std::process::Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "boto3"])
        .status()
        .expect("run pip");
    assert!(installed.success(), "pip install boto3 failed");
    true
}

#[test]
fn boto3_default_config_put_and_upload_file_read_back_their_crc32() {
    if !boto3_available() {
        eprintln!("python3 is missing; skipping the boto3 checksum checks");
        return;
    }
    let server = shared_server(&SERVER);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/checksums.py");
    let mut command = std::process::Command::new("python3");
    command.arg(script).args([
        server.endpoint(),
        server.access_key(),
        server.secret_key(),
        &unique_bucket("ck-boto3"),
    ]);
    let finished =
        conformance::process::run_bounded(command, None, std::time::Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&finished.stdout);
    eprintln!("{stdout}");
    for step in [
        "ok   boto3 put_object CRC32",
        "ok   boto3 upload_file multipart CRC32",
    ] {
        assert!(
            stdout.contains(step),
            "missing {step:?} in:\n{stdout}\n{}",
            finished.stderr
        );
    }
    assert_eq!(finished.code, Some(0), "{stdout}\n{}", finished.stderr);
}

#[tokio::test]
async fn upload_part_with_a_wrong_checksum_is_bad_digest_and_not_stored() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("ck-part");
    create_bucket(&client, &bucket).await;
    let created = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .checksum_algorithm(SdkAlgorithm::Crc32C)
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap();
    let data = pattern_bytes(256 * 1024, 70);
    let put = client
        .upload_part()
        .bucket(&bucket)
        .key("k")
        .upload_id(upload_id)
        .part_number(1)
        .checksum_crc32_c(b64(&raw_digest(&SdkAlgorithm::Crc32C, b"other")))
        .body(data.into())
        .send()
        .await;
    expect_s3_error(put, 400, "BadDigest");
    let parts = client
        .list_parts()
        .bucket(&bucket)
        .key("k")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "the bad part was stored");
}
