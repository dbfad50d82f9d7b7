//! `minnow user ...`: users and their policies through the admin API.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use s3_api::admin::UserView;
use s3_api::client::ConnectionArgs;

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user, or set the secret of an existing one.
    Add {
        access_key: String,
        secret_key: String,
    },
    /// List users.
    List,
    /// Show one user.
    Info { access_key: String },
    /// Remove a user.
    Remove { access_key: String },
    /// Let a disabled user sign requests again.
    Enable { access_key: String },
    /// Refuse every request of a user (without removing it).
    Disable { access_key: String },
    /// Attach or detach a policy.
    #[command(subcommand)]
    Policy(UserPolicyCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserPolicyCommand {
    /// Attach a policy (readwrite, readonly, writeonly, consoleAdmin, diagnostics or a custom one).
    Attach {
        policy: String,
        #[arg(long)]
        user: String,
    },
    /// Detach a policy.
    Detach {
        policy: String,
        #[arg(long)]
        user: String,
    },
}

/// Runs `minnow user ...`.
pub fn run(args: UserArgs) -> ExitCode {
    crate::admin::execute(run_async(args))
}

async fn run_async(args: UserArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let json = args.json;
    match args.command {
        UserCommand::Add {
            access_key,
            secret_key,
        } => {
            let user = client.add_user(&access_key, &secret_key).await?;
            show(&user, json, &format!("User `{access_key}` added."))
        }
        UserCommand::List => {
            let users = client.list_users().await?;
            if json {
                println!("{}", serde_json::to_string(&users)?);
                return Ok(());
            }
            if users.is_empty() {
                println!("No users.");
            }
            let width = users.iter().map(|u| u.access_key.len()).max().unwrap_or(0);
            for user in &users {
                println!(
                    "{:width$}  {:8}  {}",
                    user.access_key,
                    status(user),
                    policies(user)
                );
            }
            Ok(())
        }
        UserCommand::Info { access_key } => {
            let user = client.user_info(&access_key).await?;
            if json {
                println!("{}", serde_json::to_string(&user)?);
            } else {
                println!("AccessKey: {}", user.access_key);
                println!("Status:    {}", status(&user));
                println!("Policies:  {}", policies(&user));
                if !user.usable {
                    println!(
                        "Note:      its secret was sealed under other root credentials; add the user again"
                    );
                }
            }
            Ok(())
        }
        UserCommand::Remove { access_key } => {
            client.remove_user(&access_key).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "accessKey": access_key, "removed": true })
                );
            } else {
                println!("User `{access_key}` removed.");
            }
            Ok(())
        }
        UserCommand::Enable { access_key } => {
            let user = client.set_user_enabled(&access_key, true).await?;
            show(&user, json, &format!("User `{access_key}` enabled."))
        }
        UserCommand::Disable { access_key } => {
            let user = client.set_user_enabled(&access_key, false).await?;
            show(&user, json, &format!("User `{access_key}` disabled."))
        }
        UserCommand::Policy(UserPolicyCommand::Attach { policy, user }) => {
            let view = client.set_user_policy(&user, &policy, true).await?;
            show(
                &view,
                json,
                &format!("Policy `{policy}` attached to `{user}`."),
            )
        }
        UserCommand::Policy(UserPolicyCommand::Detach { policy, user }) => {
            let view = client.set_user_policy(&user, &policy, false).await?;
            show(
                &view,
                json,
                &format!("Policy `{policy}` detached from `{user}`."),
            )
        }
    }
}

fn show(user: &UserView, json: bool, message: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(user)?);
    } else {
        println!("{message}");
    }
    Ok(())
}

fn status(user: &UserView) -> &'static str {
    if user.enabled {
        "enabled"
    } else {
        "disabled"
    }
}

fn policies(user: &UserView) -> String {
    if user.policies.is_empty() {
        "(no policy)".to_string()
    } else {
        user.policies.join(", ")
    }
}
