//! `znode`: a ZooKeeper-style tree of znodes (data and version per path), checked one path at a
//! time, with ephemeral nodes that may vanish when their session expires.
//!
//! The key-value model cannot express ZooKeeper's writes: `setData` and `delete` compare the
//! node's *version*, which the client names without knowing the data, and an ephemeral node
//! disappears without any client operation when its session expires. So each path's state is
//! absent or `(data, version, ephemeral)`, and the operations say what ZooKeeper answers,
//! errors included (a wrongly refused create is a violation too).
//!
//! Conventions (inputs, then ok outputs):
//! - `create [p d]`, `create-eph [p d]` -> `"created"` (the node is new, version 0) or
//!   `"exists"` (it was there).
//! - `set [p d v]` (`v` the expected version, nil for any) -> the new version (an integer), or
//!   `"no-node"`, or `"bad-version"`.
//! - `delete [p v]` -> `"deleted"`, `"no-node"` or `"bad-version"`.
//! - `get [p]` -> `[d v]`, or nil when the path is absent.
//! - `expire [p]` -> anything: the session that owns the ephemeral node at `p` has been closed,
//!   so from its completion on `p` is absent.
//! - `create-seq [prefix d]` -> `n`, the sequence number the server appended to `prefix`. These
//!   form their own part per prefix, and the numbers must strictly increase in the order the
//!   creates took effect (ZooKeeper numbers children from their parent's change counter).
//! - `read-local [p]`, `children-local [p]`: reads served by one server from its own state,
//!   which ZooKeeper promises only sequential consistency for. The model accepts any answer; the
//!   system checks them elsewhere.
//!
//! Ephemeral nodes: a client learns that its session expired only after the fact, and other
//! clients may see the node vanish before that, so an ephemeral node may vanish at any moment
//! (never to come back: the workload never creates a path twice with different sessions). An
//! operation that answers as if the path were absent (`get` nil, `"no-node"`) is therefore valid
//! on an ephemeral node, and leaves the path absent. `expire` makes the vanishing certain.
//!
//! Limits: an `info` create of a path that holds an ephemeral node is taken to have found it
//! (`"exists"`); an `info` sequential create is taken to leave the last number as it was (the
//! number it may have used is unknown). Both keep the model from rejecting a valid history; they
//! only make it weaker around unknown outcomes.

use super::{known_output, unknown_function, Model};
use crate::history::{Operation, Value};

/// The znode model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Znode;

/// One path's state, or a sequential prefix's last number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZState {
    Absent,
    Node {
        data: Value,
        version: i64,
        ephemeral: bool,
    },
    /// The last sequence number given under a prefix.
    Seq(i64),
}

/// What a create answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreateOut {
    Created,
    Exists,
}

/// What a set or delete answered: `Done(v)` is the new version (0 for a delete).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteOut {
    Done(i64),
    NoNode,
    BadVersion,
}

/// A znode operation; `out: None` is an unknown outcome.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZOp {
    Create {
        path: Value,
        data: Value,
        ephemeral: bool,
        out: Option<CreateOut>,
    },
    Set {
        path: Value,
        data: Value,
        version: Option<i64>,
        out: Option<WriteOut>,
    },
    Delete {
        path: Value,
        version: Option<i64>,
        out: Option<WriteOut>,
    },
    /// `Some(None)`: read the path as absent.
    Get {
        path: Value,
        out: Option<Option<(Value, i64)>>,
    },
    Expire {
        path: Value,
    },
    CreateSeq {
        prefix: Value,
        out: Option<i64>,
    },
    /// A local read: not checked here.
    Local {
        path: Value,
    },
}

impl ZState {
    /// An ephemeral node, which may vanish at any moment.
    fn vanishable(&self) -> bool {
        matches!(self, ZState::Node { ephemeral: true, .. })
    }

    /// The state when the operation found the path absent: valid if it is, or may have vanished.
    fn found_absent(&self) -> Option<ZState> {
        (matches!(self, ZState::Absent) || self.vanishable()).then_some(ZState::Absent)
    }
}

fn version_arg(v: Option<&Value>) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(other) => Err(format!("a version is an integer or nil, not {other}")),
    }
}

