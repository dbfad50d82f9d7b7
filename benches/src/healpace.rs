//! `minnow-bench heal-pacing`: what a full background heal costs foreground
//! reads, and how long it takes. Starts a release `minnow` on four fresh
//! folders, fills it, then alternates idle and heal phases: GETs at a fixed
//! rate while idle, then stop, wipe drive folders, restart (the fresh-drive
//! heal starts by itself, paced by the `heal-walk` worker) and the same GETs
//! until `/minio/health/cluster` stops saying `x-minio-healing`; again for
//! each round. Latency is pooled per phase kind, so load from outside the
//! bench (a shared machine) weighs on both sides alike.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::load::{self, PoolObject, Target};
use crate::payload::{Payload, PayloadBody};
use crate::procstat::{self, RssSampler};
use crate::s3client::{S3Config, S3Conn};
use crate::server::{MinnowServer, ROOT_PASSWORD, ROOT_USER};
use crate::sizes::format_size;

/// What to run.
#[derive(Debug, Clone)]
pub struct HealPaceConfig {
    pub server_bin: PathBuf,
    /// Parent of the temporary drive folders.
    pub work_dir: PathBuf,
    pub small_objects: usize,
    pub small_size: u64,
    pub large_objects: usize,
    pub large_size: u64,
    /// Foreground GETs per second (0: no foreground load, the heal alone).
    pub rate: f64,
    /// Connections the GETs are spread over.
    pub concurrency: usize,
    /// How long each idle phase lasts.
    pub idle: Duration,
    /// Heal phases (each preceded and followed by an idle phase).
    pub rounds: usize,
    /// Drive folders wiped before each restart (1 or up to parity, 2).
    pub wipe: usize,
    /// `MINNOW_HEAL_TRANQUILITY` for the server (None: its default).
    pub tranquility: Option<u32>,
    /// Restart the server (no wipe) before each idle phase, so idle GETs
    /// start from an empty object cache as the heal phase's do (each heal
    /// phase starts with a restart). Without it the idle phases read a
    /// cache the phase before warmed and the heal phases a cold one; with
    /// it a 10 s idle phase is colder than a longer heal phase. Only
    /// `cache_mib: Some(0)` makes both kinds serve GETs alike.
    pub restart_idle: bool,
    /// `MINNOW_CACHE_MIB` for the server (None: its default).
    pub cache_mib: Option<u32>,
    /// Keep the drives here (populated once, reused by later runs) instead
    /// of a temporary folder under `work_dir`.
    pub data_dir: Option<PathBuf>,
    /// Give up waiting for one heal after this long.
    pub heal_timeout: Duration,
    pub json: PathBuf,
}

/// GET latency over one phase (or over every phase of one kind).
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: String,
    pub secs: f64,
    pub ok: u64,
    pub errors: u64,
    /// Requests started later than their slot because earlier ones were slow.
    pub late: u64,
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The machine's 1-minute load average at the phase's end.
    pub load_average: Option<f64>,
}

/// One heal phase: the wiped drive refilled while GETs ran.
#[derive(Debug, Clone, Serialize)]
pub struct HealRound {
    pub gets: Phase,
    /// From the restarted server's API line to the health check no longer
    /// reporting a heal.
    pub heal_secs: f64,
    pub heal_objects_per_s: f64,
    pub heal_finished: bool,
    /// `obj.meta` files on the first wiped drive afterwards (each object has one).
    pub wiped_drive_objects: u64,
    /// CPU seconds the server used during the heal.
    pub server_cpu_secs: Option<f64>,
    pub server_peak_rss_bytes: u64,
}

