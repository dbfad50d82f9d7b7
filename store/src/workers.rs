//! Background work as named workers: the heal queue, the heal walk and the
//! drive monitor each run as one task with a name, a state, a pacing
//! policy and a handle. [`crate::Store::shutdown`] tells them to stop and
//! joins them; each stops at its next step (a walk after the object it is
//! healing). Dropping the store without a shutdown still stops them: each
//! holds the engine only while it does one step. The heal workers' drive
//! work and decoding run on a [`BackgroundPool`] at idle CPU priority.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::api::{WorkerInfo, WorkerState};

/// The workers of one store.
pub(crate) struct Workers {
    stop_tx: watch::Sender<bool>,
    running: Mutex<Vec<Worker>>,
    /// Started by the first worker that asks for it.
    background: Mutex<Option<Arc<BackgroundPool>>>,
}

struct Worker {
    name: &'static str,
    pacing: String,
    state: Arc<Mutex<WorkerState>>,
    join: Option<JoinHandle<()>>,
}

/// What a worker's task gets: its state to update and the stop signal.
pub(crate) struct WorkerCtx {
    state: Arc<Mutex<WorkerState>>,
    stop_rx: watch::Receiver<bool>,
}

impl WorkerCtx {
    pub fn set(&self, state: WorkerState) {
        *self.state.lock().expect("worker state") = state;
    }

    pub fn stopping(&self) -> bool {
        *self.stop_rx.borrow()
    }

