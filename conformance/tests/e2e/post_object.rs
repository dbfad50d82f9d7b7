//! POST Object (browser-form uploads) with hand-built forms: SigV4 and V2
//! policy signatures, each condition kind, the success answers (201 XML,
//! 200, 204, 303 redirect), and each refusal as S3 answers it. Objects are
//! checked through the SDK; a refused upload must leave nothing.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use conformance::expect::xml_element;
use conformance::post_form::{date_parts, form_body, sign_policy_v4, PostForm};
use conformance::{unique_bucket, RawResponse, TestServer};
use md5::{Digest, Md5};

use crate::common::{assert_object_absent, create_bucket, get_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

fn v4(
    server: &TestServer,
    expires_in: i64,
    conditions: &[String],
    fields: &[(&str, &str)],
) -> PostForm {
    PostForm::v4(
        server.access_key(),
        server.secret_key(),
        expires_in,
        conditions,
        fields,
    )
}

async fn post_form(
    server: &TestServer,
    bucket: &str,
    fields: &[(String, String)],
    filename: &str,
    file: &[u8],
) -> RawResponse {
    let (content_type, body) = form_body(fields, filename, file);
    // A redirect answer is checked, not followed.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let response = client
        .post(format!("{}/{bucket}", server.endpoint()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST form");
    RawResponse::from_reqwest(response).await.unwrap()
}

fn quoted_md5(data: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(data)))
}

#[tokio::test]
async fn signed_form_with_every_condition_kind_stores_the_object() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-v4");
    create_bucket(&client, &bucket).await;
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"["starts-with","$key","uploads/"]"#.to_string(),
        r#"["eq","$Content-Type","text/plain"]"#.to_string(),
        r#"["content-length-range",1,1024]"#.to_string(),
        r#"{"success_action_status":"201"}"#.to_string(),
        r#"["starts-with","$x-amz-meta-owner",""]"#.to_string(),
        r#"["eq","$Cache-Control","max-age=60"]"#.to_string(),
    ];
    let form = v4(
        server,
        600,
        &conditions,
        &[
            ("key", "uploads/${filename}"),
            ("Content-Type", "text/plain"),
            ("success_action_status", "201"),
            ("x-amz-meta-owner", "alice"),
            ("Cache-Control", "max-age=60"),
            // Exempt from the policy, as S3 exempts them.
            ("x-ignore-tracking", "anything"),
        ],
    );
    let data = b"hello from a browser form";
    let response = post_form(server, &bucket, &form.fields, "notes.txt", data).await;
    assert_eq!(response.status, 201, "{}", response.text());
    let xml = response.text();
    assert!(xml.contains("<PostResponse>"), "{xml}");
    assert_eq!(
        xml_element(&xml, "Bucket").as_deref(),
        Some(bucket.as_str())
    );
    assert_eq!(
        xml_element(&xml, "Key").as_deref(),
        Some("uploads/notes.txt")
    );
    assert_eq!(
        xml_element(&xml, "ETag").map(|e| e.replace("&quot;", "\"")),
        Some(quoted_md5(data))
    );
    assert_eq!(response.header("etag"), Some(quoted_md5(data).as_str()));

    assert_eq!(get_bytes(&client, &bucket, "uploads/notes.txt").await, data);
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("uploads/notes.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("alice")
    );
}

#[tokio::test]
async fn success_status_and_redirect_answer_as_s3() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-status");
    create_bucket(&client, &bucket).await;
    let base = [
        format!(r#"["eq","$bucket","{bucket}"]"#),
        r#"["starts-with","$key",""]"#.to_string(),
    ];

    // No success field: 204 with ETag and Location.
    let form = v4(server, 600, &base, &[("key", "plain")]);
    let response = post_form(server, &bucket, &form.fields, "a.bin", b"one").await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(response.header("etag"), Some(quoted_md5(b"one").as_str()));
    assert!(response
        .header("location")
        .is_some_and(|l| l.ends_with(&format!("/{bucket}/plain"))));

    let mut conditions = base.to_vec();
    conditions.push(r#"["eq","$success_action_status","200"]"#.to_string());
    let form = v4(
        server,
        600,
        &conditions,
        &[("key", "two"), ("success_action_status", "200")],
    );
    let response = post_form(server, &bucket, &form.fields, "b.bin", b"two").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.body.is_empty());

    let mut conditions = base.to_vec();
    conditions.push(
        r#"["starts-with","$success_action_redirect","https://app.example/done"]"#.to_string(),
    );
    let form = v4(
        server,
        600,
        &conditions,
        &[
            ("key", "dir/three file"),
            (
                "success_action_redirect",
                "https://app.example/done?from=form",
            ),
        ],
    );
    let response = post_form(server, &bucket, &form.fields, "c.bin", b"three").await;
    assert_eq!(response.status, 303, "{}", response.text());
    let location = response.header("location").unwrap();
    let etag_encoded = format!("%22{}%22", hex::encode(Md5::digest(b"three")));
    assert_eq!(
        location,
        format!(
            "https://app.example/done?from=form&bucket={bucket}&key=dir%2Fthree%20file&etag={etag_encoded}"
        )
    );
    assert_eq!(
        get_bytes(&client, &bucket, "dir/three file").await,
        b"three"
    );
}

