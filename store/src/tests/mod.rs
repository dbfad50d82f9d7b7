//! Engine-level tests of the store's internals (on-disk effects that the
//! black-box suites in `store/tests` cannot see), by topic. The drive
//! fixture is the one the suites use (`store/tests/common/drives.rs`).

pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::time::Instant;

pub(crate) use bytes::Bytes;
pub(crate) use futures::StreamExt;

pub(crate) use crate::api::{
    ByteRange, ByteStream, Catalog, ListParams, Maintenance, ObjectStore, PutOptions, StoreError,
};
pub(crate) use crate::engine::Effect;
pub(crate) use crate::Store;

#[path = "../../tests/common/drives.rs"]
mod drives;
pub(crate) use drives::{TestDrives, SMALL_BLOCKS};

mod cache_races;
mod drive_deadline;
mod drive_faults;
mod drive_loss;
mod file_modes;
mod format_fixtures;
mod heal;
mod heal_pacing;
mod heal_walk;
mod inline_races;
mod list_index_build;
mod meta_temp_files;
mod missed_writes;
mod mixed_versions;
mod objects;
mod staging;
mod write_budget;

pub(crate) fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, StoreError>> = data
        .chunks(7000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

pub(crate) async fn read_all(
    store: &Store,
    bucket: &str,
    key: &str,
    range: Option<ByteRange>,
) -> Result<Vec<u8>, StoreError> {
    let mut reader = store.get_object(bucket, key, range).await?;
    let mut out = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Closes the store, wipes `wiped` drive folders, reopens it and checks
/// that every object of bucket `bkt` still reads back exactly.
async fn assert_objects_survive_wiping(
    fixture: &TestDrives,
    store: Store,
    wiped: &[usize],
    objects: &[(String, Vec<u8>)],
) {
    drop(store);
    for &drive in wiped {
        fixture.replace_drive(drive);
    }
    let store = fixture.open().await;
    for (key, data) in objects {
        assert_eq!(
            &read_all(&store, "bkt", key, None).await.unwrap(),
            data,
            "{key}"
        );
    }
}

fn under(files: &[PathBuf], part: &str) -> usize {
    files
        .iter()
        .filter(|f| f.to_string_lossy().contains(part))
        .count()
}
