//! The load generator proper: N workers, each with its own connection (or
//! disk handle), issue operations of one mode until a deadline or an op
//! budget runs out, recording latency histograms, bytes and errors by code.
//! Targets: an S3 endpoint, the raw-disk baseline, or (feature `engine`) the
//! store engine in-process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::payload::Payload;
use crate::procstat::{self, RssSampler};
use crate::rawdisk::RawDisk;
use crate::s3client::{OpError, S3Config, S3Conn};
use crate::sizes::SizeSpec;

/// What the workers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Put,
    Get,
    /// 45% GET, 15% PUT, 10% DELETE, 30% HEAD.
    Mixed,
    List,
    /// One ListObjectsV2 page (up to 1,000 keys) from a random pool key on.
    ListPage,
    Multipart,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Put => "PUT",
            Mode::Get => "GET",
            Mode::Mixed => "MIXED",
            Mode::List => "LIST",
            Mode::ListPage => "LIST-PAGE",
            Mode::Multipart => "MULTIPART",
        }
    }

    /// Modes that read a pool of objects prepared before the clock starts.
    pub fn needs_pool(self) -> bool {
        matches!(self, Mode::Get | Mode::Mixed | Mode::List | Mode::ListPage)
    }
}

/// One kind of operation, for per-op statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Get,
    Head,
    Delete,
    List,
    Multipart,
}

const OP_KINDS: [OpKind; 6] = [
    OpKind::Put,
    OpKind::Get,
    OpKind::Head,
    OpKind::Delete,
    OpKind::List,
    OpKind::Multipart,
];

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "PUT",
            OpKind::Get => "GET",
            OpKind::Head => "HEAD",
            OpKind::Delete => "DELETE",
            OpKind::List => "LIST",
            OpKind::Multipart => "MULTIPART",
        }
    }
}

/// The workload.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub mode: Mode,
    pub sizes: SizeSpec,
    pub concurrency: usize,
    pub duration: Duration,
    /// Total operations across workers; the run stops at whichever of this
    /// and `duration` comes first.
    pub ops: Option<u64>,
    pub bucket: String,
    /// Key prefix of this run (unique per run so runs never collide).
    pub prefix: String,
    /// Size of the pre-uploaded pool that GET / MIXED / LIST read.
    pub objects: usize,
    pub part_size: u64,
}

/// Where operations go.
#[derive(Clone)]
pub enum Target {
    S3(Arc<S3Config>),
    Raw(Arc<RawDisk>),
    #[cfg(feature = "engine")]
    Engine(Arc<crate::engine::EngineTarget>),
}

impl Target {
    pub fn worker(&self) -> Worker {
        match self {
            Target::S3(cfg) => Worker::S3(S3Conn::new(cfg.clone())),
            Target::Raw(raw) => Worker::Raw(raw.clone()),
            #[cfg(feature = "engine")]
            Target::Engine(e) => Worker::Engine(e.clone()),
        }
    }
}

/// One worker's handle on the target (its own connection for S3).
pub enum Worker {
    S3(S3Conn),
    Raw(Arc<RawDisk>),
    #[cfg(feature = "engine")]
    Engine(Arc<crate::engine::EngineTarget>),
}

