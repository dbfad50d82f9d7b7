// The `minnow` command's modules and `main`, shared by the `minnow` binary
// (`main.rs`) and, with the `fault-injection` feature, `minnow-faulty`
// (`bin/minnow-faulty.rs`); included rather than a module so that both
// binaries have the same crate root.

mod cli;
mod config;
#[cfg(feature = "fault-injection")]
mod fault_plan;
mod objects;
mod server;
mod volumes;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::{admin, bucket, heal, healthcheck, policy, user};
// The management commands reach the client as `crate::client`.
use minnow::client;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "minnow",
    version,
    about = "An S3-compatible object store with erasure coding across local drives"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the S3 server on drive folders (MinIO-compatible arguments).
    Server(server::ServerArgs),
    /// Manage buckets: create, list, delete, anonymous access, lifecycle, CORS.
    Bucket(bucket::BucketArgs),
    /// Manage users and their policies.
    User(user::UserArgs),
    /// Manage custom identity policies: create, list, info, remove.
    Policy(policy::PolicyArgs),
    /// Rebuild missing or corrupt shards (e.g. after a drive was replaced).
    Heal(heal::HealArgs),
    /// Server administration: `admin info`.
    Admin(admin::AdminArgs),
    /// Exit 0 when the server's /minio/health/live answers 200 (a container healthcheck).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Name servers and their credentials for the object commands.
    Alias(objects::alias::AliasArgs),
    /// List buckets, or objects under ALIAS/BUCKET/PREFIX.
    Ls(objects::ls::LsArgs),
    /// Show an object's size, ETag, content type and metadata.
    Stat(objects::ls::StatArgs),
    /// Print objects to stdout.
    Cat(objects::ls::CatArgs),
    /// Copy files and objects (local, server, server to server).
    Cp(objects::cp::CpArgs),
    /// Remove objects.
    Rm(objects::rm::RmArgs),
    /// Make a target folder or prefix match a source (copy what differs; --remove extras).
    Mirror(objects::mirror::MirrorArgs),
    /// Total size and object count under ALIAS/BUCKET[/PREFIX].
    Du(objects::du::DuArgs),
    /// Find objects by name, size and age.
    Find(objects::du::FindArgs),
    /// Copy every bucket (settings and objects) of another S3 server here.
    Import(objects::import::ImportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => server::run(server::ServerArgs::defaults()),
        Some(Command::Server(args)) => server::run(args),
        Some(Command::Bucket(args)) => bucket::run(args),
        Some(Command::User(args)) => user::run(args),
        Some(Command::Policy(args)) => policy::run(args),
        Some(Command::Heal(args)) => heal::run(args),
        Some(Command::Admin(args)) => admin::run(args),
        Some(Command::Healthcheck(args)) => healthcheck::run(args),
        Some(Command::Alias(args)) => cli::admin::execute(async { objects::alias::run(args) }),
        Some(Command::Ls(args)) => cli::admin::execute(objects::ls::ls(args)),
        Some(Command::Stat(args)) => cli::admin::execute(objects::ls::stat(args)),
        Some(Command::Cat(args)) => cli::admin::execute(objects::ls::cat(args)),
        Some(Command::Cp(args)) => cli::admin::execute(objects::cp::cp(args)),
        Some(Command::Rm(args)) => cli::admin::execute(objects::rm::rm(args)),
        Some(Command::Mirror(args)) => objects::mirror::run(args),
        Some(Command::Du(args)) => cli::admin::execute(objects::du::du(args)),
        Some(Command::Find(args)) => cli::admin::execute(objects::du::find(args)),
        Some(Command::Import(args)) => objects::import::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn server_takes_minio_style_arguments() {
        let cli = Cli::try_parse_from([
            "minnow",
            "server",
            "/data{1...4}",
            "--address",
            ":9000",
            "--console-address",
            ":9001",
        ])
        .unwrap();
        let Some(Command::Server(args)) = cli.command else {
            panic!("server expected");
        };
        assert_eq!(args.drives, vec!["/data{1...4}"]);
        assert_eq!(args.address, ":9000");
        assert_eq!(args.console_address.as_deref(), Some(":9001"));
    }

    #[test]
    fn bare_minnow_means_server_with_defaults() {
        let cli = Cli::try_parse_from(["minnow"]).unwrap();
        assert!(cli.command.is_none());
        let defaults = server::ServerArgs::defaults();
        assert!(defaults.drives.is_empty());
        assert_eq!(defaults.address, ":9000");
    }

    #[test]
    fn client_commands_parse_with_connection_flags_anywhere() {
        let cli = Cli::try_parse_from([
            "minnow",
            "bucket",
            "--endpoint",
            "http://127.0.0.1:1",
            "create",
            "--ignore-existing",
            "b1",
            "--json",
        ])
        .unwrap();
        let Some(Command::Bucket(args)) = cli.command else {
            panic!("bucket expected");
        };
        assert_eq!(args.connection.endpoint, "http://127.0.0.1:1");
        assert!(args.json);
    }
}
