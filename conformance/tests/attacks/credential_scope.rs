//! A signing key is valid for the day its credential scope names: a correctly computed
//! signature under yesterday's (or 2020's) scope, sent with today's `x-amz-date`, is refused
//! with S3's `AuthorizationHeaderMalformed` (header) or `AuthorizationQueryParametersError`
//! (presigned URL). No SDK signs such a request, so it is built by hand here.

use std::sync::OnceLock;
use std::time::SystemTime;

use conformance::signing::RequestSigner;
use conformance::{unique_bucket, RawResponse, TestServer, TEST_REGION};

use crate::common::{create_bucket, put_bytes, send_headers, send_url, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// The signature of `canonical` dated `timestamp` under a `scope_date` scope.
fn signature(server: &TestServer, scope_date: &str, timestamp: &str, canonical: &str) -> String {
    RequestSigner::new(server.endpoint(), server.access_key(), server.secret_key())
        .scoped_signature(canonical, timestamp, scope_date)
}

fn now_timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The scope date to sign under: `TODAY` means the request's own day.
const TODAY: &str = "today";

/// A GET of `path` signed in the header under `scope_date`, dated now.
async fn header_signed_get(server: &TestServer, path: &str, scope_date: &str) -> RawResponse {
    let timestamp = now_timestamp();
    let scope_date = if scope_date == TODAY {
        &timestamp[..8]
    } else {
        scope_date
    };
    let host = server.host_port();
    let canonical = format!(
        "GET\n{path}\n\nhost:{host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{timestamp}\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"
    );
    let signature = signature(server, scope_date, &timestamp, &canonical);
    let headers = vec![
        ("x-amz-content-sha256".to_string(), "UNSIGNED-PAYLOAD".to_string()),
        ("x-amz-date".to_string(), timestamp.clone()),
        (
            "authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope_date}/{TEST_REGION}/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}",
                server.access_key()
            ),
        ),
    ];
    send_headers(server, "GET", path, &headers, Vec::new()).await
}

/// The same GET as a presigned URL.
async fn presigned_get(server: &TestServer, path: &str, scope_date: &str) -> RawResponse {
    let timestamp = now_timestamp();
    let scope_date = if scope_date == TODAY {
        &timestamp[..8]
    } else {
        scope_date
    };
    let host = server.host_port();
    let credential = format!(
        "{}%2F{scope_date}%2F{TEST_REGION}%2Fs3%2Faws4_request",
        server.access_key()
    );
    let query = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={timestamp}&X-Amz-Expires=600&X-Amz-SignedHeaders=host");
    let canonical = format!("GET\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD");
    let signature = signature(server, scope_date, &timestamp, &canonical);
    let url = format!(
        "{}{path}?{query}&X-Amz-Signature={signature}",
        server.endpoint()
    );
    send_url(server, "GET", &url, &[], Vec::new()).await
}

#[tokio::test]
async fn a_credential_scope_of_another_day_is_refused() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("atk-scope");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "object", b"content").await;
    let path = format!("/{bucket}/object");

    // The hand signer is right: today's scope reads the object both ways.
    let honest = header_signed_get(server, &path, TODAY).await;
    assert_eq!(honest.status, 200, "{}", honest.text());
    let honest = presigned_get(server, &path, TODAY).await;
    assert_eq!(honest.status, 200, "{}", honest.text());

    for old_day in ["20200101", "20000229"] {
        header_signed_get(server, &path, old_day)
            .await
            .assert_error(400, "AuthorizationHeaderMalformed");
        presigned_get(server, &path, old_day)
            .await
            .assert_error(400, "AuthorizationQueryParametersError");
    }
}