#[tokio::test]
async fn sigv2_signed_form_is_accepted_and_a_wrong_signature_refused() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-v2");
    create_bucket(&client, &bucket).await;
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"{"key":"v2.txt"}"#.to_string(),
    ];
    let form = PostForm::v2(
        server.access_key(),
        server.secret_key(),
        &conditions,
        &[("key", "v2.txt")],
    );
    let response = post_form(server, &bucket, &form.fields, "v2.txt", b"v2 body").await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(get_bytes(&client, &bucket, "v2.txt").await, b"v2 body");

    let tampered = PostForm::v2(
        server.access_key(),
        server.secret_key(),
        &conditions,
        &[("key", "v2.txt")],
    )
    .set("signature", &STANDARD.encode([0u8; 20]));
    post_form(server, &bucket, &tampered.fields, "x", b"other")
        .await
        .assert_error(403, "SignatureDoesNotMatch");
    assert_eq!(get_bytes(&client, &bucket, "v2.txt").await, b"v2 body");
}

#[tokio::test]
async fn refused_forms_answer_s3_errors_and_store_nothing() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-refused");
    create_bucket(&client, &bucket).await;
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"["starts-with","$key","ok/"]"#.to_string(),
        r#"["content-length-range",10,100]"#.to_string(),
    ];
    let good = || v4(server, 600, &conditions, &[("key", "ok/file")]);
    let file = [7u8; 50];

    // Each refusal: (what, form, file, status, code, message fragment).
    let too_large = vec![1u8; 3 * 1024 * 1024];
    type Refusal<'a> = (&'a str, PostForm, &'a [u8], u16, &'a str, &'a str);
    let cases: Vec<Refusal> = vec![
        (
            "bad signature",
            good().set("x-amz-signature", &"0".repeat(64)),
            &file,
            403,
            "SignatureDoesNotMatch",
            "",
        ),
        (
            "wrong secret",
            PostForm::v4(
                server.access_key(),
                "not-the-secret",
                600,
                &conditions,
                &[("key", "ok/file")],
            ),
            &file,
            403,
            "SignatureDoesNotMatch",
            "",
        ),
        (
            "expired policy",
            v4(server, -60, &conditions, &[("key", "ok/file")]),
            &file,
            403,
            "AccessDenied",
            "Policy expired",
        ),
        (
            "key outside the starts-with condition",
            good().set("key", "elsewhere/file"),
            &file,
            403,
            "AccessDenied",
            "Invalid according to Policy",
        ),
        (
            "field no condition covers",
            good().set("x-amz-meta-smuggled", "1"),
            &file,
            403,
            "AccessDenied",
            "Extra input fields: x-amz-meta-smuggled",
        ),
        (
            "policy that is not JSON",
            good().set("policy", &STANDARD.encode("not json")),
            &file,
            // The signature covers the policy text, so re-signing is not
            // needed to reach the document check: the signature fails first.
            403,
            "SignatureDoesNotMatch",
            "",
        ),
        (
            "fields before the file over 64 KiB",
            good().set("x-ignore-padding", &"p".repeat(70 * 1024)),
            &file,
            400,
            "MaxPostPreDataLengthExceededError",
            "",
        ),
        (
            "server-side encryption without a KMS",
            good().set("x-amz-server-side-encryption", "AES256"),
            &file,
            501,
            "NotImplemented",
            "KMS",
        ),
        (
            "file over content-length-range",
            good(),
            &too_large,
            400,
            "EntityTooLarge",
            "",
        ),
        (
            "file under content-length-range",
            good(),
            &[1u8; 3],
            400,
            "EntityTooSmall",
            "",
        ),
        (
            "unknown access key",
            good().set(
                "x-amz-credential",
                &format!(
                    "nosuchkey/{}/us-east-1/s3/aws4_request",
                    date_parts(SystemTime::now()).2
                ),
            ),
            &file,
            403,
            "InvalidAccessKeyId",
            "",
        ),
    ];
    for (what, form, file, status, code, fragment) in cases {
        let response = post_form(server, &bucket, &form.fields, "f.bin", file).await;
        assert_eq!(
            (response.status, response.error_code().as_deref()),
            (status, Some(code)),
            "{what}: {}",
            response.text()
        );
        let message = response.error_message().unwrap_or_default();
        assert!(message.contains(fragment), "{what}: message {message:?}");
        assert_object_absent(&client, &bucket, "ok/file").await;
        assert_object_absent(&client, &bucket, "elsewhere/file").await;
    }

    // A signed policy that is not a policy document: 400 InvalidPolicyDocument.
    let not_a_policy = STANDARD.encode(r#"{"conditions":[]}"#);
    let now = SystemTime::now();
    let (_, amz_date, day) = date_parts(now);
    let credential = format!("{}/{day}/us-east-1/s3/aws4_request", server.access_key());
    let fields: Vec<(String, String)> = [
        ("key", "ok/file".to_string()),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_string()),
        ("x-amz-credential", credential),
        ("x-amz-date", amz_date),
        ("policy", not_a_policy.clone()),
        (
            "x-amz-signature",
            sign_policy_v4(server.secret_key(), &day, &not_a_policy),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    post_form(server, &bucket, &fields, "f.bin", &file)
        .await
        .assert_error(400, "InvalidPolicyDocument");

    // Not a form at all.
    let response = server
        .http_client()
        .post(format!("{}/{bucket}", server.endpoint()))
        .header("content-type", "application/octet-stream")
        .body("raw")
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(response)
        .await
        .unwrap()
        .assert_error(412, "PreconditionFailed");

    // The file must come with a key.
    let no_key = v4(server, 600, &conditions, &[]);
    post_form(server, &bucket, &no_key.fields, "f.bin", &file)
        .await
        .assert_error(400, "InvalidArgument");
    assert_object_absent(&client, &bucket, "ok/file").await;

    // The good form still works after all that.
    let response = post_form(server, &bucket, &good().fields, "f.bin", &file).await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(get_bytes(&client, &bucket, "ok/file").await, file);
}

#[tokio::test]
async fn unsigned_form_is_decided_by_the_bucket_policy() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-anon");
    create_bucket(&client, &bucket).await;
    let fields = |key: &str| vec![("key".to_string(), key.to_string())];

    post_form(server, &bucket, &fields("public/a.txt"), "a.txt", b"anon")
        .await
        .assert_error(403, "AccessDenied");
    assert_object_absent(&client, &bucket, "public/a.txt").await;

    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["*"]}},"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::{bucket}/public/*"]}}]}}"#
    );
    client
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    let response = post_form(server, &bucket, &fields("public/a.txt"), "a.txt", b"anon").await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(get_bytes(&client, &bucket, "public/a.txt").await, b"anon");

    post_form(server, &bucket, &fields("private/b.txt"), "b.txt", b"anon")
        .await
        .assert_error(403, "AccessDenied");
    assert_object_absent(&client, &bucket, "private/b.txt").await;
}

