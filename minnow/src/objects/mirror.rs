//! `minnow mirror SRC DST`: one-way sync of a folder or prefix (local →
//! server, server → local, server → server), like `mc mirror`. An object
//! is copied when the target lacks it or differs (size, then content:
//! ETags, or the whole-body MD5 that mirror stores in
//! `x-amz-meta-minnow-md5`, or one computed from a local file). Each copy
//! is verified against the bytes read, downloads land under a temporary
//! name, and a re-run after a kill continues where the last one stopped.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::Args;
use futures::StreamExt as _;
use http::Method;
use md5::{Digest as _, Md5};
use minnow::client::{object_path, ClientError};

use super::cp::{join_key, local_path_for, walk};
use super::{human_size, locate, s3, Location, Remote};

/// User metadata under which mirror records an object's whole-body MD5,
/// so multipart objects (whose ETag is not an MD5) compare by content.
pub const MD5_META: &str = "x-amz-meta-minnow-md5";

/// Marks a download in progress; a re-run removes leftovers of a kill.
const TEMP_MARK: &str = ".minnow-part-";

/// Objects larger than one part copied at once, whatever `--parallel`
/// says: each holds up to [`super::PART_PARALLELISM`] parts in memory.
const LARGE_AT_ONCE: usize = 8;

#[derive(Debug, Args, Clone)]
pub struct MirrorArgs {
    /// A local folder or ALIAS/BUCKET[/PREFIX].
    pub source: String,
    /// A local folder or ALIAS/BUCKET[/PREFIX].
    pub target: String,
    /// Remove objects of the target that the source does not have.
    #[arg(long)]
    pub remove: bool,
    /// Say what would be copied and removed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Objects copied at once (of them, at most 8 larger than one part, so
    /// memory stays within 8 objects × 4 parts × 16 MiB).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
    /// One JSON object per line for each object.
    #[arg(long)]
    pub json: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What a mirror did, for the caller's report.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub copied: u64,
    pub copied_bytes: u64,
    pub unchanged: u64,
    pub removed: u64,
    /// `(object, one-line reason)`.
    pub failed: Vec<(String, String)>,
}

/// One side of a mirror, resolved.
#[derive(Debug, Clone)]
pub enum Side {
    Local(PathBuf),
    Remote(Remote),
}

impl Side {
    fn display(&self, rel: &str) -> String {
        match self {
            Side::Local(root) => root.join(rel).display().to_string(),
            Side::Remote(remote) => remote.with_key(join_key(&remote.key, rel)).display(),
        }
    }
}

/// Bytes of one object moved so far, shown on the progress bar as the
/// parts go, so a single large object still shows a rate and an ETA.
struct Meter {
    bar: Option<indicatif::ProgressBar>,
    counted: AtomicU64,
}