/// The whole run, as written to the JSON file.
#[derive(Debug, Clone, Serialize)]
pub struct HealPaceResult {
    pub objects: usize,
    pub bytes: u64,
    pub small: String,
    pub large: String,
    pub wiped_drives: usize,
    pub tranquility: Option<u32>,
    pub restart_idle: bool,
    pub cache_mib: Option<u32>,
    pub rate: f64,
    pub concurrency: usize,
    pub populate_secs: f64,
    pub rounds: usize,
    /// Every idle phase, in order (one more than the heal phases).
    pub idle_phases: Vec<Phase>,
    pub heal_rounds: Vec<HealRound>,
    /// GETs of every idle phase pooled.
    pub idle: Phase,
    /// GETs of every heal phase pooled.
    pub during_heal: Option<Phase>,
    /// Mean of the heal phases' durations.
    pub heal_secs: f64,
    /// Objects healed over the heal phases' total time.
    pub heal_objects_per_s: f64,
    pub heal_mib_per_s: f64,
    /// Every heal finished.
    pub heal_finished: bool,
    /// The fewest `obj.meta` files a wiped drive held after a heal.
    pub wiped_drive_objects: u64,
    /// The largest peak RSS of the server over the heal phases.
    pub server_peak_rss_bytes: u64,
    /// VmHWM of the last server at the end (its start-up included).
    pub server_hwm_bytes: Option<u64>,
    /// Pooled heal-phase p99 over pooled idle-phase p99.
    pub p99_ratio: Option<f64>,
    pub p50_ratio: Option<f64>,
    pub load_average_start: Option<f64>,
    pub load_average_end: Option<f64>,
    /// The server's own last "background heal finished" log line.
    pub heal_log: Option<String>,
}

const BUCKET: &str = "heal-pacing";

