//! `minnow-bench matrix --quick|--full`: starts a release minnow on temporary
//! drives, runs PUT / GET / MIXED cells over object sizes and concurrencies,
//! each next to its baseline taken in the same sitting (raw disk for PUT and
//! MIXED, nginx for GET), and prints one summary table of ratios plus the
//! server's peak RSS under 32 concurrent 64 MiB PUTs and GETs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::load::{self, LoadSpec, Mode, Observe, RunResult, Target};
use crate::nginx::{self, Nginx};
use crate::payload::Payload;
use crate::rawdisk::{Layout, RawDisk};
use crate::report::{self, Compared};
use crate::s3client::S3Config;
use crate::server::{self, MinnowServer};
use crate::sizes::{format_size, SizeSpec};

const BUCKET: &str = "bench";
/// Bytes a GET pool may occupy (it is uploaded before the clock starts).
const POOL_BYTES: u64 = 1 << 30;
const MAX_POOL_OBJECTS: usize = 256;
const MIB: u64 = 1 << 20;

/// Options of a matrix run.
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    pub full: bool,
    /// One 4 KiB PUT and GET cell at concurrency 1 and no memory check: the
    /// test that keeps `make bench` working runs this against a debug build.
    pub smoke: bool,
    pub server_bin: PathBuf,
    /// Measured time of one cell (ops in flight at the deadline finish).
    pub cell: Duration,
    pub json: PathBuf,
    /// Parent of the temporary drive folders.
    pub work_dir: PathBuf,
}

impl MatrixConfig {
    fn kind(&self) -> &'static str {
        match (self.smoke, self.full) {
            (true, _) => "smoke",
            (false, true) => "full",
            (false, false) => "quick",
        }
    }
}

/// One size with the concurrencies and modes measured for it.
struct Group {
    size: u64,
    concurrencies: Vec<usize>,
    modes: Vec<Mode>,
}

fn plan(full: bool, smoke: bool) -> Vec<Group> {
    if smoke {
        vec![Group {
            size: 4 << 10,
            concurrencies: vec![1],
            modes: vec![Mode::Put, Mode::Get],
        }]
    } else if full {
        [4 << 10, 64 << 10, MIB, 16 * MIB, 64 * MIB]
            .into_iter()
            .map(|size| Group {
                size,
                concurrencies: vec![1, 8, 32],
                modes: vec![Mode::Put, Mode::Get, Mode::Mixed],
            })
            .collect()
    } else {
        [(4 << 10, 32), (MIB, 32), (64 * MIB, 8)]
            .into_iter()
            .map(|(size, c)| Group {
                size,
                concurrencies: vec![c],
                modes: vec![Mode::Put, Mode::Get],
            })
            .collect()
    }
}

/// Peak server RSS under the memory check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryCheck {
    pub put_64mib_c32_peak_rss_bytes: Option<u64>,
    pub get_64mib_c32_peak_rss_bytes: Option<u64>,
    pub limit_bytes: u64,
}

/// Everything the matrix measured (the JSON results file).
#[derive(Debug, Clone, Serialize)]
pub struct MatrixReport {
    pub kind: String,
    pub machine: String,
    pub started_unix: u64,
    pub total_secs: f64,
    pub cell_secs: f64,
    pub rows: Vec<Compared>,
    pub memory: MemoryCheck,
    pub notes: Vec<String>,
}

/// `nproc` and the CPU model, for the record.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cores} cores, {model}")
}

/// Flushes dirty pages so one cell's writeback does not land in the next.
async fn settle() {
    let _ = tokio::task::spawn_blocking(nix::unistd::sync).await;
}

fn spec(mode: Mode, size: u64, concurrency: usize, cell: Duration, prefix: String) -> LoadSpec {
    LoadSpec {
        mode,
        sizes: SizeSpec::fixed(size),
        concurrency,
        duration: cell,
        ops: None,
        bucket: BUCKET.into(),
        prefix,
        objects: pool_size(size, concurrency),
        part_size: 5 * MIB,
    }
}

