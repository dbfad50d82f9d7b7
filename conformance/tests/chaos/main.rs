//! Durability under faults, black-box against the real `minnow` binary: a seeded chaos campaign
//! (SIGKILL, wiped drive folders, bit flips and restarts while clients write, full heals between
//! damage) checked against a model of acknowledged state, and a `tar` backup taken under write
//! load and restored into fresh folders.
//!
//! `MINNOW_CHAOS_SEED` replays a campaign's choices; `MINNOW_CHAOS_MINUTES` sets its length
//! (`make chaos MINUTES=N`).

mod backup;
mod bitrot_heal;
mod campaign;
mod checks;
mod faults;
mod model;
mod workload;
