//! Copying one object (local → server, server → local, server → server,
//! server-side within one server)
//! and removing the target's extras.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http::Method;
use md5::{Digest as _, Md5};
use minnow::client::{object_path, ClientError};

use super::super::cp::{join_key, local_path_for, MAX_SERVER_COPY};
use super::super::file_upload::upload_file;
use super::super::{s3, Remote};
use super::plan::same_content;
use super::report::{one_line, Meter};
use super::verify::{expected_etag, hex_of, plain_md5, verify};
use super::{Found, Side, MD5_META, TEMP_MARK};

/// Copies one object when the target lacks it or differs; `Ok(true)` when
/// it was (or, dry, would be) copied.
pub(super) async fn sync_one(
    source: &Side,
    target: &Side,
    rel: &str,
    src: &Found,
    dst: Option<&Found>,
    dry_run: bool,
    meter: &Meter,
) -> anyhow::Result<bool> {
    if let Some(dst) = dst {
        if dst.size == src.size && same_content(source, target, rel, src, dst).await? {
            return Ok(false);
        }
    }
    if dry_run {
        return Ok(true);
    }
    match (source, target) {
        (Side::Local(root), Side::Remote(to)) => {
            let key = join_key(&to.key, rel);
            upload_file(&root.join(rel), to, &key, &[], &|n| meter.add(n)).await?;
        }
        (Side::Remote(from), Side::Local(root)) => {
            let path = local_path_for(root, rel)?;
            download(from, &join_key(&from.key, rel), src.size, &path, meter).await?;
        }
        (Side::Remote(from), Side::Remote(to)) => {
            copy_between(
                from,
                &join_key(&from.key, rel),
                src,
                to,
                &join_key(&to.key, rel),
                meter,
            )
            .await?;
        }
        (Side::Local(_), Side::Local(_)) => bail!("both sides are local"),
    }
    Ok(true)
}

async fn download(
    from: &Remote,
    key: &str,
    listed_size: u64,
    path: &Path,
    meter: &Meter,
) -> anyhow::Result<()> {
    let (head, first) = source_object(from, key, listed_size).await?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .context("the target has no file name")?
        .to_string_lossy();
    let temp = dir.join(super::super::cp::temp_name(&name, TEMP_MARK));
    let mut file =
        std::fs::File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
    let stored_md5 = head
        .carried
        .iter()
        .find(|(n, _)| n == MD5_META)
        .map(|(_, v)| v.to_ascii_lowercase());
    // Hashed only when there is an MD5 to compare with (another server's
    // multipart object has none).
    let expected = plain_md5(&head.etag).or(stored_md5);
    let mut whole = expected.as_ref().map(|_| Md5::new());
    let mut sink = |chunk: Bytes| {
        if let Some(whole) = &mut whole {
            whole.update(&chunk);
        }
        meter.add(chunk.len() as u64);
        file.write_all(&chunk).context("writing the file")
    };
    let written = match first {
        Some(body) => sink(body),
        None => s3::read_object(&from.server.client, &from.bucket, key, &head, sink).await,
    }
    .and_then(|()| file.sync_all().context("writing the file"));
    let checked = written.and_then(|()| {
        if let (Some(expected), Some(whole)) = (expected, whole) {
            let md5 = hex_of(&whole.finalize());
            if expected != md5 {
                bail!("verification failed: the bytes read have MD5 {md5}, the source says {expected}");
            }
        }
        Ok(())
    });
    if let Err(error) = checked {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    // A name the file system refuses (too long, a folder in the way)
    // fails only here: the temporary file must not stay behind.
    if let Err(error) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(error).with_context(|| format!("creating {}", path.display()));
    }
    Ok(())
}

/// The source object's tags as an `x-amz-tagging` value; `None` when it
/// has none or the server keeps no tags.
async fn tags_of(from: &Remote, key: &str) -> Option<String> {
    let reply = from
        .server
        .client
        .request(
            Method::GET,
            &object_path(&from.bucket, key),
            "tagging=",
            &[],
            Bytes::new(),
        )
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&reply.body);
    let mut pairs = Vec::new();
    for tag in text.split("<Tag>").skip(1) {
        let field = |name: &str| {
            let open = format!("<{name}>");
            let close = format!("</{name}>");
            let start = tag.find(&open)? + open.len();
            let end = tag[start..].find(&close)? + start;
            quick_xml::escape::unescape(&tag[start..end])
                .ok()
                .map(|v| v.into_owned())
        };
        if let (Some(k), Some(v)) = (field("Key"), field("Value")) {
            pairs.push(format!(
                "{}={}",
                minnow::client::encode_query_value(&k),
                minnow::client::encode_query_value(&v)
            ));
        }
    }
    (!pairs.is_empty()).then(|| pairs.join("&"))
}

/// What the source says about an object, and its bytes when it fits in
/// one part: a small object costs one GET (no HEAD), a larger one a HEAD
/// and then its parts, each read with `If-Match` on the ETag seen here.
async fn source_object(
    from: &Remote,
    key: &str,
    listed_size: u64,
) -> anyhow::Result<(s3::Head, Option<Bytes>)> {
    let client = &from.server.client;
    let part = s3::part_size_for(listed_size);
    let not_found = || format!("object not found: {}/{key}", from.bucket);
    if listed_size > part {
        let head = s3::head(client, &from.bucket, key)
            .await?
            .with_context(not_found)?;
        return Ok((head, None));
    }
    let (head, body) = s3::get_small(client, &from.bucket, key, listed_size, part)
        .await?
        .with_context(not_found)?;
    if head.size > part {
        // It grew since the listing: copied in parts after all.
        return Ok((head, None));
    }
    // Not hashed here: a download compares the MD5 of what it wrote, a
    // copy sends the source's MD5 as `Content-MD5`, which the target checks.
    Ok((head, Some(body)))
}