impl Worker {
    pub async fn put(
        &mut self,
        bucket: &str,
        key: &str,
        size: u64,
        payload: &Payload,
        seed: u64,
    ) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => c.put_object(bucket, key, payload.body(seed, size)).await,
            Worker::Raw(r) => r.put(key, size, payload, seed).await,
            #[cfg(feature = "engine")]
            Worker::Engine(e) => e.put(bucket, key, size, payload, seed).await,
        }
    }

    pub async fn get(&mut self, bucket: &str, key: &str) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => c.get_object(bucket, key).await,
            Worker::Raw(r) => r.get(key).await,
            #[cfg(feature = "engine")]
            Worker::Engine(e) => e.get(bucket, key).await,
        }
    }

    pub async fn head(&mut self, bucket: &str, key: &str) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => c.head_object(bucket, key).await,
            Worker::Raw(r) => r.head(key).await,
            #[cfg(feature = "engine")]
            Worker::Engine(e) => e.head(bucket, key).await,
        }
    }

    pub async fn delete(&mut self, bucket: &str, key: &str) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => c.delete_object(bucket, key).await,
            Worker::Raw(r) => r.delete(key).await,
            #[cfg(feature = "engine")]
            Worker::Engine(e) => e.delete(bucket, key).await,
        }
    }

    /// Lists `prefix` fully; returns the number of keys.
    pub async fn list(&mut self, bucket: &str, prefix: &str) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => c.list_all(bucket, prefix).await,
            Worker::Raw(r) => r.list(prefix).await,
            #[cfg(feature = "engine")]
            Worker::Engine(e) => e.list(bucket, prefix).await,
        }
    }

    /// One page of up to 1,000 keys under `prefix` after `start_after`;
    /// returns the number of keys (S3 targets only).
    pub async fn list_page(
        &mut self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => c.list_page(bucket, prefix, start_after).await,
            _ => Err(OpError::new("list-page needs an S3 endpoint")),
        }
    }

    pub async fn multipart(
        &mut self,
        bucket: &str,
        key: &str,
        size: u64,
        part_size: u64,
        payload: &Payload,
        seed: u64,
    ) -> Result<u64, OpError> {
        match self {
            Worker::S3(c) => {
                c.multipart_upload(bucket, key, size, part_size, |n, len| {
                    payload.body(seed.wrapping_add(n as u64), len)
                })
                .await
            }
            // Without a server a multipart upload is just the same bytes written.
            _ => self.put(bucket, key, size, payload, seed).await,
        }
    }

    pub async fn create_bucket(&mut self, bucket: &str) -> Result<(), OpError> {
        match self {
            Worker::S3(c) => c.create_bucket(bucket).await,
            Worker::Raw(_) => Ok(()),
            #[cfg(feature = "engine")]
            Worker::Engine(e) => e.create_bucket(bucket).await,
        }
    }
}

/// Counters of one op kind.
struct OpStats {
    hist: Histogram<u64>,
    ok: u64,
    bytes: u64,
    items: u64,
    errors: BTreeMap<String, u64>,
}

impl OpStats {
    fn new() -> Self {
        Self {
            // Microseconds, 1 µs .. 1 h, 3 significant digits.
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            ok: 0,
            bytes: 0,
            items: 0,
            errors: BTreeMap::new(),
        }
    }