impl Meter {
    fn add(&self, bytes: u64) {
        self.counted.fetch_add(bytes, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}

/// An object or file found on one side.
#[derive(Debug, Clone)]
struct Found {
    size: u64,
    /// Empty for local files.
    etag: String,
    /// Last modified (a file's mtime); `None` when unreadable.
    modified: Option<std::time::SystemTime>,
}

/// Output settings.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub dry_run: bool,
    pub remove: bool,
    pub parallel: usize,
}

/// Runs `minnow mirror`: exit 0 when everything matches, 1 when some
/// objects failed, 2 for bad arguments or a side that cannot be listed.
pub fn run(args: MirrorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let output = Output {
        json: args.json,
        quiet: args.quiet,
        dry_run: args.dry_run,
        remove: args.remove,
        parallel: usize::from(args.parallel),
    };
    let started = Instant::now();
    let outcome = runtime.block_on(async {
        let source = side(&args.source)?;
        let target = side(&args.target)?;
        mirror(&source, &target, output).await
    });
    match outcome {
        Ok(summary) => {
            if !args.quiet && !args.json {
                let seconds = started.elapsed().as_secs_f64();
                eprintln!(
                    "{} {} objects ({}) in {seconds:.1}s, {}/s; {} unchanged, {} removed, {} failed",
                    if args.dry_run { "Would copy" } else { "Copied" },
                    summary.copied,
                    human_size(summary.copied_bytes),
                    human_size((summary.copied_bytes as f64 / seconds.max(0.001)) as u64),
                    summary.unchanged,
                    summary.removed,
                    summary.failed.len()
                );
            }
            if summary.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::from(2)
        }
    }
}

/// An error as one line: its causes joined, whitespace collapsed.
pub fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resolves a mirror argument; a remote one must name a bucket.
pub fn side(arg: &str) -> anyhow::Result<Side> {
    match locate(arg)? {
        Location::Local(path) => Ok(Side::Local(path)),
        Location::Remote(mut remote) => {
            if remote.bucket.is_empty() {
                bail!("`{arg}` names no bucket");
            }
            if !remote.key.is_empty() && !remote.key.ends_with('/') {
                remote.key.push('/');
            }
            Ok(Side::Remote(remote))
        }
    }
}

/// Everything on one side, by path relative to the side's root. A local
/// side that does not exist is empty (a target is created on the way).
async fn list(side: &Side, is_target: bool) -> anyhow::Result<BTreeMap<String, Found>> {
    let mut all = BTreeMap::new();
    match side {
        Side::Local(root) => {
            if !root.exists() && is_target {
                return Ok(all);
            }
            if !root.is_dir() {
                bail!("{} is not a folder", root.display());
            }
            for (path, rel) in walk(root)? {
                if rel
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.contains(TEMP_MARK))
                {
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
                        modified: super::du::iso_time(&entry.last_modified),
                        etag: entry.etag,
                    },
                );
            }
        }
    }
    Ok(all)
}

/// Mirrors `source` onto `target`. Errors only when a side cannot be
/// listed; each object's failure is in the summary.
pub async fn mirror(source: &Side, target: &Side, output: Output) -> anyhow::Result<Summary> {
    if let (Side::Local(_), Side::Local(_)) = (source, target) {
        bail!("both paths are local: use rsync");
    }
    let from = list(source, false).await?;
    let to = list(target, true).await?;
    if let (Side::Remote(remote), false) = (target, output.dry_run) {
        super::uploads::abort_leftovers(&remote.server.client, &remote.bucket, &remote.key).await;
    }
    let large_slots = tokio::sync::Semaphore::new(LARGE_AT_ONCE);
    let total_bytes: u64 = from.values().map(|f| f.size).sum();
    let bar = progress_bar(total_bytes, output);
    let mut summary = Summary::default();
    let local_target = matches!(target, Side::Local(_));
    let jobs: Vec<(String, Found, Option<Found>)> = from
        .iter()
        // A folder marker (`photos/`) becomes a folder with its files.
        .filter(|(rel, _)| !(local_target && rel.ends_with('/')))
        .map(|(rel, found)| (rel.clone(), found.clone(), to.get(rel).cloned()))
        .collect();
    let mut results = futures::stream::iter(jobs)
        .map(|(rel, src, dst)| {
            let bar = bar.clone();
            let large_slots = &large_slots;
            async move {
                // Objects in parts hold up to 4 parts each in memory.
                let _slot = if src.size > s3::part_size_for(src.size) {
                    large_slots.acquire().await.ok()
                } else {
                    None
                };
                let meter = Meter {
                    bar,
                    counted: AtomicU64::new(0),
                };
                let outcome = sync_one(
                    source,
                    target,
                    &rel,
                    &src,
                    dst.as_ref(),
                    output.dry_run,
                    &meter,
                )
                .await
                .map_err(|e| one_line(&e));
                // Unchanged or failed objects count as done, too.
                meter.add(
                    src.size
                        .saturating_sub(meter.counted.load(Ordering::Relaxed)),
                );
                (rel, src, outcome)
            }
        })
        .buffer_unordered(output.parallel.max(1));
    let mut stdout = std::io::stdout().lock();
    while let Some((rel, src, outcome)) = results.next().await {
        let (from_text, to_text) = (source.display(&rel), target.display(&rel));
        let line = match &outcome {
            Ok(true) => {
                summary.copied += 1;
                summary.copied_bytes += src.size;
                let status = if output.dry_run {
                    "would-copy"
                } else {
                    "copied"
                };
                if !output.quiet && !output.json {
                    let text = format!("`{from_text}` -> `{to_text}` ({})", human_size(src.size));
                    print_line(&bar, &mut stdout, &text);
                }
                serde_json::json!({"status": status, "source": from_text, "target": to_text, "size": src.size})
            }
            Ok(false) => {
                summary.unchanged += 1;
                serde_json::json!({"status": "unchanged", "source": from_text, "target": to_text, "size": src.size})
            }
            Err(reason) => {
                summary.failed.push((from_text.clone(), reason.clone()));
                let text = format!("error: {from_text}: {reason}");
                match &bar {
                    Some(bar) => bar.suspend(|| eprintln!("{text}")),
                    None => eprintln!("{text}"),
                }
                serde_json::json!({"status": "failed", "source": from_text, "target": to_text, "error": reason})
            }
        };
        if output.json {
            writeln!(stdout, "{line}")?;
        }
    }
    drop(results);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if output.remove {
        let extras: Vec<String> = to
            .keys()
            .filter(|k| !from.contains_key(*k))
            .cloned()
            .collect();
        for (rel, outcome) in remove_extras(target, &extras, output.dry_run).await {
            let text = target.display(&rel);
            match outcome {
                Ok(()) => {
                    summary.removed += 1;
                    let status = if output.dry_run {
                        "would-remove"
                    } else {
                        "removed"
                    };
                    if output.json {
                        writeln!(
                            stdout,
                            "{}",
                            serde_json::json!({"status": status, "target": text})
                        )?;
                    } else if !output.quiet {
                        writeln!(
                            stdout,
                            "{} `{text}`",
                            if output.dry_run {
                                "Would remove"
                            } else {
                                "Removed"
                            }
                        )?;
                    }
                }
                Err(reason) => {
                    eprintln!("error: removing {text}: {reason}");
                    if output.json {
                        writeln!(
                            stdout,
                            "{}",
                            serde_json::json!({"status": "failed", "target": text, "error": reason})
                        )?;
                    }
                    summary.failed.push((text, reason));
                }
            }
        }
    }
    Ok(summary)
}

