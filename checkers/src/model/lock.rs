//! `lock` and `lease`: a lock service that hands out fencing tokens, and the resource it guards.
//!
//! Conventions:
//! - `acquire` -> ok `t`: grants the lock with fencing token `t` (an integer). Tokens must
//!   strictly increase from one grant to the next. An ok acquire with a nil value grants the
//!   lock without a token (Knossos's mutex histories), which leaves the token order alone. For `lock`, an acquire is only valid while
//!   the lock is free (mutual exclusion); for `lease`, an acquire is valid at any time (the
//!   previous holder's lease may have expired), and only the token order and the fencing below
//!   are checked.
//! - `release t` (or `release` with nil): frees the lock; valid only while it is held, and,
//!   with a token, only by the holder of the newest token.
//! - `write [t v]`: a write of `v` to the guarded resource, fenced with token `t`. The resource
//!   accepts it only when `t` is the newest token granted; a client that saw `fail` was
//!   rejected (the checker drops failed operations). An ok write with a stale token is
//!   therefore a violation: the fencing did not work.
//! - `read` -> ok `v`: reads the resource (nil before any write).
//!
//! An `info` acquire may have granted an unknown token; the model then remembers only a lower
//! bound for the newest token, and learns its exact value from the next write or release that
//! uses it. This keeps the Jepsen rule (an info operation may take effect at any time, or never)
//! without guessing tokens.

use super::{known_output, unknown_function, Model};
use crate::history::{Operation, Value};

/// The lock model; `lease` relaxes mutual exclusion (see the module header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    pub lease: bool,
}

/// The newest fencing token granted so far.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Newest {
    /// No token granted yet.
    None,
    Exact(i64),
    /// Granted by an acquire whose reply was lost: some token greater than `above`
    /// (any token when `None`).
    Unknown {
        above: Option<i64>,
    },
}

/// The lock and its resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockState {
    pub held: bool,
    pub newest: Newest,
    pub value: Value,
}

/// A lock operation; `None` outputs are unknown outcomes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockOp {
    /// `Some(Some(t))`: granted token `t`; `Some(None)`: granted without a token; `None`:
    /// outcome unknown.
    Acquire(Option<Option<i64>>),
    Release(Option<i64>),
    Write {
        token: i64,
        value: Value,
    },
    Read(Option<Value>),
}

impl Newest {
    /// Whether `t` may be granted after this token.
    fn allows_next(&self, t: i64) -> bool {
        match self {
            Newest::None => true,
            Newest::Exact(n) => t > *n,
            // The unknown token u > above, and t > u: t must exceed above by at least 2.
            Newest::Unknown { above } => above.is_none_or(|a| t as i128 > a as i128 + 1),
        }
    }

    /// The newest token after an acquire with an unknown reply.
    fn after_unknown_grant(&self) -> Newest {
        let above = match self {
            Newest::None => None,
            Newest::Exact(n) => Some(*n),
            Newest::Unknown { above } => above.map(|a| a.saturating_add(1)),
        };
        Newest::Unknown { above }
    }

    /// Whether `t` is (or may be) the newest token; the exact token once it is known.
    fn matches(&self, t: i64) -> Option<Newest> {
        match self {
            Newest::Exact(n) if *n == t => Some(Newest::Exact(t)),
            Newest::Unknown { above } if above.is_none_or(|a| t > a) => Some(Newest::Exact(t)),
            _ => None,
        }
    }
}

fn token(v: &Value, what: &str) -> Result<i64, String> {
    v.as_int().ok_or_else(|| format!("{what} must be an integer fencing token, got {v}"))
}

impl Lock {
    fn acquire(&self, s: &LockState, grant: Option<Option<i64>>) -> Option<LockState> {
        if s.held && !self.lease {
            return None;
        }
        let newest = match grant {
            Some(Some(t)) if s.newest.allows_next(t) => Newest::Exact(t),
            Some(Some(_)) => return None,
            Some(None) => s.newest.clone(),
            None => s.newest.after_unknown_grant(),
        };
        Some(LockState { held: true, newest, value: s.value.clone() })
    }

    fn release(s: &LockState, t: Option<i64>) -> Option<LockState> {
        if !s.held {
            return None;
        }
        let newest = match t {
            Some(t) => s.newest.matches(t)?,
            None => s.newest.clone(),
        };
        Some(LockState { held: false, newest, value: s.value.clone() })
    }
}

impl Model for Lock {
    type Op = LockOp;
    type State = LockState;

