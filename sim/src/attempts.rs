//! How a client retries one operation, shared by the simulated and the real clients.
//!
//! Every attempt reuses the operation's request id. An answer that decides the operation ends
//! it; a redirect or a "maybe" sends the next attempt elsewhere. When the client gives up, the
//! operation is `fail` only if every attempt was answered with a certain "not applied";
//! otherwise (a timeout, a "maybe") it may still take effect, so it is `info`.

use crate::node::NodeId;
use crate::system::Answer;
use faultline_checkers::{EventKind, Value};

/// The retry state of one operation.
#[derive(Debug, Default)]
pub struct Attempts {
    hint: Option<NodeId>,
    maybe_applied: bool,
}

impl Attempts {
    /// Where the last answer said to go next, if anywhere (consumed).
    pub fn take_hint(&mut self) -> Option<NodeId> {
        self.hint.take()
    }

    /// An attempt got no answer in time: it may have been applied.
    pub fn timed_out(&mut self) {
        self.maybe_applied = true;
    }

    /// Records an answer; `Some` when it decides the operation.
    pub fn answered(&mut self, answer: Answer) -> Option<(EventKind, Value)> {
        match answer {
            Answer::Done(kind, value) => return Some((kind, value)),
            Answer::NotApplied { hint } => self.hint = hint,
            Answer::Unknown { hint } => (self.hint, self.maybe_applied) = (hint, true),
        }
        None
    }

    /// The completion to record when the client stops trying.
    pub fn give_up(&self) -> (EventKind, Value) {
        (if self.maybe_applied { EventKind::Info } else { EventKind::Fail }, Value::Nil)
    }
}

/// A client's history process id: `client + k * clients` after k unknown outcomes, because (as
/// in Jepsen) a process whose operation's outcome is unknown is considered crashed.
#[derive(Copy, Clone, Debug)]
pub struct Process {
    id: u64,
    clients: u64,
}

impl Process {
    /// The history process of client `client` among `clients`, before any unknown outcome.
    pub fn new(client: u32, clients: u32) -> Self {
        Process { id: u64::from(client), clients: u64::from(clients) }
    }

    /// The process id the client's operations are recorded under now.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Moves to a fresh process id after an operation completed with `kind`, if it was `info`.
    pub fn completed(&mut self, kind: EventKind) {
        if kind == EventKind::Info {
            self.id += self.clients;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_rejections_give_fail_and_a_timeout_gives_info() {
        let mut a = Attempts::default();
        assert_eq!(a.answered(Answer::NotApplied { hint: Some(NodeId(2)) }), None);
        assert_eq!(a.take_hint(), Some(NodeId(2)));
        assert_eq!(a.give_up().0, EventKind::Fail);
        a.timed_out();
        assert_eq!(a.give_up().0, EventKind::Info);
        assert_eq!(
            a.answered(Answer::Done(EventKind::Ok, Value::Int(1))),
            Some((EventKind::Ok, Value::Int(1)))
        );
    }

    #[test]
    fn an_info_moves_the_process_on() {
        let mut p = Process::new(1, 3);
        p.completed(EventKind::Ok);
        assert_eq!(p.id(), 1);
        p.completed(EventKind::Info);
        assert_eq!(p.id(), 4);
    }
}
