//! `minnow-bench`: an S3 load generator in the spirit of MinIO's warp, with
//! same-run baselines (raw disk, nginx), the `make bench` matrix and the
//! in-process engine benchmark.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use minnow_benches::healpace::{run_heal_pacing as run_heal_pacing_bench, HealPaceConfig};
use minnow_benches::load::{self, LoadSpec, Mode, Observe, Target};
use minnow_benches::matrix::{self, MatrixConfig};
use minnow_benches::nginx::{self, Nginx};
use minnow_benches::payload::Payload;
use minnow_benches::rawdisk::{Layout, RawDisk};
use minnow_benches::report::{self, Compared};
use minnow_benches::s3client::S3Config;
use minnow_benches::sizes::{parse_size, SizeSpec};

#[derive(Parser)]
#[command(
    name = "minnow-bench",
    about = "S3 load generator and benchmark matrix for minnow"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// PUT objects as fast as possible.
    Put(RunArgs),
    /// GET objects from a pre-uploaded pool.
    Get(RunArgs),
    /// 45% GET, 15% PUT, 10% DELETE, 30% HEAD.
    Mixed(RunArgs),
    /// ListObjectsV2 over a pre-uploaded pool.
    List(RunArgs),
    /// One ListObjectsV2 page of up to 1,000 keys per operation, from a random pool key on.
    ListPage(RunArgs),
    /// Whole multipart uploads (create, parts, complete).
    Multipart(RunArgs),
    /// The benchmark matrix (`make bench` / `make bench-quick`).
    Matrix(MatrixArgs),
    /// The store engine in-process vs the same bytes written straight to disk.
    Engine(EngineArgs),
    /// A full background heal of wiped drives: GET latency idle vs during
    /// the heal, the heal's duration, objects/s and the server's peak RSS.
    HealPacing(HealPacingArgs),
    /// Only the baseline of a mode (raw disk for put/mixed, nginx for get),
    /// no S3 server needed: checks the client and the baselines themselves.
    Baseline(BaselineArgs),
}

