//! Browser forms carry their own signature, so the server authorizes them
//! after reading the form: a well-signed form gives its signer no more than
//! the signer's own rights (`s3:PutObject` on the key), a form signed for
//! one bucket cannot be posted to another, and a field slipped into a signed
//! form (metadata, a second key) is refused rather than stored; forged and
//! denied forms are in the audit log.

use std::sync::OnceLock;

use conformance::post_form::{form_body, PostForm};
use conformance::{unique_bucket, RawResponse, TestServer};

use crate::common::{add_user_with_policy, create_bucket, object_exists, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

async fn post(server: &TestServer, bucket: &str, form: &PostForm, file: &[u8]) -> RawResponse {
    let (content_type, body) = form_body(&form.fields, "f.bin", file);
    let response = server
        .http_client()
        .post(format!("{}/{bucket}", server.endpoint()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST form");
    RawResponse::from_reqwest(response).await.unwrap()
}

#[tokio::test]
async fn a_signed_form_grants_no_more_than_its_signer_may_do() {
    let server = shared_server(&SERVER);
    let root = server.s3_client();
    let bucket = unique_bucket("atk-post-user");
    create_bucket(&root, &bucket).await;
    let user = unique_bucket("atk-post-user");
    let secret = add_user_with_policy(
        server,
        &user,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::{bucket}/mine/*"]}}]}}"#
        ),
    )
    .await;
    // The user's own policy document allows any key; its identity does not.
    let any_key = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"["starts-with","$key",""]"#.to_string(),
    ];
    let form = |key: &str| PostForm::v4(&user, &secret, 600, &any_key, &[("key", key)]);

    let allowed = post(server, &bucket, &form("mine/ok"), b"allowed").await;
    assert_eq!(allowed.status, 204, "{}", allowed.text());
    assert!(object_exists(&root, &bucket, "mine/ok").await);

    post(server, &bucket, &form("theirs/nope"), b"refused")
        .await
        .assert_error(403, "AccessDenied");
    assert!(!object_exists(&root, &bucket, "theirs/nope").await);
}

#[tokio::test]
async fn a_form_signed_for_one_bucket_is_refused_by_another() {
    let server = shared_server(&SERVER);
    let root = server.s3_client();
    let signed_for = unique_bucket("atk-post-a");
    let target = unique_bucket("atk-post-b");
    create_bucket(&root, &signed_for).await;
    create_bucket(&root, &target).await;
    let conditions = [
        format!(r#"{{"bucket":"{signed_for}"}}"#),
        r#"["starts-with","$key",""]"#.to_string(),
    ];
    let form = PostForm::v4(
        server.access_key(),
        server.secret_key(),
        600,
        &conditions,
        &[("key", "moved")],
    );
    // Naming the signed bucket in a form field does not help: the URL's
    // bucket is the one checked.
    let smuggled = form.clone().set("bucket", &signed_for);
    for attempt in [&form, &smuggled] {
        let refused = post(server, &target, attempt, b"x").await;
        refused.assert_error(403, "AccessDenied");
        assert!(
            refused
                .error_message()
                .is_some_and(|m| m.contains("Invalid according to Policy")),
            "{}",
            refused.text()
        );
    }
    assert!(!object_exists(&root, &target, "moved").await);
}

#[tokio::test]
async fn fields_added_to_a_signed_form_are_refused() {
    let server = shared_server(&SERVER);
    let root = server.s3_client();
    let bucket = unique_bucket("atk-post-extra");
    create_bucket(&root, &bucket).await;
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"{"key":"fixed"}"#.to_string(),
    ];
    let form = PostForm::v4(
        server.access_key(),
        server.secret_key(),
        600,
        &conditions,
        &[("key", "fixed")],
    );
    let with_metadata = form.clone().set("x-amz-meta-owner", "mallory");
    post(server, &bucket, &with_metadata, b"x")
        .await
        .assert_error(403, "AccessDenied");
    let with_type = form.clone().set("Content-Type", "text/html");
    post(server, &bucket, &with_type, b"<script>")
        .await
        .assert_error(403, "AccessDenied");
    // A second `key` field: the policy would see one value, the upload another.
    let mut twice = form.clone();
    twice
        .fields
        .insert(0, ("key".to_string(), "elsewhere".to_string()));
    post(server, &bucket, &twice, b"x")
        .await
        .assert_error(400, "InvalidArgument");
    assert!(!object_exists(&root, &bucket, "fixed").await);
    assert!(!object_exists(&root, &bucket, "elsewhere").await);

    let plain = post(server, &bucket, &form, b"signed as is").await;
    assert_eq!(plain.status, 204, "{}", plain.text());
    let head = root
        .head_object()
        .bucket(&bucket)
        .key("fixed")
        .send()
        .await
        .unwrap();
    assert!(head.metadata().is_none_or(|m| m.is_empty()));
}

#[tokio::test]
async fn forged_and_denied_forms_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = TestServer::spawn(conformance::ServerOptions {
        env: vec![("MINNOW_AUDIT_LOG".to_string(), log.display().to_string())],
        ..conformance::ServerOptions::default()
    })
    .expect("starting a server with an audit log");
    let root = server.s3_client();
    let bucket = unique_bucket("atk-post-audit");
    create_bucket(&root, &bucket).await;
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"["starts-with","$key",""]"#.to_string(),
    ];
    // Root's access key with a wrong secret, then an unsigned form.
    let forged = PostForm::v4(
        server.access_key(),
        "not-the-root-password",
        600,
        &conditions,
        &[("key", "forged.txt")],
    );
    post(&server, &bucket, &forged, b"x")
        .await
        .assert_error(403, "SignatureDoesNotMatch");
    let anonymous = PostForm {
        fields: vec![("key".to_string(), "anonymous.txt".to_string())],
    };
    post(&server, &bucket, &anonymous, b"x")
        .await
        .assert_error(403, "AccessDenied");

    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let has = |fragments: &[&str]| {
        lines
            .iter()
            .filter(|line| fragments.iter().all(|f| line.contains(f)))
            .count()
            == 1
    };
    let root_key = format!("\"accessKey\":\"{}\"", server.access_key());
    assert!(
        has(&[
            "\"event\":\"authentication_failure\"",
            "\"operation\":\"PostObject\"",
            "\"key\":\"forged.txt\"",
            "\"errorCode\":\"SignatureDoesNotMatch\"",
            &root_key,
        ]),
        "audit log:\n{text}"
    );
    assert!(
        has(&[
            "\"event\":\"authorization_denied\"",
            "\"operation\":\"PostObject\"",
            "\"key\":\"anonymous.txt\"",
            "\"accessKey\":null",
        ]),
        "audit log:\n{text}"
    );
    let signature = forged.get("x-amz-signature").unwrap();
    assert!(
        !text.contains(signature),
        "the signature was logged:\n{text}"
    );
}
