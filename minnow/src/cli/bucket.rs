//! `minnow bucket ...`: create, list and delete buckets, and manage their
//! anonymous-access policy, lifecycle rules and CORS through the S3 API.

use std::io::Read as _;
use std::process::ExitCode;

use crate::client::{BucketConfig, Client, ConnectionArgs};
use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use lifecycle::LifecycleConfiguration;
use s3_api::iam::policy::{canned_bucket_policy, PolicyDocument};

/// Largest settings document read from stdin.
const MAX_STDIN: u64 = 1024 * 1024;
/// `delete --force` gives up after this many listing rounds.
const MAX_DELETE_ROUNDS: usize = 100_000;

#[derive(Debug, Args)]
pub struct BucketArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: BucketCommand,
}

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Create a bucket.
    Create {
        /// Succeed when the bucket already exists.
        #[arg(long)]
        ignore_existing: bool,
        name: String,
    },
    /// List buckets.
    List,
    /// Delete a bucket.
    Delete {
        /// Delete every object and abort every upload first.
        #[arg(long)]
        force: bool,
        name: String,
    },
    /// Anonymous access (bucket policy).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Lifecycle rules.
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
    /// CORS configuration.
    #[command(subcommand)]
    Cors(CorsCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessKind {
    /// Anonymous GetObject only (not listable).
    Download,
    /// Anonymous uploads.
    Upload,
    /// Anonymous read, list and upload.
    Public,
    /// No anonymous access (removes the policy).
    None,
}

impl AccessKind {
    fn name(self) -> &'static str {
        match self {
            AccessKind::Download => "download",
            AccessKind::Upload => "upload",
            AccessKind::Public => "public",
            AccessKind::None => "none",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set anonymous access: download, upload, public or none.
    Set {
        kind: AccessKind,
        /// BUCKET or BUCKET/PREFIX.
        target: String,
    },
    /// Show the bucket policy.
    Get { name: String },
}

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Replace the rules with a document on stdin (mc ilm JSON or S3 XML).
    Import { name: String },
    /// Print the rules as mc ilm JSON.
    Export { name: String },
    /// Remove every rule.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum CorsCommand {
    /// Replace the CORS configuration with the S3 XML on stdin.
    Set { name: String },
    /// Print the CORS configuration (S3 XML).
    Get { name: String },
    /// Remove the CORS configuration.
    Remove { name: String },
}

/// Runs `minnow bucket ...`.
pub fn run(args: BucketArgs) -> ExitCode {
    super::admin::execute(run_async(args))
}

async fn run_async(args: BucketArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let json = args.json;
    match args.command {
        BucketCommand::Create {
            ignore_existing,
            name,
        } => create(&client, &name, ignore_existing, json).await,
        BucketCommand::List => list(&client, json).await,
        BucketCommand::Delete { force, name } => delete(&client, &name, force, json).await,
        BucketCommand::Policy(PolicyCommand::Set { kind, target }) => {
            policy_set(&client, kind, &target, json).await
        }
        BucketCommand::Policy(PolicyCommand::Get { name }) => {
            policy_get(&client, &name, json).await
        }
        BucketCommand::Lifecycle(LifecycleCommand::Import { name }) => {
            lifecycle_import(&client, &name, json).await
        }
        BucketCommand::Lifecycle(LifecycleCommand::Export { name }) => {
            lifecycle_export(&client, &name).await
        }
        BucketCommand::Lifecycle(LifecycleCommand::Remove { name }) => {
            client
                .delete_bucket_config(&name, BucketConfig::Lifecycle)
                .await?;
            report(json, &name, "lifecycle", "removed", || {
                format!("Lifecycle rules of `{name}` removed.")
            })
        }
        BucketCommand::Cors(CorsCommand::Set { name }) => {
            let body = read_stdin()?;
            client
                .put_bucket_config(&name, BucketConfig::Cors, body)
                .await?;
            report(json, &name, "cors", "set", || {
                format!("CORS configuration of `{name}` set.")
            })
        }
        BucketCommand::Cors(CorsCommand::Get { name }) => {
            match client.get_bucket_config(&name, BucketConfig::Cors).await? {
                Some(xml) => {
                    if json {
                        let doc = serde_json::json!({
                            "bucket": name,
                            "cors": String::from_utf8_lossy(&xml),
                        });
                        println!("{doc}");
                    } else {
                        println!("{}", String::from_utf8_lossy(&xml).trim_end());
                    }
                    Ok(())
                }
                None => bail!("bucket `{name}` has no CORS configuration"),
            }
        }
        BucketCommand::Cors(CorsCommand::Remove { name }) => {
            client
                .delete_bucket_config(&name, BucketConfig::Cors)
                .await?;
            report(json, &name, "cors", "removed", || {
                format!("CORS configuration of `{name}` removed.")
            })
        }
    }
}

/// Prints a one-line confirmation, or `{"bucket":..,"<what>":"<outcome>"}`.
fn report(
    json: bool,
    bucket: &str,
    what: &str,
    outcome: &str,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        let mut doc = serde_json::Map::new();
        doc.insert("bucket".into(), bucket.into());
        doc.insert(what.into(), outcome.into());
        println!("{}", serde_json::Value::Object(doc));
    } else {
        println!("{}", human());
    }
    Ok(())
}

