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

/// Replaces the inline shard of drive `position`'s `obj.meta` of `k` with
/// the one `stale` (an older `obj.meta` of the same drive) carries, keeping
/// the current version's id: a shard of another version under the agreed
/// version, which no frame hash can notice.
fn plant_stale_shard(fixture: &TestDrives, position: usize, stale: &[u8]) {
    let path = fixture
        .drive(position)
        .join(crate::layout::object_meta_path(
            "bkt",
            &crate::keys::EncodedKey::new("k").unwrap(),
        ));
    let current = crate::meta::ObjectMeta::decode(Bytes::from(std::fs::read(&path).unwrap()));
    let stale = crate::meta::ObjectMeta::decode(Bytes::from(stale.to_vec())).unwrap();
    let mut planted = current.unwrap();
    planted.inline = stale.inline;
    std::fs::write(&path, planted.encode()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_inline_shard_under_the_agreed_version_is_never_served() {
    let fixture = TestDrives::with_sizes(4, SMALL_BLOCKS);
    let store = fixture.open().await;
    store.create_bucket("bkt").await.unwrap();
    let (a, b) = (pattern(3_000, 1), pattern(3_000, 2));
    store
        .put_object("bkt", "k", body(&a), PutOptions::default())
        .await
        .unwrap();
    let meta_path =
        crate::layout::object_meta_path("bkt", &crate::keys::EncodedKey::new("k").unwrap());
    let old: Vec<Vec<u8>> = (0..4)
        .map(|d| std::fs::read(fixture.drive(d).join(&meta_path)).unwrap())
        .collect();
    store
        .put_object("bkt", "k", body(&b), PutOptions::default())
        .await
        .unwrap();
    drop(store);
    // The drive holding data shard 0 gets version A's shard.
    let position = (0..4)
        .find(|&d| {
            let meta = crate::meta::ObjectMeta::decode(Bytes::from(old[d].clone())).unwrap();
            meta.erasure.index == 0
        })
        .unwrap();
    plant_stale_shard(&fixture, position, &old[position]);
    let store = fixture.open().await;
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), b);
    assert_eq!(
        read_all(
            &store,
            "bkt",
            "k",
            Some(ByteRange::FromTo {
                first: 10,
                last: Some(19)
            })
        )
        .await
        .unwrap(),
        b[10..20]
    );
    // The heal finds the stale shard by the verified bytes and rewrites it;
    // after that nothing is left to heal.
    let report = store.heal(None, "").await.unwrap();
    assert_eq!(report.objects_healed, 1, "{report:?}");
    assert_eq!(store.heal(None, "").await.unwrap().objects_healed, 0);
    drop(store);
    let healed = crate::meta::ObjectMeta::decode(Bytes::from(
        std::fs::read(fixture.drive(position).join(&meta_path)).unwrap(),
    ))
    .unwrap();
    let stale = crate::meta::ObjectMeta::decode(Bytes::from(old[position].clone())).unwrap();
    assert_ne!(
        healed.inline, stale.inline,
        "the stale shard is still there"
    );
    // Two stale shards leave two of version B: still B.
    let index_of = |d: usize| {
        crate::meta::ObjectMeta::decode(Bytes::from(old[d].clone()))
            .unwrap()
            .erasure
            .index
    };
    let second = (0..4).find(|&d| index_of(d) == 1).unwrap();
    plant_stale_shard(&fixture, position, &old[position]);
    plant_stale_shard(&fixture, second, &old[second]);
    let store = fixture.open().await;
    assert_eq!(read_all(&store, "bkt", "k", None).await.unwrap(), b);
    // Three stale shards: no two shards decode to version B, so an error
    // before any byte, never a body of the wrong bytes.
    drop(store);
    let third = (0..4).find(|&d| index_of(d) == 2).unwrap();
    plant_stale_shard(&fixture, third, &old[third]);
    let store = fixture.open().await;
    let err = read_all(&store, "bkt", "k", None).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}
