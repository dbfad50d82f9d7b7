//! Healing, as ONE walk over every record kind: system blobs (identity,
//! lifecycle cursor, configuration), each bucket's folder, record and
//! settings, open multipart uploads, and objects; leftovers of writes a
//! drive missed are removed on the way. The explicit heal (CLI, admin API),
//! the background pass (fresh drives, drives that came back, missed-write
//! markers at start-up; the paced `heal-walk` worker) all run [`walk`].
//! Beside it, the heal queue: single objects that reads and writes noticed
//! damaged, drained by the `heal-queue` worker.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::api::{HealReport, HealStatus, ListParams, StoreError, WorkerState};
use crate::engine::Engine;
use crate::workers::{in_background, Tranquility, WorkerCtx};

mod keys;
mod object;
mod records;
mod unclean;
mod uploads;

#[cfg(test)]
pub(crate) use keys::KeyCursor;
pub(crate) use unclean::{mark_running, mark_stopped};

/// Queued objects wait this long before the worker heals them, so a burst
/// of reads of one damaged object causes one heal, and foreground work
/// (including an explicit heal) goes first.
const HEAL_DELAY: Duration = Duration::from_secs(2);
/// Queue bound: further requests are dropped (a full heal finds them).
const MAX_QUEUED: usize = 100_000;
/// Keys per batch when walking a bucket for a heal: the walk's cursor
/// ([`keys::KeyCursor`]) reads each folder once per walk, so this only
/// bounds the keys held between directory reads (10,000 keys are ~1 MB).
const HEAL_BATCH: usize = 10_000;
/// Keys per listing page when counting a walk's work.
const COUNT_PAGE: usize = 1000;
/// Objects a walk heals at once while the foreground is quiet (one at a
/// time while it is busy, looked at as each object ends). Measured on the
/// 100,000-object heal: BENCHMARKS.md, "Seventh session".
const HEAL_PARALLEL: usize = 8;

/// One object waiting in the heal queue.
struct Queued {
    bucket: String,
    key: String,
    at: Instant,
}

#[derive(Default)]
struct QueueState {
    pending: VecDeque<Queued>,
    queued: HashSet<(String, String)>,
}

/// Objects waiting for the background heal worker.
#[derive(Clone, Default)]
pub struct HealQueue {
    state: Arc<Mutex<QueueState>>,
    wake: Arc<tokio::sync::Notify>,
}

impl HealQueue {
    /// Queues an object (once; duplicates are ignored).
    pub fn push(&self, bucket: &str, key: &str) {
        let mut state = self.state.lock().expect("heal queue");
        if state.queued.len() >= MAX_QUEUED {
            return;
        }
        if state.queued.insert((bucket.to_owned(), key.to_owned())) {
            state.pending.push_back(Queued {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                at: Instant::now(),
            });
            self.wake.notify_one();
        }
    }

    /// Objects waiting.
    pub fn len(&self) -> usize {
        self.state.lock().expect("heal queue").queued.len()
    }

    fn pop(&self) -> Option<Queued> {
        self.state.lock().expect("heal queue").pending.pop_front()
    }

    fn done(&self, bucket: &str, key: &str) {
        self.state
            .lock()
            .expect("heal queue")
            .queued
            .remove(&(bucket.to_owned(), key.to_owned()));
    }
}

/// Starts the `heal-queue` and `heal-walk` workers.
/// Both rest `tranquility` times as long as each object took, and run their
/// drive work on the background pool at idle CPU priority.
pub(crate) fn start_workers(engine: &Arc<Engine>, tranquility: u32) {
    let tranquility = Tranquility {
        factor: tranquility,
        foreground: engine.foreground.clone(),
    };
    start_queue_worker(engine, tranquility.clone());
    start_walk_worker(engine, tranquility);
}

