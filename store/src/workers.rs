//! Background work as named workers: the heal queue, the heal walk and the
//! drive monitor each run as one task with a name, a state, a pacing
//! policy and a handle. [`crate::Store::shutdown`] tells them to stop and
//! joins them; each stops at its next step (a walk after the object it is
//! healing). Dropping the store without a shutdown still stops them: each
//! holds the engine only while it does one step. The heal workers' drive
//! work and decoding run on a [`BackgroundPool`] at idle CPU priority.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};
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

/// How a worker keeps foreground latency: after a step that took `t`, it
/// rests `tranquility × t` (Garage's tranquilizer), so with tranquility 1
/// it uses at most about half of what the drives can do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tranquility(pub u32);

/// The background heal walk's tranquility unless configured
/// ([`crate::StoreConfig::heal_tranquility`]).
pub const DEFAULT_HEAL_TRANQUILITY: u32 = 1;

impl Tranquility {
    pub fn rest_after(self, worked: Duration) -> Duration {
        worked * self.0
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

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads for the background workers' blocking work (drive operations,
/// erasure decode and encode, hashing), each at idle CPU priority
/// (`SCHED_IDLE`, else nice 19): a foreground request's thread always
/// preempts them, so a heal takes only CPU time nothing else wants. The
/// heal-pacing bench measured a full heal at normal priority doubling the
/// foreground GET p99 on two cores, while the median did not move.
pub(crate) struct BackgroundPool {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl BackgroundPool {
    fn start(count: usize) -> Arc<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..count)
            .filter_map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("minnow-background-{i}"))
                    .spawn(move || {
                        if !lower_own_priority() {
                            tracing::debug!("background thread runs at normal CPU priority");
                        }
                        loop {
                            let next = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = next else { return };
                            // A panicking job drops its answer channel (its
                            // waiter sees an error); the thread lives on.
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                        }
                    })
                    .ok()
            })
            .collect();
        Arc::new(Self {
            jobs: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
        })
    }

    /// Runs `work` on a pool thread; `None` once the pool is stopped or has
    /// no threads (the caller runs it elsewhere).
    fn submit<T, F>(&self, work: F) -> Option<oneshot::Receiver<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.threads.lock().expect("background threads").is_empty() {
            return None;
        }
        let jobs = self.jobs.lock().expect("background jobs");
        let (tx, rx) = oneshot::channel();
        jobs.as_ref()?
            .send(Box::new(move || {
                let _ = tx.send(work());
            }))
            .ok()?;
        Some(rx)
    }

    /// Closes the queue and joins the threads (at most [`BACKGROUND_JOIN`]).
    async fn stop(&self) {
        self.jobs.lock().expect("background jobs").take();
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
