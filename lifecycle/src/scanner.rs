//! The background lifecycle worker: walks every bucket that has enabled
//! rules, deletes expired objects and aborts stale multipart uploads. Only
//! keys under the rules' prefixes are listed (all keys when some rule has no
//! prefix), so objects no rule can match cost nothing.
//!
//! It works in bounded steps (one listing page each, see [`Scanner::step`]),
//! persists its position after every page in the system blob
//! [`CURSOR_BLOB`] so a restart resumes where it stopped, and spends at most
//! `ops_per_sec` operations per second on drive work: each listing page,
//! each object re-read (HEAD) before a deletion or for a tag rule, each
//! deletion, and each upload examined or aborted costs one. An object the
//! listing shows not due costs nothing more than its page (the listing
//! index answers a page from memory), so a cycle with nothing due is as
//! fast as listing the keys. The cursor is JSON with a `version`; one of
//! another version is refused and a new cycle starts. Tests read the v1
//! fixtures `lifecycle/fixtures/lifecycle-cursor-v1.json` and
//! `bucket-lifecycle-v1.xml` (the lifecycle setting as stored).
//!
//! On top of the budget it paces itself by what its work costs: after each
//! deletion or abort, each listing page and each cursor write it rests
//! `pace_factor` times as long as that call took (capped at `max_pace`).
//! Deletions fsync on every drive and are what raises foreground tail
//! latency; a fixed budget cannot know how costly they are on a given
//! machine, the measured duration does (see BENCHMARKS.md).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use store::api::{
    BucketSetting, Catalog, ListParams, ListUploadsParams, MultipartStore, ObjectStore,
    ObjectSummary, StoreError,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::eval::{DayLength, ObjectFacts};
use crate::forecast::{CycleTimes, Forecast, ScannerReport};
use crate::model::LifecycleConfiguration;
use crate::throttle::{Pacer, TokenBucket};

/// The system blob holding the scanner's position.
pub const CURSOR_BLOB: &str = "lifecycle-cursor.json";
const CURSOR_VERSION: u32 = 1;
/// Wait after a failed step before trying again (capped by the cycle pause).
const ERROR_BACKOFF: Duration = Duration::from_secs(5);
/// Rest after an expensive step, as a multiple of its duration: the scanner
/// keeps the drives busy at most a quarter of its time.
pub const DEFAULT_PACE_FACTOR: u32 = 3;
/// The longest single rest, so a stalled drive does not park the scanner.
pub const DEFAULT_MAX_PACE: Duration = Duration::from_secs(1);
/// How the scanner paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannerConfig {
    /// The lifecycle day (shortened in tests).
    pub day: DayLength,
    /// Operations per second the scanner may spend; 0 = unthrottled (no
    /// pacing either: tests and one-off scans run flat out).
    pub ops_per_sec: u32,
    /// Rest between the end of one full pass and the start of the next.
    pub pause_between_cycles: Duration,
    /// Objects or uploads listed per step (the store caps it at 1000).
    pub page_size: usize,
    /// After a deletion, abort, listing page or cursor write, rest this many
    /// times as long as it took; 0 = no pacing. Ignored when unthrottled.
    pub pace_factor: u32,
    /// Cap on one such rest.
    pub max_pace: Duration,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self::for_day(DayLength::default())
    }
}

impl ScannerConfig {
    /// Defaults for a given day length: 1,000 ops/s, pages of 1,000, a
    /// pause of one day but at most a minute, and pacing of
    /// [`DEFAULT_PACE_FACTOR`] × each expensive step.
    ///
    /// A shortened day (a test and demo setting) turns pacing off, so expired objects go within a couple of
    /// seconds; the budget still applies.
    pub fn for_day(day: DayLength) -> Self {
        let real_day = day.as_secs() >= DayLength::default().as_secs();
        Self {
            day,
            ops_per_sec: 1000,
            pause_between_cycles: day.as_duration().min(Duration::from_secs(60)),
            page_size: 1000,
            pace_factor: if real_day { DEFAULT_PACE_FACTOR } else { 0 },
            max_pace: DEFAULT_MAX_PACE,
        }
    }
}