fn pool_size(size: u64, max_concurrency: usize) -> usize {
    ((POOL_BYTES / size.max(1)) as usize)
        .min(MAX_POOL_OBJECTS)
        .max(max_concurrency)
}

/// Runs the matrix and prints the summary; returns the report (also written
/// as JSON to `cfg.json`).
pub async fn run_matrix(cfg: &MatrixConfig) -> anyhow::Result<MatrixReport> {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    std::fs::create_dir_all(&cfg.work_dir)?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut memory = MemoryCheck {
        limit_bytes: 512 * MIB,
        ..Default::default()
    };
    println!(
        "minnow-bench matrix ({}), {} s cells, server {}, machine: {}",
        cfg.kind(),
        cfg.cell.as_secs_f64(),
        cfg.server_bin.display(),
        machine_description()
    );
    if nginx::nginx_binary().is_none() {
        notes.push(
            "nginx not found: GET rows have no HTTP floor (apt-get install -y nginx-light)".into(),
        );
    }
    for group in plan(cfg.full, cfg.smoke) {
        run_group(cfg, &group, &mut rows, &mut memory, &mut notes).await?;
    }
    if !cfg.full && !cfg.smoke {
        // The quick plan has no 64 MiB c=32 cells: measure memory separately.
        memory_check(cfg, &mut rows, &mut memory).await?;
    }
    report::print_summary(&rows);
    print_memory(&memory);
    for n in &notes {
        println!("note: {n}");
    }
    let report = MatrixReport {
        kind: cfg.kind().into(),
        machine: machine_description(),
        started_unix,
        total_secs: started.elapsed().as_secs_f64(),
        cell_secs: cfg.cell.as_secs_f64(),
        rows,
        memory,
        notes,
    };
    report::write_json(&cfg.json, &report)?;
    println!(
        "matrix took {:.0} s; results: {}",
        report.total_secs,
        cfg.json.display()
    );
    Ok(report)
}

fn print_memory(m: &MemoryCheck) {
    let show = |v: Option<u64>| {
        v.map(|b| {
            format!(
                "{} ({})",
                report::format_mib(b),
                if b < m.limit_bytes { "ok" } else { "OVER" }
            )
        })
        .unwrap_or_else(|| "not measured".into())
    };
    println!(
        "memory check: peak server RSS during 32 concurrent 64 MiB PUTs: {}; GETs: {}; limit {}",
        show(m.put_64mib_c32_peak_rss_bytes),
        show(m.get_64mib_c32_peak_rss_bytes),
        report::format_mib(m.limit_bytes)
    );
}

/// Fields drop in order: the server stops before its drive folders go.
struct GroupEnv {
    server: MinnowServer,
    s3: Target,
    payload: Payload,
    dir: PathBuf,
    _dir: tempfile::TempDir,
}

async fn start_group(cfg: &MatrixConfig, size: u64) -> anyhow::Result<GroupEnv> {
    let dir = tempfile::Builder::new()
        .prefix("minnow-matrix")
        .tempdir_in(&cfg.work_dir)?;
    let path = dir.path().to_path_buf();
    let server = MinnowServer::start(&cfg.server_bin, &path.join("minnow"))?;
    let s3cfg = S3Config::new(
        &server.endpoint,
        server::ROOT_USER,
        server::ROOT_PASSWORD,
        "us-east-1",
    )
    .map_err(anyhow::Error::msg)?;
    let s3 = Target::S3(Arc::new(s3cfg));
    s3.worker()
        .create_bucket(BUCKET)
        .await
        .map_err(|e| anyhow::anyhow!("create bucket on minnow: {e}"))?;
    Ok(GroupEnv {
        _dir: dir,
        dir: path,
        server,
        s3,
        payload: Payload::new(size),
    })
}

async fn minnow_cell(
    env: &mut GroupEnv,
    spec: &LoadSpec,
    pool: &Arc<Vec<load::PoolObject>>,
) -> RunResult {
    let observe = Observe {
        pid: Some(env.server.pid()),
        rss: true,
    };
    let (r, _) = load::run(&env.s3, "minnow", spec, &env.payload, pool.clone(), observe).await;
    if !env.server.is_running() {
        eprintln!(
            "minnow exited during the cell; see {}",
            env.server.stderr_log().display()
        );
    }
    report::print_run(&r);
    r
}

