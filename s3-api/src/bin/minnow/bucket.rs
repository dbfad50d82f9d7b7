//! `minnow bucket`: bucket management (mb, rb, ls, policy, lifecycle) from the command line. Not written yet: it
//! accepts any arguments, says so, and exits with status 2.

use std::process::ExitCode;

/// Arguments of `minnow bucket` (taken verbatim until the command exists).
#[derive(Debug, clap::Args)]
pub struct BucketArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(_args: BucketArgs) -> ExitCode {
    eprintln!("minnow bucket: not yet implemented");
    ExitCode::from(2)
}
