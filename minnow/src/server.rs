//! `minnow server`: takes drives, credentials and settings as `config`
//! resolves them from flags and the environment, opens the store, starts the
//! lifecycle scanner, the HTTP server and the web console, prints the
//! start-up banner, and shuts down gracefully on SIGTERM/SIGINT.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use lifecycle::{Scanner, SystemClock};
use s3_api::handlers::{ApiConfig, AppState};
use s3_api::iam::{Iam, RootCredentials};
use store::api::{DriveStatus, Maintenance as _};
use store::{Store, StoreConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{self, RootConfig, Source, DEFAULT_DRIVE_COUNT};

const DEFAULT_ADDRESS: &str = ":9000";
/// How long requests in flight may run on after SIGTERM (`--shutdown-timeout`,
/// MinIO's flag and default). With the two graces below a stop takes at most
/// 9 s, inside the 10 s docker and compose wait before SIGKILL.
const DEFAULT_SHUTDOWN_TIMEOUT: &str = "5s";
/// How long the lifecycle scanner may take to park after the server stopped.
const SCANNER_STOP_GRACE: Duration = Duration::from_secs(2);
/// How long the store's workers (heal queue, heal walk, drive monitor) may
/// take to finish their current step; the process exits after it either way.
const WORKER_STOP_GRACE: Duration = Duration::from_secs(2);

/// Arguments of `minnow server`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Drive folders; MinIO ellipsis patterns such as `/data{1...4}` expand.
    /// Default: `MINIO_VOLUMES`, else ./data/drive1..4 (created).
    pub drives: Vec<String>,
    /// Listen address, `HOST:PORT`; `:9000` means all interfaces, port 0 a free port.
    #[arg(long, default_value = DEFAULT_ADDRESS)]
    pub address: String,
    /// Web console address, `HOST:PORT` (`:9001` means all interfaces). Default: a free
    /// port on the API's interface, as MinIO does. `MINIO_BROWSER=off` turns the console off.
    #[arg(long)]
    pub console_address: Option<String>,
    /// Root access key (else MINNOW_ROOT_USER, MINIO_ROOT_USER, `minioadmin`).
    #[arg(long)]
    pub root_user: Option<String>,
    /// Root secret key (else MINNOW_ROOT_PASSWORD, MINIO_ROOT_PASSWORD, `minioadmin`).
    #[arg(long)]
    pub root_password: Option<String>,
    /// Host name served as an anonymous, read-only CDN front (repeatable;
    /// else MINNOW_CDN_HOSTS, comma-separated).
    #[arg(long = "cdn-host")]
    pub cdn_hosts: Vec<String>,
    /// Access-Control-Allow-Origin of CDN answers (else MINNOW_CDN_ALLOW_ORIGIN, `*`).
    #[arg(long)]
    pub cdn_allow_origin: Option<String>,
    /// How long requests in flight may finish after SIGTERM/SIGINT (`5s`, `500ms`, `5`).
    #[arg(long, env = "MINIO_SHUTDOWN_TIMEOUT", default_value = DEFAULT_SHUTDOWN_TIMEOUT)]
    pub shutdown_timeout: String,
}

impl ServerArgs {
    /// What plain `minnow` runs with.
    pub fn defaults() -> Self {
        Self {
            drives: Vec::new(),
            address: DEFAULT_ADDRESS.to_string(),
            console_address: None,
            root_user: None,
            root_password: None,
            cdn_hosts: Vec::new(),
            cdn_allow_origin: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT.to_string(),
        }
    }
}

