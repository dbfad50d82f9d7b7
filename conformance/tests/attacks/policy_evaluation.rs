//! Policy evaluation as a user meets it: an explicit Deny in the user's own policy beats a bucket
//! policy's Allow, a policy with unknown or wrongly-cased elements is refused rather than stored
//! wider than it reads, and full S3 access (`Action: "*"` on `arn:aws:s3:::*`) never reaches the
//! admin API.

use std::sync::OnceLock;
use std::time::SystemTime;

use aws_sdk_s3::error::ProvideErrorMetadata;
use conformance::{unique_bucket, RawResponse, RequestSigner, TestServer};

use crate::common::{
    add_user_with_policy, admin, create_bucket, put_bytes, send_headers, shared_server,
};

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// An admin API call signed by `access_key`.
async fn admin_as(
    server: &TestServer,
    access_key: &str,
    secret_key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> RawResponse {
    let full = format!("/minnow/admin/v1/{path}");
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    let signed = RequestSigner::new(server.endpoint(), access_key, secret_key).sign_headers(
        method,
        &full,
        &headers,
        body.as_bytes(),
        &conformance::PayloadSigning::Sha256,
        SystemTime::now(),
    );
    send_headers(
        server,
        method,
        &full,
        &signed.headers,
        body.as_bytes().to_vec(),
    )
    .await
}

#[tokio::test]
async fn a_deny_in_the_users_own_policy_beats_the_bucket_policy() {
    let server = shared_server(&SERVER);
    let root = server.s3_client();
    let bucket = unique_bucket("atk-deny");
    create_bucket(&root, &bucket).await;
    put_bytes(&root, &bucket, "secret/plan.txt", b"the plan").await;
    put_bytes(&root, &bucket, "open/readme.txt", b"hello").await;
    root.put_bucket_policy()
        .bucket(&bucket)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["*"]}},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{bucket}/*"]}}]}}"#
        ))
        .send()
        .await
        .expect("bucket policy");

    let user = unique_bucket("atk-deny-user");
    let secret = add_user_with_policy(
        server,
        &user,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{bucket}/secret/*"]}}]}}"#
        ),
    )
    .await;
    let s3 = server.s3_client_with_credentials(&user, &secret);
    let open = s3
        .get_object()
        .bucket(&bucket)
        .key("open/readme.txt")
        .send()
        .await
        .expect("the bucket policy grants the rest");
    assert_eq!(open.body.collect().await.unwrap().to_vec(), b"hello");
    let refused = s3
        .get_object()
        .bucket(&bucket)
        .key("secret/plan.txt")
        .send()
        .await
        .expect_err("the user's own Deny must win");
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
}

#[tokio::test]
async fn policies_with_unknown_or_wrongly_cased_elements_are_refused() {
    let server = shared_server(&SERVER);
    let root = server.s3_client();
    let bucket = unique_bucket("atk-malformed");
    create_bucket(&root, &bucket).await;

    // A lower-case `condition` must not be dropped (the Allow would then apply from anywhere).
    let conditioned = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*","condition":{{"IpAddress":{{"aws:SourceIp":"10.9.9.9/32"}}}}}}]}}"#
    );
    let refused = root
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&conditioned)
        .send()
        .await
        .expect_err("a bucket policy with an unknown element must be refused");
    assert_eq!(refused.code(), Some("MalformedPolicy"), "{refused:?}");
    assert_eq!(
        root.get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .expect_err("nothing stored")
            .code(),
        Some("NoSuchBucketPolicy")
    );

    let identity = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*","condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#;
    let name = unique_bucket("atk-malformed-policy");
    let created = admin(server, "PUT", &format!("policies/{name}"), identity).await;
    assert_eq!(created.status, 400, "{}", created.text());
    let info = admin(server, "GET", &format!("policies/{name}"), "").await;
    assert_eq!(info.status, 404, "nothing stored: {}", info.text());
}

#[tokio::test]
async fn full_s3_access_does_not_grant_the_admin_api() {
    let server = shared_server(&SERVER);
    let user = unique_bucket("atk-star");
    let secret = add_user_with_policy(
        server,
        &user,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::*"}]}"#,
    )
    .await;
    // The policy is full data access...
    let bucket = unique_bucket("atk-star-data");
    server
        .s3_client_with_credentials(&user, &secret)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("Action * covers S3");
    // ...but neither lists nor creates users.
    let listed = admin_as(server, &user, &secret, "GET", "users", "").await;
    assert_eq!(listed.status, 403, "{}", listed.text());
    let escalated = admin_as(
        server,
        &user,
        &secret,
        "PUT",
        &format!("users/{user}/policies/consoleAdmin"),
        "",
    )
    .await;
    assert_eq!(escalated.status, 403, "{}", escalated.text());
    let view = admin(server, "GET", &format!("users/{user}"), "").await;
    assert!(!view.text().contains("consoleAdmin"), "{}", view.text());
}
