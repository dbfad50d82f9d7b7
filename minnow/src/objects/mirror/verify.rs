//! Whether a copy holds the bytes sent: ETag shapes, S3's multipart ETag,
//! and the check of the ETag the target answered with.

use anyhow::{bail, Context as _};
use md5::{Digest as _, Md5};

use super::super::{s3, Remote};

/// Hex of an MD5 digest.
pub(super) fn hex_of(digest: &[u8]) -> String {
    hex::encode(digest)
}

/// An ETag without quotes; `None` when it is not a plain MD5 (multipart
/// or another server's scheme).
pub(super) fn plain_md5(etag: &str) -> Option<String> {
    let bare = etag.trim_matches('"');
    (bare.len() == 32 && bare.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| bare.to_ascii_lowercase())
}

/// Whether a bare ETag is an MD5 or S3's `md5-N` of a multipart object.
pub(super) fn md5_shaped(etag: &str) -> bool {
    plain_md5(etag).is_some()
        || etag
            .split_once('-')
            .is_some_and(|(h, n)| plain_md5(h).is_some() && n.parse::<u32>().is_ok())
}

/// The ETag S3 gives a multipart object of these parts.
pub(super) fn multipart_etag(part_digests: &[[u8; 16]]) -> String {
    let mut hasher = Md5::new();
    for digest in part_digests {
        hasher.update(digest);
    }
    format!("{}-{}", hex_of(&hasher.finalize()), part_digests.len())
}

/// The ETag a copy made of bodies with these MD5s should have: the MD5
/// of a single body, S3's MD5 of the MD5s for parts.
pub(in crate::objects) fn expected_etag(part_md5s: &[[u8; 16]]) -> String {
    match part_md5s {
        [single] => hex_of(single),
        parts => multipart_etag(parts),
    }
}

/// The copy must have the ETag the bytes we sent give (MD5, or S3's
/// MD5-of-part-MD5s). The ETag the server answered the write with is
/// that of the object it stored, so it settles the matter in no extra
/// request. A server whose answer has no MD5-shaped ETag is asked with a
/// HEAD and checked by size (and by its ETag if that one is MD5-based).
pub(in crate::objects) async fn verify(
    to: &Remote,
    key: &str,
    size: u64,
    expected_etag: &str,
    answered_etag: &str,
) -> anyhow::Result<()> {
    let answered = answered_etag.trim_matches('"').to_ascii_lowercase();
    if md5_shaped(&answered) {
        if answered != expected_etag {
            bail!(
                "verification failed: the copy's ETag is {answered}, the bytes sent give {expected_etag}"
            );
        }
        return Ok(());
    }
    let head = s3::head(&to.server.client, &to.bucket, key)
        .await?
        .context("the copy is missing after it was written")?;
    if head.size != size {
        bail!(
            "verification failed: {} bytes written, {} stored",
            size,
            head.size
        );
    }
    let stored = head.etag.trim_matches('"').to_ascii_lowercase();
    if md5_shaped(&stored) && stored != expected_etag {
        bail!(
            "verification failed: the copy's ETag is {stored}, the bytes sent give {expected_etag}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etags_are_md5_of_part_md5s() {
        let a: [u8; 16] = Md5::digest(b"a").into();
        let b: [u8; 16] = Md5::digest(b"b").into();
        let mut joined = Vec::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&b);
        assert_eq!(
            multipart_etag(&[a, b]),
            format!("{}-2", hex::encode(Md5::digest(&joined)))
        );
    }

    #[test]
    fn only_md5_shaped_etags_are_content_hashes() {
        assert_eq!(
            plain_md5("\"9E107D9D372BB6826BD81D3542A419D6\"").as_deref(),
            Some("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(plain_md5("\"9e107d9d372bb6826bd81d3542a419d6-3\""), None);
    }
}