fn write_out(op: &Operation, done: &str) -> Result<Option<WriteOut>, String> {
    Ok(match known_output(op) {
        None => None,
        Some(Value::Int(v)) if done.is_empty() => Some(WriteOut::Done(*v)),
        Some(Value::Str(s)) if s == done => Some(WriteOut::Done(0)),
        Some(Value::Str(s)) if s == "no-node" => Some(WriteOut::NoNode),
        Some(Value::Str(s)) if s == "bad-version" => Some(WriteOut::BadVersion),
        Some(other) => return Err(format!("{} cannot answer {other}", op.f)),
    })
}

fn create_out(op: &Operation) -> Result<Option<CreateOut>, String> {
    Ok(match known_output(op).and_then(Value::as_str) {
        _ if known_output(op).is_none() => None,
        Some("created") => Some(CreateOut::Created),
        Some("exists") => Some(CreateOut::Exists),
        _ => {
            return Err(format!(
                "create answers \"created\" or \"exists\", not {}",
                op.output.clone().unwrap_or_default()
            ))
        }
    })
}

fn get_out(op: &Operation) -> Result<Option<Option<(Value, i64)>>, String> {
    Ok(match known_output(op) {
        None => None,
        Some(Value::Nil) => Some(None),
        Some(Value::List(l)) => match l.as_slice() {
            [d, Value::Int(v)] => Some(Some((d.clone(), *v))),
            _ => return Err(format!("get answers [data version] or nil, not {}", Value::List(l.clone()))),
        },
        Some(other) => return Err(format!("get answers [data version] or nil, not {other}")),
    })
}

impl Model for Znode {
    type Op = ZOp;
    type State = ZState;

    fn name(&self) -> &'static str {
        "znode"
    }

    fn init(&self) -> ZState {
        ZState::Absent
    }

    fn compile(&self, op: &Operation) -> Result<ZOp, String> {
        let args = op.input.as_list().unwrap_or(&[]);
        let path =
            || args.first().cloned().ok_or_else(|| format!("{} expects [path ...], got {}", op.f, op.input));
        let data = || {
            args.get(1).cloned().ok_or_else(|| format!("{} expects [path data ...], got {}", op.f, op.input))
        };
        Ok(match op.f.as_str() {
            "create" | "create-eph" => ZOp::Create {
                path: path()?,
                data: data()?,
                ephemeral: op.f == "create-eph",
                out: create_out(op)?,
            },
            "set" => ZOp::Set {
                path: path()?,
                data: data()?,
                version: version_arg(args.get(2))?,
                out: write_out(op, "")?,
            },
            "delete" => ZOp::Delete {
                path: path()?,
                version: version_arg(args.get(1))?,
                out: write_out(op, "deleted")?,
            },
            "get" => ZOp::Get { path: path()?, out: get_out(op)? },
            "expire" => ZOp::Expire { path: path()? },
            "create-seq" => {
                let out = match known_output(op) {
                    None => None,
                    Some(Value::Int(n)) => Some(*n),
                    Some(other) => return Err(format!("create-seq answers a number, not {other}")),
                };
                ZOp::CreateSeq { prefix: path()?, out }
            }
            "read-local" | "children-local" => ZOp::Local { path: path()? },
            f => {
                return unknown_function(
                    self.name(),
                    f,
                    "create, create-eph, set, delete, get, expire, create-seq, read-local or children-local",
                )
            }
        })
    }

    fn step(&self, state: &ZState, op: &ZOp) -> Option<ZState> {
        match op {
            ZOp::Create { data, ephemeral, out, .. } => create(state, data, *ephemeral, *out),
            ZOp::Set { data, version, out, .. } => set(state, data, *version, *out),
            ZOp::Delete { version, out, .. } => delete(state, *version, *out),
            ZOp::Get { out: None, .. } | ZOp::Local { .. } => Some(state.clone()),
            ZOp::Get { out: Some(None), .. } => state.found_absent(),
            ZOp::Get { out: Some(Some((d, v))), .. } => match state {
                ZState::Node { data, version, .. } if data == d && version == v => Some(state.clone()),
                _ => None,
            },
            ZOp::Expire { .. } => state.found_absent(),
            ZOp::CreateSeq { out: None, .. } => Some(state.clone()),
            ZOp::CreateSeq { out: Some(n), .. } => match state {
                ZState::Absent => Some(ZState::Seq(*n)),
                ZState::Seq(last) if n > last => Some(ZState::Seq(*n)),
                _ => None,
            },
        }
    }

    fn part(&self, op: &ZOp) -> Value {
        match op {
            ZOp::Create { path, .. }
            | ZOp::Set { path, .. }
            | ZOp::Delete { path, .. }
            | ZOp::Get { path, .. }
            | ZOp::Expire { path }
            | ZOp::Local { path } => path.clone(),
            ZOp::CreateSeq { prefix, .. } => Value::List(vec!["seq".into(), prefix.clone()]),
        }
    }

    fn describe_op(&self, op: &ZOp) -> String {
        let version = |v: &Option<i64>| v.map_or("any".to_string(), |v| v.to_string());
        match op {
            ZOp::Create { path, data, ephemeral, out } => {
                format!("create{} {path} {data} -> {out:?}", if *ephemeral { "-eph" } else { "" })
            }
            ZOp::Set { path, data, version: v, out } => {
                format!("set {path} {data} @{} -> {out:?}", version(v))
            }
            ZOp::Delete { path, version: v, out } => format!("delete {path} @{} -> {out:?}", version(v)),
            ZOp::Get { path, out: None } => format!("get {path} -> ?"),
            ZOp::Get { path, out: Some(None) } => format!("get {path} -> absent"),
            ZOp::Get { path, out: Some(Some((d, v))) } => format!("get {path} -> {d}@{v}"),
            ZOp::Expire { path } => format!("expire {path}"),
            ZOp::CreateSeq { prefix, out } => format!("create-seq {prefix} -> {out:?}"),
            ZOp::Local { path } => format!("local read {path}"),
        }
    }

    fn describe_state(&self, state: &ZState) -> String {
        match state {
            ZState::Absent => "absent".into(),
            ZState::Node { data, version, ephemeral } => {
                format!("{data}@{version}{}", if *ephemeral { " (ephemeral)" } else { "" })
            }
            ZState::Seq(n) => format!("last sequence number {n}"),
        }
    }

    fn read_only(&self, op: &ZOp) -> bool {
        matches!(op, ZOp::Get { out: None | Some(Some(_)), .. } | ZOp::Local { .. })
    }
}

