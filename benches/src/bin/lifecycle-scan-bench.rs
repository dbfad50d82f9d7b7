//! Lifecycle scanner at scale (the scanner must not raise foreground GET p99
//! by more than 25% with 100,000 objects): a real `store::Store`
//! in-process on four folders, 100,000 small objects (half under `temp/`)
//! with the 7-day `temp/` rule, then
//! - the scan rate of `Scanner::run_one_cycle` with a clock 1 day ahead
//!   (everything listed, nothing due) and 8 days ahead (every `temp/` object
//!   due), unthrottled;
//! - the p99 of concurrent foreground GETs with the scanner off and on
//!   (default ops budget, a cycle with work to do), in alternating windows,
//!   pooled per side.
//!
//! Prints a table and writes JSON (default target/minnow-bench/lifecycle-scan.json).
//! Run: `cargo run --release -p minnow-benches --bin lifecycle-scan-bench`.

#[cfg(feature = "engine")]
mod bench {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant, SystemTime};

    use anyhow::{anyhow, Context as _};
    use bytes::Bytes;
    use clap::Parser;
    use futures::StreamExt;
    use hdrhistogram::Histogram;
    use lifecycle::{
        CycleSummary, DayLength, LifecycleConfiguration, ManualClock, Scanner, ScannerConfig,
        ScannerHandle,
    };
    use store::api::{BucketSetting, ByteStream, Catalog, ObjectStore, PutOptions, StoreError};
    use store::{Store, StoreConfig};

    const BUCKET: &str = "lifecycle-scan";
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    const TEMP_RULE: &str = r#"<LifecycleConfiguration><Rule><ID>temp-cleanup</ID><Filter><Prefix>temp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule></LifecycleConfiguration>"#;

    #[derive(Debug, Parser)]
    #[command(
        about = "Lifecycle scanner at scale: scan rate and foreground GET p99, scanner off vs on"
    )]
    pub struct Args {
        /// Objects written before the scan (half under temp/, half under keep/).
        #[arg(long, default_value_t = 100_000)]
        objects: usize,
        /// Size of each object in bytes (stored inline when <= 128 KiB).
        #[arg(long, default_value_t = 1024)]
        size: usize,
        /// Concurrent PUTs while populating.
        #[arg(long, default_value_t = 64)]
        write_concurrency: usize,
        /// temp/ objects written again before the scanner-on GET run (default: half of --objects).
        #[arg(long)]
        repopulate: Option<usize>,
        /// Concurrent GET workers.
        #[arg(long, default_value_t = 8)]
        get_concurrency: usize,
        /// Seconds of each GET window (one off and one on per round).
        #[arg(long, default_value_t = 5)]
        get_secs: u64,
        /// Rounds of (scanner off, scanner on) GET windows.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Ops/s budget of the scanner in the 'on' windows (default: the
        /// scanner's default budget).
        #[arg(long)]
        scanner_ops: Option<u32>,
        /// Pacing factor of the scanner in the 'on' windows: after each
        /// delete, listing page or cursor write it rests this many times as
        /// long as the call took; 0 = no pacing (default: the scanner's default).
        #[arg(long)]
        pace_factor: Option<u32>,
        /// How far ahead the 'on' scanner's clock is, in days: 8 makes every
        /// temp/ object due (deletions), 1 makes nothing due (listing only).
        #[arg(long, default_value_t = 8)]
        scanner_days_ahead: u32,
        /// Skip the scan-rate cycles (a): temp/ stays populated, so the GET
        /// windows start at once (for quick experiments with the 'on' side).
        #[arg(long)]
        skip_scan_rate: bool,
        /// Folder that receives the temporary drive folders.
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Where the JSON result goes.
        #[arg(long)]
        json: Option<PathBuf>,
    }

    fn target_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
    }

    fn temp_key(i: usize) -> String {
        format!("temp/{:03}/{i:07}", i % 997)
    }

    fn keep_key(i: usize) -> String {
        format!("keep/{:03}/{i:07}", i % 997)
    }

    async fn put_many(
        store: &Arc<Store>,
        keys: Vec<String>,
        body: Bytes,
        concurrency: usize,
        label: &str,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let total = keys.len();
        let done = Arc::new(AtomicU64::new(0));
        let mut puts = futures::stream::iter(keys)
            .map(|key| {
                let store = Arc::clone(store);
                let body = body.clone();
                let done = Arc::clone(&done);
                async move {
                    let len = body.len() as u64;
                    let stream: ByteStream =
                        Box::pin(futures::stream::once(
                            async move { Ok::<_, StoreError>(body) },
                        ));
                    let opts = PutOptions {
                        size: Some(len),
                        ..Default::default()
                    };
                    store
                        .put_object(BUCKET, &key, stream, opts)
                        .await
                        .map_err(|e| anyhow!("PUT {key}: {e}"))?;
                    done.fetch_add(1, Ordering::Relaxed);
                    Ok::<_, anyhow::Error>(())
                }
            })
            .buffer_unordered(concurrency.max(1));
        let mut last_report = Instant::now();
        while let Some(result) = puts.next().await {
            result?;
            if last_report.elapsed() >= Duration::from_secs(10) {
                last_report = Instant::now();
                let n = done.load(Ordering::Relaxed);
                eprintln!(
                    "  {label}: {n}/{total} written, {:.0} PUT/s",
                    n as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(started.elapsed())
    }

    struct GetRun {
        label: &'static str,
        requests: u64,
        errors: u64,
        elapsed: Duration,
        hist: Histogram<u64>,
    }

    impl GetRun {
        fn p(&self, q: f64) -> u64 {
            self.hist.value_at_quantile(q)
        }

        fn json(&self) -> serde_json::Value {
            serde_json::json!({
                "label": self.label,
                "requests": self.requests,
                "errors": self.errors,
                "seconds": self.elapsed.as_secs_f64(),
                "req_per_sec": self.requests as f64 / self.elapsed.as_secs_f64(),
                "p50_us": self.p(0.50),
                "p90_us": self.p(0.90),
                "p99_us": self.p(0.99),
                "p999_us": self.p(0.999),
                "max_us": self.hist.max(),
            })
        }
    }

    /// `concurrency` workers GET random keep/ objects and drain the body for `duration`.
    async fn get_load(
        store: &Arc<Store>,
        keep: usize,
        concurrency: usize,
        duration: Duration,
        label: &'static str,
    ) -> anyhow::Result<GetRun> {
        let started = Instant::now();
        let deadline = started + duration;
        let mut workers = Vec::new();
        for worker in 0..concurrency {
            let store = Arc::clone(store);
            workers.push(tokio::spawn(async move {
                let mut hist =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
                let mut errors = 0u64;
                let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (worker as u64 + 1);
                while Instant::now() < deadline {
                    // xorshift: cheap, and the same key sequence in every run.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let key = keep_key((state % keep as u64) as usize);
                    let t = Instant::now();
                    let ok = match store.get_object(BUCKET, &key, None).await {
                        Ok(mut reader) => {
                            let mut ok = true;
                            while let Some(chunk) = reader.body.next().await {
                                ok &= chunk.is_ok();
                            }
                            ok
                        }
                        Err(_) => false,
                    };
                    let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                    hist.saturating_record(micros.max(1));
                    if !ok {
                        errors += 1;
                    }
                }
                (hist, errors)
            }));
        }
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut errors = 0;
        for worker in workers {
            let (h, e) = worker.await?;
            hist.add(&h)?;
            errors += e;
        }
        Ok(GetRun {
            label,
            requests: hist.len(),
            errors,
            elapsed: started.elapsed(),
            hist,
        })
    }

    fn scanner_at(
        store: &Arc<Store>,
        ahead: Duration,
        ops_per_sec: u32,
        pace_factor: u32,
    ) -> Scanner<Store> {
        let mut config = ScannerConfig::for_day(DayLength::default());
        config.ops_per_sec = ops_per_sec;
        config.pace_factor = pace_factor;
        let clock = ManualClock::new(SystemTime::now() + ahead);
        Scanner::new(Arc::clone(store), config, Arc::new(clock))
    }

    pub async fn run(args: Args) -> anyhow::Result<()> {
        let work_root = args
            .work_dir
            .clone()
            .unwrap_or_else(|| target_dir().join("minnow-bench"));
        std::fs::create_dir_all(&work_root)?;
        let dir = tempfile::Builder::new()
            .prefix("lifecycle-scan-")
            .tempdir_in(&work_root)?;
        let drives: Vec<PathBuf> = (1..=4)
            .map(|i| dir.path().join(format!("drive{i}")))
            .collect();
        for drive in &drives {
            std::fs::create_dir_all(drive)?;
        }
        let store = Arc::new(
            Store::open(StoreConfig::new(drives))
                .await
                .map_err(|e| anyhow!("opening the store: {e}"))?,
        );
        store
            .create_bucket(BUCKET)
            .await
            .map_err(|e| anyhow!("create bucket: {e}"))?;
        LifecycleConfiguration::from_xml(TEMP_RULE.as_bytes()).map_err(|e| anyhow!("rule: {e}"))?;
        store
            .put_bucket_setting(
                BUCKET,
                BucketSetting::Lifecycle,
                Some(Bytes::from_static(TEMP_RULE.as_bytes())),
            )
            .await
            .map_err(|e| anyhow!("put lifecycle: {e}"))?;

        let half = args.objects / 2;
        let temp_count = args.objects - half;
        let body = Bytes::from(vec![b'm'; args.size]);
        println!(
            "lifecycle scan benchmark: {} objects of {} B ({} temp/, {} keep/) on {}",
            args.objects,
            args.size,
            temp_count,
            half,
            dir.path().display()
        );
        let mut keys: Vec<String> = (0..half).map(keep_key).collect();
        keys.extend((0..temp_count).map(temp_key));
        let write_time = put_many(
            &store,
            keys,
            body.clone(),
            args.write_concurrency,
            "populate",
        )
        .await?;
        let write_rate = args.objects as f64 / write_time.as_secs_f64();
        println!(
            "populate: {} objects in {:.1} s ({write_rate:.0} PUT/s, c={})",
            args.objects,
            write_time.as_secs_f64(),
            args.write_concurrency
        );

        // (a) scan rate, unthrottled: nothing due (1 day ahead), then everything due (8 days).
        let (listed, expired) = if args.skip_scan_rate {
            (CycleSummary::default(), CycleSummary::default())
        } else {
            let mut scan_only = scanner_at(&store, DAY, 0, 0);
            let listed = scan_only.run_one_cycle().await.context("scan-only cycle")?;
            let mut expire = scanner_at(&store, 8 * DAY, 0, 0);
            let expired = expire.run_one_cycle().await.context("expiry cycle")?;
            (listed, expired)
        };
        let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
        println!(
            "scan (nothing due):  {} scanned in {:.2} s = {:.0} objects/s",
            listed.objects_scanned,
            listed.duration.as_secs_f64(),
            rate(listed.objects_scanned, listed.duration)
        );
        println!(
            "scan (all temp/ due): {} scanned, {} expired in {:.2} s = {:.0} scanned/s, {:.0} expired/s",
            expired.objects_scanned,
            expired.objects_expired,
            expired.duration.as_secs_f64(),
            rate(expired.objects_scanned, expired.duration),
            rate(expired.objects_expired, expired.duration)
        );

        // (b) foreground GET p99, scanner off vs on (default ops budget, a
        // cycle with work to do), in alternating windows so that the noise of
        // a shared machine falls on both sides alike.
        let repopulate =
            args.repopulate
                .unwrap_or(if args.skip_scan_rate { 0 } else { temp_count });
        let repopulate_time = put_many(
            &store,
            (0..repopulate).map(temp_key).collect(),
            body,
            args.write_concurrency,
            "repopulate",
        )
        .await?;
        println!(
            "repopulate: {repopulate} temp/ objects in {:.1} s",
            repopulate_time.as_secs_f64()
        );
        let window = Duration::from_secs(args.get_secs);
        let default_budget = args
            .scanner_ops
            .unwrap_or(ScannerConfig::for_day(DayLength::default()).ops_per_sec);
        let pace_factor = args
            .pace_factor
            .unwrap_or(ScannerConfig::for_day(DayLength::default()).pace_factor);
        let on_ahead = DAY * args.scanner_days_ahead;
        let mut off_all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut on_all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let (mut off_secs, mut on_secs) = (0.0, 0.0);
        let mut windows = Vec::new();
        let mut scanner_expired = 0u64;
        let mut scanner_scanned = 0u64;
        println!(
            "\nforeground GETs, c={}, {} rounds of {} s off + {} s on, {} B inline objects from keep/",
            args.get_concurrency, args.rounds, args.get_secs, args.get_secs, args.size
        );
        println!(
            "{:<14} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6} {:>9}",
            "window",
            "req/s",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "p99.9µs",
            "max µs",
            "errors",
            "expired"
        );
        for round in 1..=args.rounds {
            let off = get_load(&store, half, args.get_concurrency, window, "off").await?;
            let scanner: ScannerHandle = scanner_at(&store, on_ahead, default_budget, pace_factor)
                .spawn(std::future::pending());
            let on = get_load(&store, half, args.get_concurrency, window, "on").await?;
            let during = scanner.metrics();
            scanner.stop();
            scanner.join().await;
            scanner_expired += during.objects_expired;
            scanner_scanned += during.objects_scanned;
            for (run, expired) in [(&off, None), (&on, Some(during.objects_expired))] {
                println!(
                    "{:<14} {:>9.0} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6} {:>9}",
                    format!("{round}: {}", run.label),
                    run.requests as f64 / run.elapsed.as_secs_f64(),
                    run.p(0.50),
                    run.p(0.90),
                    run.p(0.99),
                    run.p(0.999),
                    run.hist.max(),
                    run.errors,
                    expired.map_or_else(|| "-".to_string(), |n| n.to_string())
                );
            }
            off_all.add(&off.hist)?;
            on_all.add(&on.hist)?;
            off_secs += off.elapsed.as_secs_f64();
            on_secs += on.elapsed.as_secs_f64();
            let mut pair = [off.json(), on.json()];
            pair[1]["scanner_expired"] = serde_json::json!(during.objects_expired);
            windows.push(serde_json::json!({ "round": round, "off": pair[0], "on": pair[1] }));
        }
        let pooled = |label: &'static str, hist: Histogram<u64>, secs: f64| GetRun {
            label,
            requests: hist.len(),
            errors: 0,
            elapsed: Duration::from_secs_f64(secs),
            hist,
        };
        let off = pooled("all off", off_all, off_secs);
        let on = pooled("all on", on_all, on_secs);
        for run in [&off, &on] {
            println!(
                "{:<14} {:>9.0} {:>8} {:>8} {:>8} {:>8} {:>9}",
                run.label,
                run.requests as f64 / run.elapsed.as_secs_f64(),
                run.p(0.50),
                run.p(0.90),
                run.p(0.99),
                run.p(0.999),
                run.hist.max(),
            );
        }
        let ratio = on.p(0.99) as f64 / off.p(0.99).max(1) as f64;
        println!(
            "scanner in the 'on' windows ({default_budget} ops/s budget, pace factor {pace_factor}): \
             {scanner_scanned} scanned, \
             {scanner_expired} expired ({:.0} expired/s)",
            scanner_expired as f64 / on_secs.max(1e-9)
        );
        let verdict = if ratio <= 1.25 { "PASS" } else { "MISS" };
        println!(
            "pooled p99 on / off = {} / {} µs = {ratio:.3} (budget 1.25): {verdict}",
            on.p(0.99),
            off.p(0.99)
        );

        let json_path = args.json.clone().unwrap_or_else(|| {
            target_dir()
                .join("minnow-bench")
                .join("lifecycle-scan.json")
        });
        if let Some(parent) = json_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let doc = serde_json::json!({
            "objects": args.objects,
            "object_size": args.size,
            "populate": {
                "seconds": write_time.as_secs_f64(),
                "puts_per_sec": write_rate,
                "concurrency": args.write_concurrency,
            },
            "scan_nothing_due": {
                "objects_scanned": listed.objects_scanned,
                "seconds": listed.duration.as_secs_f64(),
                "objects_per_sec": rate(listed.objects_scanned, listed.duration),
            },
            "scan_all_due": {
                "objects_scanned": expired.objects_scanned,
                "objects_expired": expired.objects_expired,
                "seconds": expired.duration.as_secs_f64(),
                "scanned_per_sec": rate(expired.objects_scanned, expired.duration),
                "expired_per_sec": rate(expired.objects_expired, expired.duration),
            },
            "foreground_get": {
                "concurrency": args.get_concurrency,
                "repopulated_temp_objects": repopulate,
                "scanner_ops_per_sec": default_budget,
                "scanner_pace_factor": pace_factor,
                "scanner_days_ahead": args.scanner_days_ahead,
                "scanner_expired_during_on": scanner_expired,
                "scanner_scanned_during_on": scanner_scanned,
                "window_secs": args.get_secs,
                "windows": windows,
                "pooled_off": off.json(),
                "pooled_on": on.json(),
                "p99_ratio_on_over_off": ratio,
                "within_25_percent": ratio <= 1.25,
            },
        });
        std::fs::write(&json_path, serde_json::to_vec_pretty(&doc)?)?;
        println!("JSON: {}", json_path.display());
        drop(store);
        dir.close()?;
        Ok(())
    }
}

#[cfg(feature = "engine")]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use clap::Parser as _;
    bench::run(bench::Args::parse()).await
}

#[cfg(not(feature = "engine"))]
fn main() {
    eprintln!("lifecycle-scan-bench needs the `engine` feature (on by default)");
    std::process::exit(2);
}
