//! Bucket-level access settings through the SDK: a public-read bucket policy lets anonymous
//! clients read objects but nothing else, and disappears with DeleteBucketPolicy; a CORS
//! configuration answers browser preflights. Missing settings give S3's NoSuch* codes.

use std::sync::OnceLock;

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use conformance::{expect_s3_error, unique_bucket, RawResponse, TestServer};

use crate::common::{create_bucket, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

async fn anonymous(server: &TestServer, method: reqwest::Method, path: &str) -> RawResponse {
    let response = server
        .http_client()
        .request(method, format!("{}{}", server.endpoint(), path))
        .body(if path.ends_with("/anonymous-put") {
            "x"
        } else {
            ""
        })
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(response).await.unwrap()
}

#[tokio::test]
async fn public_read_policy_allows_anonymous_get_and_nothing_else() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("policy");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "public.txt", b"hello anonymous").await;
    expect_s3_error(
        client.get_bucket_policy().bucket(&bucket).send().await,
        404,
        "NoSuchBucketPolicy",
    );

    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["*"]}},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{bucket}/*"]}}]}}"#
    );
    client
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    let stored = client
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketPolicy");
    assert!(
        stored.policy().unwrap_or_default().contains("s3:GetObject"),
        "stored policy {:?}",
        stored.policy()
    );

    let get = anonymous(
        server,
        reqwest::Method::GET,
        &format!("/{bucket}/public.txt"),
    )
    .await;
    assert_eq!(
        get.status,
        200,
        "anonymous GET with public-read policy: {}",
        get.text()
    );
    assert_eq!(get.body, b"hello anonymous");
    anonymous(
        server,
        reqwest::Method::PUT,
        &format!("/{bucket}/anonymous-put"),
    )
    .await
    .assert_error(403, "AccessDenied");
    anonymous(server, reqwest::Method::GET, &format!("/{bucket}"))
        .await
        .assert_error(403, "AccessDenied");
    anonymous(
        server,
        reqwest::Method::DELETE,
        &format!("/{bucket}/public.txt"),
    )
    .await
    .assert_error(403, "AccessDenied");
    crate::common::assert_object_absent(&client, &bucket, "anonymous-put").await;

    client
        .delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    anonymous(
        server,
        reqwest::Method::GET,
        &format!("/{bucket}/public.txt"),
    )
    .await
    .assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn malformed_bucket_policy_is_malformed_policy_400() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("policy-bad");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client
            .put_bucket_policy()
            .bucket(&bucket)
            .policy("{ this is not a policy")
            .send()
            .await,
        400,
        "MalformedPolicy",
    );
    expect_s3_error(
        client.get_bucket_policy().bucket(&bucket).send().await,
        404,
        "NoSuchBucketPolicy",
    );
}

#[tokio::test]
async fn cors_configuration_answers_preflight_requests() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("cors");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client.get_bucket_cors().bucket(&bucket).send().await,
        404,
        "NoSuchCORSConfiguration",
    );
    let rule = CorsRule::builder()
        .allowed_origins("https://app.example.com")
        .allowed_methods("GET")
        .allowed_methods("PUT")
        .allowed_headers("*")
        .max_age_seconds(600)
        .build()
        .unwrap();
    client
        .put_bucket_cors()
        .bucket(&bucket)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutBucketCors");
    let stored = client
        .get_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketCors");
    assert_eq!(stored.cors_rules().len(), 1);
    assert_eq!(
        stored.cors_rules()[0].allowed_origins(),
        ["https://app.example.com"]
    );

    let preflight = |origin: &'static str, method: &'static str| {
        let url = format!("{}/{bucket}/object", server.endpoint());
        let http = server.http_client();
        async move {
            let response = http
                .request(reqwest::Method::OPTIONS, url)
                .header("origin", origin)
                .header("access-control-request-method", method)
                .send()
                .await
                .unwrap();
            RawResponse::from_reqwest(response).await.unwrap()
        }
    };
    let allowed = preflight("https://app.example.com", "PUT").await;
    assert_eq!(allowed.status, 200, "allowed preflight: {}", allowed.text());
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let allowed_methods = allowed
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(
        allowed_methods.contains("PUT"),
        "Allow-Methods {allowed_methods:?}"
    );

    // S3 refuses a preflight no rule matches with 403 AccessForbidden.
    preflight("https://evil.example.net", "PUT")
        .await
        .assert_error(403, "AccessForbidden");
    preflight("https://app.example.com", "DELETE")
        .await
        .assert_error(403, "AccessForbidden");

    client
        .delete_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketCors");
    expect_s3_error(
        client.get_bucket_cors().bucket(&bucket).send().await,
        404,
        "NoSuchCORSConfiguration",
    );
}

#[tokio::test]
async fn new_bucket_is_unversioned_with_owner_full_control_acl() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("versioning-acl");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "k", b"v").await;
    let versioning = client
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert!(
        versioning.status().is_none(),
        "never-versioned bucket reports {:?}",
        versioning.status()
    );
    let acl = client
        .get_bucket_acl()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketAcl");
    assert!(
        acl.grants()
            .iter()
            .any(|g| g.permission().map(|p| p.as_str()) == Some("FULL_CONTROL")),
        "bucket ACL grants {:?}",
        acl.grants()
    );
    let acl = client
        .get_object_acl()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("GetObjectAcl");
    assert!(
        acl.grants()
            .iter()
            .any(|g| g.permission().map(|p| p.as_str()) == Some("FULL_CONTROL")),
        "object ACL grants {:?}",
        acl.grants()
    );
}