/// Drains the heal queue: each object [`HEAL_DELAY`] after it was queued,
/// resting after each as the walk does (during a drive's refill, reads
/// queue nearly every object they touch, so an unpaced queue would undo the
/// walk's pacing).
fn start_queue_worker(engine: &Arc<Engine>, tranquility: Tranquility) {
    let weak: Weak<Engine> = Arc::downgrade(engine);
    let queue = engine.heal_queue.clone();
    let pool = engine.workers.background();
    engine.workers.spawn(
        "heal-queue",
        format!(
            "heals each queued object {HEAL_DELAY:?} after it was queued; {}; drive work at idle CPU priority",
            tranquility.describe()
        ),
        move |mut ctx| in_background(pool, async move {
            loop {
                let Some(Queued { bucket, key, at }) = queue.pop() else {
                    ctx.set(WorkerState::Idle);
                    tokio::select! {
                        _ = tokio::time::timeout(Duration::from_secs(1), queue.wake.notified()) => {}
                        () = ctx.stopped() => return,
                    }
                    if weak.strong_count() == 0 {
                        return;
                    }
                    continue;
                };
                if !ctx
                    .rest((at + HEAL_DELAY).saturating_duration_since(Instant::now()))
                    .await
                {
                    return;
                }
                let Some(engine) = weak.upgrade() else { return };
                ctx.set(WorkerState::Active);
                queue.done(&bucket, &key);
                let started = Instant::now();
                match engine.heal_object_data(&bucket, &key).await {
                    Ok(healed) if healed.report.objects_healed > 0 => {
                        tracing::info!(%bucket, %key, "healed object")
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%bucket, %key, "heal failed: {err}"),
                }
                drop(engine);
                if !tranquility.rest_after(started.elapsed(), &mut ctx).await {
                    return;
                }
            }
        }),
    );
}

/// Runs the heal walk over everything whenever one is requested (fresh
/// drives and markers at start-up, a drive that came back). A request
/// while a walk runs makes it run once more when it ends, so a drive that
/// keeps dropping out and coming back does not pile up walks.
fn start_walk_worker(engine: &Arc<Engine>, tranquility: Tranquility) {
    let weak: Weak<Engine> = Arc::downgrade(engine);
    let (pending, wake) = (engine.heal.pending.clone(), engine.heal.wake.clone());
    let pool = engine.workers.background();
    engine.workers.spawn(
        "heal-walk",
        format!(
            "after each object: {}; drive work at idle CPU priority",
            tranquility.describe()
        ),
        move |mut ctx| {
            in_background(pool, async move {
                loop {
                    let due = pending.lock().expect("walk request").take();
                    let Some(due) = due else {
                        ctx.set(WorkerState::Idle);
                        tokio::select! {
                            _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()) => {}
                            () = ctx.stopped() => return,
                        }
                        if weak.strong_count() == 0 {
                            return;
                        }
                        continue;
                    };
                    // Counted as running from the request on, so nobody sees
                    // "whole" between the request and the walk's start.
                    if let Some(engine) = weak.upgrade() {
                        engine.heal.walks.fetch_add(1, Ordering::SeqCst);
                    }
                    let rested = ctx
                        .rest(due.saturating_duration_since(Instant::now()))
                        .await;
                    if rested {
                        ctx.set(WorkerState::Active);
                        let mut pacer = Pacer::Tranquil(tranquility.clone(), &mut ctx);
                        match walk(&weak, &Scope::Everything, &mut pacer).await {
                            Ok(total) => tracing::info!(?total, "background heal finished"),
                            Err(err) => tracing::warn!("background heal stopped: {err}"),
                        }
                    }
                    if let Some(engine) = weak.upgrade() {
                        engine.heal.walks.fetch_sub(1, Ordering::SeqCst);
                    }
                    if !rested || ctx.stopping() {
                        return;
                    }
                }
            })
        },
    );
}

/// Asks the `heal-walk` worker for a walk over everything in `delay`.
pub(crate) fn request_walk(engine: &Engine, delay: Duration) {
    let at = Instant::now() + delay;
    let mut pending = engine.heal.pending.lock().expect("walk request");
    *pending = Some(pending.map_or(at, |earlier| earlier.min(at)));
    engine.heal.wake.notify_one();
}

/// Whether a walk rests between objects.
pub(crate) enum Pacer<'a> {
    /// An explicit heal: its caller waits for it.
    Unpaced,
    /// The background walk: rests, and stops at shutdown.
    Tranquil(Tranquility, &'a mut WorkerCtx),
}

