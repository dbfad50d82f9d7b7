//! The object calls the commands need, on top of [`Client::request`]:
//! HEAD, ranged GET, PUT, multipart upload, server-side copy and
//! delimiter listing. Each request body is at most one part, so memory
//! stays bounded by part size times parallelism.

use std::future::Future;

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use http::Method;
use md5::{Digest as _, Md5};
use minnow::client::{bucket_path, encode_query_value, object_path, Client, ClientError, Reply};

use s3_client::xml::{InitiateMultipartUploadResult, ListBucketResult};

use super::{PART_PARALLELISM, PART_SIZE};

/// Headers copied from a source object to its copy: what the object is,
/// not how it was served.
const CARRIED_HEADERS: [&str; 5] = [
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
];

/// What HEAD says about an object.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    pub size: u64,
    pub etag: String,
    pub content_type: String,
    pub last_modified: String,
    /// Headers to give a copy (content type, cache control, ...,
    /// `x-amz-meta-*`), lower-case names.
    pub carried: Vec<(String, String)>,
    /// `x-amz-tagging-count`: how many tags the object has (S3 sends it
    /// with a GET when there are any).
    #[serde(skip)]
    pub tag_count: u32,
}

impl Head {
    fn from_reply(reply: &Reply) -> Head {
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let carried = reply
            .headers
            .iter()
            .filter(|(name, _)| {
                CARRIED_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-amz-meta-")
            })
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        // A ranged answer's whole size is after the `/` of Content-Range.
        let size = match header("content-range").rsplit_once('/') {
            Some((_, total)) => total.parse().unwrap_or(0),
            None => header("content-length").parse().unwrap_or(0),
        };
        Head {
            size,
            etag: header("etag"),
            content_type: header("content-type"),
            last_modified: header("last-modified"),
            carried,
            tag_count: header("x-amz-tagging-count").parse().unwrap_or(0),
        }
    }
}

/// HEAD of an object; `None` when there is no such object.
pub async fn head(client: &Client, bucket: &str, key: &str) -> anyhow::Result<Option<Head>> {
    match client
        .request(
            Method::HEAD,
            &object_path(bucket, key),
            "",
            &[],
            Bytes::new(),
        )
        .await
    {
        Ok(reply) => Ok(Some(Head::from_reply(&reply))),
        Err(ClientError::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Bytes `start..start+len` of an object, refused with 412 if the object
/// changed (its ETag is no longer `etag`) so a copy never mixes versions.
pub async fn get_range(
    client: &Client,
    bucket: &str,
    key: &str,
    start: u64,
    len: u64,
    etag: &str,
) -> anyhow::Result<Bytes> {
    let mut headers = vec![("range", format!("bytes={}-{}", start, start + len - 1))];
    if !etag.is_empty() {
        headers.push(("if-match", etag.to_string()));
    }
    let reply = client
        .request(
            Method::GET,
            &object_path(bucket, key),
            "",
            &headers,
            Bytes::new(),
        )
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 412, .. } => {
                anyhow::anyhow!("{bucket}/{key} changed while it was being read")
            }
            other => other.into(),
        })?;
    if reply.body.len() as u64 != len {
        bail!(
            "{bucket}/{key}: asked for {len} bytes at {start}, got {}",
            reply.body.len()
        );
    }
    Ok(reply.body)
}

