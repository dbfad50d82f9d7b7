//! The drive set: the configured drives, which of them are online, the
//! fan-out of one operation to every online drive, and the quorum
//! decisions. [`DriveSet::finish_write`] is the one place a write's
//! per-drive results are judged: it checks write quorum, rolls back below
//! it, and records a missed-write marker for every drive that missed it.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::Duration;

use uuid::Uuid;

use super::missed::MissedWrites;
use super::{offline_error, Engine};
use crate::answers::AnswerCheck;
use crate::api::{DriveStatus, StoreError, WorkerState};
use crate::deadline::{watched, Missed};
use crate::drive::Drive;
use crate::layout;
use crate::quorum::write_quorum;

/// One configured drive at run time.
#[derive(Debug)]
pub(crate) struct DriveState {
    pub drive: Arc<dyn Drive>,
    pub online: AtomicBool,
    pub fresh: bool,
}

/// Per-drive results of one write, by drive position (`Err` for a drive
/// that was offline or failed).
pub(crate) type DriveResults<T> = Vec<io::Result<T>>;

/// What a write's per-drive results made: something readers see, or only
/// staged files that a later commit makes visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Records readers see (metadata, bucket records, settings, blobs,
    /// uploads) or their removal: a drive that missed it is marked.
    Visible,
    /// Temp files no reader sees: the commit that follows marks the drives
    /// it misses, so a staging miss leaves no marker of its own.
    Staged,
}

/// The drives of one deployment, in their fixed order.
pub(crate) struct DriveSet {
    drives: Vec<DriveState>,
    /// Data shards: the read quorum.
    pub data: usize,
    pub parity: usize,
    pub deployment_id: Uuid,
    pub missed: MissedWrites,
    /// The drive deadline (`None`: none).
    pub deadline: Option<Duration>,
}

/// A drive's reachability after a probe, and whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    Unchanged,
    CameBack,
    WentAway,
}

impl DriveSet {
    pub fn new(
        drives: Vec<DriveState>,
        data: usize,
        parity: usize,
        deployment_id: Uuid,
        deadline: Option<Duration>,
    ) -> Self {
        let missed = MissedWrites::new(drives.len());
        Self {
            drives,
            data,
            parity,
            deployment_id,
            missed,
            deadline,
        }
    }

