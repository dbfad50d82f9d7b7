//! `minnow ls`, `minnow stat` and `minnow cat`: read-only views of a
//! server path.

use std::io::Write as _;

use anyhow::{bail, Context as _};
use clap::Args;

use super::{human_size, locate_remote, s3, Remote};

#[derive(Debug, Args)]
pub struct LsArgs {
    /// ALIAS (buckets), ALIAS/BUCKET or ALIAS/BUCKET/PREFIX.
    pub target: String,
    /// List every object under the prefix instead of one folder level.
    #[arg(long, short)]
    pub recursive: bool,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatArgs {
    /// ALIAS/BUCKET/KEY (or ALIAS/BUCKET).
    pub target: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CatArgs {
    /// ALIAS/BUCKET/KEY ...
    #[arg(required = true)]
    pub targets: Vec<String>,
}

/// Runs `minnow ls`.
pub async fn ls(args: LsArgs) -> anyhow::Result<()> {
    let remote = locate_remote(&args.target)?;
    let client = &remote.server.client;
    if remote.bucket.is_empty() {
        for bucket in client.list_buckets().await? {
            if args.json {
                let line = serde_json::json!({
                    "type": "bucket", "key": bucket.name, "lastModified": bucket.created,
                });
                out!("{line}");
            } else {
                out!("[{}]      0B {}/", bucket.created, bucket.name);
            }
        }
        return Ok(());
    }
    let mut prefix = remote.key.clone();
    if !args.recursive && !prefix.is_empty() && !prefix.ends_with('/') {
        // `ls alias/b/photos` shows the folder's contents, as `mc` does,
        // when `photos` is a folder and not an object.
        let page = s3::list_page(client, &remote.bucket, &prefix, true, None).await?;
        let folder = format!("{prefix}/");
        let is_object = page.objects.iter().any(|o| o.key == prefix);
        if !is_object && page.prefixes.contains(&folder) {
            prefix = folder;
        }
    }
    let mut next: Option<String> = None;
    let mut shown = 0usize;
    loop {
        let page = s3::list_page(
            client,
            &remote.bucket,
            &prefix,
            !args.recursive,
            next.as_deref(),
        )
        .await?;
        for folder in &page.prefixes {
            shown += 1;
            if args.json {
                out!("{}", serde_json::json!({"type": "folder", "key": folder}));
            } else {
                out!("{:>24} {:>9} {}", "", "PRE", display_key(folder, &prefix));
            }
        }
        for object in &page.objects {
            shown += 1;
            if args.json {
                let mut line = serde_json::to_value(object)?;
                line["type"] = "file".into();
                out!("{line}");
            } else {
                out!(
                    "[{}] {:>9} {}",
                    object.last_modified,
                    human_size(object.size),
                    display_key(&object.key, &prefix)
                );
            }
        }
        match page.next {
            // The same token again would list the same page forever.
            Some(token) if next.as_ref() == Some(&token) => {
                anyhow::bail!("the server's listing repeats its continuation token: stopping")
            }
            Some(token) => next = Some(token),
            None => break,
        }
    }
    if shown == 0 && !remote.key.is_empty() {
        bail!("nothing found at {}", remote.display());
    }
    Ok(())
}

/// Keys are shown relative to the listed folder, as `mc ls` does.
fn display_key<'a>(key: &'a str, prefix: &str) -> &'a str {
    match prefix.rfind('/') {
        Some(cut) => &key[cut + 1..],
        None => key,
    }
}

/// The HEAD of `remote`, or a one-line "not found" error.
pub async fn head_or_fail(remote: &Remote) -> anyhow::Result<s3::Head> {
    if remote.bucket.is_empty() || remote.key.is_empty() {
        bail!("`{}` does not name an object", remote.display());
    }
    s3::head(&remote.server.client, &remote.bucket, &remote.key)
        .await
        .with_context(|| remote.display())?
        .with_context(|| format!("object not found: {}", remote.display()))
}

/// Runs `minnow stat`.
pub async fn stat(args: StatArgs) -> anyhow::Result<()> {
    let remote = locate_remote(&args.target)?;
    if remote.key.is_empty() && !remote.bucket.is_empty() {
        if !remote.server.client.bucket_exists(&remote.bucket).await? {
            bail!("bucket not found: {}", remote.display());
        }
        if args.json {
            out!(
                "{}",
                serde_json::json!({"type": "bucket", "bucket": remote.bucket})
            );
        } else {
            out!("Name : {}/", remote.bucket);
            out!("Type : bucket");
        }
        return Ok(());
    }
    let head = head_or_fail(&remote).await?;
    if args.json {
        let mut doc = serde_json::to_value(&head)?;
        doc["key"] = remote.key.clone().into();
        doc["type"] = "file".into();
        let metadata: serde_json::Map<String, serde_json::Value> = head
            .carried
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        doc["carried"] = metadata.into();
        out!("{doc}");
    } else {
        out!("Name      : {}", remote.key);
        out!("Date      : {}", head.last_modified);
        out!(
            "Size      : {} ({} bytes)",
            human_size(head.size),
            head.size
        );
        out!("ETag      : {}", head.etag.trim_matches('"'));
        out!("Type      : {}", head.content_type);
        for (name, value) in head.carried.iter().filter(|(n, _)| n != "content-type") {
            out!("Metadata  : {name}: {value}");
        }
    }
    Ok(())
}

/// Runs `minnow cat`: objects to stdout, read part by part.
pub async fn cat(args: CatArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for target in &args.targets {
        let remote = locate_remote(target)?;
        let head = head_or_fail(&remote).await?;
        s3::read_object(
            &remote.server.client,
            &remote.bucket,
            &remote.key,
            &head,
            |chunk| {
                // `cat | head` ends quietly, as `out!` does.
                if let Err(error) = out.write_all(&chunk) {
                    if error.kind() == std::io::ErrorKind::BrokenPipe {
                        std::process::exit(141);
                    }
                    return Err(error).context("writing to stdout");
                }
                Ok(())
            },
        )
        .await
        .with_context(|| remote.display())?;
    }
    out.flush()?;
    Ok(())
}
