//! What each side holds and whether two same-sized objects are the same:
//! the listings, and the content comparison that decides what is copied.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use md5::{Digest as _, Md5};

use super::super::cp::{join_key, walk};
use super::super::{s3, Remote};
use super::verify::{hex_of, md5_shaped, multipart_etag, plain_md5};
use super::{Found, Side, MD5_META, TEMP_MARK};

/// Whether a file name is a download's temporary (`.NAME`, then
/// [`TEMP_MARK`], then `PID-N`; see `cp::temp_name`): only that exact
/// shape, so a user's own `notes.minnow-part-2.txt` is copied and never
/// taken for a leftover.
pub(super) fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name.rsplit_once(TEMP_MARK).is_some_and(|(_, tail)| {
            !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit() || c == '-')
        })
}

/// Everything on one side, by path relative to the side's root, and what
/// a local source skipped (FIFOs, broken links, links to folders). A local
/// side that does not exist is empty (a target is created on the way).
pub(super) async fn list(
    side: &Side,
    is_target: bool,
) -> anyhow::Result<(BTreeMap<String, Found>, Vec<String>)> {
    let mut all = BTreeMap::new();
    let mut skipped = Vec::new();
    match side {
        Side::Local(root) => {
            if !root.exists() && is_target {
                return Ok((all, skipped));
            }
            if !root.is_dir() {
                bail!("{} is not a folder", root.display());
            }
            for (path, rel) in walk(root, (!is_target).then_some(&mut skipped))? {
                if rel.rsplit('/').next().is_some_and(is_temp_name) {
                    if is_target {
                        // A download a killed run left behind.
                        let _ = std::fs::remove_file(&path);
                    }
                    continue;
                }
                let meta = std::fs::metadata(&path)?;
                all.insert(
                    rel,
                    Found {
                        size: meta.len(),
                        etag: String::new(),
                        modified: meta.modified().ok(),
                    },
                );
            }
        }
        Side::Remote(remote) => {
            let client = &remote.server.client;
            let exists = client.bucket_exists(&remote.bucket).await.map_err(|e| {
                // HEAD answers carry no error document: say what a 400 means.
                if e.status() == Some(400) {
                    anyhow::anyhow!(
                        "{}: `{}` is not a bucket name this server accepts",
                        remote.display(),
                        remote.bucket
                    )
                } else {
                    anyhow::Error::new(e).context(remote.display())
                }
            })?;
            if !exists {
                bail!("bucket not found: {}", remote.display());
            }
            for entry in s3::list_all(client, &remote.bucket, &remote.key)
                .await
                .with_context(|| remote.display())?
            {
                let rel = entry.key[remote.key.len()..].to_string();
                if rel.is_empty() {
                    continue;
                }
                all.insert(
                    rel,
                    Found {
                        size: entry.size,
                        modified: super::super::du::iso_time(&entry.last_modified),
                        etag: entry.etag,
                    },
                );
            }
        }
    }
    Ok((all, skipped))
}

/// What a local file holds: its whole-body MD5 and the MD5 of each
/// `part`-sized piece, read once.
pub(super) struct FileDigests {
    pub(super) md5: String,
    pub(super) parts: Vec<[u8; 16]>,
}

pub(super) fn file_digests(path: &Path, part: u64) -> anyhow::Result<FileDigests> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // A file of one part has that part's MD5 as its own: hashed once.
    let in_parts = file.metadata()?.len() > part;
    let mut whole = Md5::new();
    let mut parts: Vec<[u8; 16]> = Vec::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let mut piece = Md5::new();
        let mut in_piece = 0u64;
        while in_piece < part {
            let want = usize::try_from((part - in_piece).min(buffer.len() as u64))?;
            let n = file.read(&mut buffer[..want])?;
            if n == 0 {
                break;
            }
            if in_parts {
                whole.update(&buffer[..n]);
            }
            piece.update(&buffer[..n]);
            in_piece += n as u64;
        }
        if in_piece == 0 && !parts.is_empty() {
            break;
        }
        parts.push(piece.finalize().into());
        if in_piece < part {
            break;
        }
    }
    let md5 = match parts.as_slice() {
        [single] if !in_parts => hex_of(single),
        _ if in_parts => hex_of(&whole.finalize()),
        _ => bail!("{} changed while it was being read", path.display()),
    };
    Ok(FileDigests { md5, parts })
}