/// Runs the benchmark, printing as it goes; writes `cfg.json`.
pub async fn run_heal_pacing(cfg: &HealPaceConfig) -> anyhow::Result<HealPaceResult> {
    anyhow::ensure!(
        (1..=2).contains(&cfg.wipe),
        "--wipe must be 1 or 2 (the parity of four drives)"
    );
    anyhow::ensure!(
        cfg.rounds >= 1 || cfg.data_dir.is_some(),
        "--rounds must be at least 1 (0 only to populate a --data-dir)"
    );
    std::fs::create_dir_all(&cfg.work_dir)?;
    // A kept data dir is populated once (a marker names its object set) and
    // reused by later runs; otherwise a temporary one goes at the end.
    let (_temp, dir) = match &cfg.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (None, dir.clone())
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("minnow-heal-pacing")
                .tempdir_in(&cfg.work_dir)?;
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    };
    let mut env: Vec<(&str, String)> = cfg
        .tranquility
        .map(|t| vec![("MINNOW_HEAL_TRANQUILITY", t.to_string())])
        .unwrap_or_default();
    if let Some(mib) = cfg.cache_mib {
        env.push(("MINNOW_CACHE_MIB", mib.to_string()));
    }
    let load_average_start = procstat::load_average();

    let mut pool: Vec<PoolObject> = (0..cfg.small_objects)
        .map(|i| (format!("small/{i:07}"), cfg.small_size))
        .collect();
    pool.extend((0..cfg.large_objects).map(|i| (format!("large/{i:05}"), cfg.large_size)));
    let bytes: u64 = pool.iter().map(|(_, s)| s).sum();
    // Foreground GETs read the small objects (a latency-bound request);
    // the large ones are there to give the heal bytes to move.
    let get_keys: Arc<Vec<String>> = Arc::new(
        pool.iter()
            .filter(|(_, s)| *s == cfg.small_size)
            .map(|(k, _)| k.clone())
            .collect(),
    );
    let payload = Payload::new(cfg.small_size.max(cfg.large_size));

    let mut server = MinnowServer::start_with_env(&cfg.server_bin, &dir, &env)?;
    println!(
        "heal-pacing: {} objects ({} x {} + {} x {}), {} in all; server {}; {} rounds",
        pool.len(),
        cfg.small_objects,
        format_size(cfg.small_size),
        cfg.large_objects,
        format_size(cfg.large_size),
        format_size(bytes),
        server.endpoint,
        cfg.rounds
    );
    let mut s3 = s3_config(&server.endpoint)?;
    let started = Instant::now();
    let marker = dir.join(format!(
        "populated-{}x{}-{}x{}",
        cfg.small_objects, cfg.small_size, cfg.large_objects, cfg.large_size
    ));
    if marker.exists() {
        println!("reusing the populated {}", dir.display());
    } else {
        load::prepare(&Target::S3(s3.clone()), BUCKET, &pool, 16, &payload)
            .await
            .map_err(|e| anyhow::anyhow!("uploading {} objects: {e}", pool.len()))?;
        if cfg.data_dir.is_some() {
            std::fs::write(&marker, b"")?;
        }
    }
    let populate_secs = started.elapsed().as_secs_f64();
    if populate_secs > 0.5 {
        println!(
            "populated in {populate_secs:.1} s ({:.0} objects/s)",
            pool.len() as f64 / populate_secs
        );
    }

    let load = (cfg.rate, cfg.concurrency);
    let mut idle_hist = new_histogram();
    let mut heal_hist = new_histogram();
    let mut idle_phases = Vec::new();
    let mut heal_rounds: Vec<HealRound> = Vec::new();
    let (mut idle_secs, mut heal_secs_total) = (0.0, 0.0);
    let (mut idle_counts, mut heal_counts) = ((0, 0), (0, 0));
    for round in 0..=cfg.rounds {
        if cfg.rate > 0.0 {
            if cfg.restart_idle {
                drop(server);
                server = MinnowServer::start_with_env(&cfg.server_bin, &dir, &env)?;
                s3 = s3_config(&server.endpoint)?;
            }
            let (phase, hist) = timed_load(
                format!("idle {}", round + 1),
                &s3,
                &get_keys,
                load,
                cfg.idle,
            )
            .await;
            print_phase(&phase);
            let _ = idle_hist.add(&hist);
            idle_secs += phase.secs;
            idle_counts = (idle_counts.0 + phase.errors, idle_counts.1 + phase.late);
            idle_phases.push(phase);
        }
        if round == cfg.rounds {
            break;
        }
        // Stop, wipe, restart: the restarted store finds fresh drives and
        // heals them in the background, paced.
        let drives = server.drives.clone();
        drop(server);
        for d in drives.iter().rev().take(cfg.wipe) {
            std::fs::remove_dir_all(d)?;
            std::fs::create_dir_all(d)?;
        }
        server = MinnowServer::start_with_env(&cfg.server_bin, &dir, &env)?;
        let heal_started = Instant::now();
        let cpu_start = procstat::process_cpu_seconds(server.pid());
        let rss = RssSampler::start(server.pid());
        s3 = s3_config(&server.endpoint)?;
        let stop = Arc::new(AtomicBool::new(false));
        let name = format!("heal {}", round + 1);
        let during = (cfg.rate > 0.0).then(|| {
            tokio::spawn(get_load(
                name.clone(),
                s3.clone(),
                get_keys.clone(),
                load,
                stop.clone(),
            ))
        });
        let heal_finished = wait_for_heal(&s3, cfg.heal_timeout, heal_started).await;
        let heal_secs = heal_started.elapsed().as_secs_f64();
        let server_cpu_secs = procstat::process_cpu_seconds(server.pid())
            .zip(cpu_start)
            .map(|(end, start)| end - start);
        stop.store(true, Ordering::Relaxed);
        let gets = match during {
            Some(task) => {
                let (phase, hist) = task.await?;
                let _ = heal_hist.add(&hist);
                heal_counts = (heal_counts.0 + phase.errors, heal_counts.1 + phase.late);
                phase
            }
            None => phase_of(name, heal_secs, &new_histogram(), (0, 0)),
        };
        print_phase(&gets);
        let server_peak_rss_bytes = rss.finish();
        heal_secs_total += heal_secs;
        let wiped = drives[drives.len() - 1].clone();
        let wiped_drive_objects = count_named(&wiped.join(BUCKET), "obj.meta");
        println!(
            "heal {} {} in {heal_secs:.1} s: {:.0} objects/s, {:.1} MiB/s, server CPU {:.1} s; \
             wiped drive holds {wiped_drive_objects} obj.meta of {}; server peak RSS {}",
            round + 1,
            if heal_finished {
                "finished"
            } else {
                "NOT finished"
            },
            pool.len() as f64 / heal_secs,
            bytes as f64 / (1 << 20) as f64 / heal_secs,
            server_cpu_secs.unwrap_or(0.0),
            pool.len(),
            format_size(server_peak_rss_bytes)
        );
        heal_rounds.push(HealRound {
            gets,
            heal_secs,
            heal_objects_per_s: pool.len() as f64 / heal_secs,
            heal_finished,
            wiped_drive_objects,
            server_cpu_secs,
            server_peak_rss_bytes,
        });
        if !heal_finished {
            break;
        }
    }
    let server_hwm_bytes = procstat::status_bytes(server.pid(), "VmHWM");
    let log = server.stderr_log().to_path_buf();
    drop(server);
    let heal_log = last_line_with(&log, "background heal finished");
    if let Some(line) = &heal_log {
        println!("server: {line}");
    }

    let idle = phase_of("idle (pooled)".into(), idle_secs, &idle_hist, idle_counts);
    let during = (cfg.rate > 0.0).then(|| {
        phase_of(
            "heal (pooled)".into(),
            heal_secs_total,
            &heal_hist,
            heal_counts,
        )
    });
    let ratio = |of: fn(&Phase) -> f64| {
        during
            .as_ref()
            .filter(|_| of(&idle) > 0.0)
            .map(|d| of(d) / of(&idle))
    };
    let p99_ratio = ratio(|p| p.p99_ms);
    let p50_ratio = ratio(|p| p.p50_ms);
    if let Some(d) = &during {
        print_phase(&idle);
        print_phase(d);
    }
    let healed = (pool.len() * heal_rounds.len()) as f64;
    let heal_objects_per_s = healed / heal_secs_total;
    let load_average_end = procstat::load_average();
    println!(
        "heal: {} rounds, mean {:.1} s, {heal_objects_per_s:.0} objects/s; load average {} -> {}",
        heal_rounds.len(),
        heal_secs_total / heal_rounds.len() as f64,
        fmt_load(load_average_start),
        fmt_load(load_average_end)
    );
    if let (Some(r99), Some(r50), Some(d)) = (p99_ratio, p50_ratio, &during) {
        println!(
            "GET p99 during heal / idle: {r99:.2}x ({:.2} ms / {:.2} ms); p50 {r50:.2}x",
            d.p99_ms, idle.p99_ms
        );
    }
    let result = HealPaceResult {
        objects: pool.len(),
        bytes,
        small: format_size(cfg.small_size),
        large: format_size(cfg.large_size),
        wiped_drives: cfg.wipe,
        tranquility: cfg.tranquility,
        restart_idle: cfg.restart_idle,
        cache_mib: cfg.cache_mib,
        rate: cfg.rate,
        concurrency: cfg.concurrency,
        populate_secs,
        rounds: cfg.rounds,
        idle,
        during_heal: during,
        heal_secs: heal_secs_total / heal_rounds.len() as f64,
        heal_objects_per_s,
        heal_mib_per_s: bytes as f64 * heal_rounds.len() as f64
            / (1 << 20) as f64
            / heal_secs_total,
        heal_finished: heal_rounds.len() == cfg.rounds
            && heal_rounds.iter().all(|r| r.heal_finished),
        wiped_drive_objects: heal_rounds
            .iter()
            .map(|r| r.wiped_drive_objects)
            .min()
            .unwrap_or(0),
        server_peak_rss_bytes: heal_rounds
            .iter()
            .map(|r| r.server_peak_rss_bytes)
            .max()
            .unwrap_or(0),
        server_hwm_bytes,
        p99_ratio,
        p50_ratio,
        load_average_start,
        load_average_end,
        heal_log,
        idle_phases,
        heal_rounds,
    };
    crate::report::write_json(&cfg.json, &result)?;
    println!("results: {}", cfg.json.display());
    Ok(result)
}

