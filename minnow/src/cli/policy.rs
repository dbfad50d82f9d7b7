//! `minnow policy ...`: custom identity policies through the admin API, as
//! `mc admin policy create/list/info/remove` (attach them with `minnow user
//! policy attach NAME --user AK`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::client::ConnectionArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Create (or replace) a custom policy from a JSON file (`-` reads stdin).
    Create {
        name: String,
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// List canned and custom policies.
    List,
    /// Print one policy's JSON document.
    Info { name: String },
    /// Remove a custom policy (detaching it from every user).
    Remove { name: String },
}

/// Runs `minnow policy ...`.
pub fn run(args: PolicyArgs) -> ExitCode {
    super::admin::execute(run_async(args))
}

async fn run_async(args: PolicyArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let json = args.json;
    match args.command {
        PolicyCommand::Create { name, file } => {
            let bytes = if file.as_os_str() == "-" {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                    .context("reading the policy from stdin")?;
                buf
            } else {
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let document: serde_json::Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            client.put_policy(&name, document).await?;
            if json {
                println!("{}", serde_json::json!({ "policy": name, "created": true }));
            } else {
                println!("Policy `{name}` created.");
            }
        }
        PolicyCommand::List => {
            let list = client.list_policies().await?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
                return Ok(());
            }
            let width = list
                .policies
                .iter()
                .map(|p| p.name.len())
                .max()
                .unwrap_or(0);
            for entry in &list.policies {
                let kind = if entry.canned { "canned" } else { "custom" };
                println!("{:width$}  {kind}", entry.name);
            }
        }
        PolicyCommand::Info { name } => {
            let document = client.get_policy(&name).await?;
            if json {
                println!("{}", serde_json::to_string(&document)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&document)?);
            }
        }
        PolicyCommand::Remove { name } => {
            client.delete_policy(&name).await?;
            if json {
                println!("{}", serde_json::json!({ "policy": name, "removed": true }));
            } else {
                println!("Policy `{name}` removed.");
            }
        }
    }
    Ok(())
}
