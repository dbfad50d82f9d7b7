//! The drive format file (`.minnow.sys/format.json`) and the start-up check
//! that decides, for every configured drive, whether it is usable, fresh
//! (empty → formatted now, healed later) or must be refused.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::StoreError;
use std::sync::Arc;
use std::time::Duration;

use crate::deadline::DeadlineDrive;
use crate::drive::{reset_tmp_area, Drive, DriveBackend};
use crate::layout::{FORMAT_FILE, FORMAT_MAGIC, FORMAT_VERSION, SYS_DIR};

/// Contents of `.minnow.sys/format.json`. Positions are fixed at the first
/// start: the drive list must keep its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveFormat {
    /// Always [`FORMAT_MAGIC`].
    pub format: String,
    pub version: u32,
    pub deployment_id: Uuid,
    pub drive_id: Uuid,
    /// Index of this drive in the drive list, from 0.
    pub position: usize,
    pub drive_count: usize,
}

impl DriveFormat {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("format serialises")
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        // Magic and version first: a newer format may change every other
        // field, and must be refused for its version, not for its shape.
        let marker: FormatMarker = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if marker.format != FORMAT_MAGIC {
            return Err(format!("not a minnow drive format ({:?})", marker.format));
        }
        if marker.version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not supported (this build reads {FORMAT_VERSION})",
                marker.version
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// The two fields every version of `format.json` keeps.
#[derive(Deserialize)]
struct FormatMarker {
    format: String,
    version: u32,
}

/// A configured drive after the start-up check.
#[derive(Debug)]
pub struct DriveSlot {
    pub drive: std::sync::Arc<dyn Drive>,
    pub online: bool,
    pub fresh: bool,
    /// Why the drive is offline, for logs.
    pub problem: Option<String>,
    /// The deployment every usable drive belongs to.
    pub deployment_id: Uuid,
}

enum Probe {
    Formatted(DriveFormat),
    Empty,
    Offline(String),
}

fn probe(drive: &dyn Drive) -> Probe {
    let root = drive.root();
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Probe::Offline("is not a directory".into()),
        Err(err) => return Probe::Offline(format!("cannot be read: {err}")),
    }
    match drive.read_file(Path::new(FORMAT_FILE)) {
        Ok(bytes) => match DriveFormat::decode(&bytes) {
            Ok(format) => Probe::Formatted(format),
            Err(why) => Probe::Offline(format!("has an unreadable format file: {why}")),
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => Probe::Empty,
        Err(err) => Probe::Offline(format!("format file cannot be read: {err}")),
    }
}

fn is_empty_folder(drive: &dyn Drive) -> io::Result<bool> {
    Ok(drive
        .list_dir(Path::new(""))?
        .iter()
        .all(|entry| entry.name == SYS_DIR || entry.name == "lost+found"))
}

fn write_format(drive: &dyn Drive, format: &DriveFormat) -> io::Result<()> {
    reset_tmp_area(drive)?;
    drive.write_atomic(Path::new(FORMAT_FILE), &format.encode())
}

/// Whether a running drive is usable: its format file is readable and names
/// this deployment, this position and this drive count (a folder swapped for
/// another drive's or for an empty one is not). Blocking.
pub fn drive_matches(
    drive: &dyn Drive,
    deployment_id: Uuid,
    position: usize,
    drive_count: usize,
) -> bool {
    match probe(drive) {
        Probe::Formatted(format) => {
            format.deployment_id == deployment_id
                && format.position == position
                && format.drive_count == drive_count
        }
        Probe::Empty | Probe::Offline(_) => false,
    }
}

/// Checks every drive, formats empty ones, wipes tmp areas. Refuses drives
/// of another deployment or in the wrong position. Blocking.
/// Every drive goes through `backend`, then (with a `timeout`) through a
/// [`DeadlineDrive`]; files and folders get the drive modes.
#[cfg(test)]
pub fn prepare_drives(
    paths: &[PathBuf],
    read_quorum: usize,
    backend: &DriveBackend,
    timeout: Option<Duration>,
) -> Result<Vec<DriveSlot>, StoreError> {
    let drives = open_drives(paths, backend, timeout);
    prepare_opened(paths, &drives, read_quorum)
}

/// The drives of `paths` through `backend`, then (with a `timeout`) through
/// a [`DeadlineDrive`].
pub fn open_drives(
    paths: &[PathBuf],
    backend: &DriveBackend,
    timeout: Option<Duration>,
) -> Vec<Arc<dyn Drive>> {
    paths
        .iter()
        .enumerate()
        .map(|(position, path)| {
            let drive = backend.open(position, path.clone());
            match timeout {
                Some(deadline) => Arc::new(DeadlineDrive::new(drive, deadline)) as Arc<dyn Drive>,
                None => drive,
            }
        })
        .collect()
}

/// [`prepare_drives`] of drives already opened (by [`open_drives`]), so a
/// second attempt after a missed deadline sees the same stalled drives.
pub fn prepare_opened(
    paths: &[PathBuf],
    drives: &[Arc<dyn Drive>],
    read_quorum: usize,
) -> Result<Vec<DriveSlot>, StoreError> {
    // A brand-new deployment whose folders do not exist yet: create them.
    // Later, a missing drive folder whose parent exists is re-created (and
    // formatted fresh, to be healed), as MinIO does; one whose parent is
    // missing too (an unmounted disk) stays offline.
    let brand_new = paths.iter().all(|p| !p.exists());
    for path in paths {
        if path.exists() {
            continue;
        }
        let parent_exists = path.parent().is_some_and(Path::is_dir);
        if brand_new {
            crate::drive::create_dir_all(path).map_err(|err| StoreError::DriveConfig {
                drive: path.display().to_string(),
                message: format!("cannot create the drive folder: {err}"),
            })?;
        } else if parent_exists {
            if let Err(err) = crate::drive::create_dir_all(path) {
                tracing::warn!(drive = %path.display(), "cannot re-create drive folder: {err}");
            }
        }
    }
    let probes: Vec<Probe> = drives.iter().map(|d| probe(d.as_ref())).collect();

    // The deployment is the one most formatted drives belong to.
    let mut deployments: Vec<(Uuid, usize)> = Vec::new();
    for probe in &probes {
        if let Probe::Formatted(format) = probe {
            match deployments
                .iter_mut()
                .find(|(id, _)| *id == format.deployment_id)
            {
                Some((_, count)) => *count += 1,
                None => deployments.push((format.deployment_id, 1)),
            }
        }
    }
    deployments.sort_by_key(|d| std::cmp::Reverse(d.1));
    let existing = deployments.first().map(|(id, _)| *id);
    let deployment_id = existing.unwrap_or_else(Uuid::new_v4);
    // Formatting empty drives beside too few formatted ones would start a
    // deployment that cannot tell which data is current (and would answer
    // "no such key" for objects that live on the missing drives): refuse, as
    // MinIO does when more drives than parity are unformatted.
    if let Some((_, formatted)) = deployments.first() {
        let would_format = probes.iter().any(|p| matches!(p, Probe::Empty));
        if *formatted < read_quorum && would_format {
            let missing: Vec<String> = paths
                .iter()
                .zip(&probes)
                .filter(
                    |(_, p)| !matches!(p, Probe::Formatted(f) if f.deployment_id == deployment_id),
                )
                .map(|(path, _)| path.display().to_string())
                .collect();
            return Err(StoreError::DriveConfig {
                drive: missing.join(", "),
                message: format!(
                    "only {formatted} of {} drives carry this deployment's format (deployment \
                     {deployment_id}); at least {read_quorum} are needed to start. Restore the \
                     original drives (a wrong mount or path?) before starting",
                    paths.len()
                ),
            });
        }
    }

    let mut slots = Vec::with_capacity(drives.len());
    for (position, (drive, probe)) in drives.iter().cloned().zip(probes).enumerate() {
        let name = drive.root().display().to_string();
        let refuse = |message: String| StoreError::DriveConfig {
            drive: name.clone(),
            message,
        };
        let (online, fresh, problem) = match probe {
            Probe::Formatted(format) => {
                if format.deployment_id != deployment_id {
                    return Err(refuse(format!(
                        "belongs to another deployment ({}; the other drives belong to {}). \
                         Point minnow at this deployment's drives, or empty this folder to \
                         reuse it as a replacement drive",
                        format.deployment_id, deployment_id
                    )));
                }
                if format.drive_count != paths.len() {
                    return Err(refuse(format!(
                        "was formatted for a set of {} drives but {} are configured; \
                         configure the original drive list",
                        format.drive_count,
                        paths.len()
                    )));
                }
                if format.position != position {
                    return Err(refuse(format!(
                        "is drive {} of this deployment but is listed as drive {}; \
                         list the drives in their original order",
                        format.position + 1,
                        position + 1
                    )));
                }
                match reset_tmp_area(drive.as_ref()) {
                    Ok(()) => (true, false, None),
                    Err(err) => (
                        false,
                        false,
                        Some(format!("cannot clean its tmp area: {err}")),
                    ),
                }
            }
            Probe::Empty => match is_empty_folder(drive.as_ref()) {
                Ok(true) => {
                    let format = DriveFormat {
                        format: FORMAT_MAGIC.into(),
                        version: FORMAT_VERSION,
                        deployment_id,
                        drive_id: Uuid::new_v4(),
                        position,
                        drive_count: paths.len(),
                    };
                    match write_format(drive.as_ref(), &format) {
                        Ok(()) => (true, existing.is_some(), None),
                        Err(err) => (false, false, Some(format!("cannot be formatted: {err}"))),
                    }
                }
                Ok(false) => {
                    return Err(refuse(
                        "is not empty and has no minnow format file; point minnow at an \
                         empty folder or at a drive of this deployment"
                            .into(),
                    ))
                }
                Err(err) => (false, false, Some(format!("cannot be listed: {err}"))),
            },
            Probe::Offline(why) => (false, false, Some(why)),
        };
        if let Some(problem) = &problem {
            tracing::warn!(drive = %name, "drive offline: {problem}");
        } else {
            match drive.fix_modes() {
                Ok(0) => {}
                Ok(changed) => {
                    tracing::info!(drive = %name, changed, "made drive files 0600 and folders 0700")
                }
                Err(err) => tracing::warn!(drive = %name, "cannot set drive file modes: {err}"),
            }
        }
        slots.push(DriveSlot {
            drive,
            online,
            fresh,
            problem,
            deployment_id,
        });
    }
    let online = slots.iter().filter(|s| s.online).count();
    if online < read_quorum {
        let problems: Vec<String> = slots
            .iter()
            .filter_map(|s| {
                s.problem
                    .as_ref()
                    .map(|p| format!("{} {p}", s.drive.root().display()))
            })
            .collect();
        return Err(StoreError::ReadQuorum {
            online,
            needed: read_quorum,
        })
        .inspect_err(|_| {
            tracing::error!("cannot start: {}", problems.join("; "));
        });
    }
    Ok(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAT_V1_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/drive-format-v1.json");

    fn sample_format() -> DriveFormat {
        DriveFormat {
            format: FORMAT_MAGIC.into(),
            version: FORMAT_VERSION,
            deployment_id: Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888),
            drive_id: Uuid::from_u128(0x9999_aaaa_bbbb_cccc_dddd_eeee_ffff_0000),
            position: 2,
            drive_count: 4,
        }
    }

    #[test]
    fn drive_format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(FORMAT_V1_FIXTURE).expect("fixture present");
        let format = DriveFormat::decode(&bytes).unwrap();
        assert_eq!(format.format, "minnow-drive");
        assert_eq!(format.version, 1);
        assert_eq!(
            format.deployment_id.to_string(),
            "11112222-3333-4444-5555-666677778888"
        );
        assert_eq!(
            format.drive_id.to_string(),
            "9999aaaa-bbbb-cccc-dddd-eeeeffff0000"
        );
        assert_eq!(format.position, 2);
        assert_eq!(format.drive_count, 4);
        assert_eq!(format, sample_format());
    }

