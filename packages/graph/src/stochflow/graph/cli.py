"""``stochflow graph``: train GDSS on a generated data set, sample graphs from a saved model."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from stochflow.core.cli import ArgumentParser
from stochflow.core.errors import StochflowError


def _train(args) -> int:
    import torch

    from stochflow.graph import datasets
    from stochflow.graph.metrics import GDSS_STATISTICS, graph_mmd
    from stochflow.graph.orbits import MAX_NODES
    from stochflow.graph.training import GDSSTrainer

    torch.manual_seed(args.seed)
    kw = {} if args.n_graphs is None else {"n_graphs": args.n_graphs}
    graphs = datasets.load(args.dataset, seed=args.seed, **kw)
    train, test = datasets.split(graphs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = GDSSTrainer(size=args.size, time_conditioning=not args.no_time, iterations=args.iterations, batch_size=args.batch_size, lr=args.lr,
                          lr_decay=args.lr_decay, warmup=args.warmup, ema_decay=args.ema_decay, n_features=args.n_features, seed=args.seed,
                          checkpoint=out / "checkpoint.pt", progress_bar=None if not args.quiet else False)
    model = trainer.fit(train).fetch_model()
    model.save(out / "model.pt")
    sample = model.sample(len(test), solver=args.solver, steps=args.steps, seed=args.seed, snr=args.snr,
                          scale_eps=args.scale_eps).graphs()
    big = max(g.number_of_nodes() for g in [*test, *sample]) > MAX_NODES  # orbit counting is O(n⁴)
    mmd = graph_mmd(test, sample, [s for s in GDSS_STATISTICS if not (big and s.name == "orbit")])
    (out / "metrics.json").write_text(json.dumps({"dataset": args.dataset, "iterations": trainer.step_,
                                                   "mmd": mmd}, indent=2))
    print(f"trained {trainer.step_} steps on {len(train)} {args.dataset} graphs; wrote {out / 'model.pt'}")
    print("MMD vs test split: " + ", ".join(f"{k} {v:.4f}" for k, v in mmd.items()))
    return 0


def _sample(args) -> int:
    import networkx as nx

    from stochflow.graph.model import GraphScoreModel

    model = GraphScoreModel.load(args.run)
    graphs = model.sample(args.n, solver=args.solver, steps=args.steps, seed=args.seed, snr=args.snr,
                          scale_eps=args.scale_eps).graphs()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    union = nx.Graph()
    for i, g in enumerate(graphs):
        for v in g.nodes:
            union.add_node(f"g{i}_n{v}", graph=i)
        union.add_edges_from((f"g{i}_n{u}", f"g{i}_n{v}") for u, v in g.edges)
    nx.write_graphml(union, out)
    print(f"wrote {len(graphs)} graphs ({sum(g.number_of_nodes() for g in graphs)} nodes, node attribute "
          f"'graph' = index) to {out}")
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "stochflow graph") -> int:
    from stochflow.graph.datasets import DATASETS

    parser = ArgumentParser(prog=prog, description="Graph generation by a system of SDEs (GDSS).")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    t = sub.add_parser("train", help="train on a generated data set; writes OUT/model.pt, checkpoint.pt, metrics.json")
    t.add_argument("--dataset", default="community-small", choices=sorted(DATASETS))
    t.add_argument("--out", required=True, help="run folder (resumes from OUT/checkpoint.pt if present)")
    t.add_argument("--n-graphs", type=int, default=None, help="number of graphs to generate (default: the data set's)")
    t.add_argument("--size", default="small", choices=["tiny", "small", "gdss"], help="network size")
    t.add_argument("--no-time", action="store_true",
                   help="score networks without a time input (GDSS's configuration)")
    t.add_argument("--iterations", type=int, default=2000)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=5e-3)
    t.add_argument("--lr-decay", type=float, default=1.0,
                   help="learning-rate factor per step (GDSS community-small: 0.999 with --batch-size 128)")
    t.add_argument("--warmup", type=int, default=0,
                   help="steps of linear learning-rate warm-up (500 keeps lr 1e-2 off the plateau where the "
                        "adjacency network ignores the graph)")
    t.add_argument("--ema-decay", type=float, default=0.999)
    t.add_argument("--n-features", type=int, default=None, help="degree one-hot classes (default: max degree + 1)")
    t.add_argument("--solver", default="graph-s4", choices=["graph-pc", "graph-s4"])
    t.add_argument("--steps", type=int, default=1000, help="sampling steps for the final MMD report")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    s = sub.add_parser("sample", help="sample graphs from a trained run folder into a GraphML file")
    s.add_argument("run", help="run folder (or model.pt) written by 'stochflow graph train'")
    s.add_argument("--n", type=int, default=20, help="number of graphs")
    s.add_argument("--out", required=True, help="GraphML file; graphs are stored as one disjoint union")
    s.add_argument("--solver", default="graph-s4", choices=["graph-pc", "graph-s4"])
    s.add_argument("--steps", type=int, default=1000)
    s.add_argument("--seed", type=int, default=0)
    for p in (t, s):
        p.add_argument("--snr", type=float, default=0.05, help="Langevin signal-to-noise ratio (GDSS: 0.05)")
        p.add_argument("--scale-eps", type=float, default=0.7, help="Langevin noise scale (GDSS: 0.7)")
    args = parser.parse_args(argv)
    try:
        return _train(args) if args.action == "train" else _sample(args)
    except StochflowError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
