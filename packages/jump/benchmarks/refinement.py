"""Multi-seed comparison of EM refinements on the DFR (the hand-written section of docs/benchmarks/jump.md).

    python packages/jump/benchmarks/refinement.py --seeds 32 --out refinement.json [--grids regular] [--rows ctem,k5]

The data sets are those of ``run.py``'s DFR sections (paths seed ``1000 n + s``, observations seed
``s``, 50 points on [0, 2.5]; regular grid without flips, irregular grid with 10% flips), stacked
as one batch of processes per path count, so each estimator is one batched fit (EM stops when
every process has converged, so numbers can differ from ``run.py``'s in the fourth digit). Prints
the median and mean RMSE of every row and the per-seed paired difference to CT-HMM EM.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import stochflow.jump as sfj

ROWS = {
    "pseudo": lambda o: sfj.PseudoGeneratorEstimator().fit(o),
    "em0": lambda o: sfj.EMEstimator(noise=0.0, progress=False).fit(o),
    "ctem": lambda o: sfj.EMEstimator(progress=False).fit(o),
    "ctem_mean": lambda o: sfj.EMEstimator(progress=False, estimate="mean").fit(o),
    "ctem_eb": lambda o: sfj.EMEstimator(progress=False, prior="empirical").fit(o),
    "net_always": lambda o: sfj.AmortizedEstimator(refine="em", select="network").fit(o),
    "halves": lambda o: sfj.AmortizedEstimator(refine="em", folds=None).fit(o),
    "k5": lambda o: sfj.AmortizedEstimator(refine="em", folds=5).fit(o),
    "k5_eb": lambda o: sfj.AmortizedEstimator(refine="em", folds=5, candidates=("network", "default", "empirical")).fit(o),
    "k2": lambda o: sfj.AmortizedEstimator(refine="em", folds=2).fit(o),
}
"""Row name -> fitted estimator: pseudo-generator, EM without/with learned noise, CT-HMM EM reporting
posterior means, CT-HMM EM under the empirical-Bayes prior, amortised + EM with the network's prior
always, selected on path halves (the rule before 2026-11-30), by 5-fold (with or without the
empirical-Bayes candidate) and by 2-fold cross-validation over paths (the default since)."""


def stacked(obs_list: list[sfj.Observations]) -> sfj.Observations:
    ts = [o.tensors() for o in obs_list]
    return sfj.Observations(*(torch.stack([t[k] for t in ts]) for k in range(3)), n_states=6, t_max=2.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--paths", default="30,100")
    parser.add_argument("--grids", default="regular,irregular")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for every seed's RMSE")
    parser.add_argument("--prior-processes", type=int, default=0,
                        help="also: this many processes from the prior (seeds 500, 501, ...; run.py's prior section "
                             "has the first 4), 10 paths, 1%% and 10%% flips, one fit per process")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [r for r in args.rows.split(",") if r]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}")
    Q = sfj.dfr_generator(1.0, 1.0, 1.0)
    flips = {"regular": 0.0, "irregular": 0.1}
    res: dict[str, dict[str, list[float]]] = {}
    for grid in (g for g in args.grids.split(",") if g):  # --grids "": the prior processes only
        for n in (int(x) for x in args.paths.split(",")):
            obs = stacked([sfj.simulate(Q, n_paths=n, t_max=2.5, seed=1000 * n + s).observe(
                50, grid=grid, flip_prob=flips[grid], seed=s) for s in range(args.seeds)])
            cell = res.setdefault(f"{grid} {n}", {})
            for name in rows:
                start = time.perf_counter()
                G = torch.as_tensor(ROWS[name](obs).fetch_model().generator, dtype=torch.float64)
                cell[name] = [float(sfj.rate_rmse(G[s], Q)) for s in range(args.seeds)]
                line = f"{grid} {n} {name:10s} median {np.median(cell[name]):.4f} mean {np.mean(cell[name]):.4f}"
                if "ctem" in cell and name != "ctem":
                    d = np.array(cell[name]) - np.array(cell["ctem"])
                    line += (f"  minus ctem {d.mean():+.4f} (s.e. {d.std(ddof=1) / np.sqrt(d.size):.4f}, "
                             f"lower in {int((d < 0).sum())}, tied in {int((d == 0).sum())})")
                print(f"{line} ({time.perf_counter() - start:.0f} s)", flush=True)
            if args.out is not None:
                args.out.write_text(json.dumps(res, indent=1))
    prior = sfj.GeneratorPrior()
    for flip in (0.01, 0.1) if args.prior_processes else ():
        cell = res.setdefault(f"prior, 10 paths, flip {flip}", {})
        for k in range(args.prior_processes):
            Qk, p0 = (x[0] for x in prior.sample(1, seed=500 + k))
            obs = sfj.simulate(Qk, p0, n_paths=10, t_max=10.0, seed=600 + k).observe(
                (8, 72), grid="irregular", flip_prob=flip, seed=k)
            for name in rows:
                G = torch.as_tensor(ROWS[name](obs).fetch_model().generator, dtype=torch.float64)
                cell.setdefault(name, []).append(float(sfj.rate_rmse(G, Qk)))
        for name in rows:
            line = f"prior, flip {flip} {name:10s} median {np.median(cell[name]):.4f} mean {np.mean(cell[name]):.4f}"
            if "ctem" in cell and name != "ctem":
                d = np.array(cell[name]) - np.array(cell["ctem"])
                line += f"  minus ctem {d.mean():+.4f} (s.e. {d.std(ddof=1) / np.sqrt(d.size):.4f})"
            print(line, flush=True)
        if args.out is not None:
            args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