    fn merge(&mut self, other: &OpStats) {
        let _ = self.hist.add(&other.hist);
        self.ok += other.ok;
        self.bytes += other.bytes;
        self.items += other.items;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

struct Stats {
    per_op: Vec<OpStats>,
}

impl Stats {
    fn new() -> Self {
        Self {
            per_op: OP_KINDS.iter().map(|_| OpStats::new()).collect(),
        }
    }

    fn record(&mut self, kind: OpKind, started: Instant, result: Result<u64, OpError>) {
        let idx = OP_KINDS
            .iter()
            .position(|k| *k == kind)
            .expect("known kind");
        let s = &mut self.per_op[idx];
        let micros = started.elapsed().as_micros().clamp(1, 3_600_000_000) as u64;
        match result {
            Ok(n) => {
                s.ok += 1;
                let _ = s.hist.record(micros);
                if kind == OpKind::List {
                    s.items += n;
                } else if matches!(kind, OpKind::Put | OpKind::Get | OpKind::Multipart) {
                    s.bytes += n;
                }
            }
            Err(e) => *s.errors.entry(e.code).or_default() += 1,
        }
    }
}

/// Latency and throughput of one op kind in a run.
#[derive(Debug, Clone, Serialize)]
pub struct OpSummary {
    pub op: String,
    pub ok: u64,
    pub errors: u64,
    pub bytes: u64,
    /// Keys listed (LIST only).
    pub items: u64,
    pub mib_per_s: f64,
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// The outcome of one run (one matrix cell).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// `minnow`, `raw-disk`, `nginx`, `engine`, or the endpoint.
    pub target: String,
    pub mode: Mode,
    pub size: String,
    pub size_bytes: u64,
    pub concurrency: usize,
    pub wall_secs: f64,
    pub ok_ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub mib_per_s: f64,
    pub ops_per_s: f64,
    pub ops: Vec<OpSummary>,
    pub error_codes: BTreeMap<String, u64>,
    /// CPU seconds this load generator used during the run (getrusage).
    pub client_cpu_secs: f64,
    /// `client_cpu_secs / wall_secs`: cores the client kept busy.
    pub client_cpu_cores: f64,
    pub server_cpu_secs: Option<f64>,
    pub server_cpu_cores: Option<f64>,
    pub server_peak_rss_bytes: Option<u64>,
    /// Cores the rest of the machine kept busy during the run (machine busy
    /// CPU minus client, server and kernel threads): the interference behind
    /// noisy cells.
    pub other_cpu_cores: Option<f64>,
    /// 1-minute load average at the end of the run.
    pub load_average: Option<f64>,
}

impl RunResult {
    /// The op that names the mode (PUT for put...), or None for mixed.
    pub fn main_op(&self) -> Option<&OpSummary> {
        let name = match self.mode {
            Mode::Mixed => return None,
            m => m.name(),
        };
        self.ops.iter().find(|o| o.op == name)
    }
}

/// A pool object: key and size.
pub type PoolObject = (String, u64);

/// Keys and sizes of the pool a GET / MIXED / LIST run reads.
pub fn pool_objects(spec: &LoadSpec) -> Vec<PoolObject> {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    (0..spec.objects)
        .map(|i| {
            (
                format!("{}/pool/{i:06}", spec.prefix),
                spec.sizes.sample(&mut rng),
            )
        })
        .collect()
}

/// Uploads `objects` to `target` with `concurrency` workers (creating the
/// bucket first). Not timed.
pub async fn prepare(
    target: &Target,
    bucket: &str,
    objects: &[PoolObject],
    concurrency: usize,
    payload: &Payload,
) -> Result<(), OpError> {
    target.worker().create_bucket(bucket).await?;
    let next = Arc::new(AtomicU64::new(0));
    let objects = Arc::new(objects.to_vec());
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (target, next, objects, payload, bucket) = (
            target.clone(),
            next.clone(),
            objects.clone(),
            payload.clone(),
            bucket.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut w = target.worker();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((key, size)) = objects.get(i) else {
                    return Ok(());
                };
                // A few retries: preparation must not fail on a transient error.
                let mut attempt = 0;
                loop {
                    match w.put(&bucket, key, *size, &payload, i as u64).await {
                        Ok(_) => break,
                        Err(e) if attempt >= 3 => return Err(e),
                        Err(_) => attempt += 1,
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|_| OpError::new("JoinError"))??;
    }
    Ok(())
}

/// Deletes `keys` with `concurrency` workers, ignoring errors.
pub async fn cleanup(target: &Target, bucket: &str, keys: Vec<String>, concurrency: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let keys = Arc::new(keys);
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (target, next, keys, bucket) = (
            target.clone(),
            next.clone(),
            keys.clone(),
            bucket.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut w = target.worker();
            while let Some(key) = keys.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
                let _ = w.delete(&bucket, key).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// What to observe beside the client: a server process (CPU, peak RSS).
#[derive(Debug, Clone, Copy, Default)]
pub struct Observe {
    pub pid: Option<u32>,
    pub rss: bool,
}

/// Runs the workload. For modes that read a pool, `pool` must already be
/// uploaded (see [`prepare`]). Returns the result and the keys this run
/// created and did not delete (for cleanup).
pub async fn run(
    target: &Target,
    target_label: &str,
    spec: &LoadSpec,
    payload: &Payload,
    pool: Arc<Vec<PoolObject>>,
    observe: Observe,
) -> (RunResult, Vec<String>) {
    let remaining = Arc::new(AtomicU64::new(spec.ops.unwrap_or(u64::MAX)));
    let sampler = match (observe.pid, observe.rss) {
        (Some(pid), true) => Some(RssSampler::start(pid)),
        _ => None,
    };
    let server_cpu_before = observe.pid.and_then(procstat::process_tree_cpu_seconds);
    let cpu_before = procstat::self_cpu_seconds();
    let machine_before = procstat::machine_busy_cpu_seconds();
    let kernel_before = procstat::kernel_threads_cpu_seconds();
    let start = Instant::now();
    let deadline = start + spec.duration;
    let spec_arc = Arc::new(spec.clone());
    let mut tasks = Vec::new();
    for worker_id in 0..spec.concurrency.max(1) {
        let (target, spec, payload, pool, remaining) = (
            target.clone(),
            spec_arc.clone(),
            payload.clone(),
            pool.clone(),
            remaining.clone(),
        );
        tasks.push(tokio::spawn(async move {
            worker_loop(target, worker_id, spec, payload, pool, remaining, deadline).await
        }));
    }
    let mut total = Stats::new();
    let mut leftover = Vec::new();
    for t in tasks {
        if let Ok((stats, keys)) = t.await {
            for (a, b) in total.per_op.iter_mut().zip(&stats.per_op) {
                a.merge(b);
            }
            leftover.extend(keys);
        }
    }
    let wall = start.elapsed().as_secs_f64().max(1e-9);
    let client_cpu = procstat::self_cpu_seconds() - cpu_before;
    let server_cpu = match (observe.pid, server_cpu_before) {
        (Some(pid), Some(before)) => procstat::process_tree_cpu_seconds(pid).map(|a| a - before),
        _ => None,
    };
    let kernel_cpu = procstat::kernel_threads_cpu_seconds() - kernel_before;
    let machine_cpu = match (machine_before, procstat::machine_busy_cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a - kernel_cpu),
        _ => None,
    };
    let peak_rss = sampler.map(|s| s.finish());
    let mut result = summarize(
        target_label,
        spec,
        &total,
        wall,
        client_cpu,
        server_cpu,
        peak_rss,
    );
    result.other_cpu_cores =
        machine_cpu.map(|m| ((m - client_cpu - server_cpu.unwrap_or(0.0)) / wall).max(0.0));
    result.load_average = procstat::load_average();
    (result, leftover)
}

fn summarize(
    target_label: &str,
    spec: &LoadSpec,
    total: &Stats,
    wall: f64,
    client_cpu: f64,
    server_cpu: Option<f64>,
    peak_rss: Option<u64>,
) -> RunResult {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut ops = Vec::new();
    let mut error_codes = BTreeMap::new();
    let (mut ok_ops, mut errors, mut bytes) = (0, 0, 0);
    for (kind, s) in OP_KINDS.iter().zip(&total.per_op) {
        let errs: u64 = s.errors.values().sum();
        if s.ok == 0 && errs == 0 {
            continue;
        }
        for (code, n) in &s.errors {
            *error_codes
                .entry(format!("{} {code}", kind.name()))
                .or_insert(0) += n;
        }
        ok_ops += s.ok;
        errors += errs;
        bytes += s.bytes;
        let h = &s.hist;
        ops.push(OpSummary {
            op: kind.name().to_string(),
            ok: s.ok,
            errors: errs,
            bytes: s.bytes,
            items: s.items,
            mib_per_s: s.bytes as f64 / wall / (1 << 20) as f64,
            ops_per_s: s.ok as f64 / wall,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        });
    }
    RunResult {
        target: target_label.to_string(),
        mode: spec.mode,
        size: spec.sizes.label(),
        size_bytes: spec.sizes.max(),
        concurrency: spec.concurrency,
        wall_secs: wall,
        ok_ops,
        errors,
        bytes,
        mib_per_s: bytes as f64 / wall / (1 << 20) as f64,
        ops_per_s: ok_ops as f64 / wall,
        ops,
        error_codes,
        client_cpu_secs: client_cpu,
        client_cpu_cores: client_cpu / wall,
        server_cpu_secs: server_cpu,
        server_cpu_cores: server_cpu.map(|c| c / wall),
        server_peak_rss_bytes: peak_rss,
        other_cpu_cores: None,
        load_average: None,
    }
}

/// Picks the op of a mixed workload: 45% GET, 15% PUT, 10% DELETE, 30% HEAD.
pub fn mixed_pick(roll: u32) -> OpKind {
    match roll % 100 {
        0..=44 => OpKind::Get,
        45..=59 => OpKind::Put,
        60..=69 => OpKind::Delete,
        _ => OpKind::Head,
    }
}

async fn worker_loop(
    target: Target,
    worker_id: usize,
    spec: Arc<LoadSpec>,
    payload: Payload,
    pool: Arc<Vec<PoolObject>>,
    remaining: Arc<AtomicU64>,
    deadline: Instant,
) -> (Stats, Vec<String>) {
    let mut w = target.worker();
    let mut stats = Stats::new();
    let mut rng = StdRng::from_entropy();
    // Keys this worker wrote: PUT mode leaves them for cleanup; MIXED deletes
    // only these, so GET/HEAD of pool objects never race a DELETE.
    let mut written: Vec<String> = Vec::new();
    let mut seq = 0u64;
    let bucket = spec.bucket.as_str();
    loop {
        if Instant::now() >= deadline {
            break;
        }
        if remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_err()
        {
            break;
        }
        seq += 1;
        let seed = ((worker_id as u64) << 40) | seq;
        let kind = match spec.mode {
            Mode::Put => OpKind::Put,
            Mode::Get => OpKind::Get,
            Mode::List | Mode::ListPage => OpKind::List,
            Mode::Multipart => OpKind::Multipart,
            Mode::Mixed => match mixed_pick(rng.gen_range(0..100)) {
                // Nothing of our own to delete yet: write instead.
                OpKind::Delete if written.is_empty() => OpKind::Put,
                k => k,
            },
        };
        let started = Instant::now();
        let result = match kind {
            OpKind::Put | OpKind::Multipart => {
                let key = format!("{}/w{worker_id:03}/{seq:08}", spec.prefix);
                let size = spec.sizes.sample(&mut rng);
                let r = if kind == OpKind::Put {
                    w.put(bucket, &key, size, &payload, seed).await
                } else {
                    w.multipart(bucket, &key, size, spec.part_size, &payload, seed)
                        .await
                };
                if r.is_ok() {
                    written.push(key);
                }
                r
            }
            OpKind::Get | OpKind::Head => match pool.get(rng.gen_range(0..pool.len().max(1))) {
                None => Err(OpError::new("EmptyPool")),
                Some((key, _)) if kind == OpKind::Get => w.get(bucket, key).await,
                Some((key, _)) => w.head(bucket, key).await,
            },
            OpKind::Delete => {
                let i = rng.gen_range(0..written.len());
                let key = written.swap_remove(i);
                w.delete(bucket, &key).await
            }
            OpKind::List if spec.mode == Mode::ListPage => {
                let after = pool.get(rng.gen_range(0..pool.len().max(1)));
                let after = after.map(|(key, _)| key.as_str()).unwrap_or_default();
                w.list_page(bucket, &format!("{}/pool/", spec.prefix), after)
                    .await
            }
            OpKind::List => w.list(bucket, &format!("{}/pool/", spec.prefix)).await,
        };
        stats.record(kind, started, result);
    }
    (stats, written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_split_is_45_15_10_30() {
        let mut counts = BTreeMap::new();
        for roll in 0..100 {
            *counts.entry(mixed_pick(roll).name()).or_insert(0) += 1;
        }
        assert_eq!(counts["GET"], 45);
        assert_eq!(counts["PUT"], 15);
        assert_eq!(counts["DELETE"], 10);
        assert_eq!(counts["HEAD"], 30);
    }

    #[tokio::test]
    async fn raw_disk_put_run_counts_ops_and_bytes_within_its_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let drives: Vec<_> = (1..=4).map(|i| tmp.path().join(format!("d{i}"))).collect();
        let raw = RawDisk::new(&drives, crate::rawdisk::Layout::EC_2_2).unwrap();
        let target = Target::Raw(raw);
        let spec = LoadSpec {
            mode: Mode::Put,
            sizes: SizeSpec::fixed(4096),
            concurrency: 4,
            duration: Duration::from_secs(10),
            ops: Some(20),
            bucket: "b".into(),
            prefix: "t".into(),
            objects: 0,
            part_size: 5 << 20,
        };
        let payload = Payload::new(4096);
        let (result, keys) = run(
            &target,
            "raw-disk",
            &spec,
            &payload,
            Arc::new(Vec::new()),
            Observe::default(),
        )
        .await;
        assert_eq!(result.ok_ops, 20);
        assert_eq!(result.errors, 0);
        assert_eq!(result.bytes, 20 * 4096);
        assert_eq!(keys.len(), 20);
        assert!(result.main_op().unwrap().p50_ms > 0.0);
    }

    #[tokio::test]
    async fn raw_disk_mixed_run_never_reads_a_deleted_object() {
        let tmp = tempfile::tempdir().unwrap();
        let drives: Vec<_> = (1..=4).map(|i| tmp.path().join(format!("d{i}"))).collect();
        let target = Target::Raw(RawDisk::new(&drives, crate::rawdisk::Layout::EC_2_2).unwrap());
        let spec = LoadSpec {
            mode: Mode::Mixed,
            sizes: SizeSpec::fixed(4096),
            concurrency: 4,
            duration: Duration::from_secs(10),
            ops: Some(200),
            bucket: "b".into(),
            prefix: "m".into(),
            objects: 16,
            part_size: 5 << 20,
        };
        let payload = Payload::new(4096);
        let pool = pool_objects(&spec);
        prepare(&target, "b", &pool, 4, &payload).await.unwrap();
        let (result, _) = run(
            &target,
            "raw-disk",
            &spec,
            &payload,
            Arc::new(pool),
            Observe::default(),
        )
        .await;
        assert_eq!(result.errors, 0, "{:?}", result.error_codes);
        assert_eq!(result.ok_ops, 200);
        assert!(result.ops.iter().any(|o| o.op == "DELETE"));
    }
}