/// Live counters, shared by the scanner and its handle.
#[derive(Debug, Default)]
struct ScannerMetrics {
    objects_scanned: AtomicU64,
    objects_expired: AtomicU64,
    uploads_aborted: AtomicU64,
    cycles: AtomicU64,
    errors: AtomicU64,
    last_cycle_duration_micros: AtomicU64,
    paced_nanos: AtomicU64,
    /// The last completed cycle's times and forecast.
    report: std::sync::Mutex<ScannerReport>,
}

/// A copy of the scanner's counters since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScannerMetricsSnapshot {
    /// Objects examined.
    pub objects_scanned: u64,
    /// Objects deleted.
    pub objects_expired: u64,
    /// Multipart uploads aborted.
    pub uploads_aborted: u64,
    /// Completed passes over all buckets.
    pub cycles: u64,
    /// Failed steps and failed per-object operations.
    pub errors: u64,
    /// Wall time of the last completed cycle.
    pub last_cycle_duration: Duration,
    /// Rest requested after expensive steps (pacing).
    pub paced: Duration,
}

impl ScannerMetrics {
    fn report(&self) -> ScannerReport {
        self.report
            .lock()
            .map(|report| report.clone())
            .unwrap_or_default()
    }

    fn snapshot(&self) -> ScannerMetricsSnapshot {
        ScannerMetricsSnapshot {
            objects_scanned: self.objects_scanned.load(Ordering::Relaxed),
            objects_expired: self.objects_expired.load(Ordering::Relaxed),
            uploads_aborted: self.uploads_aborted.load(Ordering::Relaxed),
            cycles: self.cycles.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            last_cycle_duration: Duration::from_micros(
                self.last_cycle_duration_micros.load(Ordering::Relaxed),
            ),
            paced: Duration::from_nanos(self.paced_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// What one cycle (or the resumed rest of one) did in this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleSummary {
    /// Objects examined.
    pub objects_scanned: u64,
    /// Objects deleted.
    pub objects_expired: u64,
    /// Multipart uploads aborted.
    pub uploads_aborted: u64,
    /// Per-object failures (logged, skipped).
    pub errors: u64,
    /// Wall time of the cycle in this process.
    pub duration: Duration,
    /// Rest requested after expensive steps (pacing), part of `duration`.
    pub paced: Duration,
}

/// The result of one [`Scanner::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Work was done and the cycle goes on.
    Progress,
    /// The pass over all buckets is finished; the next step starts a new one.
    CycleComplete(CycleSummary),
}

/// Why a scanner step failed (the worker logs it and retries later).
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error("store error during lifecycle scan: {0}")]
    /// A store call failed.
    Store(#[from] StoreError),
    #[error("cannot encode the lifecycle cursor: {0}")]
    /// The cursor could not be serialized.
    Cursor(#[from] serde_json::Error),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    #[default]
    Objects,
    Uploads,
}

/// Where the scan stands, as persisted in [`CURSOR_BLOB`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// The bucket being scanned; `None` before the first bucket of a cycle.
    bucket: Option<String>,
    phase: Phase,
    /// Objects phase: the last key handled. Uploads phase: the key marker.
    after_key: Option<String>,
    /// Uploads phase: the upload-id marker.
    upload_id_marker: Option<String>,
    /// Objects phase: the last rule prefix fully listed (prefixes are
    /// listed in sorted order, so every smaller one is done too).
    #[serde(default)]
    prefix_done: Option<String>,
}

impl Cursor {
    fn cycle_start() -> Self {
        Self {
            version: CURSOR_VERSION,
            ..Self::default()
        }
    }

