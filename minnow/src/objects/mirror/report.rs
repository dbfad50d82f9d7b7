//! What a mirror shows as it goes: the progress bar and the lines it prints.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Output;

/// Bytes of one object moved so far, shown on the progress bar as the
/// parts go, so a single large object still shows a rate and an ETA.
pub(super) struct Meter {
    pub(super) bar: Option<indicatif::ProgressBar>,
    pub(super) counted: AtomicU64,
}

impl Meter {
    pub(super) fn add(&self, bytes: u64) {
        self.counted.fetch_add(bytes, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}

/// An error as one line: its causes joined, whitespace collapsed.
pub fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn print_line(
    bar: &Option<indicatif::ProgressBar>,
    stdout: &mut std::io::StdoutLock<'_>,
    text: &str,
) {
    match bar {
        Some(bar) => bar.suspend(|| {
            let _ = writeln!(stdout, "{}", super::super::printable(text));
        }),
        None => {
            let _ = writeln!(stdout, "{}", super::super::printable(text));
        }
    }
}

/// A bytes bar with rate and ETA, only when a person watches stderr.
pub(super) fn progress_bar(total: u64, output: Output) -> Option<indicatif::ProgressBar> {
    crate::objects::progress::bytes_bar(total, output.quiet, output.json)
}
