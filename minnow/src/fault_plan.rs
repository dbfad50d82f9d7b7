//! Drive faults from a plan file, for the chaos campaign: only in builds
//! with the `fault-injection` feature (the `minnow-faulty` binary, which
//! `make chaos` builds); the `minnow` binary has none of this code.
//!
//! `MINNOW_FAULT_PLAN=<file>` puts every drive behind the store's faulty
//! backend (`store::faulty`, the same seam the store's own fault tests use)
//! and a thread re-reads the file every 50 ms. When its content changes,
//! every fault is cleared (hung operations run) and the file's rules apply,
//! one per line, `DRIVE OP FAULT` (drive position from 0):
//!
//! ```text
//! generation 7
//! 1 write eio
//! 2 fsync enospc
//! 3 all latency=20ms
//! 0 read hang
//! ```
//!
//! OP is open, create, read, write, fsync, rename, remove, list, mkdir,
//! stat or all; FAULT is eio, enospc, torn, bitflip, latency=<ms>ms or hang.
//! Once applied, the thread writes the plan's `generation` line to
//! `<file>.applied`, so the driver knows when faults are on (or off).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use store::faulty::{Fault, Faults, Op};
use store::DriveBackend;

/// How often the plan file is read.
const POLL: Duration = Duration::from_millis(50);

/// The faulty backend and its plan-watching thread, when
/// `MINNOW_FAULT_PLAN` names a file.
pub(crate) fn backend_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    drives: usize,
) -> anyhow::Result<Option<DriveBackend>> {
    let Some(plan) = env("MINNOW_FAULT_PLAN").filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let plan = PathBuf::from(plan);
    let faults: Vec<Arc<Faults>> = (0..drives).map(|_| Arc::default()).collect();
    // The first plan applies before the store opens its drives.
    let mut last = None;
    apply_if_changed(&plan, &faults, &mut last)?;
    tracing::warn!(plan = %plan.display(), "fault injection: drive faults follow the plan file");
    let watched = faults.clone();
    std::thread::Builder::new()
        .name("fault-plan".into())
        .spawn(move || loop {
            std::thread::sleep(POLL);
            if let Err(err) = apply_if_changed(&plan, &watched, &mut last) {
                tracing::warn!(plan = %plan.display(), "fault plan not applied: {err:#}");
            }
        })
        .context("starting the fault plan thread")?;
    Ok(Some(store::faulty::backend(faults)))
}

/// Applies the plan when its content differs from `last` (a missing file is
/// an empty plan).
fn apply_if_changed(
    plan: &Path,
    faults: &[Arc<Faults>],
    last: &mut Option<String>,
) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(plan) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err.into()),
    };
    if last.as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    let (generation, rules) = parse(&text, faults.len())?;
    for drive in faults {
        drive.clear();
    }
    for (drive, op, fault) in &rules {
        match op {
            Some(op) => faults[*drive].inject(*op, *fault),
            None => faults[*drive].inject_all(*fault),
        }
    }
    tracing::info!(generation, rules = rules.len(), "fault plan applied");
    let mut applied = plan.as_os_str().to_owned();
    applied.push(".applied");
    std::fs::write(PathBuf::from(applied), format!("generation {generation}\n"))?;
    *last = Some(text);
    Ok(())
}

/// A rule: drive position, operation kind (None: all), fault.
type Rule = (usize, Option<Op>, Fault);

fn parse(text: &str, drives: usize) -> anyhow::Result<(u64, Vec<Rule>)> {
    let mut generation = 0;
    let mut rules = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["generation", number] => {
                generation = number.parse().context("generation is a number")?;
            }
            [drive, op, fault] => {
                let drive: usize = drive.parse().context("drive position")?;
                if drive >= drives {
                    bail!("drive {drive}: there are {drives} drives");
                }
                rules.push((drive, parse_op(op)?, parse_fault(fault)?));
            }
            _ => bail!("expected `DRIVE OP FAULT`, got {line:?}"),
        }
    }
    Ok((generation, rules))
}

fn parse_op(word: &str) -> anyhow::Result<Option<Op>> {
    Ok(Some(match word {
        "all" => return Ok(None),
        "open" => Op::Open,
        "create" => Op::Create,
        "read" => Op::Read,
        "write" => Op::Write,
        "fsync" => Op::Fsync,
        "rename" => Op::Rename,
        "remove" => Op::Remove,
        "list" => Op::List,
        "mkdir" => Op::Mkdir,
        "stat" => Op::Stat,
        other => bail!("unknown operation {other:?}"),
    }))
}

fn parse_fault(word: &str) -> anyhow::Result<Fault> {
    Ok(match word {
        "eio" => Fault::Eio,
        "enospc" => Fault::NoSpace,
        "torn" => Fault::Torn,
        "bitflip" => Fault::BitFlip,
        "hang" => Fault::Hang,
        other => {
            let millis = other
                .strip_prefix("latency=")
                .and_then(|ms| ms.strip_suffix("ms"))
                .and_then(|ms| ms.parse().ok())
                .ok_or_else(|| anyhow!("unknown fault {other:?}"))?;
            Fault::Latency(Duration::from_millis(millis))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_names_drive_operation_and_fault() {
        let (generation, rules) =
            parse("generation 3\n1 write eio\n0 all latency=20ms\n\n3 fsync hang\n", 4).unwrap();
        assert_eq!(generation, 3);
        assert_eq!(
            rules,
            vec![
                (1, Some(Op::Write), Fault::Eio),
                (0, None, Fault::Latency(Duration::from_millis(20))),
                (3, Some(Op::Fsync), Fault::Hang),
            ]
        );
        assert!(parse("4 write eio", 4).is_err(), "no fifth drive");
        assert!(parse("1 write melt", 4).is_err());
        assert!(parse("1 write", 4).is_err());
    }
}