async fn raw_put_cell(env: &GroupEnv, spec: &LoadSpec) -> anyhow::Result<RunResult> {
    let raw_root = env.dir.join("raw");
    let drives: Vec<PathBuf> = (1..=4).map(|i| raw_root.join(format!("d{i}"))).collect();
    let raw = Target::Raw(RawDisk::new(&drives, Layout::EC_2_2)?);
    let (r, _) = load::run(
        &raw,
        "raw-disk",
        spec,
        &env.payload,
        Arc::new(Vec::new()),
        Observe::default(),
    )
    .await;
    report::print_run(&r);
    remove_dir(&raw_root).await;
    Ok(r)
}

async fn remove_dir(path: &Path) {
    let path = path.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(path)).await;
}

async fn run_group(
    cfg: &MatrixConfig,
    group: &Group,
    rows: &mut Vec<Compared>,
    memory: &mut MemoryCheck,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let size = group.size;
    println!("\n=== {} ===", format_size(size));
    let mut env = start_group(cfg, size).await?;
    let max_c = group.concurrencies.iter().copied().max().unwrap_or(1);

    if group.modes.contains(&Mode::Put) {
        for &c in &group.concurrencies {
            let s = spec(Mode::Put, size, c, cfg.cell, format!("put-c{c}"));
            let r = minnow_cell(&mut env, &s, &Arc::new(Vec::new())).await;
            if size == 64 * MIB && c == 32 {
                memory.put_64mib_c32_peak_rss_bytes = r.server_peak_rss_bytes;
            }
            // Large objects would fill the disk over a full matrix.
            if size >= MIB {
                let keys = written_keys(&env, &s, &r).await;
                load::cleanup(&env.s3, BUCKET, keys, 8).await;
            }
            settle().await;
            let b = raw_put_cell(&env, &s).await?;
            settle().await;
            rows.push(Compared::new(r, Some(b)));
        }
    }

    let reads: Vec<Mode> = group
        .modes
        .iter()
        .copied()
        .filter(|m| matches!(m, Mode::Get | Mode::Mixed))
        .collect();
    if reads.is_empty() {
        return Ok(());
    }
    let pool_spec = spec(Mode::Get, size, max_c, cfg.cell, "pool".into());
    let pool = Arc::new(load::pool_objects(&pool_spec));
    let t = Instant::now();
    load::prepare(&env.s3, BUCKET, &pool, max_c.min(8), &env.payload)
        .await
        .map_err(|e| anyhow::anyhow!("uploading the GET pool to minnow: {e}"))?;
    println!(
        "prepared {} objects of {} in {:.1}s",
        pool.len(),
        format_size(size),
        t.elapsed().as_secs_f64()
    );
    // The same objects as plain files for nginx.
    let nginx_root = env.dir.join("nginx-root");
    let floor = {
        let (root, pool, payload) = (nginx_root.clone(), pool.clone(), env.payload.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<Nginx> {
            let keys: Vec<String> = pool.iter().map(|(k, _)| k.clone()).collect();
            nginx::write_objects(&root, BUCKET, &keys, size, &payload)?;
            Ok(Nginx::start(&root)?)
        })
        .await?
    };
    let floor = match floor {
        Ok(n) => Some(n),
        Err(e) => {
            notes.push(format!("no HTTP floor for {}: {e}", format_size(size)));
            None
        }
    };
    let raw_mixed = if reads.contains(&Mode::Mixed) {
        let drives: Vec<PathBuf> = (1..=4)
            .map(|i| env.dir.join("raw-mixed").join(format!("d{i}")))
            .collect();
        let raw = Target::Raw(RawDisk::new(&drives, Layout::EC_2_2)?);
        load::prepare(&raw, BUCKET, &pool, max_c.min(8), &env.payload)
            .await
            .map_err(|e| anyhow::anyhow!("preparing raw-disk pool: {e}"))?;
        Some(raw)
    } else {
        None
    };
    settle().await;

    for &c in &group.concurrencies {
        for mode in &reads {
            let mut s = spec(*mode, size, c, cfg.cell, pool_spec.prefix.clone());
            s.objects = pool.len();
            if *mode == Mode::Mixed {
                s.prefix = format!("pool/mixed-c{c}");
            }
            let r = minnow_cell(&mut env, &s, &pool).await;
            let base = match mode {
                Mode::Get => match &floor {
                    Some(ng) => {
                        let mut ncfg = S3Config::new(
                            &ng.endpoint(),
                            server::ROOT_USER,
                            server::ROOT_PASSWORD,
                            "us-east-1",
                        )
                        .map_err(anyhow::Error::msg)?;
                        ncfg.sign = true;
                        let observe = Observe {
                            pid: Some(ng.pid()),
                            rss: false,
                        };
                        let (b, _) = load::run(
                            &Target::S3(Arc::new(ncfg)),
                            "nginx",
                            &s,
                            &env.payload,
                            pool.clone(),
                            observe,
                        )
                        .await;
                        report::print_run(&b);
                        Some(b)
                    }
                    None => None,
                },
                _ => match &raw_mixed {
                    Some(raw) => {
                        settle().await;
                        let (b, _) = load::run(
                            raw,
                            "raw-disk",
                            &s,
                            &env.payload,
                            pool.clone(),
                            Observe::default(),
                        )
                        .await;
                        report::print_run(&b);
                        settle().await;
                        Some(b)
                    }
                    None => None,
                },
            };
            if size == 64 * MIB && c == 32 && *mode == Mode::Get {
                memory.get_64mib_c32_peak_rss_bytes = r.server_peak_rss_bytes;
            }
            rows.push(Compared::new(r, base));
        }
    }
    drop(floor);
    Ok(())
}

