//! Raft: a replicated key-value store (in progress).
