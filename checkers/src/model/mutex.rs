//! `mutex`: Knossos's lock, acquired and released, nothing else.
//!
//! The semantics are those of Knossos's `mutex` model (`knossos.model/mutex`), which Jepsen's
//! lock tests check:
//! - `acquire`: valid only while the mutex is free; it is then held.
//! - `release`: valid only while the mutex is held; it is then free.
//!
//! The mutex does not know who holds it: Knossos checks no ownership, so a release by a process
//! that never acquired the mutex is valid while someone holds it, and two acquires by the same
//! process without a release in between are not. Values are ignored (Jepsen writes nil; an ok
//! acquire may carry anything). A `fail` acquire or release did not take effect and is dropped,
//! like every failed operation; an `info` one may take effect at any later point, or never.
//! Histories that need fencing tokens, or leases that expire, use `lock` and `lease` instead.
//!
//! No search hints: the state is one bit, so memoization alone keeps the search small.

use super::{unknown_function, Model};
use crate::history::Operation;

/// Knossos's mutex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mutex;

/// A mutex operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexOp {
    Acquire,
    Release,
}

impl Model for Mutex {
    type Op = MutexOp;
    /// Whether the mutex is held.
    type State = bool;

    fn name(&self) -> &'static str {
        "mutex"
    }

    fn init(&self) -> bool {
        false
    }

    fn compile(&self, op: &Operation) -> Result<MutexOp, String> {
        match op.f.as_str() {
            "acquire" => Ok(MutexOp::Acquire),
            "release" => Ok(MutexOp::Release),
            f => unknown_function(self.name(), f, "acquire or release"),
        }
    }

    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn describe_op(&self, op: &MutexOp) -> String {
        match op {
            MutexOp::Acquire => "acquire".into(),
            MutexOp::Release => "release".into(),
        }
    }

    fn describe_state(&self, held: &bool) -> String {
        if *held { "held" } else { "free" }.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Value;
    use crate::model::testing::{info, ok};

    fn run(ops: &[MutexOp]) -> Option<bool> {
        ops.iter().try_fold(Mutex.init(), |s, op| Mutex.step(&s, op))
    }

    #[test]
    fn acquire_needs_free_and_release_needs_held() {
        use MutexOp::{Acquire, Release};
        assert_eq!(run(&[Acquire, Release, Acquire]), Some(true));
        assert_eq!(run(&[Acquire, Acquire]), None, "acquired while held");
        assert_eq!(run(&[Release]), None, "released while free");
        assert_eq!(run(&[Acquire, Release, Release]), None);
    }

    #[test]
    fn compiles_acquire_and_release_whatever_their_values() {
        assert_eq!(Mutex.compile(&ok("acquire", Value::Nil, 7.into())).unwrap(), MutexOp::Acquire);
        assert_eq!(Mutex.compile(&info("release", "x".into())).unwrap(), MutexOp::Release);
        assert!(Mutex
            .compile(&ok("read", Value::Nil, Value::Nil))
            .unwrap_err()
            .contains("acquire or release"));
    }
}
