//! The progress bar of the long object commands (`cp`, `mirror`): bytes
//! moved with rate and ETA on stderr, only when a person watches it (a
//! terminal) and the output is not `--quiet` or `--json`.

use std::io::IsTerminal as _;

/// A bytes bar counting to `total`, or `None` when nobody would see it.
pub fn bytes_bar(total: u64, quiet: bool, json: bool) -> Option<indicatif::ProgressBar> {
    if quiet || json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