impl Pacer<'_> {
    /// Whether the walk may heal several objects at once: an explicit heal
    /// always, the background walk while the foreground is quiet.
    fn idle(&self) -> bool {
        match self {
            Pacer::Unpaced => true,
            Pacer::Tranquil(tranquility, _) => tranquility.idle(),
        }
    }

    /// Whether the walk must stop (shutdown).
    fn stopping(&self) -> bool {
        match self {
            Pacer::Unpaced => false,
            Pacer::Tranquil(_, ctx) => ctx.stopping(),
        }
    }

    /// After a step that took `worked`: false when the walk must stop.
    async fn after(&mut self, worked: Duration) -> bool {
        match self {
            Pacer::Unpaced => true,
            Pacer::Tranquil(tranquility, ctx) => tranquility.rest_after(worked, ctx).await,
        }
    }
}

/// The state of the heal walks: the background walk's pending request,
/// and the progress of the walk running now, for operators.
pub(crate) struct HealState {
    /// When the requested background walk is due.
    pending: Arc<Mutex<Option<Instant>>>,
    wake: Arc<tokio::sync::Notify>,
    /// Walks running or requested (background and explicit).
    walks: AtomicU64,
    objects_done: AtomicU64,
    objects_total: AtomicU64,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    /// The store started after a stop that was not clean, and no walk over
    /// everything has completed without failures since ([`unclean`]).
    unclean: std::sync::atomic::AtomicBool,
    /// This store keeps the running marker ([`unclean`]).
    marked: std::sync::atomic::AtomicBool,
    /// Per bucket, the marked drives and their epochs when the last walk
    /// over the whole bucket without failures began ([`Engine::bucket_walked`]).
    covered: Mutex<HashMap<String, Vec<(usize, u64)>>>,
    /// Keys per batch of a bucket's walk ([`HEAL_BATCH`]; tests set less).
    batch: AtomicUsize,
    /// Directory entries the walks' cursors read, for tests of their cost.
    entries_read: AtomicU64,
}

impl Default for HealState {
    fn default() -> Self {
        Self {
            pending: Arc::default(),
            wake: Arc::default(),
            walks: AtomicU64::new(0),
            objects_done: AtomicU64::new(0),
            objects_total: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            unclean: std::sync::atomic::AtomicBool::new(false),
            marked: std::sync::atomic::AtomicBool::new(false),
            covered: Mutex::default(),
            batch: AtomicUsize::new(HEAL_BATCH),
            entries_read: AtomicU64::new(0),
        }
    }
}

#[cfg(test)]
impl HealState {
    /// Makes walks hand out `keys` keys per batch.
    pub(crate) fn set_batch(&self, keys: usize) {
        self.batch.store(keys.max(1), Ordering::Relaxed);
    }

    /// Directory entries the walks' cursors have read.
    pub(crate) fn entries_read(&self) -> u64 {
        self.entries_read.load(Ordering::Relaxed)
    }

    /// Objects the running (or last) walk has healed or failed.
    pub(crate) fn objects_done(&self) -> u64 {
        self.objects_done.load(Ordering::Relaxed)
    }
}

/// What a walk covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Everything: system blobs, every bucket, and the missed-write markers
    /// a complete walk without failures may remove (walks over each whole
    /// bucket may too, [`Engine::bucket_walked`]).
    Everything,
    /// One bucket's records, uploads and the objects under a prefix.
    Bucket { bucket: String, prefix: String },
}