/// The whole-body MD5 a server object is known to have, if any.
async fn remote_md5(remote: &Remote, key: &str, etag: &str) -> anyhow::Result<Option<String>> {
    if let Some(md5) = plain_md5(etag) {
        return Ok(Some(md5));
    }
    let head = s3::head(&remote.server.client, &remote.bucket, key).await?;
    Ok(head.and_then(|h| {
        h.carried
            .iter()
            .find(|(name, _)| name == MD5_META)
            .map(|(_, v)| v.to_ascii_lowercase())
    }))
}

/// Whether two same-sized objects hold the same bytes, as far as can be
/// told without reading both: equal ETags, a local file's multipart ETag
/// equal to the object's, or equal whole-body MD5s (plain ETags, the MD5
/// mirror stored with copies in parts, a local file's computed one).
/// Unknown counts as different, so the object is copied again.
pub(super) async fn same_content(
    source: &Side,
    target: &Side,
    rel: &str,
    src: &Found,
    dst: &Found,
) -> anyhow::Result<bool> {
    if !src.etag.is_empty() && src.etag == dst.etag {
        return Ok(true);
    }
    // A local file against an object in parts: mirror uploads a file in
    // parts of `part_size_for(size)`, so the file's multipart ETag at that
    // size is its copy's ETag (no whole-body MD5 is stored any more).
    let local_and_remote = match (source, target) {
        (Side::Local(root), Side::Remote(_)) => Some((root, dst)),
        (Side::Remote(_), Side::Local(root)) => Some((root, src)),
        _ => None,
    };
    let mut local_md5 = None;
    if let Some((root, remote)) = local_and_remote {
        let etag = remote.etag.trim_matches('"').to_ascii_lowercase();
        if md5_shaped(&etag) && plain_md5(&etag).is_none() {
            let path = root.join(rel);
            let part = s3::part_size_for(remote.size);
            let digests = tokio::task::spawn_blocking(move || file_digests(&path, part)).await??;
            if multipart_etag(&digests.parts) == etag {
                return Ok(true);
            }
            local_md5 = Some(digests.md5);
        }
    }
    let md5_of = |side: &Side, found: &Found| {
        let side = side.clone();
        let found = found.clone();
        let rel = rel.to_string();
        let known = local_md5.clone();
        async move {
            match side {
                Side::Local(_) if known.is_some() => anyhow::Ok(known),
                Side::Local(root) => {
                    let path = root.join(&rel);
                    let digests = tokio::task::spawn_blocking(move || {
                        file_digests(&path, s3::part_size_for(found.size))
                    })
                    .await??;
                    anyhow::Ok(Some(digests.md5))
                }
                Side::Remote(remote) => {
                    remote_md5(&remote, &join_key(&remote.key, &rel), &found.etag).await
                }
            }
        }
    };
    if let Some(theirs) = md5_of(target, dst).await? {
        if let Some(ours) = md5_of(source, src).await? {
            return Ok(ours == theirs);
        }
    }
    // No content hash on one side (another server's multipart object):
    // like `mc mirror` and rsync, a same-sized target written after the
    // source was last modified is taken to be its copy.
    Ok(matches!((src.modified, dst.modified), (Some(s), Some(d)) if d >= s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_temporary_shape_counts_as_a_leftover() {
        assert!(is_temp_name(".a.txt.minnow-part-123-4"));
        assert!(is_temp_name(".a.txt.minnow-part-123"));
        assert!(!is_temp_name("notes.minnow-part-2.txt"));
        assert!(!is_temp_name(".notes.minnow-part-2.txt"));
        assert!(!is_temp_name("a.minnow-part-1"));
    }

    #[test]
    fn file_digests_split_at_part_boundaries() {
        let dir = std::env::temp_dir().join(format!("minnow-digests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 10]).unwrap();
        let d = file_digests(&path, 4).unwrap();
        assert_eq!(d.parts.len(), 3);
        assert_eq!(d.md5, hex::encode(Md5::digest([7u8; 10])));
        let empty = dir.join("e");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(file_digests(&empty, 4).unwrap().parts.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
