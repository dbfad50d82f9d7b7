//! `minnow cp SOURCE TARGET`: local → server, server → local and server →
//! server (server-side CopyObject when both paths are on the same server
//! with the same credentials). `--recursive` copies folders and prefixes
//! rsync-style: `dir/` copies what is inside `dir`, `dir` copies `dir`
//! itself. Downloads land under a temporary name and are renamed when
//! complete, so an interrupted copy never leaves a partial file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context as _};
use clap::Args;
use futures::StreamExt as _;

use super::{attr, human_size, locate, s3, Location, Remote};

/// CopyObject copies at most this much in one request (S3's limit);
/// bigger objects are streamed through the client instead.
pub(super) const MAX_SERVER_COPY: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct CpArgs {
    /// A local path or ALIAS/BUCKET/KEY.
    pub source: String,
    /// A local path or ALIAS/BUCKET[/KEY]; a trailing `/` means "into".
    pub target: String,
    /// Copy folders and prefixes.
    #[arg(long, short)]
    pub recursive: bool,
    /// Objects copied at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
    /// Print one JSON object per copied object.
    #[arg(long)]
    pub json: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Headers and metadata for the copies, "Name=value;Name2=value2":
    /// Content-Type, Cache-Control, Content-Disposition, Content-Encoding,
    /// Content-Language and Expires as themselves, any other name as user
    /// metadata (x-amz-meta-NAME). They replace what a source object carries
    /// under the same names.
    #[arg(long)]
    pub attr: Option<String>,
}

/// One end of one copy.
#[derive(Debug, Clone)]
enum End {
    Local(PathBuf),
    Remote(Remote),
}

impl End {
    fn display(&self) -> String {
        match self {
            End::Local(path) => path.display().to_string(),
            End::Remote(remote) => remote.display(),
        }
    }
}

/// `prefix` + `rel`, with a `/` between unless `prefix` is empty or ends
/// with one.
pub(super) fn join_key(prefix: &str, rel: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        format!("{prefix}{rel}")
    } else {
        format!("{prefix}/{rel}")
    }
}

/// The last segment of a key or path.
fn base_name(key: &str) -> &str {
    key.trim_end_matches('/').rsplit('/').next().unwrap_or(key)
}

/// A key made into a path under `root`. Keys are chosen by whoever wrote
/// the bucket, so `..`, `.` and empty segments are refused: a download
/// must never write outside the folder the user named.
pub(super) fn local_path_for(root: &Path, rel: &str) -> anyhow::Result<PathBuf> {
    let mut path = root.to_path_buf();
    for segment in rel.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\0') {
            bail!("refusing to download key segment {segment:?} of {rel:?}: it is not a plain file name");
        }
        path.push(segment);
    }
    Ok(path)
}

/// A hidden temporary name for a download of `name`:
/// `.{name}{mark}{pid}-{n}`, with `name` cut at a character boundary so
/// the whole fits in 255 bytes (the longest file name of common file
/// systems: a key segment of 250 bytes is a valid name, its temporary
/// must be too); the counter keeps two cut names of one run apart.
pub(super) fn temp_name(name: &str, mark: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tail = format!(
        "{mark}{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut cut = name.len().min(255 - 1 - tail.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}{tail}", &name[..cut])
}

/// Every file under `dir` as `(path, path relative to dir with '/')`.
/// Links to files are followed; anything else that is not a file or a
/// folder (FIFOs, which would block the read forever, devices, sockets,
/// links to folders, which may loop, and broken links) is skipped, with
/// a note on stderr and their relative paths in `skipped` when given
/// (the side being copied from: `mirror --remove` must not take the
/// target's copies of them for extras).
pub(super) fn walk(
    dir: &Path,
    mut skipped: Option<&mut Vec<String>>,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, rel)) = pending.pop() {
        let entries =
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let name = name
                .to_str()
                .with_context(|| format!("{} is not valid UTF-8", entry.path().display()))?;
            let child_rel = join_key(&rel, name);
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push((entry.path(), child_rel));
            } else if entry.path().is_file() {
                files.push((entry.path(), child_rel));
            } else if let Some(skipped) = skipped.as_deref_mut() {
                skipped.push(child_rel);
                eprintln!(
                    "skipping {}: not a regular file or folder",
                    super::printable(&entry.path().display().to_string())
                );
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(files)
}