fn fmt_load(load: Option<f64>) -> String {
    load.map_or_else(|| "?".to_owned(), |l| format!("{l:.1}"))
}

/// GETs for a fixed `duration`.
async fn timed_load(
    name: String,
    s3: &Arc<S3Config>,
    keys: &Arc<Vec<String>>,
    load: (f64, usize),
    duration: Duration,
) -> (Phase, Histogram<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let out = get_load(name, s3.clone(), keys.clone(), load, stop).await;
    let _ = timer.await;
    out
}

fn s3_config(endpoint: &str) -> anyhow::Result<Arc<S3Config>> {
    Ok(Arc::new(
        S3Config::new(endpoint, ROOT_USER, ROOT_PASSWORD, "us-east-1")
            .map_err(anyhow::Error::msg)?,
    ))
}

fn new_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

/// A phase's figures from its latency histogram (microseconds) and its
/// (errors, late) counts.
fn phase_of(name: String, secs: f64, hist: &Histogram<u64>, (errors, late): (u64, u64)) -> Phase {
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Phase {
        name,
        secs,
        ok: hist.len(),
        errors,
        late,
        ops_per_s: if secs > 0.0 {
            hist.len() as f64 / secs
        } else {
            0.0
        },
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p99_ms: ms(0.99),
        max_ms: hist.max() as f64 / 1000.0,
        load_average: procstat::load_average(),
    }
}

