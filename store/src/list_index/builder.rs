//! The index's builds run in the background, never under a listing: one
//! worker ("list-index") takes requested buckets one at a time (a listing
//! that found its bucket not indexed, and every bucket at the server's
//! start), reads their key sets from the drives (under the drive deadline)
//! and installs them. At normal CPU priority, unlike the heal: until the
//! build is installed every page of the bucket walks its folders, which
//! costs far more than the build, and at idle priority the build starved
//! behind those walks (a 100k-key full listing took 25-29 s instead of 3).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use crate::api::WorkerState;
use crate::engine::Engine;
use crate::layout;
use crate::list_index::pages::build_key_set;

/// Where builds are requested: a bucket and its build's id
/// ([`super::ListIndex::begin_build`]).
pub(crate) type Requests = mpsc::UnboundedSender<(String, u64)>;

/// Starts the builder (no-op outside a tokio runtime: nothing is built and
/// buckets list by walking).
pub(crate) fn start(engine: &Arc<Engine>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let (requests, mut queue) = mpsc::unbounded_channel::<(String, u64)>();
    *engine.list_index.builds.lock().expect("list index builds") = Some(requests);
    // Weak: the sender lives in the engine's index, so a dropped engine
    // ends `recv` and the worker.
    let weak: Weak<Engine> = Arc::downgrade(engine);
    engine.workers.spawn(
        "list-index",
        "builds one bucket's listing index at a time, requested by a listing or at start"
            .to_owned(),
        move |mut ctx| {
            async move {
                loop {
                    let next = tokio::select! {
                        next = queue.recv() => next,
                        () = ctx.stopped() => None,
                    };
                    let Some((bucket, id)) = next else { break };
                    let Some(engine) = weak.upgrade() else { break };
                    ctx.set(WorkerState::Active);
                    // A build of a large bucket takes minutes: shutdown stops
                    // it between two folders instead of waiting.
                    let found = {
                        let stop = Arc::new(AtomicBool::new(false));
                        let build = engine.read_key_set(&bucket, stop.clone());
                        tokio::pin!(build);
                        tokio::select! {
                            found = &mut build => found,
                            () = ctx.stopped() => {
                                stop.store(true, Ordering::Relaxed);
                                build.await;
                                None
                            }
                        }
                    };
                    engine.list_index.finish_build(&bucket, id, found);
                    drop(engine);
                    ctx.set(WorkerState::Idle);
                }
                // Nothing is built from now on: queued builds (and later
                // requests, whose sends fail) are given up, so their writes
                // stop queueing and their buckets list by walking.
                queue.close();
                while let Ok((bucket, id)) = queue.try_recv() {
                    if let Some(engine) = weak.upgrade() {
                        engine.list_index.finish_build(&bucket, id, None);
                    }
                }
            }
        },
    );
}

impl Engine {
    /// `bucket`'s key set from the drives that answer for it (`None` if
    /// fewer than a read quorum do, a folder could not be read, or `stop`).
    async fn read_key_set(
        &self,
        bucket: &str,
        stop: Arc<AtomicBool>,
    ) -> Option<BTreeSet<Box<[u8]>>> {
        let check = self.drives.answer_check();
        let data = self.data;
        let bucket = bucket.to_owned();
        let (found, gone) = self
            .drives
            .on_online_drives(move |drives| {
                let bucket_dir = layout::bucket_dir(&bucket);
                let mut gone = Vec::new();
                let answering: Vec<_> = drives
                    .iter()
                    .filter(|(position, drive)| {
                        check.answers_under(drive.as_ref(), *position, &bucket_dir, &mut gone)
                    })
                    .cloned()
                    .collect();
                if answering.len() < data {
                    return (None, gone);
                }
                (build_key_set(&answering, &bucket, &stop), gone)
            })
            .await
            .ok()?;
        self.drives.take_offline(&gone);
        found
    }
}

impl crate::Store {
    /// Queues a background build of every bucket's listing index (the
    /// server calls it at start), so the first listing after a start
    /// usually finds its bucket indexed; until then it walks.
    pub fn build_list_indexes(&self) {
        let buckets: Vec<String> = self
            .inner
            .buckets
            .read()
            .expect("bucket cache")
            .iter()
            .filter(|(_, state)| !state.deleting)
            .map(|(name, _)| name.clone())
            .collect();
        for bucket in buckets {
            self.inner.list_index.request_build(&bucket);
        }
    }
}