#[tokio::test]
async fn checksum_field_is_verified_and_stored() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-checksum");
    create_bucket(&client, &bucket).await;
    let data = b"checked by crc32";
    let crc = STANDARD.encode(crc32fast::hash(data).to_be_bytes());
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"["starts-with","$key","sum/"]"#.to_string(),
        r#"["starts-with","$x-amz-checksum-crc32",""]"#.to_string(),
    ];
    let wrong = STANDARD.encode(0u32.to_be_bytes());
    let form = v4(
        server,
        600,
        &conditions,
        &[("key", "sum/bad"), ("x-amz-checksum-crc32", &wrong)],
    );
    post_form(server, &bucket, &form.fields, "f", data)
        .await
        .assert_error(400, "BadDigest");
    assert_object_absent(&client, &bucket, "sum/bad").await;

    let form = v4(
        server,
        600,
        &conditions,
        &[("key", "sum/good"), ("x-amz-checksum-crc32", &crc)],
    );
    let response = post_form(server, &bucket, &form.fields, "f", data).await;
    assert_eq!(response.status, 204, "{}", response.text());
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("sum/good")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc32(), Some(crc.as_str()));
}

#[tokio::test]
async fn fields_after_the_file_are_ignored() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("post-trailing");
    create_bucket(&client, &bucket).await;
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"{"key":"late"}"#.to_string(),
    ];
    let form = v4(server, 600, &conditions, &[("key", "late")]);
    let (content_type, mut body) = form_body(&form.fields, "f", b"the file");
    // Reopen the form after the file: S3 reads up to the file and ignores
    // the rest, so no condition is needed for what follows it.
    let boundary = content_type.split("boundary=").nth(1).unwrap().to_string();
    let closing = format!("\r\n--{boundary}--\r\n");
    body.truncate(body.len() - closing.len());
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"x-amz-meta-late\"\r\n\r\nafter the file{closing}"
        )
        .as_bytes(),
    );
    let response = server
        .http_client()
        .post(format!("{}/{bucket}", server.endpoint()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let response = RawResponse::from_reqwest(response).await.unwrap();
    assert_eq!(response.status, 204, "{}", response.text());
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("late")
        .send()
        .await
        .unwrap();
    assert!(head.metadata().is_none_or(|m| !m.contains_key("late")));
    assert_eq!(get_bytes(&client, &bucket, "late").await, b"the file");
}