/// One copy: source, target and the source's size when the plan knows it
/// (for the progress bar).
type Job = (End, End, Option<u64>);

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Works out the individual copies, and the objects that cannot be
/// copied at all (reported, not fatal to the others).
async fn plan(args: &CpArgs) -> anyhow::Result<(Vec<Job>, Vec<(String, String)>)> {
    let source = locate(&args.source)?;
    let target = locate(&args.target)?;
    if let Location::Remote(remote) = &target {
        if remote.bucket.is_empty() {
            bail!("`{}` names no bucket", args.target);
        }
    }
    let into = args.target.ends_with('/');
    // Where something with relative name `rel` goes.
    let place = |rel: &str, single: bool| -> anyhow::Result<End> {
        match &target {
            Location::Remote(remote) => {
                let key = if single && !(remote.key.is_empty() || into) {
                    remote.key.clone()
                } else {
                    join_key(&remote.key, rel)
                };
                Ok(End::Remote(remote.with_key(key)))
            }
            Location::Local(path) => {
                if single && !(into || path.is_dir()) {
                    Ok(End::Local(path.clone()))
                } else {
                    Ok(End::Local(local_path_for(path, rel)?))
                }
            }
        }
    };
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    match source {
        Location::Local(path) => {
            if matches!(target, Location::Local(_)) {
                bail!("both paths are local: use the system's cp");
            }
            if path.is_dir() {
                if !args.recursive {
                    bail!("{} is a folder: use --recursive", path.display());
                }
                let keep = if args.source.ends_with('/') {
                    String::new()
                } else {
                    format!("{}/", base_name(&args.source))
                };
                for (file, rel) in walk(&path, Some(&mut Vec::new()))? {
                    let size = file_size(&file);
                    jobs.push((
                        End::Local(file),
                        place(&format!("{keep}{rel}"), false)?,
                        size,
                    ));
                }
            } else if path.is_file() {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .context("the source file name is not valid UTF-8")?
                    .to_string();
                let size = file_size(&path);
                jobs.push((End::Local(path), place(&name, true)?, size));
            } else if std::fs::symlink_metadata(&path).is_ok() {
                bail!(
                    "{} is not a regular file or folder (a FIFO, device, socket or broken link)",
                    path.display()
                );
            } else {
                bail!("no such file or folder: {}", path.display());
            }
        }
        Location::Remote(remote) => {
            if remote.bucket.is_empty() {
                bail!("`{}` names no bucket", args.source);
            }
            if args.recursive {
                let keep = if remote.key.is_empty() || remote.key.ends_with('/') {
                    String::new()
                } else {
                    format!("{}/", base_name(&remote.key))
                };
                let from = remote.key.len();
                let objects =
                    s3::list_all(&remote.server.client, &remote.bucket, &remote.key).await?;
                if objects.is_empty() {
                    bail!("nothing found at {}", remote.display());
                }
                for object in objects {
                    let size = Some(object.size);
                    if object.key.ends_with('/')
                        && object.size == 0
                        && matches!(target, Location::Local(_))
                    {
                        // A folder marker: the folder appears with its files.
                        // One holding bytes is refused below (no file can
                        // have its name), never dropped unsaid.
                        continue;
                    }
                    // Only the one `/` after a named folder goes: a key
                    // `/abs` or `a//b` keeps its empty segment, which
                    // `local_path_for` refuses instead of folding it
                    // onto `abs` or `a/b`.
                    let rest = &object.key[from..];
                    let rest = match keep.is_empty() {
                        true => rest,
                        false => rest.strip_prefix('/').unwrap_or(rest),
                    };
                    let rel = if rest.is_empty() {
                        base_name(&object.key).to_string()
                    } else {
                        format!("{keep}{rest}")
                    };
                    let from = End::Remote(remote.with_key(object.key));
                    match place(&rel, false) {
                        Ok(to) => jobs.push((from, to, size)),
                        Err(e) => refused.push((from.display(), format!("{e:#}"))),
                    }
                }
            } else {
                if remote.key.is_empty() || remote.key.ends_with('/') {
                    bail!("`{}` is a bucket or folder: use --recursive", args.source);
                }
                let to = place(base_name(&remote.key), true)?;
                jobs.push((End::Remote(remote), to, None));
            }
        }
    }
    Ok((jobs, refused))
}