#[derive(Args)]
struct BaselineArgs {
    #[arg(value_enum)]
    mode: Mode,
    #[arg(long, default_value = "1MiB")]
    size: String,
    #[arg(long, short = 'c', default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[arg(long, default_value_t = 100)]
    objects: usize,
    #[arg(long)]
    raw_dir: Option<PathBuf>,
    #[arg(long, default_value = "minnow-bench-baseline.json")]
    json: PathBuf,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// S3 endpoint, http://host:port.
    #[arg(long, env = "MINNOW_BENCH_ENDPOINT")]
    endpoint: String,
    #[arg(long, env = "MINNOW_BENCH_ACCESS_KEY", default_value = "minioadmin")]
    access_key: String,
    #[arg(long, env = "MINNOW_BENCH_SECRET_KEY", default_value = "minioadmin")]
    secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "minnow-bench")]
    bucket: String,
    /// Key prefix; a random suffix keeps runs apart.
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Object size, or a weighted distribution: 4KiB:70,1MiB:25,64MiB:5.
    #[arg(long, default_value = "1MiB")]
    size: String,
    #[arg(long, short = 'c', default_value_t = 8)]
    concurrency: usize,
    /// Seconds to run (default 10; with --ops, a cap).
    #[arg(long)]
    duration: Option<f64>,
    /// Total operations to run.
    #[arg(long)]
    ops: Option<u64>,
    /// Objects uploaded before GET / MIXED / LIST runs.
    #[arg(long, default_value_t = 100)]
    objects: usize,
    /// PUTs in flight while uploading the pool (default: -c, at most 16).
    #[arg(long)]
    populate_concurrency: Option<usize>,
    /// Fixed run tag instead of a random one, so a later run can reuse the
    /// pool (`<prefix>/<tag>/pool/NNNNNN`) with --skip-populate.
    #[arg(long)]
    run_tag: Option<String>,
    /// The pool is already there (an earlier run with the same --run-tag
    /// and --no-cleanup): upload nothing.
    #[arg(long)]
    skip_populate: bool,
    #[arg(long, default_value = "5MiB")]
    part_size: String,
    /// Where the JSON results go.
    #[arg(long, default_value = "minnow-bench-results.json")]
    json: PathBuf,
    /// Skip the same-run baseline (raw disk for PUT/MIXED/MULTIPART, nginx for GET).
    #[arg(long)]
    no_baseline: bool,
    /// Parent folder of the raw-disk baseline's four drive folders.
    #[arg(long)]
    raw_dir: Option<PathBuf>,
    /// Leave the objects in the bucket.
    #[arg(long)]
    no_cleanup: bool,
    /// PID of the server process to observe (CPU, peak RSS).
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Args)]
struct MatrixArgs {
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    #[arg(long)]
    full: bool,
    /// One tiny cell (4 KiB PUT and GET, c=1, no memory check): checks that
    /// the matrix runs at all.
    #[arg(long, conflicts_with_all = ["quick", "full"])]
    smoke: bool,
    /// Server binary (default: `minnow` next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Seconds per cell (default 3).
    #[arg(long, default_value_t = 3.0)]
    cell_secs: f64,
    #[arg(long)]
    json: Option<PathBuf>,
    /// Parent folder for temporary drives (default: the system temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Args)]
struct HealPacingArgs {
    /// Small objects (the GETs read these).
    #[arg(long, default_value_t = 20_000)]
    objects: usize,
    #[arg(long, default_value = "4KiB")]
    size: String,
    /// Large objects beside them, to give the heal bytes to move.
    #[arg(long, default_value_t = 200)]
    large_objects: usize,
    #[arg(long, default_value = "1MiB")]
    large_size: String,
    /// Foreground GETs per second (0: the heal alone).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    #[arg(long, short = 'c', default_value_t = 4)]
    concurrency: usize,
    /// Seconds of each idle phase (one before each heal and one after the last).
    #[arg(long, default_value_t = 20.0)]
    idle_secs: f64,
    /// Heal phases, alternating with idle phases (idle, heal, idle, ...).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Drive folders wiped (1, or 2 = the parity of four drives).
    #[arg(long, default_value_t = 1)]
    wipe: usize,
    /// MINNOW_HEAL_TRANQUILITY for the server (default: the server's).
    #[arg(long)]
    tranquility: Option<u32>,
    /// Restart the server before each idle phase too (no wipe), so idle
    /// phases also start with an empty object cache.
    #[arg(long)]
    cold_idle: bool,
    /// MINNOW_CACHE_MIB for the server (0: no object cache, so idle and heal
    /// phases serve GETs alike; default: the server's).
    #[arg(long)]
    cache_mib: Option<u32>,
    /// Keep the drive folders here: populated by the first run (with
    /// `--rounds 0`: only that), reused by later ones; never deleted.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seconds to wait for the heal before giving up.
    #[arg(long, default_value_t = 3600.0)]
    heal_timeout: f64,
    /// Server binary (default: `minnow` next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Parent folder for the temporary drives (default: the system temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long, default_value = "target/minnow-bench/heal-pacing.json")]
    json: PathBuf,
}

#[derive(Args)]
struct EngineArgs {
    #[arg(long, short = 'c', default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 3.0)]
    cell_secs: f64,
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long, default_value = "target/minnow-bench/engine.json")]
    json: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Put(a) => run_mode(Mode::Put, a).await,
            Command::Get(a) => run_mode(Mode::Get, a).await,
            Command::Mixed(a) => run_mode(Mode::Mixed, a).await,
            Command::List(a) => run_mode(Mode::List, a).await,
            Command::ListPage(a) => run_mode(Mode::ListPage, a).await,
            Command::Multipart(a) => run_mode(Mode::Multipart, a).await,
            Command::Matrix(a) => run_matrix(a).await,
            Command::Engine(a) => run_engine(a).await,
            Command::HealPacing(a) => run_heal_pacing(a).await,
            Command::Baseline(a) => run_baseline_only(a).await,
        }
    })
}

fn run_tag() -> String {
    format!("{:08x}", rand::random::<u32>())
}

