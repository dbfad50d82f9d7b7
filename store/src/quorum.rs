//! Quorum decisions over per-drive results: which metadata version the
//! drives agree on, and whether enough drives took a write.

use std::io;

use crate::api::StoreError;
use crate::meta::{Blob, MetaError, ObjectMeta};

/// What one drive said when asked for a record.
#[derive(Debug)]
pub enum DriveRead<T> {
    Found(T),
    NotFound,
    /// Damaged record: the drive needs healing.
    Corrupt,
    /// Offline, I/O error, or a record of a newer format: unknown.
    Failed,
}

impl<T> DriveRead<T> {
    pub fn from_io(result: io::Result<Result<T, MetaError>>) -> Self {
        match result {
            Ok(Ok(value)) => Self::Found(value),
            // A newer build can read it: not damaged, only unknown here.
            Ok(Err(MetaError::UnsupportedVersion(_))) => Self::Failed,
            Ok(Err(_)) => Self::Corrupt,
            Err(err) if err.kind() == io::ErrorKind::NotFound => Self::NotFound,
            Err(_) => Self::Failed,
        }
    }

    pub fn found(&self) -> Option<&T> {
        match self {
            Self::Found(value) => Some(value),
            _ => None,
        }
    }
}

/// Writes need `data` drives, plus one when data == parity so two disjoint
/// halves can never both commit.
pub fn write_quorum(data: usize, parity: usize) -> usize {
    data + usize::from(data == parity)
}

/// The object version a read quorum agrees on: its metadata (as seen on one
/// holder) and, per drive, whether that drive holds this version.
#[derive(Debug, Clone)]
pub struct Agreed {
    pub meta: ObjectMeta,
    pub holders: Vec<bool>,
}

/// Picks the version at least `data` drives agree on. Among several, a
/// version that cannot have been acknowledged loses (see
/// [`could_have_been_acknowledged`]); then most holders, then newest.
/// `NoSuchKey` when no such version can exist, `ReadQuorum` when unknown
/// drives might still hold one.
pub fn pick_object_meta(
    reads: &[DriveRead<ObjectMeta>],
    bucket: &str,
    key: &str,
) -> Result<Agreed, StoreError> {
    pick_object_meta_excluding(reads, bucket, key, &[])
}