/// Runs `minnow cp`.
pub async fn cp(args: CpArgs) -> anyhow::Result<()> {
    let attrs = match &args.attr {
        Some(text) => {
            if matches!(locate(&args.target)?, Location::Local(_)) {
                bail!("--attr sets headers of objects: the target must be ALIAS/BUCKET[/KEY]");
            }
            attr::parse(text)?
        }
        None => Vec::new(),
    };
    let (jobs, refused) = plan(&args).await?;
    let bar = match super::progress::bytes_bar(0, args.quiet, args.json) {
        Some(bar) => {
            bar.set_length(total_size(&jobs).await);
            Some(bar)
        }
        None => None,
    };
    let meter = |bytes: u64| {
        if let Some(bar) = &bar {
            bar.inc(bytes);
        }
    };
    let (attrs, meter) = (&attrs, &meter);
    let total = jobs.len() + refused.len();
    let single = total == 1 && refused.is_empty();
    let mut stdout = std::io::stdout().lock();
    // Scripts reading `--json` see each failure as a line, too.
    let failed = |stdout: &mut std::io::StdoutLock<'_>, source: &str, reason: &str| {
        let line = format!(
            "error: {}",
            super::printable(&format!("{source}: {reason}"))
        );
        match &bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
        if args.json {
            let line = serde_json::json!({"status": "error", "source": source, "error": reason});
            writeln!(stdout, "{line}")
        } else {
            Ok(())
        }
    };
    for (source, reason) in &refused {
        failed(&mut stdout, source, reason)?;
    }
    let mut failures = refused.len();
    let mut results = futures::stream::iter(jobs)
        .map(|(from, to, _)| async move {
            let outcome = copy_one(&from, &to, attrs, meter).await;
            (from, to, outcome)
        })
        .buffer_unordered(usize::from(args.parallel));
    while let Some((from, to, outcome)) = results.next().await {
        match outcome {
            Ok(size) => {
                if args.json {
                    let line = serde_json::json!({
                        "status": "success",
                        "source": from.display(),
                        "target": to.display(),
                        "size": size,
                    });
                    writeln!(stdout, "{line}")?;
                } else if !args.quiet {
                    let text = format!(
                        "`{}` -> `{}` ({})",
                        from.display(),
                        to.display(),
                        human_size(size)
                    );
                    let text = super::printable(&text);
                    match &bar {
                        Some(bar) => bar.suspend(|| writeln!(stdout, "{text}"))?,
                        None => writeln!(stdout, "{text}")?,
                    }
                }
            }
            Err(error) if single => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                return Err(error);
            }
            Err(error) => {
                failures += 1;
                let reason = format!("{error:#}");
                let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
                failed(&mut stdout, &from.display(), &reason)?;
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if failures > 0 {
        bail!("{failures} of {total} copies failed");
    }
    Ok(())
}

/// The bytes the jobs will move; a remote source the plan has no size for
/// is asked (only done when a bar is shown).
async fn total_size(jobs: &[Job]) -> u64 {
    let mut total = 0;
    for (from, _, size) in jobs {
        total += match (size, from) {
            (Some(size), _) => *size,
            (None, End::Remote(src)) => s3::head(&src.server.client, &src.bucket, &src.key)
                .await
                .ok()
                .flatten()
                .map_or(0, |head| head.size),
            (None, End::Local(path)) => file_size(path).unwrap_or(0),
        };
    }
    total
}

/// Copies one object or file, counting its bytes on `meter` as they go;
/// returns its size. `attrs` go with a copy to a server.
async fn copy_one(
    from: &End,
    to: &End,
    attrs: &[(String, String)],
    meter: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    match (from, to) {
        (End::Local(path), End::Remote(dst)) => {
            super::file_upload::upload_file(path, dst, &dst.key, attrs, meter)
                .await
                .with_context(|| format!("uploading to {}", dst.display()))
        }
        (End::Remote(src), End::Local(path)) => download(src, path, meter)
            .await
            .with_context(|| format!("downloading {}", src.display())),
        (End::Remote(src), End::Remote(dst)) => copy_between(src, dst, attrs, meter)
            .await
            .with_context(|| format!("copying {} to {}", src.display(), dst.display())),
        (End::Local(_), End::Local(_)) => bail!("both paths are local"),
    }
}

async fn download(src: &Remote, path: &Path, meter: &(dyn Fn(u64) + Sync)) -> anyhow::Result<u64> {
    let head = super::ls::head_or_fail(src).await?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .context("the target has no file name")?
        .to_string_lossy();
    let temp = dir.join(temp_name(&name, ".minnow-part-"));
    let mut file =
        std::fs::File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
    let written = s3::read_object(&src.server.client, &src.bucket, &src.key, &head, |chunk| {
        meter(chunk.len() as u64);
        file.write_all(&chunk).context("writing the file")
    })
    .await
    .and_then(|()| file.sync_all().context("writing the file"));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    // A name the file system refuses (too long, a folder in the way)
    // fails only here: the temporary file must not stay behind.
    if let Err(error) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(error).with_context(|| format!("creating {}", path.display()));
    }
    Ok(head.size)
}