fn create(state: &ZState, data: &Value, ephemeral: bool, out: Option<CreateOut>) -> Option<ZState> {
    let created = ZState::Node { data: data.clone(), version: 0, ephemeral };
    match (out, state) {
        (Some(CreateOut::Exists), ZState::Node { .. }) => Some(state.clone()),
        (Some(CreateOut::Exists), _) => None,
        (Some(CreateOut::Created), _) => state.found_absent().map(|_| created),
        (None, ZState::Absent) => Some(created),
        (None, _) => Some(state.clone()),
    }
}

fn matches_version(expected: Option<i64>, version: i64) -> bool {
    expected.is_none_or(|e| e == version)
}

fn set(state: &ZState, new: &Value, expected: Option<i64>, out: Option<WriteOut>) -> Option<ZState> {
    let ZState::Node { version, ephemeral, .. } = state else {
        return match out {
            Some(WriteOut::NoNode) | None => state.found_absent(),
            _ => None,
        };
    };
    let updated = ZState::Node { data: new.clone(), version: version + 1, ephemeral: *ephemeral };
    match out {
        Some(WriteOut::Done(v)) if matches_version(expected, *version) && v == version + 1 => Some(updated),
        Some(WriteOut::BadVersion) if !matches_version(expected, *version) => Some(state.clone()),
        Some(WriteOut::NoNode) => state.found_absent(),
        None if matches_version(expected, *version) => Some(updated),
        None => Some(state.clone()),
        _ => None,
    }
}