async fn create(
    client: &Client,
    name: &str,
    ignore_existing: bool,
    json: bool,
) -> anyhow::Result<()> {
    let created = match client.create_bucket(name).await {
        Ok(()) => true,
        Err(e)
            if ignore_existing
                && matches!(
                    e.code(),
                    Some("BucketAlreadyOwnedByYou") | Some("BucketAlreadyExists")
                ) =>
        {
            false
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "bucket": name, "created": created })
        );
    } else if created {
        println!("Bucket `{name}` created.");
    } else {
        println!("Bucket `{name}` already exists.");
    }
    Ok(())
}

async fn list(client: &Client, json: bool) -> anyhow::Result<()> {
    let buckets = client.list_buckets().await?;
    if json {
        println!("{}", serde_json::to_string(&buckets)?);
        return Ok(());
    }
    if buckets.is_empty() {
        println!("No buckets.");
    }
    let width = buckets.iter().map(|b| b.name.len()).max().unwrap_or(0);
    for bucket in buckets {
        println!("{:width$}  {}", bucket.name, bucket.created);
    }
    Ok(())
}

async fn delete(client: &Client, name: &str, force: bool, json: bool) -> anyhow::Result<()> {
    let mut removed = 0usize;
    let mut aborted = 0usize;
    if force {
        let mut rounds = 0;
        loop {
            rounds += 1;
            if rounds > MAX_DELETE_ROUNDS {
                bail!("gave up emptying `{name}` after {removed} objects");
            }
            // Always list from the start: the deleted keys are gone.
            let page = client.list_objects(name, "", None, 1000).await?;
            if page.objects.is_empty() {
                break;
            }
            let keys: Vec<String> = page.objects.into_iter().map(|o| o.key).collect();
            let outcome = client.delete_objects(name, &keys).await?;
            if let Some((key, code, message)) = outcome.failed.first() {
                bail!(
                    "cannot delete `{key}` in `{name}`: {message} ({code}); {} keys failed",
                    outcome.failed.len()
                );
            }
            removed += outcome.deleted;
        }
        for upload in client.list_uploads(name).await? {
            client
                .abort_upload(name, &upload.key, &upload.upload_id)
                .await?;
            aborted += 1;
        }
    }
    client.delete_bucket(name).await.map_err(|e| {
        if e.code() == Some("BucketNotEmpty") {
            anyhow::anyhow!("bucket `{name}` is not empty (use --force to delete its objects)")
        } else {
            e.into()
        }
    })?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bucket": name,
                "deleted": true,
                "objectsRemoved": removed,
                "uploadsAborted": aborted,
            })
        );
    } else if force {
        println!("Bucket `{name}` deleted ({removed} objects removed, {aborted} uploads aborted).");
    } else {
        println!("Bucket `{name}` deleted.");
    }
    Ok(())
}

/// `bucket` or `bucket/prefix` → (bucket, prefix).
fn split_target(target: &str) -> (&str, &str) {
    match target.split_once('/') {
        Some((bucket, prefix)) => (bucket, prefix),
        None => (target, ""),
    }
}

async fn policy_set(
    client: &Client,
    kind: AccessKind,
    target: &str,
    json: bool,
) -> anyhow::Result<()> {
    let (bucket, prefix) = split_target(target);
    if bucket.is_empty() {
        bail!("expected BUCKET or BUCKET/PREFIX, got {target:?}");
    }
    match canned_bucket_policy(kind.name(), bucket, prefix) {
        Some(doc) => {
            client
                .put_bucket_config(bucket, BucketConfig::Policy, Bytes::from(doc.to_json()))
                .await?
        }
        None => {
            client
                .delete_bucket_config(bucket, BucketConfig::Policy)
                .await?
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "bucket": bucket, "prefix": prefix, "access": kind.name() })
        );
    } else {
        println!(
            "Access permission for `{target}` is set to `{}`.",
            kind.name()
        );
    }
    Ok(())
}

