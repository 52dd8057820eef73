//! The check of local reads: ZooKeeper promises a session sequential consistency, not
//! linearizability, for reads a server answers from its own state. Two properties:
//!
//! - Session order (ZooKeeper's "sequential consistency" and "read your writes" guarantees):
//!   each client's answers never go back in zxid order, whichever server gave them, so a read
//!   after a write sees at least that write.
//! - Committed values: a local read answered at zxid z shows the data tree exactly as the
//!   committed history leaves it after z. The committed history is rebuilt from what the run
//!   observed the servers deliver, and replayed through the same data tree.
//!
//! Local reads are recorded as `read-local [path]` -> `[data version epoch counter]` (or
//! `[nil epoch counter]`) and `children-local [path]` -> `[[names...] epoch counter]`.

use crate::api::{ReadOp, Reply};
use crate::msg::{Txn, Zxid};
use crate::tree::DataTree;
use faultline_checkers::{History, Status, Value, Verdict};
use std::collections::BTreeMap;

/// Session order: each client's answers, in order, never go back in zxid order.
pub fn session_order(seen: &BTreeMap<u32, Vec<Zxid>>) -> Verdict {
    for (client, zxids) in seen {
        if let Some(w) = zxids.windows(2).find(|w| w[1] < w[0]) {
            return Verdict::Violation(format!(
                "client c{client} was answered at zxid {} after an answer at {}: its view went back",
                w[1], w[0]
            ));
        }
    }
    Verdict::Ok
}

/// A local read from the history: what it read and what it was told, at which zxid.
struct LocalRead {
    op: ReadOp,
    zxid: Zxid,
    told: Value,
    id: usize,
}

fn zxid_of(epoch: &Value, counter: &Value) -> Option<Zxid> {
    Some(Zxid::new(epoch.as_int()? as u64, counter.as_int()? as u64))
}

fn local_reads(history: &History) -> Result<Vec<LocalRead>, String> {
    let ops = history.operations().map_err(|e| format!("ill-formed history: {e}"))?;
    let mut reads = Vec::new();
    for op in ops.into_iter().filter(|o| o.status == Status::Ok) {
        let path = op
            .input
            .as_list()
            .and_then(|l| l.first())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let out = op.output.clone().unwrap_or_default();
        let parts = out.as_list().unwrap_or(&[]);
        let (read, told, z) = match (op.f.as_str(), parts) {
            ("read-local", [d, v, e, c]) => {
                (ReadOp::GetData { path }, Value::List(vec![d.clone(), v.clone()]), zxid_of(e, c))
            }
            ("read-local", [Value::Nil, e, c]) => (ReadOp::GetData { path }, Value::Nil, zxid_of(e, c)),
            ("children-local", [names, e, c]) => (ReadOp::GetChildren { path }, names.clone(), zxid_of(e, c)),
            ("read-local" | "children-local", _) => {
                return Err(format!("local read {} has output {out}", op.id))
            }
            _ => continue,
        };
        let zxid = z.ok_or_else(|| format!("local read {} has no zxid in {out}", op.id))?;
        reads.push(LocalRead { op: read, zxid, told, id: op.id });
    }
    reads.sort_by_key(|r| r.zxid);
    Ok(reads)
}

/// What a tree answers, in the history's encoding.
fn expected(tree: &DataTree, op: &ReadOp) -> Value {
    match tree.read(op) {
        Reply::Data { data, stat } => Value::List(vec![data.into(), Value::Int(stat.version as i64)]),
        Reply::Children(names) => Value::List(names.into_iter().map(Value::Str).collect()),
        _ => Value::Nil,
    }
}

/// Committed values: every local read shows the tree the committed history (by position)
/// leaves after its zxid. Reads at a zxid the run never saw delivered are not judged.
pub fn committed_values(history: &History, committed: &BTreeMap<u64, Txn>) -> Verdict {
    let reads = match local_reads(history) {
        Ok(r) => r,
        Err(e) => return Verdict::Violation(e),
    };
    let mut tree = DataTree::default();
    let mut at = Zxid::default();
    let mut txns = committed.values().peekable();
    for read in reads {
        while let Some(t) = txns.next_if(|t| t.zxid <= read.zxid) {
            tree.apply(t);
            at = t.zxid;
        }
        if at != read.zxid {
            continue;
        }
        let want = expected(&tree, &read.op);
        if want != read.told {
            return Verdict::Violation(format!(
                "local read {} ({:?}) at zxid {} returned {}, but the committed history has {want} there",
                read.id, read.op, read.zxid, read.told
            ));
        }
    }
    Verdict::Ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{SessionId, WriteOp};
    use crate::msg::TxnBody;
    use faultline_checkers::{Event, EventKind};

    fn txn(counter: u64, xid: u64, op: WriteOp) -> Txn {
        Txn { zxid: Zxid::new(1, counter), body: TxnBody::Client { session: SessionId::default(), xid, op } }
    }

    fn history_with_read(told: Value) -> History {
        let mut h = History::new();
        h.push(Event::invoke(0, "read-local", Value::List(vec!["/a".into()]), 0));
        h.push(Event::complete(0, EventKind::Ok, "read-local", told, 1));
        h
    }

    #[test]
    fn a_local_read_must_show_the_committed_tree_at_its_zxid() {
        let mut committed = BTreeMap::new();
        committed.insert(1, txn(1, 1, WriteOp::Connect { timeout_ms: 1000 }));
        committed.insert(
            2,
            txn(
                2,
                2,
                WriteOp::Create { path: "/a".into(), data: "x".into(), ephemeral: false, sequential: false },
            ),
        );
        let right = Value::List(vec!["x".into(), 0.into(), 1.into(), 2.into()]);
        assert_eq!(committed_values(&history_with_read(right), &committed), Verdict::Ok);
        let absent_before = Value::List(vec![Value::Nil, 1.into(), 1.into()]);
        assert_eq!(committed_values(&history_with_read(absent_before), &committed), Verdict::Ok);
        let wrong = Value::List(vec![Value::Nil, 1.into(), 2.into()]);
        assert!(committed_values(&history_with_read(wrong), &committed).is_violation());
    }

    #[test]
    fn a_client_view_that_goes_back_fails() {
        let mut seen = BTreeMap::new();
        seen.insert(0, vec![Zxid::new(1, 1), Zxid::new(1, 3), Zxid::new(2, 1)]);
        assert_eq!(session_order(&seen), Verdict::Ok);
        seen.insert(1, vec![Zxid::new(1, 4), Zxid::new(1, 2)]);
        assert!(session_order(&seen).is_violation());
    }
}
