//! `minnow` with drive fault injection for the chaos campaign: the same
//! command, whose server honours `MINNOW_FAULT_PLAN` (`fault_plan.rs`).
//! Built only with the `fault-injection` feature (`make chaos`); never
//! shipped.

include!("../command.rs");
