//! `minnow import ALIAS [BUCKET...] --to ALIAS2`: moves a whole S3 server
//! (MinIO, AWS, moto, another minnow) here. Each bucket is created, its
//! policy, lifecycle and CORS copied (anything the target refuses is
//! reported with the reason), its objects mirrored (see `mirror`), and a
//! report printed. Users cannot be copied (no S3 server reveals secrets),
//! so the report lists the ones the source names (through MinIO's admin
//! API, which MinIO and minnow serve) and the commands to run.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use minnow::client::BucketConfig;

use super::mirror::{mirror, one_line, Output, Side};
use super::{human_size, locate_remote, Remote};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The alias of the server to import from.
    pub source: String,
    /// Buckets to import (all of the source's when none are named).
    pub buckets: Vec<String>,
    /// The alias of the minnow server to import into.
    #[arg(long)]
    pub to: String,
    /// Objects copied at once (as `mirror --parallel`).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print only the report (no line per object).
    #[arg(long, short)]
    pub quiet: bool,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    buckets: Vec<String>,
    buckets_created: u64,
    configs_copied: Vec<String>,
    objects_copied: u64,
    bytes_copied: u64,
    objects_unchanged: u64,
    /// One line each: what was not copied and why.
    skipped: Vec<String>,
    users: Vec<String>,
    /// Why the source's users could not be listed, when they could not.
    users_unlisted: Option<String>,
    seconds: f64,
}

/// Runs `minnow import`: 0 when everything came over, 1 when something
/// was skipped, 2 when a server cannot be reached or the arguments are bad.
pub fn run(args: ImportArgs) -> ExitCode {
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
    match runtime.block_on(import(&args)) {
        Ok(report) => {
            print_report(&report, args.json);
            if report.skipped.is_empty() {
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

fn server_only(arg: &str) -> anyhow::Result<Remote> {
    let remote = locate_remote(arg)?;
    if !remote.bucket.is_empty() {
        bail!("`{arg}` must be an alias alone (name buckets as further arguments)");
    }
    Ok(remote)
}

async fn import(args: &ImportArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let source = server_only(&args.source)?;
    let target = server_only(&args.to)?;
    let listed = source
        .server
        .client
        .list_buckets()
        .await
        .map_err(|e| anyhow::anyhow!("listing the buckets of `{}`: {e}", args.source))?;
    // The target must answer too before anything is attempted.
    target
        .server
        .client
        .list_buckets()
        .await
        .map_err(|e| anyhow::anyhow!("listing the buckets of `{}`: {e}", args.to))?;
    let mut report = Report::default();
    let names: Vec<String> = if args.buckets.is_empty() {
        listed.iter().map(|b| b.name.clone()).collect()
    } else {
        for name in &args.buckets {
            if !listed.iter().any(|b| &b.name == name) {
                report
                    .skipped
                    .push(format!("bucket {name}: the source has no such bucket"));
            }
        }
        args.buckets
            .iter()
            .filter(|n| listed.iter().any(|b| &b.name == *n))
            .cloned()
            .collect()
    };
    let output = Output {
        json: false,
        quiet: args.quiet || args.json,
        dry_run: false,
        remove: false,
        parallel: usize::from(args.parallel),
    };
    for name in names {
        let from = Remote {
            server: source.server.clone(),
            bucket: name.clone(),
            key: String::new(),
        };
        let to = Remote {
            server: target.server.clone(),
            bucket: name.clone(),
            key: String::new(),
        };
        let client = &target.server.client;
        match client.bucket_exists(&name).await {
            Ok(true) => {}
            Ok(false) => {
                if let Err(e) = client.create_bucket(&name).await {
                    report.skipped.push(format!(
                        "bucket {name}: the target refused to create it: {e}"
                    ));
                    continue;
                }
                report.buckets_created += 1;
            }
            Err(e) => {
                report
                    .skipped
                    .push(format!("bucket {name}: the target refused it: {e}"));
                continue;
            }
        }
        report.buckets.push(name.clone());
        for (config, label) in [
            (BucketConfig::Policy, "policy"),
            (BucketConfig::Lifecycle, "lifecycle"),
            (BucketConfig::Cors, "CORS"),
        ] {
            match source.server.client.get_bucket_config(&name, config).await {
                Ok(None) => {}
                Ok(Some(document)) => match client.put_bucket_config(&name, config, document).await
                {
                    Ok(()) => report.configs_copied.push(format!("{name}: {label}")),
                    Err(e) => report
                        .skipped
                        .push(format!("bucket {name}: {label} refused by the target: {e}")),
                },
                Err(e) => report
                    .skipped
                    .push(format!("bucket {name}: {label} could not be read: {e}")),
            }
        }
        match mirror(&Side::Remote(from), &Side::Remote(to), output).await {
            Ok(summary) => {
                report.objects_copied += summary.copied;
                report.bytes_copied += summary.copied_bytes;
                report.objects_unchanged += summary.unchanged;
                report.skipped.extend(
                    summary
                        .failed
                        .into_iter()
                        .map(|(object, reason)| format!("{object}: {reason}")),
                );
            }
            Err(e) => report.skipped.push(format!(
                "bucket {name}: objects not copied: {}",
                one_line(&e)
            )),
        }
    }
    // S3 itself has no user listing; MinIO's admin API (MinIO, minnow)
    // does. A source without it (AWS, moto) is said so in the report.
    match source.server.client.list_users_madmin().await {
        Ok(users) => report.users = users,
        Err(e) => {
            report.users_unlisted = Some(format!(
                "the source has no MinIO admin API to list users ({e})"
            ))
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn print_report(report: &Report, json: bool) {
    if json {
        out!(
            "{}",
            serde_json::to_string(report).unwrap_or_else(|e| e.to_string())
        );
        return;
    }
    out!("Import finished in {:.1}s", report.seconds);
    out!(
        "Buckets:  {} ({} created)",
        report.buckets.len(),
        report.buckets_created
    );
    out!(
        "Objects:  {} copied ({}), {} already there",
        report.objects_copied,
        human_size(report.bytes_copied),
        report.objects_unchanged
    );
    for config in &report.configs_copied {
        out!("Config:   {config}");
    }
    out!("Skipped:  {}", report.skipped.len());
    for line in &report.skipped {
        out!("  - {line}");
    }
    out!("Users:    S3 never reveals secrets, so users are not copied.");
    if let Some(reason) = &report.users_unlisted {
        out!("  Users not listed: {reason}.");
        out!("  Create each one here with:");
        out!("  minnow user add ACCESS_KEY --secret-stdin");
    } else if report.users.is_empty() {
        out!("  The source lists no users; create each one here with:");
        out!("  minnow user add ACCESS_KEY --secret-stdin");
    } else {
        out!("  The source names these; create each here with a secret of your choice:");
        for user in &report.users {
            out!("  minnow user add {user} --secret-stdin");
        }
    }
}