    /// Writes the fixture; run once by hand when a new format version is
    /// introduced (never overwrite an old version's fixture).
    #[test]
    #[ignore]
    fn write_drive_format_v1_fixture() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).unwrap();
        std::fs::write(FORMAT_V1_FIXTURE, sample_format().encode()).unwrap();
    }

    #[test]
    fn newer_drive_format_version_is_refused_by_its_version() {
        // A later version may reshape the file (here: no drive_id, a new
        // field); the error names the version, not a missing field.
        let newer = br#"{"format":"minnow-drive","version":2,"deployment_id":"11112222-3333-4444-5555-666677778888","position":0,"drive_count":4,"pools":[]}"#;
        let err = DriveFormat::decode(newer).unwrap_err();
        assert!(err.contains("format version 2 is not supported"), "{err}");
        let not_ours = br#"{"format":"xl","version":1}"#;
        let err = DriveFormat::decode(not_ours).unwrap_err();
        assert!(err.contains("not a minnow drive format"), "{err}");

        // At start-up such a drive is offline with that reason, never formatted over.
        let dir = tempfile::tempdir().unwrap();
        let drive = crate::drive::LocalDrive::new(dir.path().to_path_buf());
        std::fs::create_dir_all(dir.path().join(SYS_DIR)).unwrap();
        std::fs::write(dir.path().join(FORMAT_FILE), newer).unwrap();
        match probe(&drive) {
            Probe::Offline(why) => assert!(why.contains("format version 2"), "{why}"),
            _ => panic!("a drive of a newer format must be offline"),
        }
        assert_eq!(std::fs::read(dir.path().join(FORMAT_FILE)).unwrap(), newer);
    }

    fn paths(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| dir.join(format!("d{i}"))).collect()
    }

    #[test]
    fn new_deployment_creates_and_formats_all_drives() {
        let dir = tempfile::tempdir().unwrap();
        let drives = paths(dir.path(), 4);
        let slots = prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        assert!(slots.iter().all(|s| s.online && !s.fresh));
        let formats: Vec<DriveFormat> = drives
            .iter()
            .map(|p| DriveFormat::decode(&std::fs::read(p.join(FORMAT_FILE)).unwrap()).unwrap())
            .collect();
        assert!(formats
            .iter()
            .all(|f| f.deployment_id == formats[0].deployment_id));
        assert_eq!(formats[3].position, 3);
        // A second start accepts the same drives.
        prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
    }

    #[test]
    fn swapped_drives_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut drives = paths(dir.path(), 4);
        prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        drives.swap(0, 1);
        let err = prepare_drives(&drives, 2, &DriveBackend::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("d1") && err.contains("original order"),
            "{err}"
        );
    }

    #[test]
    fn drive_of_another_deployment_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = paths(&dir.path().join("a"), 4);
        let second = paths(&dir.path().join("b"), 4);
        prepare_drives(&first, 2, &DriveBackend::default(), None).unwrap();
        prepare_drives(&second, 2, &DriveBackend::default(), None).unwrap();
        let mixed = vec![
            first[0].clone(),
            first[1].clone(),
            first[2].clone(),
            second[3].clone(),
        ];
        let err = prepare_drives(&mixed, 2, &DriveBackend::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("another deployment"), "{err}");
    }

    #[test]
    fn replaced_empty_drive_is_formatted_as_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let drives = paths(dir.path(), 4);
        prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        std::fs::remove_dir_all(&drives[2]).unwrap();
        std::fs::create_dir(&drives[2]).unwrap();
        let slots = prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        assert!(slots[2].online && slots[2].fresh);
        assert!(!slots[0].fresh);
    }

    #[test]
    fn missing_drive_folder_comes_back_fresh_unless_its_parent_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let drives: Vec<PathBuf> = (0..4)
            .map(|i| dir.path().join(format!("m{i}")).join("data"))
            .collect();
        prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        std::fs::remove_dir_all(&drives[1]).unwrap();
        let slots = prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        assert!(slots[1].online && slots[1].fresh);
        std::fs::remove_dir_all(drives[2].parent().unwrap()).unwrap();
        let slots = prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        assert!(!slots[2].online);
        assert!(
            !drives[2].exists(),
            "a drive under a vanished mount is not re-created"
        );
        std::fs::remove_dir_all(drives[0].parent().unwrap()).unwrap();
        std::fs::remove_dir_all(drives[3].parent().unwrap()).unwrap();
        assert!(matches!(
            prepare_drives(&drives, 2, &DriveBackend::default(), None),
            Err(StoreError::ReadQuorum { .. })
        ));
    }

    #[test]
    fn too_few_formatted_drives_beside_empty_ones_refuse_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let drives = paths(dir.path(), 4);
        prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        // Three drives come back empty (wrong mounts, say): formatting them
        // would hide the one drive that still has the data.
        for d in &drives[1..] {
            std::fs::remove_dir_all(d).unwrap();
            std::fs::create_dir(d).unwrap();
        }
        let err = prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap_err();
        assert!(matches!(err, StoreError::DriveConfig { .. }), "{err}");
        assert!(err.to_string().contains("only 1 of 4"), "{err}");
        // Up to parity empty drives are fine: they are formatted fresh and healed.
        let dir2 = tempfile::tempdir().unwrap();
        let drives2 = paths(dir2.path(), 4);
        prepare_drives(&drives2, 2, &DriveBackend::default(), None).unwrap();
        for d in &drives2[2..] {
            std::fs::remove_dir_all(d).unwrap();
            std::fs::create_dir(d).unwrap();
        }
        let slots = prepare_drives(&drives2, 2, &DriveBackend::default(), None).unwrap();
        assert!(slots[2].fresh && slots[3].fresh);
    }

    #[test]
    fn non_empty_unformatted_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let drives = paths(dir.path(), 4);
        prepare_drives(&drives, 2, &DriveBackend::default(), None).unwrap();
        std::fs::remove_dir_all(&drives[0]).unwrap();
        std::fs::create_dir(&drives[0]).unwrap();
        std::fs::write(drives[0].join("precious.txt"), b"x").unwrap();
        let err = prepare_drives(&drives, 2, &DriveBackend::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not empty"), "{err}");
    }
}