async fn run_mode(mode: Mode, a: RunArgs) -> anyhow::Result<()> {
    let sizes = SizeSpec::parse(&a.size).map_err(anyhow::Error::msg)?;
    let part_size = parse_size(&a.part_size).map_err(anyhow::Error::msg)?;
    let duration =
        Duration::from_secs_f64(
            a.duration
                .unwrap_or(if a.ops.is_some() { 3600.0 } else { 10.0 }),
        );
    let spec = LoadSpec {
        mode,
        sizes: sizes.clone(),
        concurrency: a.concurrency.max(1),
        duration,
        ops: a.ops,
        bucket: a.bucket.clone(),
        prefix: format!(
            "{}/{}",
            a.prefix.trim_end_matches('/'),
            a.run_tag.clone().unwrap_or_else(run_tag)
        ),
        objects: if mode.needs_pool() {
            a.objects.max(1)
        } else {
            0
        },
        part_size,
    };
    let cfg = S3Config::new(&a.endpoint, &a.access_key, &a.secret_key, &a.region)
        .map_err(anyhow::Error::msg)?;
    let target = Target::S3(Arc::new(cfg));
    let payload = Payload::new(sizes.max());
    target
        .worker()
        .create_bucket(&a.bucket)
        .await
        .map_err(|e| anyhow::anyhow!("creating bucket {}: {e}", a.bucket))?;
    let pool = Arc::new(load::pool_objects(&spec));
    if mode.needs_pool() && !a.skip_populate {
        let started = std::time::Instant::now();
        load::prepare(
            &target,
            &a.bucket,
            &pool,
            a.populate_concurrency
                .unwrap_or(spec.concurrency.min(16))
                .max(1),
            &payload,
        )
        .await
        .map_err(|e| anyhow::anyhow!("uploading {} pool objects: {e}", pool.len()))?;
        eprintln!(
            "populate: {} objects in {:.1} s",
            pool.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let observe = Observe {
        pid: a.server_pid,
        rss: a.server_pid.is_some(),
    };
    let (result, written) =
        load::run(&target, &a.endpoint, &spec, &payload, pool.clone(), observe).await;
    report::print_run(&result);

    let baseline = if a.no_baseline {
        None
    } else {
        baseline_run(&a, &spec, &payload, &pool).await?
    };
    let compared = Compared::new(result, baseline);
    if let Some(r) = compared.ratio {
        println!(
            "ratio to {}: {r:.2}x",
            compared
                .baseline
                .as_ref()
                .map(|b| b.target.as_str())
                .unwrap_or("-")
        );
    }
    report::write_json(&a.json, &compared)?;
    println!("results: {}", a.json.display());
    if !a.no_cleanup {
        let mut keys = written;
        keys.extend(pool.iter().map(|(k, _)| k.clone()));
        load::cleanup(&target, &a.bucket, keys, spec.concurrency.min(16)).await;
    }
    Ok(())
}

async fn baseline_run(
    a: &RunArgs,
    spec: &LoadSpec,
    payload: &Payload,
    pool: &Arc<Vec<load::PoolObject>>,
) -> anyhow::Result<Option<load::RunResult>> {
    let parent = a.raw_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("minnow-bench-baseline")
        .tempdir_in(&parent)?;
    match spec.mode {
        Mode::Get => {
            let root = dir.path().join("www");
            let keys: Vec<String> = pool.iter().map(|(k, _)| k.clone()).collect();
            // A size distribution gets its mean size in the floor.
            let size = spec.sizes.mean() as u64;
            nginx::write_objects(&root, &spec.bucket, &keys, size, payload)?;
            let ng = match Nginx::start(&root) {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("no HTTP floor: {e}");
                    return Ok(None);
                }
            };
            let cfg = S3Config::new(&ng.endpoint(), &a.access_key, &a.secret_key, &a.region)
                .map_err(anyhow::Error::msg)?;
            let observe = Observe {
                pid: Some(ng.pid()),
                rss: false,
            };
            let (b, _) = load::run(
                &Target::S3(Arc::new(cfg)),
                "nginx",
                spec,
                payload,
                pool.clone(),
                observe,
            )
            .await;
            report::print_run(&b);
            Ok(Some(b))
        }
        Mode::Put | Mode::Mixed | Mode::Multipart => {
            let drives: Vec<PathBuf> = (1..=4).map(|i| dir.path().join(format!("d{i}"))).collect();
            let raw = Target::Raw(RawDisk::new(&drives, Layout::EC_2_2)?);
            if spec.mode == Mode::Mixed {
                load::prepare(&raw, &spec.bucket, pool, spec.concurrency.min(16), payload)
                    .await
                    .map_err(|e| anyhow::anyhow!("raw pool: {e}"))?;
            }
            let (b, _) = load::run(
                &raw,
                "raw-disk",
                spec,
                payload,
                pool.clone(),
                Observe::default(),
            )
            .await;
            report::print_run(&b);
            Ok(Some(b))
        }
        Mode::List | Mode::ListPage => Ok(None),
    }
}

async fn run_baseline_only(b: BaselineArgs) -> anyhow::Result<()> {
    let args = RunArgs {
        endpoint: "http://127.0.0.1:1".into(),
        access_key: "minioadmin".into(),
        secret_key: "minioadmin".into(),
        region: "us-east-1".into(),
        bucket: "minnow-bench".into(),
        prefix: "bench".into(),
        size: b.size.clone(),
        concurrency: b.concurrency,
        duration: Some(b.duration),
        ops: None,
        objects: b.objects,
        populate_concurrency: None,
        run_tag: None,
        skip_populate: false,
        part_size: "5MiB".into(),
        json: b.json.clone(),
        no_baseline: false,
        raw_dir: b.raw_dir.clone(),
        no_cleanup: true,
        server_pid: None,
    };
    let sizes = SizeSpec::parse(&b.size).map_err(anyhow::Error::msg)?;
    let spec = LoadSpec {
        mode: b.mode,
        sizes: sizes.clone(),
        concurrency: b.concurrency.max(1),
        duration: Duration::from_secs_f64(b.duration),
        ops: None,
        bucket: args.bucket.clone(),
        prefix: format!("bench/{}", run_tag()),
        objects: if b.mode.needs_pool() {
            b.objects.max(1)
        } else {
            0
        },
        part_size: 5 << 20,
    };
    let payload = Payload::new(sizes.max());
    let pool = Arc::new(load::pool_objects(&spec));
    let result = baseline_run(&args, &spec, &payload, &pool).await?;
    match result {
        Some(r) => report::write_json(&b.json, &r)?,
        None => anyhow::bail!("no baseline for {:?}", b.mode),
    }
    Ok(())
}

async fn run_matrix(a: MatrixArgs) -> anyhow::Result<()> {
    let full = !a.smoke && (a.full || !a.quick);
    let json = a.json.unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/minnow-bench/matrix-{}.json",
            if a.smoke {
                "smoke"
            } else if full {
                "full"
            } else {
                "quick"
            }
        ))
    });
    let cfg = MatrixConfig {
        full,
        smoke: a.smoke,
        server_bin: a
            .server_bin
            .unwrap_or_else(minnow_benches::server::default_binary),
        cell: Duration::from_secs_f64(a.cell_secs),
        json,
        work_dir: a.work_dir.unwrap_or_else(std::env::temp_dir),
    };
    matrix::run_matrix(&cfg).await.context("benchmark matrix")?;
    Ok(())
}

