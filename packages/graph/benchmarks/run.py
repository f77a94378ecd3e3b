"""GDSS on community-small against the noise floor, an Erdős–Rényi baseline and published numbers;
writes docs/benchmarks/graph.md.

    python packages/graph/benchmarks/run.py [--quick] [--iterations N] [--size gdss] [--train-seed S]
                                            [--run-dir DIR] [--from-run DIR] [--out PAGE]

Train on the 80 training graphs of community-small (generated, distinct) with GDSS's
configuration: its networks without a time input, full batches, lr 1e-2 decaying by 0.999 per step, EMA
0.999, plus a 500-step linear learning-rate warm-up that GDSS does not have (without it 3 of 4 training seeds
stay on a plateau where the adjacency network ignores the graph; ``--warmup 0`` for GDSS's schedule; see the
page's training-seed study) (``--time`` gives the networks the diffusion time as an input, which needs the smaller lr 5e-3 x
0.9995: see the page's hand-written section); sample 20 graphs per seed with the S4 solver and with PC (Euler-Maruyama predictor + Langevin corrector, GDSS's
sampler for this data set), and compare with the 20 test graphs by MMD² of degree
and clustering histograms (Gaussian-EMD, as GDSS) and of Laplacian spectra (Gaussian-TV, as
SPECTRE). Beside it: the data-vs-data noise floor (random 20-graph training subsets vs the test
graphs), Erdős–Rényi graphs with the training graphs' sizes and densities, uniqueness, novelty, and
sampling throughput. Grid, SBM and planar get a short CPU smoke run of their configuration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import torch

from stochflow.core import benchpage, machine
from stochflow.diffusion.sde import VPSDE
from stochflow.graph import datasets
from stochflow.graph.metrics import erdos_renyi_like, graph_mmd, novelty, uniqueness
from stochflow.graph.model import GraphScoreModel
from stochflow.graph.sde import GraphSDE
from stochflow.graph.training import GDSSTrainer

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "benchmarks" / "graph.md"
KEYS = ("degree", "clustering", "orbit", "spectral")

# GDSS paper (Jo et al. 2022), Table 1, community-small: MMD² deg / clus / orbit (GraphRNN's kernels).
# GDSS's row is recorded in shared/REFERENCES.md; the EDP-GNN and GraphRNN rows are those GDSS's Table 1
# reports for the same data set and kernels (not yet recorded in REFERENCES.md).
PUBLISHED = {
    "GDSS (published)": (0.045, 0.086, 0.007),
    "EDP-GNN (as reported by GDSS)": (0.053, 0.144, 0.026),
    "GraphRNN (as reported by GDSS)": (0.080, 0.120, 0.040),
}

# per-dataset configurations as GDSS (β ranges per component); ready for a GPU run
CONFIGS = {
    "community-small": {"sde": (VPSDE(0.1, 1.0), VPSDE(0.1, 1.0)), "size": "gdss"},
    "ego-small": {"sde": (VPSDE(0.1, 1.0), VPSDE(0.1, 1.0)), "size": "small"},
    "grid": {"sde": (VPSDE(0.1, 1.0), VPSDE(0.2, 0.8)), "size": "gdss"},
    "sbm": {"sde": (VPSDE(0.1, 1.0), VPSDE(0.1, 1.0)), "size": "gdss"},
    "planar": {"sde": (VPSDE(0.1, 1.0), VPSDE(0.1, 1.0)), "size": "gdss"},
}


def _fmt(values):
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _row(name, runs, extra=("", "")):
    cols = [_fmt([r[k] for r in runs]) for k in KEYS]
    return f"| {name} | {' | '.join(cols)} | {extra[0]} | {extra[1]} |"


def _density(graphs):
    """Per-graph edge densities and node counts."""
    return np.array([nx.density(g) for g in graphs]), np.array([g.number_of_nodes() for g in graphs])


def _density_text(name, graphs):
    d, n = _density(graphs)
    return (f"{name} {d.mean():.3f} ± {d.std():.3f} (correlation with the node count "
            f"{np.corrcoef(d, n)[0, 1]:+.2f})")


def _sample_rows(model, test, train, solver, args, seeds, **opts):
    runs, uniq, nov, rate, graphs = [], [], [], [], []
    for seed in range(seeds):
        c0 = time.process_time()
        g = model.sample(len(test), solver=solver, steps=args.steps, seed=seed, snr=args.snr, scale_eps=args.scale_eps,
                         **opts).graphs()
        rate.append(len(test) / (time.process_time() - c0))
        graphs += g
        runs.append(graph_mmd(test, g))
        uniq.append(uniqueness(g))
        nov.append(novelty(g, train))
    return runs, uniq, nov, rate, graphs


def _train(args, train):
    """Train (or load ``--from-run``); returns the model and a record of the training."""
    if args.from_run is not None:
        info = json.loads((args.from_run / "train.json").read_text())
        return GraphScoreModel.load(args.from_run / "model.pt"), info
    cfg = CONFIGS["community-small"]
    c0, w0 = time.process_time(), time.perf_counter()
    trainer = GDSSTrainer(GraphSDE(*cfg["sde"]), size=args.size, time_conditioning=args.time,
                          iterations=args.iterations,
                          batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay, warmup=args.warmup,
                          ema_decay=args.ema,
                          seed=args.train_seed, checkpoint=args.run_dir / "checkpoint.pt" if args.run_dir else None,
                          checkpoint_every=250, progress_bar=args.progress).fit(train)
    lx, la = np.mean(trainer.losses_[-100:], 0)
    info = {"cpu_seconds": time.process_time() - c0, "wall_seconds": time.perf_counter() - w0,
            "iterations": args.iterations, "size": args.size, "time_conditioning": args.time,
            "batch_size": args.batch_size, "lr": args.lr,
            "lr_decay": args.lr_decay, "warmup": args.warmup, "ema": args.ema, "train_seed": args.train_seed,
            "loss_x": float(lx), "loss_a": float(la),
            "loss_a_per_500": [round(float(np.mean([a for _, a in trainer.losses_[i:i + 500]])), 4)
                               for i in range(0, len(trainer.losses_), 500)],
            "uptime": _uptime()}
    model = trainer.fetch_model()
    if args.run_dir is not None:
        model.save(args.run_dir / "model.pt")
        (args.run_dir / "train.json").write_text(json.dumps(info, indent=1))
    return model, info


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"


def community_small(args, lines, record):
    train, test = datasets.split(datasets.community_small(100, seed=0, gdss_compat=args.gdss_compat))
    model, info = _train(args, train)
    s4, uniq, nov, rate_s4, s4_graphs = _sample_rows(model, test, train, "graph-s4", args, args.seeds)
    pc, uniq_pc, nov_pc, rate_pc, _ = _sample_rows(model, test, train, "graph-pc", args, args.pc_seeds,
                                                predictor="euler-maruyama")
    rng = np.random.default_rng(0)
    floor = [graph_mmd(test, [train[i] for i in rng.choice(len(train), len(test), replace=False)]) for _ in range(5)]
    er = [graph_mmd(test, erdos_renyi_like([train[i] for i in rng.choice(len(train), len(test), replace=False)],
                                           seed=s)) for s in range(3)]
    batch = "the whole training set" if info["batch_size"] >= len(train) else f"{info['batch_size']} graphs"
    lines += [
        "## community-small" + (", GDSS's generator (the test of the published numbers)" if args.gdss_compat else ""),
        "",
        f"80 training / 20 test graphs ({_data_text(args.gdss_compat, train, test)}). Model: `{info['size']}` "
        f"networks (GDSS's community-small configuration when `gdss`), "
        f"{'with' if info.get('time_conditioning', True) else 'without'} a time input, {info['iterations']} Adam steps on {batch} "
        f"(lr {info['lr']:g} decaying by {info['lr_decay']:g} per step"
        + (f" after a {info['warmup']}-step linear warm-up" if info.get("warmup") else "") + f", EMA {info['ema']:g}, gradient clip 1 per "
        f"network; training seed {info.get('train_seed', 0)}) in **{info['cpu_seconds'] / 60:.1f} min of CPU time** (one thread; {info['wall_seconds'] / 60:.1f} "
        f"min wall on the shared machine, load at the end: `{info['uptime']}`); final DSM losses X "
        f"{info['loss_x']:.3f}, A {info['loss_a']:.3f}. VP SDEs β ∈ [0.1, 1] for X and A; prior = the terminal "
        f"marginal's moments. Sampling: {args.steps} steps, Langevin snr {args.snr:g} (GDSS: 0.05; 0 switches the "
        f"correction off), scale_eps {args.scale_eps:g} (GDSS: 0.7), with S4 (seeds 0–{args.seeds - 1}) and with PC (Euler–Maruyama predictor "
        f"+ one Langevin corrector step, GDSS's sampler for this data set, the corrector "
        f"{'off' if args.snr == 0 else 'on'}; seeds 0–{args.pc_seeds - 1}).",
        "",
        "MMD² against the 20 test graphs; degree and clustering with Gaussian-EMD (σ 1 and 0.1, as GraphRNN/GDSS), "
        "mean 4-node orbit counts with Gaussian-L2 σ 30 (as GDSS; counted by `stochflow.graph.orbits`, not ORCA), "
        "spectral with Gaussian-TV σ 1 (SPECTRE). ± is the standard deviation over sampling seeds (model rows) or "
        "draws (reference rows).",
        "",
        "| method | degree | clustering | orbit | spectral | unique | novel |",
        "|---|---|---|---|---|---|---|",
        _row(f"stochflow-graph GDSS, S4 ({args.seeds} seeds)", s4, (f"{np.mean(uniq):.2f}", f"{np.mean(nov):.2f}")),
        _row(f"stochflow-graph GDSS, PC ({args.pc_seeds} seed{'s' if args.pc_seeds > 1 else ''})", pc,
             (f"{np.mean(uniq_pc):.2f}", f"{np.mean(nov_pc):.2f}")),
        _row("noise floor: 20 training vs 20 test (5 draws)", floor),
        _row("Erdős–Rényi, matched sizes and densities (3 draws)", er),
    ]
    for name, (d, c, o) in PUBLISHED.items():
        lines.append(f"| {name} | {d:.3f} | {c:.3f} | {o:.3f} | — | | |")
    lines += ["", "Per seed (degree / clustering / orbit):", ""]
    for name, runs in (("S4", s4), ("PC", pc)):
        lines.append(f"- {name}: " + "; ".join(f"seed {i}: {r['degree']:.3f} / {r['clustering']:.3f} / "
                                               f"{r['orbit']:.3f}" for i, r in enumerate(runs)))
    lines += ["", "Edge density per graph (mean ± standard deviation over graphs): "
              + "; ".join([_density_text("S4 samples, all seeds:", s4_graphs), _density_text("training graphs:", train),
                           _density_text("test graphs:", test)]) + "."]
    lines += ["", _reading(s4, pc, floor, args.gdss_compat), "",
              "Published numbers use GDSS's community-small pickle (53 distinct graphs among 100; 9 of its 20 test "
              "graphs are in its training set), 5000 epochs and 1000 sampling steps; "
              + ("this table uses the same generator (`datasets.community_small(gdss_compat=True)`; a draw of it, not "
                 "GDSS's file), so it is the test the published numbers passed." if args.gdss_compat else
                 "ours use distinct graphs, so the two are not the same test. `datasets.community_small(gdss_compat=True)` "
                 "reproduces the repeating generator (`run.py --gdss-compat`, its own section)."),
              "",
              "Sampling throughput (20 graphs, CPU time, this machine): "
              f"graph-s4 {statistics.mean(rate_s4):.2f} graphs/s, graph-pc {statistics.mean(rate_pc):.2f} graphs/s.",
              ""]
    record["community-small"] = {"train": info, "model_s4": s4, "model_pc": pc, "floor": floor, "erdos_renyi": er,
                                 "uniqueness": uniq, "novelty": nov}


def _data_text(gdss_compat: bool, train, test) -> str:
    if not gdss_compat:
        return "generated, distinct up to isomorphism, seed 0"
    shared = sum(any(nx.is_isomorphic(g, t) for t in train) for g in test)
    return (f"`gdss_compat=True`: GDSS's repeating generator; {shared} of the 20 test graphs are isomorphic to "
            "a training graph")


def _reading(s4, pc, floor, gdss_compat: bool = False) -> str:
    """Goal check: within seed noise of GDSS (mean − published ≤ 2 seed-SDs) and below EDP-GNN and
    GraphRNN, on degree, clustering and orbit."""
    keys = ("degree", "clustering", "orbit")
    gdss, others = PUBLISHED["GDSS (published)"], [v for k, v in PUBLISHED.items() if not k.startswith("GDSS")]
    out = []
    for name, runs in (("S4", s4), ("PC", pc)):
        parts = []
        ok = True
        for i, k in enumerate(keys):
            vals = [r[k] for r in runs]
            m, sd = statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0
            near = m - gdss[i] <= 2 * sd
            below = all(m < o[i] for o in others)
            ok &= near and below
            parts.append(f"{k} {m:.3f} ({'within' if near else 'outside'} 2 seed-SDs of GDSS's {gdss[i]:.3f}, "
                         f"{'below' if below else 'not below'} EDP-GNN and GraphRNN)")
        out.append(f"{name}: " + "; ".join(parts) + f" — goal {'met' if ok else 'not met'}.")
    fl = {k: statistics.mean(r[k] for r in floor) for k in keys}
    return ("Reading: " + " ".join(out) + " The data-vs-data noise floor on "
            + ("GDSS's repeating graphs" if gdss_compat else "these distinct graphs") + " is "
            f"{fl['degree']:.3f} / {fl['clustering']:.3f} / {fl['orbit']:.3f}: a perfect generator scores about "
            "that, so numbers below it are luck of the draw.")


def smoke(lines, record):
    small = {
        "grid": lambda: datasets.grid(12, seed=0, min_side=3, max_side=5),
        "sbm": lambda: datasets.sbm(12, seed=0, min_blocks=2, max_blocks=3, min_size=5, max_size=8),
        "planar": lambda: datasets.planar(12, seed=0, n_nodes=16),
        "ego-small": lambda: datasets.ego_small(12, seed=0, network_nodes=1000),
    }
    lines += ["## Grid, SBM, planar, ego-small: configurations and CPU smoke runs", "",
              "Full runs need a GPU (grid: up to 361 nodes; SBM up to 200; planar 64). Each configuration below "
              "trains the `tiny` networks for 30 steps on 12 scaled-down graphs and samples 4 graphs in 20 steps, "
              "to show the pipeline runs; the numbers say nothing about quality.", "",
              "| data set | SDE X / SDE A | full-size network | smoke: final DSM loss X, A | smoke: sampled nodes |",
              "|---|---|---|---|---|"]
    for name, make in small.items():
        cfg = CONFIGS[name]
        tr = GDSSTrainer(GraphSDE(*cfg["sde"]), size="tiny", iterations=30, batch_size=8, seed=0,
                         progress_bar=False).fit(make())
        g = tr.fetch_model().sample(4, solver="graph-s4", steps=20, seed=0).graphs()
        lx, la = tr.losses_[-1]
        sx, sa = cfg["sde"]
        lines.append(f"| {name} | {sx!r} / {sa!r} | `{cfg['size']}` | {lx:.3f}, {la:.3f} | "
                     f"{[h.number_of_nodes() for h in g]} |")
        record[name] = {"loss": tr.losses_[-1]}
    lines.append("")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few hundred steps (a smoke test of the script)")
    p.add_argument("--iterations", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=128, help=">= 80 trains on the whole training set")
    p.add_argument("--time", action="store_true",
                   help="networks with a time input (GDSS's have none); defaults then lr 5e-3 x 0.9995")
    p.add_argument("--lr", type=float, default=None, help="default GDSS's 1e-2 (5e-3 with --time)")
    p.add_argument("--lr-decay", type=float, default=None, help="default GDSS's 0.999 (0.9995 with --time)")
    p.add_argument("--warmup", type=int, default=None,
                   help="steps of linear learning-rate warm-up (default 500, 0 with --time; GDSS: none)")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--train-seed", type=int, default=0,
                   help="seed of the training (initial weights, batches, diffusion noise); sampling seeds are separate")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=3, help="S4 sampling seeds")
    p.add_argument("--pc-seeds", type=int, default=3, help="PC sampling seeds (two score evaluations per step)")
    p.add_argument("--snr", type=float, default=0.05, help="Langevin snr of both samplers (GDSS: 0.05; 0 = off)")
    p.add_argument("--scale-eps", type=float, default=0.7,
                   help="noise scale of the Langevin correction, both samplers (GDSS: 0.7)")
    p.add_argument("--size", default="gdss", choices=["tiny", "small", "gdss"])
    p.add_argument("--run-dir", type=Path, default=None, help="write checkpoint.pt, model.pt, train.json here")
    p.add_argument("--from-run", type=Path, default=None, help="evaluate a model saved by --run-dir; no training")
    p.add_argument("--progress", action="store_true", help="training progress bar")
    p.add_argument("--no-smoke", action="store_true", help="skip the grid/SBM/planar/ego smoke runs")
    p.add_argument("--gdss-compat", action="store_true",
                   help="GDSS's repeating community-small generator (test graphs recur in the training set)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    if args.lr is None:
        args.lr = 5e-3 if args.time else 1e-2
    if args.lr_decay is None:
        args.lr_decay = 0.9995 if args.time else 0.999
    if args.warmup is None:
        args.warmup = 0 if args.time else 500
    if args.quick:
        args.iterations, args.steps, args.size, args.seeds, args.pc_seeds = 200, 100, "tiny", 2, 1
        args.warmup = min(args.warmup, 20)
    if args.run_dir is not None:
        args.run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # small tensors: extra threads only add synchronisation
    t0 = time.perf_counter()
    lines = ["# stochflow-graph benchmark: GDSS", "",
             f"Machine: {machine.describe('torch', 'networkx')} (CPU, {torch.get_num_threads()} thread; the machine "
             f"was shared with other jobs, so CPU times are reported and wall times are upper bounds). Written by "
             f"`packages/graph/benchmarks/run.py{''.join(' ' + a for a in sys.argv[1:])}`.", ""]
    record: dict = {}
    community_small(args, lines, record)
    if not args.no_smoke:
        smoke(lines, record)
    lines.append(f"Total wall time {(time.perf_counter() - t0) / 60:.1f} min; load at the end: `{_uptime()}`.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = args.out.read_text() if args.out.exists() else None  # hand-written text outside the section is kept
    # one marked section per data set: the distinct graphs, and GDSS's generator (--gdss-compat)
    name = "graph run.py --gdss-compat" if args.gdss_compat else "graph run.py"
    args.out.write_text(benchpage.splice(old, "\n".join(lines[2:]), name=name, title=lines[0]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