    fn at_bucket(bucket: String) -> Self {
        Self {
            bucket: Some(bucket),
            ..Self::cycle_start()
        }
    }
}

struct CycleState {
    started: Instant,
    /// `started` by the scanner's clock, for people.
    started_at: std::time::SystemTime,
    summary: CycleSummary,
    forecast: Forecast,
}

/// The lifecycle worker. Build it with [`Scanner::new`], then either
/// [`Scanner::spawn`] it (server) or drive it with [`Scanner::step`] /
/// [`Scanner::run_one_cycle`] (tests).
pub struct Scanner<S> {
    store: Arc<S>,
    config: ScannerConfig,
    clock: Arc<dyn Clock>,
    metrics: Arc<ScannerMetrics>,
    throttle: TokenBucket,
    pacer: Pacer,
    /// `None` until loaded from the store by the first step.
    cursor: Option<Cursor>,
    cycle: Option<CycleState>,
    stop: CancellationToken,
}

/// The running worker: read its metrics, stop it, wait for it.
pub struct ScannerHandle {
    task: JoinHandle<()>,
    metrics: Arc<ScannerMetrics>,
    stop: CancellationToken,
}

impl ScannerHandle {
    /// Counters since the worker was built.
    pub fn metrics(&self) -> ScannerMetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The last completed cycle: when it ran and which objects fall due next.
    pub fn report(&self) -> ScannerReport {
        self.metrics.report()
    }

    /// Asks the worker to stop after the object it is handling.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Waits until the worker has stopped (after shutdown or [`Self::stop`]).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "lifecycle scanner task failed");
        }
    }
}