/// [`pick_object_meta`] among the versions not in `dangling`: versions
/// whose metadata has a read quorum but whose shard files are missing on so
/// many holders that they can never be decoded (`Engine::is_dangling`). Their
/// drives still count as holding a newer version when judging whether an
/// older one may have been acknowledged.
pub fn pick_object_meta_excluding(
    reads: &[DriveRead<ObjectMeta>],
    bucket: &str,
    key: &str,
    dangling: &[uuid::Uuid],
) -> Result<Agreed, StoreError> {
    let mut groups: Vec<(usize, usize)> = Vec::new(); // (first index, count)
    for (index, read) in reads.iter().enumerate() {
        if let DriveRead::Found(meta) = read {
            if dangling.contains(&meta.meta_id) {
                continue;
            }
            match groups
                .iter_mut()
                .find(|(first, _)| reads[*first].found().expect("found").meta_id == meta.meta_id)
            {
                Some((_, count)) => *count += 1,
                None => groups.push((index, 1)),
            }
        }
    }
    let readable: Vec<(usize, usize)> = groups
        .iter()
        .copied()
        .filter(|(first, count)| {
            *count >= usize::from(reads[*first].found().expect("found").erasure.data)
        })
        .collect();
    let newest_first = |&&(first, count): &&(usize, usize)| {
        let meta = reads[first].found().expect("found");
        (count, meta.mod_time, meta.meta_id)
    };
    let acknowledgeable: Vec<(usize, usize)> = readable
        .iter()
        .copied()
        .filter(|(first, _)| could_have_been_acknowledged(reads, *first))
        .collect();
    let best = if acknowledgeable.is_empty() {
        readable.iter().max_by_key(newest_first)
    } else {
        acknowledgeable.iter().max_by_key(newest_first)
    };
    if let Some((first, _)) = best {
        let meta = reads[*first].found().expect("found").clone();
        let holders = reads
            .iter()
            .map(|r| r.found().is_some_and(|m| m.meta_id == meta.meta_id))
            .collect();
        return Ok(Agreed { meta, holders });
    }
    // Only drives that may still answer with a version count as unknown: a
    // damaged record (a hot copy can restore an `obj.meta` of zero bytes, or
    // with another file's content) will never be read, so it must not keep
    // the key answering 503 forever.
    let unknown = reads
        .iter()
        .filter(|r| matches!(r, DriveRead::Failed))
        .count();
    let largest = groups.iter().map(|(_, count)| *count).max().unwrap_or(0);
    let needed = groups
        .iter()
        .map(|(first, _)| usize::from(reads[*first].found().expect("found").erasure.data))
        .min()
        .unwrap_or(reads.len().div_ceil(2));
    if unknown > 0 && largest + unknown >= needed {
        Err(StoreError::ReadQuorum {
            online: reads.len() - unknown,
            needed,
        })
    } else {
        Err(StoreError::NoSuchKey {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// Whether reads that found no readable version of a key settle that it is
/// absent, although some drives could not answer (`pick_object_meta` then
/// says `ReadQuorum`): no drive that missed no write since the last complete
/// heal (not in `behind`) holds any record of it, and enough of those drives
/// answer "absent" that every write quorum includes one of them. An
/// acknowledged write reached a write quorum, so one of those drives took
/// the key's last acknowledged write and shows its outcome: absent means
/// deleted (MinIO answers 404 once a read quorum of drives says "not
/// found"). A drive that is behind, fresh or wiped proves nothing either
/// way: its "absent" does not count (a delete it missed cannot be undone,
/// an object it lost is not declared gone), and neither does a record it
/// holds (the copy a delete it missed left there must not hold the key at
/// 503 while another drive cannot answer).
pub fn absence_is_settled(
    reads: &[DriveRead<ObjectMeta>],
    behind: &[usize],
    write_quorum: usize,
) -> bool {
    if reads.iter().enumerate().any(|(position, r)| {
        matches!(r, DriveRead::Found(_) | DriveRead::Corrupt) && !behind.contains(&position)
    }) {
        return false;
    }
    let witnesses = reads
        .iter()
        .enumerate()
        .filter(|(position, r)| matches!(r, DriveRead::NotFound) && !behind.contains(position))
        .count();
    witnesses + write_quorum > reads.len()
}

/// Whether the version read at `reads[first]` may have been acknowledged: a
/// commit is acknowledged only once `write_quorum` drives hold it, and a
/// drive that held it since shows it, a newer version (overwritten), or
/// nothing/an unknown state (wiped, replaced, damaged, offline); never an
/// older version (metadata is replaced, and a rollback only restores what
/// the drive held before). So a version held by `c` drives, with `n` drives
/// showing newer versions and `u` drives absent or unknown, can have been
/// acknowledged only if `c + n + u >= write_quorum`. Example (2+2, write
/// quorum 3): a crash between the second and third `obj.meta` rename of an
/// overwrite leaves the new version on 2 drives and the old on 2; the new
/// one cannot have been acknowledged, the old one can, so the old one wins
/// although the plain count ties.
fn could_have_been_acknowledged(reads: &[DriveRead<ObjectMeta>], first: usize) -> bool {
    let version = reads[first].found().expect("found");
    let order = (version.mod_time, version.meta_id);
    let possible = reads
        .iter()
        .filter(|read| match read {
            DriveRead::Found(meta) => {
                meta.meta_id == version.meta_id || (meta.mod_time, meta.meta_id) > order
            }
            DriveRead::NotFound | DriveRead::Corrupt | DriveRead::Failed => true,
        })
        .count();
    possible
        >= write_quorum(
            usize::from(version.erasure.data),
            usize::from(version.erasure.parity),
        )
}

/// Picks a blob value from per-drive reads: a value `read_quorum` drives
/// agree on, else absence confirmed by `read_quorum` drives, else the value
/// more drives hold than lack it (newest on ties).
pub fn pick_blob(reads: &[DriveRead<Blob>], read_quorum: usize) -> Option<Blob> {
    let mut groups: Vec<(&Blob, usize)> = Vec::new();
    for read in reads {
        if let DriveRead::Found(blob) = read {
            match groups.iter_mut().find(|(b, _)| b.id == blob.id) {
                Some((_, count)) => *count += 1,
                None => groups.push((blob, 1)),
            }
        }
    }
    let best = groups
        .iter()
        .max_by_key(|(blob, count)| (*count, blob.mod_time))
        .copied();
    let missing = reads
        .iter()
        .filter(|r| matches!(r, DriveRead::NotFound))
        .count();
    match best {
        Some((blob, count)) if count >= read_quorum => Some(blob.clone()),
        _ if missing >= read_quorum => None,
        Some((blob, count)) if count >= missing => Some(blob.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tests::sample_meta;
    use crate::meta::Timestamp;
    use bytes::Bytes;
    use uuid::Uuid;

    fn version(id: u128, secs: i64) -> ObjectMeta {
        let mut meta = sample_meta();
        meta.meta_id = Uuid::from_u128(id);
        meta.mod_time = Timestamp { secs, nanos: 0 };
        meta
    }

    #[test]
    fn majority_version_wins_and_holders_are_marked() {
        let reads = vec![
            DriveRead::Found(version(1, 10)),
            DriveRead::Found(version(2, 20)),
            DriveRead::Found(version(1, 10)),
            DriveRead::NotFound,
        ];
        let agreed = pick_object_meta(&reads, "b", "k").unwrap();
        assert_eq!(agreed.meta.meta_id, Uuid::from_u128(1));
        assert_eq!(agreed.holders, vec![true, false, true, false]);
    }

    #[test]
    fn a_two_two_tie_goes_to_the_version_that_could_have_been_acknowledged() {
        // Every drive answered: the newer version reached 2 < 3 drives and
        // was never acknowledged; the older one may have been.
        let reads = vec![
            DriveRead::Found(version(1, 10)),
            DriveRead::Found(version(2, 20)),
            DriveRead::Found(version(1, 10)),
            DriveRead::Found(version(2, 20)),
        ];
        assert_eq!(
            pick_object_meta(&reads, "b", "k").unwrap().meta.meta_id,
            Uuid::from_u128(1)
        );
    }

    #[test]
    fn a_newer_version_that_may_have_reached_quorum_wins() {
        // The fourth drive may have held the new version before it was
        // wiped or went offline: it could have been acknowledged.
        for unknown in [DriveRead::NotFound, DriveRead::Failed, DriveRead::Corrupt] {
            let reads = vec![
                DriveRead::Found(version(2, 20)),
                DriveRead::Found(version(2, 20)),
                DriveRead::Found(version(1, 10)),
                unknown,
            ];
            assert_eq!(
                pick_object_meta(&reads, "b", "k").unwrap().meta.meta_id,
                Uuid::from_u128(2)
            );
        }
        // Majority still wins.
        let reads = vec![
            DriveRead::Found(version(2, 20)),
            DriveRead::Found(version(2, 20)),
            DriveRead::Found(version(2, 20)),
            DriveRead::Found(version(1, 10)),
        ];
        assert_eq!(
            pick_object_meta(&reads, "b", "k").unwrap().meta.meta_id,
            Uuid::from_u128(2)
        );
    }

    #[test]
    fn a_lone_leftover_is_no_object_but_unknown_drives_mean_no_quorum() {
        let reads = vec![
            DriveRead::Found(version(1, 10)),
            DriveRead::NotFound,
            DriveRead::NotFound,
            DriveRead::NotFound,
        ];
        assert!(matches!(
            pick_object_meta(&reads, "b", "k"),
            Err(StoreError::NoSuchKey { .. })
        ));
        let reads = vec![
            DriveRead::Found(version(1, 10)),
            DriveRead::Failed,
            DriveRead::Failed,
            DriveRead::NotFound,
        ];
        assert!(matches!(
            pick_object_meta(&reads, "b", "k"),
            Err(StoreError::ReadQuorum { .. })
        ));
        // Damaged records never become readable: they do not hold the key
        // at 503 forever (drives restored from a hot copy).
        let reads = vec![
            DriveRead::Found(version(1, 10)),
            DriveRead::Corrupt,
            DriveRead::Found(version(2, 20)),
            DriveRead::NotFound,
        ];
        assert!(matches!(
            pick_object_meta(&reads, "b", "k"),
            Err(StoreError::NoSuchKey { .. })
        ));
    }

    #[test]
    fn absence_is_settled_only_by_drives_that_missed_no_write() {
        let absent_on_two = || {
            vec![
                DriveRead::Failed,
                DriveRead::NotFound,
                DriveRead::NotFound,
                DriveRead::Failed,
            ]
        };
        // 2+2, write quorum 3: every write quorum holds drive 1 or 2.
        assert!(absence_is_settled(&absent_on_two(), &[], 3));
        // A drive that missed writes (or was wiped) proves nothing.
        assert!(!absence_is_settled(&absent_on_two(), &[2], 3));
        // One witness is not enough: a write quorum fits around it.
        let reads = vec![
            DriveRead::Failed,
            DriveRead::NotFound,
            DriveRead::Failed,
            DriveRead::Failed,
        ];
        assert!(!absence_is_settled(&reads, &[], 3));
        // Any record of the key (a stale copy, a damaged one) leaves it to
        // the version rules.
        let mut reads = absent_on_two();
        reads[0] = DriveRead::Found(version(1, 10));
        assert!(!absence_is_settled(&reads, &[], 3));
        let mut reads = absent_on_two();
        reads[3] = DriveRead::Corrupt;
        assert!(!absence_is_settled(&reads, &[], 3));
        // ...unless the drive holding it is behind: the copy a delete it
        // missed left there proves nothing (and its "absent" would not).
        for record in [DriveRead::Found(version(1, 10)), DriveRead::Corrupt] {
            let mut reads = absent_on_two();
            reads[0] = record;
            assert!(absence_is_settled(&reads, &[0], 3));
            assert!(!absence_is_settled(&reads, &[0, 1], 3));
        }
    }

    #[test]
    fn a_record_of_a_newer_format_is_unknown_not_damaged() {
        let newer: io::Result<Result<(), MetaError>> = Ok(Err(MetaError::UnsupportedVersion(2)));
        assert!(matches!(DriveRead::from_io(newer), DriveRead::Failed));
        let torn: io::Result<Result<(), MetaError>> = Ok(Err(MetaError::Truncated));
        assert!(matches!(DriveRead::from_io(torn), DriveRead::Corrupt));
    }

    #[test]
    fn blob_quorum_prefers_agreement_then_absence() {
        let blob = Blob::new(Bytes::from_static(b"x"));
        let reads = vec![
            DriveRead::Found(blob.clone()),
            DriveRead::Found(blob.clone()),
            DriveRead::NotFound,
            DriveRead::Failed,
        ];
        assert_eq!(pick_blob(&reads, 2), Some(blob.clone()));
        let reads = vec![
            DriveRead::Found(blob),
            DriveRead::NotFound,
            DriveRead::NotFound,
            DriveRead::Failed,
        ];
        assert_eq!(pick_blob(&reads, 2), None);
    }

    #[test]
    fn write_quorum_breaks_even_splits() {
        assert_eq!(write_quorum(2, 2), 3);
        assert_eq!(write_quorum(3, 1), 3);
        assert_eq!(write_quorum(1, 0), 1);
    }
}
