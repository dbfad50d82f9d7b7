//! A local file uploaded as it is read once, refused if it changes on
//! the way: `cp` and `mirror` both upload through [`upload_file`], so a
//! file written while it is copied fails with a clear error and leaves
//! nothing visible, never an object that matches neither its old nor its
//! new content.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use bytes::Bytes;

use super::mirror::verify::{expected_etag, verify};
use super::{s3, Remote};

/// One state of a file: a write changes its size, its modification time
/// or its change time (which a write that puts the old mtime back changes
/// too), and a file replaced under its name has another inode. Only
/// across a clock tick, though: see [`Stamp::settled`].
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    changed: (i64, i64),
    #[cfg(unix)]
    inode: u64,
}

/// How much older than the copy a file's mtime and ctime must be for its
/// stamp alone to prove it unchanged. File times come from a coarse clock
/// (the kernel's tick, a few ms on Linux; 1 s on ext3 or HFS+, 2 s for
/// FAT's mtime), so a file truncated and rewritten to the same size within
/// one tick keeps its size, mtime and ctime. A write at least one tick
/// after the stamped one gets a new time: 2 s covers the coarsest of these.
const SETTLED_AFTER: Duration = Duration::from_secs(2);

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            changed: (meta.ctime(), meta.ctime_nsec()),
            #[cfg(unix)]
            inode: meta.ino(),
        }
    }

    /// Whether the file was last written at least [`SETTLED_AFTER`] before
    /// `now` (taken before this stamp): any later write falls in a later
    /// tick, so it changes the stamp. A time in the future is not settled.
    fn settled(&self, now: SystemTime) -> bool {
        let old = |time: SystemTime| time + SETTLED_AFTER <= now;
        #[cfg(unix)]
        let changed = {
            let (secs, nanos) = self.changed;
            u64::try_from(secs).is_ok_and(|secs| {
                let nanos = u32::try_from(nanos).unwrap_or(0);
                old(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
            })
        };
        #[cfg(not(unix))]
        let changed = true;
        self.modified.is_some_and(old) && changed
    }
}

/// Uploads a file read once: each body (the one PUT, or each part) goes
/// with its CRC32C, which the server checks (see [`s3::upload`]); the
/// client computes no MD5. The file's stamp is taken before the
/// first read and after each one, so a file changing under us fails the
/// upload (aborted, nothing visible) instead of storing a mix: the read
/// that finishes last proves no write happened since the upload began.
/// A file written too recently for its stamp to prove that (see
/// [`SETTLED_AFTER`]) is read a second time once every part is read,
/// before the last body goes (so before a single PUT or the completion of
/// the parts), and must hash as the bytes sent did.
///
/// `attrs` (lower-case header names, `cp --attr`) go over the content type
/// guessed from the file name.
pub(super) async fn upload_file(
    path: &Path,
    to: &Remote,
    key: &str,
    attrs: &[(String, String)],
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    let now = SystemTime::now();
    let before =
        Stamp::of(&std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?);
    let size = before.len;
    let recheck = !before.settled(now);
    let part = s3::part_size_for(size);
    let parts = usize::try_from(size.div_ceil(part).max(1))?;
    // The checksum of each body read, by offset, while the file is rechecked.
    let sent: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());
    let content_type = mime_guess::from_path(path)
        .first_or_octet_stream()
        .to_string();
    let headers = super::attr::over(&[("content-type".to_string(), content_type)], attrs);
    let owned = Arc::new(path.to_path_buf());
    let (before, sent) = (&before, &sent);
    let uploaded = s3::upload(
        &to.server.client,
        &to.bucket,
        key,
        size,
        &headers,
        |offset, len| {
            let path = owned.clone();
            async move {
                let changed =
                    || anyhow::anyhow!("{} changed while it was being copied", path.display());
                let (bytes, after) = tokio::task::spawn_blocking({
                    let path = path.clone();
                    move || read_at(&path, offset, len)
                })
                .await??;
                if after != *before {
                    return Err(changed());
                }
                if recheck {
                    let all_read = {
                        let mut sent = sent.lock().unwrap_or_else(|e| e.into_inner());
                        sent.insert(offset, checksum(&bytes));
                        (sent.len() == parts).then(|| sent.clone())
                    };
                    // The body whose read completes the set waits for the
                    // second read, so nothing is stored before it agrees.
                    if let Some(all_read) = all_read {
                        let again = tokio::task::spawn_blocking({
                            let path = path.clone();
                            move || checksums(&path, part, size)
                        })
                        .await??;
                        if again.0 != all_read || again.1 != *before {
                            return Err(changed());
                        }
                    }
                }
                progress(len);
                Ok(s3::Body {
                    bytes,
                    md5: None,
                    pooled: true,
                })
            }
        },
    )
    .await?;
    let expected = expected_etag(&uploaded.part_md5s);
    verify(to, key, size, &expected, &uploaded.etag).await?;
    Ok(size)
}

