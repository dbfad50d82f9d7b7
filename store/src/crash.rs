//! Named crash points for crash-consistency tests. With the `test-util`
//! feature and `MINNOW_CRASH_POINT=<name>` in the environment, reaching the
//! point aborts the process; otherwise it compiles to nothing.

/// Aborts the process if `MINNOW_CRASH_POINT` names this point.
#[inline(always)]
pub fn hit(_name: &str) {
    #[cfg(feature = "test-util")]
    if std::env::var("MINNOW_CRASH_POINT").as_deref() == Ok(_name) {
        std::process::abort();
    }
}

/// `crash_point!("after_shard_fsync")`: see the module docs.
macro_rules! crash_point {
    ($name:literal) => {
        $crate::crash::hit($name)
    };
}
pub(crate) use crash_point;
