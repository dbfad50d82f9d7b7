//! What the campaign does to a stopped server's drive folders (wipe one, flip bits in its shard
//! and metadata files), the temporary-file check, and the explicit full heal through the
//! `minnow heal` CLI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conformance::{TestServer, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
use rand::rngs::StdRng;
use rand::Rng;

/// The per-drive area of in-flight writes; garbage once nothing is in flight.
const TMP_DIR: &str = ".minnow.sys/tmp";

/// Removes everything a drive folder holds, or the folder itself (a missing folder whose parent
/// exists is re-created and formatted at start-up; an emptied one is formatted too).
pub fn wipe_drive(drive: &Path, remove_folder: bool) -> std::io::Result<()> {
    if remove_folder {
        return std::fs::remove_dir_all(drive);
    }
    for entry in std::fs::read_dir(drive)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Files a bit flip may hit: object metadata, shards and segment names under the bucket
/// folders, bucket records and settings, multipart uploads and system blobs. Not the drive's
/// format file (damaging it takes the whole drive offline, which a wipe already covers), not
/// in-flight temporaries and not missed-write markers.
fn flippable_files(drive: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![drive.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(drive).unwrap_or(&path).to_path_buf();
            let relative = relative.to_string_lossy();
            if relative.starts_with(".minnow.sys")
                && relative != ".minnow.sys"
                && ![
                    ".minnow.sys/buckets",
                    ".minnow.sys/multipart",
                    ".minnow.sys/config",
                ]
                .iter()
                .any(|area| relative.starts_with(area))
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Flips one to three random bits in a random share (at least one) of a drive's files.
/// Returns how many files were damaged.
pub fn flip_bits(drive: &Path, rng: &mut StdRng) -> std::io::Result<usize> {
    let files = flippable_files(drive);
    if files.is_empty() {
        return Ok(0);
    }
    let share: f64 = rng.gen_range(0.05..0.5);
    let forced = rng.gen_range(0..files.len());
    let mut damaged = 0;
    for (index, file) in files.iter().enumerate() {
        if index != forced && !rng.gen_bool(share) {
            continue;
        }
        let mut bytes = std::fs::read(file)?;
        if bytes.is_empty() {
            continue;
        }
        for _ in 0..rng.gen_range(1..=3) {
            let offset = rng.gen_range(0..bytes.len());
            bytes[offset] ^= 1 << rng.gen_range(0..8);
        }
        std::fs::write(file, &bytes)?;
        damaged += 1;
    }
    Ok(damaged)
}

/// Files left in the temporary areas of the drives.
pub fn temporary_files(drives: &[PathBuf]) -> Vec<PathBuf> {
    let mut left = Vec::new();
    for drive in drives {
        let mut stack = vec![drive.join(TMP_DIR)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path.clone());
                }
                left.push(path);
            }
        }
    }
    left
}