fn print_phase(p: &Phase) {
    println!(
        "GET {:<14} {:>6.1} s {:>7} ok {:>4} err {:>5} late {:>5.0} op/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>7.2} ms  max {:>8.2} ms  load {}",
        p.name,
        p.secs,
        p.ok,
        p.errors,
        p.late,
        p.ops_per_s,
        p.p50_ms,
        p.p90_ms,
        p.p99_ms,
        p.max_ms,
        fmt_load(p.load_average)
    );
}

/// GETs of random `keys` at `rate` per second over `concurrency`
/// connections until `stop`. Each connection has its own schedule; a
/// request due while the previous one still runs starts when that one
/// ends (counted as late) and its latency is measured from its due time,
/// so a stall is not hidden by the requests it held back; one on time is
/// measured from when it was sent (the timer's own lateness is not the
/// server's).
async fn get_load(
    name: String,
    s3: Arc<S3Config>,
    keys: Arc<Vec<String>>,
    (rate, concurrency): (f64, usize),
    stop: Arc<AtomicBool>,
) -> (Phase, Histogram<u64>) {
    let workers = concurrency.max(1);
    let interval = Duration::from_secs_f64(workers as f64 / rate);
    let errors = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (s3, keys, stop, errors, late) = (
            s3.clone(),
            keys.clone(),
            stop.clone(),
            errors.clone(),
            late.clone(),
        );
        // Spread the connections' slots over one interval.
        let first = started + interval.mul_f64(w as f64 / workers as f64);
        tasks.push(tokio::spawn(async move {
            let mut hist = new_histogram();
            let mut conn = S3Conn::new(s3);
            let mut rng = StdRng::seed_from_u64(0x4ea1 + w as u64);
            let mut due = first;
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                let from = if due > now {
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now()
                } else {
                    if now - due > Duration::from_millis(1) {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                    due
                };
                let key = &keys[rng.gen_range(0..keys.len())];
                match conn.get_object(BUCKET, key).await {
                    Ok(_) => {
                        let micros = from.elapsed().as_micros() as u64;
                        hist.saturating_record(micros.max(1));
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                due += interval;
            }
            hist
        }));
    }
    let mut hist = new_histogram();
    for t in tasks {
        if let Ok(h) = t.await {
            let _ = hist.add(&h);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let counts = (errors.load(Ordering::Relaxed), late.load(Ordering::Relaxed));
    (phase_of(name, secs, &hist, counts), hist)
}

/// Polls the cluster health check until it no longer reports a heal (or
/// `timeout`); true when the heal finished. Prints progress every 10 s.
async fn wait_for_heal(s3: &Arc<S3Config>, timeout: Duration, started: Instant) -> bool {
    let mut conn = S3Conn::new(s3.clone());
    let mut next_note = started + Duration::from_secs(10);
    while started.elapsed() < timeout {
        if let Ok(resp) = conn
            .send(
                Method::GET,
                "/minio/health/cluster",
                &[],
                PayloadBody::empty(),
            )
            .await
        {
            let healing = resp.headers().contains_key("x-minio-healing");
            let ok = resp.status().is_success();
            let _ = crate::s3client::drain(resp).await;
            if ok && !healing {
                return true;
            }
        }
        if Instant::now() >= next_note {
            println!("  healing... {:.0} s", started.elapsed().as_secs_f64());
            next_note += Duration::from_secs(10);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// Files called `name` under `dir`, recursively.
fn count_named(dir: &Path, name: &str) -> u64 {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if entry.file_name() == name {
                count += 1;
            }
        }
    }
    count
}

fn last_line_with(log: &Path, needle: &str) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| l.contains(needle))
        .map(|l| l.trim().to_owned())
}