    /// Resolves once shutdown was asked for.
    pub async fn stopped(&mut self) {
        while !*self.stop_rx.borrow_and_update() {
            if self.stop_rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sleeps `duration` unless shutdown comes first; false when stopping.
    pub async fn rest(&mut self, duration: Duration) -> bool {
        if duration.is_zero() {
            return !self.stopping();
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => !self.stopping(),
            () = self.stopped() => false,
        }
    }
}

/// How a worker keeps foreground latency: by measured foreground activity
/// (MinIO's dynamic sleeper, our own rule). While the store serves no
/// request and served none for [`QUIET`], a step is followed by no rest at
/// all: an idle store heals at full speed. While requests are in flight or
/// ended less than [`QUIET`] ago, a step that took `t` is followed by a rest
/// until the foreground has been quiet for [`QUIET`], but never longer than
/// `max(tranquility × t, BUSY_REST)`: under steady load the worker still
/// makes one step per `t + max(tranquility × t, 20 ms)` (about 40 small
/// objects a second per worker at tranquility 1), so it never starves; a
/// 50 ms floor made a 4,040-object heal under 200 GETs/s take 6 minutes
/// on the loaded shared machine. Tranquility 0 turns pacing off.
#[derive(Debug, Clone)]
pub(crate) struct Tranquility {
    pub factor: u32,
    pub foreground: Arc<Foreground>,
}

/// The background heal walk's tranquility unless configured
/// ([`crate::StoreConfig::heal_tranquility`]).
pub const DEFAULT_HEAL_TRANQUILITY: u32 = 1;

/// How long the foreground must have been quiet before a worker stops
/// resting between steps.
pub(crate) const QUIET: Duration = Duration::from_millis(50);

/// The least a busy foreground makes a worker rest after a step (its cap
/// when tranquility × the step's time is shorter).
pub(crate) const BUSY_REST: Duration = Duration::from_millis(20);

/// How often a resting worker looks whether the foreground went quiet.
const QUIET_POLL: Duration = Duration::from_millis(5);

impl Tranquility {
    /// The pacing in words, for `minnow admin info`.
    pub fn describe(&self) -> String {
        if self.factor == 0 {
            return "no rest (tranquility 0)".to_owned();
        }
        format!(
            "no rest while the store serves no request; else rests until none ran for {QUIET:?}, at most {}x as long as it took (at least {BUSY_REST:?})",
            self.factor
        )
    }

    /// Whether the foreground is quiet now (or pacing is off).
    pub fn idle(&self) -> bool {
        self.factor == 0 || self.foreground.quiet_for() >= QUIET
    }

    /// After a step that took `worked`: rests as the foreground's activity
    /// asks (see the type); false when the worker must stop.
    pub async fn rest_after(&self, worked: Duration, ctx: &mut WorkerCtx) -> bool {
        if self.factor == 0 {
            return !ctx.stopping();
        }
        let cap = (worked * self.factor).max(BUSY_REST);
        let started = std::time::Instant::now();
        loop {
            if self.foreground.quiet_for() >= QUIET {
                return !ctx.stopping();
            }
            let left = cap.saturating_sub(started.elapsed());
            if left.is_zero() {
                return !ctx.stopping();
            }
            if !ctx.rest(left.min(QUIET_POLL)).await {
                return false;
            }
        }
    }
}

/// The store's foreground activity: requests that entered the store
/// through its public API (object and multipart calls) and are running, and
/// when the last one ended. The background workers pace themselves by it;
/// one atomic add on entry and one on exit per request.
#[derive(Debug)]
pub(crate) struct Foreground {
    in_flight: std::sync::atomic::AtomicU64,
    /// Microseconds since `origin` when the last request ended (0: none yet).
    last_end: std::sync::atomic::AtomicU64,
    origin: std::time::Instant,
}

impl Default for Foreground {
    fn default() -> Self {
        Self {
            in_flight: std::sync::atomic::AtomicU64::new(0),
            last_end: std::sync::atomic::AtomicU64::new(0),
            origin: std::time::Instant::now(),
        }
    }
}

impl Foreground {
    /// Counts a request as running until the guard drops.
    pub fn enter(self: &Arc<Self>) -> ForegroundRequest {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ForegroundRequest(self.clone())
    }

    /// How long no request has been running (zero while one is; forever
    /// when none ran yet).
    pub fn quiet_for(&self) -> Duration {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        // Acquire pairs with the guard's Release: a zero count read here
        // comes with the `last_end` stored before it, never an older one.
        if self.in_flight.load(Acquire) > 0 {
            return Duration::ZERO;
        }
        match self.last_end.load(Relaxed) {
            0 => Duration::MAX,
            last => self
                .origin
                .elapsed()
                .saturating_sub(Duration::from_micros(last)),
        }
    }
}

/// A foreground request running (see [`Foreground::enter`]).
pub(crate) struct ForegroundRequest(Arc<Foreground>);

/// A GET body that counts as a foreground request until it has been read
/// to its end (or failed, or was dropped): a slow client's long download is
/// foreground work, so the heal keeps resting beside it.
pub(crate) struct CountedBody {
    body: crate::api::ByteStream,
    request: Option<ForegroundRequest>,
}

impl CountedBody {
    /// `body`, counted under `request` until it ends.
    pub fn new(body: crate::api::ByteStream, request: ForegroundRequest) -> Self {
        Self {
            body,
            request: Some(request),
        }
    }
}

impl futures::Stream for CountedBody {
    type Item = Result<bytes::Bytes, crate::api::StoreError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = self.body.as_mut().poll_next(cx);
        if matches!(next, std::task::Poll::Ready(None | Some(Err(_)))) {
            self.request = None;
        }
        next
    }
}

impl Drop for ForegroundRequest {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::{Relaxed, Release};
        // At least 1: 0 means "no request yet".
        let now = u64::try_from(self.0.origin.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.0.last_end.fetch_max(now, Relaxed);
        self.0.in_flight.fetch_sub(1, Release);
    }
}

impl Workers {
    pub fn new() -> Self {
        Self {
            stop_tx: watch::channel(false).0,
            running: Mutex::new(Vec::new()),
            background: Mutex::new(None),
        }
    }

