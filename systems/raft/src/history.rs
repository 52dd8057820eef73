//! Maps client requests and responses to history events for the key-value checker.
//!
//! The conventions of the key-value model: `get [k nil]` completes `ok [k v]` (`nil` when
//! missing); `put [k v]` and `append [k v]` complete `ok [k v]`; `cas [k from to]` completes
//! `ok [k from to]`, or `fail [k from to]` when the compare failed (a failed cas certainly did
//! not take effect). `NotLeader` and `Unavailable` are not completions: the client retries with
//! the same request id, and if it gives up the operation is `info` (an earlier attempt may
//! still take effect). Membership changes are admin operations outside the key-value model.

use crate::msg::{Request, Response, WriteOp};
use faultline_checkers::{EventKind, Value};

/// What a response means for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The operation completed: record this event.
    Done(EventKind, Value),
    /// Not an outcome: retry (same request id), or record `info` when giving up.
    Retry,
}

/// A response that cannot answer the request it was paired with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("response {response:?} does not answer request {request:?}")]
pub struct MismatchedResponse {
    pub request: Request,
    pub response: Response,
}

fn str_or_nil(v: Option<&String>) -> Value {
    v.map_or(Value::Nil, |s| Value::Str(s.clone()))
}

/// The history's `(f, input value)` for a request; `None` for admin requests.
pub fn invocation(req: &Request) -> Option<(&'static str, Value)> {
    let pair = |k: &String, v: &String| Value::List(vec![k.as_str().into(), v.as_str().into()]);
    Some(match req {
        Request::Get { key } => ("get", Value::List(vec![key.as_str().into(), Value::Nil])),
        Request::Write(WriteOp::Put { key, value }) => ("put", pair(key, value)),
        Request::Write(WriteOp::Append { key, value }) => ("append", pair(key, value)),
        Request::Write(WriteOp::Cas { key, from, to }) => {
            ("cas", Value::List(vec![key.as_str().into(), str_or_nil(from.as_ref()), to.as_str().into()]))
        }
        Request::AddServer { .. } | Request::RemoveServer { .. } => return None,
    })
}

/// The history's `(completion kind, output value)` for a request's response.
pub fn completion(req: &Request, resp: &Response) -> Result<Completion, MismatchedResponse> {
    use Completion::Done;
    let input = || invocation(req).map(|(_, v)| v).unwrap_or_default();
    let cas = |req: &Request| matches!(req, Request::Write(WriteOp::Cas { .. }));
    let done = match (req, resp) {
        (_, Response::NotLeader { .. } | Response::Unavailable(_)) => Completion::Retry,
        (Request::Get { key }, Response::Value(v)) => {
            Done(EventKind::Ok, Value::List(vec![key.as_str().into(), str_or_nil(v.as_ref())]))
        }
        (Request::Write(WriteOp::Put { .. } | WriteOp::Append { .. }), Response::Written) => {
            Done(EventKind::Ok, input())
        }
        (r, Response::Swapped) if cas(r) => Done(EventKind::Ok, input()),
        (r, Response::CasFailed { .. }) if cas(r) => Done(EventKind::Fail, input()),
        (
            Request::AddServer { .. } | Request::RemoveServer { .. },
            Response::Members(_) | Response::Invalid { .. },
        ) => Done(EventKind::Ok, Value::Nil),
        _ => return Err(MismatchedResponse { request: req.clone(), response: resp.clone() }),
    };
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Unavailable;
    use faultline_sim::NodeId;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn requests_map_to_the_key_value_model() {
        let get = Request::get("k");
        assert_eq!(invocation(&get), Some(("get", Value::List(vec![s("k"), Value::Nil]))));
        assert_eq!(
            completion(&get, &Response::Value(Some("v".into()))),
            Ok(Completion::Done(EventKind::Ok, Value::List(vec![s("k"), s("v")])))
        );
        assert_eq!(
            completion(&get, &Response::Value(None)),
            Ok(Completion::Done(EventKind::Ok, Value::List(vec![s("k"), Value::Nil])))
        );
        let append = Request::append("k", "x");
        assert_eq!(
            completion(&append, &Response::Written),
            Ok(Completion::Done(EventKind::Ok, Value::List(vec![s("k"), s("x")])))
        );
    }

    #[test]
    fn a_failed_compare_is_a_fail_and_redirects_are_retries() {
        let cas = Request::cas("k", None, "1");
        let input = Value::List(vec![s("k"), Value::Nil, s("1")]);
        assert_eq!(invocation(&cas), Some(("cas", input.clone())));
        assert_eq!(completion(&cas, &Response::Swapped), Ok(Completion::Done(EventKind::Ok, input.clone())));
        let failed = Response::CasFailed { current: Some("0".into()) };
        assert_eq!(completion(&cas, &failed), Ok(Completion::Done(EventKind::Fail, input)));
        assert_eq!(completion(&cas, &Response::NotLeader { hint: Some(NodeId(2)) }), Ok(Completion::Retry));
        let busy = Response::Unavailable(Unavailable::LeaderNotReady);
        assert_eq!(completion(&cas, &busy), Ok(Completion::Retry));
    }

    #[test]
    fn mismatched_pairs_are_errors_and_admin_requests_are_not_recorded() {
        let get = Request::get("k");
        assert!(completion(&get, &Response::Written).is_err());
        assert_eq!(invocation(&Request::AddServer { node: NodeId(4) }), None);
    }
}