    /// Runs drive work on the blocking pool and waits for it at most the
    /// drive deadline (the one hand-off of a request to its drives).
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, Missed>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        watched(self.deadline, work).await
    }

    /// Runs `work` on the online drives in one blocking task under the
    /// drive deadline. When a drive is caught past it, that drive is
    /// offline now and `work` runs again on the drives left, so a hung
    /// drive costs the request one deadline, not a failure.
    pub async fn on_online_drives<T, F>(&self, work: F) -> Result<T, Missed>
    where
        T: Send + 'static,
        F: Fn(Vec<(usize, Arc<dyn Drive>)>) -> T + Send + Sync + 'static,
    {
        let work = Arc::new(work);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (work, drives) = (work.clone(), self.online_drives());
            match self.blocking(move || work(drives)).await {
                Err(Missed::Deadline) if attempts <= self.len() => {}
                other => return other,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.drives.len()
    }

    pub fn is_online(&self, position: usize) -> bool {
        position < self.drives.len() && self.live(position)
    }

    /// Whether the drive at `position` is online; a drive with an operation
    /// past its deadline is taken offline here, so later requests skip it
    /// instead of waiting (the drive monitor brings it back).
    fn live(&self, position: usize) -> bool {
        let state = &self.drives[position];
        if !state.online.load(Ordering::Relaxed) {
            return false;
        }
        if state.drive.is_stalled() {
            self.take_offline(&[position]);
            return false;
        }
        true
    }

    /// The write quorum of the store's own layout.
    pub fn write_quorum(&self) -> usize {
        write_quorum(self.data, self.parity)
    }

    pub fn online_count(&self) -> usize {
        (0..self.drives.len()).filter(|&p| self.live(p)).count()
    }

    /// Fails fast when a write cannot reach quorum.
    pub fn check_write_quorum(&self) -> Result<(), StoreError> {
        let online = self.online_count();
        let needed = self.write_quorum();
        if online < needed {
            Err(StoreError::WriteQuorum { online, needed })
        } else {
            Ok(())
        }
    }

    /// Runs `op` on every online drive in parallel on the blocking pool;
    /// offline drives, and drives whose folder vanished, answer with an
    /// error. Results are by drive position.
    pub async fn each_drive<T, F>(&self, op: F) -> DriveResults<T>
    where
        T: Send + 'static,
        F: Fn(usize, &dyn Drive) -> io::Result<T> + Send + Sync + 'static,
    {
        let op = Arc::new(op);
        // Each drive's work is its own task, awaited under the deadline.
        let tasks = self
            .drives
            .iter()
            .enumerate()
            .map(|(position, state)| {
                if !self.live(position) {
                    return None;
                }
                let drive = state.drive.clone();
                let op = op.clone();
                Some(watched(self.deadline, move || {
                    require_present(drive.as_ref())?;
                    op(position, drive.as_ref())
                }))
            })
            .map(|task| async move {
                match task {
                    None => Err(offline_error()),
                    Some(task) => task.await.unwrap_or_else(|missed| Err(missed.into())),
                }
            });
        futures::future::join_all(tasks).await
    }

    /// Judges a write's per-drive results: below `needed` successes it runs
    /// `rollback` (given the results, to undo what landed) and fails with
    /// `WriteQuorum`; otherwise, for a visible write, every drive that
    /// missed it gets a durable missed-write marker before this returns, so
    /// the caller may acknowledge it and a heal finds the drive later, even
    /// after a restart that lost the in-memory heal queue.
    pub async fn finish_write<T, R, Fut>(
        &self,
        results: DriveResults<T>,
        needed: usize,
        effect: Effect,
        rollback: R,
    ) -> Result<DriveResults<T>, StoreError>
    where
        R: FnOnce(Arc<DriveResults<T>>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let done = results.iter().filter(|r| r.is_ok()).count();
        if done < needed {
            rollback(Arc::new(results)).await;
            return Err(StoreError::WriteQuorum {
                online: done,
                needed,
            });
        }
        let missed: Vec<usize> = (0..results.len())
            .filter(|&p| results[p].is_err())
            .collect();
        if effect == Effect::Visible && !missed.is_empty() {
            self.record_missed(missed).await;
        }
        Ok(results)
    }

    /// [`DriveSet::finish_write`] of a visible write at the store's write
    /// quorum that nothing can roll back (removals) or need not (a blob
    /// overwrite: a minority copy never wins a read).
    pub async fn finish_final_write<T>(
        &self,
        results: DriveResults<T>,
    ) -> Result<DriveResults<T>, StoreError> {
        self.finish_write(results, self.write_quorum(), Effect::Visible, |_| async {})
            .await
    }

    /// Online drives as (position, drive), for blocking code.
    pub fn online_drives(&self) -> Vec<(usize, Arc<dyn Drive>)> {
        self.drives
            .iter()
            .enumerate()
            .filter(|(i, _)| self.live(*i))
            .map(|(i, d)| (i, d.drive.clone()))
            .collect()
    }

    /// Online drives by position (`None` for an offline one), for blocking
    /// code that writes to some of them.
    pub fn online_slots(&self) -> Vec<Option<Arc<dyn Drive>>> {
        self.drives
            .iter()
            .enumerate()
            .map(|(i, d)| self.live(i).then(|| d.drive.clone()))
            .collect()
    }

    /// What blocking code needs to tell absence from a drive that cannot
    /// answer.
    pub fn answer_check(&self) -> AnswerCheck {
        AnswerCheck {
            deployment_id: self.deployment_id,
            drive_count: self.drives.len(),
            fresh: self.drives.iter().map(|d| d.fresh).collect(),
        }
    }

    /// Takes drives that stopped answering (folder gone, format file
    /// unreadable or foreign) offline, so health reports them and later
    /// requests skip them; `drive_status` brings them back.
    pub fn take_offline(&self, positions: &[usize]) {
        for &position in positions {
            if let Some(state) = self.drives.get(position) {
                if state.online.swap(false, Ordering::AcqRel) {
                    self.missed.note_transition(position);
                    tracing::warn!(
                        drive = %state.drive.root().display(),
                        "drive stopped answering; it is offline until it answers with its format again"
                    );
                }
            }
        }
    }

    /// Fails with `ReadQuorum` when fewer than `data` online drives still
    /// answer (taking the others offline). Reads whose "absent" answers
    /// cannot be tied to one folder (multipart records and listings) call
    /// this before trusting an empty or negative result.
    pub async fn check_read_quorum(&self) -> Result<(), StoreError> {
        let check = self.answer_check();
        let gone = self
            .on_online_drives(move |drives| {
                drives
                    .iter()
                    .filter(|(position, drive)| !check.drive_answers(drive.as_ref(), *position))
                    .map(|(position, _)| *position)
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|missed| super::internal(io::Error::from(missed)))?;
        self.take_offline(&gone);
        self.require_read_quorum()
    }

    /// `ReadQuorum` when fewer than `data` drives are online.
    pub fn require_read_quorum(&self) -> Result<(), StoreError> {
        let online = self.online_count();
        if online < self.data {
            Err(StoreError::ReadQuorum {
                online,
                needed: self.data,
            })
        } else {
            Ok(())
        }
    }

    /// Re-checks every drive and reports space; returns the statuses and
    /// whether any drive came back online.
    async fn probe(&self) -> (Vec<DriveStatus>, bool) {
        let results = {
            let drives: Arc<Vec<Arc<dyn Drive>>> =
                Arc::new(self.drives.iter().map(|d| d.drive.clone()).collect());
            let (deployment_id, count) = (self.deployment_id, self.drives.len());
            // A drive caught hung here is stalled (its probe fails at once
            // from then on), so a second look answers for every drive.
            let look = move || {
                drives
                    .iter()
                    .enumerate()
                    .map(|(position, drive)| {
                        let reachable = crate::format::drive_matches(
                            drive.as_ref(),
                            deployment_id,
                            position,
                            count,
                        ) && drive.mkdir_all(Path::new(layout::TMP_DIR)).is_ok();
                        (reachable, drive.space().unwrap_or_default())
                    })
                    .collect::<Vec<_>>()
            };
            let mut attempts = 0;
            loop {
                attempts += 1;
                match self.blocking(look.clone()).await {
                    Ok(results) => break results,
                    Err(Missed::Deadline) if attempts <= count => {}
                    Err(_) => break Vec::new(),
                }
            }
        };
        let mut returned = false;
        let statuses = self
            .drives
            .iter()
            .enumerate()
            .map(|(index, state)| {
                let (reachable, space) = results.get(index).copied().unwrap_or_default();
                match self.set_reachable(index, reachable) {
                    Transition::CameBack => {
                        tracing::info!(drive = %state.drive.root().display(), "drive is back online");
                        returned = true;
                    }
                    Transition::WentAway => {
                        tracing::warn!(drive = %state.drive.root().display(), "drive went offline")
                    }
                    Transition::Unchanged => {}
                }
                DriveStatus {
                    index,
                    path: state.drive.root().display().to_string(),
                    online: reachable,
                    fresh: state.fresh,
                    total_bytes: space.total_bytes,
                    free_bytes: space.free_bytes,
                }
            })
            .collect();
        (statuses, returned)
    }

    fn set_reachable(&self, position: usize, reachable: bool) -> Transition {
        let state = &self.drives[position];
        let changed = if reachable {
            // Only the caller that flips it heals it.
            state
                .online
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        } else {
            state.online.swap(false, Ordering::AcqRel)
        };
        if !changed {
            return Transition::Unchanged;
        }
        self.missed.note_transition(position);
        if reachable {
            Transition::CameBack
        } else {
            Transition::WentAway
        }
    }
}

impl std::ops::Index<usize> for DriveSet {
    type Output = DriveState;

    fn index(&self, position: usize) -> &DriveState {
        &self.drives[position]
    }
}

impl<'a> IntoIterator for &'a DriveSet {
    type Item = &'a DriveState;
    type IntoIter = std::slice::Iter<'a, DriveState>;

    fn into_iter(self) -> Self::IntoIter {
        self.drives.iter()
    }
}

/// Fails unless the drive's folder (its format file) is there. Removals
/// treat "not found" as done, so without this a vanished drive would count
/// as having applied a delete it never saw, and get no missed-write marker.
fn require_present(drive: &dyn Drive) -> io::Result<()> {
    if drive.exists(Path::new(layout::FORMAT_FILE))? {
        Ok(())
    } else {
        Err(io::Error::other("the drive folder is gone"))
    }
}

/// How often offline drives are probed: a drive that answers again with
/// its own format comes back online (and is healed) without anyone asking.
const DRIVE_CHECK_INTERVAL: std::time::Duration = if cfg!(test) {
    std::time::Duration::from_millis(100)
} else {
    std::time::Duration::from_secs(5)
};

/// Probes offline drives every [`DRIVE_CHECK_INTERVAL`] (health checks
/// and admin info probe too) and sweeps staging leftovers from the tmp
/// areas, as the `drive-monitor` worker.
pub(super) fn start_drive_monitor(engine: &Arc<Engine>) {
    let weak = Arc::downgrade(engine);
    engine.workers.spawn(
        "drive-monitor",
        format!(
            "probes offline drives and sweeps staging leftovers every {DRIVE_CHECK_INTERVAL:?}"
        ),
        move |mut ctx| async move {
            loop {
                if !ctx.rest(DRIVE_CHECK_INTERVAL).await {
                    return;
                }
                let Some(engine) = weak.upgrade() else { return };
                if engine.drives.online_count() < engine.drives.len() {
                    ctx.set(WorkerState::Active);
                    engine.drive_status().await;
                    ctx.set(WorkerState::Idle);
                }
                engine.sweep_staging().await;
            }
        },
    );
}

impl Engine {
    /// Re-checks every drive and reports space. A drive whose format file
    /// is unreadable or names another deployment/position goes offline; an
    /// offline one (vanished, offline at start, or taken out after I/O
    /// errors) whose format matches again comes back online, and the heal
    /// walk starts at once for everything it missed.
    pub async fn drive_status(self: &Arc<Self>) -> Vec<DriveStatus> {
        let (statuses, returned) = self.drives.probe().await;
        if returned {
            // What a late operation left there while it was offline starts
            // its grace now (`staging.rs`).
            self.sweep_staging().await;
            crate::heal::request_walk(self, std::time::Duration::ZERO);
        }
        statuses
    }

    /// Removes staging folders no live writer owns from every online
    /// drive's tmp area, once they have been unowned for a grace period
    /// (`staging.rs`). Returns how many entries went.
    pub async fn sweep_staging(&self) -> usize {
        let area = self.staging.clone();
        self.drives
            .on_online_drives(move |drives| {
                drives
                    .iter()
                    .map(|(position, drive)| {
                        area.sweep(*position, drive.as_ref()).unwrap_or_else(|err| {
                            tracing::warn!(
                                drive = %drive.root().display(),
                                "cannot sweep the tmp area: {err}"
                            );
                            0
                        })
                    })
                    .sum()
            })
            .await
            .unwrap_or(0)
    }
}