    /// The pool for background drive work (started on first use).
    pub fn background(&self) -> Arc<BackgroundPool> {
        self.background
            .lock()
            .expect("background pool")
            .get_or_insert_with(|| BackgroundPool::start(BACKGROUND_THREADS))
            .clone()
    }

    /// Starts a named worker (no-op outside a tokio runtime).
    pub fn spawn<F, Fut>(&self, name: &'static str, pacing: String, work: F)
    where
        F: FnOnce(WorkerCtx) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let state = Arc::new(Mutex::new(WorkerState::Idle));
        let ctx = WorkerCtx {
            state: state.clone(),
            stop_rx: self.stop_tx.subscribe(),
        };
        let done = state.clone();
        let future = work(ctx);
        let join = tokio::spawn(async move {
            future.await;
            *done.lock().expect("worker state") = WorkerState::Stopped;
        });
        self.running.lock().expect("workers").push(Worker {
            name,
            pacing,
            state,
            join: Some(join),
        });
    }

    /// Every worker with its state.
    pub fn list(&self) -> Vec<WorkerInfo> {
        self.running
            .lock()
            .expect("workers")
            .iter()
            .map(|w| WorkerInfo {
                name: w.name.to_owned(),
                state: *w.state.lock().expect("worker state"),
                pacing: w.pacing.clone(),
            })
            .collect()
    }

    /// Tells every worker to stop and waits for them all.
    pub async fn shutdown(&self) {
        self.stop_tx.send_replace(true);
        let joins: Vec<JoinHandle<()>> = self
            .running
            .lock()
            .expect("workers")
            .iter_mut()
            .filter_map(|w| w.join.take())
            .collect();
        for join in joins {
            let _ = join.await;
        }
        let pool = self.background.lock().expect("background pool").take();
        if let Some(pool) = pool {
            pool.stop().await;
        }
    }
}

/// Threads of the background pool: one per drive of the usual 4-drive set,
/// so a heal's per-drive operations still run side by side when the CPU
/// is free.
const BACKGROUND_THREADS: usize = 4;

/// How long shutdown waits for the pool's threads once the workers have
/// stopped. They are idle by then unless one is stuck in a hung drive
/// operation, which is never waited for (`deadline.rs`).
const BACKGROUND_JOIN: Duration = Duration::from_secs(1);

/// Threads for the background workers' blocking work (drive operations,
/// erasure decode and encode, hashing), each at idle CPU priority
/// (`SCHED_IDLE`, else nice 19): a foreground request's thread always
/// preempts them, so a heal takes only CPU time nothing else wants. The
/// heal-pacing bench measured a full heal at normal priority doubling the
/// foreground GET p99 on two cores, while the median did not move.
///
/// A rayon pool whose threads we spawn ourselves (`spawn_handler`): rayon
/// does not join its threads when a pool drops, so we keep their handles
/// and join them at shutdown (the worker rule: everything has stopped when
/// `Store::shutdown` returns).
pub(crate) struct BackgroundPool {
    pool: Mutex<Option<rayon::ThreadPool>>,
    threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

impl BackgroundPool {
    fn start(count: usize) -> Arc<Self> {
        let threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>> = Arc::default();
        let handles = threads.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(count)
            // A panicking job drops its answer channel (its waiter sees an
            // error); the thread lives on.
            .panic_handler(|_| tracing::warn!("background drive work panicked"))
            .spawn_handler(move |thread| {
                let handle = std::thread::Builder::new()
                    .name(format!("minnow-background-{}", thread.index()))
                    .spawn(move || {
                        if !lower_own_priority() {
                            tracing::debug!("background thread runs at normal CPU priority");
                        }
                        thread.run();
                    })?;
                handles.lock().expect("background threads").push(handle);
                Ok(())
            })
            .build()
            .map_err(|err| tracing::warn!("no background pool: {err}"))
            .ok();
        Arc::new(Self {
            pool: Mutex::new(pool),
            threads,
        })
    }

