//! `minnow admin info`: what the server reports about itself;
//! `minnow admin prometheus generate`: a scrape configuration with a bearer
//! token, as `mc admin prometheus generate` printed; and the
//! runner every client subcommand (`bucket`, `user`, `heal`, `admin`) shares:
//! a small runtime, the exit status, and the one-line failure on stderr.

use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crate::client::ConnectionArgs;
use clap::{Args, Subcommand};
use s3_api::admin::{HealView, ServerInfo};

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Drives, erasure layout, bucket and object counts, uptime.
    Info,
    /// Prometheus scrape configuration (`mc admin prometheus` equivalent).
    #[command(subcommand)]
    Prometheus(PrometheusCommand),
}

#[derive(Debug, Subcommand)]
pub enum PrometheusCommand {
    /// Print a scrape configuration whose bearer token authenticates as the
    /// connection's access key (no server call: the token is signed locally
    /// with that key's secret, which the server checks on every scrape).
    Generate {
        /// How long the token stays valid: `30d`, `12h`, `90m`, `45s`.
        /// Default 100 years, as `mc`'s.
        #[arg(long, value_parser = parse_expiry)]
        expiry: Option<Duration>,
    },
}

/// `mc`'s default token lifetime.
const DEFAULT_TOKEN_EXPIRY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn parse_expiry(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(at);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30d, 12h, 90m or 45s"))?;
    let unit_secs = match unit {
        "d" => 24 * 3600,
        "h" => 3600,
        "m" => 60,
        "s" | "" => 1,
        _ => {
            return Err(format!(
                "`{text}` is not a duration like 30d, 12h, 90m or 45s"
            ))
        }
    };
    match value.checked_mul(unit_secs) {
        Some(0) | None => Err(format!(
            "`{text}` must be more than zero and under 500 years"
        )),
        Some(secs) => Ok(Duration::from_secs(secs)),
    }
}

/// The scrape job for `endpoint` (`http://host:port`), authenticated by
/// `token`, in the shape `mc admin prometheus generate` printed.
fn scrape_config(endpoint: &str, token: &str) -> String {
    let (scheme, host) = endpoint.split_once("://").unwrap_or(("http", endpoint));
    let host = host.trim_end_matches('/');
    [
        "scrape_configs:".to_string(),
        "- job_name: minnow-job".to_string(),
        format!("  bearer_token: {token}"),
        "  metrics_path: /minio/v2/metrics/cluster".to_string(),
        format!("  scheme: {scheme}"),
        "  static_configs:".to_string(),
        format!("  - targets: ['{host}']"),
        String::new(),
    ]
    .join("\n")
}

/// Runs `minnow admin ...`.
pub fn run(args: AdminArgs) -> ExitCode {
    execute(run_async(args))
}

/// Runs a client command to completion and turns its outcome into the exit
/// status: 0 on success, 1 with a one-line `error: ...` on stderr otherwise.
pub(crate) fn execute(command: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(command));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let reason = format!("{error:#}");
            eprintln!(
                "error: {}",
                reason.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::FAILURE
        }
    }
}

async fn run_async(args: AdminArgs) -> anyhow::Result<()> {
    if let AdminCommand::Prometheus(PrometheusCommand::Generate { expiry }) = args.command {
        let config = args.connection.config();
        let token = s3_api::handlers::metrics_auth::prometheus_token(
            &config.access_key,
            &config.secret_key,
            expiry.unwrap_or(DEFAULT_TOKEN_EXPIRY),
            SystemTime::now(),
        );
        print!("{}", scrape_config(&config.endpoint, &token));
        return Ok(());
    }
    let client = args.connection.connect()?;
    match args.command {
        AdminCommand::Prometheus(_) => unreachable!("answered above without a connection"),
        AdminCommand::Info => {
            let info = client.server_info().await?;
            if args.json {
                println!("{}", serde_json::to_string(&info)?);
            } else {
                print!("{}", render_info(&info, client.endpoint()));
            }
            Ok(())
        }
    }
}

