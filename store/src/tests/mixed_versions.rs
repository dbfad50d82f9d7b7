//! Drives restored from a copy taken while a key was overwritten: each
//! drive may hold a different version of it. Rule guarded: a read (and a
//! heal) uses the shards of one version only, so it answers exactly one
//! version's bytes, never a mix.

use super::*;

/// Copies a folder tree (files and folders) from `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_holding_different_versions_read_one_version_whole() {
    // Inline, one block in files, several blocks in files.
    for size in [3_000usize, 40_000, 200_000] {
        for restored in [[0usize, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]] {
            let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
            let store = fixture.open().await;
            store.create_bucket("bkt").await.unwrap();
            let (a, b) = (pattern(size, 1), pattern(size, 2));
            store
                .put_object("bkt", "k", body(&a), PutOptions::default())
                .await
                .unwrap();
            drop(store);
            let aside = fixture.root.path().join("aside");
            for &drive in &restored {
                copy_tree(fixture.drive(drive), &aside.join(drive.to_string()));
            }
            let store = fixture.open().await;
            store
                .put_object("bkt", "k", body(&b), PutOptions::default())
                .await
                .unwrap();
            drop(store);
            for &drive in &restored {
                fixture.remove_drive(drive);
                copy_tree(&aside.join(drive.to_string()), fixture.drive(drive));
            }
            let store = fixture.open().await;
            let context = format!("size {size}, drives {restored:?} hold the old version");
            let read = read_all(&store, "bkt", "k", None).await.unwrap();
            assert!(read == a || read == b, "{context}: a mix was served");
            store.heal(None, "").await.unwrap();
            let healed = read_all(&store, "bkt", "k", None).await.unwrap();
            assert!(healed == read, "{context}: the heal changed the answer");
            drop(store);
        }
    }
}

/// The shard index each drive's `obj.meta` of `bkt/k` holds.
fn shard_of(fixture: &TestDrives, drive: usize) -> u16 {
    let path = fixture.drive(drive).join(crate::layout::object_meta_path(
        "bkt",
        &crate::keys::EncodedKey::new("k").unwrap(),
    ));
    crate::meta::ObjectMeta::decode(Bytes::from(std::fs::read(path).unwrap()))
        .unwrap()
        .erasure
        .index
}

/// A hot `tar` of several drive folders can restore one drive's `obj.meta`
/// as a hard link to another drive's (tar took a reused inode number for a
/// link). Rule guarded: such a record is never counted as its drive's
/// shard — the heal would otherwise decode it in the wrong slot and write
/// a torn object to every drive — and the heal rewrites it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_obj_meta_linked_to_another_drives_is_healed_not_decoded() {
    for linked_shard in [1u16, 2, 3] {
        let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
        let store = fixture.open().await;
        store.create_bucket("bkt").await.unwrap();
        let data = pattern(3_000, 7);
        store
            .put_object("bkt", "k", body(&data), PutOptions::default())
            .await
            .unwrap();
        drop(store);
        let meta_path =
            crate::layout::object_meta_path("bkt", &crate::keys::EncodedKey::new("k").unwrap());
        let holder_of = |shard: u16| (0..4).find(|&d| shard_of(&fixture, d) == shard).unwrap();
        let (source, linked) = (holder_of(0), holder_of(linked_shard));
        let target = fixture.drive(linked).join(&meta_path);
        std::fs::remove_file(&target).unwrap();
        std::fs::hard_link(fixture.drive(source).join(&meta_path), &target).unwrap();
        let context = format!("drive {linked} (shard {linked_shard}) links drive {source}'s");

        let store = fixture.open().await;
        assert_eq!(
            read_all(&store, "bkt", "k", None).await.unwrap(),
            data,
            "{context}"
        );
        let report = store.heal(None, "").await.unwrap();
        assert_eq!(report.objects_healed, 1, "{context}: {report:?}");
        assert_eq!(report.objects_failed, 0, "{context}: {report:?}");
        assert_eq!(
            read_all(&store, "bkt", "k", None).await.unwrap(),
            data,
            "{context}"
        );
        drop(store);
        assert_eq!(
            shard_of(&fixture, linked),
            linked_shard,
            "{context}: not rewritten"
        );
        // The rewritten shard must be right: with two other drives gone it
        // is one of the two the object is decoded from.
        let others: Vec<usize> = (0..4).filter(|&d| d != linked).take(2).collect();
        for &drive in &others {
            fixture.replace_drive(drive);
        }
        let store = fixture.open().await;
        assert_eq!(
            read_all(&store, "bkt", "k", None).await.unwrap(),
            data,
            "{context}, then drives {others:?} wiped"
        );
    }
}

/// The distribution of `bkt/key` as drive 0's record gives it.
fn distribution_of(fixture: &TestDrives, key: &str) -> Vec<u16> {
    let path = fixture.drive(0).join(crate::layout::object_meta_path(
        "bkt",
        &crate::keys::EncodedKey::new(key).unwrap(),
    ));
    crate::meta::ObjectMeta::decode(Bytes::from(std::fs::read(path).unwrap()))
        .unwrap()
        .erasure
        .distribution
}

/// The same hot `tar` can put another key's `obj.meta` in a key's place;
/// when the two keys' distributions agree, its shard index fits. Rule
/// guarded: a record names the key it was written for, and a record of
/// another key is never read as a version of this one (here the older
/// foreign version on two drives would otherwise win the quorum, because
/// the key's own version cannot outvote it: two drives seem to show older
/// data than it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_obj_meta_linked_to_another_keys_is_not_read_as_this_key() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let (own, foreign) = (pattern(3_000, 3), pattern(5_000, 9));
    store
        .put_object("bkt", "k", body(&own), PutOptions::default())
        .await
        .unwrap();
    let wanted = distribution_of(&fixture, "k");
    let mut other = None;
    for n in 0..64 {
        let name = format!("other-{n}");
        store
            .put_object("bkt", &name, body(&foreign), PutOptions::default())
            .await
            .unwrap();
        if distribution_of(&fixture, &name) == wanted {
            other = Some(name);
            break;
        }
    }
    let other = other.expect("a key with the same distribution");
    // The key's own version is the newer one.
    store
        .put_object("bkt", "k", body(&own), PutOptions::default())
        .await
        .unwrap();
    drop(store);
    let path_of = |key: &str| {
        crate::layout::object_meta_path("bkt", &crate::keys::EncodedKey::new(key).unwrap())
    };
    for drive in [0, 1] {
        let target = fixture.drive(drive).join(path_of("k"));
        std::fs::remove_file(&target).unwrap();
        std::fs::hard_link(fixture.drive(drive).join(path_of(&other)), &target).unwrap();
    }
    let store = fixture.open().await;
    assert!(
        read_all(&store, "bkt", "k", None).await.unwrap() == own,
        "another key's bytes were served"
    );
    let report = store.heal(None, "").await.unwrap();
    assert_eq!(report.objects_failed, 0, "{report:?}");
    assert!(
        read_all(&store, "bkt", "k", None).await.unwrap() == own,
        "another key's bytes were served"
    );
    assert_eq!(
        read_all(&store, "bkt", &other, None).await.unwrap(),
        foreign
    );
    drop(store);
    // The heal gave drives 0 and 1 the key's own shards back.
    for drive in [2, 3] {
        fixture.replace_drive(drive);
    }
    let store = fixture.open().await;
    assert!(
        read_all(&store, "bkt", "k", None).await.unwrap() == own,
        "another key's bytes were served"
    );
}