    /// Runs `work` on a pool thread; `None` once the pool is stopped or has
    /// no threads (the caller runs it elsewhere).
    fn submit<T, F>(&self, work: F) -> Option<oneshot::Receiver<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let pool = self.pool.lock().expect("background pool");
        let (tx, rx) = oneshot::channel();
        pool.as_ref()?.spawn(move || {
            let _ = tx.send(work());
        });
        Some(rx)
    }

    /// Drops the pool (its threads finish the jobs they were given, then
    /// exit) and joins them (at most [`BACKGROUND_JOIN`]).
    async fn stop(&self) {
        drop(self.pool.lock().expect("background pool").take());
        let threads = std::mem::take(&mut *self.threads.lock().expect("background threads"));
        let joined = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        });
        if tokio::time::timeout(BACKGROUND_JOIN, joined).await.is_err() {
            tracing::warn!("a background thread is still in a drive operation; not waiting for it");
        }
    }
}

tokio::task_local! {
    /// The pool the current task's blocking work runs on (background workers).
    static BACKGROUND: Arc<BackgroundPool>;
}

/// Runs `future` as background work: its blocking work
/// ([`spawn_blocking`]) goes to `pool`.
pub(crate) fn in_background<F: Future>(
    pool: Arc<BackgroundPool>,
    future: F,
) -> impl Future<Output = F::Output> {
    BACKGROUND.scope(pool, future)
}

/// Runs blocking `work` on the background pool when called from
/// background work ([`in_background`]), else on tokio's blocking pool;
/// `Err` when the work panicked.
pub(crate) async fn spawn_blocking<T, F>(work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let pool = BACKGROUND.try_with(Arc::clone).ok();
    match pool {
        Some(pool) => match pool.submit(work) {
            Some(answer) => answer
                .await
                .map_err(|_| "background drive work panicked".to_owned()),
            None => Err("the background pool is stopped".to_owned()),
        },
        None => tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| err.to_string()),
    }
}

