//! `minnow user ...`: users and their policies through the admin API.

use std::process::ExitCode;

use crate::client::ConnectionArgs;
use clap::{Args, Subcommand};
use s3_api::admin::UserView;

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

// Positional names differ from the global `--access-key`/`--secret-key`
// flags: clap shares one id space, and a clash silently fills the flag.

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user, or set the secret of an existing one. The secret comes
    /// from the argument, else `--secret-stdin`, else `$MINNOW_USER_SECRET`;
    /// the last two keep it out of the process list.
    Add {
        #[arg(value_name = "ACCESS")]
        access: String,
        #[arg(value_name = "SECRET", conflicts_with = "secret_stdin")]
        secret: Option<String>,
        /// Read the secret from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// List users.
    List,
    /// Show one user.
    Info {
        #[arg(value_name = "ACCESS")]
        access: String,
    },
    /// Remove a user.
    Remove {
        #[arg(value_name = "ACCESS")]
        access: String,
    },
    /// Let a disabled user sign requests again.
    Enable {
        #[arg(value_name = "ACCESS")]
        access: String,
    },
    /// Refuse every request of a user (without removing it).
    Disable {
        #[arg(value_name = "ACCESS")]
        access: String,
    },
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
    super::admin::execute(run_async(args))
}

async fn run_async(args: UserArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let json = args.json;
    match args.command {
        UserCommand::Add {
            access,
            secret,
            secret_stdin,
        } => {
            let secret = new_secret(secret, secret_stdin, std::io::stdin().lock(), &|name| {
                std::env::var(name).ok()
            })?;
            let user = client.add_user(&access, &secret).await?;
            show(&user, json, &format!("User `{access}` added."))
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
        UserCommand::Info { access } => {
            let user = client.user_info(&access).await?;
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
        UserCommand::Remove { access } => {
            client.remove_user(&access).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "accessKey": access, "removed": true })
                );
            } else {
                println!("User `{access}` removed.");
            }
            Ok(())
        }
        UserCommand::Enable { access } => {
            let user = client.set_user_enabled(&access, true).await?;
            show(&user, json, &format!("User `{access}` enabled."))
        }
        UserCommand::Disable { access } => {
            let user = client.set_user_enabled(&access, false).await?;
            show(&user, json, &format!("User `{access}` disabled."))
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

/// The variable `minnow user add` takes the secret from when neither the
/// argument nor `--secret-stdin` gives it.
const USER_SECRET_ENV: &str = "MINNOW_USER_SECRET";

/// The new user's secret: the argument, else the first line of `stdin`
/// (`--secret-stdin`, its line ending removed), else [`USER_SECRET_ENV`].
fn new_secret(
    argument: Option<String>,
    from_stdin: bool,
    mut stdin: impl std::io::BufRead,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    if let Some(secret) = argument {
        return Ok(secret);
    }
    if from_stdin {
        let mut line = String::new();
        stdin
            .read_line(&mut line)
            .map_err(|e| anyhow::anyhow!("reading the secret from standard input: {e}"))?;
        let secret = line.trim_end_matches(['\n', '\r']);
        if secret.is_empty() {
            anyhow::bail!("--secret-stdin: standard input held no secret");
        }
        return Ok(secret.to_string());
    }
    match env(USER_SECRET_ENV) {
        Some(secret) if !secret.is_empty() => Ok(secret),
        _ => {
            anyhow::bail!("no secret given: pass SECRET, --secret-stdin, or set {USER_SECRET_ENV}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct UserCli {
        #[command(flatten)]
        args: UserArgs,
    }

    #[test]
    fn positional_keys_do_not_fill_the_connection_flags() {
        let cli = UserCli::try_parse_from(["user", "add", "svc", "svc-secret-1"]).unwrap();
        assert_eq!(cli.args.connection.access_key, None);
        assert_eq!(cli.args.connection.secret_key, None);
        let UserCommand::Add { access, secret, .. } = cli.args.command else {
            panic!("add expected");
        };
        assert_eq!(
            (access.as_str(), secret.as_deref()),
            ("svc", Some("svc-secret-1"))
        );

        let cli = UserCli::try_parse_from([
            "user",
            "info",
            "svc",
            "--access-key",
            "root",
            "--secret-key",
            "rootsecret",
        ])
        .unwrap();
        assert_eq!(cli.args.connection.access_key.as_deref(), Some("root"));
        let UserCommand::Info { access } = cli.args.command else {
            panic!("info expected");
        };
        assert_eq!(access, "svc");
    }
}
