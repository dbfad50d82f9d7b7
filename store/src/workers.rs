//! Background work as named workers: the heal queue, the heal walk and the
//! drive monitor each run as one task with a name, a state, a pacing
//! policy and a handle. [`crate::Store::shutdown`] tells them to stop and
//! joins them; each stops at its next step (a walk after the object it is
//! healing). Dropping the store without a shutdown still stops them: each
//! holds the engine only while it does one step.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{WorkerInfo, WorkerState};

/// The workers of one store.
pub(crate) struct Workers {
    stop_tx: watch::Sender<bool>,
    running: Mutex<Vec<Worker>>,
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
        }
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
    }
}
