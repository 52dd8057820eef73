//! The answer every checker gives.
//!
//! Porcupine's `CheckResult { Ok, Illegal, Unknown }` and stateright's split between an invalid
//! history (an error) and an inconsistent one (a violation) are the models: a budgeted search
//! may give up and says why, and an ill-formed history is an `Err`, never a verdict.

use std::fmt;

/// The outcome of checking one property of one history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The property holds.
    Ok,
    /// The property is violated; the text explains the evidence.
    Violation(String),
    /// The checker gave up (deadline, budget); the text says why.
    Unknown(String),
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Ok)
    }

    pub fn is_violation(&self) -> bool {
        matches!(self, Verdict::Violation(_))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Ok => write!(f, "ok"),
            Verdict::Violation(why) => write!(f, "violation: {why}"),
            Verdict::Unknown(why) => write!(f, "unknown: {why}"),
        }
    }
}
