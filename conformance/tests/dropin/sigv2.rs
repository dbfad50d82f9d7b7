//! Hand-signed Signature Version 2 requests: header auth and presigned
//! URLs are refused exactly like their V4 twins (wrong signature → 403
//! SignatureDoesNotMatch, expired → 403 AccessDenied "Request has
//! expired"), and the signer's policies apply as for V4.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use conformance::{unique_bucket, RawResponse, TestServer};
use hmac::{Hmac, Mac};
use minnow::client::{Client, ClientConfig};

fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Sends `method path` with V2 header auth: Date, optional body and
/// content-type; `tamper` changes the signature.
async fn send_v2(
    server: &TestServer,
    (access_key, secret_key): (&str, &str),
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    tamper: bool,
) -> RawResponse {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let content_type = if body.is_some() { "text/plain" } else { "" };
    let string_to_sign = format!("{method}\n\n{content_type}\n{date}\n{path}");
    let mut signature = sign(secret_key, &string_to_sign);
    if tamper {
        signature = sign("not-the-secret", &string_to_sign);
    }
    let mut request = server
        .http_client()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", server.endpoint()),
        )
        .header("date", date)
        .header("authorization", format!("AWS {access_key}:{signature}"));
    if let Some(body) = body {
        request = request
            .header("content-type", content_type)
            .body(body.to_vec());
    }
    RawResponse::from_reqwest(request.send().await.unwrap())
        .await
        .unwrap()
}

fn root(server: &TestServer) -> (&str, &str) {
    (server.access_key(), server.secret_key())
}

#[tokio::test]
async fn v2_header_requests_work_and_wrong_signatures_are_refused() {
    let server = TestServer::start().unwrap();
    let bucket = unique_bucket("v2-header");
    let created = send_v2(
        &server,
        root(&server),
        "PUT",
        &format!("/{bucket}"),
        None,
        false,
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let path = format!("/{bucket}/a.txt");
    let put = send_v2(
        &server,
        root(&server),
        "PUT",
        &path,
        Some(b"v2 body"),
        false,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let get = send_v2(&server, root(&server), "GET", &path, None, false).await;
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(get.body, b"v2 body".to_vec());

    let wrong = send_v2(&server, root(&server), "GET", &path, None, true).await;
    wrong.assert_error(403, "SignatureDoesNotMatch");
    let wrong_put = send_v2(&server, root(&server), "PUT", &path, Some(b"evil"), true).await;
    wrong_put.assert_error(403, "SignatureDoesNotMatch");
    let get = send_v2(&server, root(&server), "GET", &path, None, false).await;
    assert_eq!(get.body, b"v2 body".to_vec(), "a refused PUT wrote nothing");
}

fn presigned_url(server: &TestServer, path: &str, expires: u64) -> String {
    let signature = sign(server.secret_key(), &format!("GET\n\n\n{expires}\n{path}"));
    let query: String = [
        ("AWSAccessKeyId", server.access_key().to_string()),
        ("Expires", expires.to_string()),
        ("Signature", signature),
    ]
    .iter()
    .map(|(k, v)| {
        format!(
            "{k}={}",
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
        )
    })
    .collect::<Vec<_>>()
    .join("&");
    format!("{}{path}?{query}", server.endpoint())
}

#[tokio::test]
async fn v2_presigned_urls_work_until_they_expire() {
    let server = TestServer::start().unwrap();
    let bucket = unique_bucket("v2-presign");
    send_v2(
        &server,
        root(&server),
        "PUT",
        &format!("/{bucket}"),
        None,
        false,
    )
    .await;
    let path = format!("/{bucket}/p.txt");
    send_v2(
        &server,
        root(&server),
        "PUT",
        &path,
        Some(b"presigned"),
        false,
    )
    .await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let client = server.http_client();
    let fetch = |url: String| {
        let client = client.clone();
        async move {
            RawResponse::from_reqwest(client.get(url).send().await.unwrap())
                .await
                .unwrap()
        }
    };
    let ok = fetch(presigned_url(&server, &path, now + 300)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.body, b"presigned".to_vec());

    let expired = fetch(presigned_url(&server, &path, now - 10)).await;
    expired.assert_error(403, "AccessDenied");
    assert_eq!(
        expired.error_message().as_deref(),
        Some("Request has expired")
    );

    let tampered = presigned_url(&server, &path, now + 300).replace("Expires=", "Expires=1");
    fetch(tampered)
        .await
        .assert_error(403, "SignatureDoesNotMatch");

    // An x-amz-* header added to a presigned URL is in V2's string to sign.
    let added = client
        .get(presigned_url(&server, &path, now + 300))
        .header("x-amz-meta-extra", "1")
        .send()
        .await
        .unwrap();
    RawResponse::from_reqwest(added)
        .await
        .unwrap()
        .assert_error(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn v2_signed_requests_get_the_signers_policy() {
    let server = TestServer::start().unwrap();
    let bucket = unique_bucket("v2-policy");
    send_v2(
        &server,
        root(&server),
        "PUT",
        &format!("/{bucket}"),
        None,
        false,
    )
    .await;
    let path = format!("/{bucket}/k.txt");
    send_v2(
        &server,
        root(&server),
        "PUT",
        &path,
        Some(b"readable"),
        false,
    )
    .await;

    let admin = Client::new(ClientConfig {
        endpoint: server.endpoint().to_string(),
        access_key: server.access_key().to_string(),
        secret_key: server.secret_key().to_string(),
        timeout: Duration::from_secs(60),
        insecure: false,
    })
    .unwrap();
    let access_key = unique_bucket("v2-reader");
    let secret_key = format!("{access_key}-secret");
    admin.add_user(&access_key, &secret_key).await.unwrap();
    admin
        .set_user_policy(&access_key, "readonly", true)
        .await
        .unwrap();
    let reader = (access_key.as_str(), secret_key.as_str());

    let get = send_v2(&server, reader, "GET", &path, None, false).await;
    assert_eq!(get.status, 200, "{}", get.text());
    let put = send_v2(&server, reader, "PUT", &path, Some(b"overwrite"), false).await;
    put.assert_error(403, "AccessDenied");
    let delete = send_v2(&server, reader, "DELETE", &path, None, false).await;
    delete.assert_error(403, "AccessDenied");
}