async fn run_heal_pacing(a: HealPacingArgs) -> anyhow::Result<()> {
    let cfg = HealPaceConfig {
        server_bin: a
            .server_bin
            .unwrap_or_else(minnow_benches::server::default_binary),
        work_dir: a.work_dir.unwrap_or_else(std::env::temp_dir),
        small_objects: a.objects,
        small_size: parse_size(&a.size).map_err(anyhow::Error::msg)?,
        large_objects: a.large_objects,
        large_size: parse_size(&a.large_size).map_err(anyhow::Error::msg)?,
        rate: a.rate,
        concurrency: a.concurrency.max(1),
        idle: Duration::from_secs_f64(a.idle_secs),
        rounds: a.rounds,
        wipe: a.wipe,
        tranquility: a.tranquility,
        restart_idle: a.cold_idle,
        cache_mib: a.cache_mib,
        data_dir: a.data_dir,
        heal_timeout: Duration::from_secs_f64(a.heal_timeout),
        json: a.json,
    };
    let result = run_heal_pacing_bench(&cfg).await.context("heal pacing")?;
    anyhow::ensure!(
        result.heal_finished || cfg.rounds == 0,
        "the heal did not finish within {:?}",
        cfg.heal_timeout
    );
    Ok(())
}

#[cfg(feature = "engine")]
async fn run_engine(a: EngineArgs) -> anyhow::Result<()> {
    minnow_benches::engine::run_engine_bench(
        a.concurrency,
        Duration::from_secs_f64(a.cell_secs),
        &a.work_dir.unwrap_or_else(std::env::temp_dir),
        &a.json,
    )
    .await
}

#[cfg(not(feature = "engine"))]
async fn run_engine(_a: EngineArgs) -> anyhow::Result<()> {
    anyhow::bail!("built without the `engine` feature: cargo build --release -p minnow-benches --features engine")
}
