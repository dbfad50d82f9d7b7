//! Health endpoints with MinIO's paths, for orchestrators and load
//! balancers: `/minio/health/live` (the process serves) and
//! `/minio/health/ready` / `/minio/health/cluster` (read and write quorum
//! hold right now).

use store::api::{DriveStatus, Maintenance};

/// Which health check a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheck {
    Live,
    Ready,
    Cluster,
}

impl HealthCheck {
    /// Maps a request path to a check; `None` for other paths.
    pub fn from_path(path: &str) -> Option<Self> {
        match path.trim_end_matches('/') {
            "/minio/health/live" => Some(Self::Live),
            "/minio/health/ready" => Some(Self::Ready),
            "/minio/health/cluster" | "/minio/health/cluster/read" => Some(Self::Cluster),
            _ => None,
        }
    }
}

/// Write quorum for a layout: data shards, plus one when data == parity.
pub fn write_quorum(data: usize, parity: usize) -> usize {
    if data == parity {
        data + 1
    } else {
        data
    }
}

/// Whether enough drives are online for both reads and writes.
pub fn quorum_holds(drives: &[DriveStatus], data: usize, parity: usize) -> bool {
    let online = drives.iter().filter(|d| d.online).count();
    online >= write_quorum(data, parity).max(data)
}

/// Evaluates a check: `true` → 200, `false` → 503. Drive state is re-read
/// on every call, so a vanished drive shows at the next probe.
pub async fn check<S: Maintenance>(store: &S, which: HealthCheck) -> bool {
    match which {
        HealthCheck::Live => true,
        HealthCheck::Ready | HealthCheck::Cluster => {
            let drives = store.drive_status().await;
            let (data, parity) = store.erasure_layout();
            quorum_holds(&drives, data, parity)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drives(online: &[bool]) -> Vec<DriveStatus> {
        online
            .iter()
            .enumerate()
            .map(|(i, &online)| DriveStatus {
                index: i,
                path: format!("/d{i}"),
                online,
                fresh: false,
                total_bytes: 0,
                free_bytes: 0,
            })
            .collect()
    }

    #[test]
    fn quorum_for_two_plus_two_needs_three_drives() {
        assert!(quorum_holds(&drives(&[true; 4]), 2, 2));
        assert!(quorum_holds(&drives(&[true, true, true, false]), 2, 2));
        assert!(!quorum_holds(&drives(&[true, true, false, false]), 2, 2));
        assert!(quorum_holds(&drives(&[true, true, true, false]), 3, 1));
        assert!(!quorum_holds(&drives(&[true, true, false, false]), 3, 1));
    }

    #[test]
    fn paths_map_to_checks() {
        assert_eq!(
            HealthCheck::from_path("/minio/health/live"),
            Some(HealthCheck::Live)
        );
        assert_eq!(
            HealthCheck::from_path("/minio/health/ready"),
            Some(HealthCheck::Ready)
        );
        assert_eq!(
            HealthCheck::from_path("/minio/health/cluster"),
            Some(HealthCheck::Cluster)
        );
        assert_eq!(HealthCheck::from_path("/bucket/key"), None);
    }
}