/// The object whole when it fits in `part` bytes, with what its answer
/// says about it (metadata, ETag, tag count) — one request instead of a
/// HEAD and a GET. One GET reads one version, so the bytes and the
/// headers always belong together. When the object has grown past
/// `part`, only its first `part` bytes are returned: the caller compares
/// `head.size` and copies it in parts instead.
pub async fn get_small(
    client: &Client,
    bucket: &str,
    key: &str,
    listed_size: u64,
    part: u64,
) -> anyhow::Result<Option<(Head, Bytes)>> {
    // An empty object has no byte range to ask for (S3 answers 416).
    let headers = if listed_size == 0 {
        Vec::new()
    } else {
        vec![("range", format!("bytes=0-{}", part - 1))]
    };
    let reply = match client
        .request(
            Method::GET,
            &object_path(bucket, key),
            "",
            &headers,
            Bytes::new(),
        )
        .await
    {
        Ok(reply) => reply,
        Err(ClientError::Api { status: 404, .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let head = Head::from_reply(&reply);
    if head.size <= part && reply.body.len() as u64 != head.size {
        bail!(
            "{bucket}/{key}: the object has {} bytes, the answer carried {}",
            head.size,
            reply.body.len()
        );
    }
    Ok(Some((head, reply.body)))
}

/// The part size for an object of `size` bytes: [`PART_SIZE`], grown so
/// the object fits in S3's 10,000 parts.
pub fn part_size_for(size: u64) -> u64 {
    s3_client::parts::part_size_for(size, PART_SIZE)
}

/// Reads an object in order, `PART_PARALLELISM` ranges ahead, handing
/// each chunk to `sink`.
pub async fn read_object(
    client: &Client,
    bucket: &str,
    key: &str,
    head: &Head,
    mut sink: impl FnMut(Bytes) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if head.size == 0 {
        return Ok(());
    }
    let part = part_size_for(head.size);
    let ranges: Vec<(u64, u64)> = (0..head.size.div_ceil(part))
        .map(|i| (i * part, part.min(head.size - i * part)))
        .collect();
    let mut chunks = futures::stream::iter(ranges)
        .map(|(start, len)| get_range(client, bucket, key, start, len, &head.etag))
        .buffered(PART_PARALLELISM);
    while let Some(chunk) = chunks.next().await {
        sink(chunk?)?;
    }
    Ok(())
}

/// One body to send and, when the caller already knows it (the source's
/// plain-MD5 ETag), its MD5.
pub struct Body {
    pub bytes: Bytes,
    pub md5: Option<[u8; 16]>,
    /// The bytes sit in a buffer from [`super::buffers`], to give back
    /// once sent.
    pub pooled: bool,
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            bytes,
            md5: None,
            pooled: false,
        }
    }
}

/// What [`upload`] stored.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// The ETag the server gave the object (empty when it sent none).
    pub etag: String,
    /// The MD5 of each body, in order: for a single PUT the one sent as
    /// `Content-MD5`, for parts the ETags the server acknowledged them
    /// with. The object's ETag should be this MD5, or S3's MD5 of these.
    pub part_md5s: Vec<[u8; 16]>,
}

/// The MD5 of a body, off the async workers when it is large (16 MiB
/// take tens of milliseconds).
async fn md5_of(bytes: &Bytes) -> anyhow::Result<[u8; 16]> {
    if bytes.len() <= 256 * 1024 {
        return Ok(Md5::digest(bytes).into());
    }
    let bytes = bytes.clone();
    Ok(tokio::task::spawn_blocking(move || Md5::digest(&bytes).into()).await?)
}

/// A part's CRC32C as S3 shows checksums (base64 of the big-endian value).
fn crc32c_of(bytes: &[u8]) -> String {
    let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32;
    BASE64.encode(crc.to_be_bytes())
}

/// A part ETag as the MD5 it is (zeros when the server's scheme is
/// another: the object's ETag is then not MD5-shaped either, and the
/// caller checks it by size).
fn etag_md5(etag: &str) -> [u8; 16] {
    md5_in_etag(etag).unwrap_or([0; 16])
}

/// The MD5 a plain ETag (quotes and all) is, if it is one.
fn md5_in_etag(etag: &str) -> Option<[u8; 16]> {
    hex::decode(etag.trim_matches('"'))
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
}

