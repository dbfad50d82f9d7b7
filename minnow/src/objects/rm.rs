//! `minnow rm`: one object, or with `--recursive --force` everything under
//! a prefix, deleted with DeleteObjects 1,000 keys at a time.

use anyhow::{bail, Context as _};
use clap::Args;

use super::{locate_remote, s3};

/// DeleteObjects takes at most this many keys.
const DELETE_BATCH: usize = 1000;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// ALIAS/BUCKET/KEY, or a prefix with --recursive --force.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Remove everything under the prefix (needs --force).
    #[arg(long, short)]
    pub recursive: bool,
    /// Confirm a recursive removal.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object per removed object.
    #[arg(long)]
    pub json: bool,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `minnow rm`.
pub async fn rm(args: RmArgs) -> anyhow::Result<()> {
    if args.recursive && !args.force {
        bail!("removing recursively needs --force as well");
    }
    // Each target on its own, as `mc rm` does: one that fails (a missing
    // object) does not spare the ones after it from removal.
    let mut failed_targets = 0;
    for target in &args.targets {
        match rm_one(&args, target).await {
            Ok(()) => {}
            Err(error) if args.targets.len() == 1 => return Err(error),
            Err(error) => {
                failed_targets += 1;
                let reason = format!("{error:#}");
                let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
                eprintln!("error: {}", super::printable(&reason));
            }
        }
    }
    if failed_targets > 0 {
        bail!("{failed_targets} of {} targets failed", args.targets.len());
    }
    Ok(())
}

async fn rm_one(args: &RmArgs, target: &str) -> anyhow::Result<()> {
    let remote = locate_remote(target)?;
    if remote.bucket.is_empty() {
        bail!("`{target}` names no bucket (use `minnow bucket delete` for buckets)");
    }
    let client = &remote.server.client;
    let keys: Vec<String> = if args.recursive {
        s3::list_all(client, &remote.bucket, &remote.key)
            .await?
            .into_iter()
            .map(|e| e.key)
            .collect()
    } else {
        // DELETE succeeds on a missing key; say so instead, as `mc` does.
        super::ls::head_or_fail(&remote).await?;
        vec![remote.key.clone()]
    };
    if keys.is_empty() {
        // A mistyped prefix must not pass for a job done (`mc rm -r`
        // says the object does not exist, too).
        bail!("nothing found at {}", remote.display());
    }
    let mut failed = Vec::new();
    for batch in keys.chunks(DELETE_BATCH) {
        let outcome = client
            .delete_objects(&remote.bucket, batch)
            .await
            .with_context(|| remote.display())?;
        let refused: std::collections::HashSet<&str> =
            outcome.failed.iter().map(|(k, _, _)| k.as_str()).collect();
        for key in batch.iter().filter(|k| !refused.contains(k.as_str())) {
            let path = remote.with_key(key.clone()).display();
            if args.json {
                out!("{}", serde_json::json!({"status": "success", "key": path}));
            } else if !args.quiet {
                out!("Removed `{path}`.");
            }
        }
        failed.extend(outcome.failed);
    }
    for (key, code, message) in &failed {
        let line = format!("{}/{key}: {message} ({code})", remote.bucket);
        eprintln!("error: {}", super::printable(&line));
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} objects could not be removed",
            failed.len(),
            keys.len()
        );
    }
    Ok(())
}
