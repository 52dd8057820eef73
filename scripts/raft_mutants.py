#!/usr/bin/env python3
"""Mutation check: is a bug outside Raft's planted zoo found by the default sweep?

Applies one small change a reviewer might make to systems/raft/src (each breaks a rule of the
paper), builds it into target/mutants, runs `faultline sweep raft --seeds N --jobs 2`, restores
the source, and prints what the sweep found. The sweep must fail for every mutant.

    python3 scripts/raft_mutants.py [--seeds N] [NAME ...]
"""
import subprocess
import sys

MUTANTS = {
    # Section 5.4.1: grant a vote without the election restriction.
    "no-election-restriction": (
        "systems/raft/src/election.rs",
        "let granted = term >= self.hard.term && free && self.can_vote() && last >= self.vote_floor();",
        "let granted = term >= self.hard.term && free && self.can_vote();"),
    # Section 5.3: count a quorum one replica short.
    "quorum-one-short": (
        "systems/raft/src/membership.rs",
        "indexes.get(indexes.len() / 2).copied().unwrap_or(0)",
        "indexes.get((indexes.len() / 2).saturating_sub(1)).copied().unwrap_or(0)"),
    # Section 8: apply a retried write again (no session check for the last request).
    "no-session-dedup": (
        "systems/raft/src/kv.rs",
        "            if id.seq == session.last_seq {\n"
        "                return Applied::Duplicate(session.response.clone());\n"
        "            }\n",
        ""),
    # Figure 2: adopt a higher term without persisting it.
    "term-not-persisted": (
        "systems/raft/src/election.rs",
        "        } else {\n            self.save_hard(cx, hard)?;\n        }\n        self.leader = None;",
        "        } else {\n            self.hard = hard;\n        }\n        self.leader = None;"),
    # Section 5.3: accept entries whatever the term at prevLogIndex.
    "no-prev-term-check": (
        "systems/raft/src/replication.rs",
        "            Some(t) if t == prev.term => None,",
        "            Some(_) => None,"),
    # Figure 2: follow the leader's commit index beyond the entries this message verified.
    "commit-not-capped": (
        "systems/raft/src/replication.rs",
        "self.learn_commit(cx, a.commit.min(matched))?;",
        "self.learn_commit(cx, a.commit)?;"),
}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def check(name, seeds):
    path, old, new = MUTANTS[name]
    text = open(path).read()
    if text.count(old) != 1:
        return f"{name}: the code to mutate was not found in {path} (update this script)"
    try:
        open(path, "w").write(text.replace(old, new))
        build = run(["cargo", "build", "--release", "--target-dir", "target/mutants", "-q"])
    finally:
        open(path, "w").write(text)
    if build.returncode != 0:
        return f"{name}: does not compile\n{build.stderr}"
    sweep = run(["target/mutants/release/faultline", "sweep", "raft", "--seeds", str(seeds), "--jobs", "2"])
    lines = [l.strip() for l in sweep.stdout.splitlines() if "passed" in l or "median" in l]
    verdict = "found" if sweep.returncode == 1 else f"NOT FOUND (exit {sweep.returncode})"
    return f"{name}: {verdict}; " + "; ".join(lines)


def main(args):
    seeds = 2000
    if args[:1] == ["--seeds"]:
        seeds, args = int(args[1]), args[2:]
    names = args or list(MUTANTS)
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        sys.exit(f"unknown mutant(s) {', '.join(unknown)} (known: {', '.join(MUTANTS)})")
    results = [check(n, seeds) for n in names]
    print("\n".join(results))
    return 0 if all(": found;" in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