/// Keys a PUT cell wrote (worker/sequence naming), for cleanup.
async fn written_keys(_env: &GroupEnv, spec: &LoadSpec, r: &RunResult) -> Vec<String> {
    // Workers number their keys 1.. in order; errors may leave gaps, which
    // DELETE tolerates. Over-approximate with ok + errors per worker.
    let per_worker = (r.ok_ops + r.errors).div_ceil(spec.concurrency.max(1) as u64) + 1;
    let mut keys = Vec::new();
    for w in 0..spec.concurrency {
        for seq in 1..=per_worker {
            keys.push(format!("{}/w{w:03}/{seq:08}", spec.prefix));
        }
    }
    keys
}

/// 32 concurrent 64 MiB PUTs then GETs against a fresh server, sampling RSS.
async fn memory_check(
    cfg: &MatrixConfig,
    rows: &mut Vec<Compared>,
    memory: &mut MemoryCheck,
) -> anyhow::Result<()> {
    println!("\n=== memory check: 64 MiB x 32 concurrent ===");
    let size = 64 * MIB;
    let mut env = start_group(cfg, size).await?;
    let cell = cfg.cell.min(Duration::from_secs(2));
    let put = spec(Mode::Put, size, 32, cell, "mem-put".into());
    let r = minnow_cell(&mut env, &put, &Arc::new(Vec::new())).await;
    memory.put_64mib_c32_peak_rss_bytes = r.server_peak_rss_bytes;
    // The PUT cell's objects (32 or more, all complete) serve as the GET pool.
    let pool: Vec<load::PoolObject> = (0..32)
        .map(|w| (format!("mem-put/w{w:03}/{:08}", 1), size))
        .collect();
    rows.push(Compared::new(r, None));
    let mut get = spec(Mode::Get, size, 32, cell, "mem-put".into());
    get.objects = pool.len();
    let r = minnow_cell(&mut env, &get, &Arc::new(pool)).await;
    memory.get_64mib_c32_peak_rss_bytes = r.server_peak_rss_bytes;
    rows.push(Compared::new(r, None));
    Ok(())
}
