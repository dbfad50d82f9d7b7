//! Telling "this drive says it is not there" from "this drive cannot
//! answer". A drive folder that vanished (or lost its format file) makes
//! every path under it look absent; counting that as absence turns a lost
//! read quorum into `NoSuchKey` or an empty listing. So a `NotFound` only
//! counts as absence once the drive proved it still answers: the folder the
//! path lives in (the bucket root) exists, or its format file still names
//! this deployment and position. Drives that fail that check are reported
//! as gone, and the caller takes them offline; `drive_status` brings them
//! back once their format matches again.

use std::io;
use std::path::Path;

use uuid::Uuid;

use crate::drive::Drive;
use crate::meta::MetaError;
use crate::quorum::DriveRead;

/// What the blocking side of a read needs to judge a drive's answers.
#[derive(Debug, Clone)]
pub(crate) struct AnswerCheck {
    pub deployment_id: Uuid,
    pub drive_count: usize,
    /// Formatted empty at this start: until the heal copies a bucket there,
    /// its missing bucket root is a genuine "nothing here", not damage.
    pub fresh: Vec<bool>,
}

impl AnswerCheck {
    /// Whether the drive still is the drive at `position` of this
    /// deployment (the same test `drive_status` applies). A shortage of the
    /// process's own (file descriptors, memory) says nothing about the
    /// drive: such a drive is not condemned, or a burst of load would take
    /// every drive offline.
    pub fn drive_answers(&self, drive: &dyn Drive, position: usize) -> bool {
        if let Err(err) = drive.read_file(Path::new(crate::layout::FORMAT_FILE)) {
            if is_process_shortage(&err) {
                return true;
            }
        }
        crate::format::drive_matches(drive, self.deployment_id, position, self.drive_count)
    }

    /// Whether the drive can answer for paths under `anchor` (a bucket
    /// root): the folder exists, or it is missing on a fresh drive that
    /// still answers. A drive that no longer answers at all is pushed to
    /// `gone`.
    pub fn answers_under(
        &self,
        drive: &dyn Drive,
        position: usize,
        anchor: &Path,
        gone: &mut Vec<usize>,
    ) -> bool {
        if matches!(drive.exists(anchor), Ok(true)) {
            return true;
        }
        if !self.drive_answers(drive, position) {
            gone.push(position);
            return false;
        }
        self.fresh.get(position).copied().unwrap_or(false)
    }

    /// One drive's read of a record under `anchor`, with `NotFound` counted
    /// as absence only when the drive answers for `anchor`, and any other
    /// I/O error checked against the drive (review #10): a drive that no
    /// longer answers is pushed to `gone`.
    pub fn judge<T>(
        &self,
        drive: &dyn Drive,
        position: usize,
        anchor: &Path,
        result: io::Result<Result<T, MetaError>>,
        gone: &mut Vec<usize>,
    ) -> DriveRead<T> {
        match result {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if self.answers_under(drive, position, anchor, gone) {
                    DriveRead::NotFound
                } else {
                    DriveRead::Failed
                }
            }
            Err(_) => {
                if !self.drive_answers(drive, position) {
                    gone.push(position);
                }
                DriveRead::Failed
            }
            other => DriveRead::from_io(other),
        }
    }
}

/// Errors that come from this process's limits rather than from the drive.
fn is_process_shortage(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EINTR | libc::EAGAIN)
    )
}