/// Polls until no temporary file is left (a heal in the background may still hold one for a
/// moment); returns what is left after a generous deadline.
pub fn wait_for_no_temporary_files(drives: &[PathBuf]) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = temporary_files(drives);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The `minnow` binary the servers run (the CLI is the same executable).
pub fn minnow_binary() -> PathBuf {
    match std::env::var("MINNOW_BIN") {
        Ok(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/minnow"),
    }
}

/// Outcome of one `minnow heal` run.
pub struct HealRun {
    pub complete: bool,
    pub output: String,
}

fn heal_command(server: &TestServer) -> Command {
    let mut command = Command::new(minnow_binary());
    command
        .args(["heal", "--json", "--endpoint", server.endpoint()])
        .env("MINNOW_ROOT_USER", TEST_ROOT_USER)
        .env("MINNOW_ROOT_PASSWORD", TEST_ROOT_PASSWORD);
    command
}

/// Waits (`minnow heal --wait`, up to 120 s) until the server's background heal made
/// redundancy full again, e.g. the start-up heal of a copy taken from a running server.
pub fn wait_for_background_heal(server: &TestServer) -> HealRun {
    let mut command = Command::new(minnow_binary());
    command
        .args(["heal", "--wait", "--timeout", "120", "--json"])
        .args(["--endpoint", server.endpoint()])
        .env("MINNOW_ROOT_USER", TEST_ROOT_USER)
        .env("MINNOW_ROOT_PASSWORD", TEST_ROOT_PASSWORD);
    match command.output() {
        Ok(output) => HealRun {
            complete: output.status.success(),
            output: format!(
                "{} {}",
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        },
        Err(error) => HealRun {
            complete: false,
            output: format!("could not run {}: {error}", minnow_binary().display()),
        },
    }
}

/// Starts a full heal without waiting for it (to crash the server under it).
pub fn start_full_heal(server: &TestServer) -> std::io::Result<Child> {
    heal_command(server)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Runs the full heal (`minnow heal --json`, every bucket) against `server` and waits for it.
pub fn full_heal(server: &TestServer) -> HealRun {
    let output = heal_command(server).output();
    match output {
        Ok(output) => HealRun {
            complete: output.status.success(),
            output: format!(
                "{} {}",
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        },
        Err(error) => HealRun {
            complete: false,
            output: format!("could not run {}: {error}", minnow_binary().display()),
        },
    }
}

/// The drive-fault build of the server (`cargo build -p minnow --features fault-injection
/// --bin minnow-faulty`, which `make chaos` runs), when it was built.
pub fn faulty_binary() -> Option<PathBuf> {
    let path = match std::env::var("MINNOW_FAULTY_BIN") {
        Ok(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/minnow-faulty"),
    };
    path.exists().then_some(path)
}

/// One drive fault the campaign switches on for a round, through the server's drive seam
/// (`minnow-faulty`'s plan file, `minnow/src/fault_plan.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveFault {
    ReadEio,
    WriteEio,
    FsyncEio,
    RenameEio,
    NoSpace,
    TornWrite,
    Latency,
    Hang,
}

impl DriveFault {
    pub const ALL: [DriveFault; 8] = [
        DriveFault::ReadEio,
        DriveFault::WriteEio,
        DriveFault::FsyncEio,
        DriveFault::RenameEio,
        DriveFault::NoSpace,
        DriveFault::TornWrite,
        DriveFault::Latency,
        DriveFault::Hang,
    ];

    /// The plan's `OP FAULT` words.
    fn rule(self) -> &'static str {
        match self {
            DriveFault::ReadEio => "read eio",
            DriveFault::WriteEio => "write eio",
            DriveFault::FsyncEio => "fsync eio",
            DriveFault::RenameEio => "rename eio",
            DriveFault::NoSpace => "write enospc",
            DriveFault::TornWrite => "write torn",
            DriveFault::Latency => "all latency=30ms",
            DriveFault::Hang => "all hang",
        }
    }

    /// The summary's name for it.
    pub fn label(self) -> &'static str {
        match self {
            DriveFault::ReadEio => "drive fault: EIO on read",
            DriveFault::WriteEio => "drive fault: EIO on write",
            DriveFault::FsyncEio => "drive fault: EIO on fsync",
            DriveFault::RenameEio => "drive fault: EIO on rename",
            DriveFault::NoSpace => "drive fault: ENOSPC on write",
            DriveFault::TornWrite => "drive fault: torn write",
            DriveFault::Latency => "drive fault: 30 ms latency",
            DriveFault::Hang => "drive fault: hang",
        }
    }

    /// Whether writes may miss the drive (then it counts as damaged until a heal).
    pub fn loses_writes(self) -> bool {
        // EIO on read takes the drive offline (it no longer proves its
        // format), so it misses every write until it is back and healed.
        !matches!(self, DriveFault::Latency)
    }
}

/// The plan file a `minnow-faulty` server follows.
pub struct FaultPlan {
    path: PathBuf,
    generation: u64,
}

impl FaultPlan {
    pub fn new(dir: &Path) -> Self {
        let plan = FaultPlan {
            path: dir.join("faults.plan"),
            generation: 0,
        };
        std::fs::write(&plan.path, "generation 0\n").expect("writing the fault plan");
        plan
    }

    /// The server's environment: the plan, and a short drive deadline so that a hung drive
    /// goes offline within a round (MinIO's default of 30 s would stall every request).
    pub fn server_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "MINNOW_FAULT_PLAN".to_string(),
                self.path.display().to_string(),
            ),
            ("MINNOW_DRIVE_MAX_TIMEOUT".to_string(), "3s".to_string()),
        ]
    }

    /// Replaces the plan with `faults` (drive position, fault) and waits until the running
    /// server applied it (polled, 60 s).
    pub fn set(&mut self, faults: &[(usize, DriveFault)]) -> anyhow::Result<()> {
        self.generation += 1;
        let mut text = format!("generation {}\n", self.generation);
        for (drive, fault) in faults {
            text.push_str(&format!("{drive} {}\n", fault.rule()));
        }
        let staged = self.path.with_extension("staged");
        std::fs::write(&staged, text)?;
        std::fs::rename(&staged, &self.path)?;
        let applied = self.path.with_extension("plan.applied");
        let expected = format!("generation {}\n", self.generation);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::fs::read_to_string(&applied).is_ok_and(|t| t == expected) {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("the server did not apply fault plan {}", self.generation);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
