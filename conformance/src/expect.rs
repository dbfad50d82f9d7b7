//! Assertions on S3 errors: the exact `<Code>` and HTTP status, from the SDK or a raw response.

use std::fmt::Debug;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

/// Asserts that an SDK call failed with HTTP `status` and S3 error `code` (for HEAD requests,
/// which carry no body, pass the code the SDK synthesizes, e.g. `NotFound`). Returns the
/// error message for further checks.
#[track_caller]
pub fn expect_s3_error<T: Debug, E: ProvideErrorMetadata + Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
    status: u16,
    code: &str,
) -> String {
    let error = match result {
        Ok(value) => panic!("expected {status} {code}, but the request succeeded: {value:?}"),
        Err(error) => error,
    };
    let actual_status = error.raw_response().map(|r| r.status().as_u16());
    let actual_code = error.code().map(str::to_string);
    let message = error.message().unwrap_or_default().to_string();
    assert_eq!(
        (actual_status, actual_code.as_deref()),
        (Some(status), Some(code)),
        "expected {status} {code}; got status {actual_status:?} code {actual_code:?} message {message:?}; full error: {error:?}"
    );
    message
}

/// A response read completely: status, headers (lowercase names) and body.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Reads a reqwest response completely.
    pub async fn from_reqwest(response: reqwest::Response) -> anyhow::Result<RawResponse> {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await?.to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `<Code>` of an S3 error body.
    pub fn error_code(&self) -> Option<String> {
        xml_element(&self.text(), "Code")
    }

    /// `<Message>` of an S3 error body.
    pub fn error_message(&self) -> Option<String> {
        xml_element(&self.text(), "Message")
    }

    /// Asserts HTTP `status` and S3 error `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code().as_deref()),
            (status, Some(code)),
            "expected {status} {code}; got {} with body {:?}",
            self.status,
            self.text()
        );
    }
}

/// Text of the first `<name>...</name>` element (no namespaces, no nesting: S3 error bodies).
pub fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_string())
}
