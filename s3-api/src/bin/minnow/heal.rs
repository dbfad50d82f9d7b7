//! `minnow heal`: healing drives and objects from the command line. Not written yet: it
//! accepts any arguments, says so, and exits with status 2.

use std::process::ExitCode;

/// Arguments of `minnow heal` (taken verbatim until the command exists).
#[derive(Debug, clap::Args)]
pub struct HealArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(_args: HealArgs) -> ExitCode {
    eprintln!("minnow heal: not yet implemented");
    ExitCode::from(2)
}