fn print_line(
    bar: &Option<indicatif::ProgressBar>,
    stdout: &mut std::io::StdoutLock<'_>,
    text: &str,
) {
    match bar {
        Some(bar) => bar.suspend(|| {
            let _ = writeln!(stdout, "{text}");
        }),
        None => {
            let _ = writeln!(stdout, "{text}");
        }
    }
}

/// A bytes bar with rate and ETA, only when a person watches stderr.
fn progress_bar(total: u64, output: Output) -> Option<indicatif::ProgressBar> {
    if output.quiet || output.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

async fn remove_extras(
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

/// Hex of an MD5 digest.
fn hex_of(digest: &[u8]) -> String {
    hex::encode(digest)
}

/// An ETag without quotes; `None` when it is not a plain MD5 (multipart
/// or another server's scheme).
fn plain_md5(etag: &str) -> Option<String> {
    let bare = etag.trim_matches('"');
    (bare.len() == 32 && bare.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| bare.to_ascii_lowercase())
}

/// Whether a bare ETag is an MD5 or S3's `md5-N` of a multipart object.
fn md5_shaped(etag: &str) -> bool {
    plain_md5(etag).is_some()
        || etag
            .split_once('-')
            .is_some_and(|(h, n)| plain_md5(h).is_some() && n.parse::<u32>().is_ok())
}

/// The ETag S3 gives a multipart object of these parts.
fn multipart_etag(part_digests: &[[u8; 16]]) -> String {
    let mut hasher = Md5::new();
    for digest in part_digests {
        hasher.update(digest);
    }
    format!("{}-{}", hex_of(&hasher.finalize()), part_digests.len())
}

/// What a local file holds: its size, whole-body MD5 and the MD5 of each
/// `part`-sized piece, read once.
struct FileDigests {
    size: u64,
    md5: String,
    parts: Vec<[u8; 16]>,
}

fn file_digests(path: &Path, part: u64) -> anyhow::Result<FileDigests> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut whole = Md5::new();
    let mut parts = Vec::new();
    let mut size = 0u64;
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
            whole.update(&buffer[..n]);
            piece.update(&buffer[..n]);
            in_piece += n as u64;
        }
        size += in_piece;
        if in_piece == 0 && !parts.is_empty() {
            break;
        }
        parts.push(piece.finalize().into());
        if in_piece < part {
            break;
        }
    }
    Ok(FileDigests {
        size,
        md5: hex_of(&whole.finalize()),
        parts,
    })
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