/// Runs the server to completion on its own runtime.
pub fn run(args: ServerArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("minnow: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(args));
    // Dropping the runtime would wait for every blocking task, including
    // one stuck in a hung drive past its deadline: do not wait for them.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("minnow: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `:9000` → all interfaces; `HOST:PORT` resolved; a bare port is accepted too.
async fn resolve_address(address: &str) -> anyhow::Result<SocketAddr> {
    let address = address.trim();
    let spec = if let Some(port) = address.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else if !address.is_empty() && address.bytes().all(|b| b.is_ascii_digit()) {
        format!("0.0.0.0:{address}")
    } else {
        address.to_string()
    };
    let mut resolved = tokio::net::lookup_host(spec)
        .await
        .with_context(|| format!("invalid --address {address:?}"))?;
    resolved
        .next()
        .ok_or_else(|| anyhow!("--address {address:?} resolves to nothing"))
}

/// The address clients should use: loopback for an all-interfaces bind.
fn client_address(local: SocketAddr) -> SocketAddr {
    match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), local.port())
        }
        _ => local,
    }
}

async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let shutdown_grace = config::parse_duration(&args.shutdown_timeout).ok_or_else(|| {
        anyhow!(
            "--shutdown-timeout {:?}: expected a duration such as 5s, 500ms or 5",
            args.shutdown_timeout
        )
    })?;
    let environment = config::Environment::from_process()?;
    let env = |name: &str| environment.get(name);
    for name in environment.ignored_minio_vars() {
        tracing::warn!("{name} is set but minnow does not support it: ignored");
    }
    let root = config::resolve_root(args.root_user.clone(), args.root_password.clone(), &env);
    s3_api::iam::validate_keys(&root.user, &root.password)
        .map_err(|message| anyhow!("root credentials: {message}"))?;
    if root.user_source == Source::Default || root.password_source == Source::Default {
        tracing::warn!(
            "using the default root credentials minioadmin:minioadmin; set MINNOW_ROOT_USER and MINNOW_ROOT_PASSWORD (or MINIO_ROOT_USER / MINIO_ROOT_PASSWORD)"
        );
    }

    let (drives, default_drives) = config::resolve_drives(&args.drives, &env)?;
    if default_drives {
        for drive in &drives {
            std::fs::create_dir_all(drive)
                .with_context(|| format!("creating default drive {}", drive.display()))?;
        }
        tracing::info!("no drives given: using ./data/drive1..{DEFAULT_DRIVE_COUNT}");
    }
    for drive in &drives {
        ensure_writable(drive)?;
    }
    let mut store_config = StoreConfig::new(drives);
    // A crash or a hot copy of the drives leaves them at different moments:
    // the next start heals everything in the background.
    store_config.heal_after_unclean_stop = true;
    store_config.parity = config::parity_from_env(&env)?;
    if let Some(limit) = config::write_buffer_limit_from_env(&env)? {
        store_config.write_buffer_limit = limit;
    }
    if let Some(bytes) = config::list_index_bytes_from_env(&env)? {
        store_config.list_index_bytes = bytes;
    }
    if let Some(bytes) = config::cache_bytes_from_env(&env)? {
        store_config.cache_bytes = bytes;
    }
    if let Some(timeout) = config::drive_timeout_from_env(&env)? {
        store_config.drive_timeout = timeout;
    }
    #[cfg(feature = "fault-injection")]
    if let Some(backend) = crate::fault_plan::backend_from_env(&env, store_config.drives.len())? {
        store_config.backend = backend;
    }
    #[cfg(not(feature = "fault-injection"))]
    if env("MINNOW_FAULT_PLAN").is_some() {
        tracing::warn!("MINNOW_FAULT_PLAN is ignored: this build has no fault injection");
    }
    if let Some(tranquility) = config::heal_tranquility_from_env(&env)? {
        store_config.heal_tranquility = tranquility;
    }
    let store = Arc::new(
        Store::open(store_config)
            .await
            .context("opening the drives")?,
    );
    // Indexes are built in the background from the start, so the first
    // listing usually finds its bucket indexed (it walks until then).
    store.build_list_indexes();

    let (max_requests, requests_deadline) = config::request_limit_from_env(&env)?;
    let day = config::lifecycle_day_from_env(&env)?;
    let scanner_config = config::scanner_config_from_env(day, &env)?;
    let api_config = config::security_settings(
        ApiConfig {
            region: config::region_from_env(&env),
            domains: config::domains_from_env(&env),
            lifecycle_day: day.as_duration(),
            cdn_hosts: config::cdn_hosts(&args.cdn_hosts, &env),
            cdn_allow_origin: config::cdn_allow_origin(args.cdn_allow_origin.clone(), &env),
            public_url: config::public_url(&env),
            ..ApiConfig::default()
        },
        &env,
    )?;
    let region = api_config.region.clone();
    let browser = config::browser(&env);
    let console_public_url = api_config.public_url.clone();
    let console_audit = api_config.audit.clone();
    // The console shows an object's CDN address on the first CDN host.
    let console_cdn_url = api_config
        .cdn_hosts
        .first()
        .map(|host| format!("https://{host}"));
    let old_root = config::old_root(&env);
    let iam = Iam::load(
        Arc::clone(&store),
        RootCredentials {
            access_key: root.user.clone(),
            secret_key: root.password.clone(),
        },
        old_root,
    )
    .await
    .context("loading users and policies")?;

    let address = resolve_address(&args.address).await?;
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let console_listener = if browser.enabled {
        let address = match &args.console_address {
            Some(address) => resolve_address(address).await?,
            None => {
                tracing::warn!(
                    "the console listens on a free port; choose one with --console-address :PORT"
                );
                SocketAddr::new(local.ip(), 0)
            }
        };
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} (--console-address)"))?;
        Some(listener)
    } else {
        if args.console_address.is_some() {
            tracing::info!("MINIO_BROWSER=off: --console-address ignored");
        }
        None
    };
    let console_local = match &console_listener {
        Some(listener) => Some(
            listener
                .local_addr()
                .context("reading the console address")?,
        ),
        None => None,
    };

    let shutdown = CancellationToken::new();
    tokio::spawn(watch_signals(shutdown.clone()));
    let scanner = Scanner::new(Arc::clone(&store), scanner_config, Arc::new(SystemClock))
        .spawn(shutdown.clone().cancelled_owned());
    // The metrics endpoint reads the scanner's counters until shutdown
    // takes the handle back to join it.
    let scanner = Arc::new(std::sync::Mutex::new(Some(scanner)));
    let scanner_metrics = Arc::clone(&scanner);
    let scanner_report = Arc::clone(&scanner);
    let state = Arc::new(
        AppState::new(Arc::clone(&store), api_config, Arc::new(iam)).with_sample_source(Arc::new(
            {
                let store = Arc::clone(&store);
                move || {
                    let mut samples = scanner_metrics
                        .lock()
                        .ok()
                        .and_then(|handle| {
                            handle.as_ref().map(|h| lifecycle_samples(&h.metrics()))
                        })
                        .unwrap_or_default();
                    samples.push(s3_api::metrics::ExternalSample {
                        name: "minnow_write_buffer_bytes".into(),
                        help: "Bytes of upload blocks and shards held in memory (MINNOW_WRITE_BUFFER_MIB caps it).".into(),
                        kind: "gauge",
                        labels: Vec::new(),
                        value: store.write_buffer_in_use() as f64,
                    });
                    samples
                }
            },
        ))
        .with_lifecycle_source(s3_api::admin::LifecycleSource(Arc::new(move || {
            scanner_report
                .lock()
                .ok()
                .and_then(|handle| handle.as_ref().map(|h| h.report()))
                .unwrap_or_default()
        }))),
    );

    let console = console_listener.map(|listener| {
        let mut console_config =
            minnow_console::ConsoleConfig::new(format!("http://{}", client_address(local)));
        console_config.public_url = console_public_url;
        console_config.redirect_url = browser.redirect_url.clone();
        console_config.cdn_url = console_cdn_url;
        console_config.audit = console_audit;
        tokio::spawn(minnow_console::serve(
            listener,
            console_config,
            shutdown.clone().cancelled_owned(),
        ))
    });

    let drive_status = store.drive_status().await;
    let banner = Banner {
        local,
        console: console_local,
        console_url: browser.redirect_url.as_deref(),
    };
    print_banner(
        &banner,
        &drive_status,
        store.erasure_layout(),
        &root,
        &region,
    );
    tracing::info!(address = %local, "serving S3 requests");

    s3_api::server::serve_with(
        listener,
        state,
        shutdown.cancelled(),
        s3_api::server::ServeOptions {
            shutdown_grace,
            max_requests,
            requests_deadline,
        },
    )
    .await;
    if let Some(console) = console {
        match console.await {
            Ok(Err(error)) => tracing::warn!(%error, "the console stopped with an error"),
            Err(error) => tracing::warn!(%error, "the console task failed"),
            Ok(Ok(())) => {}
        }
    }

    let scanner = scanner.lock().ok().and_then(|mut handle| handle.take());
    if let Some(scanner) = scanner {
        scanner.stop();
        if tokio::time::timeout(SCANNER_STOP_GRACE, scanner.join())
            .await
            .is_err()
        {
            tracing::warn!("lifecycle scanner did not stop in time");
        } else {
            tracing::info!(worker = "lifecycle-scanner", "worker stopped");
        }
    }
    // The store's workers stop after the HTTP server drained, so no request
    // in flight loses a heal it queued; each finishes its current step.
    if tokio::time::timeout(WORKER_STOP_GRACE, store.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("store workers did not stop in time");
    }
    for worker in store.workers() {
        tracing::info!(worker = %worker.name, state = ?worker.state, "worker stopped");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Fails, naming the folder, its owner and mode, when an existing drive
/// folder cannot be written by this process: in a container the usual cause
/// is a bind mount owned by another UID, and the store's own error would only
/// name a file inside it. A path that does not exist yet, or is not a
/// folder, is left to the store (it creates a folder whose parent exists).
fn ensure_writable(drive: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let Ok(metadata) = std::fs::metadata(drive) else {
        return Ok(());
    };
    if !metadata.is_dir() {
        return Ok(());
    }
    let probe = drive.join(format!(".minnow-write-probe-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match written {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(error) => {
            // /proc/self belongs to the process's effective user.
            let me = std::fs::metadata("/proc/self")
                .map(|m| format!("{}:{}", m.uid(), m.gid()))
                .unwrap_or_else(|_| "this user".to_string());
            Err(anyhow!(
                "drive folder {} is not writable by {me} ({error}); it belongs to {}:{} \
                 with mode {:o}: give that user write access (chown, or chmod g+w/o+w \
                 with a matching group)",
                drive.display(),
                metadata.uid(),
                metadata.gid(),
                metadata.permissions().mode() & 0o7777,
            ))
        }
    }
}

/// The lifecycle scanner's counters as Prometheus samples.
fn lifecycle_samples(
    metrics: &lifecycle::ScannerMetricsSnapshot,
) -> Vec<s3_api::metrics::ExternalSample> {
    let counter = |name: &str, help: &str, value: u64| s3_api::metrics::ExternalSample {
        name: format!("minnow_lifecycle_{name}"),
        help: help.to_string(),
        kind: "counter",
        labels: Vec::new(),
        value: value as f64,
    };
    vec![
        counter(
            "objects_scanned_total",
            "Objects the lifecycle scanner examined.",
            metrics.objects_scanned,
        ),
        counter(
            "objects_expired_total",
            "Objects lifecycle rules deleted.",
            metrics.objects_expired,
        ),
        counter(
            "uploads_aborted_total",
            "Multipart uploads lifecycle rules aborted.",
            metrics.uploads_aborted,
        ),
        counter(
            "cycles_total",
            "Completed lifecycle scans over all buckets.",
            metrics.cycles,
        ),
        counter(
            "errors_total",
            "Lifecycle scanner failures.",
            metrics.errors,
        ),
        s3_api::metrics::ExternalSample {
            name: "minnow_lifecycle_paced_seconds_total".into(),
            help: "Time the lifecycle scanner rested to protect foreground latency.".into(),
            kind: "counter",
            labels: Vec::new(),
            value: metrics.paced.as_secs_f64(),
        },
        s3_api::metrics::ExternalSample {
            name: "minnow_lifecycle_last_cycle_seconds".into(),
            help: "Duration of the last complete lifecycle scan.".into(),
            kind: "gauge",
            labels: Vec::new(),
            value: metrics.last_cycle_duration.as_secs_f64(),
        },
    ]
}

/// Cancels `shutdown` on the first SIGTERM/SIGINT; a second one exits at once.
async fn watch_signals(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::info!("shutdown requested: finishing requests in flight (signal again to stop now)");
    shutdown.cancel();
    wait_for_signal().await;
    tracing::warn!("second signal: exiting immediately");
    std::process::exit(130);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = match signal(SignalKind::terminate()) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Where the banner says the server and its console are.
struct Banner<'a> {
    local: SocketAddr,
    console: Option<SocketAddr>,
    /// `MINIO_BROWSER_REDIRECT_URL`, the console's public address.
    console_url: Option<&'a str>,
}

fn print_banner(
    banner: &Banner<'_>,
    drives: &[DriveStatus],
    (data, parity): (usize, usize),
    root: &RootConfig,
    region: &str,
) {
    let local = banner.local;
    let endpoint = format!("http://{}", client_address(local));
    let mut out = std::io::stdout().lock();
    // Scripts parse the `API:` line; keep it first and exactly this shape.
    let _ = writeln!(out, "API: {endpoint}");
    if client_address(local) != local {
        let _ = writeln!(out, "     listening on {local} (all interfaces)");
    }
    match banner.console {
        Some(console) => {
            let _ = writeln!(out, "Console: http://{}", client_address(console));
            if let Some(url) = banner.console_url {
                let _ = writeln!(out, "         public at {url}");
            }
        }
        None => {
            let _ = writeln!(out, "Console: off (MINIO_BROWSER=off)");
        }
    }
    let _ = writeln!(
        out,
        "Erasure: EC {data}+{parity} across {} drives",
        drives.len()
    );
    for drive in drives {
        let state = match (drive.online, drive.fresh) {
            (false, _) => "offline",
            (true, true) => "online (freshly formatted)",
            (true, false) => "online",
        };
        let space = if drive.online && drive.total_bytes > 0 {
            format!(
                ", {} free of {}",
                human_bytes(drive.free_bytes),
                human_bytes(drive.total_bytes)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  drive {}: {} {state}{space}",
            drive.index + 1,
            drive.path
        );
    }
    let _ = writeln!(out, "Region: {region}");
    let _ = writeln!(out, "RootUser: {}", root.user);
    match &root.password_source {
        Source::Default => {
            let _ = writeln!(
                out,
                "RootPass: {} (default: set MINNOW_ROOT_PASSWORD or MINIO_ROOT_PASSWORD)",
                root.password
            );
        }
        Source::Env(name) => {
            let _ = writeln!(out, "RootPass: ******** (from {name})");
        }
        Source::Flag => {
            let _ = writeln!(out, "RootPass: ******** (from --root-password)");
        }
    }
    let _ = writeln!(out, "Example: aws --endpoint-url {endpoint} s3 ls");
    let _ = out.flush();
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn colon_port_means_all_interfaces() {
        let address = resolve_address(":9000").await.unwrap();
        assert_eq!(address, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(
            client_address(address),
            "127.0.0.1:9000".parse::<SocketAddr>().unwrap()
        );
        let address = resolve_address("127.0.0.1:0").await.unwrap();
        assert_eq!(address, "127.0.0.1:0".parse().unwrap());
        assert!(resolve_address("no-port").await.is_err());
    }

    #[test]
    fn byte_counts_are_human_readable() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
