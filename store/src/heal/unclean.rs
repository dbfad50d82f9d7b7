//! The running marker: a start-up after a stop that was not clean heals
//! everything in the background.
//!
//! A crash (SIGKILL, power loss) or a backup copied from a running server
//! (`tar` of each drive folder while clients write; DURABILITY.md) leaves
//! drives that each hold a different moment: a version whose metadata
//! reached some drives and not others, data folders without metadata, one
//! drive's copy taken seconds after another's. Missed-write markers do not
//! cover that: no write failed. So while the store runs, every drive holds
//! `.minnow.sys/running`; [`crate::Store::shutdown`] removes it, and a
//! start-up that finds it on any drive requests a full heal walk (MinIO
//! likewise heals a set whose drives disagree when it meets them). Until a
//! walk over everything completes without failures, a clean stop keeps the
//! marker, so the next start heals again.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::engine::Engine;

/// The marker, relative to a drive's root.
pub(crate) const RUNNING_MARKER: &str = ".minnow.sys/running";

/// Whether any online drive holds the running marker (the last run did not
/// stop cleanly, or the drives are a copy of a running server), then
/// writes it on every online drive for this run. Until a complete walk,
/// the store remembers that it started unclean.
pub(crate) async fn mark_running(engine: &Arc<Engine>) -> bool {
    let found = engine
        .drives
        .each_drive(|_, drive| {
            let marker = Path::new(RUNNING_MARKER);
            let found = drive.exists(marker)?;
            drive.write_atomic(marker, b"minnow running\n")?;
            Ok(found)
        })
        .await;
    engine.heal.marked.store(true, Ordering::SeqCst);
    let unclean = found.iter().any(|r| matches!(r, Ok(true)));
    if unclean {
        engine.heal.unclean.store(true, Ordering::SeqCst);
    }
    unclean
}

/// Removes the running marker from every online drive: this run stopped
/// cleanly (nothing in flight is left half-done by it). A no-op for a store
/// that does not keep the marker.
pub(crate) async fn mark_stopped(engine: &Arc<Engine>) {
    if !engine.heal.marked.load(Ordering::SeqCst) || engine.heal.unclean.load(Ordering::SeqCst) {
        return;
    }
    engine
        .drives
        .each_drive(|_, drive| drive.remove_file(Path::new(RUNNING_MARKER)))
        .await;
}