/// The checksum a rechecked file's bodies are compared by: a fast one,
/// since it only tells two reads of one file apart.
fn checksum(bytes: &[u8]) -> u64 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, bytes)
}

/// The file read again from the start in `part`-sized bodies: each body's
/// [`checksum`] by offset, and the file's stamp once read. A file no
/// longer `size` bytes long gives another set.
fn checksums(path: &Path, part: u64, size: u64) -> anyhow::Result<(BTreeMap<u64, u64>, Stamp)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut sums = BTreeMap::new();
    let mut buffer = Vec::with_capacity(usize::try_from(part.min(size))?);
    let mut offset = 0;
    loop {
        buffer.clear();
        // One byte past `size` shows a file that grew.
        let want = part.min(size - offset).max(u64::from(offset == size));
        let n = (&mut file).take(want).read_to_end(&mut buffer)? as u64;
        if offset == size {
            if n == 0 && sums.is_empty() {
                sums.insert(0, checksum(&[]));
            } else if n > 0 {
                sums.insert(offset, checksum(&buffer));
            }
            break;
        }
        sums.insert(offset, checksum(&buffer));
        if n < want {
            break;
        }
        offset += n;
    }
    Ok((sums, Stamp::of(&file.metadata()?)))
}

/// `len` bytes at `offset` and the file's stamp once they are read. A
/// file that shrank under us is an error, not a short object.
fn read_at(path: &Path, offset: u64, len: u64) -> anyhow::Result<(Bytes, Stamp)> {
    use std::io::{Seek as _, SeekFrom};
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buffer = super::buffers::take(usize::try_from(len)?);
    (&mut file).take(len).read_to_end(&mut buffer)?;
    if buffer.len() as u64 != len {
        bail!("{} changed while it was being read", path.display());
    }
    let after = Stamp::of(&file.metadata()?);
    Ok((Bytes::from(buffer), after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Guards the changed-file rule: a file written within
    /// [`SETTLED_AFTER`] of the copy is rechecked, an older one is not.
    #[test]
    fn only_a_file_older_than_a_tick_bound_is_trusted_by_its_stamp() {
        let dir = tempfile_dir("settled");
        let path = dir.join("f");
        let before = SystemTime::now();
        std::fs::write(&path, b"x").unwrap();
        let stamp = Stamp::of(&std::fs::metadata(&path).unwrap());
        let after = SystemTime::now();
        assert!(!stamp.settled(before));
        // File times lag the clock by at most a tick, never 100 ms.
        assert!(!stamp.settled(before + SETTLED_AFTER - Duration::from_millis(100)));
        assert!(stamp.settled(after + SETTLED_AFTER));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The second read's checksums equal the bodies' when the file is the
    /// same, and differ when it grew, shrank or changed in one part.
    #[test]
    fn a_second_read_matches_the_bodies_only_for_the_same_bytes() {
        let dir = tempfile_dir("checksums");
        let path = dir.join("f");
        let bodies = |data: &[u8], part: usize| -> BTreeMap<u64, u64> {
            let mut sums: BTreeMap<u64, u64> = data
                .chunks(part)
                .enumerate()
                .map(|(i, c)| ((i * part) as u64, checksum(c)))
                .collect();
            if sums.is_empty() {
                sums.insert(0, checksum(&[]));
            }
            sums
        };
        for data in [vec![], vec![1u8; 3], vec![2u8; 4], vec![3u8; 10]] {
            std::fs::write(&path, &data).unwrap();
            let (sums, _) = checksums(&path, 4, data.len() as u64).unwrap();
            assert_eq!(sums, bodies(&data, 4), "{} bytes", data.len());
        }
        let data: Vec<u8> = (0..10).collect();
        let sent = bodies(&data, 4);
        let mut other = data.clone();
        other[5] ^= 1;
        for changed in [
            other,
            data[..9].to_vec(),
            [&data[..], &[0]].concat(),
            vec![],
        ] {
            std::fs::write(&path, &changed).unwrap();
            let (sums, _) = checksums(&path, 4, 10).unwrap();
            assert_ne!(sums, sent, "{changed:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("minnow-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