/// Puts the calling thread at idle CPU priority; false when it could not.
#[allow(unsafe_code)]
fn lower_own_priority() -> bool {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls on the calling thread (pid 0) with a
        // valid, initialised parameter; no memory is shared with the kernel
        // past the call.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
            return true;
        }
        // SAFETY: as above; on Linux, PRIO_PROCESS with 0 is the calling thread.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The calling thread's scheduling policy (`/proc/thread-self/stat`
    /// field 41: 0 normal, 5 `SCHED_IDLE`).
    fn own_policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Fields after the command name (which may hold spaces), from field 3.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(41 - 3).unwrap().parse().unwrap()
    }

    /// The rule the heal-pacing bench measured: background work (heal's
    /// drive operations and decoding) runs at idle CPU priority, so a
    /// foreground request's thread preempts it; foreground blocking work
    /// keeps normal priority.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_work_runs_at_idle_priority_and_foreground_work_does_not() {
        let workers = Workers::new();
        let background = in_background(workers.background(), spawn_blocking(own_policy))
            .await
            .unwrap();
        assert_eq!(background, libc::SCHED_IDLE as u32);
        let foreground = spawn_blocking(own_policy).await.unwrap();
        assert_eq!(foreground, libc::SCHED_OTHER as u32);
        workers.shutdown().await;
    }

    fn ctx(workers: &Workers) -> WorkerCtx {
        WorkerCtx {
            state: Arc::new(Mutex::new(WorkerState::Idle)),
            stop_rx: workers.stop_tx.subscribe(),
        }
    }

    /// Pacing by foreground activity, idle side: with no request running
    /// or recent, a background step is followed by no rest at all, however
    /// long it took (tranquility alone would rest 10 s here).
    #[tokio::test]
    async fn an_idle_store_lets_background_work_run_unpaced() {
        let workers = Workers::new();
        let foreground = Arc::new(Foreground::default());
        let pacing = Tranquility {
            factor: 1,
            foreground: foreground.clone(),
        };
        let mut ctx = ctx(&workers);
        let started = std::time::Instant::now();
        assert!(pacing.rest_after(Duration::from_secs(10), &mut ctx).await);
        assert!(started.elapsed() < Duration::from_secs(5));
        // Also once requests have come and gone, QUIET after the last.
        drop(foreground.enter());
        tokio::time::sleep(QUIET * 2).await;
        let started = std::time::Instant::now();
        assert!(pacing.rest_after(Duration::from_secs(10), &mut ctx).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// Pacing by foreground activity, busy side: while a request runs, a
    /// step is followed by a rest of `max(tranquility × its time,
    /// BUSY_REST)` and no longer, so background work backs off but never
    /// starves under steady load; a request that ends during the rest ends
    /// it QUIET later.
    #[tokio::test]
    async fn a_busy_store_makes_background_work_rest_up_to_its_cap() {
        let workers = Workers::new();
        let foreground = Arc::new(Foreground::default());
        let pacing = Tranquility {
            factor: 2,
            foreground: foreground.clone(),
        };
        let mut ctx = ctx(&workers);
        let request = foreground.enter();
        let started = std::time::Instant::now();
        assert!(pacing.rest_after(Duration::from_millis(1), &mut ctx).await);
        let rested = started.elapsed();
        assert!(rested >= BUSY_REST, "{rested:?}");
        assert!(rested < Duration::from_secs(5), "{rested:?}");
        let started = std::time::Instant::now();
        assert!(
            pacing
                .rest_after(Duration::from_millis(300), &mut ctx)
                .await
        );
        let rested = started.elapsed();
        assert!(rested >= Duration::from_millis(600), "{rested:?}");
        assert!(rested < Duration::from_secs(5), "{rested:?}");
        // The request ends 100 ms into a rest capped at 20 s.
        let ender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(request);
        });
        let started = std::time::Instant::now();
        assert!(pacing.rest_after(Duration::from_secs(10), &mut ctx).await);
        let rested = started.elapsed();
        ender.await.unwrap();
        assert!(rested >= Duration::from_millis(100) + QUIET, "{rested:?}");
        assert!(rested < Duration::from_secs(10), "{rested:?}");
        // Stopping ends a rest at once.
        let _busy = foreground.enter();
        workers.stop_tx.send_replace(true);
        let started = std::time::Instant::now();
        assert!(!pacing.rest_after(Duration::from_secs(10), &mut ctx).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// Shutdown joins the background threads: each has exited (its
    /// thread-local destructors ran) by the time `shutdown` returns, and
    /// work asked for afterwards is refused rather than lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_joins_every_background_thread() {
        static EXITED: AtomicUsize = AtomicUsize::new(0);
        struct OnExit;
        impl Drop for OnExit {
            fn drop(&mut self) {
                EXITED.fetch_add(1, Ordering::SeqCst);
            }
        }
        thread_local! {
            static EXIT: std::cell::RefCell<Option<OnExit>> = const { std::cell::RefCell::new(None) };
        }
        let workers = Workers::new();
        let pool = workers.background();
        // Every thread takes one job: each waits for all the others.
        let all = Arc::new(std::sync::Barrier::new(BACKGROUND_THREADS));
        let jobs: Vec<_> = (0..BACKGROUND_THREADS)
            .map(|_| {
                let all = all.clone();
                in_background(
                    pool.clone(),
                    spawn_blocking(move || {
                        EXIT.with(|e| *e.borrow_mut() = Some(OnExit));
                        all.wait();
                    }),
                )
            })
            .collect();
        for done in futures::future::join_all(jobs).await {
            done.unwrap();
        }
        let started = std::time::Instant::now();
        workers.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(EXITED.load(Ordering::SeqCst), BACKGROUND_THREADS);
        let late = in_background(pool, spawn_blocking(|| ())).await;
        assert!(late.is_err(), "work accepted after shutdown");
    }
}
