//! The console's security rules, driven over HTTP against the real
//! `minnow` binary: sessions live in a strict HttpOnly cookie and die at
//! sign-out, every state change needs the CSRF token, wrong passwords are
//! rate-limited per address, and a user's rights are the server's to
//! decide (a readonly user's upload is refused by the S3 API itself).

use std::time::Duration;

use crate::common::{self, http, sign_in, start};
use conformance::{ServerOptions, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn session_cookie_is_strict_and_dies_at_sign_out() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let session = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let cookie = session.set_cookie.to_ascii_lowercase();
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite=strict"), "{cookie}");
    assert!(!cookie.contains("secure"), "plain-http console: {cookie}");
    assert!(
        !session.body.to_string().contains(TEST_ROOT_PASSWORD),
        "the secret must never go back to the browser"
    );
    assert_eq!(session.body["admin"], true);

    let (status, _) = session.call(Method::GET, "/api/buckets", None).await;
    assert_eq!(status, 200);
    let (status, _) = session.call(Method::DELETE, "/api/session", None).await;
    assert_eq!(status, 200);
    // The same cookie, replayed after sign-out (e.g. stolen), no longer works.
    let (status, body) = session.call(Method::GET, "/api/buckets", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = session
        .call(
            Method::POST,
            "/api/buckets",
            Some(json!({ "name": "after-signout" })),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn cookie_is_secure_when_the_console_url_is_https() {
    let stack = start(ServerOptions::default(), |c| {
        c.redirect_url = Some("https://storage.example.com".into());
    })
    .await
    .unwrap();
    let session = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    assert!(
        session.set_cookie.to_ascii_lowercase().contains("; secure"),
        "{}",
        session.set_cookie
    );
}

#[tokio::test]
async fn state_change_without_the_csrf_token_is_refused() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let session = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let s3 = stack.server.s3_client();
    let bucket = conformance::unique_bucket("csrf");

    let response = session
        .request(Method::POST, "/api/buckets", false)
        .json(&json!({ "name": bucket }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "CsrfRefused");
    let wrong = session
        .request(Method::POST, "/api/buckets", false)
        .header(minnow_console::CSRF_HEADER, "0".repeat(64))
        .json(&json!({ "name": bucket }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "a refused request must not have created the bucket"
    );

    let (status, body) = session
        .call(
            Method::POST,
            "/api/buckets",
            Some(json!({ "name": bucket })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    s3.head_bucket().bucket(&bucket).send().await.unwrap();

    // Sign-in takes JSON only, so a cross-site HTML form cannot post it.
    let form = http()
        .post(format!("{}/api/session", stack.console))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "accessKey={TEST_ROOT_USER}&secretKey={TEST_ROOT_PASSWORD}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 400);
    assert!(form.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited_per_address() {
    let stack = start(ServerOptions::default(), |c| {
        c.sign_in_failures_allowed = 3;
        c.sign_in_window = Duration::from_secs(600);
    })
    .await
    .unwrap();
    for attempt in 0..3 {
        let (status, body) = sign_in(&stack.console, TEST_ROOT_USER, "wrong-password-123")
            .await
            .err()
            .expect("a wrong password is refused");
        assert_eq!(status, 401, "attempt {attempt}: {body}");
        assert_eq!(body["code"], "BadCredentials");
    }
    // Blocked now, even with the right password: guessing gains nothing.
    let (status, body) = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .err()
        .expect("blocked after three failures");
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "TooManyAttempts");
}

#[tokio::test]
async fn readonly_user_upload_is_refused_by_the_server() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let bucket = conformance::unique_bucket("readonly");
    let (status, _) = root
        .call(
            Method::POST,
            "/api/buckets",
            Some(json!({ "name": bucket })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, user) = root
        .call(
            Method::POST,
            "/api/users",
            Some(json!({ "accessKey": "viewer", "policy": "readonly" })),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    let secret = user["secretKey"].as_str().unwrap().to_string();
    assert!(secret.len() >= 40);

    // Root's upload through the same path works and reads back.
    let upload = |session: &common::ConsoleSession, key: &str| {
        session
            .request(
                Method::PUT,
                &format!("/api/buckets/{bucket}/object?key={key}"),
                true,
            )
            .header("content-type", "text/plain")
            .body("hello from the console")
            .send()
    };
    let response = upload(&root, "notes/root.txt").await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    let got = root
        .request(
            Method::GET,
            &format!("/api/buckets/{bucket}/object?key=notes/root.txt"),
            false,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(
        got.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename*=UTF-8''root.txt",
        "non-image objects never render inline on the console's origin"
    );
    assert_eq!(got.text().await.unwrap(), "hello from the console");

    let viewer = sign_in(&stack.console, "viewer", &secret).await.unwrap();
    assert_eq!(viewer.body["admin"], false);
    // Reading an object is allowed by readonly (MinIO's readonly grants
    // GetObject, not listing) ...
    let read = viewer
        .request(
            Method::GET,
            &format!("/api/buckets/{bucket}/object?key=notes/root.txt"),
            false,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(read.text().await.unwrap(), "hello from the console");
    // ... writing is refused by the S3 API, with a readable message.
    let refused = upload(&viewer, "notes/viewer.txt").await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "AccessDenied");
    assert!(
        body["error"].as_str().unwrap().starts_with("Access denied"),
        "{body}"
    );
    assert!(
        !body["error"].as_str().unwrap().contains('<'),
        "no raw XML: {body}"
    );
    let s3 = stack.server.s3_client();
    assert!(s3
        .head_object()
        .bucket(&bucket)
        .key("notes/viewer.txt")
        .send()
        .await
        .is_err());
    // The admin API refuses the readonly user too.
    let (status, _) = viewer.call(Method::GET, "/api/users", None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn share_link_reads_the_object_anonymously_until_it_expires() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let bucket = conformance::unique_bucket("share");
    root.call(
        Method::POST,
        "/api/buckets",
        Some(json!({ "name": bucket })),
    )
    .await;
    let key = "reports/q 1+2.txt";
    let put = root
        .request(
            Method::PUT,
            &format!("/api/buckets/{bucket}/object?key=reports%2Fq%201%2B2.txt"),
            true,
        )
        .body("quarterly")
        .send()
        .await
        .unwrap();
    let status = put.status().as_u16();
    assert_eq!(status, 200, "{}", put.text().await.unwrap());
    let anonymous = http()
        .get(format!(
            "{}/{bucket}/reports/q%201%2B2.txt",
            stack.server.endpoint()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 403, "the bucket is private");

    let (status, share) = root
        .call(
            Method::POST,
            &format!("/api/buckets/{bucket}/object/share"),
            Some(json!({ "key": key, "expiresSeconds": 2 })),
        )
        .await;
    assert_eq!(status, 200, "{share}");
    let url = share["url"].as_str().unwrap();
    assert!(url.starts_with(stack.server.endpoint()), "{url}");
    let shared = http().get(url).send().await.unwrap();
    assert_eq!(shared.status().as_u16(), 200);
    assert_eq!(shared.text().await.unwrap(), "quarterly");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let expired = http().get(url).send().await.unwrap();
    assert_eq!(expired.status().as_u16(), 403, "the link has expired");
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let page = http().get(&stack.console).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.headers().get("access-control-allow-origin").is_none());
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    let unauthenticated = http()
        .get(format!("{}/api/buckets", stack.console))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
}