async fn copy_between(
    from: &Remote,
    src_key: &str,
    listed: &Found,
    to: &Remote,
    dst_key: &str,
    meter: &Meter,
) -> anyhow::Result<()> {
    let listed_size = listed.size;
    if from.server.identity == to.server.identity && listed_size <= MAX_SERVER_COPY {
        // One server, one identity: the bytes need not leave the server
        // (CopyObject keeps metadata and tags), pinned to the listed
        // version. A source whose ETag is its MD5 gives the copy's.
        let etag = s3::copy_object(
            &from.server.client,
            &from.bucket,
            src_key,
            &to.bucket,
            dst_key,
            Some(&listed.etag),
            None,
        )
        .await
        .map_err(|e| match e.downcast_ref::<ClientError>() {
            Some(ClientError::Api { status: 412, .. }) => {
                anyhow::anyhow!(
                    "{}/{src_key} changed while it was being copied",
                    from.bucket
                )
            }
            _ => e,
        })?;
        meter.add(listed_size);
        if let Some(md5) = plain_md5(&listed.etag) {
            verify(to, dst_key, listed_size, &md5, &etag).await?;
        }
        return Ok(());
    }
    let (head, first) = source_object(from, src_key, listed_size).await?;
    let mut headers: Vec<(String, String)> = head.carried.clone();
    let known_md5 = plain_md5(&head.etag).or_else(|| {
        head.carried
            .iter()
            .find(|(n, _)| n == MD5_META)
            .map(|(_, v)| v.clone())
    });
    headers.retain(|(n, _)| n != MD5_META);
    if let Some(md5) = known_md5.filter(|_| head.size > s3::part_size_for(head.size)) {
        // A multipart copy's ETag is not an MD5: keep the one we know.
        headers.push((MD5_META.to_string(), md5));
    }
    // A GET says how many tags there are (`x-amz-tagging-count`, absent
    // when none); a HEAD does not, so an object in parts always asks.
    if first.is_none() || head.tag_count > 0 {
        if let Some(tags) = tags_of(from, src_key).await {
            headers.push(("x-amz-tagging".to_string(), tags));
        }
    }
    // A source in one part whose ETag is its MD5 gives the `Content-MD5`
    // of its copy: the target checks the bytes, the client hashes nothing.
    let source_md5: Option<[u8; 16]> = plain_md5(&head.etag)
        .and_then(|md5| hex::decode(md5).ok())
        .and_then(|md5| md5.try_into().ok());
    let uploaded = s3::upload(
        &to.server.client,
        &to.bucket,
        dst_key,
        head.size,
        &headers,
        |offset, len| {
            let etag = head.etag.clone();
            let first = first.clone();
            async move {
                let body = if let Some(bytes) = first {
                    s3::Body {
                        bytes,
                        md5: source_md5,
                        pooled: false,
                    }
                } else if len == 0 {
                    s3::Body::from(Bytes::new())
                } else {
                    s3::Body::from(
                        s3::get_range(
                            &from.server.client,
                            &from.bucket,
                            src_key,
                            offset,
                            len,
                            &etag,
                        )
                        .await?,
                    )
                };
                meter.add(len);
                Ok(body)
            }
        },
    )
    .await;
    let uploaded = match uploaded {
        Ok(uploaded) => uploaded,
        Err(error) if tags_refused(&error) => bail!(
            "the target does not store object tags, which this object has: {}",
            one_line(&error)
        ),
        Err(error) => return Err(error),
    };
    let expected = expected_etag(&uploaded.part_md5s);
    verify(to, dst_key, head.size, &expected, &uploaded.etag).await
}

fn tags_refused(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<ClientError>()
        .is_some_and(|e| e.code() == Some("NotImplemented"))
}

pub(super) async fn remove_extras(
    target: &Side,
    extras: &[String],
    dry_run: bool,
) -> Vec<(String, Result<(), String>)> {
    let mut results = Vec::new();
    if dry_run {
        return extras.iter().map(|rel| (rel.clone(), Ok(()))).collect();
    }
    match target {
        Side::Local(root) => {
            for rel in extras {
                let outcome = std::fs::remove_file(root.join(rel)).map_err(|e| e.to_string());
                results.push((rel.clone(), outcome));
            }
        }
        Side::Remote(remote) => {
            for batch in extras.chunks(1000) {
                let keys: Vec<String> =
                    batch.iter().map(|rel| join_key(&remote.key, rel)).collect();
                match remote
                    .server
                    .client
                    .delete_objects(&remote.bucket, &keys)
                    .await
                {
                    Ok(outcome) => {
                        let failed: HashMap<&str, String> = outcome
                            .failed
                            .iter()
                            .map(|(k, code, message)| (k.as_str(), format!("{message} ({code})")))
                            .collect();
                        for (rel, key) in batch.iter().zip(&keys) {
                            let outcome = match failed.get(key.as_str()) {
                                Some(reason) => Err(reason.clone()),
                                None => Ok(()),
                            };
                            results.push((rel.clone(), outcome));
                        }
                    }
                    Err(e) => {
                        for rel in batch {
                            results.push((rel.clone(), Err(e.to_string())));
                        }
                    }
                }
            }
        }
    }
    results
}