/// Counts a walk as running while it lives.
/// (It holds the store weakly: a walk never keeps a dropped store alive.)
struct Running(Weak<Engine>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(engine) = self.0.upgrade() {
            engine.heal.walks.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The one heal walk. Holds the store only while it heals one thing (an
/// explicit heal's caller holds it throughout; a background pass stops
/// when the store is dropped, reporting what it did so far).
pub(crate) async fn walk(
    weak: &Weak<Engine>,
    scope: &Scope,
    pacer: &mut Pacer<'_>,
) -> Result<HealReport, StoreError> {
    let Some(engine) = weak.upgrade() else {
        return Ok(HealReport::default());
    };
    let missed = engine.drives.missed_writes_snapshot();
    let buckets: Vec<(String, String)> = match scope {
        Scope::Everything => engine
            .list_buckets()
            .into_iter()
            .map(|b| (b.name, String::new()))
            .collect(),
        Scope::Bucket { bucket, prefix } => {
            engine.require_bucket(bucket)?;
            vec![(bucket.clone(), prefix.clone())]
        }
    };
    engine.heal.walks.fetch_add(1, Ordering::SeqCst);
    let _running = Running(weak.clone());
    engine.count_heal_work(&buckets).await;
    let mut total = HealReport::default();
    // Whether every bucket and key was visited (a bucket deleted meanwhile
    // counts as visited).
    let mut complete = true;
    if *scope == Scope::Everything {
        let copies = engine.heal_system_blobs().await;
        if copies > 0 {
            tracing::info!(copies, "healed system blobs");
        }
        engine.remove_bucket_leftovers().await;
    }
    drop(engine);
    for (bucket, prefix) in &buckets {
        match heal_bucket_contents(weak, bucket, prefix, &mut total, pacer).await {
            Ok(Visit::Complete) => {}
            Ok(Visit::Stopped) => return Ok(total),
            // A walk over everything lists buckets first; one deleted since
            // then is nothing to heal, not a failure of the whole pass.
            Err(StoreError::NoSuchBucket(_)) if *scope == Scope::Everything => {}
            Err(err) if *scope == Scope::Everything => {
                tracing::warn!(%bucket, "heal skips the bucket: {err}");
                complete = false;
            }
            Err(err) => return Err(err),
        }
    }
    if !complete || total.objects_failed > 0 {
        return Ok(total);
    }
    let Some(engine) = weak.upgrade() else {
        return Ok(total);
    };
    match scope {
        Scope::Everything => {
            // System blobs and bucket leftovers were healed at its start.
            engine.drives_made_whole(&missed, false).await;
            engine.heal.unclean.store(false, Ordering::SeqCst);
        }
        Scope::Bucket { bucket, prefix } if prefix.is_empty() => {
            engine.bucket_walked(bucket, missed).await;
        }
        Scope::Bucket { .. } => {}
    }
    Ok(total)
}

/// Whether a bucket's walk visited everything or stopped with the store.
enum Visit {
    Complete,
    Stopped,
}

/// Heals one bucket's records, open uploads and objects under `prefix`,
/// adding what it did to `total`.
async fn heal_bucket_contents(
    weak: &Weak<Engine>,
    bucket: &str,
    prefix: &str,
    total: &mut HealReport,
    pacer: &mut Pacer<'_>,
) -> Result<Visit, StoreError> {
    {
        let Some(engine) = weak.upgrade() else {
            return Ok(Visit::Stopped);
        };
        engine.heal_bucket(bucket).await?;
        let parts = engine.heal_uploads(bucket).await;
        if parts > 0 {
            tracing::info!(%bucket, parts, "healed multipart upload parts");
        }
    }
    let cursor = Arc::new(Mutex::new(keys::KeyCursor::new(bucket, prefix)));
    loop {
        let Some(engine) = weak.upgrade() else {
            return Ok(Visit::Stopped);
        };
        let batch = engine.heal.batch.load(Ordering::Relaxed);
        let keys = engine.next_heal_keys(&cursor, batch).await?;
        drop(engine);
        let last = keys.len() < batch;
        if let Visit::Stopped = heal_keys(weak, bucket, keys, total, pacer).await? {
            return Ok(Visit::Stopped);
        }
        if last {
            return Ok(Visit::Complete);
        }
    }
}

/// Heals `keys` of `bucket`, up to [`HEAL_PARALLEL`] at once while the
/// foreground is quiet: a bounded set in flight that takes the next key as
/// each object ends, so one slow object does not hold up the others, and
/// the foreground's activity is looked at as each ends. Once it is busy no
/// object starts until those in flight have ended, then the pacer rests
/// after each (one at a time) as before.
async fn heal_keys(
    weak: &Weak<Engine>,
    bucket: &str,
    keys: Vec<String>,
    total: &mut HealReport,
    pacer: &mut Pacer<'_>,
) -> Result<Visit, StoreError> {
    let mut keys = keys.into_iter();
    let mut in_flight = futures::stream::FuturesUnordered::new();
    // An error or a stop waits for the objects in flight (a heal is never
    // cut off in the middle), then ends the walk.
    let mut end: Option<Result<Visit, StoreError>> = None;
    loop {
        let width = if pacer.idle() { HEAL_PARALLEL } else { 1 };
        while end.is_none() && in_flight.len() < width {
            let Some(key) = keys.next() else { break };
            let Some(engine) = weak.upgrade() else {
                end = Some(Ok(Visit::Stopped));
                break;
            };
            in_flight.push(async move {
                let started = Instant::now();
                let healed = engine.heal_object_data(bucket, &key).await;
                if let Ok(healed) = &healed {
                    engine.heal.objects_done.fetch_add(1, Ordering::Relaxed);
                    engine
                        .heal
                        .bytes_done
                        .fetch_add(healed.size, Ordering::Relaxed);
                }
                (healed, started.elapsed())
            });
        }
        let Some((healed, worked)) = futures::StreamExt::next(&mut in_flight).await else {
            return end.unwrap_or(Ok(Visit::Complete));
        };
        match healed {
            Ok(healed) => add_report(total, &healed.report),
            Err(err @ StoreError::NoSuchBucket(_)) => {
                end.get_or_insert(Err(err));
            }
            Err(_) => {
                total.objects_scanned += 1;
                total.objects_failed += 1;
            }
        }
        // Rests only with nothing in flight (a rest does not poll them): on
        // a busy foreground none started since, so those in flight end
        // first; on a quiet one there is no rest to take.
        if end.is_none() {
            let go_on = if in_flight.is_empty() {
                pacer.after(worked).await
            } else {
                !pacer.stopping()
            };
            if !go_on {
                end = Some(Ok(Visit::Stopped));
            }
        }
    }
}

/// Accumulates report numbers.
pub(crate) fn add_report(total: &mut HealReport, one: &HealReport) {
    total.objects_scanned += one.objects_scanned;
    total.objects_healed += one.objects_healed;
    total.objects_failed += one.objects_failed;
    total.bytes_rebuilt += one.bytes_rebuilt;
}

impl Engine {
    /// The explicit heal (CLI, admin API): the same walk as the background
    /// pass, over everything or one bucket's prefix.
    pub async fn heal(
        self: &Arc<Self>,
        bucket: Option<&str>,
        prefix: &str,
    ) -> Result<HealReport, StoreError> {
        let scope = match bucket {
            None if prefix.is_empty() => Scope::Everything,
            None => {
                // A prefix across every bucket: each bucket's walk alone
                // (no system blobs, markers stay).
                let mut total = HealReport::default();
                for info in self.list_buckets() {
                    let scope = Scope::Bucket {
                        bucket: info.name,
                        prefix: prefix.to_owned(),
                    };
                    match walk(&Arc::downgrade(self), &scope, &mut Pacer::Unpaced).await {
                        Ok(report) => add_report(&mut total, &report),
                        Err(StoreError::NoSuchBucket(_)) => {}
                        Err(err) => return Err(err),
                    }
                }
                return Ok(total);
            }
            Some(bucket) => Scope::Bucket {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            },
        };
        walk(&Arc::downgrade(self), &scope, &mut Pacer::Unpaced).await
    }

    /// A walk over all of `bucket` without failures, begun at `snapshot`,
    /// finished. `minnow heal` walks bucket by bucket: once such walks
    /// cover every bucket for a marked drive that has neither missed a
    /// write nor gone offline or come back since each began, the drive is
    /// as whole as after a walk over everything, so the system blobs are
    /// healed too and its marker goes. Until then it is no witness of
    /// absence (`quorum::absence_is_settled`) although `minnow heal`
    /// reported completion.
    async fn bucket_walked(&self, bucket: &str, snapshot: Vec<(usize, u64)>) {
        let marked = self.drives.missed_writes_snapshot();
        let names: Vec<String> = self.list_buckets().into_iter().map(|b| b.name).collect();
        let whole: Vec<(usize, u64)> = {
            let mut covered = self.heal.covered.lock().expect("heal coverage");
            covered.insert(bucket.to_owned(), snapshot);
            covered.retain(|name, _| names.contains(name));
            marked
                .into_iter()
                .filter(|drive| {
                    names
                        .iter()
                        .all(|name| covered.get(name).is_some_and(|s| s.contains(drive)))
                })
                .collect()
        };
        self.drives_made_whole(&whole, true).await;
    }

    /// The end of every walk that made drives whole (a walk over
    /// everything, or bucket walks covering every bucket): heals the system
    /// blobs and removes bucket leftovers when the walks did not, then
    /// removes the drives' missed-write markers.
    async fn drives_made_whole(&self, whole: &[(usize, u64)], heal_records: bool) {
        if whole.is_empty() {
            return;
        }
        if heal_records {
            let copies = self.heal_system_blobs().await;
            if copies > 0 {
                tracing::info!(copies, "healed system blobs");
            }
            self.remove_bucket_leftovers().await;
        }
        self.drives.clear_missed_writes(whole).await;
    }

    /// The next `max` keys of a bucket's walk from `cursor`, read on the
    /// drives online now (fewer only at the bucket's end).
    pub(crate) async fn next_heal_keys(
        &self,
        cursor: &Arc<Mutex<keys::KeyCursor>>,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        // The keys wait in the cursor: a try past the drive deadline that
        // finishes late leaves them there for the retry, never loses them.
        let filler = cursor.clone();
        self.drives
            .on_online_drives(move |drives| {
                let mut cursor = filler.lock().expect("heal cursor");
                cursor.fill(&drives, max);
            })
            .await
            .map_err(|missed| crate::engine::internal(std::io::Error::from(missed)))?;
        let mut cursor = cursor.lock().expect("heal cursor");
        let read = std::mem::take(&mut cursor.entries_read);
        self.heal.entries_read.fetch_add(read, Ordering::Relaxed);
        Ok(cursor.take(max))
    }

    /// Sets the totals of a walk that starts now: the objects and bytes
    /// under its buckets and prefixes (by quorum listing).
    async fn count_heal_work(&self, buckets: &[(String, String)]) {
        let (mut objects, mut bytes) = (0u64, 0u64);
        for (bucket, prefix) in buckets {
            let mut params = ListParams {
                prefix: prefix.clone(),
                max_keys: COUNT_PAGE,
                ..Default::default()
            };
            loop {
                let Ok(page) = self.list_objects(bucket, params.clone()).await else {
                    break;
                };
                objects += page.objects.len() as u64;
                bytes += page.objects.iter().map(|o| o.size).sum::<u64>();
                match page.next_marker {
                    Some(next) if page.is_truncated => params.start_after = Some(next),
                    _ => break,
                }
            }
        }
        self.heal.objects_done.store(0, Ordering::Relaxed);
        self.heal.bytes_done.store(0, Ordering::Relaxed);
        self.heal.objects_total.store(objects, Ordering::Relaxed);
        self.heal.bytes_total.store(bytes, Ordering::Relaxed);
    }

    /// Heal progress and whether redundancy is full (see [`HealStatus`]).
    pub fn heal_status(&self) -> HealStatus {
        let running = self.heal.walks.load(Ordering::SeqCst) > 0;
        let objects_total = self.heal.objects_total.load(Ordering::Relaxed);
        let bytes_total = self.heal.bytes_total.load(Ordering::Relaxed);
        // A walk finds keys the count at its start did not (written since,
        // or leftovers only a minority holds): "done" never exceeds "total".
        let objects_done = self
            .heal
            .objects_done
            .load(Ordering::Relaxed)
            .min(objects_total);
        let bytes_done = self
            .heal
            .bytes_done
            .load(Ordering::Relaxed)
            .min(bytes_total);
        let drives_offline = self.drives.len() - self.drives.online_count();
        let drives_healing = self.drives.missed_drives();
        let whole = drives_offline == 0
            && drives_healing.is_empty()
            && !self.heal.unclean.load(Ordering::SeqCst)
            && self.heal.pending.lock().expect("walk request").is_none();
        HealStatus {
            running,
            objects_done,
            objects_left: objects_total - objects_done,
            bytes_done,
            bytes_left: bytes_total - bytes_done,
            queued_objects: self.heal_queue.len() as u64,
            drives_offline,
            drives_healing,
            redundancy_full: whole && !running && self.heal_queue.len() == 0,
        }
    }
}