/// Names a stored policy when it is one of the canned ones.
fn recognise(doc: &PolicyDocument, bucket: &str) -> Option<(&'static str, String)> {
    // The canned documents name their prefix in every object resource.
    let prefix = doc.statement.iter().find_map(|st| {
        let resources = serde_json::to_value(&st.resource).ok()?;
        let first = match &resources {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a.first()?.as_str()?.to_string(),
            _ => return None,
        };
        first
            .strip_prefix(&format!("arn:aws:s3:::{bucket}/"))
            .and_then(|p| p.strip_suffix('*'))
            .map(str::to_string)
    })?;
    ["download", "upload", "public"]
        .into_iter()
        .find(|kind| canned_bucket_policy(kind, bucket, &prefix).as_ref() == Some(doc))
        .map(|kind| (kind, prefix))
}

async fn policy_get(client: &Client, name: &str, json: bool) -> anyhow::Result<()> {
    let stored = client.get_bucket_config(name, BucketConfig::Policy).await?;
    let Some(bytes) = stored else {
        if json {
            println!(
                "{}",
                serde_json::json!({ "bucket": name, "access": "none", "policy": null })
            );
        } else {
            println!("Access permission for `{name}` is `none`.");
        }
        return Ok(());
    };
    let document: serde_json::Value =
        serde_json::from_slice(&bytes).context("the server sent a policy that is not JSON")?;
    let canned = PolicyDocument::parse(&bytes)
        .ok()
        .and_then(|doc| recognise(&doc, name));
    let access = canned.as_ref().map(|(k, _)| *k).unwrap_or("custom");
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bucket": name,
                "access": access,
                "prefix": canned.as_ref().map(|(_, p)| p.clone()),
                "policy": document,
            })
        );
    } else {
        match &canned {
            Some((kind, prefix)) if prefix.is_empty() => {
                println!("Access permission for `{name}` is `{kind}`.")
            }
            Some((kind, prefix)) => {
                println!("Access permission for `{name}/{prefix}` is `{kind}`.")
            }
            None => println!("{}", serde_json::to_string_pretty(&document)?),
        }
    }
    Ok(())
}

async fn lifecycle_import(client: &Client, name: &str, json: bool) -> anyhow::Result<()> {
    let input = read_stdin()?;
    let text = String::from_utf8_lossy(&input);
    let config = if text.trim_start().starts_with('<') {
        LifecycleConfiguration::from_xml(&input)
    } else {
        LifecycleConfiguration::from_mc_json(&input)
    }
    .context("the lifecycle document on stdin was refused")?;
    client
        .put_bucket_config(name, BucketConfig::Lifecycle, Bytes::from(config.to_xml()))
        .await?;
    let rules = config.rules.len();
    if json {
        println!("{}", serde_json::json!({ "bucket": name, "rules": rules }));
    } else {
        println!("Lifecycle configuration of `{name}` imported ({rules} rules).");
    }
    Ok(())
}

async fn lifecycle_export(client: &Client, name: &str) -> anyhow::Result<()> {
    let Some(xml) = client
        .get_bucket_config(name, BucketConfig::Lifecycle)
        .await?
    else {
        bail!("bucket `{name}` has no lifecycle configuration");
    };
    let config = LifecycleConfiguration::from_xml(&xml)
        .context("the server sent a lifecycle configuration this minnow cannot read")?;
    // The mc JSON form is both the human and the script output: it is what
    // `bucket lifecycle import` reads back.
    let value: serde_json::Value = serde_json::from_str(&config.to_mc_json())?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn read_stdin() -> anyhow::Result<Bytes> {
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut input)
        .context("reading stdin")?;
    if input.len() as u64 > MAX_STDIN {
        bail!("the document on stdin is larger than {MAX_STDIN} bytes");
    }
    if input.iter().all(u8::is_ascii_whitespace) {
        bail!("expected the document on stdin, got nothing");
    }
    Ok(Bytes::from(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_bucket_and_prefix() {
        assert_eq!(split_target("img"), ("img", ""));
        assert_eq!(split_target("img/public/"), ("img", "public/"));
    }

    #[test]
    fn canned_policies_are_recognised_with_their_prefix() {
        for kind in ["download", "upload", "public"] {
            let doc = canned_bucket_policy(kind, "img", "pub/").unwrap();
            assert_eq!(recognise(&doc, "img"), Some((kind, "pub/".to_string())));
        }
        let doc = canned_bucket_policy("download", "img", "").unwrap();
        assert_eq!(recognise(&doc, "img"), Some(("download", String::new())));
        let custom = PolicyDocument::parse(
            br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::img/a*"},{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::img/b*"}]}"#,
        )
        .unwrap();
        assert_eq!(recognise(&custom, "img"), None);
    }
}