fn render_info(info: &ServerInfo, endpoint: &str) -> String {
    let mut out = String::new();
    let online = info.drives.iter().filter(|d| d.state != "offline").count();
    out.push_str(&format!("Server:   {endpoint} ({})\n", info.state));
    out.push_str(&format!(
        "Version:  {}   Uptime: {}\n",
        info.version,
        duration(info.uptime_seconds)
    ));
    out.push_str(&format!(
        "Layout:   {} ({} of {} drives online)\n",
        info.layout,
        online,
        info.drives.len()
    ));
    out.push_str(&format!(
        "Storage:  {} free of {} (raw, summed over online drives)\n",
        bytes(info.free_bytes),
        bytes(info.total_bytes)
    ));
    let objects = if info.objects_capped {
        format!("≥ {}", info.objects)
    } else {
        info.objects.to_string()
    };
    out.push_str(&format!(
        "Buckets:  {}   Objects: {objects}\n",
        info.buckets
    ));
    out.push_str("Drives:\n");
    for drive in &info.drives {
        let state = match drive.state.as_str() {
            "fresh" => "online, fresh (run `minnow heal`)",
            other => other,
        };
        let space = if drive.state == "offline" {
            String::new()
        } else {
            format!(
                "  {} free of {}",
                bytes(drive.free_bytes),
                bytes(drive.total_bytes)
            )
        };
        out.push_str(&format!(
            "  {}. {}  {state}{space}\n",
            drive.index + 1,
            drive.path
        ));
    }
    out.push_str(&format!("Heal:     {}\n", render_heal(&info.heal)));
    if let Some(audit) = &info.audit {
        let destination = audit.path.as_deref().unwrap_or(&audit.destination);
        let scope = if audit.all_requests {
            "every request"
        } else {
            "admin calls, authentication failures and denials"
        };
        out.push_str(&format!("Audit:    {destination} ({scope})\n"));
    }
    if !info.workers.is_empty() {
        out.push_str("Workers:\n");
        for worker in &info.workers {
            out.push_str(&format!(
                "  {:<18} {:<8} {}\n",
                worker.name, worker.state, worker.pacing
            ));
        }
    }
    out
}

/// One line of heal progress: redundancy first, then what is done and left.
pub(crate) fn render_heal(heal: &HealView) -> String {
    let redundancy = if heal.redundancy_full {
        "redundancy full"
    } else {
        "redundancy reduced"
    };
    let mut line = format!(
        "{redundancy}; {} objects ({}) done, {} objects ({}) left",
        heal.objects_done,
        bytes(heal.bytes_done),
        heal.objects_left,
        bytes(heal.bytes_left)
    );
    if heal.running {
        line.push_str("; walk running");
    }
    if heal.queued_objects > 0 {
        line.push_str(&format!("; {} queued", heal.queued_objects));
    }
    if heal.drives_offline > 0 {
        line.push_str(&format!("; {} drives offline", heal.drives_offline));
    }
    if !heal.drives_healing.is_empty() {
        let drives: Vec<String> = heal
            .drives_healing
            .iter()
            .map(|d| (d + 1).to_string())
            .collect();
        line.push_str(&format!("; healing drives {}", drives.join(", ")));
    }
    line
}

/// `1.5 GiB`-style sizes.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3_api::admin::DriveInfo;

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(3 * 3600 + 120), "3h 2m");
        assert_eq!(duration(2 * 86_400 + 3600), "2d 1h 0m");
    }

    #[test]
    fn info_shows_layout_drives_and_capped_counts() {
        let info = ServerInfo {
            state: "degraded".into(),
            version: "0.1.0".into(),
            uptime_seconds: 61,
            layout: "EC 2+2".into(),
            data_shards: 2,
            parity_shards: 2,
            drives: vec![
                DriveInfo {
                    index: 0,
                    path: "/d1".into(),
                    state: "online".into(),
                    total_bytes: 2048,
                    free_bytes: 1024,
                },
                DriveInfo {
                    index: 1,
                    path: "/d2".into(),
                    state: "offline".into(),
                    total_bytes: 0,
                    free_bytes: 0,
                },
            ],
            buckets: 3,
            objects: 1_000_000,
            objects_capped: true,
            total_bytes: 2048,
            free_bytes: 1024,
            workers: vec![s3_api::admin::WorkerView {
                name: "heal-walk".into(),
                state: "active".into(),
                pacing: "tranquility 1".into(),
            }],
            heal: HealView {
                running: true,
                objects_done: 3,
                objects_left: 7,
                drives_healing: vec![1],
                ..HealView::default()
            },
            audit: Some(s3_api::admin::AuditView {
                destination: "file".into(),
                path: Some("/var/log/minnow-audit.log".into()),
                all_requests: false,
            }),
        };
        let text = render_info(&info, "http://x");
        assert!(
            text.contains("Audit:    /var/log/minnow-audit.log (admin calls, authentication failures and denials)"),
            "{text}"
        );
        assert!(text.contains("EC 2+2 (1 of 2 drives online)"), "{text}");
        assert!(text.contains("Objects: ≥ 1000000"), "{text}");
        assert!(text.contains("2. /d2  offline\n"), "{text}");
        assert!(text.contains("1m 1s"), "{text}");
        assert!(
            text.contains("redundancy reduced; 3 objects (0 B) done, 7 objects (0 B) left"),
            "{text}"
        );
        assert!(text.contains("healing drives 2"), "{text}");
        assert!(text.contains("heal-walk"), "{text}");
    }
}