    fn name(&self) -> &'static str {
        if self.lease {
            "lease"
        } else {
            "lock"
        }
    }

    fn init(&self) -> LockState {
        LockState { held: false, newest: Newest::None, value: Value::Nil }
    }

    fn compile(&self, op: &Operation) -> Result<LockOp, String> {
        match op.f.as_str() {
            "acquire" => match known_output(op) {
                None => Ok(LockOp::Acquire(None)),
                Some(Value::Nil) => Ok(LockOp::Acquire(Some(None))),
                Some(v) => Ok(LockOp::Acquire(Some(Some(token(v, "acquire's reply")?)))),
            },
            "release" if op.input.is_nil() => Ok(LockOp::Release(None)),
            "release" => Ok(LockOp::Release(Some(token(&op.input, "release's input")?))),
            "write" => match op.input.as_list() {
                Some([t, v]) => {
                    Ok(LockOp::Write { token: token(t, "a fenced write's token")?, value: v.clone() })
                }
                _ => Err(format!("write expects [token value], got {}", op.input)),
            },
            "read" => Ok(LockOp::Read(known_output(op).cloned())),
            f => unknown_function(self.name(), f, "acquire, release, write or read"),
        }
    }

    fn step(&self, s: &LockState, op: &LockOp) -> Option<LockState> {
        match op {
            LockOp::Acquire(t) => self.acquire(s, *t),
            LockOp::Release(t) => Lock::release(s, *t),
            LockOp::Write { token, value } => {
                let newest = s.newest.matches(*token)?;
                Some(LockState { held: s.held, newest, value: value.clone() })
            }
            LockOp::Read(None) => Some(s.clone()),
            LockOp::Read(Some(v)) => (s.value == *v).then(|| s.clone()),
        }
    }

    fn describe_op(&self, op: &LockOp) -> String {
        let known = |t: &Option<i64>| t.map_or("?".to_string(), |t| t.to_string());
        match op {
            LockOp::Acquire(Some(None)) => "acquire".into(),
            LockOp::Acquire(t) => format!("acquire -> token {}", known(&t.flatten())),
            LockOp::Release(None) => "release".into(),
            LockOp::Release(Some(t)) => format!("release token {t}"),
            LockOp::Write { token, value } => format!("write {value} with token {token}"),
            LockOp::Read(v) => format!("read -> {}", v.as_ref().map_or("?".to_string(), Value::to_string)),
        }
    }

    fn describe_state(&self, s: &LockState) -> String {
        let newest = match &s.newest {
            Newest::None => "none".to_string(),
            Newest::Exact(t) => t.to_string(),
            Newest::Unknown { above: None } => "unknown".to_string(),
            Newest::Unknown { above: Some(a) } => format!("unknown > {a}"),
        };
        let held = if s.held { "held" } else { "free" };
        format!("{held}, newest token {newest}, resource {}", s.value)
    }

    fn read_only(&self, op: &LockOp) -> bool {
        matches!(op, LockOp::Read(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{info, ok};

    fn run(m: &Lock, ops: &[LockOp]) -> Option<LockState> {
        ops.iter().try_fold(m.init(), |s, op| m.step(&s, op))
    }

    #[test]
    fn tokens_increase_and_the_lock_excludes() {
        let lock = Lock { lease: false };
        assert!(run(
            &lock,
            &[LockOp::Acquire(Some(Some(1))), LockOp::Release(Some(1)), LockOp::Acquire(Some(Some(2)))]
        )
        .is_some());
        assert!(run(&lock, &[LockOp::Acquire(Some(Some(1))), LockOp::Acquire(Some(Some(2)))]).is_none());
        assert!(run(
            &lock,
            &[LockOp::Acquire(Some(Some(2))), LockOp::Release(None), LockOp::Acquire(Some(Some(2)))]
        )
        .is_none());
        let lease = Lock { lease: true };
        assert!(run(&lease, &[LockOp::Acquire(Some(Some(1))), LockOp::Acquire(Some(Some(2)))]).is_some());
    }

    #[test]
    fn fenced_writes_need_the_newest_token() {
        let lease = Lock { lease: true };
        let w = |token, v: i64| LockOp::Write { token, value: v.into() };
        let ok_run = run(&lease, &[LockOp::Acquire(Some(Some(1))), w(1, 5), LockOp::Read(Some(5.into()))]);
        assert_eq!(ok_run.unwrap().value, Value::Int(5));
        assert!(
            run(&lease, &[LockOp::Acquire(Some(Some(1))), LockOp::Acquire(Some(Some(2))), w(1, 5)]).is_none()
        );
    }

    #[test]
    fn an_unknown_grant_is_learned_from_its_use() {
        let lease = Lock { lease: true };
        let s = run(&lease, &[LockOp::Acquire(Some(Some(1))), LockOp::Acquire(None)]).unwrap();
        assert_eq!(s.newest, Newest::Unknown { above: Some(1) });
        assert!(lease.step(&s, &LockOp::Write { token: 1, value: Value::Nil }).is_none());
        let learned = lease.step(&s, &LockOp::Write { token: 7, value: Value::Nil }).unwrap();
        assert_eq!(learned.newest, Newest::Exact(7));
        assert!(
            lease.step(&s, &LockOp::Acquire(Some(Some(2)))).is_none(),
            "2 cannot follow an unknown token above 1"
        );
        assert!(lease.step(&s, &LockOp::Acquire(Some(Some(3)))).is_some());
    }

    #[test]
    fn compiles_the_conventions() {
        let m = Lock { lease: false };
        assert_eq!(m.compile(&ok("acquire", Value::Nil, 4.into())).unwrap(), LockOp::Acquire(Some(Some(4))));
        assert_eq!(m.compile(&ok("acquire", Value::Nil, Value::Nil)).unwrap(), LockOp::Acquire(Some(None)));
        assert_eq!(m.compile(&info("acquire", Value::Nil)).unwrap(), LockOp::Acquire(None));
        assert!(m.compile(&ok("acquire", Value::Nil, "x".into())).is_err());
        assert!(m.compile(&ok("write", 3.into(), Value::Nil)).is_err());
        assert!(m.compile(&ok("unlock", Value::Nil, Value::Nil)).is_err());
    }
}
