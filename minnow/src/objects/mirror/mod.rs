//! `minnow mirror SRC DST`: one-way sync of a folder or prefix (local →
//! server, server → local, server → server), like `mc mirror`. An object
//! is copied when the target lacks it or differs (size, then content:
//! ETags, a local file's MD5 or multipart ETag, or the whole-body MD5 in
//! `x-amz-meta-minnow-md5`). Each copy is verified against the bytes read,
//! downloads land under a temporary name, and a re-run after a kill
//! continues where the last one stopped. Modules: `plan` (listings and
//! comparison), `copy`, `verify`, `report`.

mod copy;
mod plan;
mod report;
pub(super) mod verify;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use futures::StreamExt as _;

use super::cp::join_key;
use super::{human_size, locate, s3, Location, Remote};
use copy::{remove_extras, sync_one};
use plan::list;
pub use report::one_line;
use report::{print_line, progress_bar, Meter};

/// User metadata holding an object's whole-body MD5, so an object in
/// parts (whose ETag is not an MD5) compares by content. Mirror writes it
/// on server → server copies in parts whose source MD5 is known; a local
/// file in parts is compared by its multipart ETag instead (it is read
/// once, so its MD5 is not known when the upload starts).
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
    pub(super) fn display(&self, rel: &str) -> String {
        match self {
            Side::Local(root) => root.join(rel).display().to_string(),
            Side::Remote(remote) => remote.with_key(join_key(&remote.key, rel)).display(),
        }
    }
}

/// An object or file found on one side.
#[derive(Debug, Clone)]
pub(super) struct Found {
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

/// Mirrors `source` onto `target`. Errors only when a side cannot be
/// listed; each object's failure is in the summary.
pub async fn mirror(source: &Side, target: &Side, output: Output) -> anyhow::Result<Summary> {
    if let (Side::Local(_), Side::Local(_)) = (source, target) {
        bail!("both paths are local: use rsync");
    }
    let (from, skipped) = list(source, false).await?;
    let (to, _) = list(target, true).await?;
    // An empty source is far more often a wrong path or an unmounted disk
    // than a wish to empty the target; that stays an explicit `rm`.
    if output.remove && from.is_empty() && !to.is_empty() {
        bail!(
            "the source {} holds nothing: refusing to remove all {} objects of the target (use `minnow rm -r --force` to empty it)",
            source.display(""),
            to.len()
        );
    }
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
        // A folder marker (`photos/`) becomes a folder with its files; one
        // holding bytes fails as a name no file can have, never unsaid.
        .filter(|(rel, found)| !(local_target && rel.ends_with('/') && found.size == 0))
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
                    Some(bar) => bar.suspend(|| eprintln!("{}", super::printable(&text))),
                    None => eprintln!("{}", super::printable(&text)),
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
            // A source entry skipped (a broken link to an unmounted disk,
            // say) is not gone: its copy, or what is under a skipped link
            // to a folder, stays.
            .filter(|k| !skipped.iter().any(|s| super::under_prefix(k, s)))
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
                        let verb = if output.dry_run {
                            "Would remove"
                        } else {
                            "Removed"
                        };
                        let line = format!("{verb} `{text}`");
                        writeln!(stdout, "{}", super::printable(&line))?;
                    }
                }
                Err(reason) => {
                    let line = format!("removing {text}: {reason}");
                    eprintln!("error: {}", super::printable(&line));
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
