//! Raw HTTP: signed requests through reqwest, and byte-exact exchanges over a bare TCP socket for
//! what no HTTP client will send (a body shorter than its Content-Length, a declared 5 GiB body
//! that never comes, dot-segments kept in the path).

use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::expect::RawResponse;
use crate::server::TestServer;
use crate::signing::{PayloadSigning, SignedHeaders};

/// Signs (root credentials, now) and sends a request with reqwest; reads the whole response.
pub async fn send_signed(
    server: &TestServer,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    payload: PayloadSigning,
) -> anyhow::Result<RawResponse> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signed = server.signer().sign_headers(
        method,
        path_and_query,
        &headers,
        &body,
        &payload,
        SystemTime::now(),
    );
    send_with_headers(server, method, path_and_query, &signed.headers, body).await
}

/// Sends a request with exactly these headers (already signed, or deliberately not).
pub async fn send_with_headers(
    server: &TestServer,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> anyhow::Result<RawResponse> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut request = server
        .http_client()
        .request(method, format!("{}{}", server.endpoint(), path_and_query));
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request
        .body(body)
        .send()
        .await
        .context("sending raw request")?;
    RawResponse::from_reqwest(response).await
}

/// Replaces (or adds) header `name` in a signed header list: tampering after signing.
pub fn replace_header(signed: &mut SignedHeaders, name: &str, value: &str) {
    signed
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    signed.headers.push((name.to_string(), value.to_string()));
}

/// What happened on a bare TCP exchange.
#[derive(Debug)]
pub enum TcpOutcome {
    /// A complete HTTP response arrived.
    Response(RawResponse),
    /// The server closed or reset the connection without a complete response.
    Closed {
        /// Whatever bytes arrived before the close.
        partial: Vec<u8>,
    },
    /// Nothing complete arrived within the timeout.
    TimedOut {
        /// Whatever bytes arrived before the timeout.
        partial: Vec<u8>,
    },
}

impl TcpOutcome {
    /// The response, or a panic naming what happened instead.
    #[track_caller]
    pub fn expect_response(self) -> RawResponse {
        match self {
            TcpOutcome::Response(response) => response,
            other => panic!("expected an HTTP response, got {other:?}"),
        }
    }
}

/// Writes `head` then `body` to a fresh connection; if `close_write`, half-closes the socket
/// afterwards (the client "hangs up" mid-body). Then reads one HTTP response, within `timeout`.
pub async fn tcp_exchange(
    host_port: &str,
    head: &[u8],
    body: &[u8],
    close_write: bool,
    timeout: Duration,
) -> anyhow::Result<TcpOutcome> {
    let mut stream = TcpStream::connect(host_port).await?;
    stream.write_all(head).await?;
    if !body.is_empty() {
        // A server may answer and close early (e.g. 400 before reading the body): not an error.
        let _ = stream.write_all(body).await;
    }
    let _ = stream.flush().await;
    if close_write {
        let _ = stream.shutdown().await;
    }
    let mut received = Vec::new();
    let read = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            if let Some(response) = parse_complete_response(&received, false)? {
                return Ok::<_, anyhow::Error>(Some(response));
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return parse_complete_response(&received, true),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(Some(response))) => Ok(TcpOutcome::Response(response)),
        Ok(Ok(None)) => Ok(TcpOutcome::Closed { partial: received }),
        Ok(Err(error)) => Err(error),
        Err(_) => Ok(TcpOutcome::TimedOut { partial: received }),
    }
}

/// Builds an HTTP/1.1 request head from a request line and headers (Host added by caller).
pub fn request_head(method: &str, path: &str, headers: &[(String, String)]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Parses one complete HTTP/1.1 response (Content-Length or chunked body; bodiless statuses).
fn parse_complete_response(bytes: &[u8], at_eof: bool) -> anyhow::Result<Option<RawResponse>> {
    let Some(head_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = match status_line.split_whitespace().nth(1).map(str::parse) {
        Some(Ok(status)) => status,
        _ => bail!("bad status line {status_line:?}"),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body_bytes = &bytes[head_end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
    let body = if bodiless {
        Vec::new()
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse()?;
        if body_bytes.len() < length {
            return Ok(None);
        }
        body_bytes[..length].to_vec()
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        match decode_http_chunked(body_bytes) {
            Some(body) => body,
            None => return Ok(None),
        }
    } else if at_eof {
        // No framing: the body runs to connection close.
        body_bytes.to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(RawResponse {
        status,
        headers,
        body,
    }))
}

fn decode_http_chunked(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&bytes[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if bytes.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}