impl<S> Scanner<S>
where
    S: ObjectStore + Catalog + MultipartStore + 'static,
{
    /// A scanner over `store`, judging expiry by `clock`. Nothing runs until
    /// [`Self::spawn`] or [`Self::step`].
    pub fn new(store: Arc<S>, config: ScannerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            throttle: TokenBucket::new(config.ops_per_sec),
            pacer: Pacer::new(
                if config.ops_per_sec == 0 {
                    0
                } else {
                    config.pace_factor
                },
                config.max_pace,
            ),
            config,
            clock,
            metrics: Arc::default(),
            cursor: None,
            cycle: None,
            stop: CancellationToken::new(),
        }
    }

    /// Counters since this scanner was built.
    pub fn metrics(&self) -> ScannerMetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The last completed cycle: when it ran and which objects fall due next.
    pub fn report(&self) -> ScannerReport {
        self.metrics.report()
    }

    /// Runs the worker on the current tokio runtime until `shutdown`
    /// completes (or the handle's `stop` is called). It finishes the object
    /// in hand, persists its cursor and exits.
    pub fn spawn(self, shutdown: impl Future<Output = ()> + Send + 'static) -> ScannerHandle {
        let stop = self.stop.clone();
        let metrics = Arc::clone(&self.metrics);
        let watcher_stop = stop.clone();
        let watcher = tokio::spawn(async move {
            tokio::select! {
                () = shutdown => watcher_stop.cancel(),
                () = watcher_stop.cancelled() => {}
            }
        });
        let task = tokio::spawn(async move {
            self.work_until_stopped().await;
            watcher.abort();
        });
        ScannerHandle {
            task,
            metrics,
            stop,
        }
    }

    async fn work_until_stopped(mut self) {
        tracing::info!(
            day_secs = self.config.day.as_secs(),
            ops_per_sec = self.config.ops_per_sec,
            pace_factor = self.config.pace_factor,
            pause_secs = self.config.pause_between_cycles.as_secs_f64(),
            "lifecycle scanner started"
        );
        while !self.stop.is_cancelled() {
            let pause = match self.step().await {
                Ok(StepOutcome::Progress) => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(StepOutcome::CycleComplete(_)) => self.config.pause_between_cycles,
                Err(e) => {
                    self.metrics.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "lifecycle scan step failed, will retry");
                    ERROR_BACKOFF.min(
                        self.config
                            .pause_between_cycles
                            .max(Duration::from_millis(100)),
                    )
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.stop.cancelled() => {}
            }
        }
        tracing::info!("lifecycle scanner stopped");
    }

    /// Runs steps until the current cycle completes (a resumed cycle counts:
    /// it finishes what a previous process started).
    pub async fn run_one_cycle(&mut self) -> Result<CycleSummary, ScannerError> {
        loop {
            if let StepOutcome::CycleComplete(summary) = self.step().await? {
                return Ok(summary);
            }
        }
    }

    /// Does one bounded piece of work: one listing page of one bucket (or
    /// moving on to the next bucket), then persists the cursor.
    ///
    /// # Cancel safety
    /// Dropping the future loses at most the current page's progress, which
    /// the next step redoes; nothing is deleted twice harmfully (deleting a
    /// missing key is a no-op).
    pub async fn step(&mut self) -> Result<StepOutcome, ScannerError> {
        let mut cursor = match self.cursor.take() {
            Some(cursor) => cursor,
            None => self.load_cursor().await?,
        };
        if self.cycle.is_none() {
            let now = self.clock.now();
            self.cycle = Some(CycleState {
                started: Instant::now(),
                started_at: now,
                summary: CycleSummary::default(),
                forecast: Forecast::new(now, self.config.day),
            });
        }
        let outcome = self.advance(&mut cursor).await;
        self.cursor = Some(cursor);
        outcome
    }

    async fn advance(&mut self, cursor: &mut Cursor) -> Result<StepOutcome, ScannerError> {
        let bucket = match cursor.bucket.clone() {
            Some(bucket) => bucket,
            None => match self.next_bucket(None).await? {
                Some(bucket) => {
                    *cursor = Cursor::at_bucket(bucket.clone());
                    bucket
                }
                None => return self.finish_cycle(cursor).await,
            },
        };
        let Some(config) = self.bucket_config(&bucket).await? else {
            return self.move_past(cursor, &bucket).await;
        };

        if cursor.phase == Phase::Objects {
            if config.has_enabled_expiration() {
                let finished = self.expire_page(&bucket, &config, cursor).await?;
                if finished {
                    cursor.phase = Phase::Uploads;
                    cursor.after_key = None;
                    cursor.upload_id_marker = None;
                    cursor.prefix_done = None;
                }
                self.persist(cursor).await?;
                return Ok(StepOutcome::Progress);
            }
            cursor.phase = Phase::Uploads;
            cursor.after_key = None;
        }
        if config.has_enabled_upload_abort() {
            let finished = self.abort_page(&bucket, &config, cursor).await?;
            if !finished {
                self.persist(cursor).await?;
                return Ok(StepOutcome::Progress);
            }
        }
        self.move_past(cursor, &bucket).await
    }

    /// Moves the cursor to the bucket after `bucket`, or ends the cycle.
    async fn move_past(
        &mut self,
        cursor: &mut Cursor,
        bucket: &str,
    ) -> Result<StepOutcome, ScannerError> {
        match self.next_bucket(Some(bucket)).await? {
            Some(next) => {
                *cursor = Cursor::at_bucket(next);
                self.persist(cursor).await?;
                Ok(StepOutcome::Progress)
            }
            None => self.finish_cycle(cursor).await,
        }
    }

    async fn finish_cycle(&mut self, cursor: &mut Cursor) -> Result<StepOutcome, ScannerError> {
        *cursor = Cursor::cycle_start();
        self.persist(cursor).await?;
        let state = self.cycle.take();
        let mut summary = state.as_ref().map(|s| s.summary).unwrap_or_default();
        summary.duration = state
            .as_ref()
            .map(|s| s.started.elapsed())
            .unwrap_or_default();
        if let Some(state) = state {
            let report = ScannerReport {
                last_cycle: Some(CycleTimes {
                    started: state.started_at,
                    ended: self.clock.now(),
                    duration: summary.duration,
                }),
                rules: state.forecast.finish(),
            };
            if let Ok(mut shared) = self.metrics.report.lock() {
                *shared = report;
            }
        }
        self.metrics.cycles.fetch_add(1, Ordering::Relaxed);
        self.metrics.last_cycle_duration_micros.store(
            u64::try_from(summary.duration.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        tracing::info!(
            objects_scanned = summary.objects_scanned,
            objects_expired = summary.objects_expired,
            uploads_aborted = summary.uploads_aborted,
            errors = summary.errors,
            paced_ms = u64::try_from(summary.paced.as_millis()).unwrap_or(u64::MAX),
            duration_ms = u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
            "lifecycle scan cycle finished"
        );
        Ok(StepOutcome::CycleComplete(summary))
    }

    /// The first bucket name greater than `after` (or the first of all).
    async fn next_bucket(&self, after: Option<&str>) -> Result<Option<String>, ScannerError> {
        let buckets = self.store.list_buckets().await?;
        Ok(buckets
            .into_iter()
            .map(|b| b.name)
            .filter(|name| after.is_none_or(|after| name.as_str() > after))
            .min())
    }

    /// The bucket's rules, or `None` when it has none (or vanished).
    async fn bucket_config(
        &self,
        bucket: &str,
    ) -> Result<Option<LifecycleConfiguration>, ScannerError> {
        let xml = match self
            .store
            .get_bucket_setting(bucket, BucketSetting::Lifecycle)
            .await
        {
            Ok(Some(xml)) => xml,
            Ok(None) | Err(StoreError::NoSuchBucket(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match LifecycleConfiguration::from_xml(&xml) {
            Ok(config) => Ok(Some(config)),
            Err(e) => {
                tracing::warn!(bucket, error = %e, "stored lifecycle configuration is invalid; skipping bucket");
                Ok(None)
            }
        }
    }

    /// Handles one page of objects under the next rule prefix still to be
    /// listed. Returns whether the bucket's objects are done.
    async fn expire_page(
        &mut self,
        bucket: &str,
        config: &LifecycleConfiguration,
        cursor: &mut Cursor,
    ) -> Result<bool, ScannerError> {
        let prefixes = config.expiration_prefixes();
        let pending = prefixes.iter().find(|prefix| {
            let after_done = cursor
                .prefix_done
                .as_deref()
                .is_none_or(|done| prefix.as_str() > done);
            // A last key past this prefix's range means the prefix is done.
            let not_passed = cursor
                .after_key
                .as_deref()
                .is_none_or(|key| key < prefix.as_str() || key.starts_with(prefix.as_str()));
            after_done && not_passed
        });
        let Some(prefix) = pending.cloned() else {
            return Ok(true);
        };
        let params = ListParams {
            prefix: prefix.clone(),
            delimiter: None,
            start_after: cursor.after_key.clone(),
            max_keys: self.config.page_size.clamp(1, 1000),
        };
        self.throttle.acquire().await;
        let listed = Instant::now();
        let page = match self.store.list_objects(bucket, params).await {
            Ok(page) => page,
            Err(StoreError::NoSuchBucket(_)) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        self.pace(listed.elapsed()).await;
        let before = cursor.after_key.clone();
        for object in &page.objects {
            if self.stop.is_cancelled() {
                return Ok(false);
            }
            self.count(|s| &mut s.objects_scanned, |m| &m.objects_scanned);
            if let Err(e) = self.expire_if_due(bucket, config, object).await {
                self.count(|s| &mut s.errors, |m| &m.errors);
                tracing::warn!(bucket, key = %object.key, error = %e, "lifecycle could not expire object");
            }
            cursor.after_key = Some(object.key.clone());
        }
        let stalled = cursor.after_key == before;
        if page.is_truncated && !stalled {
            return Ok(false);
        }
        // Every later prefix sorts after all keys under this one.
        let more = prefixes.iter().any(|p| *p > prefix);
        cursor.prefix_done = Some(prefix);
        Ok(!more)
    }

    async fn expire_if_due(
        &mut self,
        bucket: &str,
        config: &LifecycleConfiguration,
        object: &ObjectSummary,
    ) -> Result<(), StoreError> {
        let day = self.config.day;
        let mut facts = ObjectFacts {
            key: object.key.clone(),
            size: object.size,
            tags: Default::default(),
            last_modified: object.last_modified,
        };
        let mut freshly_read = false;
        // A deletion costs its HEAD and the delete itself (the evaluation in
        // between is negligible).
        let started = Instant::now();
        // Time spent waiting for the budget is not the work's cost.
        let mut waited = Duration::ZERO;
        if config.expiry_needs_tags(&object.key) {
            waited += self.spend_one().await;
            match self.read_facts(bucket, &object.key).await? {
                Some(read) => facts = read,
                None => return Ok(()),
            }
            freshly_read = true;
        }
        let Some(mut expiry) = config.expiry(&facts, day) else {
            return Ok(());
        };
        if expiry.at > self.clock.now() {
            if let Some(cycle) = self.cycle.as_mut() {
                cycle
                    .forecast
                    .add(bucket, &expiry.rule_id, &object.key, expiry.at);
            }
            return Ok(());
        }
        if !freshly_read {
            // The listing may be stale: an object overwritten since must be
            // judged by its new modification time, not deleted.
            waited += self.spend_one().await;
            let Some(read) = self.read_facts(bucket, &object.key).await? else {
                return Ok(());
            };
            match config.expiry(&read, day) {
                Some(fresh) if fresh.at <= self.clock.now() => expiry = fresh,
                _ => return Ok(()),
            }
        }
        waited += self.spend_one().await;
        let deleted = self.store.delete_object(bucket, &object.key).await;
        self.pace(started.elapsed().saturating_sub(waited)).await;
        deleted?;
        self.count(|s| &mut s.objects_expired, |m| &m.objects_expired);
        tracing::debug!(bucket, key = %object.key, rule_id = %expiry.rule_id, "lifecycle expired object");
        Ok(())
    }

    /// Takes one operation of the budget; returns how long that waited.
    async fn spend_one(&mut self) -> Duration {
        let before = Instant::now();
        self.throttle.acquire().await;
        before.elapsed()
    }

    async fn read_facts(&self, bucket: &str, key: &str) -> Result<Option<ObjectFacts>, StoreError> {
        match self.store.head_object(bucket, key).await {
            Ok(info) => Ok(Some(ObjectFacts::from(&info))),
            Err(StoreError::NoSuchKey { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Handles one page of multipart uploads. Returns whether the bucket's
    /// uploads are done.
    async fn abort_page(
        &mut self,
        bucket: &str,
        config: &LifecycleConfiguration,
        cursor: &mut Cursor,
    ) -> Result<bool, ScannerError> {
        let params = ListUploadsParams {
            prefix: String::new(),
            key_marker: cursor.after_key.clone(),
            upload_id_marker: cursor.upload_id_marker.clone(),
            max_uploads: self.config.page_size.clamp(1, 1000),
        };
        let listed = Instant::now();
        let page = match self.store.list_uploads(bucket, params).await {
            Ok(page) => page,
            Err(StoreError::NoSuchBucket(_)) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        self.pace(listed.elapsed()).await;
        let before = (cursor.after_key.clone(), cursor.upload_id_marker.clone());
        for upload in &page.uploads {
            if self.stop.is_cancelled() {
                return Ok(false);
            }
            self.throttle.acquire().await;
            let due = config
                .abort_upload_at(&upload.key, upload.initiated, self.config.day)
                .filter(|(at, _)| *at <= self.clock.now());
            if let Some((_, rule_id)) = due {
                self.throttle.acquire().await;
                let started = Instant::now();
                let aborted = self
                    .store
                    .abort_multipart(bucket, &upload.key, &upload.upload_id)
                    .await;
                self.pace(started.elapsed()).await;
                match aborted {
                    Ok(()) | Err(StoreError::NoSuchUpload(_)) => {
                        self.count(|s| &mut s.uploads_aborted, |m| &m.uploads_aborted);
                        tracing::debug!(bucket, key = %upload.key, upload_id = %upload.upload_id, %rule_id, "lifecycle aborted upload");
                    }
                    Err(e) => {
                        self.count(|s| &mut s.errors, |m| &m.errors);
                        tracing::warn!(bucket, key = %upload.key, error = %e, "lifecycle could not abort upload");
                    }
                }
            }
            cursor.after_key = Some(upload.key.clone());
            cursor.upload_id_marker = Some(upload.upload_id.clone());
        }
        let stalled = (cursor.after_key.clone(), cursor.upload_id_marker.clone()) == before;
        Ok(!page.is_truncated || stalled)
    }

    fn count(
        &mut self,
        in_cycle: impl Fn(&mut CycleSummary) -> &mut u64,
        total: impl Fn(&ScannerMetrics) -> &AtomicU64,
    ) {
        if let Some(cycle) = self.cycle.as_mut() {
            *in_cycle(&mut cycle.summary) += 1;
        }
        total(&self.metrics).fetch_add(1, Ordering::Relaxed);
    }

    async fn load_cursor(&self) -> Result<Cursor, ScannerError> {
        let Some(bytes) = self.store.get_system_blob(CURSOR_BLOB).await? else {
            return Ok(Cursor::cycle_start());
        };
        match decode_cursor(&bytes) {
            Ok(cursor) => {
                tracing::info!(bucket = ?cursor.bucket, after_key = ?cursor.after_key, "lifecycle scanner resumes");
                Ok(cursor)
            }
            Err(error) => {
                tracing::warn!(%error, "lifecycle cursor unreadable; starting a new cycle");
                Ok(Cursor::cycle_start())
            }
        }
    }

    async fn persist(&mut self, cursor: &Cursor) -> Result<(), ScannerError> {
        let bytes = Bytes::from(serde_json::to_vec(cursor)?);
        let started = Instant::now();
        let written = self.store.put_system_blob(CURSOR_BLOB, Some(bytes)).await;
        self.pace(started.elapsed()).await;
        written?;
        Ok(())
    }

    /// Rests in proportion to a step that took `took` (see [`Pacer`]); a
    /// stop request cuts the rest short.
    async fn pace(&mut self, took: Duration) {
        let pause = self.pacer.pause_after(took);
        if pause.is_zero() {
            return;
        }
        if let Some(cycle) = self.cycle.as_mut() {
            cycle.summary.paced += pause;
        }
        self.metrics.paced_nanos.fetch_add(
            u64::try_from(pause.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = self.stop.cancelled() => {}
        }
    }
}

/// Why a persisted cursor cannot be resumed from (the scanner then starts a
/// new cycle: a cursor only saves work).
#[derive(Debug, thiserror::Error)]
enum CursorDecodeError {
    #[error(
        "lifecycle cursor version {0} is not supported (this build reads version {CURSOR_VERSION})"
    )]
    UnsupportedVersion(u32),
    #[error("lifecycle cursor does not decode: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// The field every cursor version keeps.
#[derive(Deserialize)]
struct CursorVersion {
    version: u32,
}

/// Reads a persisted cursor. The version is checked before the rest: a newer
/// cursor may reshape its fields and must not be half-understood.
fn decode_cursor(bytes: &[u8]) -> Result<Cursor, CursorDecodeError> {
    let CursorVersion { version } = serde_json::from_slice(bytes)?;
    if version != CURSOR_VERSION {
        return Err(CursorDecodeError::UnsupportedVersion(version));
    }
    Ok(serde_json::from_slice(bytes)?)
}

/// The lifecycle cursor is plain JSON; tests read it to check resumption.
#[doc(hidden)]
pub fn cursor_position(blob: &[u8]) -> Option<(Option<String>, Option<String>)> {
    serde_json::from_slice::<Cursor>(blob)
        .ok()
        .map(|c| (c.bucket, c.after_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURSOR_V1_FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lifecycle-cursor-v1.json"
    );
    const LIFECYCLE_SETTING_V1_FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/bucket-lifecycle-v1.xml"
    );

    fn sample_cursor() -> Cursor {
        Cursor {
            version: CURSOR_VERSION,
            bucket: Some("photos".into()),
            phase: Phase::Uploads,
            after_key: Some("2026/cat.jpg".into()),
            upload_id_marker: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
            prefix_done: Some("2026/".into()),
        }
    }

    /// A configuration as PutBucketLifecycleConfiguration receives it; the
    /// stored setting is its normalised `to_xml()`.
    const LIFECYCLE_SOURCE: &str = "<LifecycleConfiguration>\
        <Rule><ID>expire-logs</ID><Status>Enabled</Status>\
        <Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>30</Days></Expiration></Rule>\
        <Rule><ID>abort-uploads</ID><Status>Enabled</Status><Filter></Filter>\
        <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>\
        </AbortIncompleteMultipartUpload></Rule>\
        <Rule><ID>tagged-tmp</ID><Status>Disabled</Status><Filter><And><Prefix>tmp/</Prefix>\
        <Tag><Key>class</Key><Value>scratch</Value></Tag>\
        <ObjectSizeGreaterThan>1024</ObjectSizeGreaterThan></And></Filter>\
        <Expiration><Date>2027-01-01T00:00:00Z</Date></Expiration></Rule>\
        </LifecycleConfiguration>";

    #[test]
    fn lifecycle_cursor_format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(CURSOR_V1_FIXTURE).expect("fixture present");
        let cursor = decode_cursor(&bytes).unwrap();
        assert_eq!(cursor.version, 1);
        assert_eq!(cursor.bucket.as_deref(), Some("photos"));
        assert_eq!(cursor.phase, Phase::Uploads);
        assert_eq!(cursor.after_key.as_deref(), Some("2026/cat.jpg"));
        assert_eq!(
            cursor.upload_id_marker.as_deref(),
            Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
        );
        assert_eq!(cursor.prefix_done.as_deref(), Some("2026/"));
        assert_eq!(cursor, sample_cursor());
        assert_eq!(
            cursor_position(&bytes),
            Some((Some("photos".into()), Some("2026/cat.jpg".into())))
        );
    }

    #[test]
    fn bucket_lifecycle_setting_v1_fixture_still_decodes() {
        let bytes = std::fs::read(LIFECYCLE_SETTING_V1_FIXTURE).expect("fixture present");
        let config = LifecycleConfiguration::from_xml(&bytes).unwrap();
        let ids: Vec<&str> = config.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["expire-logs", "abort-uploads", "tagged-tmp"]);
        let [logs, uploads, tagged] = &config.rules[..] else {
            panic!("three rules");
        };
        assert!(logs.is_enabled());
        assert_eq!(
            logs.filter,
            crate::model::RuleFilter::Prefix("logs/".into())
        );
        assert_eq!(logs.expiration, Some(crate::model::Expiration::Days(30)));
        assert_eq!(uploads.filter, crate::model::RuleFilter::All);
        assert_eq!(
            uploads
                .abort_incomplete_multipart_upload
                .map(|a| a.days_after_initiation),
            Some(7)
        );
        assert!(!tagged.is_enabled());
        assert_eq!(
            tagged.filter,
            crate::model::RuleFilter::And(crate::model::AndFilter {
                prefix: Some("tmp/".into()),
                tags: vec![crate::model::Tag {
                    key: "class".into(),
                    value: "scratch".into(),
                }],
                object_size_greater_than: Some(1024),
                object_size_less_than: None,
            })
        );
        assert_eq!(
            tagged.expiration,
            Some(crate::model::Expiration::Date(
                time::OffsetDateTime::from_unix_timestamp(1_798_761_600).unwrap()
            ))
        );
        assert_eq!(
            config,
            LifecycleConfiguration::from_xml(LIFECYCLE_SOURCE.as_bytes()).unwrap()
        );
    }

    /// Writes the fixtures; run once by hand when a new format version is
    /// introduced (never overwrite an old version's fixture).
    #[test]
    #[ignore]
    fn write_lifecycle_cursor_and_setting_v1_fixtures() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).unwrap();
        std::fs::write(
            CURSOR_V1_FIXTURE,
            serde_json::to_vec(&sample_cursor()).unwrap(),
        )
        .unwrap();
        let stored = LifecycleConfiguration::from_xml(LIFECYCLE_SOURCE.as_bytes())
            .unwrap()
            .to_xml();
        std::fs::write(LIFECYCLE_SETTING_V1_FIXTURE, stored).unwrap();
    }

    #[test]
    fn lifecycle_cursor_of_a_newer_version_is_refused() {
        // A later cursor may reshape its fields; the error names the version.
        let newer = br#"{"version":2,"position":{"bucket":"photos","token":"abc"}}"#;
        let err = decode_cursor(newer).unwrap_err();
        assert!(
            matches!(err, CursorDecodeError::UnsupportedVersion(2)),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("lifecycle cursor version 2 is not supported"),
            "{err}"
        );
        assert!(matches!(
            decode_cursor(b"not json"),
            Err(CursorDecodeError::Malformed(_))
        ));
    }

    #[test]
    fn real_days_are_paced_and_shortened_test_days_are_not() {
        let real = ScannerConfig::for_day(DayLength::default());
        assert_eq!(real.pace_factor, DEFAULT_PACE_FACTOR);
        assert_eq!(real.max_pace, DEFAULT_MAX_PACE);
        assert_eq!(
            ScannerConfig::for_day(DayLength::from_secs(1)).pace_factor,
            0
        );
    }
}
