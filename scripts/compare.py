#!/usr/bin/env python3
"""Raft and Multi-Paxos side by side: the same seeds of the same presets swept for each system,
summarised as one Markdown table (the README's comparison).

Both systems serve the same key-value workload under the same fault schedule family, so the
table compares what the protocols do with it: how fast the simulation runs them, how often
leadership moves, how often replicas compact and catch up, and how often a node takes itself out
of quorums after losing state it may have answered for.

Usage (from the repository root, after `cargo build --release`):

    python3 scripts/compare.py --seeds 2000 --jobs 2 [--presets swarm,nofault] [--bin PATH]

Each sweep writes its summary with `faultline sweep --out`; nothing here parses text output.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SYSTEMS = ["raft", "paxos"]

# (row label, raft events, paxos events): the same moment in each protocol's own words, summed.
EVENTS = [
    ("new leaders per seed", ["raft.leaders_elected"], ["paxos.leader_changes"]),
    ("  of which under faults", ["raft.leaders_elected_under_faults"], ["paxos.leader_changes_under_faults"]),
    ("snapshots per seed", ["raft.snapshots"], ["paxos.snapshots"]),
    # Raft repairs a damaged entry as a hole, and a node that lost its metadata or its disk
    # stops; Paxos rebuilds after any loss it may have answered for (damage or an empty disk).
    ("a node recovering lost durable state, per seed", ["raft.repairs", "raft.nodes_lost_metadata"], ["paxos.rebuilds"]),
]

def sweep(binary, system, preset, seeds, jobs, out):
    cmd = [binary, "sweep", system, "--preset", preset, "--seeds", str(seeds), "--jobs", str(jobs), "--out", out]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"compare: {' '.join(cmd)} failed: {done.stderr.strip()}")
    return json.loads((Path(out) / "summary.json").read_text())


def event_total(summary, name):
    """How many times an event happened over the sweep (0 if never)."""
    return summary["events"].get(name, {}).get("count", 0)


def rows(summaries):
    raft, paxos = summaries["raft"], summaries["paxos"]
    per_seed = lambda s, names: f"{sum(event_total(s, n) for n in names) / s['seeds_run']:.2f}"
    speed = lambda s: f"{s['sim_seconds'] / s['core_seconds']:.0f}"
    yield ("seeds passed", f"{raft['passed']} / {raft['seeds_run']}", f"{paxos['passed']} / {paxos['seeds_run']}")
    yield ("wall time (s)", f"{raft['wall_seconds']:.1f}", f"{paxos['wall_seconds']:.1f}")
    yield ("simulated s per core-second", speed(raft), speed(paxos))
    for label, r, p in EVENTS:
        yield (label, per_seed(raft, r), per_seed(paxos, p))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--presets", default="swarm,nofault")
    parser.add_argument("--bin", default="target/release/faultline")
    args = parser.parse_args()
    if not Path(args.bin).exists():
        sys.exit(f"compare: {args.bin} not found (run `cargo build --release` first)")
    print(f"| {args.seeds} seeds each | " + " | ".join(SYSTEMS) + " |")
    print("|---|" + "---|" * len(SYSTEMS))
    for preset in args.presets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            summaries = {s: sweep(args.bin, s, preset, args.seeds, args.jobs, f"{tmp}/{s}") for s in SYSTEMS}
        print(f"| **{preset}** | | |")
        for label, r, p in rows(summaries):
            print(f"| {label} | {r} | {p} |")


if __name__ == "__main__":
    main()
