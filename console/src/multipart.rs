//! Large uploads go to the S3 API as a multipart upload while the browser's
//! body streams in: the body is cut into parts of a fixed size on the fly
//! (each part is a signed PUT whose body is fed from the incoming stream
//! through a small channel), so memory stays at a few frames per upload
//! whatever the file size, and files larger than one PUT's 5 GiB work. A
//! failure aborts the upload so no parts are left behind.

use bytes::Bytes;
use futures::channel::mpsc;
use futures::SinkExt as _;
use http::Method;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Incoming;
use s3_client::parts::part_size_for;
use s3_client::xml::InitiateMultipartUploadResult;
use serde::Deserialize;

use crate::upstream::{
    encode_query, object_path, streamed_error, Identity, Upstream, UpstreamError,
};
use crate::ConsoleError;

/// Frames buffered between the browser's body and one part's request.
const FRAMES_IN_FLIGHT: usize = 4;

/// What a finished upload reports.
pub struct Uploaded {
    /// The object's ETag (`<md5 of part md5s>-<parts>`).
    pub etag: String,
    /// Parts sent.
    pub parts: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CompleteResult {
    #[serde(rename = "ETag", default)]
    etag: String,
}

/// Uploads `length` bytes of `body` to `bucket/key` in parts of `part_size`.
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    upstream: &Upstream,
    identity: &Identity,
    bucket: &str,
    key: &str,
    content_type: Option<String>,
    length: u64,
    part_size: u64,
    body: Incoming,
) -> Result<Uploaded, ConsoleError> {
    let path = object_path(bucket, key);
    let headers: Vec<(&str, String)> = content_type
        .into_iter()
        .map(|kind| ("content-type", kind))
        .collect();
    let reply = upstream
        .send(
            identity,
            Method::POST,
            &path,
            "uploads=",
            &headers,
            Bytes::new(),
        )
        .await?;
    let initiated: InitiateMultipartUploadResult = s3_client::xml::parse(&reply.body)
        .map_err(|e| UpstreamError::InvalidResponse(format!("CreateMultipartUpload: {e}")))?;
    let upload_id = initiated.upload_id;
    let result = send_parts(
        upstream, identity, &path, &upload_id, length, part_size, body,
    )
    .await;
    if result.is_err() {
        // Best effort: the lifecycle's abort rule or `minnow bucket` clean up otherwise.
        let query = encode_query(&[("uploadId", upload_id.clone())]);
        let _ = upstream
            .send(identity, Method::DELETE, &path, &query, &[], Bytes::new())
            .await;
    }
    result
}

async fn send_parts(
    upstream: &Upstream,
    identity: &Identity,
    path: &str,
    upload_id: &str,
    length: u64,
    part_size: u64,
    mut body: Incoming,
) -> Result<Uploaded, ConsoleError> {
    let part_size = part_size_for(length, part_size);
    let mut leftover: Option<Bytes> = None;
    let mut etags = Vec::new();
    let mut remaining = length;
    let mut number = 0u64;
    while remaining > 0 || number == 0 {
        number += 1;
        let size = remaining.min(part_size);
        let (mut sender, receiver) =
            mpsc::channel::<Result<Frame<Bytes>, hyper::Error>>(FRAMES_IN_FLIGHT);
        let part_body = StreamBody::new(receiver).boxed();
        let query = encode_query(&[
            ("partNumber", number.to_string()),
            ("uploadId", upload_id.to_string()),
        ]);
        let headers = [("content-length", size.to_string())];
        let send = upstream.stream(identity, Method::PUT, path, &query, &headers, part_body);
        // Feeds exactly `size` bytes of the browser's body into this part.
        let feed = async {
            let mut need = size;
            while need > 0 {
                let mut chunk = match leftover.take() {
                    Some(chunk) => chunk,
                    None => match body.frame().await {
                        Some(Ok(frame)) => match frame.into_data() {
                            Ok(data) => data,
                            Err(_) => continue,
                        },
                        Some(Err(error)) => {
                            return Err(ConsoleError::BadRequest(format!(
                                "the upload broke off: {error}"
                            )))
                        }
                        None => {
                            return Err(ConsoleError::BadRequest(
                                "the upload ended before its Content-Length".into(),
                            ))
                        }
                    },
                };
                if chunk.len() as u64 > need {
                    leftover = Some(chunk.split_off(need as usize));
                }
                need -= chunk.len() as u64;
                if sender.send(Ok(Frame::data(chunk))).await.is_err() {
                    // The part's request ended early; its answer says why.
                    break;
                }
            }
            drop(sender);
            Ok(())
        };
        let (answer, fed) = tokio::join!(send, feed);
        let answer = answer?;
        if !answer.status().is_success() {
            return Err(streamed_error(answer).await.into());
        }
        fed?;
        let etag = answer
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        etags.push((number, etag));
        remaining -= size;
        if remaining == 0 {
            break;
        }
    }
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (number, etag) in &etags {
        xml.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            quick_xml::escape::escape(etag.as_str())
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let query = encode_query(&[("uploadId", upload_id.to_string())]);
    let reply = upstream
        .send(
            identity,
            Method::POST,
            path,
            &query,
            &[("content-type", "application/xml".to_string())],
            Bytes::from(xml),
        )
        .await?;
    let text = String::from_utf8_lossy(&reply.body);
    // S3 may answer 200 and still fail the completion in the document.
    if text.contains("<Error>") {
        return Err(UpstreamError::InvalidResponse(format!(
            "CompleteMultipartUpload failed: {}",
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        ))
        .into());
    }
    let done: CompleteResult = quick_xml::de::from_str(&text)
        .map_err(|e| UpstreamError::InvalidResponse(format!("CompleteMultipartUpload: {e}")))?;
    Ok(Uploaded {
        etag: done.etag.trim_matches('"').to_string(),
        parts: etags.len() as u64,
    })
}
