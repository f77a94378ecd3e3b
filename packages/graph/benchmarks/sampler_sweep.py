"""Langevin settings of the graph samplers, chosen on validation graphs (never the test graphs);
writes its own section of docs/benchmarks/graph.md.

    python packages/graph/benchmarks/sampler_sweep.py --from-run DIR [DIR ...] [--seeds 100 101] [--n 40]

Validation set: graphs 100-159 of ``datasets.community_small(160, seed=0)``. The generator draws graphs one
after another and keeps only graphs not isomorphic to an earlier one, so the first 100 are exactly the
training and test graphs of ``run.py`` and the 60 after them are new. Each model (a ``run.py --run-dir``)
samples ``--n`` graphs per seed and setting with the same seeds, so the settings see the same node counts
and starting noise. The chosen setting has the lowest mean rank over degree, clustering and orbit MMD²
(means over models and seeds).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import torch

from stochflow.core import benchpage, machine
from stochflow.graph import datasets
from stochflow.graph.metrics import graph_mmd
from stochflow.graph.model import GraphScoreModel

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "benchmarks" / "graph.md"
KEYS = ("degree", "clustering", "orbit")
# (label, solver, snr, scale_eps); GDSS's community-small setting first
SETTINGS = [
    ("S4, snr 0.05, scale_eps 0.7 (GDSS)", "graph-s4", 0.05, 0.7),
    ("S4, corrector off", "graph-s4", 0.0, 1.0),
    ("S4, snr 0.1, scale_eps 0.7", "graph-s4", 0.1, 0.7),
    ("S4, snr 0.1, scale_eps 1", "graph-s4", 0.1, 1.0),
    ("S4, snr 0.15, scale_eps 1", "graph-s4", 0.15, 1.0),
    ("PC, snr 0.05, scale_eps 0.7 (GDSS)", "graph-pc", 0.05, 0.7),
    ("PC, snr 0.1, scale_eps 1", "graph-pc", 0.1, 1.0),
]


@functools.lru_cache(maxsize=1)
def validation_split():
    """Training graphs of run.py and the 60 validation graphs after its 100."""
    graphs = datasets.community_small(160, seed=0)
    head = datasets.community_small(100, seed=0)
    if any(not nx.utils.graphs_equal(a, b) for a, b in zip(graphs[:100], head)):
        raise RuntimeError("community_small(160)[:100] differs from community_small(100): the split is not clean")
    train, _ = datasets.split(head)
    return train, graphs[100:]


_MODELS: dict = {}


def _evaluate(task):
    """MMD² of one model's samples under one setting and seed against the validation graphs."""
    (label, solver, snr, eps), run_dir, seed, n, steps = task
    torch.set_num_threads(1)
    if run_dir not in _MODELS:
        _MODELS[run_dir] = GraphScoreModel.load(run_dir / "model.pt")
    opts = {"predictor": "euler-maruyama"} if solver == "graph-pc" else {}
    g = _MODELS[run_dir].sample(n, solver=solver, steps=steps, seed=seed, snr=snr, scale_eps=eps, **opts).graphs()
    _, val = validation_split()
    r = graph_mmd(val, g)
    r["mean clustering"] = float(np.mean([nx.average_clustering(h) for h in g]))
    print(label, run_dir.name, seed, {k: round(v, 4) for k, v in r.items()}, flush=True)
    return label, run_dir, r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from-run", type=Path, nargs="+", required=True, help="run.py --run-dir folders")
    p.add_argument("--seeds", type=int, nargs="+", default=[100, 101], help="sampling seeds (run.py uses 0, 1, …)")
    p.add_argument("--n", type=int, default=40, help="graphs per model, seed and setting")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    torch.set_num_threads(1)
    stamp = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()) + '; ' + machine.describe('torch', 'networkx')
    t0 = time.perf_counter()
    train, val = validation_split()
    rng = np.random.default_rng(0)
    floor = [graph_mmd(val, [train[i] for i in rng.choice(len(train), args.n, replace=False)]) for _ in range(3)]
    seeds_info = {d: json.loads((d / "train.json").read_text()).get("train_seed", 0) for d in args.from_run}
    tasks = [(setting, d, seed, args.n, args.steps) for setting in SETTINGS for d in args.from_run
             for seed in args.seeds]
    res: dict = {label: {d: [] for d in args.from_run} for label, *_ in SETTINGS}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for label, d, r in pool.map(_evaluate, tasks):
            res[label][d].append(r)
    mean = {lab: {k: statistics.mean(r[k] for runs in res[lab].values() for r in runs)
                  for k in (*KEYS, "mean clustering")} for lab in res}
    ranks = {lab: 0.0 for lab in res}
    for k in KEYS:
        for i, lab in enumerate(sorted(res, key=lambda lab: mean[lab][k])):
            ranks[lab] += (i + 1) / len(KEYS)
    best = min(ranks, key=ranks.get)
    names = ", ".join(f"`{d.name}` (training seed {seeds_info[d]})" for d in args.from_run)
    lines = [
        "## Sampler settings, chosen on validation graphs",
        "",
        f"`packages/graph/benchmarks/sampler_sweep.py --from-run {' '.join(d.name for d in args.from_run)} --seeds "
        f"{' '.join(map(str, args.seeds))} --n {args.n}`; {stamp}; {(time.perf_counter() - t0) / 60:.1f} min wall.",
        "",
        f"Models: {names}, each saved by `run.py --run-dir` (community-small, distinct graphs). Validation graphs: "
        f"{len(val)} community-small graphs that are neither training nor test graphs (graphs 100-159 of the same "
        f"seeded generator). Each model draws {args.n} graphs per setting and sampling seed (seeds "
        f"{', '.join(map(str, args.seeds))}; the test tables use seeds 0, 1, …), {args.steps} steps. MMD² "
        "against the validation graphs (kernels as the tables above); each cell is the mean over models and "
        "seeds, per model in brackets. Mean clustering = the samples' mean clustering coefficient (validation "
        f"graphs: {np.mean([nx.average_clustering(h) for h in val]):.3f}).",
        "",
        "| setting | degree | clustering | orbit | mean clustering | mean rank |",
        "|---|---|---|---|---|---|",
    ]
    for lab in res:
        cells = []
        for k in KEYS:
            per = " / ".join(f"{statistics.mean(r[k] for r in runs):.3f}" for runs in res[lab].values())
            cells.append(f"{mean[lab][k]:.3f} ({per})")
        mark = "**" if lab == best else ""
        lines.append(f"| {mark}{lab}{mark} | {' | '.join(cells)} | {mean[lab]['mean clustering']:.3f} | "
                     f"{ranks[lab]:.1f} |")
    fl = {k: statistics.mean(r[k] for r in floor) for k in KEYS}
    lines += [f"| noise floor: {args.n} training vs the validation graphs (3 draws) | "
              + " | ".join(f"{fl[k]:.3f}" for k in KEYS) + " | | |", "",
              f"Chosen (lowest mean rank): **{best}**.", ""]
    old = args.out.read_text() if args.out.exists() else None
    args.out.write_text(benchpage.splice(old, "\n".join(lines), name="graph sampler_sweep.py",
                                         title="# stochflow-graph benchmark: GDSS"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