async fn copy_between(
    src: &Remote,
    dst: &Remote,
    attrs: &[(String, String)],
    meter: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    let head = super::ls::head_or_fail(src).await?;
    if src.server.identity == dst.server.identity && head.size <= MAX_SERVER_COPY {
        // With --attr the copy's headers are the source's with the given
        // ones over them (CopyObject's REPLACE directive takes them all).
        let replace = (!attrs.is_empty()).then(|| attr::over(&head.carried, attrs));
        s3::copy_object(
            &src.server.client,
            &src.bucket,
            &src.key,
            &dst.bucket,
            &dst.key,
            None,
            replace.as_deref(),
        )
        .await?;
        meter(head.size);
        return Ok(head.size);
    }
    let headers = attr::over(&head.carried, attrs);
    let etag = head.etag.as_str();
    s3::upload(
        &dst.server.client,
        &dst.bucket,
        &dst.key,
        head.size,
        &headers,
        |offset, len| async move {
            let bytes =
                s3::get_range(&src.server.client, &src.bucket, &src.key, offset, len, etag).await?;
            meter(len);
            Ok(bytes)
        },
    )
    .await?;
    Ok(head.size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_escape_the_download_folder() {
        let root = Path::new("/tmp/dl");
        assert_eq!(
            local_path_for(root, "a/b c/ü.txt").unwrap(),
            root.join("a").join("b c").join("ü.txt")
        );
        for bad in ["../x", "a/../../x", "a//b", "./a", "a/"] {
            assert!(local_path_for(root, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temporary_names_fit_a_file_name_and_stay_apart() {
        let long = "é".repeat(127);
        let (a, b) = (temp_name(&long, ".m-"), temp_name(&long, ".m-"));
        assert!(a.len() <= 255 && b.len() <= 255, "{}", a.len());
        assert_ne!(a, b);
        assert!(temp_name("f.txt", ".m-").starts_with(".f.txt.m-"));
    }

    #[test]
    fn keys_join_with_one_slash() {
        assert_eq!(join_key("", "a"), "a");
        assert_eq!(join_key("p", "a"), "p/a");
        assert_eq!(join_key("p/", "a"), "p/a");
        assert_eq!(base_name("a/b/c"), "c");
        assert_eq!(base_name("a/b/"), "b");
    }
}