fn delete(state: &ZState, expected: Option<i64>, out: Option<WriteOut>) -> Option<ZState> {
    let ZState::Node { version, .. } = state else {
        return match out {
            Some(WriteOut::NoNode) | None => state.found_absent(),
            _ => None,
        };
    };
    match out {
        Some(WriteOut::Done(_)) | None if matches_version(expected, *version) => Some(ZState::Absent),
        Some(WriteOut::BadVersion) if !matches_version(expected, *version) => Some(state.clone()),
        Some(WriteOut::NoNode) => state.found_absent(),
        None => Some(state.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{info, ok};

    fn z(op: Operation) -> ZOp {
        Znode.compile(&op).unwrap()
    }

    fn run(ops: &[ZOp]) -> Option<ZState> {
        ops.iter().try_fold(ZState::Absent, |s, op| Znode.step(&s, op))
    }

    fn l(items: &[Value]) -> Value {
        Value::List(items.to_vec())
    }

    #[test]
    fn create_set_get_delete_follow_versions() {
        let create = z(ok("create", l(&["/a".into(), "x".into()]), "created".into()));
        let set = z(ok("set", l(&["/a".into(), "y".into(), 0.into()]), 1.into()));
        let get = z(ok("get", l(&["/a".into()]), l(&["y".into(), 1.into()])));
        let stale = z(ok("set", l(&["/a".into(), "z".into(), 0.into()]), "bad-version".into()));
        let delete = z(ok("delete", l(&["/a".into(), Value::Nil]), "deleted".into()));
        let gone = z(ok("get", l(&["/a".into()]), Value::Nil));
        assert!(run(&[create.clone(), set.clone(), get.clone(), stale, delete, gone.clone()]).is_some());
        // A second create of a present path must answer "exists"; a get must see the last set.
        assert!(run(&[create.clone(), create.clone()]).is_none());
        assert!(run(&[create.clone(), get]).is_none());
        // A persistent node never vanishes.
        assert!(run(&[create, gone]).is_none());
        // A set whose new version skips one is wrong.
        let skip = z(ok("set", l(&["/b".into(), "y".into(), Value::Nil]), 2.into()));
        let create_b = z(ok("create", l(&["/b".into(), "x".into()]), "created".into()));
        assert!(run(&[create_b, skip]).is_none());
    }

    #[test]
    fn ephemeral_nodes_may_vanish_and_are_gone_after_expire() {
        let create = z(ok("create-eph", l(&["/e".into(), "x".into()]), "created".into()));
        let seen = z(ok("get", l(&["/e".into()]), l(&["x".into(), 0.into()])));
        let gone = z(ok("get", l(&["/e".into()]), Value::Nil));
        let expire = z(ok("expire", l(&["/e".into()]), Value::Nil));
        assert!(run(&[create.clone(), gone.clone()]).is_some(), "an ephemeral node may vanish");
        assert!(run(&[create.clone(), gone.clone(), seen.clone()]).is_none(), "it never comes back");
        assert!(run(&[create.clone(), expire.clone(), seen]).is_none(), "expire makes it certain");
        let no_node = z(ok("set", l(&["/e".into(), "y".into(), Value::Nil]), "no-node".into()));
        assert!(run(&[create, no_node]).is_some());
        assert_eq!(
            Znode.step(&ZState::Node { data: "p".into(), version: 0, ephemeral: false }, &expire),
            None
        );
    }

    #[test]
    fn sequence_numbers_increase_and_unknown_outcomes_are_permissive() {
        let seq = |n: i64| z(ok("create-seq", l(&["/s".into(), "d".into()]), n.into()));
        assert!(run(&[seq(3), seq(7)]).is_some());
        assert!(run(&[seq(7), seq(7)]).is_none());
        let unknown = z(info("create-seq", l(&["/s".into(), "d".into()])));
        assert!(run(&[seq(3), unknown, seq(4)]).is_some());
        assert_eq!(Znode.part(&seq(1)), l(&["seq".into(), "/s".into()]));
        let set = z(info("set", l(&["/a".into(), "y".into(), 0.into()])));
        assert_eq!(Znode.step(&ZState::Absent, &set), Some(ZState::Absent));
        let node = ZState::Node { data: "x".into(), version: 0, ephemeral: false };
        assert_eq!(
            Znode.step(&node, &set),
            Some(ZState::Node { data: "y".into(), version: 1, ephemeral: false })
        );
    }

    #[test]
    fn ill_formed_operations_say_why() {
        let bad = ok("get", l(&["/a".into()]), "x".into());
        assert!(Znode.compile(&bad).unwrap_err().contains("[data version]"));
        let bad = ok("delete", l(&["/a".into(), "v".into()]), "deleted".into());
        assert!(Znode.compile(&bad).unwrap_err().contains("version"));
        let bad = ok("rename", l(&["/a".into()]), Value::Nil);
        assert!(Znode.compile(&bad).unwrap_err().contains("unknown function"));
    }
}