/// Uploads `size` bytes under `key`: one PUT when they fit in a part,
/// else a multipart upload whose parts come from `read_part(offset, len)`
/// ([`PART_PARALLELISM`] at a time). A failed multipart upload is
/// aborted, so no partial object or orphan parts are left behind; one
/// cut short by a kill is named in [`super::uploads`] for the next
/// `mirror` to abort.
///
/// Bodies go as `UNSIGNED-PAYLOAD` (see ARCHITECTURE.md, "Object bodies
/// the CLI sends") with a signed checksum the server checks: a single PUT
/// with the `Content-MD5` the caller knows (a source's MD5 ETag), else
/// with its CRC32C (`x-amz-checksum-crc32c`, hardware-fast, where MD5 is
/// ~600 MB/s per core and the server computes it anyway for the ETag);
/// parts with their CRC32C, declared when the upload is created and
/// listed when it completes. The CLI spends almost nothing per byte, and
/// the object's ETag must be the MD5 the server acknowledged (its CRC32C
/// echo vouches for the bytes) or S3's MD5 of the acknowledged part ETags.
pub async fn upload<F, Fut, B>(
    client: &Client,
    bucket: &str,
    key: &str,
    size: u64,
    headers: &[(String, String)],
    read_part: F,
) -> anyhow::Result<Uploaded>
where
    F: Fn(u64, u64) -> Fut,
    Fut: Future<Output = anyhow::Result<B>>,
    B: Into<Body>,
{
    let mut headers: Vec<(&str, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let path = object_path(bucket, key);
    let part = part_size_for(size);
    if size <= part {
        let body: Body = read_part(0, size).await?.into();
        let crc = match body.md5 {
            Some(md5) => {
                headers.push(("content-md5", BASE64.encode(md5)));
                None
            }
            None => {
                let crc = crc32c_of(&body.bytes);
                headers.push(("x-amz-checksum-crc32c", crc.clone()));
                Some(crc)
            }
        };
        let reply = client
            .request_unsigned(Method::PUT, &path, "", &headers, body.bytes.clone())
            .await?;
        let etag = header_etag(&reply);
        let md5 = match (body.md5, crc) {
            (Some(md5), _) => md5,
            // A server that checked our CRC32C says so by echoing it: its
            // MD5 ETag is then that of the bytes we read.
            (None, Some(crc))
                if reply
                    .headers
                    .get("x-amz-checksum-crc32c")
                    .and_then(|v| v.to_str().ok())
                    == Some(crc.as_str())
                    && md5_in_etag(&etag).is_some() =>
            {
                etag_md5(&etag)
            }
            // One that ignored it: the MD5 is computed here after all.
            _ => md5_of(&body.bytes).await?,
        };
        if body.pooled {
            super::buffers::give_back(body.bytes);
        }
        return Ok(Uploaded {
            etag,
            part_md5s: vec![md5],
        });
    }
    headers.push(("x-amz-checksum-algorithm", "CRC32C".to_string()));
    // Recorded before the request: a kill between the server creating the
    // upload and the answer arriving must still leave a trace to clean.
    let mut record = super::uploads::requesting(client, bucket, key);
    let reply = match client
        .request(Method::POST, &path, "uploads=", &headers, Bytes::new())
        .await
    {
        Ok(reply) => reply,
        Err(e) => {
            // A refusal created nothing; no answer at all may have.
            if e.status().is_some() {
                record.closed();
            }
            return Err(e.into());
        }
    };
    let created: InitiateMultipartUploadResult = parse(&reply.body)?;
    let upload_id = created.upload_id;
    record.created(&upload_id);
    let id_query = format!("uploadId={}", encode_query_value(&upload_id));
    let parts = async {
        let sent: Vec<(u64, String, String)> = futures::stream::iter(0..size.div_ceil(part))
            .map(|i| {
                let (path, id_query) = (&path, &id_query);
                let body = read_part(i * part, part.min(size - i * part));
                async move {
                    let body: Body = body.await?.into();
                    let crc = crc32c_of(&body.bytes);
                    let mut headers = vec![("x-amz-checksum-crc32c", crc.clone())];
                    if let Some(md5) = body.md5 {
                        headers.push(("content-md5", BASE64.encode(md5)));
                    }
                    let query = format!("partNumber={}&{id_query}", i + 1);
                    let kept = body.pooled.then(|| body.bytes.clone());
                    let reply = client
                        .request_unsigned(Method::PUT, path, &query, &headers, body.bytes)
                        .await;
                    if let Some(kept) = kept {
                        super::buffers::give_back(kept);
                    }
                    let reply = reply?;
                    let etag = reply
                        .headers
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .context("the server sent no ETag for a part")?
                        .to_string();
                    anyhow::Ok((i + 1, etag, crc))
                }
            })
            .buffered(PART_PARALLELISM)
            .try_collect()
            .await?;
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (number, etag, crc) in &sent {
            xml.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag><ChecksumCRC32C>{crc}</ChecksumCRC32C></Part>",
                quick_xml::escape::escape(etag.as_str())
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let reply = client
            .request(
                Method::POST,
                &path,
                &id_query,
                &[("content-type", "application/xml".to_string())],
                Bytes::from(xml),
            )
            .await?;
        // S3 may answer 200 with an <Error> body when completion fails late.
        let text = String::from_utf8_lossy(&reply.body);
        if text.contains("<Error>") {
            bail!("completing the upload failed: {text}");
        }
        anyhow::Ok(Uploaded {
            etag: element(&text, "ETag").unwrap_or_default(),
            part_md5s: sent.iter().map(|(_, etag, _)| etag_md5(etag)).collect(),
        })
    }
    .await;
    let finished = parts.is_ok()
        || client
            .request(Method::DELETE, &path, &id_query, &[], Bytes::new())
            .await
            .is_ok();
    // An abort that did not get through stays recorded for the next run.
    if finished {
        record.closed();
    }
    parts
}

/// An answer's `ETag` header, empty when absent.
fn header_etag(reply: &Reply) -> String {
    reply
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The text of the first `<name>` element of a small XML answer.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    quick_xml::escape::unescape(&xml[start..end])
        .ok()
        .map(|v| v.into_owned())
}

/// CopyObject within one server, of the version whose ETag is
/// `if_match` when given; returns the copy's ETag. Metadata and tags come
/// with the object, unless `replace` gives the copy its headers (content
/// type, cache control, …, `x-amz-meta-*`; the REPLACE directive).
pub async fn copy_object(
    client: &Client,
    src_bucket: &str,
    src_key: &str,
    dst_bucket: &str,
    dst_key: &str,
    if_match: Option<&str>,
    replace: Option<&[(String, String)]>,
) -> anyhow::Result<String> {
    let mut headers = vec![("x-amz-copy-source", object_path(src_bucket, src_key))];
    if let Some(etag) = if_match.filter(|e| !e.is_empty()) {
        headers.push(("x-amz-copy-source-if-match", etag.to_string()));
    }
    if let Some(replace) = replace {
        headers.push(("x-amz-metadata-directive", "REPLACE".to_string()));
        headers.extend(replace.iter().map(|(n, v)| (n.as_str(), v.clone())));
    }
    let reply = client
        .request(
            Method::PUT,
            &object_path(dst_bucket, dst_key),
            "",
            &headers,
            Bytes::new(),
        )
        .await?;
    let text = String::from_utf8_lossy(&reply.body);
    if text.contains("<Error>") {
        bail!("server-side copy failed: {text}");
    }
    Ok(element(&text, "ETag").unwrap_or_default())
}

/// An object in a listing.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
}

/// One page of ListObjectsV2.
#[derive(Debug, Default)]
pub struct Page {
    pub objects: Vec<Entry>,
    /// "Folders" when a delimiter was given.
    pub prefixes: Vec<String>,
    pub next: Option<String>,
}

/// One page of ListObjectsV2, grouped at `/` when `delimited`.
pub async fn list_page(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimited: bool,
    continuation: Option<&str>,
) -> anyhow::Result<Page> {
    let mut query = vec!["list-type=2".to_string()];
    if !prefix.is_empty() {
        query.push(format!("prefix={}", encode_query_value(prefix)));
    }
    if delimited {
        query.push("delimiter=%2F".to_string());
    }
    if let Some(token) = continuation {
        query.push(format!("continuation-token={}", encode_query_value(token)));
    }
    let reply = client
        .request(
            Method::GET,
            &bucket_path(bucket),
            &query.join("&"),
            &[],
            Bytes::new(),
        )
        .await?;
    let doc: ListBucketResult = parse(&reply.body)?;
    let next = doc.next_continuation_token.filter(|t| !t.is_empty());
    // A page that says more follow but not where would end the listing
    // early; `mirror --remove` would take what it missed for extras.
    if doc.is_truncated && next.is_none() {
        bail!("the server's listing of {bucket} is truncated but gives no continuation token: stopping rather than using part of it");
    }
    Ok(Page {
        objects: doc
            .contents
            .into_iter()
            .map(|c| Entry {
                key: c.key,
                size: c.size,
                etag: c.etag,
                last_modified: c.last_modified,
            })
            .collect(),
        prefixes: doc.common_prefixes.into_iter().map(|p| p.prefix).collect(),
        next: next.filter(|_| doc.is_truncated),
    })
}

/// Every object under `prefix` (a folder-like prefix, see
/// [`super::under_prefix`]), page after page.
pub async fn list_all(client: &Client, bucket: &str, prefix: &str) -> anyhow::Result<Vec<Entry>> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = list_page(client, bucket, prefix, false, next.as_deref()).await?;
        all.extend(
            page.objects
                .into_iter()
                .filter(|e| super::under_prefix(&e.key, prefix)),
        );
        match page.next {
            // The same token again would list the same page forever.
            Some(token) if next.as_ref() == Some(&token) => {
                bail!("the server's listing of {bucket} repeats its continuation token: stopping rather than looping")
            }
            Some(token) => next = Some(token),
            None => return Ok(all),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> anyhow::Result<T> {
    s3_client::xml::parse(body)
        .map_err(|e| anyhow::anyhow!("unexpected answer from the server: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_grows_to_fit_ten_thousand_parts() {
        assert_eq!(part_size_for(1), PART_SIZE);
        let huge = 5 * 1024 * 1024 * 1024 * 1024_u64;
        assert!(part_size_for(huge) * s3_client::parts::MAX_PARTS >= huge);
    }

    #[test]
    fn delimited_listing_parses_folders() {
        let xml = r#"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a.txt</Key><ETag>"e"</ETag><Size>3</Size></Contents><CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>z/</Prefix></CommonPrefixes></ListBucketResult>"#;
        let doc: ListBucketResult = parse(xml.as_bytes()).unwrap();
        assert_eq!(doc.contents[0].etag, "\"e\"");
        assert_eq!(doc.common_prefixes.len(), 2);
    }
}
