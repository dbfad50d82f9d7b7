//! `minnow heal [BUCKET[/PREFIX]]`: runs the server's heal walk over each
//! bucket (or the one named) through the admin API, rebuilding missing or
//! corrupt shards (e.g. after a drive was replaced) of every key any drive
//! holds, listed or not, with a progress bar over the buckets on a terminal
//! and a summary at the end. Exits non-zero unless every object is whole
//! again.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientError, ConnectionArgs};
use anyhow::bail;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use s3_api::admin::HealSummary;

/// How long one bucket's heal walk may take before the command gives up
/// on the server (a walk rebuilds every object that needs it).
const HEAL_REQUEST_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Args)]
pub struct HealArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print the summary as JSON (and no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Print the server's heal status (progress, redundancy) and exit.
    #[arg(long, conflicts_with_all = ["wait", "target"])]
    pub status: bool,
    /// Wait until the server's background heal made redundancy full again
    /// (exit 1 if `--timeout` passes first).
    #[arg(long, conflicts_with = "target")]
    pub wait: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, default_value_t = 3600, requires = "wait")]
    pub timeout: u64,
    /// BUCKET or BUCKET/PREFIX; every bucket when absent.
    pub target: Option<String>,
}

/// How often `--wait` asks the server.
const WAIT_POLL: Duration = Duration::from_millis(500);

/// Runs `minnow heal`.
pub fn run(args: HealArgs) -> ExitCode {
    super::admin::execute(run_async(args))
}

async fn run_async(args: HealArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    if args.status {
        let heal = client.server_info().await?.heal;
        if args.json {
            println!("{}", serde_json::to_string(&heal)?);
        } else {
            println!("Heal: {}", super::admin::render_heal(&heal));
        }
        return Ok(());
    }
    if args.wait {
        return wait_for_redundancy(&client, Duration::from_secs(args.timeout), args.json).await;
    }
    let started = Instant::now();
    let (buckets, prefix) = match args.target.as_deref() {
        Some(target) => {
            let (bucket, prefix) = target.split_once('/').unwrap_or((target, ""));
            if bucket.is_empty() {
                bail!("expected BUCKET or BUCKET/PREFIX, got {target:?}");
            }
            (vec![bucket.to_string()], prefix.to_string())
        }
        None => (
            client
                .list_buckets()
                .await?
                .into_iter()
                .map(|b| b.name)
                .collect(),
            String::new(),
        ),
    };

    // One heal walk per bucket on the server, the same walk the background
    // heal runs: it visits every key folder present on any drive (also keys
    // no listing shows, with fewer than a read quorum of `obj.meta`), the
    // bucket's records and its open uploads. A listing would miss those.
    let client = client.with_timeout(HEAL_REQUEST_TIMEOUT);
    // A drive offline during the walk missed whatever it did not reach: such
    // a run is not a complete heal (the drive is healed once it answers).
    let mut offline = offline_drives(&client).await?;
    let mut total = HealSummary::default();
    let whole_deployment = args.target.is_none();
    let bar = if !args.json && std::io::stdout().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(buckets.len() as u64), ProgressDrawTarget::stdout());
        bar.set_style(progress_style());
        Some(bar)
    } else {
        None
    };

    let mut failures: Vec<(String, String)> = Vec::new();
    for bucket in &buckets {
        if let Some(bar) = &bar {
            bar.set_message(format!("{bucket}/{prefix}"));
        }
        match client.heal(Some(bucket), &prefix).await {
            Ok(report) => {
                if report.objects_failed > 0 {
                    failures.push((
                        format!("{bucket}/{prefix}"),
                        format!(
                            "{} objects without enough good shards (the server log names them)",
                            report.objects_failed
                        ),
                    ));
                }
                add(&mut total, &report);
            }
            // A full heal lists buckets first; one deleted since is not ours to report.
            Err(e) if whole_deployment && is_no_such_bucket(&e) => {}
            Err(e) if is_no_such_bucket(&e) => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                bail!("The specified bucket does not exist: {bucket} (NoSuchBucket)");
            }
            Err(e) => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                return Err(e.into());
            }
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for drive in offline_drives(&client).await? {
        if !offline.contains(&drive) {
            offline.push(drive);
        }
    }

    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "objectsScanned": total.objects_scanned,
                "objectsHealed": total.objects_healed,
                "objectsFailed": total.objects_failed,
                "bytesRebuilt": total.bytes_rebuilt,
                "seconds": seconds,
                "failures": failures
                    .iter()
                    .map(|(object, reason)| serde_json::json!({ "object": object, "reason": reason }))
                    .collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "Heal: {} objects checked, {} healed ({} rebuilt), {} failed, in {seconds:.1} s.",
            total.objects_scanned,
            total.objects_healed,
            super::admin::bytes(total.bytes_rebuilt),
            total.objects_failed,
        );
        for (object, reason) in failures.iter().take(20) {
            println!("  failed: {object}: {reason}");
        }
    }
    if !offline.is_empty() {
        bail!(
            "heal incomplete: drive(s) {} offline during the heal (healed once they answer again)",
            offline.join(", ")
        );
    }
    if total.objects_failed > 0 {
        bail!(
            "{} objects could not be healed (fewer good shards than data shards)",
            total.objects_failed
        );
    }
    Ok(())
}

/// The drives the server reports offline, by path.
async fn offline_drives(client: &Client) -> Result<Vec<String>, ClientError> {
    Ok(client
        .server_info()
        .await?
        .drives
        .into_iter()
        .filter(|drive| drive.state == "offline")
        .map(|drive| drive.path)
        .collect())
}

/// Polls the server until its heal status says redundancy is full.
async fn wait_for_redundancy(client: &Client, timeout: Duration, json: bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let heal = client.server_info().await?.heal;
        if heal.redundancy_full {
            if json {
                println!("{}", serde_json::to_string(&heal)?);
            } else {
                println!("Heal: {}", super::admin::render_heal(&heal));
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "redundancy still reduced after {} s: {}",
                timeout.as_secs(),
                super::admin::render_heal(&heal)
            );
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// The bucket is gone: `NoSuchBucket` from the S3 API or `no-such-bucket`
/// from the admin API.
fn is_no_such_bucket(error: &ClientError) -> bool {
    matches!(error.code(), Some("NoSuchBucket" | "no-such-bucket"))
}

fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} healing [{bar:30}] {pos}/{len} buckets, {elapsed} elapsed, eta {eta} {wide_msg}",
    )
    .expect("valid template")
    .progress_chars("=> ")
}

fn add(total: &mut HealSummary, report: &HealSummary) {
    total.objects_scanned += report.objects_scanned;
    total.objects_healed += report.objects_healed;
    total.objects_failed += report.objects_failed;
    total.bytes_rebuilt += report.bytes_rebuilt;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bar_template_is_valid() {
        let bar = ProgressBar::with_draw_target(Some(3), ProgressDrawTarget::hidden());
        bar.set_style(progress_style());
        bar.inc(1);
        bar.finish_and_clear();
    }

    #[test]
    fn reports_add_up() {
        let mut total = HealSummary::default();
        let one = HealSummary {
            objects_scanned: 1,
            objects_healed: 1,
            objects_failed: 0,
            bytes_rebuilt: 10,
        };
        add(&mut total, &one);
        add(&mut total, &one);
        assert_eq!(total.objects_healed, 2);
        assert_eq!(total.bytes_rebuilt, 20);
    }
}