/// Copies one object when the target lacks it or differs; `Ok(true)` when
/// it was (or, dry, would be) copied.
async fn sync_one(
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
            upload_file(&root.join(rel), to, &key, meter).await?;
        }
        (Side::Remote(from), Side::Local(root)) => {
            let path = local_path_for(root, rel)?;
            download(from, &join_key(&from.key, rel), src.size, &path, meter).await?;
        }
        (Side::Remote(from), Side::Remote(to)) => {
            copy_between(
                from,
                &join_key(&from.key, rel),
                src.size,
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

/// Whether two same-sized objects hold the same bytes, as far as can be
/// told without reading both: equal ETags, or equal whole-body MD5s
/// (plain ETags, mirror's stored MD5, a local file's computed one).
/// Unknown counts as different, so the object is copied again.
async fn same_content(
    source: &Side,
    target: &Side,
    rel: &str,
    src: &Found,
    dst: &Found,
) -> anyhow::Result<bool> {
    if !src.etag.is_empty() && src.etag == dst.etag {
        return Ok(true);
    }
    let md5_of = |side: &Side, found: &Found| {
        let side = side.clone();
        let found = found.clone();
        let rel = rel.to_string();
        async move {
            match side {
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

/// Uploads a file whose digests were taken first: each part read for the
/// upload must match its digest, so a file changing under us fails the
/// upload (aborted, nothing visible) instead of storing a mix.
async fn upload_file(path: &Path, to: &Remote, key: &str, meter: &Meter) -> anyhow::Result<()> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let part = s3::part_size_for(size);
    let owned = path.to_path_buf();
    let digests = tokio::task::spawn_blocking(move || file_digests(&owned, part)).await??;
    if digests.size != size {
        bail!("{} changed while it was being read", path.display());
    }
    let content_type = mime_guess::from_path(path)
        .first_or_octet_stream()
        .to_string();
    let mut headers = vec![("content-type".to_string(), content_type)];
    if digests.parts.len() > 1 {
        // Its ETag will not be an MD5: keep one for the next comparison.
        headers.push((MD5_META.to_string(), digests.md5.clone()));
    }
    let parts = Arc::new(digests.parts.clone());
    let owned = path.to_path_buf();
    let stored = s3::upload(
        &to.server.client,
        &to.bucket,
        key,
        size,
        &headers,
        |offset, len| {
            let (path, parts) = (owned.clone(), parts.clone());
            async move {
                let body =
                    tokio::task::spawn_blocking(move || read_at(&path, offset, len)).await??;
                let index = usize::try_from(offset / part)?;
                let digest: [u8; 16] = Md5::digest(&body).into();
                if parts.get(index) != Some(&digest) {
                    bail!("the file changed while it was being copied");
                }
                meter.add(len);
                Ok(body)
            }
        },
    )
    .await?;
    let expected = if digests.parts.len() <= 1 {
        digests.md5.clone()
    } else {
        multipart_etag(&digests.parts)
    };
    verify(to, key, size, &expected, &stored).await
}

fn read_at(path: &Path, offset: u64, len: u64) -> anyhow::Result<Bytes> {
    use std::io::{Seek as _, SeekFrom};
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buffer = vec![0u8; usize::try_from(len)?];
    file.read_exact(&mut buffer)
        .with_context(|| format!("{} changed while it was being read", path.display()))?;
    Ok(Bytes::from(buffer))
}

/// The copy must have the ETag the bytes we sent give (MD5, or S3's
/// MD5-of-part-MD5s). The ETag the server answered the write with is
/// that of the object it stored, so it settles the matter in no extra
/// request. A server whose answer has no MD5-shaped ETag is asked with a
/// HEAD and checked by size (and by its ETag if that one is MD5-based).
async fn verify(
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
    let temp = dir.join(format!(".{name}{TEMP_MARK}{}", std::process::id()));
    let mut file =
        std::fs::File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
    let mut whole = Md5::new();
    let mut parts: Vec<[u8; 16]> = Vec::new();
    let mut sink = |chunk: Bytes| {
        whole.update(&chunk);
        parts.push(Md5::digest(&chunk).into());
        meter.add(chunk.len() as u64);
        file.write_all(&chunk).context("writing the file")
    };
    let written = match first {
        Some(body) => sink(body),
        None => s3::read_object(&from.server.client, &from.bucket, key, &head, sink).await,
    }
    .and_then(|()| file.sync_all().context("writing the file"));
    let checked = written.and_then(|()| {
        let md5 = hex_of(&whole.finalize());
        let stored_md5 = head
            .carried
            .iter()
            .find(|(n, _)| n == MD5_META)
            .map(|(_, v)| v.to_ascii_lowercase());
        let expected = plain_md5(&head.etag).or(stored_md5);
        match expected {
            Some(expected) if expected != md5 => {
                bail!("verification failed: the bytes read have MD5 {md5}, the source says {expected}")
            }
            _ => Ok(()),
        }
    });
    if let Err(error) = checked {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    std::fs::rename(&temp, path).with_context(|| format!("creating {}", path.display()))?;
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
    if let Some(md5) = plain_md5(&head.etag) {
        let read = hex_of(&Md5::digest(&body));
        if read != md5 {
            bail!("verification failed: the bytes read have MD5 {read}, the source says {md5}");
        }
    }
    Ok((head, Some(body)))
}

async fn copy_between(
    from: &Remote,
    src_key: &str,
    listed_size: u64,
    to: &Remote,
    dst_key: &str,
    meter: &Meter,
) -> anyhow::Result<()> {
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
    let part = s3::part_size_for(head.size);
    let count = usize::try_from(head.size.div_ceil(part).max(1))?;
    let digests: Arc<Mutex<Vec<[u8; 16]>>> = Arc::new(Mutex::new(vec![[0; 16]; count]));
    let stored = s3::upload(
        &to.server.client,
        &to.bucket,
        dst_key,
        head.size,
        &headers,
        |offset, len| {
            let digests = digests.clone();
            let etag = head.etag.clone();
            let first = first.clone();
            async move {
                let body = if let Some(body) = first {
                    body
                } else if len == 0 {
                    Bytes::new()
                } else {
                    s3::get_range(
                        &from.server.client,
                        &from.bucket,
                        src_key,
                        offset,
                        len,
                        &etag,
                    )
                    .await?
                };
                let index = usize::try_from(offset / part)?;
                if let Ok(mut all) = digests.lock() {
                    all[index] = Md5::digest(&body).into();
                }
                meter.add(len);
                Ok(body)
            }
        },
    )
    .await;
    let stored = match stored {
        Ok(etag) => etag,
        Err(error) if tags_refused(&error) => bail!(
            "the target does not store object tags, which this object has: {}",
            one_line(&error)
        ),
        Err(error) => return Err(error),
    };
    let digests = digests.lock().map(|d| d.clone()).unwrap_or_default();
    let expected = if count <= 1 {
        hex_of(&digests[0])
    } else {
        multipart_etag(&digests)
    };
    verify(to, dst_key, head.size, &expected, &stored).await
}

fn tags_refused(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<ClientError>()
        .is_some_and(|e| e.code() == Some("NotImplemented"))
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

    #[test]
    fn file_digests_split_at_part_boundaries() {
        let dir = std::env::temp_dir().join(format!("minnow-digests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 10]).unwrap();
        let d = file_digests(&path, 4).unwrap();
        assert_eq!(d.size, 10);
        assert_eq!(d.parts.len(), 3);
        assert_eq!(d.md5, hex::encode(Md5::digest([7u8; 10])));
        let empty = dir.join("e");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(file_digests(&empty, 4).unwrap().parts.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
